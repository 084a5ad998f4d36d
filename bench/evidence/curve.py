"""Learning curves, saturating power-law fits and the crossover where scratch catches up.

A curve runs every arm at every training size and seed, reusing staged data and cached
features. Each arm's mean accuracy is fitted with acc(n) = a - b * n^(-c); seeds are
bootstrapped to put an interval on the crossover. The fit is checked honestly: fitted on
the smaller sizes, it predicts the largest, and the error is reported. Extrapolation is
limited to ``EXTRAPOLATION`` times the largest measured size, and said so.
"""

from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from bench.data.splits import make_splits
from bench.errors import ConfigError
from bench.train.arms import ARMS, arm_label
from bench.train.cache import TrialCache
from bench.train.callbacks import Callback
from bench.train.config import TrialConfig
from bench.train.result import TrialResult
from bench.train.suite import Runner, SuiteConfig, run_trials, validate_suite
from bench.vocabulary import ArmFamily, CrossoverStatus, TrialStatus

EXTRAPOLATION = 30  # look for a crossover up to 30x the largest measured size
MIN_FIT_SIZES = 3  # a saturating power law has three parameters: a fit needs at least as many sizes
BOOTSTRAP_SAMPLES = 200


@dataclass(frozen=True)
class CurveConfig:
    base: TrialConfig
    arms: tuple[str, ...]
    sizes: tuple[int, ...]
    seeds: tuple[int, ...] = (0, 1, 2)
    pretrain_batches: tuple[tuple[str, int], ...] = ()  # the plan's pretraining batch per hybrid arm
    # A planned check's curve (bench.train.check.CurvePlan): each (arm, size)'s budget, None until converged;
    # a pair not named keeps base.budget_seconds.
    budgets: tuple[tuple[str, int, float | None], ...] = ()

    def trial_configs(self) -> list[TrialConfig]:
        batches = dict(self.pretrain_batches)
        budgets = {(arm, size): budget for arm, size, budget in self.budgets}
        return [
            replace(self.base, arm=arm, seed=seed, examples=size,
                    budget_seconds=budgets.get((arm, size), self.base.budget_seconds),
                    pretrain_batch_size=batches.get(arm, self.base.pretrain_batch_size))
            for size in self.sizes
            for seed in self.seeds
            for arm in self.arms
        ]  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        return {
            "base": asdict(self.base),
            "arms": list(self.arms),
            "sizes": list(self.sizes),
            "seeds": list(self.seeds),
            "budgets": [list(b) for b in self.budgets],
        }


@dataclass(frozen=True)
class CurvePoint:
    arm: str
    examples: int
    seeds: int
    mean: float
    std: float | None
    ci95: tuple[float, float] | None  # t interval over seeds; None with one seed
    untrained: int = 0  # seeds at this size whose trial did not train (health): not data about the arm


@dataclass(frozen=True)
class PowerLaw:
    arm: str
    a: float  # asymptote
    b: float
    c: float
    backtest_examples: int | None = None  # the largest size, predicted from the others
    backtest_predicted: float | None = None
    backtest_actual: float | None = None
    note: str = ""

    def predict(self, n: float | np.ndarray) -> float | np.ndarray:
        return _power_law(n, self.a, self.b, self.c)

    @property
    def backtest_error(self) -> float | None:
        if self.backtest_predicted is None or self.backtest_actual is None:
            return None
        return round(self.backtest_predicted - self.backtest_actual, 5)


@dataclass(frozen=True)
class Crossover:
    status: CrossoverStatus
    scratch_arm: str | None
    finetune_arm: str | None
    examples: float | None  # median crossover size
    interval: tuple[float, float] | None  # 2.5-97.5% over bootstrap samples that cross
    probability: float | None  # share of bootstrap samples that cross within range
    search_range: tuple[int, int] | None
    text: str


