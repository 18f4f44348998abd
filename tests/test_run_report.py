"""``webweave report DIR``: the page a data person tunes thresholds with (pipelines/report/).

A real run of two fixture WARCs is reported once; the page is parsed back and checked against the
run's own files (stats.json, config.yaml, extracted/), computed here independently: every figure
is a valid PNG, a histogram exists exactly for the scores with values, configured thresholds and
the shares beyond them are shown, every drop reason of the document_filter stage has samples,
and text from the web is escaped. Empty runs and runs without text filters still get a page.
"""

from __future__ import annotations

import html
import json
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import yaml
from PIL import Image

from webweave.pipelines.cli import main
from webweave.pipelines.report import DOCUMENT_SCORES, PARAGRAPH_SCORES, write_report

from conftest import BEAM_TEST_RUNNER, EXTRACTION_ONLY_CONFIG, fixture_path

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
WARCS = ("warc/dolma_sample-0000.warc.gz", "warc/derived/scrapinghub_aeb_pages_part1.warc.gz")
PLANTED = "<script>alert('planted')</script> Tom & Jerry <b>bold</b>"


class Page(HTMLParser):
    """The parts of report.html the tests look at."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.images: list[dict[str, str]] = []
        self.tags: set[str] = set()
        self.ids: set[str] = set()
        self.pre: list[str] = []
        self._in_pre = False
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k: v or "" for k, v in attrs}
        self.tags.add(tag)
        if "id" in attributes:
            self.ids.add(attributes["id"])
        if tag == "img":
            self.images.append(attributes)
        self._in_pre = tag == "pre"

    def handle_endtag(self, tag: str) -> None:
        self._in_pre = False if tag == "pre" else self._in_pre

    def handle_data(self, data: str) -> None:
        if self._in_pre:
            self.pre.append(data)

    def sources(self) -> set[str]:
        return {image["src"] for image in self.images}


def run(output: Path, *inputs: str, config: Path | None = None) -> None:
    argv = ["run", "--input", *(str(fixture_path(i)) for i in inputs), "--output", str(output)]
    argv += ["--config", str(config)] if config else []
    assert main([*argv, f"--runner={BEAM_TEST_RUNNER}"]) == 0


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> tuple[Path, str, Page]:
    """A real run of two WARCs, then ``webweave report`` on it."""
    output = tmp_path_factory.mktemp("report") / "run"
    run(output, *WARCS)
    assert main(["report", str(output)]) == 0
    text = (output / "report.html").read_text(encoding="utf-8")
    return output, text, Page(text)


def extracted(output: Path, columns: list[str]) -> pa.Table:
    return pa.concat_tables(
        pq.read_table(path, columns=columns) for path in sorted(output.glob("extracted/*.parquet"))
    )


def scored(output: Path) -> tuple[set[str], set[str]]:
    """Names of the document and paragraph scores with at least one value, read here."""
    table = extracted(output, ["filter_scores", "paragraph_filter"])
    scores = table.column("filter_scores").combine_chunks()
    trace = pc.struct_field(table.column("paragraph_filter").combine_chunks(), "trace")
    paragraph = pc.struct_field(pc.list_flatten(trace), "scores")
    documents = {n for n in DOCUMENT_SCORES if pc.struct_field(scores, n).null_count < len(scores)}
    paragraphs = {
        n for n in PARAGRAPH_SCORES if pc.struct_field(paragraph, n).null_count < len(paragraph)
    }
    return documents, paragraphs


def assert_valid_png(path: Path) -> None:
    assert path.read_bytes()[:8] == PNG_SIGNATURE, path
    with Image.open(path) as image:
        image.verify()


def test_every_image_is_a_png_in_the_report_folder(report):
    output, text, page = report
    assert page.images, "the page has no figures"
    for image in page.images:
        assert image["src"].startswith("report/") and image["src"].endswith(".png")
        assert image.get("alt"), f"{image['src']} has no alt text"
        assert_valid_png(output / image["src"])
    assert {"funnel.png", "paragraphs_removed.png", "languages.png"} <= {
        Path(src).name for src in page.sources()
    }
    assert sorted(p.name for p in (output / "report").iterdir()) == sorted(
        Path(src).name for src in page.sources()
    ), "every figure written is on the page, and only those"


def test_page_is_self_contained(report):
    _, text, page = report
    assert not page.tags & {"script", "link", "iframe", "object", "embed"}
    assert "://" not in "".join(page.sources())
    assert "<script" not in text.lower()


def test_one_histogram_per_score_with_values(report):
    output, text, page = report
    documents, paragraphs = scored(output)
    assert {"number_words", "stopword_ratio", "language_score"} <= documents
    assert {f"report/document_{n}.png" for n in documents} == {
        s for s in page.sources() if s.startswith("report/document_")
    }
    assert {f"report/paragraph_{n}.png" for n in paragraphs} == {
        s for s in page.sources() if s.startswith("report/paragraph_")
    }
    empty = [n for n in DOCUMENT_SCORES if n not in documents]
    if empty:  # the default config has no flagged-word list: those scores are all null
        assert f"Skipped (all values null): {', '.join(empty)}." in text


def test_thresholds_and_shares_beyond_them_are_shown(report):
    output, text, page = report
    config = yaml.safe_load((output / "config.yaml").read_text())["text_filters"]
    document, paragraph = config["document"], config["paragraph"]
    alts = {Path(image["src"]).stem: image["alt"] for image in page.images}
    words = extracted(output, ["filter_scores"]).column("filter_scores").combine_chunks()
    words = pc.struct_field(words, "number_words").to_pylist()
    below = sum(w < document["number_words_min"] for w in words) / len(words)
    above = sum(w > document["number_words_max"] for w in words) / len(words)
    assert (
        f"{100 * below:.1f}% < min {document['number_words_min']} · "
        f"{100 * above:.1f}% > max {document['number_words_max']}"
    ) in alts["document_number_words"]
    assert f"min {document['stopword_ratio_min']}" in alts["document_stopword_ratio"]
    assert (
        f"max {document['special_character_ratio_max']}" in alts["document_special_character_ratio"]
    )
    assert f"min {paragraph['number_words_min']}" in alts["paragraph_number_words"]
    assert (
        f"max {paragraph['special_character_ratio_max']}"
        in alts["paragraph_special_character_ratio"]
    )
    # A switched-off check (number_images, off by default) still shows its bounds, marked off.
    assert not document["check_number_images"]
    assert "(check off)" in alts["document_number_images"]


def test_funnel_and_paragraph_removals_are_tabled(report):
    output, text, _ = report
    stats = json.loads((output / "stats.json").read_text())
    for stage in stats["funnel"]:
        assert f"<td>{stage['stage']}</td>" in text
        for reason in stage["dropped"]:
            assert f"<td>{reason}</td>" in text
    for reason, count in stats["paragraphs_removed"].items():
        assert f'<td>{reason}</td><td class="n">{count:,}</td>' in text
    assert f"{stats['records_read']:,}" in text and f"{stats['documents_written']:,}" in text


def test_every_drop_reason_has_samples(report):
    output, text, page = report
    stats = json.loads((output / "stats.json").read_text())
    stage = next(s for s in stats["funnel"] if s["stage"] == "document_filter")
    assert stage["dropped"], "the fixture run drops documents"
    for reason, count in stage["dropped"].items():
        assert f"dropped-{reason}" in page.ids
        assert f"{count:,} dropped (showing {min(count, 5)})" in text
    reasons = extracted(output, ["drop_reason", "general_metadata"])
    urls = pc.struct_field(reasons.column("general_metadata").combine_chunks(), "url")
    dropped = pc.filter(urls, pc.is_valid(reasons.column("drop_reason").combine_chunks()))
    assert html.escape(dropped[0].as_py()) in text, "the first dropped document is sampled"
    assert page.pre, "sampled texts are shown"
    assert max(len(p) for p in page.pre) <= 1001


def test_removed_paragraphs_are_sampled_from_kept_documents(report):
    output, text, page = report
    stats = json.loads((output / "stats.json").read_text())
    for reason, count in stats["paragraphs_removed"].items():
        assert f"removed-{reason}" in page.ids
        assert f"{count:,} removed in kept documents (showing {min(count, 5)})" in text
    first = {}  # the first removed paragraph per reason in a kept document, in file order
    for row in extracted(output, ["drop_reason", "paragraph_filter"]).to_pylist():
        for record in row["paragraph_filter"]["trace"] if row["drop_reason"] is None else []:
            if record["reason"]:
                first.setdefault(record["reason"], record["text"])
    assert set(first) == set(stats["paragraphs_removed"])
    for paragraph in first.values():
        assert html.escape(paragraph[:1000]) in text


def test_report_is_deterministic(report):
    output, text, page = report
    figures = {src: (output / src).read_bytes() for src in page.sources()}
    assert main(["report", str(output)]) == 0
    assert (output / "report.html").read_text(encoding="utf-8") == text
    assert {src: (output / src).read_bytes() for src in page.sources()} == figures


def test_web_text_is_escaped_and_samples_bounded(report, tmp_path):
    """Plant markup in a dropped document's text and URL: it must show as text, not run."""
    output, _, _ = report
    copy = tmp_path / "run"
    (copy / "extracted").mkdir(parents=True)
    for name in ("stats.json", "config.yaml"):
        shutil.copy(output / name, copy / name)
    paths = sorted(output.glob("extracted/*.parquet"))
    for path in paths[1:]:
        shutil.copy(path, copy / "extracted" / path.name)
    table = pq.read_table(paths[0])
    rows = table.to_pylist()
    victim = next(row for row in rows if row["drop_reason"])
    victim["texts"] = [PLANTED, *victim["texts"]]
    victim["images"] = [None, *victim["images"]]
    victim["general_metadata"]["url"] = "https://example.com/?q=<script>&x=1"
    pq.write_table(
        pa.Table.from_pylist(rows, schema=table.schema), copy / "extracted" / paths[0].name
    )
    (copy / "report").mkdir()
    (copy / "report" / "stale.png").write_bytes(b"old")

    assert main(["report", str(copy), "--samples", "1"]) == 0
    text = (copy / "report.html").read_text(encoding="utf-8")
    assert "<script" not in text.lower()
    assert html.escape(PLANTED) in text
    assert "https://example.com/?q=&lt;script&gt;&amp;x=1" in text
    assert "(showing 2)" not in text and "(showing 1)" in text
    assert not (copy / "report" / "stale.png").exists(), "stale figures are removed"


