"""Tests of the accuracy (TVD) and DCR metrics, on toy frames and on slices of UCI Adult."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from synthloom.report.metrics import (
    AccuracyResult,
    DcrResult,
    dcr,
    discriminator_auc,
    tvd_accuracy,
)
from tests.conftest import ADULT_SAMPLE, ADULT_TEST_SAMPLE

SLICE = 1000


@pytest.fixture(scope="module")
def adult() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Three disjoint random slices of 1,000 rows of adult.csv: a, b and c."""
    frame = pd.read_csv(ADULT_SAMPLE, nrows=3 * SLICE)
    frame = frame.sample(frac=1, random_state=0).reset_index(drop=True)
    return tuple(  # type: ignore[return-value]
        frame.iloc[i * SLICE : (i + 1) * SLICE].reset_index(drop=True) for i in range(3)
    )


@pytest.fixture(scope="module")
def adult_test() -> pd.DataFrame:
    """1,000 rows of adult_test.csv (the separately published Adult test split)."""
    return pd.read_csv(ADULT_TEST_SAMPLE, nrows=SLICE)


# --------------------------------------------------------------------------------------
# tvd_accuracy on toy frames: the formula itself
# --------------------------------------------------------------------------------------


def test_tvd_formula_on_toy_categoricals() -> None:
    real = pd.DataFrame({"a": ["x"] * 10 + ["y"] * 10, "b": ["u"] * 10 + ["v"] * 10})
    synthetic = pd.DataFrame({"a": ["x"] * 15 + ["y"] * 5, "b": ["u"] * 10 + ["v"] * 10})
    result = tvd_accuracy(real, synthetic)
    # a: 0.5 * (|0.5 - 0.75| + |0.5 - 0.25|) = 0.25
    assert result.univariate == {"a": pytest.approx(0.75), "b": pytest.approx(1.0)}
    # joint real: (x,u) .5, (y,v) .5; synthetic: (x,u) .5, (x,v) .25, (y,v) .25
    assert result.bivariate == {("a", "b"): pytest.approx(0.75)}
    assert result.overall == pytest.approx((0.875 + 0.75) / 2)


def test_numeric_bins_are_real_quantiles_and_clip_outside_values() -> None:
    real = pd.DataFrame({"x": np.arange(1000, dtype=float)})
    # all synthetic values beyond the real range land in the first and last decile bins
    synthetic = pd.DataFrame({"x": [-1e6] * 100 + [1e6] * 100})
    accuracy = tvd_accuracy(real, synthetic).univariate["x"]
    # real: 10 bins of 10 %; synthetic: 50 % in the first and 50 % in the last bin
    assert accuracy == pytest.approx(1 - 0.5 * (0.4 + 0.4 + 8 * 0.1))
    # a uniform sample from the same range scores close to 1
    uniform = pd.DataFrame({"x": np.random.default_rng(0).uniform(0, 999, 5000)})
    assert tvd_accuracy(real, uniform).univariate["x"] > 0.97


def test_categorical_top_categories_other_and_missing_bins() -> None:
    # 12 frequent categories: only the 10 most frequent keep their own bin
    values = [f"c{i:02d}" for i in range(12) for _ in range(20 - i)]
    real = pd.DataFrame({"c": values})
    # a synthetic frame that confuses the two least frequent categories with each other
    # (both fall into "(other)") keeps accuracy 1
    swapped = real["c"].replace({"c10": "c11", "c11": "c10"})
    assert tvd_accuracy(real, pd.DataFrame({"c": swapped})).overall == pytest.approx(1.0)
    # unseen categories are "(other)" too; missing values are their own bin
    unseen = real["c"].replace({"c10": "new", "c11": "brand-new"})
    assert tvd_accuracy(real, pd.DataFrame({"c": unseen})).overall == pytest.approx(1.0)
    missing = real["c"].replace({"c10": None})
    share_c10 = (real["c"] == "c10").mean()
    result = tvd_accuracy(real, pd.DataFrame({"c": missing}))
    assert result.overall == pytest.approx(1 - share_c10)


