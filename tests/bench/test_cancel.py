"""Cancel in every phase of a trial: a stop asked for in a phase ends the trial at its next check.

Counted, not timed: the trial ends cancelled, the phase that saw the request is the last progress
event (each long phase checks per batch, per step or per fit), and the later phases never run.
The latency per phase is measured by scripts/bench_cancel.py, alone.
"""

import numpy as np
import pytest
import torch

from bench.train.cache import TrialCache
from bench.train.callbacks import Callback, Hooks, TrialCancelled
from bench.train.config import TrialConfig
from bench.train.probe import fit_on_features
from bench.train.trial import run_trial
from bench.vocabulary import TrialStatus


class StopAt(Callback):
    """Asks to stop at the ``nth`` progress event of ``phase``; records every phase it sees."""

    def __init__(self, phase: str, nth: int = 1):
        self.phase, self.nth, self.count, self.stop = phase, nth, 0, False
        self.seen: list[str] = []

    def on_progress(self, state):
        self.seen.append(state.phase)
        if state.phase == self.phase:
            self.count += 1
            self.stop = self.stop or self.count >= self.nth

    def should_stop(self) -> bool:
        return self.stop


CACHE = TrialCache()


@pytest.mark.slow
@pytest.mark.parametrize(
    "arm, phase, nth, later",
    [
        ("scratch", "data", 1, {"model", "train", "eval", "test"}),  # the dataset loaded, the model not yet built
        ("scratch", "model", 1, {"train", "eval", "test"}),  # before the model is built
        ("full_finetune", "model", 2, {"train", "eval", "test"}),  # pretrained weights loaded, no step taken
        ("scratch", "train", 3, {"eval", "test"}),  # after the third optimizer step
        ("scratch", "eval", 1, {"test"}),  # in the first validation pass, after its first batch
        ("scratch", "test", 1, set()),  # in the final test pass, after its first batch
        ("hybrid_scratch", "pretrain", 1, {"train", "eval", "test"}),  # before pretraining's first step
    ],
)
def test_a_stop_in_each_phase_ends_the_trial_there(arm, phase, nth, later):
    stop = StopAt(phase, nth)
    config = TrialConfig("digits", arm, examples=100, budget_seconds=None, max_epochs=1, batch_size=16,
                         pretrain_seconds=5.0 if arm.startswith("hybrid") else None)  # fmt: skip
    result = run_trial(config, [stop], cache=CACHE)
    assert result.status == TrialStatus.CANCELLED, result.error
    assert result.test_accuracy is None and result.steps == 0
    assert stop.seen[-1] == phase and stop.seen.count(phase) == nth, stop.seen  # stopped at the first check
    assert not later & set(stop.seen), stop.seen


class StopAfterAsks(Callback):
    """Says stop from its ``n``-th ``should_stop`` question on (the checks inside one fit)."""

    def __init__(self, n: int):
        self.n, self.asked, self.fits = n, 0, 0

    def on_progress(self, state):
        self.fits += state.phase == "train"  # the probe reports each finished fit

    def should_stop(self) -> bool:
        self.asked += 1
        return self.asked >= self.n


def test_the_probes_logistic_fit_stops_inside_a_fit():
    rng = np.random.default_rng(0)
    features = rng.normal(size=(300, 16)).astype(np.float32)
    labels = rng.integers(0, 3, 300)
    split = (np.arange(200), np.arange(200, 250), np.arange(250, 300))
    stop = StopAfterAsks(3)  # the third loss evaluation of the first fit (L-BFGS evaluates up to 30 per fit)
    config = TrialConfig("digits", "linear_probe")
    with pytest.raises(TrialCancelled):
        fit_on_features(config, features, labels, 3, split, torch.device("cpu"), Hooks([stop]), lambda: 0.0, 0.0, False)
    assert stop.asked == 3 and stop.fits == 0  # no fit finished: the stop was seen inside the first


@pytest.mark.slow
def test_feature_extraction_stops_after_the_batch_in_progress(tmp_path):
    stop = StopAt("features", nth=2)  # the first event is before extraction, the second after its first batch
    cache = TrialCache(root=tmp_path)
    result = run_trial(TrialConfig("digits", "linear_probe", examples=100), [stop], cache=cache)
    assert result.status == TrialStatus.CANCELLED
    assert stop.seen.count("features") == 2 and "train" not in stop.seen  # no logistic fit ran
    assert cache.hits["images_encoded"] > 64  # it had more than one batch to encode...
    assert not list(tmp_path.rglob("*.npz"))  # ...and kept none of it