@dataclass(frozen=True)
class CurveResult:
    config: CurveConfig
    points: tuple[CurvePoint, ...]
    fits: tuple[PowerLaw, ...]
    crossover: Crossover
    trials: tuple[TrialResult, ...]
    cache_hits: dict[str, int]
    notes: tuple[str, ...] = field(default_factory=tuple)

    def winners(self) -> dict[int, str]:
        """The arm with the best mean accuracy at each size."""
        best: dict[int, CurvePoint] = {}
        for p in self.points:
            if p.examples not in best or p.mean > best[p.examples].mean:
                best[p.examples] = p
        return {n: p.arm for n, p in sorted(best.items())}

    def analysis(self) -> dict[str, Any]:
        """Points, fits, crossover, winners and notes as plain data; the trials are stored on their own."""
        data = asdict(replace(self, trials=()))  # trials are not converted only to be dropped
        del data["trials"]
        return {**data, "winners": {str(k): v for k, v in self.winners().items()}}


def validate_sizes(config: CurveConfig, train_pool: int, num_classes: int) -> list[str]:
    """Reject impossible sizes; return notes on what cannot be computed with these sizes."""
    sizes = config.sizes
    if list(sizes) != sorted(set(sizes)):
        raise ConfigError("sizes", "expected distinct sizes in increasing order", given=",".join(map(str, sizes)))
    too_big = [n for n in sizes if n > train_pool]
    if too_big:
        raise ConfigError(
            "sizes",
            f"{', '.join(map(str, too_big))} larger than the {train_pool:,} training examples available; "
            f"accepted: {num_classes}..{train_pool}",
        )
    too_small = [n for n in sizes if n < num_classes]
    if too_small:
        raise ConfigError("sizes", f"{', '.join(map(str, too_small))} fewer than the {num_classes} classes")
    return size_notes(sizes, len(config.seeds))


def size_notes(sizes: tuple[int, ...], seeds: int) -> list[str]:
    """What a curve of these sizes and seeds cannot compute (no fit, no back-test, no interval)."""
    notes = []
    if len(sizes) < MIN_FIT_SIZES:
        notes.append(f"only {len(sizes)} sizes: no power-law fit or crossover (needs {MIN_FIT_SIZES} or more)")
    elif len(sizes) < 4:
        notes.append(
            "3 sizes: fits computed, but the back-test (fit on the smaller sizes, predict the largest) needs 4"
        )
    if seeds < 2:
        notes.append("one seed: no spread, intervals or bootstrap (use --seeds 3)")
    return notes


def run_curve(
    config: CurveConfig,
    callbacks: list[Callback] | None = None,
    on_result=lambda result: None,
    cache: TrialCache | None = None,
    runner: Runner | None = None,
) -> CurveResult:
    cache = cache or TrialCache()
    validate_suite(SuiteConfig(config.base, config.arms, config.seeds))
    text_columns = (config.base.text_column, config.base.label_column)
    data = cache.dataset(
        config.base.dataset, config.base.image_size, config.base.train_limit, text_columns=text_columns
    )
    pool = len(make_splits(data.labels, config.base.split_seed).train)
    notes = validate_sizes(config, pool, data.num_classes)
    trials = (runner or run_trials)(config.trial_configs(), callbacks, on_result, cache)
    if any(t.status == TrialStatus.CANCELLED for t in trials):  # a Ray sweep returns trials in config order
        notes.append("cancelled: the curve is incomplete")
    return analyse_curve(config, trials, cache.hits, notes)


def analyse_curve(config: CurveConfig, trials: list[TrialResult], cache_hits: dict[str, int], notes: list[str]):
    """Points, fits and crossover from finished trials (a pure function: reports re-run it on saved data)."""
    table = _accuracy_table(trials)
    untrained = _untrained(trials)
    points = tuple(
        replace(_point(arm, n, list(seeds.values())), untrained=untrained.get((arm, n), 0))
        for arm, by_size in table.items()
        for n, seeds in sorted(by_size.items())
    )
    notes = list(notes)
    if untrained:  # fitted and compared on the trials that trained; the chart marks the others
        left_out = ", ".join(
            f"{arm_label(arm)} at {n:,} ({k} seed{'s' if k != 1 else ''})" for (arm, n), k in untrained.items()
        )
        notes.append(f"did not train, left out of the fits and the crossover: {left_out}")
        table = _accuracy_table([t for t in trials if not t.undertrained])
    fits = []
    for arm, by_size in table.items():
        sizes = sorted(by_size)
        if len(sizes) < MIN_FIT_SIZES:
            continue
        fit = fit_power_law(arm, sizes, [float(np.mean(list(by_size[n].values()))) for n in sizes])
        fits.append(fit)
        if fit.note:
            notes.append(f"{arm_label(arm)}: {fit.note}")
    crossover = estimate_crossover(table, {f.arm: f for f in fits}, sorted({n for t in table.values() for n in t}))
    hits = {**cache_hits, "feature_cache_hits": sum(bool(t.feature_cache_hit) for t in trials)}
    return CurveResult(config, points, tuple(fits), crossover, tuple(trials), hits, tuple(notes))


