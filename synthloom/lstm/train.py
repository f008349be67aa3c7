"""Training loop: whole records as sequences, early stopping, time limit, best checkpoint."""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import torch
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from torch import nn

from synthloom.config import Params
from synthloom.encoding.tokenizers import BOS, EOR, PAD
from synthloom.io.model_dir import save_weights, write_history
from synthloom.lstm.model import SequenceModel
from synthloom.lstm.steps import StepPolicy, bucketed_batches, step_policy
from synthloom.lstm.threads import ThreadGovernor

if TYPE_CHECKING:
    from synthloom.privacy.training import PrivateTraining

T = TypeVar("T")

# learning_rate_schedule plateau: after an epoch without improvement the learning rate
# halves, down to 1/16 of its start; budget: it falls linearly to 1/16 of its start.
_MAX_LR_DECAY = 16
# A validation token costs at most this share of a training token's time (a forward pass
# without gradients, against forward, backward and the update): the time cap keeps room.
_VALIDATION_COST = 0.5


@dataclass(frozen=True)
class EpochState:
    """What an epoch callback receives after each epoch."""

    epoch: int
    loss: float
    accuracy: float
    val_loss: float | None = None
    val_accuracy: float | None = None
    epsilon: float | None = None
    delta: float | None = None
    best: bool = False
    elapsed_seconds: float = 0.0


EpochCallback = Callable[[EpochState], None]


@dataclass
class TrainingResult:
    """How training went: per-epoch history and why it stopped."""

    history: list[EpochState] = field(default_factory=list)
    best_epoch: int | None = None
    stop_reason: str = "epochs"
    seconds: float = 0.0
    tokens_trained: int = 0

    @property
    def tokens_per_second(self) -> float:
        """Training throughput over the whole run."""
        return self.tokens_trained / self.seconds if self.seconds else 0.0


def records_to_sequences(encoded: Sequence[Sequence[int]]) -> list[torch.Tensor]:
    """Each record becomes ``<bos> tokens <eor>``: the unit of training."""
    return [torch.tensor([BOS, *ids, EOR], dtype=torch.long) for ids in encoded]


