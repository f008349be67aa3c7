"""Schema validation: every broken rule is a one-line error naming problem and fix."""

from __future__ import annotations

import re
import sqlite3

import numpy as np
import pandas as pd
import pytest

from synthloom.errors import ConfigError, DataError
from synthloom.relational import RelationalSynthesizer, parse_relational_config
from synthloom.relational.schema import build_schema
from synthloom.relational.sources import read_source

from .conftest import CHINOOK, chinook_config


def _schema(config: dict, frames: dict[str, pd.DataFrame] | None = None):
    parsed = parse_relational_config(config)
    if frames is None:
        data = read_source(CHINOOK, parsed)
        return build_schema(data.frames, data.keys, parsed, data.all_tables)
    return build_schema(frames, {}, parsed, frames)


def _fk(columns, table, parent_columns=None):
    references = {"table": table}
    if parent_columns:
        references["columns"] = parent_columns
    return {"columns": columns, "references": references}


def test_chinook_schema_from_config_keys():
    schema, frames = _schema(chinook_config())
    assert schema.root == "employee"
    assert schema.order == ["employee", "customer", "invoice", "invoiceline"]
    assert set(schema.originals) == {"track", "album", "artist", "genre", "mediatype"}
    employee = schema.tables["employee"]
    assert [fk.self_reference for fk in employee.foreign_keys] == [True]
    invoiceline = schema.tables["invoiceline"]
    assert [fk.parent for fk in invoiceline.foreign_keys] == ["invoice", "track"]
    assert invoiceline.modelled_by.parent == "invoice"  # the synthesized parent
    assert "reports_to" not in employee.data_columns and "id" not in employee.data_columns
    assert schema.depth() == 4
    with sqlite3.connect(CHINOOK) as conn:
        (tracks,) = conn.execute("SELECT COUNT(*) FROM track").fetchone()
    assert len(frames["track"]) == tracks > 0  # every row is read


def test_unknown_config_key_is_named():
    with pytest.raises(ConfigError, match=r"unknown key 'primary_keys'.*primary_key"):
        parse_relational_config({"tables": {"employee": {"primary_keys": ["id"]}}})
    with pytest.raises(ConfigError, match=r"unknown key 'engin'.*engine"):
        parse_relational_config({"engin": "amplify"})
    with pytest.raises(ConfigError, match="synthesize"):
        parse_relational_config({"tables": {"t": {"columns": {"a": "blur"}}}})


def test_original_without_inbound_key_is_rejected():
    config = chinook_config()
    config["tables"]["customer"]["original"] = True
    config["tables"]["invoice"]["foreign_keys"] = []
    with pytest.raises(ConfigError, match="customer is marked original but no other table"):
        _schema(config)


def test_two_roots_are_rejected():
    config = chinook_config()
    config["tables"]["invoice"]["foreign_keys"] = []
    with pytest.raises(ConfigError, match=r"found 2 root tables \(employee, invoice\)"):
        _schema(config)


def test_root_in_config_must_match():
    with pytest.raises(ConfigError, match=r"root: customer is not the root.*employee"):
        _schema(chinook_config(root="customer"))


def test_cycle_is_rejected_but_self_reference_is_fine():
    config = chinook_config()
    config["tables"]["employee"]["foreign_keys"].append(_fk(["id"], "invoice"))
    with pytest.raises(
        ConfigError, match="cycle: customer → employee → invoice → customer; only self"
    ):
        _schema(config)


def test_original_referencing_synthesized_table_is_rejected():
    config = chinook_config()
    config["tables"]["track"]["foreign_keys"].append(_fk(["milliseconds"], "invoice"))
    with pytest.raises(ConfigError, match="original table track references synthesized"):
        _schema(config)


def test_missing_column_and_table_are_named():
    config = chinook_config()
    config["tables"]["invoice"]["foreign_keys"] = [_fk(["client"], "customer")]
    with pytest.raises(ConfigError, match=r"invoice has no column\(s\) \['client'\]"):
        _schema(config)
    config = chinook_config()
    config["tables"]["nope"] = {"original": True}
    with pytest.raises(ConfigError, match=r"tables the source does not have: \['nope'\]"):
        _schema(config)


