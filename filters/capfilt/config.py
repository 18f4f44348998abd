"""The ``capfilt:`` config section, typed (values and their sources: default_config.yaml).

Keys fall in three groups, and ``webweave capfilt refilter`` relies on the split:

- **model keys** change the stored scores (models, decoding, seed, text sources, image limits,
  precision): a new value needs a model run;
- **late keys** (``LATE_KEYS``) are thresholds applied to stored scores: refilter re-applies
  them without a model run;
- **speed and layout keys** (``SPEED_KEYS``) change how fast or in which files, not what.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from webweave.schemas.config import (
    Above,
    AtLeast,
    Between,
    Count,
    NonEmpty,
    PositiveInt,
    Ratio,
    Section,
)

TextSource = Literal["alt_text", "text_after", "text_before"]

# Keys ``capfilt refilter`` may change (thresholds, applied late to stored scores).
LATE_KEYS = frozenset({"itm_threshold", "keep_top", "write_documents"})
# Keys that change speed or file layout, never a score or a decision.
SPEED_KEYS = frozenset(
    {
        "batch_size",
        "cpu_batch_size",
        "decode_threads",
        "prefetch_batches",
        "shard_rows",
        "parquet_compression",
    }
)


@dataclass(frozen=True)
class Decoding(Section):
    """How captions are sampled (BLIP's ``BLIP_Decoder.generate`` sampling branch)."""

    prompt: Annotated[str, NonEmpty()]
    top_k: Count  # 0 = off
    top_p: Annotated[float, Between(0.0, 1.0), Above(0.0)]
    repetition_penalty: Annotated[float, Above(0.0)]
    max_length: PositiveInt  # counts the BOS and prompt tokens, as transformers does
    min_length: Count

    def check(self) -> str | None:
        if self.min_length > self.max_length:
            return f"decoding.min_length {self.min_length} > max_length {self.max_length}"
        return None


@dataclass(frozen=True)
class BlipModels(Section):
    """Mode ``blip``: captioner + ITM filter (paper BLIP §3.3)."""

    captioner: Annotated[str, NonEmpty()]
    filter: Annotated[str, NonEmpty()]
    captions_per_image: PositiveInt


@dataclass(frozen=True)
class Blip2Models(Section):
    """Mode ``blip2``: captioner + CLIP ranker (paper BLIP-2 §3.4)."""

    captioner: Annotated[str, NonEmpty()]
    ranker: Annotated[str, NonEmpty()]
    captions_per_image: PositiveInt


@dataclass(frozen=True)
class CapFiltConfig(Section):
    """The ``capfilt:`` section (webweave capfilt)."""

    yaml_name = "capfilt"

    mode: Literal["blip", "blip2"]
    blip: BlipModels
    blip2: Blip2Models
    decoding: Decoding
    seed: Count
    text_sources: Annotated[tuple[TextSource, ...], NonEmpty()]
    itm_max_tokens: PositiveInt
    itm_first_token: Literal["cls", "enc"]
    itm_threshold: Ratio
    keep_top: PositiveInt
    write_documents: bool
    device: Literal["auto", "cpu", "cuda"]
    precision: Literal["auto", "fp32", "bf16"]
    attention: Literal["sdpa", "eager"]
    cpu_batch_invariant: bool
    batch_size: PositiveInt
    cpu_batch_size: PositiveInt
    decode_threads: PositiveInt
    prefetch_batches: PositiveInt
    max_image_bytes: PositiveInt
    max_image_pixels: Annotated[int, AtLeast(1)]
    shard_rows: PositiveInt
    parquet_compression: Literal["zstd", "snappy", "gzip", "none"]

    def check(self) -> str | None:
        if len(set(self.text_sources)) != len(self.text_sources):
            return "text_sources lists a source twice"
        return None

    @property
    def captions_per_image(self) -> int:
        return self.models.captions_per_image

    @property
    def models(self) -> BlipModels | Blip2Models:
        """The model set of the active mode."""
        return self.blip if self.mode == "blip" else self.blip2

    def model_keys(self) -> dict:
        """Everything that changes a stored score (see the module docstring)."""
        keys = self.to_dict()
        for name in LATE_KEYS | SPEED_KEYS | {"device"}:
            keys.pop(name)
        inactive = "blip2" if self.mode == "blip" else "blip"
        keys.pop(inactive)
        return keys
