"""A plan in the run form's words: what each arm gets, what the run measures and cannot, and what would.

Light (no torch): the run panel and the History page show a run's stored plan with these; the
form's own plan (:func:`finetune_or_scratch.app.runs.plan_form`) is worded by them too.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bench.evidence.question import duration_words
from bench.train.health import MIN_EPOCHS, MIN_STEPS
from bench.vocabulary import ArmRegime, CheckRegime
from finetune_or_scratch.reports.words import arm_label, plain


@dataclass(frozen=True)
class ArmLine:
    """One arm in the plan: what it gets, in the form's words."""

    arm: str
    text: str
    enough: bool  # it trains enough to be compared


@dataclass(frozen=True)
class FormPlan:
    """What the form's settings would give each arm on this machine, what that measures, and what would measure it.

    ``field`` names the widget ``suggestion`` fills: ``budget_seconds`` (seconds per trial) or ``check_minutes``.
    """

    arms: tuple[ArmLine, ...]
    measures: str
    cannot: str | None = None
    suggestion: float | None = None
    field: str = "budget_seconds"
    accept: str | None = None  # the one-click button's label
    lines: tuple[str, ...] = ()  # a planned check: the plan in the engine's words
    error: str | None = None  # a planned check the bound or the budget cannot pay for


def arm_plan_line(plan: Mapping[str, Any], budget: float) -> ArmLine:
    """One gradient arm of a budget plan (a :class:`bench.train.planning.ArmPlan` or its stored dict)."""
    name, steps, epochs = plan["arm"], plan["planned_steps"], plan["planned_epochs"]
    got = (
        f"**{arm_label(name)}**: about {steps:,} step{'' if steps == 1 else 's'} ({epochs:.1f} epochs) in {budget:g} s"
    )
    if not plan.get("pretrain_fits", True):  # a hybrid arm's smallest pretraining step outlasts its share
        return ArmLine(
            name,
            f"**{arm_label(name)}**: cannot be measured in {budget:g} s here: one pretraining step takes longer "
            f"than its share of the budget; {plan['suggested_seconds']:g} s would fit its pretraining.",
            False,
        )
    if plan["enough"]:
        return ArmLine(name, got + ".", True)
    return ArmLine(
        name,
        f"{got}: too few to be compared fairly (at least {MIN_STEPS} steps and {MIN_EPOCHS:g} epoch); "
        f"{plan['suggested_seconds']:g} s would train it enough.",
        False,
    )


def check_form_plan(check: Mapping[str, Any]) -> FormPlan:
    """A planned check (:meth:`CheckPlan.to_dict`, as stored) in the form's words: each arm's regime, and
    whether it measures the person's question; if not, the bound that would."""
    arms = []
    for s in check["arms"]:
        if s["regime"] == ArmRegime.CONVERGED and s["budget_seconds"] is None:
            text = (
                f"**{arm_label(s['arm'])}**: trained until converged (about {duration_words(s['projected_seconds'])})."
            )
        else:
            epochs = s.get("epochs_in_budget")
            got = f", about {epochs:.1f} epochs" if epochs is not None else ""
            text = f"**{arm_label(s['arm'])}**: budget-limited: {s['budget_seconds']:g} s per trial{got}."
        arms.append(ArmLine(s["arm"], text, True))
    arms += [ArmLine(arm, f"**{arm_label(arm)}**: left out: {plain(why)}.", False) for arm, why in check["left_out"]]
    q = check["question"]
    question = (
        f"{duration_words(q['budget_hours'] * 3600)} on {q['compute'].replace('_', ' ')} "
        f"with {q['labeled_examples']:,} labels"
    )
    bound, needed = duration_words(check["bound_seconds"]), duration_words(check["question_seconds"])
    lines = tuple(plain(line.strip()) for line in check.get("lines", ()))
    if check["regime"] == CheckRegime.YOUR_BUDGET:
        measures = (
            f"This check measures your question ({question}) on {check['examples']:,} examples: about {needed} "
            f"in all, within {bound}."
        ) + curve_sentence(check)
        return FormPlan(tuple(arms), measures, lines=lines, field="check_minutes")
    minutes = math.ceil(check["question_seconds"] / 60)
    measures = (
        f"This check measures every arm at {check['per_arm_seconds']:g} s per trial within {bound}: a demo, "
        "not your budget."
    ) + curve_sentence(check)
    cannot = f"It cannot measure your question ({question}) within {bound}: that takes about {needed}; a check of {minutes} minutes would."  # fmt: skip
    return FormPlan(tuple(arms), measures, cannot, float(minutes), "check_minutes",
                    f"Use a check of {minutes} minutes", lines)  # fmt: skip


def curve_sentence(check: Mapping[str, Any]) -> str:
    """The learning curve a planned check adds to project to the person's labels, or why it has none ('' when
    the check trains on all of them)."""
    curve, labels = check.get("curve"), check["question"]["labeled_examples"]
    if curve:
        sizes = ", ".join(f"{size:,}" for size in curve["sizes"])
        return (
            f" It adds a learning curve for {' and '.join(arm_label(a) for a in curve['arms'])} at {sizes} examples "
            f"(about {duration_words(curve['seconds'])}) to project to your {labels:,} labels."
        )
    if check.get("curve_reason"):
        minutes = check.get("curve_minutes")
        fix = f"; a check of {minutes} minutes would include one" if minutes else ""
        return f" No learning curve to project to your {labels:,} labels: {plain(check['curve_reason'])}{fix}."
    return ""


def plan_arms_of(budget_plan: Sequence[Mapping[str, Any]], budget: float) -> list[ArmLine]:
    """A stored budget plan (the run's ``budget_plan`` analysis) in the form's words."""
    return [arm_plan_line(plan, budget) for plan in budget_plan]
