"""The DP-SGD boundary: a private model and optimizer (opacus), Poisson batches, OS entropy.

How a training step uses it::

    model = RecordLSTM(...)                   # its nn.LSTM swapped for a PrivateLSTM
    gsm, optimizer = make_private(model, torch.optim.Adam(model.parameters()), ...,
                                  ledger=ledger, sample_rate=q)
    for batch in poisson_batches(n, q, rng):  # one epoch
        optimizer.zero_grad()
        if len(batch) == 0:
            optimizer.noise_step()            # an update of pure noise; the step counts
            continue
        loss = sum over records of that record's own mean token loss
        loss.backward()                       # may be several backward passes (chunks)
        optimizer.step()                      # clip each record, add noise, update

A record's loss must depend on that record only (divide by its own token count, never by
the batch's), or one record could change the others' gradients and the clipping would no
longer bound its influence.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import torch
from opacus import GradSampleModule
from opacus.optimizers import DPOptimizer
from opacus.validators import ModuleValidator
from torch import nn

from synthloom.privacy.accounting import PrivacyLedger, check_clip_norm, steps_per_epoch


class RecordDPOptimizer(DPOptimizer):
    """opacus' DPOptimizer for whole records that may be trained in several chunks.

    Between two steps every backward pass must cover the same batch of records (chunks
    of long records with carried state, as the trainer does). opacus would treat each
    pass as separate samples, clipping each chunk on its own so that a record of k chunks
    could move the model by k·clip; here the chunks' per-record gradients are summed first,
    so each record is clipped once, as a whole.
    """

    def pre_step(self, closure: Callable[[], float] | None = None) -> bool | None:
        """Sum chunk gradients per record, then clip, add noise and scale as opacus does."""
        for p in self.params:
            if isinstance(p.grad_sample, list):
                p.grad_sample = torch.stack(p.grad_sample).sum(dim=0)
        return super().pre_step(closure)

    def noise_step(self) -> None:
        """An update of pure noise, for an empty Poisson batch.

        Skipping the update instead would reveal that the batch was empty, which the
        analysis does not cover; this is opacus' own empty-batch path (zero per-record
        gradients plus noise), and it is accounted like any other step.
        """
        self.zero_grad(set_to_none=True)
        for p in self.params:
            p.grad_sample = p.new_zeros((0, *p.shape))
        self.step()


def make_private(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    *,
    noise_multiplier: float,
    max_grad_norm: float,
    expected_batch_size: int,
    average: bool = True,
    ledger: PrivacyLedger | None = None,
    sample_rate: float | None = None,
    generator: torch.Generator | None = None,
    secure_mode: bool = False,
) -> tuple[GradSampleModule, RecordDPOptimizer]:
    """Wrap ``model`` to compute per-record gradients and ``optimizer`` to privatize them.

    The caller's loss is a sum over records (``loss_reduction="sum"``), each term being
    that record's own loss (e.g. its mean token loss). Each step clips every record's
    gradient to L2 norm ``max_grad_norm``, sums them, and adds Gaussian noise of standard
    deviation ``noise_multiplier · max_grad_norm``. With ``average`` the noisy sum is then
    divided by ``expected_batch_size`` (not by the actual Poisson batch size, which would
    depend on the data), giving gradients on the scale of a mean loss.

    The model's forward and methods (``loss_terms``) may be called on ``model`` itself:
    the returned GradSampleModule has hooked its layers. Every layer must be supported by
    opacus (swap ``nn.LSTM`` for :class:`~synthloom.privacy.lstm.PrivateLSTM`), else opacus'
    ``UnsupportedModuleError`` (a ``ValueError``) names the layer. With ``ledger`` and
    ``sample_rate`` each optimizer step is recorded in the ledger as it happens.
    """
    check_clip_norm(max_grad_norm)
    if noise_multiplier < 0:
        raise ValueError(f"noise_multiplier={noise_multiplier} must be ≥ 0")
    if expected_batch_size < 1:
        raise ValueError(f"expected_batch_size={expected_batch_size} must be ≥ 1")
    ModuleValidator.validate(model, strict=True)  # e.g. nn.LSTM: use PrivateLSTM
    module = GradSampleModule(model, batch_first=True, loss_reduction="sum", strict=True)
    private = RecordDPOptimizer(
        optimizer,
        noise_multiplier=noise_multiplier,
        max_grad_norm=max_grad_norm,
        expected_batch_size=expected_batch_size,
        loss_reduction="mean" if average else "sum",
        generator=generator,
        secure_mode=secure_mode,
    )
    if ledger is not None:
        if sample_rate is None:
            raise ValueError("give sample_rate with ledger: each step is accounted at it")
        private.attach_step_hook(_accounting_hook(ledger, noise_multiplier, sample_rate))
    return module, private


def _accounting_hook(
    ledger: PrivacyLedger, noise_multiplier: float, sample_rate: float
) -> Callable[[DPOptimizer], None]:
    def hook(optimizer: DPOptimizer) -> None:
        ledger.step(noise_multiplier, sample_rate)

    return hook


def poisson_batches(
    n_records: int, sample_rate: float, rng: np.random.Generator
) -> Iterator[np.ndarray]:
    """One epoch of Poisson-sampled batches: record indices, sorted.

    Each record joins each batch independently with probability ``sample_rate``; an epoch
    is round(1 / sample_rate) batches. Empty batches are yielded too: they still count as
    steps (use :meth:`RecordDPOptimizer.noise_step`).
    """
    for _ in range(steps_per_epoch(sample_rate)):
        yield np.flatnonzero(rng.random(n_records) < sample_rate)
