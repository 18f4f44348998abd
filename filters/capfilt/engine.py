"""CapFilt on a stream of pairs: decode on CPU threads, caption and score on the device.

``CapFilt.from_config`` loads the models of the configured mode once (a worker does this in
``setup``); ``run`` takes ``PairInput`` items (pair id, image bytes, web text) and yields, in
input order, a ``PairScores`` or a ``PairFailure`` per item. Nothing is Beam-specific, so a
test, a benchmark and the Beam job run the same code.

Per batch (``batch_size`` on GPU, ``cpu_batch_size`` on CPU):

1. CPU threads decode and resize the next ``prefetch_batches`` batches while the device works
   (Pillow releases the GIL); a broken image becomes a ``PairFailure`` (stage ``decode``).
2. The captioner's vision tower runs once per image, then K captions are sampled per image.
3. Mode blip: the filter's vision tower runs once per image; the web text and the K captions
   of the image share that pass (``matching.py``). Mode blip2: the ranker encodes each image
   once and every text once (``ranking.py``).

A batch that fails (out of GPU memory, or any error) is split in halves and retried, down to
single pairs; only a single pair that still fails is a ``PairFailure`` (stage ``models``).
Captions use per-pair generators, so the split does not change them.
"""

from __future__ import annotations

import contextlib
import logging
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

import torch

from webweave.filters.capfilt.attention import use_sdpa
from webweave.filters.capfilt.batch_invariance import make_rows_independent, single_thread
from webweave.filters.capfilt.captioner import Captioner
from webweave.filters.capfilt.config import CapFiltConfig
from webweave.filters.capfilt.images import blip_array, decode_rgb, pixel_values
from webweave.filters.capfilt.matching import ItmFilter
from webweave.filters.capfilt.models import ModelInfo, load_blip, load_ranker
from webweave.filters.capfilt.ranking import ClipRanker
from webweave.filters.decision import StageError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PairInput:
    pair_id: str
    data: bytes
    web_text: str | None


@dataclass(frozen=True)
class PairScores:
    """The captions of a pair and every score; decisions come later (``decisions.py``)."""

    pair_id: str
    captions: list[str]
    caption_itm: list[float | None]
    caption_rank: list[float | None]
    web_itm: float | None
    web_rank: float | None


@dataclass(frozen=True)
class PairFailure:
    """A pair that could not be scored: one dead-letter row."""

    pair_id: str
    stage: str  # decode | models
    error_type: str
    message: str


@dataclass
class _Prepared:
    item: PairInput
    inputs: dict[str, Any] = field(default_factory=dict)


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def resolve_dtype(precision: str, device: torch.device) -> torch.dtype:
    if precision == "auto":
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    return torch.bfloat16 if precision == "bf16" else torch.float32


def error_type(error: BaseException) -> str:
    if isinstance(error, torch.OutOfMemoryError) or "out of memory" in str(error).lower():
        return "out_of_memory"
    return getattr(error, "kind", None) or type(error).__name__


