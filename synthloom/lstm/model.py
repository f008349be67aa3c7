"""The record model: Embedding → LSTM → Dropout → Linear."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import NamedTuple, Protocol

import torch
from torch import nn

from synthloom.encoding.tokenizers import PAD
from synthloom.errors import ConfigError

State = tuple[torch.Tensor, torch.Tensor]


class LossTerms(NamedTuple):
    """Summed loss, correctly predicted tokens and the LSTM state after a chunk."""

    loss: torch.Tensor
    correct: int
    state: State


class SequenceModel(Protocol):
    """What the training loop needs from a network (text records or table rows)."""

    def loss_terms(
        self, inputs: torch.Tensor, targets: torch.Tensor, state: State | None, start: int
    ) -> LossTerms:
        """Loss summed over the chunk's targets, which begin at position ``start``."""
        ...

    def count_targets(self, targets: torch.Tensor) -> int:
        """Number of real (non-padding) targets."""
        ...

    def chunk_length(self, seq_length: int | None, length: int) -> int:
        """Positions per backward pass (truncated BPTT with carried state)."""
        ...


# Backward passes span at most this many tokens unless params.seq_length says otherwise.
LONG_RECORD_TOKENS = 512


@dataclass(frozen=True)
class ModelShape:
    """Everything needed to rebuild the network before loading its weights."""

    vocab_size: int
    embedding_dim: int
    rnn_units: int
    rnn_layers: int
    dropout_rate: float

    def to_dict(self) -> dict[str, float | int]:
        """Plain data for ``model_params.json``."""
        return asdict(self)


class RecordLSTM(nn.Module):
    """Predicts the next token of a record from the tokens before it."""

    def __init__(self, shape: ModelShape) -> None:
        super().__init__()
        self.shape = shape
        self.embedding = nn.Embedding(shape.vocab_size, shape.embedding_dim)
        self.lstm = recurrent_layers(
            shape.embedding_dim, shape.rnn_units, shape.rnn_layers, shape.dropout_rate
        )
        self.dropout = nn.Dropout(shape.dropout_rate)
        self.head = nn.Linear(shape.rnn_units, shape.vocab_size)

    def forward(
        self, tokens: torch.Tensor, state: State | None = None
    ) -> tuple[torch.Tensor, State]:
        """Logits of shape (batch, time, vocab) and the LSTM state after the last step."""
        hidden, state = self.lstm(self.dropout(self.embedding(tokens)), state)
        return self.head(self.dropout(hidden)), state

    def loss_terms(
        self, inputs: torch.Tensor, targets: torch.Tensor, state: State | None, start: int
    ) -> LossTerms:
        """Cross-entropy summed over non-padding targets."""
        logits, state = self(inputs, state)
        flat = logits.reshape(-1, logits.shape[-1])
        loss = nn.functional.cross_entropy(
            flat, targets.reshape(-1), ignore_index=PAD, reduction="sum"
        )
        correct = int(((logits.argmax(-1) == targets) & (targets != PAD)).sum())
        return LossTerms(loss, correct, state)

    def count_targets(self, targets: torch.Tensor) -> int:
        """Tokens that are not padding."""
        return int((targets != PAD).sum())

    def chunk_length(self, seq_length: int | None, length: int) -> int:
        """``seq_length`` tokens per backward pass; when it is null the whole record, up to
        :data:`LONG_RECORD_TOKENS` (longer records are learned in chunks of that many
        tokens, the state carried over, so memory does not grow with the longest line)."""
        return seq_length or min(length, LONG_RECORD_TOKENS)


def recurrent_layers(input_size: int, units: int, layers: int, dropout_rate: float) -> nn.LSTM:
    """Stacked LSTM layers (batch first), with dropout between layers when there are several."""
    return nn.LSTM(
        input_size,
        units,
        num_layers=layers,
        batch_first=True,
        dropout=dropout_rate if layers > 1 else 0.0,
    )


def grouped_head_loss(
    heads: nn.ModuleList,
    head_of: Sequence[int],
    hidden: torch.Tensor,
    wanted: torch.Tensor,
    weights: Sequence[float] = (),
) -> tuple[torch.Tensor, int]:
    """Summed cross-entropy and correct predictions of positions whose output heads are
    ``head_of`` (one per position of ``hidden``); ``wanted`` -1 marks padding. With
    ``weights`` (one per head), each head's cross-entropy counts that many times.

    Positions sharing a head go through it in one call: one use per module and pass, as
    per-record gradients under DP expect."""
    groups: dict[int, list[int]] = {}
    for position, head in enumerate(head_of):
        groups.setdefault(head, []).append(position)
    loss = hidden.new_zeros(())
    correct = 0
    for head, positions in groups.items():
        logits = heads[head](hidden[:, positions])  # (batch, k, vocab)
        target = wanted[:, positions]
        summed = nn.functional.cross_entropy(
            logits.reshape(-1, logits.shape[-1]),
            target.reshape(-1),
            ignore_index=-1,
            reduction="sum",
        )
        loss = loss + (summed * weights[head] if weights else summed)
        correct += int(((logits.argmax(-1) == target) & (target >= 0)).sum())
    return loss, correct


def draw_tokens(logits: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """One token per row from ``softmax(logits)`` (−inf logits are never drawn).

    Inverse-CDF sampling: for many rows over a small vocabulary it is several times
    faster than ``torch.multinomial``, and exact.
    """
    weights = torch.exp(logits - logits.max(dim=-1, keepdim=True).values)
    cumulative = weights.cumsum(dim=-1)
    # in (0, total]: a zero-weight token is never the first one whose cumulative reaches u
    u = (1 - torch.rand((len(logits), 1), generator=generator, device=logits.device)) * (
        cumulative[:, -1:]
    )
    return (cumulative < u).sum(dim=-1).clamp_(max=logits.shape[-1] - 1)


def pick_device(requested: str) -> torch.device:
    """``auto`` takes CUDA when present, else the CPU."""
    if requested == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device: cuda was asked for but no CUDA GPU is visible; use auto or cpu")
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(requested)
