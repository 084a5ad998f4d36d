"""``python -m bench``: run comparisons, check the machine, measure throughput.

Bad input prints one message naming the option or file and exits 2; never a traceback.
A command imports the training stack (torch) when it runs, so ``--help`` and the light commands never do.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from advisor import Profile, Recommendation, load_profile, recommend
from advisor.clitools import fail, make_app
from advisor.constraints import FieldError
from advisor.shipped import example_profiles
from bench.data.text_catalog import is_text_dataset
from bench.data.units import IMAGES, ExampleUnit, unit_for_dataset
from bench.errors import BenchInputError
from bench.evidence.question import render_costs
from bench.paths import cache_dir
from bench.runs.request import RunRequest, judged_size, validate_request
from bench.runs.store import RunStore
from bench.train.arms import ARMS, parse_arms
from bench.train.callbacks import Callback, TrialState
from bench.train.check import DEFAULT_CHECK_MINUTES, Question, at_check_size
from bench.train.config import TrialConfig
from bench.vocabulary import RunStatus, TrialStatus

if TYPE_CHECKING:
    from bench.train.result import EpochRecord, TrialResult

app = make_app("Fine-tune vs scratch trials on real data, offline, on GPU or CPU.")

DEFAULT_ARMS = "linear_probe,full_finetune,scratch"
DEFAULT_DATASET = "fashion-mnist"
DEFAULT_BUDGET_SECONDS = 20.0  # per arm, without a profile to plan from
SAMPLE_PROFILE = example_profiles()["fashion_mnist_quick"]  # `run` with no options checks its advice
DEFAULT_EXAMPLES = 1000  # with no --examples: every training example, up to this many (any folder works)
# The command line's words for config fields: its flags (``budget_seconds=None`` is --until-converged).


class _Flags(dict):
    """Every field's flag is its name with dashes (Typer's rule): ``budget_seconds`` is --budget-seconds."""

    def __missing__(self, name: str) -> str:
        return "--" + name.replace("_", "-")

    def get(self, name, default=None):
        return self[name]


FLAGS = _Flags(sizes="the curve command's --sizes")  # `run` has no --sizes: a curve is its own command
CLI_SESSION = "cli"  # command-line runs share the app's run store; History shows them under this session


# Options that run and curve share, declared once.
Unlabeled = Annotated[
    str | None,
    typer.Option(help="Hybrid arms: a folder or .zip of unlabeled in-domain images (text: not taken); default: "
                 "the training examples beyond --examples, labels hidden (text: SimCSE on them)."),
]  # fmt: skip
PretrainSeconds = Annotated[
    float | None,
    typer.Option(help="Hybrid arms: pretraining's own budget; default half of --budget-seconds (equal total time)."),
]
PretrainObjective = Annotated[str, typer.Option(help="Hybrid arms: simclr or byol.")]
Executor = Annotated[str, typer.Option(help="local (trials one after the other here) or ray (one Ray task per trial).")]
Address = Annotated[
    str | None, typer.Option(help="With --executor ray: the cluster's address; default a local cluster for the run.")
]
CpusPerTrial = Annotated[int, typer.Option(help="With --executor ray: cores each trial gets (never shared).")]
Out = Annotated[str | None, typer.Option(help="Results folder; default runs/<timestamp>.")]
Overwrite = Annotated[bool, typer.Option(help="Replace the results already in --out.")]
ProfileOption = Annotated[Path | None, typer.Option(help="Questionnaire profile: adds a verdict on its advice.")]
TextColumn = Annotated[
    str | None, typer.Option(help="Text data (.csv/.tsv/.jsonl): the text column or key; default detected by name.")
]
LabelColumn = Annotated[
    str | None, typer.Option(help="Text data (.csv/.tsv/.jsonl): the label column or key; default detected by name.")
]
TextBackbone = Annotated[str, typer.Option(help="Text data: the pretrained sentence encoder (all-minilm-l6-v2).")]
MaxTokens = Annotated[int, typer.Option(help="Text data: tokens read of each text (the encoder's maximum caps it).")]
DATASET_HELP = (
    "digits, fashion-mnist, fashion-mnist-full, emoji, spoken-commands, a folder / .zip of images; "
    "text: fortunes, code-snippets, a .csv / .tsv / .jsonl, a folder / .zip of .txt class folders"
)


class ProgressPrinter(Callback):
    """One line per evaluation and per finished trial, on stderr (stdout stays clean for --json)."""

    def __init__(self, total_trials: int):
        self.total, self.done = total_trials, 0

    def on_queued(self, holder: str) -> None:
        typer.echo(f"queued behind run {holder} (one run per device at a time); waiting for it to finish", err=True)

    def on_budget_plan(self, plans) -> None:
        for plan in plans:
            typer.echo(("budget: " if plan.enough else "warning: ") + plan.text, err=True)
        if not all(plan.enough for plan in plans):
            longest = max(plan.suggested_seconds or 0 for plan in plans)
            typer.echo(f"         going ahead; --budget-seconds {longest:g} would train every arm past the floor",
                       err=True)  # fmt: skip

    def on_check_plan(self, plan) -> None:
        for line in plan.lines:
            typer.echo(("plan: " if not line.startswith("  ") else "      ") + line.strip(), err=True)
        self.total = plan.trials()

    def on_trial_start(self, state: TrialState) -> None:
        c = state.config
        typer.echo(f"[{self.done + 1}/{self.total}] {c.arm} seed {c.seed}: preparing", err=True)

    def on_epoch_end(self, state: TrialState, record: EpochRecord) -> None:
        bar = _bar(state.step / max(1, state.planned_steps))
        typer.echo(
            f"    {bar} step {state.step}/{state.planned_steps}  val acc {record.val_accuracy:.3f}  "
            f"{record.train_seconds:.1f}s",
            err=True,
        )

    def on_trial_end(self, result: TrialResult) -> None:
        self.done += 1
        accuracy = f"test acc {result.test_accuracy:.3f}" if result.test_accuracy is not None else result.error
        typer.echo(
            f"[{self.done}/{self.total}] {result.config.arm} seed {result.config.seed}: {result.status}, {accuracy}, "
            f"train {result.time_train_s:.1f}s",
            err=True,
        )


def _bar(fraction: float, width: int = 20) -> str:
    filled = round(min(1.0, fraction) * width)
    return "[" + "#" * filled + "." * (width - filled) + "]"


@app.command("run")
def run_command(
    dataset: Annotated[str, typer.Option(help=DATASET_HELP)] = "fashion-mnist",
    examples: Annotated[
        int | None,
        typer.Option(help=f"Training examples (stratified subsample); default all, up to {DEFAULT_EXAMPLES}."),
    ] = None,
    arms: Annotated[str, typer.Option(help=f"Comma-separated: {', '.join(ARMS)}.")] = DEFAULT_ARMS,
    seeds: Annotated[int, typer.Option(help="Seeds per arm (0..K-1).")] = 1,
    budget_seconds: Annotated[
        float | None,
        typer.Option(
            help=f"Training wall-clock per trial, seconds; default: planned from the profile's budget "
            f"(without a profile, {DEFAULT_BUDGET_SECONDS:g} s)."
        ),
    ] = None,
    until_converged: Annotated[bool, typer.Option(help="Ignore the budget; train until early stopping.")] = False,
    check_minutes: Annotated[
        float | None,
        typer.Option(
            help=f"Spend at most this long on the whole check (model loading included); the plan says "
            f"what it measures within it. Default {DEFAULT_CHECK_MINUTES:g} with a profile."
        ),
    ] = None,
    max_epochs: Annotated[int, typer.Option(help="Epoch cap with --until-converged.")] = 30,
    backbone: Annotated[str, typer.Option(help="Pretrained backbone for fine-tune arms.")] = "efficientnet_lite0",
    resolution: Annotated[int | None, typer.Option(help="Input side for the pretrained model (pixels).")] = None,
    batch_size: Annotated[int, typer.Option(help="Batch size.")] = 64,
    device: Annotated[str, typer.Option(help="auto (CUDA, then MPS, then CPU), cpu, cuda or mps.")] = "auto",
    unlabeled: Unlabeled = None,
    pretrain_seconds: PretrainSeconds = None,
    pretrain_objective: PretrainObjective = "simclr",
    executor: Executor = "local",
    address: Address = None,
    cpus_per_trial: CpusPerTrial = 1,
    out: Out = None,
    overwrite: Overwrite = False,
    profile: ProfileOption = None,
    text_column: TextColumn = None,
    label_column: LabelColumn = None,
    text_backbone: TextBackbone = "all-minilm-l6-v2",
    max_tokens: MaxTokens = 128,
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON on stdout.")] = False,
) -> None:
    """Train the arms on your data and answer the profile's question: with this budget here, which strategy wins?

    With a profile (the sample profile for the built-in fashion-mnist when none is given) and no
    --budget-seconds or --until-converged, the check is planned from the profile's time budget,
    compute and labeled examples, within --check-minutes.
    """
    if profile is None and dataset == DEFAULT_DATASET:
        profile = SAMPLE_PROFILE
        typer.echo(f"profile: the sample profile {profile} (pass --profile for yours)", err=True)
    from bench.evidence.summary import baseline_line, render_table, summarise  # deferred: imports scipy
    from bench.evidence.verdict import render_verdict  # deferred: imports scipy

    loaded = _load_profile(profile)  # read once: the request's advice and the stored profile come from it
    planned = loaded is not None and budget_seconds is None and not until_converged
    if check_minutes is not None and not planned:
        raise fail(
            f"--check-minutes {check_minutes:g}: plans the check from a profile's budget; it does not combine "
            "with --budget-seconds or --until-converged (and needs --profile for a dataset of your own)"
        )
    if budget_seconds is None:
        budget_seconds = DEFAULT_BUDGET_SECONDS  # a planned check replaces it per arm
    cap = (loaded.profile.labeled_examples if planned else DEFAULT_EXAMPLES) if examples is None else None
    settings = {
        "examples": examples, "examples_cap": cap,
        "max_epochs": max_epochs, "batch_size": batch_size, "resolution": resolution, "unlabeled": unlabeled,
        "pretrain_seconds": pretrain_seconds, "pretrain_objective": pretrain_objective,
        "text_column": text_column, "label_column": label_column, "text_backbone": text_backbone,
        "max_tokens": max_tokens,
    }  # fmt: skip
    request = _request("run", dataset, arms, seeds, backbone, None if until_converged else budget_seconds, device,
                       settings, (), loaded, {"executor": executor, "address": address,
                                               "cpus_per_trial": cpus_per_trial,
                                               "check_minutes": (check_minutes or DEFAULT_CHECK_MINUTES) if planned
                                               else None})  # fmt: skip
    outcome, out = _execute(request, loaded, out, overwrite, profile)
    if as_json:
        typer.echo((out / "results.json").read_text())
    else:
        summaries = summarise(outcome.trials)
        typer.echo(render_table(summaries, unit_for_dataset(dataset)))
        baseline = baseline_line(summaries)
        if baseline:
            typer.echo(baseline)
        change = (outcome.analyses.get("measured_advice") or {}).get("text")
        if change:  # the advice judged is the one with the costs measured here
            typer.echo("\n" + change)
        if outcome.verdict:
            typer.echo("\n" + render_verdict(outcome.verdict, FLAGS))
        if outcome.curve_trials and "curve" in outcome.analyses:
            typer.echo("\nLearning curve below the check (what the projection rests on):\n"
                       + render_curve(outcome.analyses["curve"], unit_for_dataset(dataset)))  # fmt: skip
        costs = outcome.analyses.get("check_plan", {}).get("costs")
        if costs:
            typer.echo("\n" + render_costs(costs))
        typer.echo(f"\nresults: {out}/results.json, {out}/results.csv")
    every = (*outcome.trials, *outcome.curve_trials)
    if any(r.status == TrialStatus.FAILED for r in every) or outcome.status == RunStatus.FAILED:
        raise typer.Exit(code=1)


def _request(
    kind: str, dataset: str, arms: str, seeds: int, backbone: str, budget_seconds: float | None, device: str,
    settings: dict, sizes: tuple[int, ...], loaded: Advised | None, execution: dict | None = None,
) -> RunRequest:  # fmt: skip
    """Parse the options into a checked request (every trial validated before any work starts)."""
    try:
        arm_names = parse_arms(arms)
        runnable = [a for a in arm_names if a in ARMS]
        if not runnable:
            raise BenchInputError(f"--arms {arms}: no arm to run; choose from {', '.join(ARMS)}")
        base = TrialConfig(
            dataset, runnable[0], backbone=backbone, budget_seconds=budget_seconds, device=device, **settings
        )
        request = RunRequest(
            kind, base, arm_names, tuple(range(seeds)), sizes,
            advised=loaded.recommendation.strategy if loaded else None,
            target_examples=loaded.profile.labeled_examples if loaded else None,
            question=Question.from_profile(loaded.profile) if loaded else None, **(execution or {}),
        )  # fmt: skip
        validate_request(request)
    except BenchInputError as error:
        raise fail(worded(error)) from None
    return request


def _execute(
    request: RunRequest, loaded: Advised | None, out_text: str | None, overwrite: bool = False,
    profile_path: Path | None = None,
):  # fmt: skip
    """Record the request in the run store and run it through the one run path; the folder is an export."""
    from bench.runs.execute import create_run, execute_run  # deferred: imports torch
    from bench.runs.export import export_run  # deferred: imports scipy
    from bench.runs.worker import interrupt_on_sigterm  # deferred: imports torch

    try:
        out = out_folder(out_text)
        check_out_folder(out, overwrite)
        cache_dir()  # FOS_CACHE_DIR must be a usable folder before anything is stored
        store = RunStore()
        store.mark_interrupted()  # this command's earlier runs whose process died (as the app does on start)
        run_id = create_run(
            store, request, CLI_SESSION,
            loaded.profile.to_dict() if loaded else None, loaded.recommendation.to_dict() if loaded else None,
        )  # fmt: skip
    except BenchInputError as error:
        raise fail(worded(error)) from None
    typer.echo(f"run store: {store.path} (run {run_id})", err=True)
    interrupt_on_sigterm()
    try:
        outcome = execute_run(
            store, run_id, [ProgressPrinter(request.total_trials())], on_result=lambda _: export_run(store, run_id, out)
        )
    except BenchInputError as error:
        names = _Flags(time_budget_hours=f"--profile {profile_path}: time_budget_hours")
        raise fail(error.worded(names) if isinstance(error, FieldError) else str(error)) from None
    except KeyboardInterrupt:
        export_run(store, run_id, out)
        typer.echo(f"interrupted: finished trials are saved in {out} and run {run_id}", err=True)
        raise typer.Exit(code=130) from None
    export_run(store, run_id, out)
    facts = outcome.analyses.get("dataset", {})
    if facts.get("files_total") and facts.get("files_used") and facts["files_used"] < facts["files_total"]:
        typer.echo(f"data: decoded {facts['files_used']:,} of {facts['files_total']:,} files (a seeded stratified "
                   "subset: enough for the held-out splits and the largest training size)", err=True)  # fmt: skip
    for kind in ("skipped", "ignored"):
        for entry in facts.get(kind, []):
            typer.echo(f"data: {kind} {entry}", err=True)
    if outcome.status == RunStatus.FAILED:
        typer.echo(f"error: run {run_id} failed: {outcome.error}", err=True)
    return outcome, out


def out_folder(text: str | None) -> Path:
    """``--out`` as given: None means runs/<timestamp>; an empty or blank name is refused (not the current folder)."""
    if text is None:
        return _default_out()
    if not text.strip():
        raise BenchInputError(
            f"--out {text!r}: an empty folder name; give a folder for the results, e.g. --out runs/first"
        )
    return Path(text)


def check_out_folder(out: Path, overwrite: bool) -> None:
    """``--out`` must be a writable folder that holds no other run's results (unless --overwrite)."""
    if out.exists() and not out.is_dir():
        raise BenchInputError(f"--out {out}: is a file; expected a folder for the results (it is created if missing)")
    if (out / "results.json").exists() and not overwrite:
        raise BenchInputError(
            f"--out {out}: already holds the results of another run; choose a new folder, or pass --overwrite"
        )
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".write-test-{os.getpid()}"
        probe.write_text("")
        probe.unlink()
    except OSError as error:
        raise BenchInputError(f"--out {out}: cannot write there ({error.strerror}); choose a writable folder") from None


