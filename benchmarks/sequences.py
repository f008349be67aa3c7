"""Sequence benchmark: Lahman Batting as sequences under People, and stock price series.

Lahman (``--part lahman``): People (root; names and ids excluded) and Batting, one
sequence of seasons per player ordered by ``yearID, stint``, LSTM engine with a time cap
per table. Prints training and child-generation time (rows/s), referential integrity,
sequence-length accuracy, the share of players whose ``yearID`` strictly increases (real
and synthetic), consecutive-row pair accuracy, and Batting's TVD accuracy against the
same table learned alone (no parent, same cap).

Stocks (``--part stocks``): ``timeseries/stocks.csv`` as a time series per ``Ticker``
ordered by ``Date``. One model, three generations (five series each, so one run's
figures are noisy): lag-1 autocorrelation of ``Close`` returns and of ``Volume`` (real,
each run, their mean), the share of series that are ordered, and TVD accuracy of run 0.

MOSTLY AI side by side (``--part mostly``): the same People/Batting tables and caps given
to mostlyai-engine (People as a flat table, Batting as its sequential model with
``tgt_context_key=playerID``), run by the Python of a separate environment that has
``mostlyai-engine`` installed (``--mostly-python``; it only needs pandas and the engine),
then scored here with the same functions as synthloom's run, which runs first.

Usage::

    python benchmarks/sequences.py --part lahman --cap 120 [--people-cap 40]
    python benchmarks/sequences.py --part stocks --cap 600 [--learning-rate 0.01 --rnn-layers 1]
    python benchmarks/sequences.py --part mostly --cap 240 --mostly-python /path/to/python
"""

from __future__ import annotations

import argparse
import logging
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT))

from synthloom.relational import RelationalSynthesizer, read_database  # noqa: E402
from synthloom.relational.report_metrics import child_sequences, table_accuracy  # noqa: E402
from synthloom.report.metrics import tvd_accuracy  # noqa: E402
from synthloom.report.sequences import (  # noqa: E402
    lag1_autocorrelation,
    length_accuracy,
    ordered_share,
)
from synthloom.synthesizers.sequence import ENTITY, SequenceSynthesizer  # noqa: E402
from synthloom.synthesizers.table import TableSynthesizer  # noqa: E402

PEOPLE_EXCLUDED = [
    "playerID",
    "birthCity",
    "birthState",
    "birthDay",
    "deathYear",
    "deathMonth",
    "deathDay",
    "deathCountry",
    "deathState",
    "deathCity",
    "nameFirst",
    "nameLast",
    "nameGiven",
    "retroID",
    "bbrefID",
]


# Top-level config keys set from the command line (``--context-size``).
CONFIG_CHANGES: dict = {}


