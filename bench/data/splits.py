"""Seeded stratified train/validation/test splits, shared by every arm and seed, and training subsamples."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from bench.errors import ConfigError

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


def split_counts(class_sizes: np.ndarray) -> dict[str, int]:
    """The train/val/test sizes :func:`make_splits` gives for classes of these sizes (no shuffling needed).

    >>> split_counts(np.array([3000, 3000]))
    {'train': 4500, 'val': 500, 'test': 1000}
    """
    sizes = np.asarray(class_sizes, dtype=np.int64)
    n = int(sizes.sum())
    test_fraction = min(TEST_FRACTION, MAX_TEST / n)
    val_fraction = min(VAL_FRACTION, MAX_VAL / n)
    n_test = np.minimum(sizes - 1, np.maximum(1, np.round(sizes * test_fraction).astype(np.int64)))
    n_val = np.minimum(sizes - 1 - n_test, np.maximum(1, np.round(sizes * val_fraction).astype(np.int64)))
    n_val = np.maximum(n_val, 0)
    return {"train": int((sizes - n_test - n_val).sum()), "val": int(n_val.sum()), "test": int(n_test.sum())}


def files_needed(class_sizes: np.ndarray, train_limit: int) -> np.ndarray:
    """Per-class counts of a stratified subset that is enough for ``train_limit`` training examples.

    The subset keeps the held-out sets the whole dataset would give: at least
    ``MAX_TEST / TEST_FRACTION`` files (5,000), where both caps are reached, or every file
    when there are fewer. Above that, just enough for ``train_limit`` training examples
    once :func:`make_splits` has held out validation and test. Every class keeps at least
    3 files (one each for train, validation and test) where it has them.

    >>> files_needed(np.array([30_000, 20_000]), 200).tolist()
    [3000, 2000]
    >>> files_needed(np.array([30, 20]), 10).tolist()
    [30, 20]
    """
    sizes = np.asarray(class_sizes, dtype=np.int64)
    total = int(sizes.sum())
    floor = math.ceil(max(MAX_TEST / TEST_FRACTION, MAX_VAL / VAL_FRACTION))
    if total <= floor:
        return sizes.copy()
    low, high = floor, total  # smallest n whose allocation trains on >= train_limit examples
    while low < high:
        middle = (low + high) // 2
        if split_counts(allocate(sizes, middle, minimum=3))["train"] >= train_limit:
            high = middle
        else:
            low = middle + 1
    take = allocate(sizes, low, minimum=3)
    while split_counts(take)["train"] < train_limit and take.sum() < total:  # rounding: step up
        take = allocate(sizes, int(take.sum()) + 1, minimum=3)
    return take


def allocate(sizes: np.ndarray, count: int, minimum: int = 1) -> np.ndarray:
    """Proportional per-class counts summing to ``count`` (at least ``minimum`` per class where it has them)."""
    sizes = np.asarray(sizes, dtype=np.int64)
    exact = count * sizes / sizes.sum()
    take = np.minimum(sizes, np.maximum(minimum, np.floor(exact).astype(np.int64)))
    for index in np.argsort(-(exact - np.floor(exact))):
        if take.sum() >= count:
            break
        if take[index] < sizes[index]:
            take[index] += 1
    while take.sum() < count and (take < sizes).any():  # classes that could not take their share
        take[np.argmax(sizes - take)] += 1
    while take.sum() > count:  # the minimum overshot: trim the largest
        take[np.argmax(take)] -= 1
    return take


def subsample_train(splits: Splits, labels: np.ndarray, examples: int | None, seed: int) -> np.ndarray:
    """A stratified subset of ``examples`` training indices (all of them when None)."""
    pool = splits.train
    if examples is None or examples == len(pool):
        return pool
    num_classes = len(np.unique(labels[pool]))
    if examples > len(pool):
        raise ConfigError(
            "examples",
            f"more than the {len(pool):,} training examples available after holding out validation and test; "
            f"accepted: {num_classes}..{len(pool)}",
            given=str(examples),
        )
    if examples < num_classes:
        raise ConfigError(
            "examples",
            f"fewer than the {num_classes} classes; accepted: {num_classes}..{len(pool)}",
            given=str(examples),
        )
    return np.sort(_stratified_take(pool, labels[pool], examples, np.random.default_rng(seed)))


def _stratified_take(pool: np.ndarray, pool_labels: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    # Proportional allocation, at least one per class, remainder to the largest fractions.
    classes, sizes = np.unique(pool_labels, return_counts=True)
    take = allocate(sizes, count)
    chosen = [rng.permutation(pool[pool_labels == label])[:k] for label, k in zip(classes, take, strict=True)]
    return np.concatenate(chosen)
