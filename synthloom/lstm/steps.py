"""How the one :class:`~synthloom.lstm.train.Trainer` takes its steps: plainly or with DP.

A step policy decides the batches of an epoch, how one batch becomes an update, how many
steps an epoch may take, and whether checkpoints are chosen by loss. The loop itself —
epochs, the time cap, Ctrl-C, averaging, history and callbacks — is the trainer's alone.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import torch
from torch import nn

from synthloom.config import Params
from synthloom.encoding.tokenizers import PAD
from synthloom.privacy.entropy import secure_generator

if TYPE_CHECKING:  # the privacy package imports opacus' accountants (slow): DP runs only
    from synthloom.privacy.training import DPSettings, PrivateTraining

# Records are bucketed by length inside pools of this many batches, so padding stays small
# while batch order stays random.
_POOL_BATCHES = 50
# A DP batch is computed in groups of records whose lengths lie within this factor of
# their group's longest (Poisson batches cannot be bucketed by length in advance).
GROUP_LENGTH_RATIO = 2.0


class TrainerView(Protocol):
    """What a step policy sees of the trainer (:class:`synthloom.lstm.train.Trainer`)."""

    model: nn.Module
    optimizer: Any
    params: Params
    device: torch.device

    def backward(self, batch: torch.Tensor, per_token: bool) -> tuple[float, int, int]:
        """Gradients of one batch: (summed loss, correct predictions, target tokens)."""
        ...


class StepPolicy(Protocol):
    """What differs between plain and private training."""

    label: str
    select_by_loss: bool  # best checkpoint, LR decay and early stopping by loss

    def attach(self, trainer: TrainerView) -> None:
        """Prepare the trainer's model and optimizer."""

    def detach(self, trainer: TrainerView) -> None:
        """Undo :meth:`attach` (the model leaves in its sampling form)."""

    def steps_per_epoch(self, n_records: int) -> int:
        """Steps of one epoch over ``n_records`` records."""

    def epochs(self, requested: int) -> int:
        """Epochs this policy will run of those ``requested``."""

    def steps_allowed(self, steps_per_epoch: int) -> int:
        """Steps the next epoch may take (fewer when a budget runs out)."""

    def batches(self, n_records: int, lengths: np.ndarray) -> Iterator[np.ndarray]:
        """One epoch of record indices per step (possibly empty)."""

    def step(self, trainer: TrainerView, batch: torch.Tensor | None) -> tuple[float, int, int]:
        """One update from a padded batch (None: an empty batch); loss, right, tokens."""

    def privacy(self) -> tuple[float | None, float | None]:
        """(ε, δ) spent so far, or (None, None) without DP."""


class PlainSteps:
    """Shuffled batches of similar-length records, mean token loss, gradient norm ≤ 1."""

    label = "training"
    select_by_loss = True

    def __init__(self, batch_size: int, rng: np.random.Generator) -> None:
        self.batch_size = batch_size
        self.rng = rng

    def attach(self, trainer: TrainerView) -> None:
        pass

    def detach(self, trainer: TrainerView) -> None:
        pass

    def steps_per_epoch(self, n_records: int) -> int:
        return math.ceil(n_records / self.batch_size)

    def epochs(self, requested: int) -> int:
        return requested

    def steps_allowed(self, steps_per_epoch: int) -> int:
        return steps_per_epoch

    def batches(self, n_records: int, lengths: np.ndarray) -> Iterator[np.ndarray]:
        """Length-bucketed batches in random order."""
        yield from bucketed_batches(lengths, self.batch_size, self.rng)

    def step(self, trainer: TrainerView, batch: torch.Tensor | None) -> tuple[float, int, int]:
        """Mean token loss over the batch, gradient clipped to norm 1, one Adam step."""
        assert batch is not None
        trainer.optimizer.zero_grad(set_to_none=True)
        total, right, n_tokens = trainer.backward(batch, per_token=True)
        nn.utils.clip_grad_norm_(trainer.model.parameters(), 1.0)
        trainer.optimizer.step()
        return total, right, n_tokens

    def privacy(self) -> tuple[float | None, float | None]:
        return None, None


