"""DP-SGD training of synthloom's LSTM models: the trainer's privacy boundary.

:class:`PrivateTraining` is the plan and the ledger of one run (shared by every model
trained on the same records, so column clusters compose in one accountant).
:class:`PrivateTrainer` is the trainer under DP: Poisson-sampled batches, each record's
summed loss clipped on its own, Gaussian noise, a fixed schedule (no early stopping, no
learning-rate decay, no "best" checkpoint: those would choose weights by raw-data loss),
and a stop before a step would take ε past the budget.
"""

from __future__ import annotations

import logging
import math
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import torch
from torch import nn

from synthloom.config import Params
from synthloom.encoding.tokenizers import PAD
from synthloom.io.model_dir import save_weights, write_history
from synthloom.lstm.model import SequenceModel
from synthloom.lstm.train import (
    EpochCallback,
    EpochState,
    Trainer,
    TrainingResult,
    WeightAverage,
)
from synthloom.privacy.accounting import (
    DPPlan,
    PrivacyLedger,
    Release,
    check_clip_norm,
    plan_dp_sgd,
    privacy_report,
)
from synthloom.privacy.engine import make_private, poisson_batches
from synthloom.privacy.lstm import PrivateLSTM

log = logging.getLogger(__name__)
# opacus hooks the embedding, whose input (token ids) needs no gradient; torch warns
# about exactly that on every step. It is expected here.
warnings.filterwarnings("ignore", message="Full backward hook is firing", category=UserWarning)

# Facts every DP run learns from raw data outside DP-SGD; the summary lists them.
NOT_COVERED_BY_TRAINING = (
    "training and validation losses in history.csv and training_summary.json (computed on "
    "raw records; share them only with people allowed to see the data)",
)


@dataclass
class PrivateTraining:
    """DP-SGD plan (noise, sample rate, epochs, δ, target ε) and the ledger of steps taken."""

    plan: DPPlan
    clip_norm: float
    ledger: PrivacyLedger
    releases: list[Release] = field(default_factory=list)
    not_covered: list[str] = field(default_factory=lambda: list(NOT_COVERED_BY_TRAINING))

    @classmethod
    def for_params(
        cls,
        params: Params,
        n_records: int,
        *,
        models: int = 1,
        epsilon: float | None = None,
        delta: float | None = None,
    ) -> PrivateTraining:
        """Plan DP-SGD for ``models`` models on the same ``n_records`` records.

        ``epsilon`` and ``delta`` are DP-SGD's share of the budget (default: all of
        ``dp_epsilon`` and ``dp_delta``, or 1/n).
        Raises :class:`ConfigError` with what would work when the budget is out of reach.
        """
        check_clip_norm(params.dp_l2_norm_clip)
        plan = plan_dp_sgd(
            n_records=n_records,
            batch_size=params.batch_size,
            epochs=params.epochs,
            target_epsilon=epsilon if epsilon is not None else params.dp_epsilon,
            delta=delta if delta is not None else params.dp_delta,
            noise_multiplier=params.dp_noise_multiplier,
            accountant=params.dp_accountant,
            models=models,
        )
        if plan.epochs < params.epochs:
            log.warning(
                "DP: dp_noise_multiplier=%g affords %d of %d epochs within dp_epsilon=%g",
                plan.noise_multiplier,
                plan.epochs,
                params.epochs,
                plan.target_epsilon,
            )
        return cls(plan, params.dp_l2_norm_clip, PrivacyLedger(plan.accountant))

    def epsilon(self) -> float:
        """DP-SGD's ε so far, at the plan's δ."""
        return self.ledger.epsilon(self.plan.delta)[0] if self.ledger.steps else 0.0

    def steps_left(self) -> int:
        """Steps that keep DP-SGD within its target ε."""
        p = self.plan
        return self.ledger.steps_left(
            p.target_epsilon, p.delta, p.noise_multiplier, p.sample_rate
        )

    def summary(self) -> dict[str, Any]:
        """The privacy part of ``training_summary.json`` (total, parts, what is covered)."""
        report = privacy_report(self.ledger, self.plan.delta, self.releases, self.not_covered)
        report["plan"] = {k: v for k, v in asdict(self.plan).items()}
        report["clip_norm"] = self.clip_norm
        report["dp_microbatches"] = "ignored: every record is clipped on its own"
        return report


def log_privacy(summary: dict[str, Any]) -> None:
    """Say in the log what a DP run spent and what its ε does not cover."""
    privacy = summary.get("privacy")
    if not privacy:
        return
    log.info(
        "DP: (ε=%.4g, δ=%.3g) spent over %d steps; not covered by ε: %s",
        privacy["epsilon"],
        privacy["delta"],
        privacy["dp_sgd"]["steps"],
        "; ".join(privacy["not_covered"]),
    )


def swap_lstm(model: nn.Module, private: bool) -> None:
    """Replace ``model.lstm`` by a :class:`PrivateLSTM` (``private``) or back to ``nn.LSTM``,
    keeping the weights (both use ``nn.LSTM``'s weight names)."""
    old = model.lstm
    new: nn.Module = (PrivateLSTM if private else nn.LSTM)(
        old.input_size,
        old.hidden_size,
        num_layers=old.num_layers,
        dropout=old.dropout,
        batch_first=True,
    )
    new.load_state_dict(old.state_dict())
    model.lstm = new.to(next(old.parameters()).device)


