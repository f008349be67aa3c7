"""Calibrating a learned end decision: a model that decides at every step whether a
record (or a sequence of rows) ends errs a little at each step, and the errors compound
into lengths unlike the data's. After training, lengths sampled for training inputs are
compared with the real ones, and the end token's logit is shifted per position."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

# Rounds of calibration (each samples with the shift so far) and the stride between the
# rounds' sampling seeds.
ROUNDS = 2
_SEED_STRIDE = 104729


def hazards(lengths: np.ndarray, positions: int) -> tuple[np.ndarray, np.ndarray]:
    """Per position ``r < positions``: the share of sequences (or records) of at least
    ``r`` rows (tokens) that end there (have exactly ``r``), and how many reach ``r``."""
    counts = np.bincount(np.minimum(lengths, positions), minlength=positions + 1)
    at_risk = counts[::-1].cumsum()[::-1][:positions]
    return counts[:positions] / np.maximum(at_risk, 1), at_risk


def calibrate_end_bias(
    bias: np.ndarray,
    real_lengths: np.ndarray,
    sampled_lengths: np.ndarray,
    min_at_risk: int = 30,
) -> np.ndarray:
    """One calibration step of the end decision's per-position logit shift: where both
    the real and the sampled lengths have ``min_at_risk`` reaching position ``r``, shift
    by the difference of the real and sampled end rates' logits; later positions take the
    last such position's shift (the model's rare long sequences then end as that rate
    says, instead of running to the cap)."""
    positions = len(bias)
    real, real_risk = hazards(real_lengths, positions)
    sampled, sampled_risk = hazards(sampled_lengths, positions)

    def logit(share: np.ndarray, n: np.ndarray) -> np.ndarray:
        p = (share * n + 0.5) / (n + 1.0)  # half a count each side: no infinite logits
        return np.log(p / (1 - p))

    step = logit(real, real_risk) - logit(sampled, sampled_risk)
    reliable = (real_risk >= min_at_risk) & (sampled_risk >= min_at_risk)
    out = bias.copy()
    out[reliable] += step[reliable]
    last = np.flatnonzero(reliable)
    if len(last):
        out[last[-1] + 1 :] = out[last[-1]]
    return out


def calibrated_end_bias(
    sample_lengths: Callable[[list[float], int], np.ndarray],
    real_lengths: np.ndarray,
    positions: int,
    seed: int,
) -> list[float]:
    """The end decision's logit shift per position after :data:`ROUNDS` rounds: each
    samples lengths with the shift so far (``sample_lengths(shift, seed)``) and corrects
    it towards ``real_lengths`` (:func:`calibrate_end_bias`)."""
    bias = np.zeros(positions)
    for round_ in range(ROUNDS):
        sampled = sample_lengths(bias.tolist(), seed + _SEED_STRIDE * (round_ + 1))
        bias = calibrate_end_bias(bias, real_lengths, sampled)
    return [round(float(b), 4) for b in bias]


def padded_bias(end_bias: Sequence[float], positions: int) -> np.ndarray | None:
    """``end_bias`` as ``positions`` values (later positions take its last one); None
    when there is none (a model saved without calibration, or under DP)."""
    if not end_bias:
        return None
    given = np.asarray(list(end_bias)[:positions], dtype=np.float32)
    out = np.full(positions, given[-1], dtype=np.float32)
    out[: len(given)] = given
    return out
