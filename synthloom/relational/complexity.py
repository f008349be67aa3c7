"""Complexity assessment before training: estimated cost and concrete suggestions.

The estimate is a rough figure from rows, columns, cardinalities and depth (measured
throughputs of a 2-core CPU); the notes say what makes the job easy or hard and what to
change.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from synthloom.relational.config import RelationalConfig
from synthloom.relational.schema import Schema

# Tokens (rows × fields) per second of an LSTM epoch, and cells per second of the
# statistical model, on a small CPU; enough for an order of magnitude.
LSTM_TOKENS_PER_SECOND = 120_000
AMPLIFY_CELLS_PER_SECOND = 400_000
# Generation: tokens sampled per second by an LSTM table model (a 2-core CPU made 3,500
# rows/s of an 18-column child table); the report: a fixed cost per table plus its cells.
LSTM_GENERATED_TOKENS_PER_SECOND = 60_000
REPORT_SECONDS_PER_TABLE = 5.0
REPORT_CELLS_PER_SECOND = 500_000
LARGE_TABLE_ROWS = 100_000
MANY_VALUES = 1000
DEEP_TREE = 4
BUDGET_SECONDS = 1800


@dataclass
class TableCost:
    """One table's share of the estimate."""

    rows: int
    columns: int
    max_cardinality: int
    engine: str
    seconds: float


@dataclass
class Assessment:
    """The estimate, a verdict and suggestions."""

    estimated_seconds: float  # training
    depth: int
    verdict: str  # positive or negative
    notes: list[str] = field(default_factory=list)
    tables: dict[str, TableCost] = field(default_factory=dict)
    generation_seconds: float = 0.0  # as many rows as the real tables
    report_seconds: float = 0.0

    @property
    def job_seconds(self) -> float:
        """The whole job: training, generation and the report."""
        return self.estimated_seconds + self.generation_seconds + self.report_seconds

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        data = asdict(self)
        data["tables"] = {name: asdict(cost) for name, cost in self.tables.items()}
        data["job_seconds"] = round(self.job_seconds, 1)
        return data

    def describe(self) -> str:
        """A short readable summary."""
        head = (
            f"complexity: {self.verdict}, about {_duration(self.estimated_seconds)} to train "
            f"{len(self.tables)} table model(s), depth {self.depth}; the whole job about "
            f"{_duration(self.job_seconds)} (generation {_duration(self.generation_seconds)}, "
            f"report {_duration(self.report_seconds)})"
        )
        return "\n".join([head, *(f"  - {note}" for note in self.notes)])


def assess(schema: Schema, frames: dict[str, pd.DataFrame], config: RelationalConfig) -> Assessment:
    """Estimate the training cost of ``schema`` and say what helps."""
    notes: list[str] = []
    tables: dict[str, TableCost] = {}
    bad = False
    for name in schema.order:
        table, frame = schema.tables[name], frames[name]
        data = frame[table.data_columns]
        cardinalities = {c: int(data[c].nunique()) for c in data.columns}
        top = max(cardinalities.values(), default=0)
        engine = config.engine_for(name)
        params = config.params_for(name)
        width = len(data.columns) + (config.context_size_for(False) + 2 if table.modelled_by else 0)
        if engine == "lstm":
            spread = 1 + math.log10(max(top, 10)) / 4
            seconds = params.epochs * len(frame) * (width + 1) * spread / LSTM_TOKENS_PER_SECOND
            if params.max_training_time_seconds:
                seconds = min(seconds, params.max_training_time_seconds)
        else:
            seconds = 0.5 + len(frame) * max(width, 1) / AMPLIFY_CELLS_PER_SECOND
        counts = sum(
            0.3 + len(frames[fk.parent]) * 4 / AMPLIFY_CELLS_PER_SECOND
            for fk in table.foreign_keys
            if not fk.self_reference
        )
        tables[name] = TableCost(len(frame), len(data.columns), top, engine, seconds + counts)
        if len(frame) > LARGE_TABLE_ROWS and engine == "lstm":
            bad = True
            notes.append(
                f"{name} has {len(frame):,} rows: set params.max_training_time_seconds, "
                f"fewer epochs, or tables.{name}.engine: amplify"
            )
        for column, count in cardinalities.items():
            if count > MANY_VALUES and count > 0.5 * len(frame) and _is_text(data[column]):
                bad = True
                notes.append(
                    f"{name}.{column} has {count:,} distinct texts (an identifier or free "
                    f"text?): mark it exclude or keep in tables.{name}.columns, or declare it "
                    "a key"
                )
        if len(data.columns) > params.field_cluster_size:
            notes.append(
                f"{name} has {len(data.columns)} columns (> field_cluster_size "
                f"{params.field_cluster_size}): it is split into clusters; excluding unneeded "
                "columns trains faster"
            )
        if 0 < len(frame) < 50 and any(
            fk.parent == name for fk in schema.foreign_keys() if not fk.self_reference
        ):
            notes.append(
                f"{name} has only {len(frame)} rows and is referenced: if it is not "
                f"sensitive, mark it original (tables.{name}.original: true)"
            )
    left = sum(entry["left_out"] for entry in schema.left_out)
    if left:
        learned = sum(len(frames[name]) for name in schema.order)
        notes.append(
            f"{learned + left:,} rows of synthesized tables read, {left:,} left out (their "
            f"references match no parent row), {learned:,} learned from"
        )
    depth = schema.depth()
    if depth > DEEP_TREE:
        bad = True
        notes.append(
            f"the tree of synthesized tables is {depth} levels deep: errors compound from "
            "level to level; mark lookup tables original or exclude tables you do not need"
        )
    total = sum(cost.seconds for cost in tables.values())
    if total > BUDGET_SECONDS:
        bad = True
        notes.append(
            f"the estimate ({_duration(total)}) is long: use engine amplify for large "
            "tables, lower params.epochs, or set params.max_training_time_seconds"
        )
    if not bad:
        notes.insert(
            0,
            f"{len(tables)} synthesized table(s), {sum(c.rows for c in tables.values()):,} "
            f"rows, {len(schema.originals)} original table(s), depth {depth}: a manageable "
            "job",
        )
    generation = sum(_generation_seconds(cost) for cost in tables.values())
    report = sum(
        REPORT_SECONDS_PER_TABLE + cost.rows * cost.columns / REPORT_CELLS_PER_SECOND
        for cost in tables.values()
    )
    verdict = "negative" if bad else "positive"
    return Assessment(
        round(total, 1), depth, verdict, notes, tables, round(generation, 1), round(report, 1)
    )


def _generation_seconds(cost: TableCost) -> float:
    """Generating as many rows as the real table has."""
    if cost.engine == "lstm":
        return cost.rows * (cost.columns + 1) / LSTM_GENERATED_TOKENS_PER_SECOND
    return 0.2 + cost.rows * max(cost.columns, 1) / AMPLIFY_CELLS_PER_SECOND


def _is_text(series: pd.Series) -> bool:
    return not (
        pd.api.types.is_numeric_dtype(series) or pd.api.types.is_datetime64_any_dtype(series)
    )


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
