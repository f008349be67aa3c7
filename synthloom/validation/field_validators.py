"""Field validators learned from the training table; they reject generated records that break them.

Each column gets rules from its training values (see :class:`FieldRules`):

* **data type** – integer, float, boolean, datetime or string, from the column's dtype;
* **numeric range** – training min..max, or with ``use_numeric_iqr`` the IQR fences widened so
  they never cut off the training data's own values (see :func:`numeric_bounds`);
* **integers in base 2/8/16** – string fields whose values all look like ``0b…``, ``0o…``,
  ``0x…`` or bare hex (with a letter a-f and a digit somewhere, and below 2**63) get a syntax
  and range check in that base; their character set holds every digit of the base and they
  get no pattern rule;
* **character set** and **string length range** of string fields;
* **format** of string fields with more masks than ``pattern_count``: a well-known format
  (:data:`FORMATS`: email, URL, UUID, IPv4) that every training value has, or else, when
  the training values have at most ``pattern_count`` *shapes* (masks with each run of
  letters or digits as one mark: ``a.ad@a.a``), one of those shapes;
* the configurable rules of ``validators`` in docs/CONFIG.md: ``in_set_count``, ``pattern_count``,
  ``open_close_chars`` and ``allow_empty_values``.

The rules are plain data (``validators.json``). Checking is vectorised: each column is factorised
and the rules run once per distinct value, so checking costs little even for wide batches.

Why one module of this length: the rules are learned, saved and checked in one pass per
column, and each rule's three parts read best side by side.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from synthloom.config import Validators
from synthloom.errors import DataError, ModelDirError
from synthloom.io.schema import ColumnKind

FORMAT_VERSION = 1
# Fences are Q1 - k*IQR and Q3 + k*IQR.
IQR_MULTIPLIER = 1.5
# The pairs that ``open_close_chars: default`` stands for.
DEFAULT_PAIRS = ('""', "()", "[]", "{}")
# Longest value quoted in an explanation, and most set members or patterns listed there.
SHOWN_CHARS = 40
SHOWN_CHOICES = 5
# Bare hexadecimal integers above this are not treated as numbers (hashes are not integers).
MAX_BASE_INT = 2**63 - 1
# Datetimes are compared at this resolution (wide enough for any year pandas can hold).
DATETIME_UNIT = "datetime64[us]"


# prefix -> (base, syntax of one value)
BASE_SYNTAX: dict[str, tuple[int, re.Pattern[str]]] = {
    "0b": (2, re.compile(r"[+-]?0[bB][01]+")),
    "0o": (8, re.compile(r"[+-]?0[oO][0-7]+")),
    "0x": (16, re.compile(r"[+-]?0[xX][0-9a-fA-F]+")),
    "": (16, re.compile(r"[0-9a-fA-F]+")),
}
_HEX_LETTER = re.compile(r"[a-fA-F]")
_DIGIT = re.compile(r"[0-9]")


class _MaskTable(dict[int, str]):
    """``str.translate`` table for masks: decimal digits → ``d``, letters → ``a``, rest kept."""

    def __missing__(self, code: int) -> str:
        char = chr(code)
        mask = "d" if char.isdecimal() else "a" if char.isalpha() else char
        self[code] = mask
        return mask


_MASKS = _MaskTable()
# A run of letters or of digits, for shapes (runs of any length alike).
_RUN = re.compile(r"[^\W\d_]+|\d+")

# Well-known formats: a string field whose every training value matches one must keep it.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
FORMATS: dict[str, re.Pattern[str]] = {
    "email": re.compile(rf"{_ATOM}(?:\.{_ATOM})*@(?:{_LABEL}\.)+[A-Za-z]{{2,}}"),
    "url": re.compile(r"https?://(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}(?::\d+)?(?:[/?#]\S*)?"),
    "uuid": re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}"),
    "ipv4": re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}"),
}


def value_mask(text: str) -> str:
    """The mask of ``text``: ``867-5309`` → ``ddd-dddd``, ``Ab 1`` → ``aa d``."""
    return text.translate(_MASKS)


def value_shape(text: str) -> str:
    """The shape of ``text``: its mask with each run of letters or digits as one mark,
    ``jo.smith42@mail.com`` → ``a.ad@a.a``, ``Mary Jo`` → ``a a``."""
    return _RUN.sub(lambda run: "d" if run.group()[0].isdecimal() else "a", text)


def known_format(texts: Iterable[str]) -> str | None:
    """The well-known format (:data:`FORMATS`) every one of ``texts`` has, if any."""
    texts = list(texts)
    for name, pattern in FORMATS.items():
        if texts and all(pattern.fullmatch(t) for t in texts):
            return name
    return None


def numeric_bounds(values: np.ndarray, use_iqr: bool) -> tuple[float, float]:
    """The allowed range of a numeric field from its (finite) training values.

    Without ``use_iqr`` this is the training min..max. With it, the Tukey fences
    ``Q1 - 1.5·IQR .. Q3 + 1.5·IQR`` are used but widened to contain the training min..max
    (so never narrower than the 1st–99th percentile, nor than any real value): generated
    values may then go a little beyond the training extremes where the data is spread, yet
    no real record is ever rejected. A fence never crosses zero when the training values did
    not (non-negative data keeps a lower bound ≥ 0).
    """
    low, high = float(values.min()), float(values.max())
    if not use_iqr:
        return low, high
    q1, q3 = np.quantile(values, [0.25, 0.75])
    reach = IQR_MULTIPLIER * float(q3 - q1)
    fence_low, fence_high = float(q1) - reach, float(q3) + reach
    if low >= 0:
        fence_low = max(fence_low, 0.0)
    if high <= 0:
        fence_high = min(fence_high, 0.0)
    return min(low, fence_low), max(high, fence_high)


def integer_bounds(values: np.ndarray, use_iqr: bool) -> tuple[int, int]:
    """:func:`numeric_bounds` for integers: exact at the training extremes, rounded outward."""
    low, high = numeric_bounds(values.astype(float), use_iqr)
    return min(int(values.min()), math.floor(low)), max(int(values.max()), math.ceil(high))


def column_kind(dtype: Any) -> ColumnKind:
    """The validator data type of a pandas dtype."""
    if ptypes.is_bool_dtype(dtype):
        return "boolean"
    if ptypes.is_integer_dtype(dtype):
        return "integer"
    if ptypes.is_float_dtype(dtype):
        return "float"
    if ptypes.is_datetime64_any_dtype(dtype):
        return "datetime"
    return "string"


def present_values(column: pd.Series, kind: ColumnKind) -> pd.Series:
    """The non-empty values of a training column (strings: as ``str``, without ``""``)."""
    values = column[column.notna()]
    if kind != "string":
        return values
    texts = values.astype(object).map(str)
    return texts[texts != ""]


@dataclass
class FieldRules:
    """The rules learned for one field; ``None`` means that rule is off.

    ``low``/``high`` are numbers for numeric fields and ISO strings for datetimes.
    ``in_set`` holds the allowed values (numbers, booleans, ISO datetimes or strings).
    ``base_prefix`` (``"0b"``, ``"0o"``, ``"0x"`` or ``""`` for bare hex) marks a string field
    of integers written in that base, with the range ``base_low..base_high``.
    ``pairs`` are the open/close pairs whose nesting must balance.
    """

    name: Any
    kind: ColumnKind
    allow_empty: bool = True
    always_empty: bool = False
    low: float | int | str | None = None
    high: float | int | str | None = None
    in_set: list[Any] | None = None
    patterns: list[str] | None = None
    charset: str | None = None
    min_length: int | None = None
    max_length: int | None = None
    base_prefix: str | None = None
    base_low: int | None = None
    base_high: int | None = None
    pairs: list[str] | None = None
    format: str | None = None
    shapes: list[str] | None = None

    @classmethod
    def learn(cls, name: Any, column: pd.Series, options: Validators) -> FieldRules:
        """Learn the rules of one training column."""
        if isinstance(column.dtype, pd.CategoricalDtype):
            column = column.astype(object)
        rules = cls(name, column_kind(column.dtype))
        values = present_values(column, rules.kind)
        if values.empty:
            rules.always_empty = True
            return rules
        rules.allow_empty = options.allow_empty_values
        _LEARNERS[rules.kind](rules, values, options)
        return rules

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FieldRules:
        """Inverse of :meth:`to_dict`."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown or "name" not in data or data.get("kind") not in _LEARNERS:
            raise ModelDirError(
                f"validator rules {dict(data)!r} are not valid (unknown keys {sorted(unknown)} "
                "or bad kind); retrain the model to rebuild validators.json"
            )
        return cls(**data)

    @property
    def empty_message(self) -> str | None:
        """Why a missing value is invalid in this field, or None when it is allowed."""
        if self.allow_empty:
            return None
        return f"{self.name}: empty value not allowed (allow_empty_values: false)"

    def explain_values(self, values: pd.Series) -> np.ndarray:
        """For distinct non-missing values: None when valid, else why not (first rule broken)."""
        verdicts = _Verdicts(self.name, values)
        empty = _empty_texts(values)
        if self.always_empty:
            verdicts.fail(
                ~empty, lambda i: f"{verdicts.show(i)} should be empty, as in every training record"
            )
            return verdicts.messages
        if self.allow_empty:
            verdicts.done |= empty
        else:
            verdicts.fail(empty, lambda i: "empty value not allowed (allow_empty_values: false)")
        _CHECKERS[self.kind](self, values, verdicts)
        return verdicts.messages


