"""Loading a dataset by name or path: a built-in one from the catalog, or a user's folder or zip of class folders.

A user folder is listed and labelled first (cheap: names only), then only the files a run
needs are decoded: with a ``train_limit``, a seeded stratified subset big enough for the
held-out sets and that many training images (see :func:`bench.data.splits.files_needed`).
Every decoded file that fails is skipped and named (CLI and reports); files outside the subset
are never opened, so they are neither judged nor listed as skipped: the reports say how many
were decoded of how many found (``files_used`` of ``files_total``). The decode is bounded by
that subset, whatever the folder's size; a trial then stages only the images it uses
(:func:`bench.train.trial.prepare`).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from advisor.constraints import excerpt
from bench.data.archives import extract_once
from bench.data.catalog import DATASETS
from bench.data.image_data import ImageData, matched_resolution
from bench.data.images import intensity_scale, load_images, scan_folder
from bench.data.splits import files_needed
from bench.errors import BenchInputError, unknown_name
from bench.paths import cache_dir


def load_dataset(
    name_or_path: str,
    image_size: int = 128,
    work_dir: Path | None = None,
    train_limit: int | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> ImageData:
    """Load a built-in dataset by name, or a user's folder or .zip of class sub-folders.

    ``image_size`` is the side user images are decoded to (built-ins keep their size).
    Zips are extracted once, into ``work_dir`` or a folder under the cache named by the
    archive's content. ``train_limit`` (the most training examples any trial will use)
    lets a big user folder be decoded in part; ``should_stop`` is asked often while files
    are extracted or decoded and raises :class:`~bench.data.images.DecodeCancelled`.

    >>> load_dataset("digits").num_classes
    10
    """
    if name_or_path in DATASETS:
        return DATASETS[name_or_path].load()
    if train_limit is not None and (
        isinstance(train_limit, bool) or not isinstance(train_limit, int) or train_limit < 1
    ):
        raise BenchInputError(f"train_limit: expected a whole number >= 1, or None for all; got {excerpt(train_limit)}")
    path = check_source(name_or_path)
    if path.is_file():
        folder = extract_once(path, work_dir, cache_dir() / "extracted", should_stop=should_stop)
        return _load_folder(folder, image_size, str(path), train_limit, should_stop)
    return _load_folder(path, image_size, str(path), train_limit, should_stop)


def check_source(name_or_path: str) -> Path:
    """Cheap checks on a dataset that is not built in: it exists, and is a folder or a .zip."""
    if not isinstance(name_or_path, str) or not name_or_path.strip():
        raise BenchInputError(
            f"dataset: expected a built-in name ({', '.join(DATASETS)}), a folder path or a .zip path; "
            f"got {excerpt(name_or_path)}"
        )
    path = Path(name_or_path)
    try:
        exists = path.exists()
    except (OSError, ValueError):  # a name too long for the file system, or a NUL byte
        exists = False
    if not exists:
        if os.sep in name_or_path or name_or_path.endswith(".zip") or len(name_or_path) > 200:
            raise BenchInputError(f"dataset {excerpt(name_or_path)}: no such file or folder")
        raise unknown_name("dataset", name_or_path, [*DATASETS, "a folder path", "a .zip path"])
    if path.is_file() and path.suffix.lower() != ".zip":
        raise BenchInputError(f"dataset {path}: a file, but not a .zip; expected a folder or a .zip of one")
    if not path.is_file() and not path.is_dir():
        raise BenchInputError(f"dataset {path}: not a regular file or folder; expected a folder or a .zip of one")
    return path


def _load_folder(
    root: Path, image_size: int, display: str, train_limit: int | None, should_stop: Callable[[], bool] | None
) -> ImageData:
    scan = scan_folder(root, should_stop=should_stop, name=display)
    sizes = np.bincount([label for _, label in scan.files], minlength=len(scan.class_names))
    per_class = files_needed(sizes, train_limit) if train_limit is not None else None
    if per_class is not None and np.array_equal(per_class, sizes):
        per_class = None  # every file is needed anyway
    decoded = load_images(scan, image_size, per_class, should_stop, intensity=intensity_scale())
    data = ImageData(
        name=Path(display).name,
        images=decoded.images,
        labels=decoded.labels,
        class_names=scan.class_names,
        fingerprint=_fingerprint(decoded.images, decoded.labels, scan.class_names),
        source=display,
        # Matched to the images as captured; never above the side they were decoded at.
        default_resolution=min(image_size, matched_resolution(decoded.native_side or image_size)),
        native_resolution=decoded.native_side,
        ignored=tuple(scan.ignored),
        skipped=tuple(decoded.skipped),
        files_total=len(scan.files),
        files_used=len(decoded.labels),
        intensity=decoded.intensity,
    )
    check_dataset(data)
    return data


def _fingerprint(images: np.ndarray, labels: np.ndarray, class_names: tuple[str, ...]) -> str:
    # The decoded pixels are what every cache keyed on the fingerprint depends on; the files
    # themselves are never read twice (a 4 GB file is not hashed whole).
    digest = hashlib.sha256()
    digest.update(repr(images.shape).encode())
    for start in range(0, len(images), 4096):
        digest.update(np.ascontiguousarray(images[start : start + 4096]).data)
    digest.update(np.ascontiguousarray(labels, dtype=np.int64).tobytes())
    digest.update("\0".join(class_names).encode())
    return digest.hexdigest()[:16]


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
