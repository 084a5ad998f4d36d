"""Dataset registry (metadata-driven), loaders, seeded stratified splits and fingerprints.

Built-in datasets are real and work offline: scikit-learn's digits, the Fashion-MNIST
subset shipped in data/, and the full Fashion-MNIST when it is on disk. Anything else is a
user's folder of class sub-folders, or a zip of one.
"""

from __future__ import annotations

import gzip
import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bench.errors import BenchInputError, unknown_name
from bench.images import load_images, safe_extract, scan_folder
from bench.paths import cache_dir

REPO_DATA = Path(__file__).resolve().parents[1] / "data"
FASHION_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
# Held-out fractions, capped so that big datasets do not spend minutes on evaluation.
# 1,000 test images give a standard error of ~1.3 points on accuracy; more buys little.
TEST_FRACTION, MAX_TEST = 0.2, 1000
VAL_FRACTION, MAX_VAL = 0.15, 500


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

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def __len__(self) -> int:
        return len(self.labels)


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    description: str
    licence: str
    load: Callable[[], ImageData]
    available: Callable[[], bool] = lambda: True
    how_to_get: str = ""


def fingerprint_arrays(images: np.ndarray, labels: np.ndarray, class_names: tuple[str, ...]) -> str:
    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(images).tobytes())
    digest.update(np.ascontiguousarray(labels, dtype=np.int64).tobytes())
    digest.update("\0".join(class_names).encode())
    return digest.hexdigest()[:16]


def _from_arrays(name: str, images: np.ndarray, labels: np.ndarray, classes: tuple[str, ...], **meta) -> ImageData:
    if images.ndim == 3:
        images = images[..., None]
    meta.setdefault("native_resolution", int(min(images.shape[1:3])))
    return ImageData(
        name, images, labels.astype(np.int64), classes, fingerprint_arrays(images, labels, classes), **meta
    )


def _load_digits() -> ImageData:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    # 8x8 images with values 0..16: rescale to 0..255 so every dataset is uint8.
    images = np.round(bunch.images * (255.0 / 16.0)).astype(np.uint8)
    classes = tuple(str(d) for d in range(10))
    return _from_arrays(
        "digits",
        images,
        bunch.target,
        classes,
        source="scikit-learn load_digits (UCI ML hand-written digits)",
        allow_flip=False,
        default_resolution=32,
    )


def _load_fashion_subset() -> ImageData:
    path = REPO_DATA / "fashion-mnist" / "fashion-mnist-subset.npz"
    with np.load(path) as archive:
        images, labels = archive["images"], archive["labels"]
    return _from_arrays(
        "fashion-mnist",
        images,
        labels,
        FASHION_CLASSES,
        source=f"{path.relative_to(REPO_DATA.parent)} (6,000-image subset, MIT)",
        default_resolution=64,
    )


def _fashion_full_dirs() -> list[Path]:
    roots = [Path(os.environ["FASHION_MNIST_DIR"])] if os.environ.get("FASHION_MNIST_DIR") else []
    roots += [Path("data"), Path.home() / ".cache" / "torchvision", Path.home() / "data"]
    # torchvision's layout is <root>/FashionMNIST/raw; Debian's is one flat folder.
    return [root / "FashionMNIST" / "raw" for root in roots] + [*roots, Path("/usr/share/datasets/fashion-mnist")]


def _fashion_full_dir() -> Path | None:
    for folder in _fashion_full_dirs():
        if any((folder / f"train-images-idx3-ubyte{ext}").exists() for ext in ("", ".gz")):
            return folder
    return None


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (gzipped or not), the format of MNIST and Fashion-MNIST."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        data = handle.read()
    dims = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def _load_fashion_full() -> ImageData:
    folder = _fashion_full_dir()
    if folder is None:
        raise BenchInputError(f"fashion-mnist-full: not found. {DATASETS['fashion-mnist-full'].how_to_get}")

    def part(stem: str) -> np.ndarray:
        plain = folder / stem
        return read_idx(plain if plain.exists() else folder / f"{stem}.gz")

    images = np.concatenate([part("train-images-idx3-ubyte"), part("t10k-images-idx3-ubyte")])
    labels = np.concatenate([part("train-labels-idx1-ubyte"), part("t10k-labels-idx1-ubyte")])
    return _from_arrays(
        "fashion-mnist-full", images, labels, FASHION_CLASSES, source=str(folder), default_resolution=64
    )


