"""What defines one trial, and the declarative table of what each field accepts.

Light: a record the command line and the app build before any training, so it imports no torch.
The backbone registry (timm, torchvision) is imported by :func:`validate_trial_config` alone.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from advisor.constraints import Constraint, FieldError, Interval, Options, check_fields
from advisor.vocabulary import Modality
from bench.data.text_catalog import is_text_dataset
from bench.device import resolve_device
from bench.errors import ConfigError
from bench.train.arms import arms_for, get_arm
from bench.train.budget import MAX_PRETRAIN_BATCH, MIN_PRETRAIN_BATCH, PRETRAIN_SHARE, train_share
from bench.vocabulary import ArmFamily

OBJECTIVES = ("simclr", "byol")  # hybrid arms' pretraining objectives (bench.train.pretrain)


@dataclass(frozen=True)
class TrialConfig:
    """Everything that defines one trial. Two equal configs on the same device give the same trial."""

    dataset: str  # a registered name, a folder, or a .zip
    arm: str
    backbone: str = "efficientnet_lite0"  # pretrained model for fine-tune arms and scratch_same_arch
    scratch_backbone: str = "compact_cnn"  # model for the scratch arm
    examples: int | None = None  # training examples (stratified subsample); None: the whole training split
    seed: int = 0  # initialisation, batch order and the training subsample
    split_seed: int = 0  # train/validation/test split: shared by every arm and seed
    budget_seconds: float | None = 20.0  # training wall-clock per trial; None: until converged
    max_epochs: int = 30  # cap in until-converged mode
    patience: int = 3  # evaluations without improvement before stopping (until-converged mode)
    batch_size: int = 64
    resolution: int | None = None  # input side for the pretrained architecture; None: the dataset's default
    scratch_resolution: int = 32  # input side for the compact scratch model (airbench trains CIFAR at 32)
    device: str = "auto"
    image_size: int = 128  # side user images are decoded to
    label_smoothing: float | None = None  # None: the arm's recipe preset (advisor.recipes.HYPERPARAMETERS)
    examples_cap: int | None = None  # with examples=None: all training examples, but at most this many
    # Hybrid arms: the unlabeled pool (a folder or .zip; None: the training images beyond the labeled
    # subsample, labels hidden), and pretraining's own budget (None: a share of budget_seconds, so the
    # comparison stays at equal total wall-clock).
    unlabeled: str | None = None
    # The most training examples any trial of the run uses: a big folder is decoded in part (None: all).
    train_limit: int | None = None
    pretrain_seconds: float | None = None
    pretrain_objective: str = "simclr"
    # Images per pretraining step; the plan sizes it from the measured pretraining rate so that several
    # steps fit the share (bench.train.budget.pretrain_batch_for). None: MAX_PRETRAIN_BATCH (at most half
    # the pool) for images, the SimCSE recipe's batch for texts.
    pretrain_batch_size: int | None = None
    # Text datasets (a built-in text name, a .csv/.tsv/.jsonl, a folder or .zip of .txt files): the
    # columns (None: detected by name), the pretrained encoder, the from-scratch model, and how many
    # tokens of each text are read (the encoder's own maximum caps it).
    text_column: str | None = None
    label_column: str | None = None
    text_backbone: str = "all-minilm-l6-v2"
    text_scratch_backbone: str = "ngram_bag"
    max_tokens: int = 128

    def __post_init__(self) -> None:
        # Values each field accepts are stored as its type (a JSON 64.0 is batch size 64), as profiles do;
        # values it refuses stay as given, for validate_trial_config to name.
        for name, constraint in TRIAL_CONSTRAINTS.items():
            value = getattr(self, name)
            if constraint.accepts(value):
                object.__setattr__(self, name, constraint.convert(value))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def pretrain_share(self) -> float:
        """The part of ``budget_seconds`` spent pretraining: PRETRAIN_SHARE for a hybrid arm without
        its own ``pretrain_seconds`` (equal total wall-clock with the other arms), else 0."""
        shared = get_arm(self.arm).family == ArmFamily.HYBRID and self.pretrain_seconds is None
        return PRETRAIN_SHARE if shared and self.budget_seconds is not None else 0.0

    @property
    def train_share(self) -> float:
        """The part of ``budget_seconds`` that trains on the labels (:func:`bench.train.budget.train_share`)."""
        return train_share(get_arm(self.arm).contrastive, self.pretrain_share)


# One declarative table: what each field accepts. The constraint writes the message.
TRIAL_CONSTRAINTS: dict[str, Constraint] = {
    "examples": Interval(int, 2, None, none="all"),
    "seed": Interval(int, 0, 2**31 - 1),
    "split_seed": Interval(int, 0, 2**31 - 1),
    "budget_seconds": Interval(float, 1, 86_400, unit="seconds", none="until converged"),
    "max_epochs": Interval(int, 1, 1000),
    "patience": Interval(int, 1, 100),
    "batch_size": Interval(int, 2, 4096),
    "resolution": Interval(int, 8, 512, unit="pixels", none="the dataset's default"),
    "scratch_resolution": Interval(int, 8, 512, unit="pixels"),
    "image_size": Interval(int, 8, 512, unit="pixels"),
    "label_smoothing": Interval(float, 0, 0.99, none="the recipe's"),
    "examples_cap": Interval(int, 2, None, none="no cap"),
    "train_limit": Interval(int, 2, None, none="all"),
    "pretrain_seconds": Interval(float, 1, 86_400, unit="seconds", none="a share of the training budget"),
    "pretrain_objective": Options(OBJECTIVES),
    "pretrain_batch_size": Interval(
        int, MIN_PRETRAIN_BATCH, MAX_PRETRAIN_BATCH, unit="images", none="sized from the pool (at most 256)"
    ),
    "max_tokens": Interval(int, 8, 512, unit="tokens"),
}


def validate_trial_config(config: TrialConfig) -> None:
    """Raise ConfigError (a BenchInputError) naming the field, what is accepted and what was given."""
    from bench.models.backbones import BACKBONES, get_backbone  # deferred: the registry imports torch and timm

    try:
        check_fields(config, TRIAL_CONSTRAINTS)
    except FieldError as error:
        raise ConfigError(error.field, error.detail) from None
    arm = get_arm(config.arm)
    if is_text_dataset(config.dataset):
        validate_text_arm(config)
        return
    if config.arm in TEXT_ONLY_ARMS:
        raise ConfigError("arms", f"expected arms measured on images; got {config.arm} (text only) on {config.dataset}")
    backbone = get_backbone(config.backbone)
    get_backbone(config.scratch_backbone)
    if arm.pretrained and not backbone.has_pretrained:
        pretrained = ", ".join(name for name, spec in BACKBONES.items() if spec.has_pretrained)
        raise ConfigError(
            "backbone",
            f"expected a backbone with pretrained weights for arm {config.arm} ({pretrained}); "
            f"got {config.backbone}, which has none",
        )
    resolve_device(config.device)
    if arm.family == ArmFamily.HYBRID and config.budget_seconds is None and config.pretrain_seconds is None:
        raise ConfigError(
            "pretrain_seconds", "expected seconds for pretraining when training until converged; got none"
        )


# Arms measured on text (the registry's ``modalities``). The hybrid arm pretrains the encoder on the training
# texts beyond the labeled ones (SimCSE); hybrid_scratch is images only, setfit text only.
TEXT_ARMS = arms_for(Modality.TEXT)
TEXT_ONLY_ARMS = tuple(name for name in TEXT_ARMS if name not in arms_for(Modality.IMAGE))


def validate_text_arm(config: TrialConfig) -> None:
    """A text dataset's trial: an arm measured on text, registered text models, and a device that exists."""
    from bench.models.text_backbones import TEXT_BACKBONES  # deferred: the registry imports torch

    if config.arm not in TEXT_ARMS:
        arms = ", ".join(TEXT_ARMS)
        raise ConfigError("arms", f"expected arms measured on text ({arms}); got {config.arm} on {config.dataset}")
    text_constraints = {
        "text_backbone": Options(tuple(name for name, spec in TEXT_BACKBONES.items() if spec.has_pretrained)),
        "text_scratch_backbone": Options(tuple(TEXT_BACKBONES)),
    }
    try:
        check_fields(config, text_constraints)
    except FieldError as error:
        raise ConfigError(error.field, error.detail) from None
    if config.unlabeled is not None:
        raise ConfigError(
            "unlabeled",
            f"expected none for text data (the hybrid arm pretrains on the training texts beyond --examples, "
            f"labels hidden); got {config.unlabeled}",
        )
    if get_arm(config.arm).family == ArmFamily.HYBRID and config.budget_seconds is None and not config.pretrain_seconds:
        raise ConfigError(
            "pretrain_seconds", "expected seconds for pretraining when training until converged; got none"
        )
    resolve_device(config.device)
