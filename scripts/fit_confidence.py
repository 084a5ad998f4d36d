"""Fit the advisor's confidence to what the grid measured.

Confidence is meant to be the chance that the advised strategy measures best. This script
reads every measured cell (the tuning grid and the held-out sets), recomputes each cell's
margin between the top two strategies' scores under the current rule table, and fits

    P(advised strategy measures best) = 1 / (1 + exp(-slope * margin))

by L2-regularised logistic regression without an intercept (scikit-learn: Platt scaling of
the margin). No intercept: a tie between the top two is a coin toss (P = 0.5), and the
margins measured so far (0.1 to 1.1 points) are too narrow to tell an intercept and a slope
apart (fitted together, the slope comes out negative). It prints the fit, the log loss and
Brier score of the current formula and of the fit on the same cells, and the constant to put
in advisor/scoring.py. A fit is in-sample: only held-out cells measured after the change say
whether it is calibrated.

    python scripts/fit_confidence.py --held-out-sets 1,2   # the shipped slope: fitted before set 3 existed
    python scripts/fit_confidence.py                        # every cell measured so far
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, log_loss

from advisor.profile import profile_from_mapping
from advisor.scoring import score_profile
from advisor.shipped import GRID_RESULTS

FILES = (GRID_RESULTS, GRID_RESULTS.with_name("held_out_results.json"))
REGULARISATION = 1.0  # scikit-learn's default C: with a few dozen cells the fit must not run to 0 or 1


def measured_cells(held_out_sets: set[int] | None = None) -> list[dict]:
    cells = []
    for path in FILES:
        for cell in json.loads(path.read_text())["cells"]:
            if cell.get("split") == "held-out" and held_out_sets and cell.get("set", 1) not in held_out_sets:
                continue
            winner = cell.get("winner_strategy", cell["measured_winner"])
            scores = score_profile(profile_from_mapping(cell["profile"]))
            first, second = scores.ranking[0], scores.ranking[1]
            cells.append({
                "name": f"{cell['dataset']} n={cell['examples']} {cell.get('mode', '')}".strip(),
                "file": path.name,
                "margin": first.score - second.score,
                "stated": cell["confidence"],
                "best": winner == cell["advised"],
            })  # fmt: skip
    return cells


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--held-out-sets", default="", help="comma-separated held-out sets to include (default: all)")
    args = parser.parse_args()
    cells = measured_cells({int(n) for n in args.held_out_sets.split(",") if n})
    margins = np.array([[c["margin"]] for c in cells])
    best = np.array([c["best"] for c in cells], dtype=int)
    stated = np.clip([c["stated"] for c in cells], 1e-3, 1 - 1e-3)
    for c in cells:
        print(f"  {c['name']:<42} margin {c['margin']:5.2f}  stated {c['stated']:.2f}  "
              f"advised arm best: {'yes' if c['best'] else 'no'}  ({c['file']})")  # fmt: skip
    print(f"\n{best.sum()} of {len(best)} cells: the advised strategy measured best")
    if best.min() == best.max():
        print("every cell has the same outcome: a logistic fit is not identified; keep the formula")
        return
    model = LogisticRegression(C=REGULARISATION, fit_intercept=False).fit(margins, best)
    fitted = model.predict_proba(margins)[:, 1]
    slope = float(model.coef_[0, 0])
    print(f"fit: P = 1 / (1 + exp(-{slope:.3f} * margin))")
    for name, p in (("stated when measured", stated), ("fitted", fitted)):
        print(f"  {name:<26} log loss {log_loss(best, p, labels=[0, 1]):.3f}  Brier {brier_score_loss(best, p):.3f}")
    print(f"\nadvisor/scoring.py: CONFIDENCE_SLOPE = {slope:.2f}")


if __name__ == "__main__":
    main()