def worded(error: BenchInputError) -> str:
    """The message in the command line's words: a config field is named by its flag."""
    return error.worded(FLAGS) if isinstance(error, FieldError) else str(error)


def _default_out() -> Path:
    return Path("runs") / datetime.now().strftime("%Y%m%d-%H%M%S")


@dataclass(frozen=True)
class Advised:
    """A profile and its advice, computed once per command: the request's advised strategy and the
    stored recommendation come from the same call."""

    profile: Profile
    recommendation: Recommendation


def _load_profile(profile: Path | None) -> Advised | None:
    if profile is None:
        return None
    try:
        loaded = load_profile(profile)
    except ValueError as error:  # ProfileError names the field
        raise fail(f"--profile {profile}: {error}") from None
    return Advised(loaded, recommend(loaded))


def _parse_sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise fail(f"--sizes {text!r}: expected comma-separated integers, e.g. 100,300,1000,3000") from None
    if not sizes:
        raise fail("--sizes: empty; expected comma-separated integers, e.g. 100,300,1000,3000")
    return sizes


@app.command("curve")
def curve_command(
    dataset: Annotated[str, typer.Option(help=DATASET_HELP)] = "fashion-mnist",
    sizes: Annotated[str, typer.Option(help="Training sizes, increasing.")] = "100,300,1000,3000",
    arms: Annotated[str, typer.Option(help="Comma-separated arms.")] = DEFAULT_ARMS,
    seeds: Annotated[int, typer.Option(help="Seeds per arm and size.")] = 3,
    budget_seconds: Annotated[float, typer.Option(help="Training wall-clock per trial, seconds.")] = 5.0,
    until_converged: Annotated[bool, typer.Option(help="Ignore the budget; train until early stopping.")] = False,
    backbone: Annotated[str, typer.Option(help="Pretrained backbone.")] = "efficientnet_lite0",
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or mps.")] = "auto",
    unlabeled: Unlabeled = None,
    pretrain_seconds: PretrainSeconds = None,
    pretrain_objective: PretrainObjective = "simclr",
    executor: Executor = "local",
    address: Address = None,
    cpus_per_trial: CpusPerTrial = 1,
    out: Out = None,
    overwrite: Overwrite = False,
    profile: ProfileOption = None,
    text_column: TextColumn = None,
    label_column: LabelColumn = None,
    text_backbone: TextBackbone = "all-minilm-l6-v2",
    max_tokens: MaxTokens = 128,
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON on stdout.")] = False,
) -> Path:
    """Every arm at every size: learning curves, power-law fits, the crossover, LogME and a verdict."""
    from bench.evidence.verdict import render_verdict  # deferred: imports scipy

    loaded = _load_profile(profile)  # read once: the request's advice and the stored profile come from it
    request = _request("curve", dataset, arms, seeds, backbone, None if until_converged else budget_seconds, device,
                       {"unlabeled": unlabeled, "pretrain_seconds": pretrain_seconds,
                        "pretrain_objective": pretrain_objective, "text_column": text_column,
                        "label_column": label_column, "text_backbone": text_backbone, "max_tokens": max_tokens},
                       _parse_sizes(sizes), loaded,
                       {"executor": executor, "address": address, "cpus_per_trial": cpus_per_trial})  # fmt: skip
    outcome, out = _execute(request, loaded, out, overwrite)
    if as_json:
        typer.echo((out / "results.json").read_text())
        return out
    if "curve" in outcome.analyses:
        typer.echo(render_curve(outcome.analyses["curve"], unit_for_dataset(dataset)))
        typer.echo(f"\nTransferability: {outcome.analyses['transferability']['text']}")
    if outcome.verdict:
        typer.echo(f"\n(at {outcome.verdict['examples']} examples, the size closest to the profile's)\n"
                   + render_verdict(outcome.verdict, FLAGS))  # fmt: skip
    typer.echo(
        f"\nresults: {out}/results.json (charts: finetune-or-scratch report --run {outcome.run_id} --format html)"
    )
    return out


