"""DP-SGD wired into text and table training: ε accounted, reported and kept in budget."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthloom.errors import ConfigError, SynthloomError
from synthloom.privacy.accounting import PrivacyLedger
from synthloom.table import TableSynthesizer
from synthloom.text import TextSynthesizer
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
    assert summary["delta"] == pytest.approx(1 / len(lines))
    # ε grows epoch by epoch, is in every EpochState and in history.csv
    assert [s.epsilon for s in states] == sorted(s.epsilon for s in states)
    assert states[-1].epsilon == pytest.approx(summary["epsilon"])
    with open(tmp_path / "m" / "history.csv") as f:
        history = list(csv.DictReader(f))
    assert float(history[-1]["epsilon"]) == pytest.approx(summary["epsilon"])
    # everything needed to recompute ε is in the summary
    sgd = privacy["dp_sgd"]
    recomputed, _ = PrivacyLedger.from_summary(sgd).epsilon(sgd["delta"])
    assert recomputed == pytest.approx(summary["epsilon"], rel=1e-6)
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
        dp_noise_multiplier=1.2,
        early_stopping=False,
        **TINY,
    )
    synth.fit(lines, tmp_path / "m")
    summary = _summary(tmp_path / "m")
    assert 1 <= summary["epochs_run"] < 50
    assert summary["stop_reason"] == "privacy_budget"
    assert summary["epsilon"] <= 3.0 * 1.001
    assert summary["privacy"]["plan"]["noise_multiplier"] == 1.2


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
    domain_eps = sum(r["epsilon"] for r in privacy["releases"])
    assert len(privacy["releases"]) == frame.shape[1]
    assert summary["epsilon"] == pytest.approx(sgd_eps + domain_eps)
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
        ({"dp_delta": 0.01}, "1/n"),
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


def test_dp_training_is_reproducible_with_a_seed(lines: list[str], tmp_path: Path) -> None:
    outputs = []
    for name in ("a", "b"):
        synth = TextSynthesizer(dp=True, epochs=1, batch_size=32, **TINY)
        synth.fit(lines[:200], tmp_path / name)
        outputs.append([r.text for r in synth.generate(5, seed=4, max_invalid=1000)])
    assert outputs[0] == outputs[1]
    assert np.isfinite(_summary(tmp_path / "a")["epsilon"])
