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

Attribute inference. The attacker holds the synthetic data and what is known of a person
(every column not marked sensitive) and guesses the person's sensitive value: a
gradient-boosted model trained on the synthetic rows predicts the sensitive column from the
other columns, and guesses it for real training rows (members). ``gain`` is how much better
than the base guess (the synthetic data's most frequent value, or its mean) the attack does;
the same attack on holdout rows (non-members) gives what the population's statistics alone
let an attacker infer, and the difference of the two (``member_gap``) is what the synthetic
data gives away about its training records in particular (memorisation rather than
generalisation). See :func:`attribute_attack`.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

from synthloom.report.inputs import sample_rows
from synthloom.report.metrics import _as_datetime, _as_float, _as_text, _Kind
from synthloom.report.utility import _MODEL_SETTINGS, _FeatureEncoder

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


# --- attribute inference ---------------------------------------------------------------

Task = Literal["classification", "regression"]

#: A categorical column's attacker chooses among at most this many of the synthetic data's
#: most frequent values, each held by at least :data:`ATTRIBUTE_MIN_CLASS_ROWS` synthetic
#: rows (the rest are one "other" class, a guess that is never right).
ATTRIBUTE_MAX_CLASSES = 20
ATTRIBUTE_MIN_CLASS_ROWS = 5
#: Bootstrap resamples behind the intervals of the gain and of the member gap.
ATTRIBUTE_BOOTSTRAP = 200
#: Fewest holdout rows the reference attacker (trained on the holdout) learns from.
ATTRIBUTE_MIN_REFERENCE_ROWS = 50
_MISSING = "(missing)"
_MICROSECONDS_PER_DAY = 86_400_000_000
_Z95 = 1.959964


@dataclass(frozen=True)
class AttributeGuesses:
    """How well an attribute attack guesses the sensitive value of one group of real rows.

    ``score`` is the accuracy (categorical column; ``score_low``/``score_high`` its 95%
    Wilson interval) or the RMSE (numeric column, datetimes in days; ``r2`` beside it).
    ``base`` is the same for the base guess, the attacker's training data's most frequent
    value or its mean. ``gain`` is what the attack adds to the base guess: accuracy minus
    base accuracy (categorical), or 1 − MSE / base MSE, the share of the base guess's
    squared error it removes (numeric); 0 is no better than the base guess. Its 95%
    interval is a bootstrap over the rows (attack and base guess paired).
    """

    task: Task
    n: int
    score: float
    base: float
    gain: float
    gain_low: float
    gain_high: float
    score_low: float | None = None
    score_high: float | None = None
    r2: float | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"n": self.n}
        if self.task == "classification":
            out |= {
                "accuracy": self.score,
                "accuracy_interval": [self.score_low, self.score_high],
                "base_accuracy": self.base,
            }
        else:
            out |= {"rmse": self.score, "base_rmse": self.base, "r2": self.r2}
        return out | {"gain": self.gain, "gain_interval": [self.gain_low, self.gain_high]}


@dataclass(frozen=True)
class AttributeAttack:
    """The attribute-inference attack on one sensitive column; see :func:`attribute_attack`.

    ``members`` are the attack's guesses for training rows, ``non_members`` for holdout
    rows (None without a holdout); ``member_gap`` is ``members.gain − non_members.gain``
    with its 95% bootstrap interval. ``reference`` is the same attack trained on the
    holdout rows instead of the synthetic data and scored on the members: what real data of
    the population lets an attacker infer (None without enough holdout rows). ``note``
    says why an attack did not run (then ``members`` is None) or what limited it.
    """

    column: str
    task: Task
    features: list[str]
    n_synthetic: int
    members: AttributeGuesses | None
    non_members: AttributeGuesses | None = None
    member_gap: float | None = None
    member_gap_low: float | None = None
    member_gap_high: float | None = None
    reference: AttributeGuesses | None = None
    n_reference: int = 0
    note: str | None = None
    method: str = "gradient-boosted model trained on the synthetic data"

    def to_dict(self) -> dict[str, Any]:
        gap = None
        if self.member_gap is not None:
            gap = [self.member_gap_low, self.member_gap_high]
        return {
            "column": self.column,
            "task": self.task,
            "method": self.method,
            "features": self.features,
            "n_synthetic": self.n_synthetic,
            "members": None if self.members is None else self.members.to_dict(),
            "non_members": None if self.non_members is None else self.non_members.to_dict(),
            "member_gap": self.member_gap,
            "member_gap_interval": gap,
            "reference": None if self.reference is None else self.reference.to_dict(),
            "n_reference": self.n_reference,
            "note": self.note,
        }


