"""The ``synthloom`` command line: a thin layer over the Python API."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer

from synthloom.cli.common import EXIT_INTERRUPTED, MAX_RECORDS, console, friendly_errors
from synthloom.cli.data_kind import data_kind
from synthloom.cli.logs import setup_logging
from synthloom.cli.relational import app as relational_app
from synthloom.cli.scale import RAY_HELP, sequence_parts, table_parts, text_parts
from synthloom.cli.serve import serve
from synthloom.config import (
    Fairness,
    Params,
    SyntheticsConfig,
    SynthloomConfig,
    check_generation_args,
    load_config,
    parse_fairness,
    parse_rebalance,
    validate_config,
)
from synthloom.errors import SynthloomError
from synthloom.io.model_dir import SUMMARY_FILE, read_json
from synthloom.io.outputs import check_not_protected, check_output_file, check_output_folder
from synthloom.io.tables import read_table, write_table_chunks
from synthloom.io.text import check_text_output, write_text_records
from synthloom.lstm.train import EpochState
from synthloom.report.from_model import model_claims, sensitive_columns, training_and_holdout
from synthloom.report.options import REPORT_FILES, ReportOptions, SeriesSpec
from synthloom.scale.executor import RayExecutor
from synthloom.scale.parts import TEXT_FORMAT
from synthloom.synthesizers.dispatch import Synthesizer, load_model, synthesizer_for
from synthloom.synthesizers.sequence import SequenceSynthesizer
from synthloom.synthesizers.table import TableSynthesizer
from synthloom.synthesizers.text import TextSynthesizer
from synthloom.version import __version__

app = typer.Typer(
    help="Learn a private generative model of your data and generate synthetic records.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help as written: [ray] in a help text is not markup
)
app.add_typer(relational_app, name="relational")


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"synthloom {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_show_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Learn a private generative model of your data and generate synthetic records."""


# The automatic report after ``generate`` reads at most this many synthetic records.
REPORT_ROWS = 100_000


