"""``webweave timed calibrate``: where TImeD's thresholds fall for your model and corpus.

The paper's T_pos = 0.35 and T_neg = 0.18 keep "roughly the top 1% and the bottom 5%" of its
CLIP similarity distribution (§3.1); another model or corpus puts those shares elsewhere.
This prints the quantiles of each sentence's best similarity (its most similar image on the
page, which decides both rules: visual if best > T_pos, non-visual if best < T_neg) and the
thresholds that keep ``timed.calibrate_top_share`` / ``calibrate_bottom_share`` of them,
with the shares the configured thresholds keep. It reads a ``timed auto`` output when given
one (nothing recomputed), else scores the documents itself without writing anything.
"""

from __future__ import annotations

import glob
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from webweave.annotation.config import TimedConfig
from webweave.annotation.timed_auto import SENTENCES_DIR

QUANTILES = (0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999)


def is_auto_output(folder: Path) -> bool:
    return (folder / SENTENCES_DIR).is_dir()


def best_similarities_of_auto(folder: Path) -> np.ndarray:
    values = []
    for path in sorted(glob.glob(str(folder / SENTENCES_DIR / "*.parquet"))):
        column = pq.read_table(path, columns=["best_similarity"])["best_similarity"]
        values.append(column.drop_null().to_numpy())
    return np.concatenate(values) if values else np.zeros(0, np.float32)


def calibration(best: np.ndarray, timed: TimedConfig) -> dict:
    """Quantiles, suggested thresholds, and the shares the configured thresholds keep."""
    if len(best) == 0:
        return {"sentences": 0}
    best = best.astype(np.float64)
    return {
        "sentences": int(len(best)),
        "quantiles": {q: float(np.quantile(best, q)) for q in QUANTILES},
        "t_pos": float(np.quantile(best, 1.0 - timed.calibrate_top_share)),
        "t_neg": float(np.quantile(best, timed.calibrate_bottom_share)),
        "configured": {
            "t_pos": timed.t_pos,
            "t_neg": timed.t_neg,
            "visual_share": float(np.mean(best > timed.t_pos)),
            "non_visual_share": float(np.mean(best < timed.t_neg)),
        },
    }


def report_text(result: dict, timed: TimedConfig) -> str:
    if not result["sentences"]:
        return "no sentence has an image to compare to: nothing to calibrate"
    lines = [f"best sentence-image similarity of {result['sentences']:,} sentences:"]
    lines += [f"  q{q * 100:g}%  {v:.4f}" for q, v in result["quantiles"].items()]
    configured = result["configured"]
    lines.append(
        f"configured t_pos {configured['t_pos']} keeps {configured['visual_share']:.2%} as visual, "
        f"t_neg {configured['t_neg']} keeps {configured['non_visual_share']:.2%} as non-visual"
    )
    lines.append(
        f"thresholds keeping the top {timed.calibrate_top_share:.0%} / bottom "
        f"{timed.calibrate_bottom_share:.0%} (TImeD's shares), for your --config:"
    )
    lines.append(f"timed:\n  t_pos: {result['t_pos']:.4f}\n  t_neg: {result['t_neg']:.4f}")
    return "\n".join(lines)
