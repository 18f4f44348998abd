"""An open_clip model from a local checkpoint, encoding images and texts in batches.

Weights are never downloaded: the model is either ``local-dir:/folder`` (open_clip's hub
layout: ``open_clip_config.json`` + weights) or an open_clip name with ``checkpoint`` = a local
state-dict file (plus ``model_config``, a JSON registered with ``open_clip.add_model_config``,
for architectures open_clip does not ship). Embeddings come back L2-normalised as float32
numpy arrays, so a cosine is a dot product. On cuda the forward passes run under bf16
autocast (``cuda_precision``); on cpu in fp32.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from webweave.annotation.config import ClipModelConfig
from webweave.schemas.config import ConfigError

LOCAL_DIR = "local-dir:"


@dataclass
class ClipEncoder:
    """A loaded model with its preprocessing and tokenizer (see the module docstring)."""

    model: Any
    preprocess: Any
    tokenizer: Any
    device: str
    autocast_bf16: bool
    batch_size: int
    provenance: dict[str, str] = field(default_factory=dict)

    def encode_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        """One normalised embedding row per image (RGB conversion included)."""
        import torch

        rows = []
        for start in range(0, len(images), self.batch_size):
            batch = [
                self.preprocess(im.convert("RGB")) for im in images[start : start + self.batch_size]
            ]
            pixels = torch.stack(batch).to(self.device)
            with torch.inference_mode(), self._autocast():
                rows.append(self._normalised(self.model.encode_image(pixels)))
        return np.concatenate(rows) if rows else np.zeros((0, self.dim), np.float32)

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        """One normalised embedding row per text (truncated to the model's context)."""
        import torch

        rows = []
        for start in range(0, len(texts), self.batch_size):
            tokens = self.tokenizer(list(texts[start : start + self.batch_size])).to(self.device)
            with torch.inference_mode(), self._autocast():
                rows.append(self._normalised(self.model.encode_text(tokens)))
        return np.concatenate(rows) if rows else np.zeros((0, self.dim), np.float32)

    @property
    def dim(self) -> int:
        return int(self.model.visual.output_dim)

    @property
    def input_side(self) -> int:
        """The image side the model sees (pixels), e.g. 224."""
        size = self.model.visual.image_size
        return int(min(size) if isinstance(size, tuple | list) else size)

    def _autocast(self):
        import contextlib

        import torch

        if self.autocast_bf16:
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    @staticmethod
    def _normalised(features) -> np.ndarray:
        import torch

        features = torch.nn.functional.normalize(features.float(), dim=-1)
        return features.cpu().numpy().astype(np.float32)


def resolve_device(requested: str) -> str:
    """``auto`` → cuda when torch sees a GPU, else cpu; ``cuda`` without one is a user error."""
    import torch

    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda: torch sees no CUDA device on this machine")
    return requested


def load_clip(config: ClipModelConfig, device: str | None = None) -> ClipEncoder:
    """The model of ``annotation_clip:`` (``device`` overrides its ``device`` key)."""
    import open_clip
    import torch

    device = resolve_device(device or config.device)
    if config.model_config:
        if not Path(config.model_config).is_file():
            raise ConfigError(f"annotation_clip.model_config {config.model_config} is not a file")
        open_clip.add_model_config(config.model_config)
    if config.model.startswith(LOCAL_DIR):
        folder = Path(config.model[len(LOCAL_DIR) :])
        if not (folder / "open_clip_config.json").is_file():
            raise ConfigError(f"annotation_clip.model {config.model}: no open_clip_config.json")
        model, _, preprocess = open_clip.create_model_and_transforms(config.model, device=device)
        weights = sorted(p for p in folder.iterdir() if p.suffix in (".safetensors", ".bin", ".pt"))
        checksum = _sha256(weights[0]) if weights else ""
    else:
        if not config.checkpoint:
            raise ConfigError(
                f"annotation_clip.checkpoint is not set: webweave never downloads weights; point "
                f"it to a local open_clip checkpoint of {config.model} (or use local-dir:FOLDER)"
            )
        if not Path(config.checkpoint).is_file():
            raise ConfigError(f"annotation_clip.checkpoint {config.checkpoint} is not a file")
        model, _, preprocess = open_clip.create_model_and_transforms(
            config.model, pretrained=config.checkpoint, device=device
        )
        checksum = _sha256(Path(config.checkpoint))
    model.eval()
    tokenizer = open_clip.get_tokenizer(config.model)
    autocast = device == "cuda" and config.cuda_precision == "bf16"
    provenance = {
        "model": config.model,
        "checkpoint": config.checkpoint or "",
        "checkpoint_sha256": checksum,
        "open_clip": importlib.metadata.version("open_clip_torch"),
        "torch": torch.__version__,
        "device": device,
        "precision": "bf16" if autocast else "fp32",
    }
    return ClipEncoder(
        model, preprocess, tokenizer, device, autocast, config.batch_size, provenance
    )


def model_label(provenance: dict[str, str]) -> str:
    """Short provenance string for a table column: ``NAME@sha256:<12 hex>``."""
    return f"{provenance['model']}@sha256:{provenance['checkpoint_sha256'][:12]}"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