def render_curve(curve: dict, unit: ExampleUnit = IMAGES) -> str:
    """The stored curve analysis (``CurveResult.analysis()``) as a plain-text table, fits and crossover."""
    arms = list(dict.fromkeys(p["arm"] for p in curve["points"]))
    lines = [f"{'examples':>9}  " + "  ".join(f"{arm:>22}" for arm in arms) + "  winner"]
    by_key = {(p["arm"], p["examples"]): p for p in curve["points"]}
    for n, winner in sorted((int(k), v) for k, v in curve["winners"].items()):
        cells = []
        for arm in arms:
            p = by_key.get((arm, n))
            if p is None:
                cells.append(f"{'n/a':>22}")
            else:
                ci = f" [{p['ci95'][0]:.3f},{p['ci95'][1]:.3f}]" if p["ci95"] else ""
                cells.append(f"{p['mean']:.3f}{ci}".rjust(22))
        lines.append(f"{n:>9}  " + "  ".join(cells) + f"  {winner}")
    lines.append("")
    for fit in curve["fits"]:
        backtest = ""
        if fit["backtest_predicted"] is not None and fit["backtest_actual"] is not None:
            error = fit["backtest_predicted"] - fit["backtest_actual"]
            backtest = (f"; back-test at {fit['backtest_examples']}: predicted {fit['backtest_predicted']:.3f}, "
                        f"measured {fit['backtest_actual']:.3f} (error {error:+.3f})")  # fmt: skip
        lines.append(f"fit {fit['arm']}: acc(n) = {fit['a']:.3f} - {fit['b']:.3g} n^-{fit['c']:.3f}{backtest}")
    lines.append(f"\nCrossover: {curve['crossover']['text']}")
    hits = curve["cache_hits"]
    lines.append(
        f"cache: features encoded for {hits.get('images_encoded', 0):,} {unit.plural} (each once), served from cache "
        f"{hits.get('images_from_cache', 0):,} times; {hits.get('feature_cache_hits', 0)} probe trials fully cached; "
        f"staged data reused {hits.get('staged', 0)}x, pretrained weights reused {hits.get('model', 0)}x"
    )
    lines += [f"note: {note}" for note in curve["notes"]]
    return "\n".join(lines)


