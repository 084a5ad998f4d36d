"""Score the advisor against the published table, tuning and held-out parts apart.

    PYTHONPATH=. python scripts/score_evidence.py              # score, print, write advisor/data/evidence/scores.json
    PYTHONPATH=. python scripts/score_evidence.py --baseline   # also record these rules as the baseline

For every row (advisor/data/evidence/published.json) the advisor's ranking is restricted to the
strategies the study compared (advisor.agreement). Printed and written, for the tuning and the
held-out part apart: agreement (advised top strategy == published winner), the Brier score of
the stated confidence, and a binned calibration table (scikit-learn's calibration_curve, ten
uniform bins; 95% Wilson intervals from scipy's binomtest). The measured grid
(advisor/data/grid/) is scored the same way, against the arm with the best mean accuracy.

The baseline (the rules before they were re-derived from the tuning part) is kept in the file:
``--baseline`` writes the current rules' per-row answers as the baseline, and later runs keep
them. Rows added after the baseline was recorded are scored by checking out the baseline commit
(``git worktree add /tmp/base <commit>``) and running ``--baseline --out`` there with this table.

A bad row stops the script with the row and the field named (exit 2).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import binomtest
from sklearn.calibration import calibration_curve

from advisor.agreement import SCORES, RowOutcome, score_rows, summarize
from advisor.evidence import rules_version
from advisor.profile import profile_from_mapping
from advisor.published import HELD_OUT, PUBLISHED, TUNING, PublishedRowError, load_published
from advisor.scoring import confidence_from_margin, score_profile
from advisor.shipped import GRID_RESULTS

BINS = 10  # calibration_curve's uniform bins: 0.0-0.1, ..., 0.9-1.0; the advisor states >= 0.5


def calibration_table(confidence: list[float], agreed: list[bool]) -> list[dict[str, Any]]:
    """Per non-empty bin: rows, mean stated confidence, fraction right and its 95% Wilson interval."""
    if not confidence:
        return []
    p = np.asarray(confidence, dtype=float)
    y = np.asarray(agreed, dtype=int)
    prob_true, prob_pred = calibration_curve(y, p, n_bins=BINS, strategy="uniform")
    edges = np.linspace(0.0, 1.0, BINS + 1)
    # The same bin assignment calibration_curve uses, for the counts it does not return.
    ids = np.searchsorted(edges[1:-1], p, side="right")
    table = []
    for index, (true, pred) in zip(sorted(set(ids.tolist())), zip(prob_true, prob_pred, strict=True), strict=True):
        inside = ids == index
        n, k = int(inside.sum()), int(y[inside].sum())
        interval = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
        table.append({
            "confidence": f"{edges[index]:.1f}-{edges[index + 1]:.1f}",
            "rows": n,
            "mean_confidence": round(float(pred), 3),
            "right": k,
            "fraction_right": round(float(true), 3),
            "interval": [round(float(interval.low), 3), round(float(interval.high), 3)],
        })  # fmt: skip
    return table


def grid_outcomes() -> list[dict[str, Any]]:
    """Each measured grid cell under today's rules: the advised strategy among the measured arms vs the best mean."""
    cells = []
    for path in (GRID_RESULTS, GRID_RESULTS.with_name("held_out_results.json")):
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            measured = {"hybrid" if arm["arm"] == "hybrid_scratch" else arm["arm"] for arm in cell["arms"]}
            ranking = [
                r for r in score_profile(profile_from_mapping(cell["profile"])).ranking if r.strategy in measured
            ]
            margin = ranking[0].score - ranking[1].score
            winner = cell.get("winner_strategy", cell["measured_winner"])
            cells.append({
                "cell": f"{cell['dataset']} n={cell['examples']} {cell.get('mode', '')}".strip(),
                "split": cell.get("split", "tuning"),
                "measured_under": cell["rules_version"],
                "advised": ranking[0].strategy,
                "confidence": confidence_from_margin(margin),
                "winner": winner,
                "agreed": ranking[0].strategy == winner,
            })  # fmt: skip
    return cells


def part(outcomes: list[RowOutcome] | list[dict[str, Any]]) -> dict[str, Any]:
    rows = [o if isinstance(o, dict) else o.to_dict() for o in outcomes]
    n = len(rows)
    agreed = sum(r["agreed"] for r in rows)
    brier = round(sum((r["confidence"] - r["agreed"]) ** 2 for r in rows) / n, 4) if n else None
    return {"rows": n, "agreed": agreed, "agreement": round(agreed / n, 3) if n else None, "brier": brier}


