"""The text arms of ``run_trial``: the same arms, splits, budget, health and result as the image arms.

:func:`bench.train.trial.run_trial` sends a trial here when its dataset is text. What differs
from images is only what a batch is and which model is built:

* ``linear_probe``: the encoder's own sentence embeddings (``SentenceTransformer.encode``,
  cached on disk per dataset, encoder and length), then the image arms' probe
  (:func:`bench.train.probe.fit_probe`: logistic regression, C chosen on validation);
* ``partial_finetune`` / ``full_finetune``: the encoder's transformer, mean pooling and a new
  head, trained by the image arms' loop (:class:`bench.train.loop.GradientTrainer`: the
  recipe's parameter groups, warm-up and cosine schedule, budget planner, early stopping)
  on token batches padded to their own length and ordered by length in seeded buckets;
  the recipe numbers are the text presets (:data:`advisor.recipes.TEXT_HYPERPARAMETERS`);
* ``setfit``: SetFit's contrastive pairs tune a copy of the encoder (sentence-transformers'
  CosineSimilarityLoss; :mod:`bench.train.text_setfit`), then the probe's logistic regression
  on its embeddings (:data:`advisor.recipes.SETFIT`: the few-shot full fine-tune recipe); the pairs,
  the encoding of the texts the head needs and the head's fits all inside the budget, the encoding
  reported apart from training (``time_features_s``) as the probe's is;
* ``scratch``: the registry's compact text model (hashed n-gram bag) from random init, with
  a TF-IDF + logistic-regression baseline (scikit-learn) fitted on the same training texts and
  reported beside it (``baseline_accuracy``);
* ``scratch_same_arch``: the encoder's architecture from random initialisation;
* ``hybrid``: unsupervised SimCSE on the training texts beyond the labeled ones, labels hidden
  (:mod:`bench.train.text_pretrain`; the budget split as the image hybrid's), then full fine-tuning.

Texts are tokenized once per (dataset, tokenizer, length) and kept in the trial cache.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from advisor.recipes import SETFIT, SIMCSE, Hyperparameters, hyperparameters_for
from advisor.vocabulary import Modality, Trainable
from bench.data.splits import make_splits, subsample_train
from bench.data.text_data import TextData
from bench.data.unlabeled import holdout_indices
from bench.device import autocast
from bench.models.text_backbones import TextBackboneSpec, encoder_classifier, get_text_backbone
from bench.train.arms import ArmSpec
from bench.train.cache import TrialCache
from bench.train.callbacks import Hooks, TrialState, call_checking
from bench.train.config import TrialConfig
from bench.train.loop import GradientTrainer, lr_factor, stop_inside_steps
from bench.train.probe import fit_on_features
from bench.train.result import TrialResult
from bench.train.text_pretrain import simcse
from bench.train.text_setfit import train_contrastive
from bench.train.text_tokens import Tokens, bucketed_order, encoder_tokens, hashed_ngrams
from bench.vocabulary import Architecture, ArmFamily

ENCODE_BATCH = 64
TFIDF_C_GRID = (0.1, 1.0, 10.0, 100.0)


@dataclass(frozen=True)
class _BlockView:
    """What :func:`bench.train.loop.parameter_groups` asks of a spec: the head's path and the body blocks."""

    classifier: str

    def body_blocks(self, model: nn.Module) -> list[nn.Module]:
        return model.body_blocks()


def text_hyperparameters(arm: ArmSpec) -> Hyperparameters:
    return SETFIT.numbers if arm.contrastive else hyperparameters_for(arm.strategy, Modality.TEXT)


def text_spec(config: TrialConfig, arm: ArmSpec) -> TextBackboneSpec:
    scratch_model = arm.architecture == Architecture.SCRATCH
    return get_text_backbone(config.text_scratch_backbone if scratch_model else config.text_backbone)


# ---- what trials share: the dataset, the encoder, tokens, embeddings -------------------------


def _shared(cache: TrialCache) -> dict:
    return cache.extra.setdefault("text", {})


def text_dataset(cache: TrialCache, config: TrialConfig) -> TextData:
    return cache.dataset(config.dataset, config.image_size, text_columns=(config.text_column, config.label_column))


