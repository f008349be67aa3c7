"""The report on awkward tables: dates, booleans, missing values, no holdout, one column."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthloom.report import build_report, compute_scores


def _table(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2020-01-01")
    return pd.DataFrame(
        {
            "when": start + pd.to_timedelta(rng.integers(0, 1000, n), unit="D"),
            "flag": rng.random(n) > 0.3,
            "amount": np.where(rng.random(n) > 0.1, rng.lognormal(3, 1, n), np.nan),
            "label": pd.array(
                np.where(rng.random(n) > 0.05, rng.choice(["a", "b", "c"], n), None),
                dtype="string",
            ),
            "empty": pd.array([None] * n, dtype="string"),
        }
    )


def test_mixed_kinds_without_holdout(tmp_path: Path) -> None:
    real, synthetic = _table(300, 1), _table(200, 2)
    synthetic["amount"] = synthetic["amount"].astype(object)
    synthetic.loc[0, "amount"] = "not a number"  # counts as missing
    result = build_report(real, synthetic, tmp_path / "out", target="flag")
    scores = json.loads(result.json_path.read_text(encoding="utf-8"))
    assert scores["data"]["kinds"] == {
        "when": "datetime",
        "flag": "categorical",
        "amount": "numeric",
        "label": "categorical",
        "empty": "categorical",
    }
    assert 40 < scores["quality"]["score"] <= 100
    assert scores["quality"]["holdout"] is None
    assert scores["accuracy"]["holdout"] is None
    # no holdout: no DCR share, a cautious verdict, and no ML utility (it needs a holdout)
    assert scores["privacy"]["dcr_share"] is None
    assert scores["privacy"]["verdict"]["level"] == "caution"
    assert scores["ml_utility"] is None
    html = result.html_path.read_text(encoding="utf-8")
    assert "ML utility needs a holdout" in html
    assert "NaN" not in result.json_path.read_text(encoding="utf-8")


def test_single_column_and_target_only() -> None:
    real, synthetic, holdout = _table(300, 1), _table(200, 2), _table(300, 3)
    scores = compute_scores(real[["amount"]], synthetic[["amount"]])
    assert scores["quality"]["field_correlation_stability"] is None
    assert scores["accuracy"]["bivariate_mean"] is None
    # without a holdout the verdict is never better than "caution"
    assert scores["privacy"]["verdict"]["level"] == "caution"
    assert scores["privacy"]["training_duplicate_share"] > 0.05  # the missing amounts
    only = compute_scores(
        real[["label"]], synthetic[["label"]], holdout=holdout[["label"]], target="label"
    )
    assert only["ml_utility"]["utility"] is None
    assert "nothing to predict" in only["ml_utility"]["notes"][0]


def test_same_seed_same_scores() -> None:
    real, synthetic, holdout = _table(400, 4), _table(300, 5), _table(300, 6)
    first = compute_scores(real, synthetic, holdout=holdout, target="amount")
    second = compute_scores(real, synthetic, holdout=holdout, target="amount")
    first.pop("generated_at"), second.pop("generated_at")
    assert first == second
    assert first["ml_utility"]["task"] == "regression"
    assert first["ml_utility"]["metric"] == "r2"


@pytest.mark.parametrize("column", ["when", "amount", "label"])
def test_column_limits(column: str) -> None:
    from synthloom.report import ReportOptions

    real, synthetic = _table(200, 7), _table(200, 8)
    options = ReportOptions(max_columns_bivariate=2, max_columns_phik=2, max_columns_knn=1)
    scores = compute_scores(real, synthetic, target=column, options=options)
    assert column in scores["correlations"]["columns"]
    assert len(scores["correlations"]["columns"]) == 2
    assert len(scores["phik"]["columns"]) == 2
    assert scores["privacy"]["columns"] == [column]
    assert len(scores["accuracy"]["univariate"]) == 5
    assert len(scores["accuracy"]["bivariate"]) == 1
