"""JSON and JSON Lines: records parsed into typed columns."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synthloom.errors import DataError
from synthloom.io.schema import (
    FileFormat,
    TableFormat,
)
from synthloom.io.tables.convert import _to_series
from synthloom.io.tables.inference import _infer_values


def _parse_json(text: str, path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        hint = (
            "; it looks like JSON Lines (one object per line): rename it to .jsonl"
            if exc.msg == "Extra data"
            else "; fix the JSON"
        )
        raise DataError(
            f"data file {path} is not valid JSON ({exc.msg} at line {exc.lineno} "
            f"column {exc.colno}){hint}"
        ) from None
    if not isinstance(data, list):
        raise DataError(
            f"data file {path} holds a JSON {type(data).__name__}, not an array of objects; "
            'give [{"column": value, ...}, ...], or one object per line in a .jsonl file'
        )
    for index, item in enumerate(data):
        if not isinstance(item, dict):
            raise DataError(
                f"data file {path}: item {index} of the JSON array is a "
                f"{type(item).__name__}, not an object; give an array of objects"
            )
    return data


def _parse_jsonl(text: str, path: Path) -> list[dict[str, Any]]:
    records = []
    for line_no, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line, parse_float=Decimal)
        except json.JSONDecodeError as exc:
            raise DataError(
                f"data file {path}: line {line_no} is not valid JSON ({exc.msg}); "
                "give one JSON object per line"
            ) from None
        if not isinstance(item, dict):
            raise DataError(
                f"data file {path}: line {line_no} holds a JSON {type(item).__name__}, "
                "not an object; give one JSON object per line"
            )
        records.append(item)
    return records


def _frame_from_records(
    records: list[dict[str, Any]], file_format: FileFormat, path: Path
) -> tuple[pd.DataFrame, TableFormat]:
    if not records:
        raise DataError(f"data file {path} has no records; give at least one JSON object")
    names = list(dict.fromkeys(key for record in records for key in record))
    if not names:
        raise DataError(f"data file {path} has no columns: every object is empty")
    infos, data = [], {}
    for name in names:
        values = [record.get(name) for record in records]
        _check_flat(name, values, path)
        info = _infer_values(name, values, detect_dates=True)
        infos.append(info)
        data[name] = _to_series(values, info)
    return pd.DataFrame(data), TableFormat(file_format, tuple(infos))


def _check_flat(name: str, values: list[Any], path: Path) -> None:
    """Refuse nested values (lists, objects): they would come back as strings."""
    nested = next((v for v in values if isinstance(v, list | dict | tuple | np.ndarray)), None)
    if nested is not None:
        kind = "objects (structs)" if isinstance(nested, dict) else "lists"
        raise DataError(
            f"data file {path}: column {name!r} holds {kind}, e.g. {str(nested)[:60]}; "
            "synthloom learns flat tables, and nested values would come back as text: "
            "flatten it into columns (e.g. pandas.json_normalize) or drop it"
        )