def wilson_interval(k: int, n: int, z: float = _Z95) -> tuple[float, float]:
    """The 95% Wilson score interval of a rate ``k / n``."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (0.0 if k == 0 else max(centre - half, 0.0)), (
        1.0 if k == n else min(centre + half, 1.0)
    )


def _gain(attack_loss: FloatArray, base_loss: FloatArray, task: Task) -> Any:
    """The attack's gain over the base guess from per-row losses (along the last axis)."""
    if task == "classification":  # losses are 0 (right) or 1 (wrong)
        return base_loss.mean(axis=-1) - attack_loss.mean(axis=-1)
    attack, base = attack_loss.sum(axis=-1), base_loss.sum(axis=-1)
    safe = np.where(base > 0, base, 1.0)
    return np.where(base > 0, 1 - attack / safe, np.where(attack > 0, -1.0, 0.0))


def _bootstrap(
    attack_loss: FloatArray, base_loss: FloatArray, task: Task, rng: np.random.Generator
) -> FloatArray:
    rows = rng.integers(0, len(attack_loss), size=(ATTRIBUTE_BOOTSTRAP, len(attack_loss)))
    return np.asarray(_gain(attack_loss[rows], base_loss[rows], task), dtype=np.float64)


def _interval(samples: FloatArray) -> tuple[float, float]:
    low, high = np.quantile(samples, [0.025, 0.975])
    return float(low), float(high)


class _Attacker:
    """A model of the sensitive ``column`` from the ``features``, fitted on ``frame``."""

    def __init__(
        self,
        frame: pd.DataFrame,
        column: Hashable,
        features: dict[Hashable, _Kind],
        kind: _Kind,
        seed: int,
    ) -> None:
        self.column, self.kind = column, kind
        self.task: Task = "classification" if kind == "categorical" else "regression"
        self.encoder = _FeatureEncoder(frame, features)
        self.model: Any = None
        self.classes: list[str] = []
        self.mean = 0.0
        if self.task == "classification":
            labels = self._labels(frame)
            counts = labels.value_counts()
            self.classes = [str(labels.mode().iloc[0])]  # the base guess, class 0
            counts = counts[counts >= ATTRIBUTE_MIN_CLASS_ROWS].iloc[:ATTRIBUTE_MAX_CLASSES]
            if len(counts) == 0:  # no value frequent enough to learn: guess the mode
                return
            self.classes = [str(c) for c in counts.index]
            codes = self.codes(frame)
            other = len(self.classes)
            codes[codes < 0] = other
            keep = codes < other
            if np.sum(~keep) >= ATTRIBUTE_MIN_CLASS_ROWS:  # enough rows to learn "other"
                keep[:] = True
            classes = len(np.unique(codes[keep]))
            if classes > 1:
                self.model = HistGradientBoostingClassifier(
                    **_settings(int(keep.sum()), classes), random_state=seed
                )
                self.model.fit(self.encoder.transform(frame[keep]), codes[keep])
            return
        y = self.numbers(frame)
        present = ~np.isnan(y)
        self.mean = float(np.mean(y[present]))
        if np.sum(present) >= 2 and np.ptp(y[present]) > 0:
            self.model = HistGradientBoostingRegressor(
                **_settings(int(present.sum()), 1), random_state=seed
            )
            self.model.fit(self.encoder.transform(frame[present]), y[present])

    def _labels(self, frame: pd.DataFrame) -> pd.Series:
        return _as_text(frame[self.column]).fillna(_MISSING).astype(object)

    def codes(self, frame: pd.DataFrame) -> npt.NDArray[np.int64]:
        """Each row's value as its index among the classes, -1 when it is none of them."""
        categorical = pd.Categorical(self._labels(frame), categories=self.classes)
        return np.asarray(categorical.codes, dtype=np.int64)

    def numbers(self, frame: pd.DataFrame) -> FloatArray:
        """The column as floats (datetimes in days since 1970), NaN when missing."""
        return _numbers(frame[self.column], self.kind)

    def losses(self, frame: pd.DataFrame) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Per scored row of ``frame``: the attack's loss, the base guess's loss and the
        true value (0/1 losses and class codes, or squared errors and numbers)."""
        if self.task == "classification":
            truth = self.codes(frame)
            if self.model is None:
                guessed = np.zeros(len(frame), dtype=np.int64)
            else:
                guessed = np.asarray(self.model.predict(self.encoder.transform(frame)))
            attack = (guessed != truth).astype(np.float64)  # "other" (a code ≥ K) never right
            return attack, (truth != 0).astype(np.float64), truth.astype(np.float64)
        y = self.numbers(frame)
        present = ~np.isnan(y)
        y, rows = y[present], frame[present]
        if self.model is None or len(rows) == 0:
            predicted = np.full(len(y), self.mean)
        else:
            predicted = np.asarray(self.model.predict(self.encoder.transform(rows)))
        return (y - predicted) ** 2, (y - self.mean) ** 2, y

    def guesses(
        self, frame: pd.DataFrame, rng: np.random.Generator
    ) -> tuple[AttributeGuesses | None, FloatArray | None]:
        """The attack's figures on ``frame`` and the bootstrap samples of its gain."""
        attack, base, truth = self.losses(frame)
        n = len(attack)
        if n == 0:
            return None, None
        samples = _bootstrap(attack, base, self.task, rng)
        low, high = _interval(samples)
        gain = float(_gain(attack, base, self.task))
        if self.task == "classification":
            right = int(n - attack.sum())
            score_low, score_high = wilson_interval(right, n)
            result = AttributeGuesses(
                self.task, n, right / n, 1 - float(base.mean()), gain, low, high,
                score_low, score_high,
            )  # fmt: skip
        else:
            variance = float(np.sum((truth - truth.mean()) ** 2))
            r2 = 1 - float(attack.sum()) / variance if variance > 0 else None
            rmse, base_rmse = math.sqrt(float(attack.mean())), math.sqrt(float(base.mean()))
            result = AttributeGuesses(self.task, n, rmse, base_rmse, gain, low, high, r2=r2)
        return result, samples


