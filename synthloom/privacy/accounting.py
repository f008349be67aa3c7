"""Privacy accounting for DP-SGD: noise for a target ε, a ledger of steps, composition.

Everything here counts one mechanism: the Poisson-subsampled Gaussian mechanism of DP-SGD,
with neighbouring datasets that differ by adding or removing one record (one person = one
record). opacus' accountants do the analysis: RDP (Rényi DP, the default, which also reports
the optimal order) or PRV (numerical composition of privacy loss random variables, Gopi et
al. 2021, usually a little tighter). A ledger's :meth:`PrivacyLedger.summary` holds
everything needed to recompute its ε with an independent accountant: the history of
(noise multiplier, sample rate, steps), δ, the accountant and its settings.
"""

from __future__ import annotations

import functools
import importlib.metadata
import math
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np

from synthloom.errors import ConfigError

Accountant = Literal["rdp", "prv"]
ACCOUNTANTS: tuple[Accountant, ...] = ("rdp", "prv")

# RDP orders searched for the best conversion to (ε, δ): opacus' defaults plus the large
# orders that dp-accounting also uses, so small ε (large noise) is not cut off at order 63.
RDP_ORDERS: tuple[float, ...] = (
    *(1 + x / 10 for x in range(1, 100)),
    *range(11, 64),
    128,
    256,
    512,
    1024,
)
# Absolute error allowed in PRV's ε estimate (it reports the upper bound of its estimate).
PRV_EPS_ERROR = 0.01
# More noise than this per step and the model learns next to nothing: a budget that needs
# it is treated as out of reach for the data and batch size at hand.
MAX_NOISE_MULTIPLIER = 10.0
# The noise solver stops within this share of the target (always at or below it).
_SOLVER_RTOL = 0.002
# ε comparisons allow for float rounding in composing the same steps in a different order.
_SLACK = 1e-9
# What counts as neighbouring datasets in every analysis here.
NEIGHBOURING = "add or remove one record"

Segment = tuple[float, float, int]  # (noise multiplier, sample rate, steps)


# δ when none is given: at most 1/(10·n), and never above this.
MAX_DEFAULT_DELTA = 1e-6


def default_delta(n_records: int) -> float:
    """δ when none is given: min(1/(10·n), 1e-6) for n training records.

    A mechanism that publishes one random record whole is (0, 1/n)-DP, so δ must sit well
    below 1/n to mean anything.
    """
    if n_records < 1:
        raise ConfigError("differential privacy needs at least one training record")
    return min(0.1 / n_records, MAX_DEFAULT_DELTA)


def check_delta(delta: float, n_records: int) -> float:
    """A given δ must be in (0, 1/n): at 1/n a mechanism may publish a whole record."""
    if not 0 < delta < 1.0 / n_records:
        raise ConfigError(
            f"dp_delta={delta:g} must be above 0 and below 1/n = {1 / n_records:.3g} for "
            f"{n_records} training records; leave it null for min(1/(10n), 1e-6) or pick e.g. "
            f"{_round_down(0.1 / n_records):g}"
        )
    return delta


def resolve_delta(delta: float | None, n_records: int) -> float:
    """``dp_delta`` as configured (checked) or the default min(1/(10n), 1e-6)."""
    return default_delta(n_records) if delta is None else check_delta(delta, n_records)


def check_epsilon(epsilon: float) -> float:
    """A privacy budget ε must be a positive finite number."""
    if not 0 < epsilon < math.inf:
        raise ConfigError(f"dp_epsilon={epsilon:g} must be a positive number, e.g. 1 to 10")
    return epsilon


def check_clip_norm(clip: float) -> float:
    """The per-record clip norm must be positive: it bounds each record's gradient."""
    if not 0 < clip < math.inf:
        raise ConfigError(f"dp_l2_norm_clip={clip:g} must be a positive number, e.g. 1.0")
    return clip


def sample_rate(batch_size: int, n_records: int) -> float:
    """Poisson sampling rate q: each record joins a step's batch with probability q."""
    if n_records < 1 or batch_size < 1:
        raise ConfigError("DP-SGD needs at least one training record and batch_size ≥ 1")
    return min(1.0, batch_size / n_records)


def steps_per_epoch(rate: float) -> int:
    """Steps that make one epoch in expectation: round(1 / q)."""
    if not 0 < rate <= 1:
        raise ConfigError(f"sample rate {rate:g} must be in (0, 1]")
    return max(1, round(1 / rate))


