"""Intra-op threads chosen by the cores other processes leave free (``threads``)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from synthloom import TextSynthesizer
from synthloom.config import SyntheticsConfig
from synthloom.errors import ConfigError
from synthloom.lstm import threads
from synthloom.lstm.threads import ThreadGovernor, free_threads, others_load
from tests.conftest import TINY


def test_free_threads_leave_partly_busy_cores_alone() -> None:
    assert free_threads(0.0, 2) == 2
    assert free_threads(0.2, 2) == 2  # light background work: still both cores
    assert free_threads(0.5, 2) == 1  # half a core taken: a straggler thread would stall
    assert free_threads(1.0, 2) == 1
    assert free_threads(3.5, 2) == 1  # always at least one
    assert free_threads(1.0, 8) == 7
    assert free_threads(None, 4) == 4  # unknown load: as torch had it


def test_others_load_subtracts_this_process() -> None:
    before = threads._Snapshot(wall=10.0, busy=100.0, own=5.0)
    # 2 s window: the machine ran 3 CPU-seconds, 1 of them this process's.
    after = threads._Snapshot(wall=12.0, busy=103.0, own=6.0)
    assert others_load(before, after) == pytest.approx(1.0)


@pytest.fixture
def machine(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, float]]:
    """A simulated 2-core machine whose other processes use ``load["others"]`` cores."""
    load = {"others": 0.0}
    origin = time.monotonic()

    def busy() -> float:
        return time.process_time() + load["others"] * (time.monotonic() - origin)

    monkeypatch.setattr(threads, "_busy_seconds", busy)
    monkeypatch.setattr(threads, "usable_cores", lambda: 2)
    monkeypatch.setattr(threads._Load, "snapshot", threads._snapshot())
    monkeypatch.setattr(threads._Load, "last_at", -float("inf"))
    monkeypatch.setattr(threads, "CHECK_SECONDS", 0.2)
    monkeypatch.setattr(threads, "_FIRST_CHECK_SECONDS", 0.2)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield load
    torch.set_num_threads(before)


def test_auto_follows_the_load_and_restores_threads(machine: dict[str, float]) -> None:
    machine["others"] = 1.0
    with ThreadGovernor("auto") as governor:
        assert torch.get_num_threads() == governor.threads == 1
        machine["others"] = 0.0  # the busy process ends: both cores again at a re-check
        threads._Load.snapshot = threads._snapshot()  # the window starts after the change
        time.sleep(0.25)
        governor.tick()
        assert torch.get_num_threads() == 2
    assert torch.get_num_threads() == 2
    with ThreadGovernor(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == 2


@pytest.mark.parametrize("dp", [False, True])
def test_training_uses_the_free_cores(
    machine: dict[str, float], tmp_path: Path, short_fortunes: list[str], dp: bool
) -> None:
    machine["others"] = 1.0
    seen: list[int] = []
    synth = TextSynthesizer(**{**TINY, "epochs": 1, "dp": dp})
    synth.fit(short_fortunes[:64], tmp_path / "m", epoch_callback=lambda _: seen.append(
        torch.get_num_threads()
    ))
    assert seen == [1]
    assert torch.get_num_threads() == 2


def test_threads_param_is_validated() -> None:
    assert SyntheticsConfig.from_options(threads=3).params.threads == 3
    for bad in (0, "many", 1.5, True):
        with pytest.raises(ConfigError, match="threads"):
            SyntheticsConfig.from_options(threads=bad)
