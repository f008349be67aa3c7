"""Rules inside a row that every generated row keeps: declared, never left to chance.

A model learns how columns go together only approximately: ``dep_delay = dep_time -
sched_dep_time`` held in 3.5% of generated rows where it holds in every real one. A
declared constraint makes it hold in all of them. Each kind either changes how its columns
are learned and changes them back after generation (an inequality is learned as the gap
between its columns, a clock time as minutes since midnight), or sets the generated values
by its rule afterwards (a formula, a range, a fixed set of combinations):

* ``{type: formula, column: c, expression: "a - b"}``: ``c`` is computed from other
  columns (numbers, ``+ - * / // %``, parentheses, column names);
* ``{type: inequality, low: a, high: b}``: ``b >= a`` (numbers or dates);
* ``{type: clock_time, column: c}``: ``c`` is a time of day written HHMM (1767 never);
* ``{type: range, column: c, min: x, max: y}``: ``x <= c <= y``;
* ``{type: fixed_combinations, columns: [a, b]}``: only combinations seen in training
  (their list is kept with the model, so it is refused under differential privacy).

The transforms are declared, not learned, so they change nothing in the DP accounting.
"""

from __future__ import annotations

import ast
import operator
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator

from synthloom.errors import ConfigError

MINUTES_PER_DAY = 24 * 60
_OPERATORS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
}


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def columns_used(self) -> list[str]:
        """Every column the rule reads or writes."""
        raise NotImplementedError

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The frame as the model learns it (most rules leave it as it is)."""
        return frame

    def reverse(self, frame: pd.DataFrame, state: dict[str, Any]) -> pd.DataFrame:
        """Generated rows in the data's own terms, the rule holding in each."""
        return frame

    def learn(self, frame: pd.DataFrame) -> dict[str, Any]:
        """What the rule keeps of the training rows (JSON; most keep nothing)."""
        return {}

    def holds(self, frame: pd.DataFrame) -> pd.Series:
        """Whether each row keeps the rule (missing values count as kept)."""
        raise NotImplementedError


class Formula(_Rule):
    """``column`` = ``expression`` of other columns."""

    type: Literal["formula"]
    column: str
    expression: str

    @field_validator("expression")
    @classmethod
    def _parses(cls, text: str) -> str:
        _parse(text)
        return text

    def columns_used(self) -> list[str]:
        return [self.column, *_names(_parse(self.expression))]

    def reverse(self, frame: pd.DataFrame, state: dict[str, Any]) -> pd.DataFrame:
        values = _evaluate(_parse(self.expression), frame)
        frame[self.column] = _like_numbers(values, state.get("dtype"))
        return frame

    def learn(self, frame: pd.DataFrame) -> dict[str, Any]:
        return {"dtype": str(frame[self.column].dtype)}

    def holds(self, frame: pd.DataFrame) -> pd.Series:
        expected = pd.to_numeric(_evaluate(_parse(self.expression), frame), errors="coerce")
        actual = pd.to_numeric(frame[self.column], errors="coerce")
        close = np.isclose(actual, expected, rtol=1e-9, atol=1e-9)
        return pd.Series(close | actual.isna().to_numpy() | expected.isna().to_numpy())


class Inequality(_Rule):
    """``high`` >= ``low``: the model learns the gap, which is never negative."""

    type: Literal["inequality"]
    low: str
    high: str

    def columns_used(self) -> list[str]:
        return [self.low, self.high]

    def learn(self, frame: pd.DataFrame) -> dict[str, Any]:
        high = frame[self.high]
        return {"dates": bool(pd.api.types.is_datetime64_any_dtype(high)), "dtype": str(high.dtype)}

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.copy()
        frame[self.high] = _gap(frame[self.low], frame[self.high])
        return frame

    def reverse(self, frame: pd.DataFrame, state: dict[str, Any]) -> pd.DataFrame:
        gap = pd.to_numeric(frame[self.high], errors="coerce").clip(lower=0)
        low = frame[self.low]
        if state.get("dates"):
            frame[self.high] = pd.to_datetime(low, errors="coerce") + pd.to_timedelta(gap, unit="s")
        else:
            values = pd.to_numeric(low, errors="coerce") + gap
            frame[self.high] = _like_numbers(values, state.get("dtype"))
        return frame

    def holds(self, frame: pd.DataFrame) -> pd.Series:
        gap = _gap(frame[self.low], frame[self.high])
        return (gap >= 0) | gap.isna()


