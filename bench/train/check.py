"""The check planned from the person's question: with this time budget on this hardware, which strategy wins?

A profile says how long the person can train (``time_budget_hours``), on what (``compute``) and
on how many labels (``labeled_examples``). Before any arm trains, a throughput probe measures
every compared arm here (:func:`bench.train.planning.measure_rates`); this module turns those
rates into a plan, and is pure: tests feed it rates and the seconds already spent.

* The person's budget is scaled to the check: on ``examples`` of their ``labeled_examples`` the
  same budget buys the same epochs in ``budget x examples / labeled_examples`` seconds.
* An arm whose projected time to converge (its epoch cap x examples / measured images per
  second) fits that scaled budget trains until converged (data-limited); one that does not
  gets the scaled budget and is budget-limited. The decision is the same at the person's size:
  both sides scale with the number of examples.
* One bound (``--check-minutes``) limits the whole check, model loading included. When the
  person's question fits it, the check measures that question (:attr:`CheckRegime.YOUR_BUDGET`).
  When it does not, the plan says so before training, names the bound that would measure it,
  and gives every arm equal seconds within the bound instead (:attr:`CheckRegime.DEMO`); an
  arm that cannot pass the health floor in its share is left out, never run starved.
* To the person's size: when the profile has more labels than the check trains on, the plan adds a
  small learning curve when the bound leaves room for it after the arms (within the same margin): the
  advised arm and its rival across the scratch/pretrained line, at two or three sizes below the
  check's, each trial at the epochs its schedule buys at the check's size, with the check's seeds. The
  check's own trials are the curve's largest point; the verdict projects the curve to the person's
  count. When it does not fit, the plan says why and which bound would include it.
* The cost at full scale: per arm, the training time for the profile's whole labeled set on
  this machine from the measured rate; where the profile's compute differs from this machine
  the time on theirs is scaled by a fixed factor and marked so.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from advisor.measured import MeasuredCosts, StrategyCost
from advisor.rules import GPU_HOURS_PER_HOUR
from bench.errors import ConfigError
from bench.evidence.question import duration_words
from bench.train.arms import arm_label, get_arm
from bench.train.budget import PRETRAIN_SHARE, train_share
from bench.train.health import floor_steps
from bench.vocabulary import ArmFamily, ArmRegime, CheckRegime

DEFAULT_CHECK_MINUTES = 3.0
# The part of the bound left after loading and probing that the plan hands out: the rest absorbs
# each trial's start-up (building the model, the final test pass) and a machine that slows down.
CHECK_MARGIN = 0.8
# A demo arm gets at least this many times the bare budget that reaches the health floor:
# a rate measured over a few steps varies, and an arm that lands just short of the floor is wasted.
FLOOR_MARGIN = 1.3
MIN_FIT_EXAMPLES = 50  # fewer labels than this says little about the person's data: not offered
# The learning curve's sizes below the check's, as fractions of it: three when they fit, else two
# (with the check's own size that is four or three points: the power law needs three, a back-test four).
CURVE_FRACTIONS = ((1 / 8, 1 / 4, 1 / 2), (1 / 4, 1 / 2))
MIN_CURVE_EXAMPLES = 50  # no curve point smaller than this (nor under two examples per class)
EXTRAPOLATION = 30  # as bench.evidence.curve: no projection beyond 30x the largest size measured
# What this machine is, in the profile's compute words (advisor.profile COMPUTES).
DEVICE_COMPUTE = {"cpu": "cpu", "cuda": "single_gpu", "mps": "single_gpu"}


@dataclass(frozen=True)
class Question:
    """What the person asked: with ``budget_hours`` on ``compute``, which strategy wins on ``labeled_examples``?"""

    budget_hours: float
    compute: str
    labeled_examples: int

    @classmethod
    def from_profile(cls, profile: Any) -> Question:
        return cls(float(profile.time_budget_hours), str(profile.compute), int(profile.labeled_examples))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Question:
        return cls(float(data["budget_hours"]), str(data["compute"]), int(data["labeled_examples"]))


@dataclass(frozen=True)
class ArmRate:
    """One arm as the throughput probe measured it here."""

    arm: str
    family: ArmFamily
    images_per_second: float  # gradient arms: training images per second; the probe: images encoded per second
    batch_size: int = 64
    epochs_to_converge: float = 1.0  # the early-stopping cap (until-converged mode); the probe: one pass
    eval_images: int = 0  # the probe also encodes the validation and test images
    fixed_seconds: float = 0.0  # per trial: building the model, the final test pass, the probe's fits
    pretrain_images_per_second: float | None = None  # hybrid arms: self-supervised pretraining
    unit: str = "img/s"  # how the rate reads (bench.data.units): "sentences/s" for text
    # setfit: an epoch is SetFit's pairs, each training text in two pairs of two sentences (4 sentences through
    # the encoder per text); every other arm passes each example once.
    units_per_example: float = 1.0
    reserved_seconds: float = 0.0  # the budget's part that is not steps (setfit: encoding the head's texts, its fits)

    @property
    def gradient(self) -> bool:
        return self.family != ArmFamily.PROBE

    @property
    def train_share(self) -> float:
        """The part of a budget, past ``reserved_seconds``, that trains (as ``TrialConfig.train_share``)."""
        return train_share(get_arm(self.arm).contrastive, PRETRAIN_SHARE if self.family == ArmFamily.HYBRID else 0.0)

    def steps_per_epoch(self, examples: int) -> int:
        return max(1, math.ceil(examples * self.units_per_example / self.batch_size))

    def epochs_in(self, seconds: float, examples: int) -> float:
        """Epochs of ``examples`` that a budget of ``seconds`` buys here (its reserved part aside)."""
        training = max(0.0, seconds - self.reserved_seconds) * self.train_share
        return training * self.images_per_second / max(examples * self.units_per_example, 1e-9)

    def converge_seconds(self, examples: int) -> float | None:
        """Projected seconds to converge on ``examples`` (None for a hybrid arm: pretraining takes what it gets)."""
        if self.family == ArmFamily.HYBRID:
            return None
        rate = max(self.images_per_second, 1e-9)
        if not self.gradient:
            return (examples + self.eval_images) / rate + self.fixed_seconds
        units = examples * self.units_per_example
        return self.epochs_to_converge * units / rate / self.train_share + self.reserved_seconds + self.fixed_seconds

    def floor_seconds(self, examples: int) -> float | None:
        """The budget that just reaches the health floor on ``examples`` (None for the probe: no steps)."""
        if not self.gradient:
            return None
        steps_per_second = max(self.images_per_second, 1e-9) / self.batch_size
        return (
            floor_steps(self.steps_per_epoch(examples)) / (steps_per_second * self.train_share) + self.reserved_seconds
        )


@dataclass(frozen=True)
class MeasuredRates:
    """Every compared arm's throughput here, measured before a plan: what a check or a budget plan is made from.

    The run form measures once and the run it starts carries the measurement (``RunRequest.measured``),
    so the plan a person accepted is the plan that runs, not a second probe's."""

    rates: tuple[ArmRate, ...]
    examples: int  # the training examples the arms were measured at
    available: int  # the dataset's training images
    seconds: float  # loading the data and models and probing
    classes: int = 0  # the data's classes: no curve size under two per class

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MeasuredRates:
        """As stored in a run's request; a field of the wrong shape raises ValueError (the store names the row)."""
        try:
            rates = tuple(ArmRate(**{**rate, "family": ArmFamily(rate["family"])}) for rate in data["rates"])
            return cls(rates, int(data["examples"]), int(data["available"]), float(data["seconds"]),
                       int(data.get("classes", 0)))  # fmt: skip
        except (KeyError, TypeError) as error:
            raise ValueError(f"measured: not a stored measurement ({error})") from None


