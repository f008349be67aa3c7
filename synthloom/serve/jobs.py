"""Jobs: a queue in the store, at most ``workers`` worker processes, recovery at start.

A background thread starts queued jobs and notices finished ones; the request threads
only queue, cancel and read. A job the store says is running when the server starts was
cut short by the server's death: it is marked interrupted and can be restarted (its model
is reused when training had finished).
"""

from __future__ import annotations

import csv
import json
import multiprocessing
import os
import shutil
import threading
from pathlib import Path
from typing import Any

from synthloom.errors import ConfigError
from synthloom.io.names import safe_file_name
from synthloom.serve import seeds as sd
from synthloom.serve import sources as src
from synthloom.serve.security import scrub
from synthloom.serve.store import (
    CANCELLED,
    DONE,
    FAILED,
    FINAL,
    INTERRUPTED,
    QUEUED,
    RUNNING,
    Store,
    now,
)
from synthloom.serve.worker import RESULT_FILE, TIMELINE_FILE, run_job

POLL_SECONDS = 0.2


class JobManager:
    """Runs jobs in worker processes (``spawn``: no state of the server is inherited)."""

    def __init__(self, store: Store, paths: src.Paths, workers: int = 1) -> None:
        self.store = store
        self.paths = paths
        self.workers = max(1, workers)
        self._procs: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._context = multiprocessing.get_context("spawn")

    # ---------------------------------------------------------------- lifecycle
    def recover(self) -> None:
        """Jobs left running by a server that died are interrupted (or done, if their
        worker finished before it went)."""
        for job in self.store.jobs_in(RUNNING):
            result = self._result(job["id"])
            if result is not None:
                self._finish(job, result)
            else:
                self.store.update_job(
                    job["id"],
                    status=INTERRUPTED,
                    finished=now(),
                    error="the server stopped while this job ran; restart it",
                )

    def start(self) -> None:
        """Recover, then run the scheduling thread."""
        self.recover()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="synthloom-jobs")
        self._thread.start()

    def stop(self, terminate: bool = True) -> None:
        """Stop scheduling; with ``terminate`` stop running workers (their jobs are then
        interrupted, to restart later)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(5)
        if not terminate:
            return
        with self._lock:
            procs = dict(self._procs)
        for job_id, proc in procs.items():
            proc.terminate()
            proc.join(10)
            self.store.update_job(
                job_id, status=INTERRUPTED, finished=now(), error="the server was stopped"
            )
        with self._lock:
            self._procs.clear()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:  # keep scheduling whatever one job did
                import logging

                logging.getLogger("synthloom").exception("job scheduling failed")
            self._wake.wait(POLL_SECONDS)
            self._wake.clear()

    def tick(self) -> None:
        """Notice finished workers and start queued jobs while a slot is free."""
        with self._lock:
            for job_id, proc in list(self._procs.items()):
                if proc.is_alive():
                    continue
                proc.join()
                del self._procs[job_id]
                job = self.store.job(job_id)
                if job is None or job["status"] != RUNNING:
                    continue
                result = self._result(job_id) or {
                    "status": FAILED,
                    "error": f"the worker process ended with exit code {proc.exitcode}",
                }
                self._finish(job, result)
            free = self.workers - len(self._procs)
        for job in self.store.jobs_in(QUEUED)[: max(free, 0)]:
            self._launch(job)

    # -------------------------------------------------------------------- queue
    def enqueue(self, generator_id: str) -> dict[str, Any]:
        """Queue a job for a generator (one at a time: they share its model dir)."""
        self.require_idle(generator_id)
        job = self.store.add_job(generator_id)
        self._wake.set()
        return job

    def require_idle(self, generator_id: str) -> None:
        """Refused (ConfigError) while the generator has a queued or running job."""
        latest = self.store.latest_job(generator_id)
        if latest is not None and latest["status"] in (QUEUED, RUNNING):
            raise ConfigError(
                f"generator {generator_id} already has a {latest['status']} job; wait for it "
                "or cancel it"
            )

    def cancel(self, job_id: str) -> bool:
        """Cancel a queued or running job; False when it had already ended."""
        job = self.store.job(job_id)
        if job is None or job["status"] in FINAL:
            return False
        with self._lock:
            proc = self._procs.pop(job_id, None)
            self.store.update_job(job_id, status=CANCELLED, finished=now(), error="cancelled")
        if proc is not None:
            proc.terminate()
            proc.join(10)
        return True

    def restart(self, job_id: str) -> bool:
        """Queue an interrupted, failed or cancelled job again (same id, next attempt)."""
        job = self.store.job(job_id)
        if job is None or job["status"] not in (INTERRUPTED, FAILED, CANCELLED):
            return False
        folder = self.job_dir(job_id)
        for name in (RESULT_FILE, TIMELINE_FILE):
            (folder / name).unlink(missing_ok=True)
        self.store.update_job(
            job_id,
            status=QUEUED,
            attempt=job["attempt"] + 1,
            pid=None,
            started=None,
            finished=None,
            error=None,
            result={},
        )
        self._wake.set()
        return True

    # ------------------------------------------------------------------ running
    def job_dir(self, job_id: str) -> Path:
        """The job's folder: timeline, log, result."""
        return self.paths.sub("jobs", job_id)

    def model_dir(self, generator_id: str) -> Path:
        """The generator's model (one per generator; reused by later jobs)."""
        return self.paths.data_dir / "models" / generator_id

    def output_dir(self, generator_id: str, job_id: str) -> Path:
        """Where application storage keeps a job's tables."""
        return self.paths.data_dir / "outputs" / generator_id / job_id

    def report_dir(self, generator_id: str, job_id: str) -> Path:
        """Where a job's report goes."""
        return self.paths.data_dir / "reports" / generator_id / job_id

    def _launch(self, job: dict[str, Any]) -> None:
        generator = self.store.generator(job["generator_id"])
        source = self.store.source(generator["source_id"]) if generator else None
        if generator is None or source is None:
            self.store.update_job(
                job["id"],
                status=FAILED,
                finished=now(),
                error="its generator or source was deleted",
            )
            return
        hidden = src.secrets_of(source) + _destination_secrets(generator["settings"])
        try:  # the boundary again: a folder's files may have become links since
            location = src.readable_location(source, self.paths)
            self.paths.boundary.destination(generator["settings"].get("destination") or {})
            seeds = self._job_seeds(generator, job["id"])
        except Exception as exc:
            self.store.update_job(
                job["id"], status=FAILED, finished=now(), error=scrub(str(exc), hidden)
            )
            return
        gid = generator["id"]
        spec = {
            "job_dir": str(self.job_dir(job["id"])),
            "model_dir": str(self.model_dir(gid)),
            "output_dir": str(self.output_dir(gid, job["id"])),
            "report_dir": str(self.report_dir(gid, job["id"])),
            "source": location,
            "secrets": hidden,
            "server_pid": os.getpid(),
            "config": generator["config"],
            "settings": generator["settings"],
            "seeds": None if seeds is None else str(seeds),
            "max_cells": self.paths.max_cells,
        }
        shutil.rmtree(self.report_dir(gid, job["id"]), ignore_errors=True)
        proc = self._context.Process(target=run_job, args=(spec,), name=f"synthloom-{job['id']}")
        with self._lock:
            current = self.store.job(job["id"])
            if current is None or current["status"] != QUEUED:
                return  # cancelled meanwhile
            proc.start()
            self._procs[job["id"]] = proc
            self.store.update_job(job["id"], status=RUNNING, pid=proc.pid, started=now())

    def _job_seeds(self, generator: dict[str, Any], job_id: str) -> Path | None:
        """The generator's seeds file, copied into the job's folder (None: no seeds)."""
        copied = sd.copy_for_job(self.paths, generator["id"], self.job_dir(job_id))
        wanted = bool((generator["settings"] or {}).get("seeds"))
        if copied is None and wanted:
            raise ConfigError(
                "the generator's seeds file is gone; upload the seeds again or remove them"
            )
        if copied is not None and not wanted:  # settings say no seeds: none are used
            copied.unlink()
            return None
        return copied

    def _result(self, job_id: str) -> dict[str, Any] | None:
        path = self.job_dir(job_id) / RESULT_FILE
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def _finish(self, job: dict[str, Any], result: dict[str, Any]) -> None:
        status = DONE if result.get("status") == "done" else FAILED
        self.store.update_job(
            job["id"], status=status, finished=now(), error=result.get("error"), result=result
        )

    def running(self) -> int:
        """How many workers run now."""
        with self._lock:
            return len(self._procs)

    # ------------------------------------------------------------------- status
    def timeline(self, job: dict[str, Any]) -> list[dict[str, Any]]:
        """The job's steps; a running training step carries its latest epoch, loss and ε."""
        path = self.job_dir(job["id"]) / TIMELINE_FILE
        try:
            steps = json.loads(path.read_text(encoding="utf-8"))["steps"]
        except (OSError, ValueError, KeyError):
            steps = []
        if not steps and job["status"] in (QUEUED, RUNNING):  # shown from the first moment
            waiting = job["status"] == QUEUED
            return [
                {
                    "stage": "queued" if waiting else "starting",
                    "table": None,
                    "status": "running",
                    "started": job["started"] or job["created"],
                    "seconds": None,
                    "detail": "waiting for a free worker"
                    if waiting
                    else "the worker process is starting",
                }
            ]
        ended = job["status"] in FINAL and job["status"] != DONE
        for step in steps:
            if ended and step["status"] == "running":  # it will not finish now
                step["status"] = job["status"]
            if step["stage"] == "training" and step["status"] == "running" and step["table"]:
                step["epoch"] = self._latest_epoch(job["generator_id"], step["table"])
        return steps

    def _latest_epoch(self, generator_id: str, table: str) -> dict[str, Any] | None:
        history = self.model_dir(generator_id) / "tables" / safe_file_name(table) / "history.csv"
        try:
            with history.open(encoding="utf-8") as handle:
                rows = list(csv.DictReader(handle))
        except OSError:
            return None
        if not rows:
            return None
        last = rows[-1]
        return {k: last.get(k) for k in ("epoch", "loss", "val_loss", "epsilon", "delta")}


def _destination_secrets(settings: dict[str, Any]) -> list[str]:
    from synthloom.serve.security import option_secrets, url_secrets

    destination = settings.get("destination") or {}
    return url_secrets(destination.get("url") or "") + option_secrets(
        destination.get("storage_options") or {}
    )
