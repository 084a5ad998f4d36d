"""Every text arm on both built-in text sets and a CSV of one's own, through the CLI's real run path: one table each.

    python scripts/bench_text_arms.py [--examples 300] [--budget-seconds 20] [--seeds 1] [--max-tokens 128]
                                      [--datasets fortunes,code-snippets,csv] [--arms linear_probe,...]
                                      [--device auto] [--out DIR]

For each dataset it runs ``python -m finetune_or_scratch run --dataset D --arms ALL --examples N
--budget-seconds B --seeds S --json`` in a subprocess (the command a person types: loading,
planning, the trial loop, health, summary and export, nothing bypassed), with a fresh FOS_HOME and
FOS_CACHE_DIR under the output folder so no embedding or token cache from an earlier run is reused
and the person's run store is left alone. It then prints one Markdown table per dataset: arm, test
accuracy, optimiser steps, sentences/s, training seconds, encoding seconds (the probe's and SetFit's head's,
apart from training), how far past its budget the trial went beside its slowest step (#21: a budgeted arm
keeps its budget to one step, its warm-up step aside) and health, with the TF-IDF + logistic
regression baseline (fitted beside the scratch arms on the same training texts) as its own row.
Arms default to every arm measured on text (``arms_for(Modality.TEXT)``).

The CSV is written by this script: first paragraphs of the docstrings of functions and classes in
five packages of the running Python's standard library (asyncio, email, logging, unittest, xml;
tests left out), labelled by package, 20 to 300 characters, duplicates dropped, at most
PER_CLASS per package evenly spaced in sorted file order: English technical prose about code,
between the two built-ins. Quoted by the csv module, columns ``docstring`` and ``package`` passed
by --text-column / --label-column, as a person with their own file would. The same Python gives
the same file (its row count is printed).

A timing: run it alone on a quiet machine (the load average is printed with each table).
"""

from __future__ import annotations

import argparse
import ast
import csv
import json
import os
import re
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

from advisor.vocabulary import Modality
from bench.train.arms import arms_for
from bench.train.health import Finding, describe
from finetune_or_scratch.reports.words import arm_label

CSV_PACKAGES = ("asyncio", "email", "logging", "unittest", "xml")
PER_CLASS = 120
MIN_CHARS, MAX_CHARS = 20, 300


def docstrings(package: Path) -> list[str]:
    """First paragraphs of the package's function and class docstrings (tests left out), whitespace collapsed."""
    found: list[str] = []
    for path in sorted(package.rglob("*.py")):
        if "test" in path.parts or "tests" in path.parts:
            continue
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, OSError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                text = re.sub(r"\s+", " ", (ast.get_docstring(node) or "").split("\n\n")[0]).strip()
                if MIN_CHARS <= len(text) <= MAX_CHARS:
                    found.append(text)
    return list(dict.fromkeys(found))


def evenly(items: list[str], count: int) -> list[str]:
    step = max(1.0, len(items) / count)
    return [items[int(i * step)] for i in range(min(count, len(items)))]


def write_csv(folder: Path) -> Path:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    path = folder / "stdlib-docstrings.csv"
    rows = [(text, name) for name in CSV_PACKAGES for text in evenly(docstrings(stdlib / name), PER_CLASS)]
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["docstring", "package"])
        writer.writerows(rows)
    print(f"CSV: {path}: {len(rows)} docstrings of Python {sys.version.split()[0]}'s {', '.join(CSV_PACKAGES)}")
    return path


def run(dataset: str, extra: list[str], args, folder: Path) -> dict:
    """One CLI run; returns its results.json."""
    command = [sys.executable, "-m", "finetune_or_scratch", "run", "--dataset", dataset, "--arms", ",".join(args.arms),
               "--examples", str(args.examples), "--budget-seconds", f"{args.budget_seconds:g}", "--seeds",
               str(args.seeds), "--max-tokens", str(args.max_tokens), "--device", args.device,
               "--out", str(folder / "results"), "--json", *extra]  # fmt: skip
    env = {**os.environ, "FOS_HOME": str(folder / "home"), "FOS_CACHE_DIR": str(folder / "cache")}
    print("$", " ".join(command[1:]), file=sys.stderr)
    started = time.monotonic()
    done = subprocess.run(command, env=env, stdout=subprocess.PIPE, text=True)  # progress goes to stderr as is
    print(f"  {time.monotonic() - started:.0f} s, exit {done.returncode}", file=sys.stderr)
    results = folder / "results" / "results.json"
    if not results.exists():
        raise SystemExit(f"{dataset}: the run wrote no results (exit {done.returncode})")
    return json.loads(results.read_text())