def baseline_parts(baseline: dict[str, Any], ids_by_split: dict[str, list[str]]) -> dict[str, Any]:
    known = baseline.get("per_row", {})
    parts = {}
    for split, ids in ids_by_split.items():
        present = [known[i] for i in ids if i in known]
        parts[split] = {**part(present), "missing": [i for i in ids if i not in known]}
    return parts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--table", type=Path, default=PUBLISHED)
    parser.add_argument("--out", type=Path, default=SCORES)
    parser.add_argument("--baseline", action="store_true", help="record today's rules as the baseline")
    parser.add_argument("--baseline-note", default="", help="what the baseline is (commit, rule table)")
    args = parser.parse_args()
    try:
        rows = load_published(args.table)
    except PublishedRowError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    outcomes = score_rows(rows)
    by_split = {
        TUNING: [o for o in outcomes if o.split == TUNING],
        HELD_OUT: [o for o in outcomes if o.split == HELD_OUT],
    }
    ids_by_split = {split: [o.id for o in items] for split, items in by_split.items()}
    previous = json.loads(args.out.read_text(encoding="utf-8")) if args.out.is_file() else {}
    baseline = previous.get("baseline", {})
    grid = grid_outcomes()
    grid_parts = {split: part([c for c in grid if c["split"] == split]) for split in (TUNING, HELD_OUT)}
    if args.baseline:
        baseline = {
            "rules_version": rules_version(),
            "note": args.baseline_note or baseline.get("note", ""),
            "per_row": {o.id: o.to_dict() for o in outcomes},
            "grid": grid_parts,
            "calibration": {
                split: calibration_table([o.confidence for o in items], [o.agreed for o in items])
                for split, items in by_split.items()
            },
        }
    scores = {
        "rules_version": rules_version(),
        "table": {
            "rows": len(rows),
            "studies": len({row.study_key for row in rows}),
            "modalities": sorted({row.profile.modality for row in rows}),
            "checked_in_source": sum(row.checked for row in rows),
            "held_out_ids": ids_by_split[HELD_OUT],
        },
        "current": {split: summarize(items).to_dict() for split, items in by_split.items()},
        "baseline": {
            "rules_version": baseline.get("rules_version"),
            "note": baseline.get("note", ""),
            **baseline_parts(baseline, ids_by_split),
            "grid": baseline.get("grid", {}),
            "calibration": baseline.get("calibration", {}),
            "per_row": baseline.get("per_row", {}),
        },
        "calibration": {
            split: calibration_table([o.confidence for o in items], [o.agreed for o in items])
            for split, items in by_split.items()
        },
        "grid": {
            "current": grid_parts,
            "calibration": calibration_table([c["confidence"] for c in grid], [c["agreed"] for c in grid]),
            "cells": grid,
        },
        "rows": [o.to_dict() for o in outcomes],
    }
    args.out.write_text(json.dumps(scores, indent=1) + "\n", encoding="utf-8")
    print(f"{len(rows)} rows from {scores['table']['studies']} studies; rules {scores['rules_version']}")
    print(f"{'part':<10} {'rows':>5} {'baseline agree':>15} {'brier':>7} {'current agree':>14} {'brier':>7}")
    for split in (TUNING, HELD_OUT):
        now, then = scores["current"][split], scores["baseline"][split]
        then_rate = f"{then['agreed']}/{then['rows']}" if then["rows"] else "n/a"
        print(f"{split:<10} {now['rows']:>5} {then_rate:>15} {then['brier'] or float('nan'):>7.3f} "
              f"{now['agreed']:>6}/{now['rows']:<7} {now['brier'] or float('nan'):>7.3f}")  # fmt: skip
        if then["missing"]:
            print(f"  baseline missing for {len(then['missing'])} rows: {', '.join(then['missing'])}")
    for split in (TUNING, HELD_OUT):
        print(f"\ncalibration, {split}:")
        for b in scores["calibration"][split]:
            print(f"  {b['confidence']}  {b['rows']:>3} rows  stated {b['mean_confidence']:.2f}  right "
                  f"{b['fraction_right']:.2f}  95% [{b['interval'][0]:.2f}, {b['interval'][1]:.2f}]")  # fmt: skip
    g = scores["grid"]["current"]
    print(f"\nmeasured grid under these rules: tuning {g[TUNING]['agreed']}/{g[TUNING]['rows']} "
          f"(Brier {g[TUNING]['brier']}), held-out {g[HELD_OUT]['agreed']}/{g[HELD_OUT]['rows']} "
          f"(Brier {g[HELD_OUT]['brier']})")  # fmt: skip
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
