"""Loading a person's text: a CSV or TSV, JSON Lines, a folder of class sub-folders of .txt files, or a zip of any.

Nothing here trusts the file. It is read in bounded lines (a 2 GB single line is refused at
1 MiB, never read whole), as UTF-8 (a BOM is fine) or UTF-16 with its BOM; anything else is
refused naming the file and line and what the bytes look like; NUL bytes mean a binary file.
Empty texts are left out and listed in ``skipped`` (the run's dataset facts show them);
texts over :data:`MAX_TEXT_CHARS` are cut and listed in ``notes``. A label column that looks
like an id or free text (more than :data:`MAX_CLASSES` values, or one value per row) is
refused, as is one class only. Every message names the file, the column or the line, what is
accepted and what was found. Zips are extracted with :mod:`bench.data.archives`' safety rules.

>>> from bench.data.text_files import detect_columns
>>> detect_columns(["id", "review", "sentiment"], "reviews.csv", None, None)
('review', 'sentiment')
"""

from __future__ import annotations

import codecs
import csv
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

from advisor.constraints import excerpt
from bench.data.archives import extract_once
from bench.data.images import IMAGE_SUFFIXES, MAX_SCAN_DEPTH, ScanBudget, list_files, scan_limit
from bench.data.text_data import TextData, from_texts
from bench.errors import BenchInputError
from bench.paths import cache_dir

TABLE_SUFFIXES = (".csv", ".tsv")
JSONL_SUFFIXES = (".jsonl", ".ndjson")
TEXT_FILE_SUFFIXES = (".txt",)
MAX_LINE_BYTES = 1 << 20  # one physical line (or one .txt file) of text
MAX_FILE_BYTES = 1 << 30
MAX_TEXT_CHARS = 20_000  # the encoder reads its first 256 tokens; a scratch model needs no more either
MAX_CLASSES = 1000
MAX_LISTED = 5  # skipped records listed by name in a message
TEXT_NAMES = ("text", "sentence", "review", "content", "body", "message", "document", "comment", "tweet",
              "utterance", "question", "query", "snippet", "code", "line", "description", "title")  # fmt: skip
LABEL_NAMES = ("label", "labels", "class", "category", "target", "y", "sentiment", "intent", "topic", "tag",
               "language", "lang", "class_name", "label_name")  # fmt: skip
ACCEPTED = (
    "a .csv or .tsv with a header row (text and label columns), a .jsonl (one object a line), "
    "a folder with one sub-folder per class of .txt files, or a .zip of one of these"
)


def is_text_path(path: Path) -> bool:
    """Is this file or folder text data (cheap: names only, never the contents)?"""
    suffix = path.suffix.lower()
    if suffix in TABLE_SUFFIXES + JSONL_SUFFIXES:
        return True
    if suffix == ".zip" and path.is_file():
        try:
            with zipfile.ZipFile(path) as archive:
                names = [name.lower() for name in archive.namelist()[:10_000] if not name.endswith("/")]
        except (zipfile.BadZipFile, OSError, ValueError):
            return False  # the image loader names what is wrong with it
        return _mostly_text(names)
    if path.is_dir():
        names = []
        for child in sorted(path.iterdir())[:200]:
            if child.is_dir():
                names += [f.name.lower() for f in list(child.iterdir())[:50] if f.is_file()]
            elif child.is_file():
                names.append(child.name.lower())
        return _mostly_text(names)
    return False


def _mostly_text(names: list[str]) -> bool:
    text = sum(name.endswith(TEXT_FILE_SUFFIXES + TABLE_SUFFIXES + JSONL_SUFFIXES) for name in names)
    images = sum(name.endswith(IMAGE_SUFFIXES) for name in names)
    return text > 0 and text >= images


def load_text_source(
    path_name: str, text_column: str | None = None, label_column: str | None = None, work_dir: Path | None = None
) -> TextData:
    """Load a person's text data from a path (see the module docstring for what is accepted).

    ``text_column`` and ``label_column`` name the columns (CSV/TSV) or keys (JSONL); when not
    given, they are detected by name (``text``, ``sentence``, ``review`` ...; ``label``,
    ``class``, ``category`` ...), or from a two-column file's shape.
    """
    path = Path(path_name)
    if not path.exists():
        raise BenchInputError(f"dataset {excerpt(path_name)}: no such file or folder; expected {ACCEPTED}")
    display = str(path)
    if path.is_file() and path.suffix.lower() == ".zip":
        folder = extract_once(path, work_dir, cache_dir() / "extracted")
        return _load_extracted(folder, display, text_column, label_column)
    return _load_path(path, display, text_column, label_column)