def encoder(cache: TrialCache, spec: TextBackboneSpec):
    shared = _shared(cache)
    key = ("encoder", spec.name)
    if key not in shared:
        shared[key] = spec.load_encoder()  # type: ignore[misc]
    else:
        cache.hits["model"] += 1
    return shared[key]


def tokens_for(cache: TrialCache, data: TextData, spec: TextBackboneSpec, config: TrialConfig, device) -> Tokens:
    """The dataset's token ids for this model, computed once per (dataset, model, length, device)."""
    length = min(config.max_tokens, spec.max_seq_length)
    key = ("tokens", data.fingerprint, spec.name, length, str(device))
    shared = _shared(cache)
    if key in shared:
        cache.hits["staged"] += 1
        return shared[key]
    if spec.has_pretrained:
        tokens = encoder_tokens(encoder(cache, spec).tokenizer, data.texts, length)
    else:
        model = spec.build_scratch(2)  # type: ignore[misc]
        tokens = hashed_ngrams(data.texts, model.buckets, length)
    shared[key] = tokens.to(device)
    return shared[key]


def embeddings(
    cache: TrialCache,
    data: TextData,
    spec: TextBackboneSpec,
    config: TrialConfig,
    needed: np.ndarray,
    progress: Callable[[], None] = lambda: None,
    stop_if_asked: Callable[[], None] = lambda: None,
) -> tuple[np.ndarray, bool]:
    """Sentence embeddings by the encoder's own ``encode`` (N x D; rows outside ``needed`` may be unset), and
    whether all were cached. Each text is encoded at most once per encoder and length; the store is on disk.
    ``progress`` is called after every ``ENCODE_BATCH`` texts; it may raise to cancel (nothing is stored then).
    ``stop_if_asked`` is asked while the encoder loads (one call), and may raise to cancel too.
    """
    length = min(config.max_tokens, spec.max_seq_length)

    def encode(missing: np.ndarray) -> np.ndarray:
        model = call_checking(lambda: encoder(cache, spec), stop_if_asked)  # loading it is one call
        progress()
        return encode_texts(model, [data.texts[i] for i in missing], length, progress)

    return cache.stored_rows(f"{data.fingerprint}-{spec.name}-t{length}", len(data), needed, encode)


def encode_texts(model, texts: list[str], length: int, progress: Callable[[], None] = lambda: None) -> np.ndarray:
    """``texts`` through ``model``'s own ``encode`` at ``length`` tokens (len(texts) x D), for the probe and SetFit.

    One encode call per ENCODE_BATCH texts, so that ``progress`` (which may raise to cancel) runs between batches;
    longest first, as encode itself orders a whole list, so that each batch pads to similar lengths.
    """
    previous, model.max_seq_length = model.max_seq_length, length
    try:
        order = sorted(range(len(texts)), key=lambda k: -len(texts[k]))
        encoded = np.zeros((len(texts), 0), np.float32)
        for start in range(0, len(order), ENCODE_BATCH):
            rows = order[start : start + ENCODE_BATCH]
            part = model.encode([texts[k] for k in rows], batch_size=ENCODE_BATCH, convert_to_numpy=True,
                                show_progress_bar=False)  # fmt: skip
            if encoded.shape[1] == 0:
                encoded = np.zeros((len(texts), part.shape[1]), np.float32)
            encoded[rows] = part
            progress()
    finally:
        model.max_seq_length = previous
    return encoded


# ---- the trainer: the image arms' loop on token batches ----------------------------------------