@dataclass(frozen=True)
class ArmSchedule:
    """How one arm trains in the check."""

    arm: str
    regime: ArmRegime
    budget_seconds: float | None  # the trial's budget; None: until converged
    projected_seconds: float  # one trial's expected wall-clock in the check
    images_per_second: float
    converge_seconds: float | None  # projected time to converge at the check's size
    epochs_in_budget: float | None  # what the budget buys, in passes over the check's examples
    text: str


@dataclass(frozen=True)
class FullScaleCost:
    """The training time of one strategy for the profile's whole labeled set, from the rate measured here."""

    arm: str
    labeled_examples: int
    images_per_second: float  # measured here
    converge_seconds_here: float | None  # to converge on all the labels, on this machine
    epochs_in_budget: float | None  # what the person's budget buys on their compute, in epochs of their data
    fits_budget: bool | None
    device_compute: str  # this machine, in the profile's words
    profile_compute: str
    scaled: bool  # the profile's compute differs: the time on theirs is scaled by a fixed factor, not measured
    converge_seconds_theirs: float | None  # on the profile's compute (scaled when ``scaled``)
    rate_unit: str = "img/s"  # how ``images_per_second`` reads: "sentences/s" for text


@dataclass(frozen=True)
class CurvePlan:
    """The small learning curve a check adds below its own size, to project to the person's labeled count."""

    arms: tuple[str, ...]  # the advised arm, then its rival
    sizes: tuple[int, ...]  # below the check's size; the check's own trials are the curve's largest point
    seeds: int  # the check's seeds: an interval needs two or more at every size
    budgets: tuple[tuple[str, int, float | None], ...]  # (arm, size, trial budget); None: until converged
    seconds: float  # all of the curve's trials, projected
    text: str

    def trials(self) -> int:
        return len(self.arms) * len(self.sizes) * self.seeds


