"""Field-aware tokens for tables: each column has its own small vocabulary.

A categorical value is one token. A number with few distinct values is one token per
value; otherwise it is two tokens: a bin (frequent exact values get a bin of their own)
and a fine position inside the bin. Dates are numbers of days or seconds. A row is the
fixed-length sequence of its columns' tokens, so a generated row always has every field.

Near-unique text columns (emails, names, identifiers, notes) are not categories: each is
spelled character by character in ``max_length`` positions of the same row (one shared
character vocabulary and output head per column, an end token), so new values come out
instead of training values. :func:`decide_kind` chooses a column's kind at fit time.
Long free text (``text``) is spelled the same way, with a longer cap: it is conditioned on
the whole row and, under DP, trained by the same private optimizer and accountant with no
second model to compose; its cost is one row step per character. Its own settings are its
weight in the row loss and its sampling temperature (``columns.<name>.loss_weight`` and
``gen_temp``), not a second model's epochs and batch sizes.

Why one module of this length: the field kinds share one interface (fit, encode, decode,
to_dict) and one choice of kind (:func:`decide_kind`); the table codec over them is here
too, since it is their only user.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from synthloom.encoding.shapes import SHAPE_MAX_VALUES, ShapeSampler
from synthloom.errors import DataError
from synthloom.io.schema import ColumnInfo
from synthloom.privacy.domain import private_histogram, private_quantiles, private_range

log = logging.getLogger(__name__)

# Numbers with at most this many distinct values are kept exact, one token per value.
EXACT_NUMERIC_MAX = 200
# Bins for other numbers; a value holding at least 1/(2·NUM_BINS) of rows gets its own token.
NUM_BINS = 48
FINE_STEPS = 50
# Column kinds (see decide_kind). A text column is "string" when at least
# STRING_MIN_UNIQUE_SHARE of its non-missing values are distinct and it has more than
# STRING_MIN_DISTINCT of them, or when it has at least SMALL_UNIQUE_MIN_DISTINCT distinct
# values making up at least SMALL_UNIQUE_SHARE of its non-missing values (a short column of
# unique faxes or company names would otherwise come back verbatim as categories); "text"
# when such a column's values average at least
# TEXT_MIN_MEAN_LENGTH characters; "identifier" when every value is distinct, one token
# of letters/digits/punctuation with a digit (no spaces, no "@").
KINDS = ("categorical", "numeric", "datetime", "string", "identifier", "text")
CHAR_KINDS = ("string", "identifier", "text")
STRING_MIN_UNIQUE_SHARE = 0.5
STRING_MIN_DISTINCT = 20
SMALL_UNIQUE_MIN_DISTINCT = 5
SMALL_UNIQUE_SHARE = 0.9
TEXT_MIN_MEAN_LENGTH = 40
# Longest spelled value, unless columns.<name>.max_length says otherwise: the longest
# training value up to these caps (longer values are cut). Under DP the cap is used as is.
STRING_MAX_LENGTH = 64
TEXT_MAX_LENGTH = 256
# Under DP the character vocabulary is public: printable ASCII (others are spelled "?").
PUBLIC_CHARS = "".join(chr(c) for c in range(32, 127))
_IDENTIFIER = re.compile(r"[A-Za-z0-9_.:#/+{}\-]*[0-9][A-Za-z0-9_.:#/+{}\-]*")
_NS_PER_DAY = 86_400 * 10**9
_NS_PER_SECOND = 10**9
T = TypeVar("T")
D = TypeVar("D")


@dataclass
class CategoricalField:
    """One token per distinct value; ``<na>`` and an ``<unk>`` for unseen seed values."""

    name: str
    values: list[Any]
    counts: list[int]
    has_na: bool
    has_unk: bool
    kind: str = "categorical"
    # Under DP rare values are not released: they train and sample as ``<unk>`` (missing).
    other: bool = False
    # Under DP, per released value, a logit shift calibrated after training so that the
    # generated values share out as the released counts do (post-processing).
    bias: list[float] | None = None

    @classmethod
    def fit(cls, name: str, column: pd.Series, seedable: bool) -> CategoricalField:
        """Learn the distinct values of ``column`` (most frequent first)."""
        counts = column.dropna().value_counts(sort=True)
        values = [_plain(v) for v in counts.index]
        return cls(name, values, counts.tolist(), bool(column.isna().any()), seedable)

    @classmethod
    def fit_private(cls, name: str, column: pd.Series, budget: DomainBudget) -> CategoricalField:
        """The values a noisy, thresholded histogram keeps ((ε, δ)-DP); ``<na>`` always."""
        histogram = private_histogram(column, budget.epsilon, budget.delta, budget.rng)
        values = list(histogram)
        counts = [max(1, round(c)) for c in histogram.values()]
        return cls(name, values, counts, has_na=True, has_unk=True, other=True)

    @property
    def vocab_sizes(self) -> list[int]:
        """One position with every value, then ``<na>`` and ``<unk>`` when present."""
        return [len(self.values) + self.has_na + self.has_unk]

    @property
    def na_token(self) -> int:
        return len(self.values)

    @property
    def unk_token(self) -> int:
        return len(self.values) + self.has_na

    def banned(self) -> list[list[int]]:
        """Tokens never sampled: ``<unk>`` only stands for seed values (or, under DP, for
        the values too rare to release, which come out missing)."""
        return [[self.unk_token] if self.has_unk and not self.other else []]

    def encode(self, column: pd.Series, seeds: bool = False) -> np.ndarray:
        """Tokens of ``column``; unseen values are an error unless they are seeds."""
        lookup = {v: i for i, v in enumerate(self.values)}
        missing = column.isna().to_numpy()
        plain = [None if m else _plain(v) for v, m in zip(column.tolist(), missing, strict=True)]
        tokens = np.array([lookup.get(v, -1) for v in plain], dtype=np.int64)
        tokens[missing] = self.na_token if self.has_na else -1
        unknown = tokens < 0
        if seeds and unknown.any() and self.numeric and self.values:
            # a number between (or beyond) the training values: its nearest one
            known = np.array(self.values, dtype=np.float64)
            numbers = pd.to_numeric(column[unknown & ~missing], errors="coerce").to_numpy(float)
            near = np.abs(known[None, :] - numbers[:, None]).argmin(axis=1)
            tokens[unknown & ~missing] = np.where(np.isnan(numbers), -1, near)
            unknown = tokens < 0
        if unknown.any():
            if not ((seeds or self.other) and self.has_unk):
                example = column[unknown].iloc[0]
                raise DataError(f"column {self.name!r}: value {example!r} was never seen")
            tokens[unknown] = self.unk_token
        return tokens[:, None]

    def decode(self, tokens: np.ndarray, rng: np.random.Generator) -> pd.Series:
        """Values of the tokens (``<na>`` becomes missing)."""
        if self.numeric:  # a float array is much faster to cast than Python objects
            table = np.array([*self.values, np.nan, np.nan], dtype=np.float64)
            return pd.Series(table[tokens[:, 0]])
        table = np.array([*self.values, None, None], dtype=object)
        return pd.Series(table[tokens[:, 0]], dtype=object)

    @property
    def numeric(self) -> bool:
        """Whether every value is a number (a numeric column learned as categories)."""
        return all(isinstance(v, int | float) and not isinstance(v, bool) for v in self.values)


@dataclass
class NumericField:
    """Exact tokens for frequent values, else a quantile bin and a fine position in it."""

    name: str
    exact: list[float]
    edges: list[float]
    has_na: bool
    unit: str = "number"  # or "days"/"seconds" for dates
    kind: str = "numeric"
    fine_steps: int = FINE_STEPS

    @classmethod
    def fit(cls, name: str, values: pd.Series, unit: str) -> NumericField:
        """Learn exact values and bin edges from a numeric series (NA allowed)."""
        present = values.dropna().to_numpy(dtype=np.float64)
        counts = pd.Series(present).value_counts()
        exact = sorted(counts[counts >= len(present) / (2 * NUM_BINS)].index.tolist())
        rest = present[~np.isin(present, exact)]
        edges = np.unique(np.quantile(rest, np.linspace(0, 1, NUM_BINS + 1))) if len(rest) else []
        return cls(
            name,
            [float(v) for v in exact],
            [float(e) for e in edges],
            bool(values.isna().any()),
            unit,
        )

    @classmethod
    def fit_private(
        cls, name: str, values: pd.Series, unit: str, budget: DomainBudget
    ) -> NumericField:
        """Exact values, bounds and bin edges each released with a third of the column's ε.

        Frequent values come from a noisy thresholded histogram, the range from a noisy
        histogram over public power-of-2 bins, and the bin edges from one noisy histogram
        over that range (values outside fall in the edge bins). ``<na>`` is always reserved.
        """
        part = budget.epsilon / 3
        present = values.dropna().astype(np.float64)
        histogram = private_histogram(present, part, budget.delta, budget.rng)
        frequent = budget.n_records / (2 * NUM_BINS)  # n is public, counts are noisy
        exact = sorted(float(v) for v, c in histogram.items() if c >= frequent)
        try:
            bounds = private_range(present, part, budget.rng)
        except DataError as exc:
            raise DataError(f"column {name!r}: {exc} (columns: {{{name}: categorical}})") from None
        rest = present[~present.isin(exact)]
        quantiles = np.linspace(0, 1, NUM_BINS + 1)
        edges = np.unique(private_quantiles(rest, quantiles, part, bounds, budget.rng))
        if len(edges) < 2:
            edges = np.array([bounds[0], max(bounds[1], bounds[0] + 1.0)])
        return cls(name, exact, [float(e) for e in edges], True, unit)

    @property
    def n_bins(self) -> int:
        return max(len(self.edges) - 1, 1) if self.edges else 0

    @property
    def vocab_sizes(self) -> list[int]:
        """Bin position (exact values, bins, ``<na>``) then the fine position."""
        return [len(self.exact) + self.n_bins + self.has_na, self.fine_steps]

    def banned(self) -> list[list[int]]:
        return [[], []]

    def encode(self, values: pd.Series, seeds: bool = False) -> np.ndarray:
        """Two tokens per value. Seeds outside the training range fall in the edge bins."""
        x = values.to_numpy(dtype=np.float64, na_value=np.nan)
        missing = np.isnan(x)
        if missing.any() and not self.has_na:
            raise DataError(f"column {self.name!r}: missing values were never seen in training")
        first = np.zeros(len(x), dtype=np.int64)
        fine = np.zeros(len(x), dtype=np.int64)
        exact_pos = {v: i for i, v in enumerate(self.exact)}
        is_exact = np.array([v in exact_pos for v in x]) if self.exact else np.zeros(len(x), bool)
        first[is_exact] = [exact_pos[v] for v in x[is_exact]]
        binned = ~is_exact & ~missing
        if binned.any():
            if not self.n_bins:  # only exact values in training: snap to the nearest one
                nearest = np.abs(np.array(self.exact)[None, :] - x[binned, None]).argmin(1)
                first[binned] = nearest
            else:
                edges = np.array(self.edges)
                index = np.clip(
                    np.searchsorted(edges, x[binned], side="right") - 1, 0, self.n_bins - 1
                )
                lo, hi = edges[index], edges[index + 1]
                position = np.where(hi > lo, (x[binned] - lo) / np.where(hi > lo, hi - lo, 1), 0)
                fine[binned] = np.clip(
                    (position * self.fine_steps).astype(np.int64), 0, self.fine_steps - 1
                )
                first[binned] = len(self.exact) + index
        first[missing] = len(self.exact) + self.n_bins
        return np.stack([first, fine], axis=1)

    def decode(self, tokens: np.ndarray, rng: np.random.Generator) -> pd.Series:
        """Numbers of the tokens; a fine position decodes to a uniform draw inside it."""
        first, fine = tokens[:, 0], tokens[:, 1]
        out = np.full(len(first), np.nan)
        n_exact = len(self.exact)
        is_exact = first < n_exact
        out[is_exact] = np.array(self.exact)[first[is_exact]] if n_exact else []
        binned = (first >= n_exact) & (first < n_exact + self.n_bins)
        if binned.any():
            edges = np.array(self.edges)
            index = first[binned] - n_exact
            lo, hi = edges[index], edges[index + 1]
            share = (fine[binned] + rng.random(binned.sum())) / self.fine_steps
            out[binned] = lo + share * (hi - lo)
        return pd.Series(out)


@dataclass
class StringField:
    """A value spelled in ``max_length`` character positions, then an end token.

    Every position has the same vocabulary (the characters, ``<end>``, ``<na>``) and, in
    the network, one shared embedding and output head, so the row model writes the value
    one character per step, conditioned on the row so far. After ``<end>`` (or ``<na>``,
    a missing value, at the first position) every position holds ``<end>``.
    """

    name: str
    chars: str
    max_length: int
    has_na: bool
    kind: str = "string"  # or "identifier" / "text"
    # With too few distinct values to learn spelling from (not under DP): the values'
    # shapes (see synthloom.encoding.shapes); the model then only decides missing or not.
    shapes: dict[str, Any] | None = None
    # A text column's logit shift of <end> per character position, calibrated after
    # training (not under DP) so that lengths follow the training values'.
    end_bias: list[float] | None = None

    @classmethod
    def fit(
        cls, name: str, column: pd.Series, kind: str, max_length: int | None = None
    ) -> StringField:
        """Learn the column's characters and (unless given) its longest value, capped."""
        texts = column.dropna().astype(str)
        chars = "".join(sorted(set("".join(texts.tolist())))) or "?"
        if max_length is None:
            cap = TEXT_MAX_LENGTH if kind == "text" else STRING_MAX_LENGTH
            max_length = max(1, min(int(texts.str.len().max()) if len(texts) else 1, cap))
        shapes = None
        if kind != "text" and 0 < texts.nunique() < SHAPE_MAX_VALUES:
            shapes = ShapeSampler.fit(texts.tolist()).to_dict()
            log.info(
                "column %r: %d distinct values, too few to learn spelling from (under %d): "
                "new values in their shapes",
                name,
                texts.nunique(),
                SHAPE_MAX_VALUES,
            )
        return cls(name, chars, max_length, bool(column.isna().any()), kind, shapes)

    @classmethod
    def public(cls, name: str, kind: str, max_length: int | None = None) -> StringField:
        """Under DP: public characters and a public length cap, nothing from the data."""
        cap = TEXT_MAX_LENGTH if kind == "text" else STRING_MAX_LENGTH
        return cls(name, PUBLIC_CHARS, max_length or cap, True, kind)

    @property
    def end_token(self) -> int:
        return len(self.chars)

    @property
    def na_token(self) -> int:
        return len(self.chars) + 1

    @property
    def vocab_sizes(self) -> list[int]:
        return [len(self.chars) + 2] * self.max_length

    def banned(self) -> list[list[int]]:
        """``<na>`` only at the first position, and only when values can be missing."""
        first = [] if self.has_na else [self.na_token]
        return [first] + [[self.na_token] for _ in range(self.max_length - 1)]

    def encode(self, column: pd.Series, seeds: bool = False) -> np.ndarray:
        """Character tokens; unknown characters become ``?`` (or are dropped), values
        longer than ``max_length`` are cut. A missing seed (a generated parent's value, say)
        in a column never missing in training is encoded as the empty value, as unseen
        categorical seeds are encoded as unknown."""
        lookup = {c: i for i, c in enumerate(self.chars)}
        fill = lookup.get("?")
        out = np.full((len(column), self.max_length), self.end_token, dtype=np.int64)
        for row, value in enumerate(column.tolist()):
            if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
                if not self.has_na and not seeds:
                    raise DataError(f"column {self.name!r}: missing values were never seen")
                if self.has_na:
                    out[row, 0] = self.na_token
                continue
            ids = [lookup.get(c, fill) for c in str(value)]
            ids = [i for i in ids if i is not None][: self.max_length]
            out[row, : len(ids)] = ids
        return out

    def lengths(self, tokens: np.ndarray) -> np.ndarray:
        """Characters of each present value (missing ones are left out)."""
        present = tokens[:, 0] != self.na_token
        ended = tokens[present] >= self.end_token
        return np.where(ended.any(axis=1), ended.argmax(axis=1), self.max_length)

    def decode(self, tokens: np.ndarray, rng: np.random.Generator) -> pd.Series:
        """The text before the first ``<end>``; ``<na>`` first means missing. With
        ``shapes``, a present value is drawn in a training value's shape instead."""
        if self.shapes is not None:
            present = tokens[:, 0] != self.na_token
            drawn = iter(ShapeSampler.from_dict(self.shapes).sample(int(present.sum()), rng))
            return pd.Series([next(drawn) if p else None for p in present], dtype=object)
        table = np.array([*self.chars, "\0", "\0"], dtype=object)
        values: list[str | None] = []
        for row in tokens:
            if row[0] == self.na_token:
                values.append(None)
                continue
            stop = np.flatnonzero(row >= self.end_token)
            cut = row[: stop[0]] if len(stop) else row
            values.append("".join(table[cut]))
        return pd.Series(values, dtype=object)


