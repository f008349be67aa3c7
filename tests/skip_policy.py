"""A pytest plugin: a test may skip only for a server or browser that CI installs.

Tests carry their own data and the dev extra installs every library they use, so any
other skip (missing data, a missing package) is turned into a failure: a fresh clone must
run every test. ``tests/conftest.py`` loads this plugin.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

# Reasons (prefixes) a test may skip for: services `.ci/run` installs with apt, which a
# developer's machine may lack, and a check that only applies when gcsfs is absent.
ALLOWED_SKIPS = (
    "PostgreSQL server binaries not found",
    "could not start PostgreSQL",
    "MariaDB",
    "could not initialise MariaDB",
    "running as root without runuser",
    "headless Chromium is not installed",
    "gcsfs is installed",
)


def skip_reason(report: pytest.TestReport) -> str:
    """The reason text of a skipped test's report."""
    longrepr = report.longrepr
    text = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    return text.removeprefix("Skipped: ")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Fail a skip whose reason is not one of ``ALLOWED_SKIPS``."""
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if not report.skipped or hasattr(report, "wasxfail"):
        return
    reason = skip_reason(report)
    if not reason.startswith(ALLOWED_SKIPS):
        report.outcome = "failed"
        report.longrepr = (
            f"skipped for a reason that is not allowed: {reason!r}. Tests carry their own "
            "data (tests/data) and `pip install -e .[dev]` installs every package they use; "
            "only a missing server or browser (tests/skip_policy.py) may skip a test."
        )
