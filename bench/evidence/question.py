"""The question a check answers, in words: the person's (their budget) or what was measured instead.

Light on purpose (no torch, numpy or scipy): the command line, the report and the app's pages word
a verdict's structured ``question`` (bench.train.check) and the cost at full scale with these.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bench.train.arms import arm_label
from bench.vocabulary import ArmRegime, CheckRegime

COMPUTE_WORDS = {"cpu": "CPU", "single_gpu": "single GPU", "multi_gpu": "multi-GPU machine", "cluster": "cluster"}
# How the engine's own words name the check's bound; the CLI passes its flag, the app its widget label.
CHECK_WORDS = {"check_minutes": "a check bound of", "sizes": "a learning curve"}


def question_words(question: Mapping[str, Any], names: Mapping[str, str] | None = None) -> str:
    """The question a verdict answers, in words: the person's, or what the check measured instead.

    >>> q = {"regime": "demo", "budget_hours": 1, "compute": "cpu", "device_compute": "cpu", "per_arm_seconds": 56,
    ...      "question_minutes": 12, "labeled_examples": 1000, "examples": 1000, "arms": {}, "left_out": []}
    >>> question_words(q, {"check_minutes": "--check-minutes"})
    'At 56 s per arm (a demo, not your budget of 1 hour on this CPU; --check-minutes 12 would measure it) on 1,000 examples:'
    """
    # names.get, not a merge: the CLI's names answer for any field (every flag is the field's name with dashes).
    bound = (names if names is not None else {}).get("check_minutes") or CHECK_WORDS["check_minutes"]
    regime = CheckRegime(question["regime"])
    hours = question["budget_hours"]
    compute = COMPUTE_WORDS.get(question["compute"], question["compute"])
    here = "this " if question.get("device_compute") == question["compute"] else "a "
    budget = f"{hours:g} hour{'' if hours == 1 else 's'} on {here}{compute}"
    examples = question.get("examples")
    on = f" on {examples:,} examples" if examples else ""
    if examples and question.get("labeled_examples") and examples < question["labeled_examples"]:
        on += f" of your {question['labeled_examples']:,} (the budget scaled to them)"
    if regime == CheckRegime.YOUR_BUDGET:
        arms = question.get("arms", {})
        limited = sorted(arm for arm, r in arms.items() if r == ArmRegime.BUDGET_LIMITED)
        if not limited:
            how = "every arm trained until converged"
        else:
            how = f"{', '.join(limited)} budget-limited (what your budget buys), the others until converged"
        left = question.get("left_out") or []
        how += f"; not trained: {', '.join(left)}" if left else ""
        return f"At your budget ({budget}){on}: {how}."
    seconds = question.get("per_arm_seconds")
    per_arm = f"{seconds:g} s per arm" if seconds else "until converged"
    if regime == CheckRegime.DEMO:
        minutes = question["question_minutes"]
        fix = f"{bound} {minutes}{'' if bound.startswith('-') else ' minutes'} would measure it"
        left = question.get("left_out") or []
        out = f"; {', '.join(left)} left out: cannot pass the health floor within the bound" if left else ""
        return f"At {per_arm} (a demo, not your budget of {budget}; {fix}{out}){on}:"
    return f"At {per_arm} (set by the options, not your budget of {budget}){on}:"


def render_costs(costs: Sequence[Any]) -> str:
    """The cost-at-full-scale table in plain text (stored dicts or ``FullScaleCost``)."""
    rows = [dict(c) if isinstance(c, Mapping) else vars(c) for c in costs]
    if not rows:
        return ""
    first = rows[0]
    here, theirs = first["device_compute"], first["profile_compute"]
    unit = first.get("rate_unit", "img/s")  # runs stored before text had images only
    lines = [
        f"Cost at full scale ({first['labeled_examples']:,} labels, from the throughput measured here on {here}):",
        f"  {'arm':<18} {unit + ' here':>16} {'to converge here':>17} {'epochs in budget':>17}"
        + (f" {'on ' + theirs + ' (scaled)':>24}" if first["scaled"] else ""),
    ]
    for row in rows:
        converge = duration_words(row["converge_seconds_here"]) if row["converge_seconds_here"] is not None else "n/a"
        epochs = f"{row['epochs_in_budget']:.1f}" if row["epochs_in_budget"] is not None else "n/a"
        line = f"  {row['arm']:<18} {row['images_per_second']:>16,.0f} {converge:>17} {epochs:>17}"
        if first["scaled"]:
            line += (
                f" {duration_words(row['converge_seconds_theirs']) if row['converge_seconds_theirs'] else 'n/a':>24}"
            )
        lines.append(line)
    lines.append(
        f"  measured throughput, projected time (epoch cap x labels / {unit}); "
        + (f"times on {theirs} are scaled by a fixed factor, not measured" if first["scaled"] else "not a full run")
    )
    return "\n".join(lines)


def duration_words(seconds: float | None) -> str:
    """'45 s', '12 min', '1 hour', '1.5 hours'.

    >>> duration_words(45), duration_words(720), duration_words(3600), duration_words(5400), duration_words(9000)
    ('45 s', '12 min', '1 hour', '90 min', '2.5 hours')
    """
    if seconds is None:
        return "n/a"
    if seconds < 120:
        return f"{seconds:.0f} s"
    whole_hours = seconds >= 3600 and seconds % 3600 == 0
    if seconds < 7200 and not whole_hours:
        return f"{seconds / 60:.0f} min"
    hours = seconds / 3600
    return f"{hours:g} hour{'' if hours == 1 else 's'}" if whole_hours else f"{hours:.1f} hours"


def projection_words(projection: Mapping[str, Any], names: Mapping[str, str] | None = None) -> str:
    """A verdict's projection to the person's size (bench.evidence.curve.SizeProjection, stored) in one line.

    ``names`` words the check's bound, as :func:`question_words` does.

    >>> projection_words({"examples": 5000, "measured": [1000], "arms": [], "leader": None, "crossover": "",
    ...                   "reason": "measured at 1 size (1,000 labels)"})
    'At your 5,000 labels: no projection (measured at 1 size (1,000 labels)).'
    >>> projection_words({"examples": 5000, "measured": [1000], "arms": [], "reason": "no room for a curve",
    ...                   "bound_minutes": 9}, {"check_minutes": "--check-minutes"})
    'At your 5,000 labels: no projection (no room for a curve; --check-minutes 9 would include a curve).'
    """
    p = projection
    if not p["arms"]:
        minutes = p.get("bound_minutes")
        fix = ""
        if minutes:
            bound = (names if names is not None else {}).get("check_minutes") or CHECK_WORDS["check_minutes"]
            fix = f"; {bound} {minutes}{'' if bound.startswith('-') else ' minutes'} would include a curve"
        elif p.get("sizes_needed"):
            option = (names if names is not None else {}).get("sizes") or CHECK_WORDS["sizes"]
            fix = f"; {option} with {p['sizes_needed']} or more sizes would project"
        return f"At your {p['examples']:,} labels: no projection ({p['reason']}{fix})."
    sizes = p["measured"]
    parts = []
    for arm in p["arms"]:
        span = f" (95% {arm['interval'][0]:.3f}..{arm['interval'][1]:.3f})" if arm.get("interval") else ""
        parts.append(f"{arm_label(arm['arm'])} {arm['accuracy']:.3f}{span}")
    seeds = "" if any(arm.get("interval") for arm in p["arms"]) else "; one seed: no interval"
    line = (
        f"At your {p['examples']:,} labels (projected from a curve at {', '.join(f'{n:,}' for n in sizes)} "
        f"labels, power-law fits{seeds}): {'; '.join(parts)}; {arm_label(p['leader'])} projected ahead."
    )
    return line + (f" {p['crossover']}." if p.get("crossover") else "")
