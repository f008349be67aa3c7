"""Reading and writing tables: types round-trip through every format; bad input is explained."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from synthloom.errors import DataError
from synthloom.io.schema import ColumnInfo, TableFormat
from synthloom.io.tables import (
    conform_frame,
    describe_frame,
    detect_delimiter,
    read_table,
    write_table,
)
from tests.conftest import ADULT_SAMPLE as ADULT

# Every kind, written the way write_table writes it back (so the bytes must match).
MIXED_CSV = (
    "id,code,score,ok,day,us_day,note,empty,long_id\n"
    '1,007,0.1,true,2021-03-04,03/04/2021,"a, ""b""",,12345678901234567\n'
    ',012,2.675,false,2021-12-31,12/31/2021,"two\nlines",,12345678901234568\n'
    "3,100,1e-05,,,,héllo ☃ 漢字,,1\n"
    "-4,007,-3.5,true,2020-02-29,02/29/2020,NA,,2\n"
)
MIXED_KINDS = {
    "id": "integer",
    "code": "string",
    "score": "float",
    "ok": "boolean",
    "day": "datetime",
    "us_day": "datetime",
    "note": "string",
    "empty": "string",
    "long_id": "string",
}


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


def _kinds(table_format: TableFormat) -> dict[str, str]:
    return {c.name: c.kind for c in table_format.columns}


@pytest.fixture
def adult_slice(tmp_path: Path) -> Path:
    """adult.csv's header and first 200 rows, bytes untouched."""
    with ADULT.open("rb") as handle:
        head = b"".join(handle.readline() for _ in range(201))
    path = tmp_path / "adult200.csv"
    path.write_bytes(head)
    return path


# ------------------------------------------------------------------------ round trips


def test_adult_round_trip_is_byte_identical(adult_slice: Path, tmp_path: Path) -> None:
    df, table_format = read_table(adult_slice)
    assert len(df) == 200
    assert _kinds(table_format)["age"] == "integer"
    assert _kinds(table_format)["workclass"] == "string"
    assert str(df["age"].dtype) == "Int64"
    assert "?" in set(df["workclass"].dropna())  # a literal "?" is a value, not missing

    out = tmp_path / "out.csv"
    write_table(df, out, table_format)
    assert out.read_bytes() == adult_slice.read_bytes()
    again, again_format = read_table(out)
    pd.testing.assert_frame_equal(again, df)
    assert again_format == table_format


def test_mixed_kinds_are_read_with_one_dtype_each(tmp_path: Path) -> None:
    df, table_format = read_table(_write(tmp_path, "mixed.csv", MIXED_CSV))
    assert _kinds(table_format) == MIXED_KINDS
    assert [str(t) for t in df.dtypes[:4]] == ["Int64", "string", "Float64", "boolean"]
    assert str(df["day"].dtype).startswith("datetime64")
    assert table_format.column("score").decimals == 5
    assert table_format.column("day").datetime_format == "%Y-%m-%d"
    assert table_format.column("us_day").datetime_format == "%m/%d/%Y"
    assert df["id"].isna().tolist() == [False, True, False, False]
    assert df["code"].tolist() == ["007", "012", "100", "007"]
    assert df["note"].tolist() == ['a, "b"', "two\nlines", "héllo ☃ 漢字", "NA"]
    assert df["empty"].isna().all()
    assert df["long_id"][0] == "12345678901234567"
    assert df["us_day"][1] == pd.Timestamp("2021-12-31")


@pytest.mark.parametrize("suffix", [".csv", ".json", ".jsonl", ".parquet"])
def test_every_format_round_trips_every_kind(tmp_path: Path, suffix: str) -> None:
    source = _write(tmp_path, "mixed.csv", MIXED_CSV)
    df, table_format = read_table(source)
    out = tmp_path / f"out{suffix}"
    write_table(df, out, table_format)
    again, again_format = read_table(out)
    pd.testing.assert_frame_equal(again, df)
    assert _kinds(again_format) == MIXED_KINDS
    assert again_format.column("score").decimals == 5
    # Written back as CSV with the original format: dates, floats and codes as they were.
    back = tmp_path / "back.csv"
    write_table(again, back, table_format)
    assert back.read_text(encoding="utf-8") == MIXED_CSV