def _accuracy_table(trials: list[TrialResult]) -> dict[str, dict[int, dict[int, float]]]:
    table: dict[str, dict[int, dict[int, float]]] = {}
    for t in trials:
        if t.status == TrialStatus.COMPLETED and t.test_accuracy is not None:
            table.setdefault(t.config.arm, {}).setdefault(t.train_examples, {})[t.config.seed] = t.test_accuracy
    return table


def _untrained(trials: list[TrialResult]) -> dict[tuple[str, int], int]:
    """(arm, training size) -> how many of its finished seeds did not train."""
    counts: dict[tuple[str, int], int] = {}
    for t in trials:
        if t.status == TrialStatus.COMPLETED and t.test_accuracy is not None and t.undertrained:
            counts[(t.config.arm, t.train_examples)] = counts.get((t.config.arm, t.train_examples), 0) + 1
    return counts


def _point(arm: str, n: int, accuracies: list[float]) -> CurvePoint:
    mean = float(np.mean(accuracies))
    if len(accuracies) < 2:
        return CurvePoint(arm, n, 1, round(mean, 5), None, None)
    std = float(np.std(accuracies, ddof=1))
    from scipy import stats  # deferred: ~60 MB; a run needs it only for the verdict, after its trials

    half = float(stats.t.ppf(0.975, len(accuracies) - 1)) * std / math.sqrt(len(accuracies))
    return CurvePoint(
        arm, n, len(accuracies), round(mean, 5), round(std, 5), (round(mean - half, 5), round(mean + half, 5))
    )


def _fit(
    sizes: list[int], accuracies: list[float], start: tuple[float, float, float] | None = None
) -> tuple[float, float, float]:
    """Least-squares (a, b, c); ``start``: where to begin (a bootstrap refit begins at the fit of all seeds)."""
    from scipy.optimize import OptimizeWarning, curve_fit  # deferred: ~40 MB, needed only to fit a curve

    warnings.simplefilter("ignore", OptimizeWarning)  # flat curves are reported in the notes instead
    x, y = np.asarray(sizes, float), np.asarray(accuracies, float)
    start = start or (min(1.0, y.max() + 0.05), max(1e-3, (y.max() - y.min()) * x.min() ** 0.5), 0.5)
    params, _ = curve_fit(
        _power_law, x, y, p0=start, jac=_power_law_jacobian,
        bounds=([0.0, 0.0, 0.01], [1.0, np.inf, 3.0]), maxfev=20000,
    )  # fmt: skip
    return float(params[0]), float(params[1]), float(params[2])


def _power_law(n: np.ndarray, a: float, b: float, c: float) -> np.ndarray:
    return a - b * np.power(n, -c)


def _power_law_jacobian(n: np.ndarray, a: float, b: float, c: float) -> np.ndarray:
    """d/d(a, b, c) of a - b n^-c. Given to curve_fit, it spares the finite differences: the bootstrap of a
    crossover fits every arm 200 times, and those differences were most of a curve's analysis time."""
    decay = np.power(n, -c)
    return np.column_stack([np.ones_like(n), -decay, b * decay * np.log(n)])


