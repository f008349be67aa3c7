"""The job manager's bookkeeping, without worker processes."""

from __future__ import annotations

import json
from pathlib import Path

from synthloom.serve.jobs import JobManager
from synthloom.serve.sources import Paths
from synthloom.serve.store import DONE, INTERRUPTED, QUEUED, RUNNING, Store
from synthloom.serve.worker import RESULT_FILE, TIMELINE_FILE


def manager(tmp_path: Path) -> JobManager:
    paths = Paths(tmp_path)
    return JobManager(Store(tmp_path / "store.sqlite"), paths, workers=1)


def test_recover_marks_running_jobs_interrupted_unless_they_finished(tmp_path: Path) -> None:
    jobs = manager(tmp_path)
    lost, finished, waiting = (jobs.store.add_job("g") for _ in range(3))
    jobs.store.update_job(lost["id"], status=RUNNING, pid=999999)
    jobs.store.update_job(finished["id"], status=RUNNING, pid=999998)
    result = {"status": "done", "rows": {"t": 3}}
    (jobs.job_dir(finished["id"]) / RESULT_FILE).write_text(json.dumps(result))
    jobs.recover()
    assert jobs.store.job(lost["id"])["status"] == INTERRUPTED
    assert jobs.store.job(finished["id"])["status"] == DONE
    assert jobs.store.job(finished["id"])["result"]["rows"] == {"t": 3}
    assert jobs.store.job(waiting["id"])["status"] == QUEUED  # the queue survives too
    assert jobs.restart(lost["id"])
    again = jobs.store.job(lost["id"])
    assert again["status"] == QUEUED and again["attempt"] == 2
    assert not jobs.restart(finished["id"])  # nothing finished is redone


def test_a_running_training_step_shows_its_latest_epoch(tmp_path: Path) -> None:
    jobs = manager(tmp_path)
    job = jobs.store.add_job("gen1")
    step = {
        "stage": "training",
        "table": "orders",
        "status": "running",
        "started": "x",
        "seconds": None,
        "detail": None,
    }
    (jobs.job_dir(job["id"]) / TIMELINE_FILE).write_text(json.dumps({"steps": [step]}))
    history = jobs.model_dir("gen1") / "tables" / "orders"
    history.mkdir(parents=True)
    (history / "history.csv").write_text(
        "epoch,loss,val_loss,epsilon,delta\n1,2.5,,0.8,1e-05\n2,1.9,,1.1,1e-05\n"
    )
    [shown] = jobs.timeline(job)
    assert shown["epoch"] == {
        "epoch": "2",
        "loss": "1.9",
        "val_loss": "",
        "epsilon": "1.1",
        "delta": "1e-05",
    }


def test_the_timeline_shows_a_step_from_the_first_moment_and_marks_cut_steps(
    tmp_path: Path,
) -> None:
    jobs = manager(tmp_path)
    job = jobs.store.add_job("gen1")
    (first,) = jobs.timeline(jobs.store.job(job["id"]))
    assert first["stage"] == "queued" and first["status"] == "running"
    jobs.store.update_job(job["id"], status=RUNNING, started="now")
    assert jobs.timeline(jobs.store.job(job["id"]))[0]["stage"] == "starting"
    steps = [
        {"stage": "loading", "table": None, "status": "done", "started": "t", "seconds": 1.0},
        {"stage": "training", "table": "t", "status": "running", "started": "t", "seconds": None},
    ]
    (jobs.job_dir(job["id"]) / TIMELINE_FILE).write_text(json.dumps({"steps": steps}))
    assert jobs.timeline(jobs.store.job(job["id"]))[1]["status"] == "running"
    jobs.store.update_job(job["id"], status=INTERRUPTED)
    shown = jobs.timeline(jobs.store.job(job["id"]))
    assert [s["status"] for s in shown] == ["done", INTERRUPTED]
