"""TImeD human rounds: sampling, 9-rater Likert answers in real result layouts, the ≥ 5-of-9
rule at its edges, Krippendorff's alpha (by hand and by the package), attention-check
failures re-queued until every sentence has 9 valid ratings.
"""

from __future__ import annotations

import json

import krippendorff
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from annotation_exports import Vote, labelstudio_export, mturk_results

from webweave.annotation.agreement import krippendorff_alpha, value_count_matrix
from webweave.annotation.likert_labels import dissenters, visualness_label
from webweave.annotation.round_dir import read_round
from webweave.pipelines.cli import main
from webweave.schemas import visualness_auto, visualness_items, visualness_labels
from webweave.schemas.registry import check_table


@pytest.mark.parametrize(
    ("ratings", "label"),
    [
        ([1, 2, 3, 1, 2, 4, 5, 6, 7], "non_visual"),  # exactly 5 in {1,2,3}
        ([5, 6, 7, 5, 6, 4, 1, 2, 3], "visual"),  # exactly 5 in {5,6,7}
        ([1, 2, 3, 1, 4, 4, 5, 6, 7], "ambiguous"),  # 4 low, 2 mid, 3 high: no majority
        ([1, 1, 1, 1, 7, 7, 7, 7, 4], "ambiguous"),  # a 4-4 tie
        ([4, 4, 4, 4, 4, 1, 2, 6, 7], "neutral"),  # the majority rated 4
        ([4, 4, 4, 4, 1, 1, 7, 7, 2], "ambiguous"),  # 4 fours are not a majority
        ([4] * 9, "neutral"),
        ([7] * 9, "visual"),
    ],
)
def test_five_of_nine_rule(ratings, label):
    assert visualness_label(ratings) == label


def test_dissenters():
    assert dissenters([5, 5, 5, 5, 5, 5, 5, 5, 4], "visual") == 1
    assert dissenters([1, 2, 3, 1, 2, 3, 1, 7, 4], "non_visual") == 2
    assert dissenters([4] * 8 + [5], "neutral") == 1
    assert dissenters([1, 1, 1, 1, 7, 7, 7, 7, 4], "ambiguous") == 9


def test_alpha_by_hand_and_by_the_package():
    """Four units of two ratings: (1,1), (1,2), (2,3), (3,3). Marginals n1=3, n2=2, n3=3.
    Coincidences o12 = o21 = o23 = o32 = 1. Ordinal distances (Krippendorff 2011):
    d12 = d23 = (5 - 2.5)^2 = 6.25, d13 = (8 - 3)^2 = 25. Sum of o*d = 25; sum of n_c n_k d
    over c != k = 2 (3*2*6.25 + 2*3*6.25 + 3*3*25) = 600. alpha = 1 - 7 * 25 / 600 = 17/24.
    Nominal: 1 - 7 * 4 / 42 = 1/3."""
    answers = [["1", "1"], ["1", "2"], ["2", "3"], ["3", "3"]]
    counts = value_count_matrix(answers, ["1", "2", "3"])
    assert counts.tolist() == [[2, 0, 0], [1, 1, 0], [0, 1, 1], [0, 0, 2]]
    ordinal, items = krippendorff_alpha(counts, "ordinal", [1, 2, 3])
    assert (ordinal, items) == (pytest.approx(17 / 24, abs=1e-12), 4)
    assert krippendorff_alpha(counts, "nominal", [1, 2, 3])[0] == pytest.approx(1 / 3, abs=1e-12)
    # the package on the raters x units matrix (NaN = missing) agrees
    reliability = np.array([[1, 1, 2, 3], [1, 2, 3, 3]], dtype=float)
    assert krippendorff.alpha(
        reliability_data=reliability, level_of_measurement="ordinal"
    ) == pytest.approx(17 / 24, abs=1e-12)
    # undefined cases: no pairable unit, or one value used throughout
    assert krippendorff_alpha(np.array([[1, 0, 0]]), "ordinal", [1, 2, 3]) == (None, 0)
    assert krippendorff_alpha(np.array([[2, 0], [3, 0]]), "nominal", [0, 1]) == (None, 2)