class _Verdicts:
    """Explanations for a field's distinct values, filled rule after rule (first broken wins)."""

    def __init__(self, name: Any, values: pd.Series) -> None:
        self.name = name
        self.items = values.tolist()
        self.messages = np.full(len(values), None, dtype=object)
        self.done = np.zeros(len(values), dtype=bool)
        self._texts: list[str] | None = None

    def show(self, index: int) -> str:
        """The value at ``index`` as an explanation quotes it."""
        return show_value(self.items[index])

    def fail(self, bad: np.ndarray, explain: Callable[[int], str]) -> None:
        """Reject the values where ``bad`` holds and no earlier rule rejected them."""
        for index in np.flatnonzero(bad & ~self.done):
            self.messages[index] = f"{self.name}: {explain(int(index))}"
        self.done |= bad

    @property
    def texts(self) -> list[str]:
        """Every value as text."""
        if self._texts is None:
            self._texts = [v if isinstance(v, str) else str(v) for v in self.items]
        return self._texts

    def fail_texts(self, bad: np.ndarray, explain: Callable[[str], str]) -> None:
        """:meth:`fail` with an explanation built from the value's text."""
        texts = self.texts
        self.fail(bad, lambda i: explain(texts[i]))


def show_value(value: Any) -> str:
    """A value as an explanation shows it: numbers plain, text quoted and shortened."""
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | np.integer | float | np.floating):
        return show_number(float(value)) if isinstance(value, float | np.floating) else str(value)
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    text = str(value)
    if len(text) > SHOWN_CHARS:
        text = text[: SHOWN_CHARS - 1] + "…"
    return repr(text)


