"""What every ``synthloom`` command shares: one-line errors, exit codes, the console."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape

from synthloom.errors import SynthloomError

console = Console(stderr=True)
# More records than anyone asks for on purpose (10 million stream in under a minute): a
# typo, refused up front instead of generating for hours.
MAX_RECORDS = 1_000_000_000

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130
EXIT_BUG = 1
# Set to see the traceback of an unexpected error instead of its one-line summary.
DEBUG_ENV = "SYNTHLOOM_DEBUG"


def friendly_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Print a one-line error and exit non-zero instead of a traceback.

    Bad input (:class:`SynthloomError`) and file-system refusals (``OSError``: a read-only
    folder, a full disk, a folder where a file was expected) exit 2; Ctrl-C exits 130; any
    other exception is a synthloom bug, summarised on one line (exit 1) unless
    ``SYNTHLOOM_DEBUG`` is set.
    """

    @wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (typer.Exit, typer.Abort, typer.TyperException):  # typer's own: pass through
            raise
        except SynthloomError as exc:
            fail(str(exc))
        except KeyboardInterrupt as exc:
            detail = f": {exc}" if str(exc) else ""
            console.print(f"[bold red]interrupted[/]{detail}", highlight=False, soft_wrap=True)
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except OSError as exc:
            fail(describe_os_error(exc))
        except MemoryError:
            fail(
                "out of memory; use a smaller batch_size, shorter records or fewer records, "
                "or a machine with more memory"
            )
        except Exception as exc:
            if os.environ.get(DEBUG_ENV):
                raise
            console.print(
                f"[bold red]internal error:[/] {type(exc).__name__}: {exc}; this is a synthloom "
                f"bug, please report it (set {DEBUG_ENV}=1 to see the traceback)",
                highlight=False,
                soft_wrap=True,
            )
            raise typer.Exit(EXIT_BUG) from None

    return run


def fail(message: str) -> None:
    """Print ``error: message`` on one line and exit 2."""
    console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(EXIT_BAD_INPUT)


def describe_os_error(exc: OSError) -> str:
    """A one-line account of a file-system error: what, where, and what to do."""
    where = _shown_path(exc.filename) if exc.filename else "a file"
    if isinstance(exc, PermissionError) or exc.errno in (errno.EROFS, errno.EACCES):
        return (
            f"cannot write or read {where}: permission denied (read-only folder or file); "
            "choose a folder you can write to, or change its permissions"
        )
    if isinstance(exc, IsADirectoryError):
        return f"{where} is a folder, not a file; give a file path"
    if isinstance(exc, NotADirectoryError):
        return f"a part of the path {where} is a file, not a folder; fix the path"
    if isinstance(exc, FileNotFoundError):
        return f"{where} does not exist (or its folder does not); check the path"
    if exc.errno == errno.ENOSPC:
        return f"no space left on the device while writing {where}; free space or write elsewhere"
    return f"cannot use {where}: {exc.strerror or exc}"


def _shown_path(filename: object) -> str:
    """The path a user gave: a hidden ``.NAME.partial`` (atomic writes) shows as NAME."""
    path = Path(str(filename))
    if path.name.startswith(".") and path.name.endswith(".partial"):
        return str(path.with_name(path.name[1 : -len(".partial")]))
    return str(path)
