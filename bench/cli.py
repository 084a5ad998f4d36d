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

from advisor.clitools import fail, make_app
from bench.arms import ARMS, NOT_BENCHMARKED, parse_arms
from bench.errors import BenchInputError
from bench.jobs import RunRequest
from bench.recording import StoreRecorder, run_analyses
from bench.results import ResultsDir, render_table, summarise
from bench.suite import SuiteConfig, run_suite, validate_suite
from bench.trial import Callback, EpochRecord, TrialConfig, TrialResult, TrialState
from bench.verdict import make_verdict, render_verdict

app = make_app("Fine-tune vs scratch trials on real data, offline, on GPU or CPU.")

DEFAULT_ARMS = "linear_probe,full_finetune,scratch"


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
    profile: Annotated[Path | None, typer.Option(help="Questionnaire profile: adds a verdict on its advice.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON on stdout.")] = False,
) -> None:
    """Train every arm on the same data and budget; print and save mean and spread over seeds."""
    if seeds < 1 or seeds > 100:
        raise fail(f"--seeds: expected an integer in 1..100; got {seeds}")
    try:
        arm_names, base = _base_config(
            dataset, arms, backbone, None if until_converged else budget_seconds, device,
            examples=examples, max_epochs=max_epochs, batch_size=batch_size, resolution=resolution,
        )  # fmt: skip
        config = SuiteConfig(base, arm_names, tuple(range(seeds)))
        validate_suite(config)
        advised = _advised_strategy(profile)
        out = out or _default_out()
        writer = ResultsDir(out, config.to_dict())
        recorder = _recorder("run", RunRequest("run", base, arm_names, config.seeds, advised=advised), profile)
        for arm, reason in config.skipped_arms.items():
            typer.echo(f"note: {arm} {reason}", err=True)
        progress = ProgressPrinter(len(config.trial_configs()))
        results = run_suite(config, [progress], on_result=_both(writer.add, recorder.add))
    except BenchInputError as error:
        raise fail(str(error)) from None
    except KeyboardInterrupt:
        recorder.interrupted()
        typer.echo("interrupted: finished trials are saved", err=True)
        raise typer.Exit(code=130) from None
    summaries = summarise(results)
    verdict = make_verdict(advised, results) if advised else None
    if verdict:
        writer.add_extra("verdict", verdict.to_dict())
    recorder.finish(results, run_analyses(results), verdict.to_dict() if verdict else None)
    typer.echo(f"run store: {recorder.store.path} (run {recorder.run_id})", err=True)
    if as_json:
        typer.echo((out / "results.json").read_text())
    else:
        typer.echo(render_table(summaries))
        if verdict:
            typer.echo("\n" + render_verdict(verdict))
        typer.echo(f"\nresults: {out}/results.json, {out}/results.csv")
    if any(r.status == "failed" for r in results):
        raise typer.Exit(code=1)


def _base_config(
    dataset: str, arms: str, backbone: str, budget_seconds: float | None, device: str, **settings
) -> tuple[tuple[str, ...], TrialConfig]:
    """Parse ``--arms`` and build the settings every trial shares (``arm`` is filled per trial)."""
    arm_names = parse_arms(arms)
    runnable = [a for a in arm_names if a in ARMS]
    if not runnable:
        raise BenchInputError(f"--arms {arms}: no arm to run; choose from {', '.join(ARMS)}")
    base = TrialConfig(
        dataset, runnable[0], backbone=backbone, budget_seconds=budget_seconds, device=device, **settings
    )
    return arm_names, base


def _recorder(kind: str, request: RunRequest, profile: Path | None) -> StoreRecorder:
    """Record this command's run in the app's run store (History and `advisor report` read it)."""
    answers = recommendation = None
    if profile is not None:
        from advisor import load_profile, recommend

        loaded = load_profile(profile)
        answers, recommendation = loaded.to_dict(), recommend(loaded).to_dict()
    return StoreRecorder(kind, request.to_dict(), answers, recommendation)


def _both(*sinks):
    def save(result: TrialResult) -> None:
        for sink in sinks:
            sink(result)

    return save


def _default_out() -> Path:
    return Path("runs") / datetime.now().strftime("%Y%m%d-%H%M%S")


def _advised_strategy(profile: Path | None) -> str | None:
    if profile is None:
        return None
    from advisor import load_profile, recommend

    try:
        return recommend(load_profile(profile)).strategy
    except ValueError as error:  # ProfileError names the field
        raise BenchInputError(f"--profile {profile}: {error}") from None


