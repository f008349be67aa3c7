"""Entities' rows ⇄ token sequences for the sequence model.

An entity (a parent row, or one series of a time-series table) is its *context* — the
parent's columns given at generation, then the entity's own *static* columns (constant
over all its rows, learned once) — and its rows in order. A numeric or datetime
``order_by`` column is spelled as its start (first row) plus non-negative gaps, so every
generated sequence is ordered by construction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from synthloom.encoding.fields import (
    _NS_PER_DAY,
    _NS_PER_SECOND,
    CategoricalField,
    NumericField,
    TableCodec,
    _to_numbers,
)
from synthloom.errors import DataError
from synthloom.io.schema import ColumnInfo

GAP_PREFIX = "__gap__"
CHANGE_PREFIX = "__change__"
SPREAD_PREFIX = "__spread__"
LEVEL_PREFIX = "__level__"
# A windowed series' context column: "first" for a series' first window, else "later" (a
# series' first rows and dates are unlike those of a window from its middle).
WINDOW_COLUMN = "__window__"
# A long series' level context (see WindowLevel): at most this many bins of windows'
# first-half means, for numeric columns whose such means explain at least this share of
# the variance.
LEVEL_BINS = 8
LEVEL_MIN_SHARE = 0.1
# A numeric column is spelled by its changes when its value and the previous row's
# value of the same entity correlate at least this much (a walk, not noise around a
# level); it moves with an anchor when their levels correlate at least this much.
PERSISTENT_MIN_LAG1 = 0.98
TOGETHER_MIN_CORRELATION = 0.98
_NS = {"days": _NS_PER_DAY, "seconds": _NS_PER_SECOND}


@dataclass
class OrderStep:
    """An ``order_by`` column spelled as start + gaps (``unit``: number, days, seconds)."""

    name: str
    unit: str

    @property
    def gap(self) -> str:
        return GAP_PREFIX + self.name


@dataclass
class ChangeStep:
    """A persistent numeric column (a price, a running total) spelled by its changes.

    An *anchor* (``anchor`` is None) keeps its value on an entity's first row and its
    change from the previous row on later rows; a column that moves with an anchor is
    spelled as its distance from the anchor in the same row. With ``log`` (a positive
    float column) changes and distances are of logarithms, i.e. ratios. Levels then come
    out as a walk the model steers step by step, and columns that move together (open,
    high, low and close of a stock) stay together instead of drifting apart."""

    name: str
    anchor: str | None
    log: bool

    @property
    def delta(self) -> str:
        return (CHANGE_PREFIX if self.anchor is None else SPREAD_PREFIX) + self.name


@dataclass
class WindowLevel:
    """A numeric column's recent level as a context token of a window: the bin of the
    mean (of logarithms for a positive column) of the window's first half, between
    quantiles of all training windows' first-half means.

    A series longer than ``max_sequence_rows`` is learned and generated window by
    window, and a later window continues the last half window of its series: that half
    is the part this level summarises, so training and generation see the same thing.
    Without it, nothing but the LSTM's reading of the given rows carried a level, and a
    generated series wandered between the training series' levels (stocks: every
    synthetic series' Volume mean near the overall mean, its standard deviation as large
    as the mean against 0.5-0.9 of the mean in real series, lag-1 autocorrelation 0.74
    against 0.62). A series' first window draws its level with the context, or takes a
    training series' first level (with that series' length)."""

    name: str
    log: bool
    edges: list[float]  # inner bin edges of first-half means, increasing
    series: list[str] = field(default_factory=list)  # each training series' first level

    @property
    def column(self) -> str:
        return LEVEL_PREFIX + self.name

    def labels(self, frame: pd.DataFrame, entity: np.ndarray) -> np.ndarray:
        """Per entity (0 … max), the level bin of the mean of its rows in ``frame``
        ("L0", "L1", …; "none" for an entity without values in the column)."""
        means = _entity_means(_row_levels(frame[self.name], self.log), entity)
        bins = np.searchsorted(np.asarray(self.edges), means, side="right")
        return np.where(np.isnan(means), "none", np.char.add("L", bins.astype(str)))


def window_levels(
    frame: pd.DataFrame, entity: np.ndarray, columns: list[ColumnInfo]
) -> list[WindowLevel]:
    """For windows' first halves (``frame``'s rows, ``entity`` their window): the numeric
    columns whose half-window means explain at least :data:`LEVEL_MIN_SHARE` of their
    variance, each with :data:`LEVEL_BINS` quantile bins of those means."""
    n = int(entity.max(initial=-1)) + 1
    bins = min(LEVEL_BINS, n)
    if bins < 2:
        return []
    levels = []
    for info in columns:
        if info.kind not in ("integer", "float"):
            continue
        values = pd.to_numeric(frame[info.name], errors="coerce").to_numpy(dtype=np.float64)
        log = info.kind == "float" and bool((values[~np.isnan(values)] > 0).all())
        level = _row_levels(frame[info.name], log)
        ok = ~np.isnan(level)
        if ok.sum() < 2 or np.var(level[ok]) == 0:
            continue
        per_window = _entity_means(level, entity)
        if np.var(per_window[entity[ok]]) / np.var(level[ok]) < LEVEL_MIN_SHARE:
            continue
        edges = np.unique(np.nanquantile(per_window, np.arange(1, bins) / bins))
        levels.append(WindowLevel(info.name, log, edges.tolist()))
    return levels


def _row_levels(values: pd.Series, log: bool) -> np.ndarray:
    """Each row's (log) value; NaN where missing."""
    level = _level(values.reset_index(drop=True), log)
    return level.to_numpy(dtype=np.float64, na_value=np.nan)