class TextTrainer(GradientTrainer):
    """:class:`GradientTrainer` with token batches (padded per batch, bucketed by length) in place of images."""

    def __init__(self, config, hp, model, tokens: Tokens, labels, device, hooks, clock):
        super().__init__(config, hp, _BlockView("head"), model, None, labels, False, device, hooks, clock)
        self.tokens = tokens
        # The recipe's AdamW as one fused kernel: text models are mostly embedding tables (MiniLM's 30,522 x 384
        # word embeddings, the n-gram bag's 32,768 x 64), and the per-tensor update was 4-5x slower on a CPU.
        groups = [{key: group[key] for key in ("params", "lr", "name")} for group in self.optimizer.param_groups]
        self.optimizer = torch.optim.AdamW(groups, weight_decay=hp.weight_decay, fused=True)

    def _step(self, batch_idx: torch.Tensor, step: int, total: int) -> torch.Tensor:
        ids, mask = self.tokens.batch(batch_idx)
        y = self.labels[batch_idx]
        factor = lr_factor(step, total, self.hp.warmup_fraction)
        for group, base_lr in zip(self.optimizer.param_groups, self.base_lrs, strict=True):
            group["lr"] = base_lr * factor
        with autocast(self.device):
            loss = F.cross_entropy(self.model(ids, mask), y, label_smoothing=self.label_smoothing)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return loss.detach()

    def _step_cost(self, batch_idx: torch.Tensor) -> float:
        """Padded tokens: a batch is cut to its longest text, so a batch of long texts took 3-5x the mean step
        (seen: a 6.8 s step after steps of about 2 s, on a 10 s budget)."""
        return float(len(batch_idx) * int(self.tokens.lengths[batch_idx].max())) if len(batch_idx) else 0.0

    def _epoch_order(self, train: torch.Tensor) -> torch.Tensor:
        return bucketed_order(train, self.tokens.lengths, self.config.batch_size, self.generator)

    @torch.inference_mode()
    def _predict(self, indices: np.ndarray, phase: str = "eval") -> torch.Tensor:
        self.model.eval()
        index = torch.as_tensor(indices, device=self.device)
        order = torch.argsort(self.tokens.lengths[index], stable=True)  # similar lengths together: less padding
        predicted = torch.empty(len(index), dtype=torch.int64, device=self.device)
        for chunk in order.split(ENCODE_BATCH):
            ids, mask = self.tokens.batch(index[chunk])
            with autocast(self.device):
                predicted[chunk] = self.model(ids, mask).float().argmax(1)
            self.hooks.progress(TrialState(self.config, phase))
        return predicted


# ---- the trial ---------------------------------------------------------------------------------


def run_text(
    config: TrialConfig, arm: ArmSpec, device: torch.device, hooks: Hooks, cache: TrialCache, base: TrialResult,
    clock: Callable[[], float], finish: Callable[..., TrialResult], seed_everything: Callable[[int], None],
    examples_for: Callable[[TrialConfig, int], int | None], after_pretraining: Callable[..., tuple] | None = None,
) -> TrialResult:  # fmt: skip
    """One text trial. ``finish`` (test metrics and health), ``seed_everything``, ``examples_for`` (how many
    training examples) and ``after_pretraining`` (a hybrid's fine-tuning budget) are the image path's own,
    passed in so that both paths compute them once."""
    t0 = clock()
    data = text_dataset(cache, config)
    splits = make_splits(data.labels, config.split_seed)
    train_idx = subsample_train(splits, data.labels, examples_for(config, len(splits.train)), config.seed)
    spec = text_spec(config, arm)
    if arm.contrastive:
        base = replace(base, train_examples=len(train_idx), dataset_fingerprint=data.fingerprint,
                       time_data_s=clock() - t0)  # fmt: skip
        seed_everything(config.seed)
        return _setfit(config, spec, data, (train_idx, splits.val, splits.test), device, hooks, cache, base, clock,
                       finish)  # fmt: skip
    if text_hyperparameters(arm).trainable == Trainable.HEAD:
        base = replace(base, train_examples=len(train_idx), dataset_fingerprint=data.fingerprint,
                       time_data_s=clock() - t0)  # fmt: skip
        hooks.progress(TrialState(config, "data"))
        seed_everything(config.seed)
        return _probe(config, spec, data, (train_idx, splits.val, splits.test), device, hooks, cache, base, clock,
                      finish)  # fmt: skip
    hooks.progress(TrialState(config, "model"))
    if text_spec(config, arm).has_pretrained:  # the encoder's weights load in one call: asked for a stop meanwhile
        call_checking(lambda: encoder(cache, text_spec(config, arm)), hooks.stop_if_asked)
    training, tuned, unequal_time, pretrain_seconds = config, None, None, 0.0
    if arm.family == ArmFamily.HYBRID:
        seed_everything(config.seed)
        tuned, stage = _text_pretrain(config, data, splits, train_idx, spec, device, hooks, cache, clock)
        base = replace(base, time_pretrain_s=round(stage.seconds, 3), pretrain_steps=stage.steps,
                       pretrain_notes=stage.notes,
                       time_pretrain_first_step_s=round(stage.first_step_seconds, 3))  # fmt: skip
        training, unequal_time = after_pretraining(config, stage.seconds, stage.steps)  # type: ignore[misc]
        pretrain_seconds = stage.seconds
    data, splits, train_idx, trainer = _model_and_trainer(
        training, arm, device, cache, clock, hooks, examples_for, seed_everything, tuned
    )
    base = replace(base, train_examples=len(train_idx), dataset_fingerprint=data.fingerprint,
                   time_data_s=clock() - t0 - pretrain_seconds)  # fmt: skip
    hooks.progress(TrialState(config, "data"))
    with stop_inside_steps(trainer.model, hooks.stop_if_asked):
        outcome = trainer.run(train_idx, splits.val, splits.test)
    result = outcome.into(base, config.batch_size)
    if arm.architecture == Architecture.SCRATCH:
        baseline = tfidf_baseline(data, train_idx, splits.val, splits.test, hooks.stop_if_asked)
        result = replace(result, **baseline)
    return finish(result, outcome.predictions, splits.test, data.labels, gradient=True, unequal_time=unequal_time)