def _parse_sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise BenchInputError(f"--sizes {text!r}: expected comma-separated integers, e.g. 100,300,1000,3000") from None
    if not sizes:
        raise BenchInputError("--sizes: empty; expected comma-separated integers, e.g. 100,300,1000,3000")
    return sizes


@app.command("curve")
def curve_command(
    dataset: Annotated[str, typer.Option(help="digits, fashion-mnist, fashion-mnist-full, or a folder / .zip")] = (
        "fashion-mnist"
    ),
    sizes: Annotated[str, typer.Option(help="Training sizes, increasing.")] = "100,300,1000,3000",
    arms: Annotated[str, typer.Option(help="Comma-separated arms.")] = DEFAULT_ARMS,
    seeds: Annotated[int, typer.Option(help="Seeds per arm and size.")] = 3,
    budget_seconds: Annotated[float, typer.Option(help="Training wall-clock per trial, seconds.")] = 5.0,
    until_converged: Annotated[bool, typer.Option(help="Ignore the budget; train until early stopping.")] = False,
    backbone: Annotated[str, typer.Option(help="Pretrained backbone.")] = "efficientnet_lite0",
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or mps.")] = "auto",
    out: Annotated[Path | None, typer.Option(help="Results folder; default runs/<timestamp>.")] = None,
    profile: Annotated[Path | None, typer.Option(help="Questionnaire profile: adds a verdict on its advice.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON on stdout.")] = False,
) -> None:
    """Every arm at every size: learning curves, power-law fits, the crossover, LogME and a verdict."""
    from bench.cache import TrialCache
    from bench.curve import CurveConfig, run_curve
    from bench.logme import estimate_transferability

    if seeds < 1 or seeds > 100:
        raise fail(f"--seeds: expected an integer in 1..100; got {seeds}")
    try:
        arm_names, base = _base_config(dataset, arms, backbone, None if until_converged else budget_seconds, device)
        config = CurveConfig(base, arm_names, _parse_sizes(sizes), tuple(range(seeds)))
        advised = _advised_strategy(profile)
        out = out or _default_out()
        writer = ResultsDir(out, config.to_dict(), kind="curve")
        cache = TrialCache()
        progress = ProgressPrinter(len(config.trial_configs()))
        request = RunRequest("curve", base, arm_names, config.seeds, config.sizes, advised)
        recorder = _recorder("curve", request, profile)
        curve = run_curve(config, [progress], on_result=_both(writer.add, recorder.add), cache=cache)
        transfer = estimate_transferability(
            dataset, backbone, examples=max(config.sizes), device_name=device, cache=cache
        )
    except BenchInputError as error:
        raise fail(str(error)) from None
    except KeyboardInterrupt:
        recorder.interrupted()
        typer.echo("interrupted: finished trials are saved", err=True)
        raise typer.Exit(code=130) from None
    analyses = run_analyses(list(curve.trials), curve)
    writer.add_extra("curve", analyses["curve"])
    writer.add_extra("transferability", {**transfer.__dict__, "gain": transfer.gain, "text": transfer.explain()})
    verdict = None
    if advised:
        closest = min(config.sizes, key=lambda n: abs(n - _profile_examples(profile)))
        verdict = make_verdict(advised, [t for t in curve.trials if t.config.examples == closest])
        writer.add_extra("verdict", verdict.to_dict())
    recorder.finish(list(curve.trials), analyses, verdict.to_dict() if verdict else None)
    typer.echo(f"run store: {recorder.store.path} (run {recorder.run_id})", err=True)
    (out / "curve.vl.json").write_text(json.dumps(analyses["curve_chart"], indent=2))
    _save_svg(analyses["curve_chart"], out / "curve.svg")
    if as_json:
        typer.echo((out / "results.json").read_text())
        return
    typer.echo(render_curve(curve))
    typer.echo(f"\nTransferability: {transfer.explain()}")
    if verdict:
        typer.echo(f"\n(at {verdict.examples} examples, the size closest to the profile's)\n" + render_verdict(verdict))
    typer.echo(f"\nresults: {out}/results.json, {out}/curve.svg")


def _profile_examples(profile: Path) -> int:
    from advisor import load_profile

    return load_profile(profile).labeled_examples


def _save_svg(spec: dict, path: Path) -> None:
    from advisor.charts import to_svg

    try:
        path.write_text(to_svg(spec))
    except Exception as error:  # the chart is optional; the data is in results.json
        typer.echo(f"note: chart not rendered ({error})", err=True)


