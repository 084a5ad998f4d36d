"""Benchmark arms: typed metadata read by everything that needs to know an arm's kind.

Each arm names the advisor strategy it measures; its training numbers (optimizer, learning
rates with layer-wise decay, weight decay, label smoothing, what trains) come from that
strategy's recipe preset in :mod:`advisor.recipes`, so the recipe a person reads is the one
the benchmark ran. ``family`` says what kind of arm it is (probe, finetune, scratch, hybrid):
verdicts and learning curves group arms by it, never by their names.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from advisor.recipes import HYPERPARAMETERS, Hyperparameters
from advisor.strategies import STRATEGY_BY_NAME
from advisor.vocabulary import Modality, Trainable
from bench.errors import ConfigError, unknown_name
from bench.vocabulary import Architecture, ArmFamily


@dataclass(frozen=True)
class ArmSpec:
    name: str
    description: str
    strategy: str  # the advisor strategy this arm measures (its recipe preset)
    family: ArmFamily
    pretrained: bool  # start from the pretrained backbone's weights
    architecture: Architecture  # the pretrained backbone's, or the compact scratch model
    label: str  # the display name every front end and every verdict sentence uses (one vocabulary)
    contrastive: bool = False  # text only: SetFit's contrastive pairs then a probe (advisor.recipes.SETFIT)
    modalities: tuple[Modality, ...] = (Modality.IMAGE, Modality.TEXT)  # the data it is measured on

    @property
    def hyperparameters(self) -> Hyperparameters:
        return HYPERPARAMETERS[self.strategy]

    @property
    def trainable(self) -> Trainable:
        """head (cached features + logistic regression), top (top blocks + head) or all."""
        return self.hyperparameters.trainable

    @property
    def uses_pretraining(self) -> bool:
        """Does the arm stand for transfer from pretraining (the other side of "scratch")?"""
        return self.family.uses_pretraining


ARMS: dict[str, ArmSpec] = {
    arm.name: arm
    for arm in (
        ArmSpec(
            "linear_probe",
            "frozen pretrained backbone; logistic regression on cached features, C chosen on validation",
            strategy="linear_probe",
            family=ArmFamily.PROBE,
            pretrained=True,
            architecture=Architecture.PRETRAINED,
            label="Linear probe",
        ),
        ArmSpec(
            "partial_finetune",
            "pretrained backbone, top third of the blocks and a new head train (body lr 10x lower)",
            strategy="partial_finetune",
            family=ArmFamily.FINETUNE,
            pretrained=True,
            architecture=Architecture.PRETRAINED,
            label="Partial fine-tune",
        ),
        ArmSpec(
            "full_finetune",
            "pretrained backbone, all layers train with layer-wise decayed learning rates",
            strategy="full_finetune",
            family=ArmFamily.FINETUNE,
            pretrained=True,
            architecture=Architecture.PRETRAINED,
            label="Full fine-tune",
        ),
        ArmSpec(
            "setfit",
            "text: SetFit contrastive fine-tuning of the sentence encoder on pairs of training texts "
            "(sentence-transformers CosineSimilarityLoss), then logistic regression on its embeddings",
            strategy="full_finetune",
            family=ArmFamily.FINETUNE,
            pretrained=True,
            architecture=Architecture.PRETRAINED,
            label="Full fine-tune, SetFit contrastive (text)",
            contrastive=True,
            modalities=(Modality.TEXT,),
        ),
        ArmSpec(
            "scratch",
            "compact CNN sized for small images, random initialisation",
            strategy="scratch",
            family=ArmFamily.SCRATCH,
            pretrained=False,
            architecture=Architecture.SCRATCH,
            label="Train from scratch",
        ),
        ArmSpec(
            "scratch_same_arch",
            "the pretrained backbone's architecture with random initialisation",
            strategy="scratch",
            family=ArmFamily.SCRATCH,
            pretrained=False,
            architecture=Architecture.PRETRAINED,
            label="Scratch, same architecture",
        ),
        ArmSpec(
            "hybrid",
            "self-supervised pretraining (SimCLR) of the pretrained backbone on in-domain unlabeled images, "
            "then full fine-tuning on the labels",
            strategy="hybrid",
            family=ArmFamily.HYBRID,
            pretrained=True,
            architecture=Architecture.PRETRAINED,
            label="Hybrid (in-domain pretraining, then fine-tune)",
        ),
        ArmSpec(
            "hybrid_scratch",
            "self-supervised pretraining (SimCLR) of the compact CNN from random initialisation on in-domain "
            "unlabeled images, then fine-tuning on the labels",
            strategy="hybrid",
            family=ArmFamily.HYBRID,
            pretrained=False,
            architecture=Architecture.SCRATCH,
            label="Hybrid, compact CNN from scratch",
            # The compact n-gram text model has no self-supervised stage here.
            modalities=(Modality.IMAGE,),
        ),
    )
}


def arm_label(name: str) -> str:
    """An arm's or a strategy's display name ("scratch" -> "Train from scratch"); an unknown name as words."""
    if name in ARMS:
        return ARMS[name].label
    if name in STRATEGY_BY_NAME:
        return STRATEGY_BY_NAME[name].label
    return name.replace("_", " ").capitalize()


def arms_for(modality: Modality) -> tuple[str, ...]:
    """The registered arms measured on ``modality``'s data, in registry order."""
    return tuple(name for name, arm in ARMS.items() if modality in arm.modalities)


def arms_for_strategy(strategy: str) -> tuple[str, ...]:
    """The registered arms that measure an advisor strategy (``scratch``: scratch and scratch_same_arch)."""
    return tuple(name for name, arm in ARMS.items() if arm.strategy == strategy)


def get_arm(name: str) -> ArmSpec:
    try:
        return ARMS[name]
    except KeyError:
        raise unknown_name("arm", name, list(ARMS)) from None


def parse_arms(text: str) -> tuple[str, ...]:
    """Parse a comma-separated arm list, checking every name."""
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    if not names:
        raise ConfigError("arms", f"empty; valid arms are {', '.join(ARMS)}")
    for name in names:
        get_arm(name)
    return names


def any_pretraining(arms: Iterable[str]) -> bool:
    """Does any of these arms pretrain on unlabeled data first (the hybrid family)?"""
    return any(get_arm(name).family == ArmFamily.HYBRID for name in arms)