def test_key_must_reference_primary_key_with_matching_width():
    config = chinook_config()
    config["tables"]["invoice"]["foreign_keys"] = [_fk(["customer"], "customer", ["id", "city"])]
    with pytest.raises(ConfigError, match=r"1 column.*cannot reference 2"):
        _schema(config)
    config["tables"]["invoice"]["foreign_keys"] = [_fk(["customer"], "customer", ["city"])]
    with pytest.raises(ConfigError, match="primary key is \\['id'\\]"):
        _schema(config)


def test_dp_learns_the_roots_children_as_its_people():
    frames = {
        "parent": pd.DataFrame({"id": [1, 2, 3], "x": ["a", "b", "c"]}),
        "child": pd.DataFrame({"id": [1, 2, 3], "pid": [1, 2, 2], "y": [1.0, 2.0, 3.0]}),
        "grandchild": pd.DataFrame({"cid": [1, 1, 3], "z": [1, 2, 3]}),
    }
    config = {
        "params": {"dp": True},
        "tables": {
            "parent": {"primary_key": ["id"]},
            "child": {"primary_key": ["id"], "foreign_keys": [_fk(["pid"], "parent")]},
            "grandchild": {"foreign_keys": [_fk(["cid"], "child")]},
        },
    }
    with pytest.raises(ConfigError, match="grandchild is not a direct child of the root"):
        _schema(config, frames)
    del frames["grandchild"], config["tables"]["grandchild"]
    _schema(config, frames)  # a root and its child: one person per root row
    with pytest.raises(ConfigError, match=r"original tables \(album, artist, genre"):
        _schema(chinook_config(params={"dp": True}))


def _people_and_lookup() -> dict[str, pd.DataFrame]:
    return {
        "people": pd.DataFrame(
            {"id": range(6), "ssn": [f"{i:03d}-55-{i:04d}" for i in range(6)], "city": [1, 2] * 3}
        ),
        "cities": pd.DataFrame({"cid": [1, 2], "name": ["Oslo", "Lima"]}),
    }


def test_dp_refuses_kept_columns_and_original_tables():
    frames = _people_and_lookup()
    keep = {
        "params": {"dp": True},
        "exclude_tables": ["cities"],
        "tables": {"people": {"primary_key": ["id"], "columns": {"ssn": "keep"}}},
    }
    with pytest.raises(ConfigError, match=r"keep \(people\.ssn\).*outside differential"):
        _schema(keep, {"people": frames["people"]})
    original = {
        "params": {"dp": True},
        "tables": {
            "people": {
                "primary_key": ["id"],
                "foreign_keys": [_fk(["city"], "cities")],
            },
            "cities": {"primary_key": ["cid"], "original": True},
        },
    }
    with pytest.raises(ConfigError, match=r"original tables \(cities\)"):
        _schema(original, frames)
    keep["params"]["dp"] = False  # without DP the kept column is fine
    _schema(keep, {"people": frames["people"]})


def test_duplicate_primary_key_is_a_data_error():
    frames = {
        "parent": pd.DataFrame({"id": [1, 1, 2], "x": ["a", "b", "c"]}),
        "child": pd.DataFrame({"pid": [1, 2], "y": [1.0, 2.0]}),
    }
    config = {
        "tables": {
            "parent": {"primary_key": ["id"]},
            "child": {"foreign_keys": [_fk(["pid"], "parent")]},
        }
    }
    with pytest.raises(DataError, match="primary key \\['id'\\] is not unique"):
        _schema(config, frames)


def test_key_columns_cannot_be_kept_or_excluded():
    config = chinook_config()
    config["tables"]["invoice"]["columns"] = {"customer": "keep"}
    with pytest.raises(ConfigError, match="key columns"):
        _schema(config)


def test_excluded_parent_drops_its_key_columns():
    config = chinook_config()
    config["include_tables"] = ["employee", "customer", "invoice", "invoiceline"]
    schema, frames = _schema(config)
    assert "track" not in frames["invoiceline"].columns
    assert [fk.parent for fk in schema.tables["invoiceline"].foreign_keys] == ["invoice"]


def test_bad_source_is_a_clear_error(tmp_path):
    with pytest.raises(Exception, match="neither a database URL"):
        RelationalSynthesizer(chinook_config()).fit(tmp_path / "missing", tmp_path / "m")


