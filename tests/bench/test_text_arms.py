"""Every text arm learns a small built-in text set well above chance: real encoder, real training, small budget."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bench.errors import ConfigError
from bench.evidence.text_transfer import estimate_text_transferability
from bench.train.cache import TrialCache
from bench.train.config import TrialConfig
from bench.train.trial import run_trial
from bench.vocabulary import TrialStatus
from tests.bench.texts import two_class_csv

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cache():
    return TrialCache()  # the encoder, token ids and embeddings are shared by the module's trials


def small(arm: str, **settings) -> TrialConfig:
    # code-snippets: 4 languages, chance 0.26; 80 training snippets, 32 tokens each, until converged.
    return TrialConfig("code-snippets", arm, examples=80, max_tokens=32, batch_size=8, budget_seconds=None,
                       device="cpu", **settings)  # fmt: skip


@pytest.mark.parametrize(
    ("arm", "settings", "floor"),
    [
        ("linear_probe", {}, 0.6),
        ("partial_finetune", {"max_epochs": 2, "patience": 2}, 0.5),
        ("full_finetune", {"max_epochs": 2, "patience": 2}, 0.5),
        ("scratch", {"max_epochs": 20, "patience": 3}, 0.5),
    ],
)
def test_each_text_arm_learns_well_above_chance(cache, arm, settings, floor):
    result = run_trial(small(arm, **settings), cache=cache)
    assert result.status == TrialStatus.COMPLETED, result.error
    assert result.health.learned, result.health
    assert result.test_accuracy > floor, (arm, result.test_accuracy, result.health.chance)
    assert result.train_examples == 80 and result.test_size > 100
    assert result.images_per_second > 0  # sentences per second
    if arm == "scratch":
        assert result.baseline_accuracy > 0.7 and "TF-IDF" in result.baseline  # reported beside scratch
    else:
        assert result.baseline_accuracy is None


def test_probe_embeddings_are_cached_for_the_next_trial(cache):
    first = run_trial(small("linear_probe"), cache=cache)
    served = cache.hits["images_from_cache"]
    again = run_trial(small("linear_probe"), cache=cache)
    assert again.feature_cache_hit and again.status == TrialStatus.COMPLETED
    assert cache.hits["images_from_cache"] > served  # encoded once, read from the store the second time
    assert first.test_accuracy == again.test_accuracy


def test_text_transferability_scores_the_encoder_above_its_random_init(cache):
    result = estimate_text_transferability("code-snippets", examples=60, cache=cache, max_tokens=32)
    assert result.examples == 60
    assert result.logme_pretrained > result.logme_random_init
    assert result.suggested_similarity in ("high", "medium", "low")


def test_setfit_learns_a_tiny_two_class_set_well_above_chance(cache, tmp_path):
    """SetFit's pairs (20 iterations over 4 labeled texts: 10 steps of 16 pairs), then the probe's head."""
    config = TrialConfig(two_class_csv(tmp_path), "setfit", examples=4, max_tokens=16, budget_seconds=None,
                         device="cpu")  # fmt: skip
    result = run_trial(config, cache=cache)
    assert result.status == TrialStatus.COMPLETED, result.error
    assert result.health.learned and result.test_accuracy > 0.8, (result.test_accuracy, result.health)  # chance 0.5
    assert (result.steps, result.epochs_run, result.train_examples) == (10, 20.0, 4)
    assert result.images_per_second > 0  # sentences per second through the pairs


def test_setfit_on_a_small_budget_spends_about_its_budget_and_reports_the_encoding_apart(cache, tmp_path):
    """Pairs, encoding and the head's fits inside 2 s, measured by the real clock (the strict bound, one step, is
    tests/bench/test_budget.py's with an injected clock; here a loaded machine may also slow the head's encoding
    past what its sample said, hence the margin)."""
    budget = 2.0
    config = TrialConfig(two_class_csv(tmp_path), "setfit", examples=4, max_tokens=16, budget_seconds=budget,
                         device="cpu")  # fmt: skip
    result = run_trial(config, cache=cache)
    assert result.status == TrialStatus.COMPLETED, result.error
    one_step = max(result.time_first_step_s, result.time_slowest_step_s)
    assert result.time_train_s + result.time_features_s <= budget + 2 * one_step + 1.0, result
    assert result.time_features_s > 0  # the head's encoding, apart from training
    assert result.time_train_s <= budget  # the pairs and the fits


def test_setfit_is_refused_on_images_by_its_flag():
    with pytest.raises(ConfigError, match=r"arms.*setfit"):
        run_trial(TrialConfig("digits", "setfit", examples=20, device="cpu"))


def test_text_hybrid_pretrains_on_the_texts_beyond_the_labeled_ones_then_fine_tunes(cache, tmp_path):
    """SimCSE for 1 s on the held-back training texts (labels hidden), then full fine-tuning on 16 labels."""
    config = TrialConfig(two_class_csv(tmp_path), "hybrid", examples=16, max_tokens=16, batch_size=8,
                         budget_seconds=None, pretrain_seconds=1, max_epochs=8, patience=8, device="cpu")  # fmt: skip
    result = run_trial(config, cache=cache)
    assert result.status == TrialStatus.COMPLETED, result.error
    assert result.pretrain_steps > 0 and result.time_pretrain_s > 0
    assert (
        "(SimCSE) on" in result.pretrain_notes[0] and "beyond the 16 labeled, labels hidden" in result.pretrain_notes[1]
    )
    assert result.test_accuracy > 0.7 and result.health.learned, (result.test_accuracy, result.health)  # chance 0.5


def test_simcse_moves_the_encoder_and_leaves_the_shared_copy_alone(cache, tmp_path):
    import copy

    import numpy as np
    import torch

    from advisor.recipes import SIMCSE
    from bench.models.text_backbones import get_text_backbone
    from bench.train.callbacks import Hooks, TrialState
    from bench.train.text_pretrain import simcse
    from bench.train.text_trial import encoder, text_dataset, tokens_for

    config = TrialConfig(two_class_csv(tmp_path), "hybrid", max_tokens=16, pretrain_seconds=1, device="cpu")
    spec, data = get_text_backbone(config.text_backbone), text_dataset(cache, config)
    shared = encoder(cache, spec)
    model = copy.deepcopy(shared)
    before = shared[0].auto_model.encoder.layer[0].attention.self.query.weight.clone()
    result = simcse(model, tokens_for(cache, data, spec, config, torch.device("cpu")), np.arange(8), SIMCSE, 60.0,
                    0, torch.device("cpu"), Hooks([]), TrialState(config, "pretrain"), lambda: 0.0, max_steps=2)  # fmt: skip
    assert (result.steps, result.texts) == (2, 16)  # batches of the whole 8-text pool
    after = model[0].auto_model.encoder.layer[0].attention.self.query.weight
    assert not torch.equal(before, after)  # trained
    assert torch.equal(before, shared[0].auto_model.encoder.layer[0].attention.self.query.weight)  # a copy trained


def test_a_planned_text_check_measures_each_arm_in_sentences_per_second(cache):
    from bench.train.planning import measure_rates

    rates = measure_rates(replace(small("linear_probe"), budget_seconds=5), ("linear_probe", "scratch"), cache)
    assert [r.arm for r in rates] == ["linear_probe", "scratch"]
    assert all(r.images_per_second > 0 and r.unit == "sentences/s" for r in rates)
    assert rates[0].eval_images > 100  # the probe also encodes the validation and test texts


def test_perf_on_text_prints_sentences_per_second_beside_the_encode_loop(cache):
    from bench.perf_text import render_text_perf, run_text_perf

    report = run_text_perf("code-snippets", examples=40, arms=("scratch",), batch_size=8, device_name="cpu",
                           budget_seconds=1, repeats=1, max_tokens=16, cache=cache)  # fmt: skip
    assert report.arms["scratch"] > 0 and report.encode_loop > 0 and report.examples == 40
    text = render_text_perf(report)
    assert "sentences/s training" in text and "plain encode loop" in text and "img/s" not in text
    assert report.to_dict()["vs_encode_loop"] == {}  # the n-gram model is not the encoder's network: no ratio
