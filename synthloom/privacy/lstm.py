"""An LSTM whose per-record gradients cost one tensor contraction per weight and chunk.

opacus' DPLSTM computes per-record gradients at every time step (one batch × weight-sized
tensor per step and weight), which makes DP-SGD training an order of magnitude slower
than plain training. Here each layer records, during backward, the gradient of its gate
pre-activations at every step, and then forms every record's weight gradient at once:
``Σ_t dgates[b, t] ⊗ input[b, t]`` is a single ``einsum`` over the whole chunk.

The state dict uses ``nn.LSTM``'s names (``weight_ih_l0`` …), so weights move between this
module and ``nn.LSTM`` (fast sampling) with ``load_state_dict``.
"""

from __future__ import annotations

import math
import re
from typing import Any

import torch
from opacus.grad_sample import register_grad_sampler
from torch import nn
from torch.nn import functional as F

_LAYER_KEY = re.compile(r"layers\.(\d+)\.(weight_ih|weight_hh|bias_ih|bias_hh)")
_LSTM_KEY = re.compile(r"(weight_ih|weight_hh|bias_ih|bias_hh)_l(\d+)")


class PrivateLSTMLayer(nn.Module):
    """One LSTM layer (gates i, f, g, o as in ``nn.LSTM``), batch first."""

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        gates = 4 * hidden_size
        self.weight_ih = nn.Parameter(torch.empty(gates, input_size))
        self.weight_hh = nn.Parameter(torch.empty(gates, hidden_size))
        self.bias_ih = nn.Parameter(torch.empty(gates))
        self.bias_hh = nn.Parameter(torch.empty(gates))
        bound = 1 / math.sqrt(hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)
        # (previous hidden states, gate gradients) of the chunk being back-propagated
        self._recorded: tuple[torch.Tensor, torch.Tensor] | None = None

    def forward(
        self, x: torch.Tensor, h: torch.Tensor, c: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Outputs (batch, time, hidden) and the last hidden and cell states."""
        batch, steps, _ = x.shape
        projected = F.linear(x, self.weight_ih, self.bias_ih + self.bias_hh)
        record = self.training and torch.is_grad_enabled()
        if record:
            dgates = x.new_zeros(batch, steps, 4 * self.hidden_size)
            previous = []
        outputs = []
        for t in range(steps):
            gates = projected[:, t] + F.linear(h, self.weight_hh)
            if record:
                previous.append(h.detach())
                gates.register_hook(_storer(dgates, t))
            i, f, g, o = gates.chunk(4, dim=1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
            outputs.append(h)
        if record:
            self._recorded = (torch.stack(previous, dim=1), dgates)
        return torch.stack(outputs, dim=1), h, c


def _storer(buffer: torch.Tensor, t: int) -> Any:
    def store(grad: torch.Tensor) -> None:
        buffer[:, t] = grad

    return store


@register_grad_sampler(PrivateLSTMLayer)
def _layer_grad_sample(
    layer: PrivateLSTMLayer, activations: list[torch.Tensor], backprops: torch.Tensor
) -> dict[nn.Parameter, torch.Tensor]:
    """Every record's gradient of each weight, from the chunk's recorded gate gradients."""
    if layer._recorded is None:
        raise RuntimeError("no recorded forward pass for this backward pass")
    previous, dgates = layer._recorded
    layer._recorded = None
    x = activations[0].to(dgates.dtype)
    bias = dgates.sum(dim=1)
    return {
        layer.weight_ih: torch.einsum("btg,bti->bgi", dgates, x),
        layer.weight_hh: torch.einsum("btg,bth->bgh", dgates, previous),
        layer.bias_ih: bias,
        layer.bias_hh: bias.clone(),
    }


class PrivateLSTM(nn.Module):
    """Stacked :class:`PrivateLSTMLayer` with ``nn.LSTM``'s call, outputs and weight names."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        dropout: float = 0.0,
        batch_first: bool = True,
    ) -> None:
        super().__init__()
        if not batch_first:
            raise ValueError("PrivateLSTM is batch first")
        self.input_size, self.hidden_size = input_size, hidden_size
        self.num_layers, self.dropout = num_layers, dropout
        self.layers = nn.ModuleList(
            PrivateLSTMLayer(input_size if k == 0 else hidden_size, hidden_size)
            for k in range(num_layers)
        )
        self.between = nn.Dropout(dropout)
        self._register_state_dict_hook(_to_lstm_names)
        self.register_load_state_dict_pre_hook(_from_lstm_names)

    def forward(
        self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """As ``nn.LSTM(batch_first=True)``: outputs and ``(h_n, c_n)`` of every layer."""
        if state is None:
            zeros = x.new_zeros(self.num_layers, x.shape[0], self.hidden_size)
            state = (zeros, zeros)
        hs, cs = [], []
        for k, layer in enumerate(self.layers):
            if k:
                x = self.between(x)
            x, h, c = layer(x, state[0][k], state[1][k])
            hs.append(h)
            cs.append(c)
        return x, (torch.stack(hs), torch.stack(cs))


def _to_lstm_names(module: nn.Module, state: dict, prefix: str, _meta: Any) -> None:
    for key in [k for k in state if k.startswith(prefix)]:
        match = _LAYER_KEY.fullmatch(key[len(prefix) :])
        if match:
            state[f"{prefix}{match[2]}_l{match[1]}"] = state.pop(key)


def _from_lstm_names(module: nn.Module, state: dict, prefix: str, *_: Any) -> None:
    for key in [k for k in state if k.startswith(prefix)]:
        match = _LSTM_KEY.fullmatch(key[len(prefix) :])
        if match:
            state[f"{prefix}layers.{match[2]}.{match[1]}"] = state.pop(key)


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
