"""Label Studio: tasks JSON + labelling config out, the JSON export back in.

Formats (reference label_studio.md, verified on label-studio 1.23.2 with its own server):

- import: a JSON list of ``{"data": {...}}`` whose keys match the config's ``$variables``;
  webweave adds ``item_id`` and ``round_id`` to every task's data, and they come back in the
  export, so answers are mapped to items without trusting Label Studio's task ids;
- 2AFC config: the three images and ``<Choices name="choice" toName="ref">`` with ``A`` (left)
  and ``B`` (right); result ``{"from_name": "choice", "type": "choices", "value":
  {"choices": ["A"]}}``;
- 7-point config: ``<Text name="sentence">`` plus ``<Rating name="rating" maxRating="7">``
  (``{"type": "rating", "value": {"rating": 5}}``) or seven ``<Choice>`` values "1".."7" in
  ``<Choices name="likert">`` (``rounds.likert_widget``);
- export (``exportType=JSON``): the task list again, each with ``annotations`` (``id``,
  ``completed_by`` — an integer user id —, ``result``, ``was_cancelled``, ``created_at``).

The server does not validate results against the config (a ``"Bogus"`` choice is stored), so
an unreadable result is an ``invalid_answer``, counted, never guessed.
"""

from __future__ import annotations

import json
from pathlib import Path
from xml.sax.saxutils import quoteattr

from webweave.annotation.answers import (
    CHOICE_TO_SIDE,
    LIKERT_VALUES,
    NIGHTS_QUESTION,
    TIMED_QUESTION,
    TIMED_SCALE,
    RawAnswer,
)
from webweave.annotation.attention_checks import LIKERT_WORDS
from webweave.annotation.tools.base import (
    BadExport,
    ExportContents,
    ExportContext,
    batches_by_assignments,
)

TOOL = "labelstudio"
CONFIG_FILE = "label_config.xml"


def label_config(kind: str, likert_widget: str = "rating") -> str:
    """The labelling config XML of a round kind."""
    if kind == "nights":
        return f"""<View>
  <Header value={quoteattr(NIGHTS_QUESTION)}/>
  <View style="display: flex; gap: 1em;">
    <View><Header value="Reference" size="5"/>
      <Image name="ref" value="$ref" maxWidth="320px"/></View>
    <View><Header value="A" size="5"/><Image name="left" value="$left" maxWidth="320px"/></View>
    <View><Header value="B" size="5"/><Image name="right" value="$right" maxWidth="320px"/></View>
  </View>
  <Choices name="choice" toName="ref" choice="single" required="true" showInline="true">
    <Choice value="A"/>
    <Choice value="B"/>
  </Choices>
</View>
"""
    if likert_widget == "rating":
        widget = '  <Rating name="rating" toName="sentence" maxRating="7" required="true"/>\n'
    else:
        choices = "".join(
            f'    <Choice value="{v}" hint={quoteattr(LIKERT_WORDS[int(v)])}/>\n'
            for v in LIKERT_VALUES
        )
        widget = (
            '  <Choices name="likert" toName="sentence" choice="single" required="true" '
            f'showInline="true">\n{choices}  </Choices>\n'
        )
    return f"""<View>
  <Header value={quoteattr(TIMED_QUESTION)}/>
  <Text name="sentence" value="$sentence"/>
  <Header value={quoteattr(TIMED_SCALE)} size="6"/>
{widget}</View>
"""


def task_data(ctx: ExportContext, item: dict) -> dict:
    data = {"item_id": item["item_id"], "round_id": ctx.round.round_id}
    if ctx.round.kind == "nights":
        for key, column in (("ref", "ref_image"), ("left", "left_image"), ("right", "right_image")):
            data[key] = ctx.images.to_value(item[column])
    else:
        data["sentence"] = item["sentence"]
    return data


def export(ctx: ExportContext) -> list[dict]:
    """Write the config and one tasks file per answer count; return the batches."""
    (ctx.out / CONFIG_FILE).write_text(label_config(ctx.round.kind, ctx.rounds.likert_widget))
    batches = []
    for assignments, items in batches_by_assignments(ctx.items):
        name = f"tasks-{assignments}.json"
        tasks = [{"data": task_data(ctx, item)} for item in items]
        with open(ctx.out / name, "w", encoding="utf-8") as handle:
            json.dump(tasks, handle, ensure_ascii=False, indent=1)
        batches.append(
            {"file": name, "assignments": assignments, "items": len(items), "tasks": len(tasks)}
        )
    return batches


def recognises(path: Path, head: bytes) -> bool:
    return path.suffix.lower() == ".json" and head.lstrip()[:1] == b"["


def read(path: Path, kind: str) -> ExportContents:
    try:
        with open(path, encoding="utf-8") as handle:
            tasks = json.load(handle)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise BadExport(f"{path.name}: not a Label Studio JSON export ({error})") from None
    if not isinstance(tasks, list):
        raise BadExport(f"{path.name}: a Label Studio JSON export is a list of tasks")
    refs, answers = [], []
    for task in tasks:
        if not isinstance(task, dict) or "data" not in task or "annotations" not in task:
            hint = " (JSON_MIN? export with exportType=JSON)" if isinstance(task, dict) else ""
            raise BadExport(f"{path.name}: not a Label Studio JSON export{hint}")
        data = task["data"]
        _check_kind(path, data, kind)
        refs.append((str(data["round_id"]), str(data["item_id"])))
        for annotation in task["annotations"]:
            answers.append(_answer(path, data, annotation, kind))
    return ExportContents(refs, answers)


def _check_kind(path: Path, data: dict, kind: str) -> None:
    if "item_id" not in data or "round_id" not in data:
        raise BadExport(f"{path.name}: task {data!r:.80} was not exported by webweave (no item_id)")
    task_kind = "nights" if "ref" in data else "timed" if "sentence" in data else "unknown"
    if task_kind != kind:
        raise BadExport(f"{path.name}: holds {task_kind} tasks, the round is a {kind} round")


def _answer(path: Path, data: dict, annotation: dict, kind: str) -> RawAnswer:
    worker = annotation.get("completed_by")
    if isinstance(worker, dict):  # some export paths expand the user
        worker = worker.get("id", worker.get("email"))
    value, status = _value(annotation.get("result") or [], kind)
    if annotation.get("was_cancelled"):
        status = "cancelled"
    return RawAnswer(
        tool=TOOL,
        source_file=path.name,
        round_id=str(data["round_id"]),
        item_id=str(data["item_id"]),
        worker_id=f"ls:{worker}",
        answer_id=f"ls:{annotation['id']}",
        answer=value,
        submitted_at=annotation.get("created_at"),
        tool_status=status,
    )


def _value(result: list[dict], kind: str) -> tuple[str | None, str | None]:
    """webweave's answer in a result list, or (None, "invalid_answer")."""
    for region in result:
        value = region.get("value") or {}
        name = region.get("from_name")
        if kind == "nights" and name == "choice":
            side = CHOICE_TO_SIDE.get(_single(value.get("choices")))
            return (side, None) if side else (None, "invalid_answer")
        if kind == "timed" and name == "rating" and region.get("type") == "rating":
            rating = str(value.get("rating"))
            return (rating, None) if rating in LIKERT_VALUES else (None, "invalid_answer")
        if kind == "timed" and name == "likert":
            choice = _single(value.get("choices"))
            return (choice, None) if choice in LIKERT_VALUES else (None, "invalid_answer")
    return None, "invalid_answer"


def _single(choices) -> str | None:
    return choices[0] if isinstance(choices, list) and len(choices) == 1 else None
