"""Amazon Mechanical Turk: batch input CSV + HTML question template out, batch results back.

- ``question.html``: a Crowd HTML Elements form (``crowd_form.py``) with ``items_per_hit``
  slots; every ``${variable}`` in it is a column of the batch CSV and every CSV column is used
  in it (MTurk substitutes the header names; one row = one HIT).
- ``batch-<n>.csv``: ``round_id, item_1, ref_1, left_1, right_1, item_2, …`` (``sentence_i``
  for TImeD), one file per number of assignments ``n`` (MaxAssignments is per batch). The
  last HIT of a batch is filled up with the batch's first items (their extra answers are
  counted like any other).
- results: the requester's batch results CSV, ``HITId, HITTypeId, …, AssignmentId, WorkerId,
  AssignmentStatus, AcceptTime, SubmitTime, …, Input.<col>…, Answer.<field>…, Approve,
  Reject``; ``answer-format="flatten-objects"`` makes the radio buttons
  ``Answer.slot<i>_<button>.on`` columns. Rejected assignments are counted, not used.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from webweave.annotation.answers import RawAnswer
from webweave.annotation.tools.base import (
    BadExport,
    ExportContents,
    ExportContext,
    batches_by_assignments,
)
from webweave.annotation.tools.crowd_form import (
    CROWD_SCRIPT,
    STYLE,
    answer_from_flags,
    button_names,
    slot_html,
)

TOOL = "mturk"
TEMPLATE_FILE = "question.html"
RESULT_COLUMNS = ("HITId", "AssignmentId", "WorkerId", "AssignmentStatus", "SubmitTime")
_VARIABLE = re.compile(r"\$\{([A-Za-z0-9_]+)\}")


def slot_columns(kind: str, slot: int) -> list[str]:
    content = ["ref", "left", "right"] if kind == "nights" else ["sentence"]
    return [f"item_{slot}"] + [f"{name}_{slot}" for name in content]


def csv_header(kind: str, items_per_hit: int) -> list[str]:
    columns = ["round_id"]
    for slot in range(1, items_per_hit + 1):
        columns += slot_columns(kind, slot)
    return columns


def template(kind: str, items_per_hit: int) -> str:
    """The HIT's HTML; ``${col}`` placeholders are the batch CSV's columns."""
    slots = []
    for slot in range(1, items_per_hit + 1):
        item, *content = slot_columns(kind, slot)
        fields = {name.rsplit("_", 1)[0]: f"${{{name}}}" for name in content}
        slots.append(
            f'<input type="hidden" name="{item}" value="${{{item}}}">'
            + slot_html(kind, slot, fields)
        )
    body = "\n  ".join(slots)
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>webweave annotation</title>
{CROWD_SCRIPT}
{STYLE}
</head><body>
<crowd-form answer-format="flatten-objects">
  <input type="hidden" name="round_id" value="${{round_id}}">
  {body}
</crowd-form>
</body></html>
"""


def template_variables(html: str) -> list[str]:
    """The ``${variables}`` of a template, in first-use order."""
    seen: dict[str, None] = {}
    for name in _VARIABLE.findall(html):
        seen.setdefault(name, None)
    return list(seen)


def export(ctx: ExportContext) -> list[dict]:
    kind, per_hit = ctx.round.kind, ctx.rounds.items_per_hit
    (ctx.out / TEMPLATE_FILE).write_text(template(kind, per_hit), encoding="utf-8")
    batches = []
    for assignments, items in batches_by_assignments(ctx.items):
        name = f"batch-{assignments}.csv"
        hits = [
            _hit_row(ctx, _page(items, start, per_hit)) for start in range(0, len(items), per_hit)
        ]
        with open(ctx.out / name, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=csv_header(kind, per_hit))
            writer.writeheader()
            writer.writerows(hits)
        batches.append(
            {"file": name, "assignments": assignments, "items": len(items), "tasks": len(hits)}
        )
    return batches


def _page(items: list[dict], start: int, size: int) -> list[dict]:
    page = items[start : start + size]
    return page + [items[i % len(items)] for i in range(size - len(page))]


def _hit_row(ctx: ExportContext, page: list[dict]) -> dict:
    row = {"round_id": ctx.round.round_id}
    for slot, item in enumerate(page, start=1):
        row[f"item_{slot}"] = item["item_id"]
        if ctx.round.kind == "nights":
            for key in ("ref", "left", "right"):
                row[f"{key}_{slot}"] = ctx.images.to_value(item[f"{key}_image"])
        else:
            row[f"sentence_{slot}"] = item["sentence"]
    return row


def recognises(path: Path, head: bytes) -> bool:
    first = head.decode("utf-8", "replace").lstrip("\ufeff").splitlines()[:1]
    return bool(first) and all(
        f'"{c}"' in first[0] or c in first[0].split(",") for c in RESULT_COLUMNS[:3]
    )


def read(path: Path, kind: str) -> ExportContents:
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        missing = [c for c in (*RESULT_COLUMNS, "Input.round_id") if c not in header]
        if missing:
            raise BadExport(
                f"{path.name}: not an MTurk batch results CSV of webweave (no {missing[0]})"
            )
        slots = sorted(
            int(c.rsplit("_", 1)[1]) for c in header if re.fullmatch(r"Input\.item_\d+", c)
        )
        wanted = "Input.ref_1" if kind == "nights" else "Input.sentence_1"
        if wanted not in header:
            other = "timed" if kind == "nights" else "nights"
            raise BadExport(f"{path.name}: holds {other} HITs, the round is a {kind} round")
        answers = [_answer(path, row, kind, slot) for row in reader for slot in slots]
    return ExportContents([(a.round_id, a.item_id) for a in answers], answers)


def _answer(path: Path, row: dict, kind: str, slot: int) -> RawAnswer:
    flags = {
        name: str(row.get(f"Answer.{name}.on", "")).strip().lower() == "true"
        for name in button_names(kind, slot).values()
    }
    value = answer_from_flags(kind, slot, flags)
    status = None if value is not None else "invalid_answer"
    if row["AssignmentStatus"].strip() == "Rejected":
        status = "rejected"
    return RawAnswer(
        tool=TOOL,
        source_file=path.name,
        round_id=row["Input.round_id"],
        item_id=row[f"Input.item_{slot}"],
        worker_id=f"mturk:{row['WorkerId']}",
        answer_id=f"mturk:{row['AssignmentId']}:{slot}",
        answer=value,
        submitted_at=row.get("SubmitTime") or None,
        tool_status=status,
    )
