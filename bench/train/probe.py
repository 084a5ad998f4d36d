"""The linear-probe arm, and its head: multinomial logistic regression with L2, fitted on the device.

Same objective as scikit-learn's ``LogisticRegression(C=...)`` (mean cross-entropy plus
``||W||^2 / (2 C n)``), solved by full-batch L-BFGS (at most 30 iterations per C, to a
mean-gradient tolerance of 1e-4) and warm-started along the C path.
On cached features it is ~10x faster than scikit-learn's lbfgs on a 2-core CPU and runs
on the GPU when there is one, which is what makes a probe far cheaper than an epoch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import torch
import torch.nn.functional as F

from bench.data.image_data import ImageData
from bench.models.backbones import BackboneSpec
from bench.train.cache import TrialCache
from bench.train.callbacks import Hooks, TrialState
from bench.train.config import TrialConfig
from bench.train.result import EpochRecord, TrialResult


@dataclass(frozen=True)
class ProbeFit:
    c: float
    val_accuracy: float
    weight: torch.Tensor  # classes x features (on standardised features)
    bias: torch.Tensor
    mean: torch.Tensor
    scale: torch.Tensor

    def predict(self, features: torch.Tensor) -> torch.Tensor:
        return (((features - self.mean) / self.scale) @ self.weight.T + self.bias).argmax(1)


def fit_probe(
    x_train: torch.Tensor,
    y_train: torch.Tensor,
    x_val: torch.Tensor,
    y_val: torch.Tensor,
    num_classes: int,
    c_grid: tuple[float, ...],
    on_fit=lambda c, val_accuracy: None,
    progress: Callable[[], None] = lambda: None,
) -> ProbeFit:
    """Standardise with training statistics, fit for each C (small to large), keep the best on validation.

    ``progress`` is called at every loss evaluation of L-BFGS (it may raise to cancel a fit in progress).
    """
    mean = x_train.mean(0)
    scale = x_train.std(0).clamp_min(1e-6)
    train = (x_train - mean) / scale
    val = (x_val - mean) / scale
    weight = torch.zeros(num_classes, train.shape[1], device=train.device, requires_grad=True)
    bias = torch.zeros(num_classes, device=train.device, requires_grad=True)
    best: ProbeFit | None = None
    for c in sorted(c_grid):
        penalty = 1.0 / (2.0 * c * len(train))
        optimizer = torch.optim.LBFGS(
            [weight, bias], lr=1.0, max_iter=30, tolerance_grad=1e-4, line_search_fn="strong_wolfe"
        )

        def closure(penalty=penalty, optimizer=optimizer):
            progress()
            optimizer.zero_grad()
            loss = F.cross_entropy(train @ weight.T + bias, y_train) + penalty * weight.pow(2).sum()
            loss.backward()
            return loss

        optimizer.step(closure)
        with torch.no_grad():
            val_accuracy = round(float(((val @ weight.T + bias).argmax(1) == y_val).float().mean()), 5)
        on_fit(c, val_accuracy)
        if best is None or val_accuracy > best.val_accuracy:
            best = ProbeFit(c, val_accuracy, weight.detach().clone(), bias.detach().clone(), mean, scale)
    assert best is not None
    return best


LOGISTIC_C_GRID = (1e-3, 1e-2, 1e-1, 1.0, 10.0)


@dataclass(frozen=True)
class ProbeOutcome:
    predictions: torch.Tensor  # on the test split
    val_accuracy: float
    fits: int  # one per C
    feature_seconds: float
    fit_seconds: float
    cache_hit: bool
    history: tuple[EpochRecord, ...]

    def into(self, base: TrialResult, train_examples: int) -> TrialResult:
        """``base`` with what the probe measured (image and text probes alike)."""
        return replace(
            base,
            val_accuracy=self.val_accuracy,
            epochs_run=1.0,
            steps=self.fits,
            # Training is the fits, as an arm's training is its steps; feature extraction is reported apart when
            # it ran (a cache hit is reading, counted with the data).
            time_train_s=round(self.fit_seconds, 3),
            time_features_s=round(0.0 if self.cache_hit else self.feature_seconds, 3),
            time_data_s=round(base.time_data_s + (self.feature_seconds if self.cache_hit else 0.0), 3),
            images_per_second=round(train_examples / max(self.fit_seconds, 1e-9), 1),  # the fit's own speed
            feature_cache_hit=self.cache_hit,
            history=self.history,
        )


def run_linear_probe(
    config: TrialConfig,
    spec: BackboneSpec,
    data: ImageData,
    images: torch.Tensor,
    split_idx: tuple[np.ndarray, np.ndarray, np.ndarray],
    device: torch.device,
    hooks: Hooks,
    cache: TrialCache,
    clock: Callable[[], float],
    rows: np.ndarray | None = None,
) -> ProbeOutcome:
    """The linear-probe arm: pooled features of the frozen backbone (cached), logistic regression, C on validation.

    ``split_idx`` are dataset indices; ``images`` holds the dataset's ``rows`` (None: all of them).
    """
    train_idx, val_idx, test_idx = split_idx
    hooks.progress(TrialState(config, "features"))
    t_features = clock()
    needed = np.concatenate([train_idx, val_idx, test_idx])
    features, hit = cache.features(
        spec, data, images, device, needed, progress=lambda: hooks.progress(TrialState(config, "features")),
        rows=rows, stop_if_asked=hooks.stop_if_asked,
    )  # fmt: skip
    return fit_on_features(config, features, data.labels, data.num_classes, split_idx, device, hooks, clock,
                           clock() - t_features, hit)  # fmt: skip


def fit_on_features(
    config: TrialConfig,
    features: np.ndarray,
    labels: np.ndarray,
    num_classes: int,
    split_idx: tuple[np.ndarray, np.ndarray, np.ndarray],
    device: torch.device,
    hooks: Hooks,
    clock: Callable[[], float],
    feature_seconds: float,
    hit: bool,
) -> ProbeOutcome:
    """Logistic regression on frozen features (any backbone's: image or text), C chosen on validation."""
    train_idx, val_idx, test_idx = split_idx
    as_tensor = lambda idx: torch.as_tensor(features[idx], device=device)  # noqa: E731
    target = lambda idx: torch.as_tensor(labels[idx], device=device)  # noqa: E731
    history: list[EpochRecord] = []
    t_fit = clock()

    def record(c: float, val_accuracy: float) -> None:
        history.append(EpochRecord(1.0, len(history) + 1, None, val_accuracy, round(clock() - t_fit, 3)))
        hooks.progress(
            TrialState(config, "train", len(history), len(LOGISTIC_C_GRID), 1.0, last_val_accuracy=val_accuracy)
        )

    fit = fit_probe(
        as_tensor(train_idx), target(train_idx), as_tensor(val_idx), target(val_idx), num_classes,
        LOGISTIC_C_GRID, on_fit=record, progress=hooks.stop_if_asked,
    )  # fmt: skip
    fit_seconds = clock() - t_fit
    predictions = fit.predict(as_tensor(test_idx))
    return ProbeOutcome(
        predictions, fit.val_accuracy, len(LOGISTIC_C_GRID), feature_seconds, fit_seconds, hit, tuple(history)
    )
