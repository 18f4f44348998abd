"""One streaming pass over a run's ``extracted/``: score histograms, languages and samples.

Memory stays bounded by one Parquet row group: score values go into fixed fine-grained bins
(not lists), and only the first ``samples_per_reason`` rows per reason (file order,
deterministic) keep their text.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from webweave.filters.text.rules import punctuation_checked
from webweave.pipelines.config import Config
from webweave.pipelines.layout import EXTRACTED
from webweave.pipelines.parquet_shards import join
from webweave.pipelines.report.rules import ScoreRule, document_rules, paragraph_rules
from webweave.schemas import documents

TEXT_CHARS = 1000  # characters of a sampled document or paragraph shown on the page
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


def scan_extracted(run_dir: str, config: Config, per_reason: int) -> Scan:
    """Histograms, languages and samples of every ``extracted/*.parquet`` row, in file order."""
    filters = config.text_filters
    scan = Scan(
        _new_histograms(DOCUMENT_SCORES, document_rules(config)),
        _new_histograms(PARAGRAPH_SCORES, paragraph_rules(config)),
        {
            "document": filters.document.punctuation_min_tokens,
            "paragraph": filters.paragraph.punctuation_min_tokens,
        },
        max(per_reason, 0),
    )
    for path in match(join(run_dir, EXTRACTED, "*.parquet")):
        scan.files += 1
        with FileSystems.open(path) as handle:
            _scan_file(pq.ParquetFile(handle), scan)
    return scan


def match(pattern: str) -> list[str]:
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
        checked = None
        if name == "punctuation_ratio":  # what the rule compares (rules.punctuation_checked)
            checked = punctuation_checked(values[name], values["punctuation_tokens"], min_tokens)
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
