"""The advisor against the published table: shipped scores are today's, rules cite tuning rows, thresholds hold."""

import pytest

from advisor.agreement import load_scores, score_rows, summarize
from advisor.evidence import rules_version
from advisor.published import HELD_OUT, TUNING, held_out_rows, shipped_rows, tuning_rows
from advisor.rules import RULES

# Thresholds on the tuning part, which the rules were set on (74 of 89 agree, Brier 0.141 today):
# - agreement >= 80%: 7 tuning rows score robustness under distribution shift, which no profile
#   can express, so about 92% is the ceiling; 80% leaves two or three rows of slack for a future
#   rule change, and is far above the rules before issue #19 (53%).
# - Brier <= 0.16: saying 50% every time scores 0.25, the old rules scored 0.357, and a constant
#   at the tuning agreement rate (83%) would score about 0.14; 0.16 fails any formula that states
#   more certainty than the rows bear out.
MIN_TUNING_AGREEMENT = 0.80
MAX_TUNING_BRIER = 0.16


@pytest.fixture(scope="module")
def scores():
    data = load_scores()
    assert data is not None, "advisor/data/evidence/scores.json must ship: run scripts/score_evidence.py"
    return data


def test_tuning_agreement_and_brier_meet_their_thresholds():
    summary = summarize(score_rows(tuning_rows(shipped_rows())))
    assert summary.rows >= 60
    assert summary.agreement >= MIN_TUNING_AGREEMENT, summary
    assert summary.brier <= MAX_TUNING_BRIER, summary


def test_shipped_scores_are_todays(scores):
    """The numbers the app and README show are what the rules give now, on the table as shipped."""
    assert scores["rules_version"] == rules_version(), "rules changed: run scripts/score_evidence.py"
    rows = shipped_rows()
    assert scores["table"]["rows"] == len(rows)
    assert scores["table"]["held_out_ids"] == [row.id for row in held_out_rows(rows)]
    for split, part in ((TUNING, tuning_rows(rows)), (HELD_OUT, held_out_rows(rows))):
        assert scores["current"][split] == summarize(score_rows(part)).to_dict(), split


def test_the_baseline_covers_every_row_under_the_old_rules(scores):
    baseline = scores["baseline"]
    assert baseline["rules_version"] == "f8c6cb48505f"  # rules and confidence before issue #19
    assert set(baseline["per_row"]) == {row.id for row in shipped_rows()}
    assert not baseline[TUNING]["missing"] and not baseline[HELD_OUT]["missing"]
    # The issue's target: held-out Brier below the old rules' on the same rows.
    assert scores["current"][HELD_OUT]["brier"] < baseline[HELD_OUT]["brier"]


def test_every_rule_that_cites_rows_cites_tuning_rows_only():
    split = {row.id: row.split for row in shipped_rows()}
    cited = [(rule.name, row_id) for rule in RULES for row_id in rule.rows]
    assert cited, "the re-derived rules cite their rows"
    unknown = [c for c in cited if c[1] not in split]
    assert not unknown, f"rules cite rows that are not in the table: {unknown}"
    held = [c for c in cited if split[c[1]] != TUNING]
    assert not held, f"rules must rest on tuning rows only, never held-out ones: {held}"
    for rule in RULES:
        assert bool(rule.rows) == ("published" in rule.sources), rule.name


def test_the_calibration_table_counts_every_row(scores):
    for split, part in ((TUNING, tuning_rows(shipped_rows())), (HELD_OUT, held_out_rows(shipped_rows()))):
        table = scores["calibration"][split]
        assert sum(b["rows"] for b in table) == len(part)
        for b in table:
            low, high = b["interval"]
            assert 0 <= low <= b["fraction_right"] <= high <= 1
