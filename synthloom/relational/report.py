"""The relational report: per-table reports plus what only a database has.

Scores come from :mod:`synthloom.relational.report_metrics` (children per parent,
parent–child correlations, sequences, lookup references, integrity) and pictures from
:mod:`synthloom.relational.report_render`; this module runs them in that order, with the
full single-table report of :func:`synthloom.report.build_report` per synthesized table
in a sub-folder named after it.

:func:`build_relational_report` writes ``relational_report.json``, a self-contained
``relational_report.html`` (summary with links to the per-table reports, children-per-parent
histograms, parent–child correlations; charts inlined as PNG) and ``relational_report.pdf``.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from synthloom.errors import DataError, SynthloomError
from synthloom.io.names import safe_file_name
from synthloom.relational.report_metrics import (
    HTML_FILE,
    PDF_FILE,
    REPORT_FILE,
    relational_scores,
)
from synthloom.relational.schema import Schema

if TYPE_CHECKING:
    from synthloom.report import ReportOptions

__all__ = ["HTML_FILE", "PDF_FILE", "REPORT_FILE", "build_relational_report", "report_options"]

log = logging.getLogger("synthloom")


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
    protected: dict[str, tuple[dict[str, Any], ...]],
    sensitive: dict[str, tuple[str, ...]],
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
                    options=replace(
                        options,
                        title=f"{name}: synthetic data report",
                        value_protection=protected.get(name, ()),
                        sensitive_columns=tuple(c for c in sensitive.get(name, ()) if c in columns),
                    ),
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
    protected: dict[str, tuple[dict[str, Any], ...]] | None = None,
    sensitive: dict[str, tuple[str, ...]] | None = None,
    privacy: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Score a synthetic database against the real one and write the relational report.

    Writes, in ``output_dir``: ``relational_report.json`` (the scores returned),
    ``relational_report.html`` (self-contained) and ``relational_report.pdf``; with
    ``per_table_reports``, one single-table report (report.html/pdf/json) per synthesized
    table in a sub-folder named after it. ``options`` are the per-table report options
    (default :func:`report_options`: small samples, quick); ``order_by`` the tables'
    sequence order, for the order metrics; ``protected`` what value protection changed in
    each table's training rows (:meth:`RelationalSynthesizer.value_protection`);
    ``sensitive`` each table's sensitive columns, for the per-table reports'
    attribute-inference attack (:meth:`RelationalSynthesizer.sensitive_columns`);
    ``privacy`` a DP model's account (:meth:`RelationalSynthesizer.privacy_account`): its
    (ε, δ) in ``relational_report.json`` and, as the claim each attack is measured
    against, in every table's report.
    """
    # matplotlib loads only when a report is written, not when the CLI starts
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
    if privacy is not None:
        scores["privacy"] = {
            k: privacy[k] for k in ("epsilon", "delta", "neighbouring") if k in privacy
        }
    if per_table_reports:
        options = options or report_options()
        if privacy is not None:
            options = replace(
                options, dp_epsilon=float(privacy["epsilon"]), dp_delta=float(privacy["delta"])
            )
        _table_reports(
            real, synthetic, schema, output_dir, options, scores, protected or {}, sensitive or {}
        )
    return write_relational_report(scores, real, synthetic, schema, output_dir, title)
