"""The dedup steps composed in order, and their actions grouped per shard for the rewrite."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

import apache_beam as beam

from webweave.pipelines.dedup.config import DedupConfig
from webweave.pipelines.dedup.image_set_dedup import ImageSetDedup
from webweave.pipelines.dedup.image_url_frequency import ImageUrlFrequency
from webweave.pipelines.dedup.keys import DROP_DOCUMENT, REMOVE_IMAGE, REMOVE_PARAGRAPH, DedupAction
from webweave.pipelines.dedup.near_duplicates import NearDuplicates
from webweave.pipelines.dedup.paragraph_dedup import ParagraphDedup
from webweave.pipelines.dedup.step import DedupStep
from webweave.pipelines.dedup.url_dedup import UrlDedup
from webweave.pipelines.grouping import BEAM_SHUFFLE, Grouping

# The steps in the order they run; each is on when ``dedup.<step.name>`` is true.
STEPS: tuple[type[DedupStep], ...] = (
    UrlDedup, NearDuplicates, ImageUrlFrequency, ParagraphDedup, ImageSetDedup
)  # fmt: skip


def enabled_steps(config: DedupConfig) -> list[type[DedupStep]]:
    return [step for step in STEPS if getattr(config, step.name)]


class Deduplicate(beam.PTransform):
    """All enabled steps in order (module doc), each on the previous step's survivors.

    In: PCollection[DedupKey]. Out: dict ``survivors``, ``actions`` (all steps), ``stats``
    ((name, count), summed), ``cluster_members``, ``cluster_sizes`` (empty when near-duplicate
    removal is off).

    ``combined=False`` is the job's form: ``actions`` is a tuple of per-step PCollections (for
    ``ActionsByShard``) and there is no ``survivors``. Beam's local runner holds the inputs of
    every multi-input Flatten in memory, so the job never flattens per-document data.
    """

    def __init__(
        self,
        config: DedupConfig | None = None,
        grouping: Grouping = BEAM_SHUFFLE,
        combined: bool = True,
    ):
        super().__init__()
        self._config = config or DedupConfig.default()
        self._grouping = grouping
        self._combined = combined

    def expand(self, keys):
        config, grouping = self._config, self._grouping
        steps: list[DedupStep] = []
        for step in enabled_steps(config):
            if step is ImageSetDedup:
                steps.append(ImageSetDedup(config, grouping, survivors=self._combined))
            else:
                steps.append(step(config, grouping))
        survivors, actions, stats = keys, [], []
        clusters: dict[str, Any] = {}
        for transform in steps:
            result = survivors | transform.title >> transform
            survivors = result.get("survivors")
            actions.append(result["actions"])
            stats.append(result["stats"])
            clusters.update({k: v for k, v in result.items() if k.startswith("cluster_")})
        pipeline = keys.pipeline
        for name in ("cluster_members", "cluster_sizes"):
            if name not in clusters:
                clusters[name] = pipeline | f"No{name}" >> beam.Create([])
        stats = _flatten(pipeline, stats, "AllStats") | "SumStats" >> beam.CombinePerKey(sum)
        if not self._combined:
            return {"actions": tuple(actions), "stats": stats, **clusters}
        return {
            "survivors": survivors,
            "actions": _flatten(pipeline, actions, "AllActions"),
            "stats": stats,
            **clusters,
        }


def _flatten(pipeline, pcolls: list, label: str):
    if not pcolls:
        return pipeline | f"{label}Empty" >> beam.Create([])
    return tuple(pcolls) | label >> beam.Flatten()


class ShardActions(NamedTuple):
    """Everything to apply to one staged shard; bounded by the shard's own documents."""

    dropped: dict[str, str]  # doc_id -> reason
    removed_images: dict[str, frozenset[str]]  # doc_id -> image URLs to remove
    removed_paragraphs: dict[str, frozenset[int]]  # doc_id -> paragraph hashes to remove


def shard_actions(actions: Iterable[DedupAction]) -> ShardActions:
    """Fold one shard's actions; a dropped document's other actions are discarded."""
    dropped: dict[str, str] = {}
    images: dict[str, set[str]] = {}
    paragraphs: dict[str, set[int]] = {}
    for action in actions:
        if action.kind == DROP_DOCUMENT:
            dropped.setdefault(action.doc_id, action.reason)
        elif action.kind == REMOVE_IMAGE:
            images.setdefault(action.doc_id, set()).add(action.image_url)
        elif action.kind == REMOVE_PARAGRAPH:
            paragraphs.setdefault(action.doc_id, set()).add(action.paragraph_hash)
        else:
            raise ValueError(f"unknown dedup action kind {action.kind!r}")
    return ShardActions(
        dropped=dropped,
        removed_images={d: frozenset(u) for d, u in images.items() if d not in dropped},
        removed_paragraphs={d: frozenset(h) for d, h in paragraphs.items() if d not in dropped},
    )


class ActionsByShard(beam.PTransform):
    """In: PCollection[DedupAction] or a tuple of them. Out: PCollection[(shard, ShardActions)],
    one per shard with at least one action, for the per-shard rewrite."""

    def __init__(self, grouping: Grouping = BEAM_SHUFFLE):
        super().__init__()
        self._grouping = grouping

    def expand(self, actions):
        parts = (actions,) if isinstance(actions, beam.PCollection) else tuple(actions)
        by_shard = tuple(
            part | f"ByShard{index}" >> beam.Map(lambda action: (action.shard, tuple(action)))
            for index, part in enumerate(parts)
        )
        return (
            by_shard
            | "GroupByShard" >> self._grouping.group_by_key()
            | "Fold"
            >> beam.MapTuple(
                lambda shard, packed: (shard, shard_actions(DedupAction(*p) for p in packed))
            )
        )
