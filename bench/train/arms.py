"""Benchmark arms: typed metadata read by everything that needs to know an arm's kind.

Each arm names the advisor strategy it measures; its training numbers (optimizer, learning
rates with layer-wise decay, weight decay, label smoothing, what trains) come from that
strategy's recipe preset in :mod:`advisor.recipes`, so the recipe a person reads is the one
the benchmark ran. ``family`` says what kind of arm it is (probe, finetune, scratch, hybrid):
verdicts and learning curves group arms by it, never by their names.
"""

from __future__ import annotations

from dataclasses import dataclass

from advisor.recipes import HYPERPARAMETERS, Hyperparameters
from bench.errors import BenchInputError, unknown_name

FAMILIES = ("probe", "finetune", "scratch", "hybrid")


@dataclass(frozen=True)
class ArmSpec:
    name: str
    description: str
    strategy: str  # the advisor strategy this arm measures (its recipe preset)
    family: str  # probe | finetune | scratch | hybrid
    pretrained: bool  # start from the pretrained backbone's weights
    architecture: str  # "pretrained": the pretrained backbone's; "scratch": the compact scratch model

    @property
    def hyperparameters(self) -> Hyperparameters:
        return HYPERPARAMETERS[self.strategy]

    @property
    def trainable(self) -> str:
        """head (cached features + logistic regression), top (top blocks + head) or all."""
        return self.hyperparameters.trainable

    @property
    def uses_pretraining(self) -> bool:
        """Does the arm stand for transfer from pretraining (the other side of "scratch")?"""
        return self.family in ("probe", "finetune")


ARMS: dict[str, ArmSpec] = {
    arm.name: arm
    for arm in (
        ArmSpec(
            "linear_probe",
            "frozen pretrained backbone; logistic regression on cached features, C chosen on validation",
            strategy="linear_probe",
            family="probe",
            pretrained=True,
            architecture="pretrained",
        ),
        ArmSpec(
            "partial_finetune",
            "pretrained backbone, top third of the blocks and a new head train (body lr 10x lower)",
            strategy="partial_finetune",
            family="finetune",
            pretrained=True,
            architecture="pretrained",
        ),
        ArmSpec(
            "full_finetune",
            "pretrained backbone, all layers train with layer-wise decayed learning rates",
            strategy="full_finetune",
            family="finetune",
            pretrained=True,
            architecture="pretrained",
        ),
        ArmSpec(
            "scratch",
            "compact CNN sized for small images, random initialisation",
            strategy="scratch",
            family="scratch",
            pretrained=False,
            architecture="scratch",
        ),
        ArmSpec(
            "scratch_same_arch",
            "the pretrained backbone's architecture with random initialisation",
            strategy="scratch",
            family="scratch",
            pretrained=False,
            architecture="pretrained",
        ),
        ArmSpec(
            "hybrid",
            "self-supervised pretraining (SimCLR) of the pretrained backbone on in-domain unlabeled images, "
            "then full fine-tuning on the labels",
            strategy="hybrid",
            family="hybrid",
            pretrained=True,
            architecture="pretrained",
        ),
        ArmSpec(
            "hybrid_scratch",
            "self-supervised pretraining (SimCLR) of the compact CNN from random initialisation on in-domain "
            "unlabeled images, then fine-tuning on the labels",
            strategy="hybrid",
            family="hybrid",
            pretrained=False,
            architecture="scratch",
        ),
    )
}
NOT_BENCHMARKED: dict[str, str] = {}  # strategies the advisor ranks that no arm measures (none since hybrid)


def arms_for_strategy(strategy: str) -> tuple[str, ...]:
    """The registered arms that measure an advisor strategy (``scratch``: scratch and scratch_same_arch)."""
    return tuple(name for name, arm in ARMS.items() if arm.strategy == strategy)


def get_arm(name: str) -> ArmSpec:
    if name in NOT_BENCHMARKED:
        raise BenchInputError(
            f"arm {name!r} is not benchmarked: {NOT_BENCHMARKED[name]}; valid arms are {', '.join(ARMS)}"
        )
    try:
        return ARMS[name]
    except KeyError:
        raise unknown_name("arm", name, list(ARMS)) from None


def parse_arms(text: str) -> tuple[str, ...]:
    """Parse a comma-separated arm list, checking every name (``hybrid`` is skipped with a note by callers)."""
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    if not names:
        raise BenchInputError(f"--arms: empty; valid arms are {', '.join(ARMS)}")
    for name in names:
        if name not in NOT_BENCHMARKED:
            get_arm(name)
    return names
