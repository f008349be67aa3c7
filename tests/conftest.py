"""Shared fixtures: slices of real data kept in the repository and tiny model options."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

pytest_plugins = ["tests.skip_policy"]

TEST_DATA = Path(__file__).resolve().parent / "data"
BUNDLED_SAMPLE = Path(str(resources.files("synthloom") / "data" / "fortunes_sample.txt"))
# The first 4,000 rows of UCI Adult (the demo's table) and 1,000 rows of its test split.
ADULT_SAMPLE = Path(str(resources.files("synthloom") / "data" / "adult_sample.csv"))
ADULT_TEST_SAMPLE = TEST_DATA / "adult_test_sample.csv"
LAHMAN = TEST_DATA / "lahman"
CHINOOK = TEST_DATA / "chinook.sqlite"

# Small enough that a fit takes a second or two on 2 CPU cores.
TINY = {
    "vocab_size": 0,
    "epochs": 2,
    "rnn_units": 32,
    "embedding_dim": 16,
    "rnn_layers": 1,
    "batch_size": 32,
    "learning_rate": 0.01,
    "seed": 0,
}


def fortunes_lines(n: int) -> list[str]:
    """The first ``n`` non-blank lines of the bundled fortunes sample."""
    lines = BUNDLED_SAMPLE.read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip()][:n]


@pytest.fixture(scope="session")
def short_fortunes() -> list[str]:
    """300 short real fortunes (≤ 60 characters) for fast training."""
    return [line for line in fortunes_lines(5000) if len(line) <= 60][:300]


@pytest.fixture(scope="session")
def trained_dir(tmp_path_factory: pytest.TempPathFactory, short_fortunes: list[str]) -> Path:
    """A tiny char model trained once for the generation tests (read-only for them)."""
    from synthloom import TextSynthesizer

    model_dir = tmp_path_factory.mktemp("models") / "tiny"
    TextSynthesizer(**{**TINY, "epochs": 4}).fit(short_fortunes, model_dir)
    return model_dir
