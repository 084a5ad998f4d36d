"""Memory bounded by the work: a trial stages the images it trains and evaluates on, not the whole dataset,
and a big folder is decoded in part (issue 20, point 7). Counts, not RSS: a loaded machine cannot break them.
The 50,000-file peak RSS is measured by scripts/bench_memory.py."""

import hashlib
import io

import numpy as np
import pytest
import torch
from PIL import Image

import bench.data.images as images_module
import bench.data.splits as splits_module
from bench.data.datasets import load_dataset
from bench.models.backbones import get_backbone
from bench.train.arms import get_arm
from bench.train.cache import TrialCache, stage_images
from bench.train.callbacks import Callback
from bench.train.config import TrialConfig
from bench.train.suite import SuiteConfig, run_suite
from bench.train.trial import prepare

CPU = torch.device("cpu")


def _used(ready) -> int:
    parts = (ready.train_idx, ready.splits.val, ready.splits.test)
    return sum(len(part) for part in parts)


def test_a_builtin_trial_stages_its_own_images_and_the_same_ones_as_before():
    config = TrialConfig("digits", "scratch", examples=200, scratch_resolution=8, budget_seconds=None)
    cache = TrialCache()
    ready = prepare(config, get_arm("scratch"), CPU, cache)
    assert len(ready.images) == _used(ready) == 200 + 269 + 359 < len(ready.data)
    # The same split seed and seed choose the same images as before the change (pinned), staged as before.
    digest = hashlib.sha256(ready.rows.astype(np.int64).tobytes())
    digest.update(np.ascontiguousarray(ready.data.images[ready.rows]).tobytes())
    assert digest.hexdigest()[:16] == "6d4acade53df1cc0"
    whole = stage_images(ready.data.images, 8, CPU)
    assert torch.equal(ready.images, whole[torch.as_tensor(ready.rows)])
    assert torch.equal(ready.labels[ready.at(ready.splits.test)], torch.as_tensor(ready.data.labels[ready.splits.test]))
    assert prepare(config, get_arm("scratch"), CPU, cache).images is ready.images  # the same trial's rows: reused
    other = prepare(TrialConfig("digits", "scratch", examples=200, scratch_resolution=8, seed=1), get_arm("scratch"),
                    CPU, cache)  # fmt: skip
    assert len(cache._staged) == 1 and len(other.images) == _used(other)  # another seed's rows replace them


class _Holding(Callback):
    """What the cache holds as each trial starts: staged resolutions, pretrained weights, image feature stores."""

    def __init__(self, cache: TrialCache):
        self.cache, self.seen = cache, []

    def on_trial_start(self, state) -> None:
        cache = self.cache
        staged = sorted(key[1] for key in cache._staged)
        self.seen.append((state.config.arm, state.config.seed, staged, sorted(cache._models), len(cache._features)))


@pytest.mark.parametrize("seeds", [(0,), (0, 1)])
def test_a_run_releases_between_trials_what_no_trial_still_to_run_uses(tmp_path, seeds):
    base = TrialConfig("digits", "linear_probe", examples=100, scratch_resolution=8, max_epochs=2, budget_seconds=None)
    cache = TrialCache(tmp_path)
    holding = _Holding(cache)
    run_suite(SuiteConfig(base, ("linear_probe", "scratch"), seeds), [holding], cache=cache)
    probe_inputs = ([64], ["efficientnet_lite0"], 1)  # digits' probe: 64-px images, the weights, one feature store
    if seeds == (0,):  # nothing after the scratch trial needs the probe's images, weights or features
        assert holding.seen == [("linear_probe", 0, [], [], 0), ("scratch", 0, [], [], 0)]
    else:  # the second seed's probe does: kept, its held-out rows read from memory
        assert holding.seen[1] == ("scratch", 0, *probe_inputs)
        assert holding.seen[2] == ("linear_probe", 1, [8, 64], ["efficientnet_lite0"], 1)
        assert holding.seen[3] == ("scratch", 1, [8], [], 0)
        assert cache.hits["images_from_cache"] >= 269 + 359  # its validation and test rows, encoded by seed 0


