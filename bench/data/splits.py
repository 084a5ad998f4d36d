"""Seeded stratified train/validation/test splits, shared by every arm and seed, and training subsamples."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bench.errors import BenchInputError

# Held-out fractions, capped so that big datasets do not spend minutes on evaluation.
# 1,000 test images give a standard error of ~1.3 points on accuracy; more buys little.
TEST_FRACTION, MAX_TEST = 0.2, 1000
VAL_FRACTION, MAX_VAL = 0.15, 500


@dataclass(frozen=True)
class Splits:
    """Index arrays into the dataset; the same ``split_seed`` gives the same splits."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    seed: int = 0
    counts: dict[str, int] = field(default_factory=dict)


def make_splits(labels: np.ndarray, seed: int = 0) -> Splits:
    """Seeded stratified train/validation/test split (per class; every class keeps >= 1 training example)."""
    rng = np.random.default_rng(seed)
    n = len(labels)
    test_fraction = min(TEST_FRACTION, MAX_TEST / n)
    val_fraction = min(VAL_FRACTION, MAX_VAL / n)
    train, val, test = [], [], []
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        count = len(members)
        n_test = min(count - 1, max(1, round(count * test_fraction)))
        n_val = min(count - 1 - n_test, max(1, round(count * val_fraction)))
        test.append(members[:n_test])
        val.append(members[n_test : n_test + n_val])
        train.append(members[n_test + n_val :])
    parts = [np.sort(np.concatenate(p)).astype(np.int64) for p in (train, val, test)]
    return Splits(*parts, seed=seed, counts={"train": len(parts[0]), "val": len(parts[1]), "test": len(parts[2])})


def subsample_train(splits: Splits, labels: np.ndarray, examples: int | None, seed: int) -> np.ndarray:
    """A stratified subset of ``examples`` training indices (all of them when None)."""
    pool = splits.train
    if examples is None or examples == len(pool):
        return pool
    num_classes = len(np.unique(labels[pool]))
    if examples > len(pool):
        raise BenchInputError(
            f"--examples {examples}: more than the {len(pool):,} training examples available after holding out "
            f"validation and test; accepted: {num_classes}..{len(pool)}"
        )
    if examples < num_classes:
        raise BenchInputError(
            f"--examples {examples}: fewer than the {num_classes} classes; accepted: {num_classes}..{len(pool)}"
        )
    return np.sort(_stratified_take(pool, labels[pool], examples, np.random.default_rng(seed)))


def _stratified_take(pool: np.ndarray, pool_labels: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    # Proportional allocation, at least one per class, remainder to the largest fractions.
    classes, sizes = np.unique(pool_labels, return_counts=True)
    exact = count * sizes / sizes.sum()
    take = np.minimum(sizes, np.maximum(1, np.floor(exact).astype(int)))
    for index in np.argsort(-(exact - np.floor(exact))):
        if take.sum() >= count:
            break
        if take[index] < sizes[index]:
            take[index] += 1
    while take.sum() > count:  # the "at least one" floor overshot: trim the largest
        take[np.argmax(take)] -= 1
    chosen = [rng.permutation(pool[pool_labels == label])[:k] for label, k in zip(classes, take, strict=True)]
    return np.concatenate(chosen)
