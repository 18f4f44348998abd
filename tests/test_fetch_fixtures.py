"""The fixtures fetch step (tests/fetch_fixtures.py) and the committed manifest it reads.

Every download here goes to loopback: real fixture files from the fixtures folder are served by
``http.server`` on 127.0.0.1 (and as a ``file://`` mirror) under the paths of their upstream
sources, so the recipes (archive members, GNU gzip, JSON subsets, Python dicts, the derived
WARC) are replayed on real bytes and checked against the manifest's sha256.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import fetch_fixtures
import fixture_recipes
from fetch_fixtures import Entry, load_manifest

from conftest import FIXTURES, REPO_ROOT, fixture_path

MANIFEST = {entry.path: entry for entry in load_manifest()}
MINI = "warc/cmoncrawl_mini.warc.gz"
CHINA = "images/sklearn/china.jpg"
PAGE = "html/trafilatura_eval/cache/rnz.de.witzel.html.gz"
STOPWORDS = "wordlists/bigscience_data_tooling/stopwords.json"
SAMPLES = "text/resiliparse_wiki_samples/wikipedia_front_page_samples.json"
GROUND_TRUTH = "html/scrapinghub_aeb/ground-truth-part1.json"
DERIVED = "warc/derived/scrapinghub_aeb_pages_part1.warc.gz"
AEB_PAGES = sorted(p for p in MANIFEST if p.startswith("html/scrapinghub_aeb/html/"))


# -- a loopback "upstream" ----------------------------------------------------------------------


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        self.server.requests.append(unquote(self.path))
        super().do_GET()


@contextmanager
def serve(folder: Path) -> Iterator[tuple[str, list[str]]]:
    """``folder`` over HTTP on 127.0.0.1: (base URL, the request paths, appended as they come)."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", server.requests
    finally:
        server.shutdown()
        server.server_close()


def closed_port() -> int:
    """A loopback port nobody listens on (connection refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def upstream_path(entry: Entry) -> str:
    """Where an entry's upstream file lies on the loopback server (the path of its real URL)."""
    return unquote(urlsplit(entry.url).path).lstrip("/")


def upstream_bytes(entry: Entry) -> bytes:
    """The upstream file an entry is made from, rebuilt from the fixture itself (the real
    upstream is not reachable from tests); the recipe must turn it back into the fixture."""
    fixture = fixture_path(entry.path).read_bytes()
    if entry.recipe.startswith("gzip:"):
        return fixture_recipes.gzip.decompress(fixture)
    if entry.recipe.startswith("pydict-json:"):
        variable = entry.recipe.split(":")[1]
        items = json.loads(fixture)
        if variable == "SAMPLES":
            body = "".join(f'    {k}="""{v}""",\n' for k, v in items.items())
            return f"# upstream test module\nSAMPLES = dict(\n{body})\n".encode()
        body = "".join(f"    {k!r}: {v!r},\n" for k, v in items.items())
        return f"import os\n\n{variable} = {{\n{body}}}\n".encode()
    if entry.recipe.startswith("json-select:"):
        items = json.loads(fixture)
        decoy = {"file": "not-a-fixture.html", "url": "https://example.org/", "with": []}
        return json.dumps({"decoy-entry": decoy, **items}, indent=4).encode()  # upstream's style
    return fixture


def stage_upstream(root: Path, paths: list[str]) -> list[Entry]:
    """Lay out the upstream files of ``paths`` under ``root`` (an archive member goes into a
    zip named like the real one); return their manifest entries, URLs still upstream."""
    entries = [MANIFEST[p] for p in paths]
    archives: dict[str, zipfile.ZipFile] = {}
    for entry in entries:
        if not entry.url:
            continue
        target = root / upstream_path(entry)
        target.parent.mkdir(parents=True, exist_ok=True)
        if entry.member:
            if entry.url not in archives:
                archives[entry.url] = zipfile.ZipFile(target, "w")
            archives[entry.url].writestr(entry.member, upstream_bytes(entry))
        else:
            target.write_bytes(upstream_bytes(entry))
    for archive in archives.values():
        archive.close()
    return entries


