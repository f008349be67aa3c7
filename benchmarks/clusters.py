"""Column clusters: how much cross-cluster correlation survives, against a naive join.

Usage: python benchmarks/clusters.py [--cluster-size 6] [--time-cap 90 | --epochs N] [--ray CPUS]
Trains on Adult split into clusters (field_cluster_size; with --ray, each cluster a task on
a local Ray runtime of CPUS CPUs, started before the clock), generates 5,000 rows and scores
the column pairs that two different clusters generate (bivariate TVD accuracy against
adult_test.csv). The naive independent join is the same output with each later cluster's
columns shuffled apart from the rest, i.e. clusters generated without anchors.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from synthloom.io.tables import read_table
from synthloom.report.metrics import tvd_accuracy
from synthloom.scale import RayExecutor
from synthloom.synthesizers.table import TableSynthesizer

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "tabular"


def cross_pairs(accuracy: dict, owner: dict[str, int]) -> float:
    values = [v for (a, b), v in accuracy.items() if owner[a] != owner[b]]
    return float(np.mean(values))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cluster-size", type=int, default=6)
    parser.add_argument("--time-cap", type=float, default=90.0)
    parser.add_argument("--ray", type=int, default=0, help="CPUs of a local Ray runtime")
    parser.add_argument("--epochs", type=int, default=0, help="fixed epochs, no time cap")
    args = parser.parse_args()
    if args.ray:
        import ray

        ray.init(num_cpus=args.ray, include_dashboard=False, log_to_driver=False)
    holdout, _ = read_table(DATA / "adult_test.csv")
    synth = TableSynthesizer(
        field_cluster_size=args.cluster_size,
        validation_split=True,
        max_training_time_seconds=None if args.epochs else args.time_cap,
        seed=0,
        **({"epochs": args.epochs, "early_stopping": False} if args.epochs else {}),
    )
    model_dir = Path(tempfile.mkdtemp()) / "m"
    start = time.monotonic()
    synth.fit(DATA / "adult.csv", model_dir, executor=RayExecutor("auto") if args.ray else None)
    print(f"fit: {time.monotonic() - start:.1f} s wall ({'Ray' if args.ray else 'local'})")
    out = synth.generate(5000, seed=1)
    owner = {c: i for i, cl in enumerate(synth.clusters_) for c in cl.columns}
    rng = np.random.default_rng(0)
    naive = out.copy()
    for cluster in synth.clusters_[1:]:
        naive[cluster.columns] = out[cluster.columns].iloc[rng.permutation(len(out))].to_numpy()
    ours = tvd_accuracy(holdout, out)
    join = tvd_accuracy(holdout, naive)
    for i, cluster in enumerate(synth.clusters_):
        history = model_dir / (f"cluster_{i}" if i else ".") / "history.csv"
        epochs = len(history.read_text().splitlines()) - 1
        print(f"cluster {i}: {cluster.columns} anchors {cluster.anchors}; {epochs} epochs")
    print(f"cross_cluster_bivariate_accuracy_anchored: {cross_pairs(ours.bivariate, owner):.4f}")
    print(f"cross_cluster_bivariate_accuracy_naive_join: {cross_pairs(join.bivariate, owner):.4f}")
    print(f"overall_accuracy_anchored: {ours.overall:.4f}  naive_join: {join.overall:.4f}")


if __name__ == "__main__":
    main()
