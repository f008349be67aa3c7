"""Data checks before training: each fires on a crafted table, all stay silent on clean data."""

from __future__ import annotations

import hashlib
import uuid

import numpy as np
import pandas as pd
import pytest

from synthloom.errors import ConfigError, DataError
from synthloom.validation import data_checks
from synthloom.validation.data_checks import DataWarning, apply_data_checks, run_data_checks
from tests.conftest import ADULT_SAMPLE as ADULT

ROWS = 300
WORDS = ["the", "quick", "brown", "fox", "jumps", "over", "a", "lazy", "dog", "while", "cats"]


@pytest.fixture(scope="module")
def adult() -> pd.DataFrame:
    return pd.read_csv(ADULT, keep_default_na=False, na_values=[""], dtype_backend="numpy_nullable")


def clean_frame(rows: int = ROWS) -> pd.DataFrame:
    """A tidy mixed table that no check should flag."""
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "age": pd.Series(rng.integers(18, 90, rows), dtype="Int64"),
            "price": np.round(rng.uniform(1, 500, rows), 2),
            "member": pd.Series(rng.random(rows) < 0.5, dtype="boolean"),
            "city": pd.Series(rng.choice(["Paris", "Rome", "Oslo", "Lima"], rows), dtype="string"),
            "joined": pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 900, rows), "D"),
            "code": pd.Series(rng.choice(["A-1", "B-2", None], rows), dtype=object),
            "flag": rng.integers(0, 2, rows),  # a dense 0/1 column is not one-hot
        }
    )


def sentences(rows: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(WORDS, 9)) for _ in range(rows)]


def checks_of(warnings: list[DataWarning]) -> list[tuple[str, str | None]]:
    return [(w.check, w.column) for w in warnings]


# ---------------------------------------------------------------- silence on clean data


def test_clean_crafted_frame_is_silent() -> None:
    assert run_data_checks(clean_frame()) == []


def test_real_adult_is_silent(adult: pd.DataFrame) -> None:
    """The adult sample has its spaces trimmed and '?' kept as a value: nothing to say."""
    assert run_data_checks(adult) == []


def test_adult_with_its_original_spaces(adult: pd.DataFrame) -> None:
    """The raw UCI file puts a space before each text value; that is what the check is for."""
    raw = adult.head(2000).copy()
    raw["workclass"] = " " + raw["workclass"]
    warnings = run_data_checks(raw)
    assert checks_of(warnings) == [("whitespace", "workclass")]
    assert "2,000 values have leading or trailing whitespace" in str(warnings[0])
    assert "column 'workclass'" in str(warnings[0])


# ---------------------------------------------------------------- each check fires


def test_uuid_and_hash_columns() -> None:
    frame = clean_frame().assign(
        id=[str(uuid.UUID(int=i * 7919 + 1)) for i in range(ROWS)],
        digest=[hashlib.sha256(str(i).encode()).hexdigest() for i in range(ROWS)],
        short_hex=[format(i, "x") for i in range(ROWS)],
    )
    warnings = run_data_checks(frame)
    assert checks_of(warnings) == [("uuid_or_hash", "id"), ("uuid_or_hash", "digest")]
    assert "look like UUIDs" in warnings[0].found
    assert "hashes" in warnings[1].found


