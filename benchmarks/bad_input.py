"""Run the bad-input suite (tests/test_bad_input.py) and print its counts.

    PYTHONPATH=$PWD python benchmarks/bad_input.py [-v]

Prints one line per case that is not handled (every case with -v), then: cases, handled,
tracebacks (goal 0) and data lost (goal 0), per issue section and in total.
"""

from __future__ import annotations

import sys
import tempfile
from collections import Counter
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.test_bad_input import CASES, Env, build_shared, run_case


def main() -> None:
    verbose = "-v" in sys.argv
    totals: Counter[str] = Counter()
    by_section: dict[str, Counter[str]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        shared = build_shared(Path(tmp) / "shared")
        for index, case in enumerate(CASES):
            folder = Path(tmp) / f"case{index}"
            folder.mkdir()
            try:
                outcome = run_case(case, Env(folder, shared))
            except pytest.skip.Exception as skip:
                print(f"skipped  {case.name}: {skip}")
                continue
            counts = by_section.setdefault(case.section, Counter())
            for counter in (totals, counts):
                counter["cases"] += 1
                counter["handled"] += outcome.handled
                counter["tracebacks"] += outcome.traceback
                counter["data lost"] += outcome.lost
            if verbose or not outcome.handled:
                mark = "ok      " if outcome.handled else "NOT OK  "
                last = outcome.output.strip().splitlines()[-1:] or [""]
                print(f"{mark}{case.name}: {last[0][:150]}")
    for section, counts in by_section.items():
        print(f"{section:10s} " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    print("total      " + ", ".join(f"{k} {v}" for k, v in totals.items()))


if __name__ == "__main__":
    main()