def attribute_attack(
    training: pd.DataFrame,
    synthetic: pd.DataFrame,
    holdout: pd.DataFrame | None,
    column: Hashable,
    features: Sequence[Hashable],
    kinds: dict[Hashable, _Kind],
    max_rows: int,
    seed: int,
) -> AttributeAttack:
    """Guess the sensitive ``column`` of real rows from their ``features`` with a model
    trained on the synthetic data.

    The attacker trains a scikit-learn ``HistGradientBoosting`` classifier (categorical
    column: among its :data:`ATTRIBUTE_MAX_CLASSES` most frequent synthetic values) or
    regressor (numeric and datetime columns) on up to ``max_rows`` synthetic rows, with the
    feature encoding and settings of the ML utility section, and guesses the column for up
    to ``max_rows`` training rows (members) and as many holdout rows (non-members). The
    reference attacker, the same model trained on those holdout rows, guesses the members
    too. Rows whose numeric value is missing are not scored; a missing category is a value.
    """
    kind = kinds[column]
    task: Task = "classification" if kind == "categorical" else "regression"
    n = min(len(training), max_rows)
    if holdout is not None:
        n = min(n, len(holdout))
    members = sample_rows(training, n, seed)
    non_members = None if holdout is None else sample_rows(holdout, n, seed)
    attackers = sample_rows(synthetic, min(len(synthetic), max_rows), seed)
    names = [str(c) for c in features]
    if not features:
        note = "every other column is sensitive too: there is nothing to guess it from"
        return AttributeAttack(str(column), task, names, len(attackers), None, note=note)
    if task == "regression" and bool(np.all(np.isnan(_numbers(attackers[column], kind)))):
        note = "the synthetic data holds no value of the column: the attacker learns nothing"
        return AttributeAttack(str(column), task, names, len(attackers), None, note=note)
    feature_kinds = {c: kinds[c] for c in features}
    rng = np.random.default_rng(seed)
    attacker = _Attacker(attackers, column, feature_kinds, kind, seed)
    on_members, member_samples = attacker.guesses(members, rng)
    if on_members is None:
        note = "no training row holds a value of the column to guess"
        return AttributeAttack(str(column), task, names, len(attackers), None, note=note)
    note = None
    if attacker.model is None:
        note = "the synthetic data holds a single value of the column: the attacker guesses it"
    result: dict[str, Any] = {}
    if non_members is not None:
        on_non_members, non_member_samples = attacker.guesses(non_members, rng)
        if on_non_members is not None and non_member_samples is not None:
            assert member_samples is not None
            low, high = _interval(member_samples - non_member_samples)
            result |= {
                "non_members": on_non_members,
                "member_gap": on_members.gain - on_non_members.gain,
                "member_gap_low": low,
                "member_gap_high": high,
            }
        usable = non_members
        if task == "regression":
            usable = non_members[~np.isnan(_numbers(non_members[column], kind))]
        if len(usable) >= ATTRIBUTE_MIN_REFERENCE_ROWS:
            reference = _Attacker(usable, column, feature_kinds, kind, seed)
            result |= {"reference": reference.guesses(members, rng)[0], "n_reference": len(usable)}
    return AttributeAttack(
        str(column), task, names, len(attackers), on_members, note=note, **result
    )


def _numbers(series: pd.Series, kind: _Kind) -> FloatArray:
    """A numeric or datetime column as floats (datetimes in days since 1970), NaN when
    missing."""
    if kind == "datetime":
        ints, missing = _as_datetime(series)
        return np.where(missing, np.nan, ints.astype(np.float64) / _MICROSECONDS_PER_DAY)
    return _as_float(series)


def _settings(n_rows: int, n_classes: int) -> dict[str, Any]:
    """The ML utility's model settings; early stopping only where its 10% validation split
    holds every class (stratified) and enough rows."""
    early = n_rows >= 100 and int(0.1 * n_rows) >= 2 * n_classes
    return {**_MODEL_SETTINGS, "early_stopping": early}
