"""Every example the docs show (examples/) runs as written, in a scratch folder."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from synthloom.cli.first_run import TABLE_SAMPLE, sample_path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SCRIPTS = sorted(EXAMPLES.glob("*.py"))
# The examples cap training at 15-30 s, as a reader would run them; here 3 s is enough to
# prove they run (every other line is run as written).
CAP = re.compile(r"(max_training_time_seconds\W{1,4}|--max-seconds )\d+")


def quick(source: Path, folder: Path) -> Path:
    text, count = CAP.subn(r"\g<1>3", source.read_text())
    assert count, f"{source.name} sets no training cap"
    copy = folder / source.name
    copy.write_text(text)
    return copy


def run(command: list[str], cwd: Path, seconds: int = 240) -> str:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=seconds
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    return done.stdout


def test_every_example_is_shown_in_the_docs() -> None:
    docs = "".join(p.read_text() for p in (EXAMPLES.parent / "docs").glob("*.md"))
    shown = {p.name for p in [*SCRIPTS, *EXAMPLES.glob("*.sh")] if f"examples/{p.name}" in docs}
    assert shown == {p.name for p in [*SCRIPTS, *EXAMPLES.glob("*.sh")]}


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_example_runs(script: Path, tmp_path: Path) -> None:
    out = run([sys.executable, str(quick(script, tmp_path))], tmp_path)
    assert out.strip(), f"{script.name} printed nothing"


def test_cli_quickstart_runs(tmp_path: Path) -> None:
    shutil.copy(sample_path(TABLE_SAMPLE), tmp_path / "adult.csv")
    script = quick(EXAMPLES / "cli_quickstart.sh", tmp_path)
    run(["bash", "-euo", "pipefail", str(script)], tmp_path)
    assert len((tmp_path / "synthetic.csv").read_text().splitlines()) == 1001
    assert (tmp_path / "synthetic_report" / "report.html").is_file()


def test_the_readme_quickstart_is_the_tested_example() -> None:
    readme = (EXAMPLES.parent / "README.md").read_text()
    shown = readme.split("```python\n", 1)[1].split("```", 1)[0]
    example = (EXAMPLES / "table_quickstart.py").read_text()
    assert shown.strip() and shown in example
