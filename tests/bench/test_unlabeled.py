"""Unlabeled pools: folders and zips without labels, and the held-out training images of a built-in dataset."""

import zipfile

import numpy as np
import pytest
from PIL import Image

from bench.data.catalog import DATASETS
from bench.data.splits import make_splits, subsample_train
from bench.data.text_catalog import load_text_dataset
from bench.data.unlabeled import check_matches, holdout_indices, holdout_pool, load_unlabeled
from bench.errors import BenchInputError, ConfigError
from bench.train.budget import PRETRAIN_SHARE
from bench.train.config import TrialConfig
from bench.train.trial import after_pretraining
from bench.vocabulary import FindingCode
from tests.bench.wording import refused_as


def write_images(folder, count, size=20, mode="RGB", seed=0):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        shape = (size, size, 3) if mode == "RGB" else (size, size)
        Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode).save(folder / f"img{i:03d}.png")
    return folder


@pytest.fixture(scope="module")
def digits():
    return DATASETS["digits"].load()


@pytest.fixture(scope="module")
def emoji():
    return DATASETS["emoji"].load()


def test_folder_with_images_at_top_and_in_subfolders_becomes_a_pool_like_the_dataset(tmp_path, emoji):
    write_images(tmp_path / "pool", 5)
    write_images(tmp_path / "pool" / "a" / "b", 4, seed=1)
    (tmp_path / "pool" / "notes.txt").write_text("not an image")
    (tmp_path / "pool" / "broken.png").write_bytes(b"not a png")
    pool = load_unlabeled(tmp_path / "pool", 128, like=emoji)
    assert pool.images.shape == (9, 64, 64, 3) and pool.images.dtype == np.uint8
    assert pool.found == 10 and len(pool.skipped) == 1 and "broken.png" in pool.skipped[0]
    assert pool.ignored == ("notes.txt",)
    assert pool.fingerprint == load_unlabeled(tmp_path / "pool", 128, like=emoji).fingerprint


def test_colour_pool_is_converted_to_grayscale_for_grayscale_data_and_says_so(tmp_path, digits):
    pool = load_unlabeled(write_images(tmp_path / "pool", 6), 64, like=digits)
    assert pool.images.shape == (6, 8, 8, 1)
    assert any("converted to grayscale" in note and "digits" in note for note in pool.notes)


def test_grayscale_pool_for_colour_data_is_repeated_to_three_channels_and_says_so(tmp_path, emoji):
    pool = load_unlabeled(write_images(tmp_path / "pool", 3, mode="L"), 64, like=emoji)
    assert pool.images.shape == (3, 64, 64, 3)
    assert np.array_equal(pool.images[..., 0], pool.images[..., 2])
    assert any("repeated to 3 channels" in note for note in pool.notes)


def test_pool_beyond_the_limit_is_subsampled_seeded_and_says_so(tmp_path, emoji):
    folder = write_images(tmp_path / "pool", 12)
    first = load_unlabeled(folder, 64, like=emoji, max_images=5)
    assert len(first) == 5 and first.found == 12
    assert any("12 images found" in note and "5" in note for note in first.notes)
    assert first.fingerprint == load_unlabeled(folder, 64, like=emoji, max_images=5).fingerprint


def test_zip_pool_is_extracted_safely(tmp_path, emoji):
    folder = write_images(tmp_path / "pool", 4)
    archive = tmp_path / "pool.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for path in sorted(folder.iterdir()):
            bundle.write(path, f"photos/{path.name}")
    pool = load_unlabeled(archive, 64, like=emoji, work_dir=tmp_path / "extracted")
    assert pool.images.shape == (4, 64, 64, 3)
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as bundle:
        bundle.writestr("../outside.png", b"x")
    with pytest.raises(BenchInputError, match=r"\.\."):
        load_unlabeled(evil, 64, like=emoji, work_dir=tmp_path / "evil")
    assert not (tmp_path / "outside.png").exists()


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda root: root.mkdir(), r"--unlabeled .*no images found; accepted: a folder or \.zip"),
        (lambda root: (root.mkdir(), (root / "a.txt").write_text("x")), r"no images found.*a\.txt"),
        (lambda root: (root.mkdir(), (root / "a.png").write_bytes(b"")), r"none of its 1 image files could be read"),
        (lambda root: None, r"--unlabeled .*no such file or folder"),
        (lambda root: root.write_text("x"), r"--unlabeled .*not a \.zip"),
    ],
)
def test_empty_missing_or_unreadable_pools_are_refused_naming_the_option(tmp_path, emoji, setup, message):
    root = tmp_path / "pool"
    setup(root)
    with refused_as(message):
        load_unlabeled(root, 64, like=emoji)