@dataclass(frozen=True)
class CheckPlan:
    """What the check will train, what it measures and what it cannot, decided before training."""

    regime: CheckRegime
    question: Question
    device_compute: str
    scaled: bool  # the profile's compute is not this machine's: its budget is converted by a fixed factor
    budget_here_seconds: float  # the person's budget in this machine's seconds
    examples: int  # labeled examples the check trains on
    seeds: int
    bound_seconds: float
    spent_seconds: float  # loading data and models and probing throughput, before the plan
    question_seconds: float  # the check that measures the person's question, spent seconds included
    per_arm_seconds: float | None  # DEMO: every arm's equal budget
    arms: tuple[ArmSchedule, ...]
    left_out: tuple[tuple[str, str], ...] = ()  # (arm, why) not trained: cannot pass the floor within the bound
    costs: tuple[FullScaleCost, ...] = ()
    notes: tuple[str, ...] = ()
    lines: tuple[str, ...] = ()  # the plan in the engine's words
    # DEMO: about how many examples the person's question fits within the bound (times scale with examples)
    examples_that_fit: int | None = None
    curve: CurvePlan | None = None  # the learning curve to the person's size, when the bound allows it
    curve_reason: str = ""  # the profile has more labels than the check, and no curve: why
    curve_minutes: int | None = None  # the bound that would include the curve, when a larger one would

    def trials(self) -> int:
        """Every trial the check runs: the arms at the check's size, then the curve's."""
        return len(self.arms) * self.seeds + (self.curve.trials() if self.curve else 0)

    def budgets(self) -> dict[str, float | None]:
        """Each planned arm's trial budget (None: until converged)."""
        return {s.arm: s.budget_seconds for s in self.arms}

    @property
    def answers_question(self) -> bool:
        return self.regime == CheckRegime.YOUR_BUDGET

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def verdict_question(self) -> dict[str, Any]:
        """The structured question a verdict carries (front ends word it: bench.evidence.verdict.question_words)."""
        return {
            "regime": self.regime,
            "budget_hours": self.question.budget_hours,
            "compute": self.question.compute,
            "device_compute": self.device_compute,
            "scaled": self.scaled,
            "labeled_examples": self.question.labeled_examples,
            "examples": self.examples,
            "per_arm_seconds": self.per_arm_seconds,
            "question_minutes": math.ceil(self.question_seconds / 60),
            "bound_minutes": self.bound_seconds / 60,
            "arms": {s.arm: s.regime for s in self.arms},
            "left_out": [arm for arm, _ in self.left_out],
            **({"curve_reason": self.curve_reason, "curve_minutes": self.curve_minutes} if self.curve_reason else {}),
        }


def compute_factor(profile_compute: str, device_compute: str) -> float:
    """How many seconds here one second of the profile's compute is worth (advisor's fixed GPU-hour factors).

    >>> compute_factor("single_gpu", "cpu")  # a GPU-hour is about 20 CPU-hours
    20.0
    """
    return GPU_HOURS_PER_HOUR[profile_compute] / GPU_HOURS_PER_HOUR[device_compute]