def _load_extracted(folder: Path, display: str, text_column: str | None, label_column: str | None) -> TextData:
    tables = [
        p for p in sorted(folder.rglob("*")) if p.is_file() and p.suffix.lower() in TABLE_SUFFIXES + JSONL_SUFFIXES
    ]
    tables = [p for p in tables if "__MACOSX" not in p.parts]
    if len(tables) > 1:
        listed = ", ".join(str(p.relative_to(folder)) for p in tables[:MAX_LISTED])
        raise BenchInputError(f"dataset {display}: the zip holds {len(tables)} tables ({listed}); expected one")
    if tables:
        return _load_path(tables[0], f"{display}:{tables[0].relative_to(folder)}", text_column, label_column)
    return _load_path(folder, display, text_column, label_column)


def _load_path(path: Path, display: str, text_column: str | None, label_column: str | None) -> TextData:
    suffix = path.suffix.lower()
    if path.is_dir():
        return _load_folder(path, display)
    if suffix in TABLE_SUFFIXES:
        return _load_table(path, display, text_column, label_column)
    if suffix in JSONL_SUFFIXES:
        return _load_jsonl(path, display, text_column, label_column)
    raise BenchInputError(f"dataset {display}: a {suffix or 'suffix-less'} file; expected {ACCEPTED}")


# ---- reading bytes as text, line by line, bounded -------------------------------------------


def read_lines(path: Path, display: str) -> Iterator[tuple[int, str]]:
    """(line number, line with its newline) of a text file: bounded, UTF-8 or BOM-marked UTF-16 only."""
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise BenchInputError(f"{display}: {size:,} bytes; text files up to {MAX_FILE_BYTES:,} bytes are accepted")
    with path.open("rb") as handle:
        head = handle.read(4)
        handle.seek(0)
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            yield from _utf16_lines(path, display)
            return
        utf8_seen = 0  # lines with non-ASCII UTF-8: a later invalid line means mixed encodings
        number = 0
        while True:
            raw = handle.readline(MAX_LINE_BYTES + 1)
            if not raw:
                return
            number += 1
            if len(raw) > MAX_LINE_BYTES:
                raise BenchInputError(
                    f"{display}, line {number}: longer than {MAX_LINE_BYTES:,} bytes (a huge single line); "
                    "accepted: one record a line (or quoted multi-line CSV fields), each under 1 MiB"
                )
            if b"\0" in raw:
                raise BenchInputError(
                    f"{display}, line {number}: a NUL byte, so binary data, not text; expected {ACCEPTED}, "
                    "saved as UTF-8"
                )
            if number == 1 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[len(codecs.BOM_UTF8) :]
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as error:
                raise BenchInputError(_encoding_message(display, number, raw, error, utf8_seen)) from None
            if not line.isascii():
                utf8_seen = utf8_seen or number
            yield number, line


