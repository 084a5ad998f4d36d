"""The advisor against the published table: did it pick the published winner, and was its confidence right?

For each row the advisor ranks all five strategies for the row's profile; the ranking is then
restricted to the strategies the study compared, since a study that tested only fine-tuning and
in-domain pretraining says nothing about scratch. The advised strategy for the row is the top of
that restricted ranking; it *agrees* when it is the published winner (either one, for an exact
tie). The stated confidence is the advisor's own formula on the restricted ranking: the logistic
curve of the margin between its first two (:func:`advisor.scoring.confidence_from_margin`).

The Brier score is the mean of ``(confidence - agreed)^2``: 0 is perfect, saying 50% every time
scores 0.25.

>>> from advisor.published import shipped_rows
>>> summary = summarize(score_rows(shipped_rows()))
>>> 0 <= summary.agreed <= summary.rows
True
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from advisor.published import PUBLISHED, PublishedRow
from advisor.scoring import confidence_from_margin, score_profile

# Written by scripts/score_evidence.py: tuning and held-out numbers, baseline and current rules, calibration.
SCORES = PUBLISHED.with_name("scores.json")


def load_scores(path: Path = SCORES) -> dict[str, Any] | None:
    """The shipped scores (None if the file is missing or unreadable: the app says so instead)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


@dataclass(frozen=True)
class RowOutcome:
    """The advisor's answer for one published row, and whether the study bears it out."""

    id: str
    split: str
    compared: tuple[str, ...]
    advised: str  # the top of the advisor's ranking among the compared strategies
    margin: float  # points between the first two of that ranking
    confidence: float
    winner: str
    agreed: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "split": self.split,
            "compared": list(self.compared),
            "advised": self.advised,
            "margin": round(self.margin, 3),
            "confidence": self.confidence,
            "winner": self.winner,
            "agreed": self.agreed,
        }


def score_row(row: PublishedRow) -> RowOutcome:
    """The advisor's ranking for the row's profile, restricted to the strategies the row compared."""
    ranking = [r for r in score_profile(row.profile).ranking if r.strategy in row.results]
    first, second = ranking[0], ranking[1]
    margin = first.score - second.score
    confidence = 1.0 if first.feasible and not second.feasible else confidence_from_margin(margin)
    return RowOutcome(
        id=row.id,
        split=row.split,
        compared=row.compared,
        advised=first.strategy,
        margin=margin,
        confidence=confidence,
        winner=row.winner,
        agreed=first.strategy in row.winners,
    )


def score_rows(rows: Sequence[PublishedRow]) -> tuple[RowOutcome, ...]:
    return tuple(score_row(row) for row in rows)


@dataclass(frozen=True)
class Summary:
    rows: int
    agreed: int
    brier: float | None

    @property
    def agreement(self) -> float | None:
        return self.agreed / self.rows if self.rows else None

    def to_dict(self) -> dict[str, Any]:
        agreement = self.agreement
        return {
            "rows": self.rows,
            "agreed": self.agreed,
            "agreement": None if agreement is None else round(agreement, 3),
            "brier": self.brier,
        }


def summarize(outcomes: Sequence[RowOutcome]) -> Summary:
    """Agreement and Brier score over some rows (None for no rows)."""
    if not outcomes:
        return Summary(0, 0, None)
    brier = sum((o.confidence - o.agreed) ** 2 for o in outcomes) / len(outcomes)
    return Summary(len(outcomes), sum(o.agreed for o in outcomes), round(brier, 4))
