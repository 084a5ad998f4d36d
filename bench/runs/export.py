"""The results folder is an export of the run store: config, one JSON per trial, results.json and results.csv.

``export_run`` writes it from what the store holds (so the folder and the app always agree);
``load_results`` reads it back for ``bench verdict``.
"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

from advisor.constraints import FieldError, Interval, check_field, excerpt
from advisor.jsonfile import JSONFileError, JSONSpec, load_json_file
from bench.errors import BenchInputError
from bench.evidence.summary import summarise
from bench.runs.store import MOVE_IT, RunStore, StoreError
from bench.train.check import at_check_size
from bench.train.result import TrialResult

CSV_COLUMNS = (
    "trial_id",
    "arm",
    "seed",
    "examples",
    "status",
    "test_accuracy",
    "test_macro_f1",
    "val_accuracy",
    "epochs_run",
    "time_data_s",
    "time_train_s",
    "time_eval_s",
    "time_features_s",
    "images_per_second",
    "peak_memory_mb",
    "device",
    "dataset_fingerprint",
    "error",
)


def csv_row(result: TrialResult) -> dict[str, Any]:
    c = result.config
    row = {**result.to_dict(), "arm": c.arm, "seed": c.seed, "examples": c.examples or "all"}
    return {key: row[key] for key in CSV_COLUMNS}


def trial_from_dict(data: dict[str, Any]) -> TrialResult:
    """Rebuild a TrialResult saved by :meth:`TrialResult.to_dict`."""
    return TrialResult.from_dict(data)


def export_run(store: RunStore, run_id: str, folder: Path) -> Path:
    """Write the run's files into ``folder`` from the store; returns the path of results.json."""
    record = store.run(run_id)
    if record is None:
        raise BenchInputError(f"run {run_id}: not in the run store {store.path}")
    folder = Path(folder)
    (folder / "trials").mkdir(parents=True, exist_ok=True)
    trials = stored_trials(store, run_id)
    for trial in trials:
        _write_atomic(folder / "trials" / f"{trial.trial_id}.json", json.dumps(trial.to_dict(), indent=2))
    analyses = {k: v for k, v in record.analyses.items() if k != "summary"}
    results = {
        "run_id": run_id,
        "kind": record.kind,
        "status": record.status,
        "config": record.config,
        "summary": [asdict(s) for s in summarise(at_check_size(trials, record.analyses.get("check_plan")))],
        **analyses,
        "verdict": store.verdict(run_id),
        "trials": [t.to_dict() for t in trials],
    }
    _write_atomic(folder / "config.json", json.dumps(record.config, indent=2))
    _write_atomic(folder / "results.json", json.dumps(results, indent=2))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    writer.writerows(csv_row(t) for t in trials)
    _write_atomic(folder / "results.csv", buffer.getvalue())
    return folder / "results.json"


def stored_trials(store: RunStore, run_id: str) -> list[TrialResult]:
    """The run's stored trials as TrialResults, each checked like a results file's; errors name the store row."""
    try:
        return trials_from_records({"trials": store.trials(run_id)}, f"run store {store.path}, run {run_id}")
    except StoreError:
        raise
    except BenchInputError as error:
        raise StoreError(f"{error}; {MOVE_IT}") from None


# results.json holds every trial's history and packed predictions: large, but never gigabytes.
RESULTS_FILE = JSONSpec("results file", max_bytes=256 << 20, max_depth=32)


def load_results(folder: Path) -> dict[str, Any]:
    """Read a results folder written by ``bench run`` or ``bench curve``; trials come back as TrialResults.

    The file is read bounded and non-blocking (:mod:`advisor.jsonfile`) and every trial is checked
    (:func:`~bench.train.result.check_trial_record`); a problem raises :class:`BenchInputError`
    naming ``--results``, the file and the field.
    """
    path = Path(folder) / "results.json"
    if not Path(folder).is_dir():
        raise BenchInputError(f"--results {folder}: not a folder; pass the --out folder of bench run")
    if not path.exists() and not path.is_symlink():
        raise BenchInputError(f"--results {folder}: no results.json there; pass the --out folder of bench run")
    try:
        data = load_json_file(path, RESULTS_FILE)
    except JSONFileError as error:
        raise BenchInputError(f"--results {folder}: {error}") from None
    data["trials"] = trials_from_records(data, f"--results {folder}: {path}")
    data["budget_plan"] = _budget_plan(data.get("budget_plan", []), f"--results {folder}: {path}")
    return data


# A stored plan's "give it N s": the verdict repeats it, so it is checked like every stored number.
SUGGESTED_SECONDS = Interval(float, 0, 86_400 * 365, unit="seconds", none="null (the budget was enough)", low_open=True)


def _budget_plan(records: Any, where: str) -> list[dict[str, Any]]:
    """A results file's ``budget_plan`` (the plan made before training), checked: each entry an arm and the
    seconds it suggested (a positive number, or null when the budget was enough)."""
    if not isinstance(records, list):
        raise BenchInputError(f"{where}: budget_plan: expected a list of arm plans; got {excerpt(records)}")
    for index, record in enumerate(records):
        field = f"{where}: budget_plan[{index}]"
        if not isinstance(record, dict) or not isinstance(record.get("arm"), str):
            raise BenchInputError(f'{field}: expected an object with an "arm" name; got {excerpt(record)}')
        try:
            check_field("suggested_seconds", record.get("suggested_seconds"), SUGGESTED_SECONDS)
        except FieldError as error:
            raise BenchInputError(f"{field}.{error.field}: {error.detail}") from None
    return records


def trials_from_records(data: Any, where: str, key: str = "trials") -> list[TrialResult]:
    """``data[key]`` (a list of trials as saved) rebuilt as TrialResults, each checked; errors name ``where``."""
    if not isinstance(data, dict):
        raise BenchInputError(f'{where}: expected a JSON object with a "{key}" list; got {excerpt(data)}')
    if key not in data:
        raise BenchInputError(f'{where}: no "{key}" field; expected the list of trials a run wrote')
    records = data[key]
    if not isinstance(records, list):
        raise BenchInputError(f'{where}: "{key}" must be a list of trials; got {excerpt(records)}')
    trials = []
    for index, record in enumerate(records):
        try:
            trials.append(trial_from_dict(record))
        except FieldError as error:
            raise BenchInputError(f"{where}: {key}[{index}].{error.field}: {error.detail}") from None
        except (TypeError, ValueError) as error:  # a config that TrialConfig refuses
            raise BenchInputError(f"{where}: {key}[{index}]: {error}") from None
    return trials


def _write_atomic(path: Path, text: str) -> None:
    # Write then rename: a crash or kill mid-write never leaves a truncated file behind.
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)