def show_number(number: float) -> str:
    """A number without a needless ``.0``."""
    if math.isfinite(number) and number.is_integer() and abs(number) < 1e15:
        return str(int(number))
    return format(number, ".12g")


def _choices(items: list[Any]) -> str:
    shown = ", ".join(show_value(v) for v in items[:SHOWN_CHOICES])
    return shown + (", …" if len(items) > SHOWN_CHOICES else "")


def _empty_texts(values: pd.Series) -> np.ndarray:
    """Which values are the empty string."""
    if ptypes.is_string_dtype(values.dtype) and values.dtype != object:
        return (values == "").to_numpy(dtype=bool, na_value=False)
    if values.dtype == object:
        return np.asarray(values.to_numpy() == "", dtype=bool)
    return np.zeros(len(values), dtype=bool)


# ---------------------------------------------------------------- learning, by kind


def _learn_numbers(rules: FieldRules, values: pd.Series, options: Validators) -> None:
    if rules.kind == "integer":
        ints = values.to_numpy(dtype=np.int64)
        rules.low, rules.high = integer_bounds(ints, options.use_numeric_iqr)
        distinct: list[Any] = sorted({int(v) for v in np.unique(ints)})
    else:
        every = values.to_numpy(dtype=float, na_value=np.nan)
        nums = every[np.isfinite(every)]
        if nums.size:
            rules.low, rules.high = numeric_bounds(nums, options.use_numeric_iqr)
        # Infinities seen in training leave that side of the range open.
        if np.isposinf(every).any():
            rules.high = None
        if np.isneginf(every).any():
            rules.low = None
        distinct = [float(v) for v in np.unique(every)] if nums.size == every.size else []
    if 0 < len(distinct) <= options.in_set_count:
        rules.in_set = distinct


