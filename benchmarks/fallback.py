"""Speed, memory and accuracy figures of the statistical fallback model.

Scenarios (each runs in its own process so that its peak RSS is its own):

* ``adult``: fit on the whole UCI Adult training file (32,561 × 15), generate 5,000 records,
  score them against ``adult_test.csv`` with ``synthloom.report.metrics.tvd_accuracy`` when that
  module exists, and time conditional generation.
* ``wide``: a 100,000-row × 1,000-column table built from real Adult columns (blocks of the 15
  columns, each block a bootstrap sample of Adult rows, with renamed copies); fit, then
  generate 5,000 records.

Usage::

    nice python benchmarks/fallback.py               # both scenarios
    nice python benchmarks/fallback.py adult         # one of them
    nice python benchmarks/fallback.py wide --rows 100000 --cols 1000
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "tabular"
sys.path.insert(0, str(ROOT))

from synthloom.fallback import StatisticalModel  # noqa: E402


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far, in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def tvd_overall(real: pd.DataFrame, synthetic: pd.DataFrame) -> str:
    """TVD accuracy from the report module, or why it is not available."""
    try:
        from synthloom.report.metrics import tvd_accuracy  # type: ignore[import-not-found]
    except ImportError as exc:
        return f"n/a ({exc})"
    return f"{tvd_accuracy(real, synthetic).overall:.4f}"


def dcr_share(train: pd.DataFrame, test: pd.DataFrame, synthetic: pd.DataFrame) -> str:
    """DCR share from the report module (0.5 is ideal), or why it is not available."""
    try:
        from synthloom.report.metrics import dcr  # type: ignore[import-not-found]
    except ImportError as exc:
        return f"n/a ({exc})"
    result = dcr(train, test, synthetic)
    return f"{result.dcr_share:.3f} (exact copies {result.exact_copy_share:.3f})"


def run_adult(num_records: int) -> None:
    """Fit on Adult, generate, score against the holdout, time conditioning."""
    train = pd.read_csv(DATA / "adult.csv")
    test = pd.read_csv(DATA / "adult_test.csv")
    print(f"adult: {train.shape[0]} rows x {train.shape[1]} cols; RSS {peak_rss_mib():.0f} MiB")
    start = time.perf_counter()
    model = StatisticalModel().fit(train)
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    synthetic = model.generate(num_records, seed=0)
    gen_s = time.perf_counter() - start
    print(f"  clusters {model.weights_.size}; stages (cumulative s) {_stages(model)}")
    print(
        f"  fit {fit_s:.2f} s; generate {num_records} in {gen_s:.2f} s "
        f"= {num_records / gen_s:,.0f} records/s; fit+generate {fit_s + gen_s:.2f} s"
    )
    print(f"  TVD accuracy vs adult_test.csv: {tvd_overall(test, synthetic)}")
    print(f"  DCR share (training vs holdout): {dcr_share(train, test, synthetic)}")
    seeds = test[["education_num", "sex"]].iloc[:num_records]
    start = time.perf_counter()
    model.generate(0, conditions=seeds, seed=0)
    cond_s = time.perf_counter() - start
    print(
        f"  conditional generate ({len(seeds)} rows, 2 columns): {cond_s:.2f} s "
        f"= {len(seeds) / cond_s:,.0f} records/s"
    )
    print(f"  peak RSS {peak_rss_mib():.0f} MiB")


def wide_table(rows: int, cols: int, seed: int = 0) -> pd.DataFrame:
    """``rows`` × ``cols`` table of real Adult columns: bootstrap blocks with renamed copies."""
    adult = pd.read_csv(DATA / "adult.csv")
    rng = np.random.default_rng(seed)
    blocks = []
    for block in range(-(-cols // adult.shape[1])):
        sample = adult.iloc[rng.integers(0, len(adult), size=rows)].reset_index(drop=True)
        blocks.append(sample.add_suffix(f"_{block}"))
    return pd.concat(blocks, axis=1).iloc[:, :cols]


def run_wide(rows: int, cols: int, num_records: int) -> None:
    """Fit and generate on a wide, tall table."""
    df = wide_table(rows, cols)
    print(f"wide: {rows} rows x {cols} cols; RSS after building it {peak_rss_mib():.0f} MiB")
    start = time.perf_counter()
    model = StatisticalModel().fit(df)
    fit_s = time.perf_counter() - start
    print(f"  clusters {model.weights_.size}; stages (cumulative s) {_stages(model)}")
    print(f"  fit {fit_s:.1f} s; peak RSS {peak_rss_mib():.0f} MiB")
    start = time.perf_counter()
    synthetic = model.generate(num_records, seed=0)
    gen_s = time.perf_counter() - start
    print(f"  generate {num_records} in {gen_s:.1f} s = {num_records / gen_s:,.0f} records/s")
    print(
        f"  dtypes kept: {bool((synthetic.dtypes == df.dtypes).all())}; "
        f"peak RSS {peak_rss_mib():.0f} MiB"
    )


def _stages(model: StatisticalModel) -> str:
    return ", ".join(f"{name} {sec:.1f}" for name, sec in model.fit_stages_.items())


def main() -> None:
    """Run the scenarios named on the command line (default: all), each in a subprocess."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenarios", nargs="*", choices=["adult", "wide", []], default=[])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--cols", type=int, default=1_000)
    parser.add_argument("--records", type=int, default=5_000)
    parser.add_argument("--inline", action="store_true", help="run in this process")
    args = parser.parse_args()
    if not DATA.exists():
        sys.exit(f"data folder {DATA} not found")
    scenarios = args.scenarios or ["adult", "wide"]
    if args.inline or len(scenarios) == 1:
        for name in scenarios:
            if name == "adult":
                run_adult(args.records)
            else:
                run_wide(args.rows, args.cols, args.records)
        return
    for name in scenarios:
        extra = ["--rows", str(args.rows), "--cols", str(args.cols), "--records", str(args.records)]
        subprocess.run([sys.executable, __file__, name, *extra], check=True)


if __name__ == "__main__":
    main()
