"""The five strategies the advisor ranks. Their names are shared with the benchmark arms."""

from __future__ import annotations

from dataclasses import dataclass

from advisor.vocabulary import StrategyName


@dataclass(frozen=True)
class Strategy:
    name: StrategyName
    label: str
    summary: str
    needs_pretrained: bool


STRATEGIES: tuple[Strategy, ...] = (
    Strategy(
        StrategyName.LINEAR_PROBE,
        "Linear probe",
        "Freeze the pretrained backbone; train only a new linear head on its features.",
        needs_pretrained=True,
    ),
    Strategy(
        StrategyName.PARTIAL_FINETUNE,
        "Partial fine-tune",
        "Train the top blocks and a new head; keep the lower, more generic layers frozen.",
        needs_pretrained=True,
    ),
    Strategy(
        StrategyName.FULL_FINETUNE,
        "Full fine-tune",
        "Train every layer from the pretrained weights with a low learning rate.",
        needs_pretrained=True,
    ),
    Strategy(
        StrategyName.SCRATCH,
        "Train from scratch",
        "Random initialisation, with an architecture sized to the task and the data.",
        needs_pretrained=False,
    ),
    Strategy(
        StrategyName.HYBRID,
        "Hybrid (in-domain pretraining, then fine-tune)",
        "Self-supervised or continued pretraining on your unlabeled in-domain data, then fine-tune.",
        needs_pretrained=False,
    ),
)
STRATEGY_NAMES: tuple[str, ...] = tuple(s.name for s in STRATEGIES)
STRATEGY_BY_NAME: dict[str, Strategy] = {s.name: s for s in STRATEGIES}
