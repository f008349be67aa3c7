"""Privacy attacks on the synthetic data: how much an attacker gains, not only distances.

Membership inference. The attacker holds the synthetic data and a candidate record and
asks: was this person in the training data? Members are training rows, non-members are
holdout rows (never seen by the generator), as many of each. The attack scores a candidate
by its distance to the closest synthetic record (the encoding and distance of
:func:`~synthloom.report.metrics.dcr`): closer means "member". It is the strongest attack
the report can run in its time: it needs no access to the generator (a black box once the
data is released) and no shadow models, which would mean training the generator again
many times; on memorising generators it is the attack that succeeds (Chen et al., GAN-Leaks,
2020; Hayes et al., LOGAN, 2019).

* ``auc``: the attack's ROC AUC, 0.5 when it guesses no better than a coin; its 95%
  interval by Hanley and McNeil (1982).
* ``epsilon_lower_bound``: the privacy loss the attack proves. A mechanism that is
  (ε, δ)-DP bounds every test's true and false positive rates: TPR ≤ e^ε·FPR + δ and
  1 − FPR ≤ e^ε·(1 − TPR) + δ. At each threshold the rates are bounded with one-sided
  Clopper–Pearson intervals (95% over all thresholds together, Bonferroni), and the largest
  ε they force is reported (Jagielski et al., 2020). For a DP model it must not exceed the
  claimed ε; for any model it says how much membership the data gives away.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import stats

FloatArray = npt.NDArray[np.float64]

#: Thresholds tried for the ε lower bound (quantiles of the distances).
EPSILON_THRESHOLDS = 50
#: Confidence of the ε lower bound, over all thresholds together.
EPSILON_CONFIDENCE = 0.95


@dataclass(frozen=True)
class MembershipAttack:
    """The membership-inference attack's result; see the module docstring."""

    auc: float
    auc_low: float
    auc_high: float
    epsilon_lower_bound: float
    delta: float
    n_members: int
    n_non_members: int
    method: str = "distance to the closest synthetic record"

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "auc": self.auc,
            "auc_interval": [self.auc_low, self.auc_high],
            "epsilon_lower_bound": self.epsilon_lower_bound,
            "delta": self.delta,
            "n_members": self.n_members,
            "n_non_members": self.n_non_members,
        }


def attack_auc(member_scores: FloatArray, non_member_scores: FloatArray) -> float:
    """P(a member scores above a non-member), ties counted half (Mann–Whitney)."""
    scores = np.concatenate([member_scores, non_member_scores])
    ranks = stats.rankdata(scores)
    n1, n2 = len(member_scores), len(non_member_scores)
    return float((ranks[:n1].sum() - n1 * (n1 + 1) / 2) / (n1 * n2))


def auc_interval(auc: float, n1: int, n2: int, z: float = 1.959964) -> tuple[float, float]:
    """The 95% interval of an AUC from ``n1`` positives and ``n2`` negatives (Hanley and
    McNeil's standard error)."""
    q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
    variance = (auc * (1 - auc) + (n1 - 1) * (q1 - auc**2) + (n2 - 1) * (q2 - auc**2)) / (n1 * n2)
    error = math.sqrt(max(variance, 0.0))
    return max(auc - z * error, 0.0), min(auc + z * error, 1.0)


def epsilon_lower_bound(
    member_scores: FloatArray, non_member_scores: FloatArray, delta: float = 0.0
) -> float:
    """The largest ε that the attack's rates force at some threshold, with confidence
    :data:`EPSILON_CONFIDENCE` over all thresholds (0 when none forces any)."""
    n1, n2 = len(member_scores), len(non_member_scores)
    scores = np.concatenate([member_scores, non_member_scores])
    thresholds = np.unique(np.quantile(scores, np.linspace(0, 1, EPSILON_THRESHOLDS + 1)))
    alpha = (1 - EPSILON_CONFIDENCE) / (2 * len(thresholds))  # two bounds per threshold
    best = 0.0
    for threshold in thresholds:
        tp = int(np.sum(member_scores >= threshold))
        fp = int(np.sum(non_member_scores >= threshold))
        tpr_low, fpr_high = _lower(tp, n1, alpha), _upper(fp, n2, alpha)
        tnr_low, fnr_high = _lower(n2 - fp, n2, alpha), _upper(n1 - tp, n1, alpha)
        for gained, missed in ((tpr_low, fpr_high), (tnr_low, fnr_high)):
            if gained - delta > 0 and missed > 0:
                best = max(best, math.log((gained - delta) / missed))
    return best


def _lower(k: int, n: int, alpha: float) -> float:
    """One-sided Clopper–Pearson lower bound of a rate k / n."""
    return 0.0 if k == 0 else float(stats.beta.ppf(alpha, k, n - k + 1))


def _upper(k: int, n: int, alpha: float) -> float:
    """One-sided Clopper–Pearson upper bound of a rate k / n."""
    return 1.0 if k == n else float(stats.beta.ppf(1 - alpha, k + 1, n - k))


def membership_attack(
    member_distances: FloatArray, non_member_distances: FloatArray, delta: float = 0.0
) -> MembershipAttack | None:
    """The attack from each candidate's distance to its closest synthetic record (closer:
    "member"); None without candidates on both sides."""
    n1, n2 = len(member_distances), len(non_member_distances)
    if n1 == 0 or n2 == 0:
        return None
    members, non_members = -member_distances, -non_member_distances
    auc = attack_auc(members, non_members)
    low, high = auc_interval(auc, n1, n2)
    bound = epsilon_lower_bound(members, non_members, delta)
    return MembershipAttack(auc, low, high, bound, delta, n1, n2)