@dataclass(frozen=True)
class _TextPretrainStage:
    seconds: float
    steps: int
    notes: tuple[str, ...]
    first_step_seconds: float = 0.0  # the warm-up step, inside ``seconds``


def _text_pretrain(config, data, splits, train_idx, spec, device, hooks, cache, clock):
    """The text hybrid's first stage: SimCSE on a copy of the encoder over the training texts beyond the labeled
    ones (labels hidden), for its share of the budget (or ``pretrain_seconds``). Returns (the tuned copy, stage)."""
    import copy

    pool = holdout_indices(data.name, train_idx, splits, "texts")
    tokens = tokens_for(cache, data, spec, config, device)
    model = copy.deepcopy(encoder(cache, spec)).to(device)
    seconds = config.pretrain_seconds or config.pretrain_share * config.budget_seconds
    state = TrialState(config, "pretrain")
    hooks.progress(state)
    result = simcse(model, tokens, pool, SIMCSE, seconds, config.seed, device, hooks, state, clock,
                    batch_size=config.pretrain_batch_size)  # fmt: skip
    notes = (
        f"pretrained {result.steps} steps (SimCSE) on {len(pool):,} unlabeled texts: {data.name}: training split "
        "minus the labeled examples",
        f"{len(pool):,} training texts of {data.name} beyond the {len(train_idx):,} labeled, labels hidden",
    )
    return model, _TextPretrainStage(result.seconds, result.steps, notes, result.first_step_seconds)


def _model_and_trainer(config, arm, device, cache, clock, hooks, examples_for, seed_everything=torch.manual_seed,
                       tuned=None):  # fmt: skip
    """What a gradient text trial trains: the data, its splits and training subsample, and the trainer
    (``tuned``: the hybrid's encoder after its pretraining stage, in place of the packaged one)."""
    data = text_dataset(cache, config)
    splits = make_splits(data.labels, config.split_seed)
    train_idx = subsample_train(splits, data.labels, examples_for(config, len(splits.train)), config.seed)
    spec = text_spec(config, arm)
    tokens = tokens_for(cache, data, spec, config, device)
    seed_everything(config.seed)
    if arm.architecture == Architecture.SCRATCH:
        model = spec.build_scratch(data.num_classes)  # type: ignore[misc]
    else:
        body = tuned if tuned is not None else encoder(cache, spec)
        model = encoder_classifier(body, spec, data.num_classes, pretrained=arm.pretrained)
    labels = torch.as_tensor(data.labels, device=device)
    trainer = TextTrainer(config, text_hyperparameters(arm), model.to(device), tokens, labels, device, hooks, clock)
    return data, splits, train_idx, trainer


