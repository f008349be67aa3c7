"""Unit tests of the report's scores on small hand-made frames: each formula by itself."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from synthloom.errors import ConfigError, DataError
from synthloom.report import ReportOptions
from synthloom.report.correlations import association_matrix, fit_coders, phik_matrix
from synthloom.report.inputs import prepare_inputs, sample_rows, select_columns
from synthloom.report.metrics import dcr
from synthloom.report.privacy import PrivacyResult, knn_privacy, privacy_verdict
from synthloom.report.scores import (
    deep_structure,
    field_correlation_stability,
    grade,
    js_stability,
    quality_score,
)
from synthloom.report.utility import ml_utility


def _mixed(n: int, seed: int) -> pd.DataFrame:
    """x and y linearly related, c a function of x, z independent noise."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return pd.DataFrame(
        {
            "x": x,
            "y": 2 * x + rng.normal(scale=0.1, size=n),
            "c": np.where(x > 0, "pos", "neg"),
            "z": rng.choice(["a", "b", "c"], size=n),
        }
    )


# --------------------------------------------------------------------------------------
# associations
# --------------------------------------------------------------------------------------


def test_association_measures_match_their_formulas() -> None:
    frame = _mixed(2000, 0)
    columns = list(frame.columns)
    result = association_matrix(frame, columns, fit_coders(frame, columns, 10))
    m = result.matrix
    assert m[0, 1] == pytest.approx(np.corrcoef(frame["x"], frame["y"])[0, 1])
    assert result.methods[0][1] == "pearson"
    # eta of x grouped by the sign category, by hand
    groups = frame.groupby("c")["x"]
    between = (groups.size() * (groups.mean() - frame["x"].mean()) ** 2).sum()
    eta = math.sqrt(between / ((frame["x"] - frame["x"].mean()) ** 2).sum())
    assert m[0, 2] == pytest.approx(eta) and m[2, 0] == pytest.approx(eta)
    assert result.methods[2][0] == "correlation_ratio"
    # Theil's U: z tells nothing about c, and c nothing about z
    assert m[2, 3] < 0.01 and m[3, 2] < 0.01
    assert result.methods[2][3] == "theils_u"
    assert np.allclose(np.diag(m), 1.0)


def test_theils_u_is_asymmetric() -> None:
    # fine determines coarse, but coarse only halves the uncertainty about fine
    fine = np.repeat(["a", "b", "c", "d"], 50)
    coarse = np.repeat(["x", "y"], 100)
    frame = pd.DataFrame({"fine": fine, "coarse": coarse})
    m = association_matrix(frame, ["fine", "coarse"], fit_coders(frame, frame.columns, 10)).matrix
    assert m[1, 0] == pytest.approx(1.0)  # U(coarse | fine)
    assert m[0, 1] == pytest.approx(0.5)  # U(fine | coarse) = (2 - 1) / 2 bits


def test_constant_columns() -> None:
    frame = pd.DataFrame(
        {"a": [1.0] * 50, "b": np.arange(50.0), "c": ["k"] * 50, "d": ["u", "v"] * 25}
    )
    columns = list(frame.columns)
    m = association_matrix(frame, columns, fit_coders(frame, columns, 10)).matrix
    assert math.isnan(m[0, 1])  # Pearson with a constant: undefined
    assert m[2, 1] == 0.0  # one category explains none of b's variance
    assert math.isnan(m[2, 3])  # U(c | d) with H(c) = 0: undefined
    assert m[3, 2] == 0.0  # a constant removes no uncertainty about d


def test_phik_sees_dependence_and_independence() -> None:
    frame = _mixed(2000, 1)
    columns = list(frame.columns)
    m = phik_matrix(frame, columns, fit_coders(frame, columns, 10)).matrix
    assert m[0, 1] > 0.9  # x and y
    assert m[0, 2] > 0.7  # x and its sign
    assert m[0, 3] < 0.15  # x and noise
    assert np.allclose(m, m.T, equal_nan=True)


# --------------------------------------------------------------------------------------
# stabilities and the score
# --------------------------------------------------------------------------------------


