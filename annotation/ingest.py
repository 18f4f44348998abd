"""``webweave rounds ingest``: a round's answers from tool exports → the next round + a report.

1. **Read** every export with its tool's reader (the tool is recognised from the file). An
   export that names a task of another round, an item the round does not have, or a task of
   the other study kind is refused before anything is written. Answers seen twice (same
   answer id: an export given twice, or two overlapping downloads) count once. Answers are
   then ordered by submission time and id, so the result does not depend on file order.
2. **Judge** each answer (``schemas/round_votes.py`` statuses): the tool's own verdict
   (cancelled, rejected, unreadable), workers discarded in an earlier round, then attention
   checks: a worker who answered any check wrongly loses every answer of this round; a
   worker's second answer to the same item is not counted.
3. **Advance** the study (``nights_rounds.py``: unanimity; ``timed_rounds.py``: 9 ratings,
   labels, re-queue) and write the next round with ``votes.parquet`` and ``report.json``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from webweave.annotation.answers import ANSWER_VALUES, RawAnswer
from webweave.annotation.config import AnnotationConfig
from webweave.annotation.output_folder import file_fingerprint
from webweave.annotation.round_dir import (
    ITEM_SCHEMAS,
    ITEMS_FILE,
    REPORT_FILE,
    ROUND_FILE,
    VOTES_FILE,
    Round,
    RoundError,
    chain,
    link,
    round_record,
    write_config,
    write_json,
    write_table,
)
from webweave.annotation.tools import TOOLS, detect_tool
from webweave.annotation.tools.base import BadExport
from webweave.schemas import round_report, round_votes
from webweave.schemas.json_records import stamped

COMMAND = "rounds ingest"


@dataclass
class Judged:
    """An answer and what ingest decided about it (``status``: valid or the reason)."""

    raw: RawAnswer
    is_check: bool
    status: str
    correct: bool | None = None


@dataclass(frozen=True)
class ReadExports:
    answers: list[RawAnswer]
    duplicates: int
    exports: list[dict]


@dataclass(frozen=True)
class Advance:
    """What a study module decided for the next round."""

    next_items: list[dict]
    item_counts: dict[str, int]
    stop_reason: str | None
    survival_rate: float | None
    agreement: dict
    labels: dict[str, int]
    splits: dict[str, int]


def read_exports(round_: Round, item_ids: set[str], paths: list[Path]) -> ReadExports:
    """Every answer of ``paths`` that belongs to ``round_`` (anything else is BadExport)."""
    seen: dict[str, RawAnswer] = {}
    duplicates = 0
    exports = []
    for path in paths:
        if not path.is_file():
            raise BadExport(f"{path} is not a file")
        tool = detect_tool(path)
        contents = TOOLS[tool].read(path, round_.kind)
        _check_membership(path, tool, contents.tasks, round_, item_ids)
        for answer in contents.answers:
            if answer.answer_id in seen:
                duplicates += 1
            else:
                seen[answer.answer_id] = answer
        exports.append(
            {
                "file": path.name,
                "tool": tool,
                "sha256": file_fingerprint(path),
                "tasks": len(contents.tasks),
                "answers": len(contents.answers),
            }
        )
    ordered = sorted(seen.values(), key=lambda a: (a.submitted_at or "", a.answer_id))
    return ReadExports(ordered, duplicates, exports)


def _check_membership(
    path: Path, tool: str, tasks: list[tuple[str, str]], round_: Round, item_ids: set[str]
) -> None:
    foreign = sorted({r for r, _ in tasks if r != round_.round_id})
    if foreign:
        raise BadExport(
            f"{path.name} ({tool}) holds tasks of round {foreign[0]}, not of round "
            f"{round_.round_id} ({round_.folder}); nothing was written"
        )
    unknown = sorted({i for _, i in tasks if i not in item_ids})
    if unknown:
        raise BadExport(
            f"{path.name} ({tool}): {len(unknown)} task id(s) that round {round_.round_id} "
            f"does not have (first: {unknown[0]}); nothing was written"
        )


def judge(
    answers: list[RawAnswer], items: dict[str, dict], kind: str, blocked: set[str]
) -> tuple[list[Judged], list[dict]]:
    """Statuses for every answer, and one report row per worker (see the module docstring)."""
    judged = []
    for raw in answers:
        item = items[raw.item_id]
        status = raw.tool_status or (
            "invalid_answer" if raw.answer not in ANSWER_VALUES[kind] else ""
        )
        if not status and raw.worker_id in blocked:
            status = "worker_failed_earlier"
        entry = Judged(raw, item["is_check"], status)
        if item["is_check"] and not status:
            entry.correct = raw.answer == item["expected"]
        judged.append(entry)
    failed = {j.raw.worker_id for j in judged if j.correct is False}
    answered: set[tuple[str, str]] = set()
    for entry in judged:
        if entry.status:
            continue
        key = (entry.raw.worker_id, entry.raw.item_id)
        if entry.raw.worker_id in failed:
            entry.status = "worker_failed_check"
        elif key in answered:
            entry.status = "repeat_by_worker"
            entry.correct = None
        else:
            answered.add(key)
            entry.status = "valid"
    return judged, _worker_rows(judged, failed, blocked)


def _worker_rows(judged: list[Judged], failed: set[str], blocked: set[str]) -> list[dict]:
    per_worker: dict[str, list[Judged]] = defaultdict(list)
    for entry in judged:
        per_worker[entry.raw.worker_id].append(entry)
    rows = []
    for worker, entries in sorted(per_worker.items()):
        checks = [e for e in entries if e.correct is not None]
        correct = sum(bool(e.correct) for e in checks)
        reason = (
            "failed_check" if worker in failed else "failed_earlier" if worker in blocked else None
        )
        rows.append(
            {
                "worker_id": worker,
                "answers": len(entries),
                "checks_answered": len(checks),
                "checks_correct": correct,
                "check_accuracy": correct / len(checks) if checks else None,
                "discarded": reason is not None,
                "discard_reason": reason,
            }
        )
    return rows


def blocked_workers(rounds: list[Round]) -> set[str]:
    """Workers discarded for a failed check in any earlier round of the chain."""
    blocked = set()
    for earlier in rounds:
        report = earlier.json(REPORT_FILE)
        if report:
            blocked |= {w["worker_id"] for w in report["workers"] if w["discarded"]}
    return blocked


def ingest_round(
    round_: Round,
    paths: list[Path],
    config: AnnotationConfig,
    folder: Path,
    final: Path,
    next_round_id: str,
) -> dict:
    """Write the next round into ``folder`` (its final place is ``final``); return the report."""
    if not round_.is_open:
        raise RoundError(
            f"{round_.folder} is stopped ({round_.info['stop_reason']}): its answers were "
            "already ingested; finalize it"
        )
    items = round_.items().to_pylist()
    by_id = {item["item_id"]: item for item in items}
    rounds = chain(round_)
    read = read_exports(round_, set(by_id), paths)
    judged, workers = judge(read.answers, by_id, round_.kind, blocked_workers(rounds))
    advance = _advance(round_, rounds, items, judged, config, folder)

    write_table(folder / VOTES_FILE, _vote_rows(round_.number, judged), round_votes.SCHEMA)
    write_table(folder / ITEMS_FILE, advance.next_items, ITEM_SCHEMAS[round_.kind])
    status = "stopped" if advance.stop_reason else "open"
    real = sum(not i["is_check"] for i in advance.next_items)
    checks = len(advance.next_items) - real
    write_json(
        folder / ROUND_FILE,
        round_record(
            kind=round_.kind,
            round=round_.number + 1,
            round_id=next_round_id,
            parent=link(final, round_),
            root=link(final, round_.root()),
            status=status,
            stop_reason=advance.stop_reason,
            seed=round_.seed,
            created_by=COMMAND,
            items=real,
            checks=checks,
            assignments=sum(i["assignments"] for i in advance.next_items),
        ),
    )
    write_config(folder, config.to_dict())
    not_counted = Counter(j.status for j in judged if j.status != "valid")
    valid = sum(j.status == "valid" for j in judged)
    read_total = sum(e["answers"] for e in read.exports)
    report = stamped(
        {
            "kind": round_.kind,
            "round": round_.number,
            "round_id": round_.round_id,
            "exports": read.exports,
            "answers_read": read_total,
            "answers_duplicate": read.duplicates,
            "answers_valid": valid,
            "answers_not_counted": dict(sorted(not_counted.items())),
            "answers_funnel_closes": read_total
            == valid + sum(not_counted.values()) + read.duplicates,
            "workers": workers,
            "items": advance.item_counts,
            "survival_rate": advance.survival_rate,
            "agreement": advance.agreement,
            "labels": advance.labels,
            "splits": advance.splits,
            "next": {
                "round": round_.number + 1,
                "round_id": next_round_id,
                "status": status,
                "stop_reason": advance.stop_reason,
                "items": real,
                "checks": checks,
            },
        },
        round_report.SCHEMA,
    )
    write_json(folder / REPORT_FILE, report)
    return report


def _advance(
    round_: Round,
    rounds: list[Round],
    items: list[dict],
    judged: list[Judged],
    config: AnnotationConfig,
    folder: Path,
) -> Advance:
    if round_.kind == "nights":
        from webweave.annotation.nights_rounds import advance_nights

        return advance_nights(round_, items, judged, config)
    from webweave.annotation.timed_rounds import advance_timed

    return advance_timed(round_, rounds, items, judged, config, folder)


def _vote_rows(round_number: int, judged: list[Judged]) -> list[dict]:
    return [
        {
            "round": round_number,
            "item_id": j.raw.item_id,
            "is_check": j.is_check,
            "worker_id": j.raw.worker_id,
            "tool": j.raw.tool,
            "answer_id": j.raw.answer_id,
            "answer": j.raw.answer,
            "submitted_at": j.raw.submitted_at,
            "status": j.status,
            "correct": j.correct,
            "source_file": j.raw.source_file,
        }
        for j in judged
    ]
