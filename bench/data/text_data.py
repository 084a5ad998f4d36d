"""The in-memory text dataset every text loader returns: texts, labels, class names and a fingerprint.

It carries the fields the run path reads from :class:`~bench.data.image_data.ImageData`
(labels, class names, fingerprint, source, files total and used, skipped and ignored), so
splits, the suite, the curve and the run's dataset facts work on it unchanged.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TextData:
    """A whole labeled text dataset in memory."""

    name: str
    texts: tuple[str, ...]
    labels: np.ndarray
    class_names: tuple[str, ...]
    fingerprint: str
    source: str
    skipped: tuple[str, ...] = ()  # records left out, each with where and why (empty text, ...)
    ignored: tuple[str, ...] = ()  # files that are not text (user folders)
    notes: tuple[str, ...] = ()  # what was changed and where (texts cut to MAX_TEXT_CHARS)
    files_total: int | None = None
    files_used: int | None = None
    allow_flip: bool = False  # read by nothing on text; kept so data-agnostic code can ask
    intensity: str = ""  # images only (how high-bit-depth files were scaled); the run's dataset facts read it

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def __len__(self) -> int:
        return len(self.labels)


def fingerprint_texts(texts: tuple[str, ...], labels: np.ndarray, class_names: tuple[str, ...]) -> str:
    digest = hashlib.sha256(b"text\0")
    for text in texts:
        digest.update(text.encode("utf-8", "surrogatepass"))
        digest.update(b"\0")
    digest.update(np.ascontiguousarray(labels, dtype=np.int64).tobytes())
    digest.update("\0".join(class_names).encode())
    return digest.hexdigest()[:16]


def from_texts(name: str, texts: list[str], label_names: list[str], source: str, **meta) -> TextData:
    """Build a :class:`TextData` from texts and their label strings (classes sorted by name)."""
    classes = tuple(sorted(set(label_names)))
    index = {name: i for i, name in enumerate(classes)}
    labels = np.array([index[label] for label in label_names], dtype=np.int64)
    texts_tuple = tuple(texts)
    return TextData(name, texts_tuple, labels, classes, fingerprint_texts(texts_tuple, labels, classes), source, **meta)
