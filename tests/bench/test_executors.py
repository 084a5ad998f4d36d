"""Executors: the local one as today, Ray on a local cluster, a lost node, cancel, and Ray missing.

Clusters stay tiny (2 CPUs, or two 1-CPU nodes) and every one is shut down by its fixture.
Nothing here is timed.
"""

import importlib.util
import shutil
import sys
import time
from collections import Counter
from dataclasses import replace

import pytest

from bench.device import device_kinds, same_device_kind
from bench.errors import BenchInputError, ConfigError
from bench.runs.executors.factory import make_executor
from bench.runs.executors.local import LocalExecutor
from bench.runs.executors.progress import SweepCallback
from bench.runs.executors.ray_driver import RayExecutor, cluster_resources
from bench.runs.executors.settings import MISSING_RAY, import_ray
from bench.train.cache import TrialCache
from bench.train.config import TrialConfig
from bench.train.result import TrialResult
from tests.bench.imaging import write_class_folder

needs_ray = pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="Ray is not installed")
QUIET = {"include_dashboard": False, "log_to_driver": False, "logging_level": "warning"}
STORE_BYTES = 80 * 2**20  # the smallest object store Ray accepts is 75 MB; digits is 1 MB


def curve_configs(arms=("linear_probe", "scratch"), sizes=(60, 100), seeds=(0,)) -> list[TrialConfig]:
    """A curve in miniature: sizes x seeds x arms on digits, each scratch trial a 1-second budget (its 8-px
    digits read at 16 px: the evaluations after the budget cost a quarter of what 32 px costs)."""
    base = TrialConfig("digits", "scratch", budget_seconds=1, batch_size=32, resolution=32, scratch_resolution=16,
                       device="cpu")  # fmt: skip
    return [replace(base, arm=a, seed=s, examples=n) for n in sizes for s in seeds for a in arms]


class Recorder(SweepCallback):
    """Counts every hook the executor calls; optionally asks to stop after some finished trials."""

    def __init__(self, stop_after: int | None = None):
        self.stop_after = stop_after
        self.starts, self.ends, self.sweeps = [], [], []

    def on_trial_start(self, state):
        self.starts.append(state.config)

    def on_trial_end(self, result):
        self.ends.append(result)

    def on_sweep_progress(self, progress):
        self.sweeps.append(progress)

    def should_stop(self) -> bool:
        return self.stop_after is not None and len(self.ends) >= self.stop_after


# ---- no cluster needed ------------------------------------------------------------------------


def test_unknown_executor_names_the_setting_what_is_accepted_and_what_was_given():
    with pytest.raises(ConfigError) as caught:
        make_executor("dask")
    message = caught.value.worded({"executor": "--executor"})
    assert message.startswith("--executor:") and "local, ray" in message and "dask" in message


def test_address_is_refused_for_the_local_executor():
    with pytest.raises(ConfigError, match="address"):
        make_executor("local", "head:6379")
    assert isinstance(make_executor("local"), LocalExecutor)


@pytest.mark.parametrize(
    ("settings", "field"),
    [({"cpus_per_trial": 0}, "cpus_per_trial"), ({"gpus_per_trial": 1.5}, "gpus_per_trial"),
     ({"max_retries": -1}, "max_retries"), ({"gpus_per_trial": -1}, "gpus_per_trial")],
)  # fmt: skip
def test_ray_settings_are_checked_with_the_field_named(settings, field):
    with pytest.raises(ConfigError) as caught:
        RayExecutor(**settings).validate()
    assert caught.value.field == field


def test_missing_ray_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError
    with pytest.raises(BenchInputError) as caught:
        make_executor("ray")
    assert str(caught.value) == MISSING_RAY
    assert "pip install 'finetune-or-scratch[ray]'" in MISSING_RAY and MISSING_RAY.startswith("--executor ray:")
    with pytest.raises(BenchInputError, match="Ray is not installed"):
        RayExecutor().run(curve_configs()[:1])
    assert cluster_resources() == {}
    with pytest.raises(BenchInputError, match="Ray is not installed"):
        import_ray()


