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
    default_resolution: int = 64  # the pretrained backbones' training side (from_arrays: matched_resolution)
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


# The side pretrained backbones train at, matched to the data rather than a fixed upsampling: the images'
# own side rounded up to the backbones' stride (32 for every registered one), at least MIN_TRAINING_SIDE,
# at most MAX_TRAINING_SIDE. Measured with scripts/resolution_tradeoff.py (EfficientNet-Lite0, 300 labels,
# 3 epochs): at 32 px the probe and partial fine-tuning lost 5-15 points against 64 px on digits and
# Fashion-MNIST (a 32-px input is a 1x1 map after the stride); 96 px gained 1-2 points over 64 px for
# about 2x the time per image.
BACKBONE_STRIDE = 32
MIN_TRAINING_SIDE = 64
MAX_TRAINING_SIDE = 128


def matched_resolution(native_side: int) -> int:
    """The training side for images of ``native_side`` pixels (the shorter side as captured).

    >>> matched_resolution(8), matched_resolution(28), matched_resolution(64), matched_resolution(70), matched_resolution(500)
    (64, 64, 64, 96, 128)
    """
    side = -(-int(native_side) // BACKBONE_STRIDE) * BACKBONE_STRIDE
    return min(MAX_TRAINING_SIDE, max(MIN_TRAINING_SIDE, side))


def from_arrays(name: str, images: np.ndarray, labels: np.ndarray, classes: tuple[str, ...], **meta) -> ImageData:
    if images.ndim == 3:
        images = images[..., None]
    meta.setdefault("native_resolution", int(min(images.shape[1:3])))
    meta.setdefault("default_resolution", matched_resolution(meta["native_resolution"]))
    return ImageData(
        name, images, labels.astype(np.int64), classes, fingerprint_arrays(images, labels, classes), **meta
    )
