"""LogME: the closed form against a direct reference, and the properties a transferability score needs."""

import math

import numpy as np
import pytest

from bench.errors import BenchInputError
from bench.evidence.logme import _evidence_for_target, estimate_transferability, logme, suggest_similarity
from bench.train.cache import TrialCache
from tests.bench.imaging import write_class_folder


def reference_evidence(f: np.ndarray, y: np.ndarray, iterations: int = 200) -> float:
    """Textbook evidence maximisation with explicit matrices (Bishop, PRML 3.5), no eigenbasis tricks."""
    n, d = f.shape
    alpha, beta = 1.0, 1.0
    gram = f.T @ f
    eigenvalues = np.linalg.eigvalsh(gram)
    for _ in range(iterations):
        a = alpha * np.eye(d) + beta * gram
        m = beta * np.linalg.solve(a, f.T @ y)
        gamma = np.sum(beta * eigenvalues / (alpha + beta * eigenvalues))
        alpha = gamma / (m @ m)
        beta = (n - gamma) / np.sum((f @ m - y) ** 2)
    a = alpha * np.eye(d) + beta * gram
    m = beta * np.linalg.solve(a, f.T @ y)
    _, logdet = np.linalg.slogdet(a)
    return (
        n / 2 * math.log(beta) + d / 2 * math.log(alpha) - n / 2 * math.log(2 * math.pi)
        - beta / 2 * np.sum((f @ m - y) ** 2) - alpha / 2 * (m @ m) - logdet / 2
    )  # fmt: skip


@pytest.mark.parametrize(("n", "d"), [(80, 5), (40, 60)])  # more examples than features, and fewer
def test_closed_form_matches_reference(n, d):
    rng = np.random.default_rng(n + d)
    f = rng.normal(size=(n, d))
    y = (f @ rng.normal(size=d) + 0.5 * rng.normal(size=n) > 0).astype(float)
    eigenvalues, vectors = np.linalg.eigh(f.T @ f)
    evidence, _, _ = _evidence_for_target(np.clip(eigenvalues, 0, None), vectors.T @ (f.T @ y), float(y @ y), n)
    assert evidence == pytest.approx(reference_evidence(f, y), rel=1e-3, abs=1e-3)


def synthetic(n=300, classes=4, d=16, noise=0.3, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, n)
    centres = rng.normal(size=(classes, d)) * 2
    return centres[labels] + noise * rng.normal(size=(n, d)), labels, rng


def test_informative_features_score_above_random_ones():
    features, labels, rng = synthetic()
    assert logme(features, labels) > logme(rng.normal(size=features.shape), labels) + 0.1


def test_score_grows_as_noise_falls():
    scores = [logme(*synthetic(noise=noise)[:2]) for noise in (3.0, 1.0, 0.3)]
    assert scores == sorted(scores)


def test_invariant_to_label_permutation():
    features, labels, rng = synthetic()
    permutation = rng.permutation(4)
    assert logme(features, permutation[labels]) == pytest.approx(logme(features, labels), rel=1e-9)


def test_similarity_mapping():
    assert [suggest_similarity(g) for g in (0.9, 0.2, 0.01, -0.1)] == ["high", "medium", "low", "low"]


@pytest.mark.slow
def test_pretrained_features_transfer_better_than_random_init_on_real_data():
    result = estimate_transferability("fashion-mnist", examples=500)
    assert result.gain > 0.05
    assert result.suggested_similarity in ("medium", "high")
    assert "suggests domain_similarity" in result.explain()
    assert result.suggested_answers() == {"domain_similarity": result.suggested_similarity, "input_resolution": 28}


def _degenerate_cases():
    rng = np.random.default_rng(7)
    labels = rng.integers(0, 3, 50)
    return {
        "constant features": (np.ones((50, 8)), labels),
        "all-zero features": (np.zeros((50, 8)), labels),  # ZeroDivisionError before the fix
        "one feature": (rng.normal(size=(50, 1)), labels),
        "far more features than images": (np.maximum(rng.normal(size=(12, 1280)), 0), rng.integers(0, 3, 12)),
        "one example per class": (rng.normal(size=(3, 16)), np.array([0, 1, 2])),
        "a single image": (rng.normal(size=(1, 16)), np.array([0])),
        "perfectly separable": (np.eye(3)[labels] * 1e3, labels),
        "tiny scale": (rng.normal(size=(50, 8)) * 1e-150, labels),
    }


@pytest.mark.parametrize("case", list(_degenerate_cases()))
def test_logme_is_finite_on_degenerate_data(case):
    features, labels = _degenerate_cases()[case]
    assert math.isfinite(logme(features, labels))


def test_logme_is_finite_on_random_shapes_and_scales():
    rng = np.random.default_rng(0)
    for _ in range(150):
        n, d, classes = int(rng.integers(1, 60)), int(rng.integers(1, 90)), int(rng.integers(1, 8))
        features = rng.normal(size=(n, d)) * 10.0 ** rng.uniform(-8, 8)
        if rng.random() < 0.3:
            features[:, rng.random(d) < 0.7] = 0  # dead units, as after a ReLU
        assert math.isfinite(logme(features, rng.integers(0, classes, n)))


def test_logme_refuses_mismatched_or_non_finite_input_in_words():
    with pytest.raises(BenchInputError, match="one feature row per labelled image"):
        logme(np.zeros((3, 2)), np.zeros(4, int))
    with pytest.raises(BenchInputError, match="non-finite features"):
        logme(np.full((3, 2), np.nan), np.zeros(3, int))


def test_too_small_dataset_is_refused_in_plain_words(tmp_path):
    write_class_folder(tmp_path, {"a": 6, "b": 6}, size=8)
    with pytest.raises(
        BenchInputError, match=r"too few images to estimate transferability: 8 training images .*at least 20"
    ):
        estimate_transferability(str(tmp_path), device_name="cpu", cache=TrialCache(tmp_path / "cache"))
