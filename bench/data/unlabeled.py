"""Unlabeled in-domain images for self-supervised pretraining (the hybrid arm's pool).

Two sources:

* :func:`load_unlabeled`: a user's folder or .zip of images without labels (``--unlabeled
  PATH``). Images may sit directly in the folder or in sub-folders at any depth up to the
  dataset scanner's limit; zips are checked and extracted by :mod:`bench.data.archives`
  and decoded by :mod:`bench.data.images`, under the same safety rules as labeled
  datasets. The pool is bounded: beyond ``max_images`` a seeded random subset is decoded
  (never the whole folder) and the pool says so.
* :func:`holdout_pool`: for a built-in dataset, the training-split images that are not in
  the labeled subsample, labels hidden. Validation and test images never enter a pool.

Either way the pool's images have the labeled data's side and channel count, and every
conversion made to get there is listed in ``notes``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.data.archives import extract_once
from bench.data.image_data import ImageData
from bench.data.images import IMAGE_SUFFIXES, MAX_SCAN_DEPTH, DecodeCancelled, FolderScan, load_images
from bench.data.splits import Splits
from bench.errors import ConfigError
from bench.paths import cache_dir

FIELD = "unlabeled"  # the config field these messages are about (the CLI says --unlabeled)
DEFAULT_MAX_IMAGES = 20_000
MAX_POOL_BYTES = 1 << 30  # decoded pixels held in memory, whatever max_images says (20,000 at 128 px RGB)
SEED = 0  # the subset of an over-large pool is the same for every arm and seed
LUMA = np.array([0.299, 0.587, 0.114])  # ITU-R BT.601, as PIL's convert("L")


@dataclass(frozen=True)
class UnlabeledPool:
    """Images without labels, shaped like the labeled data: uint8 N x H x W x C."""

    images: np.ndarray
    source: str
    fingerprint: str
    skipped: tuple[str, ...] = ()  # unreadable images, with the reason
    ignored: tuple[str, ...] = ()  # non-image files, links, too-deep folders
    notes: tuple[str, ...] = ()  # what was done to fit the labeled data: subsampling, channel conversion
    found: int = 0  # image files found (before any subsampling)
    native_side: int | None = None  # median shorter side of the files as stored
    indices: np.ndarray | None = None  # holdout pools: which dataset images (all training-split)

    def __len__(self) -> int:
        return len(self.images)


def load_unlabeled(
    path: str | Path | None,
    image_size: int,
    like: ImageData | None = None,
    max_images: int | None = DEFAULT_MAX_IMAGES,
    work_dir: Path | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> UnlabeledPool | None:
    """Read a folder or .zip of unlabeled images into a pool shaped like ``like`` (None: no pool).

    Images are decoded to ``like``'s side (``image_size`` when ``like`` is None) and
    converted to its channel count. At most ``max_images`` are decoded: a bigger pool is
    subsampled (seeded) and says so in ``notes``.

    >>> load_unlabeled(None, 64) is None
    True
    """
    if path is None:
        return None
    root = _source_folder(Path(path), work_dir, should_stop)
    display = str(path)
    side = like.images.shape[1] if like is not None else image_size
    if like is not None and like.images.shape[1] != like.images.shape[2]:
        raise ValueError(f"like: {like.name} has non-square images {like.images.shape[1:3]}; pools are square")
    if max_images is not None and max_images < 1:
        raise ValueError(f"max_images: expected a whole number >= 1, or None; got {max_images}")
    channels = like.images.shape[3] if like is not None else 3
    # Decoding is to RGB whatever the target: bound the 3-channel array load_images allocates.
    memory_cap = MAX_POOL_BYTES // (side * side * 3)
    limit = min(max_images, memory_cap) if max_images is not None else memory_cap
    ignored: list[str] = []
    files = _walk_images(root, ignored, should_stop)
    if not files:
        raise ConfigError(
            FIELD,
            f"no images found; accepted: a folder or .zip holding images "
            f"({', '.join(IMAGE_SUFFIXES)}) directly or in sub-folders{_listing(ignored, 'ignored')}",
            given=display,
        )
    notes: list[str] = []
    wanted = len(files)
    if len(files) > limit:
        wanted = limit
        why = "the memory limit" if limit < (max_images or limit + 1) else "the pool limit"
        notes.append(
            f"{len(files):,} images found, more than {limit:,} ({why} at {side} px); a seeded random {limit:,} are used"
        )
    scan = FolderScan(("unlabeled",), [(file, 0) for file in files], root=root)
    decoded = load_images(scan, side, per_class=[wanted], should_stop=should_stop, seed=SEED, exact=True)
    if len(decoded.images) == 0:
        raise ConfigError(
            FIELD,
            f"none of its {len(files):,} image files could be read"
            f"{_listing(decoded.skipped, 'unreadable')}; accepted: a folder or .zip of readable images",
            given=display,
        )
    images, channel_note = _match_channels(decoded.images, channels, like.name if like else "")
    if channel_note:
        notes.append(channel_note)
    if like is not None and like.native_resolution and decoded.native_side:
        ratio = decoded.native_side / like.native_resolution
        if ratio > 2 or ratio < 0.5:
            notes.append(
                f"pool images are {decoded.native_side} px on their shorter side (median), the labeled images "
                f"{like.native_resolution} px; both are used at {side} px"
            )
    digest = hashlib.sha256()
    for file in decoded.files:
        digest.update(str(file.relative_to(root)).encode())
        digest.update(b"\0")
    digest.update(images.tobytes())
    return UnlabeledPool(
        images=images,
        source=display,
        fingerprint=digest.hexdigest()[:16],
        skipped=tuple(decoded.skipped),
        ignored=tuple(ignored),
        notes=tuple(notes),
        found=len(files),
        native_side=decoded.native_side,
    )


def holdout_indices(name: str, train_indices: np.ndarray, splits: Splits, unit: str = "images") -> np.ndarray:
    """The training-split indices not in the labeled subsample (sorted): the hybrid arms' pool, images or texts."""
    train_indices = np.asarray(train_indices, dtype=np.int64)
    held_out = np.union1d(splits.val, splits.test)
    if np.intersect1d(train_indices, held_out).size:
        raise ValueError("train_indices: contains validation or test indices; pass the labeled training subsample")
    pool = np.setdiff1d(splits.train, train_indices)  # sorted, unique, train split only
    pool = np.setdiff1d(pool, held_out)  # belt and braces: the split is the caller's
    if pool.size == 0:
        own = ", or a pool of your own" if unit == "images" else ""
        raise ConfigError(
            FIELD,
            f"all {len(splits.train):,} training {unit} of {name} are labeled, so none is left "
            f"to pretrain on; accepted: {{examples}} below {len(splits.train):,}{own}",
        )
    return pool


