"""The report's HTML page: sections assembled from stats, the scan and the figures."""

from __future__ import annotations

import html
from collections import Counter
from typing import Any

from webweave.pipelines.config import Config, default_config
from webweave.pipelines.layout import CONFIG, EXTRACTED, REPORT_FIGURES, STATS
from webweave.pipelines.report.figures import (
    Png,
    counts_figure,
    funnel_figure,
    histogram_figure,
    languages_figure,
    top_languages,
)
from webweave.pipelines.report.rules import ScoreRule, document_rules, fmt, paragraph_rules
from webweave.pipelines.report.scan import TEXT_CHARS, Histogram, Sample, Scan

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
    rows = [[lb, k, d, _pct(k + d, scan.rows)] for lb, k, d in top_languages(scan.languages)]
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


def render_page(
    run_dir: str, stats: dict, config: Config | None, scan: Scan
) -> tuple[str, list[Png]]:
    """The whole page and the figures it references."""
    pngs: list[Png] = []
    notes = _notes(stats, config, scan)
    config = config or default_config()
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


def _notes(stats: dict, config: Config | None, scan: Scan) -> str:
    """Why parts of the page may be empty: missing files, filters off, nothing extracted."""
    notes = []
    if not stats:
        notes.append(f"{STATS} not found: funnel and totals are unavailable.")
    if config is None:
        notes.append(f"{CONFIG} not found: thresholds shown are webweave's defaults.")
    if config is not None and not config.text_filters.enabled:
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
