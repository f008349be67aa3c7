"""Intra-op threads chosen by the cores actually free (the ``threads`` param).

An LSTM step is a chain of small matrix products; each one waits for its slowest thread.
When another process holds a core, the thread that shares it makes every product wait, so
two threads on two cores with one busy core run several times slower than one thread (the
measured figures are in docs/CONFIG.md). ``auto`` therefore counts the CPU time that other
processes used over a recent window and gives torch only the cores they left free,
re-checking every few seconds.
"""

from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch

log = logging.getLogger(__name__)

ThreadSetting = int | Literal["auto"]

# A core counts as free while others use less than this share of it: a thread on a
# partly busy core is the straggler every product waits for.
_BUSY_TOLERANCE = 0.3
# Re-check the load this often during training; the first check comes sooner.
CHECK_SECONDS = 3.0
_FIRST_CHECK_SECONDS = 0.5
# A window shorter than this says little (/proc/stat counts in 10 ms ticks).
_MIN_WINDOW_SECONDS = 0.1
# An older snapshot no longer describes the load.
_MAX_WINDOW_SECONDS = 10.0


@dataclass(frozen=True)
class _Snapshot:
    """Machine-wide busy CPU seconds and this process's own CPU seconds, at a time."""

    wall: float
    busy: float | None  # None: the platform does not say
    own: float


def _busy_seconds() -> float | None:
    """CPU seconds all processes have run (Linux ``/proc/stat``), or None elsewhere."""
    try:
        with open("/proc/stat", encoding="ascii") as handle:
            fields = handle.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu":
        return None
    # user nice system idle iowait irq softirq steal …: idle and iowait are free time;
    # steal is time the hypervisor gave to someone else.
    ticks = [int(v) for v in fields[1:9]]
    busy = sum(ticks) - ticks[3] - ticks[4]
    return busy / os.sysconf("SC_CLK_TCK")


def _snapshot() -> _Snapshot:
    return _Snapshot(time.monotonic(), _busy_seconds(), time.process_time())


def usable_cores() -> int:
    """Cores this process may run on: its CPU affinity and any cgroup CPU quota."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            cores = min(cores, max(math.floor(int(quota) / int(period)), 1))
    except (OSError, ValueError):
        pass
    return max(cores, 1)


def others_load(before: _Snapshot, after: _Snapshot) -> float | None:
    """Cores' worth of CPU that other processes used between two snapshots."""
    window = after.wall - before.wall
    if window <= 0:
        return None
    if before.busy is not None and after.busy is not None:
        others = (after.busy - before.busy) - (after.own - before.own)
        return max(others / window, 0.0)
    if hasattr(os, "getloadavg"):  # macOS and other Unixes: the 1-minute load average
        return max(os.getloadavg()[0] - (after.own - before.own) / window, 0.0)
    return None


def free_threads(others: float | None, cores: int) -> int:
    """Threads for the ``cores`` left free by ``others`` (cores' worth): 1 to ``cores``."""
    if others is None:
        return cores
    return min(max(math.floor(cores - others + _BUSY_TOLERANCE), 1), cores)


class _Load:
    """The process-wide last measurement, so that each decision looks at a fresh window
    and decisions close together share one."""

    snapshot = _snapshot()  # taken at import: the first window runs from then
    last: float | None = None  # other processes' load over the last window
    last_at = -math.inf

    @classmethod
    def others(cls, wait: bool, max_age: float = _MAX_WINDOW_SECONDS) -> float | None:
        """Other processes' load (cores' worth) over a recent window, or None if unknown.

        The window since the last measurement is used when it is at least
        :data:`_MIN_WINDOW_SECONDS` and at most ``max_age`` long; a shorter one reuses
        the last result. Otherwise a fresh window starts: ``wait`` waits for it, else the
        load is unknown for now.
        """
        now = time.monotonic()
        age = now - cls.snapshot.wall
        if _MIN_WINDOW_SECONDS <= age <= max_age:
            return cls._measure()
        if age < _MIN_WINDOW_SECONDS and now - cls.last_at <= _MAX_WINDOW_SECONDS:
            return cls.last  # measured moments ago
        cls.snapshot = _snapshot()
        if not wait:
            return None
        time.sleep(_MIN_WINDOW_SECONDS)
        return cls._measure()

    @classmethod
    def _measure(cls) -> float | None:
        """Other processes' load since the last snapshot, which this one replaces."""
        now = _snapshot()
        cls.last, cls.last_at = others_load(cls.snapshot, now), now.wall
        cls.snapshot = now
        return cls.last