def holdout_pool(
    data: ImageData, train_indices: np.ndarray, splits: Splits, max_images: int | None = DEFAULT_MAX_IMAGES
) -> UnlabeledPool:
    """The training-split images not in the labeled subsample, labels hidden.

    ``train_indices`` are the labeled examples (``subsample_train``'s answer); validation
    and test images are never in the pool, whatever ``train_indices`` holds.

    >>> from bench.data.catalog import DATASETS
    >>> from bench.data.splits import make_splits, subsample_train
    >>> digits = DATASETS["digits"].load()
    >>> splits = make_splits(digits.labels, seed=0)
    >>> labeled = subsample_train(splits, digits.labels, 100, seed=0)
    >>> len(holdout_pool(digits, labeled, splits)) == len(splits.train) - 100
    True
    """
    pool = holdout_indices(data.name, train_indices, splits)
    notes = [f"{pool.size:,} training images of {data.name} beyond the {len(train_indices):,} labeled, labels hidden"]
    if max_images is not None and pool.size > max_images:
        rng = np.random.default_rng(SEED)
        pool = np.sort(rng.choice(pool, size=max_images, replace=False))
        notes.append(f"a seeded random {max_images:,} of them are used (the in-memory limit)")
    digest = hashlib.sha256(f"{data.fingerprint}:{splits.seed}:".encode())
    digest.update(pool.tobytes())
    return UnlabeledPool(
        images=data.images[pool],
        source=f"{data.name}: training split minus the labeled examples",
        fingerprint=digest.hexdigest()[:16],
        notes=tuple(notes),
        found=int(pool.size),
        native_side=data.native_resolution,
        indices=pool,
    )


