"""Ray tasks: table, text and database shards generated and written as parts.

(Training side by side is the :class:`~synthloom.scale.executor.RayExecutor`'s.) Ray is
imported inside :func:`~synthloom.scale.executor.connect` only, so nothing here needs it
until ``ray=`` is given. The model dir travels as bytes in Ray's object store (put once,
fetched once per node), so the workers need no shared disk; parts go to a folder or object
storage.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synthloom.errors import ConfigError, DataError, SynthloomError
from synthloom.io.names import safe_file_name
from synthloom.lstm.threads import mark_worker_process
from synthloom.scale.executor import connect
from synthloom.scale.parts import (
    TABLE_FORMATS,
    TEXT_FORMAT,
    ModelPayload,
    PartWriter,
    Shard,
    plan_shards,
    run_seed,
)
from synthloom.synthesizers.table import CHUNK_ROWS

# A killed worker (or a lost node) is retried this many times; its shard's seed makes the
# retry write the same rows under the same part name.
MAX_RETRIES = 3
# Tasks queued per CPU of the cluster: enough to keep every CPU busy, few enough that
# the driver never holds the whole run's bookkeeping at once.
TASKS_PER_CPU = 2
# Shard i of a database numbers its new keys from i × KEY_STRIDE + 1: ranges never meet,
# so keys are unique across shards without the shards talking to each other.
KEY_STRIDE = 10**9
# Records per text shard: about 15 s of one core at the measured 667 fortunes/s, so a
# retry repeats little work while Ray's per-task cost stays negligible.
TEXT_SHARD_RECORDS = 10_000

ProgressCallback = Callable[[int, int], None]  # (records done, records wanted)


@dataclass
class PartsResult:
    """What a sharded run wrote: records of the table (or of the database's root table),
    part files, rows per table, and the wall time."""

    rows: int
    parts: int
    location: str
    seconds: float
    tables: dict[str, int] = field(default_factory=dict)


def generate_parts(
    model_dir: str | Path,
    destination: str | PartWriter,
    num_records: int | None,
    *,
    ray: str = "auto",
    seed: int | None = None,
    file_format: str = "parquet",
    shard_rows: int = CHUNK_ROWS,
    storage_options: dict[str, Any] | None = None,
    overwrite: bool = False,
    gen_temp: float | None = None,
    seeds: pd.DataFrame | str | Path | None = None,
    rebalance: dict[str, dict[Any, float]] | None = None,
    progress: ProgressCallback | None = None,
) -> PartsResult:
    """Generate ``num_records`` rows of a table model as Ray tasks, one part per shard.

    ``destination`` is a folder, an fsspec URL (``s3://bucket/prefix``) or a
    :class:`PartWriter`. Shard ``i`` has the rows chunk ``i`` of
    :meth:`TableSynthesizer.generate_chunks` has for the same seed, seeds and rebalance:
    with ``seeds`` (one row per seed row, ``num_records`` then unused) shard ``i`` gets
    seed rows ``[i × shard_rows, …)`` in order; rebalanced seed rows are drawn here, shard
    after shard, as a local run draws them chunk after chunk.
    """
    from synthloom.synthesizers.table import TableSynthesizer

    synth = TableSynthesizer.load(model_dir)  # a bad model dir fails here, not in every task
    if file_format not in TABLE_FORMATS:
        raise ConfigError(f"format {file_format!r} is not one of {TABLE_FORMATS} for a table")
    wanted, seed_frame, rebalance = synth._seeding(num_records, seeds, rebalance)
    base = run_seed(seed, synth.config.params.seed)
    rng = np.random.default_rng(base)  # rebalanced seed rows: drawn in shard order

    def task_args(shard: Shard) -> tuple[Any, ...]:
        rows = synth._chunk_seeds(seed_frame, rebalance, shard.start, shard.rows, rng)
        return gen_temp, rows

    writer = _writer(destination, file_format, storage_options)
    shards = plan_shards(wanted, shard_rows, base)
    return _write_parts(
        model_dir, writer, shards, _table_shard, task_args, ray, overwrite, progress
    )


def generate_text_parts(
    model_dir: str | Path,
    destination: str | PartWriter,
    num_records: int,
    *,
    ray: str = "auto",
    seed: int | None = None,
    shard_rows: int = TEXT_SHARD_RECORDS,
    storage_options: dict[str, Any] | None = None,
    overwrite: bool = False,
    gen_temp: float | None = None,
    start_string: str | None = None,
    progress: ProgressCallback | None = None,
) -> PartsResult:
    """Generate ``num_records`` valid records of a text model as Ray tasks, each shard's
    records as the lines of one ``part-NNNNN.txt``.

    A shard samples until it has exactly its records (invalid ones are dropped; more than
    the config's ``max_invalid``, by default 5 × its records, fail the run), from its own
    seed, so a retried shard writes the same lines. The records are as good as a local
    run's, but not the same ones: a local run cuts its chunks by sampling batches, not by
    shards.
    """
    from synthloom.synthesizers.text import TextSynthesizer

    synth = TextSynthesizer.load(model_dir)  # a bad model dir fails here, not in every task
    options = {"gen_temp": gen_temp, "start_string": start_string}
    writer = _writer(destination, TEXT_FORMAT, storage_options)
    shards = plan_shards(num_records, shard_rows, run_seed(seed, synth.config.params.seed))
    return _write_parts(
        model_dir, writer, shards, _text_shard, lambda _: (options,), ray, overwrite, progress
    )


def generate_sequence_parts(
    model_dir: str | Path,
    destination: str | PartWriter,
    num_records: int | None,
    *,
    ray: str = "auto",
    seed: int | None = None,
    file_format: str = "parquet",
    shard_rows: int | None = None,
    storage_options: dict[str, Any] | None = None,
    overwrite: bool = False,
    gen_temp: float | None = None,
    seeds: pd.DataFrame | str | Path | None = None,
    progress: ProgressCallback | None = None,
) -> PartsResult:
    """Generate ``num_records`` series of a time-series model as Ray tasks, each shard's
    whole series in one part; ``rows`` of the result counts series, ``tables`` the rows.

    As locally, ``num_records`` counts series (default: as many as the model learned) and
    ``seeds`` (the first rows of series to continue, ``num_records`` then unused) gives
    one continued series per entity, its ids kept. Shard ``i`` holds ``shard_rows`` series
    (default: about :data:`CHUNK_ROWS` rows at the learned mean length) and numbers new
    entity ids from ``i × KEY_STRIDE + 1``, so ids are unique across shards; it equals a
    local ``generate(shard_rows, seed=<shard i's seed>)`` but for that offset.
    """
    from synthloom.synthesizers.sequence import SequenceSynthesizer

    synth = SequenceSynthesizer.load(model_dir)  # a bad model dir fails here, not in every task
    if file_format not in TABLE_FORMATS:
        raise ConfigError(f"format {file_format!r} is not one of {TABLE_FORMATS} for a table")
    per_shard = shard_rows or _series_per_shard(synth)
    base = run_seed(seed, synth.config.params.seed)
    if seeds is None:
        wanted = num_records if num_records is not None else len(synth.lengths) or synth.n_entities
        shards = plan_shards(wanted, per_shard, base)

        def task_args(shard: Shard) -> tuple[Any, ...]:
            return gen_temp, None, shard.index * KEY_STRIDE

    else:
        prefix, entity = _prefix_entities(synth, seeds)
        shards = plan_shards(int(entity.max()) + 1, per_shard, base)

        def task_args(shard: Shard) -> tuple[Any, ...]:
            mine = (entity >= shard.start) & (entity < shard.start + shard.rows)
            return gen_temp, prefix[mine].reset_index(drop=True), 0

    writer = _writer(destination, file_format, storage_options)
    done, start = _run_parts(
        model_dir,
        writer,
        shards,
        _sequence_shard,
        task_args,
        ray,
        overwrite,
        progress,
        count=lambda made: made[0],
    )
    series = sum(made[0] for made in done.values())
    _check_count(series, sum(s.rows for s in shards))
    rows = sum(made[1] for made in done.values())
    seconds = time.monotonic() - start
    return PartsResult(series, len(shards), writer.url, seconds, {"rows": rows})


def _series_per_shard(synth: Any) -> int:
    """Series per shard: about CHUNK_ROWS rows at the learned mean series length (under
    DP, where no lengths are kept, at the longest learned window)."""
    mean = float(np.mean(synth.lengths)) if synth.lengths else float(max(synth.max_rows, 1))
    return max(int(CHUNK_ROWS // max(mean, 1.0)), 1)


def _prefix_entities(
    synth: Any, seeds: pd.DataFrame | str | Path
) -> tuple[pd.DataFrame, np.ndarray]:
    """The prefix rows and each row's entity number, in order of first appearance (as a
    local run continues them); without an entity column the rows are one series."""
    from synthloom.io.tables import read_table

    prefix = seeds if isinstance(seeds, pd.DataFrame) else read_table(seeds)[0]
    if prefix.empty:
        raise DataError("the prefix has no rows; give the first rows of each series")
    column = synth.series.entity_column
    if column is None or column not in prefix.columns:
        return prefix.reset_index(drop=True), np.zeros(len(prefix), dtype=np.int64)
    codes, _ = pd.factorize(prefix[column], sort=False, use_na_sentinel=False)
    return prefix.reset_index(drop=True), codes.astype(np.int64)


def _write_parts(
    model_dir: str | Path,
    writer: PartWriter,
    shards: list[Shard],
    task: Callable[..., int],
    task_args: Callable[[Shard], tuple[Any, ...]],
    ray: str,
    overwrite: bool,
    progress: ProgressCallback | None,
) -> PartsResult:
    """``task(payload, shard, writer, *task_args(shard))`` on every shard, each writing
    one part and returning its records; the parts checked to hold exactly the records."""
    done, start = _run_parts(model_dir, writer, shards, task, task_args, ray, overwrite, progress)
    rows = sum(done.values())
    _check_count(rows, sum(s.rows for s in shards))
    return PartsResult(rows, len(shards), writer.url, time.monotonic() - start)


def _run_parts(
    model_dir: str | Path,
    writer: PartWriter,
    shards: list[Shard],
    task: Callable[..., Any],
    task_args: Callable[[Shard], tuple[Any, ...]],
    ray: str,
    overwrite: bool,
    progress: ProgressCallback | None,
    count: Callable[[Any], int] = int,
) -> tuple[dict[int, Any], float]:
    """``task(payload, shard, writer, *task_args(shard))`` on every shard (the model
    broadcast once; ``count``: the records of a task's result, for the progress): the
    results by shard index, and when the run started. Leftover temporary files removed."""
    writer.prepare(overwrite)
    start = time.monotonic()
    module = connect(ray)
    payload = module.put(ModelPayload.of(model_dir))
    remote = module.remote(task).options(max_retries=MAX_RETRIES, num_cpus=1)
    done = _run(
        module,
        ((s, remote.remote(payload, s, writer, *task_args(s))) for s in shards),
        progress,
        sum(s.rows for s in shards),
        count=count,
    )
    writer.clean_leftovers()
    return done, start


def generate_relational_parts(
    model_dir: str | Path,
    destination: str | PartWriter,
    num_records: int,
    *,
    ray: str = "auto",
    seed: int | None = None,
    file_format: str = "parquet",
    shard_rows: int = CHUNK_ROWS,
    storage_options: dict[str, Any] | None = None,
    overwrite: bool = False,
    progress: ProgressCallback | None = None,
    on_step: Callable[[Any], None] | None = None,
    rebalance: dict[str, dict[Any, float]] | None = None,
    predict_batch_size: int | None = None,
) -> PartsResult:
    """A synthetic database of ``num_records`` root rows as Ray tasks: each shard of root
    rows generates its children (foreign keys resolved within the shard, keys from the
    shard's own range). Shard ``i`` is what a local ``generate`` of its root rows makes
    with its seed, ``key_offset=i × KEY_STRIDE``, ``rebalance`` and
    ``predict_batch_size`` (checked here, before any task starts).

    To a folder or object storage, every task writes ``<table>/part-NNNNN`` for every
    table; tables copied from the source (originals) are written once, as part 0. To a
    database URL (or an SQLite file), the driver appends each shard's tables to staging
    tables as the shard arrives and, at the end, replaces the target tables in one
    transaction (:class:`~synthloom.relational.destinations.StagedDatabase`).

    The steps (generation on Ray, writing) go to the model dir's status timeline
    (``generation_status.json``) and to ``on_step`` as they start and end.
    """
    from synthloom.relational.destinations import StagedDatabase, destination_kind
    from synthloom.relational.status import Timeline
    from synthloom.relational.synthesizer import GENERATION_STATUS_FILE, RelationalSynthesizer

    synth = RelationalSynthesizer.load(model_dir)
    assert synth.schema is not None
    sampling = synth.sampling(rebalance, predict_batch_size)  # a bad rebalance: one line here
    shards = plan_shards(num_records, shard_rows, run_seed(seed))
    if len(shards) * KEY_STRIDE > 2**62:
        raise ConfigError(f"{len(shards)} shards are too many for 64-bit keys; raise shard_rows")
    timeline = Timeline(Path(model_dir) / GENERATION_STATUS_FILE, on_step)
    run = _ShardRun(synth, model_dir, shards, ray, progress, timeline)
    if not isinstance(destination, PartWriter) and destination_kind(destination) == "database":
        with StagedDatabase(
            destination, synth.schema, synth._originals, overwrite=overwrite
        ) as database:
            totals = run.tables(_shard_tables, sampling, consume=database.append)
            with timeline.step("writing", "staging tables to targets") as event:
                location = database.commit()
                event.detail = location
        return run.result(totals, location)
    writer = _writer(destination, file_format, storage_options)
    writers = {name: writer.child(safe_file_name(name)) for name in synth.schema.tables}
    for child in writers.values():
        child.prepare(overwrite)
    totals = run.tables(_database_shard, writers, sampling)
    with timeline.step("writing", "original tables") as event:
        for name, frame in synth._originals.items():
            writers[name].write(0, frame)
        for child in writers.values():
            child.clean_leftovers()
        event.detail = writer.url
    return run.result(totals, writer.url)


@dataclass
class _ShardRun:
    """The shards of one relational run on Ray, and what they made."""

    synth: Any
    model_dir: str | Path
    shards: list[Shard]
    ray: str
    progress: ProgressCallback | None
    timeline: Any
    start: float = field(default_factory=time.monotonic)

    def tables(
        self, task: Callable[..., Any], *args: Any, consume: Callable[[Any], Any] | None = None
    ) -> dict[str, int]:
        """Rows by table over all shards: ``task(payload, shard, *args)`` on every shard,
        its result passed to ``consume`` (on the driver) as it arrives; originals once."""
        with self.timeline.step("generation", f"{len(self.shards)} shards on Ray") as event:
            module = connect(self.ray)
            # the generation timeline, rewritten every run, is no part of the model
            record = self.timeline.path.name
            payload = module.put(ModelPayload.of(self.model_dir, [record]))
            remote = module.remote(task).options(max_retries=MAX_RETRIES, num_cpus=1)
            done = _run(
                module,
                ((s, remote.remote(payload, s, *args)) for s in self.shards),
                self.progress,
                sum(s.rows for s in self.shards),
                count=lambda tables: tables[self.synth.schema.root],
                consume=consume,
            )
            totals: dict[str, int] = {}
            for tables in done.values():
                for name, rows in tables.items():
                    totals[name] = totals.get(name, 0) + rows
            for name, frame in self.synth._originals.items():
                totals[name] = len(frame)
            event.detail = ", ".join(f"{name} {rows:,}" for name, rows in totals.items())
        return totals

    def result(self, totals: dict[str, int], location: str) -> PartsResult:
        root = totals.get(self.synth.schema.root, 0)
        _check_count(root, sum(s.rows for s in self.shards))
        seconds = time.monotonic() - self.start
        return PartsResult(root, len(self.shards), location, seconds, totals)


# ------------------------------------------------------------------------------ tasks
_LOADED: dict[str, Any] = {}


def _loaded(payload: ModelPayload, kind: str) -> Any:
    """The model in ``payload``, loaded once per worker process."""
    mark_worker_process()
    if payload.digest not in _LOADED:
        directory = payload.unpack()
        if kind == "table":
            from synthloom.synthesizers.table import TableSynthesizer

            _LOADED[payload.digest] = TableSynthesizer.load(directory, device="cpu")
        elif kind == "text":
            from synthloom.synthesizers.text import TextSynthesizer

            _LOADED[payload.digest] = TextSynthesizer.load(directory, device="cpu")
        elif kind == "sequence":
            from synthloom.synthesizers.sequence import SequenceSynthesizer

            _LOADED[payload.digest] = SequenceSynthesizer.load(directory, device="cpu")
        else:
            from synthloom.relational.synthesizer import RelationalSynthesizer

            _LOADED[payload.digest] = RelationalSynthesizer.load(directory)
    return _LOADED[payload.digest]


def _table_shard(
    payload: ModelPayload,
    shard: Shard,
    writer: PartWriter,
    gen_temp: float | None,
    seeds: pd.DataFrame | None,
) -> int:
    synth = _loaded(payload, "table")
    frame = synth.generate(
        shard.rows, seeds=seeds, seed=shard.seed, gen_temp=gen_temp, parallelism=1
    )
    return writer.write(shard.index, frame)


def _text_shard(
    payload: ModelPayload, shard: Shard, writer: PartWriter, options: dict[str, Any]
) -> int:
    synth = _loaded(payload, "text")
    records = synth.generate(shard.rows, seed=shard.seed, parallelism=1, **options)
    return writer.write_lines(shard.index, (r.text for r in records if r.valid))


def _sequence_shard(
    payload: ModelPayload,
    shard: Shard,
    writer: PartWriter,
    gen_temp: float | None,
    prefix: pd.DataFrame | None,
    entity_offset: int,
) -> tuple[int, int]:
    """A shard's whole series in one part: (series, rows)."""
    synth = _loaded(payload, "sequence")
    if prefix is not None:
        frame = synth.generate(prefix=prefix, seed=shard.seed, gen_temp=gen_temp)
    else:
        frame = synth.generate(
            shard.rows, seed=shard.seed, gen_temp=gen_temp, entity_offset=entity_offset
        )
    column = synth.series.entity_column
    series = int(frame[column].nunique()) if column else shard.rows
    return series, writer.write(shard.index, frame)


def _shard_tables(
    payload: ModelPayload, shard: Shard, sampling: dict[str, Any]
) -> dict[str, pd.DataFrame]:
    """A shard's tables, originals left out (they are written once); ``sampling``: the
    run's rebalance and batch size, as :meth:`RelationalSynthesizer.sampling` gave them."""
    synth = _loaded(payload, "relational")
    tables = synth.generate(
        shard.rows, seed=shard.seed, key_offset=shard.index * KEY_STRIDE, **sampling
    )
    return {name: frame for name, frame in tables.items() if name not in synth._originals}


def _database_shard(
    payload: ModelPayload, shard: Shard, writers: dict[str, PartWriter], sampling: dict[str, Any]
) -> dict[str, int]:
    return {
        name: writers[name].write(shard.index, frame)
        for name, frame in _shard_tables(payload, shard, sampling).items()
    }


# ----------------------------------------------------------------------------- driver
def _writer(
    destination: str | PartWriter, file_format: str, storage_options: dict[str, Any] | None
) -> PartWriter:
    if isinstance(destination, PartWriter):
        return destination
    return PartWriter(str(destination), file_format, dict(storage_options or {}))


def _run(
    module: Any,
    tasks: Iterable[tuple[Shard, Any]],
    progress: ProgressCallback | None,
    wanted: int,
    count: Callable[[Any], int] = int,
    consume: Callable[[Any], Any] | None = None,
) -> dict[int, Any]:
    """Results by shard index (or what ``consume`` made of each, as it arrived), keeping
    at most TASKS_PER_CPU × CPUs tasks queued."""
    limit = TASKS_PER_CPU * max(int(module.cluster_resources().get("CPU", 1)), 1)
    pending: dict[Any, Shard] = {}
    results: dict[int, Any] = {}
    finished = 0

    def collect(block: int) -> None:
        nonlocal finished
        ready, _ = module.wait(list(pending), num_returns=block)
        for ref in ready:
            shard = pending.pop(ref)
            result = module.get(ref)
            results[shard.index] = result if consume is None else consume(result)
            del result  # a shard's frames: freed before the next one arrives
            finished += count(results[shard.index])
            if progress is not None:
                progress(finished, wanted)

    try:
        for shard, ref in tasks:
            pending[ref] = shard
            if len(pending) >= limit:
                collect(1)
        while pending:
            collect(1)
    except module.exceptions.RayTaskError as exc:
        cause = getattr(exc, "cause", None)
        if isinstance(cause, SynthloomError):  # bad input found in a task: its one line
            raise cause from None
        raise
    return results


def _check_count(rows: int, wanted: int) -> None:
    if rows != wanted:  # each shard writes exactly its rows; this would be a bug
        raise SynthloomError(f"the parts hold {rows} records, not the {wanted} asked for")
