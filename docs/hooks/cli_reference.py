"""MkDocs hook: fills cli.md with every command's --help, read from the typer app."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import typer

MARKER = "<!-- synthloom-cli-reference -->"


def command_helps(command: Any, name: str, parent: Any = None) -> Iterator[tuple[str, str]]:
    """(full command name, help text) for ``command`` and every subcommand, depth first.

    Duck-typed: typer carries its own copy of click's classes."""
    context = command.context_class(command, info_name=name, parent=parent, terminal_width=88)
    yield context.command_path, command.get_help(context)
    if hasattr(command, "list_commands"):
        for sub_name in command.list_commands(context):
            sub = command.get_command(context, sub_name)
            if sub is not None and not sub.hidden:
                yield from command_helps(sub, sub_name, context)


def cli_reference() -> str:
    """The CLI reference as Markdown: a section and a code block per command."""
    from synthloom.cli import app

    sections = []
    for path, text in command_helps(typer.main.get_command(app), "synthloom"):
        level = "#" * min(2 + path.count(" "), 4)
        sections.append(f"{level} `{path}`\n\n```text\n{text.rstrip()}\n```\n")
    return "\n".join(sections)


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    """MkDocs hook: replace the marker in cli.md."""
    if MARKER in markdown:
        return markdown.replace(MARKER, cli_reference())
    return markdown