def _star() -> tuple[dict, dict[str, pd.DataFrame]]:
    """A fact table (sales) under two original dimensions (store, product)."""
    rng = np.random.default_rng(3)
    store = pd.DataFrame({"sid": [1, 2, 3], "city": ["Oslo", "Lyon", "Gent"]})
    product = pd.DataFrame({"pid": [10, 20], "name": ["tea", "cake"]})
    n = 120
    stores = rng.choice([1, 2, 3], n, p=[0.7, 0.2, 0.1])
    sales = pd.DataFrame(
        {
            "id": range(1, n + 1),
            "store_id": stores,
            "product_id": np.where(stores == 1, 10, 20),
            "amount": np.round(rng.gamma(2.0, 5.0, n), 2),
        }
    )
    config = {
        "engine": "amplify",
        "params": {"seed": 0},
        "tables": {
            "store": {"primary_key": ["sid"], "original": True},
            "product": {"primary_key": ["pid"], "original": True},
            "sales": {
                "primary_key": ["id"],
                "foreign_keys": [_fk(["store_id"], "store"), _fk(["product_id"], "product")],
            },
        },
    }
    return config, {"store": store, "product": product, "sales": sales}


def test_a_fact_table_under_original_dimensions_is_the_root(tmp_path):
    config, frames = _star()
    schema, _ = _schema(config, frames)
    assert schema.root == "sales" and schema.tables["sales"].modelled_by is None
    folder = tmp_path / "star"
    folder.mkdir()
    for name, frame in frames.items():
        frame.to_csv(folder / f"{name}.csv", index=False)
    synth = RelationalSynthesizer(config)
    synth.fit(str(folder), tmp_path / "model")
    tables = synth.generate(300, seed=1)
    sales = tables["sales"]
    assert len(sales) == 300  # and the dimensions come back as they were:
    assert (
        tables["store"].astype(str).values.tolist() == frames["store"].astype(str).values.tolist()
    )
    assert set(sales["store_id"]) <= {1, 2, 3} and set(sales["product_id"]) <= {10, 20}
    share = (sales["store_id"] == 1).mean()  # the references keep their concentration
    assert 0.55 < share < 0.85
    assert synth.integrity_.share == 1.0


def test_two_fact_tables_under_shared_dimensions_are_named():
    config, frames = _star()
    frames["returns"] = frames["sales"].rename(columns={"amount": "refund"})
    config["tables"]["returns"] = {**config["tables"]["sales"]}
    with pytest.raises(ConfigError, match=r"2 root tables \(sales, returns\)"):
        _schema(config, frames)


def _orders_with_orphans() -> tuple[dict, dict[str, pd.DataFrame]]:
    customer = pd.DataFrame({"id": range(1, 21), "city": ["Oslo", "Lyon"] * 10})
    shipper = pd.DataFrame({"sid": [1, 2], "name": ["fast", "slow"]})
    n = 60
    orders = pd.DataFrame(
        {
            "id": range(1, n + 1),
            "customer_id": [999 if i < 5 else 1 + i % 20 for i in range(n)],
            "shipper_id": [77 if 10 <= i < 17 else 1 + i % 2 for i in range(n)],
            "amount": [float(i % 9) for i in range(n)],
        }
    )
    config = {
        "engine": "amplify",
        "tables": {
            "customer": {"primary_key": ["id"]},
            "shipper": {"primary_key": ["sid"], "original": True},
            "orders": {
                "primary_key": ["id"],
                "parent": "customer",
                "foreign_keys": [_fk(["customer_id"], "customer"), _fk(["shipper_id"], "shipper")],
            },
        },
    }
    return config, {"customer": customer, "shipper": shipper, "orders": orders}


def test_rows_with_references_to_no_parent_are_counted_and_may_be_kept():
    config, frames = _orders_with_orphans()
    schema, learned = _schema(config, frames)
    counts = {tuple(e["foreign_key"]): e for e in schema.left_out}
    assert counts[("customer_id",)]["orphans"] == 5 and counts[("customer_id",)]["left_out"] == 5
    assert counts[("shipper_id",)]["left_out"] == 7 and len(learned["orders"]) == 48
    notes = schema.left_out_notes()
    assert any(
        "orders.shipper_id → shipper: 7 of 55 rows" in n and "orphans: null" in n for n in notes
    )
    config["tables"]["orders"]["orphans"] = "null"
    schema, learned = _schema(config, frames)
    kept = learned["orders"]
    assert len(kept) == 55 and kept["shipper_id"].isna().sum() == 7  # the parentless 5 still go
    assert any("7 kept with the reference missing" in n for n in schema.left_out_notes())