def full_scale_costs(question: Question, rates: Sequence[ArmRate], device_compute: str) -> tuple[FullScaleCost, ...]:
    """Per arm: the time to converge on all of the profile's labels here, and what the person's budget buys.

    >>> q = Question(1.0, "cpu", 10_000)
    >>> cost = full_scale_costs(q, [ArmRate("scratch", ArmFamily.SCRATCH, 250.0, epochs_to_converge=30)], "cpu")[0]
    >>> round(cost.converge_seconds_here), cost.fits_budget, cost.scaled
    (1412, True, False)
    """
    factor = compute_factor(question.compute, device_compute)
    budget_here = question.budget_hours * 3600 * factor
    n = question.labeled_examples
    costs = []
    for rate in rates:
        converge = rate.converge_seconds(n)
        epochs = rate.epochs_in(budget_here, n) if rate.gradient and n else None
        theirs = converge / factor if converge is not None else None
        costs.append(
            FullScaleCost(
                rate.arm, n, round(rate.images_per_second, 1), _round(converge), _round(epochs, 2),
                None if converge is None else converge <= budget_here, device_compute, question.compute,
                question.compute != device_compute, _round(theirs), rate.unit,
            )
        )  # fmt: skip
    return tuple(costs)


def plan_check(
    question: Question,
    rates: Sequence[ArmRate],
    examples: int,
    bound_seconds: float,
    spent_seconds: float,
    device_compute: str,
    seeds: int = 1,
    advised_arms: Sequence[str] = (),
    available_examples: int | None = None,
    classes: int = 0,
) -> CheckPlan:
    """Plan the check from the measured rates (pure).

    ``examples``: what the check trains on; ``spent_seconds``: the bound already used (loading,
    probing); ``available_examples``: the dataset's training images, for the note when the
    profile says more; ``classes``: the data's classes (no curve size under two per class). Raises :class:`ConfigError` naming ``check_minutes`` when the bound
    cannot train two arms past the floor, and ``time_budget_hours`` when the person's budget
    is smaller than the cheapest arm's cost at their size.
    """
    factor = compute_factor(question.compute, device_compute)
    scaled = question.compute != device_compute
    budget_here = question.budget_hours * 3600 * factor
    n, labels = examples, question.labeled_examples
    scaled_budget = budget_here * n / labels
    costs = full_scale_costs(question, rates, device_compute)
    _check_budget_buys_something(question, costs, budget_here)
    notes = []
    if scaled:
        notes.append(
            f"the profile says {question.compute}; this check runs on {device_compute}: your "
            f"{duration_words(question.budget_hours * 3600)} there is taken as {duration_words(budget_here)} here (a fixed "
            f"factor of {factor:g} from the advisor's rules, not measured); times on {question.compute} are scaled"
        )
    if available_examples is not None and available_examples < labels:
        notes.append(
            f"the dataset has {available_examples:,} training examples, fewer than the profile's {labels:,} labeled "
            f"examples: the check trains on {n:,} and gives each arm the budget scaled to them"
        )
    if n > labels:
        notes.append(
            f"the check trains on {n:,} examples, more than the profile's {labels:,}: each arm's budget is scaled up "
            "to the same epochs, but the result speaks for more data than you have"
        )
    question_arms = [_question_schedule(rate, n, labels, scaled_budget, question) for rate in rates]
    question_seconds = spent_seconds + seeds * sum(s.projected_seconds for s in question_arms)
    if question_seconds <= bound_seconds:
        regime, arms, left_out, per_arm = CheckRegime.YOUR_BUDGET, tuple(question_arms), (), None
    else:
        regime = CheckRegime.DEMO
        arms, left_out, per_arm = _demo(rates, n, bound_seconds, spent_seconds, seeds, question_seconds)
    if any(arm in dict(left_out) for arm in advised_arms):
        notes.append("the advised arm cannot pass the health floor within the bound: the verdict cannot be decided")
    fit = None
    if regime == CheckRegime.DEMO and question_seconds > spent_seconds:
        fit = int(n * (bound_seconds - spent_seconds) * CHECK_MARGIN / (question_seconds - spent_seconds))
        fit = fit if MIN_FIT_EXAMPLES <= fit < n else None
    curve, curve_reason, curve_minutes = None, "", None
    if labels > n:
        by_arm = {r.arm: r for r in rates}
        curve, curve_reason, curve_minutes = _plan_curve(
            by_arm, arms, question_arms, n, labels, bound_seconds, spent_seconds, seeds, advised_arms, classes,
            question_seconds,
        )  # fmt: skip
    plan = CheckPlan(
        regime, question, device_compute, scaled, round(budget_here, 1), n, seeds, bound_seconds,
        round(spent_seconds, 1), round(question_seconds, 1), per_arm, arms, left_out, costs, tuple(notes),
        examples_that_fit=fit, curve=curve, curve_reason=curve_reason, curve_minutes=curve_minutes,
    )  # fmt: skip
    return _with_lines(plan)


