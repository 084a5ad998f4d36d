"""Text data: the built-ins, a person's CSV/TSV/JSONL/folder/zip, and every bad input named by file, column or line."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from bench.data.catalog import BUILTIN
from bench.data.text_catalog import TEXT_DATASETS, check_text_source, is_text_dataset, load_text_dataset
from bench.data.text_files import MAX_LINE_BYTES, MAX_TEXT_CHARS
from bench.errors import BenchInputError

ROWS = [(f"the cat number {i} sat on the mat", "cats") for i in range(6)] + [
    (f"dogs bark loudly at {i} o'clock", "dogs") for i in range(6)
]


def write_csv(path: Path, rows=ROWS, header=("text", "label"), delimiter=",") -> Path:
    lines = [delimiter.join(header)] + [delimiter.join(f'"{c}"' for c in row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("name", list(TEXT_DATASETS))
def test_builtin_text_datasets_load_with_their_licence_and_build_script(name):
    data = TEXT_DATASETS[name].load()
    assert len(data) >= 500 and data.num_classes >= 4
    assert np.bincount(data.labels).min() >= 100  # every class big enough for train, validation and test
    assert all(text.strip() for text in data.texts)
    folder = BUILTIN / name
    assert (
        (folder / "LICENSE").is_file() and (folder / "build_subset.py").is_file() and (folder / "README.md").is_file()
    )
    assert is_text_dataset(name)


def test_the_two_builtins_differ_in_domain():
    assert {spec.domain for spec in TEXT_DATASETS.values()} == {"close", "distant"}


def test_csv_columns_detected_by_name(tmp_path):
    path = write_csv(tmp_path / "reviews.csv", [(i, t, y) for i, (t, y) in enumerate(ROWS)], ("id", "review", "topic"))
    data = load_text_dataset(str(path))
    assert data.class_names == ("cats", "dogs") and len(data) == 12
    assert data.texts[0].startswith("the cat")


def test_tsv_and_named_columns(tmp_path):
    rows = [(i, t, y) for i, (t, y) in enumerate(ROWS)]
    path = write_csv(tmp_path / "data.tsv", rows, ("n", "words", "kind"), delimiter="\t")
    with pytest.raises(BenchInputError, match=r"no text column found among .*--text-column"):
        load_text_dataset(str(path))
    data = load_text_dataset(str(path), text_column="words", label_column="kind")
    assert data.num_classes == 2


def test_two_unnamed_columns_are_told_apart_by_length(tmp_path):
    path = write_csv(tmp_path / "two.csv", [(y, t) for t, y in ROWS], ("a", "b"))
    data = load_text_dataset(str(path))
    assert data.class_names == ("cats", "dogs")


def test_jsonl_folder_and_zip_give_the_same_texts(tmp_path):
    jsonl = tmp_path / "data.jsonl"
    jsonl.write_text("".join(json.dumps({"sentence": t, "label": y}) + "\n" for t, y in ROWS), encoding="utf-8")
    folder = tmp_path / "folder"
    for i, (text, label) in enumerate(ROWS):
        (folder / label).mkdir(parents=True, exist_ok=True)
        (folder / label / f"{i}.txt").write_text(text, encoding="utf-8")
    (folder / "cats" / "notes.md").write_text("not a text example")
    archive = tmp_path / "data.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for file in sorted(folder.rglob("*.txt")):
            zf.write(file, str(file.relative_to(folder)))
    from_jsonl, from_folder, from_zip = (load_text_dataset(str(p)) for p in (jsonl, folder, archive))
    assert sorted(from_jsonl.texts) == sorted(from_folder.texts) == sorted(from_zip.texts)
    assert from_folder.ignored == ("cats/notes.md",)
    assert all(is_text_dataset(str(p)) for p in (jsonl, folder, archive))


def test_zip_of_a_csv(tmp_path):
    csv_path = write_csv(tmp_path / "inner.csv")
    archive = tmp_path / "csv.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(csv_path, "inner.csv")
    assert len(load_text_dataset(str(archive))) == 12


def test_empty_texts_are_reported_not_silently_dropped(tmp_path):
    path = write_csv(tmp_path / "gaps.csv", [*ROWS, ("   ", "cats")])
    data = load_text_dataset(str(path))
    assert len(data) == 12 and data.skipped == ("line 14: empty text",)


def test_long_texts_are_cut_and_noted(tmp_path):
    path = write_csv(tmp_path / "long.csv", [*ROWS, ("word " * (MAX_TEXT_CHARS // 4), "dogs")])
    data = load_text_dataset(str(path))
    assert max(len(t) for t in data.texts) == MAX_TEXT_CHARS
    assert "cut" in data.notes[0] and "line 14" in data.notes[0]


def test_utf16_with_bom_is_read(tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text("text,label\n" + "".join(f"{t},{y}\n" for t, y in ROWS), encoding="utf-16")
    assert len(load_text_dataset(str(path))) == 12


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "latin1.csv",
            "text,label\ncafé au lait,food\n".encode("latin-1"),
            r"latin1.csv, line 2, byte 4: not UTF-8 \(byte 0xE9",
        ),
        (
            "mixed.csv",
            "text,label\nnaïve,a\n".encode() + "café,b\n".encode("latin-1"),
            "line 3, byte 4: not UTF-8 .*but line 2 is UTF-8: the file mixes encodings",
        ),
        ("junk.csv", b"text,label\n\x89PNG\x00\x00\x01", "line 2: a NUL byte, so binary"),
        (
            "nolabel.csv",
            b"text,notes,more\nhello there,x,1\nworld here,y,2\n",
            "no label column found .*--label-column",
        ),
        ("one.csv", "text,label\n" + "".join(f"t {i},same\n" for i in range(5)), "has one class only"),
        ("ids.csv", "text,label\n" + "".join(f"t {i},id{i}\n" for i in range(60)), "60 distinct values in 60 rows"),
        ("thin.csv", "text,label\na b,x\nc d,x\ne f,y\n", r"at least 2 texts; .*'?\"?y\"? \(1\)"),
        ("empty.csv", b"", "empty, or no header row"),
        ("ragged.csv", b"id,text,label\n1,hello\n", "line 2: 2 fields, but the header has 3"),
        ("bad.jsonl", b'{"text": "a", "label": "x"}\n[1, 2]\n', "bad.jsonl, line 2: a JSON list; expected an object"),
        ("notjson.jsonl", b'{"text": "a", "label": "x"}\n{oops\n', "notjson.jsonl, line 2: not JSON"),
        ("data.parquet", b"PAR1", "a .parquet file; expected a .csv or .tsv"),
    ],
)
def test_bad_text_input_names_file_line_or_column(tmp_path, name, content, message):
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    with pytest.raises(BenchInputError, match=message):
        load_text_dataset(str(path))


def test_a_huge_single_line_is_refused_without_reading_it_whole(tmp_path):
    path = tmp_path / "huge.csv"
    with path.open("wb") as file:
        file.write(b"text,label\n")
        file.write(b"x" * (MAX_LINE_BYTES + 10))
    with pytest.raises(BenchInputError, match=r"huge.csv, line 2: longer than 1,048,576 bytes"):
        load_text_dataset(str(path))


def test_empty_folder_and_folder_without_txt(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(BenchInputError, match="no class sub-folders"):
        load_text_dataset(str(tmp_path / "empty"))
    (tmp_path / "other" / "a").mkdir(parents=True)
    (tmp_path / "other" / "a" / "x.md").write_text("hi")
    with pytest.raises(BenchInputError, match=r"no \.txt files in its 1 class sub-folders \(1 other files"):
        load_text_dataset(str(tmp_path / "other"))


def test_a_missing_text_source_is_refused_before_anything_runs(tmp_path):
    with pytest.raises(BenchInputError, match="no such file or folder; expected a built-in text dataset"):
        check_text_source(str(tmp_path / "nope.csv"))
