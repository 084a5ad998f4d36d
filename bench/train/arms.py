"""Benchmark arms, named after the advisor's strategies. Each arm is a preset, not an ``if`` chain.

``hybrid`` (in-domain pretraining, then fine-tuning) needs an unlabeled pool and a
pretraining stage far beyond a quick run, so it is not benchmarked and is reported as such.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.errors import BenchInputError, unknown_name


@dataclass(frozen=True)
class ArmSpec:
    name: str
    description: str
    pretrained: bool  # start from the pretrained backbone's weights
    architecture: str  # "pretrained": the pretrained backbone's; "scratch": the compact scratch model
    trainable: str  # "head" (cached features + logistic regression), "top" (top blocks + head), "all"
    lr_body: float = 0.0
    lr_head: float = 0.0
    weight_decay: float = 0.0
    top_fraction: float = 1 / 3  # for "top": share of body blocks (from the top) that train


ARMS: dict[str, ArmSpec] = {
    arm.name: arm
    for arm in (
        ArmSpec(
            "linear_probe",
            "frozen pretrained backbone; logistic regression on cached features, C chosen on validation",
            pretrained=True,
            architecture="pretrained",
            trainable="head",
        ),
        ArmSpec(
            "partial_finetune",
            "pretrained backbone, top third of the blocks and a new head train (body lr 10x lower)",
            pretrained=True,
            architecture="pretrained",
            trainable="top",
            lr_body=5e-4,
            lr_head=5e-3,
            weight_decay=0.01,
        ),
        ArmSpec(
            "full_finetune",
            "pretrained backbone, all layers train with discriminative learning rates",
            pretrained=True,
            architecture="pretrained",
            trainable="all",
            lr_body=5e-4,
            lr_head=5e-3,
            weight_decay=0.05,
        ),
        ArmSpec(
            "scratch",
            "compact CNN sized for small images, random initialisation",
            pretrained=False,
            architecture="scratch",
            trainable="all",
            lr_body=3e-3,
            lr_head=3e-3,
            weight_decay=5e-4,
        ),
        ArmSpec(
            "scratch_same_arch",
            "the pretrained backbone's architecture with random initialisation",
            pretrained=False,
            architecture="pretrained",
            trainable="all",
            lr_body=3e-3,
            lr_head=3e-3,
            weight_decay=5e-4,
        ),
    )
}
NOT_BENCHMARKED = {"hybrid": "needs an unlabeled pool and a pretraining stage; not run in a quick validation"}


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
