"""The relational report: per-table reports plus what only a database has.

* per table: TVD accuracy of the learned columns (keys are new values, so not compared),
  and the full single-table report of :func:`synthloom.report.build_report` in a
  sub-folder named after the table;
* per foreign key: the children-per-parent distribution (real vs synthetic), scored as
  1 − Kolmogorov–Smirnov distance;
* per modelled parent → child link: parent–child correlations (Cramér's V between each
  parent column and each child column over joined rows), scored as 1 − mean |difference|;
* referential integrity.

:func:`build_relational_report` writes ``relational_report.json``, a self-contained
``relational_report.html`` (summary with links to the per-table reports, children-per-parent
histograms, parent–child correlations; charts inlined as PNG) and ``relational_report.pdf``.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy.stats import ks_2samp

from synthloom.encoding.clusters import cramers_v_matrix
from synthloom.errors import DataError, SynthloomError
from synthloom.io.names import safe_file_name
from synthloom.relational.keys import check_integrity
from synthloom.relational.schema import (
    ForeignKey,
    Schema,
    children_counts,
    key_index,
    parent_positions,
)

if TYPE_CHECKING:
    from synthloom.report import ReportOptions

log = logging.getLogger("synthloom")

REPORT_FILE = "relational_report.json"
HTML_FILE = "relational_report.html"
PDF_FILE = "relational_report.pdf"
MAX_LINK_COLUMNS = 8


def table_children_counts(tables: dict[str, pd.DataFrame], fk: ForeignKey) -> np.ndarray:
    """How many rows of ``fk.table`` each row of ``fk.parent`` has (zeros included)."""
    return children_counts(tables[fk.parent], fk, tables[fk.table])


def children_per_parent(
    real: dict[str, pd.DataFrame], synthetic: dict[str, pd.DataFrame], schema: Schema
) -> dict[str, dict[str, float]]:
    """Per foreign key of a synthesized table: KS complement and the mean counts."""
    result = {}
    for name in schema.order:
        for fk in schema.tables[name].foreign_keys:
            if fk.self_reference:
                continue
            a, b = table_children_counts(real, fk), table_children_counts(synthetic, fk)
            if not len(a) or not len(b):
                continue
            result[fk.name] = {
                "ks_complement": float(1 - ks_2samp(a, b).statistic),
                "real_mean": float(a.mean()),
                "synthetic_mean": float(b.mean()),
                "real_max": int(a.max()),
                "synthetic_max": int(b.max()),
                # the share of parent rows with at least one child
                "real_with_children": float((a > 0).mean()),
                "synthetic_with_children": float((b > 0).mean()),
            }
    return result


def _joined(tables: dict[str, pd.DataFrame], fk: ForeignKey, schema: Schema) -> pd.DataFrame:
    parent_cols = _link_columns(schema, fk.parent, tables)
    child_cols = _link_columns(schema, fk.table, tables)
    parent = tables[fk.parent]
    positions = parent_positions(parent, fk, tables[fk.table])
    linked = positions >= 0
    frame = tables[fk.table].loc[linked, child_cols].reset_index(drop=True)
    frame.columns = [f"child.{c}" for c in child_cols]
    for column in parent_cols:
        frame[f"parent.{column}"] = parent[column].to_numpy()[positions[linked]]
    return frame


def _link_columns(schema: Schema, name: str, tables: dict[str, pd.DataFrame]) -> list[str]:
    table = schema.tables[name]
    columns = table.data_columns if not table.original else table.columns
    keys = set(table.key_columns) - set(table.learned_keys)
    return [c for c in columns if c not in keys and c in tables[name].columns][:MAX_LINK_COLUMNS]


def parent_child_correlations(
    real: dict[str, pd.DataFrame], synthetic: dict[str, pd.DataFrame], schema: Schema
) -> dict[str, dict[str, Any]]:
    """Per modelled link: Cramér's V of parent × child columns, real vs synthetic."""
    result = {}
    for name in schema.order:
        fk = schema.tables[name].modelled_by
        if fk is None:
            continue
        a, b = _joined(real, fk, schema), _joined(synthetic, fk, schema)
        if a.empty or b.empty:
            continue
        parents = [c for c in a.columns if c.startswith("parent.")]
        children = [c for c in a.columns if c.startswith("child.")]
        if not parents or not children:
            continue
        va = cramers_v_matrix(a).loc[parents, children]
        vb = cramers_v_matrix(b[a.columns]).loc[parents, children]
        diff = (va - vb).abs().to_numpy()
        strongest = va.stack().sort_values(ascending=False).head(5)
        result[fk.name] = {
            "score": float(1 - np.nanmean(diff)),
            "top_pairs": [
                {
                    "parent": p,
                    "child": c,
                    "real": float(v),
                    "synthetic": float(vb.loc[p, c]),
                }
                for (p, c), v in strongest.items()
            ],
        }
    return result


