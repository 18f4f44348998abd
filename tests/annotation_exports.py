"""Result files in each tool's published export layout, written from simulated answers.

Tests simulate raters by listing ``Vote(item_id, worker, answer)`` and write them the way the
tool itself would: the task data and export files ``webweave rounds export`` produced are
read back from the export folder, and each tool's result fields are filled in.

- Label Studio JSON export: every task and annotation field of a real 1.23.2 export
  (reference label_studio.md, "Export"), ``completed_by`` an integer user id;
- MTurk batch results CSV: the requester website's column order (``HITId`` … ``Last7Days
  ApprovalRate``, ``Input.*``, ``Answer.*``, ``Approve``, ``Reject``), one row per assignment;
- Ground Truth output manifest: the input line plus the label attribute (AWS's consolidation
  sample: ``annotationsFromAllWorkers``) and its ``-metadata``.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

from webweave.annotation.tools.crowd_form import button_names

SUBMIT = "2026-12-06T01:{:02d}:{:02d}.000000Z"
MTURK_HEADER = [
    "HITId", "HITTypeId", "Title", "Description", "Keywords", "Reward", "CreationTime",
    "MaxAssignments", "RequesterAnnotation", "AssignmentDurationInSeconds",
    "AutoApprovalDelayInSeconds", "Expiration", "NumberOfSimilarHITs", "LifetimeInSeconds",
    "AssignmentId", "WorkerId", "AssignmentStatus", "AcceptTime", "SubmitTime",
    "AutoApprovalTime", "ApprovalTime", "RejectionTime", "RequesterFeedback",
    "WorkTimeInSeconds", "LifetimeApprovalRate", "Last30DaysApprovalRate",
    "Last7DaysApprovalRate",
]  # fmt: skip


@dataclass(frozen=True)
class Vote:
    item_id: str
    worker: str
    answer: str  # left | right | "1".."7" (webweave's vocabulary); "" = no selection


def _by_item(votes: list[Vote]) -> dict[str, list[Vote]]:
    grouped: dict[str, list[Vote]] = {}
    for vote in votes:
        grouped.setdefault(vote.item_id, []).append(vote)
    return grouped


def _stamp(n: int) -> str:
    return SUBMIT.format(n // 60 % 60, n % 60)


def labelstudio_export(
    export_dir: Path,
    votes: list[Vote],
    out: Path,
    cancelled: int = 0,
    users: dict[str, int] | None = None,
    likert: str = "rating",
) -> Path:
    """A Label Studio JSON export of the tasks in ``export_dir`` with ``votes``; workers are
    user ids ``users[worker]`` (default: numbered 1, 2, … in name order); ``cancelled``
    skipped annotations are added to every answered task."""
    tasks = []
    for name in sorted(export_dir.glob("tasks-*.json")):
        tasks += json.loads(name.read_text())
    users = users or {w: i + 1 for i, w in enumerate(sorted({v.worker for v in votes}))}
    exported, annotation_id, grouped = [], 0, _by_item(votes)
    for task_id, task in enumerate(tasks, start=1):
        data = task["data"]
        annotations = []
        for vote in grouped.get(data["item_id"], []):
            annotation_id += 1
            annotations.append(
                _ls_annotation(annotation_id, users[vote.worker], vote, data, task_id, likert)
            )
        for _ in range(cancelled if annotations else 0):
            annotation_id += 1
            skipped = _ls_annotation(
                annotation_id, 999, Vote(data["item_id"], "skip", ""), data, task_id
            )
            annotations.append({**skipped, "was_cancelled": True, "result": []})
        exported.append(
            {
                "id": task_id, "annotations": annotations, "file_upload": None, "drafts": [],
                "predictions": [], "data": data, "meta": {}, "created_at": _stamp(0),
                "updated_at": _stamp(1), "inner_id": task_id, "total_annotations": len(annotations),
                "cancelled_annotations": 0, "total_predictions": 0, "comment_count": 0,
                "unresolved_comment_count": 0, "last_comment_updated_at": None, "project": 1,
                "updated_by": None, "comment_authors": [],
            }
        )  # fmt: skip
    out.write_text(json.dumps(exported, indent=1))
    return out


def _ls_annotation(
    annotation_id: int, user: int, vote: Vote, data: dict, task_id: int, likert: str = "rating"
) -> dict:
    if "sentence" in data and likert == "choices":
        result = [{"from_name": "likert", "to_name": "sentence", "type": "choices",
                   "value": {"choices": [vote.answer]}, "id": f"r{annotation_id}",
                   "origin": "manual"}] if vote.answer else []  # fmt: skip
    elif "sentence" in data:
        result = [{"from_name": "rating", "to_name": "sentence", "type": "rating",
                   "value": {"rating": int(vote.answer)}, "id": f"r{annotation_id}",
                   "origin": "manual"}] if vote.answer else []  # fmt: skip
    else:
        choice = {"left": "A", "right": "B"}.get(vote.answer)
        result = [{"from_name": "choice", "to_name": "ref", "type": "choices",
                   "value": {"choices": [choice]}, "id": f"r{annotation_id}",
                   "origin": "manual"}] if choice else []  # fmt: skip
    return {
        "id": annotation_id, "completed_by": user, "result": result, "was_cancelled": False,
        "ground_truth": False, "created_at": _stamp(annotation_id),
        "updated_at": _stamp(annotation_id),
        "draft_created_at": None, "lead_time": 3.2, "prediction": {}, "result_count": 1,
        "unique_id": f"u-{annotation_id}", "import_id": None, "last_action": None,
        "bulk_created": False, "task": task_id, "project": 1, "updated_by": user,
        "parent_prediction": None, "parent_annotation": None, "last_created_by": None,
    }  # fmt: skip


def mturk_results(
    export_dir: Path, votes: list[Vote], out: Path, rejected: frozenset[str] = frozenset()
) -> Path:
    """An MTurk batch results CSV: one row per (HIT, worker) of ``votes``; workers in
    ``rejected`` have their assignments Rejected."""
    hits = []
    for name in sorted(export_dir.glob("batch-*.csv")):
        with open(name, newline="") as handle:
            hits += list(csv.DictReader(handle))
    inputs = list(hits[0]) if hits else []
    kind = "nights" if "ref_1" in inputs else "timed"
    slots = [int(c.split("_")[1]) for c in inputs if c.startswith("item_")]
    buttons = [name for s in slots for name in button_names(kind, s).values()]
    header = MTURK_HEADER + [f"Input.{c}" for c in inputs]
    header += [f"Answer.{b}.on" for b in buttons] + ["Answer.round_id"]
    header += [f"Answer.item_{s}" for s in slots] + ["Approve", "Reject"]
    rows, serial, grouped = [], 0, _by_item(votes)
    for hit_number, hit in enumerate(hits, start=1):
        workers = sorted({v.worker for s in slots for v in grouped.get(hit[f"item_{s}"], [])})
        for worker in workers:
            serial += 1
            row = dict.fromkeys(header, "")
            row.update(
                HITId=f"3HIT{hit_number:06d}", HITTypeId="3TYPE0001", Title="webweave",
                MaxAssignments="3", AssignmentId=f"3ASSIGN{serial:06d}", WorkerId=worker,
                AssignmentStatus="Rejected" if worker in rejected else "Submitted",
                AcceptTime="Sun Dec 06 01:00:00 PST 2026",
                SubmitTime=f"Sun Dec 06 01:{serial // 60 % 60:02d}:{serial % 60:02d} PST 2026",
                WorkTimeInSeconds="42", LifetimeApprovalRate="100% (10/10)",
            )  # fmt: skip
            for column in inputs:
                row[f"Input.{column}"] = hit[column]
            row["Answer.round_id"] = hit["round_id"]
            for slot in slots:
                item = hit[f"item_{slot}"]
                row[f"Answer.item_{slot}"] = item
                answer = next((v.answer for v in grouped.get(item, []) if v.worker == worker), "")
                for value, name in button_names(kind, slot).items():
                    row[f"Answer.{name}.on"] = "true" if value == answer else "false"
            rows.append(row)
    with open(out, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, quoting=csv.QUOTE_ALL)
        writer.writeheader()
        writer.writerows(rows)
    return out


def groundtruth_output(
    export_dir: Path, votes: list[Vote], out: Path, attribute: str = "webweave-answer"
) -> Path:
    """A Ground Truth output manifest for the input manifests in ``export_dir``."""
    lines = []
    for name in sorted(export_dir.glob("input-*.manifest")):
        lines += [json.loads(t) for t in name.read_text().splitlines() if t.strip()]
    kind = "nights" if lines and "source-ref" in lines[0] else "timed"
    grouped = _by_item(votes)
    with open(out, "w") as handle:
        for line in lines:
            workers = []
            for vote in grouped.get(line["webweave-item"], []):
                content = {
                    name: {"on": value == vote.answer}
                    for value, name in button_names(kind, 1).items()
                }
                workers.append(
                    {"workerId": vote.worker, "annotationData": {"content": json.dumps(content)}}
                )
            output = {
                **line,
                attribute: {"annotationsFromAllWorkers": workers},
                f"{attribute}-metadata": {
                    "type": "groundtruth/custom", "job-name": "webweave-round",
                    "human-annotated": "yes", "creation-date": "2026-12-06T01:00:00.000000",
                },
            }  # fmt: skip
            handle.write(json.dumps(output) + "\n")
    return out
