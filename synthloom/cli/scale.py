"""``--ray`` on ``generate`` and ``relational generate``: shards as Ray tasks, part files."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.progress import Progress

from synthloom.cli.common import console
from synthloom.errors import SynthloomError

RAY_HELP = (
    "Generate in shards as Ray tasks: 'auto' (this machine's cluster, else a local one) or "
    "a cluster address; OUTPUT is then a folder (or s3://… URL) of part files, or, for "
    "relational generate, a database filled shard by shard. Needs pip install "
    "'synthloom[ray]'."
)


def table_parts(
    model_dir: Path,
    output: str,
    num_records: int | None,
    ray: str,
    file_format: str,
    **options: Any,
) -> None:
    """``synthloom generate --ray``: a table model's rows as part files."""
    from synthloom.scale import generate_parts

    _wrote(
        _seeded_parts(
            generate_parts, "rows", model_dir, output, num_records, ray, file_format, **options
        )
    )


def text_parts(
    model_dir: Path, output: str, num_records: int | None, ray: str, **options: Any
) -> None:
    """``synthloom generate --ray`` for a text model: its records as lines of part files."""
    from synthloom.scale import generate_text_parts

    if num_records is None:
        raise SynthloomError("--ray needs --num-records (the records to spread over the shards)")
    with _progress("records") as progress:
        result = generate_text_parts(
            model_dir, output, num_records, ray=ray, progress=progress, **options
        )
    _wrote(result)


def sequence_parts(
    model_dir: Path,
    output: str,
    num_records: int | None,
    ray: str,
    file_format: str,
    **options: Any,
) -> None:
    """``synthloom generate --ray`` for a time-series model: whole series in part files."""
    from synthloom.scale import generate_sequence_parts

    result = _seeded_parts(
        generate_sequence_parts,
        "series",
        model_dir,
        output,
        num_records,
        ray,
        file_format,
        **options,
    )
    console.print(
        f"wrote {result.tables['rows']:,} records ({result.rows:,} series) in {result.parts} "
        f"parts to {result.location} ({result.rows / max(result.seconds, 1e-9):,.0f} series/s "
        "on Ray)",
        highlight=False,
    )


def _seeded_parts(
    generate: Any,
    unit: str,
    model_dir: Path,
    output: str,
    num_records: int | None,
    ray: str,
    file_format: str,
    **options: Any,
) -> Any:
    """A table's or time series' parts on Ray: ``num_records`` (rows or series) or seeds."""
    if num_records is None and options.get("seeds") is None:
        raise SynthloomError(f"--ray needs --num-records (the {unit} to spread over the shards)")
    label = "records" if unit == "rows" else unit
    with _progress(label) as progress:
        return generate(
            model_dir,
            output,
            num_records,
            ray=ray,
            file_format=file_format,
            progress=progress,
            **options,
        )


def _wrote(result: Any) -> None:
    console.print(
        f"wrote {result.rows:,} records in {result.parts} parts to {result.location} "
        f"({result.rows / max(result.seconds, 1e-9):,.0f} records/s on Ray)",
        highlight=False,
    )


def database_parts(
    model_dir: Path, destination: str, num_records: int | None, ray: str, **options: Any
) -> None:
    """``synthloom relational generate --ray``: every table as ``<table>/part-NNNNN``, or
    into a database through staging tables."""
    from synthloom.scale import generate_relational_parts

    if num_records is None:
        raise SynthloomError("--ray needs --num-records (root rows to spread over the shards)")
    with _progress("root rows") as progress:
        result = generate_relational_parts(
            model_dir, destination, num_records, ray=ray, progress=progress, **options
        )
    rows = ", ".join(f"{name} {count:,}" for name, count in result.tables.items())
    console.print(
        f"wrote {result.parts} shards to {result.location}: {rows}; keys unique across "
        "shards, foreign keys resolved within each",
        highlight=False,
    )


@contextmanager
def _progress(unit: str) -> Iterator[Callable[[int, int], None]]:
    """A progress bar over the whole run, advanced as shards finish anywhere."""
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task(f"generating {unit} on Ray", total=None)

        def update(done: int, wanted: int) -> None:
            bar.update(task, completed=done, total=wanted)

        yield update