def test_json_values_keep_their_types(tmp_path: Path) -> None:
    source = _write(tmp_path, "mixed.csv", MIXED_CSV)
    df, table_format = read_table(source)
    write_table(df, tmp_path / "out.json", table_format)
    text = (tmp_path / "out.json").read_text(encoding="utf-8")
    assert text.startswith("[\n{")
    assert '"id": null' in text and '"score": 1e-05' in text and '"ok": true' in text
    assert '"code": "007"' in text and '"us_day": "03/04/2021"' in text


def test_floats_are_written_without_noise(tmp_path: Path) -> None:
    df = pd.DataFrame({"x": [0.1 + 0.2, 2.675, 1e-05, np.nan, -0.0001]})
    table_format = describe_frame(df)
    assert table_format.column("x").decimals == 10  # 0.30000000000000004 needs 17: capped
    out = tmp_path / "floats.csv"
    write_table(df, out, table_format)
    # A lone missing field is written "" so the row is not a blank line.
    assert out.read_text().split("\n")[1:-1] == ["0.3", "2.675", "1e-05", '""', "-0.0001"]

    rounded = TableFormat("csv", (ColumnInfo("x", "float", decimals=2),))
    write_table(df, out, rounded)
    assert out.read_text().split("\n")[1:-1] == ["0.3", "2.67", "0.0", '""', "0.0"]


def test_float_decimals_come_from_the_text(tmp_path: Path) -> None:
    path = _write(tmp_path, "f.csv", "x\n3.50\n1\n0.125\n")
    df, table_format = read_table(path)
    assert table_format.column("x").decimals == 3
    write_table(df, tmp_path / "out.csv", table_format)
    assert (tmp_path / "out.csv").read_text() == "x\n3.5\n1.0\n0.125\n"


def test_csv_in_parquet_out(tmp_path: Path) -> None:
    df, table_format = read_table(_write(tmp_path, "mixed.csv", MIXED_CSV))
    out = tmp_path / "out.parquet"
    write_table(df, out, table_format)  # format from the extension, not table_format
    assert out.read_bytes()[:4] == b"PAR1"
    pd.testing.assert_frame_equal(pd.read_parquet(out, dtype_backend="numpy_nullable"), df)


def test_output_format_falls_back_to_the_table_format(tmp_path: Path) -> None:
    df, table_format = read_table(_write(tmp_path, "t.csv", "a;b\n1;x\n"))
    write_table(df, tmp_path / "out.data", table_format)
    assert (tmp_path / "out.data").read_text() == "a;b\n1;x\n"
    with pytest.raises(DataError, match=r"output format.*\.data"):
        write_table(df, tmp_path / "out.data")


def test_write_orders_columns_and_needs_them_all(tmp_path: Path) -> None:
    table_format = TableFormat("csv", (ColumnInfo("b", "integer"), ColumnInfo("a", "boolean")))
    df = pd.DataFrame({"a": [True, None], "extra": ["x", "y"], "b": [1.0, np.nan]})
    write_table(df, tmp_path / "o.csv", table_format)
    assert (tmp_path / "o.csv").read_text() == "b,a,extra\n1,True,x\n,,y\n"
    with pytest.raises(DataError, match=r"lacks column.*'b'"):
        write_table(df.drop(columns="b"), tmp_path / "o.csv", table_format)


def test_all_empty_column_is_a_string_column_of_missing(tmp_path: Path) -> None:
    df, table_format = read_table(_write(tmp_path, "e.csv", "a,b\n1,\n2,\n"))
    assert table_format.column("b").kind == "string"
    assert df["b"].isna().all()
    write_table(df, tmp_path / "o.csv", table_format)
    assert (tmp_path / "o.csv").read_text() == "a,b\n1,\n2,\n"


