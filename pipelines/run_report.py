"""``webweave report DIR``: one static HTML page to tune a run's text-filter thresholds.

Writes ``DIR/report.html`` and its figures ``DIR/report/*.png`` (matplotlib, Agg canvas, fixed
file names so a re-run overwrites rather than accumulates). The page shows the funnel from
``stats.json``, a histogram per filter score with the thresholds of ``config.yaml`` drawn on it,
the language mix, and samples of what each filter dropped, so a data person sees what a
threshold change would keep or lose before running ``webweave refilter``.

Memory stays bounded by one Parquet row group: ``extracted/`` is streamed once, score values go
into fixed fine-grained bins (not lists), and only the first ``samples_per_reason`` rows per
reason (file order, deterministic) keep their text. Paths go through Beam's ``FileSystems``, so
``gs://`` run folders work like local ones.
"""

from __future__ import annotations

import html
import io
import math
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import yaml
from apache_beam.io.filesystems import FileSystems
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from webweave.filters.text_filters import DocumentThresholds, ParagraphThresholds
from webweave.pipelines.layout import CONFIG, EXTRACTED, STATS
from webweave.pipelines.parquet_shards import join, read_json
from webweave.schemas import documents

REPORT_HTML = "report.html"
REPORT_FIGURES = "report"
TEXT_CHARS = 1000  # characters of a sampled document or paragraph shown on the page
TOP_LANGUAGES = 20
BATCH_ROWS = 1024

# Fine bins, fixed up front so one streaming pass can fill them; a figure regroups the occupied
# ones into ~50 bars. Ratios live in [0, 1]; counts get one bin per integer up to 10, then 10 per
# decade (each holding at least one integer, so a log axis shows no gaps between integers).
RATIO_EDGES = np.linspace(0.0, 1.0, 1001)
COUNT_EDGES = np.concatenate([np.arange(0.0, 10.0), np.geomspace(10.0, 1e9, 8 * 10 + 1)])
DISPLAY_BARS = 50

DOCUMENT_SCORES = [f.name for f in documents.FILTER_SCORES if f.name != "language"]
PARAGRAPH_SCORES = [f.name for f in documents.PARAGRAPH_SCORES]
COUNT_SCORES = {f.name for f in documents.FILTER_SCORES if pa.types.is_integer(f.type)}

# score -> (switch, min key, max key, drop reason): the rules of filters/text_filters.py.
_COMMON_RULES = {
    "number_words": ("check_number_words", "number_words_min", "number_words_max", "word_count"),
    "character_repetition_ratio": (
        "check_character_repetition",
        None,
        "character_repetition_max",
        "character_repetition",
    ),
    "word_repetition_ratio": (
        "check_word_repetition",
        None,
        "word_repetition_max",
        "word_repetition",
    ),
    "special_character_ratio": (
        "check_special_characters",
        None,
        "special_character_ratio_max",
        "special_characters",
    ),
    "stopword_ratio": ("check_stopwords", "stopword_ratio_min", None, "stopwords"),
    "flagged_word_ratio": ("check_flagged_words", None, "flagged_word_ratio_max", "flagged_words"),
    "punctuation_ratio": ("check_punctuation", "punctuation_ratio_min", None, "punctuation"),
    "common_word_ratio": ("check_common_words", "common_word_ratio_min", None, "common_words"),
}
_DOCUMENT_RULES = {
    "number_images": (
        "check_number_images",
        "number_images_min",
        "number_images_max",
        "number_images",
    ),
    "language_score": ("check_language", "language_score_min", None, "language"),
    "quality_score": ("check_quality", "quality_score_min", None, "quality"),
    **{
        f"gopher_{name}_fraction": (
            "check_gopher_repetition",
            None,
            f"gopher_{name}_fraction_max",
            r,
        )
        for name, r in (
            ("duplicate_paragraph", "gopher_duplicate_paragraphs"),
            ("duplicate_paragraph_char", "gopher_duplicate_paragraph_chars"),
            ("duplicate_line", "gopher_duplicate_lines"),
            ("duplicate_line_char", "gopher_duplicate_line_chars"),
        )
    },
}
# Gopher n-gram cuts are lists in the config: (list key, first n).
_GOPHER_LISTS = {
    "top": ("gopher_top_ngram_char_fraction_max", 2),
    "duplicate": ("gopher_duplicate_ngram_char_fraction_max", 5),
}


# ---------------------------------------------------------------------------------------------
# Thresholds, from config.yaml.


