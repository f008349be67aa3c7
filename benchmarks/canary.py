"""Canary exposure: does DP-SGD keep a model from memorizing a secret it saw?

Usage: python benchmarks/canary.py [--records 1000] [--repeats 1] [--epsilon 5] [--epochs 8]

Puts a canary record ("my secret code is 493817") ``--repeats`` times among real fortunes,
trains synthloom's text model twice through its public API (``TextSynthesizer``, byte
tokens so both runs have the same vocabulary), without DP and with ``dp: true`` at
``--epsilon``, and ranks the canary's secret among random codes of the same format by the
model's likelihood. Exposure (Carlini et al., "The Secret Sharer") = log2(candidates + 1) −
log2(rank): about 0 when the canary is as likely as any random code, up to
log2(candidates + 1) when it ranks first. Prints ε, δ and exposure for both runs.
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from synthloom.encoding.tokenizers import BOS, EOR, PAD
from synthloom.lstm.generate import RecordModel
from synthloom.text import TextSynthesizer

ROOT = Path(__file__).resolve().parents[1]
FORTUNES = ROOT.parent / "shared" / "data" / "text" / "fortunes.txt"
SAMPLE = ROOT / "synthloom" / "data" / "fortunes_sample.txt"
PREFIX, SECRET = "my secret code is ", "493817"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--epsilon", type=float, default=5.0)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--candidates", type=int, default=2000)
    args = parser.parse_args()
    lines = _fortunes(args.records) + [PREFIX + SECRET] * args.repeats
    print(f"{len(lines)} records, canary ×{args.repeats}, {args.epochs} epochs")
    for dp in (False, True):
        start = time.perf_counter()
        model, privacy = _train(lines, args, dp)
        exposure = _exposure(model, args.candidates)
        seconds = time.perf_counter() - start
        print(
            f"{'DP-SGD' if dp else 'no DP ':6}  {privacy:40}  exposure {exposure:5.2f} bits "
            f"(max {math.log2(args.candidates + 1):.2f})  {seconds:6.1f} s"
        )


def _fortunes(n: int) -> list[str]:
    path = FORTUNES if FORTUNES.exists() else SAMPLE
    lines = [t for t in path.read_text(encoding="utf-8").splitlines() if 0 < len(t) <= 80]
    return lines[:n]


def _train(lines: list[str], args: argparse.Namespace, dp: bool) -> tuple[RecordModel, str]:
    """Train through the public API (the same network with and without DP)."""
    options = dict(
        epochs=args.epochs,
        batch_size=args.batch_size,
        rnn_units=128,
        rnn_layers=1,
        embedding_dim=32,
        dropout_rate=0.0,
        learning_rate=0.005,
        early_stopping=False,
        vocab_size=0,  # characters; under DP public bytes
        seed=0,
    )
    if dp:
        options.update(dp=True, dp_epsilon=args.epsilon)
    synth = TextSynthesizer(**options)
    model_dir = Path(tempfile.mkdtemp()) / "canary"
    synth.fit(lines, model_dir)
    summary = json.loads((model_dir / "training_summary.json").read_text())
    assert synth._model is not None
    if not dp:
        return synth._model, "ε = ∞"
    return synth._model, f"ε = {summary['epsilon']:.2f}, δ = {summary['delta']:.1e}"


def _record_losses(model: nn.Module, batch: torch.Tensor) -> torch.Tensor:
    """Each record's mean token loss."""
    logits, _ = model(batch[:, :-1])
    targets = batch[:, 1:]
    token = nn.functional.cross_entropy(
        logits.transpose(1, 2), targets, ignore_index=PAD, reduction="none"
    )
    return token.sum(1) / (targets != PAD).sum(1).clamp(min=1)


@torch.no_grad()
def _exposure(trained: RecordModel, n_candidates: int) -> float:
    """log2(n + 1) - log2(rank of the secret among n random codes, by likelihood)."""
    model, tokenizer = trained.network.eval(), trained.tokenizer
    rng = np.random.default_rng(1)
    codes = {f"{c:06d}" for c in rng.integers(0, 10**6, n_candidates * 2)} - {SECRET}
    texts = [PREFIX + code for code in [SECRET, *sorted(codes)[:n_candidates]]]
    batch = torch.tensor([[BOS, *tokenizer.encode(t), EOR] for t in texts])
    losses = _record_losses(model, batch)  # equal lengths: mean loss ranks like the sum
    rank = 1 + int((losses[1:] < losses[0]).sum())
    return math.log2(len(texts)) - math.log2(rank)


if __name__ == "__main__":
    main()
