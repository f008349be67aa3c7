"""Entities' rows ⇄ token sequences for the sequence model.

An entity (a parent row, or one series of a time-series table) is its *context* — the
parent's columns given at generation, then the entity's own *static* columns (constant
over all its rows, learned once) — and its rows in order. A numeric or datetime
``order_by`` column is spelled as its start (first row) plus non-negative gaps, so every
generated sequence is ordered by construction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from synthloom.encoding.fields import _NS_PER_DAY, _NS_PER_SECOND, TableCodec, _to_numbers
from synthloom.errors import DataError
from synthloom.io.schema import ColumnInfo

GAP_PREFIX = "__gap__"
_NS = {"days": _NS_PER_DAY, "seconds": _NS_PER_SECOND}


@dataclass
class OrderStep:
    """An ``order_by`` column spelled as start + gaps (``unit``: number, days, seconds)."""

    name: str
    unit: str

    @property
    def gap(self) -> str:
        return GAP_PREFIX + self.name


def group_starts(entity: np.ndarray) -> np.ndarray:
    """Whether each row (sorted by entity) is its entity's first."""
    first = np.ones(len(entity), dtype=bool)
    first[1:] = entity[1:] != entity[:-1]
    return first


def constant_shares(
    frame: pd.DataFrame, entity: np.ndarray, columns: list[Any]
) -> dict[Any, float]:
    """Per column, the share of entities with 2+ rows that hold one value in it (missing
    counts as a value); empty when no entity has two rows."""
    sizes = pd.Series(entity).value_counts()
    multi = sizes.index[sizes >= 2]
    if not len(multi):
        return {}
    keep = pd.Series(entity).isin(multi).to_numpy()
    owner = np.asarray(entity)[keep]
    out = {}
    for column in columns:
        values = frame[column].astype(object).where(frame[column].notna(), "\0na")[keep]
        distinct = pd.Series(values.to_numpy()).groupby(owner).nunique()
        out[column] = float((distinct <= 1).mean())
    return out


def static_columns(frame: pd.DataFrame, entity: np.ndarray, columns: list[str]) -> list[str]:
    """Columns constant within every entity that has at least two rows; they are learned
    once per entity. None when no entity has two rows."""
    return [c for c, share in constant_shares(frame, entity, columns).items() if share == 1.0]


def order_steps(
    frame: pd.DataFrame, columns: list[ColumnInfo], order_by: list[str]
) -> list[OrderStep]:
    """The first ``order_by`` column spelled as start + gaps when it holds numbers or dates
    (later ones only break ties: within a sequence they may go down, as a stint number
    does from one season to the next)."""
    info = next((c for c in columns if order_by and c.name == order_by[0]), None)
    if info is None:
        return []
    if info.kind in ("integer", "float"):
        return [OrderStep(info.name, "number")]
    if info.kind == "datetime":
        return [OrderStep(info.name, _to_numbers(frame[info.name], info)[1])]
    return []


def to_gaps(
    frame: pd.DataFrame, entity: np.ndarray, steps: list[OrderStep], infos: dict[str, ColumnInfo]
) -> tuple[pd.DataFrame, list[ColumnInfo]]:
    """Rows (sorted by entity and order) with each step column kept on first rows only and
    its non-negative gap to the previous row beside it; plus the gap columns' infos."""
    frame = frame.copy()
    first = group_starts(entity)
    extra = []
    for step in steps:
        info = infos[step.name]
        numbers, _ = _to_numbers(frame[step.name], info, unit=_unit(step))
        gaps = numbers.diff().clip(lower=0).astype("Float64")
        gaps[first] = pd.NA
        frame[step.gap] = gaps.to_numpy()
        frame.loc[~first, step.name] = None
        kind = "float" if info.kind == "float" else "integer"
        extra.append(ColumnInfo(step.gap, kind, info.decimals if kind == "float" else None))
    return frame, extra


def from_gaps(
    frame: pd.DataFrame,
    entity: np.ndarray,
    steps: list[OrderStep],
    infos: dict[str, ColumnInfo],
    starts: dict[str, np.ndarray] | None = None,
) -> pd.DataFrame:
    """Inverse of :func:`to_gaps`: each entity's start plus the running sum of its gaps.

    ``starts`` (per step column, per entity; NaN for none) replaces decoded starts: a
    continued sequence starts at its given first row's exact value (see
    :func:`start_numbers`), not at a value redrawn inside that value's bin or unknown."""
    first = group_starts(entity)
    for step in steps:
        info = infos[step.name]
        start, _ = _to_numbers(frame[step.name], info, unit=_unit(step))
        if starts is not None and step.name in starts:
            given = pd.Series(starts[step.name][entity], index=frame.index, dtype="Float64")
            start = given.where(given.notna(), start)
        start = start.where(pd.Series(first, index=frame.index)).ffill()
        gaps = pd.to_numeric(frame[step.gap], errors="coerce").fillna(0).clip(lower=0)
        gaps[first] = 0
        total = gaps.groupby(entity).cumsum()
        values = (start.astype(float) + total.to_numpy()).to_numpy()
        frame[step.name] = _from_numbers(values, info, step)
        frame = frame.drop(columns=[step.gap])
    return frame


