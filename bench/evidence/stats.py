"""Comparing two arms on both sources of noise, seeds and test examples, with tests and intervals that agree.

The decision uses one two-way bootstrap over seeds and test examples (the test set is shared by
every seed, so seeds and examples are crossed, not nested: each replicate resamples seeds and
examples independently, Owen 2007). Its percentile interval and its two-sided p-value come from
the same replicates and are defined so that the 95% interval excludes zero exactly when p < 0.05.
With one seed it is the paired bootstrap over test examples; one seed is never "within noise",
it is decided on the test set.

Beside it, and never instead of it, two library tests for the reader who knows them:
McNemar's exact test per seed (``scipy.stats.binomtest`` on the discordant pairs) and, with
two or more seeds, the paired t-test over seeds with the t-interval that matches it
(``scipy.stats.ttest_rel(...).confidence_interval()``). scipy has no crossed bootstrap, so that
one is written here, vectorised.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

ALPHA = 0.05
REPLICATES = 4000  # a multiple of 40: the 2.5% tail holds exactly 100 replicates
POWER_Z = 1.959964 + 0.841621  # two-sided alpha 0.05 plus 80% power
# A test set that cannot detect a difference under this many accuracy points decides nothing a person
# would act on: its comparison is reported, and the verdict withholds a decision (saying what size would do).
DECIDES_NOTHING_ABOVE = 0.25
RESOLVE_DIFFERENCE = 0.10  # the difference a "what size would decide" sentence sizes the test set for


def detectable_floor(test_examples: int) -> float:
    """The smallest difference ``test_examples`` paired examples could detect at best (alpha 0.05, 80% power).

    At best every disagreement between the arms favours one of them: a difference d is then d n
    discordant examples, whose mean has standard error sqrt(d / n); detecting it needs
    d >= POWER_Z sqrt(d / n), so d >= POWER_Z^2 / n. Identical predictions show no spread at all,
    yet 12 examples still cannot detect less than about 0.65.

    >>> round(detectable_floor(12), 3), round(detectable_floor(1000), 4)
    (0.654, 0.0078)
    """
    return POWER_Z**2 / max(test_examples, 1)


@dataclass(frozen=True)
class SeedTest:
    """Paired t-test over seeds and its matching 95% t-interval (scipy)."""

    seeds: int
    mean_difference: float
    ci95: tuple[float, float] | None  # None when every seed gave the same difference
    p_value: float | None


@dataclass(frozen=True)
class PairedComparison:
    better: str
    worse: str
    seeds: int
    test_examples: int
    mean_difference: float  # accuracy, better minus worse, averaged over seeds
    ci95: tuple[float, float]  # two-way bootstrap over seeds and test examples (percentile)
    p_value: float  # two-sided, from the same replicates: p < 0.05 exactly when ci95 excludes 0
    detectable: float  # the smallest difference this run could detect (alpha 0.05, 80% power); never 0
    method: str  # how the interval and p were computed, over what: seeds and test examples, how many
    mcnemar_p: tuple[float, ...] = ()  # exact McNemar per seed
    seed_test: SeedTest | None = None
    effect_size: float | None = None  # Cohen's d_z over seeds (None under 2 seeds)
    spread_detectable: float = 0.0  # the bootstrap spread's part of ``detectable`` (0: no disagreement seen)
    # Stored with the numbers, so that every front end words them alike without recomputing:
    over: str = ""  # what the interval rests on: "12 test examples, one seed", "3 seeds and 359 test examples"
    decides_nothing: bool = False  # not significant, and no difference under DECIDES_NOTHING_ABOVE detectable
    examples_to_detect: int | None = None  # about how many test examples would detect RESOLVE_DIFFERENCE
    replicates: int = REPLICATES  # the bootstrap's replicates: its p resolves 2 / replicates (p_words)

    @property
    def significant(self) -> bool:
        return self.p_value < ALPHA

    def test_examples_to_detect(self, difference: float = RESOLVE_DIFFERENCE) -> int:
        """About how many test examples would detect ``difference`` (the spread scales as 1/sqrt(examples)).

        >>> c = compare(("a", "b"), np.ones((1, 12), bool), np.ones((1, 12), bool))
        >>> c.test_examples_to_detect(0.10)
        79
        """
        from_spread = self.test_examples * (self.spread_detectable / difference) ** 2  # shrinks as 1/sqrt(n)
        from_floor = detectable_floor(1) / difference  # shrinks as 1/n
        return max(self.test_examples + 1, math.ceil(max(from_spread, from_floor) - 1e-9))


def paired_bootstrap(a: np.ndarray, b: np.ndarray, replicates: int = REPLICATES, seed: int = 0):
    """Differences in accuracy (a - b) under resampling of seeds (rows) and test examples (columns).

    ``a`` and ``b`` are seeds x examples arrays of per-example correctness, paired by position.
    Returns (mean difference, replicate means).
    """
    diff = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    seeds, n = diff.shape
    rng = np.random.default_rng(seed)
    weights = rng.multinomial(n, np.full(n, 1.0 / n), size=replicates)  # replicates x n example counts
    per_seed = diff @ weights.T / n  # seeds x replicates
    picks = rng.integers(0, seeds, size=(replicates, seeds))  # resampled seeds per replicate
    replicate_means = per_seed[picks, np.arange(replicates)[:, None]].mean(axis=1)
    return float(diff.mean()), replicate_means


def interval_and_p(replicate_means: np.ndarray) -> tuple[tuple[float, float], float]:
    """Percentile 95% interval and two-sided p-value from the same replicates, consistent by construction.

    With R replicates and k = 0.025 R, the interval is the (k+1)-th smallest and largest replicate;
    p = 2 min(#(<= 0), #(>= 0)) / R. Then the interval excludes 0 exactly when p < 0.05.
    """
    ordered = np.sort(replicate_means)
    r = len(ordered)
    k = round(ALPHA / 2 * r)
    low, high = float(ordered[k - 1]), float(ordered[r - k])
    p = min(1.0, 2 * min(int(np.sum(ordered <= 0)), int(np.sum(ordered >= 0))) / r)
    return (low, high), p


def stored_p(p_value: float) -> float:
    """An exact p-value as stored: 6 significant figures (never coarser than the 6 decimal places before), so a
    tiny one stays above 0 (6 decimal places stored McNemar's 1e-08 as 0, printed "p 0").

    >>> stored_p(1.23456789e-08), stored_p(0.0318741951), stored_p(1.0)
    (1.23457e-08, 0.0318742, 1.0)
    """
    return float(f"{p_value:.6g}")


def p_words(p_value: float, replicates: int | None = REPLICATES) -> str:
    """A bootstrap p-value as words that claim no more than its replicates resolve.

    ``interval_and_p`` counts replicates, so its smallest non-zero p is 2 / R: a count of 0 says
    p < 2 / R, never p = 0.

    >>> p_words(0.0), p_words(0.0123), p_words(1.0), p_words(0.0, replicates=1000)
    ('p < 0.0005', 'p = 0.0123', 'p = 1', 'p < 0.002')
    """
    if p_value <= 0 and replicates:
        return f"p < {2 / replicates:.2g}"
    return f"p = {p_value:.3g}"


def mcnemar_exact(a: np.ndarray, b: np.ndarray) -> float:
    """McNemar's exact test on paired correctness: a binomial test on the discordant pairs."""
    only_a, only_b = int(np.sum(a & ~b)), int(np.sum(~a & b))
    if only_a + only_b == 0:
        return 1.0
    from scipy import stats  # deferred: ~60 MB; a run needs it only for the verdict, after its trials

    return float(stats.binomtest(only_a, only_a + only_b, 0.5).pvalue)


def seed_test(a_accuracy: np.ndarray, b_accuracy: np.ndarray) -> SeedTest | None:
    """Paired t over seeds with its matching interval; None under two seeds."""
    diffs = np.asarray(a_accuracy) - np.asarray(b_accuracy)
    if len(diffs) < 2:
        return None
    mean = float(diffs.mean())
    if np.allclose(diffs, diffs[0]):
        return SeedTest(len(diffs), round(mean, 5), None, None)  # no spread: t undefined
    from scipy import stats  # deferred: ~60 MB; a run needs it only for the verdict, after its trials

    result = stats.ttest_rel(a_accuracy, b_accuracy)
    ci = result.confidence_interval(0.95)
    return SeedTest(len(diffs), round(mean, 5), (round(float(ci.low), 5), round(float(ci.high), 5)),
                    stored_p(float(result.pvalue)))  # fmt: skip


def compare(names: tuple[str, str], a: np.ndarray, b: np.ndarray) -> PairedComparison:
    """Compare arm ``names[0]`` (correctness ``a``, seeds x examples) with ``names[1]`` (``b``)."""
    a, b = np.asarray(a, dtype=bool), np.asarray(b, dtype=bool)
    if a.shape != b.shape or a.ndim != 2 or a.shape[1] == 0:
        raise ValueError(f"paired correctness must be seeds x examples of one shape; got {a.shape} and {b.shape}")
    mean, replicates = paired_bootstrap(a, b)
    spread = POWER_Z * float(np.std(replicates, ddof=1))
    ci, p = interval_and_p(replicates)
    accuracy_a, accuracy_b = a.mean(axis=1), b.mean(axis=1)
    diffs = accuracy_a - accuracy_b
    sd = float(diffs.std(ddof=1)) if len(diffs) > 1 else 0.0
    seeds, n = a.shape
    method = (
        f"two-way bootstrap over {seeds} seeds and {n:,} test examples, {REPLICATES:,} replicates"
        if seeds > 1
        else f"paired bootstrap over {n:,} test examples, one seed, {REPLICATES:,} replicates"
    )
    examples = f"{n:,} test example{'s' if n != 1 else ''}"
    detectable = round(max(spread, detectable_floor(n)), 5)
    comparison = PairedComparison(
        better=names[0],
        worse=names[1],
        seeds=seeds,
        test_examples=n,
        mean_difference=round(mean, 5),
        ci95=(round(ci[0], 5), round(ci[1], 5)),
        p_value=round(p, 6),
        detectable=detectable,
        method=method,
        mcnemar_p=tuple(stored_p(mcnemar_exact(a[s], b[s])) for s in range(seeds)),
        seed_test=seed_test(accuracy_a, accuracy_b),
        effect_size=round(mean / sd, 3) if sd > 1e-12 else None,
        spread_detectable=round(spread, 5),
        over=f"{seeds} seeds and {examples}" if seeds > 1 else f"{examples}, one seed",
        decides_nothing=p >= ALPHA and detectable > DECIDES_NOTHING_ABOVE,
    )
    return replace(comparison, examples_to_detect=comparison.test_examples_to_detect(RESOLVE_DIFFERENCE))


def seeds_to_detect(difference: float, comparison: PairedComparison) -> int | None:
    """Roughly how many seeds would detect ``difference``, scaling the bootstrap's spread by 1/sqrt(seeds)."""
    if difference == 0 or comparison.detectable == 0:
        return None
    return max(comparison.seeds + 1, math.ceil(comparison.seeds * (comparison.detectable / abs(difference)) ** 2))
