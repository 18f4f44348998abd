"""``stats.json`` of the images job: the image funnel, the document funnel, archive lookup
counts, duplicate counts; the funnels close exactly."""

from __future__ import annotations

from collections.abc import Iterator

import apache_beam as beam

from webweave.filters.archive_lookup import FOUND_KINDS, NOT_FOUND_KINDS
from webweave.pipelines.funnel import Funnel
from webweave.pipelines.layout import STATS
from webweave.pipelines.parquet_shards import join, write_json_atomically

# The image stages in funnel order, and the status a drop at each gives an image's result row.
STAGE_STATUS = {
    "url_words": "filtered",
    "url_policy": "refused",
    "fetch": "failed",
    "decode": "invalid",
    "image_filters": "filtered",
}
IMAGE_STAGES = tuple(STAGE_STATUS)


def dedup_summary(counts: list[tuple[str, int]]) -> dict:
    """From (key, count) pairs of one hash kind: distinct values and images in duplicate groups."""
    return {
        "distinct": len(counts),
        "images_in_duplicate_groups": sum(c for _, c in counts if c > 1),
        "duplicates_beyond_first": sum(c - 1 for _, c in counts if c > 1),
    }


class WriteImageStats(beam.DoFn):
    def __init__(self, output_dir: str, looked_up: bool):
        self.output_dir = output_dir
        self.looked_up = looked_up

    def process(
        self, _, images: dict, documents: dict, sha: list, phash: list, page_warcs: list
    ) -> Iterator[str]:
        stats = finalize_stats(
            images,
            documents,
            dedup_summary(sha),
            dedup_summary(phash),
            page_warcs if self.looked_up else None,
        )
        path = join(self.output_dir, STATS)
        write_json_atomically(path, stats)
        yield path


def finalize_stats(
    images: dict,
    documents: dict,
    sha: dict,
    phash: dict,
    page_warcs: list[tuple[tuple[str, str], int]] | None = None,
) -> dict:
    """The closing contract: both funnels close, errors equal dead-letter rows, and with
    ``--from-warc`` (``page_warcs`` given) every image is found or not found, per WARC too."""
    image_funnel = Funnel.from_list(images.get("funnel", []))
    for stage in IMAGE_STAGES:
        image_funnel.stage(stage)
    distinct = images.get("distinct_urls", 0)
    kept = image_funnel.stage("image_filters").out
    problems = image_funnel.closure_problems(distinct, kept)
    doc_funnel = Funnel.from_list(documents.get("documents_funnel", []))
    doc_funnel.stage("image_count")
    problems += [
        f"documents: {p}"
        for p in doc_funnel.closure_problems(
            documents.get("documents_read", 0), documents.get("documents_written", 0)
        )
    ]
    errors = sum(s.errors for s in image_funnel.stages)
    if errors != images.get("dead_letter", 0):
        problems.append(f"{errors} stage errors but {images.get('dead_letter', 0)} dead letters")
    lookup = None
    if page_warcs is not None:
        lookup = warc_lookup_stats(images, page_warcs)
        problems += _lookup_problems(lookup, distinct)
    return {
        "distinct_image_urls": distinct,
        "images_kept": kept,
        "image_funnel": image_funnel.to_list(),
        "candidate_fallbacks": images.get("candidate_fallbacks", {}),
        "gif_converted": images.get("gif_converted", 0),
        "images_by_source": images.get("sources", {}),
        "warc_lookup": lookup,
        "documents_read": documents.get("documents_read", 0),
        "documents_written": documents.get("documents_written", 0),
        "documents_text_only": documents.get("text_only", 0),
        "document_funnel": doc_funnel.to_list(),
        "pairs": documents.get("pairs", 0),
        "dead_letter": images.get("dead_letter", 0),
        "dedup": {"sha256": sha, "phash": phash},
        "fetch_seconds": images.get("fetch_seconds", 0.0),
        "img2dataset": images.get("img2dataset", {}),
        "funnel_closes": not problems,
        "funnel_problems": problems,
    }


def lookup_summary(kinds: dict[str, int]) -> dict:
    """Images referenced, found (by how) and not found (by why), from counts per lookup kind."""
    found = {kind: kinds.get(kind, 0) for kind in FOUND_KINDS}
    not_found = {kind: kinds.get(kind, 0) for kind in NOT_FOUND_KINDS}
    other = {kind: n for kind, n in kinds.items() if kind not in found and kind not in not_found}
    summary = {
        "referenced": sum(kinds.values()),
        "found": sum(found.values()),
        "found_by": found,
        "not_found": sum(not_found.values()),
        "not_found_by": not_found,
    }
    if other:  # e.g. not_looked_up: reused results of an attempt without --from-warc
        summary["other"] = other
    return summary


def warc_lookup_stats(images: dict, page_warcs: list[tuple[tuple[str, str], int]]) -> dict:
    """``stats.json``'s ``warc_lookup``: all images, per page WARC, per archive WARC."""
    by_page: dict[str, dict[str, int]] = {}
    for (warc, kind), count in page_warcs:
        by_page.setdefault(warc, {})[kind] = by_page.get(warc, {}).get(kind, 0) + count
    return {
        "images": lookup_summary(images.get("warc_lookup", {}).get("total", {})),
        "by_page_warc": {warc: lookup_summary(kinds) for warc, kinds in sorted(by_page.items())},
        "archive_warcs": {
            name: {"images_supplied": 0, **counts}
            for name, counts in sorted(images.get("archive_warcs", {}).items())
        },
    }


def _lookup_problems(lookup: dict, distinct: int) -> list[str]:
    problems = []
    if lookup["images"]["referenced"] != distinct:
        problems.append(
            f"warc_lookup: {lookup['images']['referenced']} images looked up, {distinct} images"
        )
    for name, summary in [("images", lookup["images"]), *lookup["by_page_warc"].items()]:
        if summary["referenced"] != summary["found"] + summary["not_found"]:
            problems.append(f"warc_lookup {name}: referenced != found + not_found")
    return problems
