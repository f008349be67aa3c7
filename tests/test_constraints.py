"""Declared rules inside a row hold in every generated row (flights-like data made here)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthloom.constraints import Constraints, FixedCombinations, _parse
from synthloom.errors import ConfigError
from synthloom.relational import RelationalSynthesizer
from synthloom.synthesizers.table import TableSynthesizer

RULES = [
    {"type": "clock_time", "column": "sched_dep_time"},
    {"type": "clock_time", "column": "dep_time"},
    {"type": "formula", "column": "dep_delay", "expression": "dep_time - sched_dep_time"},
    {"type": "formula", "column": "hour", "expression": "sched_dep_time // 100"},
    {"type": "inequality", "low": "distance", "high": "air_distance"},
    {"type": "range", "column": "month", "min": 1, "max": 12},
    {"type": "fixed_combinations", "columns": ["carrier", "carrier_name"]},
]
TINY_LSTM = {"rnn_units": 32, "embedding_dim": 16, "rnn_layers": 1, "seed": 0, "epochs": 4}


def flights(n: int = 800, seed: int = 0) -> pd.DataFrame:
    """Departures in HHMM clock times, their delay and hour, two distances, a carrier."""
    rng = np.random.default_rng(seed)
    minutes = rng.integers(5 * 60, 23 * 60, n)
    sched = (minutes // 60) * 100 + minutes % 60
    late = minutes + rng.integers(-5, 40, n)
    dep = (late // 60) * 100 + late % 60
    carriers = rng.choice(["UA", "AA", "DL"], n, p=[0.5, 0.3, 0.2])
    names = {"UA": "United", "AA": "American", "DL": "Delta"}
    distance = rng.integers(200, 2500, n)
    return pd.DataFrame(
        {
            "flight": np.arange(n),
            "month": rng.integers(1, 13, n),
            "sched_dep_time": sched,
            "dep_time": dep,
            "dep_delay": dep - sched,
            "hour": sched // 100,
            "distance": distance,
            "air_distance": distance + rng.integers(0, 60, n),
            "carrier": carriers,
            "carrier_name": [names[c] for c in carriers],
        }
    )


def kept_share(frame: pd.DataFrame, rule: dict) -> float:
    """The share of rows keeping one rule."""
    constraints = Constraints.from_config([rule])
    if rule["type"] == "fixed_combinations":
        real = {("UA", "United"), ("AA", "American"), ("DL", "Delta")}
        pairs = zip(frame["carrier"], frame["carrier_name"], strict=True)
        return float(np.mean([p in real for p in pairs]))
    return float(constraints.rules[0].holds(frame).mean())


@pytest.mark.parametrize("engine", ["amplify", "lstm"])
def test_every_generated_row_keeps_every_rule(tmp_path: Path, engine: str) -> None:
    real = flights()
    options = {"constraints": RULES, "seed": 0} | (TINY_LSTM if engine == "lstm" else {})
    synth = TableSynthesizer(engine=engine, **options).fit(real, tmp_path / "m")
    out = synth.generate(400, seed=1)
    assert list(out.columns) == list(real.columns)
    for rule in RULES:
        assert kept_share(out, rule) == 1.0, rule
    assert out["sched_dep_time"].between(0, 2359).all()
    assert (out["dep_time"] % 100 < 60).all() and str(out["hour"].dtype) in ("int64", "Int64")
    again = TableSynthesizer.load(tmp_path / "m").generate(200, seed=2)  # the state is saved
    assert all(kept_share(again, rule) == 1.0 for rule in RULES)


def test_a_child_table_keeps_its_rules(tmp_path: Path) -> None:
    folder = tmp_path / "db"
    folder.mkdir()
    child = flights(600)
    airports = pd.DataFrame({"code": ["JFK", "EWR", "LGA"], "city": ["NY", "Newark", "NY"]})
    child["origin"] = np.random.default_rng(1).choice(airports["code"], len(child))
    child.to_csv(folder / "flight.csv", index=False)
    airports.to_csv(folder / "airport.csv", index=False)
    rules = [r for r in RULES if r["type"] != "fixed_combinations"]
    config = {
        "engine": "amplify",
        "params": {"seed": 0},
        "tables": {
            "airport": {"primary_key": ["code"]},
            "flight": {
                "primary_key": ["flight"],
                "foreign_keys": [{"columns": ["origin"], "references": {"table": "airport"}}],
                "constraints": rules,
            },
        },
    }
    synth = RelationalSynthesizer(config).fit(str(folder), tmp_path / "m")
    out = synth.generate(3, seed=0)["flight"]
    assert len(out) > 0 and all(kept_share(out, rule) == 1.0 for rule in rules)


def test_bad_rules_are_one_line_errors() -> None:
    with pytest.raises(ValueError, match="column names, numbers"):
        _parse("__import__('os').system('x')")
    with pytest.raises(ConfigError, match=r"names \['nope'\]"):
        Constraints.from_config([{"type": "clock_time", "column": "nope"}]).check(["a"], False)
    fixed = Constraints([FixedCombinations(type="fixed_combinations", columns=["a", "b"])])
    with pytest.raises(ConfigError, match="outside differential privacy"):
        fixed.check(["a", "b"], dp=True)
    with pytest.raises(ConfigError, match="constraints"):
        TableSynthesizer(constraints=[{"type": "formula", "column": "x", "expression": "a -"}])


def test_rules_the_data_keeps_are_suggested() -> None:
    from synthloom.relational.profile import suggest_constraints

    found = suggest_constraints(flights(3000))
    assert {"type": "clock_time", "column": "sched_dep_time"} in found
    assert {"type": "inequality", "low": "distance", "high": "air_distance"} in found
    formulas = [f for f in found if f["type"] == "formula"]
    assert formulas == [
        {"type": "formula", "column": "dep_delay", "expression": "dep_time - sched_dep_time"}
    ]
    assert not any(f.get("low") == "month" for f in found)  # true, but no one's rule
    broken = flights(3000)
    broken.loc[:100, "dep_delay"] += 7  # 3% of rows break it: not suggested
    assert not [f for f in suggest_constraints(broken) if f["type"] == "formula"]