def health_words(trials: list[dict]) -> str:
    """Each trial's health in a few words: learned or not, and the findings that mark it undertrained."""
    words = []
    for trial in trials:
        if trial.get("status") != "completed":
            words.append(trial.get("status", "?"))
            continue
        health = trial.get("health") or {}
        said = "learned" if health.get("learned") else "did not learn"
        findings = [describe(Finding.from_dict(f)) for f in health.get("findings", [])]
        words.append("; ".join([said, *findings]) if health.get("undertrained") else said)
    return " / ".join(dict.fromkeys(words)) or "n/a"


def overrun(trials: list[dict]) -> str:
    """The most a trial's budgeted time (pretraining, training and encoding) went past its budget, beside the
    slowest step it may go past by (the warm-up step aside): "0.0" when it kept the budget."""
    worst = None
    for trial in trials:
        budget = (trial.get("config") or {}).get("budget_seconds")
        if trial.get("status") != "completed" or budget is None:
            continue
        spent = trial.get("time_pretrain_s", 0.0) + trial.get("time_train_s", 0.0) + trial.get("time_features_s", 0.0)
        step = max(
            trial.get(k, 0.0) for k in ("time_slowest_step_s", "time_first_step_s", "time_pretrain_first_step_s")
        )
        over = max(0.0, spent - budget)
        if worst is None or over > worst[0]:
            worst = (over, step)
    return "n/a" if worst is None else f"{worst[0]:.1f} (one step {worst[1]:.1f})"


def _num(value, digits: int) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def table(name: str, results: dict) -> str:
    lines = [f"### {name}", "",
             "| arm | test accuracy | steps | sentences/s | training s | encoding s | over budget s | health |",
             "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    trials = results.get("trials", [])
    for s in results.get("summary", []):
        accuracy = _num(s.get("accuracy_mean"), 3) + (f" ± {s['accuracy_std']:.3f}" if s.get("accuracy_std") else "")
        own = [t for t in trials if (t.get("config") or {}).get("arm") == s["arm"]]
        lines.append(f"| {arm_label(s['arm'])} | {accuracy} | {_num(s.get('steps_mean'), 0)} | "
                     f"{_num(s.get('images_per_second_mean'), 0)} | {_num(s.get('train_seconds_mean'), 1)} | "
                     f"{_num(s.get('features_seconds_mean'), 1)} | {overrun(own)} | {health_words(own)} |")  # fmt: skip
    for s in results.get("summary", []):
        if s.get("baseline_accuracy_mean") is not None:
            lines.append(f"| baseline beside {arm_label(s['arm'])}: {s.get('baseline')} | "
                         f"{s['baseline_accuracy_mean']:.3f} | | | | | | |")  # fmt: skip
    verdict = (results.get("verdict") or {}).get("summary")
    test = max((s.get("test_examples") or 0 for s in results.get("summary", [])), default=0)
    lines += ["", f"Test split: {test:,} texts. Load average {os.getloadavg()[0]:.1f} at the end."]
    if verdict:
        lines.append(f"Verdict: {verdict}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=300, help="training texts per dataset (default 300)")
    parser.add_argument("--budget-seconds", type=float, default=20.0, help="training seconds per trial (default 20)")
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--datasets", default="fortunes,code-snippets,csv", help="built-in names and/or 'csv'")
    parser.add_argument("--arms", default=",".join(arms_for(Modality.TEXT)))
    parser.add_argument("--out", type=Path, default=None, help="folder for every run (default: a temporary one)")
    args = parser.parse_args()
    args.arms = [a.strip() for a in args.arms.split(",") if a.strip()]
    out = args.out or Path(tempfile.mkdtemp(prefix="bench-text-arms-"))
    out.mkdir(parents=True, exist_ok=True)
    print(f"runs in {out}; {args.examples} examples, {args.budget_seconds:g} s per trial, {args.seeds} seed(s), "
          f"{args.max_tokens} tokens, device {args.device}; arms: {', '.join(args.arms)}\n")  # fmt: skip
    for dataset in [d.strip() for d in args.datasets.split(",") if d.strip()]:
        folder = out / dataset
        folder.mkdir(exist_ok=True)
        if dataset == "csv":
            source = write_csv(folder)
            results = run(str(source), ["--text-column", "docstring", "--label-column", "package"], args, folder)
            name = f"{source.name} (a CSV of one's own)"
        else:
            results = run(dataset, [], args, folder)
            name = dataset
        print(table(name, results) + "\n", flush=True)


if __name__ == "__main__":
    main()
