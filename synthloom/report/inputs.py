"""Checks the frames handed to a report and picks the columns and rows each section uses."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from synthloom.errors import DataError
from synthloom.report.metrics import _column_kind, _Kind

__all__ = ["ReportInputs", "prepare_inputs", "sample_rows", "select_columns"]


@dataclass(frozen=True)
class ReportInputs:
    """The frames of a report, reduced to their common columns in the real frame's order.

    Attributes:
        real: the generator's training data.
        synthetic: the generated data.
        holdout: real data the generator never saw, or None.
        columns: the common columns.
        kinds: column -> ``"numeric"``, ``"datetime"`` or ``"categorical"`` (from ``real``).
        target: the ML utility target column, or None.
        notes: plain-words remarks about the input (columns left out, ...).
    """

    real: pd.DataFrame
    synthetic: pd.DataFrame
    holdout: pd.DataFrame | None
    columns: list[Hashable]
    kinds: dict[Hashable, _Kind]
    target: Hashable | None
    notes: list[str]


def _check_frame(name: str, frame: object) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"{name} must be a pandas DataFrame, got {type(frame).__name__}")
    if frame.shape[1] == 0:
        raise DataError(f"{name} has no columns; pass a table with at least one column")
    if len(frame) == 0:
        raise DataError(f"{name} has no rows; pass a table with at least one row")
    duplicated = frame.columns[frame.columns.duplicated()].unique().tolist()
    if duplicated:
        raise DataError(f"{name} has duplicated column names {duplicated}; rename them")
    return frame


def _left_out(name: str, frame: pd.DataFrame, columns: Sequence[Hashable]) -> list[str]:
    extra = [str(c) for c in frame.columns if c not in set(columns)]
    if not extra:
        return []
    return [f"columns only in {name}, left out of the report: {', '.join(extra)}"]


def prepare_inputs(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    holdout: pd.DataFrame | None,
    target: str | None,
) -> ReportInputs:
    """Validate the frames and restrict them to the columns they all share.

    Raises:
        DataError: a frame is not a DataFrame, is empty or has duplicated column names; the
            frames share no column; or ``target`` is not one of the common columns.
    """
    frames = {"real": _check_frame("real", real), "synthetic": _check_frame("synthetic", synthetic)}
    if holdout is not None:
        frames["holdout"] = _check_frame("holdout", holdout)
    shared = set.intersection(*(set(frame.columns) for frame in frames.values()))
    columns = [c for c in real.columns if c in shared]
    if not columns:
        described = "; ".join(f"{name}: {list(f.columns)[:10]}" for name, f in frames.items())
        strangers = [
            name
            for name, frame in frames.items()
            if name != "real" and not set(frame.columns) & set(real.columns)
        ] or [name for name in frames if name != "real"]
        fix = {
            "synthetic": "pass the synthetic data generated from this real data",
            "holdout": "pass held-out rows of the same table as the real data",
        }
        raise DataError(
            f"the {' and the '.join(strangers)} data share no column with the real data, "
            f"so nothing can be compared ({described}); "
            + "; ".join(fix[name] for name in strangers)
        )
    if target is not None and target not in shared:
        where = [name for name, frame in frames.items() if target not in frame.columns]
        raise DataError(
            f"target column {target!r} is missing from {' and '.join(where)}; "
            f"pick one of the common columns: {[str(c) for c in columns]}"
        )
    notes = [note for name, frame in frames.items() for note in _left_out(name, frame, columns)]
    reduced = {name: frame[columns].reset_index(drop=True) for name, frame in frames.items()}
    return ReportInputs(
        real=reduced["real"],
        synthetic=reduced["synthetic"],
        holdout=reduced.get("holdout"),
        columns=columns,
        kinds={column: _column_kind(reduced["real"][column]) for column in columns},
        target=target,
        notes=notes,
    )


def select_columns(
    columns: Sequence[Hashable], limit: int, target: Hashable | None = None
) -> list[Hashable]:
    """The first ``limit`` columns; the target, when given, replaces the last one if needed."""
    chosen = list(columns[:limit])
    if target is not None and target not in chosen and target in columns:
        chosen = [*chosen[: limit - 1], target] if limit > 1 else [target]
    return chosen


def sample_rows(frame: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    """At most ``n`` rows drawn without replacement, in their original order.

    Every frame is drawn with a fresh generator seeded with ``seed``, so two identical
    frames give identical samples (identical data keeps perfect scores when sampled).
    """
    if n >= len(frame):
        return frame
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(len(frame), size=n, replace=False))
    return frame.iloc[chosen].reset_index(drop=True)
