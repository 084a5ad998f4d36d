"""Loading a dataset by name or path: a built-in one from the catalog, or a user's folder or zip of class folders."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from bench.data.catalog import DATASETS
from bench.data.image_data import ImageData
from bench.data.images import load_images, safe_extract, scan_folder
from bench.errors import BenchInputError, unknown_name
from bench.paths import cache_dir


def load_dataset(name_or_path: str, image_size: int = 128, work_dir: Path | None = None) -> ImageData:
    """Load a built-in dataset by name, or a user's folder or .zip of class sub-folders.

    ``image_size`` is the side user images are decoded to (built-ins keep their size).
    Zips are extracted into ``work_dir`` (a fresh folder under the cache by default).

    >>> load_dataset("digits").num_classes
    10
    """
    if name_or_path in DATASETS:
        return DATASETS[name_or_path].load()
    path = check_source(name_or_path)
    if path.is_file():
        target = work_dir or cache_dir() / "extracted" / _file_digest(path)
        if not (target / ".complete").exists():
            safe_extract(path, target)
            (target / ".complete").touch()
        return _load_folder(target, image_size, display=str(path))
    return _load_folder(path, image_size, display=str(path))


def check_source(name_or_path: str) -> Path:
    """Cheap checks on a dataset that is not built in: it exists, and is a folder or a .zip."""
    path = Path(name_or_path)
    if not path.exists():
        if os.sep in name_or_path or name_or_path.endswith(".zip"):
            raise BenchInputError(f"dataset {name_or_path}: no such file or folder")
        raise unknown_name("dataset", name_or_path, [*DATASETS, "a folder path", "a .zip path"])
    if path.is_file() and path.suffix.lower() != ".zip":
        raise BenchInputError(f"dataset {path}: a file, but not a .zip; expected a folder or a .zip of one")
    return path


def _load_folder(root: Path, image_size: int, display: str) -> ImageData:
    scan = scan_folder(root)
    digest = hashlib.sha256()
    for file_path, label in scan.files:
        digest.update(file_path.read_bytes())
        digest.update(label.to_bytes(4, "little"))
    digest.update(f"{image_size}".encode())
    key = digest.hexdigest()[:16]
    decoded = load_images(scan, image_size)
    data = ImageData(
        name=Path(display).name,
        images=decoded.images,
        labels=decoded.labels,
        class_names=scan.class_names,
        fingerprint=key,
        source=display,
        default_resolution=min(image_size, 128),
        native_resolution=decoded.native_side,
        ignored=tuple(scan.ignored),
        skipped=tuple(decoded.skipped),
    )
    check_dataset(data)
    return data


def check_dataset(data: ImageData) -> None:
    """Reject datasets no fair comparison can be run on, saying which class or file is at fault."""
    skipped_note = (
        f" ({len(data.skipped)} unreadable images skipped: {'; '.join(data.skipped[:5])})" if data.skipped else ""
    )
    if len(data) == 0:
        raise BenchInputError(f"dataset {data.source}: no readable images{skipped_note}")
    if data.num_classes < 2:
        raise BenchInputError(
            f"dataset {data.source}: only one class ({data.class_names[0] if data.class_names else 'none'}); "
            "at least 2 class sub-folders are needed"
        )
    counts = np.bincount(data.labels, minlength=data.num_classes)
    thin = [f"{name} ({count})" for name, count in zip(data.class_names, counts, strict=True) if count < 2]
    if thin:
        raise BenchInputError(
            f"dataset {data.source}: every class needs at least 2 readable images; too few in: {', '.join(thin)}"
            f"{skipped_note}"
        )


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()[:16]
