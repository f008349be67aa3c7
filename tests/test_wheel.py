"""The package a user installs: a wheel and an sdist built from the checkout, the wheel
carrying its templates, static files and bundled samples with their licenses, and the
installed command running the demo and the web app's help outside the checkout."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_DATA = (
    "synthloom/data/adult_sample.csv",
    "synthloom/data/fortunes_sample.txt",
    "synthloom/data/LICENSE.fortunes",
    "synthloom/data/README.md",
    "synthloom/serve/templates/configure.html",
    "synthloom/serve/static/app.css",
    "synthloom/serve/static/app.js",
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    built = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    assert len(list(out.glob("synthloom-*.tar.gz"))) == 1  # the sdist, the wheel made from it
    (found,) = out.glob("synthloom-*.whl")
    return found


def test_the_wheel_carries_its_data(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    missing = [name for name in PACKAGE_DATA if name not in names]
    assert not missing, missing
    assert not [n for n in names if n.startswith("tests/")]
    assert wheel.stat().st_size < 5 * 2**20


def test_the_installed_command_runs_outside_the_checkout(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    # The checkout's dependencies (torch included) without the checkout itself: their
    # folder as a plain path, so the editable install's hooks in it do not run.
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(site, "checkout_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    install = [str(python), "-m", "pip", "install", "-q", "--no-deps", str(wheel)]
    subprocess.run(install, check=True, env=env, timeout=300, cwd=tmp_path)
    where = subprocess.run(
        [str(python), "-c", "import synthloom; print(synthloom.__file__)"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=True,
    ).stdout
    assert where.startswith(str(env_dir)), where
    command = str(env_dir / "bin" / "synthloom")
    demo = subprocess.run(
        [command, "demo", "--max-seconds", "10", "--output-dir", str(tmp_path / "demo")],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=600,
        check=False,
    )
    assert demo.returncode == 0, demo.stderr[-2000:]
    assert (tmp_path / "demo" / "synthetic_adult.csv").is_file()
    served = subprocess.run(
        [command, "serve", "--help"], capture_output=True, text=True, env=env, check=False
    )
    assert served.returncode == 0 and "--folder-root" in served.stdout