def render_curve(curve) -> str:
    lines = [f"{'examples':>9}  " + "  ".join(f"{arm:>22}" for arm in _arms_in(curve)) + "  winner"]
    winners = curve.winners()
    by_key = {(p.arm, p.examples): p for p in curve.points}
    for n in sorted(winners):
        cells = []
        for arm in _arms_in(curve):
            p = by_key.get((arm, n))
            if p is None:
                cells.append(f"{'n/a':>22}")
            else:
                ci = f" [{p.ci95[0]:.3f},{p.ci95[1]:.3f}]" if p.ci95 else ""
                cells.append(f"{p.mean:.3f}{ci}".rjust(22))
        lines.append(f"{n:>9}  " + "  ".join(cells) + f"  {winners[n]}")
    lines.append("")
    for fit in curve.fits:
        backtest = (
            f"; back-test at {fit.backtest_examples}: predicted {fit.backtest_predicted:.3f}, "
            f"measured {fit.backtest_actual:.3f} (error {fit.backtest_error:+.3f})"
            if fit.backtest_error is not None
            else ""
        )
        lines.append(f"fit {fit.arm}: acc(n) = {fit.a:.3f} - {fit.b:.3g} n^-{fit.c:.3f}{backtest}")
    lines.append(f"\nCrossover: {curve.crossover.text}")
    hits = curve.cache_hits
    lines.append(
        f"cache: features encoded for {hits.get('images_encoded', 0):,} images (each once), served from cache "
        f"{hits.get('images_from_cache', 0):,} times; {hits.get('feature_cache_hits', 0)} probe trials fully cached; "
        f"staged data reused {hits.get('staged', 0)}x, pretrained weights reused {hits.get('model', 0)}x"
    )
    lines += [f"note: {note}" for note in curve.notes]
    return "\n".join(lines)


def _arms_in(curve) -> list[str]:
    return list(dict.fromkeys(p.arm for p in curve.points))


@app.command("verdict")
def verdict_command(
    profile: Annotated[Path, typer.Option(help="Questionnaire profile JSON.")],
    results: Annotated[Path, typer.Option(help="A results folder from bench run or bench curve.")],
    examples: Annotated[int | None, typer.Option(help="For curves: the size to judge (default: closest).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Compare the advisor's top strategy for PROFILE with the measured winner in RESULTS."""
    from bench.results import load_results

    try:
        advised = _advised_strategy(profile)
        data = load_results(results)
    except BenchInputError as error:
        raise fail(str(error)) from None
    trials = data["trials"]
    sizes = sorted({t.config.examples for t in trials if t.config.examples})
    if len(sizes) > 1:
        target = examples or _profile_examples(profile)
        chosen = min(sizes, key=lambda n: abs(n - target))
        trials = [t for t in trials if t.config.examples == chosen]
    verdict = make_verdict(advised, trials)
    typer.echo(json.dumps(verdict.to_dict(), indent=2) if as_json else render_verdict(verdict))


@app.command("similarity")
def similarity_command(
    dataset: Annotated[str, typer.Option(help="Dataset name, folder or .zip.")] = "fashion-mnist",
    backbone: Annotated[str, typer.Option(help="Pretrained backbone.")] = "efficientnet_lite0",
    examples: Annotated[int, typer.Option(help="Training examples to score.")] = 1000,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or mps.")] = "auto",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """LogME transferability of the backbone on your data, and the domain_similarity it suggests."""
    from bench.logme import estimate_transferability

    try:
        result = estimate_transferability(dataset, backbone, examples=examples, device_name=device)
    except BenchInputError as error:
        raise fail(str(error)) from None
    payload = {**result.__dict__, "gain": result.gain, "text": result.explain()}
    typer.echo(json.dumps(payload, indent=2) if as_json else result.explain())


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
    repeats: Annotated[int, typer.Option(help="Interleaved measurement rounds (mean ± std).")] = 3,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Runner vs naive pipeline vs raw forward+backward, side by side in one run; prints the ratios."""
    from bench.perf import render_perf, run_perf

    try:
        report = run_perf(
            dataset, examples, backbone, resolution, batch_size, device, budget_seconds, steps, arm, repeats
        )
    except BenchInputError as error:
        raise fail(str(error)) from None
    typer.echo(json.dumps(report.to_dict(), indent=2) if as_json else render_perf(report))


def main() -> None:
    app(prog_name="python -m bench")


if __name__ == "__main__":
    sys.exit(main())
