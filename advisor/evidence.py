"""What we measured: the grid of advice-vs-measurement cells (advisor/data/grid), attached to the rules that fired."""

from __future__ import annotations

import hashlib
import itertools
import json
from pathlib import Path
from typing import Any

from advisor.profile import profile_from_mapping
from advisor.rules import MIN_STRENGTH, RULES
from advisor.scoring import CONFIDENCE_SLOPE, score_profile
from advisor.shipped import GRID_RESULTS
from advisor.vocabulary import Outcome
from advisor.vocabulary import outcome_counts as count_outcomes


def load_grid(path: Path = GRID_RESULTS) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def cells_by_rule(grid: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """For each rule, the grid cells where it applied (strength >= MIN_STRENGTH), with their outcome."""
    by_rule: dict[str, list[dict[str, Any]]] = {rule.name: [] for rule in RULES}
    for cell in grid.get("cells", []):
        strengths = score_profile(profile_from_mapping(cell["profile"])).strengths
        for name, strength in strengths.items():
            if strength >= MIN_STRENGTH:
                by_rule[name].append(cell)
    return by_rule


def outcome_counts(cells: list[dict[str, Any]]) -> dict[str, int]:
    """Every outcome counted apart (not decided is not inconclusive): the one count every page and script shows."""
    return {str(outcome): n for outcome, n in count_outcomes([c["outcome"] for c in cells]).items()}


def agreement(cells: list[dict[str, Any]]) -> dict[str, Any]:
    """The outcome counts, how often the advised arm measured best, and the confirmed share of decided cells."""
    counts = outcome_counts(cells)
    decided = counts[Outcome.CONFIRMED] + counts[Outcome.CONTRADICTED]
    return {
        **counts,
        "advised arm measured best": sum(
            c.get("winner_strategy", c.get("measured_winner")) == c["advised"] for c in cells
        ),
        "cells": len(cells),
        "rate": round(counts[Outcome.CONFIRMED] / decided, 3) if decided else None,
    }


def rules_version() -> str:
    """A fingerprint of the rule table (names, fields, weights, sources) and of the confidence formula.

    Grid cells record the version they checked. A cell measured under another version is
    evidence about other rules; held-out cells are only those measured after the table was
    frozen at this version.
    """
    table = [(r.name, r.fields, sorted(r.weights.items()), r.sources) for r in RULES]
    table.append(("confidence slope", CONFIDENCE_SLOPE))
    return hashlib.sha256(json.dumps(table, sort_keys=True).encode()).hexdigest()[:12]


# A tie is 0.5 under the logistic formula, so the bins are finer above it; the old tanh formula
# stated lower values, which the first bin keeps.
CONFIDENCE_BINS = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0001)


def calibration(cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The advisor's confidence in bins against how often the measured winner was the advised strategy.

    ``agreed`` counts cells whose best-mean arm stands for the advised strategy, decided or not;
    ``confirmed`` and ``decided`` count the verdicts that passed the paired test.
    """
    rows = []
    for low, high in itertools.pairwise(CONFIDENCE_BINS):
        inside = [c for c in cells if low <= c["confidence"] < high]
        agreed = sum(c.get("winner_strategy", c["measured_winner"]) == c["advised"] for c in inside)
        decided = [c for c in inside if Outcome(c["outcome"]).decisive]
        rows.append({
            "confidence": f"{low:.2f}-{min(high, 1.0):.2f}",
            "cells": len(inside),
            "mean_confidence": round(sum(c["confidence"] for c in inside) / len(inside), 3) if inside else None,
            "advised_arm_best": round(agreed / len(inside), 3) if inside else None,
            "decided": len(decided),
            "confirmed": sum(c["outcome"] == Outcome.CONFIRMED for c in decided),
        })  # fmt: skip
    return rows
