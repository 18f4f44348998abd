#!/usr/bin/env python3
"""Refresh the packaged flagged-word lists (LDNOOBW) from the npm package ``naughty-words``.

The "List of Dirty, Naughty, Obscene, and Otherwise Bad Words" (LDNOOBW, Shutterstock,
CC-BY-4.0) is published on the npm registry as ``naughty-words``: one JSON array per language
file, named in the package's ``index.js``. webweave ships one pinned version as package data,
``filters/text/data/flagged_words/naughty-words-<version>.json``: every list exactly as
published (same entries, same order, keyed by the package's file names), with the tarball's
URL, sha256 and npm integrity string, and the licence. The run-time loader
(``filters/text/wordlists.py``) reads that file; nothing is downloaded at run time.

This script fetches the tarball with the ordinary npm client (``npm pack``, which checks npm's
sha512 integrity), converts it, writes the data file and the ``NOTICE`` section between its own
two marker lines (other sections stay as they are), and prints the list sizes:

    python tools/refresh_flagged_words.py --version 1.2.0
    python tools/refresh_flagged_words.py --version 1.2.0 --tarball naughty-words-1.2.0.tgz
    python tools/refresh_flagged_words.py --version 1.2.0 --check   # exit 1 if files differ

A new version also needs ``text_filters.flagged_words.source`` in
``pipelines/default_config.yaml`` (``package:naughty-words:<version>``) and the old data file
removed; the script says so.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import re
import subprocess
import sys
import tarfile
import tempfile
import textwrap
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "naughty-words"
DATA_DIR = REPO_ROOT / "filters" / "text" / "data" / "flagged_words"
NOTICE = REPO_ROOT / "NOTICE"
UPSTREAM = "https://github.com/LDNOOBW/List-of-Dirty-Naughty-Obscene-and-Otherwise-Bad-Words"
LICENCE = "CC-BY-4.0"
LICENCE_URL = "https://creativecommons.org/licenses/by/4.0/"
SECTION_BEGIN = "---- begin: flagged-word lists (written by tools/refresh_flagged_words.py) ----"
SECTION_END = "---- end: flagged-word lists ----"
# index.js of the package: one line per list, module.exports['<key>'] = require('./<file>');
INDEX_ENTRY = re.compile(r"module\.exports\['([^']+)'\]\s*=\s*require\('\./([^']+\.json)'\)")


def tarball_url(version: str) -> str:
    """The npm registry's tarball address of a version (the ``dist.tarball`` npm reports)."""
    return f"https://registry.npmjs.org/{PACKAGE}/-/{PACKAGE}-{version}.tgz"


def data_path(version: str) -> Path:
    return DATA_DIR / f"{PACKAGE}-{version}.json"


def npm_pack(version: str, folder: Path) -> tuple[Path, str]:
    """Download the version's tarball with ``npm pack``; (its path, npm's integrity string)."""
    command = ["npm", "pack", f"{PACKAGE}@{version}", "--json", "--pack-destination", str(folder)]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    packed = json.loads(result.stdout)[0]
    return folder / packed["filename"], packed["integrity"]


def read_lists(tarball: bytes) -> dict[str, list[str]]:
    """The lists of a ``naughty-words`` tarball, keyed and ordered as its ``index.js`` names
    them, entries exactly as published."""
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        files = {m.name.removeprefix("package/"): m for m in archive.getmembers() if m.isfile()}

        def read(name: str) -> str:
            return archive.extractfile(files[name]).read().decode("utf-8")

        lists = {}
        for key, file_name in INDEX_ENTRY.findall(read("index.js")):
            entries = json.loads(read(file_name))
            if not all(isinstance(entry, str) for entry in entries):
                raise ValueError(f"{file_name}: expected a JSON array of strings")
            lists[key] = entries
        version = json.loads(read("package.json"))["version"]
    if not lists:
        raise ValueError("index.js names no lists: not a naughty-words tarball?")
    return {"version": version, "lists": lists}


def integrity_of(tarball: bytes) -> str:
    """npm's Subresource-Integrity string of the tarball (sha512, base64)."""
    import base64

    return "sha512-" + base64.b64encode(hashlib.sha512(tarball).digest()).decode("ascii")


