"""Nucleus sampling with one random generator per caption, not the global RNG.

transformers samples with ``torch.multinomial`` on the global generator, so a caption depends
on every other row in the batch (and on batch size and worker count). Here each caption row
(pair, k) owns a ``torch.Generator`` seeded from ``(seed, pair_id, k)``; its uniforms are drawn
once per batch, and ``RowSampler`` picks the token by inverse CDF from that row's uniform.

Order (transformers 5.25, ``GenerationMixin._get_logits_processor``): processors built from the
generation config (repetition penalty, min length) come first, then the caller's processors,
then — only when ``do_sample=True`` — the top-k and top-p warpers. A custom sampler passed with
``do_sample=True`` would therefore run *before* top-p. So CapFilt calls ``generate`` with
``do_sample=False`` and passes ``[TopK, TopP, RowSampler]`` itself: the same order as
transformers' sampling mode (penalty, min length, top-k, top-p, sample), after which
greedy decoding picks the one token the sampler left (``test_capfilt_models.py`` checks the
order against transformers' own list).
"""

from __future__ import annotations

import hashlib

import torch
from transformers import LogitsProcessor, LogitsProcessorList, TopKLogitsWarper, TopPLogitsWarper


def row_seed(seed: int, pair_id: str, k: int) -> int:
    """A 63-bit generator seed for caption ``k`` of ``pair_id`` (stable across runs)."""
    digest = hashlib.blake2b(f"{seed}\0{pair_id}\0{k}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


def row_uniforms(seed: int, keys: list[tuple[str, int]], steps: int) -> torch.Tensor:
    """``(rows, steps)`` float32 uniforms in [0, 1), row ``i`` from its own generator."""
    rows = []
    for pair_id, k in keys:
        generator = torch.Generator().manual_seed(row_seed(seed, pair_id, k))
        rows.append(torch.rand(steps, generator=generator))
    return torch.stack(rows) if rows else torch.zeros(0, steps)


class RowSampler(LogitsProcessor):
    """Samples each row's next token from its own uniform; leaves only that token finite."""

    def __init__(self, uniforms: torch.Tensor, prompt_length: int):
        self.uniforms = uniforms  # (rows, steps), on the scores' device
        self.prompt_length = prompt_length

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.Tensor:
        step = input_ids.shape[1] - self.prompt_length
        probs = torch.softmax(scores.float(), dim=-1)
        cdf = torch.cumsum(probs, dim=-1)
        total = cdf[:, -1:]
        target = self.uniforms[:, step : step + 1].to(cdf.device) * total
        token = torch.searchsorted(cdf, target, right=True)
        # u * total < total, so a token is always found; the clamp guards float edge cases
        # by falling back to the last token with probability mass (first index of the max).
        last = torch.argmax(cdf, dim=-1, keepdim=True)
        token = torch.minimum(token, last)
        chosen = torch.full_like(scores, float("-inf"))
        chosen.scatter_(1, token, 0.0)
        return chosen


def sampling_processors(
    top_k: int, top_p: float, uniforms: torch.Tensor, prompt_length: int
) -> LogitsProcessorList:
    """The warpers transformers would add for ``do_sample=True``, then the row sampler."""
    processors = LogitsProcessorList()
    if top_k:
        processors.append(TopKLogitsWarper(top_k=top_k, min_tokens_to_keep=1))
    if top_p < 1.0:
        processors.append(TopPLogitsWarper(top_p=top_p, min_tokens_to_keep=1))
    processors.append(RowSampler(uniforms, prompt_length))
    return processors
