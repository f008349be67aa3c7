"""Training throughput on a busy machine: tokens/s quiet and beside one busy-loop process.

Usage: python benchmarks/busy.py [--dp] [--rows 5000] [--seconds 12] [--threads auto,2]
                                 [--beside loop|training]
For each ``threads`` setting, trains the Adult table model (defaults; plain, or DP with
``--dp``) for ``--seconds`` quiet, then again while this script runs
``python -c "while True: pass"`` beside it (``--beside training``: a second training of the
same kind and ``threads`` setting instead), and prints tokens/s, the busy/quiet ratio and
the threads ``auto`` chose. Goal (issue 14): busy ≥ 50 % of quiet. Run it under
``flock /work/notes/cpu.lock`` so no other heavy job shares the machine.
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from synthloom.io.tables import read_table
from synthloom.synthesizers.table import TableSynthesizer

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "tabular"


class _Choices(logging.Handler):
    """Collects the thread choices the ``auto`` setting logs."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage().split(":", 1)[1].split("(")[0].strip())


def train(
    rows: object, args: argparse.Namespace, threads: str, busy: bool | None
) -> tuple[float, str]:
    """Tokens/s of one capped training run, and the threads chosen."""
    options = {
        "epochs": 1000,
        "early_stopping": False,
        "max_training_time_seconds": args.seconds if busy is not None else 3600,
        "threads": threads if threads == "auto" else int(threads),
        "seed": 0,
    }
    if args.dp:
        options.update(dp=True, dp_epsilon=1000.0)  # a budget the run does not reach
    choices = _Choices()
    logging.getLogger("synthloom.lstm.threads").addHandler(choices)
    logging.getLogger("synthloom.lstm.threads").setLevel(logging.INFO)
    spinner = None
    if busy and args.beside == "loop":
        spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    elif busy:  # this script again, training until it is stopped
        command = [sys.executable, __file__, "--beside-job", threads, "--rows", str(args.rows)]
        spinner = subprocess.Popen(command + (["--dp"] if args.dp else []))
    try:
        if spinner is not None:
            time.sleep(1.0 if args.beside == "loop" else 8.0)  # the other job is running
        synth = TableSynthesizer(**options)
        with tempfile.TemporaryDirectory() as folder:
            synth.fit(rows, Path(folder) / "adult", force=True)
    finally:
        if spinner is not None:
            spinner.kill()
            spinner.wait()
        logging.getLogger("synthloom.lstm.threads").removeHandler(choices)
    result = synth.training_result_
    assert result is not None
    return result.tokens_per_second, " → ".join(choices.lines) or "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dp", action="store_true", help="DP-SGD training")
    parser.add_argument("--rows", type=int, default=5000, help="rows of adult.csv")
    parser.add_argument("--seconds", type=float, default=12.0, help="time cap of each run")
    parser.add_argument("--threads", default="auto,2", help="settings to compare")
    parser.add_argument("--beside", choices=["loop", "training"], default="loop")
    parser.add_argument("--beside-job", help=argparse.SUPPRESS)  # the training beside
    args = parser.parse_args()
    frame, _ = read_table(DATA / "adult.csv")
    rows = frame.head(args.rows)
    if args.beside_job:
        train(rows, args, args.beside_job, busy=None)
        return
    print(
        f"adult {len(rows):,} rows, {'DP' if args.dp else 'plain'} training, "
        f"{args.seconds:.0f} s per run, beside: {args.beside}, cores {os.cpu_count()}, "
        f"load {os.getloadavg()[0]:.2f}"
    )
    for threads in args.threads.split(","):
        quiet, quiet_choice = train(rows, args, threads, busy=False)
        busy, busy_choice = train(rows, args, threads, busy=True)
        print(
            f"threads={threads}: quiet {quiet:,.0f} tokens/s ({quiet_choice}), busy "
            f"{busy:,.0f} tokens/s ({busy_choice}): busy/quiet {busy / quiet:.2f}"
        )


if __name__ == "__main__":
    main()
