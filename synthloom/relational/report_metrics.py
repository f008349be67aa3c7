"""The relational report's scores: what only a database has.

* per table: TVD accuracy of the learned columns (keys are new values, so not compared);
* per foreign key: the children-per-parent distribution (real vs synthetic), scored as
  1 − Kolmogorov–Smirnov distance;
* per modelled parent → child link: parent–child correlations (Cramér's V between each
  parent column and each child column over joined rows), scored as 1 − mean |difference|;
* per sequence child: the order and length metrics; per lookup reference: its accuracy;
* referential integrity.

Rendering (:mod:`synthloom.relational.report_render`) reads these; nothing here renders.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synthloom.encoding.clusters import cramers_v_matrix
from synthloom.relational.keys import check_integrity
from synthloom.relational.schema import (
    ForeignKey,
    Schema,
    children_counts,
    key_index,
    parent_positions,
)

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
    from scipy import stats  # a third of a second: only when a report is written

    result = {}
    for name in schema.order:
        for fk in schema.tables[name].foreign_keys:
            if fk.self_reference:
                continue
            a, b = table_children_counts(real, fk), table_children_counts(synthetic, fk)
            if not len(a) or not len(b):
                continue
            result[fk.name] = {
                "ks_complement": float(1 - stats.ks_2samp(a, b).statistic),
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
