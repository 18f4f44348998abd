"""Sentences of a document's text, with a real multilingual splitter (pysbd).

pysbd ("Python Sentence Boundary Disambiguation", a port of the Golden Rules segmenter) knows
abbreviations, initials, numbers and quotes in 23 languages and needs no model download
(TImeD used NLTK's punkt, which must be downloaded). A document's language is its fastText
label (``general_metadata.language``) when pysbd knows it, else ``timed.default_language``.
Text nodes are first cut into paragraphs at blank lines (webweave keeps paragraphs of one text
node joined by "\\n\\n"), so a sentence never spans two paragraphs.
"""

from __future__ import annotations

import importlib.metadata
import re
from functools import cache

import pysbd
from pysbd.languages import LANGUAGE_CODES

SPLITTER = f"pysbd {importlib.metadata.version('pysbd')}"
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


def splitter_language(language: str | None, default: str) -> str:
    """The pysbd language for a document language code (``en``, ``de``, ``zh``…)."""
    code = (language or "").removeprefix("__label__").split("_")[0].split("-")[0].lower()
    return code if code in LANGUAGE_CODES else default


@cache
def _segmenter(language: str) -> pysbd.Segmenter:
    return pysbd.Segmenter(language=language, clean=False)


def split_sentences(text: str, language: str) -> list[str]:
    """Sentences of ``text`` in order, stripped, empty ones left out."""
    sentences = []
    for paragraph in _PARAGRAPH_BREAK.split(text):
        if paragraph.strip():
            for sentence in _segmenter(language).segment(paragraph):
                if sentence.strip():
                    sentences.append(sentence.strip())
    return sentences
