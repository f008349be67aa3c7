"""Value protection: does a rare person's category or extreme value come out?

Usage: python benchmarks/protection.py [--rows 5000] [--time-cap 30] [--records 20000]

A made-up table of ``--rows`` people in which one record holds a unique city and an
income 200 times the others', and another a birth date 60 years before anyone's. Each
engine (LSTM at ``--time-cap`` seconds, amplify) is trained with value protection on and
off; the script prints, per run, how many of ``--records`` generated rows hold the unique
city, an income above the second-largest real one, or a date before the second-earliest.
With protection on all three must be 0.

Adult's accuracy with protection on and off is measured by the Adult benchmark:
    python benchmarks/adult.py --time-cap 60
    python benchmarks/adult.py --time-cap 60 --set value_protection=false
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from synthloom.synthesizers.table import TableSynthesizer


def people(n: int) -> pd.DataFrame:
    """``n`` people; row 0 is the rare one, row 1 the one born long before the rest."""
    rng = np.random.default_rng(0)
    city = rng.choice(["Lyon", "Oslo", "Rome", "Bern", "Riga"], n).astype(object)
    age = rng.integers(18, 80, n)
    income = (20_000 + 600 * age + rng.normal(0, 8_000, n)).round()
    days = rng.integers(0, 20_000, n)
    days[1] = -22_000  # 60 years before anyone else
    born = pd.Timestamp("1950-01-01") + pd.to_timedelta(days, unit="D")
    city[0], income[0] = "Vaduz", 12_000_000.0
    return pd.DataFrame({"city": city, "age": age, "income": income, "born": born})


def leaks(real: pd.DataFrame, synthetic: pd.DataFrame) -> dict[str, int]:
    """Generated rows that show the rare person's category or the two extremes."""
    second_income = real["income"].nlargest(2).iloc[-1]
    second_born = real["born"].nsmallest(2).iloc[-1]
    return {
        "unique_city": int((synthetic["city"] == "Vaduz").sum()),
        "income_above_2nd_largest": int((synthetic["income"] > second_income).sum()),
        "born_before_2nd_earliest": int((pd.to_datetime(synthetic["born"]) < second_born).sum()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--time-cap", type=float, default=30.0)
    parser.add_argument("--records", type=int, default=20_000)
    args = parser.parse_args()
    real = people(args.rows)
    for engine in ("lstm", "amplify"):
        for protect in (True, False):
            synth = TableSynthesizer(
                engine=engine,
                seed=0,
                max_training_time_seconds=args.time_cap,
                value_protection=protect,
            )
            synth.fit(real, Path(tempfile.mkdtemp()) / "model")
            synthetic = synth.generate(args.records, seed=1)
            found = leaks(real, synthetic)
            state = "on " if protect else "off"
            print(
                f"{engine:8s} protection {state}: "
                + ", ".join(f"{k} {v}" for k, v in found.items())
                + f" (of {args.records:,} rows)"
            )


if __name__ == "__main__":
    main()
