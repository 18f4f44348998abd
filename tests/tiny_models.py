"""Tiny randomly initialised models of the real classes, saved like hub checkpoints.

Tests load them by path exactly as a user loads ``Salesforce/blip-*`` or an open_clip
checkpoint: ``from_pretrained(folder)`` / ``open_clip`` ``local-dir:``. Nothing is downloaded.
Each builder is self-contained (its own imports, its own folder), so other areas can add their
own builders here without coupling.

BLIP recipe (reference capfilt.md §3): a real ``BertTokenizerFast`` over a small word list,
built with ``vocab=`` (``vocab_file=`` is silently ignored by transformers 5), ``[DEC]`` added
as BOS and ``[ENC]`` as an extra special token; the text config takes its special ids from the
tokenizer; ``BlipImageProcessor`` at 32 px for a 32-px vision tower.
"""

from __future__ import annotations

import json
from pathlib import Path

# Enough words for prompts, alt texts and captions to be real token ids (not [UNK]).
TINY_WORDS = """
a picture of the an and in on with at to is are this that photo image man woman cat dog
bird car street house tree flower sky water city people person two three red blue green
white black yellow small large old young sitting standing walking near next front top
table chair book computer screen coin clock rocket astronaut coffee cup page text camera
portrait building road sign grass field mountain river boat train plane horse face hand
""".split()

BLIP_IMAGE_SIZE = 32


def tiny_blip_tokenizer():
    from transformers import BertTokenizerFast

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    vocab = {token: i for i, token in enumerate(specials + TINY_WORDS)}
    tokenizer = BertTokenizerFast(vocab=vocab, do_lower_case=True)
    tokenizer.add_special_tokens({"bos_token": "[DEC]", "additional_special_tokens": ["[ENC]"]})
    return tokenizer


def tiny_blip_config(tokenizer, vision_layers: int = 2, text_layers: int = 2):
    from transformers import BlipConfig

    sep = tokenizer.convert_tokens_to_ids("[SEP]")
    text = {
        "vocab_size": len(tokenizer),
        "hidden_size": 32,
        "encoder_hidden_size": 32,
        "num_hidden_layers": text_layers,
        "num_attention_heads": 4,
        "intermediate_size": 37,
        "max_position_embeddings": 64,
        "bos_token_id": tokenizer.convert_tokens_to_ids("[DEC]"),
        "eos_token_id": sep,
        "sep_token_id": sep,
        "pad_token_id": 0,
    }
    vision = {
        "image_size": BLIP_IMAGE_SIZE,
        "patch_size": 8,
        "hidden_size": 32,
        "num_hidden_layers": vision_layers,
        "num_attention_heads": 4,
        "intermediate_size": 37,
    }
    return BlipConfig(text_config=text, vision_config=vision, projection_dim=32,
                      image_text_hidden_size=16)  # fmt: skip


def save_tiny_blip(folder: Path, kind: str, seed: int = 0) -> Path:
    """A tiny ``BlipForConditionalGeneration`` (kind ``captioner``) or
    ``BlipForImageTextRetrieval`` (kind ``filter``) with its ``BlipProcessor``, in ``folder``."""
    import torch
    from transformers import (
        BlipForConditionalGeneration,
        BlipForImageTextRetrieval,
        BlipImageProcessor,
        BlipProcessor,
    )

    model_class = {"captioner": BlipForConditionalGeneration, "filter": BlipForImageTextRetrieval}
    tokenizer = tiny_blip_tokenizer()
    torch.manual_seed(seed)
    model = model_class[kind](tiny_blip_config(tokenizer)).eval()
    if kind == "filter":
        _spread_itm_head(model, tokenizer)
    image_processor = BlipImageProcessor(size={"height": BLIP_IMAGE_SIZE, "width": BLIP_IMAGE_SIZE})
    processor = BlipProcessor(image_processor=image_processor, tokenizer=tokenizer)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


