"""``build_report``: compute every score of the quality and privacy report and write it."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from synthloom.errors import DataError
from synthloom.report.attacks import AttributeAttack, attribute_attack, membership_attack
from synthloom.report.correlations import (
    Association,
    association_matrix,
    fit_coders,
    mean_abs_difference,
    phik_matrix,
)
from synthloom.report.fairness import FairnessResult, fairness
from synthloom.report.inputs import ReportInputs, prepare_inputs, sample_rows, select_columns
from synthloom.report.options import ReportOptions, ReportResult, SeriesSpec
from synthloom.report.privacy import knn_privacy, privacy_verdict
from synthloom.report.render import json_safe, now_iso, write_report
from synthloom.report.scores import (
    accuracy_with_ceiling,
    deep_structure,
    field_correlation_stability,
    field_distribution_stability,
    quality_score,
)
from synthloom.report.sections import NO_SENSITIVE_NOTE, Findings, build_sections
from synthloom.report.sequences import sequence_scores
from synthloom.report.utility import UtilityResult, ml_utility
from synthloom.report.values import value_copies

__all__ = [
    "REPORT_VERSION",
    "build_report",
    "compute_findings",
    "compute_scores",
    "scores_dict",
]

logger = logging.getLogger(__name__)

#: Version of the layout of ``report.json``; raised when keys change meaning or go away.
REPORT_VERSION = 1


def _samples(frames: list[pd.DataFrame], max_rows: int, seed: int) -> list[pd.DataFrame]:
    """Equal-size samples of every frame (sizes matter to Theil's U, PhiK and PCA)."""
    n = min(max_rows, *(len(frame) for frame in frames))
    return [sample_rows(frame, n, seed) for frame in frames]


@contextmanager
def _timed(step: str) -> Iterator[None]:
    """Log how long a step took (at DEBUG level)."""
    start = time.perf_counter()
    yield
    logger.debug("report step %s took %.2f s", step, time.perf_counter() - start)


def _utility(
    inputs: ReportInputs, options: ReportOptions
) -> tuple[UtilityResult | None, str | None]:
    if inputs.target is None:
        return None, None
    if inputs.holdout is None:
        return None, (
            "ML utility needs a holdout (real records the generator never saw) to test the "
            "models on; pass one to compare a model trained on synthetic data with one "
            "trained on real data."
        )
    result = ml_utility(
        inputs.real,
        inputs.synthetic,
        inputs.holdout,
        inputs.target,
        inputs.kinds,
        inputs.columns,
        options.max_rows_ml,
        options.seed,
    )
    return result, None


def _sensitive_columns(inputs: ReportInputs, options: ReportOptions) -> list[Any]:
    """The sensitive columns of the report options, each a column of every frame."""
    missing = [c for c in options.sensitive_columns if c not in inputs.columns]
    if missing:
        raise DataError(
            f"sensitive columns {missing} are not columns of every frame; name some of "
            f"{[str(c) for c in inputs.columns]} in sensitive_columns (or columns: {{name: "
            "{sensitive: true}} in the model's config)"
        )
    return list(options.sensitive_columns)


def _attribute_attacks(inputs: ReportInputs, options: ReportOptions) -> list[AttributeAttack]:
    """The attribute-inference attack on each sensitive column, from the other columns
    (the first ``max_columns_knn`` that are not sensitive; rows capped at ``max_rows_knn``)."""
    sensitive = _sensitive_columns(inputs, options)
    others = [c for c in inputs.columns if c not in sensitive]
    features = select_columns(others, options.max_columns_knn)
    return [
        attribute_attack(
            inputs.real,
            inputs.synthetic,
            inputs.holdout,
            column,
            features,
            inputs.kinds,
            options.max_rows_knn,
            options.seed,
        )
        for column in sensitive
    ]


def _parity(inputs: ReportInputs, options: ReportOptions) -> FairnessResult | None:
    """The target's parity across the sensitive groups, real and synthetic (if asked)."""
    if options.fairness is None:
        return None
    target, sensitive = options.fairness
    return fairness(inputs.real, inputs.synthetic, target, list(sensitive))


def _compute(inputs: ReportInputs, options: ReportOptions) -> Findings:
    _sensitive_columns(inputs, options)  # a wrong name fails before the long work
    parity = _parity(inputs, options)  # quick, and so does a wrong fairness column
    real, synthetic, holdout = inputs.real, inputs.synthetic, inputs.holdout
    seed, bins = options.seed, options.bins
    target = inputs.target
    pair_columns = select_columns(inputs.columns, options.max_columns_bivariate, target)
    phik_columns = select_columns(inputs.columns, options.max_columns_phik, target)
    knn_columns = select_columns(inputs.columns, options.max_columns_knn, target)
    coders = fit_coders(real, inputs.columns, bins)
    # fresh real data, as many rows as the synthetic data, gives each score's ceiling
    ceiling = None if holdout is None else sample_rows(holdout, len(synthetic), seed)

    with _timed("accuracy and distributions"):
        accuracy = accuracy_with_ceiling(real, synthetic, ceiling, pair_columns, bins)
        distributions = [
            field_distribution_stability(real, other, inputs.columns, bins)
            for other in ([synthetic] if ceiling is None else [synthetic, ceiling])
        ]
    frames = [real, synthetic] + ([] if holdout is None else [holdout])
    with _timed("correlations and structure"):
        sampled = _samples([f[pair_columns] for f in frames], options.max_rows_correlation, seed)
        associations = [association_matrix(f, pair_columns, coders) for f in sampled]
        structures = deep_structure(sampled[0], sampled[1:], bins, seed)
        stabilities = [field_correlation_stability(associations[0], a) for a in associations[1:]]
        qualities = [
            quality_score(float(np.mean(list(d.values()))), c, s.stability)
            for d, c, s in zip(distributions, stabilities, structures, strict=True)
        ]
    with _timed("phik"):
        phik_frames = _samples([f[phik_columns] for f in frames[:2]], options.max_rows_phik, seed)
        phiks = [phik_matrix(f, phik_columns, coders) for f in phik_frames]
    with _timed("k-NN privacy"):
        privacy = knn_privacy(real, synthetic, holdout, knn_columns, options.max_rows_knn, seed)
    with _timed("membership attack"):
        membership = None
        if privacy.member_d_synthetic is not None and privacy.non_member_d_synthetic is not None:
            membership = membership_attack(
                privacy.member_d_synthetic,
                privacy.non_member_d_synthetic,
                options.dp_delta or 0.0,
            )
    with _timed("attribute attack"):
        attributes = _attribute_attacks(inputs, options)
    with _timed("verbatim values"):
        copies = value_copies(real, synthetic, holdout, inputs.columns, seed)
    with _timed("ML utility"):
        utility, utility_note = _utility(inputs, options)
    with _timed("sequences"):
        series = _series_scores(inputs, options.series)

    return Findings(
        inputs=inputs,
        options=options,
        coders=coders,
        univariate_columns=select_columns(inputs.columns, options.max_columns_univariate, target),
        bivariate_columns=pair_columns,
        phik_columns=phik_columns,
        accuracy=accuracy,
        distribution=distributions[0],
        distribution_holdout=distributions[1] if len(distributions) > 1 else None,
        association_real=associations[0],
        association_synthetic=associations[1],
        correlation_stability=stabilities[0],
        correlation_stability_holdout=stabilities[1] if len(stabilities) > 1 else None,
        structure=structures[0],
        structure_holdout=structures[1] if len(structures) > 1 else None,
        quality=qualities[0],
        quality_holdout=qualities[1] if len(qualities) > 1 else None,
        phik_real=phiks[0],
        phik_synthetic=phiks[1],
        privacy=privacy,
        membership=membership,
        attribute_attacks=attributes,
        fairness=parity,
        verdict=privacy_verdict(privacy, copies),
        utility=utility,
        utility_note=utility_note,
        n_rows_correlation=len(sampled[0]),
        n_rows_phik=len(phik_frames[0]),
        value_copies=copies,
        sequences=series,
    )


def _series_scores(inputs: ReportInputs, spec: SeriesSpec | None) -> dict[str, Any] | None:
    """The sequence metrics of a time-series table (rows grouped by entity, in order)."""
    if spec is None:
        return None
    keys = [c for c in (spec.entity_column, *spec.order_by) if c is not None]
    missing = [c for c in keys if c not in inputs.real or c not in inputs.synthetic]
    if missing:
        raise DataError(f"series columns {missing} are not in both frames; name common columns")
    grouped = []
    for frame in (inputs.real, inputs.synthetic):
        frame = frame.sort_values(keys, kind="stable").reset_index(drop=True) if keys else frame
        entity = (
            pd.factorize(frame[spec.entity_column])[0]
            if spec.entity_column
            else np.zeros(len(frame), dtype=np.int64)
        )
        grouped.append((frame, entity))
    columns = [c for c in inputs.columns if c != spec.entity_column]
    (real, real_entity), (synthetic, synthetic_entity) = grouped
    name = spec.entity_column or "series"
    return {
        str(name): sequence_scores(
            real, real_entity, synthetic, synthetic_entity, columns, list(spec.order_by)
        )
    }


def _matrix_dict(association: Association) -> list[list[float | None]]:
    return json_safe(association.matrix)


def _stability_dict(f: Findings) -> dict[str, Any]:
    quality = f.quality.to_dict()
    quality["per_column_distribution_stability"] = {str(k): v for k, v in f.distribution.items()}
    quality["deep_structure"] = {
        "per_component": f.structure.per_component,
        "weights": f.structure.weights,
    }
    quality["holdout"] = None
    if f.quality_holdout is not None and f.distribution_holdout is not None:
        quality["holdout"] = f.quality_holdout.to_dict()
        quality["holdout"]["per_column_distribution_stability"] = {
            str(k): v for k, v in f.distribution_holdout.items()
        }
    return quality


def scores_dict(f: Findings) -> dict[str, Any]:
    """Every score of the report, JSON-friendly (the content of ``report.json``)."""
    inputs = f.inputs
    verdict = f.verdict.to_dict()
    return {
        "report_version": REPORT_VERSION,
        "generated_at": now_iso(),
        "data": {
            "n_real": len(inputs.real),
            "n_synthetic": len(inputs.synthetic),
            "n_holdout": None if inputs.holdout is None else len(inputs.holdout),
            "columns": [str(c) for c in inputs.columns],
            "kinds": {str(c): k for c, k in inputs.kinds.items()},
            "target": None if inputs.target is None else str(inputs.target),
            "notes": inputs.notes,
        },
        "options": f.options.to_dict(),
        "quality": _stability_dict(f),
        "accuracy": f.accuracy.to_dict(),
        "correlations": {
            "columns": [str(c) for c in f.association_real.columns],
            "methods": f.association_real.methods,
            "real": _matrix_dict(f.association_real),
            "synthetic": _matrix_dict(f.association_synthetic),
            "n_rows": f.n_rows_correlation,
            "mean_abs_difference": mean_abs_difference(f.association_real, f.association_synthetic),
            "field_correlation_stability": f.correlation_stability,
            "holdout_field_correlation_stability": f.correlation_stability_holdout,
        },
        "phik": {
            "columns": [str(c) for c in f.phik_real.columns],
            "real": _matrix_dict(f.phik_real),
            "synthetic": _matrix_dict(f.phik_synthetic),
            "n_rows": f.n_rows_phik,
            "mean_abs_difference": mean_abs_difference(f.phik_real, f.phik_synthetic),
        },
        "privacy": {
            **f.privacy.to_dict(),
            "membership_inference": None if f.membership is None else f.membership.to_dict(),
            "attribute_inference": {
                "sensitive_columns": [str(c) for c in f.options.sensitive_columns],
                "attacks": [a.to_dict() for a in f.attribute_attacks],
                "note": None if f.attribute_attacks else NO_SENSITIVE_NOTE,
            },
            "claimed_epsilon": f.options.dp_epsilon,
            "claimed_delta": f.options.dp_delta,
            "value_copies": [c.to_dict() for c in f.value_copies],
            "value_protection": list(f.options.value_protection),
            "verdict": verdict,
        },
        "fairness": None if f.fairness is None else f.fairness.to_dict(),
        "ml_utility": None if f.utility is None else f.utility.to_dict(),
        "sequences": f.sequences,
        "warnings": _warnings(f),
    }


def _warnings(f: Findings) -> list[str]:
    warnings = []
    if f.verdict.level != "ok":
        warnings.append(" ".join([f.verdict.headline, *f.verdict.reasons]))
    return warnings + list(f.inputs.notes)


def compute_findings(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    *,
    holdout: pd.DataFrame | None = None,
    target: str | None = None,
    options: ReportOptions | None = None,
) -> Findings:
    """Every result of the report, without drawing or writing anything.

    Arguments and errors as :func:`build_report`; :func:`scores_dict` turns the result into
    the content of ``report.json``.
    """
    options = options or ReportOptions()
    inputs = prepare_inputs(real, synthetic, holdout, target)
    with threadpool_limits(limits=options.threads):
        return _compute(inputs, options)


def compute_scores(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    *,
    holdout: pd.DataFrame | None = None,
    target: str | None = None,
    options: ReportOptions | None = None,
) -> dict[str, Any]:
    """The scores of :func:`build_report` (the content of ``report.json``), no files written."""
    findings = compute_findings(real, synthetic, holdout=holdout, target=target, options=options)
    return json_safe(scores_dict(findings))


def build_report(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    output_dir: str | Path,
    *,
    holdout: pd.DataFrame | None = None,
    target: str | None = None,
    options: ReportOptions | None = None,
) -> ReportResult:
    """Score ``synthetic`` against ``real`` and write ``report.html``, ``.pdf`` and ``.json``.

    Args:
        real: the data the generator was trained on.
        synthetic: the generated data; columns are matched to ``real`` by name and only the
            common ones are compared.
        output_dir: folder for the three files (created if missing; files are replaced
            atomically).
        holdout: real records the generator never saw. It gives every fidelity score a
            ceiling (what fresh real data scores), the DCR share of the privacy check and
            the test set of the ML utility.
        target: a column to predict for the ML utility section (needs ``holdout``).
        options: column and row limits, seed, title (defaults: :class:`ReportOptions`).

    Returns:
        The paths of the three files, the scores (the content of ``report.json``) and
        plain-words warnings (a privacy warning comes first).

    Raises:
        DataError: a frame is not a DataFrame, is empty or has duplicated column names; the
            frames share no column; or ``target`` is not a common column.
        ConfigError: an option is out of range.
    """
    options = options or ReportOptions()
    findings = compute_findings(real, synthetic, holdout=holdout, target=target, options=options)
    scores = scores_dict(findings)
    with _timed("render"):
        html_path, pdf_path, json_path = write_report(
            build_sections(findings), scores, Path(output_dir), options.title
        )
    for warning in scores["warnings"]:
        logger.warning("%s", warning)
    return ReportResult(
        html_path=html_path,
        pdf_path=pdf_path,
        json_path=json_path,
        scores=json_safe(scores),
        warnings=list(scores["warnings"]),
    )
