"""The annotation sections of ``config.yaml``, typed (values and sources: default_config.yaml).

``annotation_clip:`` is the open_clip model of corpus mining and TImeD auto labels;
``nights:`` the triplet study; ``rounds:`` the export/ingest loop both studies share;
``timed:`` the visualness study. Commands load them with ``load_annotation_config``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from webweave.schemas.config import AtLeast, Between, Count, NonEmpty, PositiveInt, Ratio, Section

Cosine = Annotated[float, Between(-1.0, 1.0)]
Seed = Annotated[int, AtLeast(0)]


def _ratios_problem(train: float, val: float, test: float) -> str | None:
    total = train + val + test
    return None if abs(total - 1.0) < 1e-9 else f"train/val/test ratios sum to {total}, not 1"


@dataclass(frozen=True)
class ClipModelConfig(Section):
    """``annotation_clip:``: which open_clip model, from which local file, on which device."""

    yaml_name = "annotation_clip"

    model: Annotated[str, NonEmpty()]
    checkpoint: str | None
    model_config: str | None
    batch_size: PositiveInt
    device: Literal["auto", "cpu", "cuda"]
    cuda_precision: Literal["bf16", "fp32"]


@dataclass(frozen=True)
class MiningConfig(Section):
    """``nights.mining:``: two neighbours per reference image, inside a similarity band."""

    similarity_min: Cosine
    similarity_max: Cosine
    phash_max_distance: Annotated[int, Between(0, 64)]
    candidates_per_reference: Annotated[int, AtLeast(2)]
    max_references: PositiveInt | None
    index: Literal["auto", "exact", "ivf"]
    exact_max_images: PositiveInt
    ivf_nprobe: PositiveInt

    def check(self) -> str | None:
        if self.similarity_min > self.similarity_max:
            return "similarity_min is above similarity_max"
        return None


@dataclass(frozen=True)
class NightsConfig(Section):
    """``nights:``: the triplet study (seed, attention checks, splits, corpus mining)."""

    yaml_name = "nights"

    seed: Seed
    attention_check_rate: Ratio
    train_ratio: Ratio
    val_ratio: Ratio
    test_ratio: Ratio
    mining: MiningConfig

    def check(self) -> str | None:
        return _ratios_problem(self.train_ratio, self.val_ratio, self.test_ratio)

    @property
    def split_ratios(self) -> dict[str, float]:
        return {"train": self.train_ratio, "val": self.val_ratio, "test": self.test_ratio}


@dataclass(frozen=True)
class RoundsConfig(Section):
    """``rounds:``: the export / ingest loop of both studies."""

    yaml_name = "rounds"

    max_rounds: PositiveInt
    first_round_votes: PositiveInt
    votes_per_round: PositiveInt
    items_per_hit: PositiveInt
    likert_widget: Literal["rating", "choices"]
    groundtruth_label_attribute: Annotated[str, NonEmpty()]

    def check(self) -> str | None:
        name = self.groundtruth_label_attribute
        if "-metadata" in name or name.endswith("-ref"):
            return "groundtruth_label_attribute must not contain '-metadata' nor end in '-ref'"
        return None


@dataclass(frozen=True)
class TimedConfig(Section):
    """``timed:``: auto-label thresholds, sentence splitting, the human-round protocol."""

    yaml_name = "timed"

    t_pos: Cosine
    t_neg: Cosine
    calibrate_top_share: Annotated[float, Between(0.0, 0.5)]
    calibrate_bottom_share: Annotated[float, Between(0.0, 0.5)]
    default_language: Annotated[str, NonEmpty()]
    min_sentence_chars: Count
    raters: PositiveInt
    min_agreeing: PositiveInt
    attention_check_rate: Ratio
    per_label: PositiveInt
    manifest_labels: tuple[Literal["visual", "non_visual", "unlabelled"], ...]
    seed: Seed
    train_ratio: Ratio
    val_ratio: Ratio
    test_ratio: Ratio

    def check(self) -> str | None:
        if self.t_neg > self.t_pos:
            return "t_neg is above t_pos"
        if self.min_agreeing * 2 <= self.raters:
            return "min_agreeing must be a strict majority of raters"
        if not self.manifest_labels:
            return "manifest_labels must not be empty"
        return _ratios_problem(self.train_ratio, self.val_ratio, self.test_ratio)

    @property
    def split_ratios(self) -> dict[str, float]:
        return {"train": self.train_ratio, "val": self.val_ratio, "test": self.test_ratio}


@dataclass(frozen=True)
class AnnotationConfig:
    """Every annotation section of one effective config (what a command receives)."""

    clip: ClipModelConfig
    nights: NightsConfig
    rounds: RoundsConfig
    timed: TimedConfig

    def to_dict(self) -> dict:
        return {
            "annotation_clip": self.clip.to_dict(),
            "nights": self.nights.to_dict(),
            "rounds": self.rounds.to_dict(),
            "timed": self.timed.to_dict(),
        }


def load_annotation_config(
    path: str | Path | None = None, recorded: str | Path | None = None
) -> AnnotationConfig:
    """Defaults, then ``recorded`` (a round's ``config.yaml``: the study keeps its settings
    from round to round), then the user's ``--config`` file; each section checked."""
    from webweave.pipelines.config import load_section, read_yaml  # late: it may type us

    if recorded is not None:
        path, overrides = recorded, (read_yaml(path) if path is not None else None)
    else:
        overrides = None
    return AnnotationConfig(
        clip=load_section(ClipModelConfig, path, overrides),
        nights=load_section(NightsConfig, path, overrides),
        rounds=load_section(RoundsConfig, path, overrides),
        timed=load_section(TimedConfig, path, overrides),
    )