def _curve_arms(schedules: Sequence[ArmSchedule], advised_arms: Sequence[str]) -> tuple[str, ...] | str:
    """The advised arm and its rival across the scratch/pretrained line (the crossover's two sides), listed
    first among the planned arms; or why there is no pair."""
    planned = [s.arm for s in schedules]
    advised = next((a for a in advised_arms if a in planned), None)
    if advised is None:
        return "the advised arm is not trained in this check"
    family = get_arm(advised).family
    others = [a for a in planned if a not in advised_arms]
    across = [a for a in others if (get_arm(a).family == ArmFamily.SCRATCH) == family.uses_pretraining]
    rival = next(iter(across or others), None)
    return (advised, rival) if rival is not None else "no rival arm is trained in this check"


def _curve_trial(rate: ArmRate, schedule: ArmSchedule, size: int, n: int) -> tuple[float | None, float] | None:
    """(budget, projected seconds) of one curve trial at ``size``: the epochs the arm's schedule buys at the
    check's size ``n`` (until converged stays so); None when that is under the health floor there (for an
    arm until converged: when its epoch cap gives fewer steps than the floor on ``size`` examples)."""
    if schedule.budget_seconds is None:
        per_epoch = rate.steps_per_epoch(size)
        if rate.gradient and rate.epochs_to_converge * per_epoch < floor_steps(per_epoch):
            return None
        return None, rate.converge_seconds(size) or 0.0
    budget = schedule.budget_seconds * size / n
    floor = rate.floor_seconds(size)
    if budget < 1.0 or (floor is not None and budget < FLOOR_MARGIN * floor):
        return None
    return round(budget, 1), budget + rate.fixed_seconds


def _curve_shapes(
    rates: Mapping[str, ArmRate], schedules: Mapping[str, ArmSchedule], arms: Sequence[str], n: int, seeds: int,
    smallest: int,
) -> list[tuple[tuple[int, ...], tuple[tuple[str, int, float | None], ...], float]]:  # fmt: skip
    """The curves these schedules allow, preferred first: (sizes, budgets, seconds); sizes where an arm
    would be under the floor are dropped, and a curve needs two sizes below the check's."""
    shapes = []
    for fractions in CURVE_FRACTIONS:
        sizes = sorted({int(n * f) for f in fractions if int(n * f) >= smallest})
        trials = {size: [(arm, _curve_trial(rates[arm], schedules[arm], size, n)) for arm in arms] for size in sizes}
        sizes = [size for size in sizes if all(t is not None for _, t in trials[size])]
        if len(sizes) < 2:
            continue
        budgets = tuple((arm, size, t[0]) for size in sizes for arm, t in trials[size])
        seconds = seeds * sum(t[1] for size in sizes for _, t in trials[size])
        shapes.append((tuple(sizes), budgets, seconds))
    return shapes


