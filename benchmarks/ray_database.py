"""``relational generate --ray``: Lahman shards into Parquet parts vs into an SQLite database.

Trains the Lahman model of ``benchmarks/relational.py`` (amplify) once, then runs each
destination in its own process on a local Ray runtime (``--cpus``), so that the peak RSS
printed is that run's driver alone. Prints rows written (all tables), seconds from the first
task to the last write (Ray started before), rows/s, the seconds of the final replacement
(staging tables → tables) and the driver's peak RSS.

Usage::

    python benchmarks/ray_database.py --num-records 100000
    python benchmarks/ray_database.py --model-dir m --num-records 400000   # reuse a model
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from synthloom.relational import RelationalSynthesizer  # noqa: E402

# the model of benchmarks/relational.py (a script beside this one, not a package)
sys.path.insert(0, str(ROOT / "benchmarks"))
from relational import LAHMAN, config  # noqa: E402

MODES = ("parquet", "sqlite")


def run(mode: str, model_dir: Path, rows: int, shard_rows: int, cpus: int, work: Path) -> dict:
    """One destination, in this process; what it wrote and how fast."""
    import ray

    from synthloom.relational.destinations import StagedDatabase
    from synthloom.scale import generate_relational_parts

    commit_seconds = []
    commit = StagedDatabase.commit

    def timed_commit(self: StagedDatabase) -> str:
        start = time.perf_counter()
        try:
            return commit(self)
        finally:
            commit_seconds.append(time.perf_counter() - start)

    StagedDatabase.commit = timed_commit  # type: ignore[method-assign]
    ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False)
    destination = work / "parts" if mode == "parquet" else work / "out.sqlite"
    start = time.perf_counter()
    result = generate_relational_parts(
        model_dir, destination, rows, shard_rows=shard_rows, seed=1, file_format="parquet"
    )
    seconds = time.perf_counter() - start
    ray.shutdown()
    total = sum(result.tables.values())
    return {
        "mode": mode,
        "tables": result.tables,
        "rows": total,
        "seconds": round(seconds, 1),
        "rows_per_s": round(total / seconds),
        "commit_s": round(commit_seconds[0], 1) if commit_seconds else None,
        "driver_peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-records", type=int, default=100_000, help="People rows")
    parser.add_argument("--shard-rows", type=int, default=25_000)
    parser.add_argument("--cpus", type=int, default=2)
    parser.add_argument("--model-dir", type=Path, default=None, help="reuse a trained model")
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--run", choices=MODES, help=argparse.SUPPRESS)  # one mode, here
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="synthloom-raydb-") as folder:
        work = Path(folder)
        if args.run:
            outcome = run(
                args.run, args.model_dir, args.num_records, args.shard_rows, args.cpus, work
            )
            print(json.dumps(outcome))
            return
        model_dir = args.model_dir or work / "model"
        if args.model_dir is None:
            start = time.perf_counter()
            RelationalSynthesizer(config("amplify", 0)).fit(LAHMAN, model_dir)
            print(f"trained Lahman (amplify) in {time.perf_counter() - start:.1f} s")
        for mode in args.modes.split(","):
            command = [
                sys.executable, __file__, "--run", mode, "--model-dir", str(model_dir),
                "--num-records", str(args.num_records), "--shard-rows", str(args.shard_rows),
                "--cpus", str(args.cpus),
            ]  # fmt: skip
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            lines = done.stdout.strip().splitlines()
            if done.returncode != 0 or not lines:
                print(f"{mode}: failed\n{done.stderr[-2000:]}")
                continue
            print(lines[-1])


if __name__ == "__main__":
    main()
