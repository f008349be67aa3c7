"""``synthloom demo``: the first run. Learns the bundled Adult sample, writes a synthetic
table and its report, and prints accuracy and the privacy verdict; ``--text`` runs the
small text demo on the bundled fortunes instead."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from synthloom.io.tables import write_table
from synthloom.io.text import write_text_records
from synthloom.report.from_model import training_and_holdout
from synthloom.synthesizers.table import TableSynthesizer
from synthloom.synthesizers.text import TextSynthesizer

TABLE_SAMPLE = "adult_sample.csv"
TEXT_SAMPLE = "fortunes_sample.txt"
TARGET = "income"  # the column the report's ML-utility check predicts
DEMO_SEED = 7


def sample_path(name: str) -> Path:
    """A file of the bundled sample data (``synthloom/data``, licenses beside it)."""
    return Path(str(resources.files("synthloom") / "data" / name))


def table_demo(
    output_dir: Path, max_seconds: float, num_records: int | None, console: Console
) -> Path:
    """Learn the Adult sample, write the synthetic table and its report; return the HTML."""
    from synthloom.report import build_report  # matplotlib and phik: load only when used

    sample = sample_path(TABLE_SAMPLE)
    console.print(
        f"learning {sample.name} (4,000 rows of the UCI Adult census data, CC BY 4.0) "
        f"for at most {max_seconds:g} s...",
        highlight=False,
    )
    synth = TableSynthesizer(
        epochs=60,
        validation_split=0.2,  # the held-out rows are the report's privacy holdout
        early_stopping_patience=3,
        max_training_time_seconds=max_seconds,
        seed=DEMO_SEED,
    )
    model_dir = output_dir / "model"
    synth.fit(sample, model_dir, overwrite=True, show_progress=True)
    result = synth.training_result_
    if result is not None:
        console.print(
            f"trained {len(result.history)} epochs in {result.seconds:.0f} s "
            f"(stopped by {result.stop_reason}); model in {model_dir}",
            highlight=False,
        )
    real, holdout = training_and_holdout(model_dir)
    frame = synth.generate(num_records or len(real), seed=DEMO_SEED)
    output = output_dir / "synthetic_adult.csv"
    write_table(frame, output, synth.table_format)
    console.print(
        f"wrote {len(frame):,} synthetic rows to {output}", highlight=False, soft_wrap=True
    )
    console.print("scoring them against the real rows...")
    report = build_report(real, frame, output_dir / "report", holdout=holdout, target=TARGET)
    accuracy = report.scores["accuracy"]["overall"]
    verdict = report.scores["privacy"]["verdict"]
    console.print(
        f"accuracy {100 * accuracy:.1f}% · quality {report.quality_score:.1f}/100 · "
        f"privacy {verdict['level'].upper()}: {verdict['headline']}",
        highlight=False,
        soft_wrap=True,
    )
    # one line each, never wrapped: paths are copied from here
    console.print(f"open the report: {report.html_path}", highlight=False, soft_wrap=True)
    console.print(f"PDF: {report.pdf_path}", highlight=False, soft_wrap=True)
    return report.html_path


# The text demo's model: small enough to learn the fortunes sample in a minute.
DEMO_TEXT_PARAMS: dict[str, Any] = {
    "vocab_size": 0,
    "epochs": 30,
    "batch_size": 64,
    "rnn_units": 256,
    "embedding_dim": 64,
    "rnn_layers": 1,
    "learning_rate": 0.005,
}


def text_demo(
    output_dir: Path, max_seconds: float, num_records: int | None, console: Console
) -> Path:
    """Train a small character model on the fortunes sample and print new records."""
    sample = sample_path(TEXT_SAMPLE)
    synth = TextSynthesizer(
        **DEMO_TEXT_PARAMS,
        validation_split=True,
        max_training_time_seconds=max_seconds,
        seed=DEMO_SEED,
    )
    model_dir = output_dir / "model"
    console.print(
        f"training on the bundled sample {sample.name} (at most {max_seconds:g} s)...",
        highlight=False,
    )
    synth.fit(sample, model_dir, overwrite=True, show_progress=True)
    texts = [r.text for r in synth.generate(num_records or 20, seed=DEMO_SEED) if r.valid]
    output = output_dir / "synthetic.txt"
    write_text_records(output, texts)
    for text in texts:
        typer.echo(text)
    console.print(f"wrote {len(texts)} records to {output}", highlight=False)
    return output
