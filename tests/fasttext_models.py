"""Tiny real fastText supervised models, written in fastText's own binary format for tests.

No package here can train a fastText model (``fasttext-predict`` only predicts, and the
training ``fasttext`` wheels install the same ``fasttext`` module), so tests that need a model
with other labels than lid.176's (GlotLID's and OpenLID's ``__label__xxx_Scrp``) write one:
the exact layout ``FastText::saveModel`` writes (fastText 0.9.2, file format version 12:
magic and version, ``Args``, ``Dictionary``, the input matrix, the output matrix), read back
by the real loader (``fasttext.load_model``) and predicting with the real softmax model.

The model is a bag of words without subwords or word n-grams (``minn = maxn = 0``,
``bucket = 0``, ``wordNgrams = 1``): each known word's input vector points at one label, so a
text's top label is the label most of its known words point at (softmax probability ~1 for
an unambiguous text), and a text with no known word gets no label at all.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

MAGIC, VERSION = 793712314, 12
LOSS_SOFTMAX, MODEL_SUPERVISED = 3, 3
WORD, LABEL = 0, 1
EOS = "</s>"
LABEL_PREFIX = "__label__"


def write_model(path: Path, words: dict[str, str], strength: float = 20.0) -> Path:
    """A fastText model file at ``path`` whose vocabulary is ``words`` (word → label, the label
    without ``__label__``); its labels are the distinct labels of ``words``, in order."""
    labels = list(dict.fromkeys(words.values()))
    vocabulary = [EOS, *words]
    dim = len(labels)
    inputs = np.zeros((len(vocabulary), dim), dtype=np.float32)
    for row, word in enumerate(vocabulary[1:], start=1):
        inputs[row, labels.index(words[word])] = strength
    outputs = np.eye(len(labels), dim, dtype=np.float32)
    args = struct.pack("<12id", dim, 5, 5, 1, 5, 1, LOSS_SOFTMAX, MODEL_SUPERVISED, 0, 0, 0, 100,
                       1e-4)  # fmt: skip
    entries = [(word, WORD) for word in vocabulary] + [
        (LABEL_PREFIX + lab, LABEL) for lab in labels
    ]
    # pruneidx_size -1: not pruned (a non-quantised model with a pruned dictionary is refused)
    dictionary = struct.pack("<iiiqq", len(entries), len(vocabulary), len(labels), len(entries), -1)
    for name, kind in entries:
        dictionary += name.encode("utf-8") + b"\0" + struct.pack("<qb", 1, kind)
    with open(path, "wb") as out:
        out.write(struct.pack("<ii", MAGIC, VERSION) + args + dictionary)
        for matrix in (inputs, outputs):
            out.write(b"\0")  # not quantised
            out.write(struct.pack("<qq", *matrix.shape) + matrix.tobytes())
    return path
