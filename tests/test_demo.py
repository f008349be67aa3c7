"""The first run: `synthloom demo` learns the bundled table and reports on it."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from synthloom.cli import app, first_run
from tests.conftest import ADULT_SAMPLE

runner = CliRunner()
SMALL = {"rnn_units": 16, "embedding_dim": 8, "rnn_layers": 1}


@pytest.fixture
def small_models(monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo's own code path with tiny networks, so each test takes seconds."""
    for name in ("TableSynthesizer", "TextSynthesizer"):
        real = getattr(first_run, name)
        monkeypatch.setattr(first_run, name, lambda real=real, **kw: real(**{**kw, **SMALL}))


@pytest.mark.usefixtures("small_models")
def test_table_demo_writes_rows_and_report_and_prints_the_verdict(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = runner.invoke(
        app,
        ["demo", "--output-dir", str(out), "--max-seconds", "1", "--num-records", "300"],
    )
    assert result.exit_code == 0, result.output
    synthetic = pd.read_csv(out / "synthetic_adult.csv")
    real = pd.read_csv(ADULT_SAMPLE)
    assert len(synthetic) == 300 and list(synthetic.columns) == list(real.columns)
    assert set(synthetic["income"]) <= set(real["income"])
    html = out / "report" / "report.html"
    assert html.is_file() and (out / "report" / "report.pdf").is_file()
    output = " ".join(result.output.split())
    accuracy = re.search(r"accuracy (\d+\.\d)%", output)
    assert accuracy and 0 < float(accuracy.group(1)) <= 100
    assert re.search(r"privacy (OK|CAUTION|WARNING): ", output)
    assert f"open the report: {html}" in output


@pytest.mark.usefixtures("small_models")
def test_text_demo_on_request(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = runner.invoke(
        app,
        ["demo", "--text", "--output-dir", str(out), "--max-seconds", "1", "--num-records", "3"],
    )
    assert result.exit_code == 0, result.output
    written = (out / "synthetic.txt").read_text(encoding="utf-8").splitlines()
    assert 0 < len(written) <= 3
    assert all(line in result.output for line in written)
    assert not (out / "report").exists()


def test_demo_time_cap_is_checked() -> None:
    result = runner.invoke(app, ["demo", "--max-seconds", "0"])
    assert result.exit_code == 2 and "--max-seconds" in result.output
