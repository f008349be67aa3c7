"""MySQL/MariaDB against a real server (a throw-away MariaDB on 127.0.0.1), with PyMySQL."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import sqlalchemy as sa

from synthloom.errors import DataError
from synthloom.relational import RelationalSynthesizer, write_tables

from .conftest import create_database


@pytest.fixture(scope="module")
def generated(chinook_model):
    return chinook_model.generate(15, seed=5), chinook_model.schema


def _tables(url: str) -> list[str]:
    engine = sa.create_engine(url)
    try:
        return sorted(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_mysql_destination_keys_and_no_overwrite(generated, mariadb_url):
    tables, schema = generated
    tables = {name: frame.copy() for name, frame in tables.items()}
    unicode_names = ["François", "João", "Zoë", "Łukasz", "Ørjan", "Émilie", "Ağça"]
    customers = tables["customer"]  # names are generated per character: set known ones
    customers["firstname"] = [unicode_names[i % 7] for i in range(len(customers))]
    url = create_database(mariadb_url, "synthetic")
    write_tables(tables, schema, url)
    engine = sa.create_engine(url)
    try:
        inspector = sa.inspect(engine)
        assert inspector.get_pk_constraint("invoice")["constrained_columns"] == ["id"]
        fks = {
            (tuple(f["constrained_columns"]), f["referred_table"])
            for f in inspector.get_foreign_keys("invoiceline")
        }
        assert fks == {(("invoice",), "invoice"), (("track",), "track")}
        assert inspector.get_foreign_keys("employee")[0]["referred_table"] == "employee"
        with engine.connect() as conn:
            for name, frame in tables.items():
                assert len(pd.read_sql_table(name, conn)) == len(frame), name
            back = pd.read_sql_table("invoice", conn)
            customers = pd.read_sql_table("customer", conn)
        assert back["customer"].isin(tables["customer"]["id"]).all()
        assert back["id"].tolist() == tables["invoice"]["id"].tolist()
        # full Unicode whatever the server's default character set (latin1 here)
        names = tables["customer"]["firstname"].tolist()
        assert customers["firstname"].tolist() == names
        assert any(not str(n).isascii() for n in names)
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE keepme (x int)")
            conn.exec_driver_sql("INSERT INTO keepme VALUES (1)")
    finally:
        engine.dispose()
    # existing tables are never replaced unless asked
    with pytest.raises(DataError, match=r"already has table.*--overwrite"):
        write_tables(tables, schema, url)
    write_tables(tables, schema, url, overwrite=True)
    assert _tables(url) == sorted([*tables, "keepme"])


def test_mysql_failed_write_leaves_no_table(generated, mariadb_url):
    tables, schema = generated
    url = create_database(mariadb_url, "failed")
    broken = dict(tables)
    invoice = tables["invoice"].copy()
    invoice.loc[1, "id"] = invoice.loc[0, "id"]  # a repeated primary key: the insert fails
    broken["invoice"] = invoice
    with pytest.raises(DataError, match=r"cannot write to database.*Duplicate"):
        write_tables(broken, schema, url)
    # MariaDB commits CREATE TABLE at once; the tables created for the write are dropped
    assert _tables(url) == []


def _columns(engine, names):
    inspector = sa.inspect(engine)
    return {
        n: [(c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(n)]
        for n in names
    }


def test_mysql_staged_database(generated, chinook_model, mariadb_url):
    """Staging tables (full Unicode too), then the tables write_tables makes; none left."""
    from synthloom.relational.destinations import StagedDatabase

    tables, schema = generated
    url = create_database(mariadb_url, "staged")
    write_tables(tables, schema, url)
    engine = sa.create_engine(url)
    try:
        columns = _columns(engine, tables)
    finally:
        engine.dispose()
    originals = chinook_model._originals
    customers = tables["customer"].assign(firstname="Łukasz")
    shard = {n: f for n, f in tables.items() if n not in originals} | {"customer": customers}
    with StagedDatabase(url, schema, originals, overwrite=True) as database:
        database.append(shard)
        database.commit()
    assert _tables(url) == sorted(tables)
    engine = sa.create_engine(url)
    try:
        inspector = sa.inspect(engine)
        assert _columns(engine, tables) == columns
        assert inspector.get_foreign_keys("employee")[0]["referred_table"] == "employee"
        back = pd.read_sql_table("customer", engine)
    finally:
        engine.dispose()
    assert set(back["firstname"]) == {"Łukasz"}


def test_mysql_source_keys_from_constraints_and_no_stored_password(
    chinook_model, mariadb_url, tmp_path
):
    source = create_database(mariadb_url, "source")
    write_tables(chinook_model.generate(12, seed=9), chinook_model.schema, source)
    # the server accepts any password: the URL carries one, as a real source would
    with_password = source.replace("root@", "root:s3cret@")
    config = {
        "engine": "amplify",
        "source": with_password,
        "include_tables": ["employee", "customer", "invoice"],
    }
    synth = RelationalSynthesizer(config).fit(with_password, tmp_path / "model")
    assert synth.schema.root == "employee"
    assert synth.schema.order == ["employee", "customer", "invoice"]
    assert [fk.parent for fk in synth.schema.tables["employee"].foreign_keys] == ["employee"]
    tables = synth.generate(6, seed=0)
    assert synth.integrity_.share == 1.0
    assert tables["invoice"]["customer"].isin(tables["customer"]["id"]).all()
    # the password is nowhere in the model dir, so the report cannot read the source alone
    for path in (tmp_path / "model").rglob("*.json"):
        assert "s3cret" not in path.read_text(), path
    meta = json.loads((tmp_path / "model" / "model_params.json").read_text())
    assert meta["source"]["password"] is True and "***" in meta["source"]["location"]
    loaded = RelationalSynthesizer.load(tmp_path / "model")
    with pytest.raises(DataError, match="needed a password"):
        loaded.real_tables()
    real = loaded.real_tables(with_password)  # given again by the user, it works
    assert len(real["employee"]) == 12
