"""Merge the researchers' staging files into the shipped table, advisor/data/evidence/published.json.

    python scripts/merge_evidence.py /work/evidence_staging/image.json /work/evidence_staging/other.json

The staging files are read, never changed. Obvious schema slips are fixed here, in the copy,
by the explicit list ``FIXES`` (row id -> field -> new value, with the reason); every fix is
printed and recorded in advisor/data/evidence/README.md. Rows that still do not validate are
listed with the row and the field and left out of the merge, and the script exits 1; rows are
never invented or guessed. The merged table must then load with advisor.published.load_published.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from advisor.published import PUBLISHED, PublishedRowError, validate_rows

# row id -> {dotted field: (new value, why)}. Only slips whose right value the row itself states.
FIXES: dict[str, dict[str, tuple[Any, str]]] = {}


def apply_fixes(row: dict[str, Any]) -> list[str]:
    done = []
    for dotted, (value, why) in FIXES.get(row.get("id", ""), {}).items():
        target = row
        *parents, last = dotted.split(".")
        for name in parents:
            target = target[name]
        old = target.get(last, "(absent)")
        if value is None and last in target and dotted != "margin":
            del target[last]
        else:
            target[last] = value
        done.append(f"{row['id']}: {dotted} {json.dumps(old)} -> {json.dumps(value)} ({why})")
    return done


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("staging", nargs="+", type=Path, help="staging JSON files (lists of rows)")
    parser.add_argument("--out", type=Path, default=PUBLISHED)
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    fixes: list[str] = []
    problems: list[str] = []
    for path in args.staging:
        for raw in json.loads(path.read_text(encoding="utf-8")):
            fixes += apply_fixes(raw)
            try:
                validate_rows([raw])
            except PublishedRowError as error:
                problems.append(f"{path.name}: {error}")
                continue
            rows.append(raw)
    seen: set[str] = set()
    unique = []
    for raw in rows:
        if raw["id"] in seen:
            problems.append(f"duplicate id {raw['id']}: the later row left out")
            continue
        seen.add(raw["id"])
        unique.append(raw)
    validate_rows(unique)  # the merged table loads whole
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(unique, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {len(unique)} rows to {args.out}")
    for line in fixes:
        print(f"fixed   {line}")
    for line in problems:
        print(f"skipped {line}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
