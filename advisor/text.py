"""Plain-text rendering of a recommendation for the terminal (a pure function of it)."""

from __future__ import annotations

from advisor.recommend import Recommendation
from advisor.strategies import STRATEGY_BY_NAME


def render_text(rec: Recommendation) -> str:
    """A readable answer: ranking, reasons, what would change it, and the recipe."""
    label = STRATEGY_BY_NAME[rec.strategy].label
    lines = [
        f"Recommendation: {label} ({rec.strategy}), confidence {rec.confidence:.0%} (the chance it measures best)",
        "",
        "Ranking:",
    ]
    for position, ranked in enumerate(rec.ranking, start=1):
        note = f"  [{ranked.note}]" if ranked.note else ""
        lines.append(f"  {position}. {ranked.label:<48} {ranked.score:+6.2f}{note}")
    lines += ["", "Why:"]
    for reason in rec.reasons:
        pushes = ", ".join(f"{name} {points:+.2f}" for name, points in reason.pushes.items())
        lines.append(f"  - {reason.title}: {reason.text}")
        if pushes:
            lines.append(f"      pushes: {pushes}")
        lines.append(f"      source: {reason.source}")
    lines += ["", "What would change the answer:"]
    lines += [f"  - {cf.text}" for cf in rec.counterfactuals] or ["  - no single change in range flips it"]
    recipe = rec.recipe
    lines += ["", f"Recipe ({recipe.strategy}):"]
    for key, value in recipe.to_dict().items():
        if key in ("strategy", "notes"):
            continue
        lines.append(f"  {key.replace('_', ' '):<15} {value}")
    lines += [f"  note            {note}" for note in recipe.notes]
    lines += ["", "Nearest published cases (advisor/data/evidence/published.json):"]
    for case in rec.nearest_cases:
        checked = "" if case.checked else "; numbers from memory, not checked in the source"
        lines.append(f"  - {case.task} [{case.id}], distance {case.distance:.2f}")
        lines.append(f"      setting: {case.setting}")
        lines.append(f"      outcome: {case.outcome}{checked}")
        lines.append(f"      source:  {case.study}, {case.where}, {case.source}")
    if not rec.nearest_cases:
        lines.append("  - none")
    if rec.nearest_note:
        lines += ["", rec.nearest_note]
    lines += ["", "Rules and sources: advisor/data/rules.md"]
    return "\n".join(lines)
