"""Calibrating learned per-step decisions: a model that decides at every step whether a
record (or a sequence of rows) ends errs a little at each step, and the errors compound
into lengths unlike the data's. After training, decisions sampled for training inputs
are compared with the real ones, and a token's logit is shifted per position: the end
token's (lengths), and for child sequences the zero gap of the ``order_by`` column's
(rows that share their predecessor's time, e.g. a second team in the same season)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

# Rounds of calibration (each samples with the shifts so far) and the stride between the
# rounds' sampling seeds.
ROUNDS = 2
_SEED_STRIDE = 104729
# Row-index ranges whose field shares are calibrated apart: rows 0, 1, 2-3, 4-7, … 32+.
SHARE_BUCKETS = 7
# Largest logit shift of one category's share (a value the model all but never draws
# stays rare instead of being forced).
MAX_SHARE_SHIFT = 3.0


@dataclass(frozen=True)
class Rates:
    """Per position: how many decisions were taken there (``trials``) and how many of
    them chose the calibrated token (``hits``)."""

    hits: np.ndarray
    trials: np.ndarray

    @property
    def shares(self) -> np.ndarray:
        return self.hits / np.maximum(self.trials, 1)


def end_rates(lengths: np.ndarray, positions: int) -> Rates:
    """End decisions of sequences (records) of the given lengths: at position ``r <
    positions``, every sequence of at least ``r`` rows (tokens) decides, and those of
    exactly ``r`` end."""
    counts = np.bincount(np.minimum(lengths, positions), minlength=positions + 1)
    at_risk = counts[::-1].cumsum()[::-1][:positions]
    return Rates(counts[:positions], at_risk)


def position_rates(position: np.ndarray, hit: np.ndarray, positions: int) -> Rates:
    """Decisions taken at ``position`` (later positions count as the last one), each a
    hit or not."""
    clipped = np.minimum(position, positions - 1)
    return Rates(
        np.bincount(clipped[hit], minlength=positions),
        np.bincount(clipped, minlength=positions),
    )


@dataclass(frozen=True)
class Shares:
    """How often each token of one row field was drawn, per row-index bucket
    (:func:`share_bucket`): ``counts`` has shape (buckets, vocabulary)."""

    counts: np.ndarray


def share_bucket(row: np.ndarray) -> np.ndarray:
    """Bucket of each row index: 0, 1, 2-3, 4-7, … (the last takes every later row)."""
    row = np.asarray(row)
    bucket = np.floor(np.log2(np.maximum(row, 1))).astype(np.int64) + (row > 0)
    return np.minimum(bucket, SHARE_BUCKETS - 1)


def field_shares(tokens: np.ndarray, row: np.ndarray, vocabulary: int) -> Shares:
    """The shares of one field's ``tokens``, drawn at row indexes ``row``."""
    flat = share_bucket(row) * vocabulary + tokens
    counts = np.bincount(flat, minlength=SHARE_BUCKETS * vocabulary)
    return Shares(counts.reshape(SHARE_BUCKETS, vocabulary))


def calibrate_shares(
    shift: np.ndarray, real: Shares, sampled: Shares, min_rows: int = 30
) -> np.ndarray:
    """One calibration step of per-bucket logit shifts of a field's tokens: in buckets
    with ``min_rows`` real and sampled rows, each token's shift moves by the log ratio of
    its real and sampled shares (half a count added to each: finite), within
    ±:data:`MAX_SHARE_SHIFT`; later buckets without enough rows take the last such one's."""

    def log_share(counts: np.ndarray) -> np.ndarray:
        return np.log((counts + 0.5) / (counts.sum(axis=1, keepdims=True) + 0.5 * counts.shape[1]))

    reliable = (real.counts.sum(axis=1) >= min_rows) & (sampled.counts.sum(axis=1) >= min_rows)
    out = shift.copy()
    step = log_share(real.counts) - log_share(sampled.counts)
    out[reliable] = np.clip(out[reliable] + step[reliable], -MAX_SHARE_SHIFT, MAX_SHARE_SHIFT)
    last = np.flatnonzero(reliable)
    if len(last):
        out[last[-1] + 1 :] = out[last[-1]]
    return out


def calibrate_bias(
    bias: np.ndarray, real: Rates, sampled: Rates, min_trials: int = 30
) -> np.ndarray:
    """One calibration step of a per-position logit shift: where both the real and the
    sampled decisions were taken ``min_trials`` times at position ``r``, shift by the
    difference of the real and sampled rates' logits; later positions take the last such
    position's shift (the model's rare long sequences then end as that rate says, instead
    of running to the cap)."""

    def logit(rates: Rates) -> np.ndarray:
        p = (rates.hits + 0.5) / (rates.trials + 1.0)  # half a count each side: finite
        return np.log(p / (1 - p))

    step = logit(real) - logit(sampled)
    reliable = (real.trials >= min_trials) & (sampled.trials >= min_trials)
    out = bias.copy()
    out[reliable] += step[reliable]
    last = np.flatnonzero(reliable)
    if len(last):
        out[last[-1] + 1 :] = out[last[-1]]
    return out


def calibrated_biases(
    sample: Callable[[dict[str, list], int], dict[str, Rates | Shares]],
    real: dict[str, Rates | Shares],
    positions: int,
    seed: int,
) -> dict[str, list]:
    """Per decision named in ``real``, its logit shifts after :data:`ROUNDS` rounds: each
    samples with the shifts so far (``sample(shifts, seed)`` gives the sampled rates by
    name) and corrects them towards the real ones: a token's shift per position for
    :class:`Rates` (:func:`calibrate_bias`), every token's per row bucket for
    :class:`Shares` (:func:`calibrate_shares`, nested lists). The decisions are sampled
    together, as generation makes them."""

    def start(target: Rates | Shares) -> np.ndarray:
        return np.zeros(target.counts.shape if isinstance(target, Shares) else positions)

    def step(bias: np.ndarray, target: Rates | Shares, drawn: Rates | Shares) -> np.ndarray:
        if isinstance(target, Shares):
            assert isinstance(drawn, Shares)
            return calibrate_shares(bias, target, drawn)
        assert isinstance(drawn, Rates)
        return calibrate_bias(bias, target, drawn)

    biases = {name: start(target) for name, target in real.items()}
    for round_ in range(ROUNDS):
        shifts = {name: bias.tolist() for name, bias in biases.items()}
        sampled = sample(shifts, seed + _SEED_STRIDE * (round_ + 1))
        biases = {name: step(b, real[name], sampled[name]) for name, b in biases.items()}
    return {name: np.round(bias, 4).tolist() for name, bias in biases.items()}


def padded_bias(bias: Sequence[float], positions: int) -> np.ndarray | None:
    """``bias`` as ``positions`` values (later positions take its last one); None when
    there is none (a model saved without calibration, or under DP)."""
    if not bias:
        return None
    given = np.asarray(list(bias)[:positions], dtype=np.float32)
    out = np.full(positions, given[-1], dtype=np.float32)
    out[: len(given)] = given
    return out
