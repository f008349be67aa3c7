"""A table's column clusters as models: planned, built, sampled and calibrated.

A wide table is learned as clusters of correlated columns, one :class:`ClusterModel`
each; a later cluster is conditioned on columns of the earlier ones. This module holds
what one cluster is (saved, loaded, sampled, its text lengths calibrated) and what the
clusters add up to (their columns' kinds, one training result).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from synthloom.config import ColumnOptions, Params
from synthloom.encoding.clusters import (
    Cluster,
    cramers_v_matrix,
    plan_clusters,
    schema_order_clusters,
)
from synthloom.encoding.columns import loss_weights, max_lengths, requested_kinds
from synthloom.encoding.fields import (
    SMALL_UNIQUE_MIN_DISTINCT,
    SMALL_UNIQUE_SHARE,
    STRING_MIN_DISTINCT,
    STRING_MIN_UNIQUE_SHARE,
    TEXT_MIN_MEAN_LENGTH,
    CategoricalField,
    StringField,
    TableCodec,
)
from synthloom.io.model_dir import check_shape, load_weights
from synthloom.io.schema import TableFormat
from synthloom.lstm.calibration import Rates, Shares, calibrated_biases, end_rates
from synthloom.lstm.table_model import TableLSTM, TableSampler, TableShape
from synthloom.lstm.train import TrainingResult, first_given

log = logging.getLogger("synthloom")

# Rows sampled per round when a text column's lengths are calibrated after training.
TEXT_CALIBRATION_ROWS = 2000
# Rows sampled per round to calibrate a DP model's category shares.
SHARE_CALIBRATION_ROWS = 20_000


@dataclass
class ClusterModel:
    """One cluster's model: it generates ``columns`` given the ``conditioned`` ones."""

    columns: list[str]
    conditioned: list[str]
    codec: TableCodec
    network: TableLSTM
    folder: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "columns": self.columns,
            "conditioned": self.conditioned,
            "codec": self.codec.to_dict(),
            "model_shape": self.network.shape.to_dict(),
            "folder": self.folder,
        }

    @classmethod
    def load(cls, directory: Path, data: dict[str, Any]) -> ClusterModel:
        shape = TableShape.from_dict(data["model_shape"])
        dims = {k: getattr(shape, k) for k in ("embedding_dim", "rnn_units", "rnn_layers")}
        check_shape(directory / data["folder"], dims, shape.vocab_sizes, shape.owners)
        network = TableLSTM(shape)
        network.load_state_dict(load_weights(directory / data["folder"]))
        codec = TableCodec.from_dict(data["codec"])
        return cls(data["columns"], data["conditioned"], codec, network, data["folder"])


def sampler_for(part: ClusterModel, device: torch.device, own: dict[str, float]) -> TableSampler:
    """The sampler of one cluster's network (``own``: per-column gen_temp)."""
    codec = part.codec
    temperatures = codec.per_position(own, None)
    return TableSampler(part.network, device, codec.banned, codec.ends, temperatures, codec.shifts)


def calibrate_text_ends(
    part: ClusterModel,
    tokens: np.ndarray,
    params: Params,
    device: torch.device,
    own: dict[str, float],
) -> None:
    """Shift each text column's ``<end>`` logit per character position so that lengths
    sampled from the network follow the training values' (``StringField.end_bias``): a
    per-character end decision errs a little at every character and the errors compound
    (Adult + a fortunes-like note column: length accuracy 0.90-0.94 over four runs)."""
    texts = [
        (part.codec.positions([f.name])[0], f)
        for f in part.codec.fields
        if isinstance(f, StringField) and f.kind == "text"
    ]
    if not texts or not len(tokens):
        return
    positions = max(f.max_length for _, f in texts)

    def rates(drawn: np.ndarray) -> dict[str, Rates]:
        return {
            f.name: end_rates(f.lengths(drawn[:, lo : lo + f.max_length]), positions)
            for lo, f in texts
        }

    real = rates(tokens)
    n = min(TEXT_CALIBRATION_ROWS, len(tokens))

    def sample(shifts: dict[str, list[float]], seed: int) -> dict[str, Rates]:
        for _, f in texts:
            f.end_bias = shifts[f.name][: f.max_length]
        generator = torch.Generator(device=device)
        generator.manual_seed(seed)
        drawn = sampler_for(part, device, own).sample(n, n, params.gen_temp, generator)
        return rates(drawn)

    biases = calibrated_biases(sample, real, positions, first_given(params.seed, 0))
    for _, f in texts:
        f.end_bias = biases[f.name][: f.max_length]
    names = [f.name for _, f in texts]
    log.info("text columns %s: lengths calibrated on %d sampled rows", names, n)


