"""Worker processes that each load a model once and return results in submission order.

Generation is split into chunks whose seeds depend only on the chunk's index, so the same
records come out whether chunks run here or in workers. Workers run one intra-op thread
each: on small LSTM matrices one process per core beats threads in one process.
"""

from __future__ import annotations

import multiprocessing
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, TypeVar

import torch

Job = TypeVar("Job")
Result = TypeVar("Result")

# On Linux, from a process with no other Python threads, workers are forked: they start in
# milliseconds with this process's modules already imported, where spawning re-imports
# torch and pandas (~4 s each on a busy 2-core machine, more than a chunk takes). Forking
# after torch ran is safe at one intra-op thread (PyTorch's DataLoader workers do the
# same); beside other threads (a web server's) a lock they hold could be copied held, and
# elsewhere fork is unsafe: spawn then.


def start_method() -> str:
    """``fork`` where it is safe and fast (see above), else ``spawn``."""
    return "fork" if sys.platform == "linux" and threading.active_count() == 1 else "spawn"


# Chunks queued per worker: one running, one waiting, so no worker idles between chunks.
IN_FLIGHT_PER_WORKER = 2


def ordered_map(
    work: Callable[[Job], Result],
    jobs: Iterable[Job],
    workers: int,
    initializer: Callable[..., None],
    initargs: tuple[Any, ...] = (),
) -> Iterator[Result]:
    """``work(job)`` for each job, in ``workers`` worker processes, yielded in order.

    ``jobs`` is read lazily (it may be endless, or depend on earlier results): at most
    :data:`IN_FLIGHT_PER_WORKER` × ``workers`` are submitted ahead of the one yielded, so
    memory holds a few chunks however many are asked for. ``initializer(*initargs)`` runs
    once per worker (load the model there). Closing the iterator cancels what is queued.
    """
    context = multiprocessing.get_context(start_method())
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=_init, initargs=(initializer, initargs)
    ) as pool:
        pending: deque[Future[Result]] = deque()
        source = iter(jobs)
        try:
            while True:
                while len(pending) < IN_FLIGHT_PER_WORKER * workers:
                    job = next(source, _END)
                    if job is _END:
                        break
                    pending.append(pool.submit(work, job))
                if not pending:
                    return
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()


_END: Any = object()


def _init(initializer: Callable[..., None], initargs: tuple[Any, ...]) -> None:
    torch.set_num_threads(1)
    initializer(*initargs)