def fit_power_law(arm: str, sizes: list[int], accuracies: list[float]) -> PowerLaw:
    """Fit acc(n) = a - b n^-c (a in [0, 1], b >= 0, c in [0.01, 3]) and back-test it when there are 4+ sizes."""
    note = ""
    if any(later < earlier - 0.02 for earlier, later in itertools.pairwise(accuracies)):
        note = "accuracy falls as data grows somewhere: the fit is unreliable"
    try:
        a, b, c = _fit(sizes, accuracies)
    except (RuntimeError, ValueError) as error:
        return PowerLaw(arm, float("nan"), float("nan"), float("nan"), note=f"no fit: {error}")
    fit = PowerLaw(arm, round(a, 5), round(b, 5), round(c, 5), note=note)
    if len(sizes) >= 4:
        try:
            held = PowerLaw(arm, *_fit(sizes[:-1], accuracies[:-1]))
            predicted = round(float(held.predict(sizes[-1])), 5)
            fit = replace(
                fit, backtest_examples=sizes[-1], backtest_predicted=predicted, backtest_actual=accuracies[-1]
            )
        except (RuntimeError, ValueError):
            fit = replace(fit, note=(note + "; " if note else "") + "back-test fit failed")
    return fit


def _scratch_ahead(scratch: PowerLaw, finetune: list[PowerLaw], grid: np.ndarray) -> np.ndarray:
    best_finetune = np.max([f.predict(grid) for f in finetune], axis=0)
    return scratch.predict(grid) >= best_finetune


def _crossing(scratch: PowerLaw, finetune: list[PowerLaw], grid: np.ndarray) -> float | None:
    return _lasting_lead(_scratch_ahead(scratch, finetune, grid), grid)


def _lasting_lead(ahead: np.ndarray, grid: np.ndarray) -> float | None:
    """Where scratch goes ahead for good: the start of the lead it still holds at the end of the range.

    A lead at small sizes that the fine-tuning arms take back is not a crossover (None).
    """
    if not ahead[-1]:
        return None
    behind = np.flatnonzero(~ahead)
    return float(grid[behind[-1] + 1]) if len(behind) else float(grid[0])


def estimate_crossover(
    table: dict[str, dict[int, dict[int, float]]], fits: dict[str, PowerLaw], sizes: list[int]
) -> Crossover:
    """Where the best scratch arm's curve meets the best fine-tuning arm's, with a bootstrap interval."""
    fitted = [a for a in fits if a in ARMS and not math.isnan(fits[a].a)]
    scratch = [a for a in fitted if ARMS[a].family == ArmFamily.SCRATCH]
    finetune = [a for a in fitted if ARMS[a].uses_pretraining]
    if not scratch or not finetune or len(sizes) < MIN_FIT_SIZES:
        return Crossover(CrossoverStatus.NOT_COMPUTED, None, None, None, None, None, None,
                         "crossover not computed: needs a scratch arm and a fine-tuning arm fitted on 3+ sizes")  # fmt: skip
    low, high = sizes[0], sizes[-1] * EXTRAPOLATION
    grid = np.unique(np.round(np.logspace(math.log10(low), math.log10(high), 400)))
    scratch_arm = max(scratch, key=lambda a: fits[a].predict(sizes[-1]))
    finetune_arm = max(finetune, key=lambda a: fits[a].predict(sizes[-1]))
    scratch_name, finetune_name = arm_label(scratch_arm), arm_label(finetune_arm)  # the words; the arms stay ids
    ahead = _scratch_ahead(fits[scratch_arm], [fits[a] for a in finetune], grid)
    point = _lasting_lead(ahead, grid)
    samples = _bootstrap_crossings(table, scratch_arm, finetune, sizes, grid, fits)
    crossed = [s for s in samples if s is not None]
    probability = round(len(crossed) / len(samples), 3) if samples else None
    interval = (float(np.percentile(crossed, 2.5)), float(np.percentile(crossed, 97.5))) if len(crossed) >= 10 else None
    limits = f"(searched {low:,}..{high:,} labeled examples; beyond {sizes[-1]:,} it is an extrapolation)"
    if point is not None and point <= low:
        return Crossover(CrossoverStatus.SCRATCH_AHEAD, scratch_arm, finetune_arm, float(low), interval, probability, (low, high),
                         f"{scratch_name} is ahead across the whole range, from the smallest size measured "
                         f"({low:,} examples) {limits}")  # fmt: skip
    if point is None:
        share = f" ({probability:.0%} of bootstrap samples cross)" if probability is not None else ""
        early = (
            f"; it is level or ahead up to about {grid[np.flatnonzero(~ahead)[0] - 1]:,.0f} examples, "
            "then the fine-tuning arms lead"
            if ahead[0]
            else ""
        )
        return Crossover(CrossoverStatus.NONE_IN_RANGE, scratch_arm, finetune_arm, None, None, probability, (low, high),
                         f"{scratch_name} does not overtake the fine-tuning arms within range{share}{early} "
                         f"{limits}")  # fmt: skip
    span = (
        f", 95% interval {interval[0]:,.0f}..{interval[1]:,.0f}"
        if interval
        else ", interval not computed (needs 2+ seeds)"
    )
    return Crossover(CrossoverStatus.CROSSOVER, scratch_arm, finetune_arm, point, interval, probability, (low, high),
                     f"{scratch_name} overtakes {finetune_name} at about {point:,.0f} labeled examples{span} {limits}")  # fmt: skip