def compute_epsilon(
    history: Iterable[Segment],
    delta: float,
    accountant: Accountant = "rdp",
    prv_eps_error: float = PRV_EPS_ERROR,
) -> tuple[float, float | None]:
    """ε after the steps in ``history`` and the optimal RDP order (None for PRV)."""
    segments = _canonical(history)
    if not segments:
        return 0.0, None
    if any(sigma <= 0 for sigma, _, _ in segments):
        return math.inf, None
    with warnings.catch_warnings():
        # opacus warns when the best RDP order is the largest searched (also inside PRV's
        # domain bound), and PRV takes log(1 - q) = -inf at q = 1; ε stays a valid bound.
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        from opacus.accountants import PRVAccountant  # opacus takes seconds to import
        from opacus.accountants.analysis import rdp as rdp_analysis

        if _check_accountant(accountant) == "rdp":
            rdp = sum(steps * _rdp_per_step(sigma, rate) for sigma, rate, steps in segments)
            eps, order = rdp_analysis.get_privacy_spent(orders=RDP_ORDERS, rdp=rdp, delta=delta)
            return float(eps), float(order)
        prv = PRVAccountant()
        prv.history = segments
        return float(prv.get_epsilon(delta=delta, eps_error=prv_eps_error)), None


@functools.lru_cache(maxsize=256)
def _rdp_per_step(noise_multiplier: float, sample_rate: float) -> np.ndarray:
    """RDP of one step at every order (what opacus' RDPAccountant sums over its history)."""
    from opacus.accountants.analysis import rdp as rdp_analysis

    return np.asarray(
        rdp_analysis.compute_rdp(
            q=sample_rate, noise_multiplier=noise_multiplier, steps=1, orders=RDP_ORDERS
        )
    )


def solve_noise_multiplier(
    target_epsilon: float,
    delta: float,
    sample_rate: float,
    steps: int,
    accountant: Accountant = "rdp",
    *,
    max_noise_multiplier: float = MAX_NOISE_MULTIPLIER,
) -> float:
    """The smallest noise multiplier (to 0.2% of ε) whose ε after ``steps`` is ≤ the target.

    Uses opacus' ``get_noise_multiplier`` with the same accountant settings as
    :class:`PrivacyLedger`, so a ledger that runs the planned steps ends at or below the
    target. Raises :class:`ConfigError` when even ``max_noise_multiplier`` is not enough.
    """
    check_epsilon(target_epsilon)
    if steps < 1 or not 0 < sample_rate <= 1 or not 0 < delta < 1:
        raise ValueError(f"bad plan: steps={steps}, sample rate={sample_rate}, δ={delta}")
    reached, _ = compute_epsilon([(max_noise_multiplier, sample_rate, steps)], delta, accountant)
    if reached > target_epsilon:
        raise ConfigError(
            f"dp_epsilon={target_epsilon:g} is out of reach for {steps} steps at sample rate "
            f"{sample_rate:.4g} (δ={delta:.3g}): even noise multiplier "
            f"{max_noise_multiplier:g} gives ε={reached:.3g}. Raise dp_epsilon to at least "
            f"{_round_up(reached):g}, or train fewer steps or on more records"
        )
    kwargs: dict[str, Any] = (
        {"alphas": list(RDP_ORDERS)} if accountant == "rdp" else {"eps_error": PRV_EPS_ERROR}
    )
    from opacus.accountants.utils import get_noise_multiplier

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        sigma = get_noise_multiplier(
            target_epsilon=target_epsilon,
            target_delta=delta,
            sample_rate=sample_rate,
            steps=steps,
            accountant=accountant,
            epsilon_tolerance=_SOLVER_RTOL * target_epsilon,
            **kwargs,
        )
    return float(sigma)