class CapFilt:
    """The models of one CapFilt mode on one device, and the batch loop around them."""

    def __init__(
        self,
        config: CapFiltConfig,
        captioner: Captioner,
        itm_filter: ItmFilter | None,
        ranker: ClipRanker | None,
        models: list[ModelInfo],
        device: torch.device,
        dtype: torch.dtype,
    ):
        self.config = config
        self.captioner = captioner
        self.itm_filter = itm_filter
        self.ranker = ranker
        self.models = models
        self.device = device
        self.dtype = dtype
        self.batch_invariant = (
            device.type == "cpu" and dtype == torch.float32 and config.cpu_batch_invariant
        )
        self.batch_size = config.cpu_batch_size if device.type == "cpu" else config.batch_size
        self.batch_splits = 0  # batches retried in halves (out of memory or an error)
        self.filter_shares_pixels = itm_filter is not None and _same_preprocessing(
            captioner, itm_filter
        )

    # ------------------------------------------------------------------ loading

    @classmethod
    def from_config(cls, config: CapFiltConfig) -> CapFilt:
        """Load the configured mode's models (raises ``ModelUnavailable`` in one line)."""
        device = resolve_device(config.device)
        dtype = resolve_dtype(config.precision, device)
        guard = device.type == "cpu" and dtype == torch.float32 and config.cpu_batch_invariant
        models = config.models
        model, processor, caption_info = load_blip(models.captioner, "captioner")
        captioner = Captioner(
            _placed(model, config, device, dtype, guard),
            processor,
            config.decoding,
            models.captions_per_image,
            config.seed,
        )
        infos = [caption_info]
        itm_filter = ranker = None
        if config.mode == "blip":
            model, processor, filter_info = load_blip(config.blip.filter, "filter")
            model = _placed(model, config, device, dtype, guard)
            itm_filter = ItmFilter(model, processor, config.itm_max_tokens, config.itm_first_token)
            infos.append(filter_info)
        else:
            model, preprocess, tokenizer, ranker_info = load_ranker(config.blip2.ranker)
            model = model.to(device=device, dtype=dtype)
            if guard:
                make_rows_independent(model)
            ranker = ClipRanker(model, preprocess, tokenizer, pad_rows=guard)
            infos.append(ranker_info)
        return cls(config, captioner, itm_filter, ranker, infos, device, dtype)

    # ------------------------------------------------------------------ provenance

    def provenance(self) -> dict:
        """The ``provenance`` struct of every row this engine scores (schemas/capfilt.py)."""
        import transformers

        by_role = {info.role: info for info in self.models}
        decoding = self.config.decoding
        open_clip_version = None
        if self.ranker is not None:
            import open_clip

            open_clip_version = open_clip.__version__

        def model(role: str) -> tuple[str | None, str | None]:
            info = by_role.get(role)
            return (info.name, info.weights_sha256) if info else (None, None)

        (captioner, captioner_sha), (filt, filt_sha), (ranker, ranker_sha) = (
            model("captioner"),
            model("filter"),
            model("ranker"),
        )
        return {
            "mode": self.config.mode,
            "captioner": captioner,
            "captioner_sha256": captioner_sha,
            "filter": filt,
            "filter_sha256": filt_sha,
            "ranker": ranker,
            "ranker_sha256": ranker_sha,
            "transformers_version": transformers.__version__,
            "torch_version": torch.__version__,
            "open_clip_version": open_clip_version,
            "device": self.device.type,
            "precision": "bf16" if self.dtype == torch.bfloat16 else "fp32",
            "attention": self.config.attention,
            "decoding": {
                **decoding.to_dict(),
                "captions_per_image": self.captioner.captions_per_image,
            },
            "seed": self.config.seed,
            "itm_max_tokens": self.config.itm_max_tokens,
            "itm_first_token": self.config.itm_first_token,
        }

    # ------------------------------------------------------------------ CPU side

    def prepare(self, item: PairInput) -> _Prepared | PairFailure:
        """Decode and resize one image for every model (thread-safe; runs on CPU threads)."""
        try:
            image = decode_rgb(item.data, self.config.max_image_bytes, self.config.max_image_pixels)
            prepared = _Prepared(item)
            prepared.inputs["captioner"] = blip_array(image, *self.captioner.image_size)
            if self.itm_filter is not None and not self.filter_shares_pixels:
                prepared.inputs["filter"] = blip_array(image, *self.itm_filter.image_size)
            if self.ranker is not None:
                prepared.inputs["ranker"] = self.ranker.image_input(image)
            return prepared
        except StageError as error:
            return PairFailure(item.pair_id, "decode", error.kind, str(error))
        except Exception as error:  # noqa: BLE001 - a bad image is a dead letter, not a crash
            return PairFailure(item.pair_id, "decode", type(error).__name__, str(error)[:500])

    # ------------------------------------------------------------------ device side

    def score(self, batch: list[_Prepared]) -> list[PairScores | PairFailure]:
        """Score ``batch``; on failure retry its halves, down to single pairs."""
        if not batch:
            return []
        try:
            return self._score_batch(batch)
        except Exception as error:  # noqa: BLE001 - split, and dead-letter only single pairs
            if self.device.type == "cuda":
                torch.cuda.empty_cache()
            if len(batch) == 1:
                pair_id = batch[0].item.pair_id
                return [PairFailure(pair_id, "models", error_type(error), str(error)[:500])]
            self.batch_splits += 1
            log.warning("capfilt: batch of %d failed (%s); retrying halves", len(batch), error)
            half = len(batch) // 2
            return self.score(batch[:half]) + self.score(batch[half:])

    def _guard(self) -> contextlib.AbstractContextManager:
        return single_thread() if self.batch_invariant else contextlib.nullcontext()

    def _score_batch(self, batch: list[_Prepared]) -> list[PairScores]:
        pair_ids = [p.item.pair_id for p in batch]
        with torch.inference_mode(), self._guard():
            c = self.captioner
            pixels = self._pixels(batch, "captioner", c.mean, c.std)
            captions = c.caption(pixels, pair_ids)
            texts, owners = _texts(batch, captions)
            index = [i for i, _ in owners]
            itm = rank = [None] * len(texts)
            if self.itm_filter is not None:
                f = self.itm_filter
                if not self.filter_shares_pixels:
                    pixels = self._pixels(batch, "filter", f.mean, f.std)
                itm = f.match_probability(f.image_embeds(pixels), index, texts)
            if self.ranker is not None:
                images = torch.stack([p.inputs["ranker"] for p in batch]).to(self.device)
                rank = self.ranker.similarity(images, index, texts)
        return _assemble(batch, captions, owners, itm, rank)

    def _pixels(self, batch: list[_Prepared], key: str, mean, std) -> torch.Tensor:
        arrays = [p.inputs[key] for p in batch]
        return pixel_values(arrays, mean, std, self.device, self.dtype)

    # ------------------------------------------------------------------ the stream

    def run(self, items: Iterable[PairInput]) -> Iterator[PairScores | PairFailure]:
        """Results in input order; images are decoded ``prefetch_batches`` batches ahead."""
        threads = self.config.decode_threads
        with ThreadPoolExecutor(threads, thread_name_prefix="capfilt-decode") as pool:
            pending: deque[list[Future]] = deque()
            iterator = iter(items)
            while chunk := list(islice(iterator, self.batch_size)):
                pending.append([pool.submit(self.prepare, item) for item in chunk])
                if len(pending) > self.config.prefetch_batches:
                    yield from self._finish(pending.popleft())
            while pending:
                yield from self._finish(pending.popleft())

    def _finish(self, futures: list[Future]) -> Iterator[PairScores | PairFailure]:
        prepared = [future.result() for future in futures]
        scored = iter(self.score([p for p in prepared if isinstance(p, _Prepared)]))
        for item in prepared:
            yield item if isinstance(item, PairFailure) else next(scored)


