"""Writes the report's sections as one self-contained HTML file, a PDF and the JSON scores.

The HTML has no script, no external resource and no web font: styles are inline and charts
are PNG data URIs; a Content-Security-Policy forbids loading anything else. The PDF is
written with matplotlib's ``PdfPages``: every section opens with a text page (its
introduction, facts, tables and notes), followed by one page per chart. Each file is written
to a temporary file in the output folder and moved into place, so a reader never sees a
half-written report.
"""

from __future__ import annotations

import base64
import json
import math
import os
import tempfile
import textwrap
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
import matplotlib
import numpy as np
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from synthloom.report.charts import PAGE_SIZE, png_bytes
from synthloom.report.options import HTML_NAME, JSON_NAME, PDF_NAME
from synthloom.report.sections import Section, Table

__all__ = ["RenderedSection", "atomic_path", "json_safe", "write_report"]

TABLE_ROWS_PER_PAGE = 24
WRAP_CHARS = 130


@dataclass(frozen=True)
class RenderedSection:
    """A section with its charts as base64 PNG strings, ready for the HTML template."""

    section: Section
    images: list[str]


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """A temporary path beside ``target`` that replaces ``target`` when the block succeeds."""
    handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def _write_text(target: Path, text: str) -> None:
    with atomic_path(target) as temporary:
        temporary.write_text(text, encoding="utf-8")


