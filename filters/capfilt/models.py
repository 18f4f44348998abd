"""Loading the CapFilt models from a local folder or a hub id, offline-safe, with a weights hash.

BLIP models (captioner ``BlipForConditionalGeneration``, filter ``BlipForImageTextRetrieval``)
load with transformers from a folder. A hub id is first resolved to a folder of the local
Hugging Face cache (``snapshot_download``: downloads when allowed, reads the cache when
``HF_HUB_OFFLINE=1``); then the same folder is hashed and loaded, so the hash names exactly the
weights that ran. The ranker (mode blip2) is an open_clip model, named ``NAME:TAG``
(``ViT-L-14-quickgelu:openai``), ``NAME:/path/checkpoint``, ``hf-hub:org/repo`` or a local
folder holding ``open_clip_config.json`` and weights (the hub layout).

A model that cannot be had raises ``ModelUnavailable`` with one line naming the model, why,
and the flag that takes a local path.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from webweave.schemas.config import ConfigError

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth")
FLAGS = {"captioner": "--captioner", "filter": "--filter", "ranker": "--ranker"}


class ModelUnavailable(ConfigError):
    """A configured model could not be found or downloaded; the message is one line for the
    user (the CLI checks the models before a local job starts, so it is said up front)."""


@dataclass(frozen=True)
class ModelInfo:
    """What ran: the name the user gave, its role and a hash of its weight files."""

    role: str  # captioner | filter | ranker
    name: str  # hub id, open_clip spec or local path, as configured
    weights_sha256: str


def weights_sha256(paths: list[Path]) -> str:
    """sha256 over (file name, sha256 of the file) of each weight file, sorted by name."""
    outer = hashlib.sha256()
    for path in sorted(paths, key=lambda p: p.name):
        inner = hashlib.sha256()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 22), b""):
                inner.update(block)
        outer.update(f"{path.name}\0{inner.hexdigest()}\n".encode())
    return outer.hexdigest()


def weight_files(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.is_file() and p.name.endswith(WEIGHT_SUFFIXES)]


def _looks_like_path(name: str) -> bool:
    return name.startswith(("/", ".", "~")) or os.path.exists(name)


def _offline() -> bool:
    from huggingface_hub import constants

    return bool(constants.is_offline_mode())


def _unavailable(role: str, name: str, why: str) -> ModelUnavailable:
    return ModelUnavailable(
        f"the CapFilt {role} model {name!r} {why}; pass a local folder with {FLAGS[role]} "
        "PATH (or set it in the capfilt: section of --config)"
    )


def resolve_hf_folder(name: str, role: str) -> Path:
    """A local folder holding the model: ``name`` itself, or its snapshot in the HF cache."""
    if _looks_like_path(name):
        folder = Path(name).expanduser()
        if not folder.is_dir():
            raise _unavailable(role, name, "is not a folder")
        return folder
    from huggingface_hub import snapshot_download

    try:
        folder = Path(snapshot_download(name, allow_patterns=["*.json", "*.txt", "*.safetensors"]))
        if not any(p.name.endswith(".safetensors") for p in weight_files(folder)):
            folder = Path(snapshot_download(name, allow_patterns=["*.json", "*.txt", "*.bin"]))
    except Exception as error:  # noqa: BLE001 - every cause becomes the one-line message
        if _offline():
            why = "is not in the local Hugging Face cache and downloads are off (HF_HUB_OFFLINE)"
        else:
            first = str(error).strip().splitlines()[0] if str(error).strip() else ""
            why = f"could not be downloaded ({type(error).__name__}: {first[:160]})"
        raise _unavailable(role, name, why) from None
    if not weight_files(folder):
        raise _unavailable(role, name, f"has no weight files in {folder}")
    return folder


def load_blip(name: str, role: str):
    """(model in eval mode, ``BlipProcessor``, ``ModelInfo``) for a captioner or a filter."""
    from transformers import (
        BlipForConditionalGeneration,
        BlipForImageTextRetrieval,
        BlipProcessor,
    )
    from transformers.utils import logging as hf_logging

    model_class = {"captioner": BlipForConditionalGeneration, "filter": BlipForImageTextRetrieval}
    folder = resolve_hf_folder(name, role)
    hf_logging.disable_progress_bar()
    try:
        model = model_class[role].from_pretrained(folder).eval()
        processor = BlipProcessor.from_pretrained(folder)
    except (OSError, ValueError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise _unavailable(role, name, f"could not be loaded ({first[:160]})") from None
    info = ModelInfo(role, name, weights_sha256(weight_files(folder)))
    return model, processor, info


def _ranker_source(spec: str) -> tuple[str, str | None, Path | None]:
    """(open_clip model name, pretrained tag or file, checkpoint path when known now)."""
    if spec.startswith("hf-hub:"):
        return spec, None, None
    folder = Path(spec).expanduser()
    if folder.is_dir():
        return f"local-dir:{folder}", None, None
    if _looks_like_path(spec) or ":" not in spec:
        why = "is not a folder" if _looks_like_path(spec) else "names no weights (use NAME:TAG)"
        raise _unavailable("ranker", spec, why)
    name, _, pretrained = spec.partition(":")
    return name, pretrained, Path(pretrained) if os.path.isfile(pretrained) else None


def _ranker_checkpoint(spec: str, name: str, pretrained: str | None) -> Path:
    """The checkpoint file of the ranker, downloaded (or read from the cache) now."""
    from open_clip.factory import _find_checkpoint_in_dir
    from open_clip.pretrained import (
        download_pretrained,
        download_pretrained_from_hf,
        get_pretrained_cfg,
    )

    if name.startswith("local-dir:"):
        found = _find_checkpoint_in_dir(Path(name[len("local-dir:") :]))
        if not found:
            raise _unavailable("ranker", spec, "has no weight file in its folder")
        return Path(found)
    try:
        if name.startswith("hf-hub:"):
            return Path(download_pretrained_from_hf(name[len("hf-hub:") :]))
        cfg = get_pretrained_cfg(name, pretrained)
        if not cfg:
            raise _unavailable("ranker", spec, "is not a known open_clip NAME:TAG")
        return Path(download_pretrained(cfg))
    except ModelUnavailable:
        raise
    except Exception as error:  # noqa: BLE001 - every cause becomes the one-line message
        if _offline():
            why = "is not in the local cache and downloads are off (HF_HUB_OFFLINE)"
        else:
            why = f"could not be downloaded ({type(error).__name__})"
        raise _unavailable("ranker", spec, why) from None


def ranker_checkpoint(spec: str) -> Path:
    """The ranker's checkpoint file (read from the cache or downloaded when allowed)."""
    name, pretrained, checkpoint = _ranker_source(spec)
    return checkpoint if checkpoint is not None else _ranker_checkpoint(spec, name, pretrained)


def load_ranker(spec: str):
    """(open_clip model in eval mode, image transform, tokenizer, ``ModelInfo``)."""
    import open_clip

    name, pretrained, _ = _ranker_source(spec)
    checkpoint = ranker_checkpoint(spec)
    try:
        model, _, preprocess = open_clip.create_model_and_transforms(name, pretrained=pretrained)
        tokenizer = open_clip.get_tokenizer(name)
    except (OSError, RuntimeError, ValueError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise _unavailable("ranker", spec, f"could not be loaded ({first[:160]})") from None
    info = ModelInfo("ranker", spec, weights_sha256([checkpoint]))
    return model.eval(), preprocess, tokenizer, info
