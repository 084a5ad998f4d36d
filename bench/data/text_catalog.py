"""The built-in text datasets, and the one door to text data: a built-in name or a person's file or folder.

Each built-in is a compact subset shipped in ``bench/data/builtin/<name>/`` with its licence,
a README and the script that rebuilds it from its Debian packages:

- ``fortunes``: English quotations and jokes by topic (close to the encoder's pretraining text);
- ``code-snippets``: five-line source snippets by programming language (far from it).

>>> TEXT_DATASETS["fortunes"].load().num_classes
8
>>> is_text_dataset("fortunes"), is_text_dataset("digits")
(True, False)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from bench.data.catalog import BUILTIN
from bench.data.text_data import TextData, from_texts
from bench.data.text_files import ACCEPTED, is_text_path, load_text_source
from bench.errors import BenchInputError


@dataclass(frozen=True)
class TextDatasetSpec:
    name: str
    description: str
    licence: str
    load: Callable[[], TextData]
    domain: str  # how far from the encoder's pretraining text: "close" or "distant"


def write_subset(path: Path, rows: Iterable[tuple[str, str]]) -> int:
    """Write a built-in text subset as its loader reads it: one ``{"text": ..., "label": ...}`` a line, UTF-8
    kept as is (the ``build_subset.py`` scripts call this). Returns how many rows were written.

    >>> import tempfile
    >>> write_subset(Path(tempfile.mkdtemp()) / "demo.jsonl", [("héllo", "a"), ("world", "b")])
    2
    """
    count = 0
    with path.open("w", encoding="utf-8") as out:
        for text, label in rows:
            out.write(json.dumps({"text": text, "label": label}, ensure_ascii=False) + "\n")
            count += 1
    return count


def _read_jsonl(folder: str, filename: str, source: str) -> TextData:
    with (BUILTIN / folder / filename).open("r", encoding="utf-8") as file:
        rows = [json.loads(line) for line in file if line.strip()]
    return from_texts(folder, [row["text"] for row in rows], [row["label"] for row in rows], source)


TEXT_DATASETS: dict[str, TextDatasetSpec] = {
    spec.name: spec
    for spec in (
        TextDatasetSpec(
            "fortunes",
            "English quotations and jokes from fortune-mod by topic file: 1,091 texts, 8 classes",
            "BSD-3-Clause and public domain (fortune-mod data; see the subset's LICENSE)",
            lambda: _read_jsonl("fortunes", "fortunes-subset.jsonl", "bench/data/builtin/fortunes (Debian fortunes)"),
            domain="close",
        ),
        TextDatasetSpec(
            "code-snippets",
            "Five-line source code snippets by language (Python, C, Perl, Ruby): 624 texts, 4 classes",
            "each snippet under its package's licence: PSF-2.0, LGPL-2.1+, Artistic/GPL, Ruby/BSD-2 (see LICENSE)",
            lambda: _read_jsonl(
                "code-snippets", "code-snippets-subset.jsonl", "bench/data/builtin/code-snippets (Debian packages)"
            ),
            domain="distant",
        ),
    )
}


def is_text_dataset(name_or_path: str) -> bool:
    """Is this a built-in text dataset, or a path to text data (.csv, .tsv, .jsonl, a folder or zip of .txt)?

    Cheap: it reads names, never contents, and imports no model library.
    """
    if not isinstance(name_or_path, str) or not name_or_path:
        return False
    if name_or_path in TEXT_DATASETS:
        return True
    try:
        return is_text_path(Path(name_or_path))
    except (OSError, ValueError):
        return False


def load_text_dataset(name_or_path: str, text_column: str | None = None, label_column: str | None = None) -> TextData:
    """A built-in text dataset by name, or a person's text data from a path (bench.data.text_files)."""
    if name_or_path in TEXT_DATASETS:
        return TEXT_DATASETS[name_or_path].load()
    return load_text_source(name_or_path, text_column, label_column)


def check_text_source(name_or_path: str) -> None:
    """Cheap checks before anything is stored: a built-in text name, or a path that exists."""
    if name_or_path in TEXT_DATASETS:
        return
    path = Path(name_or_path)
    if not path.exists():
        raise BenchInputError(
            f"dataset {name_or_path}: no such file or folder; expected a built-in text dataset "
            f"({', '.join(TEXT_DATASETS)}) or {ACCEPTED}"
        )
