"""A finalized NIGHTS-style dataset read back the way DreamSim reads NIGHTS.

A triplet table (references shared by three triplets each, seeds, prompts, ImageNet flags)
goes through one 6-vote round; the dataset is then loaded with DreamSim's own loader logic
(pandas, ``votes >= 6``, columns by position) and scored with its 2AFC formula using a tiny
random open_clip model, end to end. Splits never share a reference.
"""

from __future__ import annotations

import csv
import json

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import torch
from annotation_exports import Vote, labelstudio_export
from PIL import Image
from tiny_models import save_tiny_open_clip_checkpoint

from webweave.annotation.clip_model import load_clip
from webweave.annotation.config import load_annotation_config
from webweave.annotation.csv_tables import read_csv
from webweave.annotation.two_afc import score_rows, two_afc_rows, two_afc_score
from webweave.pipelines.cli import main
from webweave.schemas import nights_dataset, nights_summary
from webweave.schemas.json_records import check_record

from conftest import fixture_path

PHOTOS = [
    "skimage/astronaut.png", "skimage/camera.png", "skimage/chelsea.png", "skimage/coffee.png",
    "skimage/coins.png", "skimage/rocket.jpg", "sklearn/china.jpg", "sklearn/flower.jpg",
    "matplotlib/grace_hopper.jpg", "skimage/motorcycle_left.png", "skimage/retina.jpg",
    "skimage/hubble_deep_field.jpg", "skimage/ihc.png",
]  # fmt: skip
GROUPS, PER_GROUP = 10, 3
CONFIG = "nights:\n  attention_check_rate: 0.0\nrounds:\n  first_round_votes: 6\n  max_rounds: 1\n"


