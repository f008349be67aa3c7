"""Relational additions to the quality report.

* per table: TVD accuracy of the learned columns (keys are new values, so not compared),
  and optionally the full single-table report of :func:`synthloom.report.build_report`;
* per foreign key: the children-per-parent distribution (real vs synthetic), scored as
  1 − Kolmogorov–Smirnov distance;
* per modelled parent → child link: parent–child correlations (Cramér's V between each
  parent column and each child column over joined rows), scored as 1 − mean |difference|;
* referential integrity.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import ks_2samp

from synthloom.encoding.clusters import association_matrix
from synthloom.relational.keys import check_integrity
from synthloom.relational.schema import ForeignKey, Schema, key_index

REPORT_FILE = "relational_report.json"
MAX_LINK_COLUMNS = 8


def children_counts(tables: dict[str, pd.DataFrame], fk: ForeignKey) -> np.ndarray:
    """How many rows of ``fk.table`` each row of ``fk.parent`` has (zeros included)."""
    parent = key_index(tables[fk.parent], fk.parent_columns)
    positions = parent.get_indexer(key_index(tables[fk.table], fk.columns))
    return np.bincount(positions[positions >= 0], minlength=len(parent))


def children_per_parent(
    real: dict[str, pd.DataFrame], synthetic: dict[str, pd.DataFrame], schema: Schema
) -> dict[str, dict[str, float]]:
    """Per foreign key of a synthesized table: KS complement and the mean counts."""
    result = {}
    for name in schema.order:
        for fk in schema.tables[name].foreign_keys:
            if fk.self_reference:
                continue
            a, b = children_counts(real, fk), children_counts(synthetic, fk)
            if not len(a) or not len(b):
                continue
            result[fk.name] = {
                "ks_complement": float(1 - ks_2samp(a, b).statistic),
                "real_mean": float(a.mean()),
                "synthetic_mean": float(b.mean()),
                "real_max": int(a.max()),
                "synthetic_max": int(b.max()),
            }
    return result


def _joined(tables: dict[str, pd.DataFrame], fk: ForeignKey, schema: Schema) -> pd.DataFrame:
    parent_cols = _link_columns(schema, fk.parent, tables)
    child_cols = _link_columns(schema, fk.table, tables)
    parent = tables[fk.parent]
    positions = key_index(parent, fk.parent_columns).get_indexer(
        key_index(tables[fk.table], fk.columns)
    )
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
        va = association_matrix(a).loc[parents, children]
        vb = association_matrix(b[a.columns]).loc[parents, children]
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


def relational_scores(
    real: dict[str, pd.DataFrame], synthetic: dict[str, pd.DataFrame], schema: Schema
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
    }


def build_relational_report(
    real: dict[str, pd.DataFrame],
    synthetic: dict[str, pd.DataFrame],
    schema: Schema,
    output_dir: str | Path,
    *,
    per_table_reports: bool = False,
) -> dict[str, Any]:
    """Write ``relational_report.json`` (and, if asked, one full report per table)."""
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    scores = relational_scores(real, synthetic, schema)
    if per_table_reports:
        from synthloom.report import build_report

        for name in schema.order:
            columns = schema.tables[name].data_columns
            if columns and len(real[name]) and len(synthetic[name]):
                build_report(real[name][columns], synthetic[name][columns], output_dir / name)
                scores["tables"][name]["report"] = str(output_dir / name)
    (output_dir / REPORT_FILE).write_text(json.dumps(scores, indent=2), encoding="utf-8")
    return scores
