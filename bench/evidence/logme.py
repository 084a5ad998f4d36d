"""LogME transferability (You, Liu, Wang & Long, ICML 2021) and the similarity it suggests.

LogME is the log marginal evidence, per example, of a Bayesian linear model from frozen
features to one-hot labels, with its prior (alpha) and noise (beta) precisions set by
evidence maximisation. It needs one eigendecomposition of F^T F and a few fixed-point
iterations per class: seconds on cached features.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from advisor.constraints import FieldError, Interval, check_field
from bench.data.splits import make_splits, subsample_train
from bench.data.units import IMAGES, ExampleUnit
from bench.device import resolve_device
from bench.errors import BenchInputError, ConfigError
from bench.models.backbones import get_backbone
from bench.train.cache import TrialCache

MAX_ITERATIONS = 100
TOLERANCE = 1e-3
# alpha and beta are precisions; keeping them in this range keeps every logarithm defined
# on degenerate data (constant or all-zero features, one example per class, D >> n), where
# the fixed point drifts towards 0 or infinity. The evidence changes negligibly there.
PRECISION_RANGE = (1e-12, 1e12)
# Below this many training images the evidence is dominated by the prior; we refuse
# rather than suggest a similarity from noise.
MIN_EXAMPLES = 20
MAX_EXAMPLES = 1_000_000  # LogME on more than this is no better an estimate, only slower
EXAMPLES = Interval(int, MIN_EXAMPLES, MAX_EXAMPLES, none="the whole training split")


def _clamp(value: float) -> float:
    low, high = PRECISION_RANGE
    return min(high, max(low, value)) if math.isfinite(value) else high


def _evidence_for_target(
    eigenvalues: np.ndarray, projected: np.ndarray, target_norm2: float, n: int
) -> tuple[float, float, float]:
    """Maximise the evidence for one target vector; returns (evidence, alpha, beta).

    ``eigenvalues`` are those of F^T F (length D, zeros included); ``projected`` is V^T F^T y.
    In the eigenbasis the posterior mean is m_i = beta * projected_i / (alpha + beta * s_i).
    """
    dim = len(eigenvalues)
    alpha, beta = 1.0, 1.0
    for _ in range(MAX_ITERATIONS):
        gamma = float(np.sum(beta * eigenvalues / (alpha + beta * eigenvalues)))
        m = beta * projected / (alpha + beta * eigenvalues)
        m2 = float(m @ m)
        residual2 = _residual2(eigenvalues, projected, target_norm2, m)
        # gamma (the effective number of parameters) is in [0, min(n, D)]; rounding can push
        # it a hair outside, which would make a precision zero or negative.
        gamma = min(max(gamma, 0.0), float(n))
        new_alpha = _clamp(max(gamma, 1e-12) / max(m2, 1e-12))
        new_beta = _clamp(max(n - gamma, 1e-12) / residual2)
        converged = abs(new_alpha - alpha) / alpha < TOLERANCE and abs(new_beta - beta) / beta < TOLERANCE
        alpha, beta = new_alpha, new_beta
        if converged:
            break
    m = beta * projected / (alpha + beta * eigenvalues)
    residual2 = _residual2(eigenvalues, projected, target_norm2, m)
    evidence = (
        n / 2 * math.log(beta)
        + dim / 2 * math.log(alpha)
        - n / 2 * math.log(2 * math.pi)
        - beta / 2 * residual2
        - alpha / 2 * float(m @ m)
        - 0.5 * float(np.sum(np.log(alpha + beta * eigenvalues)))
    )
    return evidence, alpha, beta


def _residual2(eigenvalues: np.ndarray, projected: np.ndarray, target_norm2: float, m: np.ndarray) -> float:
    # ||F m - y||^2 = ||y||^2 - 2 m^T F^T y + m^T F^T F m, all in the eigenbasis.
    value = target_norm2 - 2.0 * float(m @ projected) + float(np.sum(eigenvalues * m * m))
    return max(value, 1e-12) if math.isfinite(value) else 1e-12


def logme(features: np.ndarray, labels: np.ndarray) -> float:
    """LogME score of ``features`` (n x D) for integer ``labels``: higher means easier linear transfer.

    Defined for any n >= 1 and D >= 1, including constant features and classes of one example.

    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 3, 200)
    >>> informative = np.eye(3)[y] + 0.1 * rng.normal(size=(200, 3))
    >>> logme(informative, y) > logme(rng.normal(size=(200, 3)), y)
    True
    """
    f = np.asarray(features, dtype=np.float64)
    labels = np.asarray(labels)
    if f.ndim != 2 or len(f) != len(labels) or len(f) == 0:
        raise BenchInputError(
            f"LogME needs one feature row per labelled image; got features of shape {f.shape} for {len(labels)} labels"
        )
    if not np.isfinite(f).all():
        raise BenchInputError("LogME: the backbone produced non-finite features (NaN or infinity) for these images")
    n = f.shape[0]
    eigenvalues, vectors = np.linalg.eigh(f.T @ f)
    eigenvalues = np.clip(eigenvalues, 0.0, None)
    scores = []
    for label in np.unique(labels):
        y = (labels == label).astype(np.float64)
        projected = vectors.T @ (f.T @ y)
        evidence, _, _ = _evidence_for_target(eigenvalues, projected, float(y @ y), n)
        scores.append(evidence / n)
    return float(np.mean(scores))


# Mapping LogME to the questionnaire's domain_similarity. Absolute LogME depends on the
# number of classes and the label noise, so we compare the pretrained features with the
# same architecture's features at random initialisation on the same images: the gain is
# what pretraining adds. Basis, measured with efficientnet_lite0 on 1,000 training images:
# 8x8 digits (nothing like ImageNet) +0.01 -> low; Fashion-MNIST (grayscale objects, which
# a linear probe classifies at ~82%) +0.14 -> medium. The "high" threshold (0.4) is not
# calibrated on a measured natural-photo set here: it is ~3x Fashion-MNIST's gain. The
# numbers are always reported with the suggestion so a user can judge.
SIMILARITY_THRESHOLDS = (("high", 0.4), ("medium", 0.1))


@dataclass(frozen=True)
class Transferability:
    logme_pretrained: float
    logme_random_init: float
    examples: int
    suggested_similarity: str
    input_resolution: int | None = None  # the data's native side in pixels: the questionnaire's answer

    def suggested_answers(self) -> dict[str, object]:
        """The questionnaire answers this measurement fills in."""
        answers: dict[str, object] = {"domain_similarity": self.suggested_similarity}
        if self.input_resolution:
            answers["input_resolution"] = self.input_resolution
        return answers

    @property
    def gain(self) -> float:
        return self.logme_pretrained - self.logme_random_init

    def explain(self) -> str:
        return (
            f"LogME {self.logme_pretrained:.3f} with pretrained features vs {self.logme_random_init:.3f} with the same "
            f"network at random init (gain {self.gain:+.3f}, {self.examples} examples): suggests "
            f"domain_similarity = {self.suggested_similarity} (high >= 0.4, medium >= 0.1, else low)."
            + (f" Images are {self.input_resolution} px on their shorter side." if self.input_resolution else "")
        )


def suggest_similarity(gain: float) -> str:
    for label, threshold in SIMILARITY_THRESHOLDS:
        if gain >= threshold:
            return label
    return "low"


def scored_sample(data, examples: int | None, seed: int, unit: ExampleUnit) -> np.ndarray:
    """The training-split indices LogME scores (images and texts alike): a stratified sample of ``examples``
    (None: the whole split); a split smaller than MIN_EXAMPLES is a BenchInputError in ``unit``'s words."""
    splits = make_splits(data.labels)
    if len(splits.train) < MIN_EXAMPLES:
        raise BenchInputError(
            f"dataset {data.source}: too few {unit.plural} to estimate transferability: {len(splits.train)} "
            f"training {unit.plural} (of {len(data)}, after holding out validation and test), "
            f"need at least {MIN_EXAMPLES}"
        )
    return subsample_train(splits, data.labels, min(examples or len(splits.train), len(splits.train)), seed)