def test_no_path_means_no_pool():
    assert load_unlabeled(None, 64) is None


def test_pool_of_another_size_or_channel_count_is_refused_naming_the_option(tmp_path, digits, emoji):
    pool = load_unlabeled(write_images(tmp_path / "pool", 3), 64, like=emoji)
    check_matches(pool, emoji)
    with refused_as(r"--unlabeled .*64x64 px with 3 channels.*digits.*8x8 px with 1 channel"):
        check_matches(pool, digits)


def test_holdout_pool_is_the_unlabeled_training_images_never_validation_or_test(digits):
    splits = make_splits(digits.labels, seed=0)
    labeled = subsample_train(splits, digits.labels, 50, seed=3)
    pool = holdout_pool(digits, labeled, splits)
    assert len(pool) == len(splits.train) - 50 == pool.found
    assert np.array_equal(pool.images, digits.images[pool.indices])
    assert np.isin(pool.indices, splits.train).all()
    assert not np.isin(pool.indices, np.concatenate([splits.val, splits.test])).any()
    assert not np.isin(pool.indices, labeled).any()
    assert len(np.unique(pool.indices)) == len(pool)
    assert any("labels hidden" in note for note in pool.notes)


def test_holdout_pool_refuses_held_out_indices_and_an_exhausted_split(digits):
    splits = make_splits(digits.labels, seed=0)
    with pytest.raises(ValueError, match="validation or test"):
        holdout_pool(digits, np.concatenate([splits.train[:10], splits.test[:1]]), splits)
    with refused_as(r"--unlabeled: all .* training images of digits are labeled.*--examples"):
        holdout_pool(digits, splits.train, splits)


def test_holdout_pool_is_bounded_and_seeded(digits):
    splits = make_splits(digits.labels, seed=0)
    labeled = subsample_train(splits, digits.labels, 50, seed=0)
    first, second = holdout_pool(digits, labeled, splits, max_images=100), holdout_pool(digits, labeled, splits, 100)
    assert len(first) == 100 and first.fingerprint == second.fingerprint
    assert any("100" in note for note in first.notes)


def test_pool_bigger_than_memory_allows_is_subsampled_before_decoding(tmp_path, emoji, monkeypatch):
    monkeypatch.setattr("bench.data.unlabeled.MAX_POOL_BYTES", 4 * 64 * 64 * 3)
    pool = load_unlabeled(write_images(tmp_path / "pool", 9), 64, like=emoji, max_images=None)
    assert len(pool) == 4 and pool.found == 9
    assert any("the memory limit at 64 px" in note for note in pool.notes)


@pytest.mark.parametrize(("split_seed", "examples"), [(0, 10), (1, 200), (2, 1000)])
def test_holdout_pool_never_holds_validation_or_test_images(digits, split_seed, examples):
    splits = make_splits(digits.labels, seed=split_seed)
    labeled = subsample_train(splits, digits.labels, examples, seed=split_seed)
    pool = holdout_pool(digits, labeled, splits)
    assert not np.isin(pool.indices, np.concatenate([splits.val, splits.test, labeled])).any()
    assert len(pool) + len(labeled) == len(splits.train)


def test_a_text_hybrid_pretrains_on_the_held_back_texts_with_the_image_hybrids_budget_split():
    data = load_text_dataset("code-snippets")
    splits = make_splits(data.labels, seed=0)
    labeled = subsample_train(splits, data.labels, 40, seed=0)
    pool = holdout_indices(data.name, labeled, splits, "texts")
    assert len(pool) == len(splits.train) - 40 and not set(pool) & (set(labeled) | set(splits.val) | set(splits.test))
    config = TrialConfig("code-snippets", "hybrid", budget_seconds=20)
    assert config.pretrain_share == PRETRAIN_SHARE
    training, finding = after_pretraining(config, 9.0, 12)
    assert training.budget_seconds == 11.0 and finding is None  # equal total wall-clock
    _, overran = after_pretraining(config, 13.0, 2)
    assert overran.code == FindingCode.PRETRAINING_OVERRAN
    with pytest.raises(ConfigError, match="training texts of code-snippets are labeled"):
        holdout_indices(data.name, splits.train, splits, "texts")
