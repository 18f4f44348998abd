"""Train / val / test splits that never cut a group (a NIGHTS reference, a TImeD document).

Groups are shuffled with the seed and dealt out in that order: a group goes to the split
whose share of the running item count its midpoint falls in, so split sizes follow the
ratios as closely as whole groups allow, and no group ever spans two splits.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from webweave.annotation.seeding import rng_for

SPLIT_ORDER = ("train", "val", "test")


def grouped_split(groups: Sequence[str], ratios: dict[str, float], seed: int) -> list[str]:
    """The split of each item, given the group of each item."""
    sizes = Counter(groups)
    names = sorted(sizes)
    order = rng_for(seed, "splits").permutation(len(names))
    total = len(groups)
    bounds, running = [], 0.0
    for split in SPLIT_ORDER:
        running += ratios[split]
        bounds.append((running * total, split))
    assigned, done = {}, 0
    for index in order:
        group = names[int(index)]
        middle = done + sizes[group] / 2
        assigned[group] = next((s for bound, s in bounds if middle < bound), SPLIT_ORDER[-1])
        done += sizes[group]
    return [assigned[g] for g in groups]
