"""The ``synthloom`` command line: a thin layer over the Python API."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from synthloom.cli.relational import app as relational_app
from synthloom.cli.serve import serve
from synthloom.config import SynthloomConfig, load_config
from synthloom.errors import SynthloomError
from synthloom.io.model_dir import SUMMARY_FILE, read_json
from synthloom.io.tables import read_table, write_table
from synthloom.io.text import write_text_records
from synthloom.lstm.train import EpochState
from synthloom.models import Synthesizer, load_model, synthesizer_for
from synthloom.report.from_model import training_and_holdout
from synthloom.table import TableSynthesizer
from synthloom.text import TextSynthesizer

app = typer.Typer(
    help="Learn a private generative model of your data and generate synthetic records.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)
app.add_typer(relational_app, name="relational")

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


def _friendly_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Print a one-line error and exit non-zero instead of a traceback."""

    @wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except SynthloomError as exc:
            console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(EXIT_BAD_INPUT) from None
        except KeyboardInterrupt:
            console.print("[bold red]interrupted[/]")
            raise typer.Exit(EXIT_INTERRUPTED) from None

    return run


@app.command()
@_friendly_errors
def train(
    config: Annotated[Path, typer.Argument(help="YAML config (Gretel LSTM schema).")],
    model_dir: Annotated[Path, typer.Option("--model-dir", help="Folder to write the model to.")],
    data: Annotated[
        Path | None,
        typer.Option("--data", help="Training data; default: the config's data_source."),
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
) -> None:
    """Train on a table (CSV/JSON/JSONL/Parquet) or a text file (one record per line)."""
    loaded = load_config(config)
    source = data or _config_data_source(loaded, config)
    synth = synthesizer_for(source, loaded.synthetics, model or loaded.engine)
    synth.fit(source, model_dir, overwrite=overwrite, show_progress=not quiet)
    _report_training(synth, model_dir)


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
            f"in total (DP-SGD: ε = {last.epsilon:.3f}); training_summary.json says what ε "
            "covers",
            highlight=False,
        )
    if result.stop_reason == "interrupted":
        raise typer.Exit(EXIT_INTERRUPTED)


def _monitored_loss(state: EpochState) -> float:
    return state.val_loss if state.val_loss is not None else state.loss


@app.command()
@_friendly_errors
def generate(
    model_dir: Annotated[Path, typer.Option("--model-dir", help="A trained model's folder.")],
    output: Annotated[Path, typer.Option("--output", help="File to write the records to.")],
    num_records: Annotated[
        int | None, typer.Option("--num-records", help="Valid records to write.")
    ] = None,
    start_string: Annotated[
        str | None, typer.Option("--start-string", help="Every record starts with this text.")
    ] = None,
    gen_temp: Annotated[float | None, typer.Option("--gen-temp", help="Temperature.")] = None,
    max_invalid: Annotated[int | None, typer.Option("--max-invalid")] = None,
    parallelism: Annotated[
        int | None, typer.Option("--parallelism", help="Worker processes; 0 = all cores.")
    ] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Seed for reproducible output.")
    ] = None,
    seeds: Annotated[
        Path | None, typer.Option("--seeds", help="Table of seed values: one record per row.")
    ] = None,
    report: Annotated[
        bool,
        typer.Option(
            "--report/--no-report",
            help="For tables: write a quality and privacy report beside the output "
            "(needs the training data still where it was).",
        ),
    ] = True,
) -> None:
    """Generate records from a trained model and write the valid ones."""
    synth = load_model(model_dir)
    if isinstance(synth, TableSynthesizer):
        if start_string is not None or parallelism is not None:
            raise SynthloomError("--start-string and --parallelism apply to text models only")
        frame = synth.generate(
            num_records, seeds=seeds, gen_temp=gen_temp, max_invalid=max_invalid, seed=seed
        )
        write_table(frame, output, synth.table_format)
        stats = synth.generation_stats_
        console.print(
            f"wrote {len(frame)} records to {output} ({stats.get('invalid', 0)} invalid discarded)"
        )
        if stats.get("fallback_reason"):
            console.print(
                f"[bold yellow]fallback:[/] {stats['fallback_records']} records came from the "
                f"statistical model because {stats['fallback_reason']}",
                highlight=False,
            )
        if report:
            _report_beside(synth, model_dir, frame, output)
        return
    if seeds is not None:
        raise SynthloomError("--seeds applies to table models; this model is a text model")
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


def _report_beside(
    synth: TableSynthesizer, model_dir: Path, synthetic: Any, output: Path
) -> None:
    """The automatic report after ``generate``; a missing input only skips it."""
    try:
        real, holdout = training_and_holdout(model_dir, synth.config.params.field_delimiter)
    except SynthloomError as exc:
        console.print(f"no report: {exc}; run `synthloom report` with the data", highlight=False)
        return
    _write_report(real, synthetic, holdout, None, output.parent / f"{output.stem}_report")


def _write_report(
    real: Any, synthetic: Any, holdout: Any, target: str | None, output_dir: Path
) -> None:
    from synthloom.report import build_report  # matplotlib and phik: load only when used

    result = build_report(real, synthetic, output_dir, holdout=holdout, target=target)
    console.print(
        f"report: quality {result.quality_score:.1f}/100, privacy {result.privacy_level}; "
        f"{result.html_path}",
        highlight=False,
    )  # its warnings are already logged


@app.command("report")
@_friendly_errors
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
) -> None:
    """Write report.html, report.pdf and report.json comparing synthetic to real data."""
    frames = [read_table(path)[0] if path else None for path in (real, synthetic, holdout)]
    _write_report(frames[0], frames[1], frames[2], target, output)


@app.command()
@_friendly_errors
def demo(
    output_dir: Annotated[Path, typer.Option("--output-dir")] = Path("demo_output"),
    num_records: Annotated[int, typer.Option("--num-records")] = 20,
) -> None:
    """Train a small model on the bundled sample (fortunes) and print a few new records."""
    sample = resources.files("synthloom") / "data" / "fortunes_sample.txt"
    synth = TextSynthesizer(
        vocab_size=0,
        epochs=30,
        batch_size=64,
        rnn_units=256,
        embedding_dim=64,
        rnn_layers=1,
        learning_rate=0.005,
        validation_split=True,
        max_training_time_seconds=90,
        seed=7,
    )
    model_dir = output_dir / "model"
    console.print(f"training on the bundled sample {sample.name} (at most 90 s)...")
    synth.fit(str(sample), model_dir, overwrite=True, show_progress=True)
    _report_training(synth, model_dir)
    texts = [r.text for r in synth.generate(num_records, seed=7) if r.valid]
    write_text_records(output_dir / "synthetic.txt", texts)
    for text in texts:
        typer.echo(text)
    console.print(f"wrote {len(texts)} records to {output_dir / 'synthetic.txt'}")


# FastAPI and uvicorn load only when `serve` runs (the optional `serve` extra)
app.command("serve")(_friendly_errors(serve))


def main() -> None:
    """Entry point of the ``synthloom`` command."""
    app(prog_name="synthloom")


if __name__ == "__main__":
    sys.exit(main())
