"""``webweave timed auto``: TImeD auto labels for every sentence of interleaved documents.

TImeD §3.1: CLIP similarity between each sentence and every image on the same page; a
sentence is **visual** if its best similarity is above ``t_pos`` (0.35), **non-visual** if
every similarity is below ``t_neg`` (0.18), otherwise unlabelled. The thresholds depend on
the model (``timed calibrate`` prints the ones that keep the paper's top 1% / bottom 5%).

Documents come from ``documents/`` of ``webweave run`` or ``webweave images``; image bytes
from an images output's store (``images/``, looked up by URL): DOCUMENTS_DIR itself when it is
an images output, else ``--images``. Work is batched: documents are gathered until
``SENTENCES_PER_BATCH`` sentences, their new images decoded in storage order and embedded once
(an image used by several documents is embedded once per run, within ``IMAGE_CACHE``), and
sentences encoded in ``annotation_clip.batch_size`` batches, on the GPU when there is one.

Every sentence is an output row. ``stats.json``'s funnel: ``sentences`` (all → those with an
image to compare to; drops ``no_images``, ``images_unavailable``, ``too_short``) then
``thresholds`` (→ labelled; drops ``between_thresholds``), closing exactly.
"""

from __future__ import annotations

import glob
import hashlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from webweave.annotation.clip_model import ClipEncoder, model_label
from webweave.annotation.config import AnnotationConfig, TimedConfig
from webweave.annotation.corpus_images import DOCUMENTS_DIR, ImageStore, decoded, is_images_output
from webweave.annotation.round_dir import write_config, write_table
from webweave.annotation.sentences import SPLITTER, split_sentences, splitter_language
from webweave.annotation.stats import write_stats
from webweave.pipelines.funnel import Funnel
from webweave.schemas import visualness_auto
from webweave.schemas.registry import schema_id

COMMAND = "timed auto"
SENTENCES_DIR = "sentences"
SENTENCES_PER_BATCH = 4096
IMAGE_CACHE = 50_000  # image embeddings kept between batches (about 100 MB at 512-d)
SHARD_ROWS = 100_000
DOCUMENT_TABLES = ("documents", "image_documents")


class NoImageStore(ValueError):
    """The documents have no image bytes to compare to; one line for the user."""


def image_store_for(documents_dir: Path, images_dir: Path | None) -> ImageStore:
    folder = images_dir or documents_dir
    if not is_images_output(folder):
        raise NoImageStore(
            f"{folder} has no image store (images/ and pairs/): pass --images with the "
            "`webweave images` output of these documents"
        )
    return ImageStore(folder)


def read_documents(folder: Path) -> Iterator[dict]:
    """``id``, ``texts``, ``images`` and language of each document, file by file."""
    files = sorted(glob.glob(str(folder / DOCUMENTS_DIR / "*.parquet")))
    if not files:
        raise FileNotFoundError(f"{folder}/{DOCUMENTS_DIR} has no Parquet files")
    for path in files:
        parquet = pq.ParquetFile(path)
        found = schema_id(parquet.schema_arrow)
        if found is None or found[0] not in DOCUMENT_TABLES:
            raise NoImageStore(f"{path} is not a webweave documents table ({found})")
        for batch in parquet.iter_batches(columns=["id", "texts", "images", "general_metadata"]):
            for row in batch.to_pylist():
                language = (row["general_metadata"] or {}).get("language")
                yield {
                    "id": row["id"],
                    "texts": row["texts"],
                    "images": row["images"],
                    "language": language,
                }


@dataclass
class _Document:
    doc_id: str
    rows: list[dict]  # one per sentence, filled in as scores arrive
    urls: list[str]  # images with bytes, document order, distinct
    reason: str | None  # no_images | images_unavailable | None


