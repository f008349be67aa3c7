"""Training and generation on real databases: keys, originals, counts, model dir."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pandas as pd
import pytest

from synthloom.errors import ModelDirError
from synthloom.relational import RelationalSynthesizer, check_integrity

from .conftest import CHINOOK, chinook_config


def _chinook(table: str) -> pd.DataFrame:
    with sqlite3.connect(CHINOOK) as conn:
        return pd.read_sql(f'SELECT * FROM "{table}"', conn)


def test_chinook_keys_are_new_and_all_valid(chinook_model):
    tables = chinook_model.generate(30, seed=1)
    report = check_integrity(chinook_model.schema, tables)
    assert report.ok and report.share == 1.0
    assert chinook_model.integrity_.ok
    employee = tables["employee"]
    assert len(employee) == 30
    assert employee["id"].tolist() == list(range(1, 31))
    # every child row points to an existing parent row
    assert tables["customer"]["support_rep"].isin(employee["id"]).all()
    assert tables["invoice"]["customer"].isin(tables["customer"]["id"]).all()
    assert tables["invoiceline"]["invoice"].isin(tables["invoice"]["id"]).all()
    # a second parent (an original table) is matched to existing rows
    assert tables["invoiceline"]["track"].isin(_chinook("track")["id"]).all()
    assert set(tables) == set(chinook_model.schema.tables)


def test_self_reference_is_a_valid_hierarchy(chinook_model):
    employee = chinook_model.generate(40, seed=2)["employee"]
    manager = employee["reports_to"]
    assert manager.isna().sum() >= 1  # the real data has a top manager
    assert manager.dropna().isin(employee["id"]).all()
    # referenced rows come first: no cycles, rows can be inserted in order
    assert (manager.dropna().astype(int) < employee.loc[manager.notna(), "id"]).all()


def test_originals_are_copied_unchanged(chinook_model):
    tables = chinook_model.generate(5, seed=3)
    for name in ["track", "album", "artist", "genre", "mediatype"]:
        real = _chinook(name)
        fake = tables[name]
        assert len(fake) == len(real)
        for column in real.columns:
            assert fake[column].astype(str).tolist() == real[column].astype(str).tolist(), (
                name,
                column,
            )


def test_children_follow_the_number_of_root_rows(chinook_model):
    small = chinook_model.generate(10, seed=4)
    large = chinook_model.generate(80, seed=4)
    assert len(large["customer"]) > 3 * len(small["customer"])
    # customers per employee: the real ones spread over 3 of 8 employees
    per_employee = large["customer"].groupby("support_rep").size()
    assert per_employee.reindex(large["employee"]["id"], fill_value=0).eq(0).any()
    lines = large["invoiceline"].groupby("invoice").size()
    real_lines = _chinook("invoiceline").groupby("invoice").size()
    assert abs(lines.mean() - real_lines.mean()) < 2.5


def test_generation_is_reproducible_and_survives_loading(chinook_model):
    again = RelationalSynthesizer.load(chinook_model.model_dir)
    first = chinook_model.generate(12, seed=7)
    second = again.generate(12, seed=7)
    for name in first:
        pd.testing.assert_frame_equal(first[name], second[name], check_dtype=False)


def test_model_dir_holds_json_status_and_no_pickles(chinook_model):
    directory = chinook_model.model_dir
    meta = json.loads((directory / "model_params.json").read_text())
    assert meta["data_kind"] == "relational"
    steps = json.loads((directory / "status.json").read_text())["steps"]
    stages = [(s["stage"], s["table"]) for s in steps]
    assert stages[:2] == [("loading", None), ("preprocessing", None)]
    assert ("training", "invoiceline") in stages
    assert all(s["status"] == "done" and s["seconds"] is not None for s in steps)
    complexity = json.loads((directory / "complexity.json").read_text())
    assert complexity["verdict"] in ("positive", "negative") and complexity["notes"]
    assert "employee has only 8 rows" in " ".join(complexity["notes"])
    files = [p.name for p in directory.rglob("*") if p.is_file()]
    assert not [f for f in files if f.endswith((".pkl", ".pickle", ".pt"))]
    chinook_model.generate(3, seed=0)
    generation = json.loads((directory / "generation_status.json").read_text())["steps"]
    assert [s["table"] for s in generation][-1] == "integrity check"


def test_existing_model_dir_is_kept_without_overwrite(chinook_model, tmp_path):
    directory = chinook_model.model_dir
    before = (directory / "model_params.json").read_text()
    with pytest.raises(ModelDirError, match=r"already holds files.*--overwrite"):
        RelationalSynthesizer(chinook_config()).fit(CHINOOK, directory)
    assert (directory / "model_params.json").read_text() == before
    RelationalSynthesizer.load(directory).generate(2, seed=0)


def test_keep_and_exclude_columns(tmp_path):
    config = chinook_config(include_tables=["employee", "customer"])
    config["tables"]["customer"]["columns"] = {"country": "keep", "fax": "exclude"}
    synth = RelationalSynthesizer(config).fit(CHINOOK, tmp_path / "m")
    customer = synth.generate(20, seed=0)["customer"]
    assert "fax" not in customer.columns
    assert set(customer["country"]) <= set(_chinook("customer")["country"])


def test_lahman_composite_keys(lahman_model, lahman_folder):
    tables = lahman_model.generate(60, seed=0)
    assert lahman_model.integrity_.share == 1.0
    teams = tables["Teams"]
    assert not teams.duplicated(["yearID", "teamID"]).any()
    # the year is learned as data, the team id is new: keys stay meaningful and unique
    real_teams = pd.read_csv(lahman_folder / "Teams.csv")
    assert teams["yearID"].between(real_teams.yearID.min(), real_teams.yearID.max()).all()
    team_keys = set(zip(teams.yearID, teams.teamID, strict=True))
    for child in ("Batting", "Salaries"):
        frame = tables[child]
        assert len(frame) > 0
        pairs = set(zip(frame.yearID, frame.teamID, strict=True))
        assert pairs <= team_keys
        assert frame["playerID"].isin(tables["People"]["playerID"]).all()
    assert tables["People"]["playerID"].is_unique
    franchises = pd.read_csv(lahman_folder / "TeamsFranchises.csv")
    pd.testing.assert_frame_equal(
        tables["TeamsFranchises"].reset_index(drop=True).astype(str),
        franchises.astype(str).replace("nan", "<NA>"),
        check_dtype=False,
    )
    assert teams["franchID"].isin(franchises.franchID).all()


def test_lahman_children_per_parent_follow_the_parent(lahman_model, lahman_folder):
    tables = lahman_model.generate(150, seed=1)
    real = pd.read_csv(lahman_folder / "Batting.csv").groupby("playerID").size()
    fake = tables["Batting"].groupby("playerID").size()
    assert 0.5 < fake.mean() / real.mean() < 2.0
    # Batting years are matched to teams of the same year, near the player's era
    batting = tables["Batting"].merge(tables["People"][["playerID", "birthYear"]], on="playerID")
    age = (batting["yearID"] - batting["birthYear"]).astype(float)
    assert 20 < np.nanmedian(age) < 40


def test_relational_report(lahman_model, lahman_folder, tmp_path):
    from synthloom.relational import build_relational_report, read_database

    schema, real = read_database(lahman_folder, lahman_model.config)
    synthetic = lahman_model.generate(len(real["People"]), seed=0)
    scores = build_relational_report(
        real, synthetic, schema, tmp_path / "report", per_table_reports=False
    )
    assert (tmp_path / "report" / "relational_report.json").is_file()
    assert scores["referential_integrity"] == 1.0
    counts = scores["children_per_parent"]
    assert set(counts) >= {"Batting.playerID->People", "Batting.yearID+teamID->Teams"}
    assert all(0 <= c["ks_complement"] <= 1 for c in counts.values())
    assert counts["Batting.playerID->People"]["ks_complement"] > 0.7
    assert set(scores["tvd_accuracy"]) == {"People", "Teams", "Batting", "Salaries"}
    assert all(v > 0.6 for v in scores["tvd_accuracy"].values())
    links = scores["parent_child_correlations"]
    assert "Batting.playerID->People" in links and links["Batting.playerID->People"]["top_pairs"]


@pytest.mark.parametrize("sequential", [True, False])
def test_lstm_engine_children(tmp_path, sequential):
    """The LSTM path: children as sequences per parent, or row by row seeded with parent
    context and sibling position (sequential: false)."""
    config = chinook_config(
        engine="lstm",
        include_tables=["employee", "customer", "invoice"],
        params={
            "epochs": 1,
            "rnn_units": 16,
            "embedding_dim": 8,
            "rnn_layers": 1,
            "batch_size": 64,
            "seed": 0,
        },
    )
    config["tables"]["invoice"]["sequential"] = sequential
    synth = RelationalSynthesizer(config).fit(CHINOOK, tmp_path / "lstm")
    plan = synth.plans["invoice"]
    assert plan.sequential is sequential
    if not sequential:
        assert plan.seed_fields[-2:] == ["__sibling_index", "__siblings"]
    else:
        assert "invoice.customer->customer" not in plan.counts  # the sequence's end decides
    tables = synth.generate(6, seed=0)
    assert synth.integrity_.share == 1.0
    assert tables["invoice"]["customer"].isin(tables["customer"]["id"]).all()
    assert set(tables["invoice"].columns) == set(_chinook("invoice").columns)


def test_dp_single_table_publishes_only_released_counts(tmp_path):
    rng = np.random.default_rng(0)
    folder = tmp_path / "db"
    folder.mkdir()
    n = 400
    pd.DataFrame(
        {"id": range(n), "plan": rng.choice(["basic", "pro"], n), "age": rng.integers(18, 80, n)}
    ).to_csv(folder / "users.csv", index=False)
    (folder / "schema.yaml").write_text("tables: {users: {primary_key: [id]}}\n")
    config = {
        "params": {"dp": True, "epochs": 1, "batch_size": 50, "rnn_units": 16,
                   "embedding_dim": 8, "rnn_layers": 1, "dp_epsilon": 8.0},
    }
    synth = RelationalSynthesizer(config).fit(folder, tmp_path / "m")
    summary = json.loads(next((tmp_path / "m").rglob("training_summary.json")).read_text())
    released = summary["training_records"]
    assert summary["dp"] and released == summary["privacy"]["training_records_released"]
    meta = json.loads((tmp_path / "m" / "model_params.json").read_text())
    assert any("complexity.json" in item for item in meta["privacy_not_covered"])
    assert synth.plans["users"].rows == released
    users = synth.generate(seed=0)["users"]
    assert len(users) == released
