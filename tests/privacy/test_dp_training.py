"""DP-SGD wired into text and table training: ε accounted, reported and kept in budget."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors.torch import load_file

from synthloom.errors import ConfigError, SynthloomError
from synthloom.privacy.accounting import PrivacyLedger
from synthloom.synthesizers.table import TableSynthesizer
from synthloom.synthesizers.text import TextSynthesizer
from tests.conftest import ADULT_SAMPLE, BUNDLED_SAMPLE

TINY = {"rnn_units": 16, "embedding_dim": 8, "rnn_layers": 1, "seed": 3}


@pytest.fixture(scope="module")
def lines() -> list[str]:
    short = [x for x in BUNDLED_SAMPLE.read_text(encoding="utf-8").splitlines() if 0 < len(x) < 40]
    return short[:600]


@pytest.fixture(scope="module")
def adult() -> pd.DataFrame:
    return pd.read_csv(ADULT_SAMPLE, nrows=1500)


def _summary(model_dir: Path) -> dict:
    return json.loads((model_dir / "training_summary.json").read_text())


def test_text_dp_reports_a_recomputable_epsilon_within_target(
    lines: list[str], tmp_path: Path
) -> None:
    states = []
    synth = TextSynthesizer(dp=True, epochs=2, batch_size=32, dp_epsilon=4.0, **TINY)
    synth.fit(lines, tmp_path / "m", epoch_callback=states.append)
    summary = _summary(tmp_path / "m")
    privacy = summary["privacy"]
    assert summary["dp"] and summary["epsilon"] <= 4.0 * 1.001
    assert summary["delta"] <= 0.1 / len(lines) and summary["delta"] <= 1e-6
    # ε grows epoch by epoch, is in every EpochState and in history.csv
    assert [s.epsilon for s in states] == sorted(s.epsilon for s in states)
    assert states[-1].epsilon == pytest.approx(summary["epsilon"])
    with open(tmp_path / "m" / "history.csv") as f:
        history = list(csv.DictReader(f))
    assert float(history[-1]["epsilon"]) == pytest.approx(summary["epsilon"])
    # everything needed to recompute ε is in the summary
    sgd = privacy["dp_sgd"]
    recomputed, _ = PrivacyLedger.from_summary(sgd).epsilon(sgd["delta"])
    releases = sum(r["epsilon"] for r in privacy["releases"])
    assert recomputed + releases == pytest.approx(summary["epsilon"], rel=1e-6)
    # n is released with noise and only the released n is published
    assert [r["what"] for r in privacy["releases"]] == ["the number of training records"]
    assert summary["training_records"] == privacy["training_records_released"]
    params = json.loads((tmp_path / "m" / "model_params.json").read_text())
    assert params["n_records"] == privacy["training_records_released"]
    assert privacy["neighbouring"] == "add or remove one record"
    assert privacy["plan"]["noise_solved"]
    assert sgd["steps"] == 2 * privacy["plan"]["steps_per_epoch"]
    assert any("losses" in item for item in privacy["not_covered"])
    # the vocabulary is public (bytes), and the model loads and generates
    assert json.loads((tmp_path / "m" / "tokenizer.json").read_text())["kind"] == "byte"
    records = TextSynthesizer.load(tmp_path / "m").generate(5, seed=1, max_invalid=1000)
    assert len([r for r in records if r.valid]) == 5


def test_a_given_noise_stops_training_before_the_budget(lines: list[str], tmp_path: Path) -> None:
    synth = TextSynthesizer(
        dp=True,
        epochs=50,
        batch_size=60,
        dp_epsilon=3.0,
        dp_noise_multiplier=2.0,
        early_stopping=False,
        **TINY,
    )
    synth.fit(lines, tmp_path / "m")
    summary = _summary(tmp_path / "m")
    assert 1 <= summary["epochs_run"] < 50
    assert summary["stop_reason"] == "privacy_budget"
    assert summary["epsilon"] <= 3.0 * 1.001
    assert summary["privacy"]["plan"]["noise_multiplier"] == 2.0


def test_sentencepiece_is_refused_under_dp(lines: list[str], tmp_path: Path) -> None:
    synth = TextSynthesizer(dp=True, vocab_size=200, epochs=1, **TINY)
    with pytest.raises(ConfigError, match="vocab_size: 0"):
        synth.fit(lines, tmp_path / "m")
    assert not (tmp_path / "m").exists()


def test_table_dp_composes_clusters_and_vocabularies_within_budget(
    adult: pd.DataFrame, tmp_path: Path
) -> None:
    frame = adult[["age", "workclass", "education", "sex", "hours_per_week", "income"]]
    synth = TableSynthesizer(
        dp=True, epochs=1, batch_size=100, dp_epsilon=6.0, field_cluster_size=3, **TINY
    )
    synth.fit(frame, tmp_path / "m")
    summary = _summary(tmp_path / "m")
    privacy = summary["privacy"]
    # two clusters train on the same rows: one accountant for both, planned for both
    assert len(synth.clusters_) >= 2
    assert privacy["plan"]["models"] == len(synth.clusters_)
    sgd_eps = privacy["dp_sgd"]["epsilon"]
    columns = [r for r in privacy["releases"] if r["what"].startswith("column")]
    domain_eps = sum(r["epsilon"] for r in columns)
    count_eps = sum(r["epsilon"] for r in privacy["releases"]) - domain_eps
    assert len(columns) == frame.shape[1] == len(privacy["releases"]) - 1
    assert summary["epsilon"] == pytest.approx(sgd_eps + domain_eps + count_eps)
    assert summary["epsilon"] <= 6.0 * 1.001 and domain_eps == pytest.approx(6.0 * 0.2)
    # no learned validators, no fallback under DP
    assert json.loads((tmp_path / "m" / "validators.json").read_text())["fields"] == []
    assert not (tmp_path / "m" / "fallback").exists()
    rows = TableSynthesizer.load(tmp_path / "m").generate(50, seed=2)
    assert list(rows.columns) == list(frame.columns) and len(rows) == 50
    # categories are released only when frequent: every generated one is a real one
    assert set(rows["sex"].dropna()) <= set(frame["sex"])


def test_a_rare_category_is_not_released(adult: pd.DataFrame, tmp_path: Path) -> None:
    frame = adult[["age", "sex"]].copy()
    frame.loc[0, "sex"] = "Unique-Person"
    synth = TableSynthesizer(dp=True, epochs=1, batch_size=100, **TINY)
    synth.fit(frame, tmp_path / "m")
    params = (tmp_path / "m" / "model_params.json").read_text()
    assert "Unique-Person" not in params
    rows = synth.generate(200, seed=0)
    assert "Unique-Person" not in set(rows["sex"].dropna())


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"dp_epsilon": 0}, "dp_epsilon"),
        ({"dp_epsilon": -1}, "dp_epsilon"),
        ({"dp_l2_norm_clip": 0}, "dp_l2_norm_clip"),
        ({"dp_delta": 0.5}, "1/n"),  # far above 1/n, whatever the DP count releases
        ({"dp_epsilon": 0.01, "epochs": 50}, "records"),
    ],
)
def test_bad_dp_settings_say_what_to_change(
    adult: pd.DataFrame, tmp_path: Path, options: dict, expected: str
) -> None:
    with pytest.raises(SynthloomError, match=expected):
        synth = TableSynthesizer(dp=True, batch_size=100, **{**TINY, **options})
        synth.fit(adult[["age", "sex"]].iloc[:200], tmp_path / "m")
    assert not (tmp_path / "m").exists()


def test_same_seed_dp_runs_draw_fresh_noise(lines: list[str], tmp_path: Path) -> None:
    weights = []
    for name in ("a", "b"):
        synth = TextSynthesizer(dp=True, epochs=1, batch_size=32, **TINY)
        synth.fit(lines[:200], tmp_path / name)
        weights.append(load_file(tmp_path / name / "weights.safetensors"))
        assert np.isfinite(_summary(tmp_path / name)["epsilon"])
    assert weights[0].keys() == weights[1].keys()
    assert any(not torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
    # without DP the same seed still repeats a run exactly
    plain = []
    for name in ("c", "d"):
        TextSynthesizer(epochs=1, batch_size=32, **TINY).fit(lines[:200], tmp_path / name)
        plain.append(load_file(tmp_path / name / "weights.safetensors"))
    assert all(torch.equal(plain[0][k], plain[1][k]) for k in plain[0])


def test_structure_comes_from_releases_not_raw_counts(tmp_path: Path) -> None:
    """Column order, date unit and float decimals under DP follow the DP releases."""
    n = 1200
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "sex": rng.choice(["F", "M"], n),
            # 361 raw values; only "common" is releasable (and it covers most rows)
            "rare": ["common" if i % 10 < 7 else f"id{i}" for i in range(n)],
            "when": pd.to_datetime("2020-01-01") + pd.to_timedelta(rng.integers(0, 60, n), "D"),
            "score": np.where(np.arange(n) == 0, 0.123456, rng.choice([1.5, 2.5], n)),
        }
    )
    frame["when"] = frame["when"].dt.strftime("%Y-%m-%d %H:%M")  # all at midnight
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    synth = TableSynthesizer(dp=True, epochs=1, batch_size=100, dp_epsilon=30.0, **TINY)
    synth.fit(path, tmp_path / "m")
    params = json.loads((tmp_path / "m" / "model_params.json").read_text())
    codec = params["parts"][0]["codec"]
    order = [f["name"] for f in codec["fields"]]
    sizes = {f["name"]: len(f.get("values", [])) for f in codec["fields"]}
    # the raw count would put "rare" after "sex"; its released vocabulary is the smaller
    assert sizes["rare"] < sizes["sex"] and order.index("rare") < order.index("sex")
    fields = {f["name"]: f for f in codec["fields"]}
    assert fields["when"]["unit"] == "seconds"  # the format has a time of day
    columns = {c["name"]: c for c in params["table_format"]["columns"]}
    assert columns["score"]["decimals"] == 1  # from the released 1.5 and 2.5, not 0.123456


def test_one_record_cannot_change_a_column_kind_under_dp(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    ages = [str(a) for a in rng.integers(18, 90, 3000)]
    ages[7] = "unknown"  # without DP this one value makes "age" a text column
    path = tmp_path / "t.csv"
    pd.DataFrame({"age": ages, "sex": rng.choice(["F", "M"], 3000)}).to_csv(path, index=False)
    plain = TableSynthesizer(epochs=1, batch_size=100, **TINY).fit(path, tmp_path / "plain")
    assert plain.table_format.column("age").kind == "string"
    synth = TableSynthesizer(dp=True, epochs=1, batch_size=100, dp_epsilon=10.0, **TINY)
    synth.fit(path, tmp_path / "m")
    assert synth.table_format.column("age").kind == "integer"
    assert synth.table_format.column("sex").kind == "string"
    privacy = _summary(tmp_path / "m")["privacy"]
    kinds = [r for r in privacy["releases"] if r["what"].startswith("kind of column")]
    assert [r["what"] for r in kinds] == ["kind of column 'age'", "kind of column 'sex'"]
    rows = synth.generate(100, seed=0)
    assert str(rows["age"].dtype) == "Int64" and "unknown" not in params_text(tmp_path / "m")


def params_text(model_dir: Path) -> str:
    return (model_dir / "model_params.json").read_text()


def test_amplify_is_refused_under_dp() -> None:
    with pytest.raises(ConfigError, match="not differentially private"):
        TableSynthesizer(engine="amplify", dp=True)
