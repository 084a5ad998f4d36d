"""Helpers that write small real image folders for the tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def write_class_folder(root: Path, classes: dict[str, int], size: int = 24, fmt: str = "png", seed: int = 0) -> Path:
    """Write ``count`` images per class: each class a distinct colour blob, so a model can learn it."""
    rng = np.random.default_rng(seed)
    for index, (name, count) in enumerate(classes.items()):
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(count):
            pixels = rng.integers(0, 60, (size, size, 3), dtype=np.uint8)
            channel = index % 3
            pixels[size // 4 : 3 * size // 4, size // 4 : 3 * size // 4, channel] = 200 + index * 10 % 50
            Image.fromarray(pixels).save(folder / f"img{i}.{fmt}")
    return root
