"""Field validators: learned from real (adult) and crafted tables, each rule both ways."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from synthloom.config import Validators
from synthloom.errors import DataError, ModelDirError
from synthloom.validation.field_validators import (
    FieldValidators,
    is_balanced,
    numeric_bounds,
    value_mask,
)
from tests.conftest import ADULT_SAMPLE as ADULT


def read_adult() -> pd.DataFrame:
    """4,000 rows of the real adult training table."""
    return pd.read_csv(ADULT, keep_default_na=False, na_values=[""], dtype_backend="numpy_nullable")


@pytest.fixture(scope="module")
def adult() -> pd.DataFrame:
    return read_adult()


@pytest.fixture(scope="module")
def adult_validators(adult: pd.DataFrame) -> FieldValidators:
    return FieldValidators.learn(adult, Validators())


def learn(df: pd.DataFrame, **options: Any) -> FieldValidators:
    return FieldValidators.learn(df, Validators(**options))


def one_column(values: list[Any], dtype: str | None = None, **options: Any) -> FieldValidators:
    """Validators of a one-column table ``f``."""
    return learn(pd.DataFrame({"f": pd.Series(values, dtype=dtype)}), **options)


def assert_rejects(validators: FieldValidators, value: Any, *words: str) -> str:
    """``value`` in field ``f`` is rejected; the explanation names the field and ``words``."""
    why = validators.check_row({"f": value})
    assert why is not None, f"{value!r} was accepted"
    assert why.startswith("f: ")
    for word in words:
        assert word in why
    return why


def assert_accepts(validators: FieldValidators, *values: Any) -> None:
    for value in values:
        assert validators.check_row({"f": value}) is None, value


# ---------------------------------------------------------------- real data


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"use_numeric_iqr": False},
        {"allow_empty_values": False, "open_close_chars": "default"},
        {"in_set_count": 0, "pattern_count": 0},
        {"in_set_count": 100, "pattern_count": 100, "open_close_chars": ["()", "<>"]},
    ],
)
def test_adult_training_rows_all_pass(adult: pd.DataFrame, options: dict[str, Any]) -> None:
    validators = learn(adult, **options)
    verdicts = validators.check_frame(adult)
    assert verdicts.index.equals(adult.index)
    assert verdicts.isna().all(), verdicts.dropna().head().tolist()


def test_adult_rules_learned(adult_validators: FieldValidators) -> None:
    rules = {r.name: r for r in adult_validators.rules}
    assert rules["age"].kind == "integer" and rules["workclass"].kind == "string"
    assert rules["age"].low <= 17 and rules["age"].high >= 90
    assert adult_validators.allowed_values("sex") == ["Female", "Male"]
    assert adult_validators.allowed_values("fnlwgt") is None
    assert adult_validators.allowed_values("native_country") is None  # 42 > in_set_count
    with pytest.raises(KeyError, match="no validators for column 'nope'"):
        adult_validators.allowed_values("nope")


def test_adult_bad_record_explained(adult: pd.DataFrame, adult_validators: FieldValidators) -> None:
    row = adult.iloc[0].to_dict()
    assert adult_validators.check_row(row) is None
    bad = {**row, "age": 153, "sex": "Unknown", "fnlwgt": "abc", "native_country": "Atlantis"}
    why = adult_validators.check_row(bad)
    assert why is not None
    assert "age: 153 above the range" in why
    assert "sex: 'Unknown' not in the set of 2 training values (in_set_count)" in why
    assert "fnlwgt: 'abc' is not a number (data type integer)" in why
    assert "native_country: 'Atlantis'" in why


def test_adult_min_max_range_message(adult: pd.DataFrame) -> None:
    validators = learn(adult, use_numeric_iqr=False)
    row = adult.iloc[0].to_dict()
    assert validators.check_row({**row, "age": 153}) == "age: 153 above the range 17..90"
    assert validators.check_row({**row, "age": 16}) == "age: 16 below the range 17..90"


def test_check_frame_vectorised_on_adult_batch(
    adult: pd.DataFrame, adult_validators: FieldValidators
) -> None:
    """3,000 × 15: typed and all-text copies agree; broken rows are all explained."""
    batch = adult.sample(3000, random_state=1)
    as_text = batch.astype(str)
    assert adult_validators.check_frame(as_text).isna().all()
    broken = batch.copy()
    broken["age"] = broken["age"] + 200
    broken["race"] = "Martian"
    verdicts = adult_validators.check_frame(broken)
    assert verdicts.notna().all()
    assert verdicts.str.contains("age: ").all() and verdicts.str.contains("race: ").all()


# ---------------------------------------------------------------- data type


def test_integer_type() -> None:
    validators = one_column([1, 5, 9, 12, 20, 40], "Int64", in_set_count=0)
    assert_accepts(validators, 7, "7", 7.0)
    assert_rejects(validators, 3.5, "3.5 is not a whole number", "data type integer")
    assert_rejects(validators, "abc", "'abc' is not a number", "data type integer")
    assert_rejects(validators, True, "not a number")


def test_float_type() -> None:
    validators = one_column([0.5, 1.25, 2.0, 3.75], "Float64", in_set_count=0)
    assert_accepts(validators, 1.1, "2.5")
    assert_rejects(validators, "x1", "'x1' is not a number", "data type float")


def test_boolean_type_and_set() -> None:
    validators = one_column([True, False, True], "boolean")
    assert_accepts(validators, True, "false", "TRUE")
    assert_rejects(validators, "maybe", "'maybe' is not true/false", "data type boolean")
    only_true = one_column([True, True], "boolean")
    assert_rejects(only_true, False, "False not in the set", "in_set_count")


def test_datetime_type_and_range() -> None:
    days = pd.to_datetime(["2020-01-01", "2020-03-01", "2020-06-30", "2020-12-31"])
    validators = one_column(list(days), "datetime64[ns]", in_set_count=0)
    assert_accepts(validators, "2020-05-05", "2020-05-05 12:30:00", pd.Timestamp("2020-02-02"))
    assert_rejects(validators, "nope", "'nope' is not a date/time", "data type datetime")
    assert_rejects(validators, "2031-01-01", "after the range 2020-01-01T00:00:00..")


def test_datetime_time_zones() -> None:
    stamps = pd.to_datetime(["2020-01-01 12:00", "2020-01-02 12:00"]).tz_localize("Europe/Paris")
    validators = one_column(list(stamps), in_set_count=0)
    assert validators.check_frame(pd.DataFrame({"f": stamps})).isna().all()
    assert_accepts(validators, "2020-01-01T11:00:00Z")  # 12:00 in Paris
    assert_rejects(validators, "2020-01-01T10:59:00Z", "before the range")


# ---------------------------------------------------------------- numeric range


def test_min_max_range() -> None:
    validators = one_column(list(range(10, 31)), "Int64", use_numeric_iqr=False, in_set_count=0)
    assert_accepts(validators, 10, 30)
    assert_rejects(validators, 31, "f: 31 above the range 10..30")
    assert_rejects(validators, 9.0, "f: 9 below the range 10..30")


def test_iqr_fences_never_cut_training_values() -> None:
    """IQR fences widen min..max where the data is spread, never narrow it (outliers pass)."""
    values = [*range(100), 1000]
    iqr = one_column(values, "Int64", in_set_count=0)
    plain = one_column(values, "Int64", use_numeric_iqr=False, in_set_count=0)
    assert_accepts(iqr, 0, 1000)
    assert_rejects(iqr, -1, "below the range 0..1000")  # non-negative data stays non-negative
    spread = one_column(list(range(100)), "Int64", in_set_count=0)
    assert_accepts(spread, 120)
    assert_rejects(spread, 200, "above the range 0..149")
    assert_rejects(plain, 1001, "above the range 0..1000")
    low, high = numeric_bounds(np.array([5.0, 6.0, 7.0, -40.0, 90.0]), use_iqr=True)
    assert low <= -40.0 and high >= 90.0


def test_infinite_training_values_leave_range_open() -> None:
    validators = one_column([1.0, 2.0, np.inf], "float64", in_set_count=0)
    assert_accepts(validators, 1e300, np.inf)
    assert_rejects(validators, -5.0, "below the range")


# ---------------------------------------------------------------- integers in base 2/8/16


@pytest.mark.parametrize(
    ("values", "inside", "outside", "wrong", "rule"),
    [
        (["0x1f", "0x2a", "0xff", "0x10"], "0x20", "0x3ff", "1f", "base-16 range 0x0..0xff"),
        (["0b101", "0b1", "0b11", "0b0"], "0b10", "0b1111", "0b12", "base-2 range"),
        (["0o17", "0o7", "0o10", "0o1"], "0o6", "0o777", "0o8", "base-8 range"),
        (["1f", "2a", "ff", "10", "0c"], "2b", "3ff", "zz", "base-16 range 0..ff"),
    ],
)
def test_base_integers(values: list[str], inside: str, outside: str, wrong: str, rule: str) -> None:
    validators = one_column(values, "string", in_set_count=0, pattern_count=0)
    assert validators.rules[0].base_prefix is not None
    assert_accepts(validators, inside, *values)
    assert_rejects(validators, outside, rule)
    assert_rejects(validators, wrong)


def test_base_integers_keep_letter_case() -> None:
    validators = one_column(["0x1f", "0x2a", "0x10"], "string", in_set_count=0)
    assert_accepts(validators, "0x2b")  # any digit of the base, in the case training used
    assert_rejects(validators, "0x1F", "character 'F' outside the field's character set")


def test_categorical_columns_checked_as_text() -> None:
    frame = pd.DataFrame({"f": pd.Categorical(["lo", "hi", "lo", None])})
    validators = learn(frame)
    assert validators.allowed_values("f") == ["hi", "lo"]
    assert validators.check_frame(frame).isna().all()
    assert_rejects(validators, "mid", "not in the set of 2 training values")


def test_words_and_hashes_are_not_base_integers() -> None:
    assert one_column(["cafe", "bead", "face"], "string").rules[0].base_prefix is None
    assert one_column(["123", "456"], "string").rules[0].base_prefix is None
    hashes = ["a" * 31 + "1", "b" * 31 + "2"]  # beyond 64-bit integers: no range check
    assert one_column(hashes, "string").rules[0].base_prefix is None


# ---------------------------------------------------------------- string rules


def test_character_set() -> None:
    validators = one_column(["Zoë", "Ann", "Bob-Lee"], "string", in_set_count=0, pattern_count=0)
    assert_accepts(validators, "Bob", "Zoë-A")
    assert_rejects(validators, "Zoé", "has character 'é' outside the field's character set")


def test_length_range() -> None:
    validators = one_column(["abc", "abcd", "abcde"], "string", in_set_count=0)
    assert_accepts(validators, "cab", "edcba")
    assert_rejects(validators, "ab", "length 2 outside the length range 3..5")
    assert_rejects(validators, "abcabc", "length 6 outside the length range 3..5")


def test_in_set() -> None:
    validators = one_column(["red", "green", "blue", "red"], "string", in_set_count=3)
    assert validators.allowed_values("f") == ["blue", "green", "red"]
    assert_accepts(validators, "green")
    assert_rejects(validators, "gren", "'gren' not in the set of 3 training values (in_set_count)")
    looser = one_column(["red", "green", "blue"], "string", in_set_count=2)
    assert looser.allowed_values("f") is None
    assert_accepts(looser, "bed")
    numbers = one_column([1, 3, 5, 3], "Int64")
    assert numbers.allowed_values("f") == [1, 3, 5]
    assert_rejects(numbers, 4, "f: 4 not in the set of 3 training values (in_set_count): 1, 3, 5")


def test_patterns() -> None:
    phones = [f"{100 + 7 * i}-{1000 + 37 * i}" for i in range(20)]
    validators = one_column(phones, "string", in_set_count=10, pattern_count=10)
    assert validators.rules[0].patterns == ["ddd-dddd"]
    assert_accepts(validators, "555-1234")
    assert_rejects(validators, "55-51234", "has pattern 'dd-ddddd'", "(pattern_count)")
    off = one_column(phones, "string", in_set_count=10, pattern_count=0)
    assert_accepts(off, "55-51234")
    assert value_mask("867-5309") == "ddd-dddd" and value_mask("Ab 1é") == "aa da"


def test_open_close_chars() -> None:
    texts = ["f(a[b])", '"q"', "{x}", "plain", "(a)(b)"]
    validators = one_column(
        texts, "string", open_close_chars="default", in_set_count=0, pattern_count=0
    )
    assert_accepts(validators, "(a)", '"(b)"', "[(a)]")
    assert_rejects(validators, "(a]", "unbalanced open/close characters", "(open_close_chars)")
    assert_rejects(validators, "((a)", "unbalanced")
    off = one_column(texts, "string", in_set_count=0, pattern_count=0)
    assert_accepts(off, "(a]")
    custom = one_column(
        ["<a>", "<<b>>", "c"], "string", open_close_chars=["<>"], in_set_count=0, pattern_count=0
    )
    assert_rejects(custom, "<a", "unbalanced")
    # A field whose own values do not balance gets no such rule (no false rejections).
    unbalanced = one_column(["5'10\"", "6'\""], "string", open_close_chars="default")
    assert unbalanced.rules[0].pairs is None


@pytest.mark.parametrize(
    ("text", "balanced"),
    [("", True), ("a(b)c", True), ('("")', True), ('(")', False), (")(", False), ("[(])", False)],
)
def test_is_balanced(text: str, balanced: bool) -> None:
    assert is_balanced(text, ['""', "()", "[]", "{}"]) is balanced


# ---------------------------------------------------------------- empty values


def test_empty_values_allowed_by_default() -> None:
    validators = one_column(["a", "b", None], "string")
    assert_accepts(validators, None, "", np.nan, pd.NA)


def test_allow_empty_values_false() -> None:
    frame = pd.DataFrame(
        {
            "f": pd.Series(["a", "b", "c"], dtype="string"),
            "n": pd.Series([1, 2, 3], dtype="Int64"),
            "blank": pd.Series([None, None, None], dtype="string"),
        }
    )
    validators = learn(frame, allow_empty_values=False)
    row = {"f": "a", "n": 1, "blank": None}
    assert validators.check_row(row) is None
    rule = "empty value not allowed (allow_empty_values: false)"
    assert validators.check_row({**row, "f": ""}) == f"f: {rule}"
    assert validators.check_row({**row, "n": None}) == f"n: {rule}"
    assert validators.check_row({**row, "blank": ""}) is None  # empty in every training record
    why = validators.check_row({**row, "blank": "x"})
    assert why == "blank: 'x' should be empty, as in every training record"


# ---------------------------------------------------------------- frames and persistence


def test_absent_fields_are_skipped_and_extra_columns_ignored() -> None:
    validators = learn(pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}))
    verdicts = validators.check_frame(pd.DataFrame({"a": [1, 9], "c": [0, 0]}, index=[5, 6]))
    assert verdicts.index.tolist() == [5, 6]
    assert verdicts[5] is None and verdicts[6].startswith("a: 9 above the range")
    assert validators.check_row({"b": "x"}) is None
    assert validators.check_frame(pd.DataFrame(index=range(3))).isna().all()


def test_round_trip(adult_validators: FieldValidators) -> None:
    frame = pd.DataFrame(
        {
            "hex": pd.Series(["0x1f", "0x2a"], dtype="string"),
            "when": pd.to_datetime(["2020-01-01", "2021-01-01"]),
            "flag": pd.Series([True, False], dtype="boolean"),
            "x": [0.5, 1.5],
            "txt": pd.Series(["(a)", "b"], dtype="string"),
        }
    )
    for validators in (adult_validators, learn(frame, open_close_chars="default")):
        data = json.loads(json.dumps(validators.to_dict()))
        again = FieldValidators.from_dict(data)
        assert again == validators and again.to_dict() == data
    sample = frame.assign(x=[9.5, 1.0])
    assert again.check_frame(sample).tolist() == validators.check_frame(sample).tolist()


def test_bad_dict_and_empty_table() -> None:
    with pytest.raises(ModelDirError, match="format_version"):
        FieldValidators.from_dict({"fields": []})
    with pytest.raises(ModelDirError, match="unknown keys"):
        FieldValidators.from_dict({"format_version": 1, "fields": [{"name": "a", "kind": "x"}]})
    with pytest.raises(DataError, match="empty table"):
        learn(pd.DataFrame({"a": []}))
    with pytest.raises(DataError, match="more than once"):
        learn(pd.DataFrame([[1, 2]], columns=["a", "a"]))


# ---------------------------------------------------------------- properties

cell_text = st.text(alphabet="ab(1-) é", max_size=6)
tables = st.integers(1, 12).flatmap(
    lambda n: st.fixed_dictionaries(
        {
            "i": st.lists(st.one_of(st.none(), st.integers(-1000, 1000)), min_size=n, max_size=n),
            "x": st.lists(
                st.one_of(st.none(), st.floats(-1e6, 1e6, allow_nan=False)), min_size=n, max_size=n
            ),
            "t": st.lists(st.one_of(st.none(), cell_text), min_size=n, max_size=n),
        }
    )
)


def build(table: dict[str, list[Any]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "i": pd.Series(table["i"], dtype="Int64"),
            "x": pd.Series(table["x"], dtype="Float64"),
            "t": pd.Series(table["t"], dtype="string"),
        }
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    table=tables,
    iqr=st.booleans(),
    counts=st.integers(0, 4),
    pairs=st.sampled_from([None, "default"]),
)
def test_training_rows_always_pass(
    table: dict[str, list[Any]], iqr: bool, counts: int, pairs: str | None
) -> None:
    frame = build(table)
    validators = learn(
        frame,
        use_numeric_iqr=iqr,
        in_set_count=counts,
        pattern_count=counts,
        open_close_chars=pairs,
    )
    assert frame.pipe(validators.check_frame).isna().all()
    assert frame.astype(object).pipe(validators.check_frame).isna().all()


@settings(max_examples=40, deadline=None)
@given(table=tables, other=tables)
def test_check_row_agrees_with_check_frame(
    table: dict[str, list[Any]], other: dict[str, list[Any]]
) -> None:
    validators = learn(build(table), in_set_count=3)
    frame = build(other)
    verdicts = validators.check_frame(frame)
    for position, row in enumerate(frame.to_dict("records")):
        assert validators.check_row(row) == verdicts.iloc[position]


def test_emails_keep_their_format_and_names_their_shapes() -> None:
    rng = np.random.default_rng(0)
    first = ["ann", "bo", "carl", "deedee", "eve", "finn", "gustav", "hal", "ivy", "jo", "kai"]
    emails = [
        f"{rng.choice(first)}{'.' if i % 2 else '_'}{rng.choice(first)}{i}@mail{i % 7}.com"
        for i in range(300)
    ]
    names = [f"{rng.choice(first).title()} {rng.choice(first).title()}" for _ in range(300)]
    validators = FieldValidators.learn(pd.DataFrame({"email": emails, "name": names}))
    rules = {r.name: r for r in validators.rules}
    assert rules["email"].format == "email" and rules["email"].shapes is None
    assert rules["name"].format is None and rules["name"].shapes == ["a a"]
    generated = pd.DataFrame(
        {
            "email": ["kai.bo3@mail2.com", "kai..bo@mail2.com", "kai@mail2", "bo_kai12@mail3.com"],
            "name": ["Eve Jo", "EveJo", "Eve  Jo", "Jo Eve"],
        }
    )
    assert validators.check_frame(generated).isna().tolist() == [True, False, False, True]
