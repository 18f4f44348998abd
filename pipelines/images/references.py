"""Which images a run's documents use: one (url, candidate URLs) per distinct image."""

from __future__ import annotations

from collections.abc import Iterator

import apache_beam as beam
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from webweave.schemas import documents


def read_documents(path: str) -> list[dict]:
    """A run's documents file (older schema versions upgraded: their candidates are null)."""
    with FileSystems.open(path) as handle:
        table = pq.read_table(handle)
    return documents.upgrade_table(table).to_pylist()


class ReadImageRefs(beam.DoFn):
    """One documents file → (url, file) per distinct URL in it, a (file, None) marker, and
    (url, candidate URLs) per distinct URL, tagged "candidates"."""

    def process(self, path: str) -> Iterator[tuple[str, str | None]]:
        candidates: dict[str, tuple[str, ...]] = {}
        for row in read_documents(path):
            for url, meta in zip(row["images"] or [], row["image_metadata"] or [], strict=False):
                if url is not None and url not in candidates:
                    candidates[url] = candidate_urls(url, meta)
                    yield url, path
        yield beam.pvalue.TaggedOutput("files", (path, None))
        for url, urls in candidates.items():
            yield beam.pvalue.TaggedOutput("candidates", (url, urls))


def candidate_urls(url: str, meta: dict | None) -> tuple[str, ...]:
    """The image's candidate URLs, ``url`` first (documents before schema 3 have only it)."""
    listed = [c["url"] for c in (meta or {}).get("candidates") or [] if c and c.get("url")]
    return (url, *dict.fromkeys(u for u in listed if u != url))


def merge_candidates(element) -> tuple[str, tuple[str, ...]]:
    """One image used by several documents: the union of their candidates, the image URL
    first, then by best position in any document (then URL), so the order is deterministic."""
    url, lists = element
    best: dict[str, int] = {}
    for urls in lists:
        for position, candidate in enumerate(urls):
            best[candidate] = min(position, best.get(candidate, position))
    others = sorted((u for u in best if u != url), key=lambda u: (best[u], u))
    return url, (url, *others)
