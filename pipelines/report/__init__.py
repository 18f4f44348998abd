"""``webweave report DIR``: one static HTML page to tune a run's text-filter thresholds.

Writes ``DIR/report.html`` and its figures ``DIR/report/*.png`` (matplotlib, Agg canvas, fixed
file names so a re-run overwrites rather than accumulates). The page shows the funnel from
``stats.json``, a histogram per filter score with the thresholds of ``config.yaml`` drawn on it,
the language mix, and samples of what each filter dropped, so a data person sees what a
threshold change would keep or lose before running ``webweave refilter``.

Modules: ``rules`` (what the config does with each score, from the rule table), ``scan`` (one
streaming pass over ``extracted/``), ``figures`` (PNG), ``page`` (HTML). Paths go through
Beam's ``FileSystems``, so ``gs://`` run folders work like local ones.
"""

from __future__ import annotations

import os

import yaml
from apache_beam.io.filesystems import FileSystems

from webweave.pipelines.config import Config, default_config, load_config
from webweave.pipelines.layout import CONFIG, REPORT_FIGURES, REPORT_HTML, STATS
from webweave.pipelines.parquet_shards import join, read_json
from webweave.pipelines.report.page import render_page
from webweave.pipelines.report.scan import DOCUMENT_SCORES, PARAGRAPH_SCORES, match, scan_extracted

__all__ = ["DOCUMENT_SCORES", "PARAGRAPH_SCORES", "REPORT_FIGURES", "REPORT_HTML", "write_report"]


def write_report(run_dir: str, samples_per_reason: int = 5) -> str:
    """Write ``DIR/report.html`` and ``DIR/report/*.png``; returns the page's path."""
    stats = _read_optional_json(join(run_dir, STATS))
    config = _read_optional_config(join(run_dir, CONFIG))
    scan = scan_extracted(run_dir, config or default_config(), samples_per_reason)
    page, pngs = render_page(run_dir, stats, config, scan)
    _remove_old_figures(run_dir)
    for png in pngs:
        _write(join(run_dir, REPORT_FIGURES, png.name), png.data)
    path = join(run_dir, REPORT_HTML)
    _write(path, page.encode("utf-8"))
    return path


def _read_optional_json(path: str) -> dict:
    return read_json(path) if FileSystems.exists(path) else {}


def _read_optional_config(path: str) -> Config | None:
    """The run's effective config, typed; None when the folder has no ``config.yaml``."""
    if not FileSystems.exists(path):
        return None
    with FileSystems.open(path) as handle:
        return load_config(overrides=yaml.safe_load(handle.read()) or {})


def _remove_old_figures(run_dir: str) -> None:
    """A score that had values last time may have none now: its stale figure must go."""
    old = match(join(run_dir, REPORT_FIGURES, "*.png"))
    if old:
        FileSystems.delete(old)


def _write(path: str, data: bytes) -> None:
    if "://" not in path:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with FileSystems.create(path) as handle:
        handle.write(data)