def lahman_config(cap: float, people_cap: float = 40.0) -> dict:
    people_columns = {c: "exclude" for c in PEOPLE_EXCLUDED if c != "playerID"}
    return {
        **CONFIG_CHANGES,
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


def lahman_folder(tmp: str, rows: int | None) -> Path:
    """People and Batting (optionally ``rows`` sampled players) as CSVs in a folder."""
    folder = Path(tmp) / "lahman"
    folder.mkdir()
    people = pd.read_csv(DATA / "relational/lahman/People.csv")
    batting = pd.read_csv(DATA / "relational/lahman/Batting.csv")
    if rows:
        people = people.sample(rows, random_state=0)
        batting = batting[batting.playerID.isin(people.playerID)]
    people.to_csv(folder / "People.csv", index=False)
    batting.to_csv(folder / "Batting.csv", index=False)
    return folder


def lahman_scores(real: dict, synthetic: dict, schema) -> dict[str, float]:
    """The issue's Lahman figures for one synthetic People/Batting pair."""
    scores = child_sequences(real, synthetic, schema, {"Batting": ["yearID", "stint"]})
    seq = scores["Batting.playerID->People"]
    accuracy = table_accuracy(real, synthetic, schema)
    ids = set(synthetic["People"]["playerID"])
    return {
        "length accuracy": seq["length_accuracy"],
        "mean length": seq["mean_length"]["synthetic"],
        "yearID strictly increasing": seq["ordered"]["yearID"]["synthetic"]["increasing"],
        "consecutive-row pair accuracy": seq["consecutive_pair_accuracy"],
        "People TVD accuracy": accuracy["People"],
        "Batting TVD accuracy": accuracy["Batting"],
        "referential integrity": float(synthetic["Batting"]["playerID"].isin(ids).mean()),
    }


def lahman(cap: float, rows: int | None, people_cap: float, alone: bool = True) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = lahman_folder(tmp, rows)
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
        print(
            f"generate {generate:.1f} s: {n_child:,} Batting rows, "
            f"{n_child / generate:,.0f} rows/s for the whole database"
        )
        print(
            f"child sequences alone: {len(children):,} Batting rows in {child_seconds:.1f} s, "
            f"{len(children) / child_seconds:,.0f} rows/s"
        )
        print(f"referential integrity {synth.integrity_.share:.3f}")
        scores = child_sequences(real, synthetic, schema, {"Batting": ["yearID", "stint"]})
        seq = scores["Batting.playerID->People"]
        print(
            f"sequence-length accuracy {seq['length_accuracy']:.3f} "
            f"(mean length real {seq['mean_length']['real']:.2f}, "
            f"synthetic {seq['mean_length']['synthetic']:.2f})"
        )
        ordered = seq["ordered"]["yearID"]
        print(
            f"yearID strictly increasing: real {ordered['real']['increasing']:.3f}, "
            f"synthetic {ordered['synthetic']['increasing']:.3f}; non-decreasing real "
            f"{ordered['real']['non_decreasing']:.3f}, synthetic "
            f"{ordered['synthetic']['non_decreasing']:.3f}"
        )
        print(f"consecutive-row pair accuracy {seq['consecutive_pair_accuracy']:.3f}")
        for column, shares in seq["constant_within_entity"].items():
            print(
                f"constant within player: {column} real {shares['real']:.3f}, "
                f"synthetic {shares['synthetic']:.3f}"
            )
        accuracy = table_accuracy(real, synthetic, schema)
        print(f"TVD accuracy: People {accuracy['People']:.4f}, Batting {accuracy['Batting']:.4f}")
        length_given_real_parents(synth, real, plan.context)
        result = {
            **lahman_scores(real, synthetic, schema),
            "train seconds": train,
            "generate seconds": generate,
        }
        if not alone:
            return result
        columns = schema.tables["Batting"].data_columns
        model = TableSynthesizer(seed=0, max_training_time_seconds=cap)
        start = time.monotonic()
        model.fit(real["Batting"][columns], Path(tmp) / "alone")
        alone_train = time.monotonic() - start
        rows_alone = model.generate(len(real["Batting"]), seed=0)
        alone_score = tvd_accuracy(real["Batting"][columns], rows_alone, max_bivariate_columns=20)
        print(
            f"Batting learned alone (cap {cap:g} s, {alone_train:.1f} s): TVD accuracy "
            f"{alone_score.overall:.4f}; as sequences minus alone "
            f"{accuracy['Batting'] - alone_score.overall:+.4f}"
        )
        return result


def length_given_real_parents(synth, real: dict, context_columns: list[str]) -> None:
    """Where length errors come from: players' Batting rows generated for the real People
    rows (the context columns the plan chose), against their real number of rows."""
    people = real["People"]
    context = pd.DataFrame({f"__parent__{c}": people[c].to_numpy() for c in context_columns})
    model = synth._models["Batting"]
    ids = pd.Index(people["playerID"])
    held = np.bincount(ids.get_indexer(real["Batting"]["playerID"]), minlength=len(people))
    for label, calibration in (("decisions as learned", {}), ("calibrated", model.calibration)):
        model.calibration = calibration
        rows = model.generate(context=context, seed=2)
        made = np.bincount(rows[ENTITY], minlength=len(people))
        increasing = ordered_share(rows, rows[ENTITY].to_numpy(), "yearID")["increasing"]
        print(
            f"given the real People rows, {label}: length accuracy "
            f"{length_accuracy(held, made):.3f} (mean {held.mean():.2f} real, "
            f"{made.mean():.2f}); yearID strictly increasing {increasing:.3f}"
        )
    print(f"context columns {context_columns}")
    bins = [0, 1, 2, 3, 5, 8, 12, 17, 23, 10**6]
    for name, counts in (("real", held), ("synthetic", made)):
        shares = np.histogram(counts, bins=bins)[0] / len(counts)
        spans = zip(bins, bins[1:], shares, strict=False)
        print(
            f"  {name:9s} rows per player "
            + " ".join(f"[{lo},{hi}) {share:.3f}" for lo, hi, share in spans)
        )


MOSTLY_SIDE = r"""
import sys, time, pandas as pd
from mostlyai import engine
folder, out, cap, people_cap = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
excluded = sys.argv[5].split(",")
engine.init_logging()
people = pd.read_csv(f"{folder}/People.csv").drop(columns=excluded)
batting = pd.read_csv(f"{folder}/Batting.csv").sort_values(["playerID", "yearID", "stint"])
times = {}
start = time.monotonic()
engine.split(tgt_data=people, tgt_primary_key="playerID", workspace_dir=f"{out}/ws-people")
engine.analyze(workspace_dir=f"{out}/ws-people")
engine.encode(workspace_dir=f"{out}/ws-people")
engine.train(max_training_time=people_cap / 60, workspace_dir=f"{out}/ws-people")
engine.split(tgt_data=batting, ctx_data=people, tgt_context_key="playerID",
             ctx_primary_key="playerID", workspace_dir=f"{out}/ws-batting")
engine.analyze(workspace_dir=f"{out}/ws-batting")
engine.encode(workspace_dir=f"{out}/ws-batting")
engine.train(max_training_time=cap / 60, workspace_dir=f"{out}/ws-batting")
times["train"] = time.monotonic() - start
start = time.monotonic()
engine.generate(workspace_dir=f"{out}/ws-people")
syn_people = pd.read_parquet(f"{out}/ws-people/SyntheticData")
engine.generate(ctx_data=syn_people, workspace_dir=f"{out}/ws-batting")
syn_batting = pd.read_parquet(f"{out}/ws-batting/SyntheticData")
times["generate"] = time.monotonic() - start
syn_people.to_csv(f"{out}/People.csv", index=False)
syn_batting.to_csv(f"{out}/Batting.csv", index=False)
pd.Series(times).to_json(f"{out}/times.json")
"""


def mostly(cap: float, rows: int | None, people_cap: float, python: str | None) -> None:
    """synthloom's Lahman run, then mostlyai-engine's on the same tables and caps."""
    if not python or not Path(python).exists():
        raise SystemExit(
            "--part mostly needs --mostly-python: the Python of an environment with "
            "mostlyai-engine (python -m venv v && v/bin/pip install mostlyai-engine)"
        )
    ours = lahman(cap, rows, people_cap, alone=False)
    with tempfile.TemporaryDirectory() as tmp:
        folder = lahman_folder(tmp, rows)
        out = Path(tmp) / "mostly"
        out.mkdir()
        excluded = ",".join(c for c in PEOPLE_EXCLUDED if c != "playerID")
        args = [str(folder), str(out), str(cap), str(people_cap), excluded]
        subprocess.run([python, "-c", MOSTLY_SIDE, *args], check=True)
        config = lahman_config(cap, people_cap)
        schema, real = read_database(folder, config)
        synthetic = {name: pd.read_csv(out / f"{name}.csv") for name in ("People", "Batting")}
        times = pd.read_json(out / "times.json", typ="series")
        theirs = {
            **lahman_scores(real, synthetic, schema),
            "train seconds": float(times["train"]),
            "generate seconds": float(times["generate"]),
        }
    print(f"\nside by side, same caps (Batting {cap:g} s, People {people_cap:g} s):")
    print(f"{'':32} {'synthloom':>10} {'MOSTLY AI':>10}")
    for key, value in ours.items():
        print(f"{key:32} {value:10.4f} {theirs[key]:10.4f}")


def stocks(cap: float, params: dict, seeds: int = 3) -> None:
    """One model; ``seeds`` generations (five series each: one run's autocorrelation is
    noisy), each scored."""
    real = pd.read_csv(DATA / "timeseries/stocks.csv", parse_dates=["Date"])
    options = {"entity_column": "Ticker", "order_by": ["Date"], "max_sequence_rows": 100}
    with tempfile.TemporaryDirectory() as tmp:
        synth = SequenceSynthesizer(
            seed=0, max_training_time_seconds=cap, time_series=options, **params
        )
        start = time.monotonic()
        synth.fit(real, Path(tmp) / "model")
        train = time.monotonic() - start
        start = time.monotonic()
        runs = [synth.generate(seed=seed) for seed in range(seeds)]
        generate = (time.monotonic() - start) / seeds
    print(
        f"stocks: {len(real):,} rows, {real.Ticker.nunique()} series; train {train:.1f} s, "
        f"generate {generate:.1f} s per run ({len(runs[0]):,} rows), {seeds} runs"
    )
    figures = {}
    for name, frame in [("real", real)] + [(f"synthetic {i}", f) for i, f in enumerate(runs)]:
        frame = frame.sort_values(["Ticker", "Date"], kind="stable")
        entity = pd.factorize(frame["Ticker"])[0]
        frame = frame.assign(ret=frame.groupby("Ticker")["Close"].pct_change())
        ordered = frame.groupby("Ticker")["Date"].apply(lambda d: d.is_monotonic_increasing)
        figures[name] = (
            lag1_autocorrelation(frame, entity, "ret"),
            lag1_autocorrelation(frame, entity, "Volume"),
        )
        print(
            f"{name}: lag-1 autocorrelation of Close returns {figures[name][0]:+.3f}, of "
            f"Volume {figures[name][1]:+.3f}; ordered series {ordered.mean():.3f}"
        )
    synthetic = np.array([v for k, v in figures.items() if k != "real"])
    print(
        f"synthetic mean of {seeds} runs: Close returns {synthetic[:, 0].mean():+.3f}, "
        f"Volume {synthetic[:, 1].mean():+.3f} (real {figures['real'][0]:+.3f}, "
        f"{figures['real'][1]:+.3f})"
    )
    columns = [c for c in real.columns if c != "Ticker"]
    score = tvd_accuracy(real[columns], runs[0][columns], max_bivariate_columns=10)
    print(
        f"stocks TVD accuracy (run 0, all rows, no order) {score.overall:.4f}; per column "
        + ", ".join(f"{c} {v:.3f}" for c, v in score.univariate.items())
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["lahman", "stocks", "mostly", "all"], default="all")
    parser.add_argument("--mostly-python", default=None, help="Python with mostlyai-engine")
    parser.add_argument("--learning-rate", type=float, default=None, help="stocks only")
    parser.add_argument("--rnn-layers", type=int, default=None, help="stocks only")
    parser.add_argument("--cap", type=float, default=120.0, help="training seconds per table")
    parser.add_argument("--players", type=int, default=None, help="sample this many players")
    parser.add_argument("--people-cap", type=float, default=40.0, help="People's seconds")
    parser.add_argument("--no-alone", action="store_true", help="skip Batting learned alone")
    parser.add_argument("--context-size", type=int, default=None, help="People columns as context")
    args = parser.parse_args()
    if args.context_size is not None:
        CONFIG_CHANGES["context_size"] = args.context_size
    logging.basicConfig(level=logging.WARNING)
    if args.part in ("lahman", "all"):
        lahman(args.cap, args.players, args.people_cap, alone=not args.no_alone)
    if args.part in ("stocks", "all"):
        params = {"learning_rate": args.learning_rate, "rnn_layers": args.rnn_layers}
        stocks(args.cap, {k: v for k, v in params.items() if v is not None})
    if args.part == "mostly":
        mostly(args.cap, args.players, args.people_cap, args.mostly_python)


if __name__ == "__main__":
    main()
