"""pyproject.toml and constraints.txt agree: ranges for users, one tested version each."""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]


def _requirements() -> dict[str, list[Requirement]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    groups = {"core": project["dependencies"], **project["optional-dependencies"]}
    return {group: [Requirement(r) for r in reqs] for group, reqs in groups.items()}


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, version = line.split("==")
            pins[canonicalize_name(name)] = version
    return pins


def test_every_dependency_has_one_tested_version_inside_its_range() -> None:
    pins = _pins()
    for group, requirements in _requirements().items():
        for req in requirements:
            name = canonicalize_name(req.name)
            assert name in pins, f"{group}: {req.name} has no version in constraints.txt"
            assert req.specifier.contains(pins[name], prereleases=True), (group, str(req))


def test_ranges_not_pins_and_drivers_are_extras() -> None:
    groups = _requirements()
    core = {canonicalize_name(r.name): r for r in groups["core"]}
    assert not [r for r in core.values() if any(s.operator == "==" for s in r.specifier)]
    assert not {"psycopg", "pymysql", "s3fs"} & set(core)
    extras = {g: {canonicalize_name(r.name) for r in reqs} for g, reqs in groups.items()}
    assert extras["postgres"] == {"psycopg"} and extras["mysql"] == {"pymysql"}
    assert extras["s3"] == {"s3fs"}
    # lower bounds are the tested versions: the range starts at the pinned one
    pins = _pins()
    for name, req in core.items():
        lower = [s.version for s in req.specifier if s.operator == ">="]
        assert lower == [pins[name]], (name, str(req))