def test_js_stability_formula() -> None:
    real = pd.Series(["a"] * 50 + ["b"] * 50)
    other = pd.Series(["a"] * 100)
    # p = (.5, .5), q = (1, 0), m = (.75, .25): JSD = .5 (.5 log2(2/3) + .5 log2 2) + .5 log2(4/3)
    jsd = 0.5 * (0.5 * math.log2(0.5 / 0.75) + 0.5 * math.log2(2)) + 0.5 * math.log2(1 / 0.75)
    assert js_stability(real, other, 10) == pytest.approx(1 - math.sqrt(jsd))
    assert js_stability(real, real, 10) == pytest.approx(1.0)


def test_field_correlation_stability_formula() -> None:
    frame = _mixed(1000, 2)
    columns = list(frame.columns)
    coders = fit_coders(frame, columns, 10)
    real = association_matrix(frame, columns, coders)
    assert field_correlation_stability(real, real) == 1.0
    other = association_matrix(frame, columns, coders)
    other.matrix[0, 1] = other.matrix[1, 0] = 0.0  # drop the x-y correlation
    off = ~np.eye(len(columns), dtype=bool)
    mass = np.abs(np.nan_to_num(real.matrix[off])).sum()
    expected = 1 - 2 * abs(real.matrix[0, 1]) / mass
    assert field_correlation_stability(real, other) == pytest.approx(expected)


def test_deep_structure_is_one_for_identical_data_and_lower_for_shuffled() -> None:
    real = _mixed(1500, 3)
    rng = np.random.default_rng(0)
    shuffled = real.apply(lambda column: column.to_numpy()[rng.permutation(len(column))])
    same, broken = deep_structure(real, [real, shuffled], bins=10, seed=0)
    assert same.stability == pytest.approx(1.0)
    assert broken.stability < 0.85
    assert sum(same.weights) == pytest.approx(1.0)


def test_quality_score_and_grades() -> None:
    score = quality_score(0.9, 0.6, 0.9)
    assert score.score == pytest.approx(80.0) and score.grade == "Excellent"
    assert quality_score(0.5, None, 0.7).score == pytest.approx(60.0)
    assert [grade(s) for s in (100, 79.9, 59, 39, 19.9, 0)] == [
        "Excellent",
        "Good",
        "Moderate",
        "Poor",
        "Very poor",
        "Very poor",
    ]


# --------------------------------------------------------------------------------------
# privacy
# --------------------------------------------------------------------------------------


def test_knn_privacy_agrees_with_dcr() -> None:
    training, holdout, synthetic = _mixed(600, 4), _mixed(500, 5), _mixed(400, 6)
    synthetic.iloc[:100] = training.iloc[:100].to_numpy()  # a quarter are copies
    expected = dcr(training, holdout, synthetic, max_rows=300, seed=3)
    result = knn_privacy(training, synthetic, holdout, list(training.columns), 300, 3)
    assert result.dcr_share == pytest.approx(expected.dcr_share)
    assert result.exact_copy_share == pytest.approx(expected.exact_copy_share)
    summary = result.to_dict()
    assert summary["dcr_training_median"] == pytest.approx(expected.dcr_training_median)
    assert summary["dcr_holdout_median"] == pytest.approx(expected.dcr_holdout_median)
    assert summary["nndr_training_median"] == pytest.approx(expected.nndr_training_median)
    assert result.holdout_exact_copy_share == 0.0


def _privacy(share: float | None, copies: float, baseline: float | None) -> PrivacyResult:
    n = 1000
    d_training = np.ones(n)
    d_holdout = None
    if share is not None:
        d_holdout = np.where(np.arange(n) < round(share * n), 2.0, 0.5)
    return PrivacyResult(
        columns=["a"],
        d_training=d_training,
        d_holdout=d_holdout,
        nndr=np.ones(n),
        holdout_d_training=None,
        holdout_nndr=None,
        exact_copy_share=copies,
        holdout_exact_copy_share=baseline,
        training_duplicate_share=0.0,
        n_training=n,
        n_holdout=0 if share is None else n,
        n_synthetic=n,
    )


