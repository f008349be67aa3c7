"""Text LSTM benchmark: training tokens/s, generation records/s, peak RSS, copy share.

Usage: python benchmarks/text_lstm.py [--data ../shared/data/text/fortunes.txt] [--time-cap 240]
Prints one figure per line. The anchor (TARGETS.md): gretel-synthetics' TensorFlow LSTM,
char model, 256 units, trained 279 s and generated 8.6 lines/s on the same 2-core machine.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from synthloom import TextSynthesizer
from synthloom.io.text import read_text_records

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "text" / "fortunes.txt"


def peak_rss_mb() -> float:
    """Peak resident memory of this process and its finished children, in MB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, kids) / 1024


def time_generation(
    synth: TextSynthesizer, n: int, batch: int, workers: int
) -> tuple[float, list[str]]:
    start = time.perf_counter()
    texts = [
        r.text
        for r in synth.generate(
            n, predict_batch_size=batch, parallelism=workers, seed=1, max_invalid=10 * n
        )
        if r.valid
    ]
    return n / (time.perf_counter() - start), texts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--time-cap", type=float, default=240.0)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--gen-records", type=int, default=1000)
    parser.add_argument("--batches", default="64,256,1024")
    parser.add_argument("--model-dir", type=Path, default=None)
    args = parser.parse_args()

    records = read_text_records(args.data)
    model_dir = args.model_dir or Path(tempfile.mkdtemp()) / "model"
    synth = TextSynthesizer(
        vocab_size=0,
        rnn_units=256,
        embedding_dim=256,
        rnn_layers=2,
        batch_size=args.batch_size,
        epochs=args.epochs,
        validation_split=True,
        max_training_time_seconds=args.time_cap,
        seed=0,
    )
    synth.fit(records, model_dir, overwrite=True)
    result = synth.training_result_
    assert result is not None
    best = next(s for s in result.history if s.epoch == result.best_epoch)
    print(f"records: {len(records)}")
    print(f"train_seconds: {result.seconds:.1f}")
    print(f"epochs: {len(result.history)} (stop: {result.stop_reason})")
    print(f"train_tokens_per_second: {result.tokens_per_second:,.0f}")
    print(f"best_val_loss_nats_per_token: {best.val_loss:.4f}")
    print(f"best_val_accuracy: {best.val_accuracy:.4f}")

    training = set(records)
    for batch in [int(b) for b in args.batches.split(",")]:
        for workers in (1, 2):
            rate, texts = time_generation(synth, args.gen_records, batch, workers)
            copies = sum(t in training for t in texts) / len(texts)
            print(
                f"generate batch={batch} workers={workers}: {rate:,.1f} records/s "
                f"(x{rate / 8.6:.0f} vs gretel 8.6), copies of training lines {copies:.3f}"
            )
    print(f"peak_rss_mb: {peak_rss_mb():,.0f}")


if __name__ == "__main__":
    main()
