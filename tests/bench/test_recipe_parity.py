"""The recipe a person reads is the one the benchmark runs: optimizer groups and rates come from the preset."""

import itertools
import math
from dataclasses import replace

import pytest
import torch

from advisor import example_profile
from advisor.recipes import HYPERPARAMETERS, recipe_for
from bench.data.image_data import MIN_TRAINING_SIDE, matched_resolution
from bench.models.backbones import create_model, get_backbone, head_of
from bench.train.arms import ARMS, arms_for_strategy
from bench.train.loop import make_optimizer, parameter_groups

GRADIENT_ARMS = [name for name, arm in ARMS.items() if arm.trainable != "head"]


def _model(arm_name):
    arm = ARMS[arm_name]
    spec = get_backbone("compact_cnn" if arm.architecture == "scratch" else "efficientnet_lite0")
    return spec, create_model(spec, 10, pretrained=False)


@pytest.mark.parametrize("arm_name", GRADIENT_ARMS)
def test_optimizer_groups_follow_the_recipe(arm_name):
    arm = ARMS[arm_name]
    hp = HYPERPARAMETERS[arm.strategy]
    spec, model = _model(arm_name)
    frozen, groups = parameter_groups(model, spec, hp)
    optimizer = make_optimizer(groups, hp)
    assert isinstance(optimizer, torch.optim.AdamW) and hp.optimizer == "adamw"
    assert all(g["weight_decay"] == hp.weight_decay for g in optimizer.param_groups)
    head = next(g for g in groups if g["name"] == "head")
    assert head["lr"] == hp.lr_head
    assert {id(p) for p in head["params"]} == {id(p) for p in head_of(model, spec).parameters()}
    body = [g for g in groups if g["name"].startswith("body-") and g["name"] != "body-other"]
    assert body[0]["lr"] == pytest.approx(hp.lr_body)  # the top block
    for upper, lower in itertools.pairwise(body):
        assert lower["lr"] == pytest.approx(upper["lr"] * hp.layer_decay)
    blocks = spec.body_blocks(model)
    if hp.trainable == "top":
        assert len(frozen) == len(blocks) - math.ceil(len(blocks) * hp.top_fraction)
        assert not any(p.requires_grad for block in frozen for p in block.parameters())
        assert len(body) == math.ceil(len(blocks) * hp.top_fraction)
    else:
        assert frozen == [] and all(p.requires_grad for p in model.parameters())
        trained = {id(p) for g in groups for p in g["params"]}
        assert trained == {id(p) for p in model.parameters()}


def test_full_finetune_uses_layer_wise_decay_and_the_recipe_says_so():
    hp = HYPERPARAMETERS["full_finetune"]
    assert hp.layer_decay == 0.7
    recipe = recipe_for("full_finetune", example_profile())
    assert f"{hp.lr_body:g}" in recipe.lr_body and "0.7x per block" in recipe.lr_body
    assert recipe.lr_head == f"{hp.lr_head:g}" and f"weight decay {hp.weight_decay:g}" in recipe.optimizer
    assert recipe.hyperparameters == hp


@pytest.mark.parametrize("strategy", ["partial_finetune", "full_finetune", "scratch"])
def test_every_recipe_prints_the_numbers_its_arm_trains_with(strategy):
    recipe = recipe_for(strategy, example_profile())
    hp = HYPERPARAMETERS[strategy]
    assert f"{hp.lr_head:g}" in recipe.lr_head
    assert f"weight decay {hp.weight_decay:g}" in recipe.optimizer and "AdamW" in recipe.optimizer
    assert arms_for_strategy(strategy), strategy
    assert all(ARMS[a].hyperparameters is hp for a in arms_for_strategy(strategy))


def test_the_few_shot_text_recipe_says_what_the_setfit_arm_runs():
    from advisor.recipes import SETFIT
    from advisor.vocabulary import Modality
    from bench.train.text_trial import text_hyperparameters

    few = replace(example_profile(), modality=Modality.TEXT, labeled_examples=80, num_classes=4)
    note = next(n for n in recipe_for("full_finetune", few).notes if "SetFit" in n)
    hp = SETFIT.numbers
    for words in (f"{SETFIT.iterations} iterations", SETFIT.loss, f"{SETFIT.batch_size} pairs a step",
                  f"AdamW at {hp.lr_body:g}", f"weight decay {hp.weight_decay:g}", "setfit arm"):  # fmt: skip
        assert words in note, words
    assert text_hyperparameters(ARMS["setfit"]) is hp
    many = replace(few, labeled_examples=10_000)
    assert not any("SetFit" in n for n in recipe_for("full_finetune", many).notes)


def test_the_text_hybrid_recipe_says_its_first_stage_is_simcse():
    from advisor.recipes import SIMCSE
    from advisor.vocabulary import Modality

    recipe = recipe_for("hybrid", replace(example_profile(), modality=Modality.TEXT))
    assert SIMCSE.describe() in recipe.lr_body and "stage 2: " in recipe.lr_body
    assert f"AdamW at {SIMCSE.lr:g}" in recipe.lr_body and SIMCSE.loss in recipe.lr_body


def test_the_recipe_upsamples_small_images_to_the_side_the_benchmark_trains_at():
    small = example_profile().replace(input_resolution=28)
    note = next(n for n in recipe_for("partial_finetune", small).notes if n.startswith("Upsample"))
    assert f"at least {MIN_TRAINING_SIDE} px" in note and matched_resolution(28) == MIN_TRAINING_SIDE


def test_an_arm_named_for_a_strategy_is_called_what_the_advice_calls_it():
    from advisor.strategies import STRATEGY_BY_NAME
    from bench.train.arms import arm_label

    for name, arm in ARMS.items():
        if name in STRATEGY_BY_NAME:  # the verdict's "the advised X" and the arm's row must read the same
            assert arm.label == STRATEGY_BY_NAME[name].label
    assert len({arm.label for arm in ARMS.values()}) == len(ARMS)  # no two arms read alike
    assert arm_label("full_finetune") == "Full fine-tune" and arm_label("new_arm") == "New arm"