# Nine ratings per sentence, by worker w0..w8 in that order, for the eight sampled sentences
# (ordered by sentence id). w8 fails the attention check in round 1, so its ratings are
# discarded and every sentence is re-queued for one rating, which w9 gives in round 2.
RATINGS = {
    "s00": [1, 2, 3, 1, 2, 4, 5, 6],  # + w9: 7 → non_visual (exactly 5 low)
    "s01": [5, 6, 7, 5, 6, 4, 1, 2],  # + 3 → visual (exactly 5 high)
    "s02": [1, 1, 1, 1, 7, 7, 7, 7],  # + 4 → ambiguous (tie)
    "s03": [4, 4, 4, 4, 4, 1, 2, 6],  # + 7 → neutral
    "s04": [7, 7, 7, 7, 7, 7, 7, 7],  # + 7 → visual, no dissent
    "s05": [1, 1, 1, 1, 1, 1, 1, 2],  # + 4 → non_visual, one dissent
    "s06": [6, 6, 6, 6, 6, 6, 2, 2],  # + 6 → visual, two dissents
    "s07": [3, 3, 3, 3, 3, 3, 3, 3],  # + 3 → non_visual
}
ROUND2 = {"s00": 7, "s01": 3, "s02": 4, "s03": 7, "s04": 7, "s05": 4, "s06": 6, "s07": 3}
EXPECTED = {
    "s00": "non_visual", "s01": "visual", "s02": "ambiguous", "s03": "neutral",
    "s04": "visual", "s05": "non_visual", "s06": "visual", "s07": "non_visual",
}  # fmt: skip


def auto_output(folder) -> None:
    """A `timed auto` output (its schema): 12 sentences in 6 documents, 6 per auto label."""
    rows = []
    for i in range(12):
        label = "visual" if i % 2 == 0 else "non_visual"
        rows.append(
            {"sentence_id": f"{i:02d}", "doc_id": f"doc{i // 2}", "position": 0,
             "sentence_index": i % 2, "sentence": f"Sentence number {i} about a red kite.",
             "language": "en", "image_urls": [f"https://x.test/{i}.jpg"],
             "similarities": [0.4 if label == "visual" else 0.1],
             "best_image_url": f"https://x.test/{i}.jpg",
             "best_similarity": 0.4 if label == "visual" else 0.1, "label": label,
             "unlabelled_reason": None, "model": "tiny@sha256:0", "splitter": "pysbd 0.3.4"}
        )  # fmt: skip
    (folder / "sentences").mkdir(parents=True)
    pq.write_table(
        pa.Table.from_pylist(rows, schema=visualness_auto.SCHEMA),
        folder / "sentences" / "part-00000.parquet",
    )


def check_answer(round_dir, wrong: bool = False) -> list[tuple[str, str]]:
    items = read_round(round_dir).items().to_pylist()
    out = []
    for item in items:
        if item["is_check"]:
            value = int(item["expected"])
            out.append((item["item_id"], str(value % 7 + 1 if wrong else value)))
    return out