def _plan_curve(
    rates: Mapping[str, ArmRate], schedules: Sequence[ArmSchedule], question_arms: Sequence[ArmSchedule], n: int,
    labels: int, bound: float, spent: float, seeds: int, advised_arms: Sequence[str], classes: int,
    question_seconds: float,
) -> tuple[CurvePlan | None, str, int | None]:  # fmt: skip
    """The curve that fits after the arms within the plan's margin, or (None, why, the bound in minutes that
    would include one)."""
    if labels > n * EXTRAPOLATION:
        return None, (
            f"your {labels:,} labels are more than {EXTRAPOLATION}x the {n:,} checked: a curve below them would "
            f"not reach yours (a check on at least {math.ceil(labels / EXTRAPOLATION):,} examples would)"
        ), None  # fmt: skip
    arms = _curve_arms(schedules, advised_arms)
    if isinstance(arms, str):
        return None, arms, None
    smallest = max(MIN_CURVE_EXAMPLES, 2 * classes)
    if int(n * CURVE_FRACTIONS[-1][-2]) < smallest:
        return None, (f"the check trains on {n:,} examples: too few for two curve sizes below it of at least "
                      f"{smallest:,} each"), None  # fmt: skip
    words = ", ".join(arms)
    room = (bound - spent) * CHECK_MARGIN - seeds * sum(s.projected_seconds for s in schedules)
    shapes = _curve_shapes(rates, {s.arm: s for s in schedules}, arms, n, seeds, smallest)
    fitting = [shape for shape in shapes if shape[2] <= room]
    if fitting:
        sizes, budgets, seconds = fitting[0]
        at = ", ".join(f"{size:,}" for size in sizes)
        text = (
            f"a learning curve at sizes {at} (and the check's {n:,}) for arms {words}, {seeds} seed"
            f"{'' if seeds == 1 else 's'}: about {duration_words(seconds)}; it projects to your {labels:,} labels"
            + ("" if seeds > 1 else " (one seed: no interval)")
        )
        return CurvePlan(arms, sizes, seeds, budgets, round(seconds, 1), text), "", None
    # What a larger bound would buy: the question's schedules, and the cheapest curve they allow.
    question = {s.arm: s for s in question_arms}
    wanted = _curve_shapes(rates, question, arms, n, seeds, smallest) if all(a in question for a in arms) else []
    minutes = None
    if wanted:
        cheapest = min(shape[2] for shape in wanted)
        minutes = math.ceil((spent + (question_seconds - spent + cheapest) / CHECK_MARGIN) / 60)
    if not shapes:
        by_arm = {s.arm: s for s in schedules}
        sizes = [int(n * f) for f in CURVE_FRACTIONS[0] if int(n * f) >= smallest]
        short = [a for a in arms if any(_curve_trial(rates[a], by_arm[a], size, n) is None for size in sizes)]
        return None, (f"{', '.join(arm_label(a) for a in short)} cannot pass the health floor at two sizes below the {n:,} checked, at "
                      "the epochs this check gives them"), minutes  # fmt: skip
    cheapest = min(shapes, key=lambda shape: shape[2])
    return None, (
        f"a learning curve for {words} at {', '.join(f'{size:,}' for size in cheapest[0])} needs about "
        f"{duration_words(cheapest[2])}; the bound leaves {duration_words(max(room, 0))} after the arms"
    ), minutes  # fmt: skip


def _question_schedule(rate: ArmRate, n: int, labels: int, scaled_budget: float, question: Question) -> ArmSchedule:
    """An arm at the person's budget: until converged when that fits, else what the budget buys."""
    converge = rate.converge_seconds(n)
    budget_words = f"your {duration_words(question.budget_hours * 3600)}"
    if converge is not None and (converge <= scaled_budget or not rate.gradient):
        text = (
            f"{arm_label(rate.arm)}: {rate.images_per_second:,.0f} {rate.unit} here; converging takes about {duration_words(converge)} on "
            f"{n:,} examples, within {budget_words} (scaled to them): trained until converged"
        )
        return ArmSchedule(rate.arm, ArmRegime.CONVERGED, None, round(converge, 1), round(rate.images_per_second, 1),
                           round(converge, 1), None, text)  # fmt: skip
    epochs = rate.epochs_in(scaled_budget, n)
    reach = f"converging would take about {duration_words(converge)}; " if converge is not None else ""
    if rate.pretrain_images_per_second:  # a hybrid arm: half of its budget pretrains
        reach = f"pretraining {rate.pretrain_images_per_second:,.0f} {rate.unit} on half of its budget; "
    text = (
        f"{arm_label(rate.arm)}: {rate.images_per_second:,.0f} {rate.unit} here; {reach}{budget_words} buys {epochs:.1f} epochs of "
        f"{labels:,} labels, {duration_words(scaled_budget)} on the {n:,} checked: budget-limited"
    )
    floor = rate.floor_seconds(n)
    if floor is not None and scaled_budget < floor:
        text += " (under the health floor: at your budget this strategy cannot train enough to be compared)"
    budget = max(1.0, round(scaled_budget, 1))
    return ArmSchedule(rate.arm, ArmRegime.BUDGET_LIMITED, budget, round(budget + rate.fixed_seconds, 1),
                       round(rate.images_per_second, 1), _round(converge), round(epochs, 2), text)  # fmt: skip


