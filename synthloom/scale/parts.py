"""Shards of a generation run and the part files they write.

A shard is a range of the records asked for, with its own seed: its rows depend only on
(seed, index), so a retried shard writes the same rows again. Each shard writes one
``part-NNNNN`` file (a table's rows as Parquet or CSV, or text records as lines) under a
hidden temporary name and renames it when complete, so a task killed mid-write leaves no
part, and a retry after a complete write replaces the part with identical rows: no row is
ever counted twice.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from synthloom.errors import ConfigError, DataError
from synthloom.io.tables import write_table
from synthloom.io.text import write_text_records
from synthloom.synthesizers.executors import task_seed as shard_seed

PART_PREFIX = "part-"
TABLE_FORMATS = ("parquet", "csv")
TEXT_FORMAT = "txt"  # text records, one a line
FORMATS = (*TABLE_FORMATS, TEXT_FORMAT)


@dataclass(frozen=True)
class Shard:
    """Records ``start`` to ``start + rows`` of a run, sampled with ``seed``."""

    index: int
    start: int
    rows: int
    seed: int


def plan_shards(total: int, shard_rows: int, seed: int) -> list[Shard]:
    """Consecutive shards of at most ``shard_rows`` covering exactly ``total`` records."""
    if total < 1 or shard_rows < 1:
        raise ConfigError(f"num_records={total} and shard_rows={shard_rows} must be ≥ 1")
    return [
        Shard(index, start, min(shard_rows, total - start), shard_seed(seed, index))
        for index, start in enumerate(range(0, total, shard_rows))
    ]


def run_seed(seed: int | None, default: int | None = None) -> int:
    """The run's seed: the given one, else ``default`` (the config's), else one drawn here
    once, so retries repeat rows."""
    for given in (seed, default):
        if given is not None:
            return given
    return int.from_bytes(os.urandom(7), "little")


@dataclass(frozen=True)
class PartWriter:
    """Writes shards as ``part-NNNNN.<format>`` files in a folder or fsspec URL."""

    url: str
    file_format: str = "parquet"
    storage_options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.file_format not in FORMATS:
            raise ConfigError(f"format {self.file_format!r} is not one of {FORMATS}")

    def child(self, name: str) -> PartWriter:
        """A writer for the sub-folder ``name`` (one per table of a database)."""
        return PartWriter(f"{self.url.rstrip('/')}/{name}", self.file_format, self.storage_options)

    def part_name(self, index: int) -> str:
        return f"{PART_PREFIX}{index:05d}.{self.file_format}"

    def write(self, index: int, frame: pd.DataFrame) -> int:
        """Write shard ``index``'s rows atomically (temporary name, then rename); their
        number."""

        def table(path: Path) -> int:
            write_table(frame, path)
            return len(frame)

        return self._put(index, table)

    def write_lines(self, index: int, records: Iterable[str]) -> int:
        """Write shard ``index``'s text records, one a line, atomically; their number."""
        return self._put(index, lambda path: write_text_records(path, records))

    def _put(self, index: int, write_local: Callable[[Path], int]) -> int:
        """The part written by ``write_local`` to a local file, uploaded under a hidden
        name and renamed, so no reader ever sees half a part."""
        fs, root = self._fs()
        fs.makedirs(root, exist_ok=True)
        name = self.part_name(index)
        hidden = f".{name}.{uuid.uuid4().hex}.{self.file_format}"  # readers skip dot files
        with tempfile.TemporaryDirectory(prefix="synthloom-part-") as local:
            path = Path(local) / name
            count = write_local(path)
            fs.put_file(str(path), f"{root}/{hidden}")
        fs.mv(f"{root}/{hidden}", f"{root}/{name}")
        return count

    def prepare(self, overwrite: bool) -> None:
        """Refuse (or, with ``overwrite``, remove) parts of an earlier run, which would
        add to this run's rows; remove temporary files that killed tasks left."""
        fs, root = self._fs()
        if fs.exists(root) and not fs.isdir(root):
            raise DataError(f"{self.url} is a file; give a folder (or prefix) for the parts")
        parts = self.parts()
        if parts and not overwrite:
            raise DataError(
                f"{self.url} already holds {len(parts)} part files; pass --overwrite "
                "(overwrite=True) to replace them, or choose another folder"
            )
        for path in [*parts, *self._leftovers()]:
            fs.rm(path)

    def parts(self) -> list[str]:
        """The complete part files, in order."""
        return sorted(p for p in self._listing() if Path(p).name.startswith(PART_PREFIX))

    def clean_leftovers(self) -> None:
        """Remove temporary files of attempts that did not finish."""
        fs, _ = self._fs()
        for path in self._leftovers():
            fs.rm(path)

    def _leftovers(self) -> list[str]:
        return [p for p in self._listing() if Path(p).name.startswith(f".{PART_PREFIX}")]

    def _listing(self) -> list[str]:
        fs, root = self._fs()
        return list(fs.ls(root, detail=False)) if fs.isdir(root) else []

    def _fs(self) -> tuple[Any, str]:
        import fsspec

        try:
            fs, root = fsspec.core.url_to_fs(self.url, **self.storage_options)
        except (ImportError, ValueError) as exc:
            raise ConfigError(f"cannot write parts to {self.url!r}: {exc}") from None
        return fs, root.rstrip("/")


@dataclass(frozen=True)
class ModelPayload:
    """A model dir's files as bytes, shipped once to every node (no shared disk needed)."""

    digest: str
    files: dict[str, bytes]

    @classmethod
    def of(cls, model_dir: str | Path, leave_out: Iterable[str] = ()) -> ModelPayload:
        """The files of ``model_dir``, but those named in ``leave_out`` (records of runs,
        which change every run: shipped, they would make every run a new model)."""
        directory = Path(model_dir)
        skipped = set(leave_out)
        files = {
            str(p.relative_to(directory)): p.read_bytes()
            for p in sorted(directory.rglob("*"))
            if p.is_file() and str(p.relative_to(directory)) not in skipped
        }
        digest = hashlib.sha256()
        for name, data in files.items():
            digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
        return cls(digest.hexdigest(), files)

    def unpack(self) -> Path:
        """The files in a local model dir, written once per process and digest."""
        if self.digest not in _UNPACKED:
            folder = Path(tempfile.mkdtemp(prefix="synthloom-model-"))
            for name, data in self.files.items():
                (folder / name).parent.mkdir(parents=True, exist_ok=True)
                (folder / name).write_bytes(data)
            _UNPACKED[self.digest] = folder
        return _UNPACKED[self.digest]


_UNPACKED: dict[str, Path] = {}
