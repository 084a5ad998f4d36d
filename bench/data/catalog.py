"""The built-in datasets: a registry driven by metadata (name, description, licence, loader, availability).

They are real and work offline: scikit-learn's digits, the Fashion-MNIST subset that ships in
``bench/data/builtin/``, and the full Fashion-MNIST when it is on disk.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits

from bench.data.image_data import ImageData, from_arrays
from bench.errors import BenchInputError

# Built-in data ships inside the package (wheel included), found through the package, never the repository.
BUILTIN = resources.files("bench.data") / "builtin"
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


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    description: str
    licence: str
    load: Callable[[], ImageData]
    available: Callable[[], bool] = lambda: True
    how_to_get: str = ""


def _load_digits() -> ImageData:
    bunch = load_digits()
    # 8x8 images with values 0..16: rescale to 0..255 so every dataset is uint8.
    images = np.round(bunch.images * (255.0 / 16.0)).astype(np.uint8)
    classes = tuple(str(d) for d in range(10))
    return from_arrays(
        "digits",
        images,
        bunch.target,
        classes,
        source="scikit-learn load_digits (UCI ML hand-written digits)",
        allow_flip=False,
        default_resolution=32,
    )


def _load_fashion_subset() -> ImageData:
    path = BUILTIN / "fashion-mnist" / "fashion-mnist-subset.npz"
    with path.open("rb") as file, np.load(file) as archive:
        images, labels = archive["images"], archive["labels"]
    return from_arrays(
        "fashion-mnist",
        images,
        labels,
        FASHION_CLASSES,
        source="bench/data/builtin/fashion-mnist (6,000-image subset, MIT)",
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
    return from_arrays("fashion-mnist-full", images, labels, FASHION_CLASSES, source=str(folder), default_resolution=64)


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
