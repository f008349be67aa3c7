"""The job that runs in a worker process: train (unless trained), generate, write, report.

It never touches the store: it writes ``timeline.json`` (every step as it starts and ends),
``log.txt`` and, last, ``result.json`` in its job folder; the server reads them. It stops
by itself when the server process that started it is gone.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import threading
import time
import traceback
from dataclasses import asdict
from pathlib import Path
from typing import Any

from synthloom.errors import SynthloomError
from synthloom.serve.security import scrub

TIMELINE_FILE = "timeline.json"
RESULT_FILE = "result.json"
LOG_FILE = "log.txt"
PARAMS_FILE = "model_params.json"


class Recorder:
    """The job's timeline: every status event, written at once (atomic replace)."""

    def __init__(self, path: Path, hidden: list[str]) -> None:
        self.path = path
        self.hidden = hidden
        self.events: list[Any] = []

    def __call__(self, event: Any) -> None:
        if event.detail:  # in place: the model dir's own timeline is written from it too
            event.detail = scrub(event.detail, self.hidden)
        if not any(e is event for e in self.events):
            self.events.append(event)
        self.save()

    def note(self, stage: str, detail: str) -> None:
        """A finished step that did not run (e.g. training reused)."""
        from synthloom.relational.status import StatusEvent
        from synthloom.serve.store import now

        self(StatusEvent(stage, None, "done", now(), 0.0, detail))

    def save(self) -> None:
        steps = []
        for event in self.events:
            step = asdict(event)
            if step.get("detail"):
                step["detail"] = scrub(step["detail"], self.hidden)
            steps.append(step)
        write_json(self.path, {"steps": steps})


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write JSON atomically (the server may read it at any moment)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, default=str), encoding="utf-8")
    tmp.replace(path)


def run_job(spec: dict[str, Any]) -> None:
    """Entry point of the worker process."""
    job_dir = Path(spec["job_dir"])
    hidden = list(spec.get("secrets") or [])
    _watch_parent(int(spec.get("server_pid") or os.getppid()))
    with contextlib.suppress(OSError):
        os.nice(5)  # jobs yield the CPU to the server, so pages and polls stay quick
    _log_to(job_dir / LOG_FILE, hidden)
    recorder = Recorder(job_dir / TIMELINE_FILE, hidden)
    try:
        result = {"status": "done", **_run(spec, recorder)}
    except SynthloomError as exc:
        result = {"status": "failed", "error": scrub(str(exc), hidden)}
    except Exception as exc:  # a bug or an environment problem: the log has the trace
        logging.getLogger("synthloom").error("%s", traceback.format_exc())
        result = {"status": "failed", "error": scrub(f"{type(exc).__name__}: {exc}", hidden)}
    write_json(job_dir / RESULT_FILE, result)


def _run(spec: dict[str, Any], recorder: Recorder) -> dict[str, Any]:
    from synthloom.io.urls import require_database_driver, require_storage_driver
    from synthloom.relational import RelationalSynthesizer, write_tables

    settings, source = spec["settings"], spec["source"]
    destination = settings.get("destination") or {}
    kind = destination.get("kind", "app")
    if kind == "database":  # every driver before training, not after
        require_database_driver(destination["url"])
    elif kind == "objects":
        require_storage_driver(destination["url"])
    model_dir = Path(spec["model_dir"])
    if (model_dir / PARAMS_FILE).is_file():  # trained by an earlier attempt: keep it
        synth = RelationalSynthesizer.load(model_dir)
        recorder.note("training", "model trained by an earlier run: reused")
    else:
        shutil.rmtree(model_dir, ignore_errors=True)
        synth = RelationalSynthesizer(spec["config"])
        synth.fit(source, model_dir, progress=recorder)
    target = spec["output_dir"] if kind == "app" else destination["url"]
    num_records, seeded = _seeded(synth, spec, settings)
    tables = synth.generate(num_records, seed=settings.get("seed"), progress=recorder)
    assert synth.schema is not None and synth.timeline_ is not None and synth.integrity_
    timeline = synth.timeline_
    with timeline.step("writing") as event:
        if kind == "app":
            shutil.rmtree(target, ignore_errors=True)
        where = write_tables(
            tables,
            synth.schema,
            target,
            overwrite=bool(destination.get("overwrite")) or kind == "app",
            file_format=destination.get("format", "csv"),
            storage_options=destination.get("storage_options") or {},
        )
        event.detail = scrub(where, recorder.hidden) if kind != "app" else "application storage"
    result: dict[str, Any] = {
        "rows": {name: len(frame) for name, frame in tables.items()},
        "integrity": synth.integrity_.share,
        "destination": kind,
        "format": destination.get("format", "csv"),
        "report": False,
    }
    if seeded is not None:
        result["seeds"] = seeded
    report = settings.get("report") or {}
    if report.get("enabled", True):
        result.update(_report(synth, tables, spec, report, timeline))
    return result


