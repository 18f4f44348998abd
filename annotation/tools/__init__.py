"""Annotation tools webweave exports rounds to and ingests answers from (one module each)."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from webweave.annotation.tools import groundtruth, labelstudio, mturk
from webweave.annotation.tools.base import BadExport

TOOLS: dict[str, ModuleType] = {
    labelstudio.TOOL: labelstudio,
    mturk.TOOL: mturk,
    groundtruth.TOOL: groundtruth,
}
DESCRIPTIONS = {
    labelstudio.TOOL: "a Label Studio JSON export",
    mturk.TOOL: "an MTurk batch results CSV",
    groundtruth.TOOL: "a Ground Truth output manifest",
}


def detect_tool(path: Path) -> str:
    """Which tool's result format ``path`` is in (by name and first bytes)."""
    with open(path, "rb") as handle:
        head = handle.read(64 * 1024)
    for name, module in TOOLS.items():
        if module.recognises(path, head):
            return name
    known = ", ".join(DESCRIPTIONS.values())
    raise BadExport(f"{path.name}: not a result file webweave reads ({known})")
