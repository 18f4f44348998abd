"""CapFilt speed: webweave's path end to end (JPEG bytes → kept texts) next to the raw model
parts (transformers' own caption and ITM calls), measured in the same run, same batch size.

Models are BLIP-base (``--large``: BLIP-large) built from ``BlipConfig`` at real sizes with
random weights (no download): vision ViT-B/16 (ViT-L/16) at 384 px, BERT-base text towers,
vocabulary 30,524. Random weights rarely emit [SEP], so captions run to ``max_length`` (the
slow case). Inputs are the fixture photographs resized to 800 × 600 and re-encoded as quality-85
JPEGs (the reference's anchor images were 800 × 600 q85 too).

Measured, each after a warm-up batch:

- ``webweave``: ``CapFilt.run`` (decode threads, SDPA vision attention, one ITM vision pass
  shared by the web text and the caption) plus the decisions (``scored_row``): images/s; on
  CPU also without ``cpu_batch_invariance`` (its padding of small matrix products is the
  price of byte-identical batches);
- ``caption_only``: ``BlipForConditionalGeneration.generate`` from decoded pixels (nucleus,
  the same decoding parameters): images/s;
- ``itm_only``: ``BlipForImageTextRetrieval`` full forward, 35-token texts: pairs/s;
- ``naive``: the rate of caption + 2 ITM pairs per image computed from the two above (the
  reference's "naive" H100 anchor is this sum: ≈ 260 images/s for BLIP-base);
- ``decode``: JPEG decode + resize on the decode threads alone: images/s;
- GPU utilisation (mean of ``torch.cuda.utilization()`` samples) during the webweave run.

Every rate is given per wall second (``per_s``) and per CPU second of this process
(``per_cpu_s``, all threads). On CPU torch runs one thread (as each local worker process does
with ``cpu_batch_invariant``), so figures are per core, and ``per_cpu_s`` is the one to read on
a machine shared with other work. Results are printed and appended as JSON lines to ``--out``.

    .venv/bin/python bench/capfilt_speed.py [--large] [--images 8] [--batch 8] [--device auto]
        [--out bench/capfilt_speed.jsonl]
"""

from __future__ import annotations

import argparse
import datetime
import io
import json
import os
import sys
import threading
import time
from pathlib import Path

import torch
from PIL import Image

HERE = Path(__file__).resolve().parent
FIXTURES = Path(os.environ.get("WEBWEAVE_FIXTURES", HERE.parent.parent / "shared" / "fixtures"))
PROMPT_WORDS = "a picture of the man woman dog cat street car house sitting on in with".split()


def bert_sized_tokenizer():
    """A real ``BertTokenizerFast`` with BERT-base's special ids and size (30,522 + [DEC],
    [ENC]): [PAD] 0, [UNK] 100, [CLS] 101, [SEP] 102, [MASK] 103; words fill the rest."""
    from transformers import BertTokenizerFast

    vocab = {"[PAD]": 0, **{f"[unused{i}]": i for i in range(1, 100)}}
    vocab.update({"[UNK]": 100, "[CLS]": 101, "[SEP]": 102, "[MASK]": 103})
    words = PROMPT_WORDS + [f"w{i}" for i in range(30522 - len(vocab) - len(PROMPT_WORDS))]
    vocab.update({word: len(vocab) for word in words})
    tokenizer = BertTokenizerFast(vocab=vocab, do_lower_case=True)
    tokenizer.add_special_tokens({"bos_token": "[DEC]", "additional_special_tokens": ["[ENC]"]})
    return tokenizer


def blip_config(large: bool, tokenizer):
    from transformers import BlipConfig

    vision = {"image_size": 384, "patch_size": 16}
    if large:
        vision.update(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16,
                      intermediate_size=4096)  # fmt: skip
    text = {"vocab_size": len(tokenizer), "bos_token_id": tokenizer.convert_tokens_to_ids("[DEC]"),
            "sep_token_id": 102, "eos_token_id": 102, "pad_token_id": 0}  # fmt: skip
    return BlipConfig(vision_config=vision, text_config=text)


