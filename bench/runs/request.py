"""What a person asks for: a :class:`RunRequest` (a quick run or a learning curve), stored before it runs.

Light: a record the command line and the app build before any training, so it imports no torch;
the suite and the curve it turns into (the trial runner) are imported when they are asked for.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from advisor.constraints import Constraint, FieldError, Interval, Options, check_fields
from bench.data.catalog import DATASETS
from bench.data.datasets import check_source
from bench.data.text_catalog import check_text_source, is_text_dataset
from bench.errors import ConfigError
from bench.runs.executors.factory import make_executor
from bench.train.arms import ARMS, any_pretraining
from bench.train.check import MeasuredRates, Question
from bench.train.config import TrialConfig
from bench.vocabulary import RunKind

if TYPE_CHECKING:
    from bench.evidence.curve import CurveConfig
    from bench.train.suite import SuiteConfig

KINDS = tuple(RunKind)
MAX_SEEDS = 20  # a paired test needs 3+; beyond 20 a budgeted run is better spent on more examples
REQUEST_CONSTRAINTS: dict[str, Constraint] = {
    "kind": Options(KINDS),
    "seeds": Interval(int, 1, MAX_SEEDS),  # how many seeds (0..K-1)
    # Checked for every executor: a value the local one would ignore is still a mistake to say so about.
    "cpus_per_trial": Interval(int, 1, 1024),
    "check_minutes": Interval(float, 0.5, 24 * 60, unit="minutes", none="no bound (the options set the budget)"),
}


@dataclass(frozen=True)
class RunRequest:
    """A run as stored in the run store; both doors (command line and app) build one and execute it the same way."""

    kind: RunKind  # a run (arms x seeds) or a curve (arms x seeds x sizes)
    base: TrialConfig
    arms: tuple[str, ...]
    seeds: tuple[int, ...]
    sizes: tuple[int, ...] = ()
    advised: str | None = None  # the advisor's top strategy, for the verdict
    target_examples: int | None = None  # the profile's labeled examples: a curve is judged at the closest size
    dataset_label: str = ""  # what a person calls the data (an uploaded file's name); the path is in base.dataset
    executor: str = "local"  # "local": trials one after the other here; "ray": one Ray task per trial
    address: str | None = None  # a Ray cluster's address; None with "ray" starts a local cluster for the run
    cpus_per_trial: int = 1  # Ray: the cores each budgeted trial gets (never shared)
    # The person's question (the profile's budget, compute and labels); with check_minutes the check is
    # planned from it (bench.train.check), without it the options' budget runs and the verdict says so.
    question: Question | None = None
    check_minutes: float | None = None  # the bound on the whole check, model loading included
    arm_budgets: tuple[tuple[str, float | None], ...] = ()  # set by the plan: each arm's budget (None: converge)
    arm_pretrain_batches: tuple[tuple[str, int], ...] = ()  # set by the plan: a hybrid arm's pretraining batch
    # The run form's throughput probe, made on this machine before the person pressed Start: the run plans
    # from it instead of probing again, so the plan shown is the plan that runs (None: the run measures).
    measured: MeasuredRates | None = None

    @property
    def planned(self) -> bool:
        """Is the check planned from the person's question (rather than run at the options' budget)?"""
        return self.question is not None and self.check_minutes is not None and self.kind == RunKind.RUN

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "base": asdict(self.base)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunRequest:
        return cls(
            kind=data["kind"],
            base=TrialConfig(**data["base"]),
            arms=tuple(data["arms"]),
            seeds=tuple(data["seeds"]),
            sizes=tuple(data.get("sizes", ())),
            advised=data.get("advised"),
            target_examples=data.get("target_examples"),
            dataset_label=data.get("dataset_label", ""),
            executor=data.get("executor", "local"),
            address=data.get("address"),
            cpus_per_trial=data.get("cpus_per_trial", 1),
            question=Question.from_dict(data["question"]) if data.get("question") else None,
            check_minutes=data.get("check_minutes"),
            arm_budgets=tuple((arm, budget) for arm, budget in data.get("arm_budgets", ())),
            arm_pretrain_batches=tuple((arm, batch) for arm, batch in data.get("arm_pretrain_batches", ())),
            measured=MeasuredRates.from_dict(data["measured"]) if data.get("measured") else None,
        )

    @property
    def dataset_name(self) -> str:
        """The dataset as a person named it: the label if given, else the built-in name or the folder's name."""
        return self.dataset_label or Path(self.base.dataset).name or self.base.dataset

    def total_trials(self) -> int:
        return len(self.arms) * len(self.seeds) * max(1, len(self.sizes))

    @property
    def trial_base(self) -> TrialConfig:
        """The settings every trial shares, with the decode limit: the most training examples any trial uses.

        Hybrid arms without their own pool pretrain on the training images beyond the labeled ones,
        so then the whole dataset is decoded.
        """
        needs_all = any_pretraining(self.arms) and self.base.unlabeled is None
        limit = max(self.sizes) if self.sizes else self.base.examples or self.base.examples_cap
        return replace(self.base, train_limit=None if needs_all else limit)

    def suite(self) -> SuiteConfig:
        from bench.train.suite import SuiteConfig  # deferred: the suite's runner imports torch

        return SuiteConfig(self.trial_base, self.arms, self.seeds, self.arm_budgets, self.arm_pretrain_batches)

    def curve(self) -> CurveConfig:
        from bench.evidence.curve import CurveConfig  # deferred: the curve's runner imports torch

        return CurveConfig(
            self.trial_base, self.arms, self.sizes, self.seeds, pretrain_batches=self.arm_pretrain_batches
        )

    def judged_size(self) -> int | None:
        return judged_size(self.sizes, self.target_examples)


