"""How a fixture file is made from the upstream bytes it came from (stdlib only).

Most fixtures are byte copies of a file in a public repository or package (recipe ``copy``). The
rest were transformed once when ``../shared/fixtures`` was assembled; each transformation is
replayed here exactly, so a fresh clone rebuilds the same bytes and the manifest's sha256 still
checks them:

* ``gzip:MTIME`` -- the upstream file gzipped by GNU ``gzip -9`` with its name and the given
  mtime in the header (the trafilatura pages). Without GNU gzip the file is compressed by zlib
  instead; it then differs in bytes but not in content, and is accepted on the sha256 of its
  decompressed content (the manifest's ``source_sha256``).
* ``pydict-json:NAME:INDENT`` -- the top-level dict ``NAME`` of an upstream Python file (a
  literal, ``dict(...)``, or sums of earlier lists), as JSON (``ensure_ascii=False``, the indent).
* ``json-select:TEMPLATE`` -- the entries of an upstream JSON object whose ``TEMPLATE`` (a
  fixture path, formatted with ``key`` and the entry's fields) is itself in the manifest, in
  upstream order, written with indent 1 (the subsets of the benchmarks' gold files).
* ``aeb-warc`` -- the scrapinghub article-extraction-benchmark pages wrapped as one
  per-record-gzip WARC/1.0 file with synthetic headers (see ``build_aeb_warc``); the random
  record ids of the original build are kept in ``fixtures/aeb_warc_record_ids.tsv``.
"""

from __future__ import annotations

import ast
import base64
import gzip
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
AEB_RECORD_IDS = HERE / "fixtures" / "aeb_warc_record_ids.tsv"
AEB_PAGES = "html/scrapinghub_aeb/html/{id}.html.gz"
AEB_GROUND_TRUTH = "html/scrapinghub_aeb/ground-truth-part1.json"
GNU_GZIP = shutil.which("gzip")


class RecipeError(Exception):
    """A fixture could not be rebuilt from its upstream bytes (one line, names the reason)."""


@dataclass(frozen=True)
class Context:
    """What a recipe reads besides the upstream bytes: the manifest, the files built so far."""

    dest: Path
    manifest_paths: frozenset[str]
    upstream_name: str  # the upstream file's base name (the name inside a gzip header)


def apply(recipe: str, upstream: bytes | None, context: Context) -> bytes:
    """The fixture bytes that ``recipe`` makes from ``upstream``; any failure is one line."""
    try:
        return _apply(recipe, upstream, context)
    except (ValueError, SyntaxError, KeyError, OSError) as error:  # unexpected upstream bytes
        raise RecipeError(f"{type(error).__name__}: {error}") from error


def _apply(recipe: str, upstream: bytes | None, context: Context) -> bytes:
    name, _, argument = recipe.partition(":")
    if name == "copy":
        return upstream
    if name == "gzip":
        return gnu_gzip(upstream, context.upstream_name, int(argument))
    if name == "pydict-json":
        variable, indent = argument.split(":")
        return python_dict_as_json(upstream, variable, int(indent))
    if name == "json-select":
        return json_select(upstream, argument, context.manifest_paths)
    if name == "aeb-warc":
        return build_aeb_warc(context.dest)
    raise RecipeError(f"unknown recipe {recipe!r}")


def needs_upstream(recipe: str) -> bool:
    """False for recipes built only from other fixtures (they run after every download)."""
    return recipe != "aeb-warc"


def inputs_of(recipe: str) -> list[str]:
    """Fixture paths a recipe reads from the destination folder."""
    if recipe == "aeb-warc":
        return [AEB_GROUND_TRUTH, *(AEB_PAGES.format(id=i) for i, _ in _aeb_record_ids()[1:])]
    return []


# -- gzip ----------------------------------------------------------------------------------------