class ThreadGovernor:
    """Holds torch's intra-op threads at ``setting`` inside a ``with`` block.

    An int is used as given. ``auto`` takes the cores other processes leave free (at most
    the threads torch had on entry) and, through :meth:`tick`, checks again every
    :data:`CHECK_SECONDS`. With ``wait`` the first choice may wait 0.1 s for a fresh
    measurement; without it (short jobs such as generation) the threads stay as they were
    until the first check. On exit torch gets back the thread count it had.
    """

    def __init__(
        self,
        setting: ThreadSetting,
        label: str = "training",
        wait: bool = True,
        level: int = logging.INFO,
    ) -> None:
        self.setting = setting
        self.label = label
        self.wait = wait
        self.level = level  # of the messages that say which threads were chosen
        self.threads = 0
        self._entry = 0
        self._next_check = math.inf

    def __enter__(self) -> ThreadGovernor:
        self._entry = self.threads = torch.get_num_threads()
        if self.setting != "auto":
            self._set(int(self.setting))
            log.log(self.level, "%s: %d intra-op threads (forced)", self.label, self.threads)
            return self
        self._decide(_Load.others(self.wait), first=True)
        self._next_check = time.monotonic() + _FIRST_CHECK_SECONDS
        return self

    def __exit__(self, *exc: object) -> None:
        if torch.get_num_threads() != self._entry:
            torch.set_num_threads(self._entry)

    def tick(self) -> None:
        """Cheap between checks; on a check, follow the load (``auto`` only)."""
        if time.monotonic() < self._next_check:
            return
        self._next_check = time.monotonic() + CHECK_SECONDS
        self._decide(_Load.others(wait=False, max_age=math.inf), first=False)

    def _decide(self, others: float | None, first: bool) -> None:
        cores = min(usable_cores(), self._entry)
        threads = free_threads(others, cores)
        shown = "unknown" if others is None else f"{others:.2f}"
        if first or threads != self.threads:
            log.log(
                self.level,
                "%s: %d intra-op threads of %d (other processes use %s cores; threads=auto)",
                self.label,
                threads,
                cores,
                shown,
            )
        else:
            log.debug("%s: other processes use %s cores; %d threads", self.label, shown, threads)
        self._set(threads)

    def _set(self, threads: int) -> None:
        if threads != torch.get_num_threads():
            torch.set_num_threads(threads)
        self.threads = threads


def auto_workers() -> int:
    """Generation worker processes for ``parallelism`` ≤ 0: one per free core."""
    return free_threads(_Load.others(wait=True), usable_cores())


class _Role:
    worker = False  # this process is one of many workers (a Ray task): no pool of its own


def mark_worker_process() -> None:
    """Say that this process is one worker among many (its scheduler gave it one CPU), so
    generation here defaults to this process instead of a pool per free core."""
    _Role.worker = True


def generation_workers(
    parallelism: int | None, wanted: int, min_records: int, threads: ThreadSetting
) -> int:
    """Worker processes for generating ``wanted`` records: ``parallelism`` as given, 0 for
    one per free core (per usable core when ``threads`` is fixed), None for the same from
    ``min_records`` on and 1 (this process) below, where starting workers costs more
    than they save, or in a process marked by :func:`mark_worker_process`."""
    if parallelism is None:
        parallelism = 0 if wanted >= min_records and not _Role.worker else 1
    if parallelism == 0:
        return auto_workers() if threads == "auto" else usable_cores()
    return parallelism
