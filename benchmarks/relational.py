"""Relational benchmark on the Lahman database: People, Teams, TeamsFranchises (original),
Batting, Salaries (composite keys, two parents per child).

Prints train and generate time, referential integrity (must be 100%), the children-per-
parent KS complement of every foreign key, per-table TVD accuracy of the learned columns,
and the parent–child correlation score.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/relational.py                 # amplify, all rows
    python benchmarks/relational.py --engine lstm --epochs 3          # the LSTM per table
    python benchmarks/relational.py --num-records 5000                # fewer root rows
    python benchmarks/relational.py --ray 2       # tables trained as tasks on 2-CPU Ray
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAHMAN = ROOT.parent / "shared" / "data" / "relational" / "lahman"
sys.path.insert(0, str(ROOT))

from synthloom.relational import RelationalSynthesizer, read_database  # noqa: E402
from synthloom.relational.report_metrics import relational_scores  # noqa: E402
from synthloom.scale import RayExecutor  # noqa: E402

TABLES = ["People", "Teams", "TeamsFranchises", "Batting", "Salaries"]


def config(engine: str, epochs: int) -> dict:
    """Keys as listed in shared/data/README.md; TeamsFranchises copied as original."""
    by_player = {"columns": ["playerID"], "references": {"table": "People"}}
    by_team = {"columns": ["yearID", "teamID"], "references": {"table": "Teams"}}
    params: dict = {"seed": 0}
    if engine == "lstm":
        params.update(epochs=epochs, rnn_units=64, embedding_dim=16, rnn_layers=1)
    return {
        "engine": engine,
        "params": params,
        "include_tables": TABLES,
        "tables": {
            "People": {"primary_key": ["playerID"]},
            "TeamsFranchises": {"original": True, "primary_key": ["franchID"]},
            "Teams": {
                "primary_key": ["yearID", "teamID"],
                "foreign_keys": [
                    {"columns": ["franchID"], "references": {"table": "TeamsFranchises"}}
                ],
            },
            "Batting": {"foreign_keys": [by_player, by_team]},
            "Salaries": {"foreign_keys": [by_player, by_team]},
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=["amplify", "lstm"], default="amplify")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--num-records", type=int, default=None, help="People rows")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--ray", type=int, default=0, help="train on a local Ray runtime of this many CPUs"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    conf = config(args.engine, args.epochs)
    work = Path(tempfile.mkdtemp(prefix="synthloom-relational-"))
    try:
        ray = None
        if args.ray:
            import ray as ray_module

            ray_module.init(num_cpus=args.ray, include_dashboard=False, log_to_driver=False)
            ray = "auto"
        start = time.perf_counter()
        executor = RayExecutor(ray) if ray else None
        synth = RelationalSynthesizer(conf).fit(LAHMAN, work / "model", executor=executor)
        train_s = time.perf_counter() - start
        assert synth.schema is not None and synth.timeline_ is not None
        steps = [(e.table, e.seconds) for e in synth.timeline_.events if e.stage == "training"]
        schema, real = read_database(LAHMAN, conf)
        n = args.num_records or len(real["People"])
        start = time.perf_counter()
        synthetic = synth.generate(n, seed=args.seed)
        generate_s = time.perf_counter() - start
        scores = relational_scores(real, synthetic, schema)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"engine {args.engine}; Lahman {', '.join(TABLES)}; root People, {n:,} rows")
    print(f"train time     {train_s:8.1f} s")
    for table, seconds in steps:
        print(f"  training {table:16s} {seconds:6.1f} s")
    print(f"generate time  {generate_s:8.1f} s")
    print(f"referential integrity {100 * scores['referential_integrity']:.1f}%")
    print("rows (real → synthetic):")
    for name, rows in scores["tables"].items():
        print(f"  {name:16s} {rows['real_rows']:8,} → {rows['synthetic_rows']:8,}")
    print("children per parent (KS complement, mean real → synthetic):")
    for fk, c in scores["children_per_parent"].items():
        print(
            f"  {fk:34s} {c['ks_complement']:.3f}   {c['real_mean']:.2f} → "
            f"{c['synthetic_mean']:.2f}"
        )
    print("TVD accuracy of learned columns:")
    for name, value in scores["tvd_accuracy"].items():
        print(f"  {name:16s} {value:.3f}")
    print("parent–child correlations (1 − mean |ΔCramér's V|):")
    for fk, c in scores["parent_child_correlations"].items():
        print(f"  {fk:34s} {c['score']:.3f}")


if __name__ == "__main__":
    main()
