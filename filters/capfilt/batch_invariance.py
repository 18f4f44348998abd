"""Batch-invariant CPU inference: a row's result must not depend on the rows beside it.

A caption is meant to be a function of its own image, models, decoding parameters, seed and
``pair_id``. On CPU, MKL breaks that in the last bits of float32 in two ways (measured here
with torch 2.14, MKL-DNN 3.12; ``bench``-free, see tests/test_capfilt_models.py):

- a matrix product with fewer than 16 rows takes a different kernel (GEMV or a small-matrix
  path) than the same rows inside a larger product;
- with several threads, products with a long reduction (3072 → 768) split the reduction across
  threads depending on the row count, up to a few hundred rows.

Decoding steps multiply ``batch × K`` rows and the ITM head ``batch`` rows, so batch 1 and
batch 8 gave ITM scores 2e-7 apart. Guarded models pad every linear layer's input to at least
``MIN_ROWS`` rows and run inside ``single_thread()``; then batch 1 and batch 8 are equal byte
for byte. The guard is for CPU fp32 only; a local CPU run uses one Beam worker process per
core anyway, so one torch thread per process loses nothing. GPUs in bf16 are not batch
invariant and are not guarded.
"""

from __future__ import annotations

import contextlib
import types
from collections.abc import Iterator

import torch
import torch.nn.functional as F  # noqa: N812 - the usual name

MIN_ROWS = 16  # below this MKL's float32 GEMM takes another kernel (measured)


def _row_stable_linear(self: torch.nn.Linear, x: torch.Tensor) -> torch.Tensor:
    flat = x.reshape(-1, x.shape[-1])
    rows = flat.shape[0]
    if rows < MIN_ROWS:
        flat = torch.cat([flat, flat.new_zeros(MIN_ROWS - rows, flat.shape[1])])
    out = F.linear(flat, self.weight, self.bias)[:rows]
    return out.reshape(*x.shape[:-1], out.shape[-1])


def make_rows_independent(model: torch.nn.Module) -> torch.nn.Module:
    """Route every ``nn.Linear`` of ``model`` through the padded product (in place)."""
    for module in model.modules():
        if isinstance(module, torch.nn.Linear):
            module.forward = types.MethodType(_row_stable_linear, module)
    return model


@contextlib.contextmanager
def single_thread() -> Iterator[None]:
    """Run torch with one intra-op thread inside the block, then restore the previous count."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