def test_text_is_kept_exactly(tmp_path: Path) -> None:
    text = 'a,b,c\n NA, 1 ,?\n"",2,"  "\n'
    df, table_format = read_table(_write(tmp_path, "t.csv", text))
    assert df["a"].tolist()[0] == " NA"
    assert pd.isna(df["a"][1])  # a quoted empty field is missing too
    assert df["b"].tolist() == [" 1 ", "2"]  # " 1 " is not an integer: the column is text
    assert df["c"].tolist() == ["?", "  "]
    write_table(df, tmp_path / "o.csv", table_format)
    assert (tmp_path / "o.csv").read_text() == "a,b,c\n NA, 1 ,?\n,2,  \n"


def test_single_column_keeps_missing_rows(tmp_path: Path) -> None:
    df = pd.DataFrame({"x": ["a", None, "b"]})
    write_table(df, tmp_path / "o.csv")
    again, _ = read_table(tmp_path / "o.csv")
    assert again["x"].tolist()[0] == "a" and pd.isna(again["x"][1]) and len(again) == 3


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        (["True", "False", "True"], "boolean"),
        (["true", "False"], "string"),  # mixed spellings would not round-trip
        (["0", "1"], "integer"),
        (["1", "2.5"], "float"),
        (["1", "-0"], "float"),
        (["01", "2"], "string"),
        (["1234567890123456"], "string"),  # 16 digits: an ID
        (["123456789012345"], "integer"),
        (["1e400"], "string"),
        (["١٢"], "string"),  # non-ASCII digits are text
        (["2021-01-02 03:04:05", "2021-01-02 13:14:15"], "datetime"),
        (["13/01/2021", "01/02/2021"], "datetime"),
        (["2021-1-2"], "string"),  # would not print back the same
    ],
)
def test_kind_inference(tmp_path: Path, values: list[str], kind: str) -> None:
    df, table_format = read_table(_write(tmp_path, "k.csv", "x\n" + "\n".join(values) + "\n"))
    assert table_format.column("x").kind == kind
    write_table(df, tmp_path / "o.csv", table_format)
    if kind != "float":
        assert (tmp_path / "o.csv").read_text() == "x\n" + "\n".join(values) + "\n"


def test_day_first_dates_are_told_apart(tmp_path: Path) -> None:
    _, table_format = read_table(_write(tmp_path, "d.csv", "d\n03/04/2021\n13/04/2021\n"))
    assert table_format.column("d").datetime_format == "%d/%m/%Y"


def test_dates_need_95_percent_of_values(tmp_path: Path) -> None:
    dates = [f"2021-01-{day:02d}" for day in range(1, 20)]
    df, table_format = read_table(_write(tmp_path, "d.csv", "d\n" + "\n".join([*dates, "x"])))
    assert table_format.column("d").kind == "datetime"
    assert df["d"].isna().sum() == 1
    text = "d\n" + "\n".join([*dates[:18], "x", "y"])
    _, table_format = read_table(_write(tmp_path, "d.csv", text))
    assert table_format.column("d").kind == "string"


def test_json_and_jsonl_inputs(tmp_path: Path) -> None:
    records = (
        '{"n": 1, "f": 0.50, "b": true, "s": "007", "d": "2021-03-04", "o": "{}"},\n'
        '{"n": null, "f": 2, "b": false, "s": "x", "d": null, "extra": 5}'
    )
    for name, text in [("a.json", f"[{records}]"), ("a.jsonl", records.replace(",\n", "\n"))]:
        df, table_format = read_table(_write(tmp_path, name, text))
        assert table_format.file_format == Path(name).suffix[1:]
        assert table_format.names == ["n", "f", "b", "s", "d", "o", "extra"]
        assert _kinds(table_format) == {
            "n": "integer",
            "f": "float",
            "b": "boolean",
            "s": "string",
            "d": "datetime",
            "o": "string",
            "extra": "integer",
        }
        assert table_format.column("f").decimals == 2
        assert df["o"].tolist()[0] == "{}" and pd.isna(df["extra"][0])
    # Nested objects and lists would come back as text: refused, naming the column.
    nested = '{"n": 1, "o": {"k": 1}}\n{"n": 2, "o": {"k": 2}}'
    with pytest.raises(DataError, match="column 'o' holds objects"):
        read_table(_write(tmp_path, "nested.jsonl", nested))