def _learn_booleans(rules: FieldRules, values: pd.Series, options: Validators) -> None:
    distinct = sorted({bool(v) for v in values})
    if len(distinct) <= options.in_set_count:
        rules.in_set = distinct


def _learn_datetimes(rules: FieldRules, values: pd.Series, options: Validators) -> None:
    stamps = _naive_utc(values)
    rules.low, rules.high = stamps.min().isoformat(), stamps.max().isoformat()
    distinct = sorted(pd.unique(stamps))
    if len(distinct) <= options.in_set_count:
        rules.in_set = [pd.Timestamp(v).isoformat() for v in distinct]


def _learn_strings(rules: FieldRules, values: pd.Series, options: Validators) -> None:
    texts = [str(v) for v in pd.unique(values)]
    if len(texts) <= options.in_set_count:
        rules.in_set = sorted(texts)
    masks = sorted({value_mask(t) for t in texts})
    if len(masks) <= options.pattern_count:
        rules.patterns = masks
    rules.charset = "".join(sorted(set().union(*texts)))
    lengths = [len(t) for t in texts]
    rules.min_length, rules.max_length = min(lengths), max(lengths)
    _learn_base(rules, texts, options)
    rules.pairs = _learn_pairs(texts, rules.charset, options.open_close_chars)
    if rules.base_prefix is None and rules.patterns is None:
        # too many masks for a pattern rule: emails, names, codes of many lengths keep
        # their well-known format, or else one of few shapes
        rules.format = known_format(texts)
        shapes = sorted({value_shape(t) for t in texts})
        if rules.format is None and len(shapes) <= options.pattern_count:
            rules.shapes = shapes


def _learn_base(rules: FieldRules, texts: list[str], options: Validators) -> None:
    """Detect integers written in base 2, 8 or 16 and learn their range."""
    for prefix, (base, syntax) in BASE_SYNTAX.items():
        if not all(syntax.fullmatch(t) for t in texts):
            continue
        bare_hex = prefix == ""
        if bare_hex and not _looks_hex(texts):
            return
        ints = [int(t, base) if bare_hex else int(t, 0) for t in texts]
        if max(abs(v) for v in ints) > MAX_BASE_INT:
            return
        rules.base_prefix = prefix
        rules.base_low, rules.base_high = integer_bounds(np.array(ints), options.use_numeric_iqr)
        # Any digit of the base may appear (letters in the case training used); masks of
        # numbers say nothing the syntax and range do not.
        rules.charset = "".join(sorted(set(rules.charset or "") | _base_digits(base, texts)))
        rules.patterns = None
        return


def _base_digits(base: int, texts: list[str]) -> set[str]:
    digits = set("0123456789"[: min(base, 10)])
    if base == 16:
        seen = set("".join(texts))
        lower, upper = bool(seen & set("abcdef")), bool(seen & set("ABCDEF"))
        digits |= set("abcdef") if lower or not upper else set()
        digits |= set("ABCDEF") if upper or not lower else set()
    return digits


def _looks_hex(texts: list[str]) -> bool:
    """Bare hex needs both a letter a-f and a digit somewhere, else it is just words or numbers."""
    return any(map(_HEX_LETTER.search, texts)) and any(map(_DIGIT.search, texts))


