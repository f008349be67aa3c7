"""Value protection: rare categories and extreme values never come out as themselves."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from synthloom import ConfigError, DataError, TableSynthesizer
from synthloom.cli import app
from synthloom.config import SyntheticsConfig
from synthloom.privacy.protection import RARE, clip_range, column_threshold, protect_categories

runner = CliRunner()


def _people(n: int = 600) -> pd.DataFrame:
    """One record holds a unique city and by far the largest income."""
    rng = np.random.default_rng(0)
    city = rng.choice(["Lyon", "Oslo", "Rome"], n).astype(object)
    income = rng.normal(40_000, 5_000, n).round()
    city[7], income[7] = "Vaduz", 9_000_000.0
    day = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D")
    day = day.strftime("%Y-%m-%d").to_numpy(dtype=object)
    day[11] = "1901-05-05"
    return pd.DataFrame({"city": city, "income": income, "day": day})


def test_rare_categories_become_the_rare_token_or_common_values() -> None:
    column = pd.Series(["a"] * 10 + ["b"] * 6 + ["c", "d"] + [None], name="x")
    out, change = protect_categories(column, 5, "rare")
    assert out.tolist()[:16] == column.tolist()[:16] and pd.isna(out[18])
    assert out[16] == out[17] == RARE
    assert change is not None and (change.values, change.rows) == (2, 2)
    sampled, _ = protect_categories(column, 5, "sample")
    assert set(sampled.dropna()) == {"a", "b"}
    untouched, none = protect_categories(column, 1, "rare")
    assert none is None and untouched.equals(column)
    # a column that is not text keeps its type: rare values are drawn from the others
    flags, _ = protect_categories(pd.Series([True] * 9 + [False], name="f"), 5, "rare")
    assert flags.tolist() == [True] * 10


def test_ranges_are_clipped_to_values_at_least_k_records_hold() -> None:
    values = pd.Series([1.0, 2, 3, 4, 5, 6, 7, 8, 9, 1000, np.nan], name="v")
    out, change = clip_range(values, values, 3)
    assert out.max() == 8 and out.min() == 3 and np.isnan(out.iloc[-1])
    assert (out == 8).sum() >= 3 and (out == 3).sum() >= 3
    assert change is not None and change.rows == 4
    # so few values that the bounds would cross: they meet at the median
    few, _ = clip_range(values[:3], values[:3], 5)
    assert few.tolist() == [2.0, 2.0, 2.0]


def test_the_threshold_is_drawn_between_it_and_twice_it() -> None:
    drawn = {column_threshold(5) for _ in range(200)}
    assert min(drawn) >= 5 and max(drawn) <= 10 and len(drawn) > 3


@pytest.mark.parametrize("engine", ["lstm", "amplify"])
def test_a_unique_category_and_an_outlier_never_come_out(tmp_path: Path, engine: str) -> None:
    data = _people()
    synth = TableSynthesizer(epochs=3, max_training_time_seconds=10, seed=1, engine=engine)
    synth.fit(data, tmp_path / "model")
    out = synth.generate(num_records=2000, seed=2)
    assert not (out["city"] == "Vaduz").any()
    assert out["income"].max() < 100_000  # the 9-million record set no bound
    assert out["day"].min() >= "2020-01-01"  # nor did the 1901 date
    summary = json.loads((tmp_path / "model" / "training_summary.json").read_text())
    protected = {p["column"]: p for p in summary["value_protection"]}
    assert protected["city"]["values"] == 1 and protected["city"]["rows"] == 1
    assert protected["income"]["kind"] == "range" and protected["income"]["rows"] >= 2
    assert "day" in protected
    if engine == "lstm":  # seeding the protected value says why it is unknown
        with pytest.raises(DataError, match="value_protection: false"):
            synth.generate(seeds=pd.DataFrame({"city": ["Vaduz"]}))


def test_protection_switches_off_per_table_and_per_column(tmp_path: Path) -> None:
    data = _people()
    off = TableSynthesizer(engine="amplify", seed=1, value_protection=False)
    off.fit(data, tmp_path / "off")
    summary = json.loads((tmp_path / "off" / "training_summary.json").read_text())
    assert summary["value_protection"] == []
    config = {"params": {"seed": 1}, "columns": {"city": {"value_protection": False}}}
    column_off = TableSynthesizer(SyntheticsConfig.model_validate(config), engine="amplify")
    column_off.fit(data, tmp_path / "column")
    summary = json.loads((tmp_path / "column" / "training_summary.json").read_text())
    assert {p["column"] for p in summary["value_protection"]} == {"income", "day"}
    # under DP every released value is already covered: protection does not run
    dp = TableSynthesizer(dp=True, dp_epsilon=4, epochs=1, seed=1)
    dp.fit(data, tmp_path / "dp")
    summary = json.loads((tmp_path / "dp" / "training_summary.json").read_text())
    assert summary["value_protection"] == []


def test_a_threshold_larger_than_the_table_is_refused(tmp_path: Path) -> None:
    synth = TableSynthesizer(engine="amplify", value_protection_threshold=1000)
    with pytest.raises(ConfigError, match="value_protection_threshold 1000 is larger"):
        synth.fit(_people(), tmp_path / "model")
    assert not (tmp_path / "model").exists()
    data = tmp_path / "people.csv"
    _people().to_csv(data, index=False)
    config = tmp_path / "config.yml"
    config.write_text("models:\n- synthetics:\n    params: {value_protection_threshold: 1000}\n")
    model = tmp_path / "m"
    result = runner.invoke(
        app, ["train", str(config), "--data", str(data), "--model-dir", str(model)]
    )
    assert result.exit_code == 2 and "value_protection_threshold" in result.output
    assert not model.exists()


def test_the_report_lists_what_was_protected(tmp_path: Path) -> None:
    from synthloom.report import ReportOptions, build_report
    from synthloom.report.from_model import model_claims

    data = _people(300)
    synth = TableSynthesizer(engine="amplify", seed=1).fit(data, tmp_path / "model")
    claims = model_claims(tmp_path / "model")
    assert {p["column"] for p in claims["value_protection"]} >= {"city", "income"}
    out = tmp_path / "report"
    build_report(data, synth.generate(300, seed=0), out, options=ReportOptions(**claims))
    scores = json.loads((out / "report.json").read_text())
    listed = {p["column"]: p["rows"] for p in scores["privacy"]["value_protection"]}
    assert listed["city"] == 1
    assert "Value protection" in (out / "report.html").read_text()
