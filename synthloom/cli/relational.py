"""``synthloom relational``: train on a database and generate a synthetic one."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.markup import escape
from rich.status import Status

from synthloom.cli.common import MAX_RECORDS, console, friendly_errors
from synthloom.cli.scale import RAY_HELP, database_parts
from synthloom.config import parse_rebalance
from synthloom.errors import SynthloomError
from synthloom.io.outputs import check_not_protected
from synthloom.relational import (
    RelationalSynthesizer,
    StatusEvent,
    load_relational_config,
    write_tables,
)
from synthloom.relational.complexity import Assessment, assess
from synthloom.relational.destinations import destination_kind, require_storage_driver
from synthloom.relational.report import HTML_FILE, build_relational_report
from synthloom.relational.schema import build_schema
from synthloom.relational.sources import read_source
from synthloom.scale.executor import RayExecutor

app = typer.Typer(
    help="Relational databases: learn every table with its keys, generate a new database.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help as written
)


class _Progress:
    """Shows each step of the status timeline: a spinner while it runs, a line when done."""

    def __init__(self, quiet: bool, spinner: bool = True) -> None:
        self.quiet = quiet
        self.spinner = spinner  # off beside another live display (the --ray progress bar)
        self.status: Status | None = None
        self.running: StatusEvent | None = None

    def __call__(self, event: StatusEvent) -> None:
        if self.quiet or (event.status == "running" and not self.spinner):
            return
        what = event.stage + (f" {event.table}" if event.table else "")
        if event.status == "running":
            self.status = console.status(f"{escape(what)} …")
            self.status.start()
            self.running = event
            return
        # a step done inside the running one (a table trained on Ray): a line above it
        if self.status is not None and event is self.running:
            self.status.stop()
            self.status = None
        mark = "[green]✓[/]" if event.status == "done" else "[red]✗[/]"
        detail = f" ({event.detail})" if event.detail else ""  # may hold [postgres]: escaped
        console.print(
            f"{mark} {escape(what)} {event.seconds or 0:.1f}s{escape(detail)}", highlight=False
        )


def _show_assessment(assessment: Assessment) -> None:
    color = "green" if assessment.verdict == "positive" else "yellow"
    lines = assessment.describe().splitlines()
    console.print(f"[{color}]{escape(lines[0])}[/]", highlight=False)
    for line in lines[1:]:
        console.print(escape(line), highlight=False, soft_wrap=True)


def _source(source: str | None, config_path: Path) -> str:
    if source:
        return source
    configured = load_relational_config(config_path).source
    if not configured:
        raise SynthloomError("no source: pass --source URL|FOLDER or set source in the config")
    return configured


@app.command()
@friendly_errors
def train(
    what: Annotated[
        str,
        typer.Argument(
            help="The database: a SQLAlchemy URL, an SQLite file or a folder of tables (keys "
            "from its constraints or schema.yaml), learned with the defaults; or a relational "
            "YAML config, its database given by --source or its source.",
            show_default=False,
        ),
    ],
    model_dir: Annotated[Path, typer.Option("--model-dir", help="Folder to write the model to.")],
    source: Annotated[
        str | None,
        typer.Option(
            "--source",
            help="With a config: SQLAlchemy URL (sqlite:///db.sqlite, postgresql+psycopg://…, "
            "mysql+pymysql://…), an SQLite file, or a folder of CSV/Parquet files.",
        ),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option("--model", help="lstm or amplify for every table (default: the config's)."),
    ] = None,
    max_seconds: Annotated[
        float | None,
        typer.Option("--max-seconds", min=1, help="Stop each table's training after this long."),
    ] = None,
    overwrite: Annotated[
        bool,
        typer.Option("--overwrite", help="Replace an existing model once the new one is done."),
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress.")] = False,
    ray: Annotated[
        str | None,
        typer.Option(
            "--ray", help="Train the tables as parallel Ray tasks: 'auto' or a cluster address."
        ),
    ] = None,
) -> None:
    """Check the schema, assess the cost, and train one model per table."""
    path = Path(what)
    config: Path | dict[str, Any] = {}
    if path.suffix.lower() in (".yaml", ".yml") and path.is_file():
        config, database, config_dir = path, _source(source, path), path.parent
    else:
        if source is not None:
            raise SynthloomError(
                f"--source goes with a config; to train on the database, give it first: "
                f"synthloom relational train {source} --model-dir {model_dir}"
            )
        database, config_dir = what, None
    if model not in (None, "lstm", "amplify"):
        raise SynthloomError(f"--model {model} is not lstm or amplify")
    if model is not None or max_seconds is not None:
        config = _with_flags(config, model, max_seconds)
    synth = RelationalSynthesizer(config)
    progress = _Progress(quiet)
    synth.fit(
        database,
        model_dir,
        overwrite=overwrite,
        progress=progress,
        config_dir=config_dir,
        on_assessment=None if quiet else _show_assessment,
        executor=RayExecutor(ray) if ray is not None else None,
    )
    assert synth.schema is not None
    console.print(
        f"trained {len(synth.schema.order)} table model(s) (root {synth.schema.root}; "
        f"{len(synth.schema.originals)} original) in {model_dir}",
        highlight=False,
    )


def _with_flags(
    config: Path | dict[str, Any], model: str | None, max_seconds: float | None
) -> dict[str, Any]:
    """The config (a file's, or the defaults) with the command's flags over it."""
    data = (
        load_relational_config(config).model_dump(exclude_unset=True)
        if isinstance(config, Path)
        else dict(config)
    )
    if model is not None:
        data["engine"] = model
    if max_seconds is not None:
        data["params"] = {**data.get("params", {}), "max_training_time_seconds": max_seconds}
    return data


@app.command()
@friendly_errors
def generate(
    model_dir: Annotated[Path, typer.Option("--model-dir", help="A trained model's folder.")],
    destination: Annotated[
        str,
        typer.Option(
            "--destination",
            help="A folder, a SQLAlchemy URL, or object storage (s3://bucket/prefix, gs://…).",
        ),
    ],
    num_records: Annotated[
        int | None,
        typer.Option("--num-records", max=MAX_RECORDS, help="Rows of the root table."),
    ] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace existing tables or files.")
    ] = False,
    file_format: Annotated[
        str, typer.Option("--format", help="csv or parquet (folders and object storage).")
    ] = "csv",
    seed: Annotated[
        int | None, typer.Option("--seed", help="Seed for reproducible output.")
    ] = None,
    rebalance: Annotated[
        str | None,
        typer.Option(
            "--rebalance",
            help="Shares of a root-table column's values, 'column: value=share, …' (the "
            "column the config's generate.rebalance named at training).",
        ),
    ] = None,
    batch_size: Annotated[
        int | None,
        typer.Option(
            "--batch-size", min=1, help="Rows each row-by-row table model samples per step."
        ),
    ] = None,
    storage_option: Annotated[
        list[str] | None,
        typer.Option("--storage-option", help="KEY=VALUE for fsspec (e.g. endpoint_url=http://…)."),
    ] = None,
    report: Annotated[
        bool,
        typer.Option(
            "--report/--no-report",
            help="Write the relational report (one report per table, children per parent, "
            "parent–child correlations); reads the training source again.",
        ),
    ] = True,
    report_dir: Annotated[
        Path | None,
        typer.Option(
            "--report-dir",
            help="Folder for the report (default: DESTINATION_report beside a folder or "
            "SQLite file, else MODEL_DIR/report).",
        ),
    ] = None,
    report_source: Annotated[
        str | None,
        typer.Option(
            "--report-source",
            help="Where to read the real tables for the report (default: the source "
            "recorded at training, unless it needed a password).",
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress.")] = False,
    ray: Annotated[str | None, typer.Option("--ray", help=RAY_HELP)] = None,
    seeds: Annotated[
        list[str] | None,
        typer.Option(
            "--seeds",
            help="TABLE=FILE: given values to condition on (repeatable). The root's seed rows "
            "become its rows; a sequence child's rows name their parent by the root seeds' "
            "key and become its first children.",
        ),
    ] = None,
) -> None:
    """Generate a database: NUM_RECORDS root rows, every other table following."""
    shares = parse_rebalance(rebalance or "")
    seed_rows = _seed_tables(seeds or [])
    synth = RelationalSynthesizer.load(model_dir)
    if ray is not None and seed_rows:
        raise SynthloomError("--seeds runs on this machine; leave out --ray")
    if ray is not None:
        _check_destination(destination, model_dir, synth.source_)
        options = _storage_options(storage_option or [])
        database_parts(
            model_dir,
            destination,
            num_records,
            ray,
            seed=seed,
            file_format=file_format,
            overwrite=overwrite,
            storage_options=options,
            on_step=_Progress(quiet, False),
            rebalance=shares,
            predict_batch_size=batch_size,
        )
        return
    if destination_kind(destination) == "objects":  # before generating, not after
        require_storage_driver(destination)
    _check_destination(destination, model_dir, synth.source_)
    progress = _Progress(quiet)
    tables = synth.generate(
        num_records,
        seed=seed,
        rebalance=shares,
        predict_batch_size=batch_size,
        progress=progress,
        seeds=seed_rows,
    )
    assert synth.schema is not None and synth.timeline_ is not None
    timeline = synth.timeline_
    timeline.callback = progress
    with timeline.step("writing") as event:
        where = write_tables(
            tables,
            synth.schema,
            destination,
            overwrite=overwrite,
            file_format=file_format,  # type: ignore[arg-type]
            storage_options=_storage_options(storage_option or []),
        )
        event.detail = where
    rows = ", ".join(f"{name} {len(frame):,}" for name, frame in tables.items())
    console.print(f"wrote {where}: {rows}; referential integrity 100%", highlight=False)
    if report:
        folder = report_dir or _report_dir(destination, model_dir)
        _report(synth, tables, folder, report_source, timeline)


def _seed_tables(items: list[str]) -> dict[str, Any]:
    """``TABLE=FILE`` items read as tables (by file type)."""
    from synthloom.io.tables import read_table

    out = {}
    for item in items:
        name, _, path = item.partition("=")
        if not name or not path:
            raise SynthloomError(f"--seeds {item!r}: give TABLE=FILE, e.g. --seeds customers=c.csv")
        if not Path(path).is_file():
            raise SynthloomError(f"--seeds {item!r}: no file {path}")
        out[name] = read_table(path)[0]
    return out


def _check_destination(destination: str, model_dir: Path, source: dict | None) -> None:
    """A folder or SQLite destination must not be the model dir or the training source."""
    path = _local_path(destination)
    if path is None:
        return
    check_not_protected(path, model_dir)
    location = (source or {}).get("location") or ""
    if location.startswith("sqlite"):
        from sqlalchemy.engine import make_url

        real = make_url(location).database
        if real and Path(real).resolve() == path.resolve():
            raise SynthloomError(
                f"--destination {destination} is the training database; write the synthetic "
                "database elsewhere (the real data would be lost)"
            )


def _local_path(destination: str) -> Path | None:
    """The local folder or SQLite file a destination names, else None (a server, a bucket)."""
    kind = destination_kind(destination)
    if kind == "folder":
        return Path(destination.removeprefix("file://"))
    if kind == "database" and "://" not in destination:
        return Path(destination)
    if destination.startswith("sqlite"):
        from sqlalchemy.engine import make_url

        database = make_url(destination).database
        return Path(database) if database and database != ":memory:" else None
    return None


def _report_dir(destination: str, model_dir: Path) -> Path:
    """Beside a folder or SQLite destination; in the model dir for a server or a bucket."""
    kind = destination_kind(destination)
    path = Path(destination.removeprefix("file://"))
    if kind == "objects":
        return model_dir / "report"
    if kind == "database" and "://" in destination:
        if not destination.startswith("sqlite"):
            return model_dir / "report"
        from sqlalchemy.engine import make_url

        path = Path(make_url(destination).database or "synthetic")
    return path.parent / f"{path.stem or path.name}_report"


def _report(
    synth: RelationalSynthesizer,
    tables: dict[str, Any],
    folder: Path,
    source: str | None,
    timeline: Any,
) -> None:
    """The automatic report after ``generate``; real tables that cannot be read skip it."""
    try:
        real = synth.real_tables(source)
    except SynthloomError as exc:
        console.print(f"no report: {exc}", highlight=False, soft_wrap=True)
        return
    assert synth.schema is not None
    with timeline.step("report") as event:
        scores = build_relational_report(
            real,
            tables,
            synth.schema,
            folder,
            **synth.report_claims(),
        )
        event.detail = str(folder)
    reported = {n: scores["tables"][n] for n in synth.schema.order}
    reported = {n: t for n, t in reported.items() if t.get("report")}
    cautious = [t for t in reported.values() if t.get("privacy") != "ok"]
    quality = ", ".join(f"{n} {t['quality_score']:.0f}" for n, t in reported.items())
    privacy = f"; privacy: check {len(cautious)} table report(s)" if cautious else ""
    console.print(
        f"report: quality {quality or 'not scored'}{privacy}; {folder / HTML_FILE}",
        highlight=False,
        soft_wrap=True,
    )


@app.command("assess")
@friendly_errors
def assess_command(
    config: Annotated[Path, typer.Argument(help="Relational YAML config.")],
    source: Annotated[str | None, typer.Option("--source", help="Database URL or folder.")] = None,
) -> None:
    """Check the schema and estimate the training cost, without training."""
    loaded = load_relational_config(config)
    data = read_source(_source(source, config), loaded, config.parent)
    schema, frames = build_schema(data.frames, data.keys, loaded, data.all_tables)
    _show_assessment(assess(schema, frames, loaded))
    console.print(
        f"root {schema.root}; synthesized {', '.join(schema.order)}; original "
        f"{', '.join(schema.originals) or 'none'}",
        highlight=False,
    )


def _storage_options(pairs: list[str]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SynthloomError(f"--storage-option {pair!r} must be KEY=VALUE")
        options[key] = yaml.safe_load(value) if value else value
    return options
