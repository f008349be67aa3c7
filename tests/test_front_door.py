"""A new user's first commands: train on the data itself, generate with short options,
the version, help text as written, and one-line answers for files of no known kind."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

import synthloom
from synthloom.cli import app
from tests.conftest import ADULT_SAMPLE

runner = CliRunner()


def invoke(*args: str | Path):
    return runner.invoke(app, [str(a) for a in args])


def test_a_table_trains_without_a_config_and_generates_with_short_options(
    tmp_path: Path,
) -> None:
    data = tmp_path / "people.csv"
    pd.read_csv(ADULT_SAMPLE).head(400).to_csv(data, index=False)
    trained = invoke("train", data, "--model-dir", tmp_path / "m", "--model", "amplify")
    assert trained.exit_code == 0, trained.output
    out = tmp_path / "out.csv"
    made = invoke("generate", tmp_path / "m", "-n", "50", "-o", out, "--no-report")
    assert made.exit_code == 0, made.output
    frame = pd.read_csv(out)
    assert len(frame) == 50 and list(frame.columns) == list(pd.read_csv(data).columns)


def test_flags_reach_the_model(tmp_path: Path, short_fortunes: list[str]) -> None:
    lines = tmp_path / "notes"  # no suffix: told by its bytes to be text
    lines.write_text("\n".join(short_fortunes[:300]) + "\n", encoding="utf-8")
    result = invoke(
        "train",
        lines,
        "--model-dir",
        tmp_path / "m",
        "--max-seconds",
        "3",
        "--quiet",
        "--epsilon",
        "8",
    )
    assert result.exit_code == 0, result.output
    params = (tmp_path / "m" / "model_params.json").read_text()
    assert '"dp": true' in params and '"dp_epsilon": 8.0' in params
    assert '"max_training_time_seconds": 3.0' in params and '"data_kind": "text"' in params


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("sheet.xlsx", b"PK\x03\x04 not a csv", "does not read .xlsx"),
        ("blob", bytes(range(256)) * 4, "--kind table|text"),
        ("empty.csv", b"", "is empty"),
        ("folder", None, "relational train"),
    ],
)
def test_a_file_of_no_known_kind_is_one_line(
    tmp_path: Path, name: str, content: bytes | None, expected: str
) -> None:
    path = tmp_path / name
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)
    result = invoke("train", path, "--model-dir", tmp_path / "m")
    assert result.exit_code == 2 and expected in result.output
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output
    assert not (tmp_path / "m").exists()


def test_the_version() -> None:
    result = invoke("--version")
    assert result.exit_code == 0 and result.output.strip() == f"synthloom {synthloom.__version__}"


def _commands(group, prefix: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
    for name, command in group.commands.items():
        yield (*prefix, name), command
        if hasattr(command, "commands"):  # a group (typer's own click)
            yield from _commands(command, (*prefix, name))


def test_every_help_text_renders_the_words_in_the_code() -> None:
    root = typer.main.get_command(app)
    checked = 0
    for path, command in _commands(root):
        shown = " ".join(invoke(*path, "--help").output.split())
        for param in command.params:
            words = " ".join((getattr(param, "help", None) or "").split())
            for bracketed in re.findall(r"\S*\[[^\]]+\]\S*", words):
                assert bracketed in shown, (path, bracketed)
                checked += 1
    assert checked >= 3  # synthloom[ray] and friends are there to be lost
