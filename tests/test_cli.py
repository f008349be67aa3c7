"""The command line, end to end, and its one-line errors."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from synthloom.cli import app
from tests.conftest import ADULT_SAMPLE

runner = CliRunner()

CONFIG = """
schema_version: "1.0"
models:
  - synthetics:
      data_source: lines.txt
      params: {vocab_size: 0, epochs: 2, rnn_units: 32, embedding_dim: 16, rnn_layers: 1,
               batch_size: 32, learning_rate: 0.01, seed: 0}
      generate: {num_records: 40}
"""


@pytest.fixture
def workdir(tmp_path: Path, short_fortunes: list[str]) -> Path:
    (tmp_path / "lines.txt").write_text("\n".join(short_fortunes) + "\n", encoding="utf-8")
    (tmp_path / "config.yaml").write_text(CONFIG, encoding="utf-8")
    return tmp_path


def invoke(*args: str | Path):
    return runner.invoke(app, [str(a) for a in args])


def test_train_then_generate(workdir: Path) -> None:
    # data_source in the config is relative to the config file.
    result = invoke("train", workdir / "config.yaml", "--model-dir", workdir / "m", "--quiet")
    assert result.exit_code == 0, result.output
    assert "best epoch" in result.output
    out = workdir / "syn.txt"
    result = invoke(
        "generate",
        "--model-dir",
        workdir / "m",
        "--num-records",
        "25",
        "--output",
        out,
        "--start-string",
        "A",
        "--seed",
        "1",
    )
    assert result.exit_code == 0, result.output
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 25 and all(line.startswith("A") for line in lines)


def one_line_error(result, expected: str) -> None:
    assert result.exit_code == 2, result.output
    assert expected in result.output
    assert "Traceback" not in result.output
    assert result.output.strip().startswith("error:")


@pytest.mark.parametrize(
    ("data", "expected"),
    [("missing.txt", "does not exist"), ("empty.txt", "no records"), ("bin.dat", "binary")],
)
def test_bad_data(workdir: Path, data: str, expected: str) -> None:
    (workdir / "empty.txt").write_text("")
    (workdir / "bin.dat").write_bytes(bytes(range(256)) * 4)
    result = invoke(
        "train", workdir / "config.yaml", "--data", workdir / data, "--model-dir", workdir / "m"
    )
    one_line_error(result, expected)
    assert not (workdir / "m").exists()


def test_unknown_config_key(workdir: Path) -> None:
    (workdir / "bad.yaml").write_text(CONFIG.replace("epochs: 2", "epoch: 2"))
    result = invoke("train", workdir / "bad.yaml", "--model-dir", workdir / "m")
    one_line_error(result, "did you mean 'epochs'")


def test_existing_model_dir_without_overwrite(workdir: Path) -> None:
    assert invoke("train", workdir / "config.yaml", "--model-dir", workdir / "m").exit_code == 0
    before = (workdir / "m" / "weights.safetensors").read_bytes()
    result = invoke("train", workdir / "config.yaml", "--model-dir", workdir / "m")
    one_line_error(result, "--overwrite")
    assert (workdir / "m" / "weights.safetensors").read_bytes() == before


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--num-records", "0"], "num_records=0"),
        (["--num-records", "5", "--gen-temp", "0"], "gen_temp"),
    ],
)
def test_bad_generate_arguments(
    trained_dir: Path, tmp_path: Path, args: list, expected: str
) -> None:
    out = tmp_path / "o.txt"
    out.write_text("earlier output\n")
    result = invoke("generate", "--model-dir", trained_dir, "--output", out, "--overwrite", *args)
    one_line_error(result, expected)
    assert out.read_text() == "earlier output\n"


def test_generate_from_a_folder_that_is_not_a_model(tmp_path: Path) -> None:
    result = invoke("generate", "--model-dir", tmp_path, "--output", tmp_path / "o.txt")
    one_line_error(result, "not a synthloom model dir")


def test_ctrl_c_keeps_a_loadable_checkpoint(workdir: Path) -> None:
    long_config = CONFIG.replace("epochs: 2", "epochs: 100000")
    (workdir / "long.yaml").write_text(long_config)
    model_dir = workdir / "m"
    proc = subprocess.Popen(
        [sys.executable, "-m", "synthloom", "train", "long.yaml", "--model-dir", "m", "--quiet"],
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not (model_dir / "history.csv").exists() and time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()[0]
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, output
    assert "interrupted" in output
    result = invoke(
        "generate", "--model-dir", model_dir, "--num-records", "5", "--output", workdir / "o.txt"
    )
    assert result.exit_code == 0, result.output
    assert len((workdir / "o.txt").read_text().splitlines()) == 5


TABLE_CONFIG = """
schema_version: "1.0"
models:
  - synthetics:
      params: {epochs: 2, rnn_units: 32, embedding_dim: 16, rnn_layers: 1, seed: 0,
               validation_split: 0.1}
      task: {type: seed, attrs: {fields: [sex]}}