def _utf16_lines(path: Path, display: str) -> Iterator[tuple[int, str]]:
    try:
        with path.open(encoding="utf-16", newline="") as handle:
            for number, line in enumerate(iter(lambda: handle.readline(MAX_LINE_BYTES // 2 + 1), ""), 1):
                if len(line) > MAX_LINE_BYTES // 2:
                    raise BenchInputError(f"{display}, line {number}: longer than {MAX_LINE_BYTES // 2:,} characters")
                yield number, line
    except UnicodeError as error:
        raise BenchInputError(f"{display}: starts with a UTF-16 byte-order mark but is not UTF-16 ({error})") from None


def _encoding_message(display: str, number: int, raw: bytes, error: UnicodeDecodeError, utf8_seen: int) -> str:
    byte = raw[error.start]
    where = f"{display}, line {number}, byte {error.start + 1}"
    if utf8_seen:
        return (
            f"{where}: not UTF-8 (byte 0x{byte:02X}), but line {utf8_seen} is UTF-8: the file mixes encodings. "
            "Accepted: one encoding per file, UTF-8 (or UTF-16 with a byte-order mark); re-save it as UTF-8"
        )
    guess = "Windows-1252 or Latin-1" if 0x80 <= byte <= 0xFF else "an 8-bit encoding"
    return (
        f"{where}: not UTF-8 (byte 0x{byte:02X}; it looks like {guess}). Accepted: UTF-8 (or UTF-16 with a "
        "byte-order mark); re-save it as UTF-8, e.g. iconv -f WINDOWS-1252 -t UTF-8 in > out"
    )


# ---- tables: CSV, TSV and JSON Lines --------------------------------------------------------


def detect_columns(
    header: list[str], display: str, text_column: str | None, label_column: str | None, rows: list[list[str]] = ()
) -> tuple[str, str]:
    """The (text, label) column names: as given (checked), else by name, else a two-column file's shape."""
    columns = ", ".join(excerpt(name) for name in header[:30]) + (" ..." if len(header) > 30 else "")
    for option, given in (("--text-column", text_column), ("--label-column", label_column)):
        if given is not None and given not in header:
            raise BenchInputError(f"{display}: {option} {excerpt(given)} is not a column; the columns are {columns}")
    lower = {name.strip().lower(): name for name in header}
    text = text_column or next((lower[n] for n in TEXT_NAMES if n in lower and lower[n] != label_column), None)
    label = label_column or next((lower[n] for n in LABEL_NAMES if n in lower and lower[n] != text), None)
    if (text is None or label is None) and len(header) == 2 and rows:
        # Two columns without telling names: the one with longer values holds the text.
        lengths = [sum(len(row[i]) for row in rows if len(row) > i) for i in (0, 1)]
        longer = header[0] if lengths[0] >= lengths[1] else header[1]
        text = text or (longer if longer != label else next(n for n in header if n != label))
        label = label or next(n for n in header if n != text)
    if text is None:
        raise BenchInputError(
            f"{display}: no text column found among {columns}; name it with --text-column on the command line, "
            f"or call the column text (detected by name: {', '.join(TEXT_NAMES[:6])} ...)"
        )
    if label is None:
        raise BenchInputError(
            f"{display}: no label column found among {columns}; name it with --label-column on the command line, "
            f"or call the column label (detected by name: {', '.join(LABEL_NAMES[:6])} ...)"
        )
    if text == label:
        raise BenchInputError(f"{display}: the text and label columns are both {excerpt(text)}; expected two columns")
    return text, label


def _load_table(path: Path, display: str, text_column: str | None, label_column: str | None) -> TextData:
    lines = read_lines(path, display)
    first = [line for _, line in _take(lines, 1)]
    if not first or not first[0].strip():
        raise BenchInputError(f"{display}: empty, or no header row on line 1; expected {ACCEPTED}")
    delimiter = "\t" if path.suffix.lower() == ".tsv" else _delimiter(first[0])
    csv.field_size_limit(MAX_LINE_BYTES * 4)
    reader = csv.reader(_chain(first, (line for _, line in lines)), delimiter=delimiter)
    try:
        header = [name.strip() for name in next(reader)]
        rows: list[tuple[int, list[str]]] = []
        for row in reader:
            rows.append((reader.line_num, row))
    except csv.Error as error:
        raise BenchInputError(f"{display}, line {reader.line_num}: not valid CSV ({error})") from None
    text, label = detect_columns(header, display, text_column, label_column, [row for _, row in rows[:200]])
    t, y = header.index(text), header.index(label)
    records = []
    for number, row in rows:
        if not any(cell.strip() for cell in row):
            continue  # a blank line: no record
        if len(row) <= max(t, y):
            raise BenchInputError(
                f"{display}, line {number}: {len(row)} fields, but the header has {len(header)} "
                f"({excerpt(text)} is field {t + 1}, {excerpt(label)} field {y + 1}); check the quoting"
            )
        records.append((f"line {number}", row[t], row[y]))
    return _build(path.stem, display, records, text, label)


def _delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def _take(lines: Iterator[tuple[int, str]], count: int) -> list[tuple[int, str]]:
    taken = []
    for item in lines:
        taken.append(item)
        if len(taken) == count:
            break
    return taken


def _chain(first: list[str], rest: Iterator[str]) -> Iterator[str]:
    yield from first
    yield from rest


def _load_jsonl(path: Path, display: str, text_column: str | None, label_column: str | None) -> TextData:
    objects: list[tuple[int, dict]] = []
    for number, line in read_lines(path, display):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as error:
            raise BenchInputError(
                f"{display}, line {number}: not JSON ({error.msg}); expected one object a line"
            ) from None
        if not isinstance(value, dict):
            raise BenchInputError(f"{display}, line {number}: a JSON {type(value).__name__}; expected an object")
        objects.append((number, value))
    if not objects:
        raise BenchInputError(f"{display}: no JSON objects; expected {ACCEPTED}")
    keys = list(dict.fromkeys(key for _, value in objects[:200] for key in value))
    rows = [[_cell(value.get(key)) for key in keys] for _, value in objects[:200]]
    text, label = detect_columns(keys, display, text_column, label_column, rows)
    records = []
    for number, value in objects:
        if text not in value or label not in value:
            missing = text if text not in value else label
            raise BenchInputError(f"{display}, line {number}: no {excerpt(missing)} key; every object needs both")
        records.append((f"line {number}", _cell(value[text]), _cell(value[label])))
    return _build(path.stem, display, records, text, label)


def _cell(value) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value)


# ---- a folder of class sub-folders of .txt files ---------------------------------------------


def _load_folder(root: Path, display: str) -> TextData:
    classes = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "__MACOSX")))
    if not classes:
        found = sum(1 for p in root.iterdir() if not p.name.startswith("."))
        raise BenchInputError(f"dataset {display}: no class sub-folders ({found} other entries); expected {ACCEPTED}")
    records, ignored, total = [], [], 0
    # Every class folder is listed (bounded) before any file is read: ``--dataset /`` is refused by the bound
    # on the scan, not by the first odd file it meets.
    budget = ScanBudget(display, scan_limit(), accepted=ACCEPTED)
    listed = [(folder, *list_files(folder, budget)) for folder in classes]
    for folder, files, too_deep in listed:
        ignored += [f"{p.relative_to(root)}/ (deeper than {MAX_SCAN_DEPTH} folders; not scanned)" for p in too_deep]
        for file in files:
            if file.name.startswith("."):
                continue
            relative = str(file.relative_to(root))
            if file.suffix.lower() not in TEXT_FILE_SUFFIXES:
                ignored.append(relative)
                continue
            total += 1
            if file.stat().st_size > MAX_LINE_BYTES:
                raise BenchInputError(
                    f"{display}/{relative}: {file.stat().st_size:,} bytes; one text file up to {MAX_LINE_BYTES:,} "
                    "bytes is accepted (one file is one example)"
                )
            text = "".join(line for _, line in read_lines(file, f"{display}/{relative}"))
            records.append((relative, text, folder.name))
    if not records:
        raise BenchInputError(
            f"dataset {display}: no .txt files in its {len(classes)} class sub-folders"
            f"{f' ({len(ignored)} other files, e.g. {ignored[0]})' if ignored else ''}; expected {ACCEPTED}"
        )
    return _build(root.name, display, records, "file", "folder", ignored=tuple(ignored), files_total=total)


