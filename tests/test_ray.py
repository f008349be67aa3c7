"""Ray: generation in shards on a real local Ray runtime, relational tables trained at once.

One runtime (2 CPUs on 127.0.0.1) serves the whole module: starting Ray takes seconds.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from synthloom.cli import app
from synthloom.errors import DataError
from synthloom.io.tables import read_table
from synthloom.relational import RelationalSynthesizer, check_integrity
from synthloom.scale import PartWriter, generate_parts, generate_relational_parts
from synthloom.table import TableSynthesizer
from tests.conftest import CHINOOK
from tests.relational.conftest import chinook_config
from tests.test_bad_input import small_table
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
def chinook_on_ray(tmp_path_factory: pytest.TempPathFactory, ray_runtime: Any) -> Path:
    """Chinook's tables (amplify) trained as parallel Ray tasks."""
    model_dir = tmp_path_factory.mktemp("ray_chinook") / "model"
    RelationalSynthesizer(chinook_config()).fit(CHINOOK, model_dir, ray="auto")
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


def test_a_killed_task_is_retried_without_duplicate_rows(
    ray_runtime: Any, table_model: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "crashed"

    @dataclass(frozen=True)
    class CrashOnce(PartWriter):  # local: Ray ships it by value, no import needed
        """Kills its worker process right after writing part 1, the first time only."""

        marker: str = ""

        def write(self, index: int, frame: pd.DataFrame) -> int:
            rows = super().write(index, frame)
            if index == 1 and not os.path.exists(self.marker):
                Path(self.marker).touch()
                os._exit(1)  # the worker dies before reporting: Ray runs the task again
            return rows

    writer = CrashOnce(str(tmp_path / "out"), "parquet", {}, marker=str(marker))
    result = generate_parts(table_model, writer, 600, shard_rows=200, seed=9)
    assert marker.exists(), "the worker was not killed"
    assert result.rows == 600
    frame = _parts(tmp_path / "out")
    clean = generate_parts(table_model, tmp_path / "clean", 600, shard_rows=200, seed=9)
    assert clean.rows == 600
    pd.testing.assert_frame_equal(frame, _parts(tmp_path / "clean"))


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
    synth = RelationalSynthesizer.load(model)
    assert synth.schema is not None
    assert len(_parts(tmp_path / "db" / synth.schema.root)) == 30
    database = f"sqlite:///{tmp_path / 'out.sqlite'}"
    refused = CliRunner().invoke(app, [*base, "--destination", database, "--ray", "auto"])
    assert refused.exit_code == 2 and "not a database" in refused.output