@dataclass(frozen=True)
class Line:
    """A vertical line on a histogram: a rule's bound ("min"/"max") or context ("info")."""

    side: str
    value: float
    text: str = ""  # the label of an "info" line

    def label(self) -> str:
        return f"{self.text or self.side} {fmt(self.value)}"


@dataclass(frozen=True)
class ScoreRule:
    """What the configuration does with one score: its bounds, whether it applies, and why."""

    lines: tuple[Line, ...] = ()
    enabled: bool = False
    reason: str | None = None
    note: str = ""

    def bound(self, side: str) -> float | None:
        return next((line.value for line in self.lines if line.side == side), None)


def fmt(value: Any) -> str:
    """Numbers as a person writes them in config.yaml (0.275, 2000), so they can be searched."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return f"{int(value):,}" if abs(value) >= 10_000 else str(int(value))
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _thresholds(cls: type, section: dict | None) -> Any:
    """The thresholds dataclass with the run's values; keys this version lacks are ignored."""
    names = {f.name for f in fields(cls)}
    return cls.from_config({k: v for k, v in (section or {}).items() if k in names})


def paragraph_rules(config: dict) -> dict[str, ScoreRule]:
    """ScoreRule per paragraph score, from ``text_filters.paragraph``."""
    section = (config.get("text_filters") or {}).get("paragraph")
    t = _thresholds(ParagraphThresholds, section)
    rules = {score: _rule(t, *spec) for score, spec in _COMMON_RULES.items()}
    return _with_punctuation_notes(rules, t, "paragraph")


def document_rules(config: dict) -> dict[str, ScoreRule]:
    """ScoreRule per document score, from ``text_filters.document`` (and the quality model)."""
    filters = config.get("text_filters") or {}
    t = _thresholds(DocumentThresholds, filters.get("document"))
    rules = {score: _rule(t, *spec) for score, spec in {**_COMMON_RULES, **_DOCUMENT_RULES}.items()}
    for kind, (key, first_n) in _GOPHER_LISTS.items():
        for i, cut in enumerate(getattr(t, key)):
            n = first_n + i
            reason = f"gopher_{kind}_{n}gram"
            rules[f"gopher_{kind}_{n}gram_char_fraction"] = ScoreRule(
                (Line("max", cut),), t.check_gopher_repetition, reason
            )
    language = rules["language_score"]
    rules["language_score"] = _noted(
        language, f"the rule also needs the language in {list(t.languages)}"
    )
    if not ((filters.get("quality") or {}).get("model")):
        rules["quality_score"] = _noted(
            rules["quality_score"], "not applied: no text_filters.quality.model", enabled=False
        )
    return _with_punctuation_notes(rules, t, "document")


def _rule(t: Any, switch: str, low: str | None, high: str | None, reason: str) -> ScoreRule:
    lines = tuple(Line(side, getattr(t, key)) for side, key in (("min", low), ("max", high)) if key)
    return ScoreRule(lines, bool(getattr(t, switch)), reason)


def _noted(rule: ScoreRule, note: str, enabled: bool | None = None) -> ScoreRule:
    return ScoreRule(rule.lines, rule.enabled if enabled is None else enabled, rule.reason, note)


def _with_punctuation_notes(rules: dict, t: Any, level: str) -> dict[str, ScoreRule]:
    """OBELICS's bypass: below ``punctuation_min_tokens`` tokens the ratio counts as 1.0."""
    if t.punctuation_min_tokens > 0:
        rules["punctuation_ratio"] = _noted(
            rules["punctuation_ratio"],
            f"{level}s with 1..{t.punctuation_min_tokens - 1} tokens pass (ratio counts as 1.0);"
            " the fractions in the title account for it",
        )
        rules["punctuation_tokens"] = ScoreRule(
            (Line("info", t.punctuation_min_tokens, "ratio checked from"),),
            bool(t.check_punctuation),
            None,
            "below this many tokens the punctuation ratio counts as 1.0 (OBELICS)",
        )
    return rules


# ---------------------------------------------------------------------------------------------
# Streaming histograms.


