"""DP-SGD's cost per epoch against plain training: Adult, the same network and batch.

Usage: python benchmarks/dp_epoch.py [--batch-size 1024] [--epochs 2] [--layers 1] [--profile]
Trains plain, then with DP (ε 4, δ 1e-6), for the same epochs on the whole adult.csv and
prints seconds per epoch of each and their ratio (issue 31: DP per-epoch cost ≤ 3× plain);
``--profile`` adds the DP run's 25 costliest functions (cProfile, own time).
"""

from __future__ import annotations

import argparse
import cProfile
import logging
import pstats
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from synthloom.synthesizers.table import TableSynthesizer  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "tabular"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--layers", type=int, default=1)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    common = {
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "rnn_layers": args.layers,
        "learning_rate": 0.01,
        "early_stopping": False,
        "validation_split": False,
        "seed": 0,
    }
    per_epoch, profile = {}, cProfile.Profile()
    for name, extra in [("plain", {}), ("DP", {"dp": True, "dp_epsilon": 4.0, "dp_delta": 1e-6})]:
        synth = TableSynthesizer(**common, **extra)
        if name == "DP" and args.profile:
            profile.enable()
        synth.fit(DATA / "adult.csv", Path(tempfile.mkdtemp()) / name)
        profile.disable()
        result = synth.training_result_
        assert result is not None
        per_epoch[name] = result.seconds / max(len(result.history), 1)
        print(f"{name:5s} {per_epoch[name]:6.2f} s/epoch over {len(result.history)} epochs")
    print(f"dp_overhead_per_epoch: {per_epoch['DP'] / per_epoch['plain']:.2f}x")
    if args.profile:
        pstats.Stats(profile).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