def test_describe_frame_uses_dtypes() -> None:
    df = pd.DataFrame(
        {
            "i": np.array([1, 2], dtype="int32"),
            "f": [1.5, np.nan],
            "b": [True, False],
            "t": pd.to_datetime(["2021-01-01", "2021-01-02"]),
            "oi": pd.Series([1, None], dtype=object),
            "ob": pd.Series([True, None], dtype=object),
            "os": ["2021-01-01", None],  # typed input: strings stay strings
            "c": pd.Categorical(["x", "y"]),
            "none": [None, None],
        }
    )
    table_format = describe_frame(df)
    assert table_format.file_format == "dataframe"
    assert _kinds(table_format) == {
        "i": "integer",
        "f": "float",
        "b": "boolean",
        "t": "datetime",
        "oi": "integer",
        "ob": "boolean",
        "os": "string",
        "c": "string",
        "none": "string",
    }
    conformed = conform_frame(df, table_format)
    assert [str(t) for t in conformed.dtypes[:3]] == ["Int64", "Float64", "boolean"]
    assert str(conformed["oi"].dtype) == "Int64"


def test_describe_frame_rejects_bad_names() -> None:
    with pytest.raises(DataError, match="must be strings"):
        describe_frame(pd.DataFrame([[1, 2]]))
    with pytest.raises(DataError, match="duplicate column names: 'a'"):
        describe_frame(pd.DataFrame([[1, 2]], columns=["a", "a"]))


def test_datetimes_from_frames_get_a_format(tmp_path: Path) -> None:
    df = pd.DataFrame(
        {
            "day": pd.to_datetime(["2021-01-01", None]),
            "at": pd.to_datetime(["2021-01-01 10:00:00", "2021-01-02 00:00:00"]),
        }
    )
    write_table(df, tmp_path / "o.csv")
    assert (tmp_path / "o.csv").read_text() == (
        "day,at\n2021-01-01,2021-01-01 10:00:00\n,2021-01-02 00:00:00\n"
    )


# -------------------------------------------------------------------------- delimiters


@pytest.mark.parametrize("delimiter", [";", "|", "\t"])
@pytest.mark.parametrize("suffix", [".csv", ".txt", ".tsv"])
def test_delimiter_is_detected_and_kept(tmp_path: Path, delimiter: str, suffix: str) -> None:
    rows = [["a", "b", "c"], ["1", "x,y", "2021-03-04"], ["2", "z", "2021-03-05"]]
    text = "".join(delimiter.join(row) + "\n" for row in rows)
    df, table_format = read_table(_write(tmp_path, f"d{suffix}", text))
    assert table_format.delimiter == delimiter
    assert df["b"].tolist() == ["x,y", "z"]
    write_table(df, tmp_path / f"o{suffix}", table_format)
    assert (tmp_path / f"o{suffix}").read_text() == text


def test_detect_delimiter_respects_quotes_and_order() -> None:
    assert detect_delimiter(["a;b", '"x;y";z', ""]) == ";"
    assert detect_delimiter(["a,b:c", "1,2:3"]) == ","  # both fit: ',' comes first
    assert detect_delimiter(["a|b", '"multi', 'line"|c']) == "|"


def test_detect_delimiter_error_names_candidates() -> None:
    with pytest.raises(DataError, match=r"none of ',' ':' '\|' ';'.*field_delimiter"):
        detect_delimiter(["abc", "a;b"])


def test_undetectable_txt_and_field_delimiter(tmp_path: Path) -> None:
    path = _write(tmp_path, "t.txt", "a b\n1 2\n")
    with pytest.raises(DataError, match=r"t\.txt.*field_delimiter"):
        read_table(path)
    df, table_format = read_table(path, field_delimiter=" ")
    assert table_format.delimiter == " " and df["b"].tolist() == [2]
    with pytest.raises(DataError, match="one character"):
        read_table(path, field_delimiter="ab")


