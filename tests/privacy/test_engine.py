"""The DP-SGD boundary: per-record clipping, noise, Poisson batches, OS entropy."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from torch import nn

from synthloom.lstm.model import ModelShape, RecordLSTM
from synthloom.lstm.table_model import TableLSTM, TableShape
from synthloom.privacy.accounting import PrivacyLedger
from synthloom.privacy.clipping import PerRecordClipping, _pair_norms
from synthloom.privacy.engine import make_private, poisson_batches
from synthloom.privacy.entropy import secure_generator, secure_rng
from synthloom.privacy.lstm import PrivateLSTM, swap_lstm

VOCAB, PAD = 12, 0


class TinyModel(nn.Module):
    """Embedding → LSTM → Linear, as RecordLSTM, with a DP or a plain LSTM."""

    def __init__(self, dp: bool = True, layers: int = 1) -> None:
        super().__init__()
        self.embedding = nn.Embedding(VOCAB, 6)
        lstm = PrivateLSTM if dp else nn.LSTM
        self.lstm = lstm(6, 8, num_layers=layers, batch_first=True)
        self.head = nn.Linear(8, VOCAB)

    def forward(self, tokens: torch.Tensor, state=None):
        hidden, state = self.lstm(self.embedding(tokens), state)
        return self.head(hidden), state


def _records(n: int, seed: int) -> torch.Tensor:
    """Padded token records of different lengths (PAD after the end)."""
    gen = torch.Generator().manual_seed(seed)
    batch = torch.randint(1, VOCAB, (n, 9), generator=gen)
    for i in range(n):
        batch[i, 3 + i % 6 :] = PAD
    return batch


def _loss_and_backward(model: nn.Module, batch: torch.Tensor, chunk: int) -> None:
    """Σ over records of each record's own mean token loss, in chunks with carried state."""
    inputs, targets = batch[:, :-1], batch[:, 1:]
    per_record_tokens = (targets != PAD).sum(1).clamp(min=1)
    state = None
    for lo in range(0, inputs.shape[1], chunk):
        logits, state = model(inputs[:, lo : lo + chunk], state)
        state = (state[0].detach(), state[1].detach())
        part = targets[:, lo : lo + chunk]
        token_loss = nn.functional.cross_entropy(
            logits.transpose(1, 2), part, ignore_index=PAD, reduction="none"
        )
        (token_loss.sum(1) / per_record_tokens).sum().backward()


def _flat(tensors) -> torch.Tensor:
    return torch.cat([t.reshape(-1) for t in tensors])


def _private_gradient(model: nn.Module, batch: torch.Tensor, clip: float, chunk: int = 3):
    """The summed clipped gradient DP-SGD computes for ``batch`` (noise 0, no averaging)."""
    model = copy.deepcopy(model)
    _, optimizer = make_private(
        model,
        torch.optim.SGD(model.parameters(), lr=0.0),
        noise_multiplier=0.0,
        max_grad_norm=clip,
        expected_batch_size=len(batch),
        average=False,
    )
    optimizer.zero_grad()
    _loss_and_backward(model, batch, chunk)
    optimizer.pre_step()
    return _flat(p.grad for p in model.parameters())


def _reference_gradient(model: nn.Module, record: torch.Tensor, chunk: int = 3) -> torch.Tensor:
    """One record's gradient by plain autograd, on its own."""
    model = copy.deepcopy(model)
    model.zero_grad()
    _loss_and_backward(model, record[None], chunk)
    return _flat(p.grad for p in model.parameters())


def test_a_step_updates_the_weights_and_remove_hooks_stops_recording() -> None:
    torch.manual_seed(1)
    model = TinyModel()
    clipping, optimizer = make_private(
        model,
        torch.optim.Adam(model.parameters()),
        noise_multiplier=1.0,
        max_grad_norm=1.0,
        expected_batch_size=4,
    )
    _loss_and_backward(model, _records(4, 0), chunk=9)
    assert clipping.norms().shape == (4,)
    before = _flat(p.detach().clone() for p in model.parameters())
    optimizer.zero_grad()
    _loss_and_backward(model, _records(4, 0), chunk=9)
    optimizer.step()
    assert not torch.equal(before, _flat(p.detach() for p in model.parameters()))
    clipping.remove_hooks()
    _loss_and_backward(model, _records(4, 0), chunk=9)
    assert clipping.norms().shape == (0,)


