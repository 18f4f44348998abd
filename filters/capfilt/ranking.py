"""BLIP-2's caption ranking: CLIP cosine similarity of each candidate text with its image.

Paper BLIP-2 §3.4 ranks the 10 synthetic captions and the web text of an image by CLIP
ViT-L/14 similarity and keeps the top 2. One image pass per image; texts are open_clip-
tokenised (77 tokens, truncated). Images use the ranker's own open_clip transform (resize the
shortest side, centre crop, CLIP mean/std), applied on CPU in the decoding threads.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F  # noqa: N812 - the usual name

from webweave.filters.capfilt.batch_invariance import MIN_ROWS


class ClipRanker:
    """Cosine similarity of (image, text) rows from an open_clip model."""

    def __init__(self, model, preprocess, tokenizer, pad_rows: bool):
        self.model = model
        self.preprocess = preprocess
        self.tokenizer = tokenizer
        # open_clip projects with ``x @ proj`` (no nn.Linear to guard): on CPU fp32, pad the
        # batch instead so a row's features do not depend on the rows beside it.
        self.pad_rows = pad_rows

    def image_input(self, image) -> torch.Tensor:
        """(3, H, W) float pixels for one PIL image (CPU, thread-safe)."""
        return self.preprocess(image)

    def _padded(self, batch: torch.Tensor) -> torch.Tensor:
        if not self.pad_rows or batch.shape[0] >= MIN_ROWS:
            return batch
        padding = batch.new_zeros((MIN_ROWS - batch.shape[0], *batch.shape[1:]))
        return torch.cat([batch, padding])

    def similarity(
        self, images: torch.Tensor, image_index: list[int], texts: list[str]
    ) -> list[float]:
        """Cosine of text ``i`` with image ``images[image_index[i]]``, as float32 values."""
        if not texts:
            return []
        device = images.device
        dtype = next(self.model.parameters()).dtype
        image_features = self.model.encode_image(self._padded(images.to(dtype)))[: len(images)]
        tokens = self.tokenizer(texts).to(device)
        text_features = self.model.encode_text(self._padded(tokens))[: len(texts)]
        image_features = F.normalize(image_features.float(), dim=-1)
        text_features = F.normalize(text_features.float(), dim=-1)
        index = torch.tensor(image_index, device=device)
        paired = image_features.index_select(0, index)
        return (paired * text_features).sum(dim=-1).cpu().tolist()
