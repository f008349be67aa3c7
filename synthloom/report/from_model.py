"""The real side of a report, recovered from a trained table model's directory.

Training records where its data came from and which rows it held out (``holdout.json``);
no model learned from those rows, so they are a true holdout for the privacy check.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from synthloom.config import SyntheticsConfig
from synthloom.errors import DataError
from synthloom.io.model_dir import HOLDOUT_FILE, SUMMARY_FILE, read_json, require_model_dir
from synthloom.io.tables import read_table


def training_and_holdout(
    model_dir: str | Path, field_delimiter: str | None = None
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The rows a table model trained on and the rows it held out (None when none).

    Raises:
        DataError: the model was trained from a DataFrame, or its data file is gone or
            changed since training.
    """
    record_path = require_model_dir(model_dir) / HOLDOUT_FILE
    if not record_path.exists():
        raise DataError(f"{model_dir} does not record its training data (trained before 0.1)")
    record = read_json(record_path)
    source = record.get("data_source")
    if not source:
        raise DataError("the model was trained from a DataFrame, so its data is not on disk")
    if not Path(source).exists():
        raise DataError(f"the training data {source} is gone")
    frame, _ = read_table(source, field_delimiter=field_delimiter)
    rows = record.get("holdout_rows", [])
    if rows and max(rows) >= len(frame):
        raise DataError(f"the training data {source} changed since training (fewer rows)")
    held_out = frame.index.isin(rows)
    holdout = frame[held_out].reset_index(drop=True) if rows else None
    return frame[~held_out].reset_index(drop=True), holdout


def model_claims(model_dir: str | Path) -> dict[str, Any]:
    """What a model's training summary says the report should show beside its own
    figures, as report options: a DP model's claimed ε and δ, and what value protection
    changed."""
    summary_path = require_model_dir(model_dir) / SUMMARY_FILE
    summary = read_json(summary_path) if summary_path.exists() else {}
    claims: dict[str, Any] = {"value_protection": tuple(summary.get("value_protection") or ())}
    privacy = summary.get("privacy") or {}
    if privacy.get("epsilon") is not None:
        claims.update(dp_epsilon=float(privacy["epsilon"]), dp_delta=float(privacy["delta"]))
    return claims


def sensitive_columns(config: SyntheticsConfig) -> tuple[str, ...]:
    """The columns a model's config marks sensitive (``columns: {name: {sensitive: true}}``),
    as the report option ``sensitive_columns``. Excluded and hashed columns are left out:
    the synthetic data holds none of their real values to attack."""
    return tuple(
        name
        for name, options in config.columns.items()
        if options.sensitive and options.treatment in ("generate", "keep")
    )
