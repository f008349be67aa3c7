"""The Ray executor: a synthesizer's training tasks as Ray tasks, one CPU each.

Hand it to ``fit`` (``TableSynthesizer.fit(..., executor=RayExecutor("auto"))``, the same
for :class:`~synthloom.relational.RelationalSynthesizer`); ``--ray ADDRESS`` on the
command line does so. Ray is imported on first use (the ``ray`` extra).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from synthloom.errors import ConfigError, SynthloomError


def connect(address: str) -> Any:
    """The ``ray`` module, connected: ``auto`` joins the cluster this machine belongs to
    (``RAY_ADDRESS`` or ``ray start``) and else starts one on this machine's cores; any
    other value is a cluster address (``ray://host:10001`` or ``host:6379``)."""
    try:
        import ray
    except ImportError:
        raise ConfigError(
            "--ray needs Ray: pip install 'synthloom[ray]' (or leave out --ray to use the "
            "local cores)"
        ) from None
    if ray.is_initialized():
        return ray
    try:
        if address == "auto":
            try:
                ray.init(address="auto", include_dashboard=False, log_to_driver=False)
            except ConnectionError:  # no cluster here: a local one
                ray.init(include_dashboard=False, log_to_driver=False)
        else:
            ray.init(address=address, log_to_driver=False)
    except (ConnectionError, ValueError, RuntimeError) as exc:
        raise ConfigError(
            f"cannot connect to the Ray cluster at {address!r} ({exc}); start one with "
            "`ray start --head`, or pass --ray auto"
        ) from None
    return ray


@dataclass(frozen=True)
class RayExecutor:
    """Training tasks on the Ray cluster at ``address`` (``auto``: this machine's, or a
    new local one). Picklable: a task may hand it on to tasks of its own."""

    address: str = "auto"
    name: str = "Ray"

    def cpus(self) -> float:
        """The cluster's CPUs."""
        return float(connect(self.address).cluster_resources().get("CPU", 1))

    def run(
        self,
        task: Callable[..., Any],
        calls: Sequence[tuple[Any, ...]],
        shared: tuple[Any, ...] = (),
        label: Callable[[int], str] = str,
    ) -> Iterator[tuple[int, Any]]:
        """See :class:`synthloom.synthesizers.executors.Executor`. A task that blocks on
        tasks of its own frees its CPU meanwhile (Ray's rule), so nesting cannot stall."""
        module = connect(self.address)
        put = tuple(module.put(value) for value in shared)
        remote = module.remote(task).options(max_retries=1, num_cpus=1)
        refs = {remote.remote(*put, *call): index for index, call in enumerate(calls)}
        try:
            while refs:
                ready, _ = module.wait(list(refs), num_returns=1)
                index = refs.pop(ready[0])
                yield index, self._result(module, ready[0], label(index))
        finally:
            for ref in refs:  # an error or Ctrl-C: the other tasks are not wanted
                module.cancel(ref)

    @staticmethod
    def _result(module: Any, ref: Any, what: str) -> Any:
        try:
            return module.get(ref)
        except module.exceptions.RayError as exc:
            cause = getattr(exc, "cause", None)
            if isinstance(cause, SynthloomError):  # bad input found in a task: its one line
                raise cause from None
            problem = type(exc).__name__ if cause is None else f"{type(cause).__name__}: {cause}"
            raise SynthloomError(
                f"{what} failed in its Ray task ({problem}); nothing new was saved. Check the "
                "cluster's workers, or leave out --ray"
            ) from None
