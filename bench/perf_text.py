"""``bench perf`` on a text dataset: sentences per second per text arm, beside a plain encode loop, in one run.

(a) each gradient arm through the runner (``run_trial`` under a time budget): training sentences/s
    (forward, backward and step on length-bucketed token batches);
(b) the reference: a plain sentence-transformers loop, ``SentenceTransformer.encode`` over the same
    training texts at the same batch size and length (forward only, no gradient). The linear
    probe's embeddings are this loop: the runner calls ``encode`` itself, so (b) is its rate.
Rounds are interleaved ``repeats`` times, so a drift of the machine hits every measurement alike.
A training step costs about three forward passes, so (a) for full fine-tuning near a third of (b)
means the runner adds little around the model.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from functools import partial
from typing import Any

import numpy as np

from advisor.constraints import FieldError, check_fields
from bench.data.splits import make_splits, subsample_train
from bench.device import describe, now, resolve_device
from bench.errors import ConfigError
from bench.perf import PERF_CONSTRAINTS
from bench.train.arms import get_arm
from bench.train.cache import TrialCache
from bench.train.config import TEXT_ARMS, TrialConfig, validate_trial_config
from bench.train.text_trial import measure_text_encode_rate
from bench.train.trial import run_trial
from bench.vocabulary import Architecture, ArmFamily

TEXT_PERF_ARMS = ("full_finetune", "partial_finetune", "scratch")


@dataclass(frozen=True)
class TextPerfReport:
    device: str
    dataset: str
    encoder: str
    examples: int
    batch_size: int
    max_tokens: int
    arms: dict[str, float]  # arm -> mean sentences/s through the runner
    arm_spreads: dict[str, float]  # standard deviation over the rounds
    encode_loop: float  # plain SentenceTransformer.encode, sentences/s
    encode_spread: float
    repeats: int

    def to_dict(self) -> dict[str, Any]:
        ratios = {
            arm: round(rate / self.encode_loop, 3)
            for arm, rate in self.arms.items()
            if self.encode_loop and get_arm(arm).architecture == Architecture.PRETRAINED  # same network only
        }
        return {**asdict(self), "vs_encode_loop": ratios}


def run_text_perf(
    dataset: str, examples: int = 1000, arms: tuple[str, ...] = TEXT_PERF_ARMS, batch_size: int = 64,
    device_name: str = "auto", budget_seconds: float = 10.0, repeats: int = 3, max_tokens: int = 128,
    text_backbone: str = "all-minilm-l6-v2", cache: TrialCache | None = None,
) -> TextPerfReport:  # fmt: skip
    """Sentences/s of each text arm through the runner and of a plain encode loop, on the same texts.

    ``examples`` is capped at the dataset's training split (a built-in text set is small).
    """
    try:
        check_fields({"examples": examples, "repeats": repeats, "budget_seconds": budget_seconds},
                     {k: PERF_CONSTRAINTS[k] for k in ("examples", "repeats", "budget_seconds")})  # fmt: skip
    except FieldError as error:
        raise ConfigError(error.field, error.detail) from None
    trained = [arm for arm in TEXT_ARMS if get_arm(arm).family != ArmFamily.PROBE]
    for arm in arms:
        if arm not in trained:
            raise ConfigError("arm", f"expected text arms that train ({', '.join(trained)}); got {arm}")
    device = resolve_device(device_name)
    clock = partial(now, device)
    cache = cache or TrialCache()
    base = TrialConfig(dataset, arms[0], budget_seconds=budget_seconds, batch_size=batch_size, device=device_name,
                       max_tokens=max_tokens, text_backbone=text_backbone)  # fmt: skip
    data = cache.dataset(dataset, base.image_size, text_columns=(None, None))
    pool = len(make_splits(data.labels, base.split_seed).train)
    base = replace(base, examples=min(examples, pool))
    subsample_train(make_splits(data.labels, base.split_seed), data.labels, base.examples, 0)
    configs = {arm: replace(base, arm=arm) for arm in arms}
    for config in configs.values():
        validate_trial_config(config)
    rounds: dict[str, list[float]] = {arm: [] for arm in arms}
    encode: list[float] = []
    for _ in range(repeats):
        for arm, config in configs.items():
            rounds[arm].append(run_trial(config, cache=cache).images_per_second)
        encode.append(measure_text_encode_rate(base, cache, clock, base.examples)[0])

    def spread(values: list[float]) -> float:
        return round(float(np.std(values, ddof=1)), 1) if len(values) > 1 else 0.0

    return TextPerfReport(
        device=describe(device), dataset=dataset, encoder=text_backbone, examples=base.examples,
        batch_size=batch_size, max_tokens=max_tokens,
        arms={arm: round(float(np.mean(v)), 1) for arm, v in rounds.items()},
        arm_spreads={arm: spread(v) for arm, v in rounds.items()},
        encode_loop=round(float(np.mean(encode)), 1), encode_spread=spread(encode), repeats=repeats,
    )  # fmt: skip


def render_text_perf(report: TextPerfReport) -> str:
    r = report
    lines = [
        f"device: {r.device}; {r.encoder}, {r.examples:,} training texts of {r.dataset}, batch {r.batch_size}, "
        f"up to {r.max_tokens} tokens; mean ± std over {r.repeats} interleaved rounds",
    ]
    for arm, rate in r.arms.items():
        same_model = get_arm(arm).architecture == Architecture.PRETRAINED  # the encoder's own network
        ratio = f"   {rate / r.encode_loop:.2f}x the encode loop" if r.encode_loop and same_model else ""
        lines.append(f"  (a) runner, {arm:<18} {rate:9.1f} ± {r.arm_spreads[arm]:6.1f} sentences/s training{ratio}")
    lines.append(
        f"  (b) plain encode loop        {r.encode_loop:9.1f} ± {r.encode_spread:6.1f} sentences/s   "
        "(SentenceTransformer.encode, forward only: the linear probe's own rate; a training step costs about "
        "3 forward passes, so full_finetune near 0.33x is the model's own cost)"
    )
    return "\n".join(lines)