@pytest.mark.parametrize(
    ("share", "copies", "baseline", "level"),
    [
        (0.50, 0.0, 0.0, "ok"),
        (0.52, 0.01, 0.005, "ok"),
        (0.57, 0.0, 0.0, "caution"),
        (0.50, 0.03, 0.0, "caution"),
        (0.65, 0.0, 0.0, "warning"),
        (0.50, 0.20, 0.01, "warning"),
        (None, 0.0, None, "caution"),
        (None, 0.5, None, "warning"),
    ],
)
def test_privacy_verdict_levels(
    share: float | None, copies: float, baseline: float | None, level: str
) -> None:
    result = _privacy(share, copies, baseline)
    if share is not None:
        assert result.dcr_share == pytest.approx(share)
    verdict = privacy_verdict(result)
    assert verdict.level == level
    assert verdict.headline and verdict.reasons
    if level == "warning":
        assert verdict.headline.startswith("PRIVACY WARNING")


# --------------------------------------------------------------------------------------
# ML utility
# --------------------------------------------------------------------------------------


def test_ml_utility_regression_and_classification() -> None:
    real, holdout = _mixed(800, 7), _mixed(400, 8)
    kinds = prepare_inputs(real, real, holdout, "y").kinds
    same = ml_utility(real, real, holdout, "y", kinds, list(real.columns), 10_000, 0)
    assert same.task == "regression" and same.metric == "r2"
    assert same.utility == pytest.approx(1.0)
    assert same.real["r2"] > 0.9
    noise = real.assign(y=np.random.default_rng(0).normal(size=len(real)))
    worse = ml_utility(real, noise, holdout, "y", kinds, list(real.columns), 10_000, 0)
    assert worse.utility is not None and worse.utility < 0.2
    sign = ml_utility(real, real, holdout, "c", kinds, list(real.columns), 10_000, 0)
    assert sign.task == "classification" and sign.metric == "roc_auc"
    assert sign.real["roc_auc"] > 0.95 and sign.utility == pytest.approx(1.0)


# --------------------------------------------------------------------------------------
# inputs and options
# --------------------------------------------------------------------------------------


def test_inputs_keep_common_columns_and_reject_bad_frames() -> None:
    real = pd.DataFrame({"a": [1, 2], "b": ["x", "y"], "only_real": [0, 0]})
    synthetic = pd.DataFrame({"b": ["x", "x"], "a": [1, 1], "only_syn": [1, 1]})
    inputs = prepare_inputs(real, synthetic, None, "b")
    assert inputs.columns == ["a", "b"]
    assert list(inputs.synthetic.columns) == ["a", "b"]
    assert any("only_real" in note for note in inputs.notes)
    with pytest.raises(DataError, match="share no column"):
        prepare_inputs(real, pd.DataFrame({"z": [1]}), None, None)
    with pytest.raises(DataError, match="no rows"):
        prepare_inputs(real, synthetic.iloc[:0], None, None)
    with pytest.raises(DataError, match="no columns"):
        prepare_inputs(pd.DataFrame(index=[0, 1]), synthetic, None, None)
    with pytest.raises(DataError, match="target column 'only_real'"):
        prepare_inputs(real, synthetic, None, "only_real")
    with pytest.raises(DataError, match="must be a pandas DataFrame"):
        prepare_inputs(real, [[1, 2]], None, None)  # type: ignore[arg-type]
    with pytest.raises(DataError, match="holdout has no rows"):
        prepare_inputs(real, synthetic, real.iloc[:0], None)


def test_select_columns_and_sampling() -> None:
    columns = ["a", "b", "c", "d"]
    assert select_columns(columns, 2) == ["a", "b"]
    assert select_columns(columns, 2, target="d") == ["a", "d"]
    assert select_columns(columns, 10, target="d") == columns
    frame = pd.DataFrame({"v": range(100)})
    first, second = sample_rows(frame, 10, 5), sample_rows(frame.copy(), 10, 5)
    assert first.equals(second) and len(first) == 10
    assert first["v"].is_monotonic_increasing
    assert sample_rows(frame, 1000, 5) is frame


@pytest.mark.parametrize(
    "kwargs",
    [{"max_rows_knn": 0}, {"max_columns_phik": 1}, {"bins": -2}, {"seed": -1}, {"threads": 0}],
)
def test_bad_options_raise_config_error(kwargs: dict[str, int]) -> None:
    with pytest.raises(ConfigError):
        ReportOptions(**kwargs)
