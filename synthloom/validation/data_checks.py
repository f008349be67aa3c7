"""Checks on the training table before training, run under ``data_checks.strategy``.

Each check looks for something that makes synthetic data worse or training slower and says
what to do about it. ``log`` reports and goes on, ``skip`` runs nothing, ``interrupt`` stops
with a :class:`~synthloom.errors.DataError` listing every warning.

Text checks look at the distinct values of a column; on very long tables they read a fixed
random sample of :data:`SAMPLE_ROWS` rows, so checking stays fast.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from synthloom.errors import ConfigError, DataError

STRATEGIES = ("log", "skip", "interrupt")

# A column whose values look like ids: at least this share of its values matches.
ID_MIN_SHARE = 0.9
# Free text: long values (mean characters and words) that are mostly unique.
FREE_TEXT_MIN_CHARS = 30
FREE_TEXT_MIN_WORDS = 5
FREE_TEXT_MIN_UNIQUE_SHARE = 0.5
# Heavy missing data: more than this share of a column is missing or empty.
MISSING_MAX_SHARE = 0.5
# High float precision: more than MAX_DECIMALS digits after the point in at least
# PRECISION_MIN_SHARE of a float column's values (read on PRECISION_SAMPLE values).
MAX_DECIMALS = 6
PRECISION_MIN_SHARE = 0.1
PRECISION_SAMPLE = 2_000
# Sparse one-hot: at least ONE_HOT_MIN_COLUMNS 0/1 columns, each with at most this share of 1s.
ONE_HOT_MIN_COLUMNS = 5
ONE_HOT_MAX_ONES_SHARE = 0.2
# Size.
MAX_ROWS = 1_000_000
MAX_COLUMNS = 150
# Text checks read at most this many rows.
SAMPLE_ROWS = 200_000
# How many column names a table-wide warning lists.
SHOWN_COLUMNS = 8

_UUID = re.compile(
    r"\{?[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}\}?"
)
_HASH = re.compile(r"[0-9a-fA-F]{32}|[0-9a-fA-F]{40}|[0-9a-fA-F]{64}")

# Personal data (PII): a column is named as such when at least PII_MIN_SHARE of its values
# match a pattern; names and ids also need mostly distinct values (or a telling column name).
PII_MIN_SHARE = 0.9
PII_MIN_UNIQUE_SHARE = 0.5
_PII_PATTERNS = {
    "email": re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"),
    "url": re.compile(r"(https?://|www\.)[^\s/$.?#][^\s]*", re.IGNORECASE),
    "ip_address": re.compile(
        r"((25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(25[0-5]|2[0-4]\d|1?\d?\d)"
        r"|([0-9a-fA-F]{1,4}:){2,7}:?[0-9a-fA-F]{0,4}(:[0-9a-fA-F]{1,4})*"
    ),
    "phone": re.compile(r"\+?\(?\d{1,4}\)?([\s.-]?\(?\d{2,5}\)?){2,5}"),
}
_PHONE_DIGITS = (7, 15)
_PERSON_NAME = re.compile(r"[A-Z][a-zà-ÿ'’-]+(?:[ ,]+[A-Z][a-zà-ÿ'’.-]*){0,3}")
_NAME_HINT = re.compile(r"(^|_|\b)(first|last|full|given|family|sur|middle|maiden)?_?name", re.I)
_ID_LIKE = re.compile(r"[A-Za-z0-9_.:#/+-]*\d[A-Za-z0-9_.:#/+-]*")
_DATE_LIKE = re.compile(r"\d{4}-\d{2}-\d{2}([ T].*)?|\d{1,2}[/.]\d{1,2}[/.]\d{2,4}")
PII_WORDS = {
    "email": "email addresses",
    "url": "URLs",
    "ip_address": "IP addresses",
    "phone": "phone numbers",
    "person_name": "person names",
    "identifier": "identifiers (unique codes with digits)",
}


@dataclass(frozen=True)
class DataWarning:
    """One finding of a data check: which check, where, what was found, and what to do."""

    check: str
    column: str | None
    found: str
    action: str

    def __str__(self) -> str:
        where = f"column '{self.column}'" if self.column is not None else "table"
        return f"[{self.check}] {where}: {self.found}; {self.action}"


def run_data_checks(df: pd.DataFrame) -> list[DataWarning]:
    """Run every check on the training table ``df``; an empty list means all is well."""
    warnings = _size_checks(df)
    for name in df.columns:
        warnings.extend(_column_checks(df, name))
    warnings.extend(_one_hot_check(df))
    return warnings


def apply_data_checks(
    df: pd.DataFrame, strategy: str, log: Callable[[str], None]
) -> list[DataWarning]:
    """Run the checks as ``data_checks.strategy`` says and return the warnings found.

    ``skip`` runs nothing; ``log`` passes each warning to ``log`` and goes on; ``interrupt``
    raises :class:`DataError` listing every warning when there is any.
    """
    if strategy not in STRATEGIES:
        raise ConfigError(
            f"data_checks.strategy={strategy!r} is not one of {', '.join(STRATEGIES)}"
        )
    if strategy == "skip":
        return []
    warnings = run_data_checks(df)
    if strategy == "log":
        for warning in warnings:
            log(f"data check: {warning}")
    elif warnings:
        listed = " ".join(f"({i}) {w}" for i, w in enumerate(warnings, 1))
        raise DataError(
            f"data checks found {len(warnings)} problem(s) and data_checks.strategy is "
            f"'interrupt': {listed}. Fix the data, or set data_checks.strategy to 'log' to "
            "train anyway"
        )
    return warnings


# ---------------------------------------------------------------- table-wide checks


def _size_checks(df: pd.DataFrame) -> list[DataWarning]:
    warnings = []
    rows, columns = df.shape
    if rows > MAX_ROWS:
        warnings.append(
            DataWarning(
                "very_large",
                None,
                f"{rows:,} rows (more than {MAX_ROWS:,})",
                "training will be slow; consider training on a random sample of the records",
            )
        )
    if columns > MAX_COLUMNS:
        warnings.append(
            DataWarning(
                "very_wide",
                None,
                f"{columns} columns (more than {MAX_COLUMNS})",
                "drop columns you do not need; wide tables are split into clusters of "
                "field_cluster_size columns, which weakens correlations between clusters",
            )
        )
    return warnings


def _one_hot_check(df: pd.DataFrame) -> list[DataWarning]:
    sparse = [name for name in df.columns if _is_sparse_binary(df[name])]
    if len(sparse) < ONE_HOT_MIN_COLUMNS:
        return []
    shown = ", ".join(map(str, sparse[:SHOWN_COLUMNS])) + (
        ", …" if len(sparse) > SHOWN_COLUMNS else ""
    )
    return [
        DataWarning(
            "sparse_one_hot",
            None,
            f"{len(sparse)} sparse 0/1 columns, each mostly 0 ({shown})",
            "fold one-hot columns into one categorical column (the name of the column that is "
            "1) before training and expand it again after generation",
        )
    ]


def _is_sparse_binary(column: pd.Series) -> bool:
    """A 0/1 (or boolean) column whose values are mostly 0."""
    if not (ptypes.is_numeric_dtype(column.dtype) or ptypes.is_bool_dtype(column.dtype)):
        return False
    values = column.dropna()
    if values.empty:
        return False
    numbers = values.to_numpy(dtype=float)
    if not np.isin(numbers, (0.0, 1.0)).all():
        return False
    return float(numbers.mean()) <= ONE_HOT_MAX_ONES_SHARE


# ---------------------------------------------------------------- per-column checks


def _column_checks(df: pd.DataFrame, name: object) -> list[DataWarning]:
    column = df[name]
    label = str(name)
    missing = _missing_share(column)
    if len(column) and missing == 1.0:
        return [
            DataWarning(
                "empty_column",
                label,
                "every value is missing",
                "it will be generated empty; drop it if you do not need it",
            )
        ]
    warnings = []
    if missing > MISSING_MAX_SHARE:
        warnings.append(
            DataWarning(
                "heavy_missing",
                label,
                f"{missing:.0%} of values are missing (more than {MISSING_MAX_SHARE:.0%})",
                "drop the column or fill the gaps; the model spends most of its effort on "
                "learning where values are absent",
            )
        )
    if ptypes.is_float_dtype(column.dtype):
        warnings.extend(_precision_check(column, label))
    elif _is_text(column):
        warnings.extend(_text_checks(df, column, label))
    return warnings


def _missing_share(column: pd.Series) -> float:
    """Share of values that are missing (or the empty string)."""
    if column.empty:
        return 0.0
    missing = column.isna()
    if _is_text(column):
        missing = missing | column.astype(object).eq("")
    return float(missing.mean())


def _is_text(column: pd.Series) -> bool:
    return column.dtype == object or ptypes.is_string_dtype(column.dtype)


def _precision_check(column: pd.Series, label: str) -> list[DataWarning]:
    numbers = column.dropna().to_numpy(dtype=float)
    numbers = numbers[np.isfinite(numbers)]
    if numbers.size > PRECISION_SAMPLE:
        numbers = np.random.default_rng(0).choice(numbers, PRECISION_SAMPLE, replace=False)
    if numbers.size == 0:
        return []
    decimals = np.array([_decimals(x) for x in numbers])
    share = float((decimals > MAX_DECIMALS).mean())
    if share < PRECISION_MIN_SHARE:
        return []
    return [
        DataWarning(
            "high_precision",
            label,
            f"{share:.0%} of values have more than {MAX_DECIMALS} decimals "
            f"(up to {int(decimals.max())})",
            f"round the column (e.g. to {MAX_DECIMALS} decimals or fewer); extra digits cost "
            "tokens and training time but are not learned",
        )
    ]


def _decimals(number: float) -> int:
    """Digits after the point in the shortest exact decimal form of ``number``."""
    text = np.format_float_positional(number, unique=True, trim="-")
    return len(text.partition(".")[2])


def _text_values(column: pd.Series) -> pd.Series:
    """Distinct non-empty text values with their counts (from a sample on long tables)."""
    if len(column) > SAMPLE_ROWS:
        column = column.sample(SAMPLE_ROWS, random_state=0)
    texts = column.dropna().astype(object).map(str)
    return texts[texts != ""].value_counts(sort=False)


def _text_checks(df: pd.DataFrame, column: pd.Series, label: str) -> list[DataWarning]:
    counts = _text_values(column)
    if counts.empty:
        return []
    checks = (_id_check, _pii_check, _free_text_check, _whitespace_check)
    found = [w for w in (check(counts, label, len(df.columns)) for check in checks) if w]
    if found and found[0].check == "uuid_or_hash":  # already said: no second id warning
        found = [w for w in found if not (w.check == "pii" and "identifiers" in w.found)]
    return found


def detect_pii(df: pd.DataFrame) -> dict[str, str]:
    """Columns that look like personal data, with what they hold (``email``, ``phone``,
    ``url``, ``ip_address``, ``person_name``, ``identifier``)."""
    out = {}
    for name in df.columns:
        column = df[name]
        if _is_text(column):
            counts = _text_values(column)
            kind = _pii_kind(counts, str(name)) if not counts.empty else None
            if kind is not None:
                out[str(name)] = kind
    return out


def _pii_kind(counts: pd.Series, label: str) -> str | None:
    texts = counts.index.tolist()

    def share(pattern: re.Pattern[str], extra: Callable[[str], bool] = lambda t: True) -> float:
        return _weighted_share(counts, [bool(pattern.fullmatch(t)) and extra(t) for t in texts])

    def phone_digits(text: str) -> bool:
        digits = sum(c.isdigit() for c in text)
        spaced = any(c in " .-()+" for c in text)  # a bare run of digits is a number or id
        return spaced and _PHONE_DIGITS[0] <= digits <= _PHONE_DIGITS[1]

    for kind in ("email", "url", "ip_address"):
        if share(_PII_PATTERNS[kind]) >= PII_MIN_SHARE:
            return kind
    dated = share(_DATE_LIKE) >= PII_MIN_SHARE
    if not dated and share(_PII_PATTERNS["phone"], phone_digits) >= PII_MIN_SHARE:
        return "phone"
    unique = len(counts) / float(counts.sum())
    hinted = bool(_NAME_HINT.search(label))
    if share(_PERSON_NAME) >= PII_MIN_SHARE and (hinted or unique >= PII_MIN_UNIQUE_SHARE):
        words = np.mean([len(t.split()) for t in texts])
        if hinted or 2 <= words <= 4:
            return "person_name"
    if unique >= PII_MIN_SHARE and share(_ID_LIKE) >= PII_MIN_SHARE and not dated:
        return "identifier"
    return None


def _pii_check(counts: pd.Series, label: str, _width: int) -> DataWarning | None:
    kind = _pii_kind(counts, label)
    if kind is None:
        return None
    return DataWarning(
        "pii",
        label,
        f"values look like {PII_WORDS[kind]} (personal data)",
        "when mostly distinct they are generated in their learned format, never copied; set "
        f"columns: {{{label}: {{treatment: keep|exclude|hash}}}} to keep real values, drop "
        "the column or hash it",
    )


def _id_check(counts: pd.Series, label: str, _width: int) -> DataWarning | None:
    texts = counts.index.tolist()
    uuids = _weighted_share(counts, [bool(_UUID.fullmatch(t)) for t in texts])
    hashes = _weighted_share(counts, [bool(_HASH.fullmatch(t)) for t in texts])
    share, kind = max((uuids, "UUIDs"), (hashes, "hashes (hex of 32/40/64 characters)"))
    if share < ID_MIN_SHARE:
        return None
    return DataWarning(
        "uuid_or_hash",
        label,
        f"{share:.0%} of values look like {kind}",
        "it is generated as new identifiers in the learned format (never a training "
        "value); random ids carry no pattern, so set "
        f"columns: {{{label}: exclude}} if you do not need it",
    )


def _free_text_check(counts: pd.Series, label: str, width: int) -> DataWarning | None:
    if width < 2:
        return None
    texts = counts.index.to_series()
    weights = counts.to_numpy(dtype=float)
    chars = float(np.average(texts.str.len().to_numpy(dtype=float), weights=weights))
    words = float(np.average(texts.str.split().str.len().to_numpy(dtype=float), weights=weights))
    unique_share = len(counts) / float(weights.sum())
    long_text = chars >= FREE_TEXT_MIN_CHARS and words >= FREE_TEXT_MIN_WORDS
    if not (long_text and unique_share >= FREE_TEXT_MIN_UNIQUE_SHARE):
        return None
    return DataWarning(
        "free_text",
        label,
        f"free text beside other fields (on average {chars:.0f} characters, {words:.0f} "
        f"words; {unique_share:.0%} of values unique)",
        "it is learned as a text column (spelled character by character, conditioned on "
        f"the row), which slows training; set columns: {{{label}: exclude}} if you do not "
        "need it",
    )


def _whitespace_check(counts: pd.Series, label: str, _width: int) -> DataWarning | None:
    texts = counts.index.to_series()
    padded = (texts != texts.str.strip()).to_numpy()
    if not padded.any():
        return None
    rows = int(counts.to_numpy()[padded].sum())
    example = texts[padded].iloc[0]
    return DataWarning(
        "whitespace",
        label,
        f"{rows:,} values have leading or trailing whitespace (e.g. {example!r})",
        "strip the values (df[col].str.strip()) unless the spaces matter; otherwise ' x' and "
        "'x' are learned as different values",
    )


def _weighted_share(counts: pd.Series, hits: list[bool]) -> float:
    weights = counts.to_numpy(dtype=float)
    return float(weights[np.array(hits, dtype=bool)].sum() / weights.sum())
