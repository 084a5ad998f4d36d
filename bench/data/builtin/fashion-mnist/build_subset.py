"""Rebuild data/fashion-mnist/fashion-mnist-subset.npz from the full Fashion-MNIST IDX files.

The full set comes from Debian's package `dataset-fashion-mnist` (MIT licence):

    apt-get download dataset-fashion-mnist && dpkg -x dataset-fashion-mnist_*.deb /tmp/fm
    python data/fashion-mnist/build_subset.py --source /tmp/fm/usr/share/datasets/fashion-mnist

or, once installed, from /usr/share/datasets/fashion-mnist (the default). The subset keeps
the first 500 training and the first 100 test images of each class, in file order, so the
same files always give the same subset.
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import numpy as np

from bench.data.catalog import read_idx

HERE = Path(__file__).resolve().parent
PER_CLASS = {"train": 500, "t10k": 100}


def find(source: Path, stem: str) -> Path:
    for candidate in (source / f"{stem}.gz", source / stem):
        if candidate.exists():
            return candidate
    raise SystemExit(f"error: {stem}(.gz) not found in {source}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, default=Path("/usr/share/datasets/fashion-mnist"))
    parser.add_argument("--out", type=Path, default=HERE / "fashion-mnist-subset.npz")
    args = parser.parse_args()
    images, labels, splits = [], [], []
    for split, per_class in PER_CLASS.items():
        x = read_idx(find(args.source, f"{split}-images-idx3-ubyte"))
        y = read_idx(find(args.source, f"{split}-labels-idx1-ubyte"))
        for label in range(10):
            keep = np.flatnonzero(y == label)[:per_class]
            images.append(x[keep])
            labels.append(y[keep])
            splits.append(np.full(len(keep), split == "t10k"))
    x, y, is_test = np.concatenate(images), np.concatenate(labels), np.concatenate(splits)
    np.savez_compressed(args.out, images=x, labels=y.astype(np.int64), is_official_test=is_test)
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()[:16]
    print(f"wrote {args.out} ({len(y)} images, {args.out.stat().st_size / 1e6:.1f} MB, sha256 {digest}...)")


if __name__ == "__main__":
    main()
