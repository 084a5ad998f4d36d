"""The run form's throughput probe and the device lock: behind a run it says busy at once, behind a plan it waits.

The walkthrough saw "The device is busy with a plan" on the first click of Plan this run, with nothing else
running: a rerun left the first measurement holding the lock in its thread, and the second one gave up.
"""

import threading

import pytest

from bench.runs.queue import PLAN_HOLDER, device_slot
from bench.runs.request import RunRequest
from bench.train.config import TrialConfig
from finetune_or_scratch.app.runs import PLAN_WAIT_SECONDS, DeviceBusy, measure


def scratch_request() -> RunRequest:
    base = TrialConfig("digits", "scratch", examples=100, budget_seconds=1.0, scratch_resolution=16, device="cpu")
    return RunRequest("run", base, ("scratch",), (0,))


class Holder:
    """Holds the device lock in a thread as ``name`` until ``release()``."""

    def __init__(self, locks, name: str):
        self.held, self.done = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._hold, args=(locks, name))
        self.thread.start()
        assert self.held.wait(10)

    def _hold(self, locks, name):
        with device_slot(locks, "cpu", name):
            self.held.set()
            self.done.wait(60)

    def release(self):
        self.done.set()
        self.thread.join(10)


def test_a_plan_behind_a_run_says_busy_at_once_naming_the_run(tmp_path):
    holder, polls = Holder(tmp_path, "run-x"), []
    try:
        with pytest.raises(DeviceBusy) as busy:
            measure(scratch_request(), tmp_path, sleep=polls.append)
    finally:
        holder.release()
    assert busy.value.holder == "run-x" and polls == []  # refused on the first look, never measured


@pytest.mark.slow
def test_a_plan_behind_another_plan_waits_for_it_then_measures(tmp_path):
    holder, polls = Holder(tmp_path, PLAN_HOLDER), []

    def sleep(seconds):  # the other plan ends after two polls
        polls.append(seconds)
        if len(polls) == 2:
            holder.release()

    measured = measure(scratch_request(), tmp_path, sleep=sleep)
    assert len(polls) == 2 and [r.arm for r in measured.rates] == ["scratch"]
    assert measured.rates[0].images_per_second > 0


def test_a_plan_held_past_the_wait_says_busy_with_a_plan(tmp_path):
    holder, now = Holder(tmp_path, PLAN_HOLDER), [0.0]

    def sleep(seconds):  # an injected clock: each poll costs 20 s
        now[0] += 20.0

    try:
        with pytest.raises(DeviceBusy) as busy:
            measure(scratch_request(), tmp_path, clock=lambda: now[0], sleep=sleep)
    finally:
        holder.release()
    assert busy.value.holder == PLAN_HOLDER and now[0] > PLAN_WAIT_SECONDS