def split_holdout(
    n_records: int, share: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Indices of training and held-out records (disjoint, by record)."""
    order = rng.permutation(n_records)
    n_val = round(n_records * share) if share else 0
    if share and n_records >= 2:
        n_val = min(max(n_val, 1), n_records - 1)
    return np.sort(order[n_val:]), np.sort(order[:n_val])


class Trainer:
    """Fits a sequence model to tokenized records, checkpointing into a model dir.

    The one training loop of synthloom: epochs, the time cap, Ctrl-C, weight averaging,
    checkpoints, history and callbacks. A :class:`~synthloom.lstm.steps.StepPolicy` says
    how steps are taken — plainly, or with DP-SGD (``private``).
    """

    def __init__(
        self,
        model: SequenceModel,
        params: Params,
        model_dir: Path,
        device: torch.device,
        epoch_callback: EpochCallback | None = None,
        show_progress: bool = False,
        private: PrivateTraining | None = None,
        dropout_from_epoch: int = 1,
    ) -> None:
        """``dropout_from_epoch``: epochs before it train without dropout (see
        :meth:`_set_dropout`)."""
        self.model = model.to(device)
        self.params = params
        self.model_dir = model_dir
        self.device = device
        self.epoch_callback = epoch_callback
        self.show_progress = show_progress
        self.optimizer: Any = torch.optim.Adam(model.parameters(), lr=params.learning_rate)
        self._rng = np.random.default_rng(params.seed)
        self.policy: StepPolicy = step_policy(params, private, self._rng)
        self.dropout_from_epoch = dropout_from_epoch
        self._dropout_rates = {
            m: m.p if isinstance(m, nn.Dropout) else m.dropout
            for m in model.modules()
            if isinstance(m, nn.Dropout | nn.LSTM)
        }

    def fit(self, train: list[torch.Tensor], val: list[torch.Tensor]) -> TrainingResult:
        """Train until the epochs, early stopping, the time cap, the privacy budget or
        Ctrl-C; leave the model holding the chosen checkpoint.

        Checkpoints, validation and the final weights use an average of the weights over
        about the last half epoch of steps, which is steadier than the last step's
        (averaging noisy DP iterates is post-processing: it costs no ε).
        """
        policy = self.policy
        start = time.monotonic()
        self.clock = _Clock(start, self.params.max_training_time_seconds, val)
        policy.attach(self)
        # Batches hold records of similar length; a sequence model's loss is divided by
        # the mean record's targets, not the batch's, so a short record's tokens weigh no
        # more than a long one's (else, say, early ends of sequences are overlearned).
        self._mean_targets = float(np.mean([len(s) - 1 for s in train])) if train else 1.0
        result = TrainingResult()
        per_epoch = policy.steps_per_epoch(len(train))
        epochs = policy.epochs(self.params.epochs)
        self.average = WeightAverage.for_epoch(self.model, per_epoch)
        self.total_steps = epochs * per_epoch
        best = _Checkpoints(self.params, policy.select_by_loss)
        try:
            with (
                ThreadGovernor(self.params.threads, policy.label) as self.threads,
                self._progress(policy.label, epochs) as progress,
            ):
                task = progress.add_task(
                    policy.label, total=epochs * per_epoch, loss=math.nan, epoch=0
                )
                for epoch in range(1, epochs + 1):
                    allowed = policy.steps_allowed(per_epoch)
                    if allowed < 1:
                        result.stop_reason = "privacy_budget"
                        break
                    progress.update(task, epoch=epoch)
                    self._set_dropout(epoch >= self.dropout_from_epoch)
                    if epoch == self.dropout_from_epoch > 1 and not val:
                        # Training losses with dropout run higher than those without: checked
                        # against the earlier ones, every later epoch would look worse (halving
                        # the rate, then stopping early with the weights from before dropout).
                        best.restart()
                    advance = partial(progress.advance, task)
                    steps_before = self.clock.steps
                    loss, accuracy, tokens, timed_out = self._train_epoch(
                        train, start, advance, allowed
                    )
                    if timed_out and self.clock.steps == steps_before:
                        result.stop_reason = "time_limit"  # no time left for a step
                        break
                    result.tokens_trained += tokens
                    state = self._end_epoch(result, best, epoch, loss, accuracy, val, start)
                    progress.update(task, loss=state.val_loss or loss)
                    # a cut made on an estimate of the epoch's end goes on once it is measured
                    if timed_out and (epoch == epochs or not self.clock.room_for_step()):
                        result.stop_reason = "time_limit"
                        break
                    if allowed < per_epoch:
                        result.stop_reason = "privacy_budget"
                        break
                    if best.patience_spent():
                        result.stop_reason = "early_stopping"
                        break
        except KeyboardInterrupt:
            result.stop_reason = "interrupted"
            if best.state is None:
                policy.detach(self)
                raise
        if result.stop_reason == "epochs" and epochs < self.params.epochs:
            result.stop_reason = "privacy_budget"  # the plan cut the epochs to the budget
        policy.detach(self)
        self._set_dropout(True)  # the model as built
        if best.state is not None:
            self.model.load_state_dict(best.state)
        result.seconds = time.monotonic() - start
        return result

    def _end_epoch(
        self,
        result: TrainingResult,
        best: _Checkpoints,
        epoch: int,
        loss: float,
        accuracy: float,
        val: list[torch.Tensor],
        start: float,
    ) -> EpochState:
        """Validate the averaged weights, checkpoint them if chosen, record the epoch.

        A validation that would run past the time cap stops there: its weights are then
        kept only when no checkpoint is (or under DP, where the last weights are kept).
        """
        began = time.monotonic()
        with self.average.applied():
            scored = self._evaluate(val, self.clock.deadline) if val else (None, None)
            averaged = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        val_loss, val_accuracy = scored or (None, None)
        score = val_loss if val_loss is not None else loss
        if scored is None:
            chosen = best.offer_unscored(averaged)
        else:
            chosen = best.offer(score, averaged, epoch)
        if chosen:
            result.best_epoch = epoch
            save_weights(self.model_dir, averaged)
        elif self.policy.select_by_loss and self.params.learning_rate_schedule == "plateau":
            self._decay_learning_rate()
        epsilon, delta = self.policy.privacy()
        state = EpochState(
            epoch,
            loss,
            accuracy,
            val_loss,
            val_accuracy,
            epsilon=epsilon,
            delta=delta,
            best=result.best_epoch == epoch,
            elapsed_seconds=time.monotonic() - start,
        )
        result.history.append(state)
        write_history(self.model_dir, [asdict(s) for s in result.history])
        if self.epoch_callback is not None:
            self.epoch_callback(state)
        self.clock.epoch_ended(time.monotonic() - began)
        return state

    def _set_dropout(self, active: bool) -> None:
        """Dropout at the model's rates, or none. *Late dropout* (Liu et al. 2023,
        "Dropout Reduces Underfitting"): a model that sees each record only a few times
        underfits, and dropout then slows it; once records come round again and again it
        guards against memorising them."""
        for module, rate in self._dropout_rates.items():
            if isinstance(module, nn.Dropout):
                module.p = rate if active else 0.0
            else:
                module.dropout = rate if active else 0.0

    def _decay_learning_rate(self) -> None:
        """Halve the step size after an epoch without improvement (down to 1/16 of it)."""
        floor = self.params.learning_rate / _MAX_LR_DECAY
        for group in self.optimizer.param_groups:
            group["lr"] = max(group["lr"] / 2, floor)

    def _set_budget_rate(self, now: float) -> None:
        """``budget``: the step size falls linearly from learning_rate to near zero over
        the training budget: the time cap or the epochs, whichever runs out first (small
        steps near the end settle the weights that the cap will keep)."""
        used = self.clock.steps / max(self.total_steps, 1)
        if self.clock.deadline is not None:
            limit = self.params.max_training_time_seconds or 1.0
            used = max(used, 1 - (self.clock.deadline - now) / limit)
        share = max(1.0 - used, 1.0 / _MAX_LR_DECAY)
        for group in self.optimizer.param_groups:
            group["lr"] = self.params.learning_rate * share

    def _train_epoch(
        self,
        sequences: list[torch.Tensor],
        start: float,
        advance: Callable[[], None],
        steps: int,
    ) -> tuple[float, float, int, bool]:
        self.model.train()
        total_loss, correct, count = 0.0, 0, 0
        lengths = np.array([len(s) for s in sequences])
        for step, indices in enumerate(self.policy.batches(len(sequences), lengths)):
            if step == steps:
                break
            if not self.clock.room_for_step():
                return total_loss / max(count, 1), correct / max(count, 1), count, True
            self.threads.tick()
            began = time.monotonic()
            if self.params.learning_rate_schedule == "budget":
                self._set_budget_rate(began)
            batch = self._pad(sequences, indices) if len(indices) else None
            loss, right, n = self.policy.step(self, batch)
            self.average.update()
            self.clock.step_ended(time.monotonic() - began, n)
            total_loss, correct, count = total_loss + loss, correct + right, count + n
            advance()
        return total_loss / max(count, 1), correct / max(count, 1), count, False

    def backward(self, batch: torch.Tensor, per_token: bool) -> tuple[float, int, int]:
        """Gradients of the batch's loss, in chunks of ``seq_length`` with carried state.

        The loss is the batch's mean token loss, or with ``per_token=False`` the sum of
        each record's own summed loss (what per-record clipping needs).
        """
        inputs, targets = batch[:, :-1].to(self.device), batch[:, 1:].to(self.device)
        n_tokens = self.model.count_targets(targets)
        divisor: float = n_tokens if per_token else 1
        if per_token and getattr(self.model, "equal_token_weights", False):
            divisor = len(batch) * self._mean_targets
        chunk = self.model.chunk_length(self.params.seq_length, inputs.shape[1])
        total, right, state = 0.0, 0, None
        for lo in range(0, inputs.shape[1], chunk):
            terms = self.model.loss_terms(
                inputs[:, lo : lo + chunk], targets[:, lo : lo + chunk], state, lo
            )
            state = (terms.state[0].detach(), terms.state[1].detach())
            (terms.loss / divisor).backward()
            total += terms.loss.item()
            right += terms.correct
        return total, right, n_tokens

    @torch.no_grad()
    def _evaluate(
        self, sequences: list[torch.Tensor], deadline: float | None = None
    ) -> tuple[float, float] | None:
        """Mean token loss and accuracy; None when ``deadline`` passes before the end."""
        self.model.eval()
        total, right, count = 0.0, 0, 0
        lengths = np.array([len(s) for s in sequences])
        for indices in bucketed_batches(lengths, self.params.batch_size, None):
            if deadline is not None and time.monotonic() > deadline:
                return None
            batch = self._pad(sequences, indices)
            inputs, targets = batch[:, :-1].to(self.device), batch[:, 1:].to(self.device)
            terms = self.model.loss_terms(inputs, targets, None, 0)
            total += terms.loss.item()
            right += terms.correct
            count += self.model.count_targets(targets)
        return total / max(count, 1), right / max(count, 1)

    @staticmethod
    def _pad(sequences: list[torch.Tensor], indices: np.ndarray) -> torch.Tensor:
        return nn.utils.rnn.pad_sequence(
            [sequences[i] for i in indices], batch_first=True, padding_value=PAD
        )

    def _progress(self, label: str, epochs: int) -> Progress:
        return Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn(f"epoch {{task.fields[epoch]}}/{epochs}"),
            TextColumn("loss {task.fields[loss]:.4f}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            disable=not self.show_progress,
            transient=False,
        )


class _Checkpoints:
    """Which epoch's weights to keep: the best by loss (plain), or the last (DP)."""

    def __init__(self, params: Params, select_by_loss: bool) -> None:
        self.min_delta = params.early_stopping_min_delta
        self.patience = params.early_stopping_patience if params.early_stopping else None
        self.select_by_loss = select_by_loss
        self.score = math.inf
        self.state: dict[str, torch.Tensor] | None = None
        self.waited = 0

    def offer(self, score: float, state: dict[str, torch.Tensor], epoch: int) -> bool:
        """Keep ``state`` if it is chosen; say whether it was."""
        chosen = (
            not self.select_by_loss or self.state is None or score < self.score - self.min_delta
        )
        if chosen:
            self.score, self.state, self.waited = score, state, 0
        else:
            self.waited += 1
        return chosen

    def offer_unscored(self, state: dict[str, torch.Tensor]) -> bool:
        """Weights without a score (validation cut by the time cap): kept unless a scored
        checkpoint exists (newer unscored weights replace older ones: more trained); the
        last weights are kept anyway under DP."""
        if self.select_by_loss and self.score < math.inf:
            return False
        self.state = state
        return True

    def restart(self) -> None:
        """Scores change meaning from here on: the next offer is chosen, and later ones are
        checked against it (the kept weights stay until then)."""
        self.score, self.waited = math.inf, 0

    def patience_spent(self) -> bool:
        """Early stopping: as many epochs without improvement as the patience allows."""
        return self.select_by_loss and self.patience is not None and self.waited >= self.patience


