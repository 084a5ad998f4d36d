import numpy as np
import pytest

from bench.data.catalog import DATASETS
from bench.data.datasets import load_dataset
from bench.data.images import DecodeCancelled
from bench.data.splits import files_needed, make_splits, split_counts, subsample_train
from bench.errors import BenchInputError
from bench.train.cache import TrialCache
from tests.bench.imaging import write_class_folder
from tests.bench.wording import refused_as


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
    with refused_as(message):
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


# --- Decoding only what a run needs ----------------------------------------------------------


@pytest.fixture
def small_caps(monkeypatch):
    """Held-out caps of 20 test and 10 validation images, so a 'big' folder is 180 files, not 50,000."""
    import bench.data.splits as splits

    monkeypatch.setattr(splits, "MAX_TEST", 20)
    monkeypatch.setattr(splits, "MAX_VAL", 10)


def test_split_counts_agree_with_make_splits():
    rng = np.random.default_rng(0)
    for _ in range(30):
        sizes = rng.integers(1, 400, rng.integers(2, 8))
        labels = np.repeat(np.arange(len(sizes)), sizes)
        assert split_counts(sizes) == make_splits(labels).counts


def test_files_needed_keeps_the_held_out_sets_and_enough_training_files():
    sizes = np.array([30_000, 15_000, 5_000])
    take = files_needed(sizes, 200)
    assert take.sum() == 5000 and take.tolist() == [3000, 1500, 500]  # proportional
    assert split_counts(take) == {"train": 3500, "val": 500, "test": 1000}  # the caps, as for all 50,000
    big = files_needed(sizes, 20_000)
    assert split_counts(big)["train"] >= 20_000 and big.sum() < 21_600
    assert files_needed(np.array([40, 3000]), 10).tolist() == [40, 3000]  # small folders: every file
    assert files_needed(np.array([2, 6000]), 10)[0] == 2  # tiny classes keep what they have


def test_train_limit_decodes_a_seeded_stratified_subset(tmp_path, small_caps):
    write_class_folder(tmp_path, {"a": 90, "b": 60, "c": 30}, size=8)
    data = load_dataset(str(tmp_path), image_size=8, train_limit=10)
    assert data.files_total == 180 and data.files_used == len(data) == 100  # 20 test + 10 val: floor of 100
    assert np.bincount(data.labels).tolist() == [50, 33, 17]
    splits = make_splits(data.labels)
    assert splits.counts["test"] == 20 and splits.counts["train"] >= 10
    again = load_dataset(str(tmp_path), image_size=8, train_limit=10)
    assert again.fingerprint == data.fingerprint and np.array_equal(again.images, data.images)
    whole = load_dataset(str(tmp_path), image_size=8)
    assert whole.files_used == whole.files_total == len(whole) == 180
    assert whole.fingerprint != data.fingerprint


def test_unreadable_files_in_the_subset_are_replaced_from_their_class(tmp_path, small_caps):
    write_class_folder(tmp_path, {"a": 90, "b": 90}, size=8)
    for i in range(30):
        (tmp_path / "a" / f"bad{i}.png").write_bytes(b"\x89PNG broken")
    data = load_dataset(str(tmp_path), image_size=8, train_limit=10)
    assert data.files_total == 210 and len(data) == 100
    # Stratified by the files listed (120 and 90); a's bad files drawn were replaced by good ones.
    assert np.bincount(data.labels).tolist() == files_needed(np.array([120, 90]), 10).tolist() == [57, 43]
    assert data.skipped and all(note.startswith("a/bad") for note in data.skipped)


def test_decoding_can_be_cancelled(tmp_path):
    write_class_folder(tmp_path, {"a": 20, "b": 20}, size=8)
    asked = []

    def should_stop():
        asked.append(1)
        return len(asked) > 10

    with pytest.raises(DecodeCancelled):
        load_dataset(str(tmp_path), image_size=8, should_stop=should_stop)
    assert len(asked) == 11  # asked before every file, and stopped at the first yes


def test_trial_cache_keys_datasets_by_train_limit_and_remembers_failures(tmp_path, small_caps):
    write_class_folder(tmp_path / "ok", {"a": 90, "b": 90}, size=8)
    cache = TrialCache(tmp_path / "cache")
    limited = cache.dataset(str(tmp_path / "ok"), 8, train_limit=10)
    assert len(limited) == 100 and cache.dataset(str(tmp_path / "ok"), 8, train_limit=10) is limited
    whole = cache.dataset(str(tmp_path / "ok"), 8)
    assert len(whole) == 180 and cache.dataset(str(tmp_path / "ok"), 8, train_limit=50) is whole
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"PK not really")
    for _ in range(2):
        with pytest.raises(BenchInputError, match="not a readable zip archive"):
            cache.dataset(str(bad), 8)
    bad.unlink()  # the second failure came from memory, not from reading the file again
    with pytest.raises(BenchInputError, match="not a readable zip archive"):
        cache.dataset(str(bad), 8)


def test_train_limit_must_be_a_positive_whole_number(tmp_path):
    write_class_folder(tmp_path, {"a": 3, "b": 3}, size=8)
    for limit in (0, -1, 2.5, True):
        with pytest.raises(BenchInputError, match="train_limit: expected a whole number >= 1"):
            load_dataset(str(tmp_path), image_size=8, train_limit=limit)
