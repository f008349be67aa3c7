"""Ray: generation in shards on a real local Ray runtime, relational tables trained at once.

One runtime (2 CPUs on 127.0.0.1) serves the whole module: starting Ray takes seconds.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa
import yaml
from typer.testing import CliRunner

from synthloom.cli import app
from synthloom.errors import ConfigError, DataError, SynthloomError
from synthloom.io.tables import read_table
from synthloom.relational import RelationalSynthesizer, check_integrity, write_tables
from synthloom.relational.destinations import StagedDatabase
from synthloom.scale import (
    PartWriter,
    generate_parts,
    generate_relational_parts,
    generate_sequence_parts,
    generate_text_parts,
)
from synthloom.scale.executor import RayExecutor
from synthloom.scale.parts import ModelPayload, shard_seed
from synthloom.scale.ray_jobs import KEY_STRIDE, _shard_tables
from synthloom.synthesizers.sequence import SequenceSynthesizer
from synthloom.synthesizers.table import TableSynthesizer
from tests.conftest import CHINOOK
from tests.relational.conftest import chinook_config
from tests.test_bad_input import small_table
from tests.test_sequences import _series as _sensor_series
from tests.test_table import TINY_TABLE


@pytest.fixture(scope="module")
def ray_runtime() -> Iterator[Any]:
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def table_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    model_dir = tmp_path_factory.mktemp("ray_table") / "m"
    TableSynthesizer(**TINY_TABLE).fit(small_table(300), model_dir)
    return model_dir


@pytest.fixture(scope="module")
def seeded_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A table model with column ``b`` as its seed field."""
    model_dir = tmp_path_factory.mktemp("ray_seeded") / "m"
    task = {"type": "seed", "attrs": {"fields": ["b"]}}
    TableSynthesizer(**TINY_TABLE, task=task).fit(small_table(300), model_dir)
    return model_dir


@pytest.fixture(scope="module")
def chinook_on_ray(tmp_path_factory: pytest.TempPathFactory, ray_runtime: Any) -> Path:
    """Chinook's tables (amplify) trained as parallel Ray tasks."""
    model_dir = tmp_path_factory.mktemp("ray_chinook") / "model"
    RelationalSynthesizer(chinook_config()).fit(CHINOOK, model_dir, executor=RayExecutor("auto"))
    return model_dir


def _parts(folder: Path) -> pd.DataFrame:
    files = sorted(folder.glob("part-*.parquet"))
    return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)


def test_shards_add_up_to_the_rows_of_a_local_run(
    ray_runtime: Any, table_model: Path, tmp_path: Path
) -> None:
    result = generate_parts(table_model, tmp_path / "out", 1050, shard_rows=200, seed=3)
    assert (result.rows, result.parts) == (1050, 6)
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == [f"part-{i:05d}.parquet" for i in range(6)]  # no leftovers
    local = TableSynthesizer.load(table_model).generate_chunks(1050, chunk_rows=200, seed=3)
    expected = pd.concat(local, ignore_index=True)
    pd.testing.assert_frame_equal(_parts(tmp_path / "out"), expected, check_dtype=False)


