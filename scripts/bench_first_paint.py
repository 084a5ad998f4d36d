"""First paint of the app in a real browser: seconds from opening the page to the questionnaire's text.

Starts the app as ``finetune-or-scratch app`` does (its server settings, its preloading module, a scratch
run store; ``--plain`` starts plain ``streamlit run`` instead, for the figure before the preloading),
opens Debian's Chromium with Playwright, and times ``page.goto`` until the questionnaire's title
is visible, for a first visit (a fresh server: every module the page needs is imported then)
and for later visits (a new browser context each, the server already warm). Run it alone:
a second torch process on a 2-core machine distorts every figure.

    .venv/bin/python scripts/bench_first_paint.py [--visits 3]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from finetune_or_scratch.cli import APP_SCRIPT, SERVER_SETTINGS  # noqa: E402

TITLE = "Fine-tune or train from scratch?"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(home: Path, plain: bool) -> tuple[subprocess.Popen, str]:
    port = free_port()
    flags = [f"--{k}={v}" for k, v in {**SERVER_SETTINGS, "server.port": port, "server.address": "127.0.0.1"}.items()]
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            *(["streamlit", "run"] if plain else ["finetune_or_scratch.app.serve"]),
            str(APP_SCRIPT),
            *flags,
        ],
        env={**os.environ, "FOS_HOME": str(home)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                return process, url
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("the app's server did not start within 60 s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--visits", type=int, default=3, help="visits timed after the first (default 3)")
    parser.add_argument(
        "--plain",
        action="store_true",
        help="start plain `streamlit run` (no preloaded modules), as before app/serve.py",
    )
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as home, sync_playwright() as playwright:
        process, url = start_server(Path(home), args.plain)
        try:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-background-networking"]
            )
            times = []
            for _ in range(1 + args.visits):
                context = browser.new_context(viewport={"width": 1400, "height": 1000})
                page = context.new_page()
                started = time.perf_counter()
                page.goto(url)
                page.get_by_text(TITLE).wait_for(timeout=120_000)
                times.append(time.perf_counter() - started)
                context.close()
            browser.close()
        finally:
            process.terminate()
            process.wait(timeout=30)
    later = times[1:]
    how = "plain streamlit run" if args.plain else "finetune-or-scratch app (first pages preloaded)"
    print(f"server: {how}")
    print(f"first paint, first visit (fresh server): {times[0]:.2f} s")
    if later:
        print(
            f"first paint, later visits: {', '.join(f'{t:.2f}' for t in later)} s (median {sorted(later)[len(later) // 2]:.2f})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
