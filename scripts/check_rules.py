"""Check the advisor's rules against measurements on the built-in datasets.

Runs a grid (datasets x training sizes x arms x seeds) with the benchmark engine, asks the
advisor for each cell's profile, and records whether the measurement confirms the advice.
Writes advisor/data/grid/grid_results.json, which the app shows as "what we measured", and prints
the agreement rate (inconclusive cells counted separately).

    python scripts/check_rules.py                 # the shipped tuning grid (~8 minutes on 2 CPU cores)
    python scripts/check_rules.py --held-out 2    # a set of cells that played no part in setting the rules
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
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from PIL import Image

from advisor import profile_from_mapping, recommend
from advisor.evidence import agreement, calibration, rules_version
from advisor.shipped import GRID_RESULTS
from bench.data.splits import make_splits, subsample_train
from bench.data.unlabeled import holdout_pool
from bench.device import describe, library_versions, resolve_device
from bench.evidence.logme import Transferability, estimate_transferability
from bench.evidence.verdict import make_verdict
from bench.runs.executors import make_executor
from bench.train.arms import ARMS as ARM_SPECS
from bench.train.cache import TrialCache
from bench.train.suite import SuiteConfig, run_suite
from bench.train.trial import TrialConfig
from bench.vocabulary import ArmFamily


@dataclass(frozen=True)
class Cell:
    """One grid cell: a dataset at one training size, the arms it measures, and how long they train."""

    dataset: str  # a built-in name, or "NAME@SIDEpx": that built-in written out as a folder of SIDE-px images
    examples: int
    arms: tuple[str, ...]
    budget_seconds: float | None = 8.0  # None: until converged (data-limited), max_epochs and patience as shipped
    pool: bool = False  # hybrid arms pretrain on the training images beyond ``examples``, labels hidden
    similarity: str | None = None  # the person's own answer instead of the LogME estimate


ARMS = ("linear_probe", "partial_finetune", "full_finetune", "scratch")
TUNING = {"digits": (100, 300, 1000), "fashion-mnist": (100, 300, 1000, 3000)}
HYBRID_ARMS = (*ARMS, "hybrid", "hybrid_scratch")
# Cells that played no part in setting the rules, measured after the table was frozen. Set 1:
# the two new datasets (colour emoji, spoken-word spectrograms) under a budget. Set 2: the same
# datasets with an unlabeled pool and the hybrid arms, until converged, and at 32 px (written
# out as a folder and read back through the user-folder path, as a person's 32 px images are).
# Set 3: other sizes, measured after the confidence formula was re-fitted (scripts/fit_confidence.py).
HELD_OUT_SETS: dict[int, tuple[Cell, ...]] = {
    1: tuple(
        Cell(name, size, ("linear_probe", "full_finetune", "scratch"))
        for name in ("emoji", "spoken-commands")
        for size in (100, 300)
    ),
    2: (
        Cell("emoji", 100, HYBRID_ARMS, budget_seconds=16.0, pool=True),
        Cell("spoken-commands", 100, HYBRID_ARMS, budget_seconds=16.0, pool=True),
        Cell("emoji", 300, ARMS, budget_seconds=None),
        Cell("spoken-commands", 300, ARMS, budget_seconds=None),
        Cell("emoji@32px", 300, ARMS),
        Cell("spoken-commands@32px", 300, ARMS),
    ),
    # Set 3: measured after the confidence formula was re-fitted on sets 1-2 and the tuning grid.
    3: (
        Cell("emoji", 50, ARMS),
        Cell("spoken-commands", 200, ARMS),
        Cell("emoji", 200, ARMS, budget_seconds=None),
        Cell("spoken-commands@32px", 100, ARMS, budget_seconds=None),
        Cell("emoji@48px", 150, ARMS),
        Cell("spoken-commands", 300, ARMS, similarity="low"),  # spectrograms are not photos, a person may say
    ),
}
OUT = GRID_RESULTS
HELD_OUT_OUT = GRID_RESULTS.with_name("held_out_results.json")
UNTIL_CONVERGED_HOURS = 1.0  # what a person who can train to convergence answers for the time budget


def cell_profile(cell: Cell, transfer: Transferability, classes: int, pool: int) -> dict:
    # What a user of this quick check would answer: image data, the classes, a pretrained model,
    # a CPU, the wall-clock the check itself takes (arms x budget; an hour when training until
    # converged), the unlabeled pool's size, and what the questionnaire's "estimate from my
    # data" fills in (similarity from LogME, input size).
    hours = UNTIL_CONVERGED_HOURS if cell.budget_seconds is None else len(cell.arms) * cell.budget_seconds / 3600
    return {
        "modality": "image",
        "labeled_examples": cell.examples,
        "num_classes": classes,
        **transfer.suggested_answers(),
        **({"domain_similarity": cell.similarity} if cell.similarity else {}),
        "pretrained_available": True,
        "time_budget_hours": round(hours, 4),
        "compute": "cpu",
        "unlabeled_examples": pool,
    }


def dataset_source(name: str, cache: TrialCache) -> str:
    """A built-in's name, or for "NAME@SIDEpx" a folder of that built-in's images at SIDE px (written once)."""
    if "@" not in name:
        return name
    base, side = name.split("@")
    side = int(side.removesuffix("px"))
    folder = Path(tempfile.gettempdir()) / "check-rules" / f"{base}-{side}px"
    data = cache.dataset(base, 128)
    if not (folder / "done").exists():
        for index, (image, label) in enumerate(zip(data.images, data.labels, strict=True)):
            target = folder / data.class_names[label] / f"{index:05d}.png"
            target.parent.mkdir(parents=True, exist_ok=True)
            pixels = image[..., 0] if image.shape[-1] == 1 else image
            Image.fromarray(pixels).resize((side, side), Image.Resampling.LANCZOS).save(target)
        (folder / "done").write_text("")
    return str(folder)


def measure(cell: Cell, seeds: int, split: str, version: str, executor, cache: TrialCache) -> dict:
    source = dataset_source(cell.dataset, cache)
    transfer = estimate_transferability(source, examples=1000, cache=cache)
    data = cache.dataset(source, 128)
    base = TrialConfig(source, cell.arms[0], examples=cell.examples, budget_seconds=cell.budget_seconds)
    pool = 0
    if cell.pool:
        splits = make_splits(data.labels, seed=base.split_seed)
        pool = len(holdout_pool(data, subsample_train(splits, data.labels, cell.examples, seed=0), splits))
    profile = cell_profile(cell, transfer, data.num_classes, pool)
    advice = recommend(profile_from_mapping(profile))
    started = time.time()
    results = run_suite(SuiteConfig(base, cell.arms, tuple(range(seeds))), cache=cache, runner=executor.run)
    verdict = make_verdict(advice.strategy, results)
    winner = verdict.measured_winner
    return {
        "dataset": cell.dataset,
        "examples": cell.examples,
        "mode": "until converged" if cell.budget_seconds is None else f"{cell.budget_seconds:g} s budget",
        "similarity_from": "the person's answer" if cell.similarity else "LogME estimate",
        "budget_seconds": cell.budget_seconds,
        "seeds": seeds,
        "unlabeled_pool": pool,
        "profile": profile,
        "split": split,
        "rules_version": version,
        "advised": advice.strategy,
        "confidence": advice.confidence,
        "measured_winner": winner,
        "winner_strategy": ARM_SPECS[winner].strategy if winner in ARM_SPECS else winner,
        "outcome": verdict.outcome,
        "summary": verdict.summary,
        "arms": [asdict(e) for e in verdict.arms],
        "pretraining": {  # hybrid arms: self-supervised seconds and steps, per seed
            arm: [
                {"seconds": round(r.time_pretrain_s, 1), "steps": r.pretrain_steps}
                for r in results
                if r.config.arm == arm
            ]
            for arm in cell.arms
            if ARM_SPECS[arm].family == ArmFamily.HYBRID
        },
        "logme_gain": round(transfer.gain, 4),
        "minutes": round((time.time() - started) / 60, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--budget-seconds", type=float, default=5.0, help="tuning grid only")
    parser.add_argument("--arms", default=",".join(ARMS), help="tuning grid only")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument(
        "--held-out", type=int, choices=sorted(HELD_OUT_SETS), default=None,
        help="measure this held-out set instead (its cells carry their own arms and budgets)",
    )  # fmt: skip
    parser.add_argument("--executor", default="local", help="local or ray")
    parser.add_argument("--address", default=None, help="with --executor ray: the cluster's address")
    args = parser.parse_args()
    executor = make_executor(args.executor, args.address)
    if args.held_out is None:
        arms = tuple(args.arms.split(","))
        grid = [Cell(name, size, arms, args.budget_seconds) for name, sizes in TUNING.items() for size in sizes]
        split, out = "tuning", args.out or OUT
    else:
        grid, split, out = list(HELD_OUT_SETS[args.held_out]), "held-out", args.out or HELD_OUT_OUT
    version = rules_version()
    cache = TrialCache()
    cells, started = [], time.time()
    for cell in grid:
        measured = measure(cell, args.seeds, split, version, executor, cache)
        if args.held_out is not None:
            measured["set"] = args.held_out
        cells.append(measured)
        print(f"{cell.dataset:>20} n={cell.examples:<5} {measured['mode']:<15} advised {measured['advised']:<17} "
              f"({measured['confidence']:.2f}) measured {measured['measured_winner']:<14} {measured['outcome']}",
              flush=True)  # fmt: skip
    if args.held_out is not None and out.exists():
        # Keep the other held-out sets (each cell names the rule table it was measured under); this set is replaced.
        earlier = json.loads(out.read_text())
        earlier_cells = [{**c, "set": c.get("set", 1)} for c in earlier.get("cells", [])]  # set 1 predates the key
        cells = [c for c in earlier_cells if c["set"] != args.held_out] + cells
    report = {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "device": describe(resolve_device("auto")),
        "machine": platform.machine(),
        "versions": library_versions(),
        "seeds": args.seeds,
        "split": split,
        "rules_version": version,
        "executor": args.executor,
        "minutes": round((time.time() - started) / 60, 1),
        "agreement": agreement(cells),
        "calibration": calibration(cells),
        "cells": cells,
    }
    if args.held_out is not None:  # each set apart: a set is evidence only for the rule table it was measured under
        report["sets"] = {
            str(number): {
                "rules_version": sorted({c["rules_version"] for c in members}),
                "agreement": agreement(members),
                "calibration": calibration(members),
            }
            for number in sorted({c.get("set", 1) for c in cells})
            for members in [[c for c in cells if c.get("set", 1) == number]]
        }
    if args.held_out is None:
        report |= {"budget_seconds": args.budget_seconds, "arms": list(arms)}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    counts = report["agreement"]
    rate = f"{counts['rate']:.0%}" if counts["rate"] is not None else "n/a"
    print(f"\nagreement over {len(cells)} cells: {counts['confirmed']} confirmed, {counts['contradicted']} "
          f"contradicted ({rate} of decided), {counts['inconclusive']} inconclusive, "
          f"{counts['not_decided']} not decided; "
          f"advised arm measured best in {counts['advised arm measured best']}; wrote {out}")  # fmt: skip
    print("calibration (confidence bin: cells, advised arm measured best, decided, confirmed):")
    for row in report["calibration"]:
        print(f"  {row['confidence']}: {row['cells']} cells, advised best {row['advised_arm_best']}, "
              f"{row['decided']} decided, {row['confirmed']} confirmed")  # fmt: skip


if __name__ == "__main__":
    main()
