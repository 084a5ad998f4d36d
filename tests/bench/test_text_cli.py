"""The run command on text data as a person types it: bad text input is refused with exit 2, naming what is wrong."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from bench.cli import app as bench_app


def refused(*args) -> str:
    result = CliRunner().invoke(bench_app, [str(a) for a in args])
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr, result.exception)
    assert isinstance(result.exception, SystemExit), result.exception  # a refusal, not a crash
    assert "Traceback" not in result.stderr
    return result.stderr


@pytest.mark.parametrize(
    ("content", "extra", "message"),
    [
        (b"text,notes,more\nhello there,x,1\nworld here,y,2\n", (), "no label column found"),
        (b"words,label,more\nhello there,x,1\nworld here,y,2\n", (), "no text column found"),
        (b"text,label\nhello,a\n", ("--label-column", "kind"), '--label-column "kind" is not a column'),
        ("text,label\ncafé,a\n".encode("latin-1"), (), "line 2, byte 4: not UTF-8"),
    ],
)
def test_bad_csv_exits_2_naming_the_column_or_line(tmp_path, content, extra, message):
    path = tmp_path / "mine.csv"
    path.write_bytes(content)
    err = refused("run", "--dataset", path, "--arms", "linear_probe", "--device", "cpu", "--out", tmp_path / "o",
                  *extra)  # fmt: skip
    assert message in err and "mine.csv" in err


def test_an_arm_not_measured_on_text_is_refused_by_its_flag(tmp_path):
    err = refused(
        "run", "--dataset", "fortunes", "--arms", "hybrid_scratch", "--device", "cpu", "--out", tmp_path / "o"
    )
    assert (
        "--arms" in err
        and "linear_probe, partial_finetune, full_finetune, setfit, scratch, scratch_same_arch, hybrid" in err
    )


def test_a_missing_csv_is_refused_before_anything_runs(tmp_path):
    err = refused("run", "--dataset", tmp_path / "absent.csv", "--device", "cpu", "--out", tmp_path / "o")
    assert "absent.csv: no such file or folder" in err


def test_max_tokens_out_of_range_names_the_flag(tmp_path):
    err = refused("run", "--dataset", "fortunes", "--max-tokens", "4", "--device", "cpu", "--out", tmp_path / "o")
    assert "--max-tokens" in err


@pytest.mark.slow
def test_a_text_run_on_a_csv_of_ones_own_ends_in_a_table_of_texts(tmp_path, monkeypatch):
    """A CSV with named columns, the scratch arm (no encoder to load), 1 s: the run finishes and words itself."""
    monkeypatch.setenv("FOS_HOME", str(tmp_path / "home"))
    rows = [f"{'the cat purrs and naps' if i % 2 else 'the dog barks and runs'} {i},{'cat' if i % 2 else 'dog'}"
            for i in range(60)]  # fmt: skip
    csv = tmp_path / "mine.csv"
    csv.write_text("msg,gold\n" + "\n".join(rows) + "\n")
    result = CliRunner().invoke(bench_app, [
        "run", "--dataset", str(csv), "--text-column", "msg", "--label-column", "gold", "--arms", "scratch",
        "--examples", "20", "--budget-seconds", "1", "--device", "cpu", "--out", str(tmp_path / "out"),
    ])  # fmt: skip
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    assert "sentences/s" in result.stdout and "texts)" in result.stdout and "img/s" not in result.stdout
    assert "baseline beside scratch: TF-IDF" in result.stdout