def table_accuracy(
    real: dict[str, pd.DataFrame], synthetic: dict[str, pd.DataFrame], schema: Schema
) -> dict[str, float]:
    """TVD accuracy of every synthesized table over its learned (non-key) columns."""
    from synthloom.report.metrics import tvd_accuracy

    result = {}
    for name in schema.order:
        columns = schema.tables[name].data_columns
        if not columns or real[name].empty or synthetic[name].empty:
            continue
        score = tvd_accuracy(
            real[name][columns], synthetic[name][columns], max_bivariate_columns=20
        )
        result[name] = float(score.overall)
    return result


def child_sequences(
    real: dict[str, pd.DataFrame],
    synthetic: dict[str, pd.DataFrame],
    schema: Schema,
    order_by_all: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    """Sequence metrics of every child table, its rows grouped by modelling parent and
    put in ``order_by_all[table]`` order (else the rows' own order)."""
    from synthloom.report.sequences import sequence_scores

    result = {}
    for name in schema.order:
        table = schema.tables[name]
        fk = table.modelled_by
        if fk is None or real[name].empty or synthetic[name].empty:
            continue
        order_by = [c for c in (order_by_all or {}).get(name, []) if c in real[name]]
        sides = []
        for tables in (real, synthetic):
            entity = parent_positions(tables[fk.parent], fk, tables[name])
            keys = tables[name][order_by].reset_index(drop=True).assign(__entity=entity)
            order = keys.sort_values(["__entity", *order_by], kind="stable").index.to_numpy()
            order = order[entity[order] >= 0]
            sides.append((tables[name].iloc[order].reset_index(drop=True), entity[order]))
        result[fk.name] = sequence_scores(
            sides[0][0],
            sides[0][1],
            sides[1][0],
            sides[1][1],
            table.data_columns,
            order_by,
            len(real[fk.parent]),
            len(synthetic[fk.parent]),
        )
    return result


def lookup_references(
    real: dict[str, pd.DataFrame], synthetic: dict[str, pd.DataFrame], schema: Schema
) -> dict[str, float]:
    """Per reference into an original (lookup) table: 1 − TVD of the rows referenced."""
    from synthloom.report.sequences import reference_accuracy

    result = {}
    for name in schema.order:
        for fk in schema.tables[name].foreign_keys:
            if not schema.tables[fk.parent].original or real[name].empty:
                continue
            keys = [pd.Series(map(str, key_index(t[name], fk.columns))) for t in (real, synthetic)]
            result[fk.name] = reference_accuracy(keys[0], keys[1])
    return result


def relational_scores(
    real: dict[str, pd.DataFrame],
    synthetic: dict[str, pd.DataFrame],
    schema: Schema,
    order_by: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    """Every relational score (what ``relational_report.json`` holds)."""
    integrity = check_integrity(schema, synthetic)
    return {
        "tables": {
            name: {"real_rows": len(real[name]), "synthetic_rows": len(synthetic[name])}
            for name in schema.tables
        },
        "referential_integrity": integrity.share,
        "integrity_problems": integrity.problems,
        "tvd_accuracy": table_accuracy(real, synthetic, schema),
        "children_per_parent": children_per_parent(real, synthetic, schema),
        "parent_child_correlations": parent_child_correlations(real, synthetic, schema),
        "sequences": child_sequences(real, synthetic, schema, order_by),
        "lookup_references": lookup_references(real, synthetic, schema),
    }


def report_options(**changes: Any) -> ReportOptions:
    """Options of the per-table reports: fewer columns and rows than a single-table report,
    so that a database of many tables is reported in seconds; ``changes`` override them."""
    from synthloom.report import ReportOptions

    defaults: dict[str, Any] = {
        "max_columns_univariate": 24,
        "max_columns_bivariate": 12,
        "max_columns_knn": 24,
        "max_columns_phik": 12,
        "max_rows_correlation": 5_000,
        "max_rows_knn": 5_000,
        "max_rows_phik": 2_000,
        "max_rows_ml": 5_000,
    }
    return ReportOptions(**{**defaults, **changes})


def table_folder(name: str) -> str:
    """The sub-folder of a table's report (its name, made safe for a file system)."""
    return safe_file_name(name)


def _table_reports(
    real: dict[str, pd.DataFrame],
    synthetic: dict[str, pd.DataFrame],
    schema: Schema,
    output_dir: Path,
    options: ReportOptions,
    scores: dict[str, Any],
) -> None:
    """One single-table report per synthesized table; its scores go into ``scores``."""
    from synthloom.report import build_report

    # each table's privacy caution would be logged at length; the summary holds its level
    builder_log = logging.getLogger("synthloom.report.builder")
    level = builder_log.level
    builder_log.setLevel(logging.ERROR)
    try:
        for name in schema.order:
            entry = scores["tables"][name]
            columns = schema.tables[name].data_columns
            if not columns:
                entry["note"] = "no learned columns (keys only)"
                continue
            try:
                result = build_report(
                    real[name][columns],
                    synthetic[name][columns],
                    output_dir / table_folder(name),
                    options=replace(options, title=f"{name}: synthetic data report"),
                )
            except SynthloomError as exc:  # an empty table, say: the others still get one
                entry["note"] = f"no report: {exc}"
                log.info("%s: %s", name, entry["note"])
                continue
            entry["report"] = f"{table_folder(name)}/report.html"
            entry["quality_score"] = result.quality_score
            entry["privacy"] = result.privacy_level
    finally:
        builder_log.setLevel(level)


def build_relational_report(
    real: dict[str, pd.DataFrame],
    synthetic: dict[str, pd.DataFrame],
    schema: Schema,
    output_dir: str | Path,
    *,
    per_table_reports: bool = True,
    options: ReportOptions | None = None,
    title: str = "Synthetic database report",
    order_by: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    """Score a synthetic database against the real one and write the relational report.

    Writes, in ``output_dir``: ``relational_report.json`` (the scores returned),
    ``relational_report.html`` (self-contained) and ``relational_report.pdf``; with
    ``per_table_reports``, one single-table report (report.html/pdf/json) per synthesized
    table in a sub-folder named after it. ``options`` are the per-table report options
    (default :func:`report_options`: small samples, quick); ``order_by`` the tables'
    sequence order, for the order metrics.
    """
    from synthloom.relational.report_render import write_relational_report

    missing = [name for name in schema.tables if name not in real or name not in synthetic]
    if missing:
        raise DataError(
            f"the report needs every table of the schema; missing {missing} in the real or "
            "synthetic tables"
        )
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    scores = relational_scores(real, synthetic, schema, order_by)
    scores["left_out"] = schema.left_out_notes()  # rows of the source not learned from
    for name, entry in scores["tables"].items():
        entry["rows_left_out"] = sum(e["left_out"] for e in schema.left_out if e["table"] == name)
        entry["kind"] = "original" if schema.tables[name].original else "synthesized"
        if schema.tables[name].original:
            entry["note"] = "copied unchanged"
    if per_table_reports:
        _table_reports(real, synthetic, schema, output_dir, options or report_options(), scores)
    return write_relational_report(scores, real, synthetic, schema, output_dir, title)
