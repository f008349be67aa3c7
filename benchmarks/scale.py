"""Scale benchmark: records/s and peak memory of one process, local workers and local Ray.

Usage: python benchmarks/scale.py [--rows 200000] [--texts 20000] [--train-seconds 30]
       [--modes table-1x1,table-1xauto,table-2w,table-ray2,text-1x1,text-2w,text-ray2]

Trains the bundled Adult sample (synthloom/data/adult_sample.csv, table defaults) and the
fortunes sample (text demo's network) under a time cap, then runs each mode in its own
process, writing to a temporary file (or part folder) as generation goes:

* ``1x1``: one process, one intra-op thread (``--parallelism 1``, torch at 1 thread);
* ``1xauto``: one process, threads=auto (every free core);
* ``2w``: two local worker processes, one thread each (``--parallelism 2``);
* ``ray2``: Ray tasks on a local 2-CPU Ray runtime (``--ray``), rate with and without
  Ray's start-up; text in 4 shards (2 per CPU), tables in the default 25,000-row shards.

Peak RSS is ``getrusage`` of the mode's process (self) and of its waited-for children
(the largest worker; Ray's workers are children of its raylet, so their figure is the
largest that the driver reaped, not a sum). Other agents may load the CPU: run it under
the shared lock and report the load.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "synthloom" / "data"
MODES = (
    "table-1x1",
    "table-1xauto",
    "table-2w",
    "table-ray2",
    "text-1x1",
    "text-2w",
    "text-ray2",
)


def train(folder: Path, seconds: float) -> tuple[Path, Path]:
    from synthloom.cli.first_run import DEMO_TEXT_PARAMS
    from synthloom.synthesizers.table import TableSynthesizer
    from synthloom.synthesizers.text import TextSynthesizer

    table, text = folder / "adult", folder / "fortunes"
    TableSynthesizer(epochs=60, max_training_time_seconds=seconds, seed=0).fit(
        DATA / "adult_sample.csv", table
    )
    TextSynthesizer(
        **DEMO_TEXT_PARAMS,
        max_training_time_seconds=seconds,
        seed=0,
    ).fit(DATA / "fortunes_sample.txt", text)
    return table, text


def run_mode(mode: str, model: Path, records: int, out: Path) -> dict[str, float]:
    """Generate ``records`` in this process as ``mode`` says; seconds and rows."""
    import torch

    kind, how = mode.split("-")
    if how == "1x1":
        torch.set_num_threads(1)
    workers = 2 if how == "2w" else 1
    start = time.perf_counter()
    extra: dict[str, float] = {}
    if how == "ray2":
        import ray

        from synthloom.scale import generate_parts, generate_text_parts

        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        ready = time.perf_counter()
        if kind == "table":
            rows = generate_parts(model, out, records, seed=1).rows
        else:
            shard = max(records // 4, 1)
            rows = generate_text_parts(model, out, records, seed=1, shard_rows=shard).rows
        extra["seconds_after_start"] = time.perf_counter() - ready
        ray.shutdown()
    elif kind == "table":
        from synthloom.io.tables import write_table_chunks
        from synthloom.synthesizers.table import TableSynthesizer

        synth = TableSynthesizer.load(model)
        chunks = synth.generate_chunks(records, seed=1, parallelism=workers)
        rows = write_table_chunks(chunks, out.with_suffix(".csv"))
    else:
        from synthloom.io.text import write_text_records
        from synthloom.synthesizers.text import TextSynthesizer

        synth = TextSynthesizer.load(model)
        texts = (
            r.text
            for r in synth.generate(records, seed=1, parallelism=workers, max_invalid=10**9)
            if r.valid
        )
        rows = write_text_records(out.with_suffix(".txt"), texts)
    seconds = time.perf_counter() - start
    return {"rows": rows, "seconds": seconds, **extra}


def child(mode: str, model: str, records: int) -> None:
    # the process's time, not the run's
    for module in ("synthloom.synthesizers.table", "synthloom.synthesizers.text"):
        importlib.import_module(module)

    with tempfile.TemporaryDirectory() as folder:
        result = run_mode(mode, Path(model), records, Path(folder) / "out")
    kib = 1024  # Linux reports ru_maxrss in KiB
    result["rss_self_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / kib
    result["rss_children_mib"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / kib
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--texts", type=int, default=20_000)
    parser.add_argument("--train-seconds", type=float, default=30.0)
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--child", nargs=3, metavar=("MODE", "MODEL", "RECORDS"))
    parser.add_argument("--train", metavar="FOLDER")
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], int(args.child[2]))
        return
    if args.train:
        train(Path(args.train), args.train_seconds)
        return
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        # in a child: RSS high-water marks pass to forked children, so this stays small
        command = [sys.executable, __file__, "--train", folder]
        subprocess.run([*command, "--train-seconds", str(args.train_seconds)], check=True)
        table, text = Path(folder) / "adult", Path(folder) / "fortunes"
        print(f"trained both models in {time.perf_counter() - start:.0f} s", flush=True)
        print(f"load average before: {os.getloadavg()}", flush=True)
        print("mode           records   seconds  records/s  rss self  rss workers", flush=True)
        for mode in args.modes.split(","):
            model, records = (table, args.rows) if mode.startswith("table") else (text, args.texts)
            command = [sys.executable, __file__, "--child", mode, str(model), str(records)]
            done = subprocess.run(command, capture_output=True, text=True)
            if done.returncode:
                print(f"{mode}: failed\n{done.stderr[-2000:]}", flush=True)
                continue
            r = json.loads(done.stdout.strip().splitlines()[-1])
            rate = r["rows"] / r["seconds"]
            line = (
                f"{mode:<13} {r['rows']:>8,} {r['seconds']:>9.1f} {rate:>10,.0f}"
                f" {r['rss_self_mib']:>7.0f} MiB {r['rss_children_mib']:>7.0f} MiB"
            )
            if "seconds_after_start" in r:
                line += f"  ({r['rows'] / r['seconds_after_start']:,.0f}/s after Ray started)"
            print(line, flush=True)
        print(f"load average after: {os.getloadavg()}", flush=True)


if __name__ == "__main__":
    main()