@pytest.mark.parametrize("steps", [1, 3, 40])
def test_norms_from_products_equal_norms_of_the_formed_gradients(steps: int) -> None:
    """Both ways of taking ‖Σ_t g_t a_tᵀ‖² (T×T products, or the formed matrix) agree."""
    gen = torch.Generator().manual_seed(steps)
    g, a = torch.randn(5, steps, 7, generator=gen), torch.randn(5, steps, 4, generator=gen)
    formed = torch.einsum("btp,btq->bpq", g, a).square().sum((1, 2))
    torch.testing.assert_close(_pair_norms(g, a), formed, rtol=1e-4, atol=1e-5)


def _models_and_batches():
    torch.manual_seed(7)
    text = RecordLSTM(ModelShape(VOCAB, 6, 8, 2, 0.0))
    text_rows = _records(5, 3)
    # tied positions: a shared head used at several positions, and a position embedding
    table = TableLSTM(TableShape((3, 4, 4, 4), 6, 8, 1, 0.0, tied=(0, 1, 1, 1)))
    table_rows = torch.cat([torch.zeros(5, 1, dtype=torch.long), torch.randint(0, 3, (5, 4))], 1)
    return [(text, text_rows), (table, table_rows)]


@pytest.mark.parametrize("index", [0, 1], ids=["text", "table"])
def test_each_records_norm_and_the_unclipped_sum_are_autograds(index: int) -> None:
    """For synthloom's models the recorded per-record norms are those of each record's
    gradient on its own, and with a clip no record reaches, the released sum is
    autograd's gradient of the batch: no use of a weight goes unrecorded."""
    model, batch = _models_and_batches()[index]
    swap_lstm(model, private=True)
    model.train()

    def backward(rows: torch.Tensor) -> None:
        model.loss_terms(rows[:, :-1], rows[:, 1:], None, 0).loss.backward()

    alone = []
    for row in batch:
        model.zero_grad()
        backward(row[None])
        alone.append(_flat(p.grad for p in model.parameters()))
    model.zero_grad()
    backward(batch)
    whole = _flat(p.grad for p in model.parameters())
    clipping = PerRecordClipping(model)
    backward(batch)
    norms = clipping.norms()
    torch.testing.assert_close(norms, torch.stack([g.norm() for g in alone]), rtol=1e-4, atol=1e-6)
    summed = clipping.clipped_sum(1e6)
    released = _flat(summed.get(p, torch.zeros_like(p)) for p in model.parameters())
    torch.testing.assert_close(released, whole, rtol=1e-4, atol=1e-6)


def test_nn_lstm_is_refused() -> None:
    model = TinyModel(dp=False)
    with pytest.raises(ValueError, match=r"layer 'lstm' .*PrivateLSTM"):
        make_private(
            model,
            torch.optim.SGD(model.parameters(), lr=0.1),
            noise_multiplier=1.0,
            max_grad_norm=1.0,
            expected_batch_size=4,
        )


def test_clipping_bounds_each_records_contribution() -> None:
    torch.manual_seed(2)
    model, clip = TinyModel(), 0.05
    batch = _records(6, 1)
    reference = [_reference_gradient(model, record) for record in batch]
    assert min(g.norm() for g in reference) > clip  # every record is clipped here
    # the summed clipped gradient is Σ clip(gᵢ), each record clipped once over all chunks
    expected = sum(g * min(1.0, clip / float(g.norm())) for g in reference)
    torch.testing.assert_close(
        _private_gradient(model, batch, clip), expected, rtol=1e-3, atol=1e-6
    )
    for record in batch:
        assert float(_private_gradient(model, record[None], clip).norm()) <= clip * (1 + 1e-4)
    # neighbouring datasets: remove one record (≤ clip), replace one record (≤ 2·clip)
    full = _private_gradient(model, batch, clip)
    removed = _private_gradient(model, batch[1:], clip)
    replaced = _private_gradient(model, torch.cat([_records(1, 99), batch[1:]]), clip)
    assert float((full - removed).norm()) <= clip * (1 + 1e-4)
    assert float((full - replaced).norm()) <= 2 * clip * (1 + 1e-4)