@dataclass
class PrivacyLedger:
    """Every DP-SGD step taken on one set of records, and the (ε, δ) they add up to.

    Keeps the history of (noise multiplier, sample rate, steps), as opacus' accountants do,
    and asks opacus for ε: its RDP analysis (the sum over the history that ``RDPAccountant``
    computes, cached per step) or a ``PRVAccountant`` over the history. Several models
    trained on the same records (column clusters) share one ledger: RDP adds up order by
    order and converts to (ε, δ) once.
    """

    accountant: Accountant = "rdp"
    prv_eps_error: float = PRV_EPS_ERROR
    history: list[Segment] = field(default_factory=list)

    def __post_init__(self) -> None:
        _check_accountant(self.accountant)

    def step(self, noise_multiplier: float, sample_rate: float, steps: int = 1) -> None:
        """Record ``steps`` noisy gradient steps (empty Poisson batches count too)."""
        if steps < 0 or noise_multiplier < 0 or not 0 < sample_rate <= 1:
            raise ValueError(f"bad step: σ={noise_multiplier}, q={sample_rate}, steps={steps}")
        if not steps:
            return
        if self.history and self.history[-1][:2] == (noise_multiplier, sample_rate):
            sigma, rate, done = self.history[-1]
            self.history[-1] = (sigma, rate, done + steps)
        else:
            self.history.append((float(noise_multiplier), float(sample_rate), steps))

    @property
    def steps(self) -> int:
        """Steps recorded so far."""
        return sum(steps for _, _, steps in self.history)

    def epsilon(self, delta: float) -> tuple[float, float | None]:
        """ε spent so far at ``delta``, and the optimal RDP order (None for PRV)."""
        return compute_epsilon(self.history, delta, self.accountant, self.prv_eps_error)

    def epsilon_after(
        self,
        extra_steps: int,
        delta: float,
        noise_multiplier: float | None = None,
        sample_rate: float | None = None,
    ) -> float:
        """ε if ``extra_steps`` more steps were taken (by default like the last ones)."""
        extra = self._segment(extra_steps, noise_multiplier, sample_rate)
        eps, _ = compute_epsilon([*self.history, extra], delta, self.accountant, self.prv_eps_error)
        return eps

    def would_exceed(
        self,
        target_epsilon: float,
        delta: float,
        extra_steps: int = 1,
        noise_multiplier: float | None = None,
        sample_rate: float | None = None,
    ) -> bool:
        """True when ``extra_steps`` more steps would take ε past the target: stop first."""
        after = self.epsilon_after(extra_steps, delta, noise_multiplier, sample_rate)
        return after > target_epsilon * (1 + _SLACK)

    def steps_left(
        self,
        target_epsilon: float,
        delta: float,
        noise_multiplier: float | None = None,
        sample_rate: float | None = None,
    ) -> int:
        """The most further steps (like the last ones, by default) that stay within budget."""

        def fits(steps: int) -> bool:
            return not self.would_exceed(
                target_epsilon, delta, steps, noise_multiplier, sample_rate
            )

        return _largest(fits)

    def summary(self, delta: float) -> dict[str, Any]:
        """ε, δ and everything needed to recompute them (for ``training_summary.json``)."""
        eps, order = self.epsilon(delta)
        sigmas = {sigma for sigma, _, _ in self.history}
        rates = {rate for _, rate, _ in self.history}
        out: dict[str, Any] = {
            "epsilon": eps,
            "delta": delta,
            "accountant": self.accountant,
            "optimal_order": order,
            "noise_multiplier": sigmas.pop() if len(sigmas) == 1 else None,
            "sample_rate": rates.pop() if len(rates) == 1 else None,
            "steps": self.steps,
            "history": [
                {"noise_multiplier": s, "sample_rate": q, "steps": n} for s, q, n in self.history
            ],
            "mechanism": "Poisson-subsampled Gaussian (DP-SGD), per-record clipping",
            "neighbouring": NEIGHBOURING,
            "library": f"opacus {importlib.metadata.version('opacus')}",
        }
        if self.accountant == "rdp":
            out["rdp_orders"] = list(RDP_ORDERS)
        else:
            out["prv_eps_error"] = self.prv_eps_error
        return out

    @classmethod
    def from_summary(cls, summary: dict[str, Any]) -> PrivacyLedger:
        """The ledger a :meth:`summary` describes."""
        history = [
            (float(h["noise_multiplier"]), float(h["sample_rate"]), int(h["steps"]))
            for h in summary["history"]
        ]
        return cls(summary["accountant"], summary.get("prv_eps_error", PRV_EPS_ERROR), history)

    def _segment(
        self, steps: int, noise_multiplier: float | None, sample_rate: float | None
    ) -> Segment:
        if noise_multiplier is None or sample_rate is None:
            if not self.history:
                raise ValueError("give noise_multiplier and sample_rate: no step recorded yet")
            last_sigma, last_rate, _ = self.history[-1]
            noise_multiplier = last_sigma if noise_multiplier is None else noise_multiplier
            sample_rate = last_rate if sample_rate is None else sample_rate
        return (noise_multiplier, sample_rate, steps)


# Public inputs of every DP run: they are given, not learned, so ε need not cover them.
PUBLIC_ALWAYS = ("the schema: column names, their order in the file, and the configuration",)


@dataclass(frozen=True)
class Release:
    """A DP release outside DP-SGD (e.g. a column's categories), paid from the budget."""

    what: str
    mechanism: str
    epsilon: float
    delta: float = 0.0


