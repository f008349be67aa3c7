"""PrivateLSTM: exact per-record gradients in one contraction, and nn.LSTM's weights."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from synthloom.privacy.clipping import PerRecordClipping
from synthloom.privacy.engine import make_private
from synthloom.privacy.lstm import PrivateLSTM


class _Net(nn.Module):
    def __init__(self, lstm: nn.Module, hidden: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(30, 6)
        self.lstm = lstm
        self.head = nn.Linear(hidden, 30)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.head(self.lstm(self.embedding(tokens))[0])


def _loss(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    logits = net(x)
    return nn.functional.cross_entropy(logits.reshape(-1, 30), y.reshape(-1), reduction="sum")


def _flat(net: nn.Module) -> torch.Tensor:
    return torch.cat([p.grad.reshape(-1) for p in net.parameters()])


@pytest.mark.parametrize("layers", [1, 2])
def test_per_record_norms_and_clipped_sum_equal_one_record_at_a_time(layers: int) -> None:
    torch.manual_seed(0)
    net = _Net(PrivateLSTM(6, 8, num_layers=layers), 8)
    x, y = torch.randint(0, 30, (5, 9)), torch.randint(0, 30, (5, 9))
    alone = []
    for b in range(5):
        net.zero_grad()
        _loss(net, x[b : b + 1], y[b : b + 1]).backward()
        alone.append(_flat(net))
    clipping = PerRecordClipping(net)
    _loss(net, x, y).backward()
    norms = torch.stack([g.norm() for g in alone])
    torch.testing.assert_close(clipping.norms(), norms, atol=1e-5, rtol=1e-4)
    clipping.clear()
    _loss(net, x, y).backward()
    clip = float(norms.min()) / 2  # every record is scaled down, each by its own factor
    summed = clipping.clipped_sum(clip)
    released = torch.cat([summed[p].reshape(-1) for p in net.parameters()])
    expected = sum(g * clip / g.norm() for g in alone)
    torch.testing.assert_close(released, expected, atol=1e-5, rtol=1e-4)


def test_weights_move_to_and_from_nn_lstm_unchanged() -> None:
    torch.manual_seed(1)
    private = PrivateLSTM(6, 8, num_layers=2).eval()
    plain = nn.LSTM(6, 8, num_layers=2, batch_first=True)
    plain.load_state_dict(private.state_dict())
    x = torch.randn(3, 5, 6)
    torch.testing.assert_close(plain(x)[0], private(x)[0], atol=1e-6, rtol=1e-5)
    back = PrivateLSTM(6, 8, num_layers=2).eval()
    back.load_state_dict(plain.state_dict())
    torch.testing.assert_close(back(x)[1][0], plain(x)[1][0], atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("layers", [1, 2])
def test_backward_through_time_equals_nn_lstm_autograd(layers: int) -> None:
    """The hand-written backward pass gives nn.LSTM's gradients: of the weights, the input
    and the carried-in state, with losses on the outputs and on the last state."""
    torch.manual_seed(2)
    private = PrivateLSTM(6, 8, num_layers=layers).train()
    plain = nn.LSTM(6, 8, num_layers=layers, batch_first=True)
    plain.load_state_dict(private.state_dict())
    grads = []
    for lstm in (private, plain):
        torch.manual_seed(3)
        x = torch.randn(4, 7, 6, requires_grad=True)
        h0 = torch.randn(layers, 4, 8, requires_grad=True)
        c0 = torch.randn(layers, 4, 8, requires_grad=True)
        out, (h, c) = lstm(x, (h0, c0))
        ((out**2).sum() + (h * 3).sum() + c.sum()).backward()
        weights = {k: v.grad for k, v in lstm.named_parameters()}
        grads.append((x.grad, h0.grad, c0.grad, sorted(weights.items())))
    (px, ph, pc, pw), (qx, qh, qc, qw) = grads
    for a, b in [(px, qx), (ph, qh), (pc, qc)]:
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)
    bias = dict(qw)  # nn.LSTM's two biases get the same gradient, as do PrivateLSTM's
    for name, grad in pw:
        key = name.replace("layers.", "").split(".")
        lstm_name = f"{key[1]}_l{key[0]}"
        torch.testing.assert_close(grad, bias[lstm_name], atol=1e-5, rtol=1e-4)


class _GroupTrainer:
    """What PrivateSteps needs of a trainer: the parameters and a summed-loss backward
    that ignores padding (token 0), in chunks, so that chunk gradients are summed too."""

    def __init__(self, net: nn.Module) -> None:
        self.net = net
        _, self.optimizer = make_private(
            net,
            torch.optim.SGD(net.parameters(), lr=0.0),
            noise_multiplier=0.0,
            max_grad_norm=0.05,
            expected_batch_size=1,
            average=False,
        )

    def backward(self, batch: torch.Tensor, per_token: bool) -> tuple[float, int, int]:
        x, y = batch[:, :-1], batch[:, 1:]
        total = 0.0
        for lo in range(0, x.shape[1], 5):  # chunks at the same positions in any width
            logits = self.net(x[:, lo : lo + 5])
            loss = nn.functional.cross_entropy(
                logits.reshape(-1, 30),
                y[:, lo : lo + 5].reshape(-1),
                reduction="sum",
                ignore_index=0,
            )
            loss.backward()
            total += loss.item()
        return total, 0, int((y != 0).sum())


def test_length_groups_give_the_same_clipped_sum() -> None:
    from synthloom.lstm.steps import PrivateSteps, length_groups, record_lengths

    torch.manual_seed(1)
    net = _Net(PrivateLSTM(6, 8), 8)
    lengths = [3, 17, 4, 16, 2, 3]
    batch = torch.zeros(len(lengths), 17, dtype=torch.long)
    for b, n in enumerate(lengths):
        batch[b, :n] = torch.randint(1, 30, (n,))
    trainer = _GroupTrainer(net)
    groups = length_groups(record_lengths(batch))
    assert record_lengths(batch).tolist() == lengths
    assert len(groups) > 1 and sorted(i for g in groups for i in g) == list(range(6))
    PrivateSteps._grouped_backward(trainer, batch, record_lengths(batch), groups)
    assert trainer.optimizer.clipping.norms().shape == (6,)
    trainer.optimizer.zero_grad()
    PrivateSteps._grouped_backward(trainer, batch, record_lengths(batch), groups)
    trainer.optimizer.pre_step()
    grouped = _flat(net)
    trainer.optimizer.zero_grad()
    trainer.backward(batch, per_token=False)  # one pass, padded to the longest
    trainer.optimizer.pre_step()
    torch.testing.assert_close(grouped, _flat(net), atol=1e-6, rtol=1e-4)
    assert float(grouped.norm()) > 0


class _WidthTrainer:
    """Records the width of every batch a DP step back-propagates."""

    def __init__(self, model: nn.Module) -> None:
        self.model = model
        self.widths: list[int] = []
        self.optimizer = type(
            "Opt", (), {"zero_grad": lambda *a, **k: None, "step": lambda *a: None}
        )()

    def backward(self, batch: torch.Tensor, per_token: bool) -> tuple[float, int, int]:
        self.widths.append(batch.shape[1])
        return 0.0, 0, 0


def test_a_dp_step_trains_every_position_of_a_table_row() -> None:
    """A table row's tokens are local ids, 0 among them: rows ending in 0 tokens are not
    shorter (grouping them by length cut those tokens, or failed on a row of all 0s)."""
    from synthloom.lstm.steps import PrivateSteps
    from synthloom.lstm.table_model import TableLSTM, TableShape

    rows = [[0, 0, 0, 0, 0, 0], [0, 3, 1, 0, 0, 0], [0, 1, 2, 3, 1, 2], [0, 1, 0, 0, 0, 0]]
    batch = torch.tensor(rows)
    table = _WidthTrainer(TableLSTM(TableShape((4,) * 5, 4, 8, 1, 0.0)))
    steps = object.__new__(PrivateSteps)
    steps.step(table, batch)
    assert table.widths == [6]
    # a padded record model groups the same batch by its records' lengths
    text = _WidthTrainer(_Net(PrivateLSTM(6, 8), 8))
    steps._grouped_backward = lambda trainer, batch, lengths, groups: (
        trainer.widths.extend(int(lengths[g].max()) for g in groups) or (0.0, 0, 0)
    )
    steps.step(text, batch)
    assert len(text.widths) > 1


def test_released_shares_calibration_moves_dp_categories_to_their_counts():
    """Post-processing under DP: shifts of released values bring the sampled shares to
    the released counts' shares."""
    import numpy as np
    import torch

    from synthloom.config import Params
    from synthloom.encoding.fields import CategoricalField
    from synthloom.lstm.table_model import TableLSTM, TableShape
    from synthloom.synthesizers.table_parts import calibrate_released_shares, sampler_for

    field = CategoricalField("c", ["a", "b", "c"], [600, 300, 100], True, True, other=True)
    from synthloom.encoding.fields import TableCodec
    from synthloom.io.schema import ColumnInfo

    codec = TableCodec([field], [ColumnInfo("c", "string")])
    torch.manual_seed(0)
    network = TableLSTM(TableShape(tuple(codec.vocab_sizes), 8, 8, 1, 0.0))
    part = type("Part", (), {"codec": codec, "network": network})()
    calibrate_released_shares(part, Params(seed=0), torch.device("cpu"), {})
    generator = torch.Generator().manual_seed(3)
    drawn = sampler_for(part, torch.device("cpu"), {}).sample(20_000, 20_000, 1.0, generator)
    shares = np.bincount(drawn[:, 0], minlength=5)[:3] / max((drawn[:, 0] < 3).sum(), 1)
    assert np.allclose(shares, [0.6, 0.3, 0.1], atol=0.03)
