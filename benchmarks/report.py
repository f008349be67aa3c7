"""Report benchmark: time and peak memory of ``build_report`` on UCI Adult.

Usage: python benchmarks/report.py [--synthetic 5000] [--output DIR] [--threads 1]

The full adult.csv (32,561 rows) is the real data; the first ``--synthetic`` rows of
adult_test.csv stand in for synthetic data and the remaining rows are the holdout; the target
is ``income``. Prints the seconds spent in ``build_report`` (reading the CSV files excluded),
the process's peak resident memory, and the headline scores. Goal: at most 60 s on 2 cores.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from synthloom.io.tables import read_table
from synthloom.report import ReportOptions, build_report

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "tabular"


def _peak_rss_mib() -> float:
    # Linux reports ru_maxrss in KiB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--synthetic", type=int, default=5000)
    parser.add_argument("--output", type=Path, default=None)
    parser.add_argument("--threads", type=int, default=1, help="ReportOptions.threads")
    args = parser.parse_args()

    real, _ = read_table(DATA / "adult.csv")
    test, _ = read_table(DATA / "adult_test.csv")
    synthetic = test.iloc[: args.synthetic].reset_index(drop=True)
    holdout = test.iloc[args.synthetic :].reset_index(drop=True)
    rss_before = _peak_rss_mib()
    output = args.output or Path(tempfile.mkdtemp()) / "report"

    start = time.perf_counter()
    options = ReportOptions(threads=args.threads)
    result = build_report(
        real, synthetic, output, holdout=holdout, target="income", options=options
    )
    seconds = time.perf_counter() - start

    scores = result.scores
    print(f"rows: real {len(real):,}, synthetic {len(synthetic):,}, holdout {len(holdout):,}")
    print(f"build_report_seconds: {seconds:.1f}")
    print(f"peak_rss_mib: {_peak_rss_mib():.0f} (after reading the data: {rss_before:.0f})")
    print(
        f"quality_score: {scores['quality']['score']:.1f} ({scores['quality']['grade']}); "
        f"holdout {scores['quality']['holdout']['score']:.1f}"
    )
    print(
        f"accuracy: {scores['accuracy']['overall']:.4f}; "
        f"holdout {scores['accuracy']['holdout']['overall']:.4f}"
    )
    privacy = scores["privacy"]
    print(
        f"dcr_share: {privacy['dcr_share']:.3f}; exact copies {privacy['exact_copy_share']:.4f}; "
        f"verdict {privacy['verdict']['level']}"
    )
    print(f"ml_utility: {scores['ml_utility']['utility']:.3f}")
    sizes = {
        p.name: p.stat().st_size for p in (result.html_path, result.pdf_path, result.json_path)
    }
    print(f"files: {output} {sizes}")


if __name__ == "__main__":
    main()