def start_numbers(
    rows: pd.DataFrame,
    entity: np.ndarray,
    n: int,
    steps: list[OrderStep],
    infos: dict[str, ColumnInfo],
) -> dict[str, np.ndarray]:
    """Per step column, each entity's first row's value as the number its gaps add to
    (NaN for an entity without rows); ``rows`` sorted by entity."""
    first = group_starts(entity)
    out = {}
    for step in steps:
        numbers, _ = _to_numbers(rows[step.name], infos[step.name], unit=_unit(step))
        values = np.full(n, np.nan)
        values[entity[first]] = numbers[first].to_numpy(dtype=np.float64, na_value=np.nan)
        out[step.name] = values
    return out


def _unit(step: OrderStep) -> str | None:
    return None if step.unit == "number" else step.unit


def _from_numbers(values: np.ndarray, info: ColumnInfo, step: OrderStep) -> pd.Series:
    if info.kind == "datetime":
        ns = pd.Series(np.round(values * _NS[step.unit])).astype("Int64")
        return pd.to_datetime(ns, errors="coerce")
    series = pd.Series(values, dtype="Float64")
    if info.kind == "integer":
        return series.round().astype("Int64")
    return series.round(info.decimals) if info.decimals is not None else series


@dataclass
class SequenceCodec:
    """The context codec (given + static columns) and the row codec, with order steps."""

    context: TableCodec
    rows: TableCodec
    given: list[str]  # context columns given at generation (the parent's)
    static: list[str]  # the entity's own constant columns, learned
    steps: list[OrderStep]
    infos: dict[str, ColumnInfo]

    @property
    def row_columns(self) -> list[str]:
        """The row codec's columns (gap columns included)."""
        return [c.name for c in self.rows.columns]

    def row_rules(self) -> tuple[list[int], list[int], list[list[int]], list[list[int]]]:
        """Per row position: the token forced on an entity's first row and on later rows
        (-1: none), and the tokens banned on each: an ``order_by`` start is given on the
        first row only and a gap on later rows only."""
        width = len(self.rows.vocab_sizes)
        first, later = [-1] * width, [-1] * width
        first_banned: list[list[int]] = [[] for _ in range(width)]
        later_banned: list[list[int]] = [[] for _ in range(width)]
        for step in self.steps:
            for name, fixed, banned in (
                (step.name, later, first_banned),
                (step.gap, first, later_banned),
            ):
                try:
                    missing = self.rows.encode(
                        pd.DataFrame({name: pd.Series([None], dtype=object)})
                    )
                except DataError:  # never missing in training: nothing to force
                    continue
                positions = self.rows.positions([name])
                if (missing < 0).any():
                    continue
                for position, token in zip(positions, missing[0], strict=True):
                    fixed[position] = int(token)
                banned[positions[0]].append(int(missing[0][0]))
        return first, later, first_banned, later_banned

    def encode(
        self, context: pd.DataFrame, rows: pd.DataFrame, entity: np.ndarray
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Context tokens (entities, k) and each entity's row tokens (rows_e, width).

        ``rows`` is sorted by ``entity`` and order; ``context`` has one row per entity."""
        ctx = (
            self.context.encode(context)
            if len(self.context.fields)
            else np.zeros((len(context), 0), np.int64)
        )
        stepped, _ = to_gaps(rows, entity, self.steps, self.infos)
        tokens = self.rows.encode(stepped[self.row_columns])
        bounds = np.searchsorted(entity, np.arange(len(context) + 1))
        return ctx, [tokens[bounds[i] : bounds[i + 1]] for i in range(len(context))]

    def decode(
        self,
        context: np.ndarray,
        entity: np.ndarray,
        rows: np.ndarray,
        rng: np.random.Generator,
        starts: dict[str, np.ndarray] | None = None,
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Context frame (one row per entity) and rows frame (static columns repeated);
        ``starts`` as in :func:`from_gaps`."""
        ctx = (
            self.context.decode(context, rng)
            if len(self.context.fields)
            else pd.DataFrame(index=range(len(context)))
        )
        frame = self.rows.decode(rows, rng)
        frame = from_gaps(frame, entity, self.steps, self.infos, starts)
        for column in self.static:
            frame[column] = ctx[column].to_numpy()[entity] if len(entity) else ctx[column][:0]
        return ctx, frame

    def to_dict(self) -> dict[str, Any]:
        """Plain data for ``model_params.json``."""
        return {
            "context": self.context.to_dict(),
            "rows": self.rows.to_dict(),
            "given": self.given,
            "static": self.static,
            "steps": [vars(s) for s in self.steps],
            "infos": {k: v.to_dict() for k, v in self.infos.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SequenceCodec:
        """Inverse of :meth:`to_dict`."""
        return cls(
            TableCodec.from_dict(data["context"]),
            TableCodec.from_dict(data["rows"]),
            list(data["given"]),
            list(data["static"]),
            [OrderStep(**s) for s in data["steps"]],
            {k: ColumnInfo(**v) for k, v in data["infos"].items()},
        )