FieldCodec = CategoricalField | NumericField | StringField


def decide_kind(series: pd.Series, info: ColumnInfo, requested: str | None = None) -> str:
    """The column's kind: ``requested`` when given, else from its type and statistics.

    Numbers and dates are ``numeric``/``datetime``; a text column is ``categorical``
    unless its values are mostly distinct (thresholds above), then ``identifier``,
    ``text`` or ``string``. Only repeating values stay categories: a column of few but
    (nearly) all distinct values is spelled too, else its values would be copied.
    """
    if requested is not None:
        return requested
    if info.kind in ("integer", "float"):
        return "numeric"
    if info.kind == "datetime":
        return "datetime"
    if info.kind != "string":
        return "categorical"
    texts = series.dropna().astype(str)
    distinct = texts.nunique()
    many = distinct > STRING_MIN_DISTINCT and distinct >= STRING_MIN_UNIQUE_SHARE * len(texts)
    unique = distinct >= SMALL_UNIQUE_MIN_DISTINCT and distinct >= SMALL_UNIQUE_SHARE * len(texts)
    if not (many or unique):
        return "categorical"
    if texts.str.len().mean() >= TEXT_MIN_MEAN_LENGTH:
        return "text"
    if distinct == len(texts) and texts.map(lambda t: bool(_IDENTIFIER.fullmatch(t))).all():
        return "identifier"
    return "string"


