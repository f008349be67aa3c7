"""The privacy budget of one DP run: how it is split, what it released, what it covers.

:class:`PrivateTraining` is opened once per run, before anything is learned. It releases
the number of records with noise (so the exact n stays private under the add/remove
relation), fixes δ, splits ε between that count, the codecs' vocabularies and DP-SGD,
plans DP-SGD, and keeps the one ledger every model of the run steps into (column
clusters trained on the same records compose in one accountant). Its random draws come
from OS entropy: a seed in the config never makes them repeatable.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from synthloom.privacy.accounting import (
    Accountant,
    DPPlan,
    PrivacyLedger,
    Release,
    check_clip_norm,
    check_epsilon,
    plan_dp_sgd,
    privacy_report,
    resolve_delta,
)
from synthloom.privacy.domain import private_count
from synthloom.privacy.entropy import secure_rng

log = logging.getLogger(__name__)

# Share of ε that releases the number of records (Laplace, sensitivity 1).
COUNT_SHARE = 0.01

# Facts every DP run computes from raw data outside DP-SGD, for the data's owner only.
NOT_COVERED_BY_TRAINING = (
    "losses, accuracies and token counts in history.csv and training_summary.json "
    "(computed on raw records; share them only with people allowed to see the data)",
    "holdout.json: the row numbers held out for the report (pointers into the raw data)",
)


@dataclass(frozen=True)
class DPSettings:
    """What a DP run is asked to do (the ``dp_*`` params and the training schedule)."""

    epsilon: float
    delta: float | None
    clip_norm: float
    noise_multiplier: float | None
    accountant: Accountant
    batch_size: int
    epochs: int


@dataclass
class PrivateTraining:
    """DP-SGD plan, the released record count, the domain budget and the run's ledger."""

    plan: DPPlan
    clip_norm: float
    ledger: PrivacyLedger
    n_released: int
    domain_budget: tuple[float, float]
    rng: np.random.Generator
    releases: list[Release] = field(default_factory=list)
    not_covered: list[str] = field(default_factory=lambda: list(NOT_COVERED_BY_TRAINING))
    public_inputs: list[str] = field(default_factory=list)

    @classmethod
    def open(
        cls,
        settings: DPSettings,
        n_records: int,
        *,
        models: int = 1,
        domain_share: float = 0.0,
    ) -> PrivateTraining:
        """Release n, fix δ, split ε (count, ``domain_share`` for vocabularies, the rest
        for DP-SGD of ``models`` models) and plan DP-SGD on the released n.

        Raises :class:`ConfigError` with what would work when the budget is out of reach.
        """
        check_epsilon(settings.epsilon)
        check_clip_norm(settings.clip_norm)
        if not 0 <= domain_share < 1 - COUNT_SHARE:
            raise ValueError(f"domain share {domain_share:g} out of range")
        rng = secure_rng()
        count_eps = settings.epsilon * COUNT_SHARE
        n_released = private_count(n_records, count_eps, rng)
        delta = resolve_delta(settings.delta, n_released)
        domain = (settings.epsilon * domain_share, delta / 2) if domain_share else (0.0, 0.0)
        sgd_eps = settings.epsilon - count_eps - domain[0]
        plan = plan_dp_sgd(
            n_records=n_released,
            batch_size=settings.batch_size,
            epochs=settings.epochs,
            target_epsilon=sgd_eps,
            delta=delta - domain[1],
            noise_multiplier=settings.noise_multiplier,
            accountant=settings.accountant,
            models=models,
        )
        if plan.epochs < settings.epochs:
            log.warning(
                "DP: dp_noise_multiplier=%g affords %d of %d epochs within dp_epsilon=%g",
                plan.noise_multiplier,
                plan.epochs,
                settings.epochs,
                settings.epsilon,
            )
        count = Release("the number of training records", "Laplace, sensitivity 1", count_eps)
        return cls(
            plan,
            settings.clip_norm,
            PrivacyLedger(plan.accountant),
            n_released,
            domain,
            rng,
            releases=[count],
        )

    def epsilon(self) -> float:
        """The run's total ε so far (releases plus DP-SGD), at its total δ."""
        return self.summary()["epsilon"]

    def total_delta(self) -> float:
        """The run's total δ (DP-SGD's plus the releases')."""
        return self.plan.delta + sum(r.delta for r in self.releases)

    def steps_left(self) -> int:
        """Steps that keep DP-SGD within its target ε."""
        p = self.plan
        return self.ledger.steps_left(p.target_epsilon, p.delta, p.noise_multiplier, p.sample_rate)

    def summary(self) -> dict[str, Any]:
        """The privacy part of ``training_summary.json`` (total, parts, what is covered)."""
        report = privacy_report(
            self.ledger, self.plan.delta, self.releases, self.not_covered, self.public_inputs
        )
        report["plan"] = asdict(self.plan)
        report["clip_norm"] = self.clip_norm
        report["training_records_released"] = self.n_released
        report["randomness"] = (
            "noise, Poisson sampling and every release draw from OS entropy (os.urandom); "
            "params.seed fixes only the non-private choices (validation split, sampling "
            "of generated records)"
        )
        return report


def log_privacy(summary: dict[str, Any]) -> None:
    """Say in the log what a DP run spent and what its ε does not cover."""
    privacy = summary.get("privacy")
    if not privacy:
        return
    log.info(
        "DP: (ε=%.4g, δ=%.3g) spent (%s) over %d DP-SGD steps; not covered by ε: %s",
        privacy["epsilon"],
        privacy["delta"],
        privacy["neighbouring"],
        privacy["dp_sgd"]["steps"],
        "; ".join(privacy["not_covered"]),
    )
