"""The docs site's generated CLI reference covers every command, and its links hold."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import typer

from synthloom.cli import app

ROOT = Path(__file__).resolve().parents[1]


def load_hook():
    spec = importlib.util.spec_from_file_location(
        "cli_reference", ROOT / "docs/hooks/cli_reference.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_reference_has_every_command_and_its_options() -> None:
    hook = load_hook()
    page = hook.on_page_markdown((ROOT / "docs/cli.md").read_text(), page=None)
    assert hook.MARKER not in page
    root = typer.main.get_command(app)
    names = {f"synthloom {n}" for n in root.commands}
    names |= {f"synthloom relational {n}" for n in root.commands["relational"].commands}
    headings = set(re.findall(r"^#+ `([^`]+)`$", page, flags=re.M))
    assert names <= headings
    assert "--max-seconds" in page and "--num-records" in page


def test_nav_names_every_page() -> None:
    nav = (ROOT / "mkdocs.yml").read_text()
    pages = {p.name for p in (ROOT / "docs").glob("*.md")}
    assert pages == set(re.findall(r"([\w-]+\.md)", nav))
