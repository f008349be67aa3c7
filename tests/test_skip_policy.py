"""The skip policy: data or package skips fail, a missing server may skip."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

TESTS = """
import pytest

def test_data_missing():
    pytest.skip("real data not available: adult.csv is missing")

def test_package_missing():
    pytest.importorskip("a_package_that_does_not_exist")

@pytest.mark.skipif(True, reason="shared/data absent")
def test_marked():
    pass

def test_server_missing():
    pytest.skip("PostgreSQL server binaries not found (apt-get install postgresql)")

@pytest.mark.xfail(reason="known")
def test_expected_failure():
    raise AssertionError
"""


def test_only_a_missing_server_may_skip(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(TESTS)
    result = pytester.runpytest("-p", "tests.skip_policy", "-ra")
    # a skipif mark skips during setup, so it fails as an error
    result.assert_outcomes(failed=2, errors=1, skipped=1, xfailed=1)
    result.stdout.fnmatch_lines(["*SKIPPED*PostgreSQL*"])
    for reason in ("real data not available", "could not import", "shared/data absent"):
        result.stdout.fnmatch_lines([f"skipped for a reason that is not allowed: *{reason}*"])