def test_timed_rounds_requeue_until_nine_valid_ratings(tmp_path, capsys):
    auto = tmp_path / "auto"
    auto_output(auto)
    round1 = tmp_path / "round1"
    assert main(["timed", "manifest", str(auto), "--output", str(round1), "--per-label", "4",
                 "--seed", "11"]) == 0  # fmt: skip
    assert "visual 4, non_visual 4; 1 attention checks" in capsys.readouterr().out
    items = read_round(round1).items()
    check_table(items, visualness_items.SCHEMA)
    real = [i for i in items.to_pylist() if not i["is_check"]]
    assert sorted(i["auto_label"] for i in real) == ["non_visual"] * 4 + ["visual"] * 4
    assert {i["assignments"] for i in items.to_pylist()} == {9}
    names = {
        i["item_id"]: f"s{n:02d}" for n, i in enumerate(sorted(real, key=lambda r: r["item_id"]))
    }
    check = next(i for i in items.to_pylist() if i["is_check"])
    assert "please select" in check["sentence"] and check["expected"] in "1234567"

    # Round 1 in Label Studio (Rating): w0..w7 rate everything and pass the check; w8 rates
    # everything but fails the check.
    export1 = tmp_path / "export1"
    assert (
        main(["rounds", "export", str(round1), "--tool", "labelstudio", "--output", str(export1)])
        == 0
    )
    assert (
        '<Rating name="rating" toName="sentence" maxRating="7"'
        in (export1 / "label_config.xml").read_text()
    )
    votes = []
    for worker in range(9):
        for item_id, name in names.items():
            value = RATINGS[name][worker] if worker < 8 else 5
            votes.append(Vote(item_id, f"w{worker}", str(value)))
        for item_id, value in check_answer(round1, wrong=worker == 8):
            votes.append(Vote(item_id, f"w{worker}", value))
    results1 = labelstudio_export(export1, votes, tmp_path / "ls.json")
    round2 = tmp_path / "round2"
    assert main(["rounds", "ingest", str(round1), str(results1), "--output", str(round2)]) == 0
    report = json.loads((round2 / "report.json").read_text())
    assert report["answers_not_counted"] == {"worker_failed_check": 9}
    assert report["items"] == {
        "in": 8,
        "checks": 1,
        "labelled": 0,
        "requeued": 8,
        "ratings_missing": 8,
    }
    assert report["labels"] == {} and report["next"]["status"] == "open"
    assert {w["worker_id"]: w["discard_reason"] for w in report["workers"]}[
        "ls:9"
    ] == "failed_check"
    requeued = read_round(round2).items().to_pylist()
    assert sorted(i["item_id"] for i in requeued if not i["is_check"]) == sorted(names)
    assert {i["assignments"] for i in requeued} == {1}  # one rating missing each; checks ask 1
    assert sum(i["is_check"] for i in requeued) == 1

    # Round 2 in MTurk: w9 gives the missing rating (and passes the new check); w10 answers
    # everything too, beyond the 9 raters.
    export2 = tmp_path / "export2"
    assert main(["rounds", "export", str(round2), "--tool", "mturk", "--output", str(export2)]) == 0
    votes = []
    for worker in ("w9", "w10"):
        for item_id, name in names.items():
            votes.append(Vote(item_id, worker, str(ROUND2[name])))
        for item_id, value in check_answer(round2):
            votes.append(Vote(item_id, worker, value))
    results2 = mturk_results(export2, votes, tmp_path / "mturk.csv")
    round3 = tmp_path / "round3"
    assert main(["rounds", "ingest", str(round2), str(results2), "--output", str(round3)]) == 0
    capsys.readouterr()
    report = json.loads((round3 / "report.json").read_text())
    assert report["answers_not_counted"] == {"beyond_raters": 8}
    assert report["items"] == {
        "in": 8,
        "checks": 1,
        "labelled": 8,
        "requeued": 0,
        "ratings_missing": 0,
    }
    assert report["next"]["status"] == "stopped" and report["next"]["stop_reason"] == "complete"
    assert report["labels"] == {"ambiguous": 1, "neutral": 1, "non_visual": 3, "visual": 3}

    table = pq.read_table(round3 / "labels.parquet")
    check_table(table, visualness_labels.SCHEMA)
    labels = {r["sentence_id"]: r for r in table.to_pylist()}
    by_name = {name: labels[item_id[1:]] for item_id, name in names.items()}
    for name, row in by_name.items():
        ratings = RATINGS[name] + [ROUND2[name]]
        assert row["ratings"] == ratings
        assert row["label"] == EXPECTED[name]
        assert row["mean"] == pytest.approx(np.mean(ratings)) and row["std"] == pytest.approx(
            np.std(ratings)
        )
        assert (row["n_low"], row["n_mid"], row["n_high"]) == (
            sum(r <= 3 for r in ratings), ratings.count(4), sum(r >= 5 for r in ratings),
        )  # fmt: skip
        assert row["round"] == 2
        assert (row["split"] is None) == (EXPECTED[name] in ("ambiguous", "neutral"))
    # Splits are per document: both sentences of a document share one split.
    split_of_doc = {}
    for row in labels.values():
        if row["split"]:
            assert split_of_doc.setdefault(row["doc_id"], row["split"]) == row["split"]
    assert sum(report["splits"].values()) == 6

    all_ratings = [RATINGS[n] + [ROUND2[n]] for n in sorted(RATINGS)]
    reliability = np.array(all_ratings, dtype=float).T  # raters x units (any rater order)
    alpha = krippendorff.alpha(reliability_data=reliability, level_of_measurement="ordinal")
    assert report["agreement"]["krippendorff_alpha"] == pytest.approx(alpha, abs=1e-12)
    assert report["agreement"]["items"] == 8
    # at most one dissenter: s00 (4 of 9 dissent)? no; s04 (0) yes; s05 (1) yes; s07 (0) yes;
    # s03 neutral (4 dissent) no; s06 (2) no; s01 (4) no; s02 ambiguous no → 3 of 8
    assert report["agreement"]["at_most_one_dissent_share"] == 3 / 8


