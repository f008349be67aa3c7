"""The table network: one LSTM over a row's field tokens, one small output head per position.

Position ``t`` of a row has its own vocabulary, so its head covers only that column's
tokens: wrong-width rows cannot be sampled and each step costs little. The character
positions of a spelled column (``tied``) share one embedding and one head, so a character
is learned once for the whole column, whatever its position. A column may weigh more or
less in the loss (``loss_weights``) and be sampled at its own temperature.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from synthloom.lstm.model import (
    LossTerms,
    State,
    draw_tokens,
    grouped_head_loss,
    recurrent_layers,
)


@dataclass(frozen=True)
class TableShape:
    """Everything needed to rebuild the table network."""

    vocab_sizes: tuple[int, ...]
    embedding_dim: int
    rnn_units: int
    rnn_layers: int
    dropout_rate: float
    # Per position, the position whose embedding and head it uses (empty: its own).
    tied: tuple[int, ...] = ()
    # Per position, how much its cross-entropy counts in the loss (empty: 1 everywhere);
    # the positions of one column share their column's weight (columns.<name>.loss_weight).
    loss_weights: tuple[float, ...] = ()

    def to_dict(self) -> dict[str, object]:
        """Plain data for ``model_params.json``."""
        return {
            **asdict(self),
            "vocab_sizes": list(self.vocab_sizes),
            "tied": list(self.tied),
            "loss_weights": list(self.loss_weights),
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> TableShape:
        """Inverse of :meth:`to_dict`."""
        return cls(
            **{  # type: ignore[arg-type]
                **data,
                "vocab_sizes": tuple(data["vocab_sizes"]),  # type: ignore[arg-type]
                "tied": tuple(data.get("tied", ())),  # type: ignore[arg-type]
                "loss_weights": tuple(data.get("loss_weights", ())),  # type: ignore[arg-type]
            }
        )

    @property
    def owners(self) -> list[int]:
        """Per position, the position that owns its embedding and head."""
        return list(self.tied) or list(range(len(self.vocab_sizes)))


class TableLSTM(nn.Module):
    """Predicts each field token of a row from the tokens before it."""

    # Every row has one token per position, 0 a real one (no padding): see PrivateSteps.
    fixed_width = True

    def __init__(self, shape: TableShape) -> None:
        super().__init__()
        self.shape = shape
        sizes = list(shape.vocab_sizes)
        owners = shape.owners
        own = sorted(set(owners))
        # Input position 0 is <bos> (id 0); position p ≥ 1 carries the token of field p - 1,
        # in the embedding block of that position's owner.
        block = dict(zip(own, 1 + np.cumsum([0, *[sizes[p] for p in own[:-1]]]), strict=True))
        offsets = [0] + [int(block[owners[p]]) for p in range(len(sizes) - 1)]
        self.register_buffer("offsets", torch.tensor(offsets, dtype=torch.long), persistent=False)
        self.embedding = nn.Embedding(1 + sum(sizes[p] for p in own), shape.embedding_dim)
        # Tied positions share their token embeddings, so the network is told where in the
        # row it is (how far into a spelled value, which matters for fixed formats).
        self.position = (
            nn.Embedding(len(sizes), shape.embedding_dim) if len(own) < len(sizes) else None
        )
        self.register_buffer("steps", torch.arange(len(sizes)), persistent=False)
        self.lstm = recurrent_layers(
            shape.embedding_dim, shape.rnn_units, shape.rnn_layers, shape.dropout_rate
        )
        self.dropout = nn.Dropout(shape.dropout_rate)
        self.heads = nn.ModuleList(nn.Linear(shape.rnn_units, sizes[p]) for p in own)
        index = {p: i for i, p in enumerate(own)}
        self.head_of = [index[o] for o in owners]  # position → its head in ``heads``
        # a head serves one column, so the column's weight is the head's
        self.head_weights = [shape.loss_weights[p] for p in own] if shape.loss_weights else []

    def head(self, position: int) -> nn.Linear:
        """The output head of a row position."""
        return self.heads[self.head_of[position]]  # type: ignore[return-value]

    @property
    def n_positions(self) -> int:
        return len(self.shape.vocab_sizes)

    def hidden(
        self, inputs: torch.Tensor, state: State | None, start: int
    ) -> tuple[torch.Tensor, State]:
        """LSTM outputs for input positions ``start …`` (local token ids)."""
        ids = inputs + self.offsets[start : start + inputs.shape[1]]
        embedded = self.embedding(ids)
        if self.position is not None:
            steps = self.steps[start : start + inputs.shape[1]].expand(inputs.shape[0], -1)
            embedded = embedded + self.position(steps)  # per record, as DP-SGD needs
        out, state = self.lstm(self.dropout(embedded), state)
        return self.dropout(out), state

    def loss_terms(
        self, inputs: torch.Tensor, targets: torch.Tensor, state: State | None, start: int
    ) -> LossTerms:
        """Cross-entropy of every field token, summed over the chunk."""
        hidden, state = self.hidden(inputs, state, start)
        head_of = self.head_of[start : start + inputs.shape[1]]
        loss, correct = grouped_head_loss(self.heads, head_of, hidden, targets, self.head_weights)
        return LossTerms(loss, correct, state)

    def count_targets(self, targets: torch.Tensor) -> int:
        """Every position of a row is a real target."""
        return targets.numel()

    def chunk_length(self, seq_length: int | None, length: int) -> int:
        """Rows are short: one backward pass over the whole row."""
        return length


class TableSampler:
    """Samples rows field by field, many rows per step, with optional forced (seed) tokens."""

    def __init__(
        self,
        model: TableLSTM,
        device: torch.device,
        banned: list[list[int]],
        ends: list[int] | None = None,
        temperatures: Sequence[float | None] = (),
        shifts: Sequence[dict[int, float]] = (),
    ) -> None:
        self.model = model.to(device).eval()
        self.device = device
        # Per position, a temperature of its own (a column's gen_temp) or None: the call's.
        self._temperatures = list(temperatures) or [None] * model.n_positions
        # Per position, the end token of a spelled value continued here (-1: none): once
        # a value has ended (a token ≥ end), the rest of its positions stay <end>.
        self._ends = ends or [-1] * model.n_positions
        self._masks = []
        shifts = list(shifts) or [{}] * model.n_positions
        for size, ids, shift in zip(model.shape.vocab_sizes, banned, shifts, strict=True):
            mask = torch.zeros(size, device=device)
            for token, value in shift.items():  # calibrated logit shifts (TableCodec.shifts)
                mask[token] = value
            mask[ids] = -torch.inf
            self._masks.append(mask)

    @torch.inference_mode()
    def sample(
        self,
        n_rows: int,
        batch_size: int,
        temperature: float,
        generator: torch.Generator,
        forced: np.ndarray | None = None,
        particles: int = 1,
    ) -> np.ndarray:
        """Token ids of shape (n_rows, positions); ``forced`` ≥ 0 entries are kept as given.

        Forced tokens that all come before a row's free positions (a declared seed
        prefix) condition exactly. Where a free position comes before a forced one, each
        row is sampled as ``particles`` candidates, weighted by the probability the
        network gives the forced tokens and resampled at each forced position (sequential
        importance resampling), so the free values follow the network's distribution
        given all the forced ones, not only those before them.
        """
        k = particles if forced is not None and particles > 1 and _needs_particles(forced) else 1
        step = max(batch_size // k, 1)
        parts = []
        for lo in range(0, n_rows, step):
            hi = min(lo + step, n_rows)
            fixed = None if forced is None else torch.as_tensor(forced[lo:hi], device=self.device)
            drawn = self._sample_batch(hi - lo, temperature, generator, fixed, k)
            parts.append(drawn.cpu().numpy())
        return np.concatenate(parts) if parts else np.zeros((0, self.model.n_positions), np.int64)

    def _sample_batch(
        self,
        n: int,
        temperature: float,
        generator: torch.Generator,
        forced: torch.Tensor | None,
        particles: int = 1,
    ) -> torch.Tensor:
        model = self.model
        k = particles if forced is not None and bool((forced >= 0).any()) else 1
        if forced is not None and k > 1:
            forced = forced.repeat_interleave(k, dim=0)
            last = int((forced >= 0).any(dim=0).nonzero().max())  # last forced position
        out = torch.empty((n * k, model.n_positions), dtype=torch.long, device=self.device)
        token = torch.zeros(n * k, dtype=torch.long, device=self.device)
        log_weight = torch.zeros(n * k, device=self.device)
        state = None
        for t in range(model.n_positions):
            hidden, state = model.hidden(token.unsqueeze(1), state, t)
            own = self._temperatures[t]
            logits = model.head(t)(hidden[:, -1]) / (own or temperature) + self._masks[t]
            drawn = draw_tokens(logits, generator)
            end = self._ends[t]
            token = drawn if end < 0 else torch.where(token >= end, end, drawn)
            weighed = False  # whether the particles' weights changed at this position
            if forced is not None:
                column = forced[:, t]
                given = column >= 0
                weighed = k > 1 and bool(given.any())
                if weighed:
                    chance = torch.log_softmax(logits, dim=-1)
                    chance = chance.gather(1, column.clamp(min=0).unsqueeze(1)).squeeze(1)
                    # a banned (<unk>) seed token tells the particles nothing apart
                    log_weight += torch.where(given & chance.isfinite(), chance, 0.0)
                token = torch.where(given, column, token)
            out[:, t] = token
            if weighed:
                assert forced is not None
                keep = 1 if t == last else k  # after the last forced token one is enough
                pick = resample_candidates(log_weight.view(n, k), keep, generator)
                out, token, forced = out[pick], token[pick], forced[pick]
                state = tuple(s[:, pick].contiguous() for s in state)  # type: ignore[assignment]
                log_weight = torch.zeros(n * keep, device=self.device)
                k = keep
        return out


def _needs_particles(forced: np.ndarray) -> bool:
    """Whether some row has a free position before one of its forced positions."""
    given = forced >= 0
    if not given.any():
        return False
    positions = np.arange(forced.shape[1])
    first_free = np.where((~given).any(axis=1), np.argmax(~given, axis=1), forced.shape[1])
    last_given = np.where(given, positions, -1).max(axis=1)
    return bool((last_given > first_free).any())


def resample_candidates(
    log_weight: torch.Tensor, keep: int, generator: torch.Generator
) -> torch.Tensor:
    """Flat row indices: ``keep`` draws per group (row of ``log_weight``) by weight."""
    groups, k = log_weight.shape
    chance = torch.softmax(log_weight, dim=1)
    drawn = torch.multinomial(chance, keep, replacement=True, generator=generator)
    base = torch.arange(groups, device=log_weight.device).unsqueeze(1) * k
    return (base + drawn).flatten()