class _Clock:
    """The time cap: steps stop early enough that validation and the checkpoint still
    finish before it (and at least one step is always taken)."""

    def __init__(self, start: float, limit: float | None, val: list[torch.Tensor]) -> None:
        self.deadline = None if limit is None else start + limit
        self.val_tokens = sum(len(s) - 1 for s in val)
        self.steps = 0
        self.step_seconds = 0.0  # a slowly decaying maximum of recent steps' time
        self.token_seconds = 0.0  # training seconds per token, recent average
        self.end_seconds = 0.0  # the last epoch end's (validation, checkpoint, callback)

    def step_ended(self, seconds: float, tokens: int) -> None:
        """Record a step's time and tokens."""
        self.steps += 1
        self.step_seconds = max(seconds, 0.9 * self.step_seconds)
        if tokens:
            rate = seconds / tokens
            recent = self.token_seconds or rate
            self.token_seconds = 0.8 * recent + 0.2 * rate

    def epoch_ended(self, seconds: float) -> None:
        """Record how long the end of an epoch took."""
        self.end_seconds = seconds

    def room_for_step(self) -> bool:
        """Whether one more step and the epoch's end fit before the deadline."""
        if self.deadline is None or self.steps == 0:
            return True
        if self.end_seconds:  # measured, with a margin for a changing load
            reserve = 1.25 * self.end_seconds
        else:  # before the first epoch's end: estimated from the training speed
            reserve = self.val_tokens * self.token_seconds * _VALIDATION_COST
        return time.monotonic() + self.step_seconds + reserve < self.deadline