def test_likert_as_seven_choices_and_through_ground_truth(tmp_path, capsys):
    from annotation_exports import groundtruth_output

    auto = tmp_path / "auto"
    auto_output(auto)
    config = tmp_path / "choices.yaml"
    config.write_text("rounds:\n  likert_widget: choices\ntimed:\n  raters: 3\n  min_agreeing: 2\n")
    round1 = tmp_path / "round1"
    assert main(["timed", "manifest", str(auto), "--output", str(round1), "--per-label", "1",
                 "--config", str(config)]) == 0  # fmt: skip
    items = read_round(round1).items().to_pylist()
    real = sorted(i["item_id"] for i in items if not i["is_check"])
    check = next(i for i in items if i["is_check"])
    ls_dir, gt_dir = tmp_path / "ls", tmp_path / "gt"
    assert (
        main(["rounds", "export", str(round1), "--tool", "labelstudio", "--output", str(ls_dir)])
        == 0
    )
    assert (
        main(["rounds", "export", str(round1), "--tool", "groundtruth", "--output", str(gt_dir)])
        == 0
    )
    capsys.readouterr()
    xml = (ls_dir / "label_config.xml").read_text()
    assert xml.count("<Choice value=") == 7 and 'hint="strongly agree"' in xml
    lines = [json.loads(t) for t in (gt_dir / "input-3.manifest").read_text().splitlines()]
    assert {line["source"] for line in lines} == {i["sentence"] for i in items}
    # Two raters in Label Studio (seven choices), the third in Ground Truth.
    scores = {real[0]: ("6", "7", "2"), real[1]: ("1", "3", "4")}
    ls_votes = [Vote(i, f"w{n}", scores[i][n]) for i in real for n in (0, 1)]
    ls_votes += [Vote(check["item_id"], f"w{n}", check["expected"]) for n in (0, 1)]
    gt_votes = [Vote(i, "gt-worker", scores[i][2]) for i in real]
    gt_votes.append(Vote(check["item_id"], "gt-worker", check["expected"]))
    ls_file = labelstudio_export(ls_dir, ls_votes, tmp_path / "ls.json", likert="choices")
    assert '"from_name": "likert"' in ls_file.read_text()
    gt_file = groundtruth_output(gt_dir, gt_votes, tmp_path / "gt.manifest")
    round2 = tmp_path / "round2"
    assert main(["rounds", "ingest", str(round1), str(ls_file), str(gt_file),
                 "--output", str(round2)]) == 0  # fmt: skip
    report = json.loads((round2 / "report.json").read_text())
    assert report["answers_valid"] == 9 and report["answers_not_counted"] == {}
    labels = {
        f"s{r['sentence_id']}": r for r in pq.read_table(round2 / "labels.parquet").to_pylist()
    }
    assert {i: (sorted(labels[i]["ratings"]), labels[i]["label"]) for i in real} == {
        real[0]: ([2, 6, 7], "visual"), real[1]: ([1, 3, 4], "non_visual"),
    }  # fmt: skip
