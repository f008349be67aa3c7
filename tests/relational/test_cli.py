"""`synthloom relational train|generate|assess` end to end, and one-line errors."""

from __future__ import annotations

import json
import re
import shutil

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from synthloom.cli import app

from .conftest import CHINOOK, chinook_config

runner = CliRunner()


def _config(tmp_path, **changes) -> str:
    path = tmp_path / "relational.yaml"
    config = chinook_config(**{"include_tables": ["employee", "customer", "invoice"], **changes})
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
    args = ["relational", "generate", "--model-dir", model, "--num-records", "12", "--no-report"]
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


def _trained(tmp_path, source) -> str:
    config = _config(tmp_path, include_tables=["employee", "customer"])
    model = str(tmp_path / "model")
    result = runner.invoke(
        app, ["relational", "train", config, "--source", str(source), "--model-dir", model]
    )
    assert result.exit_code == 0, result.output
    return model


def test_generate_writes_the_relational_report(tmp_path):
    model = _trained(tmp_path, CHINOOK)
    out = tmp_path / "out"
    args = ["relational", "generate", "--model-dir", model, "--num-records", "10"]
    result = runner.invoke(app, [*args, "--destination", str(out), "--seed", "0"])
    assert result.exit_code == 0, result.output
    report = tmp_path / "out_report"  # beside the folder written
    output = result.output.replace("\n", "")
    assert re.search(r"report: quality employee \d+, customer \d+", output), output
    assert "out_report/relational_report.html" in output
    assert (report / "relational_report.html").is_file()
    scores = json.loads((report / "relational_report.json").read_text())
    html = (report / "relational_report.html").read_text(encoding="utf-8")
    for name in ("employee", "customer"):  # one full report per table, linked and scored
        entry = scores["tables"][name]
        assert entry["report"] == f"{name}/report.html"
        assert f'href="{name}/report.html"' in html
        for suffix in ("html", "pdf", "json"):
            assert (report / name / f"report.{suffix}").is_file()
        single = json.loads((report / name / "report.json").read_text())
        assert entry["quality_score"] == pytest.approx(single["quality"]["score"])
        assert single["data"]["n_synthetic"] == len(pd.read_csv(out / f"{name}.csv"))
        assert "id" not in single["data"]["columns"]  # keys are new values: not compared
    assert (report / "relational_report.pdf").read_bytes().startswith(b"%PDF")
    # the report compares what was written
    assert scores["tables"]["customer"]["synthetic_rows"] == len(pd.read_csv(out / "customer.csv"))
    assert scores["tables"]["customer"]["real_rows"] == 59
    steps = json.loads((tmp_path / "model" / "generation_status.json").read_text())["steps"]
    assert [s["stage"] for s in steps][-2:] == ["writing", "report"]


def test_generate_without_readable_source_skips_the_report(tmp_path):
    source = tmp_path / "copy.sqlite"
    shutil.copy(CHINOOK, source)
    model = _trained(tmp_path, source)
    source.unlink()  # the training data is gone: the database is still written
    args = ["relational", "generate", "--model-dir", model, "--num-records", "5"]
    result = runner.invoke(app, [*args, "--destination", str(tmp_path / "db.sqlite")])
    assert result.exit_code == 0, result.output
    assert "no report:" in result.output and "does not exist" in result.output
    assert (tmp_path / "db.sqlite").is_file() and not (tmp_path / "db_report").exists()


def test_report_dir_defaults(tmp_path):
    from synthloom.cli.relational import _report_dir

    model = tmp_path / "model"
    assert _report_dir(str(tmp_path / "out"), model) == tmp_path / "out_report"
    assert _report_dir(f"sqlite:///{tmp_path}/s.sqlite", model) == tmp_path / "s_report"
    assert _report_dir(str(tmp_path / "s.db"), model) == tmp_path / "s_report"
    assert _report_dir("s3://bucket/run", model) == model / "report"
    assert _report_dir("postgresql+psycopg://me@h/db", model) == model / "report"


def test_plain_generate_on_a_relational_model_dir(tmp_path):
    model = _trained(tmp_path, CHINOOK)
    result = runner.invoke(
        app, ["generate", "--model-dir", model, "--output", str(tmp_path / "x.csv")]
    )
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "relational model" in result.output
    assert "synthloom relational generate" in result.output


def test_missing_object_storage_driver_fails_before_generating(tmp_path):
    import importlib.util

    if importlib.util.find_spec("gcsfs") is not None:
        pytest.skip("gcsfs is installed")
    model = _trained(tmp_path, CHINOOK)
    args = ["relational", "generate", "--model-dir", model, "--num-records", "5"]
    result = runner.invoke(app, [*args, "--destination", "gs://bucket/run1"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "needs the gcsfs package" in result.output and "pip install gcsfs" in result.output
    assert "generation" not in result.output  # checked before any table was generated
    result = runner.invoke(app, [*args, "--destination", "nosuchscheme://bucket/run1"])
    assert result.exit_code == 2 and "unknown to fsspec" in result.output


def test_progress_lines_keep_bracketed_words(capsys: pytest.CaptureFixture[str]) -> None:
    from synthloom.cli.relational import _Progress
    from synthloom.relational.status import StatusEvent

    event = StatusEvent(
        "writing", "t[1]", "failed", "now", 0.5, "needs pip install 'synthloom[postgres]'"
    )
    _Progress(quiet=False, spinner=False)(event)
    shown = capsys.readouterr().err  # the console writes to stderr
    assert "synthloom[postgres]" in shown and "t[1]" in shown


def test_a_database_trains_without_a_config(tmp_path) -> None:
    from tests.serve.conftest import make_shop

    database = make_shop(tmp_path / "shop.sqlite")
    runner = CliRunner()
    trained = runner.invoke(
        app,
        [
            "relational",
            "train",
            str(database),
            "--model-dir",
            str(tmp_path / "m"),
            "--model",
            "amplify",
            "--quiet",
        ],
    )
    assert trained.exit_code == 0, trained.output
    assert "root customer" in trained.output
    made = runner.invoke(
        app,
        [
            "relational",
            "generate",
            "--model-dir",
            str(tmp_path / "m"),
            "--destination",
            str(tmp_path / "out"),
            "--num-records",
            "9",
            "--no-report",
        ],
    )
    assert made.exit_code == 0, made.output
    assert len(pd.read_csv(tmp_path / "out" / "customer.csv")) == 9
    wrong = runner.invoke(
        app,
        [
            "relational",
            "train",
            str(database),
            "--model-dir",
            str(tmp_path / "n"),
            "--source",
            str(database),
        ],
    )
    assert wrong.exit_code == 2 and "--source goes with a config" in wrong.output