def test_an_address_nobody_answers_fails_fast_with_the_flag_named():
    pytest.importorskip("ray")
    with pytest.raises(BenchInputError, match=r"--address 127\.0\.0\.1:1: no Ray cluster answers there"):
        RayExecutor(address="127.0.0.1:1", gpus_per_trial=0).run(curve_configs()[:1])


def test_budgeted_trials_get_whole_gpus_until_converged_ones_may_share():
    executor = RayExecutor(cpus_per_trial=2, gpus_per_trial=0.5)
    budgeted = TrialConfig("digits", "scratch", budget_seconds=5)
    converged = replace(budgeted, budget_seconds=None)
    assert executor.resources(budgeted, 0.5) == {"CPU": 2, "GPU": 1}
    assert executor.resources(converged, 0.5) == {"CPU": 2, "GPU": 0.5}
    assert executor.resources(budgeted, 0.0) == {"CPU": 2, "GPU": 0.0}


def test_device_kinds_separate_machines_and_ignore_unfinished_trials():
    config = TrialConfig("digits", "scratch")
    cpu = TrialResult(config, "completed", device="cpu (x86_64, 2 threads)")
    gpu = TrialResult(config, "completed", device="cuda (NVIDIA H100 80GB HBM3)")
    failed = TrialResult(config, "failed", device="cuda (NVIDIA A10G)")
    assert device_kinds([cpu, gpu, failed]) == {cpu.device, gpu.device}
    assert same_device_kind([cpu, failed]) and not same_device_kind([cpu, gpu])


# ---- a local Ray cluster ----------------------------------------------------------------------


@pytest.fixture(scope="class")
def local_cluster(request):
    import ray

    ray.shutdown()
    ray.init(address="local", num_cpus=2, object_store_memory=STORE_BYTES, **QUIET)
    request.addfinalizer(ray.shutdown)