def test_empty_folder_gets_a_page(tmp_path):
    path = write_report(str(tmp_path))
    text = Path(path).read_text(encoding="utf-8")
    assert path == str(tmp_path / "report.html")
    assert "stats.json not found" in text and "No extracted/*.parquet files" in text
    assert not Page(text).images


def test_run_without_text_filters_says_so(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(EXTRACTION_ONLY_CONFIG)
    output = tmp_path / "run"
    run(output, WARCS[0], config=config)
    text = Path(write_report(str(output))).read_text(encoding="utf-8")
    page = Page(text)
    assert "Text filters were disabled in this run" in text
    assert "No document scores in extracted/" in text
    assert not {s for s in page.sources() if "/document_" in s or "/paragraph_" in s}
    assert {"report/funnel.png", "report/languages.png"} <= page.sources()
    for src in page.sources():
        assert_valid_png(output / src)


def test_page_renders_in_a_browser(report, tmp_path):
    """Optional: a headless Chromium screenshot of the page is a non-blank image."""
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed (optional rendering check)")
    output, _, _ = report
    shot = tmp_path / "shot.png"
    command = [
        chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run",
        f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}",
        "--window-size=1200,3000", (output / "report.html").as_uri(),
    ]  # fmt: skip
    subprocess.run(command, check=True, capture_output=True, timeout=120)
    assert_valid_png(shot)
    with Image.open(shot) as image:
        grey = image.convert("L")
        assert grey.size == (1200, 3000)
        histogram = grey.histogram()
    non_white = sum(histogram[:200]) / sum(histogram)
    assert non_white > 0.02, f"the screenshot is blank ({non_white:.2%} non-white pixels)"
