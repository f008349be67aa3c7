"""DP benchmark on Adult: quality and privacy at several ε, and DP-SGD's cost.

Usage: python benchmarks/dp.py [--epsilons 1,4,10] [--epochs 12] [--time-cap 300] [--delta D]
                               [--set PARAM=VALUE ...]
Each run trains on the whole adult.csv (the same epochs, batch and network; DP runs may
stop earlier at the budget or the time cap), generates 5,000 rows and scores them against
adult_test.csv: TVD accuracy (mostlyai-qa's definition), DCR share and a distance-based
membership-inference attack (its AUC and the ε lower bound it implies, at the run's δ).
The overhead is DP training's seconds per epoch over plain training's. ε and δ are the
run's totals (DP-SGD plus the count, kind and vocabulary releases). Goal (issues 11, 31):
accuracy ≥ 0.95 at total ε ≤ 4 with δ ≤ 1e-6 in ≤ 600 s.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import yaml

from synthloom.io.tables import read_table
from synthloom.report.attacks import membership_attack
from synthloom.report.metrics import dcr, tvd_accuracy
from synthloom.report.privacy import knn_privacy
from synthloom.synthesizers.table import TableSynthesizer

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "tabular"


def run(epsilon: float | None, args: argparse.Namespace) -> dict[str, float]:
    """Train (with DP at ``epsilon``, or without), generate and score."""
    options = {
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "learning_rate": args.learning_rate,
        "early_stopping": False,
        "max_training_time_seconds": args.time_cap,
        "seed": 0,
        **args.chosen,
    }
    if epsilon is not None:
        options.update(dp=True, dp_epsilon=epsilon, dp_l2_norm_clip=args.clip)
        if args.delta is not None:
            options.update(dp_delta=args.delta)
    synth = TableSynthesizer(**options)
    model_dir = Path(tempfile.mkdtemp()) / "adult"
    start = time.perf_counter()
    synth.fit(DATA / "adult.csv", model_dir)
    seconds = time.perf_counter() - start
    result = synth.training_result_
    assert result is not None
    synthetic = synth.generate(args.records, seed=1)
    train, _ = read_table(DATA / "adult.csv")
    holdout, _ = read_table(DATA / "adult_test.csv")
    summary = json.loads((model_dir / "training_summary.json").read_text())
    knn = knn_privacy(train, synthetic, holdout, list(train.columns), 10_000, 0)
    attack = membership_attack(
        knn.member_d_synthetic, knn.non_member_d_synthetic, summary["delta"] or 0.0
    )
    assert attack is not None
    return {
        "epsilon": summary["epsilon"] if epsilon is not None else float("inf"),
        "delta": summary["delta"] or 0.0,
        "epochs": len(result.history),
        "seconds": seconds,
        "seconds_per_epoch": result.seconds / max(len(result.history), 1),
        "accuracy": tvd_accuracy(holdout, synthetic).overall,
        "dcr_share": dcr(train, holdout, synthetic).dcr_share,
        "stop": result.stop_reason,
        "attack": attack,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    # the library's DP table defaults (synthesizers/base.py), for the plain run too
    parser.add_argument("--epsilons", default="1,4,10")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--learning-rate", type=float, default=0.01)
    parser.add_argument("--clip", type=float, default=1.0)
    parser.add_argument("--time-cap", type=float, default=300.0)
    parser.add_argument("--records", type=int, default=5000)
    parser.add_argument(
        "--delta", type=float, default=None, help="dp_delta (default: min(1/(10n), 1e-6))"
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="PARAM=VALUE",
        help="a params option (YAML value) for every run, e.g. --set rnn_layers=1; repeatable",
    )
    args = parser.parse_args()
    args.chosen = {k: yaml.safe_load(v) for k, v in (item.split("=", 1) for item in args.set)}

    plain = run(None, args)
    rows = [("no DP", plain)]
    for epsilon in (float(e) for e in args.epsilons.split(",")):
        rows.append((f"ε={epsilon:g}", run(epsilon, args)))
    print("run      ε spent  δ         epochs  train_s  s/epoch  accuracy  dcr_share  stop")
    for name, r in rows:
        print(
            f"{name:8s} {r['epsilon']:7.3f}  {r['delta']:.2e}  {r['epochs']:6d}  "
            f"{r['seconds']:7.1f}  {r['seconds_per_epoch']:7.1f}  {r['accuracy']:.4f}    "
            f"{r['dcr_share']:.3f}      {r['stop']}"
        )
    print("membership inference (distance attack; members: adult.csv, non-members: test):")
    for name, r in rows:
        a = r["attack"]
        print(
            f"  {name:8s} auc {a.auc:.3f} (95% {a.auc_low:.3f}-{a.auc_high:.3f}), "
            f"empirical epsilon lower bound {a.epsilon_lower_bound:.2f} at delta {a.delta:.0e}"
        )
    for name, r in rows[1:]:
        overhead = r["seconds_per_epoch"] / plain["seconds_per_epoch"]
        print(f"dp_overhead_per_epoch {name}: {overhead:.2f}x")


if __name__ == "__main__":
    main()