class WeightAverage:
    """An exponential moving average of a model's weights (Polyak averaging).

    The last step of a stochastic optimizer sits somewhere in the noise around a
    minimum; the average sits nearer its centre, which keeps generated marginals close to
    the data's (a jittering output bias shifts every generated category share).
    """

    def __init__(self, model: nn.Module, decay: float) -> None:
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.decay = decay
        self.shadow = [p.detach().clone() for p in self.params]
        self.updates = 0

    @classmethod
    def for_epoch(cls, model: nn.Module, steps_per_epoch: int) -> WeightAverage:
        """Averaging over about the last half epoch of steps."""
        return cls(model, min(max(1 - 2 / max(steps_per_epoch, 1), 0.9), 0.999))

    @torch.no_grad()
    def update(self) -> None:
        """Move the average towards the current weights (after each optimizer step).

        The first steps average with a smaller decay, (1 + n) / (10 + n) after n steps, so
        the initial random weights do not linger: a run cut by its time cap inside the
        first epoch (a large table) would otherwise keep a third of them."""
        self.updates += 1
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))
        torch._foreach_lerp_(self.shadow, [p.detach() for p in self.params], 1 - decay)

    @contextmanager
    def applied(self) -> Iterator[None]:
        """Inside: the model holds the averaged weights; after: its own again."""
        own = [p.detach().clone() for p in self.params]
        with torch.no_grad():
            torch._foreach_copy_([p.data for p in self.params], self.shadow)
        try:
            yield
        finally:
            with torch.no_grad():
                torch._foreach_copy_([p.data for p in self.params], own)


