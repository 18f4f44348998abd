"""What the run's configuration does with each score, as the report draws it: derived from the
text filters' rule table (``webweave.filters.text.rules``), never restated here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from webweave.filters.text.rules import DOCUMENT, PARAGRAPH, RuleSet
from webweave.pipelines.config import Config


@dataclass(frozen=True)
class Line:
    """A vertical line on a histogram: a rule's bound ("min"/"max") or context ("info")."""

    side: str
    value: float
    text: str = ""  # the label of an "info" line

    def label(self) -> str:
        return f"{self.text or self.side} {fmt(self.value)}"


@dataclass(frozen=True)
class ScoreRule:
    """What the configuration does with one score: its bounds, whether it applies, and why."""

    lines: tuple[Line, ...] = ()
    enabled: bool = False
    reason: str | None = None
    note: str = ""

    def bound(self, side: str) -> float | None:
        return next((line.value for line in self.lines if line.side == side), None)


def fmt(value: Any) -> str:
    """Numbers as a person writes them in config.yaml (0.275, 2000), so they can be searched."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return f"{int(value):,}" if abs(value) >= 10_000 else str(int(value))
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def score_rules(config: Config, level: str) -> dict[str, ScoreRule]:
    """ScoreRule per score of ``level`` (paragraph or document), from ``config``'s thresholds."""
    filters = config.text_filters
    thresholds = filters.paragraph if level == PARAGRAPH else filters.document
    rules = RuleSet(level, thresholds)
    out: dict[str, ScoreRule] = {}
    for rule in rules.rules:
        lines = tuple(
            Line(side, rule.bound(thresholds, key))
            for side, key in (("min", rule.low), ("max", rule.high))
            if key is not None
        )
        note, enabled = "", rules.enabled(rule)
        if rule.language_rule:
            note = f"the rule also needs the language in {list(thresholds.languages)}"
        if rule.short_text_bypass and thresholds.punctuation_min_tokens > 0:
            note = (
                f"{level}s with 1..{thresholds.punctuation_min_tokens - 1} tokens pass (ratio "
                "counts as 1.0); the fractions in the title account for it"
            )
        if rule.reason == "quality" and filters.quality.model is None:
            note, enabled = "not applied: no text_filters.quality.model", False
        out[rule.score] = ScoreRule(lines, enabled, rule.reason, note)
    if thresholds.punctuation_min_tokens > 0:
        out["punctuation_tokens"] = ScoreRule(
            (Line("info", thresholds.punctuation_min_tokens, "ratio checked from"),),
            thresholds.check_punctuation,
            None,
            "below this many tokens the punctuation ratio counts as 1.0 (OBELICS)",
        )
    return out


def document_rules(config: Config) -> dict[str, ScoreRule]:
    return score_rules(config, DOCUMENT)


def paragraph_rules(config: Config) -> dict[str, ScoreRule]:
    return score_rules(config, PARAGRAPH)
