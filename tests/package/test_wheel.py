"""A real wheel, built and installed into a fresh environment, runs from a folder outside the repository."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    had_build = (ROOT / "build").exists()
    try:
        built = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out),
             str(ROOT)],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert built.returncode == 0, built.stderr[-3000:]
    finally:
        if not had_build:  # setuptools builds in the source tree; leave it as it was
            shutil.rmtree(ROOT / "build", ignore_errors=True)
    (path,) = out.glob("finetune_or_scratch-*.whl")
    return path


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """A new virtual environment with the wheel; dependencies come from this interpreter's site-packages."""
    env = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True, timeout=120)
    site = next((env / "lib").glob("python3*/site-packages"))
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(env / "bin" / "python"), "install", "--no-deps", "-q",
         str(wheel)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    return env


def test_the_wheel_carries_the_data_and_the_app(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in (
        "bench/data/builtin/fashion-mnist/fashion-mnist-subset.npz",
        "bench/data/builtin/fashion-mnist/LICENSE",
        "bench/data/builtin/emoji/LICENSE",
        "bench/data/builtin/spoken-commands/LICENSE",
        "bench/data/builtin/fortunes/fortunes-subset.jsonl",
        "bench/data/builtin/fortunes/LICENSE",
        "bench/data/builtin/code-snippets/code-snippets-subset.jsonl",
        "bench/data/builtin/code-snippets/LICENSE",
        "advisor/data/profiles/text_fortunes.json",
        "advisor/data/grid/grid_results.json",
        "advisor/data/evidence/published.json",
        "advisor/data/evidence/scores.json",
        "advisor/data/rules.md",
        "advisor/data/profiles/small_similar.json",
        "finetune_or_scratch/app/streamlit_app.py",
        "finetune_or_scratch/app/pages/questionnaire.py",
    ):
        assert expected in names, f"{expected} missing from {wheel.name}"
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "finetune-or-scratch = finetune_or_scratch.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_the_installed_wheel_finds_its_data_outside_the_repository(installed, tmp_path):
    code = (
        "import bench, advisor; from bench.data.datasets import load_dataset; from advisor.evidence import load_grid; "
        "d = load_dataset('fashion-mnist'); print(bench.__file__); print(len(d.labels), len(load_grid()['cells']))"
    )
    result = subprocess.run([str(installed / "bin" / "python"), "-c", code], cwd=tmp_path, capture_output=True,
                            text=True, timeout=120, env={**os.environ, "PYTHONPATH": ""})  # fmt: skip
    assert result.returncode == 0, result.stderr
    where, counts = result.stdout.strip().splitlines()
    assert str(installed) in where and str(ROOT) not in where
    images, cells = map(int, counts.split())
    assert images == 6000 and cells > 0


def test_the_installed_command_recommends_and_starts_the_app(installed, tmp_path):
    command = str(installed / "bin" / "finetune-or-scratch")
    profile = installed.glob("lib/python3*/site-packages/advisor/data/profiles/small_similar.json")
    advice = subprocess.run([command, "recommend", "--profile", str(next(profile)), "--json"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert advice.returncode == 0, advice.stderr
    assert '"strategy"' in advice.stdout
    bad = subprocess.run([command, "app", "--port", "0"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "--port: expected an integer in 1..65535; got 0" in bad.stderr
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "FOS_HOME": str(tmp_path / "home")}
    server = subprocess.Popen([command, "app", "--port", str(port), "--address", "127.0.0.1"], cwd=tmp_path, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    try:
        deadline, answer = time.time() + 120, b""
        while time.time() < deadline and server.poll() is None:
            try:
                answer = urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).read()
                break
            except OSError:
                time.sleep(0.5)
        assert answer.strip() == b"ok"
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)


def test_the_installed_command_runs_a_text_check_on_a_builtin_text_set(installed, tmp_path):
    """Text from the wheel: a built-in text set trains (the scratch arm and its TF-IDF baseline; the encoder's arms
    add a model load and encoding, over 20 s, and are tested in tests/bench/test_text_arms.py) and reads as texts."""
    command = str(installed / "bin" / "finetune-or-scratch")
    env = {**os.environ, "FOS_HOME": str(tmp_path / "home"), "FOS_CACHE_DIR": str(tmp_path / "cache")}
    result = subprocess.run(
        [command, "run", "--dataset", "code-snippets", "--arms", "scratch", "--examples", "40",
         "--max-tokens", "32", "--budget-seconds", "1", "--device", "cpu", "--out", str(tmp_path / "out")],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert "sentences/s" in result.stdout and "texts)" in result.stdout and "img/s" not in result.stdout
    assert "baseline beside scratch: TF-IDF" in result.stdout
