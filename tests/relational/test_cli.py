"""`synthloom relational train|generate|assess` end to end, and one-line errors."""

from __future__ import annotations

import pandas as pd
import yaml
from typer.testing import CliRunner

from synthloom.cli import app

from .conftest import CHINOOK, chinook_config

runner = CliRunner()


def _config(tmp_path, **changes) -> str:
    path = tmp_path / "relational.yaml"
    config = chinook_config(include_tables=["employee", "customer", "invoice"], **changes)
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return str(path)


def test_train_and_generate(tmp_path):
    config = _config(tmp_path)
    model = str(tmp_path / "model")
    result = runner.invoke(
        app, ["relational", "train", config, "--source", str(CHINOOK), "--model-dir", model]
    )
    assert result.exit_code == 0, result.output
    assert "training invoice" in result.output and "complexity" in result.output
    out = tmp_path / "out"
    args = ["relational", "generate", "--model-dir", model, "--num-records", "12"]
    result = runner.invoke(app, [*args, "--destination", str(out), "--seed", "1"])
    assert result.exit_code == 0, result.output
    assert "referential integrity 100%" in result.output
    assert len(pd.read_csv(out / "employee.csv")) == 12
    # writing again without --overwrite: one line, exit code 2, files intact
    result = runner.invoke(app, [*args, "--destination", str(out)])
    assert result.exit_code == 2
    assert "--overwrite" in result.output and "Traceback" not in result.output
    db = tmp_path / "synthetic.sqlite"
    result = runner.invoke(app, [*args, "--destination", f"sqlite:///{db}"])
    assert result.exit_code == 0, result.output
    assert db.is_file()


def test_assess_and_errors(tmp_path):
    config = _config(tmp_path)
    result = runner.invoke(app, ["relational", "assess", config, "--source", str(CHINOOK)])
    assert result.exit_code == 0, result.output
    assert "root employee" in result.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("tables: {employee: {orignal: true}}\n", encoding="utf-8")
    result = runner.invoke(
        app,
        ["relational", "train", str(bad), "--source", str(CHINOOK), "--model-dir", "m"],
    )
    assert result.exit_code == 2
    assert "unknown key 'orignal'" in result.output and "original" in result.output
    result = runner.invoke(
        app,
        ["relational", "generate", "--model-dir", str(tmp_path / "none"), "--destination", "x"],
    )
    assert result.exit_code == 2 and "not a relational model dir" in result.output
