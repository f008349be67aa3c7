"""Field codecs: every column kind encodes to its own tokens and decodes to its values."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from synthloom.encoding.fields import (
    EXACT_NUMERIC_MAX,
    NUM_BINS,
    CategoricalField,
    NumericField,
    TableCodec,
)
from synthloom.errors import DataError
from synthloom.io.schema import ColumnInfo

RNG = np.random.default_rng(0)


def test_categorical_tokens_follow_frequency_and_round_trip() -> None:
    column = pd.Series(["b", "a", "b", None, "c", "b", "a"])
    codec = CategoricalField.fit("x", column, seedable=False)
    assert codec.values == ["b", "a", "c"] and codec.counts == [3, 2, 1]
    assert codec.has_na and not codec.has_unk
    assert codec.vocab_sizes == [4]  # three values + <na>
    tokens = codec.encode(column)
    assert tokens[:, 0].tolist() == [0, 1, 0, 3, 2, 0, 1]
    back = codec.decode(tokens, RNG)
    assert back.tolist()[:3] == ["b", "a", "b"] and back.isna().tolist()[3]
    assert codec.banned() == [[]]


def test_unseen_value_is_an_error_unless_it_is_a_seed() -> None:
    plain = CategoricalField.fit("city", pd.Series(["Oslo", "Rome"]), seedable=False)
    with pytest.raises(DataError, match=r"column 'city': value 'Paris' was never seen"):
        plain.encode(pd.Series(["Paris"]))
    seedable = CategoricalField.fit("city", pd.Series(["Oslo", "Rome"]), seedable=True)
    assert seedable.encode(pd.Series(["Paris"]), seeds=True)[0, 0] == seedable.unk_token
    # <unk> stands only for seed values: the sampler never draws it
    assert seedable.banned() == [[seedable.unk_token]]


def test_missing_value_never_seen_is_an_error() -> None:
    codec = CategoricalField.fit("x", pd.Series(["a", "b"]), seedable=False)
    with pytest.raises(DataError, match="never seen"):
        codec.encode(pd.Series(["a", None]))


def test_numeric_bins_fine_positions_and_frequent_exact_values() -> None:
    rng = np.random.default_rng(1)
    values = pd.Series(np.concatenate([rng.normal(50, 10, 4000), np.zeros(1000)]))
    codec = NumericField.fit("x", values, "number")
    assert codec.exact == [0.0]  # 20 % of rows: a token of its own
    assert 2 <= len(codec.edges) <= NUM_BINS + 1
    assert codec.vocab_sizes == [1 + codec.n_bins, codec.fine_steps]
    tokens = codec.encode(values)
    assert tokens.shape == (5000, 2)
    assert (tokens[values == 0, 0] == 0).all()
    back = codec.decode(tokens, np.random.default_rng(2))
    assert (back[values == 0] == 0).all()
    # a decoded number lies in its bin's fine step: within one step width of the original
    widths = np.diff(codec.edges) / codec.fine_steps
    assert (back - values).abs().max() <= widths.max() + 1e-9
    # equal-frequency bins: each holds about 1/n_bins of the binned values
    shares = np.bincount(tokens[values != 0, 0] - 1) / (values != 0).sum()
    assert shares.max() < 3 / codec.n_bins


def test_numeric_values_outside_training_range_fall_in_edge_bins() -> None:
    codec = NumericField.fit("x", pd.Series(np.arange(1000.0)), "number")
    tokens = codec.encode(pd.Series([-1e6, 1e6]), seeds=True)
    assert tokens[:, 0].tolist() == [0, codec.n_bins - 1]


def test_numeric_missing_values_have_their_own_token() -> None:
    with_na = NumericField.fit("x", pd.Series([*range(500), None], dtype="Float64"), "number")
    tokens = with_na.encode(pd.Series([None, 3.0], dtype="Float64"))
    assert tokens[0, 0] == len(with_na.exact) + with_na.n_bins
    assert with_na.decode(tokens, RNG).isna().tolist() == [True, False]
    without = NumericField.fit("x", pd.Series(np.arange(500.0)), "number")
    with pytest.raises(DataError, match="missing values were never seen"):
        without.encode(pd.Series([None], dtype="Float64"))


def _frame() -> tuple[pd.DataFrame, list[ColumnInfo]]:
    rng = np.random.default_rng(3)
    n = 600
    frame = pd.DataFrame(
        {
            "age": pd.array(rng.integers(18, 90, n), dtype="Int64"),  # few values: exact
            "income": rng.lognormal(10, 1, n).round(2),  # many values: binned
            "day": pd.to_datetime("2020-01-01") + pd.to_timedelta(rng.integers(0, 900, n), "D"),
            "ok": pd.array(rng.random(n) < 0.3, dtype="boolean"),
            "city": rng.choice(["Oslo", "Rome", "Lima"], n),
        }
    )
    columns = [
        ColumnInfo("age", "integer"),
        ColumnInfo("income", "float", decimals=2),
        ColumnInfo("day", "datetime", datetime_format="%Y-%m-%d"),
        ColumnInfo("ok", "boolean"),
        ColumnInfo("city", "string"),
    ]
    return frame, columns


def test_table_codec_round_trips_every_kind_with_types() -> None:
    frame, columns = _frame()
    codec = TableCodec.fit(frame, columns, seed_fields=[])
    kinds = {f.name: f.kind for f in codec.fields}
    assert kinds == {
        "age": "categorical",  # 72 distinct ≤ EXACT_NUMERIC_MAX: one token per value
        "income": "numeric",
        "day": "numeric",
        "ok": "categorical",
        "city": "categorical",
    }
    assert frame["age"].nunique() <= EXACT_NUMERIC_MAX < frame["income"].nunique()
    assert codec.field("day").unit == "days"  # dates at midnight count days
    tokens = codec.encode(frame)
    assert tokens.shape == (len(frame), len(codec.vocab_sizes)) == (len(frame), 7)
    assert (tokens < np.array(codec.vocab_sizes)).all() and (tokens >= 0).all()
    back = codec.decode(tokens, np.random.default_rng(0))
    assert list(back.columns) == list(frame.columns)
    assert str(back["age"].dtype) == "Int64" and back["age"].tolist() == frame["age"].tolist()
    assert back["city"].tolist() == frame["city"].tolist()
    assert back["ok"].tolist() == frame["ok"].tolist()
    assert str(back["income"].dtype) == "Float64"
    cents = back["income"].to_numpy(dtype=float) * 100
    assert np.allclose(cents, cents.round(), atol=1e-6)  # 2 decimals, as declared
    relative = ((back["income"] - frame["income"]).abs() / frame["income"]).max()
    assert relative < 0.2
    assert pd.api.types.is_datetime64_any_dtype(back["day"])
    assert (back["day"] - frame["day"]).abs().max() <= pd.Timedelta(days=2)  # not 1970


def test_positions_and_banned_follow_the_field_widths() -> None:
    frame, columns = _frame()
    codec = TableCodec.fit(frame, columns, seed_fields=["city"])
    # age 1, income 2, day 2, ok 1, city 1 positions
    assert codec.positions(["income", "city"]) == [1, 2, 6]
    assert len(codec.banned) == 7
    assert codec.banned[6] == [codec.field("city").unk_token]


def test_seed_subset_and_bad_seed_number() -> None:
    frame, columns = _frame()
    codec = TableCodec.fit(frame, columns, seed_fields=["city", "age"])
    seeds = pd.DataFrame({"age": ["30"], "city": ["Paris"]})
    tokens = codec.encode(seeds, seeds=True)
    assert tokens.shape == (1, 2)
    assert tokens[0, 1] == codec.field("city").unk_token
    with pytest.raises(DataError, match="column 'age' is numeric but got 'old'; give a number"):
        codec.encode(pd.DataFrame({"age": ["old"]}), seeds=True)


def test_codec_survives_json() -> None:
    frame, columns = _frame()
    codec = TableCodec.fit(frame, columns, seed_fields=[])
    again = TableCodec.from_dict(json.loads(json.dumps(codec.to_dict())))
    np.testing.assert_array_equal(again.encode(frame), codec.encode(frame))
    pd.testing.assert_frame_equal(
        again.decode(codec.encode(frame), np.random.default_rng(5)),
        codec.decode(codec.encode(frame), np.random.default_rng(5)),
    )
