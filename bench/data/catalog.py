"""The built-in datasets: a registry driven by metadata (name, description, licence, loader, availability).

They are real and work offline: scikit-learn's digits, three compact subsets that ship in
``bench/data/builtin/`` (Fashion-MNIST; colour emoji by Unicode group; spoken-word
spectrograms, a domain far from ImageNet), and the full Fashion-MNIST when it is on disk.
Each subset folder holds its licence, a README and the script that rebuilds it from its package.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

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
    from sklearn.datasets import load_digits  # here, not at the top: the catalog is read by light commands

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
    )


def _read_subset(folder: str, filename: str) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Images, labels and class names (stored in the file, in label order) of a shipped subset."""
    with (BUILTIN / folder / filename).open("rb") as file, np.load(file) as archive:
        return archive["images"], archive["labels"], tuple(str(name) for name in archive["classes"])


def _load_emoji() -> ImageData:
    images, labels, classes = _read_subset("emoji", "emoji-subset.npz")
    return from_arrays(
        "emoji",
        images,
        labels,
        classes,
        source="bench/data/builtin/emoji (785 Noto Color Emoji glyphs by Unicode group; Apache-2.0 / OFL-1.1)",
    )


def _load_spoken_commands() -> ImageData:
    images, labels, classes = _read_subset("spoken-commands", "spoken-commands-subset.npz")
    return from_arrays(
        "spoken-commands",
        images,
        labels,
        classes,
        source="bench/data/builtin/spoken-commands (800 log-mel spectrograms of espeak-ng speech; GPL-3.0+ output)",
        allow_flip=False,  # a flipped spectrogram is the word played backwards
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
    return from_arrays("fashion-mnist-full", images, labels, FASHION_CLASSES, source=str(folder))


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
            "emoji",
            "Colour emoji (Noto Color Emoji) by Unicode group: 785 64x64 RGB images, 8 classes",
            "Apache-2.0 images, OFL-1.1 font (Google Noto Emoji); Unicode licence (group labels)",
            _load_emoji,
        ),
        DatasetSpec(
            "spoken-commands",
            "Log-mel spectrograms of 10 spoken command words (espeak-ng, many voices): 800 64x64 images",
            "GPL-3.0-or-later (espeak-ng; the spectrograms are its output)",
            _load_spoken_commands,
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
