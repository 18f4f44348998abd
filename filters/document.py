"""The interleaved document: OBELICS-style parallel lists of texts and images.

At every position exactly one of ``texts[i]`` and ``images[i]`` is set; ``image_metadata[i]``
is set exactly where ``images[i]`` is. This is the invariant every stage keeps and every
writer checks (``Document.check_interleaving``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class ImageCandidate:
    """One URL an ``<img>`` could load (``filters/image_sources.py`` says in which order)."""

    url: str  # absolute, resolved like the document's image URL
    original_src: str  # the value as written in the HTML
    attribute: str  # src, srcset (also a <picture> <source>'s), data-src, data-srcset, ...
    descriptor_width: int | None = None  # srcset "480w"
    descriptor_density: float | None = None  # srcset "2x"; both None: no descriptor (1x)

    def to_row(self) -> dict:
        return {
            "url": self.url,
            "original_src": self.original_src,
            "attribute": self.attribute,
            "descriptor_width": self.descriptor_width,
            "descriptor_density": self.descriptor_density,
        }


@dataclass(slots=True)
class ImageMetadata:
    """What the page says about one image, before anything is fetched."""

    original_src: str  # the attribute value as written in the HTML
    source_attribute: str  # which attribute it came from: src, srcset, data-src, ...
    alt_text: str | None = None
    width_attr: int | None = None  # rendered size from the HTML attributes, when given
    height_attr: int | None = None
    caption: str | None = None  # text of the <figcaption> of the image's <figure>
    # Every URL the image could load, preferred first (candidates[0].url is the image URL).
    candidates: list[ImageCandidate] = field(default_factory=list)

    def to_row(self) -> dict:
        return {
            "alt_text": self.alt_text,
            "caption": self.caption,
            "width_attr": self.width_attr,
            "height_attr": self.height_attr,
            "original_src": self.original_src,
            "source_attribute": self.source_attribute,
            "candidates": [candidate.to_row() for candidate in self.candidates],
        }


@dataclass(slots=True)
class Document:
    """One web page turned into reading-order text paragraphs and images."""

    texts: list[str | None] = field(default_factory=list)
    images: list[str | None] = field(default_factory=list)
    image_metadata: list[ImageMetadata | None] = field(default_factory=list)
    title: str | None = None
    # Images seen in the HTML but not placed in the document, by reason (data_uri, ...).
    dropped_images: Counter = field(default_factory=Counter)

    def add_text(self, text: str) -> None:
        self.texts.append(text)
        self.images.append(None)
        self.image_metadata.append(None)

    def add_image(self, url: str, metadata: ImageMetadata) -> None:
        self.texts.append(None)
        self.images.append(url)
        self.image_metadata.append(metadata)

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def num_images(self) -> int:
        return sum(1 for image in self.images if image is not None)

    @property
    def num_texts(self) -> int:
        return sum(1 for text in self.texts if text is not None)

    def joined_text(self) -> str:
        """All text paragraphs joined the way OBELICS filters see them."""
        return "\n\n".join(text for text in self.texts if text is not None)

    def check_interleaving(self) -> None:
        """Raise ValueError unless the parallel-list invariant holds."""
        check_interleaving(self.texts, self.images, self.image_metadata)


def check_interleaving(texts: list, images: list, image_metadata: list | None = None) -> None:
    """Raise ValueError unless exactly one of texts[i], images[i] is set at every position."""
    if len(texts) != len(images):
        raise ValueError(f"texts has {len(texts)} positions, images has {len(images)}")
    if image_metadata is not None and len(image_metadata) != len(images):
        raise ValueError(
            f"image_metadata has {len(image_metadata)} positions, images has {len(images)}"
        )
    for i, (text, image) in enumerate(zip(texts, images, strict=True)):
        if (text is None) == (image is None):
            raise ValueError(f"position {i}: exactly one of text and image must be set")
        if image_metadata is not None and (image_metadata[i] is None) != (image is None):
            raise ValueError(f"position {i}: image_metadata must be set exactly at images")
