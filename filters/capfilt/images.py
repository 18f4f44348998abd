"""Image bytes → model inputs on CPU (threads), then normalised pixels on the device.

CPU side (``decode_rgb``, ``blip_array``) runs in decoding threads while the GPU works on the
previous batch; Pillow releases the GIL while decoding and resizing. It produces uint8 arrays
(4x less to copy than float32). The device side (``pixel_values``) rescales and normalises.

Preprocessing is BLIP's own: the original code resizes the PIL image to a square with bicubic
interpolation (torchvision ``Resize((384, 384), BICUBIC)`` on a PIL image is PIL's resize),
then ``ToTensor`` and CLIP mean/std; transformers' ``BlipImageProcessorPil`` does the same
(test_capfilt_models.py compares them). No EXIF rotation, as in BLIP.

A broken image raises ``StageError`` with the reason the dead letter records:
``image_too_large`` (bytes), ``decompression_bomb`` (header pixels), ``not_an_image``,
``truncated_image``.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from webweave.filters.decision import StageError


def decode_rgb(data: bytes, max_bytes: int, max_pixels: int) -> Image.Image:
    """The fully decoded RGB image (first frame), or ``StageError`` with the reason."""
    if len(data) > max_bytes:
        raise StageError(f"{len(data)} bytes > max_image_bytes {max_bytes}", "image_too_large")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as error:
        raise StageError(str(error)[:200], "decompression_bomb") from None
    except UnidentifiedImageError:
        raise StageError("Pillow cannot identify the image format", "not_an_image") from None
    except (OSError, ValueError, SyntaxError) as error:
        raise StageError(f"not an image: {error}"[:200], "not_an_image") from None
    width, height = image.size
    if width * height > max_pixels:
        raise StageError(f"{width}x{height} > max_image_pixels {max_pixels}", "decompression_bomb")
    try:
        image.load()
        return image.convert("RGB")
    except Image.DecompressionBombError as error:
        raise StageError(str(error)[:200], "decompression_bomb") from None
    except (OSError, ValueError, SyntaxError, EOFError) as error:
        raise StageError(f"cannot decode: {error}"[:200], "truncated_image") from None


def blip_array(image: Image.Image, height: int, width: int) -> np.ndarray:
    """BLIP's resize (PIL bicubic to the model's square) as an (H, W, 3) uint8 array."""
    resized = image.resize((width, height), Image.Resampling.BICUBIC)
    return np.asarray(resized, dtype=np.uint8)


def pixel_values(
    arrays: Sequence[np.ndarray],
    mean: Sequence[float],
    std: Sequence[float],
    device: torch.device,
    dtype: torch.dtype,
) -> torch.Tensor:
    """(B, 3, H, W) normalised pixels on ``device`` from uint8 (H, W, 3) arrays."""
    batch = torch.from_numpy(np.stack(arrays)).to(device, non_blocking=True)
    pixels = batch.permute(0, 3, 1, 2).float().div_(255.0)
    mean_t = torch.tensor(mean, device=device).view(1, 3, 1, 1)
    std_t = torch.tensor(std, device=device).view(1, 3, 1, 1)
    return pixels.sub_(mean_t).div_(std_t).to(dtype)
