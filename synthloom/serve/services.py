"""The services the API and the pages share: sources, generators, runs and their files.

The app (:mod:`synthloom.serve.app`) assembles these with the routers; the routers
(:mod:`~synthloom.serve.api`, :mod:`~synthloom.serve.pages`) call them. Nothing here knows
about HTTP beyond the status its errors map to.
"""

from __future__ import annotations

import shutil
import threading
import zipfile
from pathlib import Path
from typing import IO, Any

from fastapi import UploadFile

from synthloom.errors import ConfigError, DataError, SynthloomError
from synthloom.relational.sources import SourceData
from synthloom.serve import configurator as conf
from synthloom.serve import seeds as sd
from synthloom.serve import sources as src
from synthloom.serve.jobs import JobManager
from synthloom.serve.security import (
    mask_url,
)
from synthloom.serve.store import DONE, FINAL, Store, new_id

HERE = Path(__file__).parent
CHUNK = 1 << 20
MAX_UPLOAD_BYTES = 200 * 1024 * 1024
REPORT_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; frame-ancestors 'self'"


class NotFound(LookupError):
    """A source, generator or file that does not exist (HTTP 404)."""


class SourceInUse(RuntimeError):
    """A source that generators still read cannot be deleted (HTTP 409)."""


class Services:
    """Everything a request needs: store, folders, jobs, the source cache."""

    def __init__(
        self,
        data_dir: Path,
        token: str | None,
        workers: int,
        folder_roots: list[Path],
        max_upload_bytes: int,
        max_cells: int = src.MAX_CELLS,
    ) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.paths = src.Paths(
            data_dir.resolve(),
            [Path(r).resolve() for r in folder_roots],
            max_cells=max_cells,
            max_bytes=max_upload_bytes,
        )
        for name in ("uploads", "models", "outputs", "reports", "jobs", sd.SEEDS_DIR):
            self.paths.sub(name)
        self.store = Store(self.paths.data_dir / "synthloom.sqlite")
        self.jobs = JobManager(self.store, self.paths, workers)
        self.token = token
        self.max_upload_bytes = max_upload_bytes
        self._cache: dict[str, SourceData] = {}
        self._cache_lock = threading.Lock()

    # ------------------------------------------------------------------ sources
    def source(self, ident: str) -> dict[str, Any]:
        """A source row, or NotFound."""
        row = self.store.source(ident)
        if row is None:
            raise NotFound(f"source {ident} does not exist")
        return row

    def source_data(self, ident: str, fresh: bool = False) -> SourceData:
        """A source's tables (cached; ``fresh`` reads them again)."""
        with self._cache_lock:
            if not fresh and ident in self._cache:
                return self._cache[ident]
        data = src.read_all(self.source(ident), self.paths)
        with self._cache_lock:
            self._cache[ident] = data
        return data

    async def upload(self, files: list[UploadFile], name: str | None) -> dict[str, Any]:
        """Store uploaded files under server-made names and register them as a source."""
        if not files:
            raise DataError("no file uploaded; choose CSV, Parquet, JSON or SQLite files")
        ident = new_id()
        folder = self.paths.sub("uploads", ident)
        try:
            taken: set[str] = set()
            total = 0
            stored: list[Path] = []
            for upload in files:
                head = await upload.read(16)
                suffix = src.upload_suffix(upload.filename or "", head)
                if suffix in (".yaml", ".yml"):
                    target = folder / "schema.yaml"
                elif suffix == ".sqlite":
                    if len(files) > 1:
                        raise DataError("upload an SQLite database alone (one file)")
                    target = folder / "database.sqlite"
                else:
                    target = folder / (src.table_name(upload.filename or "", taken) + suffix)
                total = await _copy(upload, head, target, total, self.max_upload_bytes)
                stored.append(target)
            location = (
                folder / "database.sqlite" if (folder / "database.sqlite").exists() else folder
            )
            shown = src.shown_location("upload", str(location), self.paths)
            origin = [Path((u.filename or "").replace("\\", "/")).name for u in files]
            return self._register(
                ident,
                name or Path(files[0].filename or "upload").stem,
                "upload",
                shown,
                str(location),
                {},
                origin,
            )
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise

    def register(
        self, kind: str, location: str, name: str | None, storage_options: dict[str, Any] | None
    ) -> dict[str, Any]:
        """Register a database URL, a server folder or an object-storage prefix."""
        location = location.strip()
        options = storage_options or {}
        location = src.checked_location(kind, location, options, self.paths)
        shown = mask_url(location)
        return self._register(new_id(), name or shown, kind, shown, location, storage_options or {})

    def _register(
        self,
        ident: str,
        name: str,
        kind: str,
        shown: str,
        location: str,
        options: dict[str, Any],
        origin: list[str] | None = None,
    ) -> dict[str, Any]:
        row = {
            "id": ident,
            "name": mask_url(name)[:120],
            "kind": kind,
            "location": shown,
            "secret_location": location,
            "storage_options": options,
        }
        try:  # the connection test: refuse what cannot be read
            data = src.read_all(row, self.paths)
        except BaseException:
            shutil.rmtree(self.paths.data_dir / "cache" / ident, ignore_errors=True)
            raise
        fingerprint = {**src.fingerprint(data), "origin": origin or [shown]}
        row = self.store.add_source(**row, fingerprint=fingerprint)
        with self._cache_lock:
            self._cache[ident] = data
        return row

    def delete_source(self, ident: str) -> None:
        """Forget a source and its uploaded or cached files; refused (SourceInUse) while a
        generator uses it, since its jobs read the source again."""
        row = self.source(ident)
        users = [g for g in self.store.generators() if g["source_id"] == ident]
        if users:
            names = ", ".join(f"{g['name']} ({g['id']})" for g in users[:5])
            raise SourceInUse(
                f"source {ident} is used by {len(users)} generator(s): {names}; delete those "
                "generators first"
            )
        self.store.delete_source(ident)
        with self._cache_lock:
            self._cache.pop(ident, None)
        shutil.rmtree(self.paths.data_dir / "cache" / ident, ignore_errors=True)
        if row["kind"] == "upload":
            shutil.rmtree(self.paths.data_dir / "uploads" / ident, ignore_errors=True)

    def check_source(self, ident: str) -> dict[str, Any]:
        """Read a source again: is it still there, has it changed since registration?"""
        row = self.source(ident)
        try:
            data = self.source_data(ident, fresh=True)
        except SynthloomError as exc:
            return {
                "ok": False,
                "gone": True,
                "error": f"the source is gone or cannot be read: {exc}",
                "changes": [],
            }
        notes = src.changes(row["fingerprint"], src.fingerprint(data))
        return {
            "ok": not notes,
            "gone": False,
            "changes": notes,
            "data": data,
            "error": ("the source changed since it was registered: " + "; ".join(notes))
            if notes
            else None,
        }

    def accept_source(self, ident: str) -> None:
        """Take the source as it is now (after a change was reviewed)."""
        data = self.source_data(ident, fresh=True)
        origin = self.source(ident)["fingerprint"].get("origin")
        self.store.update_source(ident, fingerprint={**src.fingerprint(data), "origin": origin})

    # --------------------------------------------------------------- generators
    def generator(self, ident: str) -> dict[str, Any]:
        """A generator row, or NotFound."""
        row = self.store.generator(ident)
        if row is None:
            raise NotFound(f"generator {ident} does not exist")
        return row

    def check(
        self,
        source_id: str,
        config: dict[str, Any],
        settings: dict[str, Any],
        assessment: bool = True,
    ) -> conf.Check:
        """The configurator's alerts for a config on a source."""
        try:
            data = self.source_data(source_id)
        except SynthloomError as exc:
            return conf.Check([conf.Alert("data", f"the source cannot be read: {exc}")])
        return conf.check(config, settings, data, self.paths, assessment)

    def create_generator(
        self,
        source_id: str,
        config: dict[str, Any],
        settings: dict[str, Any] | None,
        name: str | None,
        start: bool = True,
    ) -> tuple[dict[str, Any], conf.Check]:
        """Check, store and (with ``start``) queue training + generation."""
        self.source(source_id)
        if (settings or {}).get("seeds") is not None:
            raise ConfigError(
                "settings.seeds is set by uploading a seeds file (POST "
                "/api/generators/{id}/start or PUT /api/generators/{id}/seeds with a file); "
                "leave it out of the settings"
            )
        settings = conf.settings_with_defaults(settings)
        result = self.check(source_id, config, settings, assessment=False)
        if not result.ok:
            return {}, result
        row = self.store.add_generator(
            name=(name or "generator")[:120],
            source_id=source_id,
            config=config,
            settings=settings,
            state="ready",
        )
        if start:
            self.jobs.enqueue(row["id"])
        return row, result

    def start_draft(self, ident: str) -> conf.Check:
        """Create a drafted generator: queue its job if no alert is left."""
        row = self.generator(ident)
        result = self.check(row["source_id"], row["config"], row["settings"], assessment=False)
        if result.ok and row["state"] == "draft":
            self.store.update_generator(ident, state="ready")
            self.jobs.enqueue(ident)
        return result

    def set_seeds(self, ident: str, filename: str, upload: IO[bytes]) -> dict[str, Any]:
        """Check an uploaded seeds file and make it the generator's (for its next runs):
        one table file of some of its one synthesized table's columns; with a trained
        model, the model's own checks too (a category never seen, ...). A bad file is a
        one-line SynthloomError and leaves the earlier seeds as they were. Returns the
        seeds' summary and the model's warnings."""
        row = self.generator(ident)
        tmp, name = sd.save_upload(
            upload, filename, sd.folder(self.paths, ident), self.max_upload_bytes
        )
        try:
            frame = sd.read(tmp, name, self.paths.max_cells)
            summary = sd.summary(frame, name)
            settings = conf.settings_with_defaults({**row["settings"], "seeds": None})
            result = self.check(row["source_id"], row["config"], settings, assessment=False)
            if result.schema is None:
                first = result.alerts[0].message if result.alerts else "no tables"
                raise ConfigError(
                    f"the seeds cannot be checked until the configuration has no alerts: {first}"
                )
            found = sd.problems(result.schema, row["config"], summary)
            if found:
                raise DataError(found[0])
            warnings = sd.check_with_model(self.jobs.model_dir(ident), frame)
            sd.commit(tmp)
        finally:
            tmp.unlink(missing_ok=True)
        self.store.update_generator(ident, settings={**row["settings"], "seeds": summary})
        return {"seeds": summary, "warnings": warnings}

    def remove_seeds(self, ident: str) -> None:
        """The generator's next runs generate without seeds."""
        row = self.generator(ident)
        shutil.rmtree(sd.folder(self.paths, ident), ignore_errors=True)
        self.store.update_generator(ident, settings={**row["settings"], "seeds": None})

    def status(self, ident: str, full: bool = True) -> dict[str, Any]:
        """A generator with its latest job and timeline (what the page polls)."""
        row = self.generator(ident)
        job = self.store.latest_job(ident)
        out: dict[str, Any] = {
            "id": row["id"],
            "name": row["name"],
            "state": row["state"],
            "status": job["status"] if job else row["state"],
            "job": job_view(job),
            "timeline": self.jobs.timeline(job) if job else [],
        }
        if full:
            out["source_id"] = row["source_id"]
            out["config"] = row["config"]
            out["settings"] = conf.shown_settings(row["settings"])
            out["jobs"] = [job_view(j) for j in self.store.jobs(ident)]
        return out

    def done_job(self, ident: str, job_id: str | None = None) -> dict[str, Any]:
        """A finished job of a generator (its data and report): ``job_id``, else the
        newest. Every finished run keeps its data and report."""
        self.generator(ident)
        done = [j for j in self.store.jobs(ident) if j["status"] == DONE]
        if job_id is not None:
            done = [j for j in done if j["id"] == job_id]
            if not done:
                raise NotFound(f"generator {ident} has no finished run {job_id}")
        if not done:
            raise NotFound(f"generator {ident} has no finished run yet")
        return done[-1]

    def rename_generator(self, ident: str, name: str) -> None:
        """Give a generator a new name."""
        self.generator(ident)
        name = name.strip()[:120]
        if not name:
            raise ConfigError("a generator's name cannot be empty")
        self.store.update_generator(ident, name=name)

    def clone_generator(self, ident: str) -> dict[str, Any]:
        """A new draft generator with the same source, config and settings (no runs)."""
        row = self.generator(ident)
        copy = self.store.add_generator(
            name=f"{row['name']} (copy)"[:120],
            source_id=row["source_id"],
            config=row["config"],
            settings=row["settings"],
            state="draft",
        )
        found = sd.stored(sd.folder(self.paths, ident))
        if found is not None:  # the same seeds: the copy's own file
            target = self.paths.sub(sd.SEEDS_DIR, copy["id"])
            shutil.copyfile(found, target / found.name)
        return copy

    def delete_generator(self, ident: str) -> None:
        """Forget a generator with its model, outputs, reports and job folders; refused
        while one of its jobs is queued or running (cancel it first)."""
        self.generator(ident)
        jobs = self.store.jobs(ident)
        active = [j["id"] for j in jobs if j["status"] not in FINAL]
        if active:
            raise ConfigError(
                f"generator {ident} has a {self.store.job(active[0])['status']} job; "
                "cancel it first"
            )
        self.store.delete_generator(ident)
        for kind in ("models", "outputs", "reports", sd.SEEDS_DIR):
            shutil.rmtree(self.paths.data_dir / kind / ident, ignore_errors=True)
        for job in jobs:
            shutil.rmtree(self.paths.data_dir / "jobs" / job["id"], ignore_errors=True)

    def data_zip(self, ident: str, file_format: str, job_id: str | None = None) -> Path:
        """A zip of a run's generated tables in application storage, as CSV or Parquet."""
        if file_format not in ("csv", "parquet"):
            raise ConfigError(f"format {file_format!r} is not csv or parquet")
        job = self.done_job(ident, job_id)
        if job["result"].get("destination", "app") != "app":
            raise NotFound(
                "this generator wrote its data to its destination, not to application storage"
            )
        folder = self.jobs.output_dir(ident, job["id"])
        target = folder.parent / f"{job['id']}.{file_format}.zip"
        if not target.exists():
            _zip_tables(folder, target, file_format)
        return target

    def report_file(self, ident: str, path: str, job_id: str | None = None) -> Path:
        """A file of a run's report (the latest by default), never outside its folder."""
        job = self.done_job(ident, job_id)
        root = self.jobs.report_dir(ident, job["id"]).resolve()
        target = (root / path).resolve()
        if not target.is_relative_to(root) or not target.is_file():
            raise NotFound(f"report file {path} does not exist")
        return target