def time_share(params: Params, start: float, parts_left: int = 1) -> float | None:
    """What is left of the time cap since ``start``, shared equally by the parts still to
    train (at least 1 s each, or the cap if it is shorter); None without a cap."""
    cap = params.max_training_time_seconds
    if cap is None:
        return None
    return max((cap - (time.monotonic() - start)) / parts_left, min(cap, 1.0))


def seed_everything(seed: int | None) -> None:
    """Seed Python, NumPy and PyTorch so a run can be repeated exactly."""
    if seed is None:
        return
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def first_given(*values: T | None) -> T:
    """The first value that is not None (call arguments, then config, then defaults)."""
    return next(v for v in values if v is not None)


def training_summary(
    result: TrainingResult,
    n_train: int,
    n_val: int,
    privacy: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """What ``training_summary.json`` says about a run (``privacy``: a DP run's account)."""
    last = result.history[-1] if result.history else None
    summary = {
        "training_records": n_train,
        "validation_records": n_val,
        "epochs_run": len(result.history),
        "best_epoch": result.best_epoch,
        "stop_reason": result.stop_reason,
        "seconds": round(result.seconds, 3),
        "tokens_trained": result.tokens_trained,
        "tokens_per_second": round(result.tokens_per_second, 1),
        "final_loss": last.loss if last else None,
        "final_val_loss": last.val_loss if last else None,
        "dp": privacy is not None,
        "epsilon": privacy["epsilon"] if privacy else None,
        "delta": privacy["delta"] if privacy else None,
        "fallback_used": False,
    }
    if privacy is not None:
        # exact counts are private: publish the released one (see privacy.not_covered)
        summary["training_records"] = privacy["training_records_released"]
        summary["validation_records"] = None
        summary["privacy"] = privacy
    return summary
