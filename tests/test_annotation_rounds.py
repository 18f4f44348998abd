"""NIGHTS rounds end to end through the CLI: build → export → simulated answers in each tool's
real result layout → ingest, three rounds (Label Studio, MTurk, Ground Truth), then finalize.

The vote arithmetic is exact and hand-checked: which triplets survive each round, who is
discarded (a wrong attention-check answer, then blocked in later rounds), which answers count
and why; re-ingesting is idempotent; exports of another round, unknown tasks, the other study
kind or an unknown format are refused in one line with nothing written.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from annotation_exports import Vote, groundtruth_output, labelstudio_export, mturk_results
from PIL import Image

from webweave.annotation.round_dir import read_round
from webweave.pipelines.cli import main
from webweave.schemas import (
    annotation_round,
    nights_items,
    nights_triplets,
    round_export,
    round_report,
    round_votes,
)
from webweave.schemas.json_records import check_record
from webweave.schemas.registry import check_table

from conftest import fixture_path

PHOTOS = [
    "skimage/astronaut.png", "skimage/camera.png", "skimage/chelsea.png", "skimage/coffee.png",
    "skimage/coins.png", "skimage/rocket.jpg", "sklearn/china.jpg", "sklearn/flower.jpg",
    "matplotlib/grace_hopper.jpg", "skimage/motorcycle_left.png", "skimage/retina.jpg",
]  # fmt: skip
TRIPLETS = 8
CONFIG = """\
nights:
  attention_check_rate: 0.25
rounds:
  max_rounds: 3