@app.command()
@friendly_errors
def train(
    source: Annotated[
        Path,
        typer.Argument(
            help="Your data: a table (CSV/TSV/JSON/JSONL/Parquet) or a text file (one record "
            "per line), learned with the defaults of the Python API; or a YAML config (Gretel "
            "LSTM schema), its data given by --data or its data_source.",
            show_default=False,
        ),
    ],
    model_dir: Annotated[Path, typer.Option("--model-dir", help="Folder to write the model to.")],
    data: Annotated[
        Path | None,
        typer.Option("--data", help="With a config: the training data (default: data_source)."),
    ] = None,
    kind: Annotated[
        str | None,
        typer.Option("--kind", help="table or text, where the file's name does not tell."),
    ] = None,
    max_seconds: Annotated[
        float | None,
        typer.Option("--max-seconds", min=1, help="Stop training after this many seconds."),
    ] = None,
    dp: Annotated[
        bool, typer.Option("--dp", help="Train with differential privacy (DP-SGD).")
    ] = False,
    epsilon: Annotated[
        float | None,
        typer.Option("--epsilon", help="The privacy budget ε of --dp (implies it); default 5."),
    ] = None,
    overwrite: Annotated[
        bool,
        typer.Option("--overwrite", help="Replace an existing model once the new one is done."),
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
    model: Annotated[
        str | None,
        typer.Option("--model", help="lstm or amplify (statistical); default: the config's."),
    ] = None,
    force: Annotated[
        bool,
        typer.Option("--force", help="Train on a table of fewer than 10 rows (copies people)."),
    ] = False,
    ray: Annotated[
        str | None,
        typer.Option(
            "--ray",
            help="Train a wide table's column clusters as parallel Ray tasks: 'auto' or a "
            "cluster address (not under dp: true). Needs pip install 'synthloom[ray]'.",
        ),
    ] = None,
) -> None:
    """Train on a table or a text file (no config needed), or as a YAML config says."""
    if kind not in (None, "table", "text"):
        raise SynthloomError(f"--kind {kind} is not table or text")
    if model not in (None, "lstm", "amplify"):
        raise SynthloomError(f"--model {model} is not lstm or amplify")
    what = data_kind(source, kind)
    if what == "config":
        loaded = load_config(source)
        path = data or _config_data_source(loaded, source)
        config, engine = loaded.synthetics, model or loaded.engine
    else:
        if data is not None:
            raise SynthloomError(
                "--data goes with a YAML config; to train on your data, give it first: "
                f"synthloom train {data} --model-dir {model_dir}"
            )
        path, config, engine = source, SyntheticsConfig(), model or "lstm"
    config = _with_flags(config, max_seconds, dp or epsilon is not None, epsilon)
    synth = TextSynthesizer(config) if what == "text" else synthesizer_for(path, config, engine)
    if ray is not None and not isinstance(synth, TableSynthesizer):
        raise SynthloomError(
            "--ray trains the column clusters of a table; text and time-series models "
            "train here, leave out --ray"
        )
    if isinstance(synth, TableSynthesizer):
        executor = RayExecutor(ray) if ray is not None else None
        synth.fit(
            path,
            model_dir,
            overwrite=overwrite,
            show_progress=not quiet,
            force=force,
            executor=executor,
        )
    else:
        synth.fit(path, model_dir, overwrite=overwrite, show_progress=not quiet)
    _report_training(synth, model_dir)


def _with_flags(
    config: SyntheticsConfig, max_seconds: float | None, dp: bool, epsilon: float | None
) -> SyntheticsConfig:
    """The config with the command's flags over its params (checked like the YAML)."""
    changes: dict[str, Any] = {}
    if max_seconds is not None:
        changes["max_training_time_seconds"] = max_seconds
    if dp:
        changes["dp"] = True
    if epsilon is not None:
        changes["dp_epsilon"] = epsilon
    if not changes:
        return config
    params = validate_config(Params, {**config.params.model_dump(exclude_unset=True), **changes})
    return config.model_copy(update={"params": params})


def _config_data_source(config: SynthloomConfig, config_path: Path) -> Path:
    source = config.synthetics.data_source
    if not source:
        raise SynthloomError("no training data: pass --data PATH or set data_source in the config")
    path = Path(source)
    return path if path.is_absolute() else config_path.parent / path


def _report_training(synth: Synthesizer, model_dir: Path) -> None:
    if isinstance(synth, TableSynthesizer) and synth.engine == "amplify":
        console.print(f"statistical model (amplify) fitted and saved in {model_dir}")
        return
    if isinstance(synth, TableSynthesizer) and synth.fallback_reason_:
        console.print(
            f"[bold yellow]fallback:[/] {synth.fallback_reason_}; the statistical model "
            f"saved in {model_dir} will generate the data",
            highlight=False,
        )
        return
    result = synth.training_result_
    assert result is not None
    best = next((s for s in result.history if s.epoch == result.best_epoch), None)
    monitored = _monitored_loss(best) if best else float("nan")
    console.print(
        f"trained {len(result.history)} epochs in {result.seconds:.1f}s "
        f"({result.tokens_per_second:,.0f} tokens/s), stopped by {result.stop_reason}; "
        f"best epoch {result.best_epoch} (loss {monitored:.4f}) saved in {model_dir}",
        highlight=False,
    )
    last = result.history[-1] if result.history else None
    if last is not None and last.epsilon is not None:
        summary = read_json(model_dir / SUMMARY_FILE)
        console.print(
            f"differential privacy: ε = {summary['epsilon']:.3f}, δ = {summary['delta']:.3g} "
            f"in total (DP-SGD: ε = {summary['privacy']['dp_sgd']['epsilon']:.3f}; "
            f"{summary['privacy']['neighbouring']}); training_summary.json says what ε covers",
            highlight=False,
        )
    if result.stop_reason == "interrupted":
        raise typer.Exit(EXIT_INTERRUPTED)


def _monitored_loss(state: EpochState) -> float:
    return state.val_loss if state.val_loss is not None else state.loss


@app.command()
@friendly_errors
def generate(
    model: Annotated[
        Path | None,
        typer.Argument(help="A trained model's folder (or --model-dir).", show_default=False),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write the records to.")
    ] = None,
    num_records: Annotated[
        int | None,
        typer.Option("--num-records", "-n", max=MAX_RECORDS, help="Valid records to write."),
    ] = None,
    model_dir: Annotated[
        Path | None, typer.Option("--model-dir", help="A trained model's folder.")
    ] = None,
    start_string: Annotated[
        str | None, typer.Option("--start-string", help="Every record starts with this text.")
    ] = None,
    gen_temp: Annotated[float | None, typer.Option("--gen-temp", help="Temperature.")] = None,
    max_invalid: Annotated[int | None, typer.Option("--max-invalid")] = None,
    parallelism: Annotated[
        int | None,
        typer.Option(
            "--parallelism",
            help="Worker processes; 0 = one per free core; default: that for large runs.",
        ),
    ] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Seed for reproducible output.")
    ] = None,
    seeds: Annotated[
        Path | None,
        typer.Option(
            "--seeds",
            help="Table of given values (any of the model's columns): one record per row.",
        ),
    ] = None,
    rebalance: Annotated[
        str | None,
        typer.Option(
            "--rebalance",
            help="Shares of a categorical column's values, e.g. 'sex: Female=0.5' (tables).",
        ),
    ] = None,
    fairness: Annotated[
        str | None,
        typer.Option(
            "--fairness",
            help="'target: sensitive, ...': the target's shares equal in every sensitive "
            "group (tables), e.g. 'income: sex'.",
        ),
    ] = None,
    report: Annotated[
        bool,
        typer.Option(
            "--report/--no-report",
            help="For tables: write a quality and privacy report beside the output "
            "(needs the training data still where it was).",
        ),
    ] = True,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace an existing output file (and report).")
    ] = False,
    ray: Annotated[str | None, typer.Option("--ray", help=RAY_HELP)] = None,
    file_format: Annotated[
        str | None,
        typer.Option("--format", help="parquet (default) or csv: a table's part files with --ray."),
    ] = None,
) -> None:
    """Generate records from a trained model and write the valid ones."""
    if model is not None and model_dir is not None and model != model_dir:
        raise SynthloomError(f"two model dirs given ({model} and --model-dir {model_dir})")
    model_dir = model_dir or model
    if model_dir is None or output is None:
        raise SynthloomError(
            "generate needs a model dir and an output file: synthloom generate MODEL_DIR "
            "-n 1000 -o synthetic.csv"
        )
    check_generation_args(seed=seed, max_invalid=max_invalid, parallelism=parallelism)
    synth = load_model(model_dir)
    if ray is not None:
        _generate_on_ray(
            synth,
            model_dir,
            output,
            num_records,
            ray,
            file_format,
            parallelism,
            max_invalid,
            seed=seed,
            gen_temp=gen_temp,
            seeds=seeds,
            start_string=start_string,
            overwrite=overwrite,
        )
        return
    check_output_file(output, overwrite=overwrite, model_dir=model_dir)
    if seeds is not None and seeds.resolve() == output.resolve():
        raise SynthloomError(f"--output {output} is the --seeds file; write the output elsewhere")
    if (rebalance or fairness) and not isinstance(synth, TableSynthesizer):
        raise SynthloomError("--rebalance and --fairness apply to table models only")
    if isinstance(synth, SequenceSynthesizer):
        if start_string is not None or parallelism is not None:
            raise SynthloomError(
                "--start-string and --parallelism do not apply to time-series models"
            )
        report_dir = _report_folder(output)
        if report:
            check_output_folder(
                report_dir, overwrite=overwrite, files=REPORT_FILES, model_dir=model_dir
            )
        # --seeds: the first rows of series to continue
        prefix = read_table(seeds)[0] if seeds is not None else None
        frame = synth.generate(num_records, prefix=prefix, gen_temp=gen_temp, seed=seed)
        written = write_table_chunks(iter([frame]), output, synth.table_format)
        column = synth.series.entity_column
        series = frame[column].nunique() if column else 1
        console.print(f"wrote {written} records ({series} series) to {output}")
        if report:
            spec = SeriesSpec(column, tuple(synth.series.order_by))
            _report_beside(synth, model_dir, frame.head(REPORT_ROWS), report_dir, spec)
        return
    if isinstance(synth, TableSynthesizer):
        if start_string is not None:
            raise SynthloomError("--start-string applies to text models only")
        report_dir = _report_folder(output)
        if report:
            check_output_folder(
                report_dir, overwrite=overwrite, files=REPORT_FILES, model_dir=model_dir
            )
        chunks = synth.generate_chunks(
            num_records,
            seeds=seeds,
            rebalance=parse_rebalance(rebalance or ""),
            fairness=parse_fairness(fairness),
            gen_temp=gen_temp,
            max_invalid=max_invalid,
            seed=seed,
            parallelism=parallelism,
        )
        kept: list[Any] = []  # the first rows, for the report: memory stays bounded
        written = write_table_chunks(
            _keep_first(chunks, kept, REPORT_ROWS), output, synth.table_format
        )
        stats = synth.generation_stats_
        console.print(
            f"wrote {written} records to {output} ({stats.get('invalid', 0)} invalid discarded)"
        )
        if stats.get("copies_resampled") or stats.get("copies_kept"):
            console.print(
                f"{stats['copies_resampled']} records redrawn because a spelled value equalled "
                f"a training value; {stats['copies_kept']} such copies kept (resampling limit)"
            )
        if stats.get("fallback_reason"):
            console.print(
                f"[bold yellow]fallback:[/] {stats['fallback_records']} records came from the "
                f"statistical model because {stats['fallback_reason']}",
                highlight=False,
            )
        if report:
            if written > REPORT_ROWS:
                console.print(f"the report covers the first {REPORT_ROWS:,} records")
            parity = _parity_request(fairness, synth.config.generate.fairness)
            _report_beside(
                synth, model_dir, pd.concat(kept, ignore_index=True), report_dir, fairness=parity
            )
        return
    if seeds is not None:
        raise SynthloomError("--seeds applies to table models; this model is a text model")
    check_text_output(output)
    records = synth.generate(
        num_records,
        start_string=start_string,
        gen_temp=gen_temp,
        max_invalid=max_invalid,
        parallelism=parallelism,
        seed=seed,
    )
    invalid = 0

    def valid_texts() -> Any:
        nonlocal invalid
        for record in records:
            if record.valid:
                yield record.text
            else:
                invalid += 1

    written = write_text_records(output, valid_texts())
    console.print(f"wrote {written} records to {output} ({invalid} invalid discarded)")