def measure_text_throughput(
    config, arm, device, cache, clock, steps: int, examples_for, hooks: Hooks | None = None
) -> tuple[float, int]:
    """(optimizer steps per second, steps per epoch) of a gradient text arm, from a few timed steps after warm-up;
    ``hooks``' stop request cancels it (TrialCancelled) while the encoder loads and inside the steps."""
    hooks = hooks or Hooks([])
    spec = text_spec(config, arm)
    if spec.has_pretrained and hooks.callbacks:  # the encoder's weights load in one call: asked for a stop meanwhile
        call_checking(lambda: encoder(cache, spec), hooks.stop_if_asked)
    _, _, train_idx, trainer = _model_and_trainer(config, arm, device, cache, clock, hooks, examples_for)
    order = trainer._epoch_order(torch.as_tensor(train_idx, device=device))
    batches = list(order.split(config.batch_size))
    trainer._set_train_mode()
    with stop_inside_steps(trainer.model, hooks.stop_if_asked):
        return trainer.timed_rate(batches, steps, clock), len(batches)


def measure_text_encode_rate(
    config: TrialConfig, cache: TrialCache, clock, sample: int, hooks: Hooks | None = None
) -> tuple[float, int]:
    """(texts per second through the encoder's own ``encode``, texts the probe encodes besides training: validation
    and test), from ``sample`` training texts after an untimed warm-up; nothing is stored. ``hooks``' stop request
    cancels it (TrialCancelled) while the encoder loads and inside its forward passes."""
    hooks = hooks or Hooks([])
    data = text_dataset(cache, config)
    splits = make_splits(data.labels, config.split_seed)
    spec = get_text_backbone(config.text_backbone)
    model = (
        call_checking(lambda: encoder(cache, spec), hooks.stop_if_asked) if hooks.callbacks else encoder(cache, spec)
    )
    texts = [data.texts[i] for i in splits.train[:sample]]
    previous, model.max_seq_length = model.max_seq_length, min(config.max_tokens, spec.max_seq_length)
    try:
        with stop_inside_steps(model, hooks.stop_if_asked):
            model.encode(texts[:8], batch_size=ENCODE_BATCH, show_progress_bar=False)  # warm-up, untimed
            start = clock()
            model.encode(texts, batch_size=ENCODE_BATCH, show_progress_bar=False)
            seconds = clock() - start
    finally:
        model.max_seq_length = previous
    return len(texts) / max(seconds, 1e-9), len(splits.val) + len(splits.test)


def _probe(config, spec, data, split_idx, device, hooks, cache, base, clock, finish) -> TrialResult:
    train_idx, val_idx, test_idx = split_idx
    t_features = clock()
    features_seen = lambda: hooks.progress(TrialState(config, "features"))  # noqa: E731
    features_seen()
    needed = np.concatenate([train_idx, val_idx, test_idx])
    features, hit = embeddings(cache, data, spec, config, needed, features_seen, hooks.stop_if_asked)
    feature_seconds = clock() - t_features
    probe = fit_on_features(config, features, data.labels, data.num_classes, split_idx, device, hooks, clock,
                            feature_seconds, hit)  # fmt: skip
    return finish(probe.into(base, len(train_idx)), probe.predictions, test_idx, data.labels, gradient=False)


