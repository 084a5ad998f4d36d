"""Where a sweep's trials run: one after the other in this process, or fanned out over a Ray cluster.

``factory.make_executor("local" | "ray", address)`` returns an object with one method,
``run(configs, callbacks, on_result, cache) -> list[TrialResult]``, that both doors call the same way.
One concept per module, each imported from where it lives (this package re-exports nothing):

* ``settings``: the executors' names, the declarative table of their settings, Ray's install check;
* ``factory``: ``make_executor``, which checks the settings before any work (light: no torch);
* ``progress``: the per-node tally a progress bar shows (``SweepProgress``, ``SweepCallback``);
* ``local``: ``LocalExecutor``, the trials one after the other in this process;
* ``ray_driver``: ``RayExecutor``, the driver's side of a Ray sweep, and ``cluster_resources``;
* ``ray_task``: what runs inside a Ray worker: one trial, and the board it reports to.

Why Ray *tasks* and not Ray Tune: the trials of a curve or a grid are independent (no search,
no early termination between trials), and we already own the parts Tune would bring: the budget
clock (``run_trial`` plans its own schedule), the result store (the driver is its only writer) and
progress/cancel (our callbacks). Tune would add its own trial runner, checkpointing and result
logging that we would only work around. One task per trial, ``ray.wait`` to stream results back,
``ray.cancel`` to stop them, Ray's ``max_retries`` to re-run the ones a lost node took with it.

Rules the Ray executor keeps:

* **Fair budgets.** A budgeted trial (``budget_seconds`` set) never shares a device: it asks Ray for
  whole GPUs, or for ``cpus_per_trial`` cores and runs torch on exactly that many threads. An
  until-converged trial may share a GPU (``gpus_per_trial=0.5``): only its accuracy is compared.
* **Data once.** Each dataset is loaded in the driver and ``ray.put`` once, and so is each pretrained
  backbone; tasks seed their own :class:`TrialCache` from the object store (``seed_dataset``,
  ``seed_pretrained``), so a task never reads the dataset's path again. Linear-probe features
  stay cached on disk by fingerprint (``FOS_CACHE_DIR``: shared by the tasks of one machine).
* **One writer.** Results come back to the driver as they finish; each is handed to ``on_result``
  at once (the caller stores it), so a lost node loses only its running trials, which Ray re-runs.
* **Trial start, progress, per-node counts.** A tiny actor (the board, no CPU, on the driver's node)
  receives "started on node X" and throttled progress from the tasks; the driver polls it every
  ``POLL_SECONDS`` and replays the events to the callbacks, so a progress bar or the run store
  sees the same hooks as with the local executor.
"""
