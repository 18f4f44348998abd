"""``webweave rounds export``: an open round's items in one tool's import format.

The tool module writes its files (``annotation/tools/``); this module chooses how images are
addressed, checks the round can still be annotated, and writes ``export.json``
(``schemas/round_export.py``).
"""

from __future__ import annotations

from pathlib import Path

from webweave.annotation.config import RoundsConfig
from webweave.annotation.image_addressing import (
    BadAddressing,
    ImageAddressing,
    local_files,
    no_images,
    under_base,
)
from webweave.annotation.round_dir import IMAGES_DIR, Round, RoundError, write_json
from webweave.annotation.tools import TOOLS
from webweave.annotation.tools.base import ExportContext
from webweave.schemas import round_export
from webweave.schemas.json_records import stamped

COMMAND = "rounds export"
EXPORT_FILE = "export.json"
URL_SCHEMES = {
    "labelstudio": ("http://", "https://", "/"),
    "mturk": ("https://",),
    "groundtruth": ("s3://",),
}


def addressing(
    round_: Round, tool: str, image_base: str | None, document_root: str | None
) -> ImageAddressing:
    if round_.kind != "nights":
        return no_images()
    if image_base:
        return under_base(image_base, URL_SCHEMES[tool], tool)
    if tool != "labelstudio":
        raise BadAddressing(
            f"{tool} workers load images from the internet: upload {round_.root().folder}/"
            f"{IMAGES_DIR} and pass --image-base ({' or '.join(URL_SCHEMES[tool])}…)"
        )
    root = Path(document_root) if document_root else round_.root().folder.parent
    return local_files(root, round_.root().folder, IMAGES_DIR)


def export_round(
    round_: Round, tool: str, rounds: RoundsConfig, images: ImageAddressing, out: Path
) -> dict:
    """Write the tool's files and ``export.json`` into ``out``; returns the record."""
    if not round_.is_open:
        raise RoundError(
            f"{round_.folder} is round {round_.number}, stopped ({round_.info['stop_reason']}): "
            "nothing left to annotate; finalize it"
        )
    items = round_.items().to_pylist()
    context = ExportContext(round_, items, rounds, images, out)
    batches = TOOLS[tool].export(context)
    checks = sum(item["is_check"] for item in items)
    files = sorted(p.name for p in out.iterdir()) + [EXPORT_FILE]
    record = stamped(
        {
            "tool": tool,
            "kind": round_.kind,
            "round": round_.number,
            "round_id": round_.round_id,
            "items": len(items) - checks,
            "checks": checks,
            "batches": batches,
            "files": sorted(files),
            "images": images.mode,
            "document_root": images.document_root,
            "storage_path": images.storage_path,
        },
        round_export.SCHEMA,
    )
    write_json(out / EXPORT_FILE, record)
    return record
