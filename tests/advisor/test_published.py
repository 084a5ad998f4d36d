"""The published-outcomes table: every row validates, the split is fixed, bad rows are named."""

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest

from advisor.published import (
    HELD_OUT,
    PUBLISHED,
    TUNING,
    PublishedRowError,
    load_published,
    shipped_rows,
    split_of,
    validate_rows,
)
from advisor.strategies import STRATEGY_NAMES

ROOT = Path(__file__).resolve().parents[2]


def raw_rows():
    return json.loads(PUBLISHED.read_text(encoding="utf-8"))


def good_row():
    return {
        "id": "example2020-task",
        "study": "Example et al. 2020",
        "study_key": "example2020",
        "source": "https://example.org/paper",
        "where": "Table 1",
        "task": "a task, 10 classes",
        "metric": "accuracy (%)",
        "higher_is_better": True,
        "profile": {
            "modality": "image",
            "labeled_examples": 1000,
            "num_classes": 10,
            "domain_similarity": "high",
            "pretrained_available": True,
            "time_budget_hours": 4.0,
            "compute": "single_gpu",
        },
        "assumed": ["time_budget_hours"],
        "results": {"linear_probe": 80.0, "full_finetune": 85.5, "scratch": None},
        "winner": "full_finetune",
        "margin": 5.5,
        "checked": False,
    }


def test_every_shipped_row_validates_as_a_profile_and_a_row():
    rows = load_published()
    assert len(rows) == len(raw_rows()) >= 8
    for row in rows:
        assert len(row.results) >= 2, row.id
        assert row.winner in row.winners, row.id
        assert set(row.results) <= set(STRATEGY_NAMES), row.id
        assert row.profile.labeled_examples >= row.profile.num_classes, row.id
    assert shipped_rows() == rows


def test_the_split_is_a_fixed_hash_of_the_study_key():
    # Golden values: sha256(key) % 3 == 0 is held out. These must never change.
    assert split_of("kornblith2019") == TUNING
    assert split_of("he2019") == TUNING
    assert split_of("kumar2022") == HELD_OUT
    assert split_of("gururangan2020") == HELD_OUT
    rows = shipped_rows()
    for row in rows:
        assert row.split == split_of(row.study_key)
    by_study: dict[str, set[str]] = {}
    for row in rows:
        by_study.setdefault(row.study_key, set()).add(row.split)
    assert all(len(sides) == 1 for sides in by_study.values()), by_study  # a paper is on one side


def test_the_split_is_the_same_in_a_fresh_process():
    """Same ids on every run: no salt, no process-dependent hash (Python's hash() is salted)."""
    code = "from advisor.published import shipped_rows; print(sorted(r.id for r in shipped_rows() if r.split == 'held-out'))"
    outputs = {
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
        for _ in range(2)
    }
    assert outputs == {str(sorted(r.id for r in shipped_rows() if r.split == HELD_OUT)) + "\n"}


def test_about_a_third_of_studies_are_held_out():
    keys = [f"study{i}" for i in range(600)]
    share = sum(split_of(k) == HELD_OUT for k in keys) / len(keys)
    assert 0.28 < share < 0.39


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (lambda r: r.pop("winner"), "winner", "missing required field"),
        (lambda r: r.pop("profile"), "profile", "missing required field"),
        (lambda r: r["results"].update(transfer=1.0), "results.transfer", "unknown strategy"),
        (lambda r: r["profile"].update(modality="video"), "profile.modality", "expected one of image, text"),
        (lambda r: r["profile"].pop("compute"), "profile.compute", "missing required field"),
        (lambda r: r["profile"].update(labeled_examples=5), "profile.labeled_examples", "at least one labeled"),
        (lambda r: r.update(winner="linear_probe"), "winner", "is not the best result"),
        (lambda r: r.update(winner="scratch"), "winner", "not among the compared results"),
        (lambda r: r.update(margin=2.0), "margin", "not the winner minus the runner-up"),
        (lambda r: r.update(results={"full_finetune": 1.0}), "results", "at least two strategies"),
        (lambda r: r.update(checked="yes"), "checked", "true or false"),
        (lambda r: r.update(assumed=["budget"]), "assumed", "profile field names"),
        (lambda r: r.update(extra=1), "extra", "unknown field"),
    ],
)
def test_a_bad_row_is_rejected_with_the_row_and_field_named(change, field, words):
    row = good_row()
    change(row)
    with pytest.raises(PublishedRowError) as raised:
        validate_rows([good_row() | {"id": "fine2020-a"}, row])
    error = raised.value
    assert (error.row, error.field) == ("example2020-task", field)
    assert words in error.detail
    assert "example2020-task" in str(error) and field in str(error)


def test_a_duplicate_id_is_rejected_and_the_table_is_not_half_loaded(tmp_path):
    rows = [good_row(), copy.deepcopy(good_row())]
    path = tmp_path / "published.json"
    path.write_text(json.dumps(rows))
    with pytest.raises(PublishedRowError) as raised:
        load_published(path)
    assert (raised.value.row, raised.value.field) == ("example2020-task", "id")
    assert "duplicate id: rows 1 and 2" in raised.value.detail


def test_a_row_without_an_id_is_named_by_its_position():
    row = good_row()
    del row["id"]
    with pytest.raises(PublishedRowError) as raised:
        validate_rows([good_row(), row])
    assert (raised.value.row, raised.value.field) == ("#2", "id")


def test_the_scoring_script_stops_on_a_bad_row_naming_it(tmp_path):
    row = good_row()
    row["results"]["transfer"] = 3.0
    table = tmp_path / "bad.json"
    table.write_text(json.dumps([row]))
    done = subprocess.run(
        [sys.executable, "scripts/score_evidence.py", "--table", str(table), "--out", str(tmp_path / "s.json")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT), "PATH": ""},
    )
    assert done.returncode == 2
    assert "example2020-task" in done.stderr and "results.transfer" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "s.json").exists()
