"""Privacy accounting: the noise solver, the ledger, δ and budget checks, composition."""

from __future__ import annotations

import functools
import json
import math

import pytest
from opacus.accountants import PRVAccountant, RDPAccountant

from synthloom.errors import ConfigError
from synthloom.privacy.accounting import (
    PrivacyLedger,
    Release,
    check_clip_norm,
    check_delta,
    check_epsilon,
    default_delta,
    plan_dp_sgd,
    privacy_report,
    resolve_delta,
    solve_noise_multiplier,
)

# (sample rate, steps, target ε, δ)
RDP_CASES = [(0.01, 1000, 1.0, 1e-5), (0.064, 1563, 5.0, 1 / 1000), (0.2, 50, 8.0, 1e-3)]
PRV_CASE = (0.05, 200, 3.0, 1e-4)


def _ledger_from_json(accountant: str, sigma: float, rate: float, steps: int) -> dict:
    """Train-like ledger, then its summary as it would be read back from JSON."""
    ledger = PrivacyLedger(accountant)
    for _ in range(steps // 10):
        ledger.step(sigma, rate, 10)
    ledger.step(sigma, rate, steps % 10)
    return json.loads(json.dumps(ledger.summary(1e-5)))


def _opacus_replay(summary: dict, delta: float) -> float:
    """ε recomputed by a fresh opacus accountant from the summary's history alone."""
    history = [(h["noise_multiplier"], h["sample_rate"], h["steps"]) for h in summary["history"]]
    if summary["accountant"] == "rdp":
        accountant = RDPAccountant()
        accountant.history = history
        return accountant.get_epsilon(delta, alphas=summary["rdp_orders"])
    accountant = PRVAccountant()
    accountant.history = history
    return accountant.get_epsilon(delta, eps_error=summary["prv_eps_error"])


def _dp_accounting(summary: dict, delta: float) -> float:
    """ε recomputed by Google's dp-accounting (an independent implementation)."""
    import dp_accounting

    if summary["accountant"] == "rdp":
        accountant = dp_accounting.rdp.RdpAccountant(orders=summary["rdp_orders"])
    else:  # privacy loss distributions: exact up to discretization, checks PRV too
        accountant = dp_accounting.pld.PLDAccountant()
    for h in summary["history"]:
        mechanism = dp_accounting.GaussianDpEvent(h["noise_multiplier"])
        step = dp_accounting.PoissonSampledDpEvent(h["sample_rate"], mechanism)
        accountant.compose(dp_accounting.SelfComposedDpEvent(step, h["steps"]))
    return accountant.get_epsilon(delta)


@functools.cache
def _solved(accountant: str, rate: float, steps: int, target: float, delta: float) -> dict:
    """The solver's noise for a case, run through a ledger and read back from its JSON."""
    sigma = solve_noise_multiplier(target, delta, rate, steps, accountant=accountant)
    return _ledger_from_json(accountant, sigma, rate, steps)


@pytest.mark.parametrize(("rate", "steps", "target", "delta"), RDP_CASES)
def test_rdp_solver_hits_target_as_replayed_by_opacus(
    rate: float, steps: int, target: float, delta: float
) -> None:
    summary = _solved("rdp", rate, steps, target, delta)
    assert summary["steps"] == steps and summary["sample_rate"] == rate
    assert summary["noise_multiplier"] > 0 and summary["optimal_order"] > 1
    assert target * 0.99 <= _opacus_replay(summary, delta) <= target * (1 + 1e-9)


@pytest.mark.parametrize(("rate", "steps", "target", "delta"), RDP_CASES)
def test_rdp_solver_hits_target_as_recomputed_by_dp_accounting(
    rate: float, steps: int, target: float, delta: float
) -> None:
    pytest.importorskip("dp_accounting")
    summary = _solved("rdp", rate, steps, target, delta)
    # dp-accounting sums the fractional-order RDP series in absolute value, a slightly looser
    # bound where the best order is small (up to 0.7 % above opacus' exact series here)
    assert abs(_dp_accounting(summary, delta) - target) <= 0.01 * target


@pytest.mark.filterwarnings("ignore:Optimal order is the largest alpha")
def test_prv_solver_hits_target_as_recomputed_independently() -> None:
    rate, steps, target, delta = PRV_CASE
    summary = _solved("prv", *PRV_CASE)
    assert summary["accountant"] == "prv" and summary["optimal_order"] is None
    assert target * 0.99 <= _opacus_replay(summary, delta) <= target * (1 + 1e-9)
    # PRV is tighter than RDP: less noise for the same target
    assert summary["noise_multiplier"] < solve_noise_multiplier(target, delta, rate, steps)
    pytest.importorskip("dp_accounting")
    assert abs(_dp_accounting(summary, delta) - target) <= 0.01 * target


def test_summary_recomputes_its_own_epsilon() -> None:
    ledger = PrivacyLedger()
    ledger.step(1.1, 0.02, 300)
    ledger.step(0.9, 0.04, 100)
    summary = ledger.summary(1e-5)
    assert summary["noise_multiplier"] is None and summary["steps"] == 400
    again = PrivacyLedger.from_summary(json.loads(json.dumps(summary)))
    assert again.epsilon(summary["delta"])[0] == pytest.approx(summary["epsilon"])
    pytest.importorskip("dp_accounting")
    assert _dp_accounting(summary, 1e-5) == pytest.approx(summary["epsilon"], rel=0.01)


def test_epsilon_grows_with_steps_and_training_stops_before_the_budget() -> None:
    ledger, target, delta, sigma, rate = PrivacyLedger(), 2.0, 1e-5, 1.0, 0.01
    assert ledger.epsilon(delta) == (0.0, None)
    previous = 0.0
    while not ledger.would_exceed(target, delta, 50, sigma, rate):
        ledger.step(sigma, rate, 50)
        eps, _ = ledger.epsilon(delta)
        assert eps > previous
        previous = eps
    assert 0 < previous <= target
    assert ledger.epsilon_after(50, delta) > target
    left = ledger.steps_left(target, delta)
    assert 0 <= left < 50
    assert not ledger.would_exceed(target, delta, left)
    assert ledger.would_exceed(target, delta, left + 1)


def test_planned_steps_end_within_target() -> None:
    plan = plan_dp_sgd(n_records=2000, batch_size=50, epochs=5, target_epsilon=2.0)
    assert plan.sample_rate == 0.025 and plan.steps_per_epoch == 40
    assert plan.delta == 1e-6 and plan.noise_solved
    ledger, sigma, rate = PrivacyLedger(), plan.noise_multiplier, plan.sample_rate
    for _ in range(plan.epochs):
        assert not ledger.would_exceed(2.0, plan.delta, plan.steps_per_epoch, sigma, rate)
        for _ in range(plan.steps_per_epoch):
            ledger.step(sigma, rate)
    assert ledger.epsilon(plan.delta)[0] == pytest.approx(2.0, rel=0.01)
    assert ledger.epsilon(plan.delta)[0] == plan.planned_epsilon <= 2.0
    assert ledger.would_exceed(2.0, plan.delta, 1)


def test_given_noise_cuts_epochs_to_the_budget() -> None:
    plan = plan_dp_sgd(
        n_records=1000, batch_size=64, epochs=100, target_epsilon=3.0, noise_multiplier=1.5
    )
    assert not plan.noise_solved and 1 <= plan.epochs < 100
    assert plan.planned_epsilon <= 3.0
    one_more = plan_dp_sgd(
        n_records=1000,
        batch_size=64,
        epochs=plan.epochs + 1,
        target_epsilon=100.0,
        noise_multiplier=1.5,
    )
    assert one_more.planned_epsilon > 3.0
    with pytest.raises(ConfigError, match="too small for dp_epsilon"):
        plan_dp_sgd(
            n_records=1000, batch_size=64, epochs=10, target_epsilon=0.1, noise_multiplier=0.5
        )


def test_delta_defaults_and_checks() -> None:
    assert default_delta(1000) == 1e-6  # min(1/(10n), 1e-6)
    assert default_delta(10_000_000) == pytest.approx(1e-8)
    assert default_delta(50) < 1 / 50
    assert resolve_delta(None, 1000) == 1e-6
    assert resolve_delta(1e-4, 1000) == 1e-4
    for bad in (1e-3, 0.5, 0.0, -1e-6):
        with pytest.raises(ConfigError, match="dp_delta"):
            check_delta(bad, 1000)
    with pytest.raises(ConfigError, match="dp_delta"):
        plan_dp_sgd(n_records=1000, batch_size=64, epochs=1, target_epsilon=1, delta=0.01)


@pytest.mark.parametrize("bad", [0.0, -1.0, math.inf])
def test_bad_epsilon_and_clip_are_rejected(bad: float) -> None:
    with pytest.raises(ConfigError, match="dp_epsilon"):
        check_epsilon(bad)
    with pytest.raises(ConfigError, match="dp_epsilon"):
        plan_dp_sgd(n_records=1000, batch_size=64, epochs=1, target_epsilon=bad)
    with pytest.raises(ConfigError, match="dp_l2_norm_clip"):
        check_clip_norm(bad)


def test_unreachable_budget_says_what_would_do() -> None:
    with pytest.raises(ConfigError) as caught:
        plan_dp_sgd(n_records=200, batch_size=64, epochs=100, target_epsilon=1.0)
    message = str(caught.value)
    assert "200 records" in message and "at batch_size 64" in message
    needed = int(message.split("at least ")[1].split(" records")[0].replace(",", ""))
    epsilon = float(message.split("dp_epsilon to at least ")[1].split(",")[0])
    epochs = int(message.split("at most ")[1].split(" epochs")[0])
    assert needed > 200 and epsilon > 1.0 and 1 <= epochs < 100
    # each suggestion works on its own
    plan_dp_sgd(n_records=needed, batch_size=64, epochs=100, target_epsilon=1.0)
    plan_dp_sgd(n_records=200, batch_size=64, epochs=100, target_epsilon=epsilon)
    plan_dp_sgd(n_records=200, batch_size=64, epochs=epochs, target_epsilon=1.0)
    with pytest.raises(ConfigError, match="out of reach"):
        solve_noise_multiplier(0.01, 1e-5, 0.5, 1000)


def test_clusters_in_one_ledger_compose_tighter_than_the_sum_and_plan_for_all() -> None:
    delta, rate, steps = 1e-5, 0.01, 500
    single = PrivacyLedger()
    single.step(1.2, rate, steps)
    eps_one, _ = single.epsilon(delta)
    shared = PrivacyLedger()  # three cluster models stepping into the run's one ledger
    for _ in range(3):
        shared.step(1.2, rate, steps)
    eps_all, _ = shared.epsilon(delta)
    assert eps_one < eps_all < 3 * eps_one
    plan = plan_dp_sgd(n_records=5000, batch_size=50, epochs=2, target_epsilon=2.0, models=3)
    ledger = PrivacyLedger()
    for _ in range(3):
        ledger.step(plan.noise_multiplier, plan.sample_rate, plan.epochs * plan.steps_per_epoch)
    total, _ = ledger.epsilon(plan.delta)
    assert total <= 2.0 and total == pytest.approx(2.0, rel=0.01)


def test_report_adds_up_and_states_the_relation() -> None:
    ledger = PrivacyLedger()
    ledger.step(1.0, 0.01, 100)
    releases = [
        Release("categories of 'city'", "Laplace histogram with threshold", 0.5, 5e-5),
        Release("range of 'age'", "exponential-mechanism quantiles", 0.5),
    ]
    report = privacy_report(ledger, 5e-5, releases, ["early stopping on validation loss"])
    assert report["epsilon"] == pytest.approx(report["dp_sgd"]["epsilon"] + 1.0)
    assert report["delta"] == pytest.approx(1e-4)
    assert "range of 'age'" in report["covered"]
    assert report["not_covered"] == ["early stopping on validation loss"]
    assert report["neighbouring"] == "add or remove one record"
    assert any("column names" in s for s in report["public_inputs"])
    json.dumps(report)
