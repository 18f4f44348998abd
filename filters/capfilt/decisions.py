"""Which texts of a pair are kept, decided from stored scores only (thresholds applied late).

The job and ``webweave capfilt refilter`` both call ``apply_decisions`` on the same rows, so a
re-application with new thresholds equals a full run with them (tested byte for byte).

- Mode ``blip`` (paper BLIP §3.3): the web text and each caption are filtered separately;
  a text is kept iff its ITM p(match) >= ``itm_threshold`` (0.5 = BLIP's argmax).
  ``kept_texts``: the web text first, then the kept captions in sampling order.
- Mode ``blip2`` (paper BLIP-2 §3.4): the K captions and the web text compete on the ranker's
  cosine; the top ``keep_top`` are kept, in rank order. Ties keep the earlier text (web text
  first, then captions in sampling order), so the order is total and stable.
"""

from __future__ import annotations

from dataclasses import dataclass

WEB, SYNTHETIC = "web", "synthetic"


@dataclass(frozen=True)
class Thresholds:
    """The late keys of ``capfilt:`` that decide, nothing else."""

    mode: str
    itm_threshold: float
    keep_top: int


def apply_decisions(row: dict, thresholds: Thresholds) -> dict:
    """``row`` (a ``capfilt`` table row) with ``web_kept``, ``captions[].kept``,
    ``kept_texts`` and ``kept_sources`` set from its scores."""
    candidates = _candidates(row)
    if thresholds.mode == "blip":
        kept = [c for c in candidates if _passes_itm(c[2], thresholds.itm_threshold)]
    else:
        ranked = sorted(candidates, key=lambda c: (-c[3], c[0]))
        kept = ranked[: thresholds.keep_top]
    kept_ids = {c[0] for c in kept}
    captions = [
        {**caption, "kept": (i + 1) in kept_ids} for i, caption in enumerate(row["captions"])
    ]
    return {
        **row,
        "web_kept": 0 in kept_ids,
        "captions": captions,
        "kept_texts": [c[1] for c in kept],
        "kept_sources": [WEB if c[0] == 0 else SYNTHETIC for c in kept],
    }


def _candidates(row: dict) -> list[tuple[int, str, float | None, float]]:
    """(id, text, itm score, rank score) of every text: id 0 is the web text, k + 1 caption k."""
    out = []
    if row["web_text"] is not None:
        out.append((0, row["web_text"], row["web_itm_score"], _rank(row["web_rank_score"])))
    for k, caption in enumerate(row["captions"]):
        out.append((k + 1, caption["text"], caption["itm_score"], _rank(caption["rank_score"])))
    return out


def _passes_itm(score: float | None, threshold: float) -> bool:
    return score is not None and score >= threshold


def _rank(score: float | None) -> float:
    return float("-inf") if score is None else score
