"""The web text of a pair: its alt text, else the nearest paragraph (issue #13).

``text_sources`` orders the ``pairs`` columns to try (default ``alt_text``, ``text_after``,
``text_before``); the first non-blank one is the web text and its column name is recorded.
A pair with none keeps only synthetic captions (source ``none``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

NO_TEXT = "none"


def web_text(pair: Mapping, sources: Sequence[str]) -> tuple[str | None, str]:
    """(text, source column) of the first non-blank source, or (None, ``none``)."""
    for source in sources:
        text = pair.get(source)
        if text is not None and text.strip():
            return text.strip(), source
    return None, NO_TEXT
