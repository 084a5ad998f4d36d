"""Benchmark: load a folder of many tiny images with a train limit; print wall time and peak memory.

The promise (issue 12): 50,000 files with ``train_limit=200`` load under 1 GB peak and in
under 10 s, and a cancel is honoured within 2 s at any phase. The folder is built in a
temporary directory; each measurement runs in a fresh child process so its peak RSS is
the load's own (plus the interpreter and imports, reported separately).

    python scripts/bench_large_folder.py                 # 50,000 files, train_limit 200
    python scripts/bench_large_folder.py --files 5000 --train-limit 100 --image-size 64
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

CHILD = r"""
import json, resource, sys, threading, time
from pathlib import Path
folder, image_size, train_limit, cancel_after = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
from bench.data.datasets import load_dataset
from bench.data.images import DecodeCancelled
baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
asked = threading.Event()
def should_stop():
    return asked.is_set()
if cancel_after >= 0:
    threading.Timer(cancel_after, asked.set).start()
started = time.perf_counter()
result = {"baseline_mb": round(baseline, 1)}
try:
    data = load_dataset(folder, image_size=image_size, train_limit=train_limit or None, should_stop=should_stop)
    result |= {"files_total": data.files_total, "files_used": data.files_used, "images": list(data.images.shape)}
except DecodeCancelled:
    result["cancelled_after_s"] = round(time.perf_counter() - started - cancel_after, 3)
result["seconds"] = round(time.perf_counter() - started, 2)
result["peak_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
print(json.dumps(result))
"""


def build_folder(root: Path, files: int, classes: int, seed: int = 0) -> None:
    """``files`` tiny PNGs (16x16, 500 distinct ones written round-robin) in ``classes`` folders."""
    rng = np.random.default_rng(seed)
    pool = []
    for _ in range(500):
        buffer = io.BytesIO()
        Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(buffer, format="PNG")
        pool.append(buffer.getvalue())
    for label in range(classes):
        (root / f"class{label:02d}").mkdir(parents=True)
    for index in range(files):
        (root / f"class{index % classes:02d}" / f"{index:06d}.png").write_bytes(pool[index % len(pool)])


def measure(folder: Path, image_size: int, train_limit: int, cancel_after: float = -1) -> dict:
    args = [sys.executable, "-c", CHILD, str(folder), str(image_size), str(train_limit), str(cancel_after)]
    output = subprocess.run(args, check=True, capture_output=True, text=True, cwd=Path(__file__).parents[1])
    return json.loads(output.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=50_000)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--train-limit", type=int, default=200)
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--cancel-after", type=float, default=1.0, help="seconds into a second load to cancel it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "big"
        started = time.perf_counter()
        build_folder(folder, args.files, args.classes)
        print(f"built {args.files:,} files in {args.classes} classes in {time.perf_counter() - started:.1f} s")
        load = measure(folder, args.image_size, args.train_limit)
        print(
            f"load (train_limit={args.train_limit}, image_size={args.image_size}): {load['seconds']} s, "
            f"peak RSS {load['peak_mb']} MB (interpreter and imports: {load['baseline_mb']} MB); "
            f"decoded {load['files_used']:,} of {load['files_total']:,} files"
        )
        cancel = measure(folder, args.image_size, args.train_limit, args.cancel_after)
        if "cancelled_after_s" in cancel:
            print(f"cancel asked {args.cancel_after} s into a load: honoured {cancel['cancelled_after_s']} s later")
        else:
            print(
                f"cancel asked {args.cancel_after} s into a load: the load had already finished ({cancel['seconds']} s)"
            )


if __name__ == "__main__":
    main()
