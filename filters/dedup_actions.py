"""Applying dedup decisions to one document row: remove image positions and paragraphs.

The global dedup steps (``webweave.pipelines.dedup``) decide *what* to remove from the small
per-document keys; this module does the removal on the full row while a shard is rewritten,
keeping the interleaving invariant (``texts``/``images``/``image_metadata`` stay aligned).
"""

from __future__ import annotations

from collections.abc import Set

from webweave.filters.minhash import paragraph_hash, split_paragraphs


def remove_images(row: dict, urls: Set[str]) -> int:
    """Remove every image position whose URL is in ``urls``; returns positions removed."""
    if not urls:
        return 0
    keep = [i for i, url in enumerate(row["images"]) if url is None or url not in urls]
    removed = len(row["images"]) - len(keep)
    if removed:
        _keep_positions(row, keep)
    return removed


def remove_paragraphs(row: dict, hashes: Set[int]) -> int:
    """Remove every paragraph (``\\n\\n``-separated) whose hash is in ``hashes``.

    A text position left with no paragraph is removed. Returns paragraphs removed.
    """
    if not hashes:
        return 0
    removed = 0
    keep: list[int] = []
    for i, text in enumerate(row["texts"]):
        if text is None:
            keep.append(i)
            continue
        paragraphs = split_paragraphs(text)
        kept = [p for p in paragraphs if paragraph_hash(p) not in hashes]
        removed += len(paragraphs) - len(kept)
        if kept:
            row["texts"][i] = "\n\n".join(kept)
            keep.append(i)
    if len(keep) != len(row["texts"]):
        _keep_positions(row, keep)
    return removed


def is_empty(row: dict) -> bool:
    return not row["texts"]


def _keep_positions(row: dict, keep: list[int]) -> None:
    for column in ("texts", "images", "image_metadata"):
        values = row[column]
        row[column] = [values[i] for i in keep]
