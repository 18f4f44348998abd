"""``webweave nights build``: triplet candidates → round 1 of a NIGHTS-style study.

Round 1 is self-contained: ``images/`` holds each distinct image file once (named by the
sha256 of its bytes, so Label Studio can serve them as local files), ``triplets.parquet``
every triplet with its left/right order (randomised with the seed), ``items.parquet`` the
first round's items with attention checks mixed in, ``stats.json`` the funnel:

    sources: candidates read → triplets proposed (missing_image, too_few_neighbours_in_band, …)
    images:  triplets proposed → triplets kept (unreadable_image, duplicate_images)
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from webweave.annotation.attention_checks import interleaved, nights_checks
from webweave.annotation.config import AnnotationConfig
from webweave.annotation.corpus_images import decoded, is_images_output
from webweave.annotation.round_dir import (
    IMAGES_DIR,
    ITEMS_FILE,
    ROUND_FILE,
    TRIPLETS_FILE,
    round_record,
    write_config,
    write_json,
    write_table,
)
from webweave.annotation.seeding import rng_for
from webweave.annotation.stats import write_stats
from webweave.annotation.triplet_sources import (
    BadSource,
    ImageRef,
    TripletCandidate,
    is_nights_folder,
    nights_folder_candidates,
    table_candidates,
)
from webweave.filters.decision import Drop
from webweave.pipelines.funnel import Funnel
from webweave.schemas import nights_items, nights_triplets

COMMAND = "nights build"
EXTENSIONS = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp", "GIF": "gif", "BMP": "bmp"}


@dataclass(frozen=True)
class StoredImage:
    path: str  # images/ab/abcdef….png, relative to round 1
    sha256: str


def read_candidates(
    source: Path, config: AnnotationConfig, seed: int, device: str | None
) -> tuple[list[TripletCandidate | Drop], dict[str, str]]:
    """Candidates of any source kind, and the provenance to record (model, index)."""
    if source.is_file():
        return list(table_candidates(source)), {"source": "table"}
    if is_nights_folder(source):
        return list(nights_folder_candidates(source)), {"source": "nights_folder"}
    if is_images_output(source):
        from webweave.annotation.clip_model import load_clip
        from webweave.annotation.corpus_images import read_corpus_images
        from webweave.annotation.corpus_mining import embed_corpus, mined_triplets

        corpus = read_corpus_images(source)
        encoder = load_clip(config.clip, device)
        embeddings = embed_corpus(corpus, encoder)
        results, index = mined_triplets(corpus, embeddings, config.nights.mining, seed)
        provenance = {"source": "corpus", "neighbour_index": index, **encoder.provenance}
        provenance["corpus_images"] = str(len(corpus))
        return results, provenance
    raise BadSource(
        f"{source}: not a NIGHTS folder (ref/, distort/), a triplet table (.csv/.parquet) "
        "or a `webweave images` output (pairs/, images/)"
    )


def build_round_one(
    candidates: list[TripletCandidate | Drop],
    provenance: dict[str, str],
    folder: Path,
    round_id: str,
    config: AnnotationConfig,
    seed: int,
) -> dict:
    """Write round 1 into ``folder``; returns its stats record."""
    funnel = Funnel()
    sources = funnel.stage("sources")
    sources.in_ = len(candidates)
    proposed = [c for c in candidates if isinstance(c, TripletCandidate)]
    sources.dropped.update(Counter(c.reason for c in candidates if isinstance(c, Drop)))
    sources.out = len(proposed)
    _refuse_duplicate_ids(proposed)

    stored = _store_images(proposed, folder)
    images = funnel.stage("images")
    images.in_ = len(proposed)
    triplets = []
    orientation = rng_for(seed, "left_right")
    for candidate in sorted(proposed, key=lambda c: c.triplet_id):
        files = [
            stored.get(r.origin) for r in (candidate.ref, candidate.distort0, candidate.distort1)
        ]
        left_variant = int(orientation.integers(2))  # drawn for every candidate: stable ids
        if any(f is None for f in files):
            images.dropped["unreadable_image"] += 1
            continue
        if len({f.sha256 for f in files}) < 3:
            images.dropped["duplicate_images"] += 1
            continue
        triplets.append(_triplet_row(candidate, files, left_variant))
    images.out = len(triplets)

    items = _first_round_items(triplets, config, seed)
    real = sum(not i["is_check"] for i in items)
    write_table(folder / TRIPLETS_FILE, triplets, nights_triplets.SCHEMA)
    write_table(folder / ITEMS_FILE, items, nights_items.SCHEMA)
    write_json(
        folder / ROUND_FILE,
        round_record(
            kind="nights",
            round=1,
            round_id=round_id,
            parent=None,
            root={"path": ".", "round_id": round_id},
            status="open" if triplets else "stopped",
            stop_reason=None if triplets else "no_items_left",
            seed=seed,
            created_by=COMMAND,
            items=real,
            checks=len(items) - real,
            assignments=sum(i["assignments"] for i in items),
        ),
    )
    write_config(folder, config.to_dict())
    counts = {"triplets": len(triplets), "items": real, "checks": len(items) - real}
    counts["images"] = len({f.sha256 for f in stored.values() if f is not None})
    return write_stats(
        folder,
        COMMAND,
        funnel,
        counts,
        provenance,
        first_in=len(candidates),
        last_out=len(triplets),
    )


def _refuse_duplicate_ids(proposed: list[TripletCandidate]) -> None:
    seen = Counter(c.triplet_id for c in proposed)
    twice = sorted(i for i, n in seen.items() if n > 1)
    if twice:
        raise BadSource(f"triplet id {twice[0]} appears {seen[twice[0]]} times in the source")


def _store_images(proposed: list[TripletCandidate], folder: Path) -> dict[str, StoredImage | None]:
    """Copy each distinct source image once (cheapest read order); None = unreadable."""
    refs: dict[str, ImageRef] = {}
    for candidate in proposed:
        for ref in (candidate.ref, candidate.distort0, candidate.distort1):
            refs.setdefault(ref.origin, ref)
    stored: dict[str, StoredImage | None] = {}
    for origin, ref in sorted(refs.items(), key=lambda item: item[1].read_order):
        stored[origin] = _store_one(ref, folder)
    return stored


def _store_one(ref: ImageRef, folder: Path) -> StoredImage | None:
    try:
        data = ref.read()
        with decoded(data) as image:
            extension = EXTENSIONS.get(image.format or "", "png")
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None
    sha = hashlib.sha256(data).hexdigest()
    relative = f"{IMAGES_DIR}/{sha[:2]}/{sha}.{extension}"
    target = folder / relative
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return StoredImage(relative, sha)


def _triplet_row(candidate: TripletCandidate, files: list[StoredImage], left_variant: int) -> dict:
    ref, distort0, distort1 = files
    return {
        "triplet_id": candidate.triplet_id,
        "ref_image": ref.path,
        "distort0_image": distort0.path,
        "distort1_image": distort1.path,
        "left_variant": left_variant,
        "ref_group": ref.sha256,
        "prompt": candidate.prompt,
        "is_imagenet": candidate.is_imagenet,
        "seed_ref": candidate.seed_ref,
        "seed_0": candidate.seed_0,
        "seed_1": candidate.seed_1,
        "generator": candidate.generator,
        "source": candidate.source,
        "ref_origin": candidate.ref.origin,
        "distort0_origin": candidate.distort0.origin,
        "distort1_origin": candidate.distort1.origin,
        "similarity_0": candidate.similarity_0,
        "similarity_1": candidate.similarity_1,
    }


def real_item(triplet: dict, assignments: int, n_left: int = 0, n_right: int = 0) -> dict:
    """A triplet as raters see it: its distortions in the recorded left/right order."""
    variants = (triplet["distort0_image"], triplet["distort1_image"])
    left = triplet["left_variant"]
    return {
        "item_id": f"t{triplet['triplet_id']}",
        "triplet_id": triplet["triplet_id"],
        "is_check": False,
        "expected": None,
        "ref_image": triplet["ref_image"],
        "left_image": variants[left],
        "right_image": variants[1 - left],
        "assignments": assignments,
        "n_left": n_left,
        "n_right": n_right,
    }


def _first_round_items(triplets: list[dict], config: AnnotationConfig, seed: int) -> list[dict]:
    real = [real_item(t, config.rounds.first_round_votes) for t in triplets]
    checks = nights_checks(real, config.nights.attention_check_rate, 1, rng_for(seed, "checks", 1))
    return interleaved(real, checks, rng_for(seed, "order", 1))
