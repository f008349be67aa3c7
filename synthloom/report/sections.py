"""The report as a list of sections, each turned into HTML and PDF pages by ``render``.

A :class:`Section` is format-neutral: a title, a plain-words introduction, key facts,
tables, charts (built lazily, so each is drawn once and closed) and notes. To add a section
(for instance a table-pair section of a relational report), write a function that returns a
:class:`Section` and append it to the list that :func:`build_sections` returns; the renderers
need no change.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from synthloom.report import charts
from synthloom.report.attacks import AttributeAttack, AttributeGuesses, MembershipAttack
from synthloom.report.correlations import Association, ColumnCoder, mean_abs_difference
from synthloom.report.fairness import FairnessResult, share_rows
from synthloom.report.inputs import ReportInputs
from synthloom.report.options import ReportOptions
from synthloom.report.privacy import PrivacyResult, Verdict
from synthloom.report.scores import AccuracyWithCeiling, QualityScore, StructureResult
from synthloom.report.utility import UtilityResult
from synthloom.report.values import ValueCopies

__all__ = ["NO_SENSITIVE_NOTE", "Findings", "Section", "Table", "build_sections"]

FigureFactory = Callable[[], list[Figure]]

#: What the report says where no column is marked sensitive (no attribute attack ran).
NO_SENSITIVE_NOTE = "no column marked sensitive (columns: {name: {sensitive: true}})"


@dataclass(frozen=True)
class Table:
    """A table of text cells."""

    caption: str
    header: list[str]
    rows: list[list[str]]


@dataclass(frozen=True)
class Section:
    """One section of the report (see the module docstring).

    ``level`` (``ok``, ``caution`` or ``warning``), when set, is shown as a coloured badge
    beside the title.
    """

    key: str
    title: str
    intro: str
    facts: list[tuple[str, str]] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    figures: list[FigureFactory] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    level: str | None = None


@dataclass(frozen=True)
class Findings:
    """Everything the report computed; ``*_holdout`` fields hold the holdout's ceiling."""

    inputs: ReportInputs
    options: ReportOptions
    coders: dict[Hashable, ColumnCoder]
    univariate_columns: list[Hashable]
    bivariate_columns: list[Hashable]
    phik_columns: list[Hashable]
    accuracy: AccuracyWithCeiling
    distribution: dict[Hashable, float]
    distribution_holdout: dict[Hashable, float] | None
    association_real: Association
    association_synthetic: Association
    correlation_stability: float | None
    correlation_stability_holdout: float | None
    structure: StructureResult
    structure_holdout: StructureResult | None
    quality: QualityScore
    quality_holdout: QualityScore | None
    phik_real: Association
    phik_synthetic: Association
    privacy: PrivacyResult
    membership: MembershipAttack | None
    verdict: Verdict
    utility: UtilityResult | None
    utility_note: str | None
    n_rows_correlation: int
    n_rows_phik: int
    value_copies: list[ValueCopies] = field(default_factory=list)
    sequences: dict[str, Any] | None = None  # time series: sequence metrics per entity column
    attribute_attacks: list[AttributeAttack] = field(default_factory=list)
    fairness: FairnessResult | None = None  # parity of a target across sensitive groups


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def _num(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _with_ceiling(value: float | None, ceiling: float | None) -> str:
    if ceiling is None:
        return _pct(value)
    return f"{_pct(value)} (holdout: {_pct(ceiling)})"


def _overview(f: Findings) -> Section:
    q, qh = f.quality, f.quality_holdout
    acc, acc_h = f.accuracy.synthetic, f.accuracy.holdout
    facts = [
        ("Quality score", f"{q.score:.1f} / 100 ({q.grade})"),
        (
            "Field distribution stability",
            _with_ceiling(q.field_distribution_stability, qh and qh.field_distribution_stability),
        ),
        (
            "Field correlation stability",
            _with_ceiling(q.field_correlation_stability, qh and qh.field_correlation_stability),
        ),
        (
            "Deep structure stability",
            _with_ceiling(q.deep_structure_stability, qh and qh.deep_structure_stability),
        ),
        ("Accuracy (mostlyai-qa)", _with_ceiling(acc.overall, acc_h and acc_h.overall)),
        ("Privacy", f.verdict.headline),
    ]
    if qh is not None:
        facts.insert(1, ("Holdout's quality score (ceiling)", f"{qh.score:.1f} / 100"))
    if f.utility is not None and f.utility.utility is not None:
        facts.append(("ML utility", f"{_pct(f.utility.utility)} of real data's {f.utility.metric}"))
    inputs = f.inputs
    sizes = f"real {len(inputs.real):,}, synthetic {len(inputs.synthetic):,}"
    if inputs.holdout is not None:
        sizes += f", holdout {len(inputs.holdout):,}"
    facts.append(("Rows", sizes))
    facts.append(("Columns compared", str(len(inputs.columns))))
    bars = [
        ("Quality score", q.score / 100, qh and qh.score / 100),
        (
            "Distribution stability",
            q.field_distribution_stability,
            qh and qh.field_distribution_stability,
        ),
        (
            "Correlation stability",
            q.field_correlation_stability,
            qh and qh.field_correlation_stability,
        ),
        (
            "Deep structure stability",
            q.deep_structure_stability,
            qh and qh.deep_structure_stability,
        ),
        ("Accuracy, univariate", acc.univariate_mean, acc_h and acc_h.univariate_mean),
        (
            "Accuracy, bivariate",
            None if np.isnan(acc.bivariate_mean) else acc.bivariate_mean,
            None if acc_h is None or np.isnan(acc_h.bivariate_mean) else acc_h.bivariate_mean,
        ),
    ]
    return Section(
        key="overview",
        title="Overview",
        intro=(
            "Is this data good, and is it safe? The quality score (0–100) averages how well "
            "the synthetic data keeps each column's distribution, the associations between "
            "columns, and the deep structure of whole records. Where a holdout of unseen real "
            "data is given, its own scores show the best a generator can expect."
        ),
        facts=facts,
        figures=[lambda: [charts.overview_figure(bars)]],
        notes=list(inputs.notes),
        level=f.verdict.level,
    )


def _accuracy(f: Findings) -> Section:
    acc, acc_h = f.accuracy.synthetic, f.accuracy.holdout
    header = ["column", "kind", "accuracy", "distribution stability"]
    if acc_h is not None:
        header += ["holdout accuracy", "holdout stability"]
    rows = []
    for column in f.inputs.columns:
        row = [
            str(column),
            f.inputs.kinds[column],
            _pct(acc.univariate[column]),
            _pct(f.distribution[column]),
        ]
        if acc_h is not None and f.distribution_holdout is not None:
            row += [_pct(acc_h.univariate[column]), _pct(f.distribution_holdout[column])]
        rows.append(row)
    facts = [
        ("Accuracy", _with_ceiling(acc.overall, acc_h and acc_h.overall)),
        (
            "Univariate accuracy",
            _with_ceiling(acc.univariate_mean, acc_h and acc_h.univariate_mean),
        ),
        (
            "Bivariate accuracy",
            _with_ceiling(
                None if np.isnan(acc.bivariate_mean) else acc.bivariate_mean,
                None if acc_h is None or np.isnan(acc_h.bivariate_mean) else acc_h.bivariate_mean,
            ),
        ),
    ]
    return Section(
        key="accuracy",
        title="Accuracy",
        intro=(
            "Accuracy as mostlyai-qa defines it: every column is cut into about 10 bins fitted "
            "on the real data, and accuracy is 1 minus the total variation distance between "
            "the real and synthetic shares of the bins, for single columns (univariate) and "
            "for pairs of columns (bivariate). 100% means identical binned distributions."
        ),
        facts=facts,
        tables=[Table("Per column", header, rows)],
        figures=[
            lambda: [charts.accuracy_figure(f.bivariate_columns, acc.univariate, acc.bivariate)]
        ],
    )


def _univariate(f: Findings) -> Section:
    columns = f.univariate_columns
    notes = []
    if len(columns) < len(f.inputs.columns):
        notes.append(
            f"Charts show the first {len(columns)} of {len(f.inputs.columns)} columns "
            "(option max_columns_univariate)."
        )
    return Section(
        key="univariate",
        title="Univariate distributions",
        intro=(
            "Each column of the real data (blue) next to the synthetic data (orange): "
            "histograms for numbers and dates, the most frequent categories for the rest."
        ),
        figures=[
            (
                lambda i=i: charts.univariate_figures(
                    f.inputs.real,
                    f.inputs.synthetic,
                    columns,
                    f.coders,
                    f.accuracy.synthetic.univariate,
                    pages=[i],
                )
            )
            for i in range(charts.univariate_pages(len(columns)))
        ],
        notes=notes,
    )


def _correlations(f: Findings) -> Section:
    facts = [
        (
            "Field correlation stability",
            _with_ceiling(f.correlation_stability, f.correlation_stability_holdout),
        ),
        (
            "Mean absolute difference",
            _num(mean_abs_difference(f.association_real, f.association_synthetic)),
        ),
        ("Rows sampled per table", f"{f.n_rows_correlation:,}"),
    ]
    return Section(
        key="correlations",
        title="Correlations",
        intro=(
            "How strongly columns go together, in the real and in the synthetic data, and the "
            "difference. Two numeric columns: Pearson correlation (−1 to 1). Two categorical "
            "columns: Theil's U, the share of the row column's uncertainty that the other "
            "column removes (0 to 1). Numeric with categorical: the correlation ratio (0 to 1)."
        ),
        facts=facts,
        figures=[
            lambda: charts.association_figures(
                f.association_real, f.association_synthetic, "Association", signed=True
            )
        ],
        notes=_column_limit_note(f.bivariate_columns, f, "max_columns_bivariate"),
    )


def _column_limit_note(columns: list[Hashable], f: Findings, option: str) -> list[str]:
    if len(columns) == len(f.inputs.columns):
        return []
    return [f"Only {len(columns)} of {len(f.inputs.columns)} columns are shown (option {option})."]


def _phik(f: Findings) -> Section:
    facts = [
        ("Mean absolute difference", _num(mean_abs_difference(f.phik_real, f.phik_synthetic))),
        ("Rows sampled per table", f"{f.n_rows_phik:,}"),
    ]
    return Section(
        key="phik",
        title="PhiK correlations",
        intro=(
            "PhiK (φK) is one correlation coefficient for every pair of columns, numeric or "
            "categorical, that also catches non-linear dependence: 0 is independent, 1 fully "
            "dependent. Computed with the phik library on bins shared by real and synthetic."
        ),
        facts=facts,
        figures=[
            lambda: charts.association_figures(f.phik_real, f.phik_synthetic, "PhiK", signed=False)
        ],
        notes=_column_limit_note(f.phik_columns, f, "max_columns_phik"),
    )


def _structure(f: Findings) -> Section:
    s, sh = f.structure, f.structure_holdout
    facts = [
        ("Deep structure stability", _with_ceiling(s.stability, sh and sh.stability)),
        ("Components compared", str(len(s.per_component))),
    ]
    return Section(
        key="structure",
        title="Deep structure",
        intro=(
            "Whole records, not single columns: the principal components of the real data "
            "(PCA) are the directions along which records vary most. Real and synthetic records "
            "are projected on them; similar clouds mean the synthetic records combine values "
            "the way real ones do."
        ),
        facts=facts,
        figures=[lambda: [charts.structure_figure(s, f.options.seed)]],
        notes=_column_limit_note(f.bivariate_columns, f, "max_columns_bivariate"),
    )


def _privacy(f: Findings) -> Section:
    p = f.privacy
    facts = [
        ("Verdict", f.verdict.headline),
        (
            "DCR share",
            "n/a (no holdout)" if p.dcr_share is None else f"{p.dcr_share:.3f} (ideal 0.5)",
        ),
        ("Exact copies of training records", _pct(p.exact_copy_share)),
    ]
    if p.holdout_exact_copy_share is not None:
        facts.append(("Holdout records found in training", _pct(p.holdout_exact_copy_share)))
    median = p.to_dict()
    facts += [
        ("Median distance to closest training record", _num(median["dcr_training_median"])),
        ("Median distance to closest holdout record", _num(median["dcr_holdout_median"])),
        ("Median NNDR (synthetic)", _num(median["nndr_training_median"])),
        ("Median NNDR (holdout)", _num(median["holdout_nndr_training_median"])),
        (
            "Rows compared",
            f"training {p.n_training:,}, holdout {p.n_holdout:,}, synthetic {p.n_synthetic:,}",
        ),
        *_membership_facts(f),
        *_attribute_facts(f),
    ]
    return Section(
        key="privacy",
        title="Privacy (k-nearest neighbours)",
        intro=(
            "For every synthetic record, the distance to the closest training record and to "
            "the closest holdout record (real records the generator never saw). A generator "
            "that memorises puts its records closer to the training data: half of them should "
            "be closer to training and half closer to holdout (DCR share 0.5)."
        ),
        facts=facts,
        tables=_value_copy_tables(f.value_copies)
        + _protection_tables(f.options)
        + _attribute_tables(f.attribute_attacks),
        figures=[lambda: [charts.privacy_figure(p)]],
        notes=list(f.verdict.reasons) + _column_limit_note(p.columns, f, "max_columns_knn"),
        level=f.verdict.level,
    )


def _membership_facts(f: Findings) -> list[tuple[str, str]]:
    """The membership attack's AUC and the privacy loss it proves (beside a DP claim)."""
    m = f.membership
    if m is None:
        return [("Membership-inference attack", "n/a (needs a holdout)")]
    claimed = f.options.dp_epsilon
    delta = f"{m.delta:.0e}" if m.delta else "0"
    proven = f"ε ≥ {m.epsilon_lower_bound:.2f} at δ {delta} (95% confidence)"
    if claimed is not None:
        proven += f"; the model claims ε {claimed:g}"
    return [
        (
            "Membership-inference AUC (distance to the closest synthetic record)",
            f"{m.auc:.3f}, 95% interval {m.auc_low:.3f}–{m.auc_high:.3f} "
            f"(0.5: no better than a coin; {m.n_members:,} members, "
            f"{m.n_non_members:,} non-members)",
        ),
        ("Privacy loss the attack proves", proven),
    ]


def _gain(task: str, gain: float, low: float | None = None, high: float | None = None) -> str:
    """An attribute attack's gain over the base guess (or a gap of two gains) in words:
    accuracy points, or points of the base guess's squared error removed."""
    unit = "points" if task == "classification" else "points of squared error removed"
    text = f"{100 * gain:+.1f} {unit}"
    if low is None or high is None:
        return text
    return f"{text} (95% {100 * low:+.1f} to {100 * high:+.1f})"


def _attribute_facts(f: Findings) -> list[tuple[str, str]]:
    """The attribute attack's key figure per sensitive column: how much better than the
    base guess it guesses training records, and how much of that is theirs alone."""
    if not f.attribute_attacks:
        return [("Attribute-inference attack", NO_SENSITIVE_NOTE)]
    facts = []
    for a in f.attribute_attacks:
        name = f"Attribute inference: {a.column}"
        m = a.members
        if m is None:
            facts.append((name, f"n/a ({a.note})"))
            continue
        if a.task == "classification":
            text = f"training records guessed right {_pct(m.score)} (base guess {_pct(m.base)})"
        else:
            text = f"training records guessed with RMSE {m.score:.4g} (base guess {m.base:.4g})"
        text += f": {_gain(a.task, m.gain, m.gain_low, m.gain_high)}"
        if a.member_gap is not None:
            gap = _gain(a.task, a.member_gap, a.member_gap_low, a.member_gap_high)
            text += f"; on training records {gap} more than on holdout records"
        else:
            text += "; no holdout, so what is specific to training records is not measured"
        if a.note:
            text += f" ({a.note})"
        facts.append((name, text))
    return facts


def _guess_cells(g: AttributeGuesses) -> list[str]:
    if g.task == "classification":
        attack = f"{_pct(g.score)} right (95% {_pct(g.score_low)}–{_pct(g.score_high)})"
        return [attack, f"{_pct(g.base)} right", _gain(g.task, g.gain, g.gain_low, g.gain_high)]
    attack = f"RMSE {g.score:.4g} (R² {_num(g.r2)})"
    return [attack, f"RMSE {g.base:.4g}", _gain(g.task, g.gain, g.gain_low, g.gain_high)]


def _attribute_tables(attacks: list[AttributeAttack]) -> list[Table]:
    rows = []
    for a in attacks:
        groups = [
            (f"training records ({a.members.n:,})" if a.members else "", a.members),
            (f"holdout records ({a.non_members.n:,})" if a.non_members else "", a.non_members),
            (
                f"training records, attacker trained on {a.n_reference:,} holdout records",
                a.reference,
            ),
        ]
        rows += [[a.column, who, *_guess_cells(g)] for who, g in groups if g is not None]
    if not rows:
        return []
    return [
        Table(
            "Attribute inference: each sensitive column guessed from the other columns by a "
            "model trained on the synthetic data (base guess: its most frequent value or "
            "mean; gain: accuracy points, or share of the base guess's squared error removed)",
            ["column", "guessed for", "attack", "base guess", "gain over the base guess"],
            rows,
        )
    ]


def _protection_tables(options: ReportOptions) -> list[Table]:
    """What value protection changed in the training rows before the model learned them."""
    if not options.value_protection:
        return []
    return [
        Table(
            "Value protection: training values no single person may set, changed before "
            "learning (rare categories replaced, extremes clipped)",
            ["column", "what", "values", "rows changed"],
            [
                [p["column"], f"{p['kind']}: {p['how']}", f"{p['values']:,}", f"{p['rows']:,}"]
                for p in options.value_protection
            ],
        )
    ]


def _value_copy_tables(copies: list[ValueCopies]) -> list[Table]:
    if not copies:
        return []
    tables = [
        Table(
            "Verbatim training values per text column (unique columns such as emails "
            "should be near the holdout's 0%; categories match always)",
            ["column", "synthetic", "holdout", "repeated in training"],
            [
                [
                    c.column,
                    _pct(c.synthetic_share),
                    _pct(c.holdout_share),
                    _pct(c.training_repeat_share),
                ]
                for c in copies
            ],
        )
    ]
    texts = [c for c in copies if c.text is not None]
    if texts:
        tables.append(
            Table(
                "Long text columns (synthetic / holdout)",
                ["column", "length accuracy", "vocabulary overlap", "8-gram copy share"],
                [
                    [
                        c.column,
                        f"{_pct(t.length_accuracy)} / {_pct(t.length_accuracy_holdout)}",
                        f"{_pct(t.vocabulary_overlap)} / {_pct(t.vocabulary_overlap_holdout)}",
                        f"{_pct(t.ngram_copy_share)} / {_pct(t.ngram_copy_share_holdout)}",
                    ]
                    for c in texts
                    if (t := c.text) is not None
                ],
            )
        )
    return tables


_UTILITY_HEADER = ["metric", "trained on real", "trained on synthetic"]


def _utility(f: Findings) -> Section:
    u = f.utility
    if u is None:
        return Section(key="utility", title="ML utility", intro=f.utility_note or "")
    metrics = sorted(set(u.real) | set(u.synthetic))
    rows = [[m, _num(u.real.get(m)), _num(u.synthetic.get(m))] for m in metrics]
    facts = [
        ("Target", f"{u.target} ({u.task})"),
        ("Utility", f"{_pct(u.utility)} (synthetic {u.metric} / real {u.metric})"),
        ("Rows", f"trained on {u.n_train:,} each, tested on {u.n_test:,} holdout rows"),
    ]
    return Section(
        key="utility",
        title="ML utility",
        intro=(
            "Would a model trained on the synthetic data do as well as one trained on real "
            "data? Two gradient-boosted models predict the target from the other columns, one "
            "trained on synthetic and one on real data, and both are scored on the holdout."
        ),
        facts=facts,
        tables=[Table("Scores on the holdout", _UTILITY_HEADER, rows)] if rows else [],
        figures=[lambda: [charts.utility_figure(u)]] if u.real else [],
        notes=list(u.notes),
    )


def _value(value: float | None, digits: int | None = None) -> str:
    """A share as a percentage (``digits`` None) or a number; n/a when missing or NaN."""
    if value is None or value != value:
        return "n/a"
    return f"{100 * value:.1f}%" if digits is None else f"{value:.{digits}f}"


def sequence_tables(found: dict[str, dict[str, Any]], what: str) -> list[Table]:
    """The sequence metrics (:func:`synthloom.report.sequences.sequence_scores`) of each
    entry of ``found`` (a child table's link, a time series' entity column): one row per
    entry, and the lag-1 autocorrelation of each numeric column."""
    rows, lags = [], []
    for name, entry in found.items():
        ordered = ", ".join(
            f"{c}: {_value(v['synthetic']['non_decreasing'])} "
            f"(real {_value(v['real']['non_decreasing'])})"
            for c, v in entry.get("ordered", {}).items()
        )
        constant = entry.get("constant_within_entity", {}).values()
        kept = [v["synthetic"] for v in constant if v["synthetic"] == v["synthetic"]]
        rows.append(
            [
                name,
                _value(entry["length_accuracy"]),
                f"{_value(entry['mean_length']['synthetic'], 2)} "
                f"(real {_value(entry['mean_length']['real'], 2)})",
                _value(entry["consecutive_pair_accuracy"]),
                _value(float(np.mean(kept))) if kept else "",
                ordered,
            ]
        )
        for column, lag in entry.get("lag1_autocorrelation", {}).items():
            lags.append([name, column, _value(lag["real"], 3), _value(lag["synthetic"], 3)])
    header = ["", "length accuracy", "mean length", "consecutive pairs", "constants kept"]
    tables = [Table(what, [*header, "ordered"], rows)] if rows else []
    if lags:
        caption = "Lag-1 autocorrelation of numeric columns within a sequence"
        tables.append(Table(caption, ["", "column", "real", "synthetic"], lags))
    return tables


def _fairness(result: FairnessResult) -> Section:
    header, rows = share_rows(result)
    groups = " × ".join(result.sensitive)
    return Section(
        key="fairness",
        title="Fairness (statistical parity)",
        intro=(
            f"How much the share of each {result.target} value differs between the groups of "
            f"{groups}: the parity gap is the largest difference between two groups' shares "
            "(0: the target is independent of the groups). Real rows before, synthetic after."
        ),
        facts=[
            ("Parity gap, real rows", f"{result.real.gap:.3f}"),
            ("Parity gap, synthetic rows", f"{result.synthetic.gap:.3f}"),
        ],
        tables=[Table(f"{result.target} per group (real / synthetic)", header, rows)],
    )


def _series(findings: Findings) -> Section:
    return Section(
        key="sequences",
        title="Sequences",
        intro=(
            "The table as series, rows grouped by entity and ordered: how many rows a "
            "series has (length accuracy, 1 − TVD), how consecutive rows pair up, whether "
            "columns constant within a real series stay constant, whether order_by columns "
            "stay ordered, and how strongly each numeric column follows its previous value. "
            "Definitions: docs/METRICS.md."
        ),
        facts=[],
        tables=sequence_tables(findings.sequences or {}, "Series"),
    )


def build_sections(findings: Findings) -> list[Section]:
    """The report's sections, in order."""
    sections = [
        _overview(findings),
        _accuracy(findings),
        _univariate(findings),
        _correlations(findings),
        _phik(findings),
        _structure(findings),
        _privacy(findings),
    ]
    if findings.inputs.target is not None:
        sections.append(_utility(findings))
    if findings.sequences:
        sections.append(_series(findings))
    if findings.fairness is not None:
        sections.append(_fairness(findings.fairness))
    return sections
