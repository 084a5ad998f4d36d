"""The advisor's track record in words and table rows: the published table's scores and the measured grid.

Pure functions of ``advisor/data/evidence/scores.json`` (scripts/score_evidence.py), the published
rows and the grid files, shared by the app's "How it decides" page and the README's numbers.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from advisor.published import HELD_OUT, TUNING, PublishedRow
from advisor.shipped import GRID_RESULTS
from finetune_or_scratch.reports.words import arm_label

PARTS = (TUNING, HELD_OUT)


def _rate(part: dict[str, Any]) -> str:
    if not part or not part.get("rows"):
        return "n/a"
    return f"{part['agreed']} of {part['rows']} ({part['agreed'] / part['rows']:.0%})"


def _brier(part: dict[str, Any]) -> str:
    return "n/a" if not part or part.get("brier") is None else f"{part['brier']:.3f}"


def scores_intro(rows: Sequence[PublishedRow], scores: dict[str, Any], version: str) -> str:
    """The paragraph above the agreement table: what was scored, how, and whether the scores are today's."""
    table = scores["table"]
    held = sum(row.split == HELD_OUT for row in rows)
    modalities = sorted({row.profile.modality for row in rows})
    text = (
        f"{len(rows)} published comparisons from {table['studies']} studies ({', '.join(modalities)}; "
        f"{table['checked_in_source']} with numbers checked in the source text), split once by a hash of the "
        f"study: {len(rows) - held} for tuning the rules and the confidence, {held} held out and never tuned on. "
        "For each row the advisor's ranking is restricted to the strategies the study compared; it *agrees* when "
        "its top one is the published winner. The Brier score is the mean squared gap between the stated "
        "confidence and the outcome (0 is perfect; saying 50% every time scores 0.25)."
    )
    if scores.get("rules_version") != version:
        text += (
            f"\n\n**These scores are for rule table `{scores.get('rules_version')}`, not today's `{version}`:** "
            "run `scripts/score_evidence.py`."
        )
    return text


def agreement_rows(scores: dict[str, Any]) -> list[dict[str, str]]:
    """One row per part: agreement and Brier under the baseline rules and under today's."""
    baseline = scores.get("baseline", {})
    rows = []
    for split in PARTS:
        now, then = scores["current"].get(split, {}), baseline.get(split, {})
        rows.append({
            "part": split,
            "rows": str(now.get("rows", 0)),
            f"agreement, baseline rules ({baseline.get('rules_version') or 'n/a'})": _rate(then),
            "Brier, baseline": _brier(then),
            f"agreement, today's rules ({scores.get('rules_version')})": _rate(now),
            "Brier, today": _brier(now),
        })  # fmt: skip
    grid, grid_then = scores.get("grid", {}).get("current", {}), baseline.get("grid", {})
    for split in PARTS:
        if grid.get(split):
            rows.append({
                "part": f"measured grid, {split} cells",
                "rows": str(grid[split]["rows"]),
                f"agreement, baseline rules ({baseline.get('rules_version') or 'n/a'})": _rate(grid_then.get(split, {})),
                "Brier, baseline": _brier(grid_then.get(split, {})),
                f"agreement, today's rules ({scores.get('rules_version')})": _rate(grid[split]),
                "Brier, today": _brier(grid[split]),
            })  # fmt: skip
    return rows


def calibration_rows(calibration: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """The calibration table: per part and bin, rows, stated confidence, fraction right, 95% interval."""
    return [
        {
            "part": part,
            "stated confidence": b["confidence"],
            "rows": b["rows"],
            "mean stated": f"{b['mean_confidence']:.2f}",
            "right": f"{b['right']} ({b['fraction_right']:.0%})",
            "95% interval": f"{b['interval'][0]:.0%} to {b['interval'][1]:.0%}",
        }
        for part, table in calibration.items()
        for b in table
    ]


def published_rows(rows: Sequence[PublishedRow], scores: dict[str, Any]) -> list[dict[str, Any]]:
    """The published table as the app lists it, with today's advice and the baseline's per row."""
    now = {o["id"]: o for o in scores.get("rows", [])}
    then = scores.get("baseline", {}).get("per_row", {})
    return [
        {
            "id": row.id,
            "part": row.split,
            "task": row.task,
            "winner": arm_label(row.winner),
            "margin": f"{row.margin:g}",
            "compared": ", ".join(arm_label(name) for name in row.compared),
            "advised today": arm_label(now[row.id]["advised"]) if row.id in now else "",
            "agrees": ("yes" if now[row.id]["agreed"] else "no") if row.id in now else "",
            "baseline advised": arm_label(then[row.id]["advised"]) if row.id in then else "",
            "checked in source": "yes" if row.checked else "no",
            "source": row.source,
        }
        for row in rows
    ]


def measured_under_note(grid: dict[str, Any], version: str) -> str:
    """Which rule table each measured cell was made under, against today's."""
    held = json.loads(GRID_RESULTS.with_name("held_out_results.json").read_text(encoding="utf-8"))
    versions: dict[str, int] = {}
    for cell in [*grid.get("cells", []), *held.get("cells", [])]:
        versions[cell.get("rules_version", "unknown")] = versions.get(cell.get("rules_version", "unknown"), 0) + 1
    made = "; ".join(f"{n} under `{v}`" for v, n in versions.items())
    note = f"Measured cells by the rule table they were made under: {made}. Today's rule table: `{version}`."
    if version not in versions:
        note += (
            " No cell was measured under today's rules: the advice shown beside each cell is the advice of its "
            "time, and the grid rows of the table above score today's rules against those measurements."
        )
    return note
