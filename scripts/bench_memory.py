"""Benchmark: the peak memory (RSS) of whole ``finetune-or-scratch run`` commands, each in a fresh process.

The promise (issue 20, point 7): a folder of 50,000 tiny PNGs run with ``--examples 200`` peaks under
1 GB, because memory is bounded by the work (the labeled subsample, validation and test), not by the
folder's size. Three measurements, one after another (never in parallel: they would share the CPU,
not the memory, but a quiet machine gives comparable wall times):

* ``imports``: the interpreter plus what a run imports (torch, torchvision, timm, scikit-learn),
  the floor under every run;
* ``folder``: the 50,000-file folder (built once, 16 x 16 PNGs in 10 class folders);
* ``default``: ``finetune-or-scratch run`` with no options (the fashion-mnist sample profile).

Each is a child process; its peak is the kernel's ``ru_maxrss`` for that child. Runs write into
a temporary FOS_HOME and FOS_CACHE_DIR, so nothing is read from an earlier cache.

    python scripts/bench_memory.py                      # all three
    python scripts/bench_memory.py --only folder --folder /tmp/big  # reuse a built folder
    python scripts/bench_memory.py --files 5000         # a smaller folder
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
IMPORTS = "import bench.runs.execute, bench.train.trial, finetune_or_scratch.cli"
FOLDER_RUN = ["--examples", "200", "--arms", "linear_probe,scratch", "--budget-seconds", "2"]


def build_folder(root: Path, files: int, classes: int = 10, seed: int = 0) -> None:
    """``files`` distinct 16 x 16 RGB PNGs, each class a different mean level, in ``classes`` sub-folders."""
    rng = np.random.default_rng(seed)
    for label in range(classes):
        (root / f"class{label:02d}").mkdir(parents=True, exist_ok=True)
    for index in range(files):
        label = index % classes
        pixels = np.clip(rng.normal(30 + 20 * label, 40, (16, 16, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(root / f"class{label:02d}" / f"{index:06d}.png")


def peak_of(args: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """(peak RSS in MB, wall seconds, exit status) of one child process, from its own rusage (``wait4``)."""
    started = time.perf_counter()
    child = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    errors = child.stderr.read() if child.stderr else ""
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait for it again
    seconds = time.perf_counter() - started
    if child.returncode:
        print(errors[-2000:], file=sys.stderr)
    return usage.ru_maxrss / 1024, seconds, child.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=50_000)
    parser.add_argument("--folder", type=Path, help="a folder built before (by this script); else one is built")
    parser.add_argument("--only", choices=("imports", "folder", "default"), help="one measurement")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = os.environ | {"FOS_HOME": f"{tmp}/home", "FOS_CACHE_DIR": f"{tmp}/cache", "PYTHONPATH": str(ROOT)}
        cli = [sys.executable, "-m", "finetune_or_scratch", "run"]
        plan = {"imports": None, "folder": None, "default": [*cli, "--out", f"{tmp}/default"]}
        for name in [args.only] if args.only else list(plan):
            if name == "imports":
                command = [sys.executable, "-c", IMPORTS]
            elif name == "folder":
                folder = args.folder
                if folder is None:
                    folder = Path(tmp) / "big"
                    started = time.perf_counter()
                    build_folder(folder, args.files)
                    print(f"built {args.files:,} 16x16 PNGs in {time.perf_counter() - started:.0f} s")
                command = [*cli, "--dataset", str(folder), *FOLDER_RUN, "--out", f"{tmp}/folder"]
            else:
                command = plan[name]
            peak, seconds, status = peak_of(command, env)
            shown = " ".join(command[2:]) if name != "imports" else IMPORTS
            print(f"{name:8s} peak RSS {peak:7.0f} MB  {seconds:6.1f} s  exit {status}  ({shown})")


if __name__ == "__main__":
    main()
