"""k-nearest-neighbour privacy analysis: distances to closest records and a verdict.

The distances are those of :func:`~synthloom.report.metrics.dcr` (same encoding, same
sampling, same seed), so that with a holdout ``dcr_share``, ``exact_copy_share`` and the
medians equal what :func:`~synthloom.report.metrics.dcr` returns; this module also keeps
the distance arrays for the charts, measures what fresh real data (the holdout) scores, and
works without a holdout. Neighbours are found by scikit-learn in chunks, so memory grows
linearly with the number of rows, never with their product.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from synthloom.report.metrics import (
    _NNDR_EPSILON,
    _column_kind,
    _DistanceEncoder,
    _nearest_distances,
    _row_hashes,
    _sample_rows,
)
from synthloom.report.values import ValueCopies, copy_level

__all__ = [
    "DCR_SHARE_CAUTION",
    "DCR_SHARE_WARNING",
    "EXCESS_COPIES_CAUTION",
    "EXCESS_COPIES_WARNING",
    "PrivacyResult",
    "Verdict",
    "knn_privacy",
    "privacy_verdict",
]

FloatArray = npt.NDArray[np.float64]
Level = Literal["ok", "caution", "warning"]

#: DCR share above which the verdict is "caution" / "warning" (0.5 is ideal).
DCR_SHARE_CAUTION = 0.55
DCR_SHARE_WARNING = 0.60
#: Exact-copy share above the holdout's own share that gives "caution" / "warning".
EXCESS_COPIES_CAUTION = 0.01
EXCESS_COPIES_WARNING = 0.05


@dataclass(frozen=True)
class Verdict:
    """A privacy verdict in plain words: ``level`` is ``ok``, ``caution`` or ``warning``."""

    level: Level
    headline: str
    reasons: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {"level": self.level, "headline": self.headline, "reasons": self.reasons}


@dataclass(frozen=True)
class PrivacyResult:
    """Distances to closest records of synthetic (and holdout) rows; see ``docs/METRICS.md``.

    Distance arrays are over the sampled synthetic rows: ``d_training`` to the nearest
    training row, ``d_holdout`` to the nearest holdout row (None without holdout), ``nndr``
    the nearest-neighbour distance ratio against the training rows. ``holdout_d_training``
    and ``holdout_nndr`` are the same measures for the holdout rows (fresh real data), the
    baseline a private generator should match. ``training_duplicate_share`` is the share of
    sampled training rows that occur more than once in the training data: the rate of chance
    copies when there is no holdout.
    """

    @property
    def copy_baseline(self) -> float:
        """Share of copies that chance explains: the holdout's, else the training duplicates'."""
        if self.holdout_exact_copy_share is not None:
            return self.holdout_exact_copy_share
        return self.training_duplicate_share

    columns: list[Hashable]
    d_training: FloatArray
    d_holdout: FloatArray | None
    nndr: FloatArray
    holdout_d_training: FloatArray | None
    holdout_nndr: FloatArray | None
    exact_copy_share: float
    holdout_exact_copy_share: float | None
    training_duplicate_share: float
    n_training: int
    n_holdout: int
    n_synthetic: int
    # the membership attack's inputs: each sampled training (member) and holdout
    # (non-member) row's distance to its closest synthetic row (None without holdout)
    member_d_synthetic: FloatArray | None = None
    non_member_d_synthetic: FloatArray | None = None

    @property
    def dcr_share(self) -> float | None:
        """Share of synthetic rows nearer to training than to holdout (ties half); 0.5 ideal."""
        if self.d_holdout is None:
            return None
        closer = (self.d_training < self.d_holdout) + 0.5 * (self.d_training == self.d_holdout)
        return float(np.mean(closer))

    def to_dict(self) -> dict[str, Any]:
        """Scalars only, JSON-friendly (None where undefined)."""
        return {
            "columns": [str(c) for c in self.columns],
            "dcr_share": self.dcr_share,
            "exact_copy_share": self.exact_copy_share,
            "holdout_exact_copy_share": self.holdout_exact_copy_share,
            "training_duplicate_share": self.training_duplicate_share,
            "dcr_training_median": _median(self.d_training),
            "dcr_holdout_median": _median(self.d_holdout),
            "nndr_training_median": _median(self.nndr),
            "holdout_dcr_training_median": _median(self.holdout_d_training),
            "holdout_nndr_training_median": _median(self.holdout_nndr),
            "n_training": self.n_training,
            "n_holdout": self.n_holdout,
            "n_synthetic": self.n_synthetic,
        }


def _median(values: FloatArray | None) -> float | None:
    if values is None or len(values) == 0:
        return None
    median = float(np.median(values))
    return None if math.isnan(median) else median


def _nndr(distances: FloatArray) -> FloatArray:
    if distances.shape[1] < 2:
        return np.full(len(distances), np.nan)
    return (distances[:, 0] + _NNDR_EPSILON) / (distances[:, 1] + _NNDR_EPSILON)


def knn_privacy(
    training: pd.DataFrame,
    synthetic: pd.DataFrame,
    holdout: pd.DataFrame | None,
    columns: Sequence[Hashable],
    max_rows: int,
    seed: int,
) -> PrivacyResult:
    """Distances to closest records over ``columns`` (sampling and encoding as ``dcr``)."""
    columns = list(columns)
    rng = np.random.default_rng(seed)
    n_reference = min(len(training), max_rows)
    if holdout is not None:
        n_reference = min(n_reference, len(holdout))
    trn = _sample_rows(training[columns], n_reference, rng)
    hol = None if holdout is None else _sample_rows(holdout[columns], n_reference, rng)
    syn = _sample_rows(synthetic[columns], min(len(synthetic), max_rows), rng)

    encoder = _DistanceEncoder(training[columns], [f for f in (hol, syn) if f is not None])
    trn_points = encoder.transform(trn)
    syn_points = encoder.transform(syn)
    to_training = _nearest_distances(trn_points, syn_points, k=2)

    kinds = {column: _column_kind(training[column]) for column in columns}
    training_hashes = _row_hashes(training[columns], kinds)
    copies = np.isin(_row_hashes(syn, kinds), training_hashes)
    distinct, counts = np.unique(training_hashes, return_counts=True)
    duplicated = np.isin(_row_hashes(trn, kinds), distinct[counts > 1])

    d_holdout = holdout_d = holdout_nndr = None
    holdout_copies = members = non_members = None
    if hol is not None:
        hol_points = encoder.transform(hol)
        # one index over the synthetic rows for both sides of the membership attack
        candidates = _nearest_distances(syn_points, np.vstack([trn_points, hol_points]), k=1)
        members, non_members = candidates[: len(trn_points), 0], candidates[len(trn_points) :, 0]
        d_holdout = _nearest_distances(hol_points, syn_points, k=1)[:, 0]
        holdout_to_training = _nearest_distances(trn_points, hol_points, k=2)
        holdout_d = holdout_to_training[:, 0]
        holdout_nndr = _nndr(holdout_to_training)
        holdout_copies = float(np.mean(np.isin(_row_hashes(hol, kinds), training_hashes)))

    return PrivacyResult(
        columns=columns,
        d_training=to_training[:, 0],
        d_holdout=d_holdout,
        nndr=_nndr(to_training),
        holdout_d_training=holdout_d,
        holdout_nndr=holdout_nndr,
        exact_copy_share=float(np.mean(copies)),
        holdout_exact_copy_share=holdout_copies,
        training_duplicate_share=float(np.mean(duplicated)),
        n_training=len(trn),
        n_holdout=0 if hol is None else len(hol),
        n_synthetic=len(syn),
        member_d_synthetic=members,
        non_member_d_synthetic=non_members,
    )


def _percent(share: float) -> str:
    return f"{100 * share:.1f}%"


def _copy_reasons(result: PrivacyResult) -> tuple[Level, list[str]]:
    baseline = result.copy_baseline
    excess = result.exact_copy_share - baseline
    if result.holdout_exact_copy_share is not None:
        where = f" (fresh real data: {_percent(baseline)})"
    else:
        where = f" (training records that repeat within the training data: {_percent(baseline)})"
    text = (
        f"{_percent(result.exact_copy_share)} of the synthetic records are exact copies of "
        f"training records{where}."
    )
    if excess > EXCESS_COPIES_WARNING:
        return "warning", [text + " Copies of real records can disclose the people in them."]
    if excess > EXCESS_COPIES_CAUTION:
        return "caution", [text + " That is more than chance explains."]
    return "ok", [text]


def _dcr_reasons(result: PrivacyResult) -> tuple[Level, list[str]]:
    share = result.dcr_share
    if share is None:
        return "caution", [
            "No holdout was given, so it cannot be told whether the synthetic records are "
            "closer to the training records than fresh real records would be; pass a holdout "
            "(real records the generator never saw) for a full privacy check."
        ]
    text = (
        f"{_percent(share)} of the synthetic records are closer to a training record than to "
        f"a holdout record (DCR share {share:.3f}; 50% is ideal)."
    )
    if share > DCR_SHARE_WARNING:
        return "warning", [
            text + " The synthetic data sits much closer to the training data than unseen "
            "real data does: the generator appears to memorise its training records."
        ]
    if share > DCR_SHARE_CAUTION:
        return "caution", [text + " That is somewhat closer than unseen real data."]
    return "ok", [
        text + " Synthetic records are no closer to the training data than unseen real records are."
    ]


_HEADLINES: dict[Level, str] = {
    "ok": "No sign of memorisation: the synthetic data looks safe to share.",
    "caution": "Caution: check the privacy findings below before sharing.",
    "warning": "PRIVACY WARNING: the synthetic data reproduces training records. Do not share it.",
}
_ORDER: dict[Level, int] = {"ok": 0, "caution": 1, "warning": 2}


def privacy_verdict(result: PrivacyResult, columns: Sequence[ValueCopies] = ()) -> Verdict:
    """The verdict: the worst of the exact-copy check, the DCR-share check and the
    per-column verbatim-value check (``columns``, from :func:`value_copies`)."""
    row_level, copy_reasons = _copy_reasons(result)
    dcr_level, dcr_reasons = _dcr_reasons(result)
    value_level, value_reasons = copy_level(columns)
    level = max(row_level, dcr_level, value_level, key=_ORDER.__getitem__)  # type: ignore[arg-type]
    reasons = dcr_reasons + copy_reasons + value_reasons
    return Verdict(level=level, headline=_HEADLINES[level], reasons=reasons)
