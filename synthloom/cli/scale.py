"""``--ray`` on ``generate`` and ``relational generate``: shards as Ray tasks, part files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from synthloom.cli.common import console
from synthloom.errors import SynthloomError

RAY_HELP = (
    "Generate in shards as Ray tasks: 'auto' (this machine's cluster, else a local one) or "
    "a cluster address; OUTPUT is then a folder (or s3://… URL) of part files. Needs "
    "pip install 'synthloom[ray]'."
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

    if num_records is None:
        raise SynthloomError("--ray needs --num-records (the rows to spread over the shards)")
    result = generate_parts(
        model_dir, output, num_records, ray=ray, file_format=file_format, **options
    )
    console.print(
        f"wrote {result.rows:,} records in {result.parts} parts to {result.location} "
        f"({result.rows / max(result.seconds, 1e-9):,.0f} records/s on Ray)",
        highlight=False,
    )


def database_parts(
    model_dir: Path, destination: str, num_records: int | None, ray: str, **options: Any
) -> None:
    """``synthloom relational generate --ray``: every table as ``<table>/part-NNNNN``."""
    from synthloom.relational.destinations import destination_kind
    from synthloom.scale import generate_relational_parts

    if destination_kind(destination) == "database":
        raise SynthloomError(
            "--ray writes part files to a folder or object storage, not a database; give a "
            "folder (or s3://… URL) and load the parts with the database's bulk loader"
        )
    if num_records is None:
        raise SynthloomError("--ray needs --num-records (root rows to spread over the shards)")
    result = generate_relational_parts(model_dir, destination, num_records, ray=ray, **options)
    rows = ", ".join(f"{name} {count:,}" for name, count in result.tables.items())
    console.print(
        f"wrote {result.parts} shards to {result.location}: {rows}; keys unique across "
        "shards, foreign keys resolved within each",
        highlight=False,
    )
