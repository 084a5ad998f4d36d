"""``finetune-or-scratch``: one command for everything, the advisor's and the benchmark's subcommands.

``python -m advisor`` and ``python -m bench`` keep working; this command adds ``report`` (a stored
run as Markdown, HTML or JSON) and ``app`` (the Streamlit app, from any folder, like ``mlflow ui``).
A subcommand's heavy modules (torch for training, altair for charts) load only when it runs.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from advisor import cli as advisor_cli
from advisor.clitools import fail, make_app
from advisor.profile import profile_from_mapping
from bench import cli as bench_cli
from bench.runs.store import MOVE_IT, RunStore, StoreError

app = make_app("Fine-tune or scratch? Advice from a questionnaire, checked by real training runs.")

for name, command in (
    ("recommend", advisor_cli.recommend_command),
    ("fields", advisor_cli.fields_command),
    ("run", bench_cli.run_command),
    ("verdict", bench_cli.verdict_command),
    ("similarity", bench_cli.similarity_command),
    ("doctor", bench_cli.doctor_command),
    ("perf", bench_cli.perf_command),
):
    app.command(name)(command)

APP_SCRIPT = Path(__file__).resolve().parent / "app" / "streamlit_app.py"
# The app's server settings travel with the command, so it behaves the same from any folder.
SERVER_SETTINGS = {
    "server.headless": "true",
    "server.maxUploadSize": os.environ.get("FOS_MAX_UPLOAD_MB", "200"),
    "browser.gatherUsageStats": "false",
    "theme.base": "light",
    "client.showErrorDetails": "none",
    "client.toolbarMode": "viewer",
    # A served app, not a development session: no source watching, and no full garbage collection
    # after every script run (the run panel reruns each second; a full collection of the heap the
    # data stack brings took about 0.7 s of a core each time, starving the worker that trains).
    "server.fileWatcherType": "none",
    "runner.postScriptGC": "false",
}


@app.command("curve")
@functools.wraps(bench_cli.curve_command)
def curve_command(**options) -> None:
    """``bench curve``, then the learning-curve chart beside the results (curve.svg, curve.vl.json)."""
    from finetune_or_scratch.reports.charts import curve_chart, to_svg  # deferred: imports altair

    out = bench_cli.curve_command(**options)
    curve = json.loads((out / "results.json").read_text()).get("curve")
    if curve:
        spec = curve_chart(curve).to_dict()
        (out / "curve.vl.json").write_text(json.dumps(spec, indent=2))
        (out / "curve.svg").write_text(to_svg(spec))


@app.command("report")
def report_command(
    run: Annotated[str, typer.Option(help="Run id (see the app's History page, or the run line a command prints).")],
    fmt: Annotated[str, typer.Option("--format", help="md, html or json.")] = "md",
    out: Annotated[Path | None, typer.Option(help="Output file; default: print to stdout.")] = None,
    db: Annotated[Path | None, typer.Option(help="Run store; default $FOS_HOME/runs.db or ~/.local/share/...")] = None,
) -> None:
    """Write the report of a stored run: the same report the app downloads."""
    from finetune_or_scratch.reports.report import FORMATS  # deferred: imports altair

    if fmt not in FORMATS:
        raise fail(f"--format {fmt!r}: expected one of {', '.join(FORMATS)}")
    if db is not None and not db.is_file():
        raise fail(f"--db {db}: no such run store file")
    if out is not None and out.is_dir():
        raise fail(f"--out {out}: is a folder; expected a file name such as report.{fmt}")
    try:
        store = RunStore(db)
        record = store.run(run)
        if record is None:
            known = ", ".join(r.id for r in store.runs(limit=5)) or "none yet"
            raise fail(f"--run {run}: not in {store.path} (latest runs: {known})")
        answers = store.profile(record.profile_id) if record.profile_id else None
        recommendation = store.recommendation(record.profile_id) if record.profile_id else None
        if answers is None or recommendation is None:
            raise fail(f"--run {run}: has no stored profile; pass --profile to run or curve, or start it from the app")
        text = _stored_report(store, record, answers, recommendation, fmt)
    except StoreError as error:
        raise fail(str(error)) from None
    if out is None:
        typer.echo(text)
        return
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as error:
        raise fail(f"--out {out}: cannot write ({error.strerror})") from None
    try:
        store.save_report(record.id, fmt, text)
    except StoreError as error:
        raise fail(str(error)) from None
    typer.echo(f"wrote {out}")


def _stored_report(store: RunStore, record, answers: dict, recommendation: dict, fmt: str) -> str:
    """The report of a stored run; every stored part is checked, and a damaged one names its row."""
    try:
        profile_from_mapping(answers)
    except ValueError as error:
        raise StoreError(
            f"run store {store.path}, table profiles, row {record.profile_id}: {error}; {MOVE_IT}"
        ) from None
    from bench.runs.export import stored_trials  # deferred: imports scipy
    from finetune_or_scratch.reports.report import build_report, render  # deferred: imports altair

    trials = [trial.to_dict() for trial in stored_trials(store, record.id)]
    try:
        report = build_report(
            answers,
            recommendation,
            run=record.describe(),
            trials=trials,
            verdict=store.verdict(record.id),
            analyses=record.analyses,
        )
        return render(report, fmt)
    except (KeyError, TypeError, ValueError, AttributeError) as error:  # a stored body of the wrong shape
        raise StoreError(
            f"run store {store.path}, run {record.id}: its stored recommendation, verdict or analyses are not what "
            f"this program wrote ({type(error).__name__}: {error}); {MOVE_IT}"
        ) from None


@app.command("app")
def app_command(
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8501,
    address: Annotated[str, typer.Option(help="Address to listen on (0.0.0.0 for every interface).")] = "localhost",
) -> None:
    """Start the Streamlit app (questionnaire, validation runs, verdicts, reports) from any folder."""
    if not 1 <= port <= 65535:
        raise fail(f"--port: expected an integer in 1..65535; got {port}")
    flags = [f"--{key}={value}" for key, value in {**SERVER_SETTINGS, "server.port": port,
                                                     "server.address": address}.items()]  # fmt: skip
    typer.echo(f"Fine-tune or scratch? at http://{address}:{port}", err=True)
    # `streamlit run`, with the first pages' modules imported before the server listens (app/serve.py).
    os.execv(sys.executable, [sys.executable, "-m", "finetune_or_scratch.app.serve", str(APP_SCRIPT), *flags])


def main() -> None:
    app(prog_name="finetune-or-scratch")


if __name__ == "__main__":
    main()