class _Refits:
    """:func:`_fit`, once per distinct resample: a bootstrap of few seeds draws the same means again and again
    (two seeds at three sizes have 27 distinct resamples among 200 draws), and each fit costs milliseconds
    to hundreds of them. The same inputs give the same fit, so the samples are exactly those of a refit each.
    """

    def __init__(self) -> None:
        self._done: dict[tuple, tuple[float, float, float] | Exception] = {}

    def __call__(self, sizes, means, start=None) -> tuple[float, float, float]:
        key = (tuple(sizes), tuple(means), start)
        if key not in self._done:
            try:
                self._done[key] = _fit(sizes, means, start)
            except (RuntimeError, ValueError) as error:
                self._done[key] = error
        done = self._done[key]
        if isinstance(done, Exception):
            raise done
        return done


def _bootstrap_crossings(table, scratch_arm, finetune_arms, sizes, grid, fits) -> list[float | None]:
    """Resample seeds (with replacement) at every size, refit every arm, record the crossing.

    Each refit starts from that arm's fit on all seeds (``fits``): a resample lies near it, so the
    solver needs a few iterations instead of some fifty from the generic start.
    """
    seed_counts = [len(table[scratch_arm].get(n, {})) for n in sizes]
    if min(seed_counts, default=0) < 2:
        return []
    rng = np.random.default_rng(0)
    refit = _Refits()
    crossings: list[float | None] = []
    for _ in range(BOOTSTRAP_SAMPLES):
        try:
            refits = {}
            for arm in (scratch_arm, *finetune_arms):
                means = []
                for n in sizes:
                    values = np.array(list(table[arm][n].values()))
                    means.append(float(values[rng.integers(0, len(values), len(values))].mean()))
                start = (fits[arm].a, fits[arm].b, fits[arm].c)
                refits[arm] = PowerLaw(arm, *refit(sizes, means, start))
        except (RuntimeError, ValueError, KeyError):
            continue
        crossings.append(_crossing(refits[scratch_arm], [refits[a] for a in finetune_arms], grid))
    return crossings


# ---- to the person's size ----------------------------------------------------------------------


@dataclass(frozen=True)
class ArmProjection:
    arm: str
    accuracy: float  # the power law's prediction at the person's size
    interval: tuple[float, float] | None  # 2.5-97.5% over bootstrap refits (None: one seed)


