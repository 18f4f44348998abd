"""The ``dedup:`` config section, typed (values and their sources: default_config.yaml)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from webweave.filters.minhash import MinHashSignature
from webweave.schemas.config import Above, Between, PositiveInt, Section


@dataclass(frozen=True)
class DedupConfig(Section):
    """``dedup:``: which steps run (each switch is the step's name) and their settings."""

    yaml_name = "dedup"

    url_dedup: bool
    near_duplicates: bool
    image_url_frequency: bool
    paragraph_dedup: bool
    image_set_dedup: bool
    minhash_bands: PositiveInt
    minhash_rows: PositiveInt
    minhash_seed: int
    shingle_words: PositiveInt
    cc_rounds: PositiveInt
    max_image_documents: PositiveInt
    # 1 would remove every paragraph: a paragraph is always in >= 1 document of its domain.
    min_paragraph_documents: Annotated[int, Between(2, None)]
    # null turns the guard off.
    max_removed_fraction: Annotated[float, Above(0.0), Between(None, 1.0)] | None
    measure_shuffle_bytes: bool
    drop_params: tuple[str, ...]
    drop_param_prefixes: tuple[str, ...]
    merge_http_https: bool
    include_private_suffixes: bool

    def signer(self) -> MinHashSignature:
        return MinHashSignature(
            bands=self.minhash_bands,
            rows=self.minhash_rows,
            seed=self.minhash_seed,
            ngram=self.shingle_words,
        )

    def any_step(self) -> bool:
        return any((self.url_dedup, self.near_duplicates, self.image_url_frequency,
                    self.paragraph_dedup, self.image_set_dedup))  # fmt: skip