@app.command()
@friendly_errors
def impute(
    model_dir: Annotated[Path, typer.Option("--model-dir", help="A trained table model's folder.")],
    data: Annotated[Path, typer.Option("--data", help="The table with gaps to fill.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="File for the filled table.")],
    columns: Annotated[
        str | None,
        typer.Option("--columns", help="Columns to fill, comma-separated (default: all)."),
    ] = None,
    draws: Annotated[
        int,
        typer.Option(
            "--draws",
            min=1,
            help="1: each gap one draw from the model; more: the most frequent of that many "
            "draws (the mean for numbers), right more often but less spread.",
        ),
    ] = 1,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed for reproducible output.")] = (
        None
    ),
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace an existing output file.")
    ] = False,
) -> None:
    """Fill the missing values of a table from a trained table model, given each row's
    known values (which are never changed)."""
    synth = load_model(model_dir)
    if not isinstance(synth, TableSynthesizer):
        kind = type(synth).__name__
        raise SynthloomError(f"{model_dir} holds a {kind}; impute needs a table model")
    check_output_file(output, overwrite=overwrite, model_dir=model_dir)
    if data.resolve() == output.resolve():
        raise SynthloomError(f"--output {output} is the --data file; write the output elsewhere")
    frame, table_format = read_table(data)
    chosen = [c.strip() for c in columns.split(",") if c.strip()] if columns else None
    filled = synth.impute(frame, chosen, draws=draws, seed=seed)
    gaps = int(frame[chosen or list(frame.columns)].isna().sum().sum())
    written = write_table_chunks(iter([filled]), output, table_format)
    console.print(f"filled {gaps} missing values; wrote {written} rows to {output}")