def _spread_itm_head(model, tokenizer) -> None:
    """Recentre and widen the random ITM head so p(match) spreads around 0.5.

    A random head gives nearly the same p(match) for every pair; tests need scores on both
    sides of thresholds. The logit difference (match - no match) is measured on seeded noise
    images and word sequences, then rescaled to mean 0 and standard deviation 3.
    """
    import torch

    generator = torch.Generator().manual_seed(0)
    pixels = torch.rand(8, 3, BLIP_IMAGE_SIZE, BLIP_IMAGE_SIZE, generator=generator) * 4 - 2
    words = torch.randint(5, len(tokenizer), (8, 12), generator=generator)
    texts = [" ".join(tokenizer.convert_ids_to_tokens(row.tolist())) for row in words]
    tokens = tokenizer(texts, padding="max_length", max_length=35, return_tensors="pt")
    with torch.no_grad():
        logits = model(
            input_ids=tokens.input_ids, attention_mask=tokens.attention_mask, pixel_values=pixels
        ).itm_score
        difference = logits[:, 1] - logits[:, 0]
        scale = 3.0 / difference.std().clamp_min(1e-6)
        head = model.itm_head
        head.weight[1] = head.weight[0] + scale * (head.weight[1] - head.weight[0])
        head.bias[1] = head.bias[0] + scale * (head.bias[1] - head.bias[0] - difference.mean())


TINY_CLIP = {
    "embed_dim": 16,
    "vision_cfg": {"image_size": 32, "layers": 2, "width": 32, "patch_size": 8, "head_width": 16},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 2},
}


def save_tiny_open_clip(folder: Path, seed: int = 0) -> Path:
    """A tiny random open_clip ``CLIP`` in the hub layout (``open_clip_config.json`` +
    ``open_clip_model.safetensors``): loads with ``local-dir:FOLDER``; the tokenizer is the
    BPE vocabulary bundled in open_clip (no download)."""
    import open_clip
    import torch
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    model = open_clip.CLIP(**TINY_CLIP)
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(folder / "open_clip_model.safetensors"))
    config = {
        "model_cfg": TINY_CLIP,
        "preprocess_cfg": {
            "mean": [0.48145466, 0.4578275, 0.40821073],
            "std": [0.26862954, 0.26130258, 0.27577711],
        },
    }
    (folder / "open_clip_config.json").write_text(json.dumps(config))
    return folder


def save_tiny_open_clip_checkpoint(folder: Path, seed: int = 0) -> tuple[str, Path, Path]:
    """A tiny random open_clip ``CLIP`` the way reference capfilt.md §3 loads real ones by
    name: ``NAME.json`` (registered with ``open_clip.add_model_config``) plus a state-dict
    file for ``create_model_and_transforms(NAME, pretrained=PATH)``. Returns the model name,
    the config JSON and the checkpoint; the tokenizer is open_clip's bundled BPE."""
    import open_clip
    import torch

    name = f"webweave-tiny-clip-{seed}"
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / f"{name}.json"
    config.write_text(json.dumps(TINY_CLIP))
    torch.manual_seed(seed)
    checkpoint = folder / f"{name}.pt"
    torch.save(open_clip.CLIP(**TINY_CLIP).state_dict(), checkpoint)
    return name, config, checkpoint


def save_tiny_capfilt_models(root: Path) -> dict[str, str]:
    """The three CapFilt models (captioner, ITM filter, open_clip ranker), tiny and random, as
    local folders: what ``--captioner`` / ``--filter`` / ``--ranker`` take."""
    return {
        "captioner": str(save_tiny_blip(root / "captioner", "captioner", seed=0)),
        "filter": str(save_tiny_blip(root / "filter", "filter", seed=1)),
        "ranker": str(save_tiny_open_clip(root / "ranker", seed=2)),
    }


# Real photographs (scikit-image, scikit-learn, matplotlib fixtures) the CapFilt tests caption.
CAPFILT_PHOTOS = [
    "matplotlib/grace_hopper.jpg",
    "skimage/astronaut.png",
    "skimage/camera.png",
    "skimage/chelsea.png",
    "skimage/coffee.png",
    "sklearn/china.jpg",
    "sklearn/flower.jpg",
    "skimage/rocket.jpg",
]
