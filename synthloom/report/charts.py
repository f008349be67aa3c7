"""Charts of the report, drawn with matplotlib's object API (no pyplot, no GUI backend).

Every function returns a :class:`matplotlib.figure.Figure` sized as an A4 landscape page, so
that the same figure becomes a PDF page and, rasterised with :func:`png_bytes`, an image of
the HTML report. Real data is drawn in blue, synthetic data in orange, holdout in grey.
"""

from __future__ import annotations

import io
import math
from collections.abc import Hashable, Sequence

import matplotlib
import matplotlib.dates as mdates
import numpy as np
import numpy.typing as npt
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from synthloom.report.correlations import Association, ColumnCoder
from synthloom.report.metrics import _as_text
from synthloom.report.privacy import PrivacyResult
from synthloom.report.scores import StructureResult
from synthloom.report.utility import UtilityResult

__all__ = [
    "PAGE_SIZE",
    "accuracy_figure",
    "association_figures",
    "overview_figure",
    "png_bytes",
    "privacy_figure",
    "structure_figure",
    "univariate_figures",
    "univariate_pages",
    "utility_figure",
]

FloatArray = npt.NDArray[np.float64]

PAGE_SIZE = (11.69, 8.27)  # A4 landscape, inches
REAL = "#1f5f8b"
SYNTHETIC = "#e0802f"
HOLDOUT = "#8c8c8c"
PANELS_PER_PAGE = (3, 3)
TOP_CATEGORIES = 10
MAX_DISCRETE_VALUES = 20  # numeric columns with at most this many values get one bar each
HISTOGRAM_BINS = 30
ANNOTATE_UP_TO = 12  # heatmaps with at most this many columns show their values
SCATTER_POINTS = 2000
LABEL_CHARS = 18


