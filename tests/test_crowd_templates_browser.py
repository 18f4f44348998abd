"""The MTurk and Ground Truth templates render in a real browser with their form elements.

MTurk substitutes each ``${column}`` of the batch CSV into the HTML; the test does the same
with a real exported row, renders the page in headless Chromium (``--dump-dom``) and reads
the resulting DOM: the crowd form, one radio group per item with the buttons ingest reads,
the images, hidden round and item ids. The Crowd HTML Elements script is an internet
resource, so it is removed first (and every host name resolves nowhere): the elements are
checked as parsed markup, which is what MTurk receives.
"""

from __future__ import annotations

import csv
import re
import shutil
import subprocess
from html.parser import HTMLParser

import pytest
from test_annotation_rounds import nights_folder

from webweave.annotation.tools.crowd_form import CROWD_SCRIPT
from webweave.pipelines.cli import main

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
    "--host-resolver-rules=MAP * ~NOTFOUND",
]  # fmt: skip


class Elements(HTMLParser):
    def __init__(self):
        super().__init__()
        self.found: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))

    def named(self, tag: str) -> list[dict]:
        return [attrs for name, attrs in self.found if name == tag]


def rendered_dom(html: str, tmp_path) -> Elements:
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    page = tmp_path / "page.html"
    page.write_text(html.replace(CROWD_SCRIPT, ""), encoding="utf-8")
    command = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
               "--dump-dom", page.as_uri()]  # fmt: skip
    done = subprocess.run(command, check=True, capture_output=True, text=True, timeout=120)
    elements = Elements()
    elements.feed(done.stdout)
    return elements


def test_mturk_template_renders_with_the_crowd_form(tmp_path, capsys):
    round1, export = tmp_path / "round1", tmp_path / "mturk"
    config = tmp_path / "config.yaml"
    config.write_text("rounds:\n  items_per_hit: 2\n")
    assert main(["nights", "build", "--source", str(nights_folder(tmp_path / "gen", count=3)),
                 "--output", str(round1)]) == 0  # fmt: skip
    base = "https://images.example.org/s"
    assert main(["rounds", "export", str(round1), "--tool", "mturk", "--output", str(export),
                 "--image-base", base, "--config", str(config)]) == 0  # fmt: skip
    capsys.readouterr()
    template = (export / "question.html").read_text()
    with open(export / "batch-3.csv", newline="") as handle:
        row = next(csv.DictReader(handle))
    html = re.sub(r"\$\{(\w+)\}", lambda m: row[m.group(1)], template)
    assert "${" not in html

    dom = rendered_dom(html, tmp_path)
    (form,) = dom.named("crowd-form")
    assert form["answer-format"] == "flatten-objects"
    assert len(dom.named("crowd-radio-group")) == 2
    buttons = [(b["name"], b["value"]) for b in dom.named("crowd-radio-button")]
    assert buttons == [("slot1_A", "on"), ("slot1_B", "on"), ("slot2_A", "on"), ("slot2_B", "on")]
    images = [img["src"] for img in dom.named("img")]
    assert images == [row[f"{k}_{s}"] for s in (1, 2) for k in ("ref", "left", "right")]
    hidden = {i["name"]: i["value"] for i in dom.named("input") if i.get("type") == "hidden"}
    assert hidden == {"round_id": row["round_id"], "item_1": row["item_1"], "item_2": row["item_2"]}


def test_groundtruth_template_renders_with_the_crowd_form(tmp_path, capsys):
    round1, export = tmp_path / "round1", tmp_path / "gt"
    assert main(["nights", "build", "--source", str(nights_folder(tmp_path / "gen", count=2)),
                 "--output", str(round1)]) == 0  # fmt: skip
    assert main(["rounds", "export", str(round1), "--tool", "groundtruth", "--output", str(export),
                 "--image-base", "s3://bucket/study"]) == 0  # fmt: skip
    capsys.readouterr()
    template = (export / "worker-template.liquid.html").read_text()
    task = {
        "ref": "https://x.test/r.png",
        "left": "https://x.test/a.png",
        "right": "https://x.test/b.png",
    }
    html = re.sub(
        r"\{\{ task\.input\.(\w+) \| grant_read_access \}\}", lambda m: task[m.group(1)], template
    )
    assert "{{" not in html
    dom = rendered_dom(html, tmp_path)
    assert len(dom.named("crowd-form")) == 1 and len(dom.named("crowd-radio-group")) == 1
    assert [b["name"] for b in dom.named("crowd-radio-button")] == ["slot1_A", "slot1_B"]
    assert [img["src"] for img in dom.named("img")] == list(task.values())
