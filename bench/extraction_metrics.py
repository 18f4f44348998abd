"""Main-text extraction metrics on the two real-page fixture sets, shared by bench and tests.

* trafilatura set: every gold snippet counts once; a ``with`` snippet found in the text is a
  true positive (else a false negative), a ``without`` snippet found is a false positive (else
  a true negative). Whitespace is collapsed on both sides before the substring test, the way
  trafilatura's own ``tests/comparison.py`` compares.
* scrapinghub set: bag-of-words overlap of whitespace tokens between the extracted text and
  the gold ``articleBody``. ``micro`` pools token counts over all pages; ``macro`` averages
  per-page precision and recall (an empty extraction has precision 1, recall 0) and takes F1 of
  the averages, as the article-extraction-benchmark does.

Each set is cut into a tuning half and a validation half by ``bench/extraction_split.json``:
the page ids ranked by a seeded SHA-256 of the id, first half tuning, second half validation
(``split_by_hash``), so the cut never looked at a page. Rules are tuned on the first half and
kept only if they help the second.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
TRAFILATURA_DIR = "html/trafilatura_eval"
SCRAPINGHUB_DIR = "html/scrapinghub_aeb"
SPLIT_FILE = REPO_ROOT / "bench" / "extraction_split.json"
SPLIT_SEED = "webweave-extraction-split-v1"
HALVES = ("tuning", "validation")


def fixtures_root() -> Path:
    """Where the shared fixtures live: ``$WEBWEAVE_FIXTURES`` or ``<repo>/../shared/fixtures``."""
    return Path(os.environ.get("WEBWEAVE_FIXTURES", REPO_ROOT.parent / "shared" / "fixtures"))


@dataclass(frozen=True)
class SnippetPage:
    page_id: str  # the cached file's name
    url: str
    html: bytes
    with_snippets: tuple[str, ...]
    without_snippets: tuple[str, ...]


@dataclass(frozen=True)
class ArticlePage:
    page_id: str
    url: str
    html: bytes
    gold: str


@dataclass(frozen=True)
class Scores:
    precision: float
    recall: float

    @property
    def f1(self) -> float:
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0


def load_snippet_pages(root: Path) -> list[SnippetPage]:
    """The trafilatura evaluation pages that have gold snippets, sorted by URL."""
    base = root / TRAFILATURA_DIR
    gold = json.loads((base / "evaldata_cache.json").read_text(encoding="utf-8"))
    pages = []
    for url, entry in sorted(gold.items()):
        path = base / "cache" / (entry["file"] + ".gz")
        if not path.exists():
            continue
        pages.append(
            SnippetPage(
                page_id=entry["file"],
                url=url,
                html=gzip.decompress(path.read_bytes()),
                with_snippets=tuple(s for s in entry.get("with") or () if s),
                without_snippets=tuple(s for s in entry.get("without") or () if s),
            )
        )
    return pages


def load_article_pages(root: Path) -> list[ArticlePage]:
    """The scrapinghub article-extraction-benchmark pages with gold article bodies."""
    base = root / SCRAPINGHUB_DIR
    gold = json.loads((base / "ground-truth-part1.json").read_text(encoding="utf-8"))
    pages = []
    for page_id, entry in sorted(gold.items()):
        path = base / "html" / f"{page_id}.html.gz"
        if path.exists():
            html = gzip.decompress(path.read_bytes())
            pages.append(ArticlePage(page_id, entry.get("url", ""), html, entry["articleBody"]))
    return pages


def split_by_hash(page_ids: Iterable[str]) -> dict[str, list[str]]:
    """Tuning and validation ids: ranked by SHA-256 of ``SPLIT_SEED:id``, cut in the middle
    (the validation half gets the odd page)."""
    ranked = sorted(
        page_ids, key=lambda i: hashlib.sha256(f"{SPLIT_SEED}:{i}".encode()).hexdigest()
    )
    middle = len(ranked) // 2
    return {"tuning": sorted(ranked[:middle]), "validation": sorted(ranked[middle:])}


def load_split(path: Path = SPLIT_FILE) -> dict[str, dict[str, list[str]]]:
    """The committed split: ``{"trafilatura": {"tuning": [...], "validation": [...]},
    "scrapinghub": {...}}``."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return {name: data[name] for name in ("trafilatura", "scrapinghub")}


def pages_of_half(pages: list, ids: dict[str, list[str]], half: str) -> list:
    """The pages of one half, in the loader's order; a page in neither half is an error (the
    split file must be regenerated, never silently extended)."""
    known = set(ids["tuning"]) | set(ids["validation"])
    unknown = [p.page_id for p in pages if p.page_id not in known]
    if unknown:
        raise ValueError(f"pages missing from {SPLIT_FILE.name}: {unknown[:5]}")
    wanted = set(ids[half])
    return [p for p in pages if p.page_id in wanted]


def _squash(text: str) -> str:
    return " ".join(text.split())


def snippet_scores(pages: Iterable[SnippetPage], texts: Iterable[str]) -> Scores:
    """Precision and recall of snippet presence over all snippets of all pages."""
    tp = fn = fp = 0
    for page, text in zip(pages, texts, strict=True):
        flat = _squash(text or "")
        for snippet in page.with_snippets:
            if _squash(snippet) in flat:
                tp += 1
            else:
                fn += 1
        fp += sum(1 for snippet in page.without_snippets if _squash(snippet) in flat)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return Scores(precision, recall)


def token_scores(pages: Iterable[ArticlePage], texts: Iterable[str]) -> tuple[Scores, Scores]:
    """(micro, macro) bag-of-words token precision and recall against the gold bodies."""
    overlap_sum = predicted_sum = gold_sum = 0
    precisions: list[float] = []
    recalls: list[float] = []
    for page, text in zip(pages, texts, strict=True):
        predicted = Counter((text or "").split())
        gold = Counter(page.gold.split())
        overlap = sum((predicted & gold).values())
        n_predicted, n_gold = sum(predicted.values()), sum(gold.values())
        overlap_sum += overlap
        predicted_sum += n_predicted
        gold_sum += n_gold
        precisions.append(overlap / n_predicted if n_predicted else 1.0)
        recalls.append(overlap / n_gold if n_gold else 1.0)
    micro = Scores(
        overlap_sum / predicted_sum if predicted_sum else 0.0,
        overlap_sum / gold_sum if gold_sum else 0.0,
    )
    count = len(precisions) or 1
    macro = Scores(sum(precisions) / count, sum(recalls) / count)
    return micro, macro


def extract_all(extractor: Callable[[str, str], str], inputs: list[tuple[str, str]]) -> list[str]:
    """Run ``extractor(html, url)`` over ``inputs``, turning failures into empty text."""
    texts = []
    for html, url in inputs:
        try:
            texts.append(extractor(html, url) or "")
        except Exception:  # noqa: BLE001 - a failed page scores as an empty extraction
            texts.append("")
    return texts
