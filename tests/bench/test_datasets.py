import numpy as np
import pytest

from bench.data.catalog import DATASETS
from bench.data.datasets import load_dataset
from bench.data.splits import make_splits, subsample_train
from bench.errors import BenchInputError


@pytest.mark.parametrize(("name", "size", "shape"), [("digits", 1797, (8, 8, 1)), ("fashion-mnist", 6000, (28, 28, 1))])
def test_builtin_datasets_are_real_and_balanced(name, size, shape):
    data = load_dataset(name)
    assert len(data) == size and data.images.shape[1:] == shape
    assert data.images.dtype == np.uint8 and data.images.max() > 200
    assert data.num_classes == 10
    assert data.native_resolution == shape[0]  # what the questionnaire's input_resolution gets
    counts = np.bincount(data.labels)
    assert counts.min() > 0.8 * counts.max()


def test_fingerprint_is_stable_and_content_based():
    first, second = load_dataset("digits"), load_dataset("digits")
    assert first.fingerprint == second.fingerprint
    assert first.fingerprint != load_dataset("fashion-mnist").fingerprint


def test_splits_are_seeded_stratified_and_disjoint():
    labels = load_dataset("fashion-mnist").labels
    a, b, c = make_splits(labels, 0), make_splits(labels, 0), make_splits(labels, 1)
    assert all(np.array_equal(x, y) for x, y in zip((a.train, a.val, a.test), (b.train, b.val, b.test), strict=True))
    assert not np.array_equal(a.test, c.test)
    union = np.concatenate([a.train, a.val, a.test])
    assert len(np.unique(union)) == len(union) == len(labels)
    assert a.counts == {"train": 4500, "val": 500, "test": 1000}
    per_class_test = np.bincount(labels[a.test])
    assert per_class_test.min() == per_class_test.max() == 100


def test_subsample_is_stratified_and_seeded():
    labels = load_dataset("fashion-mnist").labels
    splits = make_splits(labels)
    chosen = subsample_train(splits, labels, 1000, seed=3)
    assert len(chosen) == 1000 and set(chosen) <= set(splits.train)
    assert np.bincount(labels[chosen]).tolist() == [100] * 10
    assert np.array_equal(chosen, subsample_train(splits, labels, 1000, seed=3))
    assert not np.array_equal(chosen, subsample_train(splits, labels, 1000, seed=4))


def test_tiny_classes_still_split():
    labels = np.array([0, 0, 1, 1, 1, 2, 2])
    splits = make_splits(labels)
    assert set(labels[splits.train]) == {0, 1, 2}


@pytest.mark.parametrize(
    ("examples", "message"),
    [(99_999, r"--examples 99999: more than the 4,500 training examples"), (5, "fewer than the 10 classes")],
)
def test_bad_example_counts_say_what_is_accepted(examples, message):
    labels = load_dataset("fashion-mnist").labels
    with pytest.raises(BenchInputError, match=message):
        subsample_train(make_splits(labels), labels, examples, 0)


def test_unknown_dataset_lists_the_valid_ones():
    with pytest.raises(BenchInputError, match="unknown dataset 'mnist'; valid datasets are digits, fashion-mnist"):
        load_dataset("mnist")
    with pytest.raises(BenchInputError, match="no such file or folder"):
        load_dataset("/no/such/folder")


def test_full_fashion_mnist_is_found_or_explains_how_to_get_it():
    spec = DATASETS["fashion-mnist-full"]
    if spec.available():
        assert len(load_dataset("fashion-mnist-full")) == 70_000
    else:
        with pytest.raises(BenchInputError, match="apt-get install dataset-fashion-mnist"):
            load_dataset("fashion-mnist-full")


def test_full_fashion_mnist_reads_torchvision_layout(tmp_path, monkeypatch):
    """A torchvision-style FashionMNIST/raw folder is found through $FASHION_MNIST_DIR."""
    import gzip

    raw = tmp_path / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    subset = load_dataset("fashion-mnist")
    for split, (lo, hi) in {"train": (0, 50), "t10k": (50, 60)}.items():
        images, labels = subset.images[lo:hi, :, :, 0], subset.labels[lo:hi].astype(np.uint8)
        with gzip.open(raw / f"{split}-images-idx3-ubyte.gz", "wb") as f:
            f.write(b"\0\0\x08\x03" + np.array(images.shape, ">u4").tobytes() + images.tobytes())
        with gzip.open(raw / f"{split}-labels-idx1-ubyte.gz", "wb") as f:
            f.write(b"\0\0\x08\x01" + np.array(labels.shape, ">u4").tobytes() + labels.tobytes())
    monkeypatch.setenv("FASHION_MNIST_DIR", str(tmp_path))
    data = load_dataset("fashion-mnist-full")
    assert len(data) == 60
    assert np.array_equal(data.images[:50], subset.images[:50])