def at(base: str, entries: list[Entry]) -> list[Entry]:
    """The entries with their upstream URLs moved to ``base`` (same paths)."""
    return [replace(e, url=f"{base}{urlsplit(e.url).path}") if e.url else e for e in entries]


def write_manifest(path: Path, entries: list[Entry]) -> Path:
    columns = ["path", "bytes", "sha256", "url", "member", "recipe", "source_sha256", "license"]
    rows = ["\t".join(columns)]
    for e in entries:
        fields = [e.path, str(e.size), e.sha256, e.url, e.member, e.recipe, e.source_sha256]
        rows.append("\t".join([*fields, e.license]))
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def fetcher(dest: Path, entries: list[Entry], mirror: str | None = None):
    return fetch_fixtures.Fetcher(dest, entries, mirror, retries=2, backoff_s=0.0, timeout_s=10)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- fetching -----------------------------------------------------------------------------------

EVERY_RECIPE = [MINI, CHINA, PAGE, STOPWORDS, SAMPLES, GROUND_TRUTH, *AEB_PAGES, DERIVED]


def test_fetch_over_http_rebuilds_every_recipe_byte_for_byte(tmp_path):
    entries = stage_upstream(tmp_path / "upstream", EVERY_RECIPE)
    assert {e.recipe.split(":")[0] for e in entries} == {
        "copy", "gzip", "pydict-json", "json-select", "aeb-warc"
    }  # fmt: skip
    assert any(e.member for e in entries)
    dest = tmp_path / "dest"
    with serve(tmp_path / "upstream") as (base, requests):
        report = fetcher(dest, at(base, entries)).run(jobs=4)
    assert report.failures == []
    assert sorted(report.fetched) == sorted(EVERY_RECIPE)
    for path in EVERY_RECIPE:
        assert sha256(dest / path) == MANIFEST[path].sha256 == sha256(fixture_path(path)), path
    wheel = [r for r in requests if r.endswith(".whl")]
    assert len(wheel) == 1  # one download serves every member of an archive
    assert not list(dest.rglob("*.partial"))


def test_files_present_and_verified_are_not_downloaded_again(tmp_path):
    paths = [MINI, CHINA, PAGE]
    entries = stage_upstream(tmp_path / "upstream", paths)
    dest = tmp_path / "dest"
    with serve(tmp_path / "upstream") as (base, requests):
        first = fetcher(dest, at(base, entries)).run()
        asked_first = len(requests)
        second = fetcher(dest, at(base, entries)).run()
        assert len(requests) == asked_first == 3
    assert sorted(first.fetched) == sorted(paths)
    assert second.fetched == [] and second.failures == []
    assert sorted(second.present) == sorted(paths)


def test_a_corrupted_local_file_is_fetched_again(tmp_path):
    entries = stage_upstream(tmp_path / "upstream", [MINI])
    dest = tmp_path / "dest"
    (dest / "warc").mkdir(parents=True)
    good = fixture_path(MINI).read_bytes()
    (dest / MINI).write_bytes(good[:-1] + bytes([good[-1] ^ 1]))
    with serve(tmp_path / "upstream") as (base, requests):
        report = fetcher(dest, at(base, entries)).run()
    assert report.fetched == [MINI] and report.present == []
    assert requests == ["/" + upstream_path(entries[0])]
    assert (dest / MINI).read_bytes() == good


def test_sha256_verification_refuses_a_corrupted_download(tmp_path):
    entries = stage_upstream(tmp_path / "upstream", [MINI])
    served = tmp_path / "upstream" / upstream_path(entries[0])
    data = bytearray(served.read_bytes())
    data[100] ^= 0xFF
    served.write_bytes(bytes(data))
    dest = tmp_path / "dest"
    with serve(tmp_path / "upstream") as (base, _):
        entry = at(base, entries)[0]
        report = fetcher(dest, [entry]).run()
    got = hashlib.sha256(bytes(data)).hexdigest()
    assert report.failures == [
        f"cannot fetch {MINI} -- {entry.url}: sha256 mismatch (got {got}, 6495 bytes;"
        f" want {MANIFEST[MINI].sha256}, 6495 bytes)"
    ]
    assert not (dest / MINI).exists()
    assert not list(tmp_path.rglob("*.partial"))


