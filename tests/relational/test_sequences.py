"""Child tables as sequences, lookup references as learned values, types kept, orphans told."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
import yaml

from synthloom.errors import ConfigError
from synthloom.relational import RelationalSynthesizer, build_relational_report, read_database
from synthloom.relational.destinations import write_tables
from synthloom.relational.report_metrics import child_sequences, lookup_references
from tests.conftest import CHINOOK
from tests.relational.conftest import chinook_config

TINY_LSTM = {"rnn_units": 32, "embedding_dim": 16, "rnn_layers": 1, "seed": 0}


def _clinic(folder, n_patients=150, orphans=0, missing_parent=0):
    """Patients with a plan that sets how many visits they get; visits in date order, one
    ward per patient, a lookup of 40 doctors of whom 3 take every visit."""
    rng = np.random.default_rng(0)
    folder.mkdir()
    plans = rng.choice(["basic", "gold"], n_patients)
    patients = pd.DataFrame({"id": np.arange(n_patients), "plan": plans})
    doctors = pd.DataFrame({"id": np.arange(100, 140), "name": [f"dr{i}" for i in range(40)]})
    rows = []
    for pid, plan in zip(patients.id, plans, strict=True):
        start = pd.Timestamp("2023-01-01") + pd.Timedelta(days=int(rng.integers(0, 300)))
        ward = rng.choice(["A", "B", "C"])
        for i in range(1 if plan == "basic" else 4):
            rows.append(
                {
                    "patient": pid,
                    "day": start + pd.Timedelta(days=7 * i + int(rng.integers(0, 3))),
                    "ward": ward,
                    "doctor": int(rng.choice([101, 117, 133], p=[0.6, 0.3, 0.1])),
                    "cost": int(rng.integers(1, 9)) * 10,
                }
            )
    visits = pd.DataFrame(rows).sample(frac=1.0, random_state=0)  # not in date order
    extra = []
    for i in range(orphans):
        extra.append(
            {
                "patient": 10_000 + i,
                "day": pd.Timestamp("2023-05-01"),
                "ward": "A",
                "doctor": 101,
                "cost": 10,
            }
        )
    for _ in range(missing_parent):
        extra.append(
            {
                "patient": None,
                "day": pd.Timestamp("2023-05-01"),
                "ward": "A",
                "doctor": 101,
                "cost": 10,
            }
        )
    visits = pd.concat([visits, pd.DataFrame(extra)], ignore_index=True)
    visits.insert(0, "id", np.arange(len(visits)))
    patients.to_csv(folder / "patient.csv", index=False)
    doctors.to_csv(folder / "doctor.csv", index=False)
    visits.to_csv(folder / "visit.csv", index=False)
    schema = {
        "tables": {
            "patient": {"primary_key": ["id"]},
            "doctor": {"primary_key": ["id"]},
            "visit": {
                "primary_key": ["id"],
                "foreign_keys": [
                    {"columns": ["patient"], "references": {"table": "patient"}},
                    {"columns": ["doctor"], "references": {"table": "doctor"}},
                ],
            },
        }
    }
    (folder / "schema.yaml").write_text(yaml.safe_dump(schema), encoding="utf-8")
    return folder


def _config(engine="lstm", **visit):
    return {
        "engine": engine,
        "params": {**TINY_LSTM, "epochs": 40},
        "tables": {"doctor": {"original": True}, "visit": {"order_by": ["day"], **visit}},
    }


@pytest.fixture(scope="module")
def clinic(tmp_path_factory):
    return _clinic(tmp_path_factory.mktemp("clinic") / "db")


@pytest.fixture(scope="module")
def clinic_model(clinic, tmp_path_factory):
    model_dir = tmp_path_factory.mktemp("clinic_model") / "m"
    RelationalSynthesizer(_config()).fit(clinic, model_dir)
    return model_dir


def test_children_are_sequences_of_their_parent(clinic, clinic_model):
    synth = RelationalSynthesizer.load(clinic_model)
    assert synth.plans["visit"].sequential
    tables = synth.generate(60, seed=0)
    assert synth.integrity_.share == 1.0
    visits = tables["visit"].merge(tables["patient"], left_on="patient", right_on="id")
    per_patient = visits.groupby("patient")
    # every patient's visits in date order and on one ward, as in the real data
    assert per_patient["day"].apply(lambda d: d.is_monotonic_increasing).all()
    assert (per_patient["ward"].nunique() == 1).all()
    counts = tables["patient"].set_index("id").join(per_patient.size().rename("n")).fillna(0)
    expected = counts["plan"].map({"basic": 1, "gold": 4})
    assert (counts["n"] == expected).mean() >= 0.8  # the plan decides the number of visits
    schema, real = read_database(clinic, _config())
    scores = child_sequences(real, tables, schema, {"visit": ["day"]})["visit.patient->patient"]
    assert scores["ordered"]["day"]["synthetic"]["non_decreasing"] == 1.0
    assert scores["constant_within_entity"]["ward"]["synthetic"] == 1.0


@pytest.mark.parametrize("engine", ["lstm", "amplify"])
def test_lookup_references_keep_their_distribution(clinic, clinic_model, tmp_path, engine):
    """Three of forty doctors take every visit: the synthetic visits say so too."""
    if engine == "lstm":
        synth = RelationalSynthesizer.load(clinic_model)
    else:
        synth = RelationalSynthesizer(_config("amplify")).fit(clinic, tmp_path / "amplify")
    tables = synth.generate(150, seed=0)
    assert synth.integrity_.share == 1.0
    assert set(tables["visit"]["doctor"]) <= {101, 117, 133}
    schema, real = read_database(clinic, _config(engine))
    accuracy = lookup_references(real, tables, schema)["visit.doctor->doctor"]
    assert accuracy >= 0.9
    pd.testing.assert_frame_equal(tables["doctor"], real["doctor"])


def test_orphans_and_missing_parents_are_both_counted(tmp_path):
    folder = _clinic(tmp_path / "db", n_patients=40, orphans=7, missing_parent=5)
    schema, _ = read_database(folder, _config("amplify"))
    (note,) = [n for n in schema.left_out_notes() if "→ patient" in n]
    assert "rows match no patient row, 5 have none; 12 left out of training" in note
    assert "7 of " in note


def test_the_report_and_timeline_count_the_rows_left_out(tmp_path):
    folder = _clinic(tmp_path / "db", n_patients=40, orphans=7, missing_parent=5)
    synth = RelationalSynthesizer(_config("amplify")).fit(folder, tmp_path / "m")
    loading = next(e for e in synth.timeline_.events if e.stage == "loading")
    assert "12 left out (references to no parent row)" in loading.detail
    real = synth.real_tables(folder)
    scores = build_relational_report(
        real, synth.generate(40, seed=0), synth.schema, tmp_path / "r", per_table_reports=False
    )
    assert scores["tables"]["visit"]["rows_left_out"] == 12
    page = (tmp_path / "r" / "relational_report.html").read_text()
    assert "(+12 left out)" in page and "12 left out of training" in page


def test_database_destination_keeps_declared_types(tmp_path):
    source = tmp_path / "chinook.sqlite"
    shutil.copy(CHINOOK, source)
    synth = RelationalSynthesizer(chinook_config(engine="amplify")).fit(source, tmp_path / "m")
    tables = synth.generate(20, seed=0)
    target = tmp_path / "out.sqlite"
    write_tables(tables, synth.schema, f"sqlite:///{target}")
    before = sa.inspect(sa.create_engine(f"sqlite:///{source}"))
    after = sa.inspect(sa.create_engine(f"sqlite:///{target}"))
    declared = {
        name: {c["name"]: str(c["type"]) for c in before.get_columns(name)}
        for name in synth.schema.tables
    }
    for name, table in synth.schema.tables.items():
        expected = dict(declared[name])
        for fk in table.foreign_keys:  # a foreign key takes its parent key's type
            for column, key in zip(fk.columns, fk.parent_columns, strict=True):
                expected[column] = declared[fk.parent][key]
        written = {c["name"]: str(c["type"]) for c in after.get_columns(name)}
        assert written == {c: expected[c] for c in written}, name
    for name in synth.schema.originals:  # original tables: same values, same types
        query = f'SELECT * FROM "{name}" ORDER BY 1'
        real = pd.read_sql(query, sa.create_engine(f"sqlite:///{source}"))
        copy = pd.read_sql(query, sa.create_engine(f"sqlite:///{target}"))
        pd.testing.assert_frame_equal(copy, real[copy.columns], check_dtype=True)


def test_order_by_must_name_a_learned_column(clinic, tmp_path):
    from synthloom.errors import ConfigError

    with pytest.raises(ConfigError, match="order_by"):
        RelationalSynthesizer(_config(order_by=["patient"])).fit(clinic, tmp_path / "m")
    assert not (tmp_path / "m").exists()


def test_column_kinds_per_table(tmp_path):
    """A relational table's column can be spelled (names, emails): new values come out."""
    config = chinook_config(engine="lstm", include_tables=["employee", "customer"])
    config["params"] = {**TINY_LSTM, "epochs": 1}
    config["tables"]["customer"]["column_kinds"] = {"company": "string"}
    synth = RelationalSynthesizer(config).fit(CHINOOK, tmp_path / "m")
    summary = (tmp_path / "m" / "tables" / "customer" / "training_summary.json").read_text()
    assert '"company": "string"' in summary
    # value protection ran on the table's own columns, never on the parent's context
    protected = {p["column"] for p in json.loads(summary)["value_protection"]}
    assert protected and not any(c.startswith("__") for c in protected)
    assert list(synth.value_protection()["customer"]) == json.loads(summary)["value_protection"]
    from synthloom.errors import ConfigError

    config["tables"]["customer"]["column_kinds"] = {"id": {"value_protection": True}}
    with pytest.raises(ConfigError, match="key columns, regenerated"):
        RelationalSynthesizer(config).fit(CHINOOK, tmp_path / "m3")
    config["tables"]["customer"]["column_kinds"] = {"nope": "string"}

    with pytest.raises(ConfigError, match="column_kinds"):
        RelationalSynthesizer(config).fit(CHINOOK, tmp_path / "m2")
    assert synth.integrity_ is None or synth.integrity_.share == 1.0