@app.command("verdict")
def verdict_command(
    profile: Annotated[Path, typer.Option(help="Questionnaire profile JSON.")],
    results: Annotated[Path, typer.Option(help="A results folder from bench run or bench curve.")],
    examples: Annotated[int | None, typer.Option(help="For curves: the size to judge (default: closest).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Compare the advisor's top strategy for PROFILE with the measured winner in RESULTS."""
    from bench.evidence.verdict import make_verdict, planned_seconds, render_verdict  # deferred: imports scipy
    from bench.runs.export import load_results  # deferred: imports scipy

    loaded = _load_profile(profile)
    try:
        data = load_results(results)
    except BenchInputError as error:
        raise fail(worded(error)) from None
    trials = at_check_size(data["trials"], data.get("check_plan"))  # a planned check's curve is not judged
    sizes = tuple(sorted({t.config.examples for t in trials if t.config.examples}))
    if len(sizes) > 1:
        size = judged_size(sizes, examples or loaded.profile.labeled_examples)
        trials = [t for t in trials if t.config.examples == size]
    stored = data.get("verdict") if isinstance(data.get("verdict"), dict) else {}
    # The question the run measured travels with it: a demo stays a demo when judged again.
    # So does its plan: judged again, the verdict's "give it N s" is the one the run's plan said before training.
    verdict = make_verdict(loaded.recommendation.strategy, trials, stored.get("question"), curve=data["trials"],
                           planned_seconds=planned_seconds(data["budget_plan"]))  # fmt: skip
    typer.echo(json.dumps(verdict.to_dict(), indent=2) if as_json else render_verdict(verdict.to_dict(), FLAGS))


@app.command("similarity")
def similarity_command(
    dataset: Annotated[str, typer.Option(help=DATASET_HELP)] = "fashion-mnist",
    backbone: Annotated[str, typer.Option(help="Pretrained backbone.")] = "efficientnet_lite0",
    examples: Annotated[int, typer.Option(help="Training examples to score.")] = 1000,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or mps.")] = "auto",
    text_column: TextColumn = None,
    label_column: LabelColumn = None,
    text_backbone: TextBackbone = "all-minilm-l6-v2",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """LogME transferability of the backbone on your data, and the domain_similarity it suggests."""
    from bench.evidence.logme import estimate_transferability  # deferred: imports torch
    from bench.evidence.text_transfer import estimate_text_transferability  # deferred: imports torch

    try:
        if is_text_dataset(dataset):
            result = estimate_text_transferability(dataset, text_backbone, examples=examples,
                                                   text_column=text_column, label_column=label_column)  # fmt: skip
        else:
            result = estimate_transferability(dataset, backbone, examples=examples, device_name=device)
    except BenchInputError as error:
        raise fail(worded(error)) from None
    payload = {**asdict(result), "gain": result.gain, "text": result.explain()}
    typer.echo(json.dumps(payload, indent=2) if as_json else result.explain())


@app.command("doctor")
def doctor_command(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Versions, device, whether the offline weights classify a real photo correctly, datasets present."""
    from bench.doctor import render_doctor, run_doctor  # deferred: imports torch

    report = run_doctor()
    typer.echo(json.dumps(report.to_dict(), indent=2) if as_json else render_doctor(report))
    if not report.ok:
        raise typer.Exit(code=1)


@app.command("perf")
def perf_command(
    dataset: Annotated[str, typer.Option(help="Dataset to measure on.")] = "fashion-mnist",
    examples: Annotated[int, typer.Option(help="Training examples.")] = 1000,
    backbone: Annotated[str, typer.Option(help="Pretrained backbone.")] = "efficientnet_lite0",
    resolution: Annotated[int | None, typer.Option(help="Input side in pixels; default the dataset's.")] = None,
    batch_size: Annotated[int, typer.Option(help="Batch size.")] = 64,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or mps.")] = "auto",
    budget_seconds: Annotated[float, typer.Option(help="Runner measurement length.")] = 10.0,
    steps: Annotated[int, typer.Option(help="Timed steps for the naive and raw measurements.")] = 30,
    arm: Annotated[
        str,
        typer.Option(
            help="Whose model: full_finetune (pretrained backbone) or scratch; text: one arm, default each "
            "text arm that trains."
        ),
    ] = "full_finetune",
    repeats: Annotated[int, typer.Option(help="Interleaved measurement rounds (mean ± std).")] = 3,
    text_backbone: TextBackbone = "all-minilm-l6-v2",
    max_tokens: MaxTokens = 128,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Runner vs naive pipeline vs raw forward+backward, side by side in one run; prints the ratios."""
    from bench.perf import render_perf, run_perf  # deferred: imports torch

    if is_text_dataset(dataset):
        _text_perf(dataset, examples, arm, batch_size, device, budget_seconds, repeats, max_tokens, text_backbone,
                   as_json, arm_given=arm != "full_finetune")  # fmt: skip
        return
    try:
        report = run_perf(
            dataset, examples, backbone, resolution, batch_size, device, budget_seconds, steps, arm, repeats
        )
    except BenchInputError as error:
        raise fail(worded(error)) from None
    typer.echo(json.dumps(report.to_dict(), indent=2) if as_json else render_perf(report))


def _text_perf(dataset, examples, arm, batch_size, device, budget_seconds, repeats, max_tokens, text_backbone,
               as_json, arm_given) -> None:  # fmt: skip
    """``perf`` on text: sentences/s of each text arm that trains, beside a plain encode loop."""
    from bench.perf_text import TEXT_PERF_ARMS, render_text_perf, run_text_perf  # deferred: imports torch

    try:
        report = run_text_perf(dataset, examples, (arm,) if arm_given else TEXT_PERF_ARMS, batch_size, device,
                               budget_seconds, repeats, max_tokens, text_backbone)  # fmt: skip
    except BenchInputError as error:
        raise fail(worded(error)) from None
    typer.echo(json.dumps(report.to_dict(), indent=2) if as_json else render_text_perf(report))


def main() -> None:
    app(prog_name="python -m bench")


if __name__ == "__main__":
    sys.exit(main())
