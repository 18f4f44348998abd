"""The report's figures: matplotlib on the Agg canvas, written as PNG (no display needed)."""

from __future__ import annotations

import io
import math
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from webweave.pipelines.report.rules import ScoreRule, fmt
from webweave.pipelines.report.scan import COUNT_EDGES, Histogram

TOP_LANGUAGES = 20
DISPLAY_BARS = 50


@dataclass(frozen=True)
class Png:
    """A figure written to ``DIR/report/NAME``: the page shows it as ``report/NAME``."""

    name: str
    alt: str
    data: bytes


def _figure(width: float, height: float) -> Figure:
    figure = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _png(figure: Figure, name: str, alt: str) -> Png:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return Png(name, alt, buffer.getvalue())


def funnel_figure(funnel: list[dict]) -> Png:
    """Documents into and out of each stage, first stage on top."""
    stages = [stage["stage"] for stage in funnel]
    y = np.arange(len(stages))
    figure = _figure(9, 1.2 + 0.45 * len(stages))
    axes = figure.add_subplot()
    axes.barh(y - 0.2, [s["in"] for s in funnel], 0.4, label="in", color="#9ecae1")
    axes.barh(y + 0.2, [s["out"] for s in funnel], 0.4, label="out", color="#3182bd")
    for i, stage in enumerate(funnel):
        axes.text(stage["out"], i + 0.2, f" {stage['out']:,}", va="center", fontsize=8)
    axes.set_yticks(y, stages)
    axes.invert_yaxis()
    axes.set_xlabel("documents (records before extraction)")
    axes.set_title("Funnel: documents into and out of each stage")
    axes.legend(loc="lower right")
    alt = "Funnel: " + "; ".join(f"{s['stage']} {s['in']} in, {s['out']} out" for s in funnel)
    return _png(figure, "funnel.png", alt)


def counts_figure(counts: dict[str, int], name: str, title: str, xlabel: str) -> Png:
    """A horizontal bar per reason, largest on top (paragraph removals)."""
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    figure = _figure(8, 1.2 + 0.4 * len(ordered))
    axes = figure.add_subplot()
    axes.barh([k for k, _ in ordered], [v for _, v in ordered], color="#e6550d")
    for i, (_, value) in enumerate(ordered):
        axes.text(value, i, f" {value:,}", va="center", fontsize=8)
    axes.invert_yaxis()
    axes.set_xlabel(xlabel)
    axes.set_title(title)
    alt = f"{title}: " + "; ".join(f"{k} {v}" for k, v in ordered)
    return _png(figure, name, alt)


def languages_figure(languages: dict[str, Counter]) -> Png:
    """Top languages by extracted documents, kept and dropped stacked; the rest as "other"."""
    rows = top_languages(languages)
    labels = [label for label, _, _ in rows]
    kept = np.array([k for _, k, _ in rows])
    dropped = np.array([d for _, _, d in rows])
    figure = _figure(8, 1.4 + 0.32 * len(rows))
    axes = figure.add_subplot()
    axes.barh(labels, kept, color="#31a354", label="kept by text filters")
    axes.barh(labels, dropped, left=kept, color="#de2d26", label="dropped by text filters")
    axes.invert_yaxis()
    axes.set_xlabel("extracted documents")
    axes.set_title(f"Language (general_metadata.language), top {TOP_LANGUAGES} + other")
    axes.legend(loc="lower right")
    alt = "Languages: " + "; ".join(f"{lb} {k} kept, {d} dropped" for lb, k, d in rows)
    return _png(figure, "languages.png", alt)


def top_languages(languages: dict[str, Counter]) -> list[tuple[str, int, int]]:
    kept, dropped = languages["kept"], languages["dropped"]
    total = kept + dropped
    ordered = sorted(total, key=lambda language: (-total[language], language))
    top, rest = ordered[:TOP_LANGUAGES], ordered[TOP_LANGUAGES:]
    rows = [(language, kept[language], dropped[language]) for language in top]
    if rest:
        rows.append(("other", sum(kept[x] for x in rest), sum(dropped[x] for x in rest)))
    return rows


def histogram_figure(histogram: Histogram, level: str, labels: tuple[str, str]) -> Png:
    """One score's histogram (kept/dropped stacked) with the configured bounds as lines."""
    edges, kept, dropped = _display_bins(histogram)
    figure = _figure(6, 3.4)
    axes = figure.add_subplot()
    axes.hist(
        [edges[:-1], edges[:-1]],
        bins=edges,
        weights=[kept, dropped],
        stacked=True,
        color=["#31a354", "#de2d26"],
        label=list(labels),
    )
    if histogram.edges is COUNT_EDGES:
        axes.set_xscale("symlog", linthresh=1.0)
    _draw_lines(axes, histogram.rule)
    axes.set_title(f"{histogram.name}\n{side_summary(histogram)}", fontsize=9)
    axes.set_xlabel(f"{level} {histogram.name}")
    axes.set_ylabel(f"{level}s")
    axes.legend(fontsize=7)
    alt = f"Histogram of {level} {histogram.name}: {side_summary(histogram)}"
    return _png(figure, f"{level}_{histogram.name}.png", alt)


def _draw_lines(axes: Any, rule: ScoreRule) -> None:
    colours = {"min": "#08519c", "max": "#a50f15", "info": "#636363"}
    for line in rule.lines:
        off = line.side != "info" and not rule.enabled
        label = line.label() + (" (check off)" if off else "")
        style = ":" if off or line.side == "info" else "--"
        axes.axvline(line.value, color=colours[line.side], linestyle=style, label=label)


def side_summary(histogram: Histogram) -> str:
    """ "x% < min 10 · y% > max 2000 (of n)", on the values the rule compares."""
    n = histogram.values
    if not n:
        return "no values"
    parts = []
    for side, count, sign in (("min", histogram.below, "<"), ("max", histogram.above, ">")):
        bound = histogram.rule.bound(side)
        if bound is not None:
            parts.append(f"{100 * count / n:.1f}% {sign} {side} {fmt(bound)}")
    off = "" if histogram.rule.enabled or not parts else " (check off)"
    return (" · ".join(parts) or "no threshold") + f"{off} · n={n:,}"


def _display_bins(histogram: Histogram) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Regroup the occupied fine bins (widened to show every line) into about 50 bars."""
    edges = histogram.edges
    occupied = np.flatnonzero(histogram.kept + histogram.dropped)
    first, last = int(occupied[0]), int(occupied[-1])
    for line in histogram.rule.lines:
        index = int(
            np.clip(np.searchsorted(edges, line.value, side="right") - 1, 0, len(edges) - 2)
        )
        first, last = min(first, index), max(last, index)
    step = max(1, math.ceil((last - first + 1) / DISPLAY_BARS))
    stop = min(len(edges) - 1, first + step * math.ceil((last - first + 1) / step))
    groups = np.arange(first, stop, step)
    kept = np.add.reduceat(histogram.kept[first:stop], groups - first)
    dropped = np.add.reduceat(histogram.dropped[first:stop], groups - first)
    return np.append(edges[groups], edges[stop]), kept, dropped


# ---------------------------------------------------------------------------------------------
# The page.