def build_engine(args, device: torch.device, dtype: torch.dtype, guard_cpu: bool = True):
    """The project's ``CapFilt`` over random real-size models (what from_config builds)."""
    from transformers import (
        BlipForConditionalGeneration,
        BlipForImageTextRetrieval,
        BlipImageProcessor,
        BlipProcessor,
    )

    from webweave.filters.capfilt.captioner import Captioner
    from webweave.filters.capfilt.config import CapFiltConfig
    from webweave.filters.capfilt.engine import CapFilt, _placed
    from webweave.filters.capfilt.matching import ItmFilter
    from webweave.filters.capfilt.models import ModelInfo
    from webweave.pipelines.config import load_section

    tokenizer = bert_sized_tokenizer()
    processor = BlipProcessor(image_processor=BlipImageProcessor(), tokenizer=tokenizer)
    config = load_section(CapFiltConfig).replace(
        device=device.type,
        batch_size=args.batch,
        cpu_batch_size=args.batch,
        cpu_batch_invariant=guard_cpu,
    )
    guard = device.type == "cpu" and config.cpu_batch_invariant
    torch.manual_seed(0)
    captioner_model = BlipForConditionalGeneration(blip_config(args.large, tokenizer)).eval()
    filter_model = BlipForImageTextRetrieval(blip_config(args.large, tokenizer)).eval()
    raw = {"captioner": captioner_model, "filter": filter_model}
    ours = {
        "captioner": _placed(_copy(captioner_model), config, device, dtype, guard),
        "filter": _placed(_copy(filter_model), config, device, dtype, guard),
    }
    for model in raw.values():
        model.to(device=device, dtype=dtype)
    captioner = Captioner(ours["captioner"], processor, config.decoding, 1, config.seed)
    itm = ItmFilter(ours["filter"], processor, config.itm_max_tokens)
    infos = [ModelInfo("captioner", "random-base", "-"), ModelInfo("filter", "random-base", "-")]
    return CapFilt(config, captioner, itm, None, infos, device, dtype), raw, processor, config


def _copy(model):
    import copy

    return copy.deepcopy(model)


def jpeg_inputs(count: int) -> list[bytes]:
    photos = sorted(FIXTURES.glob("images/*/*.jpg")) + sorted(FIXTURES.glob("images/*/*.png"))
    if not photos:
        sys.exit(f"no fixture photographs under {FIXTURES} (set WEBWEAVE_FIXTURES)")
    out = []
    for i in range(count):
        image = Image.open(photos[i % len(photos)]).convert("RGB").resize((800, 600))
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=85)
        out.append(buffer.getvalue())
    return out


def web_text(i: int) -> str:
    words = PROMPT_WORDS[3:]
    return " ".join(words[(i + k) % len(words)] for k in range(12))


class GpuUtilisation:
    """Samples ``torch.cuda.utilization()`` every 0.2 s while the block runs."""

    def __init__(self, device: torch.device):
        self.enabled = device.type == "cuda"
        self.samples: list[int] = []
        self._stop = threading.Event()

    def __enter__(self):
        if self.enabled:
            self._thread = threading.Thread(target=self._loop, daemon=True)
            self._thread.start()
        return self

    def _loop(self):
        while not self._stop.wait(0.2):
            try:
                self.samples.append(int(torch.cuda.utilization()))
            except Exception:  # noqa: BLE001 - pynvml missing: no figure, not a failure
                return

    def __exit__(self, *exc):
        self._stop.set()

    def mean(self) -> float | None:
        return round(sum(self.samples) / len(self.samples), 1) if self.samples else None


class Clock:
    """Wall time and this process's CPU time (all threads) of a block. On a shared CPU machine
    the CPU-time rate is the stable figure; on GPU the wall rate is the one that counts."""

    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu

    def rates(self, count: int) -> dict:
        return {"per_s": round(count / self.wall, 3), "per_cpu_s": round(count / self.cpu, 3)}


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def time_webweave(engine, jpegs: list[bytes], device) -> tuple[dict, int, float | None]:
    from webweave.filters.capfilt.engine import PairInput, PairScores
    from webweave.pipelines.capfilt.results import scored_row

    items = [PairInput(f"pair-{i}", data, web_text(i)) for i, data in enumerate(jpegs)]
    provenance = engine.provenance()
    warm = items[: 1 if device.type == "cpu" else engine.batch_size]
    list(engine.run([PairInput("warm-" + p.pair_id, p.data, p.web_text) for p in warm]))
    sync(device)
    kept = 0
    with GpuUtilisation(device) as gpu, Clock() as clock:
        for result in engine.run(items):
            if isinstance(result, PairScores):
                pair = {"pair_id": result.pair_id, "doc_id": "d", "position": 0}
                row = scored_row(pair, (web_text(0), "alt_text"), result, provenance,
                                 engine.config)  # fmt: skip
                kept += len(row["kept_texts"])
        sync(device)
    return clock.rates(len(items)), kept, gpu.mean()


def decoded_pixels(engine, jpegs: list[bytes], device, dtype) -> torch.Tensor:
    from webweave.filters.capfilt.images import blip_array, decode_rgb, pixel_values

    c = engine.captioner
    arrays = [blip_array(decode_rgb(d, 1 << 30, 1 << 30), *c.image_size) for d in jpegs]
    return pixel_values(arrays, c.mean, c.std, device, dtype)


