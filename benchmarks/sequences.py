"""Sequence benchmark: Lahman Batting as sequences under People, and stock price series.

Lahman (``--part lahman``): People (root; names and ids excluded) and Batting, one
sequence of seasons per player ordered by ``yearID, stint``, LSTM engine with a time cap
per table. Prints training and child-generation time (rows/s), referential integrity,
sequence-length accuracy, the share of players whose ``yearID`` strictly increases (real
and synthetic), consecutive-row pair accuracy, and Batting's TVD accuracy against the
same table learned alone (no parent, same cap).

Stocks (``--part stocks``): ``timeseries/stocks.csv`` as a time series per ``Ticker``
ordered by ``Date``. Prints lag-1 autocorrelation of ``Close`` returns and of ``Volume``
(real and synthetic) and the share of series that are ordered.

Usage::

    python benchmarks/sequences.py --part lahman --cap 120 [--people-cap 40]
    python benchmarks/sequences.py --part stocks --cap 120
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT))

from synthloom.relational import RelationalSynthesizer, read_database  # noqa: E402
from synthloom.relational.report import child_sequences, table_accuracy  # noqa: E402
from synthloom.report.metrics import tvd_accuracy  # noqa: E402
from synthloom.report.sequences import lag1_autocorrelation  # noqa: E402
from synthloom.sequence import SequenceSynthesizer  # noqa: E402
from synthloom.table import TableSynthesizer  # noqa: E402

PEOPLE_EXCLUDED = [
    "playerID", "birthCity", "birthState", "birthDay", "deathYear", "deathMonth", "deathDay",
    "deathCountry", "deathState", "deathCity", "nameFirst", "nameLast", "nameGiven",
    "retroID", "bbrefID",
]


def lahman_config(cap: float, people_cap: float = 40.0) -> dict:
    people_columns = {c: "exclude" for c in PEOPLE_EXCLUDED if c != "playerID"}
    return {
        "engine": "lstm",
        "params": {"seed": 0, "max_training_time_seconds": cap},
        "include_tables": ["People", "Batting"],
        "tables": {
            "People": {
                "primary_key": ["playerID"],
                "columns": people_columns,
                "params": {"max_training_time_seconds": people_cap},
            },
            "Batting": {
                "foreign_keys": [{"columns": ["playerID"], "references": {"table": "People"}}],
                "order_by": ["yearID", "stint"],
            },
        },
    }


def lahman(cap: float, rows: int | None, people_cap: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "lahman"
        folder.mkdir()
        people = pd.read_csv(DATA / "relational/lahman/People.csv")
        batting = pd.read_csv(DATA / "relational/lahman/Batting.csv")
        if rows:
            people = people.sample(rows, random_state=0)
            batting = batting[batting.playerID.isin(people.playerID)]
        people.to_csv(folder / "People.csv", index=False)
        batting.to_csv(folder / "Batting.csv", index=False)
        config = lahman_config(cap, people_cap)
        start = time.monotonic()
        synth = RelationalSynthesizer(config).fit(folder, Path(tmp) / "model")
        train = time.monotonic() - start
        start = time.monotonic()
        synthetic = synth.generate(seed=0)
        generate = time.monotonic() - start
        schema, real = read_database(folder, config)
        n_child = len(synthetic["Batting"])
        plan = synth.plans["Batting"]
        context = pd.DataFrame(
            {f"__parent__{c}": synthetic["People"][c].to_numpy() for c in plan.context}
        )
        start = time.monotonic()
        children = synth._models["Batting"].generate(context=context, seed=1)
        child_seconds = time.monotonic() - start
        print(f"rows: People {len(real['People']):,}, Batting {len(real['Batting']):,}")
        print(f"train {train:.1f} s (cap: Batting {cap:g} s, People {people_cap:g} s)")
        print(f"generate {generate:.1f} s: {n_child:,} Batting rows, "
              f"{n_child / generate:,.0f} rows/s for the whole database")
        print(f"child sequences alone: {len(children):,} Batting rows in {child_seconds:.1f} s, "
              f"{len(children) / child_seconds:,.0f} rows/s")
        print(f"referential integrity {synth.integrity_.share:.3f}")
        scores = child_sequences(real, synthetic, schema, {"Batting": ["yearID", "stint"]})
        seq = scores["Batting.playerID->People"]
        print(f"sequence-length accuracy {seq['length_accuracy']:.3f} "
              f"(mean length real {seq['mean_length']['real']:.2f}, "
              f"synthetic {seq['mean_length']['synthetic']:.2f})")
        ordered = seq["ordered"]["yearID"]
        print(f"yearID strictly increasing: real {ordered['real']['increasing']:.3f}, "
              f"synthetic {ordered['synthetic']['increasing']:.3f}; non-decreasing real "
              f"{ordered['real']['non_decreasing']:.3f}, synthetic "
              f"{ordered['synthetic']['non_decreasing']:.3f}")
        print(f"consecutive-row pair accuracy {seq['consecutive_pair_accuracy']:.3f}")
        for column, shares in seq["constant_within_entity"].items():
            print(f"constant within player: {column} real {shares['real']:.3f}, "
                  f"synthetic {shares['synthetic']:.3f}")
        accuracy = table_accuracy(real, synthetic, schema)
        print(f"TVD accuracy: People {accuracy['People']:.4f}, Batting {accuracy['Batting']:.4f}")
        columns = schema.tables["Batting"].data_columns
        alone = TableSynthesizer(seed=0, max_training_time_seconds=cap)
        start = time.monotonic()
        alone.fit(real["Batting"][columns], Path(tmp) / "alone")
        alone_train = time.monotonic() - start
        rows_alone = alone.generate(len(real["Batting"]), seed=0)
        alone_score = tvd_accuracy(real["Batting"][columns], rows_alone, max_bivariate_columns=20)
        print(f"Batting learned alone (cap {cap:g} s, {alone_train:.1f} s): TVD accuracy "
              f"{alone_score.overall:.4f}; as sequences minus alone "
              f"{accuracy['Batting'] - alone_score.overall:+.4f}")


def stocks(cap: float) -> None:
    real = pd.read_csv(DATA / "timeseries/stocks.csv", parse_dates=["Date"])
    options = {"entity_column": "Ticker", "order_by": ["Date"], "max_sequence_rows": 100}
    with tempfile.TemporaryDirectory() as tmp:
        synth = SequenceSynthesizer(seed=0, max_training_time_seconds=cap, time_series=options)
        start = time.monotonic()
        synth.fit(real, Path(tmp) / "model")
        train = time.monotonic() - start
        start = time.monotonic()
        synthetic = synth.generate(seed=0)
        generate = time.monotonic() - start
    print(f"stocks: {len(real):,} rows, {real.Ticker.nunique()} series; train {train:.1f} s, "
          f"generate {generate:.1f} s ({len(synthetic):,} rows)")
    for name, frame in (("real", real), ("synthetic", synthetic)):
        frame = frame.sort_values(["Ticker", "Date"], kind="stable")
        entity = pd.factorize(frame["Ticker"])[0]
        frame = frame.assign(ret=frame.groupby("Ticker")["Close"].pct_change())
        ordered = frame.groupby("Ticker")["Date"].apply(lambda d: d.is_monotonic_increasing)
        print(f"{name}: lag-1 autocorrelation of Close returns "
              f"{lag1_autocorrelation(frame, entity, 'ret'):+.3f}, of Volume "
              f"{lag1_autocorrelation(frame, entity, 'Volume'):+.3f}; ordered series "
              f"{ordered.mean():.3f}")
    columns = [c for c in real.columns if c != "Ticker"]
    score = tvd_accuracy(real[columns], synthetic[columns], max_bivariate_columns=10)
    print(f"stocks TVD accuracy (all rows, no order) {score.overall:.4f}; per column "
          + ", ".join(f"{c} {v:.3f}" for c, v in score.univariate.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["lahman", "stocks", "all"], default="all")
    parser.add_argument("--cap", type=float, default=120.0, help="training seconds per table")
    parser.add_argument("--players", type=int, default=None, help="sample this many players")
    parser.add_argument("--people-cap", type=float, default=40.0, help="People's seconds")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.part in ("lahman", "all"):
        lahman(args.cap, args.players, args.people_cap)
    if args.part in ("stocks", "all"):
        stocks(args.cap)


if __name__ == "__main__":
    main()