def json_safe(value: Any) -> Any:
    """``value`` with NaN/inf as None, numpy scalars as Python ones and keys as strings."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return json_safe(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# --------------------------------------------------------------------------------------
# PDF text pages
# --------------------------------------------------------------------------------------


def _wrapped(text: str, width: int = WRAP_CHARS) -> str:
    return "\n".join(textwrap.wrap(text, width)) if text else ""


def _draw_table(figure: Figure, table: Table, top: float, bottom: float) -> None:
    ax = figure.add_axes((0.05, bottom, 0.9, max(0.05, top - bottom)))
    ax.axis("off")
    cells = [[_wrapped(c, 90) for c in row] for row in table.rows]
    drawn = ax.table(
        cellText=cells, colLabels=table.header or None, loc="upper left", cellLoc="left"
    )
    drawn.auto_set_font_size(False)
    drawn.set_fontsize(10)
    drawn.auto_set_column_width(list(range(len(table.rows[0]) if table.rows else 0)))
    drawn.scale(1.0, 1.4)
    for (row, _column), cell in drawn.get_celld().items():
        cell.set_edgecolor("#c8d0d8")
        if row == 0 and table.header:
            cell.set_facecolor("#eef2f5")
            cell.set_text_props(fontweight="bold")


def _text_page(title: str, intro: str, continued: bool) -> tuple[Figure, float]:
    figure = Figure(figsize=PAGE_SIZE)
    figure.text(
        0.05,
        0.94,
        title + (" (continued)" if continued else ""),
        fontsize=20,
        fontweight="bold",
        zorder=-1,  # drawn first, so that text extraction meets the title first
        va="top",
    )
    y = 0.87
    if intro and not continued:
        wrapped = _wrapped(intro, 120)
        figure.text(0.05, y, wrapped, fontsize=11, va="top")
        y -= 0.03 * (wrapped.count("\n") + 1) + 0.03
    return figure, y


def section_pages(section: Section) -> list[Figure]:
    """The text pages of a section: intro, facts and notes, then any tables, paginated."""
    figure, y = _text_page(section.title, section.intro, continued=False)
    pages = [figure]
    if section.facts:
        rows = [[k, v] for k, v in section.facts]
        bottom = max(0.05, y - 0.045 * len(rows))
        _draw_table(figure, Table("", [], rows), y, bottom)
        y = bottom - 0.03
    if section.notes:
        text = "\n".join(_wrapped("• " + note, 140) for note in section.notes)
        figure.text(0.05, y, text, fontsize=10, va="top")
    for table in section.tables:
        for start in range(0, len(table.rows), TABLE_ROWS_PER_PAGE):
            page, top = _text_page(section.title, "", continued=True)
            page.text(0.05, top, table.caption, fontsize=12, va="top", fontweight="bold")
            chunk = Table(
                table.caption, table.header, table.rows[start : start + TABLE_ROWS_PER_PAGE]
            )
            _draw_table(page, chunk, top - 0.05, 0.05)
            pages.append(page)
    return pages


# --------------------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------------------


# One page frame and section layout for every synthloom report (single-table and
# relational): no script, no remote resource, a CSP that forbids loading anything else.
_BASE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy"
 content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="synthloom">
<title>{{ title }}</title>
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif;
  margin: 0; color: #1d2733; background: #f4f6f8; line-height: 1.45; }
header { background: #1f3a52; color: #fff; padding: 1.2rem 2rem; }
header h1 { margin: 0 0 .3rem 0; font-size: 1.6rem; }
header p { margin: 0; opacity: .85; font-size: .9rem; }
nav { background: #fff; border-bottom: 1px solid #d8dee4; padding: .5rem 2rem;
  position: sticky; top: 0; }
nav a { margin-right: 1.1rem; color: #1f5f8b; text-decoration: none; font-size: .95rem; }
main { max-width: 1200px; margin: 0 auto; padding: 1rem 2rem 3rem; }
.cards { display: flex; gap: 1rem; flex-wrap: wrap; margin: 1rem 0; }
.card { background: #fff; border-radius: 10px; padding: 1rem 1.4rem; flex: 1 1 220px;
  box-shadow: 0 1px 3px rgba(0,0,0,.08); }
.card .big { font-size: 2.4rem; font-weight: 700; }
.card .label { color: #5b6875; font-size: .85rem; text-transform: uppercase;
  letter-spacing: .04em; }
.grade { display: inline-block; padding: .1rem .6rem; border-radius: 1rem; color: #fff;
  background: #2e7d4f; font-size: 1rem; vertical-align: middle; }
.grade.Good { background: #5a9a3a; } .grade.Moderate { background: #c99a1a; }
.grade.Poor, .grade.Very.poor { background: #c0392b; }
.banner { border-radius: 10px; padding: 1rem 1.4rem; margin: 1rem 0; font-weight: 600; }
.banner.ok { background: #e3f4e8; border-left: 8px solid #2e7d4f; }
.banner.caution { background: #fff4d6; border-left: 8px solid #c99a1a; }
.banner.warning { background: #fde2df; border-left: 8px solid #c0392b; color: #7b1b12;
  font-size: 1.15rem; }
.banner ul { font-weight: 400; margin: .4rem 0 0 0; }
section { background: #fff; border-radius: 10px; margin: 1.4rem 0; padding: 1rem 1.6rem;
  box-shadow: 0 1px 3px rgba(0,0,0,.08); }
section h2 { margin-top: .3rem; }
table { border-collapse: collapse; margin: .6rem 0 1rem; font-size: .92rem; }
th, td { text-align: left; padding: .3rem .8rem; border-bottom: 1px solid #e3e8ec; }
th { background: #f0f3f6; }
table.facts th { background: none; color: #5b6875; font-weight: 500; }
caption { text-align: left; font-weight: 600; padding: .3rem 0; }
figure { margin: 1rem 0; }
figure img { width: 100%; max-width: 1100px; height: auto; border: 1px solid #e3e8ec;
  border-radius: 6px; }
.level-ok { color: #2e7d4f; } .level-caution { color: #a67c00; }
.level-warning { color: #c0392b; }
.badge { font-size: .8rem; border: 2px solid currentColor; border-radius: 1rem;
  padding: 0 .5rem; vertical-align: middle; }
.notes { color: #4a5662; font-size: .92rem; }
footer { text-align: center; color: #7b8794; font-size: .8rem; padding: 1rem; }
</style>
</head>
<body>
<header>
<h1>{{ title }}</h1>
<p>{% block subtitle %}{% endblock %}</p>
</header>
{% block nav %}{% endblock %}
<main>
{% block top %}{% endblock %}
{% for item in sections %}{% set s = item.section %}
<section id="{{ s.key }}">
<h2>{{ s.title }}{% if s.level %} <span class="badge level-{{ s.level }}">
{{- s.level|upper }}</span>{% endif %}</h2>
{% if s.intro %}<p>{{ s.intro }}</p>{% endif %}
{% if s.facts %}<table class="facts">{% for key, value in s.facts %}
<tr><th>{{ key }}</th><td>{{ value }}</td></tr>{% endfor %}</table>{% endif %}
{% for table in s.tables %}<table><caption>{{ table.caption }}</caption>
<tr>{% for h in table.header %}<th>{{ h }}</th>{% endfor %}</tr>
{% for row in table.rows %}<tr>{% for cell in row %}<td>{{ cell }}</td>{% endfor %}</tr>
{% endfor %}</table>{% endfor %}
{% for image in item.images %}<figure><img alt="{{ s.title }} chart {{ loop.index }}"
 src="data:image/png;base64,{{ image }}"></figure>{% endfor %}
{% if s.notes %}<ul class="notes">{% for note in s.notes %}<li>{{ note }}</li>{% endfor %}
</ul>{% endif %}
</section>{% endfor %}
</main>
<footer>{% block footer %}{% endblock %} · metric definitions: docs/METRICS.md in
synthloom's repository</footer>
</body>
</html>
"""

