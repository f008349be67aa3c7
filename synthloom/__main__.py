"""``python -m synthloom`` and the ``synthloom`` command: start the command line.

The heavy imports (torch, pandas) happen here, inside a guard, so that Ctrl-C while they
load ends the command quietly (exit 130) instead of with a traceback.
"""

from __future__ import annotations

import sys

EXIT_INTERRUPTED = 130


def main() -> None:
    """Entry point of the ``synthloom`` command."""
    try:
        from synthloom.cli import main as run_cli
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        raise SystemExit(EXIT_INTERRUPTED) from None
    run_cli()


if __name__ == "__main__":
    main()