def _demo(
    rates: Sequence[ArmRate], n: int, bound: float, spent: float, seeds: int, question_seconds: float
) -> tuple[tuple[ArmSchedule, ...], tuple[tuple[str, str], ...], float | None]:
    """Equal seconds per gradient arm within the bound; arms that cannot pass the floor in them are left out."""
    probes = [r for r in rates if not r.gradient]
    gradient = sorted((r for r in rates if r.gradient), key=lambda r: r.floor_seconds(n) or 0.0)
    probe_seconds = seeds * sum(r.converge_seconds(n) or 0.0 for r in probes)
    available = (bound - spent) * CHECK_MARGIN - probe_seconds
    left_out: list[tuple[str, str]] = []
    while gradient:
        each = available / (seeds * len(gradient)) - max(r.fixed_seconds for r in gradient)
        slowest = gradient[-1]
        need = FLOOR_MARGIN * (slowest.floor_seconds(n) or 0.0)
        if each >= need:
            break
        gradient.pop()
        left_out.append((slowest.arm, f"needs about {duration_words(need)} to pass the health floor; the bound leaves "
                                      f"{duration_words(max(each, 0))} per arm"))  # fmt: skip
    if len(probes) + len(gradient) < 2:
        cheapest = sorted(rates, key=lambda r: r.floor_seconds(n) or 0.0)[:2]
        minimum = spent + seeds * sum(
            (r.converge_seconds(n) or 0.0) if not r.gradient else FLOOR_MARGIN * (r.floor_seconds(n) or 0.0)
            + r.fixed_seconds for r in cheapest
        ) / CHECK_MARGIN  # fmt: skip
        raise ConfigError(
            "check_minutes",
            f"expected a bound that trains at least two arms past the health floor; got {duration_words(bound)}, of "
            f"which loading and measuring took {spent:.0f} s ({'; '.join(f'{arm_label(a)}: {why}' for a, why in left_out)}). "
            f"At least {math.ceil(minimum / 60)} minutes would compare two arms; "
            f"{math.ceil(question_seconds / 60)} would measure your question",
        )
    each = (
        math.floor(available / (seeds * len(gradient)) - max(r.fixed_seconds for r in gradient)) if gradient else None
    )
    schedules = []
    for rate in probes:
        converge = rate.converge_seconds(n) or 0.0
        schedules.append(ArmSchedule(rate.arm, ArmRegime.CONVERGED, None, round(converge, 1),
                                     round(rate.images_per_second, 1), round(converge, 1), None,
                                     f"{arm_label(rate.arm)}: closed form, about {duration_words(converge)}: converged"))  # fmt: skip
    for rate in gradient:
        epochs = rate.epochs_in(each, n)
        converge = rate.converge_seconds(n)
        regime = ArmRegime.CONVERGED if converge is not None and converge <= each else ArmRegime.BUDGET_LIMITED
        schedules.append(ArmSchedule(
            rate.arm, ArmRegime.BUDGET_LIMITED, float(each), float(each) + rate.fixed_seconds,
            round(rate.images_per_second, 1), _round(converge), round(epochs, 2),
            f"{arm_label(rate.arm)}: {rate.images_per_second:,.0f} {rate.unit} here; {each} s buys {epochs:.1f} epochs of the {n:,} "
            f"checked" + (" (about what converging takes)" if regime == ArmRegime.CONVERGED else ""),
        ))  # fmt: skip
    return tuple(schedules), tuple(left_out), float(each) if each is not None else None


def _check_budget_buys_something(question: Question, costs: Sequence[FullScaleCost], budget_here: float) -> None:
    """The person's budget must at least pay for the cheapest arm on their labels."""
    known = [c for c in costs if c.converge_seconds_here is not None]
    if not known:
        return
    cheapest = min(known, key=lambda c: c.converge_seconds_here)
    if cheapest.converge_seconds_here > budget_here:
        raise ConfigError(
            "time_budget_hours",
            f"expected a budget that pays for at least the cheapest arm on {question.labeled_examples:,} labels; got "
            f"{question.budget_hours:g} hours ({duration_words(budget_here)} on this machine), while {cheapest.arm} alone "
            f"takes about {duration_words(cheapest.converge_seconds_here)} here ({cheapest.images_per_second:,.0f} {cheapest.rate_unit}): "
            f"raise time_budget_hours to at least {cheapest.converge_seconds_here / 3600 / (budget_here / question.budget_hours / 3600):.2g}",
        )


