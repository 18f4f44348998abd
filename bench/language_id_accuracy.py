"""Language ID accuracy per model on the langid.py test texts, and its cost per text.

Models measured: the packaged lid.176.ftz (the default, always), every ``--model PATH``, and
every ``*.bin`` / ``*.ftz`` file in ``--models-dir`` (default: ``models/`` at the repository
root, if it exists): lid.176.bin, GlotLID, OpenLID or any other fastText LID model. Each runs
as ``webweave run`` runs it (``LanguageIdentifier``: OBELICS preprocessing, labels normalised
to lid.176's codes), on the whole text of each file.

Texts: ``text/langid_py_tests`` of the fixtures (``$WEBWEAVE_FIXTURES``, else
``../shared/fixtures``), one text per file, labelled by the file name's first part
(``labelled_code``), the "#" header removed (``text_body``). Files whose header says they were
"mechanically converted" to another script are left out for every model: machine
transliterations, not text anyone wrote (2 Kazakh files). A model is scored on the files whose
language it labels; a prediction is right when it is the label or an individual language of
the labelled macrolanguage (``same_language``: "azb" for the Arabic-script "az" file). With
several models, the accuracy on the files every model labels is printed too, so they compare
on the same texts.

Cost: best of ``--rounds`` passes over all texts, in ms per text and per 1,000 characters
(the texts average ~3,200 characters; the pipeline reads at most ``language_id_max_chars``).

    .venv/bin/python bench/language_id_accuracy.py [--model PATH ...] [--models-dir DIR]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from webweave.filters.text.language_id import (
    LanguageIdentifier,
    packaged_model_path,
    same_language,
    to_lid176_code,
)

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(os.environ.get("WEBWEAVE_FIXTURES", REPO.parent / "shared" / "fixtures"))
TEXTS = "text/langid_py_tests"
TRANSLITERATED = "mechanically converted"  # header mark of machine transliterations


def labelled_code(filename: str) -> str:
    """The ISO code a langid.py test file is labelled with, spelt as lid.176 spells it.

    The name starts with the code and a ".". A "_" before the "." is langid.py's mark for
    "not recognised by langid.py's own model", not part of the code (ast_, ceb_, nah_ ... are
    lid.176 labels), so it is dropped; "nb" becomes lid.176's "no".
    """
    return to_lid176_code(filename.split(".")[0].rstrip("_"))


def text_body(raw: str) -> str:
    """The labelled text without the file's "#" header (title, author, language, URL)."""
    return "\n".join(line for line in raw.splitlines() if not line.startswith("#")).strip()


def load_texts(folder: Path) -> dict[str, tuple[str, str]]:
    """file name → (labelled code, text) for every file that is not a transliteration."""
    texts = {}
    for path in sorted(folder.glob("*.txt")):
        raw = path.read_text(encoding="utf-8")
        header = [line for line in raw.splitlines() if line.startswith("#")]
        if not any(TRANSLITERATED in line for line in header):
            texts[path.name] = (labelled_code(path.name), text_body(raw))
    return texts


@dataclass
class Accuracy:
    """One model's predictions on the texts whose language it labels."""

    predictions: dict[str, tuple[str, float]] = field(default_factory=dict)  # name → (code, p)
    misses: dict[str, str] = field(default_factory=dict)  # name → "got score"

    @property
    def total(self) -> int:
        return len(self.predictions)

    @property
    def correct(self) -> int:
        return self.total - len(self.misses)

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0

    def on(self, names: set[str]) -> float:
        """Accuracy on ``names`` (all of which this model labels)."""
        return sum(name not in self.misses for name in names) / len(names) if names else 0.0


def evaluate(lid: LanguageIdentifier, texts: dict[str, tuple[str, str]]) -> Accuracy:
    """Top-1 of ``lid`` on every text whose labelled language the model labels."""
    known = lid.labels()
    result = Accuracy()
    for name, (code, text) in texts.items():
        if code not in known:
            continue
        got, score = lid(text)
        result.predictions[name] = (got, score)
        if not same_language(code, got):
            result.misses[name] = f"{got} {score:.3f}"
    return result


def ms_per_text(lid: LanguageIdentifier, texts: list[str], rounds: int) -> float:
    """Best-of-``rounds`` wall time of ``lid(text)`` over all texts, in ms per text."""
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for text in texts:
            lid(text)
        best = min(best, time.perf_counter() - start)
    return 1000 * best / len(texts)


def find_models(given: list[Path], folder: Path | None) -> list[Path]:
    """The packaged lid.176.ftz, the given models, then the model files in ``folder``."""
    models = [packaged_model_path(), *given]
    if folder is not None and folder.is_dir():
        models += sorted(p for p in folder.iterdir() if p.suffix in (".bin", ".ftz"))
    unique: dict[Path, None] = {}
    for path in models:
        unique.setdefault(path.resolve(), None)
    return list(unique)


def label_format(lid: LanguageIdentifier) -> str:
    """ "xxx_Scrp" (ISO 639-3 + script: GlotLID, OpenLID) or "xx" (lid.176's codes)."""
    raw = lid.raw_labels()
    scripted = sum("_" in label for label in raw)
    return "xxx_Scrp" if scripted > len(raw) / 2 else "xx"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, action="append", default=[], help="a model file")
    parser.add_argument("--models-dir", type=Path, default=REPO / "models")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    texts = load_texts(FIXTURES / TEXTS)
    chars = sum(len(text) for _, text in texts.values()) / len(texts)
    print(f"texts: {len(texts)} langid.py test files (transliterations left out), "
          f"mean {chars:,.0f} characters")  # fmt: skip
    results = {}
    for path in find_models(args.model, args.models_dir):
        lid = LanguageIdentifier(path)
        lid("warm up the model")
        result = evaluate(lid, texts)
        cost = ms_per_text(lid, [text for _, text in texts.values()], args.rounds)
        results[path] = result
        print(f"\n{path.name} ({path.stat().st_size / 1e6:.1f} MB, {len(lid.raw_labels())} "
              f"labels, format {label_format(lid)})")  # fmt: skip
        print(f"  accuracy {result.accuracy:.3f} ({result.correct} of {result.total} texts "
              f"whose language it labels)")  # fmt: skip
        print(f"  cost {cost:.3f} ms per text, {1000 * cost / chars:.3f} ms per 1,000 chars")
        print(f"  misses: {', '.join(f'{n} → {m}' for n, m in result.misses.items()) or 'none'}")
    if len(results) > 1:
        common = set.intersection(*(set(r.predictions) for r in results.values()))
        print(f"\non the {len(common)} texts every model labels:")
        for path, result in results.items():
            print(f"  {path.name:<40}{result.on(common):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
