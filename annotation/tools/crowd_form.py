"""The Crowd HTML Elements form shared by the MTurk and Ground Truth templates.

Each item of a page is a slot ``i`` with one ``<crowd-radio-group>``; every button has its
own ``name`` and ``value="on"``, so the form's output is ``{"slot1_A": {"on": true},
"slot1_B": {"on": false}}`` (AWS docs, crowd-radio-group: "an array of objects representing
the crowd-radio-button elements", e.g. ``[{"btn1": {"yes": true}, "btn2": {"no": false}}]``).
MTurk's ``answer-format="flatten-objects"`` turns that into results-CSV columns
``Answer.slot1_A.on`` = ``true`` / ``false``; Ground Truth keeps the JSON as each worker's
``annotationData.content``. Exactly one ``true`` per slot is an answer; anything else is an
``invalid_answer``.
"""

from __future__ import annotations

from html import escape

from webweave.annotation.answers import (
    CHOICE_TO_SIDE,
    LIKERT_VALUES,
    NIGHTS_QUESTION,
    TIMED_QUESTION,
)
from webweave.annotation.attention_checks import LIKERT_WORDS

CROWD_SCRIPT = '<script src="https://assets.crowd.aws/crowd-html-elements.js"></script>'

STYLE = """<style>
  .item { border-top: 1px solid #ccc; padding: 1em 0; }
  .images { display: flex; gap: 1em; }
  .images figure { margin: 0; text-align: center; }
  .images img { max-width: 300px; max-height: 300px; }
  .sentence { font-size: 1.2em; margin: 0.5em 0 1em; }
</style>"""


def button_names(kind: str, slot: int) -> dict[str, str]:
    """Answer value → the radio button's name in slot ``slot``."""
    if kind == "nights":
        return {side: f"slot{slot}_{choice}" for choice, side in CHOICE_TO_SIDE.items()}
    return {value: f"slot{slot}_score{value}" for value in LIKERT_VALUES}


def slot_html(kind: str, slot: int, fields: dict[str, str]) -> str:
    """One item's markup; ``fields`` maps ref/left/right or sentence to template expressions."""
    names = button_names(kind, slot)
    if kind == "nights":
        figures = "".join(
            f'<figure><img src="{fields[key]}" alt="{label}"><figcaption>{label}</figcaption>'
            "</figure>"
            for key, label in (("ref", "Reference"), ("left", "A"), ("right", "B"))
        )
        buttons = "".join(
            f'<crowd-radio-button name="{names[side]}" value="on">{label}</crowd-radio-button>'
            for side, label in (("left", "A"), ("right", "B"))
        )
        body = (
            f'<p class="question">{escape(NIGHTS_QUESTION)}</p><div class="images">{figures}</div>'
        )
    else:
        buttons = "".join(
            f'<crowd-radio-button name="{names[v]}" value="on">{v} – '
            f"{escape(LIKERT_WORDS[int(v)])}</crowd-radio-button>"
            for v in LIKERT_VALUES
        )
        body = (
            f'<p class="question">{escape(TIMED_QUESTION)}</p>'
            f'<p class="sentence">{fields["sentence"]}</p>'
        )
    return (
        f'<section class="item" id="item-{slot}">{body}'
        f"<crowd-radio-group>{buttons}</crowd-radio-group></section>"
    )


def answer_from_flags(kind: str, slot: int, flags: dict[str, bool]) -> str | None:
    """The one selected value of slot ``slot`` (``flags``: button name → selected), or None."""
    chosen = [value for value, name in button_names(kind, slot).items() if flags.get(name)]
    return chosen[0] if len(chosen) == 1 else None
