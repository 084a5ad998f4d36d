"""Self-supervised pretraining: budget and stop control, pool-size refusals, and that it learns on digits."""

import itertools

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from torch import nn

from bench.data.catalog import DATASETS
from bench.errors import BenchInputError
from bench.models.backbones import BACKBONES, create_model, get_backbone
from bench.train.pretrain import MIN_BATCH, PRESETS, check_pool, headless, pretrain, two_views
from tests.bench.wording import refused_as

CPU = torch.device("cpu")


def fake_clock(tick=1.0):
    """A clock that advances ``tick`` seconds per reading: budgets become step counts, nothing is timed."""
    readings = itertools.count()
    return lambda: next(readings) * tick


def encoder(seed=0):
    torch.manual_seed(seed)
    model = create_model(get_backbone("compact_cnn"), num_classes=10, pretrained=False)
    model.fc = nn.Identity()  # the body: one feature vector per image
    return model


def normalise(batch):
    return batch.float() / 127.5 - 1.0


def noise_pool(count, side=8, channels=3):
    return torch.randint(
        0, 256, (count, channels, side, side), dtype=torch.uint8, generator=torch.Generator().manual_seed(0)
    )


@pytest.mark.parametrize("objective", ["simclr", "byol"])
def test_budget_is_read_from_the_injected_clock(objective):
    result = pretrain(encoder(), noise_pool(40), normalise, 3.0, CPU, seed=0, clock=fake_clock(), objective=objective)
    # Read before the first step and after each: steps end at the first reading at or past the budget.
    assert result.steps == 3 and result.seconds == 3.0 and result.stopped_by == "budget"
    assert result.objective == objective and len(result.losses) == 3 and np.isfinite(result.losses).all()
    assert result.images_used == 40 and result.batch_size == 20  # two batches must fit the pool


def test_a_step_that_would_end_past_the_budget_is_never_started():
    # Each step costs 4 s on this clock: two fit in 10 s, a third would end at 12 s.
    result = pretrain(encoder(), noise_pool(32), normalise, 10.0, CPU, 0, clock=fake_clock(tick=4.0))
    assert result.steps == 2 and result.seconds == 8.0 and result.stopped_by == "budget"


def test_the_warm_up_step_is_timed_apart_and_the_later_steps_set_the_pace():
    # The first step pays for warm-up (1 s here), the next ones take 0.5 s: a 4 s budget fits seven.
    readings = iter([0.0, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5])
    result = pretrain(encoder(), noise_pool(32), normalise, 4.0, CPU, 0, clock=lambda: next(readings))
    assert result.steps == 7 and result.seconds == 4.0 and result.first_step_seconds == 1.0
    assert result.images_per_second == pytest.approx(6 * 16 / 3.0)  # the warm-up step left out


def test_no_step_starts_that_would_end_past_the_budget_at_the_warm_up_pace():
    # The safety net without a plan: a 2.5 s first step of a 4 s budget leaves no room for a second at its pace.
    readings = iter([0.0, 2.5, 3.0, 3.5])
    result = pretrain(encoder(), noise_pool(32), normalise, 4.0, CPU, 0, clock=lambda: next(readings))
    assert result.steps == 1 and result.seconds == 2.5 and result.first_step_seconds == 2.5
    assert result.images_per_second is None  # one step: no pace after the warm-up to report


def test_the_pace_is_seconds_per_image_times_the_batch():
    # 16 images a step at 0.25 s a step: 2 s fit eight steps, never a ninth past the budget.
    result = pretrain(encoder(), noise_pool(64), normalise, 2.0, CPU, 0, clock=fake_clock(0.25), batch_size=16)
    assert result.batch_size == 16 and result.steps == 8 and result.seconds == 2.0


def test_should_stop_and_max_steps_end_pretraining():
    asked = itertools.count()
    result = pretrain(encoder(), noise_pool(32), normalise, 1e9, CPU, 0, should_stop=lambda: next(asked) >= 2)
    assert result.steps == 2 and result.stopped_by == "should_stop"
    result = pretrain(encoder(), noise_pool(32), normalise, 1e9, CPU, 0, clock=fake_clock(), max_steps=1)
    assert result.steps == 1 and result.stopped_by == "max_steps"