def png_bytes(figure: Figure, dpi: int = 80) -> bytes:
    """The figure rasterised as PNG."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def _label(value: object) -> str:
    text = str(value)
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"


def _page(title: str) -> Figure:
    figure = Figure(figsize=PAGE_SIZE, layout="constrained")
    figure.suptitle(title, fontsize=14, fontweight="bold")
    return figure


# --------------------------------------------------------------------------------------
# overview
# --------------------------------------------------------------------------------------


def overview_figure(bars: Sequence[tuple[str, float | None, float | None]]) -> Figure:
    """Horizontal bars of scores in [0, 1]: ``(label, synthetic, holdout ceiling)``."""
    figure = _page("Scores at a glance (100% is perfect)")
    ax = figure.add_subplot()
    shown = [(label, syn, hol) for label, syn, hol in bars if syn is not None]
    y = np.arange(len(shown))[::-1]
    values = [syn for _, syn, _ in shown]
    ax.barh(y, values, color=SYNTHETIC, height=0.6, label="synthetic")
    for yi, (_, syn, hol) in zip(y, shown, strict=True):
        ax.text(min(syn, 0.98), yi, f" {100 * syn:.1f}%", va="center", ha="left", fontsize=11)
        if hol is not None:
            ax.plot([hol, hol], [yi - 0.38, yi + 0.38], color=HOLDOUT, lw=3)
    if any(hol is not None for _, _, hol in shown):
        ax.plot([], [], color=HOLDOUT, lw=3, label="holdout (ceiling)")
    ax.set_yticks(y, [label for label, _, _ in shown], fontsize=11)
    ax.set_xlim(0, 1.08)
    ax.xaxis.set_major_formatter(lambda v, _pos: f"{100 * v:.0f}%")
    ax.legend(loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    return figure


# --------------------------------------------------------------------------------------
# univariate distributions
# --------------------------------------------------------------------------------------


def _category_shares(
    real: pd.Series, synthetic: pd.Series
) -> tuple[list[str], FloatArray, FloatArray]:
    real_text, syn_text = _as_text(real), _as_text(synthetic)
    top = [str(c) for c in real_text.value_counts(dropna=True).index[:TOP_CATEGORIES]]

    def shares(text: pd.Series) -> list[float]:
        counts = text.value_counts(dropna=False)
        n = len(text)
        values = [counts.get(c, 0) / n for c in top]
        missing = float(text.isna().mean())
        values.append(1.0 - sum(values) - missing)  # (other)
        values.append(missing)
        return values

    labels = [*top, "(other)", "(missing)"]
    real_shares, syn_shares = np.array(shares(real_text)), np.array(shares(syn_text))
    keep = (real_shares > 1e-12) | (syn_shares > 1e-12)
    keep[: len(top)] = True
    return (
        [lab for lab, k in zip(labels, keep, strict=True) if k],
        real_shares[keep],
        syn_shares[keep],
    )


def _bars(ax: Axes, labels: list[str], real: FloatArray, synthetic: FloatArray) -> None:
    y = np.arange(len(labels))[::-1]
    ax.barh(y + 0.2, real, height=0.4, color=REAL, label="real")
    ax.barh(y - 0.2, synthetic, height=0.4, color=SYNTHETIC, label="synthetic")
    ax.set_yticks(y, [_label(v) for v in labels], fontsize=7)
    ax.xaxis.set_major_formatter(lambda v, _pos: f"{100 * v:.0f}%")
    ax.tick_params(axis="x", labelsize=7)


def _numeric_panel(ax: Axes, real: FloatArray, synthetic: FloatArray, is_date: bool) -> None:
    real_present, syn_present = real[~np.isnan(real)], synthetic[~np.isnan(synthetic)]
    if len(real_present) == 0:
        ax.text(0.5, 0.5, "no values", ha="center", va="center", transform=ax.transAxes)
        return
    distinct = np.unique(real_present)
    if len(distinct) <= MAX_DISCRETE_VALUES and not is_date:
        real_shares = np.array([np.mean(real_present == v) for v in distinct])
        syn_shares = np.array(
            [np.mean(syn_present == v) if len(syn_present) else 0.0 for v in distinct]
        )
        labels = [f"{v:g}" for v in distinct]
        _bars(ax, labels[::-1], real_shares[::-1], syn_shares[::-1])
        return
    low, high = np.quantile(real_present, [0.005, 0.995])
    if high <= low:
        low, high = float(distinct[0]), float(distinct[-1])
    edges = np.linspace(low, high, HISTOGRAM_BINS + 1)
    if len(real_present):
        ax.hist(
            np.clip(real_present, low, high),
            bins=edges,
            density=True,
            histtype="stepfilled",
            alpha=0.55,
            color=REAL,
            label="real",
        )
    if len(syn_present):
        ax.hist(
            np.clip(syn_present, low, high),
            bins=edges,
            density=True,
            histtype="step",
            lw=1.8,
            color=SYNTHETIC,
            label="synthetic",
        )
    ax.set_yticks([])
    ax.tick_params(axis="x", labelsize=7)
    if is_date:
        locator = mdates.AutoDateLocator()
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _missing_note(real: pd.Series, synthetic: pd.Series) -> str:
    real_missing, syn_missing = float(real.isna().mean()), float(synthetic.isna().mean())
    if real_missing == 0 and syn_missing == 0:
        return ""
    return f"\nmissing: real {100 * real_missing:.1f}%, synthetic {100 * syn_missing:.1f}%"


def _univariate_panel(
    ax: Axes,
    column: Hashable,
    real: pd.Series,
    synthetic: pd.Series,
    coder: ColumnCoder,
    accuracy: float,
) -> None:
    title = f"{_label(column)}  ·  accuracy {100 * accuracy:.1f}%"
    ax.set_title(title + _missing_note(real, synthetic), fontsize=9)
    if coder.is_categorical:
        labels, real_shares, syn_shares = _category_shares(real, synthetic)
        _bars(ax, labels, real_shares, syn_shares)
    else:
        _numeric_panel(ax, coder.numbers(real), coder.numbers(synthetic), coder.kind == "datetime")


def univariate_pages(n_columns: int) -> int:
    """Pages that :func:`univariate_figures` needs for ``n_columns`` columns."""
    per_page = PANELS_PER_PAGE[0] * PANELS_PER_PAGE[1]
    return max(1, math.ceil(n_columns / per_page))


def univariate_figures(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    columns: Sequence[Hashable],
    coders: dict[Hashable, ColumnCoder],
    accuracy: dict[Hashable, float],
    pages: Sequence[int] | None = None,
) -> list[Figure]:
    """Real vs synthetic distribution of each column, nine columns per page.

    ``pages`` picks some of the pages (0-based); by default all are drawn.
    """
    rows, cols = PANELS_PER_PAGE
    per_page = rows * cols
    figures = []
    for page in range(univariate_pages(len(columns))) if pages is None else pages:
        start = page * per_page
        chunk = list(columns[start : start + per_page])
        figure = _page(f"Distributions, columns {start + 1}–{start + len(chunk)} of {len(columns)}")
        for i, column in enumerate(chunk):
            ax = figure.add_subplot(rows, cols, i + 1)
            _univariate_panel(
                ax, column, real[column], synthetic[column], coders[column], accuracy[column]
            )
        handles = [Patch(color=REAL, label="real"), Patch(color=SYNTHETIC, label="synthetic")]
        figure.legend(handles=handles, loc="outside lower center", ncols=2)
        figures.append(figure)
    return figures


# --------------------------------------------------------------------------------------
# heatmaps
# --------------------------------------------------------------------------------------


def _heatmap(
    ax: Axes,
    matrix: FloatArray,
    labels: Sequence[str],
    title: str,
    cmap: str,
    limits: tuple[float, float],
) -> object:
    colours = matplotlib.colormaps[cmap].with_extremes(bad="#dddddd")
    image = ax.imshow(np.ma.masked_invalid(matrix), cmap=colours, vmin=limits[0], vmax=limits[1])
    n = len(labels)
    size = 8 if n <= 15 else max(4, int(120 / n))
    ax.set_xticks(range(n), labels, rotation=90, fontsize=size)
    ax.set_yticks(range(n), labels, fontsize=size)
    ax.set_title(title, fontsize=11)
    if n <= ANNOTATE_UP_TO:
        for i in range(n):
            for j in range(n):
                if not math.isnan(matrix[i, j]):
                    ax.text(j, i, f"{matrix[i, j]:.2f}", ha="center", va="center", fontsize=6)
    return image


def association_figures(
    real: Association, synthetic: Association, name: str, signed: bool
) -> list[Figure]:
    """Real, synthetic and difference (synthetic - real) heatmaps of an association measure.

    Up to 12 columns share one page; wider matrices get a page each.
    """
    labels = [_label(c) for c in real.columns]
    cmap, limits = ("RdBu_r", (-1.0, 1.0)) if signed else ("Blues", (0.0, 1.0))
    panels = [
        (real.matrix, f"{name}: real", cmap, limits),
        (synthetic.matrix, f"{name}: synthetic", cmap, limits),
        (synthetic.matrix - real.matrix, "difference (synthetic − real)", "RdBu_r", (-1.0, 1.0)),
    ]
    if len(labels) <= ANNOTATE_UP_TO:
        figure = _page(f"{name} matrices")
        for k, (matrix, title, colours, lims) in enumerate(panels):
            ax = figure.add_subplot(1, 3, k + 1)
            image = _heatmap(ax, matrix, labels, title, colours, lims)
            figure.colorbar(image, ax=ax, shrink=0.5, location="bottom")
        return [figure]
    figures = []
    for matrix, title, colours, lims in panels:
        figure = _page(title)
        ax = figure.add_subplot()
        figure.colorbar(_heatmap(ax, matrix, labels, title, colours, lims), ax=ax, shrink=0.6)
        figures.append(figure)
    return figures


def accuracy_figure(
    columns: Sequence[Hashable],
    univariate: dict[Hashable, float],
    bivariate: dict[tuple[Hashable, Hashable], float],
) -> Figure:
    """Accuracy per column (bars) and per column pair (heatmap, diagonal = univariate)."""
    figure = _page("Accuracy (1 − total variation distance)")
    left = figure.add_subplot(1, 2, 1)
    names = list(univariate)
    y = np.arange(len(names))[::-1]
    left.barh(y, [univariate[c] for c in names], color=SYNTHETIC)
    left.set_yticks(y, [_label(c) for c in names], fontsize=7 if len(names) <= 30 else 5)
    left.set_xlim(min(0.5, min(univariate.values()) - 0.05), 1.0)
    left.set_title("univariate", fontsize=11)
    left.xaxis.set_major_formatter(lambda v, _pos: f"{100 * v:.0f}%")
    right = figure.add_subplot(1, 2, 2)
    pair_columns = list(columns)
    index = {c: i for i, c in enumerate(pair_columns)}
    matrix = np.full((len(pair_columns), len(pair_columns)), np.nan)
    for c in pair_columns:
        matrix[index[c], index[c]] = univariate[c]
    for (a, b), value in bivariate.items():
        matrix[index[a], index[b]] = matrix[index[b], index[a]] = value
    low = float(np.nanmin(matrix)) if np.isfinite(matrix).any() else 0.0
    image = _heatmap(
        right,
        matrix,
        [_label(c) for c in pair_columns],
        "bivariate",
        "viridis",
        (min(low, 0.9), 1.0),
    )
    figure.colorbar(image, ax=right, shrink=0.6)
    return figure


# --------------------------------------------------------------------------------------
# structure, privacy, utility
# --------------------------------------------------------------------------------------


def _thin(points: FloatArray, seed: int) -> FloatArray:
    if len(points) <= SCATTER_POINTS:
        return points
    rng = np.random.default_rng(seed)
    return points[rng.choice(len(points), SCATTER_POINTS, replace=False)]


def structure_figure(result: StructureResult, seed: int) -> Figure:
    """Real and synthetic rows on the first two principal components of the real data."""
    figure = _page("Deep structure: principal components of the real data")
    ax = figure.add_subplot(1, 2, 1)
    for points, colour, label in (
        (result.real_projection, REAL, "real"),
        (result.other_projection, SYNTHETIC, "synthetic"),
    ):
        shown = _thin(points, seed)
        ax.scatter(
            shown[:, 0], shown[:, 1], s=6, alpha=0.35, color=colour, label=label, edgecolors="none"
        )
    ax.set_xlabel("component 1")
    ax.set_ylabel("component 2")
    ax.legend(loc="upper right")
    ax.set_title("rows projected on components 1 and 2", fontsize=11)
    bars = figure.add_subplot(1, 2, 2)
    k = np.arange(1, len(result.per_component) + 1)
    bars.bar(k, result.per_component, color=SYNTHETIC, label="1 − JS distance")
    bars.plot(k, result.weights, "o-", color=REAL, label="explained-variance weight")
    bars.set_xticks(k)
    bars.set_xlabel("principal component")
    bars.set_ylim(0, 1.05)
    bars.legend(loc="lower right")
    bars.set_title("stability per component", fontsize=11)
    return figure


def _distance_hist(
    ax: Axes, series: Sequence[tuple[FloatArray | None, str, str]], xlabel: str
) -> None:
    present = [values for values, _, _ in series if values is not None and len(values)]
    finite = np.concatenate([v[np.isfinite(v)] for v in present]) if present else np.empty(0)
    high = float(np.quantile(finite, 0.99)) if len(finite) else 1.0
    edges = np.linspace(0.0, max(high, 1e-6), 41)
    for values, colour, label in series:
        if values is None or not len(values):
            continue
        clipped = np.clip(values[np.isfinite(values)], 0.0, edges[-1])
        ax.hist(
            clipped,
            bins=edges,
            histtype="step",
            lw=1.6,
            color=colour,
            label=label,
            weights=np.full(len(clipped), 1.0 / max(1, len(clipped))),
        )
    ax.set_xlabel(xlabel)
    ax.set_ylabel("share of rows")
    ax.legend(loc="upper right", fontsize=8)


def privacy_figure(result: PrivacyResult) -> Figure:
    """Distances to closest training/holdout records and nearest-neighbour distance ratios."""
    figure = _page("Privacy: distances to closest records")
    left = figure.add_subplot(1, 2, 1)
    _distance_hist(
        left,
        [
            (result.d_training, SYNTHETIC, "synthetic → training"),
            (result.d_holdout, HOLDOUT, "synthetic → holdout"),
            (result.holdout_d_training, REAL, "holdout → training (fresh real data)"),
        ],
        "distance to closest record",
    )
    left.set_title("distance to closest record (DCR)", fontsize=11)
    right = figure.add_subplot(1, 2, 2)
    _distance_hist(
        right,
        [
            (result.nndr, SYNTHETIC, "synthetic vs training"),
            (result.holdout_nndr, REAL, "holdout vs training (fresh real data)"),
        ],
        "nearest / second-nearest distance",
    )
    right.set_title("nearest-neighbour distance ratio (NNDR)", fontsize=11)
    return figure


def utility_figure(result: UtilityResult) -> Figure:
    """Scores on the holdout of the model trained on synthetic vs on real data."""
    figure = _page(f"ML utility: predicting {_label(result.target)} ({result.task})")
    ax = figure.add_subplot()
    names = [n for n in result.real if result.real[n] is not None and n != "mae"]
    x = np.arange(len(names))
    synthetic = [result.synthetic.get(n) or 0.0 for n in names]
    real = [result.real[n] or 0.0 for n in names]
    ax.bar(x - 0.2, real, width=0.4, color=REAL, label="trained on real")
    ax.bar(x + 0.2, synthetic, width=0.4, color=SYNTHETIC, label="trained on synthetic")
    for xi, (r, s) in enumerate(zip(real, synthetic, strict=True)):
        ax.text(xi - 0.2, r, f"{r:.3f}", ha="center", va="bottom", fontsize=9)
        ax.text(xi + 0.2, s, f"{s:.3f}", ha="center", va="bottom", fontsize=9)
    ax.set_xticks(x, names)
    ax.set_ylim(0, 1.1)
    ax.set_ylabel("score on the real holdout")
    ax.legend(loc="upper right")
    return figure
