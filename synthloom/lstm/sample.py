"""Batched sampling: many records advance one token per forward step.

A slot whose record ends starts the next record at once (from the state after the
prefix), so the batch stays full until the last records.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from synthloom.encoding.tokenizers import BOS, EOR
from synthloom.lstm.calibration import padded_bias
from synthloom.lstm.model import RecordLSTM, State, draw_tokens

_RECORDS_PER_SLOT = 4


@dataclass(frozen=True)
class SampledRecord:
    """Token ids of one sampled record; ``complete`` is False when it hit the length cap."""

    ids: list[int]
    complete: bool


class RecordSampler:
    """Samples records from a trained model, optionally after a fixed token prefix."""

    def __init__(
        self,
        model: RecordLSTM,
        device: torch.device,
        banned_ids: Sequence[int],
        max_tokens: int,
        end_bias: Sequence[float] = (),
    ) -> None:
        self.model = model.to(device).eval()
        self.device = device
        self.max_tokens = max_tokens
        self._banned = torch.tensor(sorted(set(banned_ids)), dtype=torch.long, device=device)
        # Per record length so far, a shift of the end-of-record logit that calibrates
        # record lengths (see synthloom.lstm.calibration).
        bias = padded_bias(end_bias, max_tokens + 1)
        self._end_bias = None if bias is None else torch.as_tensor(bias, device=device)

    @torch.inference_mode()
    def sample(
        self,
        n_records: int,
        batch_size: int,
        temperature: float,
        generator: torch.Generator,
        prefix: Sequence[int] = (),
    ) -> list[SampledRecord]:
        """Sample ``n_records`` records (prefix tokens not included in the ids)."""
        start_logits, start_state = self._prefix(prefix)
        # Each slot should serve several records: a wave of one record per slot waits for
        # its longest record, while refilled slots keep the batch busy.
        slots = min(batch_size, max(math.ceil(n_records / _RECORDS_PER_SLOT), 1))
        logits = start_logits.expand(slots, -1).clone()
        state = tuple(s.expand(-1, slots, -1).contiguous() for s in start_state)
        buffer = torch.zeros((slots, self.max_tokens), dtype=torch.long, device=self.device)
        lengths = torch.zeros(slots, dtype=torch.long, device=self.device)
        rows = torch.arange(slots, device=self.device)
        started, out = slots, []
        while lengths.numel():
            tokens = self._draw(logits, temperature, generator, lengths)
            ended = tokens == EOR
            buffer[rows, lengths.clamp(max=self.max_tokens - 1)] = tokens
            lengths += (~ended).long()
            done = ended | (lengths >= self.max_tokens)
            step_logits, state = self.model(tokens.unsqueeze(1), state)
            logits = step_logits[:, -1]
            if done.any():
                out += self._collect(buffer, lengths, ended, done)
                refill = done.nonzero().flatten()
                n_new = min(len(refill), n_records - started)
                if n_new:
                    slot_ids = refill[:n_new]
                    started += n_new
                    logits[slot_ids] = start_logits
                    for part, start in zip(state, start_state, strict=True):
                        part[:, slot_ids] = start
                    lengths[slot_ids] = 0
                keep = ~done
                keep[refill[:n_new]] = True
                if not keep.all():
                    logits, buffer, lengths = logits[keep], buffer[keep], lengths[keep]
                    state = tuple(s[:, keep].contiguous() for s in state)
                    rows = torch.arange(len(lengths), device=self.device)
        return out

    def _prefix(self, prefix: Sequence[int]) -> tuple[torch.Tensor, State]:
        """Logits and state after ``<bos> prefix``: where every record starts."""
        tokens = torch.tensor([[BOS, *prefix]], dtype=torch.long, device=self.device)
        logits, state = self.model(tokens)
        return logits[:, -1], state

    def _draw(
        self,
        logits: torch.Tensor,
        temperature: float,
        generator: torch.Generator,
        lengths: torch.Tensor,
    ) -> torch.Tensor:
        scaled = logits / temperature
        scaled[:, self._banned] = -torch.inf
        if self._end_bias is not None:
            # a correction of the model's logits, so scaled by the temperature as they are
            scaled[:, EOR] += self._end_bias[lengths.clamp(max=self.max_tokens)] / temperature
        return draw_tokens(scaled, generator)

    @staticmethod
    def _collect(
        buffer: torch.Tensor, lengths: torch.Tensor, ended: torch.Tensor, done: torch.Tensor
    ) -> list[SampledRecord]:
        index = done.nonzero().flatten().tolist()
        rows = buffer[index].tolist()
        ends = ended[index].tolist()
        lens = lengths[index].tolist()
        return [
            SampledRecord(row[:n], complete)
            for row, n, complete in zip(rows, lens, ends, strict=True)
        ]