@dataclass
class AutoLabeller:
    """Scores documents batch by batch (see the module docstring)."""

    encoder: ClipEncoder
    store: ImageStore
    timed: TimedConfig
    counts: Counter = field(default_factory=Counter)
    cache: dict[str, np.ndarray | None] = field(default_factory=dict)

    def rows(self, documents: Iterator[dict]) -> Iterator[dict]:
        pending: list[_Document] = []
        sentences = 0
        for document in documents:
            prepared = self._prepare(document)
            pending.append(prepared)
            sentences += len(prepared.rows)
            if sentences >= SENTENCES_PER_BATCH:
                yield from self._score(pending)
                pending, sentences = [], 0
        yield from self._score(pending)

    def _prepare(self, document: dict) -> _Document:
        self.counts["documents"] += 1
        language = splitter_language(document["language"], self.timed.default_language)
        rows = []
        for position, text in enumerate(document["texts"] or []):
            if text is None:
                continue
            for k, sentence in enumerate(split_sentences(text, language)):
                rows.append(
                    {
                        "sentence_id": _sentence_id(document["id"], position, k),
                        "doc_id": document["id"],
                        "position": position,
                        "sentence_index": len(rows),
                        "sentence": sentence,
                        "language": language,
                    }
                )
        urls = [u for u in (document["images"] or []) if u is not None]
        self.counts["image_occurrences"] += len(urls)
        available = [u for u in dict.fromkeys(urls) if self.store.location_of(u) is not None]
        self.counts["images_not_in_store"] += sum(u not in available for u in urls)
        reason = None if available else ("no_images" if not urls else "images_unavailable")
        return _Document(document["id"], rows, available, reason)

    def _score(self, documents: list[_Document]) -> Iterator[dict]:
        self._embed_images([u for d in documents if d.reason is None for u in d.urls])
        scored = []
        for document in documents:
            usable = [u for u in document.urls if self.cache.get(u) is not None]
            if document.reason is None and not usable:
                document.reason = "images_unavailable"  # every stored image was unreadable
            document.urls = usable
            if document.reason is None:
                scored += [
                    r for r in document.rows if len(r["sentence"]) >= self.timed.min_sentence_chars
                ]
        vectors = self.encoder.encode_texts([r["sentence"] for r in scored])
        text_vector = {r["sentence_id"]: v for r, v in zip(scored, vectors, strict=True)}
        label = model_label(self.encoder.provenance)
        for document in documents:
            self.counts["documents_with_images"] += document.reason is None
            images = np.stack([self.cache[u] for u in document.urls]) if document.urls else None
            for row in document.rows:
                vector = text_vector.get(row["sentence_id"])
                sims = (images @ vector).astype(np.float32) if vector is not None else None
                yield self._finish(row, document, sims, label)

    def _finish(self, row: dict, document: _Document, sims, label: str) -> dict:
        row.update(model=label, splitter=SPLITTER, image_urls=[], similarities=[],
                   best_image_url=None, best_similarity=None)  # fmt: skip
        if document.reason is not None:
            return {**row, "label": "unlabelled", "unlabelled_reason": document.reason}
        if sims is None:
            return {**row, "label": "unlabelled", "unlabelled_reason": "too_short"}
        best = int(np.argmax(sims))
        row.update(
            image_urls=list(document.urls),
            similarities=[float(s) for s in sims],
            best_image_url=document.urls[best],
            best_similarity=float(sims[best]),
        )
        if sims[best] > self.timed.t_pos:
            return {**row, "label": "visual", "unlabelled_reason": None}
        if sims.max() < self.timed.t_neg:
            return {**row, "label": "non_visual", "unlabelled_reason": None}
        return {**row, "label": "unlabelled", "unlabelled_reason": "between_thresholds"}

    def _embed_images(self, urls: list[str]) -> None:
        todo = [u for u in dict.fromkeys(urls) if u not in self.cache]
        if len(self.cache) + len(todo) > IMAGE_CACHE:
            wanted = set(urls)
            self.cache = {u: v for u, v in self.cache.items() if u in wanted}
        todo.sort(key=self.store.location_of)  # each images/ shard read once per batch
        images, readable, side = [], [], self.encoder.input_side
        for url in todo:
            try:
                images.append(decoded(self.store.bytes_at(*self.store.location_of(url)), side))
                readable.append(url)
            except (OSError, ValueError, SyntaxError):
                self.cache[url] = None
                self.counts["images_unreadable"] += 1
        for url, vector in zip(readable, self.encoder.encode_images(images), strict=True):
            self.cache[url] = vector


def _sentence_id(doc_id: str, position: int, k: int) -> str:
    return hashlib.blake2b(f"{doc_id}\0{position}\0{k}".encode(), digest_size=8).hexdigest()


def run_auto(
    documents_dir: Path,
    store: ImageStore,
    encoder: ClipEncoder,
    config: AnnotationConfig,
    folder: Path,
) -> dict:
    """Write ``sentences/``, ``config.yaml`` and ``stats.json`` into ``folder``."""
    labeller = AutoLabeller(encoder, store, config.timed)
    (folder / SENTENCES_DIR).mkdir()
    rows: list[dict] = []
    outcome: Counter = Counter()
    shard = 0
    for row in labeller.rows(read_documents(documents_dir)):
        outcome[row["unlabelled_reason"] or row["label"]] += 1
        rows.append(row)
        if len(rows) >= SHARD_ROWS:
            write_table(
                folder / SENTENCES_DIR / f"part-{shard:05d}.parquet", rows, visualness_auto.SCHEMA
            )
            rows, shard = [], shard + 1
    if rows or shard == 0:
        write_table(
            folder / SENTENCES_DIR / f"part-{shard:05d}.parquet", rows, visualness_auto.SCHEMA
        )
    write_config(folder, config.to_dict())
    total, labelled = sum(outcome.values()), outcome["visual"] + outcome["non_visual"]
    counts = {**labeller.counts, "sentences": total, "visual": outcome["visual"],
              "non_visual": outcome["non_visual"]}  # fmt: skip
    provenance = {**encoder.provenance, "splitter": SPLITTER,
                  "t_pos": str(config.timed.t_pos), "t_neg": str(config.timed.t_neg)}  # fmt: skip
    return write_stats(
        folder, COMMAND, _funnel(outcome), counts, provenance, first_in=total, last_out=labelled
    )


def _funnel(outcome: Counter) -> Funnel:
    funnel = Funnel()
    total = sum(outcome.values())
    sentences = funnel.stage("sentences")
    sentences.in_ = total
    for reason in ("no_images", "images_unavailable", "too_short"):
        if outcome[reason]:
            sentences.dropped[reason] = outcome[reason]
    sentences.out = total - sum(sentences.dropped.values())
    thresholds = funnel.stage("thresholds")
    thresholds.in_ = sentences.out
    if outcome["between_thresholds"]:
        thresholds.dropped["between_thresholds"] = outcome["between_thresholds"]
    thresholds.out = outcome["visual"] + outcome["non_visual"]
    return funnel
