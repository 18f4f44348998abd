"""TImeD auto-label speed: sentences/s through ``timed auto``'s labeller.

Builds an image store and interleaved documents in a temporary folder: real Common Crawl
texts (dolma CCNet fixture) cut into documents of ``--paragraphs`` paragraphs, each with
``--images`` real fixture photographs (stored once per URL, as `webweave images` does).
Then times the labeller end to end (pysbd splitting, image decode + encode once per URL,
batched text encoding, similarities, labels) and, in the same run, two baselines: sentence
splitting alone, and the same labeller with batch size 1 (no batching) on a sample.

- CPU (default): a tiny random open_clip model (the tests' config): measures webweave's own
  overhead around the model.
- GPU (``--device cuda --model ViT-B-32 --batch-size 1024``): open_clip ViT-B-32 at real
  size, random weights (saved to a local checkpoint first; nothing is downloaded), bf16
  autocast. Text encoding dominates; reference capfilt.md §4 measured 27,942 texts/s for
  ViT-B-32 text encoding at batch 1024 on an H100, an upper bound for this figure.

    .venv/bin/python bench/timed_speed.py [--documents 400] [--device cpu|cuda]
                                          [--model tiny|ViT-B-32] [--batch-size 256]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from annotation_corpus import document  # noqa: E402
from tiny_models import save_tiny_open_clip_checkpoint  # noqa: E402

from webweave.annotation.clip_model import load_clip  # noqa: E402
from webweave.annotation.config import load_annotation_config  # noqa: E402
from webweave.annotation.corpus_images import ImageStore  # noqa: E402
from webweave.annotation.sentences import split_sentences  # noqa: E402
from webweave.annotation.timed_auto import AutoLabeller, read_documents  # noqa: E402
from webweave.schemas import documents as documents_schema  # noqa: E402
from webweave.schemas import image_store  # noqa: E402

FIXTURES = Path(os.environ.get("WEBWEAVE_FIXTURES", HERE.parent.parent / "shared" / "fixtures"))


def corpus(folder: Path, count: int, paragraphs: int, images: int) -> int:
    """Documents and an image store in ``folder``; returns the number of paragraphs."""
    texts = []
    for path in sorted((FIXTURES / "text" / "dolma_ccnet").glob("*.jsonl.gz")):
        with gzip.open(path, "rt") as handle:
            texts += [
                p for line in handle for p in json.loads(line)["text"].split("\n") if len(p) > 40
            ]
    photos = sorted(FIXTURES.glob("images/*/*.jpg")) + sorted(FIXTURES.glob("images/*/*.png"))
    rows, docs, used = [], [], 0
    for n in range(count):
        items = []
        for k in range(paragraphs):
            items.append(texts[used % len(texts)])
            used += 1
            if k < images:
                url = f"https://img.example.org/{n}/{k}.jpg"
                items.append(url)
                data = photos[(n + k) % len(photos)].read_bytes()
                digest = hashlib.sha256(data).hexdigest()
                rows.append({"image_url": url, "sha256": digest, "format": "jpeg",
                             "width": None, "height": None, "bytes": data})  # fmt: skip
        docs.append(document(f"doc{n}", items))
    for name in ("documents", "images", "pairs"):
        (folder / name).mkdir()
    pq.write_table(pa.Table.from_pylist(docs, schema=documents_schema.SCHEMA),
                   folder / "documents" / "part-00000.parquet")  # fmt: skip
    pq.write_table(pa.Table.from_pylist(rows, schema=image_store.SCHEMA),
                   folder / "images" / "part-00000.parquet")  # fmt: skip
    return used


def model_config(args, work: Path):
    clip = load_annotation_config().clip.replace(batch_size=args.batch_size)
    if args.model == "tiny":
        name, config, checkpoint = save_tiny_open_clip_checkpoint(work / "clip")
        return clip.replace(model=name, checkpoint=str(checkpoint), model_config=str(config))
    import open_clip
    import torch

    model = open_clip.create_model(args.model)  # random weights, real architecture
    checkpoint = work / f"{args.model}.pt"
    torch.save(model.state_dict(), checkpoint)
    return clip.replace(model=args.model, checkpoint=str(checkpoint))


def rate(labeller: AutoLabeller, folder: Path, limit: int | None = None) -> tuple[int, float]:
    documents = read_documents(folder)
    if limit is not None:
        documents = (d for _, d in zip(range(limit), documents, strict=False))
    started = time.perf_counter()
    count = sum(1 for _ in labeller.rows(documents))
    return count, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=400)
    parser.add_argument("--paragraphs", type=int, default=6)
    parser.add_argument("--images", type=int, default=2)
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument(
        "--model", default="tiny", help="tiny, or an open_clip name (random weights)"
    )
    parser.add_argument("--batch-size", type=int, default=256)
    args = parser.parse_args()
    timed = load_annotation_config().timed
    with tempfile.TemporaryDirectory(prefix="webweave-timed-bench-") as scratch:
        work = Path(scratch)
        folder = work / "corpus"
        folder.mkdir()
        corpus(folder, args.documents, args.paragraphs, args.images)
        encoder = load_clip(model_config(args, work), args.device)
        print(f"model {args.model} on {encoder.device} ({encoder.provenance['precision']}), "
              f"batch {args.batch_size}; {args.documents} documents x {args.paragraphs} "
              f"paragraphs, {args.images} images each")  # fmt: skip

        started = time.perf_counter()
        split = sum(len(split_sentences(t, "en")) for d in read_documents(folder)
                    for t in d["texts"] if t)  # fmt: skip
        split_seconds = time.perf_counter() - started
        print(
            f"  baseline: pysbd splitting alone          {split / split_seconds:10,.0f} sentences/s"
        )

        count, seconds = rate(AutoLabeller(encoder, ImageStore(folder), timed), folder)
        print(f"  timed auto labeller, batched            {count / seconds:10,.0f} sentences/s "
              f"({count:,} sentences in {seconds:.1f} s)")  # fmt: skip

        single = load_clip(model_config(args, work).replace(batch_size=1), args.device)
        sample = max(1, args.documents // 10)
        count, seconds = rate(AutoLabeller(single, ImageStore(folder), timed), folder, sample)
        print(f"  baseline: same labeller, batch size 1   {count / seconds:10,.0f} sentences/s "
              f"({count:,} sentences of {sample} documents)")  # fmt: skip

        texts = [t for d in read_documents(folder) for t in d["texts"] if t][:2048]
        started = time.perf_counter()
        encoder.encode_texts(texts)
        if args.device == "cuda":
            import torch

            torch.cuda.synchronize()
        per_second = len(texts) / (time.perf_counter() - started)
        print(f"  text encoding alone (paragraphs)        {per_second:10,.0f} texts/s")

        from webweave.annotation.corpus_images import decoded

        stored = pq.read_table(folder / "images")["bytes"].to_pylist()[:256]
        started = time.perf_counter()
        encoder.encode_images([decoded(data, encoder.input_side) for data in stored])
        per_second = len(stored) / (time.perf_counter() - started)
        print(f"  image decode + encoding alone           {per_second:10,.0f} images/s")


if __name__ == "__main__":
    main()
