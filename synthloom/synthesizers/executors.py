"""Executors: how a synthesizer's independent training tasks run side by side.

A synthesizer whose training splits into tasks that need nothing from each other (a wide
table's column clusters, a database's tables) hands them to an executor, as joblib hands
work to a backend. Without one they run in turn, here, with progress and Ctrl-C. The Ray
executor lives in :mod:`synthloom.scale` (the ``ray`` extra), above the synthesizers:
nothing here imports it.

A task is a module-level function, so that an executor can ship it by reference; it trains
into a temporary folder and returns the files (:func:`folder_files`), which land in the
model directory (:func:`land_files`) as a run here writes them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from synthloom.errors import ConfigError


class Executor(Protocol):
    """Runs independent tasks at once and hands back each result as it finishes."""

    name: str  # for messages: "Ray"

    def cpus(self) -> float:
        """CPUs the tasks share (how many run at once)."""
        ...

    def run(
        self,
        task: Callable[..., Any],
        calls: Sequence[tuple[Any, ...]],
        shared: tuple[Any, ...] = (),
        label: Callable[[int], str] = str,
    ) -> Iterator[tuple[int, Any]]:
        """``task(*shared, *calls[i])`` for every ``i``; yields ``(i, result)`` as each
        finishes. ``shared`` arguments are sent once, not once per task. A failed task
        raises: a :class:`~synthloom.errors.SynthloomError` as itself, anything else as a
        SynthloomError naming ``label(i)``. Closing the iterator early (an error or Ctrl-C
        in the caller) cancels the tasks not yet finished."""
        ...


def task_seed(seed: int, index: int) -> int:
    """Task (or shard) ``index``'s seed: the first keeps ``seed``, as a run here does."""
    if index == 0:
        return seed
    return int(np.random.SeedSequence([seed, index]).generate_state(1, np.uint64)[0] >> 1)


def folder_files(root: Path) -> dict[str, bytes]:
    """A task's trained files, by path under ``root``, to send back to the caller."""
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def land_files(files: dict[str, bytes], directory: Path) -> None:
    """A task's files written under ``directory``, as a run here writes them there."""
    for relative, data in files.items():
        (directory / relative).parent.mkdir(parents=True, exist_ok=True)
        (directory / relative).write_bytes(data)


def refuse_ray_keyword(ray: str | None) -> None:
    """``fit(ray=...)``, the keyword before executors, answered with what to pass instead
    (the Ray executor lives in :mod:`synthloom.scale`, above the synthesizers)."""
    if ray is not None:
        raise ConfigError(
            "fit(ray=...) is now fit(executor=RayExecutor(address)), with "
            "from synthloom.scale import RayExecutor"
        )
