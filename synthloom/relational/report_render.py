"""Draws the relational report and writes it as HTML (self-contained), PDF and JSON.

The HTML follows the single-table report's rules (:mod:`synthloom.report.render`): no script,
no external resource, charts as PNG data URIs, a Content-Security-Policy that forbids
loading anything else; the only links are relative ones to the per-table reports beside it.
The PDF reuses the single-table report's text pages; each file is written atomically.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from synthloom.relational.report_metrics import (
    HTML_FILE,
    PDF_FILE,
    REPORT_FILE,
    table_children_counts,
)
from synthloom.relational.schema import ForeignKey, Schema
from synthloom.report.charts import REAL, SYNTHETIC
from synthloom.report.render import (
    atomic_path,
    json_safe,
    now_iso,
    render_html,
    render_sections,
    section_pages,
)
from synthloom.report.sections import Section, Table, sequence_tables

MAX_BARS = 40  # up to this many children per parent: one bar per count, else 30 bins
HISTOGRAM_BINS = 30
FIGURE_SIZE = (9.0, 3.8)


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def _number(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


# ------------------------------------------------------------------------------ charts


def children_figure(real: np.ndarray, synthetic: np.ndarray, fk: ForeignKey, ks: float) -> Figure:
    """Children per parent row, real vs synthetic, as shares of the parent rows."""
    figure = Figure(figsize=FIGURE_SIZE, layout="constrained")
    ax = figure.add_subplot()
    top = int(max(real.max(initial=0), synthetic.max(initial=0)))
    if top <= MAX_BARS:
        values = np.arange(top + 1)
        shares = [np.bincount(c, minlength=top + 1) / max(len(c), 1) for c in (real, synthetic)]
        ax.bar(values - 0.2, shares[0], width=0.4, color=REAL, label="real")
        ax.bar(values + 0.2, shares[1], width=0.4, color=SYNTHETIC, label="synthetic")
    else:
        edges = np.linspace(0, top + 1, HISTOGRAM_BINS + 1)
        weights = [np.full(len(c), 1 / max(len(c), 1)) for c in (real, synthetic)]
        ax.hist(
            [real, synthetic],
            bins=edges,
            weights=weights,
            color=[REAL, SYNTHETIC],
            label=["real", "synthetic"],
        )
    ax.set_title(
        f"{fk.table} rows per {fk.parent} row ({', '.join(fk.columns)}): "
        f"KS complement {100 * ks:.1f}%",
        fontsize=11,
    )
    ax.set_xlabel(f"rows of {fk.table} per row of {fk.parent}")
    ax.set_ylabel("share of parent rows")
    ax.yaxis.set_major_formatter(lambda v, _pos: f"{100 * v:.0f}%")
    ax.legend()
    ax.grid(axis="y", alpha=0.3)
    return figure


def correlation_figure(link: str, pairs: list[dict[str, Any]]) -> Figure:
    """Cramér's V of the most associated parent × child column pairs, real vs synthetic."""
    figure = Figure(figsize=FIGURE_SIZE, layout="constrained")
    ax = figure.add_subplot()
    labels = [f"{p['parent']} × {p['child']}" for p in pairs]
    y = np.arange(len(pairs))[::-1]
    ax.barh(y + 0.2, [p["real"] for p in pairs], height=0.4, color=REAL, label="real")
    ax.barh(
        y - 0.2, [p["synthetic"] for p in pairs], height=0.4, color=SYNTHETIC, label="synthetic"
    )
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_xlim(0, 1)
    ax.set_xlabel("Cramér's V")
    ax.set_title(f"{link}: strongest parent–child associations", fontsize=11)
    ax.legend(loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    return figure


# ---------------------------------------------------------------------------- sections


def _summary(scores: dict[str, Any]) -> Section:
    rows = []
    for name, entry in scores["tables"].items():
        accuracy = scores["tvd_accuracy"].get(name)
        rows.append(
            [
                name,
                entry.get("kind", ""),
                f"{entry['real_rows']:,}"
                + (
                    f" (+{entry['rows_left_out']:,} left out)" if entry.get("rows_left_out") else ""
                ),
                f"{entry['synthetic_rows']:,}",
                _percent(accuracy),
                _number(entry.get("quality_score"), 1),
                entry.get("report") or entry.get("note") or "",
            ]
        )
    header = ["table", "kind", "real rows", "synthetic rows", "TVD accuracy", "quality", "report"]
    return Section(
        key="summary",
        title="Tables",
        intro=(
            "Every table of the database. Synthesized tables are scored on their learned "
            "columns (keys are new values, so they are not compared); original tables are "
            "copied unchanged. Each synthesized table has its own full report. Real rows are "
            "the rows learned from; rows whose reference matched no parent row are counted "
            "apart (left out)."
        ),
        facts=[("referential integrity", _percent(scores["referential_integrity"]))],
        tables=[Table("Per table", header, rows)],
        notes=list(scores["integrity_problems"]) + list(scores.get("left_out") or []),
    )


def _rows_read(entry: dict[str, Any]) -> str:
    left = entry.get("rows_left_out") or 0
    return f"{entry['real_rows']:,}" + (f" (+{left:,} left out)" if left else "")


def _children_section(
    scores: dict[str, Any],
    real: dict[str, pd.DataFrame],
    synthetic: dict[str, pd.DataFrame],
    schema: Schema,
) -> Section:
    found = scores["children_per_parent"]
    fks = [
        fk for name in schema.order for fk in schema.tables[name].foreign_keys if fk.name in found
    ]
    rows = [
        [
            fk.name,
            _percent(found[fk.name]["ks_complement"]),
            _number(found[fk.name]["real_mean"]),
            _number(found[fk.name]["synthetic_mean"]),
            str(found[fk.name]["real_max"]),
            str(found[fk.name]["synthetic_max"]),
            _percent(found[fk.name].get("real_with_children")),
            _percent(found[fk.name].get("synthetic_with_children")),
        ]
        for fk in fks
    ]

    def factory(fk: ForeignKey) -> Callable[[], list[Figure]]:
        return lambda: [
            children_figure(
                table_children_counts(real, fk),
                table_children_counts(synthetic, fk),
                fk,
                found[fk.name]["ks_complement"],
            )
        ]

    header = [
        *("foreign key", "KS complement", "mean real", "mean synthetic", "max real", "max syn."),
        *("parents with children, real", "synthetic"),
    ]
    return Section(
        key="children",
        title="Children per parent",
        intro=(
            "For each foreign key: how many child rows each parent row has (parents without "
            "children included), real vs synthetic. The score is 1 − the Kolmogorov–Smirnov "
            "distance between the two distributions (100% is identical)."
        ),
        tables=[Table("Children per parent", header, rows)] if rows else [],
        figures=[factory(fk) for fk in fks],
        notes=[] if rows else ["no foreign key between synthesized tables to compare"],
    )


def _correlation_section(scores: dict[str, Any]) -> Section:
    links = scores["parent_child_correlations"]
    tables = [
        Table(
            f"{link}: score {_percent(found['score'])}",
            ["parent column", "child column", "Cramér's V real", "Cramér's V synthetic"],
            [
                [p["parent"], p["child"], _number(p["real"]), _number(p["synthetic"])]
                for p in found["top_pairs"]
            ],
        )
        for link, found in links.items()
    ]

    def factory(link: str, pairs: list[dict[str, Any]]) -> Callable[[], list[Figure]]:
        return lambda: [correlation_figure(link, pairs)]

    return Section(
        key="correlations",
        title="Parent–child correlations",
        intro=(
            "For each link a child table is modelled under: Cramér's V between each parent "
            "column and each child column over the joined rows. The score is 1 − the mean "
            "absolute difference between the real and the synthetic matrices."
        ),
        facts=[(link, _percent(found["score"])) for link, found in links.items()],
        tables=tables,
        figures=[factory(link, f["top_pairs"]) for link, f in links.items() if f["top_pairs"]],
        notes=[] if links else ["no parent–child link with learned columns on both sides"],
    )


def _sequence_section(scores: dict[str, Any]) -> Section:
    found = scores.get("sequences", {})
    lookups = scores.get("lookup_references", {})
    tables = sequence_tables(found, "Children per parent as sequences")
    if lookups:
        tables.append(
            Table(
                "References into original tables",
                ["foreign key", "accuracy"],
                [[fk, _percent(value)] for fk, value in lookups.items()],
            )
        )
    return Section(
        key="sequences",
        title="Sequences and lookups",
        intro=(
            "For each child table, its rows grouped by parent: how many (length accuracy, "
            "1 − TVD), how consecutive rows pair up, whether columns constant within a real "
            "parent stay constant, and whether order_by columns stay ordered; and which rows "
            "of each original (lookup) table are referenced. Definitions: docs/METRICS.md."
        ),
        facts=[],
        tables=tables,
        notes=[] if tables else ["no child table or lookup reference"],
    )


# ------------------------------------------------------------------------------ writing


_TEMPLATE = """{% extends "base.html" %}
{% block subtitle %}Generated {{ generated }} by synthloom · root table {{ root }} ·
{{ n_tables }} tables{% endblock %}
{% block top %}
<div class="cards">
{% for label, value in cards %}<div class="card"><div class="label">{{ label }}</div>
<div class="big">{{ value }}</div></div>
{% endfor %}</div>
<section id="summary">
<h2>{{ summary.title }}</h2>
<p>{{ summary.intro }}</p>
<table>
<tr>{% for h in summary.tables[0].header %}<th>{{ h }}</th>{% endfor %}</tr>
{% for row in summary_rows %}<tr>{% for cell in row.cells %}<td>{{ cell }}</td>{% endfor %}
<td>{% if row.link %}<a href="{{ row.link }}">{{ row.link }}</a>{% else %}{{ row.note }}
{% endif %}</td></tr>
{% endfor %}</table>
{% if summary.notes %}<ul class="notes">{% for note in summary.notes %}<li>{{ note }}</li>
{% endfor %}</ul>{% endif %}
</section>
{% endblock %}
{% block footer %}synthloom relational report (children per parent and parent–child
correlations: synthloom/relational/report.py){% endblock %}
"""


def _cards(scores: dict[str, Any]) -> list[tuple[str, str]]:
    def mean(values: list[float]) -> float | None:
        return float(np.mean(values)) if values else None

    return [
        ("Referential integrity", _percent(scores["referential_integrity"])),
        ("Mean TVD accuracy", _percent(mean(list(scores["tvd_accuracy"].values())))),
        (
            "Children per parent (KS)",
            _percent(mean([c["ks_complement"] for c in scores["children_per_parent"].values()])),
        ),
        (
            "Parent–child correlations",
            _percent(mean([c["score"] for c in scores["parent_child_correlations"].values()])),
        ),
    ]


def write_relational_report(
    scores: dict[str, Any],
    real: dict[str, pd.DataFrame],
    synthetic: dict[str, pd.DataFrame],
    schema: Schema,
    output_dir: Path,
    title: str,
) -> dict[str, Any]:
    """Write ``relational_report.pdf``, ``.html`` and ``.json``; return the scores."""
    scores = json_safe({**scores, "generated_at": now_iso()})
    summary = _summary(scores)
    sections = [
        _children_section(scores, real, synthetic, schema),
        _correlation_section(scores),
        _sequence_section(scores),
    ]
    with (
        matplotlib.rc_context({"pdf.fonttype": 42, "font.family": "DejaVu Sans"}),
        atomic_path(output_dir / PDF_FILE) as pdf_temporary,
        PdfPages(pdf_temporary, metadata={"Title": title, "Creator": "synthloom"}) as pdf,
    ):
        for page in section_pages(summary):
            pdf.savefig(page)
        rendered = render_sections(sections, pdf)
    summary_rows = [
        {
            "cells": row[:-1],
            "link": entry.get("report"),
            "note": entry.get("note", ""),
        }
        for row, entry in zip(summary.tables[0].rows, scores["tables"].values(), strict=True)
    ]
    html = render_html(
        _TEMPLATE,
        title=title,
        generated=scores["generated_at"],
        root=schema.root,
        n_tables=len(schema.tables),
        cards=_cards(scores),
        summary=summary,
        summary_rows=summary_rows,
        sections=rendered,
    )
    with atomic_path(output_dir / HTML_FILE) as temporary:
        temporary.write_text(html, encoding="utf-8")
    with atomic_path(output_dir / REPORT_FILE) as temporary:
        text = json.dumps(scores, indent=2, allow_nan=False) + "\n"
        temporary.write_text(text, encoding="utf-8")
    return scores