@dataclass
class Histogram:
    """Fine-binned counts of one score, kept vs dropped, plus exact counts beyond each bound."""

    name: str
    rule: ScoreRule
    edges: np.ndarray
    kept: np.ndarray = field(init=False)
    dropped: np.ndarray = field(init=False)
    values: int = 0
    nulls: int = 0
    below: int = 0
    above: int = 0
    low: float = math.inf
    high: float = -math.inf

    def __post_init__(self) -> None:
        self.kept = np.zeros(len(self.edges) - 1, dtype=np.int64)
        self.dropped = np.zeros(len(self.edges) - 1, dtype=np.int64)

    def add(self, values: np.ndarray, kept: np.ndarray, checked: np.ndarray | None = None) -> None:
        """Add a batch (NaN = null); ``checked`` is what the rule compares, when it differs."""
        present = ~np.isnan(values)
        self.nulls += int((~present).sum())
        values, kept = values[present], kept[present]
        if not len(values):
            return
        self.values += len(values)
        self.low, self.high = min(self.low, values.min()), max(self.high, values.max())
        clipped = np.clip(values, self.edges[0], self.edges[-1])
        self.kept += np.histogram(clipped[kept], self.edges)[0]
        self.dropped += np.histogram(clipped[~kept], self.edges)[0]
        compared = values if checked is None else checked[present]
        if (bound := self.rule.bound("min")) is not None:
            self.below += int((compared < bound).sum())
        if (bound := self.rule.bound("max")) is not None:
            self.above += int((compared > bound).sum())


def _new_histograms(names: list[str], rules: dict[str, ScoreRule]) -> dict[str, Histogram]:
    return {
        name: Histogram(
            name, rules.get(name, ScoreRule()), COUNT_EDGES if name in COUNT_SCORES else RATIO_EDGES
        )
        for name in names
    }


def _score_values(struct: pa.Array, names: list[str]) -> dict[str, np.ndarray]:
    """Named fields of a struct column as float64 with NaN for nulls (parent nulls included).

    ``flatten`` once per batch: it folds the struct's own nulls (filters off) into each field.
    """
    fields_by_name = dict(zip((f.name for f in struct.type), struct.flatten(), strict=True))
    missing = pa.nulls(len(struct), pa.float64())
    return {name: _as_float(fields_by_name.get(name, missing)) for name in names}


def _as_float(array: pa.Array) -> np.ndarray:
    return pc.fill_null(pc.cast(array, pa.float64()), np.nan).to_numpy(zero_copy_only=False)


def _punctuation_checked(values: dict[str, np.ndarray], min_tokens: int) -> np.ndarray:
    """The ratio the punctuation rule compares: 1.0 below ``min_tokens`` tokens (OBELICS)."""
    ratio, tokens = values["punctuation_ratio"], values["punctuation_tokens"]
    return np.where((tokens > 0) & (tokens < min_tokens), 1.0, ratio)


# ---------------------------------------------------------------------------------------------
# One pass over extracted/.


@dataclass
class Sample:
    """A dropped document or removed paragraph shown on the page."""

    reason: str
    url: str
    scores: dict
    text: str = ""


@dataclass
class Scan:
    """Everything the page needs from ``extracted/``, gathered in one bounded pass."""

    documents: dict[str, Histogram]
    paragraphs: dict[str, Histogram]
    min_tokens: dict[str, int]
    per_reason: int
    files: int = 0
    rows: int = 0
    kept_rows: int = 0
    paragraph_rows: int = 0
    scored_rows: int = 0
    languages: dict[str, Counter] = field(
        default_factory=lambda: {"kept": Counter(), "dropped": Counter()}
    )
    dropped: dict[str, list[Sample]] = field(default_factory=dict)
    removed: dict[str, list[Sample]] = field(default_factory=dict)

    def wants(self, samples: dict[str, list[Sample]], reason: str) -> int:
        return self.per_reason - len(samples.get(reason, ()))


_SCAN_COLUMNS = (
    "drop_reason",
    "general_metadata.url",
    "general_metadata.language",
    "filter_scores",
    "paragraph_filter.trace.list.element.scores",
    "paragraph_filter.trace.list.element.reason",
    "paragraph_filter.trace.list.element.text",
)


def scan_extracted(run_dir: str, config: dict, per_reason: int) -> Scan:
    """Histograms, languages and samples of every ``extracted/*.parquet`` row, in file order."""
    filters = config.get("text_filters") or {}
    scan = Scan(
        _new_histograms(DOCUMENT_SCORES, document_rules(config)),
        _new_histograms(PARAGRAPH_SCORES, paragraph_rules(config)),
        {
            level: _thresholds(cls, filters.get(level)).punctuation_min_tokens
            for level, cls in (("document", DocumentThresholds), ("paragraph", ParagraphThresholds))
        },
        max(per_reason, 0),
    )
    for path in _match(join(run_dir, EXTRACTED, "*.parquet")):
        scan.files += 1
        with FileSystems.open(path) as handle:
            _scan_file(pq.ParquetFile(handle), scan)
    return scan


def _match(pattern: str) -> list[str]:
    return sorted(m.path for m in FileSystems.match([pattern])[0].metadata_list)


