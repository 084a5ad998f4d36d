"""The text hybrid's first stage: unsupervised SimCSE (Gao et al. 2021) on the task's own unlabeled texts.

Each text is paired with itself and the encoder runs twice in training mode, so dropout gives the
two passes different embeddings; the batch's other texts are the negatives. The loss is
sentence-transformers' own :class:`~sentence_transformers.losses.MultipleNegativesRankingLoss`;
the numbers are :data:`advisor.recipes.SIMCSE`. The pool is the image hybrid's: the training
texts beyond the labeled subsample, labels hidden (:func:`bench.data.unlabeled.holdout_indices`).
The budget is kept as the image pretraining keeps it (bench.train.pretrain): no step starts that, at
the pace after the warm-up step (that step's own while it is the only one), would end past it
(:func:`bench.train.budget.next_step_overruns`, the guard of SetFit's pairs too).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from advisor.recipes import TextPretrainRecipe
from bench.device import autocast
from bench.train.budget import next_step_overruns
from bench.train.callbacks import Hooks, TrialCancelled, TrialState
from bench.train.text_tokens import Tokens


@dataclass(frozen=True)
class TextPretrainResult:
    steps: int
    seconds: float
    texts: int  # texts seen (each through the encoder twice)
    first_step_seconds: float = 0.0  # the warm-up step, inside ``seconds``


def simcse(
    model, tokens: Tokens, pool: np.ndarray, recipe: TextPretrainRecipe, seconds: float, seed: int,
    device: torch.device, hooks: Hooks, state: TrialState, clock: Callable[[], float], max_steps: int | None = None,
    batch_size: int | None = None,
) -> TextPretrainResult:  # fmt: skip
    """Pretrain ``model`` (a SentenceTransformer, in place) on the ``pool`` texts for ``seconds``
    (``batch_size`` texts a step; None: the recipe's)."""
    from sentence_transformers.sentence_transformer.losses import (  # deferred: heavy, text only
        MultipleNegativesRankingLoss,
    )

    loss_fn = MultipleNegativesRankingLoss(model)
    # One fused kernel, as the text trainer: the per-tensor update of the word embeddings dominates a CPU step.
    optimizer = torch.optim.AdamW(model.parameters(), lr=recipe.lr, fused=True)
    rng = np.random.default_rng(seed)
    batch = min(batch_size or recipe.batch_size, len(pool))
    model.train()  # dropout on: SimCSE's only augmentation
    start, steps, order = clock(), 0, np.array([], dtype=np.int64)
    now, first_step = start, 0.0
    while now - start < seconds and (max_steps is None or steps < max_steps):
        if hooks.should_stop():
            raise TrialCancelled
        if len(order) < batch:
            order = np.concatenate([order, rng.permutation(pool)])
        index, order = torch.as_tensor(order[:batch], device=device), order[batch:]
        ids, mask = tokens.batch(index)
        with autocast(device):
            features = [{"input_ids": ids, "attention_mask": mask} for _ in range(2)]
            loss = loss_fn(features, torch.zeros(batch, device=device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        steps += 1
        hooks.progress(TrialState(state.config, "pretrain", steps))
        previous, now = now, clock()
        if steps == 1:
            first_step = now - previous
        if next_step_overruns(now - start, first_step, steps, seconds):
            break
    model.eval()
    return TextPretrainResult(steps, now - start, steps * batch, first_step)
