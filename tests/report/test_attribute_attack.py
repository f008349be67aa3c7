"""The attribute-inference attack on columns marked sensitive: copies of the training rows let
an attacker guess a sensitive value of training records better than a blind guess (and
better than of holdout records); a sensitive column shuffled apart from the others gives no
more than the blind guess; numeric columns work; a wrong column name is a one-line error;
and the report on two frames (HTML and JSON, Python and CLI) holds the result."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from synthloom.cli import app
from synthloom.config import SyntheticsConfig
from synthloom.errors import ConfigError, DataError
from synthloom.relational import RelationalSynthesizer, build_relational_report, read_database
from synthloom.report import ReportOptions, build_report, compute_scores
from synthloom.report.attacks import wilson_interval
from synthloom.report.from_model import sensitive_columns
from synthloom.report.sections import NO_SENSITIVE_NOTE
from synthloom.synthesizers.table import TableSynthesizer
from tests.conftest import TINY


def population(n: int, seed: int) -> pd.DataFrame:
    """People of one made-up population: the categorical ``s`` follows ``a`` and ``b`` in
    40% of the rows (else noise), the numeric ``y`` follows ``a`` and ``c`` plus noise."""
    rng = np.random.default_rng(seed)
    a = rng.uniform(0, 100, n)
    b = rng.choice(list("pqrst"), n)
    c = rng.normal(0, 1, n)
    signal = np.where((a > 50) ^ np.isin(b, ["p", "q"]), "high", "low")
    noise = rng.choice(["high", "low", "mid"], n, p=[0.3, 0.3, 0.4])
    s = np.where(rng.random(n) < 0.4, signal, noise)
    y = 2 * a + 10 * c + rng.normal(0, 40, n)
    return pd.DataFrame({"a": a, "b": b, "c": c, "s": s, "y": y})


@pytest.fixture(scope="module")
def people() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Training rows, holdout rows and fresh rows of the same population."""
    return population(600, 1), population(600, 2), population(600, 3)


def attacks(real: pd.DataFrame, synthetic: pd.DataFrame, holdout: pd.DataFrame) -> dict:
    options = ReportOptions(sensitive_columns=("s", "y"))
    found = compute_scores(real, synthetic, holdout=holdout, options=options)
    section = found["privacy"]["attribute_inference"]
    assert section["sensitive_columns"] == ["s", "y"] and section["note"] is None
    return {a["column"]: a for a in section["attacks"]}


def test_copied_training_rows_give_the_attacker_their_sensitive_values(
    people: tuple[pd.DataFrame, ...],
) -> None:
    training, holdout, _ = people
    attack = attacks(training, training, holdout)["s"]
    members, non_members = attack["members"], attack["non_members"]
    assert attack["task"] == "classification" and attack["features"] == ["a", "b", "c"]
    assert members["n"] == non_members["n"] == 600
    assert members["accuracy"] > members["base_accuracy"] + 0.15
    assert members["gain"] == pytest.approx(members["accuracy"] - members["base_accuracy"])
    assert members["gain_interval"][0] > 0.1
    low, high = members["accuracy_interval"]
    assert low < members["accuracy"] < high
    # the copies tell more about the training records than about fresh people
    assert attack["member_gap"] > 0.05 and attack["member_gap_interval"][0] > 0
    assert attack["reference"] is not None and attack["n_reference"] == 600


def test_a_sensitive_column_shuffled_apart_gives_no_more_than_the_base_guess(
    people: tuple[pd.DataFrame, ...],
) -> None:
    training, holdout, _ = people
    shuffled = training.copy()
    shuffled["s"] = np.random.default_rng(5).permutation(shuffled["s"].to_numpy())
    members = attacks(training, shuffled, holdout)["s"]["members"]
    assert abs(members["accuracy"] - members["base_accuracy"]) < 0.1
    assert members["gain"] < 0.03 and members["gain_interval"][0] < 0


def test_numeric_sensitive_column(people: tuple[pd.DataFrame, ...]) -> None:
    training, holdout, fresh = people
    attack = attacks(training, fresh, holdout)["y"]  # fresh people: what a private generator gives
    members, non_members = attack["members"], attack["non_members"]
    assert attack["task"] == "regression"
    assert members["rmse"] < 0.8 * members["base_rmse"]
    assert members["gain"] == pytest.approx(1 - (members["rmse"] / members["base_rmse"]) ** 2)
    assert 0.4 < members["r2"] < 0.9 and non_members["gain"] > 0.4  # the population's relation
    low, high = attack["member_gap_interval"]
    assert low < 0 < high  # and nothing specific to the training records
    copied = attacks(training, training, holdout)["y"]
    assert copied["member_gap"] > attack["member_gap"]