def _scan_file(parquet: pq.ParquetFile, scan: Scan) -> None:
    present = set(parquet.schema_arrow.names)
    columns = [c for c in _SCAN_COLUMNS if c.split(".")[0] in present]
    for group in range(parquet.metadata.num_row_groups):
        wanted: dict[int, Sample] = {}  # row in group -> dropped-document sample needing text
        offset = 0
        for batch in parquet.iter_batches(BATCH_ROWS, row_groups=[group], columns=columns):
            for row, sample in _scan_batch(batch, scan).items():
                wanted[offset + row] = sample
            offset += batch.num_rows
        if wanted and "texts" in present:
            _fill_texts(parquet, group, wanted)


def _scan_batch(batch: pa.RecordBatch, scan: Scan) -> dict[int, Sample]:
    """Add one batch to ``scan``; returns the dropped-document samples it chose, by row."""
    n = batch.num_rows
    scan.rows += n
    reasons = _column(batch, "drop_reason", pa.string())
    kept = pc.is_null(reasons).to_numpy(zero_copy_only=False)
    scan.kept_rows += int(kept.sum())
    metadata = _column(batch, "general_metadata", pa.struct([]))
    languages = _struct_field(metadata, "language")
    for label, mask in (("kept", kept), ("dropped", ~kept)):
        chosen = languages.filter(pa.array(mask)).to_pylist()
        scan.languages[label].update(language or "(none)" for language in chosen)
    scores = _column(batch, "filter_scores", documents.FILTER_SCORES)
    scan.scored_rows += n - scores.null_count
    _add_scores(scan.documents, scores, kept, scan.min_tokens["document"])
    _scan_paragraphs(batch, scan, _struct_field(metadata, "url"), kept)
    return _choose_documents(scan, reasons, scores, _struct_field(metadata, "url"))


def _column(batch: pa.RecordBatch, name: str, kind: pa.DataType) -> pa.Array:
    index = batch.schema.get_field_index(name)
    return batch.column(index) if index >= 0 else pa.nulls(batch.num_rows, kind)


def _struct_field(struct: pa.Array, name: str) -> pa.Array:
    if name not in {f.name for f in struct.type}:
        return pa.nulls(len(struct), pa.string())
    return struct.flatten()[struct.type.get_field_index(name)]


def _add_scores(
    histograms: dict[str, Histogram], scores: pa.Array, kept: np.ndarray, min_tokens: int
) -> None:
    values = _score_values(scores, [*histograms, "punctuation_tokens"])
    for name, histogram in histograms.items():
        checked = _punctuation_checked(values, min_tokens) if name == "punctuation_ratio" else None
        histogram.add(values[name], kept, checked)


def _scan_paragraphs(
    batch: pa.RecordBatch, scan: Scan, urls: pa.Array, kept_documents: np.ndarray
) -> None:
    """Paragraph histograms (kept = no reason) and the first removed paragraphs per reason.

    Histograms count the paragraphs of every extracted document; samples come from kept
    documents only, like the ``paragraphs_removed`` counts of stats.json they illustrate.
    """
    paragraph_filter = _column(batch, "paragraph_filter", pa.struct([]))
    if "trace" not in {f.name for f in paragraph_filter.type}:
        return
    trace = _struct_field(paragraph_filter, "trace")
    parents = pc.list_parent_indices(trace)
    records = pc.list_flatten(trace)
    if not len(records):
        return
    scan.paragraph_rows += len(records)
    reasons = _struct_field(records, "reason")
    kept = pc.is_null(reasons).to_numpy(zero_copy_only=False)
    scores = _struct_field(records, "scores")
    if isinstance(scores.type, pa.StructType):
        _add_scores(scan.paragraphs, scores, kept, scan.min_tokens["paragraph"])
    in_kept = pa.array(kept_documents[parents.to_numpy(zero_copy_only=False)])
    sampled = pc.if_else(in_kept, reasons, pa.scalar(None, pa.string()))
    for reason, index in _first_per_reason(sampled, scan, scan.removed):
        scan.removed.setdefault(reason, []).append(
            Sample(
                reason,
                urls[parents[index].as_py()].as_py() or "",
                _row(scores, index),
                _struct_field(records, "text")[index].as_py() or "",
            )
        )


def _first_per_reason(
    reasons: pa.Array, scan: Scan, samples: dict[str, list[Sample]]
) -> Iterator[tuple[str, int]]:
    """(reason, index) of the rows still needed to reach ``per_reason`` samples per reason."""
    for reason in pc.unique(reasons.drop_null()).to_pylist():
        want = scan.wants(samples, reason)
        if want > 0:
            indices = pc.indices_nonzero(pc.equal(reasons, reason)).to_pylist()[:want]
            for index in indices:
                yield reason, index


