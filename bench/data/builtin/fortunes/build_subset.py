"""Rebuild fortunes-subset.jsonl: English quotations and jokes from the fortune cookie files, labelled by file.

Close to the sentence encoder's pretraining text (English prose and dialogue). Source: the
Debian package ``fortunes`` (fortune-mod's data files, /usr/share/games/fortunes/*.u8, UTF-8).
Install it, or ``apt-get download fortunes && dpkg -x fortunes_*.deb x`` and pass ``--root x``.

Kept: entries of CLASSES (the file is the label) between MIN_CHARS and MAX_CHARS characters
(longer ones are mostly multi-speaker dialogues), whitespace collapsed, duplicates dropped; of
each class at most PER_CLASS, evenly spaced through the file (the same files always give the
same subset). One JSON object a line: {"text": ..., "label": ...}.

    python bench/data/builtin/fortunes/build_subset.py [--root /]
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from bench.data.text_catalog import write_subset

HERE = Path(__file__).resolve().parent
CLASSES = ("computers", "education", "food", "law", "literature", "politics", "science", "sports")
PER_CLASS = 140
MIN_CHARS, MAX_CHARS = 20, 360


def read_fortunes(path: Path) -> list[str]:
    entries = path.read_text(encoding="utf-8").split("\n%\n")
    cleaned = (re.sub(r"\s+", " ", entry.strip("%\n")).strip() for entry in entries)
    return [text for text in dict.fromkeys(cleaned) if MIN_CHARS <= len(text) <= MAX_CHARS]


def evenly(items: list[str], count: int) -> list[str]:
    if len(items) <= count:
        return items
    step = len(items) / count
    return [items[int(i * step)] for i in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path("/"), help="where the package's files are (/ when installed)")
    args = parser.parse_args()
    folder = args.root / "usr/share/games/fortunes"
    rows = []
    for label in CLASSES:
        texts = evenly(read_fortunes(folder / f"{label}.u8"), PER_CLASS)
        rows += [(text, label) for text in texts]
        print(f"{label}: {len(texts)}")
    target = HERE / "fortunes-subset.jsonl"
    print(f"{write_subset(target, rows)} texts -> {target}")


if __name__ == "__main__":
    main()
