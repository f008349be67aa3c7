"""Canary exposure: does DP-SGD keep a model from memorizing a secret it saw a few times?

Usage: python benchmarks/canary.py [--records 1000] [--repeats 20] [--epsilon 3] [--epochs 4]

Puts a canary record ("my secret code is 493817") ``--repeats`` times among real fortunes,
trains the same small byte-level LSTM twice, without DP and with DP-SGD at ``--epsilon``
(synthloom.privacy: Poisson sampling, per-record clipping, solved noise, RDP ledger), and
ranks the canary's secret among random codes of the same format by the model's likelihood.
Exposure (Carlini et al., "The Secret Sharer") = log2(candidates + 1) - log2(rank): about 0
when the canary is as likely as any random code, up to log2(candidates + 1) when it ranks
first. Prints ε, δ and exposure for both runs. With the defaults (2 shared CPU cores, about
2 minutes): no DP 10.97 bits of 10.97 (the secret ranks first), DP-SGD at ε = 3 1.39 bits.
"""

from __future__ import annotations

import argparse
import math
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from synthloom.encoding.tokenizers import BOS, EOR, PAD, ByteTokenizer
from synthloom.lstm.model import ModelShape, RecordLSTM
from synthloom.privacy.accounting import PrivacyLedger, plan_dp_sgd
from synthloom.privacy.engine import dp_lstm, make_private, plain_state_dict, poisson_batches

ROOT = Path(__file__).resolve().parents[1]
FORTUNES = ROOT.parent / "shared" / "data" / "text" / "fortunes.txt"
SAMPLE = ROOT / "synthloom" / "data" / "fortunes_sample.txt"
PREFIX, SECRET = "my secret code is ", "493817"
TOKENIZER = ByteTokenizer()
# opacus' hooks on the embedding fire with no input needing a gradient: harmless.
warnings.filterwarnings("ignore", message="Full backward hook is firing")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--epsilon", type=float, default=3.0)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--candidates", type=int, default=2000)
    args = parser.parse_args()
    torch.manual_seed(0)
    lines = _fortunes(args.records) + [PREFIX + SECRET] * args.repeats
    records = [torch.tensor([BOS, *TOKENIZER.encode(t), EOR]) for t in lines]
    shape = ModelShape(TOKENIZER.vocab_size, 32, 128, 1, 0.0)
    print(f"{len(records)} records, canary ×{args.repeats}, {args.epochs} epochs")
    for dp in (False, True):
        start = time.perf_counter()
        model, privacy = _train_dp(records, shape, args) if dp else _train(records, shape, args)
        exposure = _exposure(model, args.candidates)
        seconds = time.perf_counter() - start
        print(
            f"{'DP-SGD' if dp else 'no DP ':6}  {privacy:32}  exposure {exposure:5.2f} bits "
            f"(max {math.log2(args.candidates + 1):.2f})  {seconds:6.1f} s"
        )


def _fortunes(n: int) -> list[str]:
    path = FORTUNES if FORTUNES.exists() else SAMPLE
    lines = [t for t in path.read_text(encoding="utf-8").splitlines() if 0 < len(t) <= 80]
    return lines[:n]


def _record_losses(model: nn.Module, batch: torch.Tensor) -> torch.Tensor:
    """Each record's mean token loss (depends on that record only)."""
    logits, _ = model(batch[:, :-1])
    targets = batch[:, 1:]
    token = nn.functional.cross_entropy(
        logits.transpose(1, 2), targets, ignore_index=PAD, reduction="none"
    )
    return token.sum(1) / (targets != PAD).sum(1).clamp(min=1)


def _pad(records: list[torch.Tensor], index: np.ndarray) -> torch.Tensor:
    return nn.utils.rnn.pad_sequence(
        [records[i] for i in index], batch_first=True, padding_value=PAD
    )


def _train(records: list[torch.Tensor], shape: ModelShape, args) -> tuple[nn.Module, str]:
    model = RecordLSTM(shape)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.005)
    rng = np.random.default_rng(0)
    for _ in range(args.epochs):
        order = rng.permutation(len(records))
        for lo in range(0, len(order), args.batch_size):
            optimizer.zero_grad()
            _record_losses(model, _pad(records, order[lo : lo + args.batch_size])).mean().backward()
            optimizer.step()
    return model, "ε = ∞"


def _train_dp(records: list[torch.Tensor], shape: ModelShape, args) -> tuple[nn.Module, str]:
    plan = plan_dp_sgd(
        n_records=len(records),
        batch_size=args.batch_size,
        epochs=args.epochs,
        target_epsilon=args.epsilon,
    )
    model = RecordLSTM(shape)
    model.lstm = dp_lstm(shape.embedding_dim, shape.rnn_units, shape.rnn_layers)
    ledger = PrivacyLedger()
    _, optimizer = make_private(
        model,
        torch.optim.Adam(model.parameters(), lr=0.005),
        noise_multiplier=plan.noise_multiplier,
        max_grad_norm=1.0,
        expected_batch_size=plan.expected_batch_size,
        ledger=ledger,
        sample_rate=plan.sample_rate,
    )
    rng = np.random.default_rng(0)
    for _ in range(plan.epochs):
        for batch in poisson_batches(len(records), plan.sample_rate, rng):
            optimizer.zero_grad()
            if not len(batch):
                optimizer.noise_step()
                continue
            _record_losses(model, _pad(records, batch)).sum().backward()
            optimizer.step()
    eps, order = ledger.epsilon(plan.delta)
    spent = f"ε = {eps:.2f} at order {order:g}"
    plain = RecordLSTM(shape)
    plain.load_state_dict(plain_state_dict(model))
    return plain, f"{spent} (δ = {plan.delta:.1e}, σ = {plan.noise_multiplier:.2f})"


@torch.no_grad()
def _exposure(model: nn.Module, n_candidates: int) -> float:
    """log2(n + 1) - log2(rank of the secret among n random codes, by likelihood)."""
    model.eval()
    rng = np.random.default_rng(1)
    codes = {f"{c:06d}" for c in rng.integers(0, 10**6, n_candidates * 2)} - {SECRET}
    texts = [PREFIX + code for code in [SECRET, *sorted(codes)[:n_candidates]]]
    batch = torch.tensor([[BOS, *TOKENIZER.encode(t), EOR] for t in texts])
    losses = _record_losses(model, batch)  # equal lengths: mean loss ranks like the sum
    rank = 1 + int((losses[1:] < losses[0]).sum())
    return math.log2(len(texts)) - math.log2(rank)


if __name__ == "__main__":
    main()
