"""Check the advisor's rules against measurements on the built-in datasets.

Runs a grid (datasets x training sizes x arms x seeds) with the benchmark engine, asks the
advisor for each cell's profile, and records whether the measurement confirms the advice.
Writes advisor/data/grid/grid_results.json, which the app shows as "what we measured", and prints
the agreement rate (inconclusive cells counted separately).

    python scripts/check_rules.py                 # the shipped tuning grid (~8 minutes on 2 CPU cores)
    python scripts/check_rules.py --held-out      # cells that played no part in setting the rules
    python scripts/check_rules.py --seeds 2 --budget-seconds 3 --out /tmp/grid.json
    python scripts/check_rules.py --executor ray  # one Ray task per trial

Every cell records the rule table's version (advisor.evidence.rules_version): held-out cells
are evidence only for the version they were measured under. The report ends with a calibration
table: the advisor's confidence in bins against how often the advised arm measured best.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from advisor import profile_from_mapping, recommend
from advisor.evidence import calibration, rules_version
from advisor.shipped import GRID_RESULTS
from bench.device import describe, library_versions, resolve_device
from bench.evidence.logme import Transferability, estimate_transferability
from bench.evidence.verdict import make_verdict
from bench.runs.executors import make_executor
from bench.train.arms import ARMS as ARM_SPECS
from bench.train.cache import TrialCache
from bench.train.suite import SuiteConfig, run_suite
from bench.train.trial import TrialConfig

GRID = {"digits": (100, 300, 1000), "fashion-mnist": (100, 300, 1000, 3000)}
# Cells that played no part in setting the rules: new datasets (colour emoji, spoken-word spectrograms).
HELD_OUT = {"emoji": (100, 300), "spoken-commands": (100, 300)}
ARMS = ("linear_probe", "partial_finetune", "full_finetune", "scratch")
OUT = GRID_RESULTS
HELD_OUT_OUT = GRID_RESULTS.with_name("held_out_results.json")


def cell_profile(size: int, transfer: Transferability, budget_seconds: float, arms: int, classes: int = 10) -> dict:
    # What a user of this quick check would answer: image data, 10 classes, a pretrained
    # model, a CPU, the wall-clock the check itself takes (arms x budget), and what the
    # questionnaire's "estimate from my data" fills in (similarity from LogME, input size).
    return {
        "modality": "image",
        "labeled_examples": size,
        "num_classes": classes,
        **transfer.suggested_answers(),
        "pretrained_available": True,
        "time_budget_hours": round(arms * budget_seconds / 3600, 4),
        "compute": "cpu",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--budget-seconds", type=float, default=5.0)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--held-out", action="store_true", help="measure the held-out cells instead")
    parser.add_argument("--arms", default=",".join(ARMS))
    parser.add_argument("--executor", default="local", help="local or ray")
    parser.add_argument("--address", default=None, help="with --executor ray: the cluster's address")
    args = parser.parse_args()
    executor = make_executor(args.executor, args.address)
    arms = tuple(args.arms.split(","))
    grid, split = (HELD_OUT, "held-out") if args.held_out else (GRID, "tuning")
    out = args.out or (HELD_OUT_OUT if args.held_out else OUT)
    version = rules_version()
    cache = TrialCache()
    cells, started = [], time.time()
    for dataset, sizes in grid.items():
        transfer = estimate_transferability(dataset, examples=1000, cache=cache)
        classes = cache.dataset(dataset, 128).num_classes
        for size in sizes:
            profile = cell_profile(size, transfer, args.budget_seconds, len(arms), classes)
            advice = recommend(profile_from_mapping(profile))
            base = TrialConfig(dataset, arms[0], examples=size, budget_seconds=args.budget_seconds)
            results = run_suite(SuiteConfig(base, arms, tuple(range(args.seeds))), cache=cache, runner=executor.run)
            verdict = make_verdict(advice.strategy, results)
            cells.append(
                {
                    "dataset": dataset,
                    "examples": size,
                    "profile": profile,
                    "split": split,
                    "rules_version": version,
                    "advised": advice.strategy,
                    "confidence": advice.confidence,
                    "measured_winner": verdict.measured_winner,
                    "winner_strategy": ARM_SPECS[verdict.measured_winner].strategy
                    if verdict.measured_winner in ARM_SPECS
                    else verdict.measured_winner,
                    "outcome": verdict.outcome,
                    "summary": verdict.summary,
                    "arms": [asdict(e) for e in verdict.arms],
                    "logme_gain": round(transfer.gain, 4),
                }
            )
            print(f"{dataset:>14} n={size:<5} advised {advice.strategy:<17} measured {verdict.measured_winner:<14} "
                  f"{verdict.outcome}", flush=True)  # fmt: skip
    decided = [c for c in cells if c["outcome"] in ("confirmed", "contradicted")]
    confirmed = sum(c["outcome"] == "confirmed" for c in decided)
    agreement = confirmed / len(decided) if decided else None
    report = {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "device": describe(resolve_device("auto")),
        "machine": platform.machine(),
        "versions": library_versions(),
        "seeds": args.seeds,
        "budget_seconds": args.budget_seconds,
        "arms": list(arms),
        "split": split,
        "rules_version": version,
        "executor": args.executor,
        "minutes": round((time.time() - started) / 60, 1),
        "agreement": {
            "confirmed": confirmed,
            "contradicted": len(decided) - confirmed,
            "inconclusive or not decided": len(cells) - len(decided),
            "rate": round(agreement, 3) if agreement is not None else None,
        },
        "calibration": calibration(cells),
        "cells": cells,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    rate = f"{agreement:.0%}" if agreement is not None else "n/a"
    print(f"\nagreement: {confirmed}/{len(decided)} decided cells confirmed ({rate}); "
          f"{len(cells) - len(decided)} inconclusive or not decided; wrote {out}")  # fmt: skip
    print("calibration (confidence bin: cells, advised arm measured best, decided, confirmed):")
    for row in report["calibration"]:
        print(f"  {row['confidence']}: {row['cells']} cells, advised best {row['advised_arm_best']}, "
              f"{row['decided']} decided, {row['confirmed']} confirmed")  # fmt: skip


if __name__ == "__main__":
    main()
