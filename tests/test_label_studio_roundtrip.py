"""A real Label Studio server proves the format: project from webweave's labelling config,
webweave's tasks imported, images served from local files, annotations submitted through the
API by users who signed up, the JSON export downloaded and ingested by `webweave rounds ingest`.

The server runs from its own venv on 127.0.0.1 with outbound traffic off
(``tests/label_studio_server.py``); the SDK runs in that venv (``label_studio_driver.py``).
"""

from __future__ import annotations

import json

import pytest
from test_annotation_rounds import nights_folder

from webweave.pipelines.cli import main

pytestmark = pytest.mark.timeout(900)  # a fresh machine installs Label Studio first (~80 s)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from label_studio_server import label_studio

    root = tmp_path_factory.mktemp("ls-documents")
    with label_studio(root) as running:
        yield running


def choice(letter: str) -> list[dict]:
    return [{"from_name": "choice", "to_name": "ref", "type": "choices",
             "value": {"choices": [letter]}}]  # fmt: skip


def test_nights_round_through_label_studio(server, capsys):
    root = server.document_root
    config = root / "nights.yaml"
    config.write_text("nights:\n  attention_check_rate: 0.25\n")
    round1, export = root / "nights-round1", root / "nights-export"
    source = nights_folder(root / "generated", count=4)
    assert main(["nights", "build", "--source", str(source), "--output", str(round1),
                 "--config", str(config)]) == 0  # fmt: skip
    assert main(["rounds", "export", str(round1), "--tool", "labelstudio",
                 "--output", str(export)]) == 0  # fmt: skip
    manifest = json.loads((export / "export.json").read_text())
    tasks = json.loads((export / "tasks-3.json").read_text())
    check = next(t["data"] for t in tasks if t["data"]["item_id"].startswith("c"))
    from webweave.annotation.round_dir import read_round

    expected = read_round(round1).items().to_pylist()
    expected_side = next(i["expected"] for i in expected if i["is_check"])
    right_letter = "A" if expected_side == "left" else "B"
    wrong_letter = "B" if right_letter == "A" else "A"
    raters = ["r1@webweave.test", "r2@webweave.test", "r3@webweave.test"]
    annotations = []
    for task in tasks:
        item = task["data"]["item_id"]
        for rater in raters[:2]:
            letter = right_letter if item == check["item_id"] else "A"
            if item == "t7" and rater == raters[1]:
                letter = "B"
            annotations.append({"item_id": item, "user": rater, "result": choice(letter)})
    annotations.append({"item_id": "t0", "user": raters[2], "result": choice("B")})
    annotations.append(
        {"item_id": check["item_id"], "user": raters[2], "result": choice(wrong_letter)}
    )
    result = server.drive(
        {
            "title": "webweave NIGHTS round 1",
            "label_config": (export / "label_config.xml").read_text(),
            "tasks": tasks,
            "storage_path": manifest["storage_path"],
            "users": raters,
            "annotations": annotations,
            "fetch": ["t0"],
        }
    )
    # Label Studio served the study's own image files (named by their sha256).
    t0 = next(t["data"] for t in tasks if t["data"]["item_id"] == "t0")
    for key in ("ref", "left", "right"):
        assert result["fetched"][t0[key]] == t0[key].rsplit("/", 1)[1].split(".")[0]
    exported = root / "label-studio-export.json"
    exported.write_text(json.dumps(result["export"]))
    round2 = root / "nights-round2"
    assert main(["rounds", "ingest", str(round1), str(exported), "--output", str(round2)]) == 0
    capsys.readouterr()

    report = json.loads((round2 / "report.json").read_text())
    users = {email: f"ls:{uid}" for email, uid in result["user_ids"].items()}
    workers = {w["worker_id"]: w for w in report["workers"]}
    assert set(workers) == set(users.values())
    assert workers[users[raters[2]]]["discard_reason"] == "failed_check"
    assert workers[users[raters[0]]]["check_accuracy"] == 1.0
    assert report["answers_read"] == 2 * 5 + 2
    assert report["answers_not_counted"] == {"worker_failed_check": 2}
    assert report["items"] == {
        "in": 4, "checks": 1, "continued": 3, "continued_without_votes": 0, "split_vote": 1,
    }  # fmt: skip
    survivors = {
        i["item_id"]: (i["n_left"], i["n_right"])
        for i in read_round(round2).items().to_pylist()
        if not i["is_check"]
    }
    assert survivors == {"t0": (2, 0), "t14": (2, 0), "t21": (2, 0)}