def time_caption_only(raw, processor, pixels, batch: int, device) -> dict:
    model = raw["captioner"]
    prompt = processor.tokenizer("a picture of ", return_tensors="pt").to(device)

    def run(chunk):
        n = chunk.shape[0]
        model.generate(pixel_values=chunk, input_ids=prompt.input_ids.repeat(n, 1),
                       attention_mask=prompt.attention_mask.repeat(n, 1), do_sample=True,
                       top_p=0.9, top_k=50, repetition_penalty=1.1, max_length=30,
                       min_length=10)  # fmt: skip

    return _rate(run, pixels, batch, device)


def time_itm_only(raw, processor, pixels, batch: int, device) -> dict:
    model = raw["filter"]
    texts = [web_text(i) for i in range(batch)]
    tokens = processor.tokenizer(texts, padding="max_length", truncation=True, max_length=35,
                                 return_tensors="pt").to(device)  # fmt: skip

    def run(chunk):
        n = chunk.shape[0]
        model(input_ids=tokens.input_ids[:n], attention_mask=tokens.attention_mask[:n],
              pixel_values=chunk, use_itm_head=True)  # fmt: skip

    return _rate(run, pixels, batch, device)


def _rate(run, pixels: torch.Tensor, batch: int, device) -> dict:
    with torch.inference_mode():
        run(pixels[: 1 if device.type == "cpu" else batch])  # warm-up
        sync(device)
        with Clock() as clock:
            for start in range(0, pixels.shape[0], batch):
                run(pixels[start : start + batch])
            sync(device)
    return clock.rates(pixels.shape[0])


def time_decode(engine, jpegs: list[bytes]) -> dict:
    from concurrent.futures import ThreadPoolExecutor

    from webweave.filters.capfilt.engine import PairInput

    items = [PairInput(str(i), d, None) for i, d in enumerate(jpegs)]
    with ThreadPoolExecutor(engine.config.decode_threads) as pool, Clock() as clock:
        list(pool.map(engine.prepare, items))
    return clock.rates(len(items))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--large", action="store_true", help="BLIP-large instead of BLIP-base")
    parser.add_argument("--images", type=int, default=None, help="default: 8 CPU, 2048 GPU")
    parser.add_argument("--batch", type=int, default=None, help="default: 8 CPU, 256 GPU")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    parser.add_argument("--out", default=None, help="append the result as a JSON line here")
    args = parser.parse_args()
    import transformers

    from webweave.filters.capfilt.engine import resolve_device, resolve_dtype

    device = resolve_device(args.device)
    dtype = resolve_dtype("auto", device)
    cpu = device.type == "cpu"
    args.images = args.images or (8 if cpu else 2048)
    args.batch = args.batch or (8 if cpu else 256)
    if cpu:
        torch.set_num_threads(1)  # per worker process, as a local CPU run does
    engine, raw, processor, _ = build_engine(args, device, dtype)
    jpegs = jpeg_inputs(args.images)
    webweave, kept, gpu = time_webweave(engine, jpegs, device)
    unguarded = None
    if cpu:  # the price of byte-identical batches on CPU, measured in the same run
        free, *_ = build_engine(args, device, dtype, guard_cpu=False)
        unguarded = time_webweave(free, jpegs, device)[0]
        del free
    pixels = decoded_pixels(engine, jpegs, device, dtype)
    caption = time_caption_only(raw, processor, pixels, args.batch, device)
    itm = time_itm_only(raw, processor, pixels, args.batch, device)
    naive = {k: round(1.0 / (1.0 / caption[k] + 2.0 / itm[k]), 3) for k in caption}
    result = {
        "date": datetime.date.today().isoformat(),
        "model": "blip-large" if args.large else "blip-base",
        "device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu",
        "threads": torch.get_num_threads(),
        "precision": "bf16" if dtype == torch.bfloat16 else "fp32",
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "images": args.images,
        "batch": args.batch,
        "webweave_images": webweave,
        "webweave_without_cpu_batch_invariance_images": unguarded,
        "caption_only_images": caption,
        "itm_only_pairs": itm,
        "naive_caption_plus_2_itm_images": naive,
        "speedup_vs_naive": {k: round(webweave[k] / naive[k], 3) for k in naive},
        "decode_resize_images": time_decode(engine, jpegs),
        "decode_threads": engine.config.decode_threads,
        "kept_texts": kept,
        "gpu_utilisation_percent": gpu,
    }
    print(json.dumps(result, indent=1))
    if args.out:
        with open(args.out, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