@dataclass
class DomainBudget:
    """The (ε, δ) one column's vocabulary may spend under DP, and the noise source."""

    epsilon: float
    delta: float
    n_records: int
    rng: np.random.Generator


@dataclass
class TableCodec:
    """Rows ⇄ fixed-length token sequences, column by column in model order."""

    fields: list[FieldCodec]
    columns: list[ColumnInfo] = field(default_factory=list)

    @classmethod
    def fit(
        cls,
        frame: pd.DataFrame,
        columns: list[ColumnInfo],
        seed_fields: list[str],
        budgets: dict[str, DomainBudget] | None = None,
        kinds: dict[str, str] | None = None,
        max_lengths: dict[str, int] | None = None,
    ) -> TableCodec:
        """Learn one field codec per column; ``columns`` is already in model order.

        ``kinds`` and ``max_lengths`` are the config's per-column choices. With
        ``budgets`` (under DP, one per column) every vocabulary is a DP release, and a
        column is spelled only when the config says so or when its released histogram
        covers less than half the rows (nothing else about it is looked at).
        """
        kinds, max_lengths = kinds or {}, max_lengths or {}
        if budgets is not None:
            return cls._fit_private(frame, columns, budgets, kinds, max_lengths)
        codecs: list[FieldCodec] = []
        for info in columns:
            series = frame[info.name]
            seedable = info.name in seed_fields
            numeric = info.kind in ("integer", "float", "datetime")
            requested = kinds.get(info.name)
            kind = decide_kind(series, info, requested)
            if kind in CHAR_KINDS:
                text = as_text(series)
                codecs.append(StringField.fit(info.name, text, kind, max_lengths.get(info.name)))
                continue
            if numeric and kind != "categorical":
                numbers, unit = _to_numbers(series, info)
                if numbers.nunique() > EXACT_NUMERIC_MAX:
                    codecs.append(NumericField.fit(info.name, numbers, unit))
                    continue
            codecs.append(CategoricalField.fit(info.name, series, seedable))
        return cls(codecs, list(columns))

    @classmethod
    def _fit_private(
        cls,
        frame: pd.DataFrame,
        columns: list[ColumnInfo],
        budgets: dict[str, DomainBudget],
        kinds: dict[str, str],
        max_lengths: dict[str, int],
    ) -> TableCodec:
        """Every vocabulary a DP release; structure from public facts or those releases.

        The date unit follows the column's format (a format without a time of day means
        days), never a look at the values; float decimals are those of the released exact
        values (or :data:`DP_FLOAT_DECIMALS`), never the raw maximum.
        """
        codecs: list[FieldCodec] = []
        public: list[ColumnInfo] = []
        for info in columns:
            codec = _fit_private_field(
                info,
                frame[info.name],
                budgets[info.name],
                kinds.get(info.name),
                max_lengths.get(info.name),
            )
            if info.kind == "float" and isinstance(codec, NumericField):
                info = replace(info, decimals=_released_decimals(codec))
            codecs.append(codec)
            public.append(info)
        return cls(codecs, public)

    def order_by_vocabulary(self, names: list[str]) -> list[str]:
        """``names`` with small vocabularies first (ties in the given order).

        Under DP the vocabularies are releases, so this order reveals nothing more.
        """
        size = {codec.name: sum(codec.vocab_sizes) for codec in self.fields}
        return sorted(names, key=lambda name: size[name])

    @property
    def vocab_sizes(self) -> list[int]:
        """Vocabulary size of every token position of a row."""
        return [size for codec in self.fields for size in codec.vocab_sizes]

    @property
    def tied(self) -> list[int]:
        """Per position, the first position of its column when the column is spelled
        (they share one embedding and head), else the position itself."""
        out: list[int] = []
        for codec in self.fields:
            first = len(out)
            width = len(codec.vocab_sizes)
            spelled = isinstance(codec, StringField)
            out += [first] * width if spelled else list(range(first, first + width))
        return out

    @property
    def shifts(self) -> list[dict[int, float]]:
        """Per position, logit shifts of tokens at sampling: a calibrated text column's
        ``<end>`` (see ``StringField.end_bias``) and a DP category's released values
        (``CategoricalField.bias``)."""
        out: list[dict[int, float]] = []
        for codec in self.fields:
            width = len(codec.vocab_sizes)
            if isinstance(codec, CategoricalField) and codec.bias:
                out.append({token: float(b) for token, b in enumerate(codec.bias)})
                continue
            if not isinstance(codec, StringField) or not codec.end_bias:
                out += [{} for _ in range(width)]
                continue
            bias = codec.end_bias
            out += [{codec.end_token: float(bias[min(r, len(bias) - 1)])} for r in range(width)]
        return out

    @property
    def ends(self) -> list[int]:
        """Per position, the end token when it continues a spelled value, else -1."""
        out: list[int] = []
        for codec in self.fields:
            width = len(codec.vocab_sizes)
            if isinstance(codec, StringField):
                out += [-1] + [codec.end_token] * (width - 1)
            else:
                out += [-1] * width
        return out

    @property
    def kinds(self) -> dict[str, str]:
        """Each column's kind (categorical, numeric, datetime, string, identifier, text)."""
        out = {}
        for codec, info in zip(self.fields, self.columns, strict=True):
            kind = codec.kind
            if isinstance(codec, NumericField) or (
                kind == "categorical" and info.kind in ("integer", "float", "datetime")
            ):
                kind = "datetime" if info.kind == "datetime" else "numeric"
            out[info.name] = kind
        return out

    @property
    def banned(self) -> list[list[int]]:
        """Per position, the tokens the sampler must never draw."""
        return [ids for codec in self.fields for ids in codec.banned()]

    def field(self, name: str) -> FieldCodec:
        """The codec of one column."""
        return next(codec for codec in self.fields if codec.name == name)

    def per_position(self, values: dict[str, T], default: D) -> list[T | D]:
        """Per token position, its column's entry of ``values`` (else ``default``)."""
        return [values.get(codec.name, default) for codec in self.fields for _ in codec.vocab_sizes]

    def positions(self, names: list[str]) -> list[int]:
        """Token positions of the given columns."""
        out, position = [], 0
        for codec in self.fields:
            width = len(codec.vocab_sizes)
            if codec.name in names:
                out += list(range(position, position + width))
            position += width
        return out

    def encode(self, frame: pd.DataFrame, seeds: bool = False) -> np.ndarray:
        """Tokens of every row, shape (rows, positions), for the columns present in ``frame``."""
        parts = []
        for codec, info in zip(self.fields, self.columns, strict=True):
            if info.name not in frame:
                continue
            series = frame[info.name]
            if isinstance(codec, StringField):
                parts.append(codec.encode(as_text(series), seeds=seeds))
                continue
            if info.kind in ("integer", "float") or isinstance(codec, NumericField):
                numbers, _ = _to_numbers(series, info, strict=seeds)
                # Exact numbers are looked up as the training values were: ints as ints.
                exact = info.kind == "integer" and isinstance(codec, CategoricalField)
                series = numbers.round().astype("Int64") if exact else numbers
            parts.append(codec.encode(series, seeds=seeds))
        return np.concatenate(parts, axis=1)

    def decode(self, tokens: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
        """Rows of values with each column's type (pandas nullable dtypes)."""
        data, position = {}, 0
        for codec, info in zip(self.fields, self.columns, strict=True):
            width = len(codec.vocab_sizes)
            values = codec.decode(tokens[:, position : position + width], rng)
            data[info.name] = _typed(values, info, codec)
            position += width
        return pd.DataFrame(data)

    def prefixed(self, prefix: str) -> TableCodec:
        """The same codec with every column named ``prefix`` + its name."""
        return TableCodec(
            [replace(f, name=prefix + f.name) for f in self.fields],
            [replace(c, name=prefix + c.name) for c in self.columns],
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain data for ``model_params.json``."""
        return {
            "fields": [{**vars(codec)} for codec in self.fields],
            "columns": [c.to_dict() for c in self.columns],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TableCodec:
        """Inverse of :meth:`to_dict`."""
        fields: list[FieldCodec] = []
        for item in data["fields"]:
            kind = item["kind"]
            if kind == "categorical":
                fields.append(CategoricalField(**item))
            elif kind in CHAR_KINDS:
                fields.append(StringField(**item))
            else:
                fields.append(NumericField(**item))
        return cls(fields, [ColumnInfo(**c) for c in data["columns"]])


def _fit_private_field(
    info: ColumnInfo,
    series: pd.Series,
    budget: DomainBudget,
    requested: str | None,
    max_length: int | None,
) -> FieldCodec:
    """One column's codec under DP (see :meth:`TableCodec.fit`)."""
    if requested in CHAR_KINDS:
        return StringField.public(info.name, requested, max_length)
    if info.kind in ("integer", "float", "datetime") and requested != "categorical":
        numbers, unit = _to_numbers(series, info, unit=_public_unit(info))
        return NumericField.fit_private(info.name, numbers, unit, budget)
    released = CategoricalField.fit_private(info.name, series, budget)
    covered = sum(released.counts) / max(budget.n_records, 1)  # post-processing of the release
    if requested is None and info.kind == "string" and covered < 1 - STRING_MIN_UNIQUE_SHARE:
        return StringField.public(info.name, "string", max_length)
    return released


def as_text(series: pd.Series) -> pd.Series:
    """Values as text (missing stays ``None``), the way spelled columns see them."""
    return (
        series.astype(object)
        .where(series.notna(), None)
        .map(lambda v: v if v is None else _plain_text(v))
    )


def _plain_text(value: Any) -> str:
    """How a value is spelled: integers without ``.0``, dates in ISO form."""
    value = _plain(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _to_numbers(
    series: pd.Series, info: ColumnInfo, strict: bool = False, unit: str | None = None
) -> tuple[pd.Series, str]:
    """A numeric view of a number or date column (dates as days or seconds: ``unit``, or
    days when every value is at midnight)."""
    if info.kind == "datetime":
        stamps = pd.to_datetime(series, errors="coerce", format=info.datetime_format)
        # pandas may hold dates in µs or s: count nanoseconds whatever the resolution
        ns = stamps.dt.as_unit("ns").astype("int64").where(stamps.notna())
        if unit is None:
            unit = "days" if (ns.dropna() % _NS_PER_DAY == 0).all() else "seconds"
        scale = _NS_PER_DAY if unit == "days" else _NS_PER_SECOND
        return (ns / scale).astype("Float64"), unit
    numbers = pd.to_numeric(series, errors="coerce")
    if strict:
        bad = numbers.isna() & series.notna()
        if bad.any():
            raise DataError(
                f"column {info.name!r} is numeric but got {series[bad].iloc[0]!r}; give a number"
            )
    return numbers.astype("Float64"), "number"


def numeric_view(series: pd.Series, info: ColumnInfo) -> pd.Series:
    """A number or date column as numbers (dates as days or seconds), missing elsewhere."""
    return _to_numbers(series, info)[0]


# Time-of-day directives of strftime: a date format without any of them holds days.
_TIME_DIRECTIVES = ("%H", "%I", "%M", "%S", "%f", "%p", "%T", "%X", "%c", "%s")
# Float digits after the point under DP when no exact value was released.
DP_FLOAT_DECIMALS = 4


def _public_unit(info: ColumnInfo) -> str:
    """Days or seconds for a date column, from its format alone (a schema fact)."""
    fmt = info.datetime_format
    return "days" if fmt and not any(d in fmt for d in _TIME_DIRECTIVES) else "seconds"


def _released_decimals(codec: NumericField) -> int:
    """Digits after the point of the DP-released exact values (post-processing), or
    :data:`DP_FLOAT_DECIMALS` when they show none."""
    digits = [len(f"{v:.10f}".rstrip("0").split(".")[1]) for v in codec.exact]
    return max(digits, default=0) or DP_FLOAT_DECIMALS


_ROUNDING_LIMIT = 2.0**53  # beyond this a float64 has no fractional digits


def _typed(values: pd.Series, info: ColumnInfo, codec: FieldCodec) -> pd.Series:
    """Cast decoded values back to the column's type."""
    if isinstance(codec, StringField) and info.kind != "string":
        if info.kind == "datetime":
            return pd.to_datetime(values, errors="coerce", format=info.datetime_format)
        if info.kind == "boolean":
            return values.map({"True": True, "False": False}).astype("boolean")
    if info.kind == "datetime":
        numbers = pd.to_numeric(values, errors="coerce")
        if isinstance(codec, CategoricalField):
            return pd.to_datetime(values, errors="coerce")
        scale = _NS_PER_DAY if codec.unit == "days" else _NS_PER_SECOND
        return pd.to_datetime((numbers.round() * scale).astype("Int64"), errors="coerce")
    if info.kind == "integer":
        return pd.to_numeric(values, errors="coerce").round().astype("Int64")
    if info.kind == "float":
        numbers = pd.to_numeric(values, errors="coerce").astype("Float64")
        if info.decimals is None:
            return numbers
        # Rounding scales by 10**decimals, which overflows near ±1e308; numbers that large
        # hold no digits after the point anyway.
        with np.errstate(over="ignore", invalid="ignore"):
            rounded = numbers.round(info.decimals)
        return numbers.where(numbers.abs() >= _ROUNDING_LIMIT, rounded)
    if info.kind == "boolean":
        return values.astype("boolean")
    return values


def _plain(value: Any) -> Any:
    """A JSON-ready Python value (numpy scalars and timestamps unwrapped)."""
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    return value