@pytest.mark.slow
def test_text_encoding_stops_between_batches(tmp_path):
    stop = StopAt("features", nth=3)  # before encoding, after the encoder loaded, after the first batch
    cache = TrialCache(root=tmp_path)
    result = run_trial(TrialConfig("fortunes", "linear_probe", examples=100, max_tokens=16), [stop], cache=cache)
    assert result.status == TrialStatus.CANCELLED
    assert stop.seen.count("features") == 3 and "train" not in stop.seen
    assert cache.hits["images_encoded"] > 64  # more than the one batch it encoded
    assert not list(tmp_path.rglob("*.npz"))


def test_a_stop_is_seen_inside_one_long_forward_or_backward_pass(monkeypatch):
    from bench.train import loop

    monkeypatch.setattr(loop, "STOP_CHECK_SECONDS", 0.0)  # ask at every hook: counted, not timed
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    asked = {"stop": False, "checks": 0}

    def stop_if_asked():
        asked["checks"] += 1
        if asked["stop"]:
            raise TrialCancelled

    with loop.stop_inside_steps(model, stop_if_asked):
        loss = model(torch.randn(3, 4)).sum()  # two modules with parameters: two checks in the forward
        assert asked["checks"] == 2
        asked["stop"] = True
        with pytest.raises(TrialCancelled):
            loss.backward()  # the gradient of the last layer asks first
        with pytest.raises(TrialCancelled):
            model(torch.randn(3, 4))
    asked["checks"] = 0
    model(torch.randn(3, 4)).sum().backward()  # outside: the hooks are gone
    assert asked["checks"] == 0


def test_one_uncheckable_call_is_asked_for_a_stop_while_it_runs():
    import threading

    from bench.train.callbacks import call_checking

    release, asked = threading.Event(), []

    def load():  # a weights load that cannot check by itself: it waits until released
        release.wait(30)
        return "model"

    def stop_if_asked():
        asked.append(1)
        if len(asked) >= 3:
            raise TrialCancelled

    with pytest.raises(TrialCancelled):
        call_checking(load, stop_if_asked, poll=0.01)
    assert len(asked) == 3 and not release.is_set()  # it stopped while the load was still running
    release.set()
    assert call_checking(lambda: "model", lambda: None) == "model"
    with pytest.raises(ValueError, match="bad weights"):
        call_checking(lambda: (_ for _ in ()).throw(ValueError("bad weights")), lambda: None)


@pytest.mark.slow
@pytest.mark.parametrize("planned", [True, False], ids=["check-plan", "budget-plan"])
def test_a_cancel_during_the_throughput_probe_ends_the_run_before_the_next_arm_is_measured(
    tmp_path, monkeypatch, planned
):
    from bench.runs.execute import create_run, execute_run
    from bench.runs.request import RunRequest
    from bench.runs.store import RunStore
    from bench.train import planning
    from bench.train.check import Question
    from bench.vocabulary import RunKind, RunStatus

    store = RunStore(tmp_path / "runs.db")
    base = TrialConfig("digits", "scratch", examples=60, budget_seconds=5, batch_size=16, scratch_resolution=8)
    question = dict(question=Question(1.0, "cpu", 60), check_minutes=1.0) if planned else {}
    request = RunRequest(RunKind.RUN, base, ("scratch", "hybrid_scratch"), (0,), **question)
    assert request.planned == planned  # measure_rates (a planned check) or plan_arms (the options' budget)
    run_id = create_run(store, request, session="test")
    measured, real, click = [], planning.measure_throughput, StopAt("never")

    def probe_then_click_cancel(config, *args, **kwargs):  # the real probe; the click comes after its first arm
        rate = real(config, *args, **kwargs)
        measured.append(config.arm)
        click.stop = True
        return rate

    monkeypatch.setattr(planning, "measure_throughput", probe_then_click_cancel)
    outcome = execute_run(store, run_id, [click])
    assert outcome.status == RunStatus.CANCELLED and outcome.trials == ()
    assert measured == ["scratch"]  # hybrid_scratch's probe never finished: stopped inside it or before it
    record = store.run(run_id)
    assert record.status == RunStatus.CANCELLED and record.error == "cancelled while measuring throughput; nothing ran"
    assert store.trials(run_id) == [] and "budget_plan" not in record.analyses and "check_plan" not in record.analyses