def privacy_report(
    ledger: PrivacyLedger,
    delta: float,
    releases: Sequence[Release] = (),
    not_covered: Sequence[str] = (),
    public_inputs: Sequence[str] = (),
) -> dict[str, Any]:
    """The privacy part of ``training_summary.json``: total (ε, δ), how it adds up (basic
    sequential composition: the ε's and δ's add), the DP-SGD ledger (recomputable), each
    release, what ε covers, what it does not, and the public inputs it need not cover."""
    sgd = ledger.summary(delta)
    total_eps = sgd["epsilon"] + sum(r.epsilon for r in releases)
    total_delta = delta + sum(r.delta for r in releases)
    return {
        "epsilon": total_eps,
        "delta": total_delta,
        "composition": "basic sequential: DP-SGD (all models in one accountant) + each release",
        "dp_sgd": sgd,
        "releases": [asdict(r) for r in releases],
        "covered": ["model weights (DP-SGD)", *(r.what for r in releases)],
        "not_covered": list(not_covered),
        "public_inputs": [*PUBLIC_ALWAYS, *public_inputs],
        "neighbouring": NEIGHBOURING,
    }


@dataclass(frozen=True)
class DPPlan:
    """How DP-SGD will run: noise, Poisson sampling, steps, and the budget it is held to.

    ``epochs`` is what each of ``models`` models may train; with a given noise multiplier
    it may be fewer than asked for, so that all models together stay within the budget.
    """

    noise_multiplier: float
    sample_rate: float
    expected_batch_size: int
    steps_per_epoch: int
    epochs: int
    models: int
    delta: float
    target_epsilon: float
    planned_epsilon: float
    accountant: Accountant
    noise_solved: bool

    @property
    def total_steps(self) -> int:
        """Steps of all models together."""
        return self.steps_per_epoch * self.epochs * self.models


