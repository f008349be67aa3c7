"""Seeds of a generator: rows like these, each giving values for some of its table's columns.

A generator that synthesizes one table (original lookup tables beside it are fine) can be
given a seeds file at its generation step: one record per seed row, each keeping its
seed values exactly and the other columns drawn given them
(:meth:`synthloom.synthesizers.table.TableSynthesizer.generate` with ``seeds``). A
generator with child tables (a relational model) is not seeded.

The file is stored under a server-made name, ``DATA_DIR/seeds/<generator id>/seeds.<ext>``
(the uploaded name is kept only to show), checked before it replaces the earlier one, and
copied into each job's folder when the job starts, so a run keeps the seeds it used.
"""

from __future__ import annotations

import logging
import secrets
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import pandas as pd

from synthloom.errors import DataError, SynthloomError
from synthloom.io.sizes import check_cells
from synthloom.relational.sources import TABLE_SUFFIXES
from synthloom.serve import sources as src

SEEDS_DIR = "seeds"
SEEDS_STEM = "seeds"
CHUNK = 1 << 20
SHOWN_NAME = 120  # characters of the uploaded name kept to show
PARAMS_FILE = "model_params.json"  # a trained model dir has it (as the worker checks)


def folder(paths: src.Paths, generator_id: str) -> Path:
    """The generator's seeds folder (not made here)."""
    return paths.data_dir / SEEDS_DIR / generator_id


def stored(directory: Path) -> Path | None:
    """The seeds file in ``directory`` (a generator's or a job's folder), or None: only a
    plain file with the server-made name, never a link."""
    if not directory.is_dir():
        return None
    for suffix in TABLE_SUFFIXES:
        path = directory / f"{SEEDS_STEM}{suffix}"
        if path.is_file() and not path.is_symlink():
            return path
    return None


def shown_name(filename: str) -> str:
    """An uploaded file's name as it may be shown: no folders, printable, short."""
    name = Path((filename or "").replace("\\", "/")).name
    name = "".join(c for c in name if c.isprintable())
    return name[:SHOWN_NAME] or "seeds"


def suffix_of(filename: str, head: bytes) -> str:
    """The stored suffix of a seeds upload: one table file, not a database or schema."""
    try:
        suffix = src.upload_suffix(filename, head)
    except DataError:
        suffix = ""
    if suffix not in TABLE_SUFFIXES:
        raise DataError(
            f"cannot use seeds named {shown_name(filename)!r}: upload one table file "
            "(CSV, TSV, Parquet, JSON or JSONL)"
        )
    return suffix


def save_upload(source: IO[bytes], filename: str, target_dir: Path, limit: int) -> tuple[Path, str]:
    """Copy an upload to a temporary server-made name in ``target_dir`` (size-limited);
    returns it and its shown name. The caller checks it, then :func:`commit` or removes it."""
    head = source.read(16)
    suffix = suffix_of(filename, head)
    target_dir.mkdir(parents=True, exist_ok=True)
    tmp = target_dir / f".upload-{secrets.token_hex(6)}{suffix}"  # uploads side by side
    total = len(head)
    try:
        with tmp.open("wb") as handle:
            handle.write(head)
            while chunk := source.read(CHUNK):
                total += len(chunk)
                if total > limit:
                    raise DataError(
                        f"the seeds file is larger than {limit // (1024 * 1024)} MiB; "
                        "give fewer seed rows"
                    )
                handle.write(chunk)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp, shown_name(filename)


def commit(tmp: Path) -> Path:
    """Make a checked upload the generator's seeds file (the earlier one goes)."""
    final = tmp.with_name(SEEDS_STEM + tmp.suffix)
    for suffix in TABLE_SUFFIXES:
        old = tmp.with_name(SEEDS_STEM + suffix)
        if old != final:
            old.unlink(missing_ok=True)
    tmp.replace(final)
    return final


def read(path: Path, name: str, max_cells: int) -> pd.DataFrame:
    """The seed rows of a stored file, or a one-line DataError naming the upload (never
    the server's path): unreadable, too large, no rows or no columns, a column twice."""
    try:
        check_cells([path], max_cells)
        from synthloom.io.tables import read_table

        frame = read_table(path)[0]
    except SynthloomError as exc:  # the reader's own one line
        raise DataError(f"the seeds file {name!r}: {_hidden(exc, path, name)}") from None
    except Exception as exc:  # a parser's own error: its first line, no traceback
        raise DataError(
            f"the seeds file {name!r} cannot be read: {_hidden(exc, path, name)}"
        ) from None
    frame = frame.rename(columns=str)
    if frame.columns.has_duplicates:
        raise DataError("the seeds name a column more than once; give each column once")
    if frame.empty or not len(frame.columns):
        raise DataError("the seeds have no rows or no columns; give at least one of each")
    return frame.reset_index(drop=True)


