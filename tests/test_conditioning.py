"""Conditioning on any columns at generation time, imputation, fairness, rebalancing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from synthloom import ConfigError, DataError, TableSynthesizer
from synthloom.cli import app
from synthloom.lstm.table_model import _needs_particles

runner = CliRunner()


def _table(n: int = 2000) -> pd.DataFrame:
    """``band`` (3 values: early in the model's row) is set by ``level`` (40 values: late),
    so conditioning on ``level`` tests values that come after the free ones."""
    rng = np.random.default_rng(0)
    level = rng.integers(0, 40, n)
    band = np.where(level < 10, "low", np.where(level < 30, "mid", "high"))
    colour = rng.choice(["red", "blue"], n)
    # a number that follows the band, with gaps in training
    amount = np.where(band == "high", 1000.0, 10.0) + rng.normal(0, 1, n).round(2)
    return pd.DataFrame({"band": band, "colour": colour, "level": level, "amount": amount})


@pytest.fixture(scope="module")
def table_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("conditioning") / "model"
    TableSynthesizer(epochs=30, max_training_time_seconds=20, seed=1).fit(_table(), directory)
    return directory


@pytest.fixture(scope="module")
def synth(table_dir: Path) -> TableSynthesizer:
    return TableSynthesizer.load(table_dir)


def _band_share(frame: pd.DataFrame, band: str) -> float:
    return float((frame["band"] == band).mean())


def test_conditions_on_a_column_that_comes_after_free_ones(synth: TableSynthesizer) -> None:
    seeds = pd.DataFrame({"level": [5] * 200 + [35] * 200})
    out = synth.generate(seeds=seeds, seed=3)
    assert out["level"].tolist() == seeds["level"].tolist()  # given values exactly
    assert _band_share(out.iloc[:200], "low") >= 0.75
    assert _band_share(out.iloc[200:], "high") >= 0.75
    # one candidate per row cannot see the later condition: the band follows its marginal
    synth.config.params.conditioning_particles = 1
    try:
        blind = synth.generate(seeds=seeds, seed=3)
    finally:
        synth.config.params.conditioning_particles = 8
    assert _band_share(blind.iloc[:200], "low") < _band_share(out.iloc[:200], "low") - 0.2


def test_numbers_between_training_values_and_a_prefix(synth: TableSynthesizer) -> None:
    seeds = pd.DataFrame({"band": ["high"] * 50, "amount": [1000.123] * 50})
    out = synth.generate(seeds=seeds, seed=4)
    assert (out["amount"] == 1000.123).all() and (out["band"] == "high").all()
    assert (out["level"] >= 25).mean() >= 0.8  # high bands have high levels


def test_bad_seeds_are_refused_in_one_line(synth: TableSynthesizer) -> None:
    with pytest.raises(DataError, match=r"\['size'\] are not columns of the model"):
        synth.generate(seeds=pd.DataFrame({"size": [1]}))
    with pytest.raises(DataError, match="'colour' has values never seen in training: 'green'"):
        synth.generate(seeds=pd.DataFrame({"colour": ["green"]}))
    with pytest.raises(DataError, match="no rows"):
        synth.generate(seeds=pd.DataFrame({"colour": pd.Series([], dtype=object)}))
    with pytest.raises(DataError, match="'colour' has missing values"):
        synth.generate(seeds=pd.DataFrame({"colour": [None]}))


def test_out_of_range_numbers_warn_and_come_back(
    synth: TableSynthesizer, caplog: pytest.LogCaptureFixture
) -> None:
    out = synth.generate(seeds=pd.DataFrame({"amount": [5000.0] * 20}), seed=5)
    assert (out["amount"] == 5000.0).all()
    assert "outside the training range" in caplog.text


def test_rebalance_any_categorical_column(synth: TableSynthesizer) -> None:
    out = synth.generate(400, rebalance={"band": {"high": 0.5}}, seed=6)
    assert abs(_band_share(out, "high") - 0.5) < 0.02
    with pytest.raises(ConfigError, match="'amount' must be a categorical column"):
        synth.generate(10, rebalance={"amount": {"10": 0.5}})


def test_impute_fills_only_the_gaps(synth: TableSynthesizer) -> None:
    truth = _table(300).set_axis(range(100, 400))
    gaps = truth.copy()
    gaps.loc[gaps.index[::2], "band"] = None
    gaps.loc[gaps.index[1::3], "level"] = None
    filled = synth.impute(gaps, seed=7)
    assert filled.index.equals(gaps.index) and filled.notna().all().all()
    known = gaps.notna()
    assert (filled[known] == gaps[known]).sum().sum() == known.sum().sum()
    rows = gaps.index[gaps["band"].isna() & gaps["level"].notna()]
    hits = (filled.loc[rows, "band"] == truth.loc[rows, "band"]).mean()
    assert hits >= 0.8  # the band is known from the row's level
    only_band = synth.impute(gaps, ["band"], seed=7)
    assert only_band["level"].isna().sum() == gaps["level"].isna().sum()
    best = synth.impute(gaps, draws=3, seed=7)
    assert best.notna().all().all()
    assert (best[known] == gaps[known]).sum().sum() == known.sum().sum()


def test_impute_refuses_other_columns(synth: TableSynthesizer) -> None:
    frame = _table(10).assign(extra=1)
    with pytest.raises(DataError, match=r"it has others: \['extra'\]"):
        synth.impute(frame)
    with pytest.raises(ConfigError, match=r"impute columns \['nope'\]"):
        synth.impute(_table(10), ["nope"])


def test_fairness_makes_the_target_independent(synth: TableSynthesizer) -> None:
    real = _table()
    real_gap = pd.crosstab(real["band"], real["colour"], normalize="index")["red"]
    out = synth.generate(600, fairness={"target": "band", "sensitive": ["colour"]}, seed=8)
    shares = pd.crosstab(out["colour"], out["band"], normalize="index")
    assert (shares.max() - shares.min()).max() < 0.01  # exact shares in every group
    assert real_gap.max() - real_gap.min() < 0.1  # (the check means something:)
    biased = synth.generate(600, fairness={"target": "colour", "sensitive": ["band"]}, seed=9)
    assert set(biased["band"]) == {"low", "mid", "high"}
    with pytest.raises(ConfigError, match="'amount' is not a categorical column"):
        synth.generate(10, fairness={"target": "amount", "sensitive": ["colour"]})
    with pytest.raises(ConfigError, match="also a sensitive column"):
        synth.generate(10, fairness={"target": "band", "sensitive": ["band"]})
    with pytest.raises(ConfigError, match="'sex' is not a column of the model"):
        synth.generate(10, fairness={"target": "band", "sensitive": ["sex"]})


def test_the_statistical_engine_conditions_and_imputes(tmp_path: Path) -> None:
    synth = TableSynthesizer(engine="amplify", seed=1).fit(_table(), tmp_path / "m")
    out = synth.generate(seeds=pd.DataFrame({"band": ["high"] * 100}), seed=2)
    assert (out["band"] == "high").all() and (out["amount"] > 500).mean() > 0.9
    gaps = _table(50)
    gaps.loc[::2, "amount"] = None
    gaps.loc[1::2, "band"] = None
    filled = synth.impute(gaps, seed=3)
    assert filled.notna().all().all()
    assert (filled.loc[1::2, "colour"] == gaps.loc[1::2, "colour"]).all()


def test_particles_only_where_a_free_value_comes_first() -> None:
    assert not _needs_particles(np.array([[3, 1, -1, -1], [2, -1, -1, -1]]))
    assert _needs_particles(np.array([[3, 1, -1, -1], [-1, -1, 4, -1]]))
    assert not _needs_particles(np.full((2, 3), -1))


def test_cli_impute_and_generate_with_seeds(table_dir: Path, tmp_path: Path) -> None:
    gaps = _table(40)
    gaps.loc[::4, "band"] = None
    gaps.to_csv(tmp_path / "gaps.csv", index=False)
    filled = tmp_path / "filled.csv"
    args = ["impute", "--model-dir", table_dir, "--data", tmp_path / "gaps.csv", "-o", filled]
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    assert "filled 10 missing values" in result.output
    back = pd.read_csv(filled)
    assert back["band"].notna().all() and back["level"].tolist() == gaps["level"].tolist()

    pd.DataFrame({"level": [1, 2, 3]}).to_csv(tmp_path / "seeds.csv", index=False)
    out = tmp_path / "out.csv"
    args = ["generate", table_dir, "--seeds", tmp_path / "seeds.csv", "-o", out, "--no-report"]
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    assert pd.read_csv(out)["level"].tolist() == [1, 2, 3]

    pd.DataFrame({"size": [1]}).to_csv(tmp_path / "bad.csv", index=False)
    bad = tmp_path / "bad_out.csv"
    args = ["generate", table_dir, "--seeds", tmp_path / "bad.csv", "-o", bad, "--no-report"]
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 2 and "not columns of the model" in result.output
    assert not bad.exists()
    args = ["generate", table_dir, "-n", "20", "-o", bad, "--no-report", "--fairness", "band"]
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 2 and "target: sensitive" in result.output and not bad.exists()