def test_free_text_beside_other_fields() -> None:
    frame = clean_frame().assign(review=sentences(ROWS))
    warnings = run_data_checks(frame)
    assert checks_of(warnings) == [("free_text", "review")]
    assert "text column" in warnings[0].action
    alone = pd.DataFrame({"review": sentences(ROWS)})
    assert run_data_checks(alone) == []
    repeated = clean_frame().assign(review=sentences(3) * (ROWS // 3))  # not mostly unique
    assert run_data_checks(repeated) == []


def test_heavy_missing_and_empty_column() -> None:
    frame = clean_frame()
    gaps = pd.Series(frame["city"], dtype="string")
    gaps[: int(ROWS * 0.6)] = pd.NA
    some_gaps = pd.Series(frame["age"], dtype="Int64")
    some_gaps[: int(ROWS * 0.4)] = pd.NA
    empty_text = pd.Series([""] * ROWS, dtype=object)
    frame = frame.assign(gaps=gaps, some_gaps=some_gaps, nothing=pd.NA, blank=empty_text)
    warnings = run_data_checks(frame)
    assert checks_of(warnings) == [
        ("heavy_missing", "gaps"),
        ("empty_column", "nothing"),
        ("empty_column", "blank"),
    ]
    assert "60% of values are missing" in warnings[0].found
    assert "generated empty" in warnings[1].action


def test_high_float_precision() -> None:
    rng = np.random.default_rng(1)
    frame = clean_frame().assign(ratio=rng.random(ROWS), money=np.round(rng.random(ROWS), 6))
    warnings = run_data_checks(frame)
    assert checks_of(warnings) == [("high_precision", "ratio")]
    assert f"more than {data_checks.MAX_DECIMALS} decimals" in str(warnings[0])


def test_sparse_one_hot_columns() -> None:
    rng = np.random.default_rng(2)
    category = rng.integers(0, 8, ROWS)
    dummies = {f"is_{k}": (category == k).astype(np.int64) for k in range(8)}
    warnings = run_data_checks(clean_frame().assign(**dummies))
    assert checks_of(warnings) == [("sparse_one_hot", None)]
    assert "fold" in warnings[0].action and "categorical" in warnings[0].action
    assert "8 sparse 0/1 columns" in str(warnings[0]) and "is_0" in str(warnings[0])
    few = {f"is_{k}": dummies[f"is_{k}"] for k in range(data_checks.ONE_HOT_MIN_COLUMNS - 1)}
    assert run_data_checks(clean_frame().assign(**few)) == []


def test_very_large_and_very_wide() -> None:
    rows = data_checks.MAX_ROWS + 1
    large = pd.DataFrame({"n": np.arange(rows) % 1000})
    assert checks_of(run_data_checks(large)) == [("very_large", None)]
    assert run_data_checks(large.head(data_checks.MAX_ROWS)) == []
    rng = np.random.default_rng(3)
    cols = data_checks.MAX_COLUMNS
    wide = pd.DataFrame(rng.integers(2, 50, (20, cols + 1))).add_prefix("c")
    warnings = run_data_checks(wide)
    assert checks_of(warnings) == [("very_wide", None)]
    assert str(warnings[0]).startswith("[very_wide] table: 151 columns")
    assert run_data_checks(wide.iloc[:, :cols]) == []


def test_leading_and_trailing_whitespace() -> None:
    frame = clean_frame().assign(name=pd.Series(["Ann ", "Bob", " Cy"] * (ROWS // 3)))
    warnings = run_data_checks(frame)
    assert checks_of(warnings) == [("whitespace", "name")]
    assert "200 values" in warnings[0].found and "strip" in warnings[0].action


def test_warning_as_one_line() -> None:
    warning = DataWarning("heavy_missing", "income", "70% missing", "drop it")
    assert str(warning) == "[heavy_missing] column 'income': 70% missing; drop it"
    assert "\n" not in str(warning)


# ---------------------------------------------------------------- strategies


def problem_frame() -> pd.DataFrame:
    return clean_frame().assign(note=sentences(ROWS), pad=" x")


def test_strategy_log() -> None:
    lines: list[str] = []
    warnings = apply_data_checks(problem_frame(), "log", lines.append)
    assert checks_of(warnings) == [("free_text", "note"), ("whitespace", "pad")]
    assert lines == [f"data check: {w}" for w in warnings]
    assert apply_data_checks(clean_frame(), "log", lines.append) == [] and len(lines) == 2


def test_strategy_skip_runs_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(_df: pd.DataFrame) -> list[DataWarning]:
        raise AssertionError("skip must not run the checks")

    monkeypatch.setattr(data_checks, "run_data_checks", fail)
    lines: list[str] = []
    assert apply_data_checks(problem_frame(), "skip", lines.append) == []
    assert lines == []


def test_strategy_interrupt() -> None:
    lines: list[str] = []
    with pytest.raises(DataError) as caught:
        apply_data_checks(problem_frame(), "interrupt", lines.append)
    message = str(caught.value)
    assert "2 problem(s)" in message and "'interrupt'" in message
    assert "(1) [free_text] column 'note'" in message
    assert "(2) [whitespace] column 'pad'" in message
    assert apply_data_checks(clean_frame(), "interrupt", lines.append) == []
    assert lines == []


def test_unknown_strategy() -> None:
    with pytest.raises(ConfigError, match=r"data_checks\.strategy='warn'"):
        apply_data_checks(clean_frame(), "warn", print)