def build_data(tarball: bytes, version: str) -> dict:
    """The package-data document of one version."""
    read = read_lists(tarball)
    if read["version"] != version:
        raise ValueError(f"tarball is version {read['version']}, not {version}")
    return {
        "name": PACKAGE,
        "version": version,
        "licence": LICENCE,
        "licence_url": LICENCE_URL,
        "upstream": UPSTREAM,
        "tarball": tarball_url(version),
        "tarball_sha256": hashlib.sha256(tarball).hexdigest(),
        "npm_integrity": integrity_of(tarball),
        "lists": read["lists"],
    }


def data_text(data: dict) -> str:
    """The data file's text: one entry per line, so a refresh shows as a readable diff."""
    return json.dumps(data, ensure_ascii=False, indent=1) + "\n"


def notice_section(data: dict) -> str:
    items = [f"{key}\u00a0{len(words)}" for key, words in data["lists"].items()]
    text = f"{len(items)} ({', '.join(items)})"
    sizes = [line.replace("\u00a0", " ") for line in textwrap.wrap(text, 76)]
    return "\n".join([
        SECTION_BEGIN,
        "",
        f"Flagged-word lists: filters/text/data/flagged_words/{PACKAGE}-{data['version']}.json",
        "",
        '"List of Dirty, Naughty, Obscene, and Otherwise Bad Words" (LDNOOBW),',
        "Copyright Shutterstock, Inc. and its contributors,",
        f"  repository: {UPSTREAM}",
        f"  licence:    {LICENCE} ({LICENCE_URL})",
        f"as published on the npm registry in the package {PACKAGE} {data['version']}:",
        f"  tarball:    {data['tarball']}",
        f"  sha256:     {data['tarball_sha256']}",
        f"  lists:      {sizes[0]}",
        *(f"              {line}" for line in sizes[1:]),
        "",
        "Changes: the package's per-language JSON files are gathered in one JSON file, keyed by",
        "their file names, every entry unchanged and in its published order. At run time",
        "webweave lower-cases the entries, maps the keys to its language codes (fil -> tl;",
        "fr-CA-u-sd-caqc is merged into fr) and skips the entries its word tokenisation can",
        "never produce (filters/text/wordlists.py); the file itself is not altered.",
        "",
        SECTION_END,
    ])  # fmt: skip


def with_section(notice: str, section: str) -> str:
    """``notice`` with this script's section replaced, or appended when it has none."""
    if SECTION_BEGIN in notice:
        head, rest = notice.split(SECTION_BEGIN, 1)
        tail = rest.split(SECTION_END, 1)[1]
        return head + section + tail
    return notice.rstrip("\n") + "\n\n" + section + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", required=True, help="naughty-words version, e.g. 1.2.0")
    parser.add_argument("--tarball", type=Path, help="use this tarball instead of npm pack")
    parser.add_argument("--check", action="store_true", help="compare, write nothing")
    args = parser.parse_args(argv)
    if args.tarball is not None:
        tarball = args.tarball.read_bytes()
    else:
        with tempfile.TemporaryDirectory() as folder:
            path, integrity = npm_pack(args.version, Path(folder))
            tarball = path.read_bytes()
        if integrity_of(tarball) != integrity:
            raise SystemExit(f"tarball does not match npm's integrity {integrity}")
    data = build_data(tarball, args.version)
    outputs = {
        data_path(args.version): data_text(data),
        NOTICE: with_section(NOTICE.read_text(encoding="utf-8"), notice_section(data)),
    }
    if args.check:
        stale = [p for p, text in outputs.items() if p.read_text(encoding="utf-8") != text]
        for path in stale:
            print(f"differs: {path.relative_to(REPO_ROOT)}")
        return 1 if stale else 0
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    for path, text in outputs.items():
        path.write_text(text, encoding="utf-8")
    total = sum(map(len, data["lists"].values()))
    print(f"{PACKAGE} {args.version}: {len(data['lists'])} lists, {total} entries, "
          f"tarball sha256 {data['tarball_sha256']}")  # fmt: skip
    for key, words in data["lists"].items():
        print(f"  {key:<18}{len(words):>5}")
    others = sorted(p.name for p in DATA_DIR.glob(f"{PACKAGE}-*.json") if p.name != data_path(
        args.version).name)  # fmt: skip
    print(f"wrote {data_path(args.version).relative_to(REPO_ROOT)} and NOTICE; set "
          f'text_filters.flagged_words.source: "package:{PACKAGE}:{args.version}"'
          + (f"; remove the old {', '.join(others)}" if others else ""))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