def _with_lines(plan: CheckPlan) -> CheckPlan:
    q = plan.question
    lines = [
        f"Your question: with {duration_words(q.budget_hours * 3600)} on {q.compute}, which strategy wins on "
        f"{q.labeled_examples:,} labeled examples? This check trains on {plan.examples:,} of them, on "
        f"{plan.device_compute}, within {duration_words(plan.bound_seconds)} ({plan.spent_seconds:.0f} s went to loading "
        "and measuring throughput)."
    ]
    lines += [f"  {s.text}" for s in plan.arms]
    lines += [f"  {arm_label(arm)}: left out: {why}" for arm, why in plan.left_out]
    needed = math.ceil(plan.question_seconds / 60)
    if plan.answers_question:
        lines.append(
            f"This check measures your question: about {duration_words(plan.question_seconds)} in all"
            + (f" ({duration_words(plan.question_seconds + plan.curve.seconds)} with the curve)" if plan.curve else "")
            + ", within the bound."
        )
    else:
        lines.append(
            f"This check cannot measure your question within {duration_words(plan.bound_seconds)}: that takes about "
            f"{duration_words(plan.question_seconds)} (a check of {needed} minutes would)"
            + (f", or about {plan.examples_that_fit:,} examples would within this bound"
               if plan.examples_that_fit else "")
            + f". It measures instead every arm at {plan.per_arm_seconds:g} s (a demo, not your budget)."
        )  # fmt: skip
    if plan.curve is not None:
        lines.append(f"  {plan.curve.text[:1].upper()}{plan.curve.text[1:]}.")
    elif plan.curve_reason:
        fix = f"; a check of {plan.curve_minutes} minutes would include one" if plan.curve_minutes else ""
        lines.append(f"  No learning curve to project to your {q.labeled_examples:,} labels: {plan.curve_reason}{fix}.")
    lines += [f"  note: {note}" for note in plan.notes]
    return CheckPlan(**{**plan.__dict__, "lines": tuple(lines)})


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def at_check_size(trials: Sequence[Any], check_plan: Mapping[str, Any] | None) -> list[Any]:
    """A stored run's trials at the check's own size: a planned check's curve trials (``check_plan.curve``) left out.

    >>> from types import SimpleNamespace as T
    >>> trials = [T(config=T(examples=None)), T(config=T(examples=250))]
    >>> len(at_check_size(trials, {"curve": {"sizes": [250, 500]}})), len(at_check_size(trials, None))
    (1, 2)
    """
    sizes = set(((check_plan or {}).get("curve") or {}).get("sizes") or ())
    return [t for t in trials if t.config.examples not in sizes]


def measured_costs(plan: CheckPlan | Mapping[str, Any]) -> MeasuredCosts:
    """The plan's measured costs as the advisor takes them (``advisor.recommend(profile, measured)``).

    Per strategy: seconds per pass over the profile's labeled set at the rate measured here, on this
    machine's compute. A strategy two arms measure (scratch: the compact CNN and the backbone's own
    architecture) takes its own-named arm, else the faster. ``plan`` may be a stored one (its dict).
    """
    stored = plan["costs"] if isinstance(plan, Mapping) else plan.costs
    costs = [FullScaleCost(**c) if isinstance(c, Mapping) else c for c in stored]
    by_strategy: dict[str, FullScaleCost] = {}
    for cost in costs:
        strategy = get_arm(cost.arm).strategy
        held = by_strategy.get(strategy)
        if held is None or (
            held.arm != strategy and (cost.arm == strategy or cost.images_per_second > held.images_per_second)
        ):
            by_strategy[strategy] = cost
    return MeasuredCosts(
        tuple(
            StrategyCost(strategy, cost.labeled_examples / max(cost.images_per_second, 1e-9), cost.device_compute)
            for strategy, cost in by_strategy.items()
        )
    )


def advice_change(before: Mapping[str, Any], after: Mapping[str, Any], trained: bool = True) -> str:
    """One line on how measured costs changed the questionnaire's advice (``Recommendation.to_dict()``s); ''
    when they did not.

    >>> advice_change({"strategy": "linear_probe", "confidence": 0.72}, {"strategy": "scratch", "confidence": 0.6})
    'With the throughput measured here instead of the fixed CPU-to-GPU factor, the advice changes from linear_probe (72%) to scratch (60%).'
    """
    why = "With the throughput measured here instead of the fixed CPU-to-GPU factor"
    if before["strategy"] != after["strategy"]:
        line = (
            f"{why}, the advice changes from {before['strategy']} ({before['confidence']:.0%}) to {after['strategy']} "
            f"({after['confidence']:.0%})."
        )
        return line + ("" if trained else f" This check does not train it: the verdict judges {before['strategy']}.")
    if round(before["confidence"], 2) != round(after["confidence"], 2):
        return (
            f"{why}, the advice stays {after['strategy']}; its confidence goes from {before['confidence']:.0%} to "
            f"{after['confidence']:.0%}."
        )
    return ""
