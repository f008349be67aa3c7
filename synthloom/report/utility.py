"""Machine-learning utility: train on synthetic, test on real (TSTR) vs train on real (TRTR).

Two gradient-boosted models (scikit-learn ``HistGradientBoosting*``, fixed seed, default
settings but early stopping on 10 % of the training rows) predict the target from every
other common column: one trained on a sample of the synthetic data, one on an equally large
sample of the real (training) data. Both are scored on the holdout, which neither has seen.
The utility is the ratio of their main scores.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.metrics import (
    accuracy_score,
    f1_score,
    mean_absolute_error,
    r2_score,
    roc_auc_score,
)

from synthloom.report.inputs import sample_rows
from synthloom.report.metrics import _as_datetime, _as_float, _as_text, _Kind

__all__ = ["MAX_FEATURE_CATEGORIES", "UtilityResult", "ml_utility"]

Task = Literal["classification", "regression"]

#: Categorical features keep this many of their most frequent real categories.
MAX_FEATURE_CATEGORIES = 50
_OTHER = "(other)"
# Early stopping on 10 % of the training rows keeps fits short on noise-like data.
_MODEL_SETTINGS: dict[str, Any] = {
    "categorical_features": "from_dtype",
    "early_stopping": True,
    "validation_fraction": 0.1,
    "n_iter_no_change": 10,
}


@dataclass(frozen=True)
class UtilityResult:
    """Scores of the model trained on synthetic data and of the one trained on real data.

    Attributes:
        target: the predicted column.
        task: ``classification`` (categorical target) or ``regression`` (numeric target).
        metric: the main score: ``roc_auc`` (two classes), ``macro_f1`` (more classes) or
            ``r2`` (regression).
        synthetic: every score of the model trained on synthetic data, on the holdout.
        real: the same for the model trained on real data.
        utility: ``synthetic[metric] / real[metric]`` (1 is as useful as real data; None
            when the real model scores 0 or less).
        n_train: rows each model was trained on.
        n_test: holdout rows scored.
        notes: anything that limited the comparison.
    """

    target: str
    task: Task
    metric: str
    synthetic: dict[str, float | None]
    real: dict[str, float | None]
    utility: float | None
    n_train: int
    n_test: int
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "task": self.task,
            "metric": self.metric,
            "train_synthetic_test_real": self.synthetic,
            "train_real_test_real": self.real,
            "utility": self.utility,
            "n_train": self.n_train,
            "n_test": self.n_test,
            "notes": self.notes,
        }


class _FeatureEncoder:
    """Numbers for numeric and datetime columns, top real categories for the others."""

    def __init__(self, real: pd.DataFrame, kinds: dict[Hashable, _Kind]) -> None:
        self.kinds = kinds
        self.categories: dict[Hashable, list[str]] = {}
        for column, kind in kinds.items():
            if kind == "categorical":
                counts = _as_text(real[column]).value_counts(dropna=True)
                top = [str(c) for c in counts.index[:MAX_FEATURE_CATEGORIES]]
                self.categories[column] = [*top, _OTHER]

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        out: dict[str, Any] = {}
        for i, (column, kind) in enumerate(self.kinds.items()):
            name = f"f{i}"
            if kind == "numeric":
                out[name] = _as_float(frame[column])
            elif kind == "datetime":
                ints, missing = _as_datetime(frame[column])
                out[name] = np.where(missing, np.nan, ints.astype(np.float64))
            else:
                text = _as_text(frame[column])
                known = text.isin(self.categories[column][:-1]) | text.isna()
                text = text.where(known, _OTHER).astype(object)
                text = text.where(text.notna(), None)
                out[name] = pd.Categorical(text, categories=self.categories[column])
        return pd.DataFrame(out)


def _classification_scores(
    model: HistGradientBoostingClassifier, x: pd.DataFrame, y: np.ndarray, classes: list[str]
) -> dict[str, float | None]:
    predicted = model.predict(x)
    scores: dict[str, float | None] = {
        "accuracy": float(accuracy_score(y, predicted)),
        "macro_f1": float(f1_score(y, predicted, average="macro", labels=classes)),
        "roc_auc": None,
    }
    if len(classes) == 2 and len(np.unique(y)) == 2:
        proba = model.predict_proba(x)
        column = list(model.classes_).index(classes[1]) if classes[1] in model.classes_ else None
        if column is not None:
            scores["roc_auc"] = float(roc_auc_score(y == classes[1], proba[:, column]))
    return scores


def _regression_scores(
    model: HistGradientBoostingRegressor, x: pd.DataFrame, y: np.ndarray
) -> dict[str, float | None]:
    predicted = model.predict(x)
    return {
        "r2": float(r2_score(y, predicted)),
        "mae": float(mean_absolute_error(y, predicted)),
    }


def _target_values(series: pd.Series, task: Task) -> np.ndarray:
    if task == "regression":
        return _as_float(series)
    return _as_text(series).to_numpy(dtype=object, na_value=None)


def _fit_and_score(
    train: pd.DataFrame,
    test: pd.DataFrame,
    encoder: _FeatureEncoder,
    target: Hashable,
    task: Task,
    classes: list[str],
    seed: int,
) -> dict[str, float | None]:
    y_train = _target_values(train[target], task)
    y_test = _target_values(test[target], task)
    if task == "classification":
        if len(set(y_train)) < 2:
            return {"accuracy": None, "macro_f1": None, "roc_auc": None}
        model = HistGradientBoostingClassifier(**_MODEL_SETTINGS, random_state=seed)
        model.fit(encoder.transform(train), y_train)
        return _classification_scores(model, encoder.transform(test), y_test, classes)
    regressor = HistGradientBoostingRegressor(**_MODEL_SETTINGS, random_state=seed)
    regressor.fit(encoder.transform(train), y_train)
    return _regression_scores(regressor, encoder.transform(test), y_test)


def _present(frame: pd.DataFrame, target: Hashable, task: Task) -> pd.DataFrame:
    values = _target_values(frame[target], task)
    keep = ~pd.isna(values)
    return frame.loc[keep].reset_index(drop=True)


def ml_utility(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    holdout: pd.DataFrame,
    target: Hashable,
    kinds: dict[Hashable, _Kind],
    features: Sequence[Hashable],
    max_rows: int,
    seed: int,
) -> UtilityResult:
    """TSTR vs TRTR scores for predicting ``target`` from ``features`` (see module doc)."""
    task: Task = "classification" if kinds[target] == "categorical" else "regression"
    real, synthetic, holdout = (_present(f, target, task) for f in (real, synthetic, holdout))
    notes: list[str] = []
    n_train = min(len(real), len(synthetic), max_rows)
    real_train = sample_rows(real, n_train, seed)
    synthetic_train = sample_rows(synthetic, n_train, seed)
    test = sample_rows(holdout, max_rows, seed)
    encoder = _FeatureEncoder(real, {c: kinds[c] for c in features if c != target})
    classes: list[str] = []
    if task == "classification":
        classes = sorted({str(v) for v in _target_values(real[target], task)})
        metric = "roc_auc" if len(classes) == 2 else "macro_f1"
    else:
        metric = "r2"
    note = None
    if n_train < 2 or len(test) < 2:
        note = "too few rows with a target value to train and test models"
    elif not encoder.kinds:
        note = "the target is the only column: there is nothing to predict it from"
    if note is not None:
        return UtilityResult(str(target), task, metric, {}, {}, None, n_train, len(test), [note])
    scores = [
        _fit_and_score(frame, test, encoder, target, task, classes, seed)
        for frame in (synthetic_train, real_train)
    ]
    synthetic_score, real_score = scores[0].get(metric), scores[1].get(metric)
    if synthetic_score is None:
        notes.append("the synthetic data has a single target value: no model could be trained")
    utility = None
    if synthetic_score is not None and real_score is not None and real_score > 0:
        utility = max(0.0, synthetic_score) / real_score
    if utility is not None and math.isnan(utility):
        utility = None
    return UtilityResult(
        target=str(target),
        task=task,
        metric=metric,
        synthetic=scores[0],
        real=scores[1],
        utility=utility,
        n_train=n_train,
        n_test=len(test),
        notes=notes,
    )