class PrivateSteps:
    """DP-SGD: Poisson batches, each record's summed loss clipped on its own, Gaussian
    noise, a fixed schedule, and a stop before a step would take ε past the budget.

    Checkpoints are the last (averaged) weights: choosing them, the learning rate or the
    stopping epoch by loss would be a choice made on raw data outside ε.
    """

    label = "training (DP)"
    select_by_loss = False

    def __init__(self, run: PrivateTraining) -> None:
        self.run = run

    def attach(self, trainer: TrainerView) -> None:
        """Swap in the per-record-gradient LSTM, hook the layers, wrap the optimizer."""
        from synthloom.privacy.engine import make_private
        from synthloom.privacy.lstm import swap_lstm

        swap_lstm(trainer.model, private=True)
        trainer.optimizer = torch.optim.Adam(
            trainer.model.parameters(), lr=trainer.params.learning_rate
        )
        plan = self.run.plan
        self.clipping, trainer.optimizer = make_private(
            trainer.model,
            trainer.optimizer,
            noise_multiplier=plan.noise_multiplier,
            max_grad_norm=self.run.clip_norm,
            expected_batch_size=plan.expected_batch_size,
            ledger=self.run.ledger,
            sample_rate=plan.sample_rate,
            generator=secure_generator(trainer.device),
        )

    def detach(self, trainer: TrainerView) -> None:
        """Remove the clipping hooks; back to the fast ``nn.LSTM`` for sampling."""
        from synthloom.privacy.lstm import swap_lstm

        self.clipping.remove_hooks()
        swap_lstm(trainer.model, private=False)

    def steps_per_epoch(self, n_records: int) -> int:
        return self.run.plan.steps_per_epoch

    def epochs(self, requested: int) -> int:
        return self.run.plan.epochs

    def steps_allowed(self, steps_per_epoch: int) -> int:
        return min(self.run.steps_left(), steps_per_epoch)

    def batches(self, n_records: int, lengths: np.ndarray) -> Iterator[np.ndarray]:
        """Poisson samples at the plan's rate, drawn from OS entropy."""
        from synthloom.privacy.engine import poisson_batches

        yield from poisson_batches(n_records, self.run.plan.sample_rate, self.run.rng)

    def step(self, trainer: TrainerView, batch: torch.Tensor | None) -> tuple[float, int, int]:
        """Clip each record's summed loss gradient, add noise; an empty batch is a step too."""
        if batch is None:
            trainer.optimizer.noise_step()
            return 0.0, 0, 0
        trainer.optimizer.zero_grad(set_to_none=True)
        lengths = record_lengths(batch)
        # a table row's tokens are local ids, 0 (PAD) among them: every row is as wide as
        # the batch, and grouping by "length" would cut a row's trailing 0 tokens
        fixed = getattr(trainer.model, "fixed_width", False)
        groups = [np.arange(len(lengths))] if fixed else length_groups(lengths)
        if len(groups) == 1:
            result = trainer.backward(batch, per_token=False)
        else:
            result = self._grouped_backward(trainer, batch, lengths, groups)
        trainer.optimizer.step()
        return result

    @staticmethod
    def _grouped_backward(
        trainer: TrainerView,
        batch: torch.Tensor,
        lengths: np.ndarray,
        groups: list[np.ndarray],
    ) -> tuple[float, int, int]:
        """Per-record gradients of a Poisson batch, computed in groups of records of
        similar length (each padded only to its own longest): the same clipped sum as one
        pass, since every record is clipped on its own, at a fraction of the padding."""
        total, right, tokens = 0.0, 0, 0
        for group in groups:
            rows = torch.as_tensor(group, device=batch.device)
            longest = int(lengths[group].max())
            sub = batch.index_select(0, rows)[:, :longest]
            loss, correct, n = trainer.backward(sub, per_token=False)
            total, right, tokens = total + loss, right + correct, tokens + n
            trainer.optimizer.close_group()
        return total, right, tokens

    def privacy(self) -> tuple[float | None, float | None]:
        """The run's total (ε, δ) so far, releases included."""
        return self.run.epsilon(), self.run.total_delta()


def record_lengths(batch: torch.Tensor) -> np.ndarray:
    """Each padded record's length (up to its last token that is not padding)."""
    real = (batch != PAD).cpu().numpy()
    width = real.shape[1]
    return np.where(real.any(axis=1), width - np.argmax(real[:, ::-1], axis=1), 0)


def length_groups(lengths: np.ndarray, ratio: float = GROUP_LENGTH_RATIO) -> list[np.ndarray]:
    """Record positions in groups whose lengths lie within ``ratio`` of the group's
    longest (longest group first); one group when padding to the longest wastes little."""
    order = np.argsort(-lengths, kind="stable")
    if len(order) == 0 or lengths[order].mean() * ratio >= lengths[order[0]]:
        return [np.arange(len(lengths))]
    groups, start = [], 0
    while start < len(order):
        longest = lengths[order[start]]
        end = start + int(np.sum(lengths[order[start:]] * ratio > longest))
        end = max(end, start + 1)
        groups.append(order[start:end])
        start = end
    return groups


def bucketed_batches(
    lengths: np.ndarray, size: int, rng: np.random.Generator | None
) -> list[np.ndarray]:
    """Batches of record indices of similar length (in random order with ``rng``)."""
    order = rng.permutation(len(lengths)) if rng is not None else np.arange(len(lengths))
    batches = []
    pool = size * _POOL_BATCHES
    for lo in range(0, len(order), pool):
        chunk = order[lo : lo + pool]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches += [chunk[i : i + size] for i in range(0, len(chunk), size)]
    if rng is not None:
        batches = [batches[i] for i in rng.permutation(len(batches))]
    return batches


def dp_settings(params: Params) -> DPSettings:
    """The DP part of the params, as the privacy layer takes it."""
    from synthloom.privacy.training import DPSettings

    return DPSettings(
        epsilon=params.dp_epsilon,
        delta=params.dp_delta,
        clip_norm=params.dp_l2_norm_clip,
        noise_multiplier=params.dp_noise_multiplier,
        accountant=params.dp_accountant,
        batch_size=params.batch_size,
        epochs=params.epochs,
    )


def step_policy(
    params: Params, private: PrivateTraining | None, rng: np.random.Generator
) -> StepPolicy:
    """DP-SGD steps for a private run, else plain ones."""
    return PrivateSteps(private) if private is not None else PlainSteps(params.batch_size, rng)