def test_earlier_parts_are_refused_or_replaced(
    ray_runtime: Any, table_model: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    generate_parts(table_model, out, 500, shard_rows=100, seed=1, file_format="csv")
    with pytest.raises(DataError, match="already holds 5 part files"):
        generate_parts(table_model, out, 150, shard_rows=100, file_format="csv")
    generate_parts(table_model, out, 150, shard_rows=100, file_format="csv", overwrite=True)
    frames = [read_table(p)[0] for p in sorted(out.glob("part-*.csv"))]
    assert [len(f) for f in frames] == [100, 50]  # stale parts would add rows


def _crash_once_writer(folder: Path, file_format: str, marker: Path) -> PartWriter:
    """A part writer whose worker process dies right after writing part 1, the first time
    only (``marker`` records that it did); tables and text both write through ``_put``."""

    @dataclass(frozen=True)
    class CrashOnce(PartWriter):  # local: Ray ships it by value, no import needed
        marker: str = ""

        def _put(self, index: int, write_local: Any) -> int:
            count = super()._put(index, write_local)
            if index == 1 and not os.path.exists(self.marker):
                Path(self.marker).touch()
                os._exit(1)  # the worker dies before reporting: Ray runs the task again
            return count

    return CrashOnce(str(folder), file_format, {}, marker=str(marker))


def test_a_killed_task_is_retried_without_duplicate_rows(
    ray_runtime: Any, table_model: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "crashed"
    writer = _crash_once_writer(tmp_path / "out", "parquet", marker)
    result = generate_parts(table_model, writer, 600, shard_rows=200, seed=9)
    assert marker.exists(), "the worker was not killed"
    assert result.rows == 600
    frame = _parts(tmp_path / "out")
    clean = generate_parts(table_model, tmp_path / "clean", 600, shard_rows=200, seed=9)
    assert clean.rows == 600
    pd.testing.assert_frame_equal(frame, _parts(tmp_path / "clean"))


def test_seed_rows_are_generated_in_the_shard_that_holds_them(
    ray_runtime: Any, seeded_model: Path, tmp_path: Path
) -> None:
    seeds = pd.DataFrame({"b": ["z", "x", "y", "x", "z", "z", "y"] * 35})  # 245 rows
    result = generate_parts(seeded_model, tmp_path / "s", None, seeds=seeds, shard_rows=100, seed=2)
    assert (result.rows, result.parts) == (245, 3)
    files = sorted((tmp_path / "s").glob("part-*.parquet"))
    assert [len(pd.read_parquet(f)) for f in files] == [100, 100, 45]
    frame = _parts(tmp_path / "s")
    assert frame["b"].tolist() == seeds["b"].tolist()  # one row per seed row, in order
    synth = TableSynthesizer.load(seeded_model)
    local = synth.generate_chunks(seeds=seeds, chunk_rows=100, seed=2)
    pd.testing.assert_frame_equal(frame, pd.concat(local, ignore_index=True), check_dtype=False)
    # rebalanced seed rows: drawn on the driver shard by shard, as a local run draws them
    share = {"b": {"x": 0.7}}
    generate_parts(seeded_model, tmp_path / "r", 400, rebalance=share, shard_rows=150, seed=6)
    rebalanced = _parts(tmp_path / "r")
    assert len(rebalanced) == 400 and 0.6 < (rebalanced["b"] == "x").mean() < 0.8
    local = synth.generate_chunks(400, rebalance=share, chunk_rows=150, seed=6)
    expected = pd.concat(local, ignore_index=True)
    pd.testing.assert_frame_equal(rebalanced, expected, check_dtype=False)


def _lines(folder: Path) -> list[list[str]]:
    """Each text part's lines, in part order."""
    files = sorted(folder.glob("part-*.txt"))
    return [f.read_text(encoding="utf-8").splitlines() for f in files]


def test_text_shards_write_exact_lines_again_for_the_same_seed(
    ray_runtime: Any, trained_dir: Path, tmp_path: Path
) -> None:
    result = generate_text_parts(trained_dir, tmp_path / "a", 130, shard_rows=50, seed=4)
    assert (result.rows, result.parts) == (130, 3)
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == [f"part-{i:05d}.txt" for i in range(3)]  # no leftovers
    first = _lines(tmp_path / "a")
    assert [len(lines) for lines in first] == [50, 50, 30]
    assert all(line.strip() for lines in first for line in lines)  # only valid records
    generate_text_parts(trained_dir, tmp_path / "b", 130, shard_rows=50, seed=4)
    assert _lines(tmp_path / "b") == first
    generate_text_parts(trained_dir, tmp_path / "c", 130, shard_rows=50, seed=5)
    assert _lines(tmp_path / "c") != first
    with pytest.raises(DataError, match="already holds 3 part files"):
        generate_text_parts(trained_dir, tmp_path / "a", 10)


def test_a_killed_text_task_is_retried_without_duplicate_lines(
    ray_runtime: Any, trained_dir: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "crashed"
    writer = _crash_once_writer(tmp_path / "out", "txt", marker)
    result = generate_text_parts(trained_dir, writer, 90, shard_rows=40, seed=9)
    assert marker.exists(), "the worker was not killed"
    assert result.rows == 90
    lines = _lines(tmp_path / "out")
    assert [len(part) for part in lines] == [40, 40, 10]
    generate_text_parts(trained_dir, tmp_path / "clean", 90, shard_rows=40, seed=9)
    assert lines == _lines(tmp_path / "clean")


def test_cli_generates_text_and_seeded_parts_on_ray(
    ray_runtime: Any, trained_dir: Path, seeded_model: Path, tmp_path: Path
) -> None:
    args = ["generate", "--model-dir", str(trained_dir), "--output", str(tmp_path / "text")]
    done = CliRunner().invoke(app, [*args, "--num-records", "60", "--ray", "auto", "--seed", "1"])
    assert done.exit_code == 0, done.output
    assert "wrote 60 records in 1 parts" in done.output
    assert [len(lines) for lines in _lines(tmp_path / "text")] == [60]
    bad = CliRunner().invoke(app, [*args, "--num-records", "6", "--ray", "auto", "--format", "csv"])
    assert bad.exit_code == 2 and "a text model's parts are .txt lines" in bad.output
    capped = CliRunner().invoke(
        app, [*args, "--num-records", "6", "--ray", "auto", "--max-invalid", "3"]
    )
    assert capped.exit_code == 2 and "--max-invalid does not apply to --ray" in capped.output
    seeds = tmp_path / "seeds.csv"
    pd.DataFrame({"b": ["y", "x", "x", "z"] * 10}).to_csv(seeds, index=False)
    seeded = ["generate", "--model-dir", str(seeded_model), "--output", str(tmp_path / "t")]
    done = CliRunner().invoke(app, [*seeded, "--seeds", str(seeds), "--ray", "auto"])
    assert done.exit_code == 0, done.output
    assert _parts(tmp_path / "t")["b"].tolist() == ["y", "x", "x", "z"] * 10


def test_database_shards_have_unique_keys_and_resolving_references(
    chinook_on_ray: Path, tmp_path: Path
) -> None:
    synth = RelationalSynthesizer.load(chinook_on_ray)
    schema = synth.schema
    assert schema is not None
    out = tmp_path / "db"
    result = generate_relational_parts(
        chinook_on_ray, out, 40, shard_rows=10, seed=2, file_format="parquet"
    )
    assert result.parts == 4
    tables = {name: _parts(out / name) for name in schema.tables}
    assert len(tables[schema.root]) == result.rows == 40
    assert {n: len(f) for n, f in tables.items()} == result.tables
    report = check_integrity(schema, tables)  # keys unique across shards, every FK resolves
    assert report.ok, report.problems
    children = [n for n in schema.order if n != schema.root]
    assert any(tables[n].shape[0] > 40 for n in children)  # children came with the shards


def test_ray_steps_in_the_status_timeline(chinook_on_ray: Path, tmp_path: Path) -> None:
    schema = RelationalSynthesizer.load(chinook_on_ray).schema
    assert schema is not None
    steps = json.loads((chinook_on_ray / "status.json").read_text())["steps"]
    trained = {s["table"]: s for s in steps if s["stage"] == "training"}
    assert set(trained) == {*schema.order, f"{len(schema.order)} tables on Ray"}
    for name in schema.order:  # one step per table, as its Ray task finished
        assert trained[name]["status"] == "done" and trained[name]["seconds"] > 0
        assert "a Ray task" in trained[name]["detail"]
    seen: list[tuple[str, str]] = []  # as each step was announced (the event then changes)
    generate_relational_parts(
        chinook_on_ray,
        tmp_path / "db",
        20,
        shard_rows=10,
        seed=1,
        on_step=lambda e: seen.append((e.stage, e.status)),
    )
    assert seen == [
        ("generation", "running"),
        ("generation", "done"),
        ("writing", "running"),
        ("writing", "done"),
    ]
    saved = json.loads((chinook_on_ray / "generation_status.json").read_text())["steps"]
    assert [(s["stage"], s["table"]) for s in saved] == [
        ("generation", "2 shards on Ray"),
        ("writing", "original tables"),
    ]
    assert f"{schema.root} 20" in saved[0]["detail"]
    # the timeline is not shipped with the model: every run broadcasts the same model
    before = ModelPayload.of(chinook_on_ray, ["generation_status.json"])
    generate_relational_parts(chinook_on_ray, tmp_path / "db2", 10, seed=2)
    assert ModelPayload.of(chinook_on_ray, ["generation_status.json"]) == before
    assert ModelPayload.of(chinook_on_ray).digest != before.digest


def test_cli_generates_parts_on_ray(ray_runtime: Any, table_model: Path, tmp_path: Path) -> None:
    args = ["generate", "--model-dir", str(table_model), "--output", str(tmp_path / "parts")]
    result = CliRunner().invoke(app, [*args, "--num-records", "250", "--ray", "auto"])
    assert result.exit_code == 0, result.output
    assert "wrote 250 records in 1 parts" in result.output
    assert len(_parts(tmp_path / "parts")) == 250
    again = CliRunner().invoke(app, [*args, "--ray", "auto"])
    assert again.exit_code == 2 and "--ray needs --num-records" in again.output


def test_relational_cli_on_ray(ray_runtime: Any, tmp_path: Path) -> None:
    config = tmp_path / "chinook.yaml"
    config.write_text(yaml.safe_dump(chinook_config()), encoding="utf-8")
    model = tmp_path / "model"
    trained = CliRunner().invoke(
        app,
        [
            "relational",
            "train",
            str(config),
            "--model-dir",
            str(model),
            "--source",
            str(CHINOOK),
            "--quiet",
            "--ray",
            "auto",
        ],
    )
    assert trained.exit_code == 0, trained.output
    base = ["relational", "generate", "--model-dir", str(model), "--num-records", "30"]
    done = CliRunner().invoke(
        app, [*base, "--destination", str(tmp_path / "db"), "--format", "parquet", "--ray", "auto"]
    )
    assert done.exit_code == 0, done.output
    assert "✓ generation 1 shards on Ray" in done.output  # the timeline's steps, as lines
    synth = RelationalSynthesizer.load(model)
    assert synth.schema is not None
    assert len(_parts(tmp_path / "db" / synth.schema.root)) == 30
    database = ["--destination", f"sqlite:///{tmp_path / 'out.sqlite'}"]
    streamed = CliRunner().invoke(app, [*base, *database, "--ray", "auto"])
    assert streamed.exit_code == 0, streamed.output
    assert _database_tables(tmp_path / "out.sqlite")[synth.schema.root].shape[0] == 30
    # an existing table: the one-line error of the local path, whether on Ray or not
    refused = CliRunner().invoke(app, [*base, *database, "--ray", "auto"])
    local = CliRunner().invoke(app, [*base, *database, "--no-report"])
    assert refused.exit_code == local.exit_code == 2
    assert "already has table(s)" in refused.output
    assert refused.output.strip().splitlines()[-1] == local.output.strip().splitlines()[-1]


# ---------------------------------------------------------------- database destinations
def _database_tables(path: Path) -> dict[str, pd.DataFrame]:
    engine = sa.create_engine(f"sqlite:///{path}")
    try:
        names = sa.inspect(engine).get_table_names()
        return {name: pd.read_sql_table(name, engine) for name in names}
    finally:
        engine.dispose()


def _columns(path: Path) -> dict[str, dict[str, str]]:
    """Each table's declared column types, as the database reports them."""
    engine = sa.create_engine(f"sqlite:///{path}")
    try:
        inspector = sa.inspect(engine)
        return {
            table: {c["name"]: str(c["type"]) for c in inspector.get_columns(table)}
            for table in inspector.get_table_names()
        }
    finally:
        engine.dispose()


def test_database_shards_stream_into_sqlite(chinook_on_ray: Path, tmp_path: Path) -> None:
    synth = RelationalSynthesizer.load(chinook_on_ray)
    schema = synth.schema
    assert schema is not None
    result = generate_relational_parts(
        chinook_on_ray, f"sqlite:///{tmp_path / 'out.sqlite'}", 40, shard_rows=10, seed=2
    )
    assert result.parts == 4 and "out.sqlite" in result.location
    tables = _database_tables(tmp_path / "out.sqlite")
    assert set(tables) == set(schema.tables)  # no staging table left behind
    assert {n: len(f) for n, f in tables.items()} == result.tables
    assert len(tables[schema.root]) == result.rows == 40
    for name, frame in synth._originals.items():  # written once, not once per shard
        assert len(tables[name]) == len(frame)
    report = check_integrity(schema, tables)  # keys unique across shards, every FK resolves
    assert report.ok, report.problems
    # the same rows as the part files of the same seed
    generate_relational_parts(chinook_on_ray, tmp_path / "parts", 40, shard_rows=10, seed=2)
    for name in schema.order:
        if name not in synth._originals:
            parts = _parts(tmp_path / "parts" / name)
            assert sorted(tables[name]["id"]) == sorted(parts["id"]), name
    # declared types as in the source (a foreign key takes its parent key's type), and
    # the same tables the local path writes
    source, written = _columns(CHINOOK), _columns(tmp_path / "out.sqlite")
    assert written["invoice"] == source["invoice"]
    assert written["employee"]["reports_to"] == "INTEGER" != source["employee"]["reports_to"]
    local = tmp_path / "local.sqlite"
    write_tables(synth.generate(5, seed=1), schema, local)
    assert written == _columns(local)


def test_a_failed_database_run_leaves_the_tables_as_they_were(
    chinook_on_ray: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from synthloom.scale import ray_jobs

    path = tmp_path / "db.sqlite"
    generate_relational_parts(chinook_on_ray, path, 20, shard_rows=10, seed=1)
    before = _database_tables(path)
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:  # a killed run's staging table
        conn.exec_driver_sql('CREATE TABLE "invoice__synthloom_staging" (x INTEGER)')
    engine.dispose()
    with pytest.raises(DataError, match=r"already has table\(s\)"):
        generate_relational_parts(chinook_on_ray, path, 40, shard_rows=10, seed=2)

    def failing_shard(payload: Any, shard: Any, sampling: Any) -> Any:  # shipped by value
        if shard.index == 3:  # a little later than the others, which reach the staging
            time.sleep(1)
            raise DataError("shard 3 failed")
        return _shard_tables(payload, shard, sampling)

    monkeypatch.setattr(ray_jobs, "_shard_tables", failing_shard)
    with pytest.raises(DataError, match="shard 3 failed"):
        generate_relational_parts(chinook_on_ray, path, 40, shard_rows=10, overwrite=True)
    monkeypatch.undo()
    seen: list[set[str]] = []
    append = StagedDatabase.append

    def interrupted(self: StagedDatabase, tables: dict[str, pd.DataFrame]) -> dict[str, int]:
        if len(seen) == 2:  # two shards staged: Ctrl-C
            raise KeyboardInterrupt
        counts = append(self, tables)
        seen.append(set(_database_tables(path)))
        return counts

    monkeypatch.setattr(StagedDatabase, "append", interrupted)
    with pytest.raises(KeyboardInterrupt):
        generate_relational_parts(chinook_on_ray, path, 40, shard_rows=10, overwrite=True)
    assert "invoice__synthloom_staging" in seen[-1]  # the shards did go to staging tables
    after = _database_tables(path)
    assert set(after) == set(before)  # no staging table left, the leftover one dropped too
    for name, frame in before.items():
        pd.testing.assert_frame_equal(after[name], frame)

    # a replacement that fails half-way (duplicate keys: the last tables' copy fails after
    # the old tables were dropped) rolls back: the old tables are back
    def twice(self: StagedDatabase, tables: dict[str, pd.DataFrame]) -> dict[str, int]:
        counts = append(self, tables)
        append(self, {n: f for n, f in tables.items() if n == "invoiceline"})
        return counts

    monkeypatch.setattr(StagedDatabase, "append", twice)
    with pytest.raises(DataError, match=r"UNIQUE constraint failed: invoiceline\.id"):
        generate_relational_parts(chinook_on_ray, path, 40, shard_rows=10, overwrite=True)
    after = _database_tables(path)
    assert set(after) == set(before)
    for name, frame in before.items():
        pd.testing.assert_frame_equal(after[name], frame)

    monkeypatch.undo()
    result = generate_relational_parts(chinook_on_ray, path, 40, shard_rows=10, overwrite=True)
    root = RelationalSynthesizer.load(chinook_on_ray).schema.root  # type: ignore[union-attr]
    assert len(_database_tables(path)[root]) == result.rows == 40


# ------------------------------------------------------------ column clusters on Ray
def _wide_table(rows: int = 300) -> pd.DataFrame:
    """Six columns, two related pairs: three clusters of two at field_cluster_size 2."""
    frame = small_table(rows, seed=1)
    frame["d"] = frame["a"] * 2 + (frame["b"] == "x")
    frame["e"] = frame["b"].map({"x": "p", "y": "q", "z": "r"})
    frame["f"] = (frame["c"] > 0).astype(int)
    return frame


def test_column_clusters_train_as_ray_tasks(
    ray_runtime: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import synthloom.synthesizers.table as table_module

    options = {**TINY_TABLE, "field_cluster_size": 2, "max_training_time_seconds": 30}
    frame = _wide_table()
    local = TableSynthesizer(**options).fit(frame, tmp_path / "local")
    started = time.monotonic()
    on_ray = TableSynthesizer(**options).fit(frame, tmp_path / "ray", executor=RayExecutor("auto"))
    assert time.monotonic() - started < 30  # the cap holds for the whole fit
    assert len(on_ray.clusters_) >= 3 and on_ray.clusters_ == local.clusters_
    last = len(local.clusters_)

    def files(folder: Path) -> set[str]:
        return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}

    assert files(tmp_path / "ray") == files(tmp_path / "local")  # landed as a local run's
    weights = {f"cluster_{i}/weights.safetensors" for i in range(1, last)}
    assert weights <= files(tmp_path / "ray")
    params = json.loads((tmp_path / "ray" / "model_params.json").read_text())
    assert [p["columns"] for p in params["parts"]] == [c.columns for c in local.clusters_]
    budget = params["effective_params"]["max_training_time_seconds"]
    assert budget == 30  # the config's cap is kept; each task got its share of it
    loaded = TableSynthesizer.load(tmp_path / "ray")
    rows = loaded.generate(120, seed=1)
    assert list(rows.columns) == list(frame.columns) and len(rows) == 120
    assert set(rows["e"].dropna()) <= {"p", "q", "r"}
    # the trained weights are the ones saved: the fitted object generates as the loaded one
    pd.testing.assert_frame_equal(on_ray.generate(50, seed=3), loaded.generate(50, seed=3))

    def failing(synth: Any, frame: Any, split: Any, params: Any, part: Any, index: int) -> Any:
        if index == last - 1:  # local: Ray ships it by value
            raise ValueError("out of memory on the worker")
        return table_module._train_cluster_task(synth, frame, split, params, part, index)

    before = files(tmp_path / "ray")
    monkeypatch.setattr(table_module, "_train_cluster_task", failing)
    expected = rf"column cluster {last} of {last} failed in its Ray task \(ValueError: out of"
    with pytest.raises(SynthloomError, match=expected):
        TableSynthesizer(**options).fit(
            frame, tmp_path / "ray", executor=RayExecutor("auto"), overwrite=True
        )
    assert files(tmp_path / "ray") == before  # the earlier model is intact
    assert TableSynthesizer.load(tmp_path / "ray").generate(5, seed=1).shape == (5, 6)


def test_cluster_tasks_share_the_time_cap_by_waves() -> None:
    from synthloom.config import Params
    from synthloom.synthesizers.table import cluster_budget

    params, now = Params(max_training_time_seconds=60), time.monotonic()
    assert cluster_budget(params, now, 2, 2) == pytest.approx(60, abs=0.5)  # side by side
    assert cluster_budget(params, now, 5, 2) == pytest.approx(20, abs=0.5)  # 3 waves
    assert cluster_budget(params, now - 30, 4, 2.0) == pytest.approx(15, abs=0.5)  # 30 s left
    assert cluster_budget(Params(), now, 5, 2) is None  # no cap


def test_ray_training_is_refused_under_dp_and_for_amplify(tmp_path: Path) -> None:
    frame = _wide_table(50)
    with pytest.raises(ConfigError, match="--ray does not train under dp: true"):
        TableSynthesizer(**TINY_TABLE, dp=True).fit(
            frame, tmp_path / "dp", executor=RayExecutor("auto")
        )
    with pytest.raises(ConfigError, match="the amplify engine trains here"):
        TableSynthesizer(engine="amplify").fit(
            frame, tmp_path / "amp", executor=RayExecutor("auto")
        )
    assert not (tmp_path / "dp").exists() and not (tmp_path / "amp").exists()


def test_cli_and_relational_training_split_a_wide_table_on_ray(
    ray_runtime: Any, tmp_path: Path
) -> None:
    params = {**TINY_TABLE, "field_cluster_size": 2, "epochs": 1}
    frame = _wide_table(120)
    frame.to_csv(tmp_path / "wide.csv", index=False)
    config = {"schema_version": "1.0", "models": [{"synthetics": {"params": params}}]}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    args = ["train", str(tmp_path / "c.yaml"), "--data", str(tmp_path / "wide.csv"), "--quiet"]
    done = CliRunner().invoke(app, [*args, "--model-dir", str(tmp_path / "m"), "--ray", "auto"])
    assert done.exit_code == 0, done.output
    assert (tmp_path / "m" / "cluster_1" / "weights.safetensors").is_file()
    text = tmp_path / "t.txt"
    text.write_text("one line\nanother line\n" * 10, encoding="utf-8")
    refused = CliRunner().invoke(
        app,
        [
            "train",
            str(tmp_path / "c.yaml"),
            "--data",
            str(text),
            "--model-dir",
            str(tmp_path / "tm"),
            "--ray",
            "auto",
        ],
    )
    assert refused.exit_code == 2 and "text and time-series models train here" in refused.output
    # in a relational run, the wide table's task runs its clusters as tasks of their own
    (tmp_path / "db").mkdir()
    frame.rename_axis("id").reset_index().to_csv(tmp_path / "db" / "wide.csv", index=False)
    relational = {"params": params, "tables": {"wide": {"primary_key": ["id"]}}}
    model = tmp_path / "rel"
    RelationalSynthesizer(relational).fit(tmp_path / "db", model, executor=RayExecutor("auto"))
    clusters = sorted(p.parent.name for p in model.rglob("cluster_*/weights.safetensors"))
    assert clusters == [f"cluster_{i}" for i in range(1, len(clusters) + 1)] and clusters
    tables = RelationalSynthesizer.load(model).generate(30, seed=1)
    assert list(tables["wide"].columns) == ["id", *frame.columns] and len(tables["wide"]) == 30


# ---------------------------------------------------------------- time series on Ray
@pytest.fixture(scope="module")
def series_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, Path]:
    model_dir = tmp_path_factory.mktemp("ray_series") / "m"
    data = _sensor_series(30)
    options = {"rnn_units": 32, "embedding_dim": 16, "rnn_layers": 1, "seed": 0, "epochs": 4}
    series = {"entity_column": "sensor", "order_by": ["time"]}
    SequenceSynthesizer(time_series=series, **options).fit(data, model_dir)
    return data, model_dir


def test_time_series_shards_hold_whole_series_with_unique_ids(
    ray_runtime: Any, series_model: tuple[pd.DataFrame, Path], tmp_path: Path
) -> None:
    data, model = series_model
    result = generate_sequence_parts(model, tmp_path / "s", 25, shard_rows=10, seed=2)
    assert (result.rows, result.parts) == (25, 3)  # series, as --num-records counts locally
    parts = [pd.read_parquet(f) for f in sorted((tmp_path / "s").glob("part-*.parquet"))]
    assert [p["sensor"].nunique() for p in parts] == [10, 10, 5]
    assert sum(len(p) for p in parts) == result.tables["rows"]
    ids = [set(p["sensor"]) for p in parts]
    assert not ids[0] & ids[1] and not ids[1] & ids[2] and not ids[0] & ids[2]
    assert not set().union(*ids) & set(data["sensor"])  # new ids, never real ones
    synth = SequenceSynthesizer.load(model)
    pd.testing.assert_frame_equal(parts[0], synth.generate(10, seed=2), check_dtype=False)
    second = synth.generate(10, seed=shard_seed(2, 1), entity_offset=KEY_STRIDE)
    pd.testing.assert_frame_equal(parts[1], second, check_dtype=False)
    assert parts[1]["sensor"].astype(int).min() == KEY_STRIDE + 1
    # given first rows: each series continued in the shard that holds its entity
    first = data.sort_values(["sensor", "time"]).groupby("sensor").head(2)
    prefix = first[first["sensor"].isin(["s3", "s1", "s4", "s0", "s2"])]
    order = list(dict.fromkeys(prefix["sensor"]))  # first appearance, as locally
    continued = generate_sequence_parts(
        model, tmp_path / "p", None, seeds=prefix, shard_rows=2, seed=1
    )
    assert (continued.rows, continued.parts) == (5, 3)
    parts = [pd.read_parquet(f) for f in sorted((tmp_path / "p").glob("part-*.parquet"))]
    assert [list(dict.fromkeys(p["sensor"])) for p in parts] == [order[:2], order[2:4], order[4:]]
    for part in parts:
        for sensor, rows in part.groupby("sensor"):
            assert len(rows) > (prefix["sensor"] == sensor).sum()  # given rows, then more
    args = ["generate", "--model-dir", str(model), "--output", str(tmp_path / "cli")]
    done = CliRunner().invoke(app, [*args, "--num-records", "12", "--ray", "auto", "--seed", "3"])
    assert done.exit_code == 0, done.output
    rows = len(_parts(tmp_path / "cli"))
    assert f"wrote {rows} records (12 series) in 1 parts" in done.output


# ------------------------------------------------------- relational rebalance on Ray
def test_relational_rebalance_on_ray_matches_local_shards(ray_runtime: Any, tmp_path: Path) -> None:
    from tests.relational.test_rebalance import SHOP

    config = chinook_config(**SHOP)  # customer (root, rebalance country: USA 0.5) → invoice
    del config["tables"]["customer"]["foreign_keys"]
    model = tmp_path / "model"
    synth = RelationalSynthesizer(config).fit(CHINOOK, model)
    share = {"country": {"Canada": 0.25}}
    result = generate_relational_parts(
        model, tmp_path / "db", 60, shard_rows=20, seed=3, rebalance=share, file_format="parquet"
    )
    parts = [pd.read_parquet(f) for f in sorted((tmp_path / "db" / "customer").glob("part-*"))]
    assert [(p["country"] == "Canada").sum() for p in parts] == [5, 5, 5]  # 0.25 of each
    assert result.rows == 60
    local = synth.generate(20, seed=shard_seed(3, 1), key_offset=KEY_STRIDE, rebalance=share)
    invoices = [pd.read_parquet(f) for f in sorted((tmp_path / "db" / "invoice").glob("part-*"))]
    pd.testing.assert_frame_equal(parts[1], local["customer"], check_dtype=False)
    pd.testing.assert_frame_equal(invoices[1], local["invoice"], check_dtype=False)
    configured = generate_relational_parts(model, tmp_path / "c", 40, shard_rows=20, seed=1)
    customers = _parts(tmp_path / "c" / "customer")  # the config's rebalance: USA 0.5
    assert configured.rows == 40 and (customers["country"] == "USA").sum() == 20
    with pytest.raises(ConfigError, match="was trained without it"):
        generate_relational_parts(model, tmp_path / "bad", 40, rebalance={"city": {"Oslo": 1}})
    assert not (tmp_path / "bad").exists()  # refused before any task
    args = ["relational", "generate", "--model-dir", str(model), "--num-records", "30"]
    args += ["--destination", str(tmp_path / "cli"), "--format", "parquet", "--ray", "auto"]
    args += ["--rebalance", "country: Canada=0.5", "--batch-size", "9"]
    done = CliRunner().invoke(app, args)
    assert done.exit_code == 0, done.output
    assert (_parts(tmp_path / "cli" / "customer")["country"] == "Canada").sum() == 15