async def _copy(upload: UploadFile, head: bytes, target: Path, total: int, limit: int) -> int:
    total += len(head)
    with target.open("wb") as handle:
        handle.write(head)
        while chunk := await upload.read(CHUNK):
            total += len(chunk)
            if total > limit:
                raise DataError(
                    f"the upload is larger than {limit // (1024 * 1024)} MiB; "
                    "register a database URL or a server folder instead"
                )
            handle.write(chunk)
    return total


def _zip_tables(folder: Path, target: Path, file_format: str) -> None:
    from synthloom.io.tables import read_table, write_table

    tmp = target.with_name(target.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.iterdir()):
            if path.suffix.lstrip(".") == file_format:
                archive.write(path, path.name)
            else:
                converted = target.parent / f".{path.stem}.{file_format}"
                write_table(read_table(path)[0], converted)
                archive.write(converted, f"{path.stem}.{file_format}")
                converted.unlink()
    tmp.replace(target)


def job_view(job: dict[str, Any] | None) -> dict[str, Any] | None:
    if job is None:
        return None
    keys = ("id", "status", "attempt", "created", "started", "finished", "error", "result")
    view = {k: job[k] for k in keys}
    view["restartable"] = job["status"] in FINAL and job["status"] != DONE
    view["cancellable"] = job["status"] not in FINAL
    return view