def _generate_on_ray(
    synth: Synthesizer,
    model_dir: Path,
    output: Path,
    num_records: int | None,
    ray: str,
    file_format: str | None,
    parallelism: int | None,
    max_invalid: int | None,
    *,
    seeds: Path | None,
    start_string: str | None,
    **options: Any,
) -> None:
    """``generate --ray``: a table, time-series or text model's records as part files."""
    if parallelism is not None:
        raise SynthloomError("--parallelism does not apply to --ray (one CPU per shard task)")
    if max_invalid is not None:  # a local run counts it over the run; shards cannot
        raise SynthloomError(
            "--max-invalid does not apply to --ray (each shard allows the config's "
            "max_invalid, by default 5 × its records); leave it out"
        )
    check_not_protected(output, model_dir)
    if isinstance(synth, (SequenceSynthesizer, TableSynthesizer)):
        if start_string is not None:
            raise SynthloomError("--start-string applies to text models only")
        parts = sequence_parts if isinstance(synth, SequenceSynthesizer) else table_parts
        parts(
            model_dir,
            str(output),
            num_records,
            ray,
            file_format or "parquet",
            seeds=seeds,
            **options,
        )
        return
    if seeds is not None:
        raise SynthloomError("--seeds applies to table models; this model is a text model")
    if file_format not in (None, TEXT_FORMAT):
        raise SynthloomError(
            f"--format {file_format}: a text model's parts are .txt lines; leave out --format"
        )
    text_parts(model_dir, str(output), num_records, ray, start_string=start_string, **options)


