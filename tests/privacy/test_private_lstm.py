"""PrivateLSTM: exact per-record gradients in one contraction, and nn.LSTM's weights."""

from __future__ import annotations

import pytest
import torch
from opacus import GradSampleModule
from torch import nn

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


@pytest.mark.parametrize("layers", [1, 2])
def test_per_record_gradients_equal_one_record_at_a_time(layers: int) -> None:
    torch.manual_seed(0)
    net = _Net(PrivateLSTM(6, 8, num_layers=layers), 8)
    module = GradSampleModule(net, batch_first=True, loss_reduction="sum", strict=True)
    x, y = torch.randint(0, 30, (5, 9)), torch.randint(0, 30, (5, 9))
    _loss(net, x, y).backward()
    per_record = {n: p.grad_sample.clone() for n, p in net.named_parameters()}
    module.disable_hooks()
    for b in range(5):
        net.zero_grad()
        _loss(net, x[b : b + 1], y[b : b + 1]).backward()
        for name, p in net.named_parameters():
            torch.testing.assert_close(per_record[name][b], p.grad, atol=1e-5, rtol=1e-4)


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


class _GroupTrainer:
    """What PrivateSteps needs of a trainer: the parameters and a summed-loss backward
    that ignores padding (token 0), in chunks, so that chunk gradients are summed too."""

    def __init__(self, net: nn.Module) -> None:
        self.net = net
        self.optimizer = type("Opt", (), {"params": list(net.parameters())})()

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


def test_length_groups_give_the_same_per_record_gradients() -> None:
    from synthloom.lstm.steps import PrivateSteps, length_groups, record_lengths

    torch.manual_seed(1)
    net = _Net(PrivateLSTM(6, 8), 8)
    GradSampleModule(net, batch_first=True, loss_reduction="sum", strict=True)
    lengths = [3, 17, 4, 16, 2, 3]
    batch = torch.zeros(len(lengths), 17, dtype=torch.long)
    for b, n in enumerate(lengths):
        batch[b, :n] = torch.randint(1, 30, (n,))
    trainer = _GroupTrainer(net)
    groups = length_groups(record_lengths(batch))
    assert record_lengths(batch).tolist() == lengths
    assert len(groups) > 1 and sorted(i for g in groups for i in g) == list(range(6))
    PrivateSteps._grouped_backward(trainer, batch, record_lengths(batch), groups)
    grouped = {n: p.grad_sample.clone() for n, p in net.named_parameters()}
    order = [int(i) for g in groups for i in g]
    for p in net.parameters():
        p.grad_sample = None
    trainer.backward(batch, per_token=False)  # one pass, padded to the longest
    for name, p in net.named_parameters():
        whole = (
            torch.stack(p.grad_sample).sum(0) if isinstance(p.grad_sample, list) else p.grad_sample
        )
        torch.testing.assert_close(grouped[name], whole[order], atol=1e-5, rtol=1e-4)
