"""Partial fine-tuning on cached frozen-trunk outputs trains exactly the model the uncached forward trains."""

import copy

import pytest
import torch
import torch.nn.functional as F

from advisor import example_profile
from advisor.recipes import CACHED_AUGMENTATION, CACHED_TRUNK, HYPERPARAMETERS, recipe_for
from bench.models.backbones import BACKBONES, create_model
from bench.train.batches import flip_some, normalise
from bench.train.frozen_trunk import FrozenTrunk
from bench.train.loop import parameter_groups

HP = HYPERPARAMETERS["partial_finetune"]
CUT = [name for name, spec in BACKBONES.items() if spec.split is not None]


def _partial_model(spec):
    torch.manual_seed(0)
    model = create_model(spec, 10, pretrained=False).to(memory_format=torch.channels_last)  # as the trainer runs it
    frozen, _ = parameter_groups(model, spec, HP)
    model.train()
    for block in frozen:
        block.eval()  # as GradientTrainer._set_train_mode leaves it
    return model, len(frozen)


def _inputs(batch, spec):
    return normalise(batch, spec).contiguous(memory_format=torch.channels_last)  # as GradientTrainer feeds the CPU


def _loss_and_grads(model, logits, labels):
    loss = F.cross_entropy(logits, labels, label_smoothing=HP.label_smoothing)
    loss.backward()
    return loss, {name: p.grad.clone() for name, p in model.named_parameters() if p.requires_grad}


@pytest.mark.parametrize("name", CUT)
def test_cached_path_gives_the_uncached_outputs_loss_and_gradients(name):
    spec = BACKBONES[name]
    model, n_frozen = _partial_model(spec)
    cached_model = copy.deepcopy(model)
    images = torch.randint(0, 256, (12, 3, 32, 32), dtype=torch.uint8)
    labels = torch.arange(12) % 10
    batch = torch.tensor([7, 2, 9, 4, 0, 11])
    torch.manual_seed(1)  # the same dropout masks in the top (MobileNetV3's head) on both paths
    plain = model(_inputs(images[batch], spec))
    loss, grads = _loss_and_grads(model, plain, labels[batch])

    trunk = FrozenTrunk.build(cached_model, spec, n_frozen, images, batch.numpy(), True, torch.device("cpu"))
    frozen_bn = {k: v.clone() for k, v in cached_model.state_dict().items() if "running_mean" in k}
    torch.manual_seed(2)
    cached = trunk.train_logits(batch, torch.Generator().manual_seed(3))
    # The same flips the uncached path draws from the same generator.
    torch.manual_seed(2)
    flipped = model(_inputs(flip_some(images[batch], torch.Generator().manual_seed(3)), spec))
    assert torch.allclose(cached, flipped.detach(), atol=1e-5)
    torch.manual_seed(1)
    assert torch.allclose(trunk.eval_logits(batch), plain.detach(), atol=1e-5)
    torch.manual_seed(1)
    cached_model.zero_grad()
    cached_loss, cached_grads = _loss_and_grads(cached_model, trunk.eval_logits(batch), labels[batch])
    assert torch.allclose(cached_loss, loss, atol=1e-6)
    assert cached_grads.keys() == grads.keys() and grads
    for key, grad in grads.items():
        assert torch.allclose(cached_grads[key], grad, atol=1e-5, rtol=1e-4), key
    # Nothing below the cut moved: the frozen blocks' BN statistics are the pretrained ones (only the top's update).
    blocks = spec.body_blocks(cached_model)[:n_frozen]
    frozen_keys = {
        id(m.running_mean) for b in blocks for m in b.modules() if getattr(m, "running_mean", None) is not None
    }
    for key, value in cached_model.state_dict().items():
        if id(value) in frozen_keys:
            assert torch.equal(value, frozen_bn[key]), key


def test_cache_too_big_falls_back_to_the_whole_model():
    spec = BACKBONES["efficientnet_lite0"]
    model, n_frozen = _partial_model(spec)
    images = torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8)
    assert FrozenTrunk.build(model, spec, n_frozen, images, torch.arange(4).numpy(), False, torch.device("cpu"),
                             max_bytes=100) is None  # fmt: skip
    assert FrozenTrunk.build(model, spec, 0, images, torch.arange(4).numpy(), False, torch.device("cpu")) is None


def test_the_recipe_says_what_the_cached_arm_runs():
    recipe = recipe_for("partial_finetune", example_profile())
    assert HP.cache_frozen and recipe.hyperparameters.cache_frozen
    assert CACHED_TRUNK in recipe.freeze and recipe.augmentation == CACHED_AUGMENTATION
    assert "crop" not in recipe.augmentation.split(";")[0]  # flips only
    assert not HYPERPARAMETERS["full_finetune"].cache_frozen
    assert "random resized crop" in recipe_for("full_finetune", example_profile()).augmentation


# Real training on the cached trunk: tests/bench/test_trial.py::test_every_arm_learns_digits[partial_finetune].