def plan_dp_sgd(
    *,
    n_records: int,
    batch_size: int,
    epochs: int,
    target_epsilon: float,
    delta: float | None = None,
    noise_multiplier: float | None = None,
    accountant: Accountant = "rdp",
    models: int = 1,
    max_noise_multiplier: float = MAX_NOISE_MULTIPLIER,
) -> DPPlan:
    """Plan DP-SGD for ``models`` models each trained ``epochs`` epochs on the same records.

    Without ``noise_multiplier`` (target-ε mode) the noise is solved so that all planned
    steps of all models end at or below ``target_epsilon``. With it, the epochs are cut to
    what the budget affords. Raises :class:`ConfigError` naming the records, ε or epochs
    needed when the budget is out of reach.
    """
    check_epsilon(target_epsilon)
    given_delta = delta is not None
    delta = resolve_delta(delta, n_records)
    rate = sample_rate(batch_size, n_records)
    per_epoch = steps_per_epoch(rate)
    if noise_multiplier is None:
        steps = models * epochs * per_epoch
        reached, _ = compute_epsilon([(max_noise_multiplier, rate, steps)], delta, accountant)
        if reached > target_epsilon:
            raise ConfigError(
                _out_of_reach(
                    target_epsilon,
                    reached,
                    n_records,
                    batch_size,
                    epochs,
                    models,
                    delta,
                    accountant,
                    max_noise_multiplier,
                    explicit_delta=given_delta,
                )
            )
        sigma = solve_noise_multiplier(target_epsilon, delta, rate, steps, accountant)
        fitting = epochs
    else:
        if noise_multiplier <= 0:
            raise ConfigError(f"dp_noise_multiplier={noise_multiplier:g} must be positive")
        sigma = noise_multiplier
        ledger = PrivacyLedger(accountant)
        affordable = ledger.steps_left(target_epsilon, delta, sigma, rate)
        fitting = min(epochs, affordable // (per_epoch * models))
        if fitting < 1:
            one_epoch, _ = compute_epsilon([(sigma, rate, per_epoch * models)], delta, accountant)
            raise ConfigError(
                f"dp_noise_multiplier={sigma:g} is too small for dp_epsilon={target_epsilon:g}: "
                f"one epoch of {models} model(s) already spends ε={one_epoch:.3g}. Raise "
                "dp_noise_multiplier or dp_epsilon, or leave dp_noise_multiplier null to "
                "derive it from dp_epsilon"
            )
    planned, _ = compute_epsilon([(sigma, rate, fitting * per_epoch * models)], delta, accountant)
    return DPPlan(
        noise_multiplier=sigma,
        sample_rate=rate,
        expected_batch_size=max(1, round(rate * n_records)),
        steps_per_epoch=per_epoch,
        epochs=fitting,
        models=models,
        delta=delta,
        target_epsilon=target_epsilon,
        planned_epsilon=planned,
        accountant=accountant,
        noise_solved=noise_multiplier is None,
    )


def records_needed(
    target_epsilon: float,
    batch_size: int,
    epochs: int,
    *,
    delta: float | None = None,
    models: int = 1,
    accountant: Accountant = "rdp",
    noise_multiplier: float = MAX_NOISE_MULTIPLIER,
    start: int = 1,
) -> int | None:
    """Fewest records (±2%) for which ``noise_multiplier`` reaches the target; None if over 1e10.

    With ``delta`` None, δ is the default for each candidate n, as it would be in a run.
    """

    def fits(n: int) -> bool:
        rate = sample_rate(batch_size, n)
        steps = models * epochs * steps_per_epoch(rate)
        d = default_delta(n) if delta is None else delta
        return (
            compute_epsilon([(noise_multiplier, rate, steps)], d, accountant)[0] <= target_epsilon
        )

    high = max(start, 1)
    while not fits(high):
        high *= 2
        if high > 10**10:
            return None
    low = high // 2 if high > start else start - 1
    while high - low > max(1, high // 50):
        middle = (low + high) // 2
        low, high = (low, middle) if fits(middle) else (middle, high)
    return high


def _out_of_reach(
    target: float,
    reached: float,
    n_records: int,
    batch_size: int,
    epochs: int,
    models: int,
    delta: float,
    accountant: Accountant,
    max_sigma: float,
    explicit_delta: bool,
) -> str:
    """Why a target ε cannot be reached, and the records, ε or epochs that would do."""
    needed = records_needed(
        target,
        batch_size,
        epochs,
        delta=delta if explicit_delta else None,
        models=models,
        accountant=accountant,
        noise_multiplier=max_sigma,
        start=n_records,
    )
    rate = sample_rate(batch_size, n_records)
    per_epoch = steps_per_epoch(rate)
    ledger = PrivacyLedger(accountant)
    affordable = ledger.steps_left(target, delta, max_sigma, rate) // (per_epoch * models)
    records = f"at least {int(_round_up(needed, digits=2)):,} records" if needed else "more records"
    fewer = f", or train at most {affordable} epochs" if affordable else ""
    return (
        f"dp_epsilon={target:g} cannot be reached training {models} model(s) for {epochs} "
        f"epochs at batch_size {batch_size} on {n_records:,} records (δ={delta:.3g}): even "
        f"noise multiplier {max_sigma:g}, the most that still lets a model learn, spends "
        f"ε={reached:.3g}. Give {records}, raise dp_epsilon to at least "
        f"{_round_up(reached):g}{fewer}"
    )


def _largest(fits: Callable[[int], bool]) -> int:
    """Largest n ≥ 0 with fits(n), for a fits that holds up to some n and fails after."""
    if not fits(1):
        return 0
    low, high = 1, 2
    while fits(high):
        low, high = high, high * 2
        if high > 10**12:
            return low
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if fits(middle) else (low, middle)
    return low


def _canonical(history: Iterable[Segment]) -> list[Segment]:
    """Steps grouped by (σ, q): composition does not depend on order, and grouping makes
    a merged ledger's ε equal the noise solver's for the same total steps."""
    totals: dict[tuple[float, float], int] = {}
    for sigma, rate, steps in history:
        if steps:
            key = (float(sigma), float(rate))
            totals[key] = totals.get(key, 0) + int(steps)
    return [(sigma, rate, steps) for (sigma, rate), steps in sorted(totals.items())]


def _check_accountant(accountant: str) -> Accountant:
    if accountant not in ACCOUNTANTS:
        raise ConfigError(f"accountant {accountant!r} is not one of {', '.join(ACCOUNTANTS)}")
    return accountant  # type: ignore[return-value]


def _round_up(value: float, digits: int = 3) -> float:
    """``value`` rounded up to ``digits`` significant digits (so it still suffices)."""
    if value <= 0 or not math.isfinite(value):
        return value
    exponent = math.floor(math.log10(value)) - digits + 1
    if exponent >= 0:
        return float(math.ceil(value / 10**exponent) * 10**exponent)
    scale = 10**-exponent
    return round(math.ceil(value * scale * (1 - 1e-12)) / scale, -exponent)


def _round_down(value: float) -> float:
    """``value`` rounded down to one significant digit."""
    scale = 10 ** math.floor(math.log10(value))
    return math.floor(value / scale) * scale
