"""Statistical parity: does the target's distribution differ between sensitive groups?

For a target column and sensitive columns, each group is one combination of sensitive
values. The parity gap is, over the target's values *v*, the largest difference between
two groups' shares P(target = v | group): for a yes/no target and two groups it is
|P(yes | A) − P(yes | B)|. 0 means the target is independent of the sensitive columns.
The report shows it for the real rows (before) and the synthetic rows (after), beside
each group's shares.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from synthloom.errors import ConfigError

#: Most groups and target values listed in the report's table (the gap covers all).
SHOWN_GROUPS = 20
SHOWN_VALUES = 6


@dataclass(frozen=True)
class Parity:
    """The parity gap of one table and the target's shares per group (rows: groups)."""

    gap: float
    shares: pd.DataFrame
    sizes: pd.Series


@dataclass(frozen=True)
class FairnessResult:
    """Parity before (real) and after (synthetic)."""

    target: str
    sensitive: list[str]
    real: Parity
    synthetic: Parity

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "sensitive": self.sensitive,
            "parity_gap_real": self.real.gap,
            "parity_gap_synthetic": self.synthetic.gap,
        }


def parity(frame: pd.DataFrame, target: Hashable, sensitive: Sequence[Hashable]) -> Parity:
    """The parity gap of ``target`` across the groups of ``sensitive`` in ``frame``
    (missing values count as a value of their own)."""
    groups = frame[list(sensitive)].astype(str).agg(" / ".join, axis=1)
    values = frame[target].astype(str)
    table = pd.crosstab(groups, values)
    sizes = table.sum(axis=1)
    shares = table.div(sizes, axis=0)
    gap = float((shares.max() - shares.min()).max()) if len(shares) > 1 else 0.0
    return Parity(gap, shares, sizes)


def fairness(
    real: pd.DataFrame, synthetic: pd.DataFrame, target: str, sensitive: Sequence[str]
) -> FairnessResult:
    """Parity of ``target`` across ``sensitive`` in the real and the synthetic rows."""
    unknown = [c for c in [target, *sensitive] if c not in real.columns]
    if unknown:
        raise ConfigError(
            f"fairness: {unknown} are not columns of the table; choose among {list(real.columns)}"
        )
    if target in sensitive:
        raise ConfigError(f"fairness: the target {target!r} cannot also be a sensitive column")
    return FairnessResult(
        target,
        list(sensitive),
        parity(real, target, sensitive),
        parity(synthetic, target, sensitive),
    )


def share_rows(result: FairnessResult) -> tuple[list[str], list[list[str]]]:
    """The report table: per group, its rows and each shown target value's share, real
    beside synthetic."""
    real = result.real
    groups = real.shares.index[:SHOWN_GROUPS]
    values = real.shares.columns[:SHOWN_VALUES]
    # a group or value the synthetic rows lack has share 0 there
    ours = result.synthetic.shares.reindex(index=groups, columns=values, fill_value=0.0)
    sizes = result.synthetic.sizes.reindex(groups, fill_value=0)
    header = ["group", "rows (real / synthetic)"] + [f"P({result.target} = {v})" for v in values]
    rows = [
        [str(group), f"{int(real.sizes[group]):,} / {int(sizes[group]):,}"]
        + [f"{real.shares.at[group, v]:.3f} / {ours.at[group, v]:.3f}" for v in values]
        for group in groups
    ]
    return header, rows