def test_column_settings_per_table(tmp_path):
    """A root table's spelled column takes its own loss weight and temperature; a
    sequential child's cannot (one line naming the setting), nor can a treatment."""
    config = chinook_config(engine="lstm", include_tables=["employee", "customer"])
    config["params"] = {**TINY_LSTM, "epochs": 1}
    config["tables"]["employee"]["column_kinds"] = {
        "email": {"kind": "string", "loss_weight": 2.5, "gen_temp": 0.8}
    }
    RelationalSynthesizer(config).fit(CHINOOK, tmp_path / "m")
    params = json.loads((tmp_path / "m" / "tables" / "employee" / "model_params.json").read_text())
    email = params["config"]["columns"]["email"]
    assert (email["kind"], email["loss_weight"], email["gen_temp"]) == ("string", 2.5, 0.8)
    assert 2.5 in params["parts"][0]["model_shape"]["loss_weights"]
    config["tables"]["customer"]["column_kinds"] = {"company": {"loss_weight": 2}}
    with pytest.raises(ConfigError, match="loss_weight"):
        RelationalSynthesizer(config).fit(CHINOOK, tmp_path / "m2")
    config["tables"]["customer"]["column_kinds"] = {"company": "keep"}
    with pytest.raises(ConfigError, match="under its columns"):
        RelationalSynthesizer(config)