def _learn_pairs(
    texts: list[str], charset: str, option: str | list[str] | None
) -> list[str] | None:
    """The open/close pairs to enforce: those used in this field and balanced in every value."""
    if option is None:
        return None
    pairs = list(DEFAULT_PAIRS) if option == "default" else list(option)
    used = [p for p in pairs if p[0] in charset or p[1] in charset]
    if not used or not all(is_balanced(t, used) for t in texts):
        return None
    return used


def is_balanced(text: str, pairs: list[str]) -> bool:
    """Whether the open/close characters of ``pairs`` nest properly in ``text``.

    A pair with the same character twice (``""``) closes when it is the innermost open one.
    """
    closers = {p[1]: p[0] for p in pairs}
    openers = {p[0] for p in pairs}
    stack: list[str] = []
    for char in text:
        if char in closers and stack and stack[-1] == closers[char]:
            stack.pop()
        elif char in openers:
            stack.append(char)
        elif char in closers:
            return False
    return not stack


_LEARNERS: dict[str, Callable[[FieldRules, pd.Series, Validators], None]] = {
    "integer": _learn_numbers,
    "float": _learn_numbers,
    "boolean": _learn_booleans,
    "datetime": _learn_datetimes,
    "string": _learn_strings,
}


# ---------------------------------------------------------------- parsing generated values


