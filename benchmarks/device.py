"""CPU against CUDA on one machine: Adult trained under the same cap on each device.

Usage: python benchmarks/device.py [--time-cap 30] [--devices cpu,cuda] [--dp-rows 5000]
For each device prints training tokens/s, epochs, TVD accuracy against adult_test.csv
and generated records/s; with --dp-rows, also a DP fit (opacus) on that many rows.
Needs ../shared/data/tabular (adult.csv, adult_test.csv) and, for cuda, a visible GPU.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd
import torch

from synthloom.io.tables import read_table
from synthloom.report.metrics import tvd_accuracy
from synthloom.synthesizers.table import TableSynthesizer

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "tabular"


def run(
    device: str, cap: float, train: pd.DataFrame, holdout: pd.DataFrame, **options: object
) -> str:
    """Fit, generate 5,000 records and score them: one line of figures."""
    synth = TableSynthesizer(
        max_training_time_seconds=cap, epochs=100, seed=0, device=device, **options
    )
    start = time.perf_counter()
    synth.fit(train, Path(tempfile.mkdtemp()) / "adult")
    fit_seconds = time.perf_counter() - start
    result = synth.training_result_
    assert result is not None
    synth.generate(500, seed=1)  # warm the sampler (CUDA kernels, caches)
    start = time.perf_counter()
    synthetic = synth.generate(5000, seed=2)
    gen_rate = 5000 / (time.perf_counter() - start)
    accuracy = tvd_accuracy(holdout, synthetic).overall
    return (
        f"fit {fit_seconds:.1f} s, epochs {len(result.history)} ({result.stop_reason}), "
        f"tokens/s {result.tokens_per_second:,.0f}, TVD {accuracy:.4f}, "
        f"generate {gen_rate:,.0f} records/s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--time-cap", type=float, default=30.0)
    parser.add_argument("--devices", default="cpu,cuda")
    parser.add_argument("--batch-sizes", default="", help="extra batch sizes to try on cuda")
    parser.add_argument("--dp-rows", type=int, default=0)
    args = parser.parse_args()
    threads = torch.get_num_threads()
    train, _ = read_table(DATA / "adult.csv")
    holdout, _ = read_table(DATA / "adult_test.csv")
    cap = args.time_cap
    for device in args.devices.split(","):
        print(f"{device} (torch threads {threads}): {run(device, cap, train, holdout)}", flush=True)
        for size in filter(None, args.batch_sizes.split(",")):
            line = run(device, cap, train, holdout, batch_size=int(size))
            print(f"{device} batch_size {size}: {line}", flush=True)
        if args.dp_rows:
            few = train.head(args.dp_rows)
            line = run(device, cap, few, holdout, dp=True, dp_epsilon=5.0)
            print(f"{device} DP (ε 5, {args.dp_rows} rows): {line}", flush=True)


if __name__ == "__main__":
    main()
