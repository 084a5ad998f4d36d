"""What we measured: the grid of advice-vs-measurement cells (advisor/data/grid), attached to the rules that fired."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from advisor.profile import profile_from_mapping
from advisor.rules import MIN_STRENGTH, RULES
from advisor.scoring import score_profile
from advisor.shipped import GRID_RESULTS


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
    counts = {"confirmed": 0, "contradicted": 0, "inconclusive": 0}
    for cell in cells:
        counts[cell["outcome"]] = counts.get(cell["outcome"], 0) + 1
    return counts
