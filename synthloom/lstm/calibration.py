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
    sample: Callable[[dict[str, list[float]], int], dict[str, Rates]],
    real: dict[str, Rates],
    positions: int,
    seed: int,
) -> dict[str, list[float]]:
    """Per decision named in ``real``, its logit shift per position after :data:`ROUNDS`
    rounds: each samples with the shifts so far (``sample(shifts, seed)`` gives the
    sampled rates by name) and corrects them towards the real rates
    (:func:`calibrate_bias`). The decisions are sampled together, as generation makes
    them."""
    biases = {name: np.zeros(positions) for name in real}
    for round_ in range(ROUNDS):
        shifts = {name: bias.tolist() for name, bias in biases.items()}
        sampled = sample(shifts, seed + _SEED_STRIDE * (round_ + 1))
        biases = {name: calibrate_bias(b, real[name], sampled[name]) for name, b in biases.items()}
    return {name: [round(float(b), 4) for b in bias] for name, bias in biases.items()}


def padded_bias(bias: Sequence[float], positions: int) -> np.ndarray | None:
    """``bias`` as ``positions`` values (later positions take its last one); None when
    there is none (a model saved without calibration, or under DP)."""
    if not bias:
        return None
    given = np.asarray(list(bias)[:positions], dtype=np.float32)
    out = np.full(positions, given[-1], dtype=np.float32)
    out[: len(given)] = given
    return out