def gnu_gzip(data: bytes, name: str, mtime: int) -> bytes:
    """``gzip -9`` of ``data`` as a file called ``name`` last modified at ``mtime``."""
    if GNU_GZIP is None:
        return gzip.compress(data, compresslevel=9, mtime=mtime)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        os.utime(path, (mtime, mtime))
        done = subprocess.run([GNU_GZIP, "-9", "-c", name], cwd=folder, capture_output=True)
    if done.returncode != 0:
        raise RecipeError(f"gzip failed: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout


def gunzipped_sha256(data: bytes) -> str | None:
    """sha256 of the decompressed content, or None when ``data`` is not gzip."""
    try:
        return hashlib.sha256(gzip.decompress(data)).hexdigest()
    except (OSError, EOFError, zlib.error):
        return None


# -- JSON made from upstream sources ------------------------------------------------------------


def _as_json(value: object, indent: int) -> bytes:
    return json.dumps(value, indent=indent, ensure_ascii=False).encode("utf-8")


def python_dict_as_json(source: bytes, variable: str, indent: int) -> bytes:
    """The top-level dict ``variable`` of a Python file, as JSON.

    The value may be a literal, ``dict(key=...)``, and may add up earlier top-level lists
    (``"ar": english_flagged_words + [...]``), as the BigScience word-list files do.
    """
    bindings: dict[str, object] = {}
    for node in ast.parse(source).body:
        if not isinstance(node, ast.Assign):
            continue
        names = [t.id for t in node.targets if isinstance(t, ast.Name)]
        try:
            value = _evaluate(node.value, bindings)
        except (RecipeError, ValueError, TypeError, KeyError) as error:
            if variable in names:
                raise RecipeError(f"{variable} in the upstream file: {error}") from error
            continue
        bindings.update(dict.fromkeys(names, value))
    if not isinstance(bindings.get(variable), dict):
        raise RecipeError(f"no top-level dict {variable} in the upstream file")
    return _as_json(bindings[variable], indent)


def _evaluate(node: ast.expr, bindings: dict[str, object]) -> object:
    """A literal expression, allowing names bound earlier, ``+`` and ``dict(key=...)``."""
    if isinstance(node, ast.Name):
        if node.id not in bindings:
            raise RecipeError(f"unknown name {node.id}")
        return bindings[node.id]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _evaluate(node.left, bindings) + _evaluate(node.right, bindings)
    if isinstance(node, ast.List):
        return [_evaluate(e, bindings) for e in node.elts]
    if isinstance(node, ast.Dict) and None not in node.keys:
        return {
            _evaluate(k, bindings): _evaluate(v, bindings)
            for k, v in zip(node.keys, node.values, strict=True)
        }
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict":
        if node.args:
            raise RecipeError("dict(...) with positional arguments")
        return {k.arg: _evaluate(k.value, bindings) for k in node.keywords}
    return ast.literal_eval(node)


def json_select(source: bytes, template: str, manifest_paths: frozenset[str]) -> bytes:
    """The entries of a JSON object whose ``template`` path is a fixture of the manifest."""
    entries = json.loads(source)
    kept = {
        key: value
        for key, value in entries.items()
        if template.format(key=key, **(value if isinstance(value, dict) else {})) in manifest_paths
    }
    if not kept:
        raise RecipeError(f"no upstream entry matches {template}")
    return _as_json(kept, 1)


# -- the scrapinghub pages as a WARC file --------------------------------------------------------

AEB_WARC_NAME = "scrapinghub_aeb_pages_part1.warc.gz"
AEB_WARCINFO_DATE = "2026-11-27T02:28:38Z"  # when the original was built (not reproducible)
AEB_RECORD_DATE = "2020-01-01T00:00:00Z"
AEB_WARCINFO = (
    b"software: warcio (wrapping step by research helper)\r\n"
    b"format: WARC File Format 1.0\r\n"
    b"description: DERIVED: real HTML pages from scrapinghub/article-extraction-benchmark "
    b"(html/*.html.gz, MIT repo) wrapped as response records. WARC and HTTP headers are synthetic "
    b"(status, content-type, date are NOT from the original fetch). Target-URI comes from "
    b"ground-truth.json.\r\n"
    b"isPartOf: derived-scrapinghub-article-extraction-benchmark\r\n"
)


def _aeb_record_ids() -> list[tuple[str, str]]:
    """(benchmark id, WARC-Record-ID) in file order; the first row is the warcinfo record."""
    rows = AEB_RECORD_IDS.read_text().splitlines()
    return [tuple(row.split("\t")) for row in rows if row and not row.startswith("#")]


def _digest(data: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode()


def build_aeb_warc(dest: Path) -> bytes:
    """The 91 benchmark pages as HTTP 200 responses, Target-URI from the ground truth."""
    ids = _aeb_record_ids()
    warcinfo_id = ids[0][1]
    ground_truth = json.loads((dest / AEB_GROUND_TRUTH).read_bytes())
    urls = {key: entry["url"] for key, entry in ground_truth.items()}
    parts = [_warcinfo_record(warcinfo_id)]
    for benchmark_id, record_id in ids[1:]:
        page = gzip.decompress((dest / AEB_PAGES.format(id=benchmark_id)).read_bytes())
        parts.append(_response_record(benchmark_id, record_id, urls[benchmark_id], page))
    return b"".join(parts)


def _gzip_member(record: bytes) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    return compressor.compress(record) + compressor.flush()


def _warcinfo_record(record_id: str) -> bytes:
    head = (
        "WARC/1.0\r\n"
        "WARC-Type: warcinfo\r\n"
        f"WARC-Record-ID: {record_id}\r\n"
        f"WARC-Filename: {AEB_WARC_NAME}\r\n"
        f"WARC-Date: {AEB_WARCINFO_DATE}\r\n"
        f"WARC-Block-Digest: {_digest(AEB_WARCINFO)}\r\n"
        "Content-Type: application/warc-fields\r\n"
        f"Content-Length: {len(AEB_WARCINFO)}\r\n\r\n"
    )
    return _gzip_member(head.encode() + AEB_WARCINFO + b"\r\n\r\n")


def _response_record(benchmark_id: str, record_id: str, url: str, page: bytes) -> bytes:
    http = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n" % len(page)
    block = http + page
    head = (
        "WARC/1.0\r\n"
        f"WARC-Date: {AEB_RECORD_DATE}\r\n"
        "WARC-Identified-Payload-Type: text/html\r\n"
        f"WARC-Source-Benchmark-Id: {benchmark_id}\r\n"
        "WARC-Type: response\r\n"
        f"WARC-Record-ID: {record_id}\r\n"
        f"WARC-Target-URI: {url}\r\n"
        f"WARC-Payload-Digest: {_digest(page)}\r\n"
        f"WARC-Block-Digest: {_digest(block)}\r\n"
        "Content-Type: application/http; msgtype=response\r\n"
        f"Content-Length: {len(block)}\r\n\r\n"
    )
    return _gzip_member(head.encode() + block + b"\r\n\r\n")
