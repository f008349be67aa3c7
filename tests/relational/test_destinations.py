"""Destinations: folder, SQLite and a real PostgreSQL server, S3 (moto) — round trips."""

from __future__ import annotations

import pandas as pd
import pytest
import sqlalchemy as sa

from synthloom.errors import ConfigError, DataError
from synthloom.relational import destination_kind, write_tables
from synthloom.relational.destinations import StagedDatabase


@pytest.fixture(scope="module")
def generated(chinook_model):
    return chinook_model.generate(15, seed=5), chinook_model.schema


def test_destination_kinds():
    assert destination_kind("out") == "folder"
    assert destination_kind("sqlite:///x.db") == "database"
    assert destination_kind("postgresql+psycopg://u@h/db") == "database"
    assert destination_kind("s3://bucket/prefix") == "objects"
    assert destination_kind("gs://bucket") == "objects"


def test_folder_round_trip_and_no_overwrite(generated, tmp_path):
    tables, schema = generated
    write_tables(tables, schema, tmp_path / "out")
    back = pd.read_csv(tmp_path / "out" / "invoiceline.csv")
    assert back["id"].tolist() == tables["invoiceline"]["id"].tolist()
    assert back["invoice"].tolist() == tables["invoiceline"]["invoice"].tolist()
    with pytest.raises(DataError, match=r"already holds.*--overwrite"):
        write_tables(tables, schema, tmp_path / "out")
    write_tables(tables, schema, tmp_path / "out", overwrite=True, file_format="parquet")
    assert pd.read_parquet(tmp_path / "out" / "employee.parquet").shape == tables["employee"].shape


HOSTILE = ["../escaped", "..", ".", "a/b", "a\\b", "nul\x00byte", "x" * 300, "/abs", ""]


def test_table_names_become_one_safe_path_component(tmp_path):
    from synthloom.io.names import safe_file_name

    names = [safe_file_name(n) for n in HOSTILE]
    assert len(set(names)) == len(names)  # no two tables meet in one file
    for name in names:
        assert name and "/" not in name and "\\" not in name and "\x00" not in name
        assert not name.startswith(".") and len(name) <= 120
    assert safe_file_name("invoice_line-2") == "invoice_line-2"  # plain names unchanged
    tables = {n: pd.DataFrame({"x": [i]}) for i, n in enumerate(HOSTILE)}
    out = tmp_path / "deep" / "out"
    write_tables(tables, None, out)  # a folder needs no schema
    written = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.csv"))
    assert len(written) == len(HOSTILE)
    assert all(p.parent == out.relative_to(tmp_path) for p in written)


def _check_database(url: str, tables: dict[str, pd.DataFrame]) -> None:
    engine = sa.create_engine(url)
    try:
        inspector = sa.inspect(engine)
        assert inspector.get_pk_constraint("invoice")["constrained_columns"] == ["id"]
        fks = {
            (tuple(f["constrained_columns"]), f["referred_table"])
            for f in inspector.get_foreign_keys("invoiceline")
        }
        assert fks == {(("invoice",), "invoice"), (("track",), "track")}
        self_ref = inspector.get_foreign_keys("employee")
        assert self_ref[0]["referred_table"] == "employee"
        with engine.connect() as conn:
            for name, frame in tables.items():
                back = pd.read_sql_table(name, conn)
                assert len(back) == len(frame), name
            ids = pd.read_sql_table("customer", conn)["support_rep"]
            assert ids.isin(tables["employee"]["id"]).all()
    finally:
        engine.dispose()


def test_sqlite_database_with_keys(generated, tmp_path):
    tables, schema = generated
    url = f"sqlite:///{tmp_path / 'synthetic.sqlite'}"
    write_tables(tables, schema, url)
    _check_database(url, tables)
    with pytest.raises(DataError, match="already has table"):
        write_tables(tables, schema, url)
    write_tables(tables, schema, url, overwrite=True)
    _check_database(url, tables)