def _entity_means(level: np.ndarray, entity: np.ndarray) -> np.ndarray:
    """Per entity (0 … max entity), the mean of its rows' ``level``; NaN for none."""
    n = int(entity.max(initial=-1)) + 1
    return pd.Series(level).groupby(entity).mean().reindex(range(n)).to_numpy(dtype=np.float64)


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
        start = _given_starts(start, starts, step.name, entity)
        gaps = pd.to_numeric(frame[step.gap], errors="coerce").fillna(0).clip(lower=0)
        values = _running(start.astype(float), gaps, first, entity).to_numpy()
        frame[step.name] = _from_numbers(values, info, step)
        frame = frame.drop(columns=[step.gap])
    return frame


def change_steps(
    frame: pd.DataFrame, entity: np.ndarray, columns: list[ColumnInfo]
) -> list[ChangeStep]:
    """The persistent numeric columns (rows sorted by entity and order; no missing
    values), each an anchor or moving with an earlier anchor (thresholds above)."""
    later = ~group_starts(entity)
    if later.sum() < 2:
        return []
    previous = np.r_[0, np.arange(len(frame) - 1)][later]
    steps: list[ChangeStep] = []
    levels: dict[str, np.ndarray] = {}
    for info in columns:
        if info.kind not in ("integer", "float") or frame[info.name].isna().any():
            continue
        values = frame[info.name].to_numpy(dtype=np.float64)
        log = info.kind == "float" and bool((values > 0).all())
        level = np.log(values) if log else values
        if _correlation(level[later], level[previous]) < PERSISTENT_MIN_LAG1:
            continue
        anchor = next(
            (
                step.name
                for step in steps
                if step.anchor is None
                and step.log == log
                and _correlation(level, levels[step.name]) >= TOGETHER_MIN_CORRELATION
            ),
            None,
        )
        steps.append(ChangeStep(info.name, anchor, log))
        levels[info.name] = level
    return steps


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) < 2 or a.std() == 0 or b.std() == 0:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


def _level(series: pd.Series, log: bool) -> pd.Series:
    numbers = pd.to_numeric(series, errors="coerce").astype("Float64")
    if not log:
        return numbers
    # a generated level rounded to 0 (a walk that sank) stays at the smallest positive
    # number rather than becoming missing
    with np.errstate(divide="ignore", invalid="ignore"):  # masked (missing) entries
        return np.log(numbers.clip(lower=np.finfo(np.float64).tiny))


def to_changes(frame: pd.DataFrame, entity: np.ndarray, changes: list[ChangeStep]) -> pd.DataFrame:
    """Rows (sorted by entity and order) with each change column spelled as in
    :class:`ChangeStep`: distances first (they need the anchors' levels), then anchors
    kept on first rows only with their changes beside them."""
    frame = frame.copy()
    first = group_starts(entity)
    for step in changes:
        if step.anchor is not None:
            spread = _level(frame[step.name], step.log) - _level(frame[step.anchor], step.log)
            frame[step.delta] = spread.to_numpy()
    for step in changes:
        if step.anchor is None:
            level = _level(frame[step.name], step.log)
            change = level.groupby(entity).diff()
            change[first] = pd.NA
            frame[step.delta] = change.to_numpy()
            frame.loc[~first, step.name] = None
    return frame


def from_changes(
    frame: pd.DataFrame,
    entity: np.ndarray,
    changes: list[ChangeStep],
    infos: dict[str, ColumnInfo],
    starts: dict[str, np.ndarray] | None = None,
) -> pd.DataFrame:
    """Inverse of :func:`to_changes` (``starts`` as in :func:`from_gaps`, of levels)."""
    first = group_starts(entity)
    levels = {}
    for step in changes:
        if step.anchor is None:
            start = _given_starts(_level(frame[step.name], step.log), starts, step.name, entity)
            change = pd.to_numeric(frame[step.delta], errors="coerce").astype("Float64")
            levels[step.name] = _running(start, change.fillna(0), first, entity)
    for step in changes:
        spread = pd.to_numeric(frame[step.delta], errors="coerce").astype("Float64")
        level = levels[step.name] if step.anchor is None else spread + levels[step.anchor]
        values = np.exp(level.astype(float)) if step.log else level.astype(float)
        frame[step.name] = _from_numbers(values.to_numpy(), infos[step.name], None)
    return frame.drop(columns=[step.delta for step in changes])