def test_encoder_keeps_its_training_mode_and_is_trained_in_place():
    model = encoder().eval()
    before = [p.detach().clone() for p in model.parameters()]
    pretrain(model, noise_pool(32), normalise, 2.0, CPU, 0, clock=fake_clock())
    assert not model.training
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


@pytest.mark.parametrize("size", [0, 1, 2 * MIN_BATCH - 1])
def test_too_small_a_pool_is_refused_naming_the_option(size):
    with refused_as(rf"--unlabeled: the pool has {size} images?; simclr needs at least 32"):
        pretrain(encoder(), noise_pool(size), normalise, 1.0, CPU, 0)


def test_pool_size_sets_the_batch_and_objectives_are_checked():
    assert check_pool(10_000, 256, "simclr") == 256
    assert check_pool(100, 256, "byol") == 50
    with pytest.raises(BenchInputError, match=r"unknown; accepted: simclr, byol"):
        check_pool(100, 32, "mae")


def test_an_encoder_that_returns_maps_not_vectors_is_refused():
    model = nn.Conv2d(3, 4, 3)
    with pytest.raises(ValueError, match="one feature vector per image"):
        pretrain(model, noise_pool(32), normalise, 1.0, CPU, 0)


@pytest.mark.parametrize("backbone", sorted(BACKBONES))  # every registered body can be a hybrid arm's encoder
def test_headless_turns_a_registered_backbone_into_an_encoder_and_restores_its_head(backbone):
    spec = get_backbone(backbone)
    model = create_model(spec, num_classes=3, pretrained=False)
    head = model.get_submodule(spec.classifier)
    with headless(model, spec.classifier) as body:
        result = pretrain(body, noise_pool(32, side=32), normalise, 1.0, CPU, 0, clock=fake_clock())
    assert result.steps == 1
    assert model.get_submodule(spec.classifier) is head
    model.eval()
    assert model(normalise(noise_pool(2, side=32))).shape == (2, 3)


def test_views_differ_per_image_and_stay_in_range():
    batch = noise_pool(8, side=16).repeat(1, 1, 1, 1)
    first, second = two_views(batch, PRESETS["simclr"], True, torch.Generator().manual_seed(0))
    assert first.shape == batch.shape and first.min() >= 0 and first.max() <= 255
    assert not torch.allclose(first, second)
    # Per-image parameters: the same image twice in a batch gets two different views.
    same = batch[:1].repeat(2, 1, 1, 1)
    one, _ = two_views(same, PRESETS["simclr"], True, torch.Generator().manual_seed(1))
    assert not torch.allclose(one[0], one[1])


@pytest.fixture
def one_thread():
    # Two threads on a busy 2-core machine spend most of their CPU time spinning: one is ~10x cheaper here.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.slow
def test_simclr_on_digits_lowers_its_loss_and_features_beat_random_init(one_thread):
    digits = DATASETS["digits"].load()
    images = torch.from_numpy(digits.images).permute(0, 3, 1, 2).repeat(1, 3, 1, 1).contiguous()  # 8x8, 3 channels
    rng = np.random.default_rng(0)
    order = rng.permutation(len(digits))
    labeled, test = order[:50], order[1000:]  # 5 labels a class; the pool is every image, labels hidden

    def probe_accuracy(model):
        model.eval()
        with torch.no_grad():
            features = model(normalise(images)).numpy()
        mean, scale = features[labeled].mean(0), features[labeled].std(0) + 1e-6
        fit = LogisticRegression(C=0.1, max_iter=1000).fit((features[labeled] - mean) / scale, digits.labels[labeled])
        return fit.score((features[test] - mean) / scale, digits.labels[test])

    random_init = probe_accuracy(encoder(seed=0))
    model = encoder(seed=0)
    result = pretrain(model, images, normalise, 60.0, CPU, seed=0, clock=fake_clock(), batch_size=64, allow_flip=False)
    assert result.steps == 60 and result.batch_size == 64 and result.images_used == len(digits)
    assert result.last_loss < result.first_loss - 0.5  # NT-Xent of a batch of 64 starts near log(127) = 4.8
    pretrained = probe_accuracy(model)
    assert pretrained > 0.6  # chance is 0.1
    assert pretrained > random_init + 0.05, (pretrained, random_init)  # 0.88 vs 0.77 when written