def triplet_table(root):
    """30 triplets: group g's reference is photo g, its variations crops of other photos."""
    photos = [Image.open(fixture_path(f"images/{p}")).convert("RGB") for p in PHOTOS]
    rows = []
    for group in range(GROUPS):
        ref = root / f"ref-{group}.png"
        photos[group].resize((40, 40)).save(ref)
        for k in range(PER_GROUP):
            triplet = group * PER_GROUP + k
            for i in (0, 1):
                photo = photos[(group + 1 + 2 * k + i) % len(photos)]
                photo.resize((40, 40)).rotate(5 * triplet + i).save(root / f"v-{triplet}-{i}.png")
            rows.append(
                {"id": 1000 + triplet, "reference": ref.name, "variant_0": f"v-{triplet}-0.png",
                 "variant_1": f"v-{triplet}-1.png", "prompt": f"An image of a thing {group}",
                 "seed_ref": 10 * triplet, "seed_0": 10 * triplet + 1, "seed_1": 10 * triplet + 2,
                 "generator": "stable-diffusion-2-1", "is_imagenet": group % 2 == 0}
            )  # fmt: skip
    table = root / "triplets.csv"
    with open(table, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return table


def test_dataset_reads_like_nights_and_scores_like_dreamsim(tmp_path, capsys):
    (tmp_path / "gen").mkdir()
    table = triplet_table(tmp_path / "gen")
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG)
    round1, export = tmp_path / "round1", tmp_path / "export"
    assert main(["nights", "build", "--source", str(table), "--output", str(round1),
                 "--config", str(config), "--seed", "5"]) == 0  # fmt: skip
    assert main(["rounds", "export", str(round1), "--tool", "labelstudio",
                 "--output", str(export)]) == 0  # fmt: skip
    # Group 3 gets a split vote (all three triplets removed); group 1 is answered by five
    # raters only (5 unanimous votes: in data.csv, below DreamSim's votes >= 6 filter).
    # Triplet 1000 + t is unanimous for "left" when t is even, "right" when odd.
    votes = []
    for triplet in range(GROUPS * PER_GROUP):
        group = triplet // PER_GROUP
        side = "left" if triplet % 2 == 0 else "right"
        for worker in range(5 if group == 1 else 6):
            answer = ("left" if worker else "right") if group == 3 else side
            votes.append(Vote(f"t{1000 + triplet}", f"w{worker}", answer))
    results = labelstudio_export(export, votes, tmp_path / "export.json")
    round2, dataset = tmp_path / "round2", tmp_path / "dataset"
    assert main(["rounds", "ingest", str(round1), str(results), "--output", str(round2)]) == 0
    assert main(["nights", "finalize", str(round2), "--output", str(dataset)]) == 0
    capsys.readouterr()

    table_read = read_csv(dataset / "data.csv", nights_dataset.DATA_CSV)  # schema and order
    assert table_read.num_rows == 27
    summary = json.loads((dataset / "summary.json").read_text())
    check_record(summary, nights_summary.SCHEMA)
    assert summary["splits"] == {"test": 3, "train": 21, "val": 3}
    assert summary["votes"] == {"5": 3, "6": 24}
    assert summary["stop_reason"] == "max_rounds"

    # Splits never share a reference (each group's three triplets land together).
    groups = {
        t["triplet_id"]: t["ref_group"]
        for t in pq.read_table(round1 / "triplets.parquet").to_pylist()
    }
    split_of_group: dict[str, set] = {}
    for row in table_read.to_pylist():
        split_of_group.setdefault(groups[row["id"]], set()).add(row["split"])
    assert len(split_of_group) == 9 and all(len(s) == 1 for s in split_of_group.values())

    # DreamSim's TwoAFCDataset (dataset/dataset.py), line for line on our file.
    csv_frame = pd.read_csv(dataset / "data.csv")
    csv_frame = csv_frame[csv_frame["votes"] >= 6]
    assert len(csv_frame) == 24
    per_split = {}
    for split in ("train", "val", "test_imagenet", "test_no_imagenet"):
        if split in ("train", "val"):
            frame = csv_frame[csv_frame["split"] == split]
        else:
            frame = csv_frame[csv_frame["split"] == "test"]
            frame = frame[frame["is_imagenet"] == (split == "test_imagenet")]
        rows = [
            (frame.iloc[i, 0], frame.iloc[i, 2].astype(np.float32),
             frame.iloc[i, 4], frame.iloc[i, 5], frame.iloc[i, 6])
            for i in range(len(frame))
        ]  # fmt: skip
        for triplet_id, p, ref, left, right in rows:
            assert p == (0.0 if (triplet_id - 1000) % 2 == 0 else 1.0)
            for path in (ref, left, right):
                with Image.open(dataset / path) as image:
                    assert image.format == "PNG" and image.size == (40, 40)
        ours = two_afc_rows(dataset, split)
        assert [(r.id, r.p) for r in ours] == [(int(i), p) for i, p, *_ in rows]
        per_split[split] = len(rows)
    assert sum(per_split.values()) == 24 and per_split["train"] > 0

    # The 2AFC score of a tiny random CLIP's cosine distance, both ways.
    name, model_config, checkpoint = save_tiny_open_clip_checkpoint(tmp_path / "clip", seed=1)
    clip = load_annotation_config().clip.replace(
        model=name, checkpoint=str(checkpoint), model_config=str(model_config)
    )
    encoder = load_clip(clip, "cpu")

    def embed(paths):
        return encoder.encode_images([Image.open(p) for p in paths])

    rows = two_afc_rows(dataset, "train")
    score = score_rows(rows, embed)
    ref, left, right = (embed([getattr(r, s) for r in rows]) for s in ("ref", "left", "right"))
    d0 = torch.tensor(1 - (ref * left).sum(1)).unsqueeze(1)
    d1 = torch.tensor(1 - (ref * right).sum(1)).unsqueeze(1)
    target = torch.tensor([r.p for r in rows]).unsqueeze(1)
    dreamsim = (d0 < d1) * (1.0 - target) + (d1 < d0) * target + (d1 == d0) * 0.5
    assert score == pytest.approx(float(torch.mean(dreamsim, dim=0)), abs=1e-7)  # float32 there
    assert 0.0 <= score <= 1.0
    assert (
        two_afc_score(np.array([0.1, 0.2, 0.3]), np.array([0.2, 0.1, 0.3]), np.array([0, 0, 1]))
        == (1 + 0 + 0.5) / 3
    )
