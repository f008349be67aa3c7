"""Column kinds under DP: chosen by the sparse vector technique, not by the raw values.

Reading a CSV or JSON file infers each column's kind from all of its values, so one record
can turn an integer column into text. Under DP that choice is remade: for every column
whose kind was inferred (not declared by Parquet or a DataFrame dtype), the public list of
kinds is tried from the most specific (booleans, integers, floats, each date format) to
text, and the first whose noisy count of values that do not fit it is under a tolerance
of the released row count is taken (:func:`~synthloom.privacy.domain.private_first_below`,
ε per column). Values that do not fit the chosen kind become missing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from synthloom.io.schema import ColumnInfo, TableFormat
from synthloom.io.tables import (
    BOOLEAN_TEXTS,
    DATETIME_FORMATS,
    DEFAULT_BOOLEAN_TEXT,
    text_fits_kind,
    typed_series,
)
from synthloom.privacy.domain import private_first_below

log = logging.getLogger(__name__)

# Share of a column's values that may not fit its kind (they come out missing). Generous,
# so that the noise rarely pushes a clean column past its kind on small tables.
KIND_TOLERANCE = 0.2
# The kinds tried, most specific first: (kind, boolean spelling or date format).
CANDIDATES: tuple[tuple[str, Any], ...] = (
    *(("boolean", truth) for truth in BOOLEAN_TEXTS),
    ("integer", None),
    ("float", None),
    *(("datetime", fmt) for fmt in DATETIME_FORMATS),
)


def inferred_columns(frame: pd.DataFrame, table_format: TableFormat) -> list[str]:
    """Columns whose kind was read off their values (declared ones are public)."""
    if table_format.file_format == "parquet":
        return []
    if table_format.file_format == "dataframe":
        return [c for c in frame.columns if frame[c].dtype == object]
    return list(frame.columns)


def private_kinds(
    frame: pd.DataFrame,
    table_format: TableFormat,
    columns: list[str],
    n_released: int,
    epsilon: float,
    rng: np.random.Generator,
) -> tuple[pd.DataFrame, TableFormat]:
    """``frame`` and its format with each of ``columns`` retyped by an ε-DP choice."""
    frame = frame.copy()
    infos = {c.name: c for c in table_format.columns}
    booleans = dict(table_format.extra.get("boolean_text", {}))
    threshold = KIND_TOLERANCE * n_released
    if threshold < 10 * 4 / epsilon:
        log.warning(
            "DP: %d rows leave little room for choosing column kinds privately (ε=%.3g per "
            "column); declare the types with a Parquet file or typed DataFrame columns",
            n_released,
            epsilon,
        )
    for name in columns:
        info = infos[name]
        texts = _texts(frame[name], info, booleans.get(name))
        index = private_first_below(_failures(texts), threshold, epsilon, rng)
        kind, detail = CANDIDATES[index] if index is not None else ("string", None)
        infos[name], frame[name] = _retyped(name, texts, kind, detail)
        booleans.pop(name, None)
        if kind == "boolean":
            booleans[name] = list(detail)
    extra = {k: v for k, v in table_format.extra.items() if k != "boolean_text"}
    if booleans:
        extra["boolean_text"] = booleans
    columns_out = tuple(infos[c.name] for c in table_format.columns)
    return frame, replace(table_format, columns=columns_out, extra=extra)


def _texts(series: pd.Series, info: ColumnInfo, truth: list[str] | None) -> pd.Series:
    """The column as the text it was read from (typed values print back exactly)."""
    present = series.dropna()
    if info.kind == "datetime" and info.datetime_format:
        text = pd.to_datetime(present).dt.strftime(info.datetime_format)
    elif info.kind == "boolean":
        spelled = tuple(truth) if truth else DEFAULT_BOOLEAN_TEXT
        text = present.map(lambda v: spelled[0] if v else spelled[1])
    elif info.kind == "float":
        text = present.map(lambda v: repr(float(v)))
    else:
        text = present.map(str)
    return text.astype(object).reindex(series.index)


def _failures(texts: pd.Series) -> Iterator[int]:
    """For each candidate in turn, how many present values do not fit it (sensitivity 1)."""
    counts = texts.dropna().astype(str).value_counts()
    for kind, detail in CANDIDATES:
        fits = [text_fits_kind(text, kind, detail) for text in counts.index]
        yield int(counts[[not ok for ok in fits]].sum())


def _fits(texts: pd.Series, kind: str, detail: Any) -> pd.Series:
    """Which values fit ``kind``, by the reader's own rules (each distinct value once)."""
    verdict = {text: text_fits_kind(text, kind, detail) for text in texts.unique()}
    return texts.map(verdict).astype(bool)


def _retyped(name: str, texts: pd.Series, kind: str, detail: Any) -> tuple[ColumnInfo, pd.Series]:
    """The column in ``kind``; values that do not fit it become missing."""
    fits = pd.Series(False, index=texts.index)
    present = texts.notna()
    fits[present] = _fits(texts[present].astype(str), kind, detail)
    values = [t if ok else None for t, ok in zip(texts.tolist(), fits.tolist(), strict=True)]
    if kind == "datetime":
        info = ColumnInfo(name, "datetime", datetime_format=detail)
    elif kind == "float":
        info = ColumnInfo(name, "float")  # decimals come from the released values
    else:
        info = ColumnInfo(name, kind)
    truth = tuple(detail) if kind == "boolean" else None
    return info, typed_series(values, info, truth)


def retype_like(frame: pd.DataFrame, before: TableFormat, after: TableFormat) -> pd.DataFrame:
    """``frame`` (read as ``before`` says) with each column retyped as ``after`` chose
    (:func:`private_kinds` on a sample of it): post-processing of the DP choice."""
    frame = frame.copy()
    old = {c.name: c for c in before.columns}
    truths = before.extra.get("boolean_text", {})
    chosen = after.extra.get("boolean_text", {})
    for info in after.columns:
        was = old.get(info.name)
        if (
            was is None
            or info.name not in frame
            or (was.kind, was.datetime_format)
            == (
                info.kind,
                info.datetime_format,
            )
        ):
            continue
        texts = _texts(frame[info.name], was, truths.get(info.name))
        detail = chosen.get(info.name) if info.kind == "boolean" else info.datetime_format
        _, frame[info.name] = _retyped(info.name, texts, info.kind, detail)
    return frame
