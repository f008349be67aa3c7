"""Per-column verbatim copies, and what long text columns look like; see ``METRICS.md``.

A whole-row check misses a real email beside made-up attributes. Here every text column is
checked on its own: the share of synthetic values that are verbatim training values, beside
the same share for fresh real data (the holdout). A holdout's unique emails almost never
match; its categories always do — the comparison tells the two apart. Long text columns
also get their length distribution, vocabulary overlap and the share of character 8-grams
copied from training.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from synthloom.encoding.fields import STRING_MIN_UNIQUE_SHARE, TEXT_MIN_MEAN_LENGTH

#: A column's synthetic copy share above its chance share (the holdout's, else the share
#: of training values that repeat) by more than this gives "caution" / "warning".
VALUE_COPIES_CAUTION = 0.02
VALUE_COPIES_WARNING = 0.10
NGRAM = 8
LENGTH_BINS = 10
# Values read per table for these checks.
MAX_VALUES = 20_000


@dataclass(frozen=True)
class TextStats:
    """Long text: length accuracy (1 − TVD of length bins), vocabulary overlap and
    8-gram copy share, for the synthetic values and for the holdout (None without)."""

    length_accuracy: float
    length_accuracy_holdout: float | None
    vocabulary_overlap: float
    vocabulary_overlap_holdout: float | None
    ngram_copy_share: float
    ngram_copy_share_holdout: float | None


@dataclass(frozen=True)
class ValueCopies:
    """One text column: shares of values found verbatim among the training values."""

    column: str
    synthetic_share: float
    holdout_share: float | None
    training_repeat_share: float
    text: TextStats | None

    @property
    def baseline(self) -> float:
        """The share chance explains: the holdout's, else that of repeated training values."""
        return self.holdout_share if self.holdout_share is not None else self.training_repeat_share

    @property
    def excess(self) -> float:
        return self.synthetic_share - self.baseline

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["baseline"] = self.baseline
        return out


def value_copies(
    training: pd.DataFrame,
    synthetic: pd.DataFrame,
    holdout: pd.DataFrame | None,
    columns: Sequence[Hashable],
    seed: int = 0,
) -> list[ValueCopies]:
    """Per non-numeric column of ``columns``, verbatim copies (and text statistics)."""
    rng = np.random.default_rng(seed)
    out = []
    for column in columns:
        real = training[column]
        if pd.api.types.is_numeric_dtype(real.dtype) or pd.api.types.is_datetime64_any_dtype(
            real.dtype
        ):
            continue
        trn = _texts(real, rng)
        syn = _texts(synthetic[column], rng)
        hol = None if holdout is None else _texts(holdout[column], rng)
        if trn.empty or syn.empty:
            continue
        known = set(trn)
        counts = trn.value_counts()
        text = None
        if _is_long_text(trn):
            text = _text_stats(trn, syn, hol)
        out.append(
            ValueCopies(
                str(column),
                float(syn.isin(known).mean()),
                None if hol is None or hol.empty else float(hol.isin(known).mean()),
                float(trn.map(counts).gt(1).mean()),
                text,
            )
        )
    return out


def copy_level(copies: Sequence[ValueCopies]) -> tuple[str, list[str]]:
    """The verdict part of per-column copies: the worst column, and one reason each."""
    level, reasons = "ok", []
    for c in copies:
        if c.excess <= VALUE_COPIES_CAUTION:
            continue
        where = "fresh real data" if c.holdout_share is not None else "repeated training values"
        reasons.append(
            f"Column '{c.column}': {100 * c.synthetic_share:.1f}% of the synthetic values are "
            f"verbatim training values ({where}: {100 * c.baseline:.1f}%)."
        )
        if c.excess > VALUE_COPIES_WARNING:
            level = "warning"
        elif level == "ok":
            level = "caution"
    if level == "warning":
        reasons.append(
            "Real values (emails, names, ids) beside made-up attributes can disclose the "
            "people they belong to; set the column's kind to string (columns: {name: string}) "
            "so values are generated, or exclude it."
        )
    return level, reasons


def _texts(series: pd.Series, rng: np.random.Generator) -> pd.Series:
    values = series.dropna().astype(str)
    values = values[values != ""]
    if len(values) > MAX_VALUES:
        values = values.iloc[rng.choice(len(values), MAX_VALUES, replace=False)]
    return values.reset_index(drop=True)


def _is_long_text(values: pd.Series) -> bool:
    distinct = values.nunique() >= STRING_MIN_UNIQUE_SHARE * len(values)
    return distinct and values.str.len().mean() >= TEXT_MIN_MEAN_LENGTH


def _text_stats(trn: pd.Series, syn: pd.Series, hol: pd.Series | None) -> TextStats:
    lengths = trn.str.len().to_numpy()
    edges = np.unique(np.quantile(lengths, np.linspace(0, 1, LENGTH_BINS + 1)))
    vocabulary = {w for t in trn for w in t.split()}
    grams = {t[i : i + NGRAM] for t in trn for i in range(len(t) - NGRAM + 1)}

    def length_accuracy(other: pd.Series) -> float:
        def shares(x: np.ndarray) -> np.ndarray:
            bins = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, len(edges) - 1)
            return np.bincount(bins, minlength=len(edges)) / max(len(x), 1)

        return float(1 - 0.5 * np.abs(shares(lengths) - shares(other.str.len().to_numpy())).sum())

    def overlap(other: pd.Series) -> float:
        words = [w for t in other for w in t.split()]
        return float(np.mean([w in vocabulary for w in words])) if words else 0.0

    def copied(other: pd.Series) -> float:
        found = [t[i : i + NGRAM] in grams for t in other for i in range(len(t) - NGRAM + 1)]
        return float(np.mean(found)) if found else 0.0

    have = hol is not None and not hol.empty
    return TextStats(
        length_accuracy(syn),
        length_accuracy(hol) if have else None,  # type: ignore[arg-type]
        overlap(syn),
        overlap(hol) if have else None,  # type: ignore[arg-type]
        copied(syn),
        copied(hol) if have else None,  # type: ignore[arg-type]
    )