def check_matches(pool: UnlabeledPool, data: ImageData) -> None:
    """Refuse a pool whose images differ from the labeled data's in side or channel count.

    :func:`load_unlabeled` with ``like=data`` and :func:`holdout_pool` always match; this
    guards pools built another way (a cached pool, another resolution).
    """
    have, want = pool.images.shape[1:], data.images.shape[1:]
    if have != want:
        describe = lambda shape: f"{shape[0]}x{shape[1]} px with {shape[2]} channel{'s' if shape[2] != 1 else ''}"  # noqa: E731
        raise ConfigError(
            FIELD,
            f"images are {describe(have)}, the labeled dataset {data.name}'s are "
            f"{describe(want)}; accepted: a pool read for this dataset (load_unlabeled(..., like=dataset)), "
            "which resizes and converts the channels",
            given=pool.source,
        )


def _source_folder(path: Path, work_dir: Path | None, should_stop) -> Path:
    if not path.exists():
        raise ConfigError(FIELD, "no such file or folder; accepted: a folder or a .zip of images", given=str(path))
    if path.is_dir():
        return path
    if path.suffix.lower() != ".zip":
        raise ConfigError(FIELD, "a file, but not a .zip; accepted: a folder or a .zip of images", given=str(path))
    return extract_once(path, work_dir, cache_dir() / "extracted", should_stop=should_stop)


def _walk_images(root: Path, ignored: list[str], should_stop) -> list[Path]:
    """Image files under ``root`` at any depth up to the scanner's, sorted; links are never followed."""
    found: list[Path] = []
    stack = [(root, 0)]
    while stack:
        folder, depth = stack.pop()
        if should_stop is not None and should_stop():
            raise DecodeCancelled("cancelled while listing the unlabeled images")
        try:
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=lambda entry: entry.name)
        except OSError as error:
            ignored.append(f"{folder.relative_to(root)}/ (cannot read: {error.strerror or error})")
            continue
        for entry in entries:
            path = Path(entry.path)
            relative = str(path.relative_to(root))
            if entry.name.startswith((".", "__")):
                continue  # hidden files, .complete markers, __MACOSX
            if entry.is_symlink():
                ignored.append(f"{relative} (symlink; links are not followed)")
            elif entry.is_dir(follow_symlinks=False):
                if depth + 1 > MAX_SCAN_DEPTH:
                    ignored.append(f"{relative}/ (deeper than {MAX_SCAN_DEPTH} folders; not scanned)")
                else:
                    stack.append((path, depth + 1))
            elif entry.is_file(follow_symlinks=False) and path.suffix.lower() in IMAGE_SUFFIXES:
                found.append(path)
            else:
                ignored.append(relative)
    return sorted(found)


def _match_channels(images: np.ndarray, wanted: int, name: str) -> tuple[np.ndarray, str]:
    """Decoded RGB images converted to ``wanted`` channels, and a note saying what was done."""
    colour = int(np.count_nonzero((images.max(axis=3) != images.min(axis=3)).any(axis=(1, 2))))
    if wanted == 3:
        gray = len(images) - colour
        note = f"{gray:,} grayscale images repeated to 3 channels to match the labeled data" if gray else ""
        return images, note
    if wanted != 1:
        raise ValueError(f"like: {name} has {wanted} channels; 1 or 3 are supported")
    luma = np.rint(images.astype(np.float32) @ LUMA.astype(np.float32)).clip(0, 255).astype(np.uint8)[..., None]
    note = f"{colour:,} colour images converted to grayscale (BT.601 luma) to match {name}" if colour else ""
    return luma, note


def _listing(items: list[str] | tuple[str, ...], what: str) -> str:
    if not items:
        return ""
    more = f" and {len(items) - 5} more" if len(items) > 5 else ""
    return f" ({len(items)} {what}: {'; '.join(items[:5])}{more})"