def _seeded(
    synth: Any, spec: dict[str, Any], settings: dict[str, Any]
) -> tuple[int | None, dict[str, Any] | None]:
    """The root rows to ask for and, with a seeds file, the seeds' summary: the table's
    model then makes one record per seed row (as ``generate(seeds=...)`` does)."""
    if not spec.get("seeds"):
        return settings.get("num_records"), None
    from synthloom.serve import seeds as sd

    name = ((settings.get("seeds") or {}).get("name")) or "seeds"
    frame = sd.read(Path(spec["seeds"]), name, spec.get("max_cells") or sd.src.MAX_CELLS)
    sd.seed(synth, frame)
    asked = settings.get("num_records")
    if asked is not None and asked != len(frame):
        logging.getLogger("synthloom").warning(
            "the seeds file has %d rows: generating one record per seed row, not num_records=%d",
            len(frame),
            asked,
        )
    return len(frame), {"name": name, "rows": len(frame)}


def _report(
    synth: Any, tables: dict[str, Any], spec: dict[str, Any], report: dict[str, Any], timeline: Any
) -> dict[str, Any]:
    from synthloom.relational.report import build_relational_report, report_options

    try:
        real = synth.real_tables(spec["source"])
    except SynthloomError as exc:
        return {"report_note": f"no report: {scrub(str(exc), spec.get('secrets') or [])}"}
    claims = synth.report_claims()
    claims["sensitive"] = _with_marked(claims["sensitive"], spec["settings"].get("sensitive"))
    with timeline.step("report") as event:
        build_relational_report(
            real,
            tables,
            synth.schema,
            spec["report_dir"],
            per_table_reports=bool(report.get("per_table", True)),
            options=report_options(**(report.get("limits") or {})),
            **claims,
        )
        event.detail = "relational report written"
    return {"report": True}


def _with_marked(
    sensitive: dict[str, tuple[str, ...]], marked: dict[str, list[str]] | None
) -> dict[str, tuple[str, ...]]:
    """The config's sensitive columns plus those ticked on the treatment page: the
    per-table reports run the attribute-inference attack on each."""
    out = dict(sensitive)
    for table, columns in (marked or {}).items():
        out[table] = tuple(dict.fromkeys([*out.get(table, ()), *columns]))
    return out


def _watch_parent(parent: int) -> None:
    """Exit when the server that started this worker dies (its job then shows as
    interrupted after a restart, instead of running on unseen)."""

    def watch() -> None:
        while True:
            time.sleep(0.5)
            if os.getppid() != parent:
                os._exit(3)

    threading.Thread(target=watch, daemon=True, name="parent-watch").start()


class _Scrub(logging.Filter):
    def __init__(self, hidden: list[str]) -> None:
        super().__init__()
        self.hidden = hidden

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = scrub(record.getMessage(), self.hidden)
        record.args = None
        return True


def _log_to(path: Path, hidden: list[str]) -> None:
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    handler.addFilter(_Scrub(hidden))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