def rating(value: int) -> list[dict]:
    return [{"from_name": "rating", "to_name": "sentence", "type": "rating",
             "value": {"rating": value}}]  # fmt: skip


def test_timed_round_through_label_studio(server, capsys):
    """A TImeD round (3 raters, 2-of-3 rule to stay small) with the Rating widget."""
    from test_timed_rounds import auto_output

    from webweave.annotation.round_dir import read_round

    root = server.document_root
    auto, round1, export = root / "timed-auto", root / "timed-round1", root / "timed-export"
    auto_output(auto)
    config = root / "timed.yaml"
    config.write_text("timed:\n  raters: 3\n  min_agreeing: 2\n  attention_check_rate: 0.25\n")
    assert main(["timed", "manifest", str(auto), "--output", str(round1), "--per-label", "2",
                 "--config", str(config)]) == 0  # fmt: skip
    assert main(["rounds", "export", str(round1), "--tool", "labelstudio",
                 "--output", str(export)]) == 0  # fmt: skip
    tasks = json.loads((export / "tasks-3.json").read_text())
    items = {i["item_id"]: i for i in read_round(round1).items().to_pylist()}
    real = sorted(i for i, item in items.items() if not item["is_check"])
    scores = {real[0]: (7, 6, 2), real[1]: (1, 2, 6), real[2]: (4, 4, 7), real[3]: (1, 7, 4)}
    raters = [f"timed{n}@webweave.test" for n in range(1, 5)]  # new users on the shared server
    annotations = []
    for item_id, item in items.items():
        for n, rater in enumerate(raters):
            if item["is_check"]:
                value = int(item["expected"]) if n < 3 else int(item["expected"]) % 7 + 1
            else:
                value = scores[item_id][n] if n < 3 else 5
            annotations.append({"item_id": item_id, "user": rater, "result": rating(value)})
    result = server.drive(
        {
            "title": "webweave TImeD round 1",
            "label_config": (export / "label_config.xml").read_text(),
            "tasks": tasks,
            "storage_path": None,
            "users": raters,
            "annotations": annotations,
        }
    )
    exported = root / "timed-export.json"
    exported.write_text(json.dumps(result["export"]))
    round2 = root / "timed-round2"
    assert main(["rounds", "ingest", str(round1), str(exported), "--output", str(round2)]) == 0
    capsys.readouterr()
    report = json.loads((round2 / "report.json").read_text())
    discarded = {w["worker_id"] for w in report["workers"] if w["discarded"]}
    assert discarded == {f"ls:{result['user_ids'][raters[3]]}"}
    assert report["answers_not_counted"] == {"worker_failed_check": 5}
    assert report["items"] == {
        "in": 4,
        "checks": 1,
        "labelled": 4,
        "requeued": 0,
        "ratings_missing": 0,
    }
    assert report["next"]["stop_reason"] == "complete"
    import pyarrow.parquet as pq

    labels = {
        f"s{r['sentence_id']}": r for r in pq.read_table(round2 / "labels.parquet").to_pylist()
    }
    assert {i: (labels[i]["ratings"], labels[i]["label"]) for i in real} == {
        real[0]: ([7, 6, 2], "visual"), real[1]: ([1, 2, 6], "non_visual"),
        real[2]: ([4, 4, 7], "neutral"), real[3]: ([1, 7, 4], "ambiguous"),
    }  # fmt: skip
