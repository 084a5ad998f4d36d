"""The published-outcomes table (advisor/data/evidence/published.json): rows, validation and the split.

Each row is one published comparison of strategies (frozen-feature probe, fine-tuning, scratch,
in-domain pretraining) on one task: the setting as a questionnaire profile, the numbers each
compared strategy reached, the winner and its margin. The schema is in
advisor/data/evidence/README.md.

The table loads whole or not at all: a row with a missing or unknown field, an unknown strategy
or modality, a duplicated id, or a profile the questionnaire would refuse raises
:class:`PublishedRowError` naming the row and the field, so no caller ever sees half a table.

The split. Every row belongs to the *tuning* part or the *held-out* part by a fixed hash of its
study key (``sha256(study_key)``), so all rows of one paper fall on the same side, about a third
are held out, and adding rows never moves an old one. Rules and confidence are set on the tuning
part only; the held-out part is scored, never tuned on.

>>> split_of("kornblith2019")
'tuning'
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from advisor.constraints import excerpt
from advisor.profile import FIELD_SPECS, Profile, ProfileError, profile_from_mapping
from advisor.shipped import DATA
from advisor.strategies import STRATEGY_NAMES

PUBLISHED = DATA / "evidence" / "published.json"

TUNING, HELD_OUT = "tuning", "held-out"
# A study is held out when sha256(study_key) read as a number is divisible by 3: about 1/3 of the
# studies, chosen before any rule was changed, and never re-drawn.
HELD_OUT_MODULUS = 3

REQUIRED = ("id", "study", "study_key", "source", "where", "task", "metric", "higher_is_better", "profile",
            "results", "winner", "margin", "checked")  # fmt: skip
OPTIONAL = ("assumed", "note")
# Margins are rounded in papers: a stated margin may differ from best minus runner-up by this much.
MARGIN_TOLERANCE = 0.06


class PublishedRowError(ValueError):
    """A row of the published table that is not accepted: ``row`` (its id, or its position), ``field``, ``detail``."""

    def __init__(self, row: str, field: str, detail: str):
        self.row, self.field, self.detail = row, field, detail
        super().__init__(f"evidence row {row}, field {field}: {detail}")


@dataclass(frozen=True)
class PublishedRow:
    """One published outcome. ``results`` holds only the strategies the study compared."""

    id: str
    study: str
    study_key: str
    source: str
    where: str
    task: str
    metric: str
    higher_is_better: bool
    profile: Profile
    results: Mapping[str, float]
    winner: str
    margin: float
    checked: bool
    assumed: tuple[str, ...] = ()
    note: str = ""
    split: str = field(default=TUNING)

    @property
    def compared(self) -> tuple[str, ...]:
        """The compared strategies, in the advisor's table order."""
        return tuple(name for name in STRATEGY_NAMES if name in self.results)

    @property
    def winners(self) -> frozenset[str]:
        """Every strategy that reached the best number (more than one only for an exact tie)."""
        best = max(self.results.values()) if self.higher_is_better else min(self.results.values())
        return frozenset(name for name, value in self.results.items() if value == best)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "study": self.study,
            "study_key": self.study_key,
            "source": self.source,
            "where": self.where,
            "task": self.task,
            "metric": self.metric,
            "higher_is_better": self.higher_is_better,
            "profile": self.profile.to_dict(),
            "assumed": list(self.assumed),
            "results": dict(self.results),
            "winner": self.winner,
            "margin": self.margin,
            "checked": self.checked,
            "note": self.note,
            "split": self.split,
        }


def split_of(study_key: str) -> str:
    """``"held-out"`` for about a third of the studies (a fixed hash of the key), else ``"tuning"``.

    >>> split_of("kumar2022")
    'held-out'
    """
    digest = hashlib.sha256(study_key.encode("utf-8")).hexdigest()
    return HELD_OUT if int(digest, 16) % HELD_OUT_MODULUS == 0 else TUNING


def validate_rows(data: Any) -> tuple[PublishedRow, ...]:
    """Validate a parsed JSON list of rows into :class:`PublishedRow` objects, or raise :class:`PublishedRowError`."""
    if not isinstance(data, list):
        raise PublishedRowError("(table)", "(top level)", f"expected a JSON list of rows; got {type(data).__name__}")
    rows: list[PublishedRow] = []
    seen: dict[str, int] = {}
    for position, raw in enumerate(data, start=1):
        row = _validate_row(raw, position)
        if row.id in seen:
            raise PublishedRowError(row.id, "id", f"duplicate id: rows {seen[row.id]} and {position} share it")
        seen[row.id] = position
        rows.append(row)
    return tuple(rows)