def test_an_unreachable_source_gives_one_line(tmp_path):
    port = closed_port()
    entry = at(f"http://127.0.0.1:{port}", [MANIFEST[MINI]])[0]
    other = at(f"http://127.0.0.1:{port}", [MANIFEST["warc/pywb_iana.warc.gz"]])[0]
    report = fetcher(tmp_path / "dest", [entry, other]).run(jobs=1)
    assert report.failures == [
        f"cannot fetch {MINI} -- {entry.url}: connection refused",
        f"cannot fetch warc/pywb_iana.warc.gz -- {other.url}: connection refused"
        " (gave up on this host)",
    ]
    assert report.fetched == []


def test_a_file_mirror_is_tried_first_and_upstream_is_the_fallback(tmp_path):
    mirror = tmp_path / "mirror"
    (mirror / "warc").mkdir(parents=True)
    shutil.copyfile(fixture_path(MINI), mirror / MINI)
    entries = stage_upstream(tmp_path / "upstream", [MINI, PAGE])
    with serve(tmp_path / "upstream") as (base, requests):
        report = fetcher(tmp_path / "dest", at(base, entries), mirror=str(mirror)).run()
    assert report.failures == [] and sorted(report.fetched) == sorted([MINI, PAGE])
    assert requests == ["/" + upstream_path(MANIFEST[PAGE])]  # MINI came from the mirror


def test_both_sources_failing_are_named_on_one_line(tmp_path):
    port = closed_port()
    entry = at(f"http://127.0.0.1:{port}", [MANIFEST[MINI]])[0]
    mirror = (tmp_path / "empty-mirror").resolve()
    mirror.mkdir()
    report = fetcher(tmp_path / "dest", [entry], mirror=f"file://{mirror}").run()
    assert report.failures == [
        f"cannot fetch {MINI} -- file://{mirror}/{MINI}: no such file;"
        f" {entry.url}: connection refused"
    ]