def _choose_documents(
    scan: Scan, reasons: pa.Array, scores: pa.Array, urls: pa.Array
) -> dict[int, Sample]:
    chosen = {}
    for reason, index in _first_per_reason(reasons, scan, scan.dropped):
        sample = Sample(reason, urls[index].as_py() or "", _row(scores, index))
        scan.dropped.setdefault(reason, []).append(sample)
        chosen[index] = sample
    return chosen


def _row(struct: pa.Array, index: int) -> dict:
    return struct[index].as_py() or {} if isinstance(struct.type, pa.StructType) else {}


def _fill_texts(parquet: pq.ParquetFile, group: int, wanted: dict[int, Sample]) -> None:
    """Read ``texts`` of one row group batch by batch, keeping only the sampled rows' start."""
    offset = 0
    for batch in parquet.iter_batches(BATCH_ROWS, row_groups=[group], columns=["texts"]):
        rows = [row for row in wanted if offset <= row < offset + batch.num_rows]
        texts = batch.column(0)
        for row in rows:
            wanted[row].text = _document_text(texts[row - offset].as_py() or [])
        offset += batch.num_rows


def _document_text(texts: list[str | None]) -> str:
    """The document's text nodes joined as paragraphs, cut a little past ``TEXT_CHARS``."""
    joined, size = [], 0
    for text in texts:
        if text:
            joined.append(text)
            size += len(text)
            if size > TEXT_CHARS:
                break
    return "\n\n".join(joined)


# ---------------------------------------------------------------------------------------------
# Figures.


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
    rows = _top_languages(languages)
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


def _top_languages(languages: dict[str, Counter]) -> list[tuple[str, int, int]]:
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

_CSS = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #222;
       max-width: 1240px; margin: 0 auto; padding: 1em 1.5em 4em; }