@needs_ray
@pytest.mark.slow
@pytest.mark.usefixtures("local_cluster")
class TestLocalCluster:
    def test_ray_gives_the_same_trials_as_the_local_executor(self):
        configs = curve_configs()
        cache = TrialCache()
        local_seen, ray_seen = [], []
        local = LocalExecutor()
        local_results = local.run(configs, [], local_seen.append, cache)
        recorder = Recorder()
        executor = RayExecutor(cpus_per_trial=1, gpus_per_trial=0)
        ray_results = executor.run(configs, [recorder], ray_seen.append, cache)

        assert [r.trial_id for r in ray_results] == [r.trial_id for r in local_results]
        assert [r.config for r in ray_results] == configs
        assert [r.status for r in ray_results] == ["completed"] * len(configs), [r.error for r in ray_results]
        assert [r.status for r in local_results] == ["completed"] * len(configs)
        for here, there in zip(local_results, ray_results, strict=True):
            assert there.dataset_fingerprint == here.dataset_fingerprint
            assert there.train_examples == here.train_examples
            if here.config.arm == "linear_probe":  # deterministic: equal accuracies
                assert there.test_accuracy == here.test_accuracy
            assert there.device.startswith("cpu (") and "1 threads" in there.device  # torch threads = cpus_per_trial
        # The driver wrote every result once, and replayed the trials' starts and ends to the callbacks.
        assert Counter(r.trial_id for r in ray_seen) == Counter(r.trial_id for r in local_results)
        assert sorted(map(str, recorder.starts)) == sorted(map(str, configs)) and len(recorder.ends) == len(configs)
        final = executor.progress()
        assert (final.queued, final.running, final.finished, final.retried) == (0, 0, len(configs), 0)
        assert local.progress().finished == len(configs) and local.progress().nodes[0].node == "local"
        assert any(p.running for p in recorder.sweeps)  # per-node counts were published while trials ran

    def test_cancel_mid_sweep_stops_queued_and_running_tasks(self):
        import ray

        configs = curve_configs(arms=("scratch",), sizes=(60, 80, 100, 120, 140, 160))
        recorder, seen = Recorder(stop_after=1), []
        results = RayExecutor(cpus_per_trial=1, gpus_per_trial=0).run(configs, [recorder], seen.append)

        assert [r.config for r in results] == configs  # every trial accounted for, in the configs' order
        statuses = Counter(r.status for r in results)
        assert statuses["completed"] >= 1 and statuses["cancelled"] >= 1, statuses
        assert set(statuses) <= {"completed", "cancelled"}
        assert Counter(r.trial_id for r in seen) == Counter(r.trial_id for r in results)  # each stored once
        assert all(r.error.startswith("cancelled by the user") for r in results if r.status == "cancelled")
        # The cancelled tasks released their CPUs: nothing of the sweep still runs on the cluster.
        assert _eventually(lambda: ray.available_resources().get("CPU", 0) == 2)

    def test_a_text_run_sends_its_named_columns_and_token_length_to_the_tasks(self, tmp_path):
        """A CSV whose text and label columns are not the detected ones (its 'label' column has one class): the
        driver reads it with the named columns and sends it; the CSV is gone before any task starts."""
        rows = [f"{'the cat purrs and naps' if i % 2 else 'the dog barks and runs'} {i},{'cat' if i % 2 else 'dog'},x"
                for i in range(40)]  # fmt: skip
        csv = tmp_path / "driver-only.csv"
        csv.write_text("msg,gold,label\n" + "\n".join(rows) + "\n")
        config = TrialConfig(str(csv), "scratch", budget_seconds=1, batch_size=8, device="cpu", text_column="msg",
                             label_column="gold", max_tokens=16, text_backbone="all-minilm-l6-v2")  # fmt: skip
        cache = TrialCache()
        sent = cache.dataset(config.dataset, config.image_size, text_columns=("msg", "gold"))  # the driver's copy
        csv.unlink()
        results = RayExecutor(cpus_per_trial=1, gpus_per_trial=0, max_retries=0).run([config], cache=cache)

        [result] = results
        assert result.status == "completed", result.error
        assert result.dataset_fingerprint == sent.fingerprint and sent.class_names == ("cat", "dog")
        assert (result.config.text_column, result.config.label_column, result.config.max_tokens) == ("msg", "gold", 16)
        assert result.baseline_accuracy is not None  # the text scratch arm ran (its TF-IDF baseline beside it)

    def test_cluster_resources_describe_the_connected_cluster(self):
        resources = cluster_resources()
        assert resources["nodes"] == 1 and resources["CPUs"] == 2 and resources["GPUs"] == 0


def _eventually(check, tries: int = 60, every: float = 0.5) -> bool:
    for _ in range(tries):
        if check():
            return True
        time.sleep(every)
    return False


# ---- two nodes, one lost mid-sweep ------------------------------------------------------------


NODE = {"num_cpus": 1, "object_store_memory": STORE_BYTES}


@pytest.fixture(scope="module")
def head_node(request):
    """A head node with 1 CPU (the driver's node); each test adds the worker node it will lose."""
    import ray
    from ray.cluster_utils import Cluster

    ray.shutdown()
    cluster = Cluster(initialize_head=True, head_node_args={**NODE, "include_dashboard": False})
    ray.init(address=cluster.address, log_to_driver=False, logging_level="warning")

    def down():
        ray.shutdown()
        cluster.shutdown()

    request.addfinalizer(down)
    return cluster


@pytest.fixture
def two_nodes(head_node):
    worker = head_node.add_node(**NODE)
    head_node.wait_for_nodes()
    yield head_node, worker
    if worker in head_node.worker_nodes:  # a test that keeps its worker: the next test adds its own
        head_node.remove_node(worker)


class LoseNode(Recorder):
    """Removes ``worker`` from the cluster once a trial has finished and one is running there."""

    def __init__(self, cluster, worker, executor):
        super().__init__()
        self.cluster, self.worker, self.executor = cluster, worker, executor
        self.finished_before: list[TrialResult] = []
        self.removed = False

    def on_sweep_progress(self, progress):
        super().on_sweep_progress(progress)
        on_worker = [n for n in progress.nodes if self.worker.node_id[:8] in n.node]
        if not self.removed and progress.finished >= 1 and on_worker and on_worker[0].running:
            self.finished_before = list(self.ends)
            self.cluster.remove_node(self.worker)
            self.removed = True