class ClockTime(_Rule):
    """``column`` is a time of day written HHMM: learned as minutes since midnight."""

    type: Literal["clock_time"]
    column: str

    def columns_used(self) -> list[str]:
        return [self.column]

    def learn(self, frame: pd.DataFrame) -> dict[str, Any]:
        return {"dtype": str(frame[self.column].dtype)}

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.copy()
        hhmm = pd.to_numeric(frame[self.column], errors="coerce")
        frame[self.column] = (hhmm // 100) * 60 + hhmm % 100
        return frame

    def reverse(self, frame: pd.DataFrame, state: dict[str, Any]) -> pd.DataFrame:
        minutes = pd.to_numeric(frame[self.column], errors="coerce").round()
        minutes = minutes.clip(0, MINUTES_PER_DAY - 1)
        frame[self.column] = _like_numbers((minutes // 60) * 100 + minutes % 60, state.get("dtype"))
        return frame

    def holds(self, frame: pd.DataFrame) -> pd.Series:
        hhmm = pd.to_numeric(frame[self.column], errors="coerce")
        ok = (hhmm >= 0) & (hhmm // 100 < 24) & (hhmm % 100 < 60) & (hhmm == hhmm.round())
        return ok | hhmm.isna()


class Range(_Rule):
    """``min`` <= ``column`` <= ``max`` (either bound may be left out)."""

    type: Literal["range"]
    column: str
    min: float | None = None
    max: float | None = None

    def columns_used(self) -> list[str]:
        return [self.column]

    def learn(self, frame: pd.DataFrame) -> dict[str, Any]:
        return {"dtype": str(frame[self.column].dtype)}

    def reverse(self, frame: pd.DataFrame, state: dict[str, Any]) -> pd.DataFrame:
        values = pd.to_numeric(frame[self.column], errors="coerce").clip(self.min, self.max)
        frame[self.column] = _like_numbers(values, state.get("dtype"))
        return frame

    def holds(self, frame: pd.DataFrame) -> pd.Series:
        values = pd.to_numeric(frame[self.column], errors="coerce")
        ok = pd.Series(True, index=frame.index)
        if self.min is not None:
            ok &= values >= self.min
        if self.max is not None:
            ok &= values <= self.max
        return ok | values.isna()


class FixedCombinations(_Rule):
    """Only combinations of ``columns`` seen in training (the first column's value kept
    where it was seen, the others redrawn from its combinations by frequency)."""

    type: Literal["fixed_combinations"]
    columns: list[str] = Field(min_length=2)

    def columns_used(self) -> list[str]:
        return list(self.columns)

    def learn(self, frame: pd.DataFrame) -> dict[str, Any]:
        counts = frame[self.columns].astype(str).value_counts()
        return {"combinations": [[*k, int(v)] for k, v in counts.items()]}

    def reverse(self, frame: pd.DataFrame, state: dict[str, Any]) -> pd.DataFrame:
        combos = state.get("combinations") or []
        if not combos or frame.empty:
            return frame
        seen = {tuple(c[:-1]) for c in combos}
        keys = list(frame[self.columns].astype(str).itertuples(index=False, name=None))
        bad = np.array([k not in seen for k in keys])
        if not bad.any():
            return frame
        rng = np.random.default_rng(len(frame))
        by_first: dict[str, list[list[Any]]] = {}
        for combo in combos:
            by_first.setdefault(combo[0], []).append(combo)
        for row in np.flatnonzero(bad):
            options = by_first.get(keys[row][0]) or combos
            weights = np.array([c[-1] for c in options], dtype=float)
            pick = options[int(rng.choice(len(options), p=weights / weights.sum()))]
            for column, value in zip(self.columns, pick[:-1], strict=True):
                frame.iat[row, frame.columns.get_loc(column)] = _as_type(value, frame[column])
        return frame

    def holds(self, frame: pd.DataFrame) -> pd.Series:
        raise ConfigError("fixed_combinations is checked against the training rows")


Constraint = Annotated[
    Formula | Inequality | ClockTime | Range | FixedCombinations, Field(discriminator="type")
]


class Constraints:
    """The declared rules of one table, their learned state, and where they hold."""

    def __init__(self, rules: list[Any], state: list[dict[str, Any]] | None = None) -> None:
        self.rules = list(rules)
        self.state = list(state) if state is not None else [{} for _ in self.rules]

    @classmethod
    def from_config(cls, rules: list[dict[str, Any]]) -> Constraints:
        """Rules from their YAML mappings (a ConfigError names a bad one)."""
        from pydantic import TypeAdapter, ValidationError

        try:
            return cls(TypeAdapter(list[Constraint]).validate_python(rules))
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(p) for p in error["loc"])
            raise ConfigError(f"constraints.{where}: {error['msg']}") from None

    def check(self, columns: list[str], dp: bool, where: str = "constraints") -> None:
        """Every rule names existing columns; rules that keep real values refused under DP."""
        for index, rule in enumerate(self.rules):
            missing = [c for c in rule.columns_used() if c not in columns]
            if missing:
                raise ConfigError(
                    f"{where}[{index}] ({rule.type}) names {missing}, which the table does not "
                    f"have; its columns are {columns}"
                )
            if dp and isinstance(rule, FixedCombinations):
                raise ConfigError(
                    f"{where}[{index}]: fixed_combinations keeps the real combinations, "
                    "outside differential privacy; remove it or set dp: false"
                )

    def fit_transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Learn each rule's state from the real rows; the frame as the model learns it."""
        self.state = [rule.learn(frame) for rule in self.rules]
        for rule in self.rules:
            frame = rule.transform(frame)
        return frame

    def reverse(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Generated rows back in the data's terms, every rule holding: first the rules
        that changed how columns are learned (last one first), then those that set values
        (in their order), so a formula over a clock time computes with HHMM values."""
        if not self.rules:
            return frame
        frame = frame.copy()
        pairs = list(zip(self.rules, self.state, strict=True))
        learned_as = [p for p in pairs if isinstance(p[0], Inequality | ClockTime)]
        setters = [p for p in pairs if not isinstance(p[0], Inequality | ClockTime)]
        for rule, state in [*reversed(learned_as), *setters]:
            frame = rule.reverse(frame, state)
        return frame

    def to_dict(self) -> list[dict[str, Any]]:
        """The learned state, for the model dir (the rules live in the config)."""
        return self.state


def constrained(rules: list[Any]) -> tuple[str, ...]:
    """The columns that declared rules change or set: they cannot be given as seeds."""
    return tuple(dict.fromkeys(c for rule in rules for c in rule.columns_used()))


def _parse(text: str) -> ast.expr:
    try:
        tree = ast.parse(text, mode="eval").body
    except SyntaxError:
        raise ValueError(f"cannot read the formula {text!r}; write e.g. 'a - b'") from None
    for node in ast.walk(tree):
        allowed = (ast.BinOp, ast.UnaryOp, ast.USub, ast.UAdd, ast.Name, ast.Load, ast.Constant)
        if isinstance(node, ast.operator) and type(node) in _OPERATORS:
            continue
        if not isinstance(node, allowed) or (
            isinstance(node, ast.Constant) and not isinstance(node.value, int | float)
        ):
            raise ValueError(
                f"the formula {text!r} may use column names, numbers, + - * / // % and "
                "parentheses only"
            )
    return tree


def _names(tree: ast.expr) -> list[str]:
    return sorted({n.id for n in ast.walk(tree) if isinstance(n, ast.Name)})


def _evaluate(node: ast.expr, frame: pd.DataFrame) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return pd.to_numeric(frame[node.id], errors="coerce")
    if isinstance(node, ast.UnaryOp):
        value = _evaluate(node.operand, frame)
        return -value if isinstance(node.op, ast.USub) else value
    assert isinstance(node, ast.BinOp)
    left, right = _evaluate(node.left, frame), _evaluate(node.right, frame)
    with np.errstate(divide="ignore", invalid="ignore"):
        return _OPERATORS[type(node.op)](left, right)


def _gap(low: pd.Series, high: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(high) or pd.api.types.is_datetime64_any_dtype(low):
        delta = pd.to_datetime(high, errors="coerce") - pd.to_datetime(low, errors="coerce")
        return delta.dt.total_seconds()
    return pd.to_numeric(high, errors="coerce") - pd.to_numeric(low, errors="coerce")


def _like_numbers(values: Any, dtype: str | None) -> pd.Series:
    """Numbers in the column's training dtype: whole numbers stay whole."""
    series = pd.Series(values, dtype="float64") if not isinstance(values, pd.Series) else values
    series = pd.to_numeric(series, errors="coerce")
    if dtype and "int" in dtype.lower():
        return series.round().astype("Int64")
    return series


def _as_type(value: str, like: pd.Series) -> Any:
    if pd.api.types.is_numeric_dtype(like):
        number = pd.to_numeric(pd.Series([value]), errors="coerce").iloc[0]
        return None if pd.isna(number) else number
    return None if value in ("nan", "<NA>", "None") else value