def _hidden(exc: BaseException, path: Path, name: str) -> str:
    """The first line of an error, the server's paths in it replaced by the shown name."""
    text = (str(exc).splitlines() or [type(exc).__name__])[0]
    for where in (str(path.resolve()), str(path), path.name):
        text = text.replace(where, name)
    return text.replace(str(path.parent), "") or type(exc).__name__


def summary(frame: pd.DataFrame, name: str) -> dict[str, Any]:
    """What a generator's settings show of its seeds (the file is found by its fixed name)."""
    return {"name": name, "rows": len(frame), "columns": [str(c) for c in frame.columns]}


def problems(schema: dict[str, Any] | None, config: dict[str, Any], seeds: Any) -> list[str]:
    """Why a generator's seeds cannot be used with its configuration (the configurator's
    schema summary): a relational model, columns the table does not learn, a rebalance."""
    if not seeds or schema is None:
        return []
    order = list(schema.get("order") or [])
    if len(order) != 1:
        return [relational_problem(order)]
    root, learned = schema["root"], list(schema.get("root_columns") or [])
    unknown = [c for c in seeds.get("columns") or [] if c not in learned]
    found: list[str] = []
    if unknown:
        found.append(
            f"seed column(s) {unknown} are not columns the table {root} learns (keys are "
            f"made new, excluded columns are not learned); give seeds with some of {learned}"
        )
    if (config.get("generate") or {}).get("rebalance"):
        found.append(
            "seeds and a rebalance cannot be combined: the seed rows decide the values; "
            "remove the rebalance or the seeds"
        )
    return found


def relational_problem(order: list[str]) -> str:
    """Why a generator of several synthesized tables takes no seeds, in one line."""
    return (
        "seeds apply to a generator of one synthesized table; this one synthesizes "
        f"{', '.join(order)} (a relational model): remove the seeds"
    )


def root_model(synth: Any) -> Any:
    """The table model of a one-table relational synthesizer's root (to seed)."""
    from synthloom.synthesizers.table import TableSynthesizer

    schema = synth.schema
    order = list(schema.order)
    if len(order) != 1:
        raise DataError(relational_problem(order))
    model = synth._models.get(schema.root)  # the relational synthesizer's table models
    if not isinstance(model, TableSynthesizer):
        raise DataError(f"the table {schema.root} has no learned columns to seed")
    return model


class SeededRoot:
    """The root's model as the relational synthesizer calls it, generating one row per
    seed row whatever it is asked for (values it passes as seeds, kept columns, stay)."""

    def __init__(self, model: Any, seeds: pd.DataFrame) -> None:
        self._model = model
        self._seeds = seeds

    def generate(
        self,
        num_records: int | None = None,
        *,
        seeds: pd.DataFrame | None = None,
        rebalance: Any = None,
        **options: Any,
    ) -> pd.DataFrame:
        given = self._seeds
        if seeds is not None and len(seeds.columns):
            given = seeds.reset_index(drop=True).copy()
            for column in self._seeds.columns:
                given[column] = self._seeds[column].to_numpy()
        return self._model.generate(seeds=given, **options)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)


def seed(synth: Any, frame: pd.DataFrame) -> None:
    """Make a loaded one-table relational synthesizer generate from these seed rows."""
    model = root_model(synth)
    synth._models[synth.schema.root] = SeededRoot(model, frame)


def check_with_model(model_dir: Path, frame: pd.DataFrame) -> list[str]:
    """The model's own checks of the seeds (a trained generator): a column it does not
    have, a category it never saw, ... raise its one-line error; its warnings come back.
    One row is generated to run them, in this process."""
    if not (model_dir / PARAMS_FILE).is_file():
        return []
    from synthloom.relational import RelationalSynthesizer

    synth = RelationalSynthesizer.load(model_dir)
    model = root_model(synth)
    with _warnings() as caught:
        rows = model.generate_chunks(seeds=frame, chunk_rows=1, parallelism=1)
        try:
            next(rows)
        finally:
            rows.close()
    return caught


@contextmanager
def _warnings() -> Iterator[list[str]]:
    """The synthloom warnings this thread logs meanwhile."""
    caught: list[str] = []
    thread = threading.get_ident()

    class Catch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.thread == thread and record.levelno >= logging.WARNING:
                caught.append(record.getMessage())

    handler = Catch()
    logger = logging.getLogger("synthloom")
    logger.addHandler(handler)
    try:
        yield caught
    finally:
        logger.removeHandler(handler)


def copy_for_job(paths: src.Paths, generator_id: str, job_dir: Path) -> Path | None:
    """The generator's seeds copied into a job's folder (the run keeps what it used);
    an earlier attempt's copy is replaced. None: the generator has no seeds file."""
    for suffix in TABLE_SUFFIXES:
        (job_dir / f"{SEEDS_STEM}{suffix}").unlink(missing_ok=True)
    found = stored(folder(paths, generator_id))
    if found is None:
        return None
    target = job_dir / found.name
    shutil.copyfile(found, target)
    return target
