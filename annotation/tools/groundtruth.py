"""Amazon SageMaker Ground Truth (custom workflow): input manifest out, output manifest back.

AWS no longer opens Ground Truth to new customers (docs); webweave supports it as a format.

- ``input-<n>.manifest``: JSON Lines, one data object per item (``n`` = workers per object,
  a job-level setting). A triplet line has ``source-ref`` (the reference, ``s3://``) plus
  ``webweave-left`` / ``webweave-right``; a sentence line has ``source`` (inline text). Every
  line carries ``webweave-round`` and ``webweave-item``; extra keys pass through to the output.
- ``worker-template.liquid.html``: the Crowd HTML form (``crowd_form.py``, one slot) reading
  ``task.input`` as the pre-annotation Lambda of ``lambdas.py`` builds it.
- ``lambdas.py``: the pre-annotation Lambda (data object → ``taskInput``) and the
  annotation-consolidation Lambda that keeps every worker's answer, as AWS's sample does:
  ``{"<label attribute>": {"annotationsFromAllWorkers": [{"workerId", "annotationData":
  {"content": "<form JSON>"}}]}}``.
- output manifest (read back): the input line plus ``"<label attribute>"`` (as above) and
  ``"<label attribute>-metadata"`` (``type``, ``job-name``, ``human-annotated``,
  ``creation-date``, …).
"""

from __future__ import annotations

import json
from pathlib import Path

from webweave.annotation.answers import RawAnswer
from webweave.annotation.tools.base import (
    BadExport,
    ExportContents,
    ExportContext,
    batches_by_assignments,
)
from webweave.annotation.tools.crowd_form import CROWD_SCRIPT, STYLE, answer_from_flags, slot_html

TOOL = "groundtruth"
TEMPLATE_FILE = "worker-template.liquid.html"
LAMBDAS_FILE = "lambdas.py"
ITEM_KEY, ROUND_KEY = "webweave-item", "webweave-round"

LAMBDAS = '''"""Ground Truth Lambdas for a webweave round (deploy both; Python 3.11 runtime).

pre_annotation: the manifest line (event["dataObject"]) -> the template's task.input.
consolidation: keeps every worker's answer (AWS's sample "annotationsFromAllWorkers"), which
`webweave rounds ingest` reads from the output manifest.
"""

import json


def pre_annotation(event, context):
    line = event["dataObject"]
    if "source-ref" in line:
        task = {"ref": line["source-ref"], "left": line["webweave-left"],
                "right": line["webweave-right"]}
    else:
        task = {"sentence": line["source"]}
    return {"taskInput": task, "isHumanAnnotationRequired": "true"}


def consolidation(event, context):
    payload = event["payload"]
    if "s3Uri" in payload:  # large payloads arrive by reference
        import boto3

        bucket, _, key = payload["s3Uri"][len("s3://"):].partition("/")
        body = boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
        payload = json.loads(body)
    name = event["labelAttributeName"]
    return [
        {
            "datasetObjectId": obj["datasetObjectId"],
            "consolidatedAnnotation": {
                "content": {name: {"annotationsFromAllWorkers": obj["annotations"]}}
            },
        }
        for obj in payload
    ]
'''


def template(kind: str) -> str:
    if kind == "nights":
        fields = {
            k: f"{{{{ task.input.{k} | grant_read_access }}}}" for k in ("ref", "left", "right")
        }
    else:
        fields = {"sentence": "{{ task.input.sentence | escape }}"}
    return f"""{CROWD_SCRIPT}
{STYLE}
<crowd-form>
  {slot_html(kind, 1, fields)}
</crowd-form>
"""


def manifest_line(ctx: ExportContext, item: dict) -> dict:
    line: dict = {}
    if ctx.round.kind == "nights":
        line["source-ref"] = ctx.images.to_value(item["ref_image"])
        line["webweave-left"] = ctx.images.to_value(item["left_image"])
        line["webweave-right"] = ctx.images.to_value(item["right_image"])
    else:
        line["source"] = item["sentence"]
    line[ROUND_KEY] = ctx.round.round_id
    line[ITEM_KEY] = item["item_id"]
    return line


def export(ctx: ExportContext) -> list[dict]:
    (ctx.out / TEMPLATE_FILE).write_text(template(ctx.round.kind), encoding="utf-8")
    (ctx.out / LAMBDAS_FILE).write_text(LAMBDAS, encoding="utf-8")
    batches = []
    for assignments, items in batches_by_assignments(ctx.items):
        name = f"input-{assignments}.manifest"
        with open(ctx.out / name, "w", encoding="utf-8") as handle:
            for item in items:
                handle.write(json.dumps(manifest_line(ctx, item), ensure_ascii=False) + "\n")
        batches.append(
            {"file": name, "assignments": assignments, "items": len(items), "tasks": len(items)}
        )
    return batches


def recognises(path: Path, head: bytes) -> bool:
    first = head.lstrip().split(b"\n", 1)[0]
    return first[:1] == b"{" and (ITEM_KEY.encode() in first or b'"source' in first)


def read(path: Path, kind: str) -> ExportContents:
    refs, answers = [], []
    with open(path, encoding="utf-8") as handle:
        for number, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                line = json.loads(text)
            except json.JSONDecodeError as error:
                raise BadExport(f"{path.name} line {number}: not JSON ({error.msg})") from None
            answers.extend(_line_answers(path, number, line, kind))
            refs.append((str(line[ROUND_KEY]), str(line[ITEM_KEY])))
    return ExportContents(refs, answers)


def _line_answers(path: Path, number: int, line: dict, kind: str) -> list[RawAnswer]:
    if ITEM_KEY not in line or ROUND_KEY not in line:
        raise BadExport(f"{path.name} line {number}: not a webweave data object (no {ITEM_KEY})")
    line_kind = "nights" if "source-ref" in line else "timed" if "source" in line else "unknown"
    if line_kind != kind:
        raise BadExport(f"{path.name}: holds {line_kind} objects, the round is a {kind} round")
    labels = [
        (key, value)
        for key, value in line.items()
        if isinstance(value, dict) and "annotationsFromAllWorkers" in value
    ]
    if len(labels) != 1:
        raise BadExport(
            f"{path.name} line {number}: expected one label attribute with "
            "annotationsFromAllWorkers (the consolidation Lambda of lambdas.py)"
        )
    attribute, label = labels[0]
    created = (line.get(f"{attribute}-metadata") or {}).get("creation-date")
    answers = []
    for worker in label["annotationsFromAllWorkers"]:
        flags = _flags(worker.get("annotationData", {}).get("content"))
        value = answer_from_flags(kind, 1, flags)
        answers.append(
            RawAnswer(
                tool=TOOL,
                source_file=path.name,
                round_id=str(line[ROUND_KEY]),
                item_id=str(line[ITEM_KEY]),
                worker_id=f"gt:{worker['workerId']}",
                answer_id=f"gt:{line[ITEM_KEY]}:{worker['workerId']}",
                answer=value,
                submitted_at=created,
                tool_status=None if value is not None else "invalid_answer",
            )
        )
    return answers


def _flags(content) -> dict[str, bool]:
    """Button name → selected, from the form output (a JSON string, object or list)."""
    if isinstance(content, str):
        try:
            content = json.loads(content)
        except json.JSONDecodeError:
            return {}
    parts = content if isinstance(content, list) else [content]
    flags = {}
    for part in parts:
        if isinstance(part, dict):
            for name, value in part.items():
                flags[name] = isinstance(value, dict) and value.get("on") is True
    return flags
