"""A lookup-heavy database of the held-out shape: a long child table beside the same table
learned flat, the whole `relational generate` command's rows/s, and the time caps.

The database is made up here (seeded): ``aircraft`` (root, about 3,300 rows) →
``flights`` (about 33,000 rows, 18 columns, four foreign keys: the aircraft, its carrier,
origin and destination airports), with ``carriers`` (16) and ``airports`` (300) copied as
original lookup tables. Each aircraft flies for one carrier (mostly), its flights are in
date order (so a month holds runs of rows), every flight is in one year (a constant
column), months are about 8% each.

Prints: training seconds per table against the cap (overrun %), per-column TVD accuracy
of ``flights`` learned as sequences under ``aircraft`` and of the same columns learned as
a flat table with the same cap (and the difference), columns that gained missing values,
the generated aircraft and flights per aircraft against the real ones (length accuracy),
and the whole ``synthloom relational generate`` command's wall time and child rows/s
(a fresh process, as a user runs it).

Usage::

    python benchmarks/flights.py --cap 150
    python benchmarks/flights.py --cap 60 --aircraft 1000        # a quicker, smaller run
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
sys.path.insert(0, str(ROOT))

from synthloom.relational import RelationalSynthesizer, read_database  # noqa: E402
from synthloom.report.metrics import tvd_accuracy  # noqa: E402
from synthloom.report.sequences import length_accuracy  # noqa: E402
from synthloom.synthesizers.table import TableSynthesizer  # noqa: E402

MAKERS = ["Boeing", "Airbus", "Embraer", "Bombardier", "ATR", "McDonnell", "Cessna", "Saab"]


def make_database(folder: Path, aircraft: int, seed: int) -> None:
    """The made-up database as CSV files with its schema."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    carriers = pd.DataFrame({"code": [f"C{i:02d}" for i in range(16)]})
    carriers["name"] = [f"Carrier {i}" for i in range(16)]
    airports = pd.DataFrame({"iata": [f"A{i:03d}" for i in range(300)]})
    airports["hub"] = rng.random(300) < 0.05
    maker = rng.choice(MAKERS, aircraft, p=[0.35, 0.3, 0.12, 0.1, 0.05, 0.04, 0.02, 0.02])
    planes = pd.DataFrame(
        {
            "tail": [f"N{i:05d}" for i in range(aircraft)],
            "maker": maker,
            "year_built": rng.integers(1985, 2015, aircraft),
            "seats": np.where(np.isin(maker, ["Boeing", "Airbus"]), 180, 76)
            + rng.integers(-20, 40, aircraft),
            "carrier_home": rng.choice(carriers["code"], aircraft, p=_zipf(16, 1.1)),
        }
    )
    counts = np.minimum(rng.geometric(1 / 10, aircraft), 120)
    owner = np.repeat(np.arange(aircraft), counts)
    n = len(owner)
    day_of_year = np.concatenate([np.sort(rng.integers(0, 365, c)) for c in counts])
    dates = pd.Timestamp("2015-01-01") + pd.to_timedelta(day_of_year, unit="D")
    home = planes["carrier_home"].to_numpy()[owner]
    carrier = np.where(rng.random(n) < 0.93, home, rng.choice(carriers["code"], n))
    hubs = airports["iata"].to_numpy()[_zipf_draw(rng, 300, 1.2, n)]
    dest = airports["iata"].to_numpy()[_zipf_draw(rng, 300, 1.0, n)]
    distance = rng.gamma(2.0, 400.0, n).round() + 80
    dep_delay = np.round(rng.exponential(12, n) - 6 + 20 * (rng.random(n) < 0.1) * rng.random(n))
    flights = pd.DataFrame(
        {
            "flight_id": np.arange(n),
            "tail": planes["tail"].to_numpy()[owner],
            "carrier": carrier,
            "origin": hubs,
            "dest": dest,
            "year": 2015,
            "month": dates.month,
            "day": dates.day,
            "day_of_week": dates.day_of_week + 1,
            "dep_hour": rng.choice(np.arange(5, 24), n),
            "dep_delay": dep_delay,
            "arr_delay": np.round(dep_delay + rng.normal(-3, 8, n)),
            "distance": distance,
            "air_time": np.round(distance / 8 + rng.normal(20, 5, n)),
            "taxi_out": rng.integers(5, 40, n),
            "taxi_in": rng.integers(2, 20, n),
            "cancelled": rng.random(n) < 0.015,
            "diverted": rng.random(n) < 0.003,
            "flight_number": rng.integers(1, 7000, n),
        }
    )
    planes.to_csv(folder / "aircraft.csv", index=False)
    flights.to_csv(folder / "flights.csv", index=False)
    carriers.to_csv(folder / "carriers.csv", index=False)
    airports.to_csv(folder / "airports.csv", index=False)
    (folder / "schema.yaml").write_text(
        "tables:\n"
        "  aircraft: {primary_key: [tail]}\n"
        "  carriers: {primary_key: [code]}\n"
        "  airports: {primary_key: [iata]}\n"
        "  flights:\n"
        "    primary_key: [flight_id]\n"
        "    foreign_keys:\n"
        "      - {columns: [tail], references: {table: aircraft}}\n"
        "      - {columns: [carrier], references: {table: carriers}}\n"
        "      - {columns: [origin], references: {table: airports}}\n"
        "      - {columns: [dest], references: {table: airports}}\n"
    )