def test_the_profile_counts_duplicate_and_missing_primary_keys():
    from synthloom.relational.profile import profile_source
    from synthloom.relational.sources import SourceData

    people = pd.DataFrame({"id": [1, 2, 2, None, 5], "name": ["a", "b", "c", "d", None]})
    data = SourceData({"people": people}, {"people": {"primary_key": ["id"]}}, ["people"], "x")
    table = profile_source(data)["people"]
    assert (table["duplicate_keys"], table["missing_keys"]) == (1, 1)
    name = next(c for c in table["columns"] if c["name"] == "name")
    assert name == {"name": "name", "kind": "text", "missing_share": 0.2, "distinct": 4}


def test_the_assessment_estimates_the_whole_job_and_children_rates():
    from synthloom.relational.complexity import assess
    from synthloom.relational.report_metrics import children_per_parent

    config, frames = _orders_with_orphans()
    schema, learned = _schema(config, frames)
    assessment = assess(schema, learned, parse_relational_config(config))
    assert assessment.generation_seconds > 0 and assessment.report_seconds > 0
    assert assessment.job_seconds == pytest.approx(
        assessment.estimated_seconds + assessment.generation_seconds + assessment.report_seconds
    )
    assert "the whole job about" in assessment.describe()
    rates = children_per_parent(learned, learned, schema)["orders.customer_id->customer"]
    with_children = learned["orders"]["customer_id"].nunique() / len(learned["customer"])
    assert rates["real_with_children"] == pytest.approx(with_children)


def test_new_text_keys_keep_the_real_format_and_are_never_real(tmp_path):
    from synthloom.relational.keys import learn_key_shape, shaped_keys

    rng = np.random.default_rng(0)
    real = pd.Series([f"N{n:05d}" for n in rng.choice(90_000, 500, replace=False) + 10_000])
    shape = learn_key_shape(real)
    assert shape is not None
    first, second = shaped_keys(shape, 300, 0), shaped_keys(shape, 300, 300)  # two shards
    made = first + second
    assert all(re.fullmatch(r"N\d{5}", k) for k in made)
    assert len(set(made)) == 600 and not set(made) & set(real)
    assert learn_key_shape(pd.Series(["a", "bb", "c1", "d-2"])) is None  # no shared shape
    planes = pd.DataFrame({"tail": real, "seats": rng.integers(50, 300, 500)})
    flights = pd.DataFrame({"id": range(900), "tail": rng.choice(real, 900)})
    config = {
        "engine": "amplify",
        "params": {"seed": 0},
        "tables": {
            "planes": {"primary_key": ["tail"]},
            "flights": {"primary_key": ["id"], "foreign_keys": [_fk(["tail"], "planes")]},
        },
    }
    folder = tmp_path / "air"
    folder.mkdir()
    planes.to_csv(folder / "planes.csv", index=False)
    flights.to_csv(folder / "flights.csv", index=False)
    synth = RelationalSynthesizer(config).fit(str(folder), tmp_path / "m")
    tables = synth.generate(200, seed=0)
    tails = tables["planes"]["tail"]
    assert tails.str.fullmatch(r"N\d{5}").all() and tails.is_unique
    assert not set(tails) & set(real) and tables["flights"]["tail"].isin(tails).all()


def test_every_dp_objection_is_named_at_once():
    from synthloom.errors import ConfigProblems

    config = chinook_config(params={"dp": True})
    config["tables"]["customer"]["columns"] = {"city": "keep"}
    with pytest.raises(ConfigProblems) as caught:
        _schema(config)
    problems = caught.value.problems
    assert len(problems) >= 3 and all(p.startswith("params.dp:") for p in problems)
    assert any("keep (customer.city)" in p for p in problems)
    assert any("original tables" in p for p in problems)
    assert any("not a direct child of the root" in p for p in problems)
