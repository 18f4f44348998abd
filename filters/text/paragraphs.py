"""Paragraph filtering: split text nodes into paragraphs, decide each one, rebuild the lists.

OBELICS node-level semantics: each text node is whitespace-standardised and split on "\\n\\n";
a paragraph that fails a rule is removed, a text node left without paragraphs is removed, image
slots always stay. A paragraph equal to the end-of-document token is exempt from every rule.

There is one way to filter (``filter_paragraphs``), fed either by fresh scores
(``score_paragraphs``: the stage) or by the scores stored in a row's trace
(``stored_paragraphs``: ``refilter`` under unchanged scoring parameters). The trace, stored in
``extracted/`` as ``paragraph_filter.trace``, has one dict per paragraph in document order:
``position`` (of its node in the original lists), ``index`` (within the node), ``length``
(characters), ``scores``, ``reason`` (None: kept) and ``text`` (only for removed paragraphs;
kept ones are cut back out of the kept node texts by their lengths). With it
``unfiltered_row`` rebuilds the document as extraction produced it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from webweave.filters.text.config import LevelThresholds
from webweave.filters.text.normalization import (
    END_OF_DOCUMENT_TOKEN,
    Pieces,
    standardize_whitespace,
    standardized_codes,
)
from webweave.filters.text.rules import RuleSet
from webweave.filters.text.scores import WordLists, paragraph_scores

EOD_FLAG = "is_end_of_document_token"  # set in the scores of an exempt paragraph


def split_paragraphs(text: str) -> list[str]:
    """OBELICS: standardise whitespace, split the node on "\\n\\n"."""
    return standardize_whitespace(text).split("\n\n")


def node_pieces(texts: list[str | None], joined: str | None = None) -> tuple[Pieces, list[int]]:
    """The ``Pieces`` analysis of ``split_paragraphs`` of every text node, concatenated, and the
    number of paragraphs of each node that is not None.

    ``joined`` is the "\\n\\n"-join of the nodes that are not None, if the caller has it.
    Standardisation maps single characters to " " and never touches "\\n", so the paragraphs'
    join is the standardised ``joined``; without a run of three newlines in it every "\\n\\n" is
    either a join or inside one node, so one split of it splits every node where
    ``split_paragraphs`` would (a node ending in "\\n" makes such a run: split node by node).
    """
    present = [node for node in texts if node is not None]
    text, codes, classes = standardized_codes("\n\n".join(present) if joined is None else joined)
    if not present:
        return Pieces([], text, codes, classes), []
    if "\n\n\n" not in text:
        paragraphs = text.split("\n\n")
        if len(paragraphs) == len(present):  # every node is one paragraph
            counts = [1] * len(present)
        else:
            counts = [node.count("\n\n") + 1 for node in present]
    else:
        per_node = [split_paragraphs(node) for node in present]
        paragraphs = [paragraph for split in per_node for paragraph in split]
        counts = [len(split) for split in per_node]
    return Pieces(paragraphs, text, codes, classes), counts


@dataclass
class ScoredParagraphs:
    """Every paragraph of a document's text nodes, in order, with its place and scores."""

    paragraphs: list[str]
    positions: list[int]  # position of its node in the document's lists
    indices: list[int]  # index within its node
    lengths: list[int]
    scores: list[dict[str, Any]]
    pieces: Pieces | None = None  # the analysis, when scored here (the document scores reuse it)


def score_paragraphs(
    texts: list[str | None],
    lists: WordLists,
    language: str | None,
    thresholds: LevelThresholds,
    joined: str | None = None,
) -> ScoredParagraphs:
    """Split and score every paragraph in one numpy pass (``joined``: see ``node_pieces``)."""
    pieces, counts = node_pieces(texts, joined)
    scores = paragraph_scores(pieces, lists, language, thresholds)
    if END_OF_DOCUMENT_TOKEN in pieces.text:
        for index, paragraph in enumerate(pieces.pieces):
            if paragraph == END_OF_DOCUMENT_TOKEN:
                scores[index][EOD_FLAG] = True
    positions, indices = _paragraph_places(texts, counts)
    return ScoredParagraphs(pieces.pieces, positions, indices, pieces.lengths.tolist(), scores,
                            pieces)  # fmt: skip


def _paragraph_places(texts: list[str | None], counts: list[int]) -> tuple[list[int], list[int]]:
    """(position of its node, index within the node) of every paragraph, given the number of
    paragraphs of each node that is not None."""
    nodes = [position for position, node in enumerate(texts) if node is not None]
    if len(counts) == sum(counts):  # one paragraph per node
        return nodes, [0] * len(nodes)
    positions = [
        position for position, count in zip(nodes, counts, strict=True) for _ in range(count)
    ]
    indices = [index for count in counts for index in range(count)]
    return positions, indices