def test_accuracy_with_missing_datetime_and_bool_columns() -> None:
    rng = np.random.default_rng(0)
    n = 500
    real = pd.DataFrame(
        {
            "when": pd.date_range("2021-01-01", periods=n, freq="h"),
            "x": np.where(rng.random(n) < 0.2, np.nan, rng.normal(size=n)),
            "flag": rng.random(n) < 0.3,
        }
    )
    shuffled = real.sample(frac=1, random_state=1).reset_index(drop=True)
    assert tvd_accuracy(real, shuffled).overall == pytest.approx(1.0)
    # values of the wrong type count as missing rather than raising
    garbage = pd.DataFrame({c: ["zzz"] * 100 for c in real.columns})
    result = tvd_accuracy(real, garbage)
    assert result.univariate["when"] == pytest.approx(0.0)
    assert result.univariate["x"] == pytest.approx(np.isnan(real["x"]).mean())


def test_max_bivariate_columns_limits_pairs_and_json_round_trip() -> None:
    real = pd.DataFrame({f"c{i}": np.arange(50) % (i + 2) for i in range(6)})
    full = tvd_accuracy(real, real)
    assert len(full.bivariate) == 15
    limited = tvd_accuracy(real, real, max_bivariate_columns=3, seed=1)
    assert len(limited.univariate) == 6
    assert len(limited.bivariate) == 3
    single = tvd_accuracy(real[["c0"]], real[["c0"]])
    assert single.bivariate == {}
    assert single.overall == pytest.approx(1.0)
    assert single.to_dict()["bivariate_mean"] is None

    payload = json.loads(json.dumps(full.to_dict()))
    assert payload["overall"] == pytest.approx(1.0)
    assert AccuracyResult.from_dict(payload) == full


# --------------------------------------------------------------------------------------
# tvd_accuracy on Adult
# --------------------------------------------------------------------------------------


def test_identical_frames_score_one(adult: tuple[pd.DataFrame, ...]) -> None:
    a, _, _ = adult
    result = tvd_accuracy(a, a.copy())
    assert result.overall == pytest.approx(1.0)
    assert all(v == pytest.approx(1.0) for v in result.univariate.values())
    assert len(result.bivariate) == 15 * 14 // 2
    assert all(v == pytest.approx(1.0) for v in result.bivariate.values())


def test_disjoint_real_samples_score_high(
    adult: tuple[pd.DataFrame, ...], adult_test: pd.DataFrame
) -> None:
    a, b, _ = adult
    result = tvd_accuracy(a, b)
    assert result.overall > 0.9
    assert result.univariate_mean > 0.95
    assert result.overall < 1.0  # sampling noise is visible
    # the separately published test split is a fresh sample of the same population
    assert tvd_accuracy(a, adult_test).overall > 0.9


def test_shuffled_columns_keep_univariates_but_lose_bivariates(
    adult: tuple[pd.DataFrame, ...],
) -> None:
    a, b, _ = adult
    rng = np.random.default_rng(1)
    shuffled = pd.DataFrame({c: a[c].to_numpy()[rng.permutation(len(a))] for c in a.columns})
    result = tvd_accuracy(a, shuffled)
    # the same values, so every marginal is reproduced exactly
    assert all(v == pytest.approx(1.0) for v in result.univariate.values())
    # but dependent pairs are destroyed: clearly below what a fresh real sample achieves
    assert result.bivariate[("education", "education_num")] < 0.5
    assert result.bivariate[("marital_status", "relationship")] < 0.7
    assert result.bivariate_mean < tvd_accuracy(a, b).bivariate_mean - 0.02
    assert result.bivariate_mean < 0.93


def test_constant_garbage_scores_low(adult: tuple[pd.DataFrame, ...]) -> None:
    a, _, _ = adult
    garbage = pd.DataFrame({c: ["???garbage???"] * 500 for c in a.columns})
    assert tvd_accuracy(a, garbage).overall < 0.05
    # one real record repeated: each marginal is a single bin
    constant = pd.DataFrame({c: [a[c].iloc[0]] * 500 for c in a.columns})
    result = tvd_accuracy(a, constant)
    assert result.overall < 0.5
    assert result.bivariate_mean < 0.35


def test_accuracy_rejects_mismatched_columns(adult: tuple[pd.DataFrame, ...]) -> None:
    a, b, _ = adult
    with pytest.raises(ValueError, match="missing from synthetic: \\['age'\\]"):
        tvd_accuracy(a, b.drop(columns=["age"]))
    with pytest.raises(ValueError, match="not in real: \\['AGE'\\]"):
        tvd_accuracy(a, b.rename(columns={"age": "AGE"}))
    # the order of columns does not matter
    assert tvd_accuracy(a, a[a.columns[::-1]]).overall == pytest.approx(1.0)


# --------------------------------------------------------------------------------------
# dcr
# --------------------------------------------------------------------------------------


