"""The DP-SGD boundary: per-record clipping, a private optimizer, Poisson batches, OS entropy.

How a training step uses it::

    model = RecordLSTM(...)                   # its nn.LSTM swapped for a PrivateLSTM
    clipping, optimizer = make_private(model, torch.optim.Adam(model.parameters()), ...,
                                       ledger=ledger, sample_rate=q)
    for batch in poisson_batches(n, q, rng):  # one epoch
        optimizer.zero_grad()
        if len(batch) == 0:
            optimizer.noise_step()            # an update of pure noise; the step counts
            continue
        loss = sum over records of that record's own mean token loss
        loss.backward()                       # may be several backward passes (chunks)
        optimizer.step()                      # clip each record, add noise, update
    clipping.remove_hooks()                   # then sample as usual

A record's loss must depend on that record only (divide by its own token count, never by
the batch's), or one record could change the others' gradients and the clipping would no
longer bound its influence.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch import nn

from synthloom.privacy.accounting import PrivacyLedger, check_clip_norm, steps_per_epoch
from synthloom.privacy.clipping import PerRecordClipping


class PrivateOptimizer:
    """An optimizer whose every step releases the noisy sum of clipped record gradients.

    Between two steps the records of a batch may be back-propagated in several passes:
    chunks of long records with carried state (one group) and groups of records of
    similar length (each closed with :meth:`close_group`). Each record is clipped once,
    as a whole, over all its chunks (clipping each chunk on its own, as a per-sample
    library would, would let a record of k chunks move the model by k·clip).
    """

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        clipping: PerRecordClipping,
        *,
        noise_multiplier: float,
        max_grad_norm: float,
        expected_batch_size: int,
        average: bool,
        generator: torch.Generator | None,
        ledger: PrivacyLedger | None,
        sample_rate: float | None,
    ) -> None:
        self.optimizer = optimizer
        self.clipping = clipping
        self.noise_multiplier = noise_multiplier
        self.max_grad_norm = max_grad_norm
        self.expected_batch_size = expected_batch_size
        self.average = average
        self.generator = generator
        self.ledger = ledger
        self.sample_rate = sample_rate
        self.params = [p for g in optimizer.param_groups for p in g["params"] if p.requires_grad]

    @property
    def param_groups(self) -> list[dict[str, Any]]:
        return self.optimizer.param_groups

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear the gradients and what was recorded of the last batch."""
        self.optimizer.zero_grad(set_to_none=set_to_none)
        self.clipping.clear()

    def close_group(self) -> None:
        """The passes so far covered one group of records; others follow."""
        self.clipping.close_group()

    def pre_step(self) -> None:
        """Set each weight's gradient to the clipped sum plus N(0, (σ·C)²) noise, divided
        by the expected batch size with ``average`` (not by the actual Poisson batch
        size, which would depend on the data)."""
        clipped = self.clipping.clipped_sum(self.max_grad_norm)
        std = self.noise_multiplier * self.max_grad_norm
        for p in self.params:
            grad = clipped.get(p)
            noise = torch.normal(0.0, std, size=p.shape, device=p.device, generator=self.generator)
            grad = noise if grad is None else grad + noise
            p.grad = grad / self.expected_batch_size if self.average else grad

    def step(self) -> None:
        """One released update, accounted in the ledger as it happens."""
        self.pre_step()
        self.optimizer.step()
        if self.ledger is not None:
            assert self.sample_rate is not None
            self.ledger.step(self.noise_multiplier, self.sample_rate)

    def noise_step(self) -> None:
        """An update of pure noise, for an empty Poisson batch.

        Skipping the update instead would reveal that the batch was empty, which the
        analysis does not cover; it is accounted like any other step.
        """
        self.zero_grad(set_to_none=True)
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
) -> tuple[PerRecordClipping, PrivateOptimizer]:
    """Hook ``model`` to clip per-record gradients and wrap ``optimizer`` to privatize them.

    The caller's loss is a sum over records, each term being that record's own loss
    (e.g. its mean token loss). Each step clips every record's gradient to L2 norm
    ``max_grad_norm``, sums them, and adds Gaussian noise of standard deviation
    ``noise_multiplier · max_grad_norm``; with ``average`` the noisy sum is divided by
    ``expected_batch_size``. Every trainable layer must be a linear map, an embedding or
    a :class:`~synthloom.privacy.lstm.PrivateLSTMLayer` (swap ``nn.LSTM`` for
    :class:`~synthloom.privacy.lstm.PrivateLSTM`), else a ``ValueError`` names the layer.
    With ``ledger`` and ``sample_rate`` each step is recorded in the ledger as it happens.
    """
    check_clip_norm(max_grad_norm)
    if noise_multiplier < 0:
        raise ValueError(f"noise_multiplier={noise_multiplier} must be ≥ 0")
    if expected_batch_size < 1:
        raise ValueError(f"expected_batch_size={expected_batch_size} must be ≥ 1")
    if ledger is not None and sample_rate is None:
        raise ValueError("give sample_rate with ledger: each step is accounted at it")
    clipping = PerRecordClipping(model)
    private = PrivateOptimizer(
        optimizer,
        clipping,
        noise_multiplier=noise_multiplier,
        max_grad_norm=max_grad_norm,
        expected_batch_size=expected_batch_size,
        average=average,
        generator=generator,
        ledger=ledger,
        sample_rate=sample_rate,
    )
    return clipping, private


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