def parse_numbers(values: pd.Series) -> np.ndarray:
    """Values as floats; NaN where a value is not a number (booleans are not numbers)."""
    if ptypes.is_bool_dtype(values.dtype):
        return np.full(len(values), np.nan)
    if ptypes.is_numeric_dtype(values.dtype):
        return values.to_numpy(dtype=float, na_value=np.nan)
    texts = pd.Series([str(v) for v in values], dtype=object)
    return pd.to_numeric(texts, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def parse_booleans(values: pd.Series) -> np.ndarray:
    """Values as 1 (true), 0 (false) or -1 (not a boolean)."""
    if ptypes.is_bool_dtype(values.dtype):
        return values.to_numpy(dtype=np.int8)
    words = {"true": 1, "false": 0}
    return np.fromiter((words.get(str(v).lower(), -1) for v in values), np.int8, len(values))


def _naive_utc(values: pd.Series) -> pd.Series:
    """Datetimes as naive UTC timestamps (time zones converted)."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert(None)
    return values


def _as_micros(stamps: Any) -> np.ndarray:
    """Datetimes as ``datetime64[us]`` (one numpy cast for rules and values alike)."""
    return np.asarray(stamps, dtype="datetime64").astype(DATETIME_UNIT)


def parse_datetimes(values: pd.Series) -> np.ndarray:
    """Values as ``datetime64[us]`` (naive UTC); NaT where a value is not a date/time."""
    if ptypes.is_datetime64_any_dtype(values.dtype):
        return _as_micros(_naive_utc(values).to_numpy())
    texts = pd.Series([str(v) for v in values], dtype=object)
    parsed = pd.to_datetime(texts, errors="coerce", utc=True, format="ISO8601")
    retry = parsed.isna().to_numpy() & (texts != "").to_numpy()
    if retry.any():
        mixed = pd.to_datetime(texts[retry], errors="coerce", utc=True, format="mixed")
        parsed = parsed.where(~retry, mixed)
    return _as_micros(parsed.dt.tz_convert(None).to_numpy())


# ---------------------------------------------------------------- checking, by kind


def _check_numbers(rules: FieldRules, values: pd.Series, verdicts: _Verdicts) -> None:
    nums = parse_numbers(values)
    verdicts.fail(
        np.isnan(nums), lambda i: f"{verdicts.show(i)} is not a number (data type {rules.kind})"
    )
    if rules.kind == "integer":
        with np.errstate(invalid="ignore"):
            fraction = np.isfinite(nums) & (np.mod(nums, 1) != 0)
        verdicts.fail(
            fraction, lambda i: f"{show_number(nums[i])} is not a whole number (data type integer)"
        )
    low = -math.inf if rules.low is None else float(rules.low)
    high = math.inf if rules.high is None else float(rules.high)
    span = f"{show_number(low)}..{show_number(high)}"
    verdicts.fail(nums < low, lambda i: f"{show_number(nums[i])} below the range {span}")
    verdicts.fail(nums > high, lambda i: f"{show_number(nums[i])} above the range {span}")
    if rules.in_set is not None:
        allowed = np.array(rules.in_set, dtype=float)
        verdicts.fail(~np.isin(nums, allowed), lambda i: _not_in_set(show_number(nums[i]), rules))


def _check_booleans(rules: FieldRules, values: pd.Series, verdicts: _Verdicts) -> None:
    flags = parse_booleans(values)
    verdicts.fail(flags < 0, lambda i: f"{verdicts.show(i)} is not true/false (data type boolean)")
    if rules.in_set is not None:
        allowed = np.array([int(v) for v in rules.in_set], dtype=np.int8)
        verdicts.fail(~np.isin(flags, allowed), lambda i: _not_in_set(str(bool(flags[i])), rules))


def _check_datetimes(rules: FieldRules, values: pd.Series, verdicts: _Verdicts) -> None:
    stamps = parse_datetimes(values)
    verdicts.fail(
        np.isnat(stamps), lambda i: f"{verdicts.show(i)} is not a date/time (data type datetime)"
    )
    low, high = _as_micros(
        [pd.Timestamp(rules.low).to_datetime64(), pd.Timestamp(rules.high).to_datetime64()]
    )
    span = f"{rules.low}..{rules.high}"
    verdicts.fail(stamps < low, lambda i: f"{_iso(stamps[i])} before the range {span}")
    verdicts.fail(stamps > high, lambda i: f"{_iso(stamps[i])} after the range {span}")
    if rules.in_set is not None:
        allowed = _as_micros([pd.Timestamp(v).to_datetime64() for v in rules.in_set])
        verdicts.fail(~np.isin(stamps, allowed), lambda i: _not_in_set(_iso(stamps[i]), rules))


def _iso(stamp: np.datetime64) -> str:
    return pd.Timestamp(stamp).isoformat()


def _not_in_set(shown: str, rules: FieldRules) -> str:
    allowed = rules.in_set or []
    return (
        f"{shown} not in the set of {len(allowed)} training values (in_set_count): "
        f"{_choices(allowed)}"
    )


def _check_strings(rules: FieldRules, values: pd.Series, verdicts: _Verdicts) -> None:
    """String rules. An in-set field needs no other rule: its set implies them all."""
    texts = verdicts.texts
    if rules.in_set is not None:
        allowed = frozenset(rules.in_set)
        inside = _flags(map(allowed.__contains__, texts), len(texts))
        verdicts.fail_texts(~inside, lambda t: _not_in_set(show_value(t), rules))
        return
    if rules.base_prefix is not None:
        _check_base(rules, verdicts)
    if rules.charset is not None:
        charset = frozenset(rules.charset)
        known = _flags(map(charset.issuperset, texts), len(texts))
        verdicts.fail_texts(~known, lambda t: _outside_charset(t, charset))
    if rules.min_length is not None and rules.max_length is not None:
        _check_length(rules.min_length, rules.max_length, verdicts)
    if rules.patterns is not None:
        _check_patterns(rules.patterns, verdicts)
    if rules.pairs is not None:
        _check_pairs(rules.pairs, verdicts)
    if rules.format is not None:
        _check_format(rules.format, verdicts)
    if rules.shapes is not None:
        _check_shapes(rules.shapes, verdicts)


def _flags(items: Iterable[Any], count: int) -> np.ndarray:
    return np.fromiter(items, dtype=bool, count=count)


def _check_length(low: int, high: int, verdicts: _Verdicts) -> None:
    lengths = np.fromiter(map(len, verdicts.texts), dtype=np.int64, count=len(verdicts.texts))
    verdicts.fail_texts(
        (lengths < low) | (lengths > high),
        lambda t: f"{show_value(t)} length {len(t)} outside the length range {low}..{high}",
    )


def _check_patterns(patterns: list[str], verdicts: _Verdicts) -> None:
    known = frozenset(patterns)
    masks = map(value_mask, verdicts.texts)
    matched = _flags(map(known.__contains__, masks), len(verdicts.texts))
    verdicts.fail_texts(
        ~matched,
        lambda t: (
            f"{show_value(t)} has pattern {show_value(value_mask(t))}, not one of the "
            f"{len(known)} training patterns (pattern_count): {_choices(sorted(known))}"
        ),
    )


def _check_format(name: str, verdicts: _Verdicts) -> None:
    pattern = FORMATS[name]
    matched = _flags((bool(pattern.fullmatch(t)) for t in verdicts.texts), len(verdicts.texts))
    verdicts.fail_texts(
        ~matched, lambda t: f"{show_value(t)} is not a valid {name}, as every training value is"
    )


def _check_shapes(shapes: list[str], verdicts: _Verdicts) -> None:
    known = frozenset(shapes)
    matched = _flags(map(known.__contains__, map(value_shape, verdicts.texts)), len(verdicts.texts))
    verdicts.fail_texts(
        ~matched,
        lambda t: (
            f"{show_value(t)} has shape {show_value(value_shape(t))}, not one of the "
            f"{len(known)} training shapes: {_choices(sorted(known))}"
        ),
    )


def _check_pairs(pairs: list[str], verdicts: _Verdicts) -> None:
    marks = frozenset("".join(pairs))
    texts = verdicts.texts
    broken = _flags(
        (not marks.isdisjoint(t) and not is_balanced(t, pairs) for t in texts), len(texts)
    )
    verdicts.fail_texts(
        broken,
        lambda t: (
            f"{show_value(t)} has unbalanced open/close characters {' '.join(pairs)} "
            "(open_close_chars)"
        ),
    )


def _outside_charset(text: str, charset: frozenset[str]) -> str:
    extra = next(c for c in text if c not in charset)
    return f"{show_value(text)} has character {extra!r} outside the field's character set"


def _check_base(rules: FieldRules, verdicts: _Verdicts) -> None:
    prefix = rules.base_prefix or ""
    base, syntax = BASE_SYNTAX[prefix]
    texts = verdicts.texts
    like = f"like '{prefix}…'" if prefix else "in bare hex"
    written = _flags((syntax.fullmatch(t) is not None for t in texts), len(texts))
    verdicts.fail_texts(
        ~written,
        lambda t: f"{show_value(t)} is not a base-{base} integer written {like} (data type)",
    )
    low, high = int(rules.base_low or 0), int(rules.base_high or 0)
    span = f"{_in_base(low, prefix)}..{_in_base(high, prefix)}"

    def parse(text: str) -> int:
        return int(text, 0) if prefix else int(text, base)

    outside = np.zeros(len(texts), dtype=bool)
    for index in np.flatnonzero(~verdicts.done):
        outside[index] = not low <= parse(texts[index]) <= high
    verdicts.fail_texts(
        outside, lambda t: f"{show_value(t)} ({parse(t)}) outside the base-{base} range {span}"
    )


def _in_base(number: int, prefix: str) -> str:
    digits = format(abs(number), {"0b": "b", "0o": "o"}.get(prefix, "x"))
    return ("-" if number < 0 else "") + prefix + digits


_CHECKERS: dict[str, Callable[[FieldRules, pd.Series, _Verdicts], None]] = {
    "integer": _check_numbers,
    "float": _check_numbers,
    "boolean": _check_booleans,
    "datetime": _check_datetimes,
    "string": _check_strings,
}


# ---------------------------------------------------------------- the public validator set


class FieldValidators:
    """The learned rules of every field of a table, used to reject generated records.

    Missing or empty (``""``) values pass unless ``allow_empty_values`` is false; a field that
    was empty in every training record must stay empty. Only the learned fields present in a
    checked frame or row are checked: leave a field out to skip it (e.g. seed values the user
    gave). Columns that were not in the training data are ignored.
    """

    def __init__(self, rules: list[FieldRules]) -> None:
        self.rules = list(rules)
        self._by_name = {r.name: r for r in self.rules}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FieldValidators) and self.rules == other.rules

    def __repr__(self) -> str:
        return f"FieldValidators({len(self.rules)} fields: {', '.join(map(str, self.columns))})"

    @property
    def columns(self) -> list[Any]:
        """The validated fields, in training order."""
        return [r.name for r in self.rules]

    @classmethod
    def learn(
        cls, df: pd.DataFrame, options: Validators | None = None, spelled: Collection[Any] = ()
    ) -> FieldValidators:
        """Learn the rules of every column of the training table ``df``. ``spelled``
        columns get no ``in_set`` rule: their values are new by design (a copy guard
        rejects training values), so a set of training values would reject every one."""
        options = options or Validators()
        if df.columns.has_duplicates:
            dupes = sorted({str(c) for c in df.columns[df.columns.duplicated()]})
            raise DataError(
                f"columns {dupes} appear more than once; give each column a "
                "unique name before training"
            )
        if len(df) == 0 or len(df.columns) == 0:
            raise DataError(
                f"cannot learn validators from an empty table ({df.shape[0]} rows, "
                f"{df.shape[1]} columns); give training data with records"
            )
        rules = [FieldRules.learn(name, df[name], options) for name in df.columns]
        for rule in rules:
            if rule.name in spelled:
                rule.in_set = None
        return cls(rules)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data (what ``validators.json`` holds)."""
        return {"format_version": FORMAT_VERSION, "fields": [r.to_dict() for r in self.rules]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FieldValidators:
        """Inverse of :meth:`to_dict`."""
        if data.get("format_version") != FORMAT_VERSION or not isinstance(data.get("fields"), list):
            raise ModelDirError(
                f"validators data has format_version {data.get('format_version')!r} (expected "
                f"{FORMAT_VERSION}) or no 'fields' list; retrain the model to rebuild "
                "validators.json"
            )
        return cls([FieldRules.from_dict(item) for item in data["fields"]])

    def allowed_values(self, column: Any) -> list[Any] | None:
        """The values ``column`` must take (its in-set rule), or None when it has no such rule."""
        if column not in self._by_name:
            raise KeyError(f"no validators for column {column!r}; known: {self.columns}")
        allowed = self._by_name[column].in_set
        return None if allowed is None else list(allowed)

    def check_frame(self, df: pd.DataFrame, skip: pd.DataFrame | None = None) -> pd.Series:
        """One entry per row of ``df``: None when valid, else why not (all fields broken).

        ``skip``: True for cells not to check (values a user gave, such as seeds)."""
        if df.columns.has_duplicates:
            raise DataError("the checked table has duplicate column names; give unique names")
        per_field = []
        for rules in self.rules:
            if rules.name not in df:
                continue
            messages = self._field_messages(rules, df[rules.name])
            if skip is not None and rules.name in skip:
                messages = np.where(skip[rules.name].to_numpy(dtype=bool), None, messages)
            per_field.append(messages)
        return pd.Series(_join_rows(per_field, len(df)), index=df.index, dtype=object)

    def check_row(self, row: Mapping[str, Any]) -> str | None:
        """None when the record ``row`` (field → value) is valid, else why not."""
        frame = pd.DataFrame({k: pd.Series([v], dtype=object) for k, v in row.items()})
        result = self.check_frame(frame).iloc[0]
        return None if result is None else str(result)

    @staticmethod
    def _field_messages(rules: FieldRules, column: pd.Series) -> np.ndarray:
        if isinstance(column.dtype, pd.CategoricalDtype):
            column = column.astype(object)
        codes, uniques = pd.factorize(column, use_na_sentinel=True)
        distinct = rules.explain_values(pd.Series(uniques))
        lookup = np.empty(len(distinct) + 1, dtype=object)
        lookup[:-1] = distinct
        lookup[-1] = rules.empty_message  # code -1: a missing value
        return lookup[codes]


def _join_rows(per_field: list[np.ndarray], rows: int) -> np.ndarray:
    """Merge per-field explanations into one per row (``"; "`` between fields)."""
    out = np.full(rows, None, dtype=object)
    if not per_field:
        return out
    broken = np.zeros(rows, dtype=bool)
    for messages in per_field:
        broken |= np.not_equal(messages, None)
    for row in np.flatnonzero(broken):
        out[row] = "; ".join(m[row] for m in per_field if m[row] is not None)
    return out
