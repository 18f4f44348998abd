"""Named random generators: one seed, an independent stream per purpose and round.

``rng_for(seed, "checks", 3)`` always gives the same generator, whatever else drew numbers
before it, so adding a random step never changes another step's output.
"""

from __future__ import annotations

import zlib

import numpy as np


def rng_for(seed: int, *parts: str | int) -> np.random.Generator:
    words = [seed] + [p if isinstance(p, int) else zlib.crc32(p.encode()) for p in parts]
    return np.random.default_rng(words)
