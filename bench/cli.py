"""``python -m bench``: run comparisons, check the machine, measure throughput.

Bad input prints one message naming the option or file and exits 2; never a traceback.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from bench.arms import ARMS, NOT_BENCHMARKED, parse_arms
from bench.errors import BenchInputError
from bench.results import ResultsDir, render_table, summarise
from bench.suite import SuiteConfig, run_suite, validate_suite
from bench.trial import Callback, EpochRecord, TrialConfig, TrialResult, TrialState

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    help="Fine-tune vs scratch trials on real data, offline, on GPU or CPU.",
)

DEFAULT_ARMS = "linear_probe,full_finetune,scratch"


def fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=2)


class ProgressPrinter(Callback):
    """One line per evaluation and per finished trial, on stderr (stdout stays clean for --json)."""

    def __init__(self, total_trials: int):
        self.total, self.done = total_trials, 0

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
    dataset: Annotated[str, typer.Option(help="digits, fashion-mnist, fashion-mnist-full, or a folder / .zip")] = (
        "fashion-mnist"
    ),
    examples: Annotated[int | None, typer.Option(help="Training examples (stratified subsample); default all.")] = 1000,
    arms: Annotated[str, typer.Option(help=f"Comma-separated: {', '.join([*ARMS, *NOT_BENCHMARKED])}.")] = DEFAULT_ARMS,
    seeds: Annotated[int, typer.Option(help="Seeds per arm (0..K-1).")] = 1,
    budget_seconds: Annotated[float, typer.Option(help="Training wall-clock per trial, seconds.")] = 20.0,
    until_converged: Annotated[bool, typer.Option(help="Ignore the budget; train until early stopping.")] = False,
    max_epochs: Annotated[int, typer.Option(help="Epoch cap with --until-converged.")] = 30,
    backbone: Annotated[str, typer.Option(help="Pretrained backbone for fine-tune arms.")] = "efficientnet_lite0",
    resolution: Annotated[int | None, typer.Option(help="Input side for the pretrained model (pixels).")] = None,
    batch_size: Annotated[int, typer.Option(help="Batch size.")] = 64,
    device: Annotated[str, typer.Option(help="auto (CUDA, then MPS, then CPU), cpu, cuda or mps.")] = "auto",
    out: Annotated[Path | None, typer.Option(help="Results folder; default runs/<timestamp>.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON on stdout.")] = False,
) -> None:
    """Train every arm on the same data and budget; print and save mean and spread over seeds."""
    if seeds < 1 or seeds > 100:
        raise fail(f"--seeds: expected an integer in 1..100; got {seeds}")
    try:
        arm_names = parse_arms(arms)
        if all(a in NOT_BENCHMARKED for a in arm_names):
            raise BenchInputError(f"--arms {arms}: no arm to run; choose from {', '.join(ARMS)}")
        base = TrialConfig(
            dataset=dataset,
            arm=next((a for a in arm_names if a in ARMS), "linear_probe"),
            backbone=backbone,
            examples=examples,
            budget_seconds=None if until_converged else budget_seconds,
            max_epochs=max_epochs,
            batch_size=batch_size,
            resolution=resolution,
            device=device,
        )
        config = SuiteConfig(base, arm_names, tuple(range(seeds)))
        validate_suite(config)
        out = out or Path("runs") / datetime.now().strftime("%Y%m%d-%H%M%S")
        writer = ResultsDir(out, config.to_dict())
        for arm, reason in config.skipped_arms.items():
            typer.echo(f"note: {arm} {reason}", err=True)
        progress = ProgressPrinter(len(config.trial_configs()))
        results = run_suite(config, [progress], on_result=writer.add)
    except BenchInputError as error:
        raise fail(str(error)) from None
    except KeyboardInterrupt:
        typer.echo("interrupted: finished trials are saved", err=True)
        raise typer.Exit(code=130) from None
    summaries = summarise(results)
    if as_json:
        typer.echo((out / "results.json").read_text())
    else:
        typer.echo(render_table(summaries))
        typer.echo(f"\nresults: {out}/results.json, {out}/results.csv")
    if any(r.status == "failed" for r in results):
        raise typer.Exit(code=1)


@app.command("doctor")
def doctor_command(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Versions, device, whether the offline weights classify a real photo correctly, datasets present."""
    from bench.doctor import render_doctor, run_doctor

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
    arm: Annotated[str, typer.Option(help="Whose model: full_finetune (pretrained backbone) or scratch.")] = (
        "full_finetune"
    ),
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Runner vs naive pipeline vs raw forward+backward, side by side in one run; prints the ratios."""
    from bench.perf import render_perf, run_perf

    try:
        report = run_perf(dataset, examples, backbone, resolution, batch_size, device, budget_seconds, steps, arm)
    except BenchInputError as error:
        raise fail(str(error)) from None
    typer.echo(json.dumps(report.to_dict(), indent=2) if as_json else render_perf(report))


def main() -> None:
    app(prog_name="python -m bench")


if __name__ == "__main__":
    sys.exit(main())