class PrivateTrainer(Trainer):
    """A :class:`Trainer` that trains with DP-SGD and accounts every step."""

    def __init__(
        self,
        model: SequenceModel,
        params: Params,
        model_dir: Path,
        device: torch.device,
        privacy: PrivateTraining,
        epoch_callback: EpochCallback | None = None,
        show_progress: bool = False,
    ) -> None:
        swap_lstm(model, private=True)  # type: ignore[arg-type]
        super().__init__(model, params, model_dir, device, epoch_callback, show_progress)
        self.privacy = privacy
        plan = privacy.plan
        noise = torch.Generator(device=device)
        noise.manual_seed(params.seed if params.seed is not None else int(torch.seed() % 2**62))
        self.module, self.optimizer = make_private(
            self.model,
            self.optimizer,
            noise_multiplier=plan.noise_multiplier,
            max_grad_norm=privacy.clip_norm,
            expected_batch_size=plan.expected_batch_size,
            ledger=privacy.ledger,
            sample_rate=plan.sample_rate,
            generator=noise,
        )

    def fit(self, train: list[torch.Tensor], val: list[torch.Tensor]) -> TrainingResult:
        """Train the planned epochs (or until the budget, the time limit or Ctrl-C)."""
        result = TrainingResult()
        start = time.monotonic()
        plan = self.privacy.plan
        # averaging the noisy iterates is post-processing: it costs no ε
        self.average = WeightAverage.for_epoch(self.model, plan.steps_per_epoch)
        self._last_saved: dict[str, torch.Tensor] | None = None
        with self._progress() as progress:
            task = progress.add_task(
                "training (DP)", total=plan.epochs * plan.steps_per_epoch, loss=math.nan, epoch=0
            )
            try:
                for epoch in range(1, plan.epochs + 1):
                    allowed = min(self.privacy.steps_left(), plan.steps_per_epoch)
                    if allowed < 1:
                        result.stop_reason = "privacy_budget"
                        break
                    progress.update(task, epoch=epoch)
                    advance = partial(progress.advance, task)
                    loss, accuracy, tokens, timed_out = self._private_epoch(
                        train, start, advance, allowed
                    )
                    result.tokens_trained += tokens
                    self._end_epoch(result, epoch, loss, accuracy, val, start)
                    progress.update(task, loss=loss)
                    if timed_out:
                        result.stop_reason = "time_limit"
                        break
                    if allowed < plan.steps_per_epoch:
                        result.stop_reason = "privacy_budget"
                        break
            except KeyboardInterrupt:
                result.stop_reason = "interrupted"
                if not result.history:
                    raise
        if result.stop_reason == "epochs" and plan.epochs < self.params.epochs:
            result.stop_reason = "privacy_budget"  # the plan cut the epochs to the budget
        self.module.remove_hooks()
        if self._last_saved is not None:
            self.model.load_state_dict(self._last_saved)
        swap_lstm(self.model, private=False)  # fast cuDNN/ATen LSTM for sampling
        result.seconds = time.monotonic() - start
        return result

    def _end_epoch(
        self,
        result: TrainingResult,
        epoch: int,
        loss: float,
        accuracy: float,
        val: list[torch.Tensor],
        start: float,
    ) -> None:
        """Save the averaged weights (all private), account and report the epoch."""
        with self.average.applied():
            self._last_saved = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
            save_weights(self.model_dir, self._last_saved)
            val_loss, val_accuracy = self._evaluate(val) if val else (None, None)
        result.best_epoch = epoch  # the last weights: choosing by loss is not covered by ε
        state = EpochState(
            epoch,
            loss,
            accuracy,
            val_loss,
            val_accuracy,
            epsilon=self.privacy.epsilon(),
            delta=self.privacy.plan.delta,
            best=True,
            elapsed_seconds=time.monotonic() - start,
        )
        result.history.append(state)
        write_history(self.model_dir, [asdict(s) for s in result.history])
        if self.epoch_callback is not None:
            self.epoch_callback(state)

    def _private_epoch(
        self,
        sequences: list[torch.Tensor],
        start: float,
        advance: Callable[[], None],
        steps: int,
    ) -> tuple[float, float, int, bool]:
        self.model.train()
        rate = self.privacy.plan.sample_rate
        total_loss, correct, count = 0.0, 0, 0
        limit = self.params.max_training_time_seconds
        for step, indices in enumerate(poisson_batches(len(sequences), rate, self._rng)):
            if step == steps:
                break
            if len(indices) == 0:
                self.optimizer.noise_step()  # an empty batch is still a (noisy) step
                self.average.update()
            else:
                self.optimizer.zero_grad(set_to_none=True)
                batch = nn.utils.rnn.pad_sequence(
                    [sequences[i] for i in indices], batch_first=True, padding_value=PAD
                )
                loss, right, n = self._backward(batch, per_token=False)
                self.optimizer.step()
                self.average.update()
                total_loss, correct, count = total_loss + loss, correct + right, count + n
            advance()
            if limit is not None and time.monotonic() - start > limit:
                return total_loss / max(count, 1), correct / max(count, 1), count, True
        return total_loss / max(count, 1), correct / max(count, 1), count, False
