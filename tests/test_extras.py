"""Optional extras: synthloom imports without them, and a missing one is named in one line."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from synthloom.extras import EXTRAS, install_hint

# A None entry in sys.modules makes the package look uninstalled to import and find_spec.
BLOCKER = "import sys\nfor name in {blocked}:\n    sys.modules[name] = None\n"


def _run_without_extras(code: str) -> subprocess.CompletedProcess[str]:
    script = BLOCKER.format(blocked=sorted(EXTRAS)) + textwrap.dedent(code)
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )


def test_everything_imports_without_the_extras() -> None:
    done = _run_without_extras(
        """
        import synthloom, synthloom.cli, synthloom.relational, synthloom.report
        print("imported")
        import psycopg
        """
    )
    assert done.stdout == "imported\n", done.stderr
    assert "import of psycopg halted" in done.stderr  # the extras really were hidden


@pytest.mark.parametrize(
    ("url", "extra"),
    [
        ("postgresql+psycopg://me@127.0.0.1:1/db", "postgres"),
        ("mysql+pymysql://me@127.0.0.1:1/db", "mysql"),
    ],
)
def test_a_missing_database_driver_names_its_extra(url: str, extra: str) -> None:
    done = _run_without_extras(
        f"""
        from synthloom.errors import ConfigError
        from synthloom.relational.destinations import _write_database
        from synthloom.relational.sources import _read_database
        for call in (lambda: _read_database({url!r}, None),
                     lambda: _write_database({{}}, None, {url!r}, False)):
            try:
                call()
            except ConfigError as exc:
                print(exc)
        """
    )
    lines = done.stdout.splitlines()
    assert done.returncode == 0, done.stderr
    assert len(lines) == 2
    assert all(f"pip install 'synthloom[{extra}]'" in line for line in lines)


def test_install_hints() -> None:
    assert install_hint("s3fs") == "pip install 'synthloom[s3]'"
    assert install_hint("psycopg.pq") == "pip install 'synthloom[postgres]'"
    assert install_hint("gcsfs") == "pip install gcsfs"


def test_object_storage_without_its_package_names_the_fix() -> None:
    done = _run_without_extras(
        """
        from synthloom.relational.destinations import require_storage_driver
        require_storage_driver("s3://bucket/prefix")
        """
    )
    last = done.stderr.strip().splitlines()[-1]
    assert "s3:// needs the s3fs package" in last and "pip install 'synthloom[s3]'" in last


def test_a_missing_destination_driver_is_found_before_any_training() -> None:
    done = _run_without_extras(
        """
        from synthloom.io.boundary import Boundary
        Boundary([]).destination(
            {"kind": "database", "url": "postgresql+psycopg://me:pw@127.0.0.1:1/db"}
        )
        """
    )
    last = done.stderr.strip().splitlines()[-1]
    assert "needs the psycopg package" in last and "pip install 'synthloom[postgres]'" in last
    assert ":pw@" not in done.stderr