def start_numbers(
    rows: pd.DataFrame,
    entity: np.ndarray,
    n: int,
    steps: list[OrderStep | ChangeStep],
    infos: dict[str, ColumnInfo],
) -> dict[str, np.ndarray]:
    """Per order step and change anchor, each entity's first row's value as the number
    its gaps or changes add to (NaN for an entity without rows); ``rows`` sorted by
    entity."""
    first = group_starts(entity)
    out = {}
    for step in steps:
        if isinstance(step, ChangeStep):
            if step.anchor is not None:
                continue
            numbers = _level(rows[step.name], step.log)
        else:
            numbers, _ = _to_numbers(rows[step.name], infos[step.name], unit=_unit(step))
        values = np.full(n, np.nan)
        values[entity[first]] = numbers[first].to_numpy(dtype=np.float64, na_value=np.nan)
        out[step.name] = values
    return out


def _running(
    start: pd.Series, steps: pd.Series, first: np.ndarray, entity: np.ndarray
) -> pd.Series:
    """Each entity's first-row ``start`` plus the running sum of its later rows' ``steps``
    (gaps, changes): the walk that :func:`from_gaps` and :func:`from_changes` rebuild."""
    first_row = pd.Series(first, index=start.index)
    walked = steps.where(~first_row, 0).groupby(entity).cumsum()
    return start.where(first_row).ffill() + walked.to_numpy(dtype=np.float64)


def _given_starts(
    start: pd.Series, starts: dict[str, np.ndarray] | None, name: str, entity: np.ndarray
) -> pd.Series:
    """Decoded start numbers with each entity's given one (``starts``) where there is one."""
    if starts is None or name not in starts:
        return start
    given = pd.Series(starts[name][entity], index=start.index, dtype="Float64")
    return given.where(given.notna(), start)


def _unit(step: OrderStep) -> str | None:
    return None if step.unit == "number" else step.unit


def _from_numbers(values: np.ndarray, info: ColumnInfo, step: OrderStep | None) -> pd.Series:
    if info.kind == "datetime" and step is not None:
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
    changes: list[ChangeStep] = field(default_factory=list)

    @property
    def row_columns(self) -> list[str]:
        """The row codec's columns (gap columns included)."""
        return [c.name for c in self.rows.columns]

    def row_rules(self) -> tuple[list[int], list[int], list[list[int]], list[list[int]]]:
        """Per row position: the token forced on an entity's first row and on later rows
        (-1: none), and the tokens banned on each: an ``order_by`` start (a change
        anchor's level) is given on the first row only and a gap (a change) on later
        rows only."""
        width = len(self.rows.vocab_sizes)
        first, later = [-1] * width, [-1] * width
        first_banned: list[list[int]] = [[] for _ in range(width)]
        later_banned: list[list[int]] = [[] for _ in range(width)]
        pairs = [(s.name, s.gap) for s in self.steps]
        pairs += [(c.name, c.delta) for c in self.changes if c.anchor is None]
        for start, step in pairs:
            for name, fixed, banned in (
                (start, later, first_banned),
                (step, first, later_banned),
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

    def tie_token(self) -> tuple[int, int] | None:
        """Row position and token of a zero gap of the first ``order_by`` column (a row
        that shares its predecessor's time), when zero has a token of its own."""
        if not self.steps:
            return None
        codec = self.rows.field(self.steps[0].gap)
        if isinstance(codec, NumericField):
            values: list[Any] = codec.exact
        elif isinstance(codec, CategoricalField):
            values = codec.values
        else:
            return None
        zero = next((i for i, v in enumerate(values) if v == 0), None)
        if zero is None:
            return None
        return self.rows.positions([codec.name])[0], zero

    def spell(self, rows: pd.DataFrame, entity: np.ndarray) -> pd.DataFrame:
        """The row codec's columns of ``rows`` (sorted by entity and order): order
        columns as start + gaps, persistent columns as changes."""
        stepped, _ = to_gaps(rows, entity, self.steps, self.infos)
        return to_changes(stepped, entity, self.changes)[self.row_columns]

    def starts(self, rows: pd.DataFrame, entity: np.ndarray, n: int) -> dict[str, np.ndarray]:
        """The exact start numbers of rows to continue (see :func:`start_numbers`)."""
        return start_numbers(rows, entity, n, [*self.steps, *self.changes], self.infos)

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
        tokens = self.rows.encode(self.spell(rows, entity))
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
        frame = from_changes(frame, entity, self.changes, self.infos, starts)
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
            "changes": [vars(c) for c in self.changes],
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
            [ChangeStep(**c) for c in data.get("changes", [])],
        )
