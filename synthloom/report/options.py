"""Options and result of :func:`synthloom.report.build_report`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from synthloom.errors import ConfigError

__all__ = ["ReportOptions", "ReportResult", "SeriesSpec"]

# The files a report folder holds.
HTML_NAME = "report.html"
PDF_NAME = "report.pdf"
JSON_NAME = "report.json"
REPORT_FILES = (HTML_NAME, PDF_NAME, JSON_NAME)


@dataclass(frozen=True)
class SeriesSpec:
    """A time-series table: rows grouped by ``entity_column`` (one series when None) and
    ordered by ``order_by``; the report then adds the sequence metrics."""

    entity_column: str | None = None
    order_by: tuple[str, ...] = ()


# ReportOptions fields that are not positive counts.
_NOT_COUNTS = (
    "seed",
    "title",
    "series",
    "dp_epsilon",
    "dp_delta",
    "value_protection",
    "sensitive_columns",
    "fairness",
)


@dataclass(frozen=True)
class ReportOptions:
    """What a report covers and how much data each section samples.

    Column limits keep wide tables readable and fast: a section looks at the first ``N``
    common columns in the real frame's order (the ``target`` column, when given, always
    takes part). Row limits cap the random samples (drawn with ``seed``) that the
    expensive sections work on; the univariate and accuracy sections always use every row.

    Attributes:
        max_columns_univariate: columns that get a distribution chart (all columns are still
            scored).
        max_columns_bivariate: columns of the correlation matrices, of the bivariate
            accuracy pairs and of the deep structure (PCA) analysis.
        max_columns_knn: columns that enter the k-NN (distance to closest record) analysis.
        max_columns_phik: columns of the PhiK matrices.
        max_rows_correlation: rows sampled from each frame for correlations and PCA.
        max_rows_knn: rows sampled from each frame for the k-NN analysis.
        max_rows_phik: rows sampled from each frame for PhiK.
        max_rows_ml: rows sampled from each frame for the ML utility models.
        bins: bins per column for accuracy, distribution and PCA stability (10 as mostlyai-qa).
        seed: seed of every random choice; the same inputs and seed give the same report.
        threads: threads that native code (OpenMP, BLAS: nearest neighbours, gradient
            boosting, PCA) may use while scores are computed. One is the default because
            several OpenMP runtimes in one process (PyTorch's and scikit-learn's) slow each
            other down badly when they share a few busy cores.
        title: heading of the HTML and PDF report.
        series: for a time-series table, its entity column and order (sequence metrics).
        dp_epsilon, dp_delta: a DP model's claimed ε and δ, shown beside the privacy loss
            the membership attack proves (δ also enters that bound; 0 when not given).
        value_protection: what the model's value protection changed in its training rows
            (``training_summary.json``), listed in the privacy section.
        fairness: ``(target, sensitive columns)``: the report shows the target's parity gap
            across the sensitive groups in the real and the synthetic rows.
        sensitive_columns: columns an attacker should not learn (``columns: {name:
            {sensitive: true}}`` in a model's config): each gets the attribute-inference
            attack, which guesses it from the other columns with a model trained on the
            synthetic data (``docs/METRICS.md``). Each must be a column of both frames.
    """

    max_columns_univariate: int = 60
    max_columns_bivariate: int = 30
    max_columns_knn: int = 60
    max_columns_phik: int = 30
    max_rows_correlation: int = 20_000
    max_rows_knn: int = 10_000
    max_rows_phik: int = 10_000
    max_rows_ml: int = 20_000
    bins: int = 10
    seed: int = 0
    threads: int = 1
    title: str = "Synthetic data report"
    series: SeriesSpec | None = None
    dp_epsilon: float | None = None
    dp_delta: float | None = None
    value_protection: tuple[dict[str, Any], ...] = ()
    sensitive_columns: tuple[str, ...] = ()
    fairness: tuple[str, tuple[str, ...]] | None = None

    def __post_init__(self) -> None:
        sensitive = self.sensitive_columns
        names = (sensitive,) if isinstance(sensitive, str) else tuple(sensitive or ())
        object.__setattr__(self, "sensitive_columns", tuple(dict.fromkeys(names)))
        for field in fields(self):
            value = getattr(self, field.name)
            if field.name in _NOT_COUNTS:
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(
                    f"report option {field.name} must be a positive integer, got {value!r}"
                )
        if self.max_columns_bivariate < 2 or self.max_columns_phik < 2:
            raise ConfigError(
                "report options max_columns_bivariate and max_columns_phik must be at least 2"
            )
        if self.dp_delta is not None and not 0 <= self.dp_delta < 1:
            raise ConfigError(f"report option dp_delta must be in [0, 1), got {self.dp_delta!r}")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or self.seed < 0:
            raise ConfigError(f"report option seed must be an integer >= 0, got {self.seed!r}")

    def to_dict(self) -> dict[str, Any]:
        """The options as a JSON-friendly dict."""
        return asdict(self)


@dataclass(frozen=True)
class ReportResult:
    """What :func:`~synthloom.report.build_report` wrote and found.

    Attributes:
        html_path: the self-contained HTML report.
        pdf_path: the PDF report (one or more pages per section).
        json_path: the scores as JSON (the same content as :attr:`scores`).
        scores: every score of the report, JSON-friendly (see ``docs/METRICS.md``).
        warnings: plain-words warnings worth showing on a terminal (privacy first).
    """

    html_path: Path
    pdf_path: Path
    json_path: Path
    scores: dict[str, Any]
    warnings: list[str]

    @property
    def quality_score(self) -> float:
        """The overall quality score, 0 to 100."""
        return float(self.scores["quality"]["score"])

    @property
    def privacy_level(self) -> str:
        """The privacy verdict: ``"ok"``, ``"caution"`` or ``"warning"``."""
        return str(self.scores["privacy"]["verdict"]["level"])
