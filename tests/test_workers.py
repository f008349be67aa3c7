"""Generation in local worker processes: the same rows as one process, counted exactly."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pandas as pd
import pytest

from synthloom import TooManyInvalidError
from synthloom.config import Validators
from synthloom.io.model_dir import write_json, write_manifest
from synthloom.lstm.pool import start_method
from synthloom.lstm.threads import generation_workers, usable_cores
from synthloom.synthesizers.table import FALLBACK_DIR, VALIDATORS_FILE, TableSynthesizer
from synthloom.validation.field_validators import FieldValidators
from tests.test_bad_input import small_table
from tests.test_table import TINY_TABLE


@pytest.fixture(scope="module")
def table_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    model_dir = tmp_path_factory.mktemp("workers") / "m"
    TableSynthesizer(**TINY_TABLE).fit(small_table(300), model_dir)
    return model_dir


def test_workers_make_the_same_rows_as_one_process(table_model: Path) -> None:
    synth = TableSynthesizer.load(table_model)
    alone = pd.concat(synth.generate_chunks(700, chunk_rows=200, seed=4, parallelism=1))
    stats_alone = dict(synth.generation_stats_)
    chunks = list(synth.generate_chunks(700, chunk_rows=200, seed=4, parallelism=2))
    assert [len(c) for c in chunks] == [200, 200, 200, 100]
    pd.testing.assert_frame_equal(pd.concat(chunks), alone)
    assert synth.generation_stats_ == stats_alone
    assert synth.generation_stats_["valid"] == 700
    other = synth.generate(300, seed=5, parallelism=2)
    assert len(other) == 300 and not other.equals(alone.head(300))


def test_too_many_invalid_in_a_worker_is_the_one_line_error(
    table_model: Path, tmp_path: Path
) -> None:
    # workers load the model dir: give a copy a validator that rejects most rows
    model_dir = tmp_path / "m"
    shutil.copytree(table_model, model_dir)
    shutil.rmtree(model_dir / FALLBACK_DIR, ignore_errors=True)  # no statistical rescue
    table = small_table(300)
    only_x = FieldValidators.learn(table[table["b"] == "x"], Validators())
    write_json(model_dir / VALIDATORS_FILE, only_x.to_dict())
    write_manifest(model_dir)  # the edit is deliberate
    synth = TableSynthesizer.load(model_dir)
    with pytest.raises(TooManyInvalidError, match="max_invalid=5"):
        list(synth.generate_chunks(400, chunk_rows=100, max_invalid=5, seed=0, parallelism=2))


@pytest.mark.parametrize(
    ("parallelism", "wanted", "expected"),
    [(None, 10, 1), (None, 1000, "cores"), (0, 10, "cores"), (3, 10, 3), (1, 1000, 1)],
)
def test_default_uses_every_core_only_for_large_runs(
    parallelism: int | None, wanted: int, expected: int | str
) -> None:
    # threads fixed: every usable core, whatever the load (threads=auto counts free ones)
    cores = usable_cores()
    assert generation_workers(parallelism, wanted, 1000, threads=1) == (
        cores if expected == "cores" else expected
    )


def test_the_default_install_never_imports_ray() -> None:
    code = (
        "import sys, synthloom, synthloom.cli, synthloom.scale, synthloom.relational; "
        "print('ray' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_workers_are_spawned_beside_other_threads() -> None:
    stop = threading.Event()
    server = threading.Thread(target=stop.wait)  # a web server's thread, say
    server.start()
    try:
        assert start_method() == "spawn"  # a fork could copy a lock that thread holds
    finally:
        stop.set()
        server.join()
