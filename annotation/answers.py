"""One rater's answer to one item, as every tool's reader returns it.

Tools differ in files and field names; after reading, an answer is the same record: which
round and item it belongs to, who gave it, its value in webweave's vocabulary (``left`` /
``right`` for a 2AFC triplet, ``"1"``..``"7"`` for the Likert scale) and an id unique within
the tool, so reading the same export twice counts every answer once.

Raters see options A (left) and B (right), as in the NIGHTS question "Which image, A or B, is
most similar to the reference?"; readers translate back to left / right.
"""

from __future__ import annotations

from dataclasses import dataclass

NIGHTS_QUESTION = "Which image, A or B, is most similar to the reference?"
TIMED_QUESTION = "Do you agree that the sentence below evokes an image or picture in your mind?"
TIMED_SCALE = "1 = strongly disagree … 7 = strongly agree"

CHOICE_TO_SIDE = {"A": "left", "B": "right"}
SIDE_TO_CHOICE = {side: choice for choice, side in CHOICE_TO_SIDE.items()}
LIKERT_VALUES = tuple(str(v) for v in range(1, 8))
ANSWER_VALUES = {"nights": frozenset(CHOICE_TO_SIDE.values()), "timed": frozenset(LIKERT_VALUES)}


@dataclass(frozen=True)
class RawAnswer:
    """An answer as read from an export, before webweave judges it."""

    tool: str  # labelstudio | mturk | groundtruth
    source_file: str
    round_id: str
    item_id: str
    worker_id: str  # prefixed by the tool: ls:3, mturk:A1B2…, gt:private.us-east-1.…
    answer_id: str  # unique within the tool
    answer: str | None  # left | right | "1".."7"; None when the rater gave none
    submitted_at: str | None
    tool_status: str | None = None  # cancelled | rejected | invalid_answer (None = fine)