def test_single_column_csv(tmp_path: Path) -> None:
    df, table_format = read_table(_write(tmp_path, "one.csv", "time\n10:30\n11:45\n"))
    assert table_format.names == ["time"] and table_format.delimiter == ","
    assert df["time"].tolist() == ["10:30", "11:45"]


# -------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("t.xlsx", b"a,b\n1,2\n", r"unknown extension '\.xlsx'.*\.csv"),
        ("t.csv", b"", "is empty"),
        ("t.csv", b"a,b\n", "header but no rows"),
        ("t.csv", b"a,b\n1,2\n3,4,5\n6,7\n", "line 3 has 3 fields but the header has 2"),
        ("t.csv", b'a,b\n"x\ny",2\n3\n', "line 4 has 1 fields but the header has 2"),
        ("t.csv", b"a,b,a,c,b\n1,2,3,4,5\n", "duplicate column names: 'a', 'b'"),
        ("t.csv", "caf\u00e9,x\n1,2\n".encode("latin-1"), "not valid UTF-8.*iconv"),
        ("t.json", b'{"a": 1}', "not an array of objects"),
        ("t.json", b"[1, 2]", "item 0 .* not an object"),
        ("t.json", b"[]", "no records"),
        ("t.json", b'{"a": 1}\n{"a": 2}\n', "not valid JSON.*rename it to .jsonl"),
        ("t.jsonl", b'{"a": 1}\n[1]\n', "line 2 holds a JSON list"),
        ("t.jsonl", b'{"a": 1}\n{"a": \n', "line 2 is not valid JSON"),
        ("t.parquet", b"PAR1 not really", "could not be read as Parquet"),
    ],
)
def test_bad_input_is_explained(tmp_path: Path, name: str, content: bytes, expected: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DataError, match=expected):
        read_table(path)


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        read_table(tmp_path / "missing.csv")
    with pytest.raises(DataError, match="is a folder"):
        read_table(tmp_path)


def test_bad_values_for_a_kind(tmp_path: Path) -> None:
    table_format = TableFormat("csv", (ColumnInfo("n", "integer"),))
    with pytest.raises(DataError, match="column 'n' holds a value that is not a whole number"):
        write_table(pd.DataFrame({"n": ["abc"]}), tmp_path / "o.parquet", table_format)
    assert not list(tmp_path.iterdir())


def test_failed_write_keeps_the_old_file(tmp_path: Path) -> None:
    class Unprintable:
        def __str__(self) -> str:
            raise RuntimeError("cannot print")

    path = tmp_path / "out.csv"
    write_table(pd.DataFrame({"a": ["old"]}), path)
    with pytest.raises(RuntimeError, match="cannot print"):
        write_table(pd.DataFrame({"a": ["new", Unprintable()]}), path)
    assert path.read_text() == "a\nold\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


# ------------------------------------------------------------------------ properties

_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=12).map(lambda s: "s" + s)
_ROWS = st.lists(
    st.tuples(
        st.one_of(st.none(), st.integers(-(10**15) + 1, 10**15 - 1)),
        st.one_of(st.none(), _TEXT),
    ),
    min_size=1,
    max_size=20,
).filter(lambda rows: any(n is not None for n, _ in rows))


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=_ROWS, delimiter=st.sampled_from([",", ";", "\t"]))
def test_random_int_and_text_frames_round_trip(
    tmp_path: Path, rows: list[tuple[int | None, str | None]], delimiter: str
) -> None:
    df = pd.DataFrame(
        {
            "n": pd.array([n for n, _ in rows], dtype="Int64"),
            "s": pd.array([s for _, s in rows], dtype="string"),
        }
    )
    table_format = TableFormat(
        "csv", (ColumnInfo("n", "integer"), ColumnInfo("s", "string")), delimiter
    )
    path = tmp_path / "p.csv"
    write_table(df, path, table_format)
    again, again_format = read_table(path)
    assert again_format == table_format
    pd.testing.assert_frame_equal(again, df)
