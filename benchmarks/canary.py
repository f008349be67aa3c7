"""Canary exposure: does DP-SGD keep a model from memorizing a secret it saw?

Usage: python benchmarks/canary.py [--records 1000] [--repeats 1] [--epsilon 5] [--epochs 8]
                                   [--runs 3]

Puts a canary record ("my secret code is 493817") ``--repeats`` times among real fortunes,
trains synthloom's text model twice through its public API (``TextSynthesizer``, byte
tokens so both runs have the same vocabulary), without DP and with ``dp: true`` at
``--epsilon``, and ranks the canary's secret among random codes of the same format by the
model's likelihood. Exposure (Carlini et al., "The Secret Sharer") = log2(candidates + 1) −
log2(rank): about 0 when the canary is as likely as any random code, up to
log2(candidates + 1) when it ranks first. Candidates are drawn uniformly over the whole code
space (10⁶ six-digit codes). Each setting is trained ``--runs`` times (seeds 0, 1, …; under
DP the noise comes from OS entropy anyway) and prints ε, δ and the exposure's mean, standard
deviation and range.
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
from synthloom.synthesizers.text import TextSynthesizer

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
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    lines = _fortunes(args.records) + [PREFIX + SECRET] * args.repeats
    print(f"{len(lines)} records, canary ×{args.repeats}, {args.epochs} epochs, {args.runs} runs")
    for dp in (False, True):
        start = time.perf_counter()
        exposures, privacy = [], ""
        for run in range(args.runs):
            model, privacy = _train(lines, args, dp, seed=run)
            exposures.append(_exposure(model, args.candidates, seed=run))
        seconds = (time.perf_counter() - start) / args.runs
        e = np.array(exposures)
        print(
            f"{'DP-SGD' if dp else 'no DP ':6}  {privacy:32}  exposure {e.mean():5.2f} ± "
            f"{e.std(ddof=1) if len(e) > 1 else 0:4.2f} bits (min {e.min():.2f}, max "
            f"{e.max():.2f}; ceiling {math.log2(args.candidates + 1):.2f})  {seconds:6.1f} s/run"
        )


def _fortunes(n: int) -> list[str]:
    path = FORTUNES if FORTUNES.exists() else SAMPLE
    lines = [t for t in path.read_text(encoding="utf-8").splitlines() if 0 < len(t) <= 80]
    return lines[:n]


def _train(
    lines: list[str], args: argparse.Namespace, dp: bool, seed: int
) -> tuple[RecordModel, str]:
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
        seed=seed,
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
def _exposure(trained: RecordModel, n_candidates: int, seed: int) -> float:
    """log2(n + 1) - log2(rank of the secret among n random codes, by likelihood)."""
    model, tokenizer = trained.network.eval(), trained.tokenizer
    rng = np.random.default_rng(1000 + seed)
    drawn = rng.choice(10**6, n_candidates + 1, replace=False)  # uniform, no repeats
    codes = [f"{c:06d}" for c in drawn if f"{c:06d}" != SECRET][:n_candidates]
    texts = [PREFIX + code for code in [SECRET, *codes]]
    batch = torch.tensor([[BOS, *tokenizer.encode(t), EOR] for t in texts])
    losses = _record_losses(model, batch)  # equal lengths: mean loss ranks like the sum
    rank = 1 + int((losses[1:] < losses[0]).sum())
    return math.log2(len(texts)) - math.log2(rank)


if __name__ == "__main__":
    main()
