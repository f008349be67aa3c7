"""Batched sampling with a scripted network: counts, prefixes, caps, bans, temperature."""

from __future__ import annotations

import torch
from torch import nn

from synthloom.encoding.tokenizers import BOS, EOR, PAD
from synthloom.lstm.sample import RecordSampler

VOCAB = 12
BIG = 50.0


class Scripted(nn.Module):
    """Next-token logits fixed by the last input token (``table[token]``). The state (a
    step count) has an LSTM state's shape, so the sampler can expand, refill and drop it."""

    def __init__(self, table: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("table", table)

    def forward(
        self, tokens: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        if state is None:
            zero = torch.zeros(1, tokens.shape[0], 1)
            state = (zero, zero.clone())
        steps = state[0] + tokens.shape[1]
        return self.table[tokens], (steps, state[1].clone())  # fresh, as an LSTM gives


def _chain() -> torch.Tensor:
    """<bos> → 4 → 5 → 6 → <eor>; after 7: 8 → <eor>. Deterministic at any temperature ≤ 1."""
    table = torch.zeros(VOCAB, VOCAB)
    for here, after in {BOS: 4, 4: 5, 5: 6, 6: EOR, 7: 8, 8: EOR}.items():
        table[here, after] = BIG
    return table


def _sampler(table: torch.Tensor, banned: list[int], max_tokens: int = 20) -> RecordSampler:
    return RecordSampler(Scripted(table), torch.device("cpu"), banned, max_tokens)


def test_exactly_n_records_whatever_the_batch_size() -> None:
    sampler = _sampler(_chain(), [PAD, BOS])
    for n_records, batch_size in [(1, 8), (7, 2), (33, 4), (50, 64)]:
        records = sampler.sample(n_records, batch_size, 1.0, torch.Generator().manual_seed(0))
        assert len(records) == n_records
        # a refilled slot starts again from <bos> (after <eor> every token is equally likely)
        assert all(r.ids == [4, 5, 6] and r.complete for r in records)


def test_prefix_is_fed_but_not_returned() -> None:
    records = _sampler(_chain(), [PAD, BOS]).sample(
        3, 2, 1.0, torch.Generator().manual_seed(0), prefix=[7]
    )
    assert [r.ids for r in records] == [[8]] * 3


def test_length_cap_marks_records_incomplete() -> None:
    table = torch.zeros(VOCAB, VOCAB)
    table[:, 9] = BIG  # always 9, never <eor>
    records = _sampler(table, [PAD, BOS], max_tokens=6).sample(
        5, 3, 1.0, torch.Generator().manual_seed(0)
    )
    assert len(records) == 5
    assert all(r.ids == [9] * 6 and not r.complete for r in records)


def test_banned_tokens_are_never_drawn_even_when_most_likely() -> None:
    table = torch.zeros(VOCAB, VOCAB)
    table[:, 10] = BIG  # the favourite, but banned
    table[:, EOR] = 1.0
    records = _sampler(table, [PAD, BOS, 10], max_tokens=30).sample(
        200, 16, 1.0, torch.Generator().manual_seed(1)
    )
    drawn = {t for r in records for t in r.ids}
    assert 10 not in drawn and PAD not in drawn and BOS not in drawn
    assert drawn  # other tokens were drawn instead
    assert all(r.complete for r in records)


def test_same_generator_seed_same_records_and_temperature_flattens() -> None:
    table = torch.zeros(VOCAB, VOCAB)
    table[:, 4] = 2.0  # token 4 is e² ≈ 7.4 times as likely as each other token
    table[:, EOR] = 0.5
    sampler = _sampler(table, [PAD, BOS], max_tokens=10)

    def run(seed: int, temperature: float) -> list[list[int]]:
        generator = torch.Generator().manual_seed(seed)
        return [r.ids for r in sampler.sample(300, 32, temperature, generator)]

    assert run(3, 1.0) == run(3, 1.0)
    assert run(3, 1.0) != run(4, 1.0)

    def share_of_four(ids: list[list[int]]) -> float:
        tokens = [t for record in ids for t in record]
        return sum(t == 4 for t in tokens) / len(tokens)

    cold, warm = share_of_four(run(5, 0.5)), share_of_four(run(5, 5.0))
    assert cold > 0.8 > 0.3 > warm  # low temperature sharpens, high flattens