"""


@pytest.fixture
def table_dir(tmp_path: Path) -> Path:
    lines = ADULT_SAMPLE.read_text(encoding="utf-8").splitlines()[:801]
    (tmp_path / "adult.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "table.yaml").write_text(TABLE_CONFIG, encoding="utf-8")
    return tmp_path


def test_table_train_generate_and_seed(table_dir: Path) -> None:
    result = invoke(
        "train",
        table_dir / "table.yaml",
        "--data",
        table_dir / "adult.csv",
        "--model-dir",
        table_dir / "m",
        "--quiet",
    )
    assert result.exit_code == 0, result.output
    out = table_dir / "syn.csv"
    result = invoke(
        "generate", "--model-dir", table_dir / "m", "--num-records", "120", "--output", out
    )
    assert result.exit_code == 0, result.output
    lines = out.read_text().splitlines()
    assert lines[0] == (table_dir / "adult.csv").read_text().splitlines()[0]
    assert len(lines) == 121
    assert all(line.count(",") == 14 for line in lines)
    # The automatic report compares with the training rows and the rows held out for
    # validation, which no model learned from.
    scores = json.loads((table_dir / "syn_report" / "report.json").read_text())
    summary = json.loads((table_dir / "m" / "training_summary.json").read_text())
    assert scores["data"]["n_holdout"] == summary["validation_records"] == 80
    assert scores["data"]["n_real"] == summary["training_records"] == 720
    (table_dir / "seeds.csv").write_text("sex\nFemale\nMale\nFemale\n")
    result = invoke(
        "generate",
        "--model-dir",
        table_dir / "m",
        "--seeds",
        table_dir / "seeds.csv",
        "--output",
        table_dir / "seeded.parquet",
        "--no-report",
    )
    assert result.exit_code == 0, result.output
    seeded = pd.read_parquet(table_dir / "seeded.parquet")
    assert seeded["sex"].tolist() == ["Female", "Male", "Female"]
    assert seeded["age"].dtype.kind in "iu" or str(seeded["age"].dtype) == "Int64"
    assert not (table_dir / "seeded_report").exists()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("a,b\n", "no rows"),
        ("a,b\n1,2\n3,4,5\n", "line 3"),
        ("a,a\n1,2\n", "duplicate"),
    ],
)
def test_bad_tables(table_dir: Path, content: str, expected: str) -> None:
    (table_dir / "bad.csv").write_text(content)
    result = invoke(
        "train",
        table_dir / "table.yaml",
        "--data",
        table_dir / "bad.csv",
        "--model-dir",
        table_dir / "m",
    )
    one_line_error(result, expected)


def test_amplify_from_yaml_and_flag(table_dir: Path) -> None:
    amplify = TABLE_CONFIG.replace("- synthetics:", "- amplify:")
    (table_dir / "amplify.yaml").write_text(amplify)
    result = invoke(
        "train",
        table_dir / "amplify.yaml",
        "--data",
        table_dir / "adult.csv",
        "--model-dir",
        table_dir / "a",
    )
    assert result.exit_code == 0, result.output
    params = (table_dir / "a" / "model_params.json").read_text()
    assert '"engine": "amplify"' in params
    result = invoke(
        "train",
        table_dir / "table.yaml",
        "--data",
        table_dir / "adult.csv",
        "--model-dir",
        table_dir / "b",
        "--model",
        "amplify",
    )
    assert result.exit_code == 0, result.output
    out = table_dir / "a.jsonl"
    result = invoke(
        "generate", "--model-dir", table_dir / "b", "--num-records", "30", "--output", out
    )
    assert result.exit_code == 0, result.output
    assert len(out.read_text().splitlines()) == 30
    # The training data moved away: the data is still written, the report is skipped.
    (table_dir / "adult.csv").rename(table_dir / "moved.csv")
    result = invoke(
        "generate", "--model-dir", table_dir / "b", "--num-records", "30", "--output", out,
        "--overwrite",
    )
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())  # the console wraps long lines
    assert "no report" in said and "is gone" in said
    assert len(out.read_text().splitlines()) == 30


def test_report_command(table_dir: Path) -> None:
    real = pd.read_csv(table_dir / "adult.csv")
    real.iloc[:400].to_csv(table_dir / "train.csv", index=False)
    real.iloc[400:].to_csv(table_dir / "holdout.csv", index=False)
    real.iloc[:400].to_csv(table_dir / "copies.csv", index=False)
    args = ["--real", table_dir / "train.csv", "--synthetic", table_dir / "copies.csv"]
    result = invoke(
        "report", *args, "--holdout", table_dir / "holdout.csv", "--output", table_dir / "r"
    )
    assert result.exit_code == 0, result.output
    assert {p.name for p in (table_dir / "r").iterdir()} >= {
        "report.html",
        "report.pdf",
        "report.json",
    }
    scores = json.loads((table_dir / "r" / "report.json").read_text())
    assert scores["privacy"]["exact_copy_share"] == pytest.approx(1.0)
    result = invoke("report", *args, "--target", "no_such", "--output", table_dir / "r2")
    one_line_error(result, "no_such")
