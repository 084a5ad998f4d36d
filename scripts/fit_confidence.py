"""Fit the advisor's confidence: to the published table's tuning part (default) or to what the grid measured.

    PYTHONPATH=. python scripts/fit_confidence.py             # tuning rows of advisor/data/evidence/published.json
    PYTHONPATH=. python scripts/fit_confidence.py --grid      # the measured grid cells, as before issue #19

With the published table, each tuning row's margin is the gap between the advisor's first two
strategies among those the study compared (advisor.agreement), and the outcome is whether the
first was the published winner. Held-out rows are never read here.

Confidence is meant to be the chance that the advised strategy measures best (is the winner).
The published fit is

    P(advised strategy is the winner) = 1 / (1 + exp(-slope * (1 - exp(-margin / scale))))

by L2-regularised logistic regression without an intercept (scikit-learn: Platt scaling of a
saturating transform of the margin). A tie is a coin toss (P = 0.5) and a wide margin levels off
at 1 / (1 + exp(-slope)): on the tuning rows, agreement does not keep rising with the margin (the
misses include wide ones: out-of-distribution rows the questionnaire cannot describe), so a
formula linear in the margin states 95%+ where about 80% is right. ``scale`` (points) is chosen
from SCALES by 5 x 5-fold cross-validated Brier score on the tuning rows. It prints the fit, the
log loss and Brier score of the current formula and of the fit on the same rows, and the
constants to put in advisor/scoring.py. A fit is in-sample: the held-out part says whether it is
calibrated (scripts/score_evidence.py).

With ``--grid`` it fits the older form, linear in the margin (scale = none), to the measured
cells (the tuning grid and the held-out sets) as before:

    python scripts/fit_confidence.py --grid --held-out-sets 1,2   # the slope 1.27 shipped before issue #19
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, log_loss
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from advisor.agreement import score_rows
from advisor.profile import profile_from_mapping
from advisor.published import load_published, tuning_rows
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


def published_cells() -> list[dict]:
    """The tuning rows of the published table as cells: margin, stated confidence, outcome."""
    rows = tuning_rows(load_published())
    return [
        {"name": o.id, "file": "published.json (tuning)", "margin": o.margin, "stated": o.confidence, "best": o.agreed}
        for o in score_rows(rows)
        if o.confidence < 1.0  # a ruled-out runner-up: no margin to fit
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--grid", action="store_true", help="fit to the measured grid cells instead")
    parser.add_argument("--held-out-sets", default="", help="with --grid: held-out sets to include (default: all)")
    args = parser.parse_args()
    sets = {int(n) for n in args.held_out_sets.split(",") if n}
    cells = measured_cells(sets) if args.grid else published_cells()
    margin = np.array([c["margin"] for c in cells])
    best = np.array([c["best"] for c in cells], dtype=int)
    stated = np.clip([c["stated"] for c in cells], 1e-3, 1 - 1e-3)
    for c in cells:
        print(f"  {c['name']:<42} margin {c['margin']:5.2f}  stated {c['stated']:.2f}  "
              f"advised best: {'yes' if c['best'] else 'no'}  ({c['file']})")  # fmt: skip
    print(f"\n{best.sum()} of {len(best)} cells: the advised strategy measured best")
    if best.min() == best.max():
        print("every cell has the same outcome: a logistic fit is not identified; keep the formula")
        return
    scale = None if args.grid else choose_scale(margin, best)
    features = feature(margin, scale)
    model = LogisticRegression(C=REGULARISATION, fit_intercept=False).fit(features, best)
    fitted = model.predict_proba(features)[:, 1]
    slope = float(model.coef_[0, 0])
    shape = "margin" if scale is None else f"(1 - exp(-margin / {scale:g}))"
    print(f"fit: P = 1 / (1 + exp(-{slope:.3f} * {shape}))")
    for name, p in (("stated now", stated), ("fitted", fitted)):
        print(f"  {name:<26} log loss {log_loss(best, p, labels=[0, 1]):.3f}  Brier {brier_score_loss(best, p):.3f}")
    print(f"\nadvisor/scoring.py: CONFIDENCE_SLOPE = {slope:.2f}, CONFIDENCE_SCALE = {scale}")


SCALES = (0.1, 0.25, 0.5, 1.0, 2.0)  # points: where the curve bends, from a step to nearly linear


def feature(margin: np.ndarray, scale: float | None) -> np.ndarray:
    return (margin if scale is None else 1.0 - np.exp(-margin / scale))[:, None]


def choose_scale(margin: np.ndarray, best: np.ndarray) -> float:
    """The scale with the lowest Brier score over 5 repeats of 5-fold cross-validation (tuning rows only)."""
    scores = {}
    for scale in SCALES:
        briers = []
        for seed in range(5):
            folds = StratifiedKFold(5, shuffle=True, random_state=seed)
            model = LogisticRegression(C=REGULARISATION, fit_intercept=False)
            p = cross_val_predict(model, feature(margin, scale), best, cv=folds, method="predict_proba")[:, 1]
            briers.append(brier_score_loss(best, p))
        scores[scale] = float(np.mean(briers))
        print(f"  scale {scale:<5g} cross-validated Brier {scores[scale]:.4f}")
    return min(scores, key=scores.__getitem__)


if __name__ == "__main__":
    main()
