"""An LSTM whose per-record gradients cost one tensor contraction per weight and chunk.

opacus' DPLSTM computes per-record gradients at every time step (one batch × weight-sized
tensor per step and weight), which makes DP-SGD training an order of magnitude slower
than plain training. Here each layer runs its recurrence as one autograd node with a
hand-written backward pass through time, which yields the gradient of the gate
pre-activations at every step: a record's weight gradient is ``Σ_t dgates[b, t] ⊗
input[b, t]``, whose norm and clipped sum privacy/clipping.py takes without forming it.
(With autograd's graph of a dozen nodes and a hook per step instead, Adult's DP epoch
took 35.7 s against 21.4 s, run after run: benchmarks/dp_epoch.py, batch 1024, one layer.)

The state dict uses ``nn.LSTM``'s names (``weight_ih_l0`` …), so weights move between this
module and ``nn.LSTM`` (fast sampling) with ``load_state_dict``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import torch
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
        # called by each backward pass with (inputs, previous hidden states, gate gradients)
        self.on_backward: Callable[..., None] | None = None

    def forward(
        self, x: torch.Tensor, h: torch.Tensor, c: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Outputs (batch, time, hidden) and the last hidden and cell states."""
        projected = F.linear(x, self.weight_ih, self.bias_ih + self.bias_hh)
        if self.training and torch.is_grad_enabled():
            return _Recurrence.apply(projected, h, c, self.weight_hh, (self, x))
        with torch.no_grad():
            out, h, c, _ = _recur(projected, h, c, self.weight_hh, keep=False)
        return out, h, c


def _recur(
    projected: torch.Tensor, h: torch.Tensor, c: torch.Tensor, weight_hh: torch.Tensor, keep: bool
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, tuple[torch.Tensor, ...]]:
    """The recurrence over a chunk (gates i, f, g, o), without autograd; with ``keep``,
    what the backward pass needs: gate activations, the cell state before each step and
    after the last, tanh of the cells, and the hidden state before each step."""
    batch, steps, width = projected.shape
    size = width // 4
    outputs = projected.new_empty(batch, steps, size)
    acts = projected.new_empty(batch, steps, width)
    cells = projected.new_empty(batch, steps + 1, size) if keep else None
    tanhs = projected.new_empty(batch, steps, size) if keep else None
    before = projected.new_empty(batch, steps, size) if keep else None
    for t in range(steps):
        if keep:
            before[:, t] = h
            cells[:, t] = c
        a = acts[:, t]
        torch.addmm(projected[:, t], h, weight_hh.t(), out=a)
        g = torch.tanh(a[:, 2 * size : 3 * size])
        a.sigmoid_()  # i, f and o
        a[:, 2 * size : 3 * size] = g
        i, f, g, o = a[:, :size], a[:, size : 2 * size], a[:, 2 * size : 3 * size], a[:, 3 * size :]
        c = f * c + i * g
        tanh_c = torch.tanh(c)
        h = o * tanh_c
        outputs[:, t] = h
        if keep:
            tanhs[:, t] = tanh_c
    if keep:
        cells[:, steps] = c
    saved = (acts, cells, tanhs, before) if keep else ()
    return outputs, h, c, saved  # type: ignore[return-value]


class _Recurrence(torch.autograd.Function):
    """A chunk's recurrence with a hand-written backward pass through time: one node in
    the autograd graph instead of a dozen per step, and the gate gradients of every step
    (what the per-record gradients are made of) come out of it whole, for the layer's
    ``on_backward``."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any,
        projected: torch.Tensor,
        h: torch.Tensor,
        c: torch.Tensor,
        weight_hh: torch.Tensor,
        use: tuple[PrivateLSTMLayer, torch.Tensor],
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        outputs, h, c, saved = _recur(projected, h, c, weight_hh, keep=True)
        ctx.save_for_backward(weight_hh, *saved)
        ctx.use = use  # the layer and its input: not differentiated through this node
        return outputs, h, c

    @staticmethod
    def backward(  # type: ignore[override]
        ctx: Any, d_out: torch.Tensor, d_h: torch.Tensor | None, d_c: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, None]:
        weight_hh, acts, cells, tanhs, before = ctx.saved_tensors
        batch, steps, width = acts.shape
        size = width // 4
        dh = d_h if d_h is not None else d_out.new_zeros(batch, size)
        dc = d_c if d_c is not None else d_out.new_zeros(batch, size)
        dgates = d_out.new_empty(batch, steps, width)
        for t in reversed(range(steps)):
            dh = dh + d_out[:, t]
            a = acts[:, t]
            i, f, g, o = (
                a[:, :size],
                a[:, size : 2 * size],
                a[:, 2 * size : 3 * size],
                a[:, 3 * size :],
            )
            tanh_c = tanhs[:, t]
            dc = dc + dh * o * (1 - tanh_c * tanh_c)
            step = dgates[:, t]
            step[:, :size] = dc * g * i * (1 - i)
            step[:, size : 2 * size] = dc * cells[:, t] * f * (1 - f)
            step[:, 2 * size : 3 * size] = dc * i * (1 - g * g)
            step[:, 3 * size :] = dh * tanh_c * o * (1 - o)
            dc = dc * f
            dh = step @ weight_hh
        layer, x = ctx.use
        if layer.on_backward is not None:  # DP: the clipping forms the (clipped) sum itself
            layer.on_backward(x, before, dgates)
            return dgates, dh, dc, None, None
        d_weight = torch.einsum("btg,bth->gh", dgates, before)
        return dgates, dh, dc, d_weight, None


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
