"""The built-in dataset registry: every shipped subset loads offline, carries its licence and rebuild script."""

from importlib import resources

import numpy as np
import pytest

from bench.data.catalog import BUILTIN, DATASETS

SHIPPED = {  # name: (folder, images, image shape, classes, flips allowed)
    "fashion-mnist": ("fashion-mnist", 6000, (28, 28, 1), 10, True),
    "emoji": ("emoji", 785, (64, 64, 3), 8, True),
    "spoken-commands": ("spoken-commands", 800, (64, 64, 1), 10, False),
}


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_subsets_load_offline_with_declared_shape(name):
    _, size, shape, num_classes, allow_flip = SHIPPED[name]
    spec = DATASETS[name]
    assert spec.available() and spec.licence and spec.description
    data = spec.load()
    assert data.name == name and len(data) == size and data.images.shape[1:] == shape
    assert data.images.dtype == np.uint8 and data.images.max() > 200 and data.images.min() < 50
    assert data.num_classes == num_classes == len(set(data.class_names))
    assert data.allow_flip is allow_flip
    counts = np.bincount(data.labels, minlength=num_classes)
    assert counts.min() >= 0.8 * counts.max()  # balanced enough that accuracy means something
    assert data.native_resolution == shape[0]
    assert data.fingerprint == spec.load().fingerprint


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_subsets_carry_licence_readme_and_rebuild_script(name):
    folder = BUILTIN / SHIPPED[name][0]
    for required in ("LICENSE", "README.md", "build_subset.py"):
        assert (folder / required).is_file(), f"{name}: {required} missing"
    assert len((folder / "LICENSE").read_text(encoding="utf-8")) > 500
    subset = next(p for p in folder.iterdir() if p.name.endswith(".npz"))
    assert len(subset.read_bytes()) < 3.5e6  # compact: the wheel ships it


def test_builtin_data_is_found_through_the_package_not_the_repository():
    assert str(BUILTIN).startswith(str(resources.files("bench")))


def test_emoji_is_colour_and_spectrograms_are_not_photographs():
    emoji = DATASETS["emoji"].load()
    spread = emoji.images.astype(int).max(axis=3) - emoji.images.astype(int).min(axis=3)
    assert np.mean(spread > 40) > 0.1  # real colour, not gray stored as RGB
    assert emoji.class_names[:2] == ("Smileys & Emotion", "People & Body")
    spoken = DATASETS["spoken-commands"].load()
    assert spoken.class_names == ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
    # Per-class mean spectrograms differ: the words are distinguishable, not noise.
    means = np.stack([spoken.images[spoken.labels == k].mean(0) for k in range(10)]).reshape(10, -1)
    assert np.abs(means[:, None] - means[None]).mean(-1)[~np.eye(10, dtype=bool)].min() > 1.0


def test_grayscale_datasets_stage_at_their_native_side():
    """A 1-channel dataset staged at its own size (no resize) becomes 3 equal channels, values kept."""
    import torch

    from bench.train.cache import stage_images

    images = np.arange(2 * 8 * 8, dtype=np.uint8).reshape(2, 8, 8, 1)
    staged = stage_images(images, 8, torch.device("cpu"))
    assert staged.shape == (2, 3, 8, 8)
    assert torch.equal(staged[:, 0], torch.as_tensor(images[..., 0])) and torch.equal(staged[:, 0], staged[:, 2])


def test_staging_in_bounded_chunks_gives_the_same_pixels():
    """The staging budget bounds float temporaries per chunk; the chunking never changes a pixel."""
    import torch

    from bench.train.cache import stage_images

    images = np.random.default_rng(0).integers(0, 256, (7, 10, 10, 3), dtype=np.uint8)
    whole = stage_images(images, 16, torch.device("cpu"), chunk=7)
    assert torch.equal(stage_images(images, 16, torch.device("cpu"), chunk=2), whole)
    assert torch.equal(stage_images(images, 16, torch.device("cpu")), whole)
