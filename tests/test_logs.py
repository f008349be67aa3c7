"""Log lines a person reads: level and message, no date prefix, whoever set logging up."""

from __future__ import annotations

import io
import logging
import subprocess
import sys
from pathlib import Path

from rich.console import Console

from synthloom.cli.logs import setup_logging


def test_rich_handler_replaces_a_date_prefix_format() -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        # what opacus does when it is imported
        logging.basicConfig(format="%(asctime)s:%(levelname)s:%(message)s", force=True)
        out = io.StringIO()
        setup_logging(Console(file=out, width=200, color_system=None))
        logging.getLogger("synthloom").warning("column 'x' has leading spaces")
        logging.getLogger("synthloom").info("not shown at the default level")
        text = out.getvalue()
        assert text.split() == ["WARNING", "column", "'x'", "has", "leading", "spaces"]
    finally:
        root.handlers[:], root.level = saved


def test_the_command_logs_without_a_date_prefix(tmp_path: Path) -> None:
    rows = "\n".join(f" {'ab'[i % 2]},{i % 7}" for i in range(60))  # leading spaces: a warning
    (tmp_path / "t.csv").write_text("name,n\n" + rows + "\n", encoding="utf-8")
    (tmp_path / "c.yaml").write_text("models:\n  - amplify: {}\n", encoding="utf-8")
    command = [sys.executable, "-m", "synthloom", "train", "c.yaml", "--data", "t.csv"]
    done = subprocess.run(
        [*command, "--model-dir", "m", "--quiet"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    warnings = [line for line in done.stderr.splitlines() if "WARNING" in line]
    assert warnings and any("name" in line for line in warnings), done.stderr
    assert not [line for line in warnings if ":WARNING:" in line or "/20" in line]