def test_probe_features_from_the_staged_rows_equal_those_from_every_image(tmp_path):
    data = load_dataset("digits")
    spec = get_backbone("compact_cnn")
    rows = np.arange(0, len(data), 7)
    needed = rows[::2]
    compact, _ = TrialCache(tmp_path / "a").features(
        spec, data, stage_images(data.images, 8, CPU, rows=rows), CPU, needed, random_init=True, rows=rows
    )
    full, _ = TrialCache(tmp_path / "b").features(
        spec, data, stage_images(data.images, 8, CPU), CPU, needed, random_init=True
    )
    assert compact.shape == full.shape == (len(data), compact.shape[1])
    assert np.allclose(compact[needed], full[needed], atol=1e-5)


def _tiny_folder(root, files: int) -> None:
    pool = []
    rng = np.random.default_rng(0)
    for _ in range(20):
        buffer = io.BytesIO()
        Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(buffer, format="PNG")
        pool.append(buffer.getvalue())
    for label in range(4):
        (root / f"class{label}").mkdir(parents=True)
    for index in range(files):
        (root / f"class{index % 4}" / f"{index:05d}.png").write_bytes(pool[index % len(pool)])


def test_a_big_folder_decodes_and_stages_by_the_work_not_by_its_size(tmp_path, monkeypatch):
    # Held-out caps scaled down 20x (test 50, validation 25), so a few hundred files show what 50,000 do.
    monkeypatch.setattr(splits_module, "MAX_TEST", 50)
    monkeypatch.setattr(splits_module, "MAX_VAL", 25)
    decoded = []
    real = images_module.decode_image_and_side

    def counting(path, size, intensity="dataset"):
        decoded.append(path)
        return real(path, size, intensity)

    monkeypatch.setattr(images_module, "decode_image_and_side", counting)
    counts = {}
    for files in (600, 1200):
        _tiny_folder(tmp_path / str(files), files)
        decoded.clear()
        config = TrialConfig(str(tmp_path / str(files)), "scratch", examples=20, train_limit=20, scratch_resolution=8)
        ready = prepare(config, get_arm("scratch"), CPU, TrialCache(tmp_path / "cache"))
        counts[files] = len(decoded)
        assert ready.data.files_total == files and ready.data.files_used == len(decoded)
        assert len(ready.train_idx) == 20 and abs(len(ready.splits.val) - 25) <= 2 and len(ready.splits.test) == 50
        assert len(ready.images) == _used(ready)  # staged: the work, nothing else
    # Decoded: the held-out floor (250 files, what keeps the splits' sizes and seeds), the same for both folders.
    assert counts[600] == counts[1200] == 250


@pytest.mark.parametrize("rows", [None, np.array([0, 3, 4, 9])])
def test_staging_rows_reads_them_in_order(rows):
    images = np.random.default_rng(0).integers(0, 256, (10, 6, 6, 3), dtype=np.uint8)
    staged = stage_images(images, 12, CPU, chunk=3, rows=rows)
    whole = stage_images(images, 12, CPU)
    assert torch.equal(staged, whole if rows is None else whole[torch.as_tensor(rows)])


def test_macro_f1_is_scikit_learns():
    from sklearn.metrics import f1_score

    from bench.train.trial import macro_f1

    rng = np.random.default_rng(0)
    for classes in (2, 3, 10):
        truth = rng.integers(0, classes, 200)
        predicted = np.where(rng.random(200) < 0.6, truth, rng.integers(0, classes + 1, 200))  # a class never true
        assert round(macro_f1(truth, predicted), 5) == round(float(f1_score(truth, predicted, average="macro")), 5)
    assert macro_f1(np.array([1, 1]), np.array([1, 1])) == 1.0