def test_postgresql_server(generated, postgres_url):
    tables, schema = generated
    write_tables(tables, schema, postgres_url)
    _check_database(postgres_url, tables)
    engine = sa.create_engine(postgres_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE keepme (x int)")
    engine.dispose()
    # an existing table is never overwritten unless asked; a failed write writes nothing
    with pytest.raises(DataError, match="already has table"):
        write_tables(tables, schema, postgres_url)
    write_tables(tables, schema, postgres_url, overwrite=True)
    _check_database(postgres_url, tables)
    engine = sa.create_engine(postgres_url)
    assert sa.inspect(engine).has_table("keepme")
    engine.dispose()


def _sizes_and_types(url: str) -> tuple[dict[str, int], dict[str, list[str]]]:
    engine = sa.create_engine(url)
    try:
        inspector = sa.inspect(engine)
        names = inspector.get_table_names()
        with engine.connect() as conn:
            count = 'SELECT count(*) FROM "{}"'
            sizes = {n: conn.execute(sa.text(count.format(n))).scalar() for n in names}
        types = {n: [str(c["type"]) for c in inspector.get_columns(n)] for n in names}
        return sizes, types
    finally:
        engine.dispose()


def test_staged_database_on_postgresql(generated, chinook_model, postgres_url):
    """Shards go to staging tables; one transaction replaces the tables, or none does."""
    tables, schema = generated
    originals = chinook_model._originals
    shard = {n: f for n, f in tables.items() if n not in originals}
    fewer = {**shard, "invoiceline": shard["invoiceline"].head(3)}
    write_tables(tables, schema, postgres_url, overwrite=True)
    before = _sizes_and_types(postgres_url)
    with (
        pytest.raises(DataError, match=r"already has table\(s\)"),
        StagedDatabase(postgres_url, schema, originals),
    ):
        pass
    with (
        pytest.raises(RuntimeError),
        StagedDatabase(postgres_url, schema, originals, overwrite=True) as database,
    ):
        database.append(fewer)
        raise RuntimeError("interrupted")
    assert _sizes_and_types(postgres_url) == before  # no staging table left either
    with StagedDatabase(postgres_url, schema, originals, overwrite=True) as database:
        database.append(fewer)
        database.append({"invoiceline": fewer["invoiceline"]})  # duplicate keys
        with pytest.raises(DataError, match="invoiceline"):
            database.commit()  # fails after dropping the old tables: rolled back
    assert _sizes_and_types(postgres_url) == before
    with StagedDatabase(postgres_url, schema, originals, overwrite=True) as database:
        database.append(fewer)
        database.commit()
    sizes, types = _sizes_and_types(postgres_url)
    assert types == before[1]  # the tables write_tables makes
    assert sizes == {**before[0], "invoiceline": 3}
    _check_database(postgres_url, {**tables, "invoiceline": fewer["invoiceline"]})


def test_postgresql_as_source(chinook_model, postgres_url, tmp_path):
    """A database with declared constraints: keys come from them, not from the config."""
    from synthloom.relational import RelationalSynthesizer

    tables = chinook_model.generate(10, seed=9)
    url = postgres_url.rsplit("/", 1)[0] + "/postgres"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE SCHEMA IF NOT EXISTS src")
    engine.dispose()
    source = url + "?options=-csearch_path%3Dsrc"
    write_tables(tables, chinook_model.schema, source, overwrite=True)
    config = {
        "engine": "amplify",
        "include_tables": ["employee", "customer", "invoice"],
    }
    synth = RelationalSynthesizer(config).fit(source, tmp_path / "pg_model")
    assert synth.schema.root == "employee"
    assert synth.schema.order == ["employee", "customer", "invoice"]
    assert synth.generate(5, seed=0)["invoice"]["customer"].notna().all()


def test_s3_objects(generated, s3_server):
    import fsspec

    tables, schema = generated
    write_tables(tables, schema, "s3://synthetic/run1", storage_options=s3_server)
    fs = fsspec.filesystem("s3", **s3_server)
    keys = sorted(p.rsplit("/", 1)[-1] for p in fs.ls("synthetic/run1"))
    assert keys == sorted(tables)  # object key = table name, no extension
    with fs.open("synthetic/run1/invoice") as handle:
        back = pd.read_csv(handle)
    assert back["id"].tolist() == tables["invoice"]["id"].tolist()
    with pytest.raises(DataError, match="already holds"):
        write_tables(tables, schema, "s3://synthetic/run1", storage_options=s3_server)
    write_tables(tables, schema, "s3://synthetic/run1", storage_options=s3_server, overwrite=True)


def test_missing_object_storage_driver_is_one_clear_error(generated, tmp_path):
    import importlib.util

    tables, schema = generated
    if importlib.util.find_spec("gcsfs") is None:
        with pytest.raises(ConfigError, match=r"gs:// needs the gcsfs package.*pip install gcsfs"):
            write_tables(tables, schema, "gs://bucket/run1")
    with pytest.raises(ConfigError, match="unknown to fsspec"):
        write_tables(tables, schema, "nosuchscheme://bucket/run1")
    write_tables(tables, schema, "memory://synthloom-test/run1")  # a driver fsspec has
    import fsspec

    assert sorted(fsspec.filesystem("memory").ls("/synthloom-test/run1", detail=False)) == sorted(
        f"/synthloom-test/run1/{name}" for name in tables
    )
