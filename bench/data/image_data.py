"""The in-memory dataset every loader returns: uint8 images, labels, class names and a fingerprint."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ImageData:
    """A whole labeled image dataset in memory: uint8 images N x H x W x C (C = 1 or 3)."""

    name: str
    images: np.ndarray
    labels: np.ndarray
    class_names: tuple[str, ...]
    fingerprint: str
    source: str
    allow_flip: bool = True  # horizontal flips keep labels (not for digits or text)
    default_resolution: int = 64
    # Side of the images as captured (median shorter side for user folders): the questionnaire's
    # input_resolution. None when unknown.
    native_resolution: int | None = None
    ignored: tuple[str, ...] = ()  # non-image files found (user folders)
    skipped: tuple[str, ...] = ()  # unreadable images, with the reason
    # User folders: image files the folder held, and how many were decoded into ``images``
    # (fewer when a train_limit asked for a stratified subset). None for built-ins.
    files_total: int | None = None
    files_used: int | None = None
    intensity: str = ""  # how high-bit-depth images were scaled to 0..255 ("" when there were none)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def __len__(self) -> int:
        return len(self.labels)


def fingerprint_arrays(images: np.ndarray, labels: np.ndarray, class_names: tuple[str, ...]) -> str:
    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(images).tobytes())
    digest.update(np.ascontiguousarray(labels, dtype=np.int64).tobytes())
    digest.update("\0".join(class_names).encode())
    return digest.hexdigest()[:16]


def from_arrays(name: str, images: np.ndarray, labels: np.ndarray, classes: tuple[str, ...], **meta) -> ImageData:
    if images.ndim == 3:
        images = images[..., None]
    meta.setdefault("native_resolution", int(min(images.shape[1:3])))
    return ImageData(
        name, images, labels.astype(np.int64), classes, fingerprint_arrays(images, labels, classes), **meta
    )