def stored_paragraphs(row: dict) -> ScoredParagraphs:
    """The paragraphs of a filtered row, with their stored scores, from its trace."""
    pf = row["paragraph_filter"]
    out_index = {position: i for i, position in enumerate(pf["kept_positions"])}
    cursors: dict[int, int] = {}
    paragraphs = []
    for record in pf["trace"]:
        if record["text"] is not None:
            paragraphs.append(record["text"])
            continue
        position = record["position"]
        node = row["texts"][out_index[position]]
        start = cursors.get(position, 0)
        paragraphs.append(node[start : start + record["length"]])
        cursors[position] = start + record["length"] + 2  # the "\n\n" separator
    trace = pf["trace"]
    return ScoredParagraphs(
        paragraphs,
        [r["position"] for r in trace],
        [r["index"] for r in trace],
        [r["length"] for r in trace],
        [r["scores"] for r in trace],
    )


@dataclass
class ParagraphPass:
    """A document's lists after paragraph filtering, its trace, and what was removed; with the
    analysis of every paragraph (``pieces``, when scored fresh) and the kept ones' indices."""

    texts: list[str | None]
    images: list[Any]
    image_metadata: list[Any]
    kept_positions: list[int]  # original position of each output element
    trace: list[dict[str, Any]]
    removed: Counter
    pieces: Pieces | None
    kept: np.ndarray


def filter_paragraphs(
    texts: list[str | None],
    images: list,
    image_metadata: list,
    scored: ScoredParagraphs,
    rules: RuleSet,
) -> ParagraphPass:
    """Decide every paragraph with ``rules``, then rebuild the lists from the kept ones."""
    first_failure = rules.first_failure
    reasons = [None if s.get(EOD_FLAG) else first_failure(s) for s in scored.scores]
    trace = [
        {"position": position, "index": index, "length": length, "scores": scores,
         "reason": reason, "text": None if reason is None else paragraph}
        for position, index, length, scores, reason, paragraph in zip(
            scored.positions, scored.indices, scored.lengths, scored.scores, reasons,
            scored.paragraphs, strict=True)
    ]  # fmt: skip
    kept: dict[int, list[str]] = {}
    for position, reason, paragraph in zip(scored.positions, reasons, scored.paragraphs,
                                           strict=True):  # fmt: skip
        if reason is None:
            if position in kept:
                kept[position].append(paragraph)
            else:
                kept[position] = [paragraph]
    kept_indices = [index for index, reason in enumerate(reasons) if reason is None]
    return ParagraphPass(
        *_kept_nodes(texts, images, image_metadata, kept),
        trace=trace,
        removed=Counter(reason for reason in reasons if reason is not None),
        pieces=scored.pieces,
        kept=np.array(kept_indices, dtype=np.int64),
    )


def _kept_nodes(
    texts: list, images: list, image_metadata: list, kept: dict[int, list[str]]
) -> tuple[list, list, list, list[int]]:
    """(texts, images, image metadata, original positions) of the elements that stay: every
    image slot, and each text node with a kept paragraph, rejoined from them."""
    out_t, out_i, out_m, positions = [], [], [], []
    for position, (text, image) in enumerate(zip(texts, images, strict=True)):
        if text is not None and position not in kept:
            continue
        out_t.append("\n\n".join(kept[position]) if text is not None else None)
        out_i.append(image)
        out_m.append(image_metadata[position] if image_metadata else None)
        positions.append(position)
    return out_t, out_i, out_m, positions


def store_pass(row: dict, result: ParagraphPass) -> None:
    """Write a pass's lists and its ``paragraph_filter`` column into ``row``."""
    row["texts"], row["images"] = result.texts, result.images
    if row.get("image_metadata") is not None:
        row["image_metadata"] = result.image_metadata
    row["paragraph_filter"] = {
        "removed": dict(result.removed),
        "kept_positions": result.kept_positions,
        "trace": result.trace,
    }


def unfiltered_row(row: dict, stored: ScoredParagraphs | None = None) -> dict:
    """The row as extraction produced it (before paragraph filtering), from its trace."""
    pf = row["paragraph_filter"]
    stored = stored or stored_paragraphs(row)
    size = max([*pf["kept_positions"], *stored.positions, -1]) + 1
    texts: list = [None] * size
    images: list = [None] * size
    meta: list = [None] * size
    for out, position in enumerate(pf["kept_positions"]):
        images[position] = row["images"][out]
        if row.get("image_metadata") is not None:
            meta[position] = row["image_metadata"][out]
    nodes: dict[int, list[str]] = {}
    for position, paragraph in zip(stored.positions, stored.paragraphs, strict=True):
        nodes.setdefault(position, []).append(paragraph)
    for position, paragraphs in nodes.items():
        texts[position] = "\n\n".join(paragraphs)
    return {**row, "texts": texts, "images": images, "image_metadata": meta}