"""


def nights_folder(root: Path, count: int = TRIPLETS, missing: int | None = None) -> Path:
    """A NIGHTS-layout folder of real photographs (48-px PNGs): triplet i is ref/000/<7i>.png
    with its _0 / _1 variations drawn from the other photos; ``missing`` lacks its _1."""
    photos = [Image.open(fixture_path(f"images/{p}")).convert("RGB") for p in PHOTOS]
    for i in range(count):
        stem = f"{7 * i:03d}"
        for name, photo in (
            (f"ref/000/{stem}.png", photos[i % len(photos)]),
            (f"distort/000/{stem}_0.png", photos[(i + 3) % len(photos)]),
            (f"distort/000/{stem}_1.png", photos[(i + 5) % len(photos)]),
        ):
            if i == missing and name.endswith("_1.png"):
                continue
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            photo.resize((48, 48)).rotate(i * 11).save(path)
    return root


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def items_of(round_dir: Path) -> list[dict]:
    table = pq.read_table(round_dir / "items.parquet")
    check_table(table, nights_items.SCHEMA)
    return table.to_pylist()


def answers(round_dir: Path, workers: list[str], side: dict[str, dict[str, str]]) -> list[Vote]:
    """Every worker answers every item: checks correctly, triplets as ``side[worker]`` says
    (default left). ``side[worker][item] == ""`` leaves the item unanswered."""
    votes = []
    for item in items_of(round_dir):
        for worker in workers:
            if item["is_check"]:
                answer = side.get(worker, {}).get("check", item["expected"])
            else:
                answer = side.get(worker, {}).get(item["item_id"], "left")
            if answer != "":
                votes.append(Vote(item["item_id"], worker, answer))
    return votes


def check_item(round_dir: Path) -> dict:
    return next(i for i in items_of(round_dir) if i["is_check"])


def wrong(item: dict) -> str:
    return "right" if item["expected"] == "left" else "left"


@pytest.fixture
def study(tmp_path, capsys):
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG)
    source = nights_folder(tmp_path / "generated", missing=7)
    round1 = tmp_path / "round1"
    code, out, _ = run(
        capsys, "nights", "build", "--source", source, "--output", round1,
        "--config", config, "--seed", 7,
    )  # fmt: skip
    assert code == 0, out
    return tmp_path, config, round1


def test_three_rounds_in_three_tools_then_finalize(study, capsys):
    tmp, config, round1 = study
    info = json.loads((round1 / "round.json").read_text())
    check_record(info, annotation_round.SCHEMA)
    assert (info["round"], info["status"], info["seed"], info["items"], info["checks"]) == (
        1, "open", 7, 7, 2,
    )  # fmt: skip  # triplet 49 lacks its _1 file; ceil(7 * 0.25) = 2 checks
    stats = json.loads((round1 / "stats.json").read_text())
    assert stats["funnel"][0] == {
        "stage": "sources", "in": 8, "out": 7, "dropped": {"missing_image": 1}, "errors": 0,
    }  # fmt: skip
    assert stats["funnel_closes"]
    triplets = pq.read_table(round1 / "triplets.parquet")
    check_table(triplets, nights_triplets.SCHEMA)
    assert triplets["triplet_id"].to_pylist() == [0, 7, 14, 21, 28, 35, 42]
    assert items_of(round1)[0]["assignments"] == 3

    # Round 1 in Label Studio: w1..w3 answer everything; t7 and t21 split; w4 answers t0
    # "right" but fails a check, so that vote never counts; one task also has a skip.
    export1 = tmp / "export1"
    assert (
        run(capsys, "rounds", "export", round1, "--tool", "labelstudio", "--output", export1)[0]
        == 0
    )
    check_record(json.loads((export1 / "export.json").read_text()), round_export.SCHEMA)
    check = check_item(round1)
    votes = answers(round1, ["w1", "w2", "w3"], {"w3": {"t7": "right"}, "w1": {"t21": "right"},
                                                 "w2": {"t21": "right"}, "w4": {}})  # fmt: skip
    votes += [Vote("t0", "w4", "right"), Vote(check["item_id"], "w4", wrong(check))]
    ls_file = labelstudio_export(export1, votes, tmp / "ls-round1.json", cancelled=1)
    round2 = tmp / "round2"
    code, out, err = run(
        capsys, "rounds", "ingest", round1, ls_file, "--output", round2, "--config", config
    )
    assert code == 0, err
    report = json.loads((round2 / "report.json").read_text())
    check_record(report, round_report.SCHEMA)
    assert report["answers_read"] == 3 * 9 + 2 + 9  # 9 items x 3 workers, w4's two, 9 skips
    assert report["answers_not_counted"] == {"cancelled": 9, "worker_failed_check": 2}
    assert report["answers_valid"] == 27 and report["answers_funnel_closes"]
    assert report["items"] == {
        "in": 7,
        "checks": 2,
        "continued": 5,
        "continued_without_votes": 0,
        "split_vote": 2,
    }
    assert report["survival_rate"] == pytest.approx(5 / 7)
    workers = {w["worker_id"]: w for w in report["workers"]}
    assert workers["ls:4"] == {
        "worker_id": "ls:4", "answers": 2, "checks_answered": 1, "checks_correct": 0,
        "check_accuracy": 0.0, "discarded": True, "discard_reason": "failed_check",
    }  # fmt: skip  # users are numbered by sorted worker name: w1 → ls:1 … w4 → ls:4
    assert workers["ls:1"]["checks_answered"] == 2 and workers["ls:1"]["check_accuracy"] == 1.0
    assert report["agreement"]["level"] == "nominal" and report["agreement"]["items"] == 7
    votes2 = pq.read_table(round2 / "votes.parquet")
    check_table(votes2, round_votes.SCHEMA)
    assert votes2.num_rows == 38
    survivors = {
        i["item_id"]: (i["n_left"], i["n_right"]) for i in items_of(round2) if not i["is_check"]
    }
    assert survivors == {"t0": (3, 0), "t14": (3, 0), "t28": (3, 0), "t35": (3, 0), "t42": (3, 0)}
    assert all(i["assignments"] == 1 for i in items_of(round2))
    assert "round 1: 38 answers read, 27 valid" in out

    # Round 2 in MTurk, plus a Label Studio export of the same round: w1 splits t35
    # ("right"); ls:4 (blocked in round 1) and the rejected mturk:w5 both say "right" on t42,
    # which therefore survives.
    export2 = tmp / "export2"
    code, _, err = run(
        capsys, "rounds", "export", round2, "--tool", "mturk", "--output", export2,
        "--image-base", "https://images.example.org/study",
    )  # fmt: skip
    assert code == 0, err
    votes = answers(round2, ["w1"], {"w1": {"t35": "right"}}) + [Vote("t42", "w5", "right")]
    mturk_file = mturk_results(export2, votes, tmp / "mturk-round2.csv", rejected=frozenset({"w5"}))
    export2_ls = tmp / "export2-ls"
    assert (
        run(capsys, "rounds", "export", round2, "--tool", "labelstudio", "--output", export2_ls)[0]
        == 0
    )
    late = labelstudio_export(export2_ls, [Vote("t42", "w4", "right")], tmp / "ls-round2.json",
                              users={"w4": 4})  # fmt: skip
    round3 = tmp / "round3"
    assert run(capsys, "rounds", "ingest", round2, mturk_file, late, "--output", round3)[0] == 0
    report = json.loads((round3 / "report.json").read_text())
    assert report["answers_not_counted"] == {"rejected": 1, "worker_failed_earlier": 1}
    assert report["items"] == {
        "in": 5,
        "checks": 2,
        "continued": 4,
        "continued_without_votes": 0,
        "split_vote": 1,
    }
    assert report["agreement"]["krippendorff_alpha"] is None  # only round 1 has agreement
    assert [e["tool"] for e in report["exports"]] == ["mturk", "labelstudio"]
    assert {w["worker_id"]: w["discard_reason"] for w in report["workers"]} == {
        "ls:4": "failed_earlier", "mturk:w1": None, "mturk:w5": None,
    }  # fmt: skip  # worker ids are per tool: LS user 4 is not MTurk worker w4
    survivors = {i["item_id"]: i["n_left"] for i in items_of(round3) if not i["is_check"]}
    assert survivors == {"t0": 4, "t14": 4, "t28": 4, "t42": 4}

    # Round 3 in Ground Truth: gt:w2 splits t28; a failed check of gt:w9 drops its vote;
    # max_rounds = 3, so round 4 is written stopped with the survivors.
    export3 = tmp / "export3"
    code, _, err = run(
        capsys, "rounds", "export", round3, "--tool", "groundtruth", "--output", export3,
        "--image-base", "s3://bucket/study",
    )  # fmt: skip
    assert code == 0, err
    check = check_item(round3)
    votes = answers(round3, ["w2"], {"w2": {"t28": "right"}})
    votes += [Vote("t14", "w9", "right"), Vote(check["item_id"], "w9", wrong(check))]
    gt_file = groundtruth_output(export3, votes, tmp / "gt-round3.manifest")
    round4 = tmp / "round4"
    assert run(capsys, "rounds", "ingest", round3, gt_file, "--output", round4)[0] == 0
    report = json.loads((round4 / "report.json").read_text())
    assert report["items"] == {
        "in": 4,
        "checks": 1,
        "continued": 3,
        "continued_without_votes": 0,
        "split_vote": 1,
    }
    assert report["answers_not_counted"] == {"worker_failed_check": 2}
    assert report["next"] == {
        "round": 4, "round_id": read_round(round4).round_id, "status": "stopped",
        "stop_reason": "max_rounds", "items": 3, "checks": 0,
    }  # fmt: skip
    code, _, err = run(
        capsys, "rounds", "export", round4, "--tool", "labelstudio", "--output", tmp / "x"
    )
    assert code == 2 and "stopped (max_rounds)" in err and not (tmp / "x").exists()

    # The chain read back from the last round: the NIGHTS layout with exact votes.
    dataset = tmp / "dataset"
    code, out, err = run(capsys, "nights", "finalize", round4, "--output", dataset)
    assert code == 0, err
    with open(dataset / "data.csv", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == [
        "id", "left_vote", "right_vote", "votes", "ref_path", "left_path", "right_path",
        "split", "is_imagenet", "prompt",
    ]  # fmt: skip
    by_id = {int(r[0]): r for r in rows[1:]}
    assert sorted(by_id) == [0, 14, 42]
    assert {i: (r[1], r[2], r[3]) for i, r in by_id.items()} == {
        0: ("1.0", "0.0", "5"), 14: ("1.0", "0.0", "5"), 42: ("1.0", "0.0", "5"),
    }  # fmt: skip
    left_variant = {t["triplet_id"]: t["left_variant"] for t in triplets.to_pylist()}
    for triplet_id, row in by_id.items():
        assert row[4] == f"ref/000/{triplet_id:03d}.png"
        assert row[5] == f"distort/000/{triplet_id:03d}_{left_variant[triplet_id]}.png"
        assert row[6] == f"distort/000/{triplet_id:03d}_{1 - left_variant[triplet_id]}.png"
        for path in row[4:7]:
            assert (dataset / path).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with open(dataset / "webweave_triplets.csv", newline="") as handle:
        status = {
            int(r["id"]): (r["status"], r["n_left"], r["n_right"]) for r in csv.DictReader(handle)
        }
    assert status == {
        0: ("unanimous", "5", "0"), 7: ("split_vote", "2", "1"), 14: ("unanimous", "5", "0"),
        21: ("split_vote", "1", "2"), 28: ("split_vote", "4", "1"), 35: ("split_vote", "3", "1"),
        42: ("unanimous", "5", "0"),
    }  # fmt: skip
    summary = json.loads((dataset / "summary.json").read_text())
    assert [r["split_vote"] for r in summary["rounds"]] == [2, 1, 1]
    assert summary["votes"] == {"5": 3} and summary["stop_reason"] == "max_rounds"
    assert json.loads((dataset / "stats.json").read_text())["funnel"][0]["dropped"] == {
        "split_vote": 4
    }


def test_reingest_is_idempotent_and_bad_exports_write_nothing(study, capsys):
    tmp, _, round1 = study
    export = tmp / "export"
    assert (
        run(capsys, "rounds", "export", round1, "--tool", "labelstudio", "--output", export)[0] == 0
    )
    votes = answers(round1, ["w1", "w2"], {"w2": {"t0": "right"}})
    ls_file = labelstudio_export(export, votes, tmp / "ls.json")

    once, twice = tmp / "once", tmp / "twice"
    assert run(capsys, "rounds", "ingest", round1, ls_file, "--output", once)[0] == 0
    assert run(capsys, "rounds", "ingest", round1, ls_file, ls_file, "--output", twice)[0] == 0
    report_once = json.loads((once / "report.json").read_text())
    report_twice = json.loads((twice / "report.json").read_text())
    assert report_twice["answers_duplicate"] == len(votes) == report_once["answers_valid"]
    assert report_twice["items"] == report_once["items"] == {
        "in": 7, "checks": 2, "continued": 6, "continued_without_votes": 0, "split_vote": 1,
    }  # fmt: skip
    assert pq.read_table(twice / "votes.parquet").equals(pq.read_table(once / "votes.parquet"))

    before = {p: p.stat().st_mtime_ns for p in once.rglob("*")}
    code, out, _ = run(capsys, "rounds", "ingest", round1, ls_file, "--output", once)
    assert code == 0 and "already ingested (nothing to do)" in out
    assert {p: p.stat().st_mtime_ns for p in once.rglob("*")} == before

    # Another export into a finished output: refused unless --overwrite (then replaced).
    other = labelstudio_export(export, answers(round1, ["w1"], {}), tmp / "ls-other.json")
    code, _, err = run(capsys, "rounds", "ingest", round1, other, "--output", once)
    assert code == 2 and "pass --overwrite" in err and err.count("\n") == 1
    assert run(capsys, "rounds", "ingest", round1, other, "--output", once, "--overwrite")[0] == 0
    replaced = json.loads((once / "report.json").read_text())
    assert replaced["items"]["split_vote"] == 0
    assert (replaced["next"]["status"], replaced["next"]["stop_reason"]) == (
        "stopped",
        "nothing_removed",
    )

    # An export without answers removes nothing but does not end the study.
    empty = labelstudio_export(export, [], tmp / "ls-empty.json")
    assert run(capsys, "rounds", "ingest", round1, empty, "--output", tmp / "unvoted")[0] == 0
    unvoted = json.loads((tmp / "unvoted" / "report.json").read_text())
    assert unvoted["items"]["continued_without_votes"] == 7
    assert (unvoted["next"]["status"], unvoted["answers_read"]) == ("open", 0)

    # Bad exports: one line on stderr, exit 2, no output folder.
    round2 = twice  # open (once was replaced by a round that stopped: nothing removed)
    export2 = tmp / "export2"
    assert (
        run(capsys, "rounds", "export", round2, "--tool", "labelstudio", "--output", export2)[0]
        == 0
    )
    from_round2 = labelstudio_export(export2, answers(round2, ["w1"], {}), tmp / "ls-r2.json")
    unknown = tmp / "unknown.json"
    tasks = json.loads(ls_file.read_text())
    tasks[0]["data"]["item_id"] = "t999"
    unknown.write_text(json.dumps(tasks))
    json_min = tmp / "json-min.json"
    json_min.write_text(json.dumps([{"ref": "x", "item_id": "t0", "choice": "A", "annotator": 1}]))
    not_a_result = tmp / "notes.csv"
    not_a_result.write_text("a,b\n1,2\n")
    other_kind = tmp / "timed-tasks.json"
    sentence = {"sentence": "A red kite.", "item_id": "t0", "round_id": read_round(round1).round_id}
    other_kind.write_text(json.dumps([{"id": 1, "data": sentence, "annotations": []}]))
    cases = {
        from_round2: f"holds tasks of round {read_round(round2).round_id}, not of round",
        unknown: "1 task id(s) that round",
        json_min: "(JSON_MIN? export with exportType=JSON)",
        not_a_result: "not a result file webweave reads",
        other_kind: "holds timed tasks, the round is a nights round",
    }
    for bad, message in cases.items():
        target = tmp / f"refused-{bad.stem}"
        code, _, err = run(capsys, "rounds", "ingest", round1, ls_file, bad, "--output", target)
        assert (code, err.count("\n")) == (2, 1), err
        assert message in err
        assert not target.exists()
        assert not list(tmp.glob(f".refused-{bad.stem}*"))  # no temporary folder left


def test_mturk_template_variables_are_the_csv_columns(study, capsys):
    tmp, config, round1 = study
    config.write_text(CONFIG + "  items_per_hit: 4\n")
    export = tmp / "mturk"
    code, _, err = run(
        capsys, "rounds", "export", round1, "--tool", "mturk", "--output", export,
        "--image-base", "https://images.example.org/s", "--config", config,
    )  # fmt: skip
    assert code == 0, err
    from webweave.annotation.tools.mturk import template_variables

    html = (export / "question.html").read_text()
    with open(export / "batch-3.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert template_variables(html) == list(rows[0])
    assert len(rows) == 3  # 9 items, 4 per HIT: the last HIT repeats the first three items
    assert [rows[2][f"item_{s}"] for s in (1, 2, 3, 4)][1:] == [
        rows[0][f"item_{s}"] for s in (1, 2, 3)
    ]
    assert rows[0]["ref_1"].startswith("https://images.example.org/s/images/")
    assert 'answer-format="flatten-objects"' in html and html.count("<crowd-radio-group>") == 4

    # Round-trip through the results layout with 4 items per HIT.
    votes = answers(round1, ["w1", "w2", "w3"], {})
    results = mturk_results(export, votes, tmp / "results.csv")
    nxt = tmp / "round2"
    assert (
        run(capsys, "rounds", "ingest", round1, results, "--output", nxt, "--config", config)[0]
        == 0
    )
    report = json.loads((nxt / "report.json").read_text())
    assert report["answers_read"] == 3 * 3 * 4  # 3 HITs x 3 workers x 4 slots
    assert report["answers_not_counted"] == {"repeat_by_worker": 9}  # the 3 wrapped items
    assert report["items"]["continued"] == 7


def test_export_needs_urls_for_crowd_tools_and_local_files_below_the_root(study, capsys):
    tmp, _, round1 = study
    code, _, err = run(
        capsys, "rounds", "export", round1, "--tool", "groundtruth", "--output", tmp / "g"
    )
    assert code == 2 and "pass --image-base (s3://…)" in err
    code, _, err = run(
        capsys, "rounds", "export", round1, "--tool", "mturk", "--output", tmp / "m",
        "--image-base", "http://insecure.example.org",
    )  # fmt: skip
    assert code == 2 and "must start with https://" in err
    code, _, err = run(
        capsys, "rounds", "export", round1, "--tool", "labelstudio", "--output", tmp / "l",
        "--document-root", round1 / "images",
    )  # fmt: skip
    assert code == 2 and "strictly below its document root" in err


def test_groundtruth_lambdas_follow_the_documented_events(study, capsys):
    tmp, _, round1 = study
    export = tmp / "gt"
    run(capsys, "rounds", "export", round1, "--tool", "groundtruth", "--output", export,
        "--image-base", "s3://b/p")  # fmt: skip
    namespace: dict = {}
    exec((export / "lambdas.py").read_text(), namespace)  # the file a team deploys
    line = json.loads((export / "input-3.manifest").read_text().splitlines()[0])
    task = namespace["pre_annotation"]({"dataObject": line}, None)
    assert task == {
        "taskInput": {"ref": line["source-ref"], "left": line["webweave-left"],
                      "right": line["webweave-right"]},
        "isHumanAnnotationRequired": "true",
    }  # fmt: skip
    annotations = [{"workerId": "private.us-east-1.A", "annotationData": {"content": "{}"}}]
    event = {
        "labelAttributeName": "webweave-answer",
        "payload": [{"datasetObjectId": "0", "dataObject": line, "annotations": annotations}],
    }
    assert namespace["consolidation"](event, None) == [
        {"datasetObjectId": "0", "consolidatedAnnotation": {
            "content": {"webweave-answer": {"annotationsFromAllWorkers": annotations}}}},
    ]  # fmt: skip


def test_build_refuses_foreign_folders_and_replaces_with_overwrite(tmp_path, capsys):
    source = nights_folder(tmp_path / "generated", count=3)
    target = tmp_path / "round1"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    code, _, err = run(capsys, "nights", "build", "--source", source, "--output", target)
    assert code == 2 and "is not empty and was not written by webweave" in err
    assert (target / "notes.txt").read_text() == "mine"
    code, _, _ = run(
        capsys, "nights", "build", "--source", source, "--output", target, "--overwrite"
    )
    assert code == 0 and not (target / "notes.txt").exists()
    assert json.loads((target / "round.json").read_text())["items"] == 3
    code, _, err = run(
        capsys, "nights", "build", "--source", tmp_path / "nothing", "--output", tmp_path / "o"
    )
    assert code == 2 and "--source" in err and "does not exist" in err
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = run(capsys, "nights", "build", "--source", empty, "--output", tmp_path / "o")
    assert code == 2 and "not a NIGHTS folder" in err
    shutil.rmtree(source / "ref")
