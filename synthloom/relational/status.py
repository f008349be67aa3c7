"""The status timeline: loading, preprocessing, training (per table), generation, writing.

Each step is reported to a callback as it starts and ends (the CLI shows it as progress)
and the whole timeline is kept as JSON in the model dir.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

STAGES = ("loading", "preprocessing", "training", "generation", "writing")


@dataclass
class StatusEvent:
    """One step of the timeline."""

    stage: str
    table: str | None
    status: str  # running, done, failed
    started: str
    seconds: float | None = None
    detail: str | None = None

    def describe(self) -> str:
        """One readable line."""
        what = self.stage + (f" {self.table}" if self.table else "")
        took = f" in {self.seconds:.1f}s" if self.seconds is not None else ""
        extra = f" ({self.detail})" if self.detail else ""
        return f"{what}: {self.status}{took}{extra}"


ProgressCallback = Callable[[StatusEvent], None]


class Timeline:
    """Steps in order; each finished or failed step is written to ``path`` at once."""

    def __init__(self, path: Path | None = None, callback: ProgressCallback | None = None):
        self.path = path
        self.callback = callback
        self.events: list[StatusEvent] = []

    @contextmanager
    def step(self, stage: str, table: str | None = None) -> Iterator[StatusEvent]:
        """Time one step; the caller may set ``detail`` on the yielded event."""
        event = StatusEvent(stage, table, "running", datetime.now(UTC).isoformat())
        self.events.append(event)
        self._notify(event)
        start = time.monotonic()
        try:
            yield event
        except BaseException as exc:
            event.status = "failed"
            event.detail = event.detail or f"{type(exc).__name__}: {exc}"[:300]
            raise
        else:
            event.status = "done"
        finally:
            event.seconds = round(time.monotonic() - start, 3)
            self._notify(event)
            self.save()

    def finished(
        self, stage: str, table: str | None, seconds: float, detail: str | None = None
    ) -> StatusEvent:
        """Record a step that ran elsewhere (a Ray task) and took ``seconds``, now done."""
        started = datetime.fromtimestamp(time.time() - seconds, UTC).isoformat()
        event = StatusEvent(stage, table, "done", started, round(seconds, 3), detail)
        self.events.append(event)
        self._notify(event)
        self.save()
        return event

    def _notify(self, event: StatusEvent) -> None:
        if self.callback is not None:
            self.callback(event)

    def to_list(self) -> list[dict[str, Any]]:
        """Plain data for JSON."""
        return [asdict(e) for e in self.events]

    def save(self, path: Path | None = None) -> None:
        """Write the timeline (best effort: a read-only model dir is not an error)."""
        target = path or self.path
        if target is None:
            return
        try:
            tmp = target.with_name(target.name + ".tmp")
            tmp.write_text(json.dumps({"steps": self.to_list()}, indent=2), encoding="utf-8")
            tmp.replace(target)
        except OSError:
            pass
