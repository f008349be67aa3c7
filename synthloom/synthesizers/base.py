"""What the synthesizers share: the model header; for tables, their defaults and DP run.

Both learn rows of a table with the same network family, so the params a user leaves
unset are sized alike (:func:`table_params`), and under DP both open one budget, choose
inferred column kinds privately and release each column's vocabulary once
(:class:`PrivateRun`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from synthloom.config import Params
from synthloom.encoding.columns import max_lengths, requested_kinds
from synthloom.encoding.fields import DomainBudget, TableCodec
from synthloom.encoding.private_kinds import inferred_columns, private_kinds
from synthloom.errors import DataError
from synthloom.io.schema import TableFormat
from synthloom.lstm.steps import dp_settings
from synthloom.privacy.accounting import Release
from synthloom.privacy.training import PrivateTraining
from synthloom.version import __version__

# Params a user left unset are sized to the table (Gretel's defaults suit char models).
# One recurrent layer at a larger step size that falls over the budget: at a 30 s cap
# (benchmarks/adult.py --validation-split 0) Adult C2ST AUC 0.58 -> 0.54, Lahman Batting
# TVD 0.915 -> 0.960, stocks C2ST 0.63 -> 0.60, and generation 1.6-2x faster.
_TABLE_DEFAULTS = {
    "rnn_units": 128,
    "embedding_dim": 32,
    "rnn_layers": 1,
    "batch_size": 256,
    "learning_rate": 0.008,
    "learning_rate_schedule": "budget",
    "dropout_rate": 0.1,
}
# Table models train without dropout for this many epochs, then with it (Trainer's late
# dropout). Adult at a 30 s cap runs 8-9 epochs (benchmarks/adult.py --validation-split 0,
# means of seeds 0-3): TVD 0.9799 from epoch 10, 0.9791 from epoch 8, 0.9790 with dropout
# throughout. A 3,000-row table at that cap runs ~90 epochs: DCR share 0.597 from epoch 10,
# 0.602 from 8; earlier, 0.598 throughout and 0.631 without dropout.
LATE_DROPOUT_EPOCH = 10
# A table model holds out 10% of its rows: its validation loss stops training before the
# network learns rows by heart, and they are the report's holdout (DCR, the membership
# attack). A 3,300-row table (benchmarks/flights.py's aircraft, 150 s cap): without it
# 82% of generated rows were copies of training rows (DCR share 0.88), with it 7.7%
# (0.516), at the same accuracy on a fresh draw (TVD 0.931 both). Adult at a 135 s cap
# (benchmarks/adult.py): DCR share 0.538 -> 0.497, holdout TVD 0.9766 -> 0.9761.
TABLE_VALIDATION_SPLIT = 0.1
_FLAT_TABLE_DEFAULTS = {**_TABLE_DEFAULTS, "validation_split": TABLE_VALIDATION_SPLIT}
# Under DP: one layer, a larger step and 12 epochs (the noise is solved for the planned
# epochs, so fewer epochs mean less noise per step). benchmarks/dp.py --delta 1e-6 (these
# settings): Adult at ε 4 TVD 0.943-0.953 over three runs, each in about 90 s (the noise
# differs run to run); a 3,000-row sample of Adult at ε 4 scored 0.755 in 9 s, where
# 2 layers, 0.004 and 100 epochs took 142 s for 0.761 (closing note of stop 40).
_DP_TABLE_DEFAULTS = {
    **_TABLE_DEFAULTS,
    "learning_rate": 0.01,
    "learning_rate_schedule": "plateau",
    "epochs": 12,
}


def table_params(params: Params, flat: bool = True) -> Params:
    """``params`` with every option the user did not set replaced by a table default
    (``flat``: a table of rows, which holds out a validation split; not a sequence model's
    nor a DP model's, whose records all train)."""
    defaults = (
        _DP_TABLE_DEFAULTS if params.dp else _FLAT_TABLE_DEFAULTS if flat else _TABLE_DEFAULTS
    )
    unset = {k: v for k, v in defaults.items() if k not in params.model_fields_set}
    return params.model_copy(update=unset)


# Share of dp_epsilon (and half of δ) spent on the columns' vocabularies.
DP_DOMAIN_SHARE = 0.2
# Share of dp_epsilon spent choosing the kinds of columns whose kind was inferred.
DP_KIND_SHARE = 0.04


@dataclass
class PrivateRun:
    """A DP table run: its budget, each column's released vocabulary, and the table as
    retyped by the private kind choice."""

    training: PrivateTraining
    codec: TableCodec
    frame: pd.DataFrame
    table_format: TableFormat

    @classmethod
    def plan(
        cls,
        frame: pd.DataFrame,
        table_format: TableFormat,
        rows: np.ndarray,
        params: Params,
        n_models: int,
        options: dict[str, Any] | None = None,
    ) -> PrivateRun:
        """Open the run's budget (released n, δ, DP-SGD plan), choose inferred column
        kinds privately, and release every column's vocabulary once, from OS entropy."""
        inferred = inferred_columns(frame, table_format)
        share = DP_DOMAIN_SHARE + (DP_KIND_SHARE if inferred else 0.0)
        training = PrivateTraining.open(
            dp_settings(params), len(rows), models=n_models, domain_share=share
        )
        domain_eps, domain_delta = training.domain_budget
        vocab_eps = domain_eps * DP_DOMAIN_SHARE / share
        if inferred:
            kind_eps = (domain_eps - vocab_eps) / len(inferred)
            frame, table_format = private_kinds(
                frame, table_format, inferred, training.n_released, kind_eps, training.rng
            )
            training.releases += [
                Release(f"kind of column {c!r}", "sparse vector over the public kinds", kind_eps)
                for c in inferred
            ]
        declared = [c for c in frame.columns if c not in inferred]
        if declared:
            training.public_inputs.append(f"column types declared by the input: {declared}")
        k = frame.shape[1]
        budgets = {
            c: DomainBudget(vocab_eps / k, domain_delta / k, training.n_released, training.rng)
            for c in frame
        }
        training.releases += [
            Release(
                f"column {c!r}: its values or frequent values, range and bin edges",
                "Laplace histogram with threshold; exponential-mechanism quantiles",
                vocab_eps / k,
                domain_delta / k,
            )
            for c in frame
        ]
        training.not_covered.append(
            "values too rare to release under DP come out missing (<na>) in generated rows"
        )
        columns = [table_format.column(c) for c in frame.columns]
        options = options or {}
        codec = TableCodec.fit(
            frame.iloc[rows], columns, [], budgets, requested_kinds(options), max_lengths(options)
        )
        return cls(training, codec, frame, table_format)


def refuse_unknown_seed_columns(
    given: Iterable[str], known: Collection[str], owner: str, offer: Iterable[str]
) -> None:
    """One line naming the seed columns ``owner`` does not have, and the ones to give."""
    unknown = [c for c in given if c not in known]
    if unknown:
        raise DataError(
            f"seed column(s) {unknown} are not columns of {owner}; give some of {list(offer)}"
        )


def model_header(data_kind: str) -> dict[str, Any]:
    """The first keys of every ``model_params.json``: who wrote it, and what it holds."""
    return {
        "synthloom_version": __version__,
        "torch_version": torch.__version__,
        "data_kind": data_kind,
    }
