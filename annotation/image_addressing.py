"""How a tool finds a study's images: Label Studio local files, or URLs under a base.

Image paths in round tables are relative to round 1's folder (``images/ab/ab….png``).

- Label Studio serves a file as ``/data/local-files/?d=<path relative to the document
  root>`` when ``LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED=true``, the file lies under
  ``LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT`` and a local-files storage of the project points at
  a folder containing it, strictly below the root (reference label_studio.md, "Local files").
- Any tool can read ``BASE/<path>`` once round 1's ``images/`` is uploaded under ``BASE``
  (``https://`` for MTurk workers' browsers, ``s3://`` for Ground Truth).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

LOCAL_FILES_PREFIX = "/data/local-files/?d="


class BadAddressing(ValueError):
    """Images cannot be addressed as asked; one line for the user."""


@dataclass(frozen=True)
class ImageAddressing:
    mode: str  # local-files | url | none
    to_value: Callable[[str], str]
    document_root: str | None = None
    storage_path: str | None = None


def local_files(document_root: Path, round_one: Path, images_dir: str) -> ImageAddressing:
    root = document_root.resolve()
    storage = (round_one / images_dir).resolve()
    if root == storage or root not in storage.parents:
        raise BadAddressing(
            f"Label Studio serves local files only strictly below its document root: "
            f"{storage} is not below --document-root {root}"
        )
    base = os.path.relpath(round_one.resolve(), root)

    def to_value(path: str) -> str:
        return LOCAL_FILES_PREFIX + quote(f"{base}/{path}".replace(os.sep, "/"), safe="/")

    return ImageAddressing("local-files", to_value, str(root), str(storage))


def under_base(base: str, schemes: tuple[str, ...], tool: str) -> ImageAddressing:
    if not base.startswith(schemes):
        raise BadAddressing(f"--image-base for {tool} must start with {' or '.join(schemes)}")
    stem = base.rstrip("/")
    return ImageAddressing("url", lambda path: f"{stem}/{quote(path, safe='/')}")


def no_images() -> ImageAddressing:
    return ImageAddressing("none", lambda path: path)