def estimate_transferability(
    dataset: str,
    backbone: str = "efficientnet_lite0",
    examples: int | None = 1000,
    resolution: int | None = None,
    device_name: str = "auto",
    cache=None,
    seed: int = 0,
) -> Transferability:
    """LogME of the backbone's pretrained and random-init features on (a sample of) the training split.

    ``examples`` (None: the whole training split) must be a whole number from MIN_EXAMPLES up to
    MAX_EXAMPLES; it is checked before any data is read.
    """
    try:
        check_field("examples", examples, EXAMPLES)
    except FieldError as error:
        raise ConfigError(error.field, error.detail) from None
    cache = cache or TrialCache()
    device = resolve_device(device_name)
    data = cache.dataset(dataset, 128, train_limit=examples)
    spec = get_backbone(backbone)
    idx = scored_sample(data, examples, seed, IMAGES)
    images = cache.staged(data, resolution or data.default_resolution, device, idx)  # idx: sorted, unique
    scores = []
    for random_init in (False, True):
        features, _ = cache.features(spec, data, images, device, idx, random_init=random_init, rows=idx)
        scores.append(logme(features[idx], data.labels[idx]))
    gain = scores[0] - scores[1]
    return Transferability(
        round(scores[0], 4), round(scores[1], 4), len(idx), suggest_similarity(gain), data.native_resolution
    )