def _placed(model, config: CapFiltConfig, device, dtype, guard: bool):
    """A BLIP model on its device and dtype, with SDPA vision attention and the CPU guard."""
    model = model.to(device=device, dtype=dtype)
    if config.attention == "sdpa":
        use_sdpa(model.vision_model)
    if guard:
        make_rows_independent(model)
    return model


def _same_preprocessing(captioner: Captioner, itm_filter: ItmFilter) -> bool:
    """The filter reads the very pixels the captioner reads (BLIP-base and -large do)."""
    c, f = captioner, itm_filter
    return (c.image_size, list(c.mean), list(c.std)) == (f.image_size, list(f.mean), list(f.std))


def _texts(batch: list[_Prepared], captions: list[list[str]]):
    """All texts to score and their owners (image index, -1 for the web text or caption k)."""
    texts, owners = [], []
    for i, prepared in enumerate(batch):
        if prepared.item.web_text is not None:
            texts.append(prepared.item.web_text)
            owners.append((i, -1))
        for k, caption in enumerate(captions[i]):
            texts.append(caption)
            owners.append((i, k))
    return texts, owners


def _assemble(batch, captions, owners, itm, rank) -> list[PairScores]:
    web_itm: dict[int, float | None] = {}
    web_rank: dict[int, float | None] = {}
    caption_itm = [[None] * len(c) for c in captions]
    caption_rank = [[None] * len(c) for c in captions]
    for (i, k), itm_score, rank_score in zip(owners, itm, rank, strict=True):
        if k < 0:
            web_itm[i], web_rank[i] = itm_score, rank_score
        else:
            caption_itm[i][k], caption_rank[i][k] = itm_score, rank_score
    return [
        PairScores(
            prepared.item.pair_id,
            captions[i],
            caption_itm[i],
            caption_rank[i],
            web_itm.get(i),
            web_rank.get(i),
        )
        for i, prepared in enumerate(batch)
    ]