def test_sequences_without_parent_context(clinic, tmp_path):
    """context_size: 0 — every parent still gets a sequence (its number of children)."""
    config = _config()
    config["context_size"] = 0
    config["params"]["epochs"] = 2
    synth = RelationalSynthesizer(config).fit(clinic, tmp_path / "m")
    assert synth.plans["visit"].context == []
    tables = synth.generate(30, seed=0)
    assert synth.integrity_.share == 1.0
    assert len(tables["visit"]) > 0


def test_a_sequential_child_reads_more_parent_columns_by_default(tmp_path):
    """Unset context_size: a sequence (context read once per parent) is conditioned on up
    to 10 parent columns, a child learned row by row on 3; a set value holds for both."""
    rng = np.random.default_rng(0)
    folder = tmp_path / "db"
    folder.mkdir()
    parent = pd.DataFrame({"id": np.arange(60)})
    for name in "abcde":
        parent[name] = rng.choice(["x", "y", "z"], 60)
    child = pd.DataFrame({"owner": rng.integers(0, 60, 200), "v": rng.integers(0, 4, 200)})
    child.insert(0, "id", np.arange(200))
    parent.to_csv(folder / "owner.csv", index=False)
    child.to_csv(folder / "item.csv", index=False)
    schema = {
        "tables": {
            "owner": {"primary_key": ["id"]},
            "item": {
                "primary_key": ["id"],
                "foreign_keys": [{"columns": ["owner"], "references": {"table": "owner"}}],
            },
        }
    }
    (folder / "schema.yaml").write_text(yaml.safe_dump(schema), encoding="utf-8")

    def context(**config):
        config = {"engine": "lstm", "params": {**TINY_LSTM, "epochs": 1}, **config}
        model_dir = tmp_path / f"m{len(list(tmp_path.iterdir()))}"
        synth = RelationalSynthesizer(config).fit(folder, model_dir)
        return synth.plans["item"].context

    assert len(context()) == 5
    assert len(context(tables={"item": {"sequential": False}})) == 3
    assert len(context(context_size=2)) == 2