@needs_ray
@pytest.mark.slow
def test_a_lost_node_keeps_finished_trials_and_reruns_the_lost_ones(two_nodes):
    cluster, worker = two_nodes
    configs = curve_configs(arms=("scratch",), sizes=(60, 80, 100, 120, 140))
    executor = RayExecutor(cpus_per_trial=1, gpus_per_trial=0, max_retries=2)
    lose, seen = LoseNode(cluster, worker, executor), []
    results = executor.run(configs, [lose], seen.append)

    assert lose.removed, "the worker node never ran a trial"
    assert [r.config for r in results] == configs
    assert Counter(r.trial_id for r in seen) == Counter(r.trial_id for r in results)  # on_result once per trial
    by_id = {r.trial_id: r for r in results}
    for kept in lose.finished_before:  # finished before the loss: kept exactly as stored
        assert by_id[kept.trial_id] == kept
    for result in results:
        assert result.status in ("completed", "failed")
        assert result.status == "completed" or result.error, result
    progress = executor.progress()
    figures = Counter(r.status for r in results)
    # The trial running on the lost node started again elsewhere. The count sees the re-run only when the
    # lost attempt had reported its start before the node died (a race on a busy machine); every trial
    # completing on the surviving node says the same thing.
    assert progress.retried >= 1 or figures["completed"] == len(configs), (progress, figures)
    print(
        f"node loss: {len(lose.finished_before)} finished before the loss and kept, {progress.retried} retried, "
        f"{figures['completed']} completed, {figures['failed']} failed; nodes {progress.to_dict()['nodes']}"
    )


@needs_ray
@pytest.mark.slow
def test_a_trial_that_loses_its_node_with_no_retries_left_fails_with_the_reason(two_nodes):
    cluster, worker = two_nodes
    configs = curve_configs(arms=("scratch",), sizes=(60, 80, 100))
    executor = RayExecutor(cpus_per_trial=1, gpus_per_trial=0, max_retries=0)
    lose, seen = LoseNode(cluster, worker, executor), []
    results = executor.run(configs, [lose], seen.append)

    assert lose.removed
    failed = [r for r in results if r.status == "failed"]
    assert failed, [(r.status, r.error) for r in results]
    assert all("node" in r.error or "worker" in r.error for r in failed), [r.error for r in failed]
    assert Counter(r.trial_id for r in seen) == Counter(r.trial_id for r in results)
    print(f"no retries: {[(r.trial_id, r.status, r.error) for r in results]}")


@needs_ray
@pytest.mark.slow
def test_tasks_train_on_the_data_sent_with_the_run_not_on_its_path(two_nodes, tmp_path):
    """The driver reads a user's folder once and sends it; the folder is gone before any task starts (as on
    a cluster where it exists on the driver's machine only), and a trial on each node still trains on it."""
    folder = write_class_folder(tmp_path / "on-the-driver-only", {"a": 16, "b": 16}, size=12)
    base = TrialConfig(str(folder), "scratch", budget_seconds=1, batch_size=8, scratch_resolution=12,
                       image_size=12, device="cpu")  # fmt: skip
    configs = [replace(base, seed=seed) for seed in (0, 1)]
    cache = TrialCache()
    sent = cache.dataset(base.dataset, base.image_size, base.train_limit)  # the driver's copy, put in the store
    shutil.rmtree(folder)
    executor = RayExecutor(cpus_per_trial=1, gpus_per_trial=0, max_retries=0)
    results = executor.run(configs, cache=cache)

    assert [r.status for r in results] == ["completed", "completed"], [r.error for r in results]
    assert {r.dataset_fingerprint for r in results} == {sent.fingerprint}
    assert len(executor.progress().nodes) == 2, executor.progress()  # one trial on each node
