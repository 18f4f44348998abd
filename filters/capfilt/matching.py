"""BLIP ITM p(match) with one vision pass per image shared by all of the image's texts.

``BlipForImageTextRetrieval.forward`` runs the vision tower for every (image, text) row, so
scoring the web text and K captions of an image costs K + 1 vision passes. Here the tower runs
once per image; each text then runs the text encoder with that image's embeddings as
``encoder_hidden_states`` and the ITM head, exactly the rest of ``forward``
(test_capfilt_models.py checks the equality). p(match) = softmax(logits)[:, 1] (index 1 =
match, repo salesforce/BLIP ``blip_itm.py``); texts are truncated to 35 tokens and padded to
that length, as BLIP tokenises them (the fixed length also keeps a row's result independent
of the longest text beside it).

First token: ``blip_itm.py`` and transformers feed ``[CLS]``; BLIP's retrieval fine-tuning
(``blip_retrieval.py``), which produced the ITM checkpoints, put ``[ENC]`` there
(huggingface/transformers#25629). ``capfilt.itm_first_token`` chooses; ``cls`` is the default
so scores equal transformers' own ``forward``.
"""

from __future__ import annotations

import torch

from webweave.schemas.config import ConfigError


class ItmFilter:
    """p(match) of (image, text) rows from a ``BlipForImageTextRetrieval``."""

    def __init__(self, model, processor, max_tokens: int, first_token: str = "cls"):
        self.model = model
        self.tokenizer = processor.tokenizer
        self.max_tokens = max_tokens
        self.first_token_id = None  # keep the tokenizer's [CLS]
        if first_token == "enc":
            enc = self.tokenizer.convert_tokens_to_ids("[ENC]")
            if enc is None or enc == self.tokenizer.unk_token_id:
                raise ConfigError(
                    "capfilt.itm_first_token is enc but the filter has no [ENC] token"
                )
            self.first_token_id = enc
        size = processor.image_processor.size
        self.image_size = (size["height"], size["width"])
        self.mean = processor.image_processor.image_mean
        self.std = processor.image_processor.image_std

    def image_embeds(self, pixels: torch.Tensor) -> torch.Tensor:
        """The vision tower's last hidden state, (images, patches + 1, width)."""
        return self.model.vision_model(pixel_values=pixels).last_hidden_state

    def tokens(self, texts: list[str], device: torch.device) -> dict[str, torch.Tensor]:
        encoded = self.tokenizer(
            texts,
            padding="max_length",
            truncation=True,
            max_length=self.max_tokens,
            return_tensors="pt",
        )
        if self.first_token_id is not None:
            encoded["input_ids"][:, 0] = self.first_token_id
        return {k: encoded[k].to(device) for k in ("input_ids", "attention_mask")}

    def match_probability(
        self, embeds: torch.Tensor, image_index: list[int], texts: list[str]
    ) -> list[float]:
        """p(match) of each text with image ``embeds[image_index[i]]``, as float32 values."""
        if not texts:
            return []
        device = embeds.device
        index = torch.tensor(image_index, device=device)
        encoder_states = embeds.index_select(0, index)
        tokens = self.tokens(texts, device)
        hidden = self.model.text_encoder(
            input_ids=tokens["input_ids"],
            attention_mask=tokens["attention_mask"],
            encoder_hidden_states=encoder_states,
            encoder_attention_mask=torch.ones(
                encoder_states.shape[:-1], dtype=torch.long, device=device
            ),
        ).last_hidden_state
        logits = self.model.itm_head(hidden[:, 0, :])
        return torch.softmax(logits.float(), dim=1)[:, 1].cpu().tolist()