def test_an_http_mirror_of_the_fixtures_tree(tmp_path):
    port = closed_port()
    paths = [MINI, CHINA, PAGE, GROUND_TRUTH]
    entries = at(f"http://127.0.0.1:{port}", [MANIFEST[p] for p in paths])
    tree = tmp_path / "tree"
    for path in paths:
        (tree / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(fixture_path(path), tree / path)
    with serve(tree) as (base, requests):
        report = fetcher(tmp_path / "dest", entries, mirror=base).run()
    assert report.failures == [] and sorted(report.fetched) == sorted(paths)
    assert sorted(requests) == sorted("/" + p for p in paths)


def test_without_gnu_gzip_a_page_is_accepted_on_its_content(tmp_path, monkeypatch):
    monkeypatch.setattr(fixture_recipes, "GNU_GZIP", None)
    entries = stage_upstream(tmp_path / "upstream", [PAGE])
    dest = tmp_path / "dest"
    with serve(tmp_path / "upstream") as (base, requests):
        assert fetcher(dest, at(base, entries)).run().fetched == [PAGE]
        assert fetcher(dest, at(base, entries)).run().present == [PAGE]
        assert len(requests) == 1
    assert sha256(dest / PAGE) != MANIFEST[PAGE].sha256  # zlib's bytes, not GNU gzip's
    content = fixture_recipes.gzip.decompress((dest / PAGE).read_bytes())
    assert content == fixture_recipes.gzip.decompress(fixture_path(PAGE).read_bytes())


def test_a_derived_warc_that_does_not_rebuild_identically_fails_loudly(tmp_path, monkeypatch):
    ids = fixture_recipes.AEB_RECORD_IDS.read_text().splitlines()
    ids[3] = ids[3][:-5] + "0000>"  # one record id differs from the original build
    changed = tmp_path / "ids.tsv"
    changed.write_text("\n".join(ids) + "\n")
    monkeypatch.setattr(fixture_recipes, "AEB_RECORD_IDS", changed)
    dest = tmp_path / "dest"
    for path in [GROUND_TRUTH, *AEB_PAGES]:
        (dest / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(fixture_path(path), dest / path)
    report = fetcher(dest, [MANIFEST[p] for p in [GROUND_TRUTH, *AEB_PAGES, DERIVED]]).run()
    assert len(report.failures) == 1
    assert report.failures[0].startswith(
        f"cannot fetch {DERIVED} -- recipe aeb-warc: sha256 mismatch (got "
    )
    assert report.failures[0].endswith(f"want {MANIFEST[DERIVED].sha256}, 3319552 bytes)")


def test_a_derived_warc_names_the_input_it_lacks(tmp_path):
    report = fetcher(tmp_path / "dest", [MANIFEST[DERIVED]]).run()
    assert report.failures == [
        f"cannot fetch {DERIVED} -- recipe aeb-warc: needs {GROUND_TRUTH},"
        f" which is not in {tmp_path / 'dest'}"
    ]


def test_command_line_exit_status_and_report(tmp_path, capsys):
    entries = stage_upstream(tmp_path / "upstream", [MINI])
    dest = tmp_path / "dest"
    with serve(tmp_path / "upstream") as (base, _):
        manifest = write_manifest(tmp_path / "m.tsv", at(base, entries))
        assert fetch_fixtures.main([str(dest), "--manifest", str(manifest)]) == 0
    assert capsys.readouterr().out == f"1 fetched, 0 already present, 0 failed -> {dest}\n"
    broken = at(f"http://127.0.0.1:{closed_port()}", [MANIFEST[PAGE]])
    manifest = write_manifest(tmp_path / "m2.tsv", broken)
    assert fetch_fixtures.main([str(dest), "--manifest", str(manifest), "--retries", "1"]) == 1
    captured = capsys.readouterr()
    assert captured.err == f"cannot fetch {PAGE} -- {broken[0].url}: connection refused\n"
    assert captured.out == f"0 fetched, 0 already present, 1 failed -> {dest}\n"


# -- the session start on a fresh clone ---------------------------------------------------------


def fresh_clone(root: Path, entries: list[Entry]) -> Path:
    """A checkout with no ../shared/fixtures: the real conftest and fetch step, a manifest of
    ``entries`` and one test that reads the first of them."""
    tests = root / "clone" / "tests"
    (tests / "fixtures").mkdir(parents=True)
    for name in ["conftest.py", "fetch_fixtures.py", "fixture_recipes.py"]:
        shutil.copyfile(REPO_ROOT / "tests" / name, tests / name)
    write_manifest(tests / "fixtures" / "MANIFEST.tsv", entries)
    (tests / "test_reads_a_fixture.py").write_text(
        "from conftest import fixture_path\n\n\n"
        "def test_reads():\n"
        f"    assert fixture_path({entries[0].path!r}).stat().st_size == {entries[0].size}\n"
    )
    return root / "clone"


def run_pytest(clone: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEBWEAVE_")}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"]
    return subprocess.run(command, cwd=clone, env=env, capture_output=True, text=True, timeout=120)


def test_a_fresh_clone_fetches_its_fixtures_then_runs(tmp_path):
    entries = stage_upstream(tmp_path / "upstream", [MINI])
    with serve(tmp_path / "upstream") as (base, _):
        clone = fresh_clone(tmp_path, at(base, entries))
        done = run_pytest(clone)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"fixtures: fetched 1 files into {clone / '.fixtures'}" in done.stdout
    assert "1 passed" in done.stdout
    assert sha256(clone / ".fixtures" / MINI) == MANIFEST[MINI].sha256


def test_a_fresh_clone_that_cannot_fetch_fails_loudly_and_runs_nothing(tmp_path):
    entry = at(f"http://127.0.0.1:{closed_port()}", [MANIFEST[MINI]])[0]
    clone = fresh_clone(tmp_path, [entry])
    done = run_pytest(clone)
    listing = clone / ".fixtures" / "fetch-failures.txt"
    line = f"cannot fetch {MINI} -- {entry.url}: connection refused"
    assert done.returncode == 1
    assert line in done.stdout.splitlines()
    assert (
        f"1 of 1 fixture files could not be fetched into {clone / '.fixtures'}"
        f" (all listed in {listing}); no test was run." in done.stdout + done.stderr
    )
    assert "passed" not in done.stdout and "skipped" not in done.stdout
    assert listing.read_text() == line + "\n"


# -- the committed manifest ---------------------------------------------------------------------

TOPS = ("warc", "html", "text", "images", "wordlists")
PLACEHOLDER = "\0"  # an f-string's {...}: any characters, "/" included


def _text(node: ast.AST) -> str | None:
    """A string constant, or an f-string with its fields as placeholders."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else PLACEHOLDER for v in node.values)
    return None


def _fixtures_join(node: ast.BinOp) -> str | None:
    """``FIXTURES / "a" / "b"`` (or ``fixtures_root() / ...``) as "a/b"."""
    parts = []
    while isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
        part = _text(node.right)
        if part is None:
            return None
        parts.insert(0, part)
        node = node.left
    rooted = isinstance(node, ast.Name) and node.id in {"FIXTURES", "fixtures"}
    rooted |= isinstance(node, ast.Call) and getattr(node.func, "id", "") == "fixtures_root"
    return "/".join(parts) if rooted else None


def fixture_references(source: str) -> set[str]:
    """Fixture paths a module names: ``fixture_path("...")`` arguments, ``FIXTURES / "..."``
    joins, and any other string that reads as a file, folder or glob under a fixtures folder."""
    tree = ast.parse(source)
    inner = {id(n.left) for n in ast.walk(tree) if isinstance(n, ast.BinOp)}
    parts = {id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values}
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "fixture_path":
            text = _text(node.args[0]) if node.args else None
            if text and text != ".":
                found.add(text)
        elif isinstance(node, ast.BinOp) and id(node) not in inner:
            joined = _fixtures_join(node)
            if joined:
                found.add(joined)
        text = _text(node) if id(node) not in parts else None
        if text and "/" in text and text.split("/")[0] in TOPS and _reads_as_path(text):
            found.add(text)
    return found


FIXTURE_SUFFIXES = {Path(p).suffix for p in MANIFEST}


def _reads_as_path(text: str) -> bool:
    """A fixture file name, glob, prefix or folder -- not a MIME type ("text/html"), not an
    output file ("images/part-0.parquet")."""
    if not re.fullmatch(r"[\w.\-/*?\0]+", text):
        return False
    last = text.rstrip("/").split("/")[-1]
    if "." in last.replace(PLACEHOLDER, "").lstrip("*"):
        return Path(last).suffix in FIXTURE_SUFFIXES or "*" in Path(last).suffix
    folder = any(p.startswith(text.rstrip("/") + "/") for p in MANIFEST)
    return any(c in text for c in "*?" + PLACEHOLDER) or text.endswith("/") or folder


def _pattern(glob: str) -> re.Pattern:
    """A path glob as a regex: "**/" any folders, "*" and "?" within a name, {...} anything."""
    tokens = re.split(r"(\*\*/|\*|\?|\0)", glob)
    meaning = {"**/": "(?:.*/)?", "*": "[^/]*", "?": "[^/]", PLACEHOLDER: ".*"}
    return re.compile("".join(meaning.get(t, re.escape(t)) for t in tokens))


def uncovered(references: set[str], listed: set[str], on_disk: set[str]) -> list[str]:
    """References the manifest does not cover. A file must be listed; a prefix ("dir/") needs a
    listed file under it; a folder or a glob is read whole, so every file of the fixtures
    folder under or matching it must be listed too."""
    problems = []
    for ref in sorted(references):
        if ref in listed:
            continue
        if any(c in ref for c in "*?" + PLACEHOLDER):
            covers = _pattern(ref).fullmatch
        elif ref.endswith("/"):
            covers = None
            if not any(p.startswith(ref) for p in listed):
                problems.append(f"{ref}: no manifest file")
            continue
        else:
            covers = re.compile(re.escape(ref) + "/.*").fullmatch
        if not any(covers(p) for p in listed):
            problems.append(f"{ref}: no manifest file")
        problems += [
            f"{ref}: reads {p}, not in the manifest" for p in sorted(on_disk - listed) if covers(p)
        ]
    return problems


FETCH_MODULES = {"conftest.py", "fetch_fixtures.py", "fixture_recipes.py", Path(__file__).name}


def sources_that_read_fixtures() -> list[Path]:
    """Every test and benchmark module but the fetch step's own (its strings are built cases)."""
    tests = [p for p in sorted((REPO_ROOT / "tests").glob("*.py")) if p.name not in FETCH_MODULES]
    return tests + sorted((REPO_ROOT / "bench").rglob("*.py"))


def test_the_manifest_covers_every_fixture_the_tests_and_benchmarks_name():
    references = set()
    for path in sources_that_read_fixtures():
        references |= fixture_references(path.read_text(encoding="utf-8"))
    on_disk = {
        str(p.relative_to(FIXTURES)) for p in FIXTURES.rglob("*") if p.is_file()
    }  # the fixtures folder in use: ../shared/fixtures in CI
    assert uncovered(references, set(MANIFEST), on_disk) == []
    # the scan sees the references it must (so the check above cannot pass by seeing nothing)
    assert {
        "warc",
        "warc/**/*.warc.gz",
        DERIVED,
        "html/scrapinghub_aeb",
        "html/trafilatura_eval",
        "text/langid_py_tests",
        "images/*/*.jpg",
        "wordlists/bigscience_data_tooling/",
        SAMPLES,
    } <= references


def test_the_coverage_check_names_what_is_missing():
    source = (
        "from conftest import FIXTURES, fixture_path\n"
        'fixture_path("warc/nope.warc.gz")\n'
        'FIXTURES / "text" / "dolma_ccnet"\n'
        'MIME = "text/html"\n'
        'f = fixture_path(f"images/{name}")\n'
    )
    references = fixture_references(source)
    assert references == {"warc/nope.warc.gz", "text/dolma_ccnet", "images/" + PLACEHOLDER}
    listed = {"text/dolma_ccnet/a.gz", "images/x/a.jpg"}
    on_disk = listed | {"text/dolma_ccnet/b.gz", "images/x/b.png"}
    assert uncovered(references, listed, on_disk) == [
        "images/\0: reads images/x/b.png, not in the manifest",
        "text/dolma_ccnet: reads text/dolma_ccnet/b.gz, not in the manifest",
        "warc/nope.warc.gz: no manifest file",
    ]


def test_every_listed_file_is_the_fixture_in_use():
    """Size and sha256 of each row equal the file in the fixtures folder (../shared/fixtures in
    CI, the fetched .fixtures on a fresh clone)."""
    wrong = []
    for entry in MANIFEST.values():
        data = fixture_path(entry.path).read_bytes()
        if (len(data), hashlib.sha256(data).hexdigest()) != (entry.size, entry.sha256):
            wrong.append(entry.path)
    assert wrong == []
    assert len(MANIFEST) == 363


def test_every_upstream_source_is_pinned():
    pinned = re.compile(
        r"https://raw\.githubusercontent\.com/[\w.-]+/[\w.-]+/[0-9a-f]{40}/\S+"
        r"|https://files\.pythonhosted\.org/packages/[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{60}/\S+"
    )
    for entry in MANIFEST.values():
        assert entry.url == "" and entry.recipe == "aeb-warc" or pinned.fullmatch(entry.url), entry
        assert bool(entry.member) == entry.url.startswith("https://files.pythonhosted.org/")
        assert entry.recipe.split(":")[0] in {"copy", "gzip", "pydict-json", "json-select"} or (
            entry.recipe == "aeb-warc"
        )
        assert bool(entry.source_sha256) == entry.recipe.startswith("gzip:"), entry
        assert entry.license, entry
    assert sum(1 for e in MANIFEST.values() if e.recipe.startswith("gzip:")) == 110