def _setfit(config, spec, data, split_idx, device, hooks, cache, base, clock, finish) -> TrialResult:
    """SetFit: contrastive pairs tune a copy of the encoder (bench.train.text_setfit), then the probe's logistic
    regression on its embeddings.

    The budget pays for all three stages and is kept as every budgeted arm keeps it: encoding the texts the head
    needs (training, validation, test) is timed on a sample by the untuned copy first (:func:`setfit_reserve`), the
    head's fits get SETFIT_FIT_SECONDS, and the pairs get the rest, no pair step starting that would end past it.
    When the encoding alone cannot fit, the pairs get no step and the trial's health says so (0 optimizer steps in
    the budget). Training seconds are the pairs' and the fits'; the encoding is reported apart
    (``time_features_s``), as the probe's feature extraction is.
    """
    import copy

    train_idx, val_idx, test_idx = split_idx
    tokens = tokens_for(cache, data, spec, config, device)
    model = copy.deepcopy(encoder(cache, spec)).to(device)
    length = min(config.max_tokens, spec.max_seq_length)
    needed = np.concatenate([train_idx, val_idx, test_idx])
    features_seen = lambda: hooks.progress(TrialState(config, "features"))  # noqa: E731
    pairs_seconds, sample_seconds = None, 0.0
    if config.budget_seconds is not None:
        reserved, sample_seconds = setfit_reserved(model, data, tokens, needed, length, clock, features_seen)
        pairs_seconds = max(0.0, config.budget_seconds - reserved)
    hooks.progress(TrialState(config, "train"))
    stage = train_contrastive(model, tokens, data.labels, train_idx, SETFIT, config.seed, pairs_seconds, device,
                              hooks, TrialState(config, "train"), clock)  # fmt: skip
    t_features = clock()
    features = np.zeros((len(data), spec.embedding_size), np.float32)
    features[needed] = encode_texts(model, [data.texts[i] for i in needed], length, features_seen)
    feature_seconds = sample_seconds + clock() - t_features
    probe = fit_on_features(config, features, data.labels, data.num_classes, split_idx, device, hooks, clock,
                            feature_seconds, False)  # fmt: skip
    result = replace(
        probe.into(base, len(train_idx)),
        steps=stage.steps,
        epochs_run=stage.iterations,
        time_train_s=round(stage.seconds + probe.fit_seconds, 3),
        time_features_s=round(feature_seconds, 3),
        time_first_step_s=round(stage.first_step_seconds, 3),
        time_slowest_step_s=round(stage.slowest_step_seconds, 3),
        images_per_second=round(stage.sentences / max(stage.seconds, 1e-9), 1),  # sentences/s through the pairs
        feature_cache_hit=None,
    )
    return finish(result, probe.predictions, test_idx, data.labels, gradient=True)


SETFIT_SAMPLE = ENCODE_BATCH  # one encode batch, by the untuned copy, times the encoding the head needs
SETFIT_WARMUP = 4  # encoded first, untimed for the rate: the first encode call pays for allocation
SETFIT_FIT_SECONDS = 0.5  # kept for the head's fits: 5 values of C by L-BFGS on a few hundred rows take well under


def setfit_reserved(model, data: TextData, tokens: Tokens, needed: np.ndarray, length: int,
                    clock: Callable[[], float], progress: Callable[[], None] = lambda: None) -> tuple[float, float]:  # fmt: skip
    """(the seconds a setfit trial keeps from its budget before any pair step, the part of them spent timing): the
    sample that times the head's encoding, the encoding it predicts (:func:`setfit_reserve`) and the head's fits.
    The trial and its plan's probe (:func:`measure_setfit_rate`) both reserve this."""
    start = clock()
    encode_seconds = setfit_reserve(model, data, tokens, needed, length, clock, progress)
    sample_seconds = clock() - start
    return sample_seconds + encode_seconds + SETFIT_FIT_SECONDS, sample_seconds


def setfit_reserve(model, data: TextData, tokens: Tokens, needed: np.ndarray, length: int,
                   clock: Callable[[], float], progress: Callable[[], None] = lambda: None) -> float:  # fmt: skip
    """The seconds ``model`` will take to encode every ``needed`` text: a sample (SETFIT_SAMPLE texts spread over
    ``needed``, after SETFIT_WARMUP untimed for the rate) timed by ``clock``, scaled by token count (each encode
    batch pads to its own longest text, so the time follows the tokens, not the texts)."""
    warmup = needed[: min(SETFIT_WARMUP, len(needed))]
    encode_texts(model, [data.texts[i] for i in warmup], length, progress)
    sample = needed[np.linspace(0, len(needed) - 1, min(SETFIT_SAMPLE, len(needed))).astype(int)]
    start = clock()
    encode_texts(model, [data.texts[i] for i in sample], length, progress)
    seconds = clock() - start
    lengths = tokens.lengths.cpu().numpy()
    return seconds * float(lengths[needed].sum()) / max(float(lengths[sample].sum()), 1.0)