h3 code { font-size: 1em; }
h1 { margin-bottom: 0.2em; } h2 { border-bottom: 2px solid #ddd; padding-top: 0.8em; }
code, pre { font: 13px/1.4 ui-monospace, Menlo, Consolas, monospace; }
table { border-collapse: collapse; margin: 0.6em 0 1em; }
th, td { border: 1px solid #ccc; padding: 3px 9px; text-align: left; vertical-align: top; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
.totals td { font-size: 1.05em; } .bad { color: #a50f15; font-weight: bold; }
.note { color: #555; font-style: italic; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(560px, 1fr)); gap: 12px; }
figure { margin: 0; border: 1px solid #e3e3e3; padding: 6px; background: #fff; }
figure img { max-width: 100%; height: auto; display: block; }
figcaption { font-size: 12.5px; color: #444; margin-top: 4px; }
.sample { border: 1px solid #ddd; border-left: 4px solid #de2d26; padding: 6px 10px;
          margin: 8px 0; background: #fcfcfc; }
.sample pre { white-space: pre-wrap; word-break: break-word; max-height: 18em; overflow: auto;
              background: #f4f4f4; padding: 6px; margin: 6px 0 0; }
.url { word-break: break-all; font-family: ui-monospace, Menlo, Consolas, monospace; }
nav a { margin-right: 1em; }
"""


def e(value: Any) -> str:
    """HTML-escaped text: every string from the run (URLs, page text, reasons) goes through it."""
    return html.escape(str(value), quote=True)


def _table(headers: list[str], rows: list[list[Any]], numeric: set[int] = frozenset()) -> str:
    def cell(tag: str, i: int, value: Any) -> str:
        css = ' class="n"' if i in numeric else ""
        text = f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else value
        return f"<{tag}{css}>{e(text)}</{tag}>"

    head = "".join(cell("th", i, h) for i, h in enumerate(headers))
    body = "".join(
        "<tr>" + "".join(cell("td", i, v) for i, v in enumerate(row)) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _img(png: Png, caption: str = "") -> str:
    src = f"{REPORT_FIGURES}/{png.name}"
    caption_html = f"<figcaption>{caption}</figcaption>" if caption else ""
    return f'<figure><img src="{e(src)}" alt="{e(png.alt)}">{caption_html}</figure>'


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "–"


def header_section(run_dir: str, stats: dict, scan: Scan) -> str:
    """The run's totals: what went in, what came out, whether the funnel closes."""
    closes = stats.get("funnel_closes")
    problems = stats.get("funnel_problems") or []
    closes_text = "yes" if closes else ("no: " + "; ".join(problems) if stats else "unknown")
    rows = [
        ["inputs (WARC files)", stats.get("inputs", "–")],
        ["records read", stats.get("records_read", "–")],
        ["documents written", stats.get("documents_written", "–")],
        ["dead-letter records", stats.get("dead_letter", "–")],
        ["extracted documents (extracted/)", scan.rows],
        ["… kept by text filters", f"{scan.kept_rows:,} ({_pct(scan.kept_rows, scan.rows)})"],
        ["… dropped by text filters", f"{scan.rows - scan.kept_rows:,}"],
        ["paragraphs traced", scan.paragraph_rows],
        ["funnel closes", closes_text],
    ]
    body = "".join(
        f'<tr><th>{e(k)}</th><td class="n{" bad" if k == "funnel closes" and not closes else ""}">'
        f"{e(f'{v:,}' if isinstance(v, int) else v)}</td></tr>"
        for k, v in rows
    )
    return (
        f'<h1>webweave run report</h1><p class="url">{e(run_dir)}</p>'
        f'<table class="totals">{body}</table>'
    )


def funnel_section(stats: dict, pngs: list[Png]) -> str:
    """Funnel figure and the drops per reason per stage."""
    funnel = stats.get("funnel") or []
    if not funnel:
        return '<h2 id="funnel">Funnel</h2><p class="note">No funnel in stats.json.</p>'
    png = funnel_figure(funnel)
    pngs.append(png)
    rows = []
    for stage in funnel:
        dropped = stage.get("dropped") or {}
        total = sum(dropped.values())
        rows.append(
            [stage["stage"], "(all)", stage["in"], stage["out"], total, _pct(total, stage["in"])]
            + [stage.get("errors", 0)]
        )
        for reason, count in sorted(dropped.items(), key=lambda item: (-item[1], item[0])):
            rows.append(["", reason, "", "", count, _pct(count, stage["in"]), ""])
    table = _table(
        ["stage", "reason", "in", "out", "dropped", "% of in", "errors"], rows, {2, 3, 4, 5, 6}
    )
    return f'<h2 id="funnel">Funnel</h2>{_img(png)}{table}'


def paragraphs_section(stats: dict, pngs: list[Png]) -> str:
    """Paragraph-filter removals per reason (in kept documents), and what dedup removed."""
    removed = stats.get("paragraphs_removed") or {}
    dedup = stats.get("dedup") or {}
    parts = ['<h2 id="paragraphs">Paragraphs removed</h2>']
    if removed:
        png = counts_figure(
            removed,
            "paragraphs_removed.png",
            "Paragraphs removed by the paragraph filters, per reason",
            "paragraphs",
        )
        pngs.append(png)
        total = sum(removed.values())
        rows = sorted(removed.items(), key=lambda item: (-item[1], item[0]))
        table_rows = [[reason, n, _pct(n, total)] for reason, n in rows]
        parts += [_img(png), _table(["reason", "paragraphs", "share"], table_rows, {1, 2})]
    else:
        parts.append('<p class="note">No paragraph-filter removals in stats.json.</p>')
    parts.append(
        _table(
            ["deduplication removed", "count"],
            [
                ["paragraphs (paragraph_dedup)", dedup.get("paragraphs_removed", 0)],
                ["image positions (image_url_frequency)", dedup.get("image_positions_removed", 0)],
            ],
            {1},
        )
    )
    return "".join(parts)


def images_section(stats: dict) -> str:
    images = stats.get("images") or {}
    if not images:
        return ""
    rows = [[k, v] for k, v in sorted(images.items(), key=lambda item: (-item[1], item[0]))]
    return '<h2 id="images">Image positions</h2>' + _table(["outcome", "images"], rows, {1})


def histograms_section(
    title: str, anchor: str, histograms: dict[str, Histogram], level: str, pngs: list[Png]
) -> str:
    """A figure per score that has values, a summary table, and the scores that had none."""
    parts = [f'<h2 id="{anchor}">{e(title)}</h2>']
    with_values = [h for h in histograms.values() if h.values]
    if not with_values:
        parts.append(f'<p class="note">No {level} scores in extracted/ (every value is null).</p>')
        return "".join(parts)
    labels = ("kept", "dropped") if level == "document" else ("kept paragraph", "removed paragraph")
    parts.append(
        f'<p class="note">Over all extracted {level}s, kept and dropped. Dashed lines are '
        "configured bounds; dotted lines are bounds of a switched-off check or context. A "
        f"{level} beyond a bound may have been dropped by an earlier rule.</p>"
    )
    parts.append(_score_table(with_values))
    figures = []
    for histogram in with_values:
        png = histogram_figure(histogram, level, labels)
        pngs.append(png)
        figures.append(_img(png, _caption(histogram)))
    parts.append(f'<div class="grid">{"".join(figures)}</div>')
    empty = [h.name for h in histograms.values() if not h.values]
    if empty:
        parts.append(f'<p class="note">Skipped (all values null): {e(", ".join(empty))}.</p>')
    return "".join(parts)


def _caption(histogram: Histogram) -> str:
    rule = histogram.rule
    bounds = ", ".join(line.label() for line in rule.lines) or "no threshold"
    state = "" if rule.enabled or not rule.lines else " — check switched off"
    note = f" — {e(rule.note)}" if rule.note else ""
    return f"<code>{e(histogram.name)}</code>: {e(bounds)}{e(state)}{note}"


def _score_table(histograms: list[Histogram]) -> str:
    """Per score: how many values, their range, and the share beyond each configured bound."""
    rows = [
        [h.name, h.values, h.nulls, fmt(float(h.low)), fmt(float(h.high))]
        + _bound_cells(h, "min", h.below)
        + _bound_cells(h, "max", h.above)
        + [_check_state(h.rule)]
        for h in histograms
    ]
    headers = ["score", "values", "null", "lowest", "highest"]
    headers += ["min", "below min", "max", "above max", "check"]
    return _table(headers, rows, {1, 2, 3, 4, 5, 6, 7, 8})


def _bound_cells(histogram: Histogram, side: str, beyond: int) -> list[str]:
    bound = histogram.rule.bound(side)
    return ["", ""] if bound is None else [fmt(bound), _pct(beyond, histogram.values)]


def _check_state(rule: ScoreRule) -> str:
    if not any(line.side != "info" for line in rule.lines):
        return ""
    return "on" if rule.enabled else "off"


def languages_section(scan: Scan, pngs: list[Png]) -> str:
    parts = ['<h2 id="languages">Languages</h2>']
    if not scan.rows:
        parts.append('<p class="note">No extracted documents.</p>')
        return "".join(parts)
    png = languages_figure(scan.languages)
    pngs.append(png)
    rows = [[lb, k, d, _pct(k + d, scan.rows)] for lb, k, d in _top_languages(scan.languages)]
    parts += [_img(png), _table(["language", "kept", "dropped", "share"], rows, {1, 2, 3})]
    return "".join(parts)


def dropped_section(stats: dict, scan: Scan, rules: dict[str, ScoreRule]) -> str:
    """Dropped documents per reason: the reasons of stats.json's document_filter stage first."""
    stage = next((s for s in stats.get("funnel") or [] if s["stage"] == "document_filter"), {})
    counts = Counter(stage.get("dropped") or {})
    for reason, samples in scan.dropped.items():
        counts.setdefault(reason, len(samples))
    parts = ['<h2 id="dropped">Dropped documents, by reason</h2>']
    if not counts:
        parts.append('<p class="note">No document was dropped by the text filters.</p>')
    keys_by_reason = {r.reason: name for name, r in rules.items() if r.reason}
    for reason, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        samples = scan.dropped.get(reason, [])
        parts.append(
            f'<h3 id="dropped-{e(reason)}"><code>{e(reason)}</code>: {count:,} dropped '
            f"(showing {len(samples)})</h3>"
        )
        if not samples:
            parts.append('<p class="note">No sample of this reason in extracted/.</p>')
        key = keys_by_reason.get(reason)
        parts += [
            _sample_html(sample, _key_scores(sample.scores, key, rules)) for sample in samples
        ]
    return "".join(parts)


def _key_scores(scores: dict, key: str | None, rules: dict[str, ScoreRule]) -> list[str]:
    """The score behind the reason (with its bounds), then the ones every reader wants."""
    shown = []
    for name in dict.fromkeys([key, "number_words", "language", "language_score"]):
        if name and name in scores:
            bounds = ", ".join(line.label() for line in rules.get(name, ScoreRule()).lines)
            suffix = f" ({bounds})" if bounds and name == key else ""
            shown.append(f"{name} = {fmt(scores[name])}{suffix}")
    return shown


def _sample_html(sample: Sample, scores: list[str]) -> str:
    text = sample.text[:TEXT_CHARS] + ("…" if len(sample.text) > TEXT_CHARS else "")
    body = e(text) if text else '<span class="note">(no text)</span>'
    return (
        f'<div class="sample"><div class="url">{e(sample.url or "(no URL)")}</div>'
        f"<div>{e(' · '.join(scores))}</div><pre>{body}</pre></div>"
    )


def removed_section(stats: dict, scan: Scan, rules: dict[str, ScoreRule]) -> str:
    """Removed paragraphs per reason (from the traces of every extracted document)."""
    counts = Counter(stats.get("paragraphs_removed") or {})
    for reason, samples in scan.removed.items():
        counts.setdefault(reason, len(samples))
    parts = ['<h2 id="removed">Removed paragraphs, by reason</h2>']
    if not counts:
        parts.append('<p class="note">No paragraph was removed by the paragraph filters.</p>')
    keys_by_reason = {r.reason: name for name, r in rules.items() if r.reason}
    for reason, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        samples = scan.removed.get(reason, [])
        parts.append(
            f'<h3 id="removed-{e(reason)}"><code>{e(reason)}</code>: {count:,} removed in kept '
            f"documents (showing {len(samples)})</h3>"
        )
        key = keys_by_reason.get(reason)
        parts += [
            _sample_html(sample, _key_scores(sample.scores, key, rules)) for sample in samples
        ]
    return "".join(parts)


def render_page(run_dir: str, stats: dict, config: dict, scan: Scan) -> tuple[str, list[Png]]:
    """The whole page and the figures it references."""
    pngs: list[Png] = []
    notes = _notes(stats, config, scan)
    sections = [
        header_section(run_dir, stats, scan),
        notes,
        '<nav><a href="#funnel">funnel</a><a href="#paragraphs">paragraphs</a>'
        '<a href="#document-scores">document scores</a>'
        '<a href="#paragraph-scores">paragraph scores</a><a href="#languages">languages</a>'
        '<a href="#dropped">dropped documents</a><a href="#removed">removed paragraphs</a></nav>',
        funnel_section(stats, pngs),
        paragraphs_section(stats, pngs),
        images_section(stats),
        histograms_section(
            "Document-level filter scores", "document-scores", scan.documents, "document", pngs
        ),
        histograms_section(
            "Paragraph-level filter scores", "paragraph-scores", scan.paragraphs, "paragraph", pngs
        ),
        languages_section(scan, pngs),
        dropped_section(stats, scan, document_rules(config)),
        removed_section(stats, scan, paragraph_rules(config)),
    ]
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>webweave report — {e(run_dir)}</title><style>{_CSS}</style></head>"
        f"<body>{''.join(sections)}</body></html>\n"
    )
    return page, pngs


def _notes(stats: dict, config: dict, scan: Scan) -> str:
    """Why parts of the page may be empty: missing files, filters off, nothing extracted."""
    notes = []
    if not stats:
        notes.append(f"{STATS} not found: funnel and totals are unavailable.")
    if not config:
        notes.append(f"{CONFIG} not found: thresholds shown are webweave's defaults.")
    if (config.get("text_filters") or {}).get("enabled") is False:
        notes.append(
            "Text filters were disabled in this run (text_filters.enabled: false): no filter "
            "scores were computed, so there are no score histograms."
        )
    elif scan.rows and not scan.scored_rows:
        notes.append("No extracted document carries filter scores.")
    if not scan.files:
        notes.append(f"No {EXTRACTED}/*.parquet files: nothing to histogram or sample.")
    elif not scan.rows:
        notes.append(f"{EXTRACTED}/ holds no rows (an empty run).")
    return "".join(f'<p class="note">{e(note)}</p>' for note in notes)


# ---------------------------------------------------------------------------------------------
# Entry point.


def write_report(run_dir: str, samples_per_reason: int = 5) -> str:
    """Write ``DIR/report.html`` and ``DIR/report/*.png``; returns the page's path."""
    stats = _read_optional_json(join(run_dir, STATS))
    config = _read_optional_yaml(join(run_dir, CONFIG))
    scan = scan_extracted(run_dir, config, samples_per_reason)
    page, pngs = render_page(run_dir, stats, config, scan)
    _remove_old_figures(run_dir)
    for png in pngs:
        _write(join(run_dir, REPORT_FIGURES, png.name), png.data)
    path = join(run_dir, REPORT_HTML)
    _write(path, page.encode("utf-8"))
    return path


def _read_optional_json(path: str) -> dict:
    return read_json(path) if FileSystems.exists(path) else {}


def _read_optional_yaml(path: str) -> dict:
    if not FileSystems.exists(path):
        return {}
    with FileSystems.open(path) as handle:
        return yaml.safe_load(handle.read()) or {}


def _remove_old_figures(run_dir: str) -> None:
    """A score that had values last time may have none now: its stale figure must go."""
    old = _match(join(run_dir, REPORT_FIGURES, "*.png"))
    if old:
        FileSystems.delete(old)


def _write(path: str, data: bytes) -> None:
    if "://" not in path:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with FileSystems.create(path) as handle:
        handle.write(data)
