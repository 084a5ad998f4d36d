"""SetFit's contrastive stage (Tunstall et al. 2022) for the ``setfit`` text arm: pairs, then the library's loss.

The pairs follow SetFit: in each of ``iterations`` passes, every training text is paired with one
text of its class (target 1) and one of another class (target 0). The loss is sentence-transformers'
own :class:`~sentence_transformers.losses.CosineSimilarityLoss` (the one SetFit trains with), on the
encoder's token batches; the learning rate follows the recipe's warm-up and cosine schedule
(:data:`advisor.recipes.SETFIT`). The head (logistic regression on the tuned embeddings) is the
probe's, fitted by the caller.

Why not the ``setfit`` package: setfit 1.2.0 requires ``sentence-transformers[train]`` (with
``datasets`` and ``accelerate``) and ``evaluate``, none of which the pinned install has; its loss is
this library's, so the numbers are SetFit's without the extra stack.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from advisor.recipes import ContrastiveRecipe
from bench.device import autocast
from bench.train.budget import next_step_overruns
from bench.train.callbacks import Hooks, TrialCancelled, TrialState
from bench.train.loop import lr_factor
from bench.train.text_tokens import Tokens


def contrastive_pairs(labels: np.ndarray, train_idx: np.ndarray, iterations: int, seed: int) -> tuple[np.ndarray, ...]:
    """(first, second, target) index arrays: per iteration, each text with one same-class and one other-class text.

    >>> a, b, y = contrastive_pairs(np.array([0, 0, 1, 1]), np.arange(4), 2, 0)
    >>> len(y), int(y.sum()), bool(((np.array([0, 0, 1, 1])[a] == np.array([0, 0, 1, 1])[b]) == (y == 1)).all())
    (16, 8, True)
    """
    rng = np.random.default_rng(seed)
    train_labels = labels[train_idx]
    same = {c: train_idx[train_labels == c] for c in np.unique(train_labels)}
    other = {c: train_idx[train_labels != c] for c in same}
    first, second, target = [], [], []
    for _ in range(iterations):
        for i in rng.permutation(train_idx):
            c = labels[i]
            first += [i, i]
            second += [rng.choice(same[c]), rng.choice(other[c]) if len(other[c]) else rng.choice(same[c])]
            target += [1.0, 0.0 if len(other[c]) else 1.0]
    order = rng.permutation(len(first))
    return np.array(first)[order], np.array(second)[order], np.array(target, dtype=np.float32)[order]


@dataclass(frozen=True)
class ContrastiveOutcome:
    steps: int
    iterations: float  # passes over the training texts' pairs (an epoch of SetFit's pairs)
    seconds: float
    sentences: int  # texts through the encoder (two per pair)
    first_step_seconds: float = 0.0  # the warm-up step, inside ``seconds``
    slowest_step_seconds: float = 0.0  # the slowest step after it


def train_contrastive(
    model, tokens: Tokens, labels: np.ndarray, train_idx: np.ndarray, recipe: ContrastiveRecipe, seed: int,
    seconds: float | None, device: torch.device, hooks: Hooks, state: TrialState, clock: Callable[[], float],
    max_steps: int | None = None,
) -> ContrastiveOutcome:  # fmt: skip
    """Train ``model`` (a SentenceTransformer, in place) on SetFit's pairs for ``seconds`` (None: every pair),
    or ``max_steps`` steps (the plan's probe times a few).

    The budget is kept as every budgeted loop keeps it (bench.train.budget.next_step_overruns): no step starts
    that, at the pace after the warm-up step, would end past ``seconds``.
    """
    from sentence_transformers.sentence_transformer.losses import CosineSimilarityLoss  # deferred: heavy, text only

    first, second, target = contrastive_pairs(labels, train_idx, recipe.iterations, seed)
    per_iteration = 2 * len(train_idx)
    total = math.ceil(len(target) / recipe.batch_size)
    schedule = total  # the learning-rate schedule is the trial's, however few steps a probe takes
    if max_steps is not None:
        total = min(total, max_steps)
    loss_fn = CosineSimilarityLoss(model)
    hp = recipe.numbers
    # One fused kernel, as the text trainer: the per-tensor update of the 30,522 x 384 word embeddings dominates a CPU step.
    optimizer = torch.optim.AdamW(model.parameters(), lr=hp.lr_body, weight_decay=hp.weight_decay, fused=True)
    as_index = lambda values: torch.as_tensor(values, device=device)  # noqa: E731
    model.train()
    start, steps, seen = clock(), 0, 0
    now, first_step, slowest = start, 0.0, 0.0
    for step in range(total):
        if seconds is not None and next_step_overruns(now - start, first_step, steps, seconds):
            break
        if hooks.should_stop():
            raise TrialCancelled
        cut = slice(step * recipe.batch_size, (step + 1) * recipe.batch_size)
        features = []
        for side in (first[cut], second[cut]):
            ids, mask = tokens.batch(as_index(side))
            features.append({"input_ids": ids, "attention_mask": mask})
        for group in optimizer.param_groups:
            group["lr"] = hp.lr_body * lr_factor(step, schedule, hp.warmup_fraction)
        with autocast(device):
            loss = loss_fn(features, torch.as_tensor(target[cut], device=device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        steps, seen = steps + 1, seen + len(target[cut])
        hooks.progress(TrialState(state.config, "train", steps, total, seen / per_iteration))
        previous, now = now, clock()
        if steps == 1:
            first_step = now - previous
        else:
            slowest = max(slowest, now - previous)
    model.eval()
    return ContrastiveOutcome(steps, round(seen / per_iteration, 3), now - start, 2 * seen, first_step, slowest)