DATASETS: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in (
        DatasetSpec("digits", "8x8 handwritten digits, 1,797 images, 10 classes", "BSD-3 (scikit-learn)", _load_digits),
        DatasetSpec(
            "fashion-mnist",
            "Fashion-MNIST subset shipped in data/: 6,000 28x28 images, 10 classes",
            "MIT (Zalando)",
            _load_fashion_subset,
        ),
        DatasetSpec(
            "fashion-mnist-full",
            "Fashion-MNIST, all 70,000 images, when on disk",
            "MIT (Zalando)",
            _load_fashion_full,
            available=lambda: _fashion_full_dir() is not None,
            how_to_get="Install Debian's package (apt-get install dataset-fashion-mnist), or put torchvision's "
            "FashionMNIST/raw IDX files under ./data, ~/.cache/torchvision or $FASHION_MNIST_DIR.",
        ),
    )
}


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


@dataclass(frozen=True)
class Splits:
    """Index arrays into the dataset; the same ``split_seed`` gives the same splits."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    seed: int = 0
    counts: dict[str, int] = field(default_factory=dict)


def make_splits(labels: np.ndarray, seed: int = 0) -> Splits:
    """Seeded stratified train/validation/test split (per class; every class keeps >= 1 training example)."""
    rng = np.random.default_rng(seed)
    n = len(labels)
    test_fraction = min(TEST_FRACTION, MAX_TEST / n)
    val_fraction = min(VAL_FRACTION, MAX_VAL / n)
    train, val, test = [], [], []
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        count = len(members)
        n_test = min(count - 1, max(1, round(count * test_fraction)))
        n_val = min(count - 1 - n_test, max(1, round(count * val_fraction)))
        test.append(members[:n_test])
        val.append(members[n_test : n_test + n_val])
        train.append(members[n_test + n_val :])
    parts = [np.sort(np.concatenate(p)).astype(np.int64) for p in (train, val, test)]
    return Splits(*parts, seed=seed, counts={"train": len(parts[0]), "val": len(parts[1]), "test": len(parts[2])})


def subsample_train(splits: Splits, labels: np.ndarray, examples: int | None, seed: int) -> np.ndarray:
    """A stratified subset of ``examples`` training indices (all of them when None)."""
    pool = splits.train
    if examples is None or examples == len(pool):
        return pool
    num_classes = len(np.unique(labels[pool]))
    if examples > len(pool):
        raise BenchInputError(
            f"--examples {examples}: more than the {len(pool):,} training examples available after holding out "
            f"validation and test; accepted: {num_classes}..{len(pool)}"
        )
    if examples < num_classes:
        raise BenchInputError(
            f"--examples {examples}: fewer than the {num_classes} classes; accepted: {num_classes}..{len(pool)}"
        )
    return np.sort(_stratified_take(pool, labels[pool], examples, np.random.default_rng(seed)))


def _stratified_take(pool: np.ndarray, pool_labels: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    # Proportional allocation, at least one per class, remainder to the largest fractions.
    classes, sizes = np.unique(pool_labels, return_counts=True)
    exact = count * sizes / sizes.sum()
    take = np.minimum(sizes, np.maximum(1, np.floor(exact).astype(int)))
    for index in np.argsort(-(exact - np.floor(exact))):
        if take.sum() >= count:
            break
        if take[index] < sizes[index]:
            take[index] += 1
    while take.sum() > count:  # the "at least one" floor overshot: trim the largest
        take[np.argmax(take)] -= 1
    chosen = [rng.permutation(pool[pool_labels == label])[:k] for label, k in zip(classes, take, strict=True)]
    return np.concatenate(chosen)


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()[:16]