def judged_size(sizes: tuple[int, ...], target: int | None) -> int | None:
    """The one size a curve's verdict is judged at: closest to the profile's labeled examples, else the largest.

    >>> judged_size((100, 300, 1000), 400), judged_size((100, 300, 1000), None)
    (300, 1000)
    """
    if not sizes:
        return None
    if target is None:
        return max(sizes)
    return min(sizes, key=lambda n: (abs(n - target), -n))


def validate_request(request: RunRequest) -> None:
    """Check the request and every trial it implies before anything is stored or trained.

    Raises :class:`ConfigError` naming the field (``seeds``, ``arms``, ``sizes``, or a trial field).
    """
    try:
        check_fields(
            {"kind": request.kind, "seeds": len(request.seeds), "cpus_per_trial": request.cpus_per_trial,
             "check_minutes": request.check_minutes},
            REQUEST_CONSTRAINTS,
        )  # fmt: skip
    except FieldError as error:
        raise ConfigError(error.field, error.detail) from None
    if request.check_minutes is not None and request.question is None:
        raise ConfigError("check_minutes", "plans the check from a profile's time budget, compute and labeled "
                          "examples; expected a profile, got none")  # fmt: skip
    if request.check_minutes is not None and request.kind == RunKind.CURVE:
        raise ConfigError("check_minutes", "plans a run, not a learning curve; expected it with a run")
    repeated = sorted({arm for arm in request.arms if request.arms.count(arm) > 1})
    if repeated:
        raise ConfigError("arms", f"expected each arm once; got {', '.join(repeated)} more than once")
    if not request.arms:
        raise ConfigError(
            "arms", f"expected at least one of {', '.join(ARMS)}; got {', '.join(request.arms) or 'none'}"
        )
    if request.kind == RunKind.CURVE and not request.sizes:
        raise ConfigError("sizes", "expected comma-separated training sizes for a learning curve, e.g. 100,300,1000")
    if list(request.sizes) != sorted(set(request.sizes)):
        raise ConfigError(
            "sizes", f"expected distinct sizes in increasing order; got {','.join(map(str, request.sizes))}"
        )
    if is_text_dataset(request.base.dataset):
        check_text_source(request.base.dataset)
    elif request.base.dataset not in DATASETS:
        check_source(request.base.dataset)  # a missing folder is refused before anything is stored
    unlabeled = request.base.unlabeled
    if unlabeled is not None and not Path(unlabeled).exists():
        raise ConfigError(
            "unlabeled", f"expected a folder or .zip of unlabeled images; got {unlabeled} (no such file or folder)"
        )
    if unlabeled is not None and not any_pretraining(request.arms):
        raise ConfigError(
            "unlabeled",
            f"is used by the hybrid arms only; add hybrid or hybrid_scratch to the arms (got {', '.join(request.arms)})",
        )
    from bench.train.suite import validate_suite  # deferred: the suite's runner imports torch

    validate_suite(request.suite())
    make_executor(request.executor, request.address, cpus_per_trial=request.cpus_per_trial)  # Ray installed?
