"""The membership-inference attack: it finds copied training rows, and finds nothing where
the synthetic rows are fresh draws of the same population; its ε bound holds its confidence."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthloom.errors import ConfigError
from synthloom.report import ReportOptions, compute_scores
from synthloom.report.attacks import attack_auc, auc_interval, epsilon_lower_bound
from tests.conftest import ADULT_SAMPLE

COLUMNS = ["age", "workclass", "education", "marital_status", "occupation", "sex", "hours_per_week"]


@pytest.fixture(scope="module")
def slices() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Training, holdout and a third disjoint slice of the Adult sample (fresh people)."""
    frame = pd.read_csv(ADULT_SAMPLE)[COLUMNS].sample(frac=1, random_state=1)
    frame = frame.reset_index(drop=True)
    return frame.iloc[:800], frame.iloc[800:1600], frame.iloc[1600:2400]


def membership(scores: dict) -> dict:
    return scores["privacy"]["membership_inference"]


def test_copied_training_rows_are_found(slices: tuple[pd.DataFrame, ...]) -> None:
    training, holdout, _ = slices
    copies = training.sample(800, replace=True, random_state=2)
    attack = membership(compute_scores(training, copies, holdout=holdout))
    assert attack["auc"] > 0.8 and attack["auc_interval"][0] > 0.75
    assert attack["epsilon_lower_bound"] > 1.0  # no ε-DP generator with ε ≤ 1 does this
    assert attack["n_members"] == attack["n_non_members"] == 800


def test_fresh_people_give_the_attacker_nothing(slices: tuple[pd.DataFrame, ...]) -> None:
    training, holdout, fresh = slices
    scores = compute_scores(
        training, fresh, holdout=holdout, options=ReportOptions(dp_epsilon=4.0, dp_delta=1e-6)
    )
    attack = membership(scores)
    low, high = attack["auc_interval"]
    assert low <= 0.5 <= high, attack
    assert attack["epsilon_lower_bound"] < 0.5  # nothing to prove from independent rows
    assert attack["delta"] == 1e-6 and scores["privacy"]["claimed_epsilon"] == 4.0


def test_without_holdout_there_is_no_attack(slices: tuple[pd.DataFrame, ...]) -> None:
    training, _, fresh = slices
    assert membership(compute_scores(training, fresh)) is None


def test_auc_and_its_interval() -> None:
    assert attack_auc(np.array([3.0, 4.0]), np.array([1.0, 2.0])) == 1.0
    assert attack_auc(np.array([1.0, 2.0]), np.array([1.0, 2.0])) == 0.5
    low, high = auc_interval(0.5, 1000, 1000)
    assert 0.47 < low < 0.5 < high < 0.53
    assert auc_interval(0.99, 50, 50)[1] == pytest.approx(1.0, abs=0.02)


def test_the_epsilon_bound_keeps_its_confidence() -> None:
    """Members and non-members from one distribution: a mechanism with ε = 0. The bound,
    95% confident over its thresholds, proves ε > 0 in at most a few of 40 draws."""
    rng = np.random.default_rng(0)
    proven = [
        epsilon_lower_bound(rng.normal(size=500), rng.normal(size=500)) > 0 for _ in range(40)
    ]
    assert sum(proven) <= 4


def test_a_bad_delta_is_refused() -> None:
    with pytest.raises(ConfigError, match="dp_delta must be in"):
        ReportOptions(dp_delta=1.5)
