"""Training recipes: one named preset per strategy, with the schedule sized to the profile.

A recipe is data. The presets say what to freeze, the learning rates, the schedule, how to
treat batch norm, regularisation, augmentation, early stopping and what to measure; only
the epoch count and the backbone suggestion depend on the profile.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from advisor.profile import Profile
from advisor.rules import SMALL_INPUT_SIDE
from advisor.vocabulary import Compute, Modality, Similarity, StrategyName, Trainable


@dataclass(frozen=True)
class Hyperparameters:
    """The numbers of a recipe: the benchmark's arms train with exactly these (one source of truth).

    The schedule's length is scaled to a validation run's budget; everything else is as written.
    """

    optimizer: str  # "adamw", or "lbfgs" for the closed-form linear probe
    trainable: Trainable  # the head (frozen backbone), the top blocks and head, or all
    lr_head: float = 0.0
    lr_body: float = 0.0  # the top body block; lower blocks get lr_body * layer_decay ** depth
    layer_decay: float = 1.0  # discriminative learning rates: each block down trains at this factor
    weight_decay: float = 0.0
    label_smoothing: float = 0.1
    warmup_fraction: float = 0.05  # linear warm-up share of the schedule, then cosine decay to 0
    top_fraction: float = 1 / 3  # with trainable "top": the share of body blocks, from the top, that train
    # With trainable "top": compute the frozen blocks' outputs once per image and train the top on them
    # (bench.train.frozen_trunk). Per-step crops would change those outputs, so a cached recipe augments
    # with horizontal flips only (both views cached).
    cache_frozen: bool = False

    def describe_lr_body(self) -> str:
        if self.trainable == Trainable.HEAD:
            return "none (frozen)"
        if self.trainable == Trainable.ALL and self.lr_body == self.lr_head and self.layer_decay == 1.0:
            return "same as the head"
        text = f"{self.lr_body:g} for the {'unfrozen top blocks' if self.trainable == Trainable.TOP else 'top block'}"
        if self.layer_decay != 1.0:
            text += f", decayed {self.layer_decay:g}x per block going down (discriminative learning rates)"
        return text


# The presets' numbers. Learning rates are for AdamW at batch 64 on one device, the setting the
# benchmark measures; scale them linearly with the batch (Goyal et al. 2017).
HYPERPARAMETERS: dict[str, Hyperparameters] = {
    StrategyName.LINEAR_PROBE: Hyperparameters("lbfgs", Trainable.HEAD, label_smoothing=0.0, warmup_fraction=0.0),
    StrategyName.PARTIAL_FINETUNE: Hyperparameters(
        "adamw", Trainable.TOP, lr_head=5e-3, lr_body=5e-4, weight_decay=0.01, cache_frozen=True
    ),
    StrategyName.FULL_FINETUNE: Hyperparameters(
        "adamw", Trainable.ALL, lr_head=5e-3, lr_body=5e-4, layer_decay=0.7, weight_decay=0.05
    ),
    StrategyName.SCRATCH: Hyperparameters("adamw", Trainable.ALL, lr_head=3e-3, lr_body=3e-3, weight_decay=5e-4),
    StrategyName.HYBRID: Hyperparameters(
        "adamw", Trainable.ALL, lr_head=5e-3, lr_body=5e-4, layer_decay=0.7, weight_decay=0.05
    ),
}

# Text (modality "text"): a pretrained transformer encoder fine-tunes at ~1e-4 at the top layer
# (BERT-style recipes use 2e-5..1e-4; a 6-layer MiniLM tolerates the upper end, which a short CPU
# budget needs), a few times lower going down; the head of a new classifier learns faster. The
# from-scratch text model is a bag of hashed n-gram embeddings (fastText), which wants a high rate.
TEXT_HYPERPARAMETERS: dict[str, Hyperparameters] = {
    StrategyName.LINEAR_PROBE: HYPERPARAMETERS[StrategyName.LINEAR_PROBE],
    StrategyName.PARTIAL_FINETUNE: Hyperparameters(
        "adamw", Trainable.TOP, lr_head=2e-3, lr_body=1e-4, weight_decay=0.01, label_smoothing=0.0
    ),
    StrategyName.FULL_FINETUNE: Hyperparameters(
        "adamw", Trainable.ALL, lr_head=2e-3, lr_body=1e-4, layer_decay=0.8, weight_decay=0.01, label_smoothing=0.0
    ),
    StrategyName.SCRATCH: Hyperparameters(
        "adamw", Trainable.ALL, lr_head=1e-2, lr_body=1e-2, weight_decay=0.0, label_smoothing=0.0
    ),
    StrategyName.HYBRID: Hyperparameters(
        "adamw", Trainable.ALL, lr_head=2e-3, lr_body=1e-4, layer_decay=0.8, weight_decay=0.01, label_smoothing=0.0
    ),
}


@dataclass(frozen=True)
class ContrastiveRecipe:
    """SetFit (Tunstall et al. 2022): fine-tune a sentence encoder on pairs of labeled texts (same class: 1,
    other class: 0) with a cosine-similarity loss, then fit logistic regression on its embeddings.

    Made for few labels per class, where a new softmax head on a fine-tuned encoder overfits.
    The benchmark's ``setfit`` arm trains with exactly these numbers (sentence-transformers' loss).
    """

    numbers: Hyperparameters  # AdamW on the whole encoder: its learning rate, warm-up and weight decay
    iterations: int  # SetFit's num_iterations: per iteration, each text gets one same-class and one other-class pair
    loss: str  # the sentence-transformers loss class the pairs train with
    batch_size: int  # pairs per step

    def describe(self) -> str:
        n = self.numbers
        return (
            f"With few labels per class (at most {FEW_SHOT_PER_CLASS}), fine-tune contrastively as SetFit does "
            f"(Tunstall et al. 2022; the benchmark's setfit arm): {self.iterations} iterations over the training "
            f"texts, each pairing every text with one text of its class (target 1) and one of another (target 0); "
            f"sentence-transformers' {self.loss}, {self.batch_size} pairs a step, AdamW at {n.lr_body:g} with "
            f"{n.warmup_fraction:.0%} linear warm-up then cosine decay, weight decay {n.weight_decay:g}; then "
            "logistic regression on the tuned embeddings, C chosen on the validation split."
        )


FEW_SHOT_PER_CLASS = 64  # SetFit's regime: 8-64 labels per class, where it matches full fine-tuning on thousands
SETFIT = ContrastiveRecipe(
    Hyperparameters("adamw", Trainable.ALL, lr_body=2e-5, weight_decay=0.01, label_smoothing=0.0, warmup_fraction=0.1),
    iterations=20,
    loss="CosineSimilarityLoss",
    batch_size=16,
)


@dataclass(frozen=True)
class TextPretrainRecipe:
    """The text hybrid's first stage: unsupervised SimCSE (Gao et al. 2021) on the task's unlabeled texts.

    Each text is paired with itself; dropout makes the two passes differ, and the other texts of the
    batch are the negatives (sentence-transformers' MultipleNegativesRankingLoss).
    """

    lr: float
    batch_size: int
    loss: str

    def describe(self) -> str:
        return (
            f"stage 1: unsupervised SimCSE on the unlabeled texts (each text paired with itself, dropout as the "
            f"augmentation, the batch's other texts as negatives; sentence-transformers' {self.loss}), AdamW at "
            f"{self.lr:g}, {self.batch_size} texts a step"
        )


SIMCSE = TextPretrainRecipe(lr=3e-5, batch_size=32, loss="MultipleNegativesRankingLoss")


def few_shot(labeled_examples: int, num_classes: int) -> bool:
    """SetFit's regime: at most FEW_SHOT_PER_CLASS labels per class.

    >>> few_shot(8 * 16, 8), few_shot(10_000, 4)
    (True, False)
    """
    return labeled_examples <= FEW_SHOT_PER_CLASS * max(1, num_classes)


def hyperparameters_for(strategy: str, modality: Modality = Modality.IMAGE) -> Hyperparameters:
    """The numbers of a strategy's recipe for a modality (text has its own; every other uses the image ones).

    >>> hyperparameters_for("full_finetune", Modality.TEXT).lr_body
    0.0001
    """
    table = TEXT_HYPERPARAMETERS if modality == Modality.TEXT else HYPERPARAMETERS
    return table[strategy]


@dataclass(frozen=True)
class Recipe:
    strategy: str
    backbone: str
    freeze: str
    lr_body: str
    lr_head: str
    optimizer: str
    schedule: str
    epochs: int
    batch_norm: str
    regularisation: str
    augmentation: str
    early_stopping: str
    measure: str
    notes: tuple[str, ...] = ()
    # The numbers behind the words; the benchmark's arm for this strategy trains with them.
    hyperparameters: Hyperparameters | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# Fine-tuning schedules are short; scratch needs about 3x as long (He et al. 2019).
SCRATCH_SCHEDULE_FACTOR = 3

_PRESETS: dict[str, Recipe] = {
    "linear_probe": Recipe(
        strategy="linear_probe",
        backbone="",
        freeze="the whole backbone; extract pooled features once and cache them",
        lr_body="none (frozen)",
        lr_head="L2-regularised logistic regression (L-BFGS); pick C on the validation split from 1e-3..1e1",
        optimizer="L-BFGS on cached features",
        schedule="solve to convergence (max 1000 iterations)",
        epochs=1,
        batch_norm="backbone in eval mode: keep the pretrained running statistics",
        regularisation="L2 on the head, strength chosen on validation; standardise the features first",
        augmentation="none (features are cached); use a centre crop at the backbone's input size",
        early_stopping="not needed: a convex problem",
        measure="validation accuracy vs C; test accuracy and macro-F1 once, at the chosen C",
    ),
    "partial_finetune": Recipe(
        strategy="partial_finetune",
        backbone="",
        freeze="stem and the lower two thirds of the blocks; train the top blocks and a new head",
        lr_body="",
        lr_head="",
        optimizer="AdamW, weight decay {weight_decay}",
        schedule="1 epoch linear warm-up, then cosine decay to 0",
        epochs=20,
        batch_norm="frozen blocks in eval mode; unfrozen BN layers train if the batch is >= 16, else keep "
        "their running statistics fixed",
        regularisation="weight decay {weight_decay}, label smoothing {label_smoothing}",
        augmentation="random resized crop (scale 0.35-1) and horizontal flip where the labels allow it",
        early_stopping="on validation accuracy, patience 3 epochs; keep the best checkpoint",
        measure="validation accuracy per epoch; test accuracy and macro-F1 of the best checkpoint",
    ),
    "full_finetune": Recipe(
        strategy="full_finetune",
        backbone="",
        freeze="nothing; replace the classifier with a head sized to your classes",
        lr_body="",
        lr_head="",
        optimizer="AdamW, weight decay {weight_decay}",
        schedule="1 epoch linear warm-up, then cosine decay to 0",
        epochs=20,
        batch_norm="train BN if the batch is >= 16; for smaller batches freeze BN statistics (eval mode) "
        "or switch to GroupNorm",
        regularisation="weight decay {weight_decay}, label smoothing {label_smoothing}, stochastic depth 0.1 on deep models",
        augmentation="random resized crop and flip; add RandAugment or mixup when data exceeds ~10k images",
        early_stopping="on validation accuracy, patience 5 epochs; keep the best checkpoint",
        measure="validation accuracy per epoch; test accuracy, macro-F1 and time to target accuracy",
    ),
    "scratch": Recipe(
        strategy="scratch",
        backbone="",
        freeze="nothing; random initialisation (Kaiming), architecture sized to the data",
        lr_body="",
        lr_head="",
        optimizer="AdamW, weight decay {weight_decay} (for ResNet-50-class models at ImageNet scale, SGD with Nesterov "
        "momentum at 0.1 x batch/256 is the standard alternative)",
        schedule="short linear warm-up, then cosine decay to 0; about 3x the fine-tuning schedule",
        epochs=60,
        batch_norm="BN with batches >= 32; GroupNorm when memory forces small batches (He et al.)",
        regularisation="weight decay {weight_decay}, label smoothing {label_smoothing}; dropout before the head on small data",
        augmentation="strong: random crop and flip, RandAugment, mixup or cutmix",
        early_stopping="on validation accuracy, patience 10 epochs (scratch curves plateau and climb again)",
        measure="validation accuracy per epoch against the fine-tuned baseline at equal wall-clock time",
    ),
    "hybrid": Recipe(
        strategy="hybrid",
        backbone="",
        freeze="stage 1: nothing (pretraining); stage 2: as for full fine-tuning",
        lr_body="",
        lr_head="",
        optimizer="stage 1: LARS or AdamW as the method prescribes; stage 2: AdamW",
        schedule="stage 1 on the unlabeled pool (start from the pretrained weights when available); "
        "stage 2 cosine with warm-up",
        epochs=20,
        batch_norm="stage 1 needs large batches (>= 256) or SyncBN; stage 2 as for full fine-tuning",
        regularisation="stage 2: weight decay {weight_decay}, label smoothing {label_smoothing}",
        augmentation="stage 1: the SSL method's views; stage 2: random resized crop and flip",
        early_stopping="stage 2 on validation accuracy, patience 5 epochs",
        measure="linear-probe accuracy after stage 1 vs before it (did pretraining help?), then as for full "
        "fine-tuning",
    ),
}


# What a recipe with ``cache_frozen`` says; bench.train.frozen_trunk is what runs.
CACHED_TRUNK = (
    "compute the frozen blocks' outputs once per image (eval mode: pretrained BN statistics) and cache them, "
    "so each step runs only the top blocks and the head"
)
CACHED_AUGMENTATION = (
    "horizontal flip where the labels allow it (the flipped image's frozen outputs are cached too); no random "
    "crops: they would change the frozen blocks' outputs at every step, so nothing could be cached"
)


def _with_numbers(recipe: Recipe, numbers: Hyperparameters) -> Recipe:
    """Fill the recipe's learning-rate lines from its numbers, so the words and the benchmark never differ."""
    if numbers.trainable == Trainable.HEAD:
        lr_head = recipe.lr_head or "logistic regression on cached features"
    else:
        lr_head = f"{numbers.lr_head:g}"
    lr_body = numbers.describe_lr_body()
    if recipe.strategy == StrategyName.HYBRID:
        lr_body, lr_head = (
            f"stage 1: the SSL method's defaults (SimCLR here); stage 2: {lr_body}",
            f"stage 2: {lr_head}",
        )
    values = {"weight_decay": f"{numbers.weight_decay:g}", "label_smoothing": f"{numbers.label_smoothing:g}"}
    freeze, augmentation = recipe.freeze, recipe.augmentation
    if numbers.cache_frozen:
        freeze += f"; {CACHED_TRUNK}"
        augmentation = CACHED_AUGMENTATION
    return replace(
        recipe,
        freeze=freeze,
        augmentation=augmentation,
        lr_body=lr_body,
        lr_head=lr_head,
        optimizer=recipe.optimizer.format(**values),
        regularisation=recipe.regularisation.format(**values),
        hyperparameters=numbers,
    )


def _finetune_epochs(labeled: int) -> int:
    # About 3,000-10,000 optimiser steps at batch 64 regardless of dataset size, bounded to
    # 5..50 epochs: small sets need more passes, large sets converge in a few.
    return int(min(50, max(5, round(30 * (10_000 / labeled) ** 0.5))))


def _backbone(profile: Profile) -> str:
    if profile.modality == Modality.TEXT:
        return "a compact pretrained encoder (DistilBERT class)" if profile.edge_deployment else "a pretrained encoder"
    if profile.modality == Modality.IMAGE:
        if profile.edge_deployment:
            return "efficientnet_lite0 or mobilenet_v3_small (compact, mobile-friendly)"
        return "resnet50 or efficientnet_b0 class; efficientnet_lite0 for a quick check"
    return "the strongest pretrained model available for your modality"


def _scratch_backbone(profile: Profile) -> str:
    if profile.modality == Modality.TABULAR:
        return "gradient-boosted trees first; an MLP only if they fall short"
    if profile.image_side <= SMALL_INPUT_SIDE:
        # LeNet-5 (60k parameters) for 28x28 digits; airbench's ~2M-parameter net for CIFAR-10.
        return f"a small CNN for {profile.input_resolution} px inputs (LeNet / airbench size, 0.1-2M parameters)"
    if profile.labeled_examples < 50_000 or profile.edge_deployment:
        return "a compact CNN (ResNet-9 / ResNet-18 width) sized to the input resolution"
    return "a ResNet-50-class model, or the target architecture if it is custom"


def recipe_for(strategy: str, profile: Profile) -> Recipe:
    """The named preset for ``strategy``, with epochs and backbone sized to the profile.

    >>> from advisor.profile import example_profile
    >>> recipe_for("scratch", example_profile()).epochs > recipe_for("full_finetune", example_profile()).epochs
    True
    """
    preset = _with_numbers(_PRESETS[strategy], hyperparameters_for(strategy, profile.modality))
    epochs = _finetune_epochs(profile.labeled_examples)
    notes: list[str] = []
    if strategy == StrategyName.SCRATCH:
        epochs = min(300, epochs * SCRATCH_SCHEDULE_FACTOR)
        backbone = _scratch_backbone(profile)
    elif strategy == StrategyName.LINEAR_PROBE:
        epochs = 1
        backbone = _backbone(profile)
    else:
        backbone = _backbone(profile)
    small_images = profile.image_side <= SMALL_INPUT_SIDE
    if profile.compute == Compute.CPU and strategy != StrategyName.LINEAR_PROBE and not small_images:
        notes.append("On CPU, train at a reduced resolution (e.g. 96-128 px) and check throughput first.")
    if small_images and strategy != StrategyName.SCRATCH:
        notes.append(
            f"Upsample the {profile.input_resolution} px images to at least 64 px for the pretrained backbone "
            "(its stride is 32); a backbone this far from its training size transfers less."
        )
    if profile.interpretability:
        notes.append("Report per-class errors and inspect the head's weights or saliency maps before deploying.")
    if (
        strategy == StrategyName.FULL_FINETUNE
        and profile.modality == Modality.TEXT
        and few_shot(profile.labeled_examples, profile.num_classes)
    ):
        notes.append(SETFIT.describe())
    if strategy == StrategyName.HYBRID and profile.modality == Modality.TEXT:
        stage_two = preset.lr_body.split("stage 2: ", 1)[-1]
        preset = replace(preset, lr_body=f"{SIMCSE.describe()}; stage 2: {stage_two}",
                         augmentation="stage 1: dropout (SimCSE); stage 2: none")  # fmt: skip
    if profile.domain_similarity == Similarity.UNKNOWN:
        notes.append("Measure similarity first: `python -m bench run` with a linear probe vs scratch tells quickly.")
    return replace(preset, backbone=backbone, epochs=epochs, notes=tuple(notes))
