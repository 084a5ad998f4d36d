"""The statistics module against scipy on known tables, and the promise that an interval and its test agree."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as scipy_stats

from bench.evidence.stats import ALPHA, compare, interval_and_p, mcnemar_exact, paired_bootstrap, seed_test


def table(only_a: int, only_b: int, both: int, neither: int) -> tuple[np.ndarray, np.ndarray]:
    a = np.array([True] * only_a + [False] * only_b + [True] * both + [False] * neither)
    b = np.array([False] * only_a + [True] * only_b + [True] * both + [False] * neither)
    return a, b


def test_mcnemar_exact_matches_the_binomial_test_on_discordant_pairs():
    a, b = table(10, 2, 50, 38)
    assert mcnemar_exact(a, b) == pytest.approx(scipy_stats.binomtest(10, 12, 0.5).pvalue)
    assert mcnemar_exact(a, b) == pytest.approx(0.03857, abs=1e-4)  # the textbook value for 10 vs 2
    assert mcnemar_exact(*table(0, 0, 5, 5)) == 1.0


def test_the_seed_interval_is_scipys_t_interval_for_the_t_test():
    a, b = np.array([0.81, 0.83, 0.80, 0.82]), np.array([0.78, 0.79, 0.79, 0.77])
    result = seed_test(a, b)
    reference = scipy_stats.ttest_rel(a, b)
    ci = reference.confidence_interval()
    assert result.p_value == pytest.approx(reference.pvalue, abs=1e-6)
    assert result.ci95 == pytest.approx((ci.low, ci.high), abs=1e-5)
    assert seed_test(a[:1], b[:1]) is None


def test_one_seed_compares_on_test_examples():
    a, b = table(40, 5, 400, 55)
    comparison = compare(("a", "b"), a[None], b[None])
    assert comparison.mean_difference == pytest.approx(35 / 500)
    assert comparison.significant and comparison.ci95[0] > 0
    assert comparison.detectable > 0 and comparison.seed_test is None


def test_bootstrap_resamples_seeds_too():
    rng = np.random.default_rng(0)
    a = rng.random((4, 300)) < np.array([[0.9], [0.6], [0.9], [0.6]])  # seeds disagree a lot
    b = rng.random((4, 300)) < 0.75
    _, with_seeds = paired_bootstrap(a, b)
    _, one_seed = paired_bootstrap(a[:1], b[:1])
    assert np.std(with_seeds) > np.std(one_seed)  # seed noise widens the interval


@settings(max_examples=60, deadline=None)
@given(
    seeds=st.integers(1, 4),
    n=st.integers(5, 200),
    pa=st.floats(0.05, 0.95),
    pb=st.floats(0.05, 0.95),
    seed=st.integers(0, 10_000),
)
def test_interval_and_test_never_disagree(seeds, n, pa, pb, seed):
    rng = np.random.default_rng(seed)
    a, b = rng.random((seeds, n)) < pa, rng.random((seeds, n)) < pb
    comparison = compare(("a", "b"), a, b)
    excludes_zero = comparison.ci95[0] > 0 or comparison.ci95[1] < 0
    assert excludes_zero == (comparison.p_value < ALPHA)
    _, replicates = paired_bootstrap(a, b, seed=seed)
    (low, high), p = interval_and_p(replicates)
    assert (low > 0 or high < 0) == (p < ALPHA)
    if comparison.seed_test is not None and comparison.seed_test.ci95 is not None:
        t = comparison.seed_test
        assert (t.ci95[0] > 0 or t.ci95[1] < 0) == (t.p_value < ALPHA)