@dataclass(frozen=True)
class SizeProjection:
    """The learning curve carried to the person's labeled count, or why it cannot be.

    ``arms`` is empty and ``reason`` says why when there is no projection.
    """

    examples: int  # the person's labeled count
    measured: tuple[int, ...]  # the curve's sizes
    arms: tuple[ArmProjection, ...] = ()
    leader: str | None = None  # the arm projected best at ``examples``
    crossover: str = ""  # the crossover's words (estimate_crossover), when one was computed
    reason: str = ""
    bound_minutes: int | None = None  # a planned check the bound left without a curve: the bound that would not
    sizes_needed: int | None = None  # too few sizes measured: how many a projection needs (front ends name the option)

    @property
    def projected(self) -> bool:
        return bool(self.arms)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def project_to_size(table: dict[str, dict[int, dict[int, float]]], examples: int) -> SizeProjection:
    """Each arm's accuracy at ``examples`` labels from its curve (arm -> size -> seed -> test accuracy).

    A saturating power law per arm (:func:`fit_power_law`), an interval from refits on seeds resampled
    at every size (2+ seeds), at most :data:`EXTRAPOLATION` times the largest size measured.

    >>> curve = {"scratch": {100: {0: 0.60}, 200: {0: 0.70}, 400: {0: 0.76}},
    ...          "linear_probe": {100: {0: 0.72}, 200: {0: 0.75}, 400: {0: 0.77}}}
    >>> p = project_to_size(curve, 2000)
    >>> p.leader, p.arms[0].interval is None
    ('scratch', True)
    >>> project_to_size(curve, 50_000).reason
    'your 50,000 labels are more than 30x the largest size the curve measured (400): too far to extrapolate'
    """
    sizes = sorted({n for by_size in table.values() for n in by_size})
    measured = tuple(sizes)
    if not sizes:
        return SizeProjection(examples, measured, reason="no curve was measured")
    if examples <= sizes[-1]:
        return SizeProjection(
            examples, measured, reason=f"the curve measured {sizes[-1]:,} labels: no projection needed"
        )
    fitted = {arm: by_size for arm, by_size in table.items() if len(by_size) >= MIN_FIT_SIZES}
    if not fitted:
        at = ", ".join(f"{n:,}" for n in sizes)
        return SizeProjection(
            examples, measured,
            reason=f"measured at {len(sizes)} size{'' if len(sizes) == 1 else 's'} ({at} labels)",
            sizes_needed=MIN_FIT_SIZES,
        )  # fmt: skip
    if examples > sizes[-1] * EXTRAPOLATION:
        return SizeProjection(
            examples, measured,
            reason=f"your {examples:,} labels are more than {EXTRAPOLATION}x the largest size the curve measured "
            f"({sizes[-1]:,}): too far to extrapolate",
        )  # fmt: skip
    fits = {}
    for arm, by_size in fitted.items():
        arm_sizes = sorted(by_size)
        fit = fit_power_law(arm, arm_sizes, [float(np.mean(list(by_size[n].values()))) for n in arm_sizes])
        if not math.isnan(fit.a):
            fits[arm] = fit
    if not fits:
        return SizeProjection(examples, measured, reason="no arm's curve could be fitted")
    arms = tuple(
        sorted(
            (ArmProjection(arm, round(float(fit.predict(examples)), 4), _projection_interval(fitted[arm], examples))
             for arm, fit in fits.items()),
            key=lambda p: -p.accuracy,
        )
    )  # fmt: skip
    crossover = estimate_crossover(fitted, fits, sizes)
    words = crossover.text if crossover.status != CrossoverStatus.NOT_COMPUTED else ""
    return SizeProjection(examples, measured, arms, arms[0].arm, words)


def _projection_interval(by_size: dict[int, dict[int, float]], examples: int) -> tuple[float, float] | None:
    sizes = sorted(by_size)
    if min(len(by_size[n]) for n in sizes) < 2:
        return None
    rng = np.random.default_rng(0)
    refit = _Refits()
    predictions = []
    for _ in range(BOOTSTRAP_SAMPLES):
        means = []
        for n in sizes:
            values = np.array(list(by_size[n].values()))
            means.append(float(values[rng.integers(0, len(values), len(values))].mean()))
        try:
            predictions.append(float(PowerLaw("", *refit(sizes, means)).predict(examples)))
        except (RuntimeError, ValueError):
            continue
    if len(predictions) < 10:
        return None
    return round(float(np.percentile(predictions, 2.5)), 4), round(float(np.percentile(predictions, 97.5)), 4)


def project_trials(trials: list[TrialResult], examples: int) -> SizeProjection:
    """:func:`project_to_size` from finished trials (every size and seed they hold)."""
    return project_to_size(_accuracy_table(trials), examples)
