"""Crawl-scale deduplication as Beam shuffles over small per-document keys.

Documents never enter a shuffle: the run job emits one ``DedupKey`` per staged document
(``keys.py``) and the steps turn keys into ``DedupAction`` records (drop a document, remove an
image URL, remove a paragraph hash), which the job groups by ``shard`` and applies while
rewriting each staged shard (``compose.ActionsByShard``). Every global decision is a
GroupByKey/CombinePerKey; the reducers iterate their groups (twice where they must, Beam's
grouped values are re-iterable) and hold no group in memory, so no worker's memory grows with
the corpus.

The steps, in the order ``compose.Deduplicate`` runs them, each on the previous one's
survivors. One name per step: its config switch (``dedup.<name>``), its funnel stage in
``stats.json`` and its module are all ``name``; its class is the name in CamelCase.

1. ``url_dedup``: one document per normalised URL, the latest capture.
2. ``near_duplicates``: MinHash-LSH band buckets -> star edges -> connected components
   (large-star/small-star rounds, ``connected_components.py``) -> one document per cluster.
3. ``image_url_frequency``: an image URL in more than N surviving documents is removed from all.
4. ``paragraph_dedup``: a paragraph in >= M documents of one domain is removed from all.
5. ``image_set_dedup``: one document per identical non-empty set of remaining image URLs.

URL and near-duplicate removal run first (OBELICS counts image URLs before URL dedup) so repeat
captures of one page cannot push its images and paragraphs over the frequency cut-offs. Drop
reasons (``url_duplicate``, ``near_duplicate``, ``image_url_too_frequent``,
``paragraph_duplicate_in_domain``, ``image_set_duplicate``) are stable column values, declared
once on each step as ``reason``.

"Keeper" everywhere: the latest capture time, then the smallest ``doc_id``; the same rule as a
total order on ``recency_rank(key) = (-capture_time_us, doc_id)``, smallest first.
"""

from webweave.pipelines.dedup.compose import (
    STEPS,
    ActionsByShard,
    Deduplicate,
    ShardActions,
    shard_actions,
)
from webweave.pipelines.dedup.config import DedupConfig
from webweave.pipelines.dedup.connected_components import ConnectedComponents, star_edges
from webweave.pipelines.dedup.image_set_dedup import IMAGE_SET_DUPLICATE, ImageSetDedup
from webweave.pipelines.dedup.image_url_frequency import IMAGE_URL_TOO_FREQUENT, ImageUrlFrequency
from webweave.pipelines.dedup.keys import (
    DROP_DOCUMENT,
    REMOVE_IMAGE,
    REMOVE_PARAGRAPH,
    ClusterMember,
    DedupAction,
    DedupKey,
    capture_time_us,
    make_dedup_key,
    recency_rank,
)
from webweave.pipelines.dedup.near_duplicates import NEAR_DUPLICATE, NearDuplicates
from webweave.pipelines.dedup.paragraph_dedup import PARAGRAPH_DUPLICATE_IN_DOMAIN, ParagraphDedup
from webweave.pipelines.dedup.url_dedup import URL_DUPLICATE, UrlDedup

__all__ = [
    "DROP_DOCUMENT", "IMAGE_SET_DUPLICATE", "IMAGE_URL_TOO_FREQUENT", "NEAR_DUPLICATE",
    "PARAGRAPH_DUPLICATE_IN_DOMAIN", "REMOVE_IMAGE", "REMOVE_PARAGRAPH", "STEPS", "URL_DUPLICATE",
    "ActionsByShard", "ClusterMember", "ConnectedComponents", "DedupAction", "DedupConfig",
    "DedupKey", "Deduplicate", "ImageSetDedup", "ImageUrlFrequency", "NearDuplicates",
    "ParagraphDedup", "ShardActions", "UrlDedup", "capture_time_us", "make_dedup_key",
    "recency_rank", "shard_actions", "star_edges",
]  # fmt: skip
