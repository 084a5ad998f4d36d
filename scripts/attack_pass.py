"""The attack table of issue 20, rerun as a new user would: each case a fresh ``finetune-or-scratch`` process.

Every case runs in a scratch folder with its own FOS_HOME and FOS_CACHE_DIR, under a timeout (a case
past it is a hang), and gets a verdict:

* ``handled``: the expected refusal (exit 2, the expected words, no traceback) or the expected result;
* ``traceback``: Python's traceback on stderr;
* ``hang``: still running at the timeout;
* ``accepted-but-wrong``: it exited 0 (or with the wrong words) where it should have refused, or the
  result is wrong (a 16-bit set whose classes merge, a report without its skipped file, a cache filled
  past the zip ratio, a doctor that opens a socket).

Each case is also a test in the suite (tests/bench/test_cli.py, test_images.py, test_archives.py,
tests/app/test_store.py, test_report.py). Run it on a quiet machine (it starts a few torch processes,
one at a time):

    python scripts/attack_pass.py            # the table, then counts per category
    python scripts/attack_pass.py --only "Two first runs"
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the stored trials this script writes come from this checkout, as the CLI it runs
CLI = [sys.executable, "-m", "finetune_or_scratch"]
from tests.bench.hostile import stored_trial, write_results  # noqa: E402  (after the path: the suite's own attack inputs)

PROFILE = str(ROOT / "advisor" / "data" / "profiles" / "small_similar.json")


@dataclass
class Outcome:
    code: int | None  # None: killed at the timeout
    stdout: str
    stderr: str
    seconds: float

    @property
    def first_line(self) -> str:
        lines = [line for line in (self.stderr + "\n" + self.stdout).splitlines() if line.strip()]
        errors = [line for line in lines if line.startswith(("error", "Error"))]
        return (errors or lines or [""])[0].strip()


@dataclass
class Case:
    category: str
    name: str
    run: Callable[[Path], tuple[Outcome, str | None]]  # (outcome, what was wrong; None: handled)


def cli(args: list[str], scratch: Path, timeout: float = 300, env: dict | None = None, cwd: Path | None = None,
        prefix: list[str] | None = None) -> Outcome:  # fmt: skip
    environment = os.environ | {"FOS_HOME": str(scratch / "home"), "FOS_CACHE_DIR": str(scratch / "cache"),
                                "PYTHONPATH": str(ROOT)} | (env or {})  # fmt: skip
    started = time.perf_counter()
    command = (prefix or CLI) + [str(a) for a in args]
    try:
        done = subprocess.run(command, cwd=cwd or scratch, env=environment, capture_output=True, text=True,
                              timeout=timeout)  # fmt: skip
        return Outcome(done.returncode, done.stdout, done.stderr, time.perf_counter() - started)
    except subprocess.TimeoutExpired as expired:
        text = lambda b: b.decode() if isinstance(b, bytes) else (b or "")  # noqa: E731
        return Outcome(None, text(expired.stdout), text(expired.stderr), time.perf_counter() - started)


def refusal(args: list[str], words: str, timeout: float = 300, **options) -> Callable:
    """A case that must exit 2 naming ``words`` (a regular expression)."""

    def run(scratch: Path) -> tuple[Outcome, str | None]:
        resolved = [a(scratch) if callable(a) else a for a in args]
        outcome = cli(resolved, scratch, timeout, **{k: v(scratch) if callable(v) else v for k, v in options.items()})
        if outcome.code is None or "Traceback" in outcome.stderr:
            return outcome, None  # judged as a hang or a traceback
        if outcome.code != 2 or not re.search(words, outcome.stderr):
            return outcome, f"expected exit 2 and /{words}/"
        return outcome, None

    return run


# ---- builders: each writes what its case needs into the scratch folder and returns the path ----


def results(text: str | None = None, link: str | None = None, fifo: bool = False) -> Callable[[Path], Path]:
    return lambda scratch: write_results(scratch / "results", text, link, fifo)


def damaged_store(damage: str) -> Callable[[Path], Path]:
    def build(scratch: Path) -> Path:
        import sqlite3

        home = scratch / "home"
        home.mkdir(parents=True, exist_ok=True)
        if damage == "no_tables":
            with sqlite3.connect(home / "runs.db", isolation_level=None) as db:
                db.execute("PRAGMA user_version = 2")
            return home
        from bench.runs.store import RunStore  # deferred: the store as a run leaves it

        store = RunStore(home / "runs.db")
        (scratch / "run_id").write_text(store.create_run("run", {"kind": "run"}, session="cli"))
        with sqlite3.connect(home / "runs.db", isolation_level=None) as db:
            if damage == "not_utf8":
                db.execute("UPDATE runs SET config = CAST(x'fffe7b7d' AS TEXT)")
            elif damage == "bad_json":
                db.execute("UPDATE runs SET progress = '{not json'")
            else:
                db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        if damage == "damaged_pages":
            data = bytearray((home / "runs.db").read_bytes())
            data[4096:] = b"\xa5" * (len(data) - 4096)
            (home / "runs.db").write_bytes(bytes(data))
        return home

    return build


def store_case(damage: str, command: str, words: str) -> Callable:
    def run(scratch: Path) -> tuple[Outcome, str | None]:
        damaged_store(damage)(scratch)
        if command == "report":
            run_id = (scratch / "run_id").read_text() if (scratch / "run_id").exists() else "abc"
            args = ["report", "--run", run_id, "--out", scratch / "r.md"]
        else:
            args = ["run", "--dataset", "digits", "--arms", "scratch", "--out", scratch / "o"]
        return refusal(args, words)(scratch)

    return run


def nameless_zip(scratch: Path) -> Path:
    class Nameless(zipfile.ZipInfo):
        def is_dir(self) -> bool:
            return False

    path = scratch / "nameless.zip"
    with zipfile.ZipFile(path, "w") as bundle:
        member = Nameless("x")
        member.filename = ""
        bundle.writestr(member, b"data")
    return path


def cache_file(scratch: Path) -> str:
    (scratch / "cachefile").write_text("not a folder")
    return str(scratch / "cachefile")


def concurrent_first_runs(processes: int, repeats: int) -> Callable:
    """``processes`` CLI commands (``report``, which opens and so creates the store) started at one instant."""
    starter = (
        "import sys, time; from finetune_or_scratch.cli import main; "
        "time.sleep(max(0.0, float(sys.argv[1]) - time.time())); sys.argv = ['finetune-or-scratch', *sys.argv[2:]]; "
        "main()"
    )

    def run(scratch: Path) -> tuple[Outcome, str | None]:
        failures, last = [], None
        for attempt in range(repeats):
            home = scratch / f"home-{attempt}"
            env = os.environ | {"FOS_HOME": str(home), "PYTHONPATH": str(ROOT)}
            start_at = time.time() + 3.0 + 0.3 * processes  # after every interpreter has imported the CLI
            commands = [[sys.executable, "-c", starter, str(start_at), "report", "--run", "nope", "--out",
                         str(scratch / f"r{attempt}-{i}.md")] for i in range(processes)]  # fmt: skip
            pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
            children = [subprocess.Popen(command, env=env, **pipes) for command in commands]
            for child in children:
                out, err = child.communicate(timeout=120)
                last = Outcome(child.returncode, out, err, 0.0)
                if "Traceback" in err or "not in" not in err or "already exists" in err or "duplicate" in err:
                    failures.append(err.strip().splitlines()[-1] if err.strip() else f"exit {child.returncode}")
        wrong = f"{len(failures)} of {processes * repeats} opens failed: {failures[:2]}" if failures else None
        return last, wrong

    return run


def sixteen_bit(scratch: Path) -> tuple[Outcome, str | None]:
    """The two-level 16-bit PNG set: nearest-class-mean on the decoded pixels must keep the classes apart."""
    rng = np.random.default_rng(0)
    for name, low in (("dim", 10_000), ("bright", 50_000)):
        (scratch / "levels" / name).mkdir(parents=True)
        for i in range(20):
            values = rng.integers(low, low + 1001, (16, 16)).astype(np.uint16)
            Image.fromarray(values).save(scratch / "levels" / name / f"{i}.png")
    probe = (
        "import sys, json, numpy as np; from bench.data.datasets import load_dataset; "
        "d = load_dataset(sys.argv[1], image_size=16); p = d.images.reshape(len(d), -1).astype(float); "
        "i = np.arange(len(d)); tr, te = i % 2 == 0, i % 2 == 1; "
        "m = np.stack([p[tr & (d.labels == c)].mean(0) for c in range(d.num_classes)]); "
        "g = np.argmin(((p[te][:, None] - m[None]) ** 2).sum(-1), axis=1); "
        "print(json.dumps({'score': float((g == d.labels[te]).mean()), 'intensity': d.intensity}))"
    )
    outcome = cli([str(scratch / "levels")], scratch, 120, prefix=[sys.executable, "-c", probe])
    if outcome.code != 0:
        return outcome, None
    found = json.loads(outcome.stdout.strip().splitlines()[-1])
    outcome.stderr = f"nearest-class-mean {found['score']:.2f}; {found['intensity']}"
    return outcome, None if found["score"] >= 0.95 else f"classes merge: nearest-class-mean {found['score']:.2f}"


def skipped_in_reports(scratch: Path) -> tuple[Outcome, str | None]:
    """A run on a folder with one corrupt file; every report format must name it. The run takes a profile:
    ``report`` refuses a run stored without one (exit 2, "has no stored profile; pass --profile ...")."""
    rng = np.random.default_rng(0)
    for label in ("a", "b"):
        (scratch / "folder" / label).mkdir(parents=True)
        for i in range(30):
            level = 60 if label == "a" else 190
            pixels = np.clip(rng.normal(level, 30, (8, 8, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(scratch / "folder" / label / f"{i}.png")
    (scratch / "folder" / "a" / "broken.png").write_bytes(b"not a png at all")
    args = ["run", "--dataset", scratch / "folder", "--arms", "scratch", "--budget-seconds", "1", "--max-epochs", "1",
            "--profile", PROFILE, "--out", scratch / "o"]  # fmt: skip
    outcome = cli(args, scratch, 600)
    found = re.search(r"\(run ([0-9a-f]+)\)", outcome.stderr)
    if outcome.code != 0 or not found:
        return outcome, None if outcome.code is None or "Traceback" in outcome.stderr else "the run did not finish"
    missing = []
    for fmt in ("md", "html", "json"):
        report = cli(["report", "--run", found.group(1), "--format", fmt, "--out", scratch / f"r.{fmt}"], scratch, 300)
        path = scratch / f"r.{fmt}"
        if report.code != 0 or not path.exists() or "broken.png" not in path.read_text():
            missing.append(fmt)
    outcome.stderr = f"broken.png named in md, html, json reports (run {found.group(1)})" if not missing else ""
    return outcome, f"skipped file missing from: {', '.join(missing)}" if missing else None


def zip_ratio(scratch: Path) -> tuple[Outcome, str | None]:
    """A ~100 KB zip of zeros that expands to 100 MB: the cache must never hold more than the ratio allows."""
    archive = scratch / "zeros.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for i in range(10):
            bundle.writestr(f"a/{i}.png", b"\0" * (10 << 20))
    cache, peak, done = scratch / "cache", [0], threading.Event()

    def watch() -> None:
        while not done.is_set():
            total = 0
            for path in cache.rglob("*") if cache.exists() else []:
                with contextlib.suppress(OSError):  # a file renamed or removed between listing and stat
                    total += path.stat().st_size if path.is_file() else 0
            peak[0] = max(peak[0], total)
            time.sleep(0.02)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    outcome, wrong = refusal(["similarity", "--dataset", archive], r"expands (more than )?[\d,]+x")(scratch)
    done.set()
    watcher.join()
    allowed = 200 * archive.stat().st_size  # the ratio bound (the 64 MiB floor no longer applies first)
    outcome.stderr += f"\n(zip {archive.stat().st_size:,} B; cache peak {peak[0]:,} B)"
    if wrong is None and peak[0] > max(allowed, 1 << 20):
        wrong = f"{peak[0]:,} bytes in the cache before the refusal (ratio allows {allowed:,})"
    return outcome, wrong


def doctor_offline(scratch: Path) -> tuple[Outcome, str | None]:
    """doctor --json with every socket refused: no connection attempt, no torch hub folder outside FOS_CACHE_DIR."""
    guarded = (
        "import socket, sys\n"
        "def refuse(*a, **k):\n"
        "    open(sys.argv[1], 'a').write(repr(a[1:] or a) + '\\n'); raise OSError('network blocked')\n"
        "socket.socket.connect = refuse; socket.socket.connect_ex = refuse; socket.create_connection = refuse\n"
        "sys.argv = ['finetune-or-scratch', 'doctor', '--json']\n"
        "from finetune_or_scratch.cli import main\n"
        "main()\n"
    )
    log, home = scratch / "connections.log", scratch / "user-home"
    home.mkdir()
    env = {"HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache")}
    os.environ.pop("TORCH_HOME", None)
    outcome = cli([log], scratch, 600, env=env, prefix=[sys.executable, "-c", guarded])
    if outcome.code is None or "Traceback" in outcome.stderr:
        return outcome, None
    attempts = log.read_text().splitlines() if log.exists() else []
    outside = [str(p) for p in home.rglob("*")]
    if attempts or outside or outcome.code != 0:
        return outcome, f"exit {outcome.code}; connections {attempts[:2]}; written outside the cache {outside[:2]}"
    report = json.loads(outcome.stdout)
    outcome.stderr = f"ok={report['ok']}; no socket, nothing outside FOS_CACHE_DIR"
    return outcome, None


def scan_root(scratch: Path) -> tuple[Outcome, str | None]:
    outcome, wrong = refusal(["run", "--dataset", "/", "--arms", "scratch", "--out", scratch / "o"],
                             r"--dataset /: too large to scan: more than [\d,]+ files and folders .*scan stopped \(FOS_MAX_SCAN_FILES")(scratch)  # fmt: skip
    outcome.stderr += f"\n({outcome.seconds:.1f} s)"
    return outcome, wrong


R = "--results"
VERDICT = ["verdict", "--profile", PROFILE, R]
CASES = [
    Case("Tracebacks", "verdict: trials is an object", refusal([*VERDICT, results('{"trials": {}}')],
                                                              r'"trials" must be a list')),
    Case("Tracebacks", "verdict: 100,000 levels deep",
         refusal([*VERDICT, results('{"trials": ' + "[" * 100_000 + "]" * 100_000 + "}")], r"nests 100001 levels")),
    Case("Tracebacks", "verdict: link to /dev/zero", refusal([*VERDICT, results(link="/dev/zero")],
                                                            r"not a regular file")),
    Case("Tracebacks", "run: store with no tables", store_case("no_tables", "run", r"table profiles is missing")),
    Case("Tracebacks", "report: store with no tables", store_case("no_tables", "report", r"runs\.db")),
    Case("Tracebacks", "run: non-UTF-8 stored column", store_case("not_utf8", "run", r"Could not decode to UTF-8")),
    Case("Tracebacks", "run: damaged pages", store_case("damaged_pages", "run", r"damaged or not a run store")),
    Case("Tracebacks", "report: damaged pages", store_case("damaged_pages", "report", r"damaged or not a run store")),
    Case("Tracebacks", "run: bad JSON column", store_case("bad_json", "run", r"progress is not valid JSON")),
    Case("Tracebacks", "report: bad JSON column", store_case("bad_json", "report", r"not valid JSON")),
    Case("Tracebacks", "perf --steps 0", refusal(["perf", "--steps", "0"], r"--steps: expected an integer in 1")),
    Case("Tracebacks", "similarity: zip member with empty name",
         refusal(["similarity", "--dataset", nameless_zip], r"a member has an empty name")),
    Case("Tracebacks", "run: zip member with empty name",
         refusal(["run", "--dataset", nameless_zip, "--arms", "scratch", "--out", lambda s: s / "o"],
                 r"a member has an empty name")),
    Case("Tracebacks", "FOS_CACHE_DIR is a file",
         refusal(["run", "--dataset", "digits", "--arms", "scratch", "--out", lambda s: s / "o"],
                 r"FOS_CACHE_DIR: .* cannot be used as the cache folder", env=lambda s: {"FOS_CACHE_DIR": cache_file(s)})),
    Case("A hang", "verdict: results.json is a FIFO", refusal([*VERDICT, results(fifo=True)], r"not a regular file",
                                                             timeout=30)),
    Case("Accepted but wrong", "run --cpus-per-trial 0",
         refusal(["run", "--cpus-per-trial", "0", "--out", lambda s: s / "o"], r"--cpus-per-trial: expected")),
    Case("Accepted but wrong", "run --cpus-per-trial -4",
         refusal(["run", "--cpus-per-trial", "-4", "--out", lambda s: s / "o"], r"--cpus-per-trial: expected")),
    Case("Accepted but wrong", "run --out ''", refusal(["run", "--out", ""], r"--out '': an empty folder name")),
    Case("Accepted but wrong", 'verdict: test_accuracy "abc"',
         refusal([*VERDICT, results(json.dumps({"trials": [stored_trial(test_accuracy="abc")]}))], r"test_accuracy: expected")),
    Case("Accepted but wrong", "verdict: test_accuracy NaN",
         refusal([*VERDICT, results(json.dumps({"trials": [stored_trial(test_accuracy=float("nan"))]}))],
                 r"test_accuracy: expected")),
    Case("Accepted but wrong", "verdict: test_accuracy 7.5",
         refusal([*VERDICT, results(json.dumps({"trials": [stored_trial(test_accuracy=7.5)]}))], r"test_accuracy: expected")),
    Case("Accepted but wrong", "similarity --examples 0",
         refusal(["similarity", "--examples", "0"], r"--examples: expected an integer in 20")),
    Case("Accepted but wrong", "similarity --examples 10**30",
         refusal(["similarity", "--examples", str(10**30)], r"--examples: expected an integer in 20")),
    Case("Accepted but wrong", "perf --repeats 0", refusal(["perf", "--repeats", "0"], r"--repeats: expected")),
    Case("Two first runs lose one", "2 processes open a new store at once (x5)", concurrent_first_runs(2, 5)),
    Case("Two first runs lose one", "6 processes open a new store at once (x10)", concurrent_first_runs(6, 10)),
    Case("16-bit images", "two levels 10,000 vs 50,000: nearest-class-mean", sixteen_bit),
    Case("Skipped files in the reports", "corrupt file in md, html, json", skipped_in_reports),
    Case("Zip ratio", "94 KB-like zip of zeros: cache bytes before refusal", zip_ratio),
    Case("Offline doctor", "doctor --json, sockets blocked", doctor_offline),
    Case("Folder-scan bounds", "run --dataset /", scan_root),
]  # fmt: skip


def judge(outcome: Outcome, wrong: str | None) -> str:
    if outcome.code is None:
        return "hang"
    if "Traceback" in outcome.stderr:
        return "traceback"
    return "accepted-but-wrong" if wrong else "handled"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", help="the cases of one category (its name as printed)")
    args = parser.parse_args()
    tried, handled = Counter(), Counter()
    print(f"{'category':30s} {'case':48s} {'exit':>4s}  {'verdict':18s} first line of message")
    for case in CASES:
        if args.only and case.category != args.only:
            continue
        with tempfile.TemporaryDirectory(prefix="attack-") as tmp:
            scratch = Path(tmp)
            try:
                outcome, wrong = case.run(scratch)
            except Exception as error:  # the harness's own failure is reported as the case's, not hidden
                outcome, wrong = Outcome(-1, "", f"harness: {type(error).__name__}: {error}", 0.0), "harness failed"
            message = (outcome.first_line if not wrong else f"{wrong} | {outcome.first_line}").replace(tmp, "<scratch>")
        verdict = judge(outcome, wrong)
        tried[case.category] += 1
        handled[case.category] += verdict == "handled"
        code = "-" if outcome.code is None else str(outcome.code)
        print(f"{case.category:30s} {case.name:48s} {code:>4s}  {verdict:18s} {message[:140]}", flush=True)
    print()
    for category in tried:
        print(f"{category:30s} tried {tried[category]:2d}  handled {handled[category]:2d}")
    print(f"{'all':30s} tried {sum(tried.values()):2d}  handled {sum(handled.values()):2d}")


if __name__ == "__main__":
    main()
