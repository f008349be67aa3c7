"""Generation streams to disk in chunks: memory holds one chunk, whatever the count."""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from synthloom import TableSynthesizer
from synthloom.io.tables import read_table, write_table_chunks
from tests.test_bad_input import small_table

TINY_TEXT = {
    "vocab_size": 0,
    "epochs": 1,
    "rnn_units": 16,
    "embedding_dim": 8,
    "rnn_layers": 1,
    "seed": 0,
}


def _chunks(path: Path, n_chunks: int, rows: int) -> Iterator[pd.DataFrame]:
    """Chunks that check the previous one already reached the file before the next."""
    partial = path.with_name(f".{path.name}.partial")
    sizes = []
    for index in range(n_chunks):
        if index:
            sizes.append(partial.stat().st_size)
            assert len(sizes) < 2 or sizes[-1] > sizes[-2], "a chunk was held, not written"
        yield small_table(rows, seed=index)


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".json", ".parquet"])
def test_chunks_are_written_as_they_come(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"out{suffix}"
    written = write_table_chunks(_chunks(path, 4, 50), path)
    assert written == 200
    expected = pd.concat([small_table(50, seed=i) for i in range(4)], ignore_index=True)
    frame, _ = read_table(path)
    pd.testing.assert_frame_equal(frame, expected, check_dtype=False)
    if suffix == ".parquet":
        assert pq.ParquetFile(path).num_row_groups == 4
    if suffix == ".json":
        assert len(json.loads(path.read_text())) == 200


@pytest.fixture(scope="module")
def amplify(tmp_path_factory: pytest.TempPathFactory) -> TableSynthesizer:
    model_dir = tmp_path_factory.mktemp("amplify") / "m"
    return TableSynthesizer(engine="amplify", seed=0).fit(small_table(200), model_dir)


def test_amplify_generates_in_bounded_chunks(amplify: TableSynthesizer) -> None:
    sizes = [len(c) for c in amplify.generate_chunks(2500, chunk_rows=1000, seed=3)]
    assert sizes == [1000, 1000, 500]
    assert amplify.generation_stats_["valid"] == 2500


def _peak_streaming(synth: TableSynthesizer, rows: int, path: Path) -> int:
    tracemalloc.start()
    try:
        write_table_chunks(synth.generate_chunks(rows, chunk_rows=2500, seed=1), path)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_stays_flat_with_ten_times_the_records(
    amplify: TableSynthesizer, tmp_path: Path
) -> None:
    small = _peak_streaming(amplify, 5_000, tmp_path / "small.csv")
    large = _peak_streaming(amplify, 50_000, tmp_path / "large.csv")
    assert len((tmp_path / "large.csv").read_text().splitlines()) == 50_001
    # Held in memory, 10x the rows would need ~10x the peak; streamed, about the same.
    assert large < 2 * small, (small, large)


def test_text_records_reach_the_file_while_generation_goes_on(tmp_path: Path) -> None:
    from synthloom import TextSynthesizer
    from synthloom.io.text import write_text_records

    lines = [f"record number {i} of the tiny corpus" for i in range(80)]
    synth = TextSynthesizer(**TINY_TEXT).fit(lines, tmp_path / "m")
    out = tmp_path / "out.txt"
    partial = out.with_name(f".{out.name}.partial")
    seen_on_disk = []

    def texts() -> Iterator[str]:
        for index, record in enumerate(synth.generate(600, seed=0, max_invalid=10**6)):
            if index and index % 200 == 0:
                seen_on_disk.append(partial.stat().st_size)
            if record.valid:
                yield record.text

    written = write_text_records(out, texts())
    assert written == 600
    # Earlier records were already in the file while later ones were being sampled.
    assert seen_on_disk and seen_on_disk[-1] > 0
