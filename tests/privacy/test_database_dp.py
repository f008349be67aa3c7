"""Whole-database DP: a person is a root row with its child rows, one budget in all."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from synthloom.errors import ConfigError
from synthloom.relational import RelationalSynthesizer
from synthloom.relational.report import report_options

TINY = {"epochs": 1, "batch_size": 64, "rnn_units": 16, "embedding_dim": 8, "rnn_layers": 1}


def _database(folder, n=600, seed=0):
    rng = np.random.default_rng(seed)
    folder.mkdir()
    people = pd.DataFrame(
        {"id": range(n), "plan": rng.choice(["basic", "pro"], n), "age": rng.integers(18, 80, n)}
    )
    counts = rng.integers(0, 4, n)
    owner = np.repeat(people["id"].to_numpy(), counts)
    orders = pd.DataFrame(
        {
            "oid": range(len(owner)),
            "uid": owner,
            "item": rng.choice(["pen", "ink", "pad"], len(owner)),
            "price": rng.integers(1, 50, len(owner)),
        }
    )
    people.to_csv(folder / "people.csv", index=False)
    orders.to_csv(folder / "orders.csv", index=False)
    (folder / "schema.yaml").write_text(
        "tables:\n"
        "  people: {primary_key: [id]}\n"
        "  orders: {primary_key: [oid], foreign_keys: "
        "[{columns: [uid], references: {table: people, columns: [id]}}]}\n"
    )
    return folder


def test_database_under_dp_has_one_budget(tmp_path):
    folder = _database(tmp_path / "db")
    config = {"params": {"dp": True, "dp_epsilon": 40.0, "dp_delta": 1e-5, **TINY}}
    synth = RelationalSynthesizer(config).fit(folder, tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "model_params.json").read_text())
    account = meta["privacy"]
    assert set(account["tables"]) == {"people", "orders"}
    # each table spent at most its share; the whole at most the budget
    for spent in account["tables"].values():
        assert spent["epsilon"] <= (40.0 * 0.99) / 2 + 1e-9
        assert spent["delta"] <= 1e-5 / 2 + 1e-15
    parts = sum(t["epsilon"] for t in account["tables"].values())
    assert account["epsilon"] == pytest.approx(parts + 40.0 * 0.01)
    assert account["epsilon"] <= 40.0 + 1e-9 and account["delta"] <= 1e-5 + 1e-15
    assert "root row" in account["neighbouring"]
    child = json.loads((tmp_path / "m" / "tables" / "orders" / "training_summary.json").read_text())
    assert child["dp"] and "entity" in child["privacy"]["neighbouring"]
    assert any("parent's DP model" in item for item in child["privacy"]["public_inputs"])
    # the exact child row count is not published
    assert meta["plans"]["orders"]["rows"] is None
    tables = synth.generate(50, seed=0)
    assert synth.integrity_.share == 1.0
    assert tables["orders"]["uid"].isin(tables["people"]["id"]).all()
    assert set(tables["orders"]["item"].dropna()) <= {"pen", "ink", "pad"}
    # every table's report measures its attacks against the database's (ε, δ)
    scores = synth.report(tables, tmp_path / "r", options=report_options())
    assert scores["privacy"]["epsilon"] == pytest.approx(account["epsilon"])
    table_report = json.loads((tmp_path / "r" / "orders" / "report.json").read_text())
    assert table_report["privacy"]["claimed_epsilon"] == pytest.approx(account["epsilon"])


def test_database_dp_refuses_grandchildren_and_mixed_budgets(tmp_path):
    folder = _database(tmp_path / "db")
    lines = pd.DataFrame({"lid": range(4), "oid": [0, 0, 1, 2], "qty": [1, 2, 3, 4]})
    lines.to_csv(folder / "lines.csv", index=False)
    with open(folder / "schema.yaml", "a") as out:
        out.write(
            "  lines: {primary_key: [lid], foreign_keys: "
            "[{columns: [oid], references: {table: orders, columns: [oid]}}]}\n"
        )
    config = {"params": {"dp": True, **TINY}}
    with pytest.raises(ConfigError, match="not a direct child of the root people"):
        RelationalSynthesizer(config).fit(folder, tmp_path / "m")
    assert not (tmp_path / "m").exists()
    (folder / "lines.csv").unlink()
    own = {**config, "tables": {"orders": {"params": {"dp_epsilon": 2.0}}}}
    with pytest.raises(ConfigError, match="one budget"):
        RelationalSynthesizer(own).fit(folder, tmp_path / "m")
    flat = {**config, "tables": {"orders": {"sequential": False}}}
    with pytest.raises(ConfigError, match="must be learned as sequences"):
        RelationalSynthesizer(flat).fit(folder, tmp_path / "m")
