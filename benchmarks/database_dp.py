"""A whole database under DP: Lahman People → Batting, one (ε, δ) for both tables.

A person is one People row with all its Batting rows. Trains the same database with
``params.dp: true`` at each ε and without DP (same model sizes, epochs and time caps),
generates as many people as were released, and prints per run: the database's ε and δ
spent, training time, Batting rows, the children-per-parent KS complement (sequence-length
accuracy), per-table TVD accuracy, the parent–child correlation score (coherence across
the link) and each Batting column's TVD accuracy.

Usage::

    python benchmarks/database_dp.py                           # ε 4, δ 1e-6, and no DP
    python benchmarks/database_dp.py --epsilons 1 4 --time-cap 240 --people 5000
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
LAHMAN = ROOT.parent / "shared" / "data" / "relational" / "lahman"
sys.path.insert(0, str(ROOT))

from synthloom.relational import RelationalSynthesizer, read_database  # noqa: E402
from synthloom.relational.report_metrics import relational_scores  # noqa: E402

PEOPLE = ["playerID", "birthYear", "birthCountry", "weight", "height", "bats", "throws"]
BATTING = ["playerID", "yearID", "stint", "teamID", "lgID", "G", "AB", "R", "H", "HR", "RBI"]
BATTING += ["SB", "BB", "SO"]
MAX_ROWS = 32


def write_database(folder: Path, people: int | None, seed: int) -> None:
    """People (a sample of ``people`` rows) and their Batting rows as CSV, with the schema."""
    frame = pd.read_csv(LAHMAN / "People.csv", usecols=PEOPLE)
    if people is not None and people < len(frame):
        frame = frame.sample(people, random_state=seed)
    batting = pd.read_csv(LAHMAN / "Batting.csv", usecols=BATTING)
    batting = batting[batting["playerID"].isin(frame["playerID"])]
    folder.mkdir(parents=True)
    frame.to_csv(folder / "People.csv", index=False)
    batting.to_csv(folder / "Batting.csv", index=False)
    (folder / "schema.yaml").write_text(
        "tables:\n"
        "  People: {primary_key: [playerID]}\n"
        "  Batting: {foreign_keys: [{columns: [playerID], references: {table: People}}]}\n"
    )


def run(folder: Path, work: Path, params: dict, seed: int) -> dict:
    batting = {
        "order_by": ["yearID", "stint"],
        # a public cap on a career's rows (the longest real one has 31): DP-SGD pads each
        # batch to its longest sequence
        "max_sequence_rows": MAX_ROWS,
        # three-letter codes: categories, not spelled (under DP a text column whose
        # released histogram covers less than half the rows would be spelled)
        "column_kinds": {"teamID": {"kind": "categorical"}, "lgID": {"kind": "categorical"}},
    }
    config = {"params": params, "tables": {"Batting": batting}}
    start = time.perf_counter()
    synth = RelationalSynthesizer(config).fit(folder, work / "model", overwrite=True)
    seconds = time.perf_counter() - start
    account = synth.privacy_account()
    schema, real = read_database(folder, config)
    synthetic = synth.generate(seed=seed)  # as many people as were learned (or released)
    scores = relational_scores(real, synthetic, schema)
    return {
        "seconds": seconds,
        "account": account,
        "scores": scores,
        "real": real,
        "synthetic": synthetic,
    }


def column_tvd(real: pd.Series, synthetic: pd.Series, bins: int = 20) -> float:
    """1 − total variation distance of one column (numbers in the real data's quantile bins)."""
    if pd.api.types.is_numeric_dtype(real) and real.nunique() > bins:
        edges = np.unique(np.nanquantile(real.astype(float), np.linspace(0, 1, bins + 1)))
        real = pd.cut(real.astype(float), edges, include_lowest=True).astype(str)
        synthetic = pd.cut(synthetic.astype(float), edges, include_lowest=True).astype(str)
    p = real.astype(str).value_counts(normalize=True)
    q = synthetic.astype(str).value_counts(normalize=True)
    return 1 - 0.5 * float(p.sub(q, fill_value=0).abs().sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epsilons", type=float, nargs="+", default=[4.0])
    parser.add_argument("--delta", type=float, default=1e-6)
    parser.add_argument("--people", type=int, default=None, help="People rows (default all)")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--time-cap", type=float, default=180.0, help="seconds per table")
    parser.add_argument("--no-plain", action="store_true", help="skip the run without DP")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    base = {
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "learning_rate": 0.01,
        "rnn_units": 128,
        "embedding_dim": 16,
        "rnn_layers": 1,
        "max_training_time_seconds": args.time_cap,
    }
    work = Path(tempfile.mkdtemp(prefix="synthloom-dbdp-"))
    runs: list[tuple[str, dict]] = []
    try:
        write_database(work / "db", args.people, args.seed)
        for epsilon in args.epsilons:
            params = {**base, "dp": True, "dp_epsilon": epsilon, "dp_delta": args.delta}
            runs.append((f"DP ε={epsilon:g}", run(work / "db", work, params, args.seed)))
        if not args.no_plain:
            runs.append(("no DP", run(work / "db", work, base, args.seed)))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    real = runs[0][1]["real"]
    print(
        f"Lahman People ({len(real['People']):,} rows) → Batting ({len(real['Batting']):,} "
        f"rows, {len(BATTING) - 1} columns); {json.dumps(base)}"
    )
    for label, result in runs:
        scores, account = result["scores"], result["account"]
        spent = f"ε={account['epsilon']:.3f}, δ={account['delta']:.2g}" if account else "no DP"
        link = next(iter(scores["children_per_parent"].values()))
        coherence = next(iter(scores["parent_child_correlations"].values()))["score"]
        synthetic = result["synthetic"]
        print(f"\n{label}: spent {spent}; train {result['seconds']:.0f} s")
        print(
            f"  People {len(synthetic['People']):,} rows, Batting "
            f"{len(synthetic['Batting']):,} rows (real {len(real['Batting']):,})"
        )
        print(
            f"  children per parent: KS complement {link['ks_complement']:.3f} "
            f"(mean {link['real_mean']:.2f} → {link['synthetic_mean']:.2f})"
        )
        tvd = scores["tvd_accuracy"]
        print(f"  TVD accuracy: People {tvd['People']:.3f}, Batting {tvd['Batting']:.3f}")
        print(f"  parent–child correlations: {coherence:.3f}")
        columns = [c for c in BATTING if c != "playerID"]
        per_column = {c: column_tvd(real["Batting"][c], synthetic["Batting"][c]) for c in columns}
        print("  Batting columns: " + ", ".join(f"{c} {v:.3f}" for c, v in per_column.items()))


if __name__ == "__main__":
    main()