def calibrate_released_shares(
    part: ClusterModel, params: Params, device: torch.device, own: dict[str, float]
) -> None:
    """Under DP: logit shifts of each category's released values (``CategoricalField.bias``)
    that make the part's sampled values share out among them as the released noisy
    counts do. Only DP releases and the DP-trained network are read, so this is
    post-processing and costs no privacy; ``<na>`` and the unreleased values keep the
    mass the network gives them. DP-SGD's noise left Adult's marginals off where the
    released counts were close (benchmarks/dp.py)."""
    fields = [
        (part.codec.positions([f.name])[0], f)
        for f in part.codec.fields
        if isinstance(f, CategoricalField) and len(f.values) > 1
    ]
    if not fields:
        return

    def shares(drawn: np.ndarray, at: int, k: int) -> Shares:  # one bucket: every row
        return Shares(np.bincount(drawn[:, at], minlength=k)[None, :k])

    def sample(shifts: dict[str, list], seed: int) -> dict[str, Rates | Shares]:
        for _, f in fields:
            f.bias = shifts[f.name][0]
        generator = torch.Generator(device=device)
        generator.manual_seed(seed)
        n = SHARE_CALIBRATION_ROWS
        drawn = sampler_for(part, device, own).sample(n, n, params.gen_temp, generator)
        return {f.name: shares(drawn, at, len(f.values)) for at, f in fields}

    real: dict[str, Rates | Shares] = {
        f.name: Shares(np.asarray(f.counts)[None, :]) for _, f in fields
    }
    biases = calibrated_biases(sample, real, 0, first_given(params.seed, 0))
    for _, f in fields:
        f.bias = biases[f.name][0]
    log.info("DP: shares of %d categories calibrated to their released counts", len(fields))


def combine_results(results: list[TrainingResult]) -> TrainingResult:
    """One result for several parts: the first part's history, summed time and tokens."""
    combined = replace(results[0])
    combined.seconds = sum(r.seconds for r in results)
    combined.tokens_trained = sum(r.tokens_trained for r in results)
    reasons = {r.stop_reason for r in results}
    combined.stop_reason = "interrupted" if "interrupted" in reasons else results[-1].stop_reason
    return combined


def column_kinds(parts: list[ClusterModel]) -> dict[str, str]:
    """Each learned column's kind (a conditioned column counts where it is generated)."""
    kinds: dict[str, str] = {}
    for part in parts:
        found = part.codec.kinds
        kinds.update({c: found[c] for c in part.columns if c in found})
    return kinds


def log_kinds(codec: TableCodec) -> None:
    kinds = codec.kinds
    log.info(
        "column kinds: %s (text columns with more than %d distinct values, ≥ %.0f%% of them "
        "distinct, or with ≥ %d distinct values, ≥ %.0f%% of them distinct, are spelled "
        "character by character: text when they average ≥ %d characters; set "
        "columns.<name>.kind to choose)",
        ", ".join(f"{n}={k}" for n, k in kinds.items()),
        STRING_MIN_DISTINCT,
        100 * STRING_MIN_UNIQUE_SHARE,
        SMALL_UNIQUE_MIN_DISTINCT,
        100 * SMALL_UNIQUE_SHARE,
        TEXT_MIN_MEAN_LENGTH,
    )


def model_order(frame: pd.DataFrame, columns: list[str]) -> list[str]:
    """Columns with few distinct values first. A near-unique column (a weight, an amount)
    early in the row would let the network memorise rows by it; last, it cannot."""
    distinct = {c: frame[c].nunique(dropna=False) for c in columns}
    return sorted(columns, key=lambda c: distinct[c])


def plan_column_clusters(
    frame: pd.DataFrame, params: Params, seed_fields: list[str]
) -> list[Cluster]:
    """The column clusters of a table: one when it is no wider than
    ``field_cluster_size``; else correlated columns together (under DP, where correlations
    are raw-data facts, cuts of the schema order), the seed fields in the first."""
    if frame.shape[1] <= params.field_cluster_size:
        return [Cluster(list(frame.columns), [])]
    if params.dp:
        return schema_order_clusters(list(frame.columns), params.field_cluster_size, seed_fields)
    clusters = plan_clusters(
        cramers_v_matrix(frame, seed=params.seed or 0),
        params.field_cluster_size,
        first=seed_fields,
    )
    log.info("%d columns split into %d clusters", frame.shape[1], len(clusters))
    return clusters


def new_cluster_model(
    frame: pd.DataFrame,
    table_format: TableFormat,
    cluster: Cluster,
    conditioned: list[str],
    index: int,
    params: Params,
    options: dict[str, ColumnOptions],
    private_codec: TableCodec | None,
) -> ClusterModel:
    """An untrained model of one cluster: its codec (fitted to ``frame``, or under DP
    built from the vocabularies ``private_codec`` released) and its network."""
    rest = [c for c in cluster.columns if c not in conditioned]
    order = conditioned + (
        model_order(frame, rest)
        if private_codec is None
        else private_codec.order_by_vocabulary(rest)  # DP releases only
    )
    columns = [table_format.column(c) for c in order]
    if private_codec is None:
        codec = TableCodec.fit(
            frame, columns, conditioned, None, requested_kinds(options), max_lengths(options)
        )
    else:  # each column's vocabulary was released once, with DP
        codec = TableCodec([private_codec.field(c) for c in order], columns)
    log_kinds(codec)
    weights = loss_weights(options)
    shape = TableShape(
        tuple(codec.vocab_sizes),
        params.embedding_dim,
        params.rnn_units,
        params.rnn_layers,
        params.dropout_rate,
        tuple(codec.tied),
        tuple(codec.per_position(weights, 1.0)) if weights else (),
    )
    folder = "." if index == 0 else f"cluster_{index}"
    return ClusterModel(cluster.columns, conditioned, codec, TableLSTM(shape), folder)