def load_published(path: str | Path = PUBLISHED) -> tuple[PublishedRow, ...]:
    """Read and validate the whole table; raise :class:`PublishedRowError` at the first bad row.

    >>> rows = load_published()
    >>> len({row.id for row in rows}) == len(rows)
    True
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise PublishedRowError("(table)", "(file)", f"cannot read {path}: {error.strerror or error}") from None
    except ValueError as error:
        raise PublishedRowError("(table)", "(file)", f"{path} is not valid JSON: {error}") from None
    return validate_rows(data)


@cache
def shipped_rows() -> tuple[PublishedRow, ...]:
    """The table that ships with the package, read once (it is immutable)."""
    return load_published(PUBLISHED)


def tuning_rows(rows: Sequence[PublishedRow]) -> tuple[PublishedRow, ...]:
    return tuple(row for row in rows if row.split == TUNING)


def held_out_rows(rows: Sequence[PublishedRow]) -> tuple[PublishedRow, ...]:
    return tuple(row for row in rows if row.split == HELD_OUT)


# ---- one row ----------------------------------------------------------------------------------


def _validate_row(raw: Any, position: int) -> PublishedRow:
    where = f"#{position}"
    if not isinstance(raw, Mapping):
        raise PublishedRowError(where, "(row)", f"expected a JSON object; got {excerpt(raw)}")
    if isinstance(raw.get("id"), str) and raw["id"]:
        where = raw["id"]
    for name in REQUIRED:
        if name not in raw:
            raise PublishedRowError(where, name, "missing required field")
    unknown = sorted(set(raw) - set(REQUIRED) - set(OPTIONAL))
    if unknown:
        raise PublishedRowError(
            where, unknown[0], f"unknown field; accepted fields are {', '.join(REQUIRED + OPTIONAL)}"
        )

    def text(name: str) -> str:
        value = raw[name]
        if not isinstance(value, str) or not value.strip():
            raise PublishedRowError(where, name, f"expected a non-empty string; got {excerpt(value)}")
        return value

    def flag(name: str) -> bool:
        if not isinstance(raw[name], bool):
            raise PublishedRowError(where, name, f"expected true or false; got {excerpt(raw[name])}")
        return raw[name]

    row_id = text("id")
    if row_id != row_id.lower() or any(c.isspace() for c in row_id):
        raise PublishedRowError(where, "id", f"expected a lower-case id without spaces; got {excerpt(row_id)}")
    try:
        profile = profile_from_mapping(raw["profile"])
    except ProfileError as error:
        name = f"profile.{error.field}" if error.field else "profile"
        raise PublishedRowError(where, name, error.detail) from None
    results = _results(raw["results"], where)
    higher = flag("higher_is_better")
    winner = raw["winner"]
    if winner not in STRATEGY_NAMES:
        raise PublishedRowError(where, "winner", f"expected one of {', '.join(STRATEGY_NAMES)}; got {excerpt(winner)}")
    if winner not in results:
        raise PublishedRowError(where, "winner", f"{winner} is not among the compared results ({', '.join(results)})")
    ordered = sorted(results.values(), reverse=higher)
    best = ordered[0]
    if results[winner] != best:
        raise PublishedRowError(where, "winner", f"{winner} ({results[winner]:g}) is not the best result ({best:g})")
    margin = raw["margin"]
    if isinstance(margin, bool) or not isinstance(margin, int | float) or not math.isfinite(margin) or margin < 0:
        raise PublishedRowError(where, "margin", f"expected a number >= 0; got {excerpt(margin)}")
    runner_up = abs(best - ordered[1])
    if abs(margin - runner_up) > MARGIN_TOLERANCE + 0.01 * abs(best):
        raise PublishedRowError(where, "margin", f"{margin:g} is not the winner minus the runner-up ({runner_up:g})")
    assumed = raw.get("assumed", [])
    if not isinstance(assumed, list) or any(a not in FIELD_SPECS for a in assumed):
        raise PublishedRowError(where, "assumed", f"expected a list of profile field names; got {excerpt(assumed)}")
    note = raw.get("note", "")
    if not isinstance(note, str):
        raise PublishedRowError(where, "note", f"expected a string; got {excerpt(note)}")
    study_key = text("study_key")
    return PublishedRow(
        id=row_id,
        study=text("study"),
        study_key=study_key,
        source=text("source"),
        where=text("where"),
        task=text("task"),
        metric=text("metric"),
        higher_is_better=higher,
        profile=profile,
        results=results,
        winner=winner,
        margin=float(margin),
        checked=flag("checked"),
        assumed=tuple(assumed),
        note=note,
        split=split_of(study_key),
    )


def _results(raw: Any, where: str) -> dict[str, float]:
    if not isinstance(raw, Mapping):
        raise PublishedRowError(where, "results", f"expected an object of strategy: number; got {excerpt(raw)}")
    results: dict[str, float] = {}
    for name, value in raw.items():
        if name not in STRATEGY_NAMES:
            raise PublishedRowError(
                where, f"results.{name}", f"unknown strategy; expected one of {', '.join(STRATEGY_NAMES)}"
            )
        if value is None:
            continue  # "not compared"
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise PublishedRowError(where, f"results.{name}", f"expected a number or null; got {excerpt(value)}")
        results[name] = float(value)
    if len(results) < 2:
        raise PublishedRowError(where, "results", f"expected numbers for at least two strategies; got {len(results)}")
    return results