def _keep_first(chunks: Iterator[Any], kept: list[Any], rows: int) -> Iterator[Any]:
    """Pass ``chunks`` on, keeping copies of their first ``rows`` rows in ``kept``."""
    held = 0
    for chunk in chunks:
        if held < rows:
            kept.append(chunk.head(rows - held))
            held += len(kept[-1])
        yield chunk


def _report_table(path: Path, field_delimiter: str | None) -> Any:
    """A table for ``report``; a .txt that is not one is named as text, not a bad table."""
    try:
        return read_table(path, field_delimiter=field_delimiter)[0]
    except SynthloomError as exc:
        if path.suffix.lower() != ".txt" or field_delimiter is not None:
            raise
        problem = str(exc).rsplit("; ", 1)[0]  # the finding, without read_table's advice
        raise SynthloomError(
            f"{problem}; `report` compares tables: if this .txt file is one, pass "
            "--field-delimiter (or rename it .csv); text files (one record per line) have "
            "no report yet"
        ) from None


def _parity_request(
    text: str | None, default: Fairness | None = None
) -> tuple[str, tuple[str, ...]] | None:
    """The report's fairness option from ``--fairness`` (else the model's own request)."""
    wanted = parse_fairness(text) or default
    return None if wanted is None else (wanted.target, tuple(wanted.sensitive))


def _report_folder(output: Path) -> Path:
    return output.parent / f"{output.stem}_report"


def _report_beside(
    synth: TableSynthesizer | SequenceSynthesizer,
    model_dir: Path,
    synthetic: Any,
    folder: Path,
    series: SeriesSpec | None = None,
    fairness: tuple[str, tuple[str, ...]] | None = None,
) -> None:
    """The automatic report after ``generate``; a missing input only skips it."""
    try:
        real, holdout = training_and_holdout(model_dir, synth.config.params.field_delimiter)
    except SynthloomError as exc:
        console.print(f"no report: {exc}; run `synthloom report` with the data", highlight=False)
        return
    options = ReportOptions(  # ε beside the attack's; sensitive columns for attribute inference
        series=series,
        sensitive_columns=sensitive_columns(synth.config),
        fairness=fairness,
        **model_claims(model_dir),
    )
    _write_report(real, synthetic, holdout, None, folder, options)