def test_a_database_conditioned_on_root_and_child_columns(clinic, clinic_model):
    """Root seed rows become the patients (in order, new keys); each child seed row is
    one of its patient's first visits with the given values, the rest drawn as learned."""
    synth = RelationalSynthesizer.load(clinic_model)
    patients = pd.DataFrame({"id": [7, 8, 9, 10], "plan": ["gold", "gold", "basic", "gold"]})
    visits = pd.DataFrame(
        {"patient": [7, 8, 8, 10], "doctor": [133, 133, 117, 133], "ward": ["C", "B", "B", "A"]}
    )
    tables = synth.generate(seed=0, seeds={"patient": patients, "visit": visits})
    assert synth.integrity_.share == 1.0
    assert tables["patient"]["plan"].tolist() == ["gold", "gold", "basic", "gold"]
    made = tables["visit"].merge(tables["patient"], left_on="patient", right_on="id")
    by_patient = {k: g for k, g in made.groupby("patient", sort=False)}
    ids = tables["patient"]["id"].tolist()
    first = by_patient[ids[0]]
    assert first["doctor"].iloc[0] == 133 and (first["ward"] == "C").all()
    second = by_patient[ids[1]]
    assert second["doctor"].iloc[:2].tolist() == [133, 117] and (second["ward"] == "B").all()
    assert len(by_patient[ids[0]]) >= 1 and len(second) >= 2
    assert (by_patient[ids[3]]["ward"] == "A").all()


def test_database_seeds_bad_input_is_one_line(clinic, clinic_model):
    from synthloom.errors import DataError

    synth = RelationalSynthesizer.load(clinic_model)
    root = pd.DataFrame({"id": [1], "plan": ["gold"]})
    cases = {
        "not tables of the model": {"ward": root},
        "give seeds for the root": {"visit": pd.DataFrame({"patient": [1], "cost": [10]})},
        "not among the root seeds": {
            "patient": root,
            "visit": pd.DataFrame({"patient": [2], "cost": [10]}),
        },
        "not columns of patient": {"patient": root.assign(colour="red")},
        "only the root table": {"patient": root, "doctor": pd.DataFrame({"id": [101]})},
    }
    for message, seeds in cases.items():
        with pytest.raises(DataError, match=message):
            synth.generate(seed=0, seeds=seeds)


def test_relational_generate_takes_seed_files(clinic_model, tmp_path):
    """--seeds TABLE=FILE on the CLI; a bad seed file is one line, exit 2, nothing written."""
    from typer.testing import CliRunner

    from synthloom.cli import app

    pd.DataFrame({"patient": ["a", "a"], "cost": [70, 80]}).to_csv(tmp_path / "v.csv", index=False)
    pd.DataFrame({"id": ["a"], "plan": ["gold"]}).to_csv(tmp_path / "p.csv", index=False)
    args = ["relational", "generate", "--model-dir", str(clinic_model), "--no-report"]
    seeds = ["--seeds", f"patient={tmp_path / 'p.csv'}", "--seeds", f"visit={tmp_path / 'v.csv'}"]
    result = CliRunner().invoke(app, [*args, "--destination", str(tmp_path / "out"), *seeds])
    assert result.exit_code == 0, result.output
    patients = pd.read_csv(tmp_path / "out" / "patient.csv")
    visits = pd.read_csv(tmp_path / "out" / "visit.csv").sort_values("day")
    assert patients["plan"].tolist() == ["gold"]
    assert visits["cost"].iloc[:2].tolist() == [70, 80]
    pd.DataFrame({"patient": ["z"], "cost": [70]}).to_csv(tmp_path / "bad.csv", index=False)
    bad = ["--seeds", f"patient={tmp_path / 'p.csv'}", "--seeds", f"visit={tmp_path / 'bad.csv'}"]
    result = CliRunner().invoke(app, [*args, "--destination", str(tmp_path / "no"), *bad])
    assert result.exit_code == 2 and "not among the root seeds" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "no").exists()
