"""Each record's whole gradient clipped without forming it ("ghost clipping").

A layer that maps inputs ``a_t`` to ``y_t = W a_t + b`` at the positions ``t`` a record
reaches gives that record the weight gradient ``G = Σ_t g_t a_tᵀ`` (``g_t`` the loss's
gradient at ``y_t``). Its squared norm is ``Σ_{t,s} (g_t·g_s)(a_t·a_s)``: two T×T
products per record instead of a p×q matrix per record, which is what made DP-SGD
materialise gigabytes per step. The batch's clipped sum ``Σ_b c_b G_b`` is then one
contraction of the output gradients scaled by each record's factor ``c_b``. An
embedding is the same map with one-hot inputs (``a_t·a_s = [id_t = id_s]``); the LSTM's
weights map its inputs and previous hidden states to the gate pre-activations, whose
gradients come from the layer's hand-written backward pass (privacy/lstm.py). Where
``T²(p+q)`` would exceed ``T·p·q`` (long records through a small layer) the per-record
matrix is formed instead.

The released sum holds exactly the terms whose norms were taken, so each record's
contribution is bounded by the clip norm whatever the model does; a use of a weight the
hooks did not see would be left out of both (less signal, never a weaker bound). A
record's loss must depend on that record only (see engine.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch
from torch import nn

from synthloom.privacy.lstm import PrivateLSTMLayer

Uses = dict[nn.Module, list[tuple[torch.Tensor, ...]]]  # per layer, each use's tensors
Group = dict[nn.Module, tuple[torch.Tensor, ...]]  # per layer, its uses joined by position

# Records per block when per-record products are formed (bounds the memory of a step).
_BLOCK = 256


class PerRecordClipping:
    """Hooks a model's layers, records what every record's gradient is made of, and gives
    the sum of the records' gradients, each clipped to a norm, as a whole, on its own.

    Records may be back-propagated in several passes between two sums: passes over the
    same records (chunks of long records) are one group, and each group is closed with
    :meth:`close_group` before passes over other records begin.
    """

    SUPPORTED = (nn.Linear, nn.Embedding, PrivateLSTMLayer)

    def __init__(self, model: nn.Module) -> None:
        self._handles = []
        self._lstm_layers: list[PrivateLSTMLayer] = []
        for name, module in model.named_modules():
            if not any(p.requires_grad for p in module.parameters(recurse=False)):
                continue
            if not isinstance(module, self.SUPPORTED):
                hint = " (swap it for PrivateLSTM: privacy.lstm.swap_lstm)" * isinstance(
                    module, nn.LSTM
                )
                raise ValueError(
                    f"DP training cannot clip per-record gradients of layer {name!r} "
                    f"({type(module).__name__}){hint}"
                )
            if isinstance(module, PrivateLSTMLayer):
                module.on_backward = self._recorder(module)
                self._lstm_layers.append(module)
            else:
                self._handles.append(module.register_forward_hook(self._forward_hook))
        self._pending: Uses = {}
        self._groups: list[tuple[Group, torch.Tensor]] = []

    def remove_hooks(self) -> None:
        """Stop recording (the model trains or samples as before)."""
        for handle in self._handles:
            handle.remove()
        for layer in self._lstm_layers:
            layer.on_backward = None
        self.clear()

    def clear(self) -> None:
        """Forget what was recorded since the last sum."""
        self._pending, self._groups = {}, []

    def _recorder(self, module: nn.Module) -> Callable[..., None]:
        """Keeps one use's tensors, each (records, positions, …)."""

        def record(*tensors: torch.Tensor) -> None:
            self._pending.setdefault(module, []).append(tuple(t.detach() for t in tensors))

        return record

    def _forward_hook(self, module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        """After a use of a linear map or an embedding, keep its input and, once it is
        back-propagated, its output's gradient."""
        if not (torch.is_grad_enabled() and output.requires_grad):
            return
        x = inputs[0]
        batch = x.shape[0]
        embedding = isinstance(module, nn.Embedding)
        x = x.reshape(batch, -1) if embedding else x.reshape(batch, -1, x.shape[-1])
        record = self._recorder(module)
        output.register_hook(lambda g: record(x, g.reshape(batch, -1, g.shape[-1])))

    def close_group(self) -> None:
        """End a group of passes over the same records: take each record's squared norm."""
        pending, self._pending = self._pending, {}
        if not pending:
            return
        merged: Group = {
            module: tuple(torch.cat(parts, dim=1) for parts in zip(*uses, strict=True))
            for module, uses in pending.items()
        }
        sizes = {tensors[0].shape[0] for tensors in merged.values()}
        if len(sizes) != 1:
            raise RuntimeError(f"one group of records passed layers with batch sizes {sizes}")
        squared = sum(_squared_norms(m, *tensors) for m, tensors in merged.items())
        self._groups.append((merged, squared))  # type: ignore[arg-type]

    def clipped_sum(self, clip_norm: float) -> dict[nn.Parameter, torch.Tensor]:
        """Σ over records of each record's gradient scaled to norm ≤ ``clip_norm``."""
        self.close_group()
        total: dict[nn.Parameter, torch.Tensor] = {}
        for merged, squared in self._groups:
            scale = (clip_norm / (squared.sqrt() + 1e-6)).clamp(max=1.0)
            for module, tensors in merged.items():
                for param, grad in _weighted(module, *tensors, scale=scale):
                    total[param] = grad if param not in total else total[param] + grad
        self._groups = []
        return total

    def norms(self) -> torch.Tensor:
        """Each recorded record's gradient norm, group after group (for tests)."""
        self.close_group()
        return torch.cat([torch.zeros(0), *(squared.sqrt() for _, squared in self._groups)])


def _squared_norms(module: nn.Module, *tensors: torch.Tensor) -> torch.Tensor:
    """Each record's squared gradient norm over the module's trainable weights."""
    if isinstance(module, nn.Embedding):
        ids, g = tensors
        g = _masked(module, ids, g)
        same = ids.unsqueeze(2) == ids.unsqueeze(1)
        return _by_blocks(lambda s: ((g[s] @ g[s].transpose(1, 2)) * same[s]).sum((1, 2)), g)
    if isinstance(module, nn.Linear):
        x, g = tensors
        total = _pair_norms(g, x) if module.weight.requires_grad else g.new_zeros(g.shape[0])
        if module.bias is not None and module.bias.requires_grad:
            total = total + g.sum(1).square().sum(1)
        return total
    x, before, dgates = tensors  # PrivateLSTMLayer
    layer: PrivateLSTMLayer = module  # type: ignore[assignment]
    total = dgates.new_zeros(dgates.shape[0])
    if layer.weight_ih.requires_grad:
        total = total + _pair_norms(dgates, x)
    if layer.weight_hh.requires_grad:
        total = total + _pair_norms(dgates, before)
    biases = layer.bias_ih.requires_grad + layer.bias_hh.requires_grad
    return total + biases * dgates.sum(1).square().sum(1)


def _weighted(
    module: nn.Module, *tensors: torch.Tensor, scale: torch.Tensor
) -> Iterator[tuple[nn.Parameter, torch.Tensor]]:
    """(parameter, Σ_b scale_b · record b's gradient) for each trainable weight."""
    if isinstance(module, nn.Embedding):
        ids, g = tensors
        g = _masked(module, ids, g) * scale[:, None, None]
        grad = torch.zeros_like(module.weight).index_add_(0, ids.reshape(-1), g.flatten(0, 1))
        yield module.weight, grad
        return
    if isinstance(module, nn.Linear):
        x, g = tensors
        g = g * scale[:, None, None]
        if module.weight.requires_grad:
            yield module.weight, _summed_outer(g, x)
        if module.bias is not None and module.bias.requires_grad:
            yield module.bias, g.sum((0, 1))
        return
    x, before, dgates = tensors
    layer: PrivateLSTMLayer = module  # type: ignore[assignment]
    g = dgates * scale[:, None, None]
    for weight, inputs in ((layer.weight_ih, x), (layer.weight_hh, before)):
        if weight.requires_grad:
            yield weight, _summed_outer(g, inputs)
    bias = g.sum((0, 1))
    for param in (layer.bias_ih, layer.bias_hh):
        if param.requires_grad:
            yield param, bias


def _masked(module: nn.Embedding, ids: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """Output gradients with the padding row's uses removed (that row never trains)."""
    if module.padding_idx is None:
        return g
    return g * (ids != module.padding_idx).unsqueeze(-1)


def _summed_outer(g: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """Σ_b Σ_t g_{b,t} a_{b,t}ᵀ as one matrix product."""
    return g.flatten(0, 1).t() @ a.flatten(0, 1)


def _pair_norms(g: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """Per record, ‖Σ_t g_t a_tᵀ‖²: from T×T products, or the formed matrix where smaller."""
    steps, p, q = g.shape[1], g.shape[2], a.shape[2]
    if steps == 1:  # a rank-one gradient: ‖g aᵀ‖ = ‖g‖·‖a‖
        return g.square().sum((1, 2)) * a.square().sum((1, 2))
    if steps * (p + q) <= p * q:
        return _by_blocks(
            lambda s: ((g[s] @ g[s].transpose(1, 2)) * (a[s] @ a[s].transpose(1, 2))).sum((1, 2)),
            g,
        )
    return _by_blocks(lambda s: torch.einsum("btp,btq->bpq", g[s], a[s]).square().sum((1, 2)), g)


def _by_blocks(norms: Callable[[slice], torch.Tensor], like: torch.Tensor) -> torch.Tensor:
    """``norms`` of every block of records, so no step holds more than a block's products."""
    batch = like.shape[0]
    if batch == 0:
        return like.new_zeros(0)
    return torch.cat([norms(slice(lo, lo + _BLOCK)) for lo in range(0, batch, _BLOCK)])