def _write_report(
    real: Any,
    synthetic: Any,
    holdout: Any,
    target: str | None,
    output_dir: Path,
    options: ReportOptions | None = None,
) -> None:
    from synthloom.report import build_report  # matplotlib and phik: load only when used

    result = build_report(
        real, synthetic, output_dir, holdout=holdout, target=target, options=options
    )
    console.print(
        f"report: quality {result.quality_score:.1f}/100, privacy {result.privacy_level}; "
        f"{result.html_path}",
        highlight=False,
    )  # its warnings are already logged


@app.command("report")
@friendly_errors
def report_command(
    real: Annotated[Path, typer.Option("--real", help="The training data.")],
    synthetic: Annotated[Path, typer.Option("--synthetic", help="The generated data.")],
    output: Annotated[Path, typer.Option("--output", help="Folder for the report files.")],
    holdout: Annotated[
        Path | None,
        typer.Option("--holdout", help="Real records the model never saw (privacy, utility)."),
    ] = None,
    target: Annotated[
        str | None, typer.Option("--target", help="Column to predict for the ML utility.")
    ] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace the report files in --output.")
    ] = False,
    field_delimiter: Annotated[
        str | None,
        typer.Option("--field-delimiter", help="Delimiter of .txt tables (detected if not set)."),
    ] = None,
    sensitive: Annotated[
        str | None,
        typer.Option(
            "--sensitive",
            help="Comma-separated columns an attacker should not learn: each gets the "
            "attribute-inference attack (guessed from the other columns).",
        ),
    ] = None,
    fairness: Annotated[
        str | None,
        typer.Option(
            "--fairness",
            help="'target: sensitive, ...': the target's parity gap across the sensitive "
            "groups, real beside synthetic.",
        ),
    ] = None,
) -> None:
    """Write report.html, report.pdf and report.json comparing synthetic to real data."""
    check_output_folder(output, overwrite=overwrite, files=REPORT_FILES)
    inputs = {p.resolve() for p in (real, synthetic, holdout) if p is not None}
    if any((output / name).resolve() in inputs for name in REPORT_FILES):
        raise SynthloomError(f"--output {output} would overwrite an input file; choose another")
    frames = [
        _report_table(path, field_delimiter) if path else None
        for path in (real, synthetic, holdout)
    ]
    names = tuple(c.strip() for c in sensitive.split(",") if c.strip()) if sensitive else ()
    options = ReportOptions(sensitive_columns=names, fairness=_parity_request(fairness))
    _write_report(frames[0], frames[1], frames[2], target, output, options)


@app.command()
@friendly_errors
def demo(
    output_dir: Annotated[Path, typer.Option("--output-dir")] = Path("demo_output"),
    num_records: Annotated[
        int | None,
        typer.Option("--num-records", help="Rows (or texts) to generate; default: as many."),
    ] = None,
    text: Annotated[
        bool, typer.Option("--text", help="The text demo (fortunes) instead of the table one.")
    ] = False,
    max_seconds: Annotated[
        float, typer.Option("--max-seconds", min=0.1, help="Cap on training time.")
    ] = 60.0,
) -> None:
    """Learn a bundled sample table, write synthetic rows and their accuracy/privacy report."""
    from synthloom.cli.first_run import table_demo, text_demo

    (text_demo if text else table_demo)(output_dir, max_seconds, num_records, console)


# FastAPI and uvicorn load only when `serve` runs (the optional `serve` extra)
app.command("serve")(friendly_errors(serve))


def main() -> None:
    """Entry point of the ``synthloom`` command."""
    setup_logging(console)
    app(prog_name="synthloom")


if __name__ == "__main__":
    sys.exit(main())