def test_dcr_on_toy_frames() -> None:
    training = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0], "c": ["a", "a", "b", "b"]})
    holdout = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0], "c": ["b", "b", "a", "a"]})
    # first row copies training row 0; second row copies holdout row 0
    synthetic = pd.DataFrame({"x": [0, 0], "c": ["a", "b"]})
    result = dcr(training, holdout, synthetic)
    assert result.dcr_share == pytest.approx(0.5)
    assert result.exact_copy_share == pytest.approx(0.5)  # int 0 equals float 0.0
    assert result.dcr_training_median == pytest.approx(
        # median of 0 and the distance of (0, "b") to training row (2, "b"): their ranks
        # differ by 0.5 in one of two columns, so sqrt(0.5**2 / 2)
        math.sqrt(0.125) / 2
    )
    assert (result.n_training, result.n_holdout, result.n_synthetic) == (4, 4, 2)
    # holdout identical to training: every distance ties, and ties count half
    tied = dcr(training, training.copy(), synthetic)
    assert tied.dcr_share == pytest.approx(0.5)


def test_dcr_subsamples_to_equal_sizes() -> None:
    rng = np.random.default_rng(0)
    training = pd.DataFrame({"x": rng.normal(size=500), "y": rng.normal(size=500)})
    holdout = pd.DataFrame({"x": rng.normal(size=300), "y": rng.normal(size=300)})
    synthetic = pd.DataFrame({"x": rng.normal(size=400), "y": rng.normal(size=400)})
    result = dcr(training, holdout, synthetic, max_rows=200)
    assert (result.n_training, result.n_holdout, result.n_synthetic) == (200, 200, 200)
    assert dcr(training, holdout, synthetic, max_rows=200) == result  # deterministic
    payload = json.loads(json.dumps(result.to_dict()))
    assert payload["n_training"] == 200


def test_dcr_copies_of_training(adult: tuple[pd.DataFrame, ...]) -> None:
    a, b, _ = adult
    result = dcr(a, b, a.sample(frac=1, random_state=3))
    assert isinstance(result, DcrResult)
    assert result.dcr_share > 0.97
    assert result.exact_copy_share == pytest.approx(1.0)
    assert result.dcr_training_median == pytest.approx(0.0)
    assert result.dcr_holdout_median > 0.05
    assert result.nndr_training_median < 0.01


def test_dcr_fresh_real_sample_is_near_one_half(adult: tuple[pd.DataFrame, ...]) -> None:
    a, b, c = adult
    # c is real data that neither training (a) nor holdout (b) contains
    result = dcr(a, b, c)
    assert abs(result.dcr_share - 0.5) < 0.05
    assert result.exact_copy_share < 0.01
    assert result.dcr_training_median > 0.05
    assert result.dcr_holdout_median > 0.05
    assert 0.5 < result.nndr_training_median < 1.0


def test_dcr_holdout_rows_mirror_copies(adult: tuple[pd.DataFrame, ...]) -> None:
    a, b, _ = adult
    # synthetic rows taken from the holdout sit on holdout points: DCR share near 0
    result = dcr(a, b, b)
    assert result.dcr_share < 0.03
    assert result.exact_copy_share < 0.01
    assert result.dcr_holdout_median == pytest.approx(0.0)


def test_dcr_rejects_mismatched_columns(adult: tuple[pd.DataFrame, ...]) -> None:
    a, b, c = adult
    with pytest.raises(ValueError, match="columns of holdout do not match"):
        dcr(a, b.drop(columns=["income"]), c)
    with pytest.raises(ValueError, match="columns of synthetic do not match"):
        dcr(a, b, c.assign(extra=1))
    with pytest.raises(ValueError, match="max_rows"):
        dcr(a, b, c, max_rows=0)


def _people(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": rng.normal(40 + shift, 10, n).round(),
            "job": rng.choice(["a", "b", "c", None], n, p=[0.5, 0.3, 0.1, 0.1]),
            "day": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 90, n), "D"),
        }
    )


def test_discriminator_auc_tells_shifted_rows_apart_and_not_same_rows():
    real = _people(1500, seed=0)
    assert discriminator_auc(real, _people(1500, seed=1)) < 0.56
    assert discriminator_auc(real, _people(1500, seed=1, shift=20.0)) > 0.85
    # a category the real rows never hold is enough to tell them apart
    odd = _people(1500, seed=1).assign(job="z")
    assert discriminator_auc(real, odd) > 0.95