def test_unknown_sensitive_column_is_a_one_line_error(tmp_path: Path) -> None:
    frame = population(60, 4)
    columns = {"salary": {"sensitive": True}}
    with pytest.raises(ConfigError, match=r"\['salary'\] that are not in the data") as error:
        TableSynthesizer(**TINY, columns=columns).fit(frame, tmp_path / "model")
    assert "\n" not in str(error.value) and "remove them from columns" in str(error.value)
    with pytest.raises(DataError, match=r"sensitive columns \['salary'\]") as error:
        compute_scores(frame, frame, options=ReportOptions(sensitive_columns=["salary"]))
    assert "\n" not in str(error.value)


def test_sensitive_columns_come_from_the_config() -> None:
    config = SyntheticsConfig.from_options(
        columns={"s": {"sensitive": True}, "b": "exclude", "y": {"sensitive": False}}
    )
    assert config.columns["s"].sensitive and not config.columns["b"].sensitive
    assert sensitive_columns(config) == ("s",)
    hidden = SyntheticsConfig.from_options(
        columns={"s": {"sensitive": True, "treatment": "exclude"}}
    )
    assert sensitive_columns(hidden) == ()  # not in the synthetic data: nothing to attack
    assert ReportOptions(sensitive_columns="s").sensitive_columns == ("s",)


def test_without_holdout_only_members_are_scored(people: tuple[pd.DataFrame, ...]) -> None:
    training, _, _ = people
    found = compute_scores(training, training, options=ReportOptions(sensitive_columns=["s"]))
    (attack,) = found["privacy"]["attribute_inference"]["attacks"]
    assert attack["members"]["gain"] > 0.15
    assert attack["non_members"] is None and attack["member_gap"] is None
    assert attack["reference"] is None
    plain = compute_scores(training, training)["privacy"]["attribute_inference"]
    assert plain == {"sensitive_columns": [], "attacks": [], "note": NO_SENSITIVE_NOTE}


def test_the_report_shows_the_attack(people: tuple[pd.DataFrame, ...], tmp_path: Path) -> None:
    training, holdout, fresh = people
    options = ReportOptions(sensitive_columns=["s"])
    result = build_report(training, fresh, tmp_path / "r", holdout=holdout, options=options)
    (attack,) = result.scores["privacy"]["attribute_inference"]["attacks"]
    assert attack["column"] == "s" and attack["members"]["n"] == 600
    written = json.loads(result.json_path.read_text())
    assert written["privacy"]["attribute_inference"]["attacks"][0]["column"] == "s"
    assert written["options"]["sensitive_columns"] == ["s"]
    html = result.html_path.read_text()
    assert "Attribute inference: s" in html and "training records guessed right" in html


def test_the_report_command_takes_sensitive_columns(
    people: tuple[pd.DataFrame, ...], tmp_path: Path
) -> None:
    training, holdout, fresh = people
    paths = {}
    for name, frame in (("real", training), ("synthetic", fresh), ("holdout", holdout)):
        paths[name] = tmp_path / f"{name}.csv"
        frame.to_csv(paths[name], index=False)
    args = [f"--{name}={path}" for name, path in paths.items()]
    out = tmp_path / "report"
    result = CliRunner().invoke(app, ["report", *args, f"--output={out}", "--sensitive", "s, y"])
    assert result.exit_code == 0, result.output
    found = json.loads((out / "report.json").read_text())["privacy"]["attribute_inference"]
    assert [a["column"] for a in found["attacks"]] == ["s", "y"]


def test_wilson_interval() -> None:
    low, high = wilson_interval(50, 100)
    assert low == pytest.approx(0.4038, abs=1e-3) and high == pytest.approx(0.5962, abs=1e-3)
    assert wilson_interval(0, 10)[0] == 0.0 and wilson_interval(10, 10)[1] == 1.0


def test_relational_table_reports_attack_the_sensitive_columns(tmp_path: Path) -> None:
    folder = tmp_path / "db"
    folder.mkdir()
    people = population(300, 6)
    people.insert(0, "id", range(len(people)))
    people.to_csv(folder / "people.csv", index=False)
    config = {
        "tables": {"people": {"primary_key": ["id"], "column_kinds": {"s": {"sensitive": True}}}}
    }
    schema, real = read_database(folder, config)
    synth = RelationalSynthesizer(config)
    synth.schema = schema  # what fit sets; only the table order is read
    assert synth.sensitive_columns() == {"people": ("s",)}
    build_relational_report(
        real, real, schema, tmp_path / "report", sensitive=synth.sensitive_columns()
    )
    scores = json.loads((tmp_path / "report" / "people" / "report.json").read_text())
    (attack,) = scores["privacy"]["attribute_inference"]["attacks"]
    assert attack["column"] == "s" and attack["members"]["gain"] > 0.15  # copies of the rows
    assert attack["non_members"] is None  # a database report has no holdout