def test_a_record_trained_in_chunks_is_clipped_once() -> None:
    torch.manual_seed(3)
    model, clip = TinyModel(), 0.05
    record = _records(6, 1)[5:]  # the longest record: 8 targets, 3 chunks of 3
    chunked = _private_gradient(model, record, clip, chunk=3)
    reference = _reference_gradient(model, record[0], chunk=3)  # truncated BPTT, 3 passes
    assert float(reference.norm()) > clip
    torch.testing.assert_close(chunked, reference * clip / reference.norm(), rtol=1e-3, atol=1e-7)


def test_noise_has_the_stated_scale_and_empty_batches_still_step() -> None:
    torch.manual_seed(4)
    model, ledger = TinyModel(), PrivacyLedger()
    _, optimizer = make_private(
        model,
        torch.optim.SGD(model.parameters(), lr=1.0),
        noise_multiplier=2.0,
        max_grad_norm=0.5,
        expected_batch_size=10,
        ledger=ledger,
        sample_rate=0.1,
    )
    before = _flat(p.detach().clone() for p in model.parameters())
    optimizer.noise_step()
    update = before - _flat(p.detach() for p in model.parameters())
    # pure noise: std σ·C / expected batch size per coordinate
    assert float(update.std()) == pytest.approx(2.0 * 0.5 / 10, rel=0.1)
    assert abs(float(update.mean())) < 0.02
    optimizer.zero_grad()
    _loss_and_backward(model, _records(3, 5), chunk=4)
    optimizer.step()
    assert ledger.history == [(2.0, 0.1, 2)]


def test_poisson_batches_average_q_n_and_include_empty_ones() -> None:
    rng = np.random.default_rng(0)
    sizes = [len(b) for _ in range(40) for b in poisson_batches(1000, 0.05, rng)]
    assert len(sizes) == 40 * 20
    assert np.mean(sizes) == pytest.approx(50, rel=0.03)
    assert np.std(sizes) == pytest.approx(np.sqrt(1000 * 0.05 * 0.95), rel=0.15)
    batch = next(poisson_batches(1000, 0.05, rng))
    assert np.all(np.diff(batch) > 0) and batch.max() < 1000
    tiny = list(poisson_batches(30, 0.01, rng))
    assert len(tiny) == 100 and any(len(b) == 0 for b in tiny)


@pytest.mark.parametrize("kind", ["text", "table"])
def test_synthloom_models_train_privately_with_a_private_lstm(kind: str) -> None:
    torch.manual_seed(5)
    if kind == "text":
        model = RecordLSTM(ModelShape(VOCAB, 6, 8, 2, 0.1))
        batch = _records(5, 2)
    else:
        model = TableLSTM(TableShape((3, 4, 5), 6, 8, 1, 0.0))
        batch = torch.stack([torch.zeros(5, dtype=torch.long), *(torch.arange(5) % 3,) * 3], 1)
    swap_lstm(model, private=True)
    clipping, optimizer = make_private(
        model,
        torch.optim.Adam(model.parameters()),
        noise_multiplier=1.0,
        max_grad_norm=1.0,
        expected_batch_size=5,
    )
    terms = model.loss_terms(batch[:, :-1], batch[:, 1:], None, 0)  # Σ of per-record sums
    terms.loss.backward()
    before = _flat(p.detach().clone() for p in model.parameters())
    optimizer.step()
    assert not torch.equal(before, _flat(p.detach() for p in model.parameters()))
    clipping.remove_hooks()
    swap_lstm(model, private=False)  # back to nn.LSTM for sampling, weights kept
    assert isinstance(model.lstm, nn.LSTM)
    fresh = RecordLSTM(model.shape) if kind == "text" else TableLSTM(model.shape)
    fresh.load_state_dict(model.state_dict(), strict=True)


def test_privacy_randomness_ignores_every_seed() -> None:
    torch.manual_seed(0)
    np.random.seed(0)
    first = secure_generator(), secure_rng()
    torch.manual_seed(0)
    np.random.seed(0)
    second = secure_generator(), secure_rng()
    a = torch.randn(8, generator=first[0])
    assert not torch.equal(a, torch.randn(8, generator=second[0]))
    assert not np.array_equal(first[1].random(8), second[1].random(8))
