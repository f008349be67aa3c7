"""Log lines a person reads: the message and its level, without dates or logger names."""

from __future__ import annotations

import logging

from rich.console import Console
from rich.logging import RichHandler


def setup_logging(console: Console, level: int = logging.WARNING) -> None:
    """Send every log record (synthloom's and its libraries') to ``console`` through rich.

    Replaces any handler set up before: opacus configures the root logger with a
    ``11/26/2026 08:12:34:WARNING:`` prefix when it is imported.
    """
    handler = RichHandler(
        console=console,
        show_time=False,
        show_path=False,
        markup=False,
        rich_tracebacks=False,
        keywords=[],
    )
    handler.setFormatter(logging.Formatter("%(message)s"))
    logging.basicConfig(level=level, handlers=[handler], force=True)
