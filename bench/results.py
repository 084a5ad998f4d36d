"""Results are data: per-arm summaries (mean and spread over seeds) and the files a run writes."""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.errors import BenchInputError
from bench.trial import EpochRecord, TrialConfig, TrialResult

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
    "images_per_second",
    "peak_memory_mb",
    "device",
    "dataset_fingerprint",
    "error",
)


@dataclass(frozen=True)
class ArmSummary:
    arm: str
    trials: int  # completed trials
    accuracy_mean: float | None
    accuracy_std: float | None  # sample standard deviation over seeds (None for one seed)
    macro_f1_mean: float | None
    train_seconds_mean: float | None
    images_per_second_mean: float | None
    failed: int = 0
    cancelled: int = 0


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 5) if values else None


def _std(values: list[float]) -> float | None:
    if len(values) < 2:
        return None
    mean = sum(values) / len(values)
    return round(math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1)), 5)


def summarise(results: Iterable[TrialResult]) -> list[ArmSummary]:
    """One row per arm, in the order arms first appear, best mean accuracy not assumed."""
    by_arm: dict[str, list[TrialResult]] = {}
    for result in results:
        by_arm.setdefault(result.config.arm, []).append(result)
    summaries = []
    for arm, trials in by_arm.items():
        done = [t for t in trials if t.status == "completed" and t.test_accuracy is not None]
        summaries.append(
            ArmSummary(
                arm=arm,
                trials=len(done),
                accuracy_mean=_mean([t.test_accuracy for t in done]),
                accuracy_std=_std([t.test_accuracy for t in done]),
                macro_f1_mean=_mean([t.test_macro_f1 for t in done]),
                train_seconds_mean=_mean([t.time_train_s for t in done]),
                images_per_second_mean=_mean([t.images_per_second for t in done]),
                failed=sum(t.status == "failed" for t in trials),
                cancelled=sum(t.status == "cancelled" for t in trials),
            )
        )
    return summaries


def csv_row(result: TrialResult) -> dict[str, Any]:
    c = result.config
    row = {**result.to_dict(), "arm": c.arm, "seed": c.seed, "examples": c.examples or "all"}
    return {key: row[key] for key in CSV_COLUMNS}


def render_table(summaries: list[ArmSummary]) -> str:
    """A plain-text table: accuracy as mean ± std over seeds."""
    header = f"{'arm':<20} {'trials':>6} {'test acc':>16} {'macro-F1':>9} {'train s':>8} {'img/s':>8}"
    lines = [header, "-" * len(header)]
    for s in summaries:
        if s.accuracy_mean is None:
            accuracy = "n/a"
        elif s.accuracy_std is None:
            accuracy = f"{s.accuracy_mean:.3f}"
        else:
            accuracy = f"{s.accuracy_mean:.3f} ± {s.accuracy_std:.3f}"
        f1 = f"{s.macro_f1_mean:.3f}" if s.macro_f1_mean is not None else "n/a"
        seconds = f"{s.train_seconds_mean:.1f}" if s.train_seconds_mean is not None else "n/a"
        speed = f"{s.images_per_second_mean:.0f}" if s.images_per_second_mean is not None else "n/a"
        problems = f"  ({s.failed} failed, {s.cancelled} cancelled)" if s.failed or s.cancelled else ""
        lines.append(f"{s.arm:<20} {s.trials:>6} {accuracy:>16} {f1:>9} {seconds:>8} {speed:>8}{problems}")
    return "\n".join(lines)


class ResultsDir:
    """Writes a run's files: trials/<id>.json per trial, results.json and results.csv after each."""

    def __init__(self, root: Path, run_config: dict[str, Any], kind: str = "run"):
        self.root = Path(root)
        (self.root / "trials").mkdir(parents=True, exist_ok=True)
        self.run_config = run_config
        self.kind = kind
        self.results: list[TrialResult] = []
        self.extras: dict[str, Any] = {}  # analyses added after the trials: curve, verdict, transferability
        _write_atomic(self.root / "config.json", json.dumps(run_config, indent=2))

    def add(self, result: TrialResult) -> None:
        self.results.append(result)
        _write_atomic(self.root / "trials" / f"{result.trial_id}.json", json.dumps(result.to_dict(), indent=2))
        self._write()

    def add_extra(self, name: str, value: Any) -> None:
        self.extras[name] = value
        self._write()

    def _write(self) -> None:
        summary = {
            "kind": self.kind,
            "config": self.run_config,
            "summary": [asdict(s) for s in summarise(self.results)],
            **self.extras,
            "trials": [r.to_dict() for r in self.results],
        }
        _write_atomic(self.root / "results.json", json.dumps(summary, indent=2))
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        writer.writerows(csv_row(r) for r in self.results)
        _write_atomic(self.root / "results.csv", buffer.getvalue())


def trial_from_dict(data: dict[str, Any]) -> TrialResult:
    """Rebuild a TrialResult saved by :meth:`TrialResult.to_dict`."""
    fields = {k: v for k, v in data.items() if k != "trial_id"}
    fields["config"] = TrialConfig(**fields["config"])
    fields["history"] = tuple(EpochRecord(**h) for h in fields.get("history", ()))
    return TrialResult(**fields)


def load_results(folder: Path) -> dict[str, Any]:
    """Read a results folder written by ``bench run`` or ``bench curve``; trials come back as TrialResults."""
    path = Path(folder) / "results.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        data["trials"] = [trial_from_dict(t) for t in data["trials"]]
    except FileNotFoundError:
        raise BenchInputError(
            f"--results {folder}: no results.json there; pass the --out folder of bench run"
        ) from None
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise BenchInputError(f"--results {folder}: results.json is unreadable ({error})") from None
    return data


def _write_atomic(path: Path, text: str) -> None:
    # Write then rename: a crash or kill mid-write never leaves a truncated file behind.
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)
