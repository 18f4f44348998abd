"""Training exports of a CapFilt output, with a cap on the share of synthetic texts.

    webweave export-webdataset OUT DEST [--max-synthetic-share X] [--samples-per-shard N]
    webweave export-blip-json OUT DEST.json [--max-synthetic-share X] [--source all|web|synthetic]

- **WebDataset** (open_clip's trainer reads it with ``wds.WebDataset(urls).decode("pilrgb")
  .rename(image="jpg;png;jpeg;webp", text="txt")``): tar shards ``DEST/000000.tar`` …, one
  sample per pair with a kept text: ``{pair_id}.jpg|png|webp`` (the original bytes),
  ``{pair_id}.txt`` (the chosen text: the first kept text, i.e. the web text when kept in mode
  blip, the best-ranked text in mode blip2), ``{pair_id}.json`` (every text, score and the
  provenance). ``DEST/export_stats.json`` has the counts (open_clip's ``--train-num-samples``).
- **BLIP JSON**: BLIP's released layout (``ccs_synthetic_filtered.json``), a list of
  ``{"url": ..., "caption": [kept texts]}``.

``--max-synthetic-share X`` caps synthetic texts at a share X of the exported texts (training
on model-written text degrades models; users choose how much). Web texts are never removed;
synthetic texts are admitted in a fixed pseudo-random order (blake2b of pair id and text index)
while the share stays at most X, so the choice is reproducible and not biased to any shard.
In the WebDataset export a pair whose synthetic text is not admitted falls back to its kept
web text when it has one (mode blip2), else it is left out (counted).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction

import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from webweave.filters.capfilt.decisions import SYNTHETIC, WEB
from webweave.pipelines.capfilt.results import CAPFILT, images_dir_of, match, read_rows
from webweave.pipelines.parquet_shards import join, write_json_atomically

EXTENSIONS = {"jpeg": "jpg", "png": "png", "webp": "webp"}


def order_key(pair_id: str, index: int) -> bytes:
    """The fixed pseudo-random admission order of synthetic texts under the cap."""
    return hashlib.blake2b(f"{pair_id}\0{index}".encode(), digest_size=8).digest()


@dataclass
class Candidate:
    """A synthetic text competing for the capped budget."""

    key: bytes
    pair_id: str
    index: int  # position in kept_texts
    has_fallback: bool = False  # a kept web text can replace it (WebDataset export)


def admitted(
    candidates: list[Candidate], web_texts: int, max_share: Fraction | None
) -> set[tuple[str, int]]:
    """The (pair_id, index) of synthetic texts admitted so that synthetic / all <= max_share.

    Admitting the first n candidates (in key order) exports n synthetic texts and
    ``web_texts`` plus the fallbacks of the rejected ones as web texts; the share grows with n,
    so the largest n that fits is found by one scan.
    """
    ordered = sorted(candidates, key=lambda c: (c.key, c.pair_id, c.index))
    if max_share is None or max_share >= 1:
        return {(c.pair_id, c.index) for c in ordered}
    fallbacks_left = sum(c.has_fallback for c in ordered)
    best = 0
    for n, candidate in enumerate(ordered, start=1):
        fallbacks_left -= candidate.has_fallback
        if Fraction(n) > max_share * (web_texts + fallbacks_left + n):
            break
        best = n
    return {(c.pair_id, c.index) for c in ordered[:best]}


@dataclass
class ExportCounts:
    """What an export wrote and left out (``export_stats.json``, printed by the CLI)."""

    samples: int = 0
    web_texts: int = 0
    synthetic_texts: int = 0
    pairs_without_kept_text: int = 0
    removed_by_synthetic_cap: int = 0
    files: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        total = self.web_texts + self.synthetic_texts
        share = round(self.synthetic_texts / total, 6) if total else 0.0
        return {**self.__dict__, "synthetic_share": share}


def _capfilt_files(out_dir: str) -> list[str]:
    images_dir_of(out_dir)  # one line if OUT is not a CapFilt output
    return match(join(out_dir, CAPFILT, "*.parquet"))


def _kept_columns(out_dir: str) -> Iterator[dict]:
    for path in _capfilt_files(out_dir):
        with FileSystems.open(path) as handle:
            table = pq.read_table(handle, columns=["pair_id", "kept_sources"])
        yield from table.to_pylist()


# ---------------------------------------------------------------- BLIP JSON


def export_blip_json(
    out_dir: str, dest: str, max_share: Fraction | None = None, source: str = "all"
) -> ExportCounts:
    """BLIP's ``[{"url": ..., "caption": [...]}]`` of the kept texts of ``source``."""
    wanted = {"all": (WEB, SYNTHETIC), "web": (WEB,), "synthetic": (SYNTHETIC,)}[source]
    web, candidates = 0, []
    for row in _kept_columns(out_dir):
        for index, kind in enumerate(row["kept_sources"]):
            if kind == WEB and WEB in wanted:
                web += 1
            elif kind == SYNTHETIC and SYNTHETIC in wanted:
                candidates.append(
                    Candidate(order_key(row["pair_id"], index), row["pair_id"], index)
                )
    allowed = admitted(candidates, web, max_share)
    counts = ExportCounts(removed_by_synthetic_cap=len(candidates) - len(allowed))
    temporary = f"{dest}.tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write("[")
        for path in _capfilt_files(out_dir):
            for row in read_rows([path]):
                captions = []
                for index, (text, kind) in enumerate(
                    zip(row["kept_texts"], row["kept_sources"], strict=True)
                ):
                    if kind not in wanted:
                        continue
                    if kind == SYNTHETIC and (row["pair_id"], index) not in allowed:
                        continue
                    captions.append(text)
                    counts.web_texts += kind == WEB
                    counts.synthetic_texts += kind == SYNTHETIC
                if not row["kept_texts"]:
                    counts.pairs_without_kept_text += 1
                if captions:
                    entry = {"url": row["image_url"], "caption": captions}
                    handle.write(("," if counts.samples else "") + "\n" + json.dumps(entry))
                    counts.samples += 1
        handle.write("\n]\n")
    os.replace(temporary, dest)
    counts.files = [dest]
    return counts


# ---------------------------------------------------------------- WebDataset


def _choice(row: dict, allowed: set) -> tuple[str, str] | None:
    """The (text, source) of a pair's ``.txt``: its first kept text; a synthetic one not
    admitted under the cap falls back to the pair's first kept web text, else None."""
    if not row["kept_texts"]:
        return None
    first_source = row["kept_sources"][0]
    if first_source == WEB or (row["pair_id"], 0) in allowed:
        return row["kept_texts"][0], first_source
    for text, kind in zip(row["kept_texts"], row["kept_sources"], strict=True):
        if kind == WEB:
            return text, WEB
    return None


def _sample_json(row: dict, text_source: str) -> dict:
    keys = ("pair_id", "doc_id", "position", "image_url", "sha256", "web_text",
            "web_text_source", "web_itm_score", "web_rank_score", "web_kept", "captions",
            "kept_texts", "kept_sources", "provenance")  # fmt: skip
    return {**{k: row[k] for k in keys}, "txt_source": text_source}


class _TarShards:
    """Sequential ``DEST/NNNNNN.tar`` files of at most ``per_shard`` samples."""

    def __init__(self, dest: str, per_shard: int):
        self.dest = dest
        self.per_shard = per_shard
        self.paths: list[str] = []
        self.count = 0
        self.tar: tarfile.TarFile | None = None

    def add(self, key: str, members: dict[str, bytes]) -> None:
        if self.tar is None or self.count == self.per_shard:
            self.close()
            path = os.path.join(self.dest, f"{len(self.paths):06d}.tar")
            self.paths.append(path)
            self.tar = tarfile.open(f"{path}.tmp", "w")
            self.count = 0
        for suffix, data in members.items():
            info = tarfile.TarInfo(f"{key}.{suffix}")
            info.size = len(data)
            info.mode = 0o644
            self.tar.addfile(info, io.BytesIO(data))
        self.count += 1

    def close(self) -> None:
        if self.tar is not None:
            self.tar.close()
            os.replace(f"{self.paths[-1]}.tmp", self.paths[-1])
            self.tar = None


def export_webdataset(
    out_dir: str, dest: str, max_share: Fraction | None = None, samples_per_shard: int = 10000
) -> ExportCounts:
    """WebDataset tar shards of the pairs with a kept text (see the module docstring)."""
    web, candidates = 0, []
    for row in _kept_columns(out_dir):
        sources = row["kept_sources"]
        if not sources:
            continue
        if sources[0] == WEB:
            web += 1
        else:
            key = order_key(row["pair_id"], 0)
            candidates.append(Candidate(key, row["pair_id"], 0, has_fallback=WEB in sources))
    allowed = admitted(candidates, web, max_share)
    images_dir = images_dir_of(out_dir)
    os.makedirs(dest, exist_ok=True)
    counts = ExportCounts()
    shards = _TarShards(dest, samples_per_shard)
    for path in _capfilt_files(out_dir):
        rows = read_rows([path])
        image_bytes = _image_column(images_dir, rows)
        for row in rows:
            choice = _choice(row, allowed)
            if choice is None:
                counts.pairs_without_kept_text += not row["kept_texts"]
                counts.removed_by_synthetic_cap += bool(row["kept_texts"])
                continue
            text, source = choice
            extension = EXTENSIONS.get(row["format"] or "", row["format"] or "img")
            shards.add(
                row["pair_id"],
                {
                    extension: image_bytes(row),
                    "txt": text.encode("utf-8"),
                    "json": json.dumps(_sample_json(row, source)).encode("utf-8"),
                },
            )
            counts.samples += 1
            counts.web_texts += source == WEB
            counts.synthetic_texts += source == SYNTHETIC
    shards.close()
    counts.files = [os.path.basename(p) for p in shards.paths]
    write_json_atomically(os.path.join(dest, "export_stats.json"), counts.to_dict())
    return counts


def _image_column(images_dir: str, rows: list[dict]):
    """A lookup of a row's original image bytes; reads each images/ shard once."""
    tables: dict[str, object] = {}

    def lookup(row: dict) -> bytes:
        shard = row["image_shard"]
        if shard not in tables:
            with FileSystems.open(join(images_dir, shard)) as handle:
                tables[shard] = pq.read_table(handle, columns=["bytes"]).column("bytes")
        return tables[shard][row["image_row"]].as_py()

    return lookup