_TEMPLATE = """{% extends "base.html" %}
{% block subtitle %}Generated {{ generated }} by synthloom · real {{ sizes }}{% endblock %}
{% block nav %}<nav>{% for item in sections %}<a href="#{{ item.section.key }}">
{{- item.section.title }}</a>
{% endfor %}</nav>{% endblock %}
{% block top %}
<div class="cards">
<div class="card"><div class="label">Quality score</div>
<div class="big">{{ "%.1f"|format(quality.score) }}
<span class="grade {{ quality.grade }}">{{ quality.grade }}</span></div>
{% if quality_ceiling is not none %}<div class="label">holdout ceiling
{{ "%.1f"|format(quality_ceiling) }}</div>{% endif %}</div>
<div class="card"><div class="label">Accuracy</div>
<div class="big">{{ "%.1f"|format(100 * accuracy) }}%</div>
{% if accuracy_ceiling is not none %}<div class="label">holdout ceiling
{{ "%.1f"|format(100 * accuracy_ceiling) }}%</div>{% endif %}</div>
<div class="card"><div class="label">Privacy</div>
<div class="big level-{{ verdict.level }}">{{ verdict.level|upper }}</div>
<div class="label">{{ privacy_summary }}</div></div>
</div>
<div class="banner {{ verdict.level }}" role="alert">{{ verdict.headline }}
<ul>{% for reason in verdict.reasons %}<li>{{ reason }}</li>{% endfor %}</ul></div>
{% endblock %}
{% block footer %}synthloom report{% endblock %}
"""


def render_html(template: str, **context: Any) -> str:
    """Render a report ``template`` that extends the shared page frame (``base.html``)."""
    environment = jinja2.Environment(
        loader=jinja2.DictLoader({"base.html": _BASE}),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    return environment.from_string(template).render(**context)


def render_sections(sections: Sequence[Section], pdf: PdfPages) -> list[RenderedSection]:
    """Add each section's text pages and charts to ``pdf``; return the charts as PNG data."""
    rendered = []
    for section in sections:
        for page in section_pages(section):
            pdf.savefig(page)
        images = []
        for factory in section.figures:
            for figure in factory():
                pdf.savefig(figure)
                images.append(base64.b64encode(png_bytes(figure)).decode("ascii"))
        rendered.append(RenderedSection(section=section, images=images))
    return rendered


def _html(rendered: Sequence[RenderedSection], scores: dict[str, Any], title: str) -> str:
    data = scores["data"]
    sizes = f"{data['n_real']:,} rows · synthetic {data['n_synthetic']:,} rows"
    if data.get("n_holdout"):
        sizes += f" · holdout {data['n_holdout']:,} rows"
    holdout_quality = scores["quality"].get("holdout")
    holdout_accuracy = scores["accuracy"].get("holdout")
    privacy = scores["privacy"]
    share = privacy["dcr_share"]
    summary = f"DCR share {share:.3f}" if share is not None else "no holdout"
    summary += f" · exact copies {100 * privacy['exact_copy_share']:.1f}%"
    return render_html(
        _TEMPLATE,
        title=title,
        generated=scores["generated_at"],
        sizes=sizes,
        sections=rendered,
        quality=scores["quality"],
        quality_ceiling=None if holdout_quality is None else holdout_quality["score"],
        accuracy=scores["accuracy"]["overall"],
        accuracy_ceiling=None if holdout_accuracy is None else holdout_accuracy["overall"],
        verdict=privacy["verdict"],
        privacy_summary=summary,
    )


def now_iso() -> str:
    """The current UTC time, to the second, in ISO 8601."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def write_report(
    sections: Sequence[Section], scores: dict[str, Any], output_dir: Path, title: str
) -> tuple[Path, Path, Path]:
    """Write ``report.pdf``, ``report.html`` and ``report.json``; return their paths."""
    output_dir.mkdir(parents=True, exist_ok=True)
    paths = (output_dir / HTML_NAME, output_dir / PDF_NAME, output_dir / JSON_NAME)
    with (
        matplotlib.rc_context({"pdf.fonttype": 42, "font.family": "DejaVu Sans"}),
        atomic_path(paths[1]) as pdf_temporary,
        PdfPages(pdf_temporary, metadata={"Title": title, "Creator": "synthloom"}) as pdf,
    ):
        rendered = render_sections(sections, pdf)
    _write_text(paths[0], _html(rendered, scores, title))
    _write_text(paths[2], json.dumps(json_safe(scores), indent=2, allow_nan=False) + "\n")
    return paths
