"""Value protection: what no single person may set, changed before anything is learned.

Outside DP (where every released value is already a DP release) a generator can still
give a rare person away: a category held by one record, or the largest value of a
column, comes back in its output exactly. Value protection rewrites the training rows so
that neither can happen, whatever the model learns:

* **Rare categories.** A category held by fewer than *k* records becomes :data:`RARE`
  (``replacement="rare"``) or a value drawn from the other categories in their shares
  (``replacement="sample"``; always so for a column that is not text, where the token
  would change its type).
* **Ranges.** A number or date below the *k*-th smallest value or above the *k*-th
  largest is clipped to it, so every bound is held by at least *k* records.

*k* is drawn per column, uniformly between the threshold and twice it, from OS entropy:
a category held by fewer records than the threshold is always replaced, and whoever
reads the output cannot tell from where a bound sits exactly how many records lie
beyond it. Replacement values are drawn from OS entropy too (never from a config seed).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from synthloom.privacy.entropy import secure_rng

log = logging.getLogger(__name__)

#: The token a rare category becomes (``replacement="rare"``).
RARE = "_RARE_"

Replacement = Literal["rare", "sample"]


@dataclass(frozen=True)
class Protected:
    """What protection changed in one column: ``kind`` is ``"rare categories"`` or
    ``"range"``; ``values`` the categories replaced (or bounds that clipped); ``rows``
    the rows changed."""

    column: str
    kind: str
    values: int
    rows: int
    how: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def column_threshold(threshold: int, rng: np.random.Generator | None = None) -> int:
    """The column's *k*: uniform in [threshold, 2·threshold], from OS entropy."""
    rng = rng or secure_rng()
    return int(rng.integers(threshold, 2 * threshold + 1))


def protect_categories(
    column: pd.Series,
    k: int,
    replacement: Replacement,
    rng: np.random.Generator | None = None,
) -> tuple[pd.Series, Protected | None]:
    """``column`` with every category held by fewer than ``k`` records replaced."""
    counts = column.value_counts(dropna=True)
    rare = counts[counts < k]
    if rare.empty:
        return column, None
    hit = (column.isin(rare.index) & column.notna()).to_numpy(dtype=bool)
    common = counts[counts >= k]
    textual = pd.api.types.is_object_dtype(column) or pd.api.types.is_string_dtype(column)
    out = column.copy()
    if (replacement == "rare" and textual) or common.empty:
        if not textual:
            out = out.astype(object)
        out.iloc[np.flatnonzero(hit)] = RARE
        how = f"replaced by {RARE}"
    else:
        rng = rng or secure_rng()
        shares = common.to_numpy(dtype=float) / common.sum()
        drawn = rng.choice(len(common), size=int(hit.sum()), p=shares)
        out.iloc[np.flatnonzero(hit)] = common.index.to_numpy()[drawn]
        how = "drawn from the other categories"
    return out, Protected(str(column.name), "rare categories", len(rare), int(hit.sum()), how)


def clip_range(column: pd.Series, numbers: pd.Series, k: int) -> tuple[pd.Series, Protected | None]:
    """``column`` with values beyond its ``k``-th smallest and largest set to them.

    ``numbers`` is the column's numeric view (dates as days or seconds): it orders the
    values, and the bound's own value (in the column's type and format) replaces them.
    """
    values = numbers.to_numpy(dtype=float, na_value=np.nan)
    known = np.flatnonzero(~np.isnan(values))
    if len(known) == 0:
        return column, None
    ranked = known[np.argsort(values[known], kind="stable")]
    k = min(k, (len(ranked) + 1) // 2)  # so few values: both bounds meet at the median
    low_at, high_at = ranked[k - 1], ranked[len(ranked) - k]
    with np.errstate(invalid="ignore"):
        below, above = values < values[low_at], values > values[high_at]
    rows = int(below.sum() + above.sum())
    if rows == 0:
        return column, None
    out = column.copy()
    out.iloc[np.flatnonzero(below)] = column.iloc[low_at]
    out.iloc[np.flatnonzero(above)] = column.iloc[high_at]
    bounds = int(below.any()) + int(above.any())
    return out, Protected(str(column.name), "range", bounds, rows, "clipped to safe bounds")


def log_protection(protected: list[Protected]) -> None:
    """One line per protected column: what changed and how many rows it touched."""
    for p in protected:
        what = f"{p.values} rare categories" if p.kind == "rare categories" else "extremes"
        log.info("value protection: %s: %s %s (%d rows)", p.column, what, p.how, p.rows)