def _zipf(n: int, a: float) -> np.ndarray:
    weights = 1 / np.arange(1, n + 1) ** a
    return weights / weights.sum()


def _zipf_draw(rng: np.random.Generator, n: int, a: float, size: int) -> np.ndarray:
    return rng.choice(n, size, p=_zipf(n, a))


def config(cap: float) -> dict:
    return {
        "engine": "lstm",
        "params": {"seed": 0, "max_training_time_seconds": cap},
        "tables": {
            "carriers": {"original": True},
            "airports": {"original": True},
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cap", type=float, default=150.0, help="seconds per table")
    parser.add_argument("--aircraft", type=int, default=3300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-flat", action="store_true", help="skip the flat-table run")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="synthloom-flights-") as tmp:
        work = Path(tmp)
        make_database(work / "db", args.aircraft, args.seed)
        conf = config(args.cap)
        (work / "config.yaml").write_text(_yaml(conf))
        start = time.perf_counter()
        synth = RelationalSynthesizer(conf).fit(work / "db", work / "model")
        train = time.perf_counter() - start
        assert synth.timeline_ is not None
        schema, real = read_database(work / "db", conf)
        flights = real["flights"]
        print(
            f"aircraft {len(real['aircraft']):,} rows → flights {len(flights):,} rows, "
            f"{flights.shape[1]} columns; cap {args.cap:g} s per table; train {train:.0f} s"
        )
        for event in synth.timeline_.events:
            if event.stage == "training" and event.table:
                over = 100 * (event.seconds / args.cap - 1)
                print(f"  training {event.table:10s} {event.seconds:6.1f} s ({over:+.1f}% of cap)")
        command = [
            sys.executable, "-m", "synthloom", "relational", "generate",
            "--model-dir", str(work / "model"), "--destination", str(work / "out"), "--no-report",
        ]  # fmt: skip
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        wall = time.perf_counter() - start
        generated = pd.read_csv(work / "out" / "flights.csv")
        print(
            f"whole `relational generate`: {wall:.1f} s for {len(generated):,} flights rows, "
            f"{len(generated) / wall:,.0f} child rows/s"
        )
        fk = schema.tables["flights"].modelled_by
        assert fk is not None
        roots = pd.read_csv(work / "out" / "aircraft.csv")
        real_lengths = _lengths(flights, real["aircraft"], fk)
        made_lengths = _lengths(generated, roots, fk)
        print(
            f"aircraft {len(roots):,} generated ({len(real['aircraft']):,} real); flights per "
            f"aircraft: mean {made_lengths.mean():.2f} (real {real_lengths.mean():.2f}), "
            f"length accuracy {length_accuracy(real_lengths, made_lengths):.3f}"
        )
        columns = schema.tables["flights"].data_columns
        columns = [c for c in columns if c in generated.columns]
        as_child = tvd_accuracy(flights[columns], generated[columns]).univariate
        gained = [c for c in columns if generated[c].isna().any() and not flights[c].isna().any()]
        print(f"columns that gained missing values: {gained or 'none'}")
        flat: dict = {}
        if not args.no_flat:
            model = TableSynthesizer(seed=0, max_training_time_seconds=args.cap)
            model.fit(flights[columns], work / "flat")
            rows = model.generate(len(flights), seed=0)
            flat = tvd_accuracy(flights[columns], rows[columns]).univariate
        print(f"{'column':14s} {'as child':>9s} {'flat':>7s} {'diff':>7s}")
        for column in columns:
            line = f"{column:14s} {as_child[column]:9.3f}"
            if flat:
                line += f" {flat[column]:7.3f} {as_child[column] - flat[column]:+7.3f}"
            print(line)
        print(f"{'mean':14s} {np.mean(list(as_child.values())):9.3f}", end="")
        print(f" {np.mean(list(flat.values())):7.3f}" if flat else "")


def _lengths(child: pd.DataFrame, parents: pd.DataFrame, fk) -> np.ndarray:
    """Child rows per parent row, childless parents counted as 0."""
    counts = child.groupby(list(fk.columns)).size().rename("rows").reset_index()
    keys = parents[list(fk.parent_columns)]
    merged = keys.merge(
        counts, left_on=list(fk.parent_columns), right_on=list(fk.columns), how="left"
    )
    return merged["rows"].fillna(0).to_numpy()


def _yaml(conf: dict) -> str:
    import yaml

    return yaml.safe_dump(conf)


if __name__ == "__main__":
    main()
