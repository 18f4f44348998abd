"""The images job's configuration (``images:``), typed, and what derives from it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from webweave.pipelines.parquet_shards import Compression
from webweave.schemas.config import AtLeast, Count, NonEmpty, PositiveInt, Seconds, Section

Words = tuple[str, ...]


@dataclass(frozen=True)
class ImagesConfig(Section):
    """``images:`` (the values and their sources: default_config.yaml)."""

    yaml_name = "images"

    allowed_networks: Words
    static_hosts: Words
    fetch_missing: bool
    timeout_seconds: Seconds
    retries: Count
    max_bytes: PositiveInt
    max_redirects: Count
    host_time_budget_seconds: Seconds
    processes: PositiveInt
    threads: PositiveInt
    batch_size: PositiveInt
    user_agent_token: str
    disallowed_header_directives: Words
    url_words: Words
    formats: Annotated[Words, NonEmpty()]
    min_side: Count
    max_side: PositiveInt
    max_aspect_ratio: Annotated[float, AtLeast(1.0)]
    max_pixels: PositiveInt
    gif_first_frame: bool
    fallback_reasons: Words
    max_network_candidates: PositiveInt
    warc_max_hops: PositiveInt
    min_images_per_document: Count
    max_images_per_document: Count
    no_image_documents: Literal["drop", "keep_text_only"]
    store_shard_rows: PositiveInt
    store_shard_bytes: PositiveInt
    shard_rows: PositiveInt
    parquet_compression: Compression

    def check(self) -> str | None:
        if self.gif_first_frame and "png" not in self.formats:
            return "gif_first_frame stores PNG frames: formats needs 'png'"
        if self.min_side > self.max_side:
            return "min_side is above max_side"
        if self.min_images_per_document > self.max_images_per_document:
            return "min_images_per_document is above max_images_per_document"
        return None


def images_config(values: ImagesConfig | dict[str, Any] | None = None) -> ImagesConfig:
    """The images config: the defaults with ``values`` over them (a job file written by an
    older version lacks newer keys: they get their defaults)."""
    if isinstance(values, ImagesConfig):
        return values
    return ImagesConfig.parse({**ImagesConfig.default().to_dict(), **(values or {})})


def index_record_bytes(config: ImagesConfig) -> int:
    """Largest archive record indexed and read back: room for headers around a max_bytes body
    with an HTTP coding (webweave convention: four times images.max_bytes)."""
    return 4 * config.max_bytes