# ---- checks shared by every format -----------------------------------------------------------


def _build(
    name: str, display: str, records: list[tuple[str, str, str]], text_column: str, label_column: str, **meta
) -> TextData:
    texts, labels, skipped, cut = [], [], [], []
    for where, text, label in records:
        label = label.strip()
        stripped = text.strip()
        if not stripped:
            skipped.append(f"{where}: empty text")
            continue
        if not label:
            skipped.append(f"{where}: empty label")
            continue
        if len(stripped) > MAX_TEXT_CHARS:
            cut.append(where)
            stripped = stripped[:MAX_TEXT_CHARS]
        texts.append(stripped)
        labels.append(label)
    notes = (
        (f"{len(cut)} texts longer than {MAX_TEXT_CHARS:,} characters were cut to that: {', '.join(cut[:MAX_LISTED])}",)
        if cut
        else ()
    )
    check_labels(display, label_column, labels, skipped)
    meta.setdefault("files_total", len(records))
    return from_texts(name, texts, labels, display, skipped=tuple(skipped), notes=notes, files_used=len(texts), **meta)


def check_labels(display: str, column: str, labels: list[str], skipped: list[str] = ()) -> None:
    """Refuse label columns no fair comparison can be run on, naming the column and what is accepted."""
    skipped_note = f" ({len(skipped)} left out: {'; '.join(skipped[:MAX_LISTED])})" if skipped else ""
    if not labels:
        raise BenchInputError(f"{display}: no texts with a label{skipped_note}; expected {ACCEPTED}")
    counts: dict[str, int] = {}
    for label in labels:
        counts[label] = counts.get(label, 0) + 1
    if len(counts) < 2:
        raise BenchInputError(
            f"{display}: label column {excerpt(column)} has one class only ({excerpt(labels[0])}); "
            "at least 2 classes are needed"
        )
    if len(counts) > MAX_CLASSES or (len(counts) > 20 and len(counts) > 0.5 * len(labels)):
        raise BenchInputError(
            f"{display}: label column {excerpt(column)} has {len(counts):,} distinct values in {len(labels):,} rows, "
            f"so it looks like an id or free text, not a class; accepted: at most {MAX_CLASSES:,} classes, "
            "each with at least 2 texts (name the right column with --label-column)"
        )
    thin = [f"{excerpt(name)} ({count})" for name, count in sorted(counts.items()) if count < 2]
    if thin:
        raise BenchInputError(
            f"{display}: every class needs at least 2 texts; too few in {len(thin)} classes of column "
            f"{excerpt(column)}: {', '.join(thin[:MAX_LISTED])}{' ...' if len(thin) > MAX_LISTED else ''}"
        )
