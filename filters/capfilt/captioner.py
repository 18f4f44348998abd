"""Synthetic captions as BLIP's CapFilt samples them, reproducible per caption.

One prompt (``a picture of ``) for the whole batch, tokenised once: BOS ``[DEC]`` replaces
``[CLS]`` and the trailing ``[SEP]`` is dropped, as ``BlipForConditionalGeneration.generate``
does (one prompt avoids its padded-batch pitfall, reference capfilt.md §3). The vision tower
runs once per image; its output is repeated for the K captions of the image (consecutive rows,
as transformers expands them), and the text decoder samples with ``sampling.py``'s per-caption
generators. Only the generated tokens are decoded, so the prompt is never part of a caption.
"""

from __future__ import annotations

import torch

from webweave.filters.capfilt.config import Decoding
from webweave.filters.capfilt.sampling import row_uniforms, sampling_processors


class Captioner:
    """K captions per image from a ``BlipForConditionalGeneration`` and its processor."""

    def __init__(self, model, processor, decoding: Decoding, captions_per_image: int, seed: int):
        self.model = model
        self.tokenizer = processor.tokenizer
        self.decoding = decoding
        self.captions_per_image = captions_per_image
        self.seed = seed
        size = processor.image_processor.size
        self.image_size = (size["height"], size["width"])
        self.mean = processor.image_processor.image_mean
        self.std = processor.image_processor.image_std
        text_config = model.config.text_config
        prompt = self.tokenizer(decoding.prompt, return_tensors="pt").input_ids
        prompt[:, 0] = text_config.bos_token_id
        self.prompt_ids = prompt[:, :-1]  # drop [SEP]
        self.eos_token_id = text_config.sep_token_id
        self.pad_token_id = text_config.pad_token_id

    def caption(self, pixels: torch.Tensor, pair_ids: list[str]) -> list[list[str]]:
        """For each image (row of ``pixels``), its K captions, prompt stripped."""
        keys = [(pair_id, k) for pair_id in pair_ids for k in range(self.captions_per_image)]
        uniforms = row_uniforms(self.seed, keys, self.decoding.max_length)
        processors = sampling_processors(
            self.decoding.top_k,
            self.decoding.top_p,
            uniforms.to(pixels.device),
            self.prompt_ids.shape[1],
        )
        tokens = self._generate(pixels, processors)
        texts = self.tokenizer.batch_decode(
            tokens[:, self.prompt_ids.shape[1] :], skip_special_tokens=True
        )
        texts = [text.strip() for text in texts]
        k = self.captions_per_image
        return [texts[i * k : (i + 1) * k] for i in range(len(pair_ids))]

    def _generate(self, pixels: torch.Tensor, processors) -> torch.Tensor:
        """Token ids (prompt included) for ``batch × K`` rows; greedy over ``processors``."""
        embeds = self.model.vision_model(pixel_values=pixels).last_hidden_state
        embeds = embeds.repeat_interleave(self.captions_per_image, dim=0)
        rows = embeds.shape[0]
        input_ids = self.prompt_ids.to(pixels.device).repeat(rows, 1)
        return self.model.text_decoder.generate(
            input_ids=input_ids,
            attention_mask=torch.ones_like(input_ids),
            encoder_hidden_states=embeds,
            encoder_attention_mask=torch.ones(
                embeds.shape[:-1], dtype=torch.long, device=embeds.device
            ),
            eos_token_id=self.eos_token_id,
            pad_token_id=self.pad_token_id,
            do_sample=False,
            num_beams=1,
            max_length=self.decoding.max_length,
            min_length=self.decoding.min_length,
            repetition_penalty=self.decoding.repetition_penalty,
            logits_processor=processors,
        )
