"""The advisor command as a user runs it: a real subprocess, real exit codes."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from advisor.shipped import example_profiles

ROOT = Path(__file__).resolve().parents[2]
PROFILE = example_profiles()["small_similar"]


def advisor(*args):
    return subprocess.run(
        [sys.executable, "-m", "advisor", *args], capture_output=True, text=True, cwd=ROOT, timeout=120
    )


def test_recommend_prints_a_readable_answer():
    result = advisor("recommend", "--profile", str(PROFILE))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    # 50 labels per class, similar domain, two GPU-hours: fine-tuning, as the published rows have it
    # (VTAB-1k and SimCLR's transfer table; the probe kept only a handful of labels per class).
    assert out.startswith("Recommendation: Partial fine-tune (partial_finetune)")
    for heading in ("Ranking:", "Why:", "What would change the answer:", "Recipe (partial_finetune):", "source:",
                    "Nearest published cases"):  # fmt: skip
        assert heading in out


def test_json_output_has_the_public_keys():
    result = advisor("recommend", "--profile", str(PROFILE), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert {"strategy", "confidence", "ranking", "factors", "counterfactuals", "recipe"} <= set(data)
    assert data["ranking"][0] == {**data["ranking"][0], "strategy": data["strategy"]}
    assert all({"strategy", "score"} <= set(r) for r in data["ranking"])


def test_flags_override_the_file():
    result = advisor(
        "recommend",
        "--profile",
        str(PROFILE),
        "--json",
        "--labeled-examples",
        "500000",
        "--num-classes",
        "100",
        "--domain-similarity",
        "low",
        "--compute",
        "multi_gpu",
        "--time-budget-hours",
        "72",
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    # Large, distant, a 4-GPU node for three days: fine-tuning still leads scratch in the published
    # rows at full data (zhai2019vtab-full-camelyon, -retinopathy), with scratch second.
    assert data["strategy"] == "full_finetune"
    assert data["ranking"][1]["strategy"] == "scratch"
    assert data["profile"]["labeled_examples"] == 500000


def test_flags_alone_are_enough():
    result = advisor(
        "recommend",
        "--modality",
        "image",
        "--labeled-examples",
        "300",
        "--num-classes",
        "3",
        "--domain-similarity",
        "high",
        "--pretrained-available",
        "--time-budget-hours",
        "1",
        "--compute",
        "cpu",
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--labeled-examples", "0"], "labeled_examples: expected an integer >= 1"),
        (["--time-budget-hours", "nan"], "time_budget_hours: expected a number >= 0.001"),
        (["--time-budget-hours", "inf"], "time_budget_hours"),
        (["--compute", "tpu"], 'compute: expected one of cpu, single_gpu, multi_gpu, cluster; got "tpu"'),
        (["--labeled-examples", "lots"], "Invalid value for '--labeled-examples'"),
        (["--labeled-examples", "100000000000"], "implausibly large"),
    ],
)
def test_bad_flags_exit_2_with_a_message_and_no_traceback(args, message):
    result = advisor("recommend", "--profile", str(PROFILE), *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"modality": "image"', "is not valid JSON"),
        ("[]", "must hold a JSON object"),
        (
            '{"modality": "image", "labeled_examples": 10, "num_classes": 2, "domain_similarity": "high", '
            '"pretrained_available": true, "time_budget_hours": 1, "compute": "cpu", "colour": "red"}',
            "colour: unknown field",
        ),
        ('{"modality": "image"}', "labeled_examples: missing required field"),
    ],
)
def test_bad_files_exit_2(tmp_path, content, message):
    path = tmp_path / "profile.json"
    path.write_text(content)
    result = advisor("recommend", "--profile", str(path))
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_file_exits_2():
    result = advisor("recommend", "--profile", "/nonexistent/profile.json")
    assert result.returncode == 2
    assert "cannot read profile file /nonexistent/profile.json" in result.stderr


def test_fields_lists_every_field():
    result = advisor("fields")
    assert result.returncode == 0
    for name in ("labeled_examples", "domain_similarity", "interpretability"):
        assert name in result.stdout