SETFIT_PROBE_STEPS = 4  # the plan's probe: SetFit's own pair steps, the first (warm-up) untimed


@dataclass(frozen=True)
class SetFitRate:
    """The setfit arm as its plan needs it, measured on the trial's own path (not a fine-tune's steps)."""

    pairs_per_second: float  # contrastive pairs per second, after the warm-up step
    reserved_seconds: float  # the budget's part that is not pair steps: encoding the head's texts, its fits
    examples: int  # the training texts the pairs are made of


def measure_setfit_rate(
    config: TrialConfig, arm: ArmSpec, device: torch.device, cache: TrialCache, clock: Callable[[], float],
    hooks: Hooks, examples_for: Callable[[TrialConfig, int], int | None],
) -> SetFitRate:  # fmt: skip
    """Time what a setfit trial spends its budget on, as :func:`_setfit` does: the encoding it reserves for the
    head (:func:`setfit_reserved`, as the trial reserves it) and SETFIT_PROBE_STEPS contrastive steps on a copy of the
    encoder (thrown away). ``hooks``' stop request cancels it inside the steps (TrialCancelled)."""
    import copy

    data = text_dataset(cache, config)
    splits = make_splits(data.labels, config.split_seed)
    train_idx = subsample_train(splits, data.labels, examples_for(config, len(splits.train)), config.seed)
    spec = text_spec(config, arm)
    tokens = tokens_for(cache, data, spec, config, device)
    loaded = (
        call_checking(lambda: encoder(cache, spec), hooks.stop_if_asked) if hooks.callbacks else encoder(cache, spec)
    )
    model = copy.deepcopy(loaded).to(device)
    length = min(config.max_tokens, spec.max_seq_length)
    features_seen = lambda: hooks.progress(TrialState(config, "features"))  # noqa: E731  (as the trial: may cancel)
    needed = np.concatenate([train_idx, splits.val, splits.test])
    reserved, _ = setfit_reserved(model, data, tokens, needed, length, clock, features_seen)
    hooks.progress(TrialState(config, "train"))  # the pairs start, as in the trial
    stage = train_contrastive(model, tokens, data.labels, train_idx, SETFIT, config.seed, None, device, hooks,
                              TrialState(config, "train"), clock, max_steps=SETFIT_PROBE_STEPS)  # fmt: skip
    timed_steps, timed = stage.steps - 1, stage.seconds - stage.first_step_seconds
    if timed_steps < 1 or timed <= 0:  # fewer pairs than one step after the warm-up: that step is the rate
        timed_steps, timed = max(stage.steps, 1), max(stage.seconds, 1e-9)
    return SetFitRate(timed_steps * SETFIT.batch_size / timed, reserved, len(train_idx))


def tfidf_baseline(
    data: TextData,
    train_idx: np.ndarray,
    val_idx: np.ndarray,
    test_idx: np.ndarray,
    progress: Callable[[], None] = lambda: None,
) -> dict:
    """The classical baseline beside the scratch arm: TF-IDF word 1-2-grams + logistic regression (C on validation).

    Returns the result fields it fills: ``baseline_accuracy`` (test) and ``baseline`` (what it was).
    ``progress`` is called before every fit (it may raise to cancel).
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    texts = np.array(data.texts, dtype=object)
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1, token_pattern=r"(?u)\b\w+\b|[^\w\s]")
    x_train = vectorizer.fit_transform(texts[train_idx])
    x_val, x_test = vectorizer.transform(texts[val_idx]), vectorizer.transform(texts[test_idx])
    best = None
    for c in TFIDF_C_GRID:
        progress()
        model = LogisticRegression(C=c, max_iter=1000).fit(x_train, data.labels[train_idx])
        score = float((model.predict(x_val) == data.labels[val_idx]).mean())
        if best is None or score > best[0]:
            best = (score, c, model)
    _, c, model = best
    accuracy = float((model.predict(x_test) == data.labels[test_idx]).mean())
    return {
        "baseline_accuracy": round(accuracy, 5),
        "baseline": f"TF-IDF word 1-2-grams + logistic regression (scikit-learn, C={c:g} on validation)",
    }
