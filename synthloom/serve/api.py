"""The REST API under ``/api`` (OpenAPI at ``/docs``): what the pages do, for scripts."""

from __future__ import annotations

from typing import Annotated, Any

import yaml
from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import BaseModel, Field

from synthloom.errors import ConfigError
from synthloom.relational.report import HTML_FILE, PDF_FILE, REPORT_FILE
from synthloom.serve import sources as src
from synthloom.serve.services import REPORT_CSP, NotFound, Services, job_view

router = APIRouter(prefix="/api", tags=["api"])
SEEDS_HELP = (
    "Seed rows: one table file (CSV, TSV, Parquet, JSON or JSONL) with some columns of the "
    "generator's one synthesized table. Each row gives values for those columns and the "
    "model fills in the rest: one record per seed row (num_records is then ignored). Bad "
    "seeds (a column the table does not learn, no rows, a category the trained model never "
    "saw, an unreadable file) are a 400 with the reason, and nothing changes."
)


def services(request: Request) -> Services:
    """The app's services."""
    return request.app.state.services


class SourceIn(BaseModel):
    """A source registered by reference."""

    kind: str = Field(
        description="database (SQLAlchemy URL), folder (a server folder under "
        "a --folder-root) or objects (s3://bucket/prefix, gs://…)"
    )
    location: str
    name: str | None = None
    storage_options: dict[str, Any] | None = None


class GeneratorIn(BaseModel):
    """A generator: a source, the relational config (the YAML the CLI takes, as a mapping
    or as YAML text) and the generation, destination and report settings."""

    source_id: str
    name: str | None = None
    config: dict[str, Any] | None = Field(
        None,
        description="The relational config, as the CLI's YAML: tables, keys, engine, params "
        "(learning_rate, learning_rate_schedule plateau|constant, epochs, dp, ...), generate "
        "{rebalance: {column: {value: share}} of the root table, predict_batch_size}",
    )
    config_yaml: str | None = None
    settings: dict[str, Any] | None = Field(
        None,
        description="num_records, seed, destination {kind: app|database|objects, format: "
        "csv|parquet, url, storage_options, overwrite}, report {enabled, per_table, limits}, "
        "sensitive {table: [columns]}. Seeds are not a setting: upload them with "
        "POST /api/generators/{id}/start or PUT /api/generators/{id}/seeds",
    )
    start: bool = True

    def parsed_config(self) -> dict[str, Any]:
        """The config mapping (from ``config`` or ``config_yaml``)."""
        if self.config_yaml is not None:
            try:
                data = yaml.safe_load(self.config_yaml)
            except yaml.YAMLError as exc:
                raise ConfigError(f"config_yaml is not valid YAML: {exc}") from None
            if data is not None and not isinstance(data, dict):
                raise ConfigError("config_yaml must hold a mapping (tables, params, ...)")
            return data or {}
        return dict(self.config or {})


# ------------------------------------------------------------------------- sources


@router.get("/sources")
def list_sources(request: Request) -> list[dict[str, Any]]:
    """Every source (no credentials)."""
    return [src.display(s) for s in services(request).store.sources()]


@router.post("/sources/upload", status_code=201)
async def upload_source(
    request: Request,
    files: Annotated[
        list[UploadFile],
        File(
            description="CSV/TSV/Parquet/JSON/JSONL files "
            "(plus schema.yaml), or one SQLite database"
        ),
    ],
    name: Annotated[str | None, Form()] = None,
) -> dict[str, Any]:
    """Upload files as a new source (stored under server-made names, size-limited)."""
    return src.display(await services(request).upload(files, name))


@router.post("/sources", status_code=201)
def register_source(request: Request, body: SourceIn) -> dict[str, Any]:
    """Register a database URL, a server folder or object storage (tested before stored)."""
    return src.display(
        services(request).register(body.kind, body.location, body.name, body.storage_options)
    )


@router.get("/sources/{source_id}")
def get_source(request: Request, source_id: str) -> dict[str, Any]:
    """One source."""
    return src.display(services(request).source(source_id))


@router.post("/sources/{source_id}/test")
def test_source(request: Request, source_id: str) -> dict[str, Any]:
    """Connect again: is the source still there, has it changed since registration?"""
    result = services(request).check_source(source_id)
    result.pop("data", None)
    return result


@router.get("/sources/{source_id}/preview")
def preview_source(request: Request, source_id: str, rows: int = 5) -> JSONResponse:
    """The first rows of each table; 409 when the source is gone, a warning if changed."""
    result = services(request).check_source(source_id)
    if result["gone"]:
        return JSONResponse({"detail": result["error"]}, 409)
    body = {
        "tables": src.preview(result["data"], max(1, min(rows, 100))),
        "changes": result["changes"],
        "warning": result["error"],
    }
    return JSONResponse(body)


@router.get("/sources/{source_id}/profile")
def profile_source(request: Request, source_id: str) -> JSONResponse:
    """Data quality per table: column kinds and missing shares, duplicate or missing
    primary keys, foreign keys that match no parent row; 409 when the source is gone."""
    from synthloom.relational.profile import profile_source

    result = services(request).check_source(source_id)
    if result["gone"]:
        return JSONResponse({"detail": result["error"]}, 409)
    return JSONResponse(profile_source(result["data"]))


@router.post("/sources/{source_id}/accept")
def accept_source(request: Request, source_id: str) -> dict[str, Any]:
    """Accept the source as it is now (after a change)."""
    services(request).accept_source(source_id)
    return src.display(services(request).source(source_id))


@router.delete("/sources/{source_id}", status_code=204)
def delete_source(request: Request, source_id: str) -> Response:
    """Forget a source and its uploaded files; 409 while generators use it."""
    services(request).delete_source(source_id)
    return Response(status_code=204)


# ---------------------------------------------------------------------- generators


@router.post("/generators/validate")
def validate_generator(request: Request, body: GeneratorIn) -> dict[str, Any]:
    """The configurator's alerts and the complexity assessment, without creating."""
    from synthloom.serve.configurator import settings_with_defaults

    svc = services(request)
    svc.source(body.source_id)
    settings = settings_with_defaults(body.settings)
    return svc.check(body.source_id, body.parsed_config(), settings).to_dict()


@router.post("/generators", status_code=201)
def create_generator(request: Request, body: GeneratorIn) -> JSONResponse:
    """Create a generator and (unless ``start`` is false) queue training and generation;
    422 with the alerts when the config has problems."""
    svc = services(request)
    row, result = svc.create_generator(
        body.source_id, body.parsed_config(), body.settings, body.name, body.start
    )
    if not result.ok:
        return JSONResponse({"detail": result.alerts[0].message, **result.to_dict()}, 422)
    return JSONResponse(svc.status(row["id"]), 201)


@router.get("/generators")
def list_generators(request: Request) -> list[dict[str, Any]]:
    """Every generator with its latest job."""
    svc = services(request)
    return [svc.status(g["id"], full=False) for g in svc.store.generators()]


@router.get("/generators/{generator_id}")
def get_generator(request: Request, generator_id: str) -> dict[str, Any]:
    """A generator: config, settings (no credentials), jobs, live timeline."""
    return services(request).status(generator_id)


@router.get("/generators/{generator_id}/status")
async def generator_status(request: Request, generator_id: str) -> dict[str, Any]:
    """The latest job and its timeline (light: for polling)."""
    return services(request).status(generator_id, full=False)


@router.post("/generators/{generator_id}/start")
def start_generator(
    request: Request,
    generator_id: str,
    seeds: Annotated[UploadFile | None, File(description=SEEDS_HELP)] = None,
) -> JSONResponse:
    """Create a drafted generator (queue its job) or run a created one again; with a
    ``seeds`` file (multipart), that run and the later ones generate from those seed rows
    (as ``PUT .../seeds``; a bad file is a 400 and nothing is queued)."""
    svc = services(request)
    row = svc.generator(generator_id)
    warnings: list[str] = []
    if seeds is not None:
        svc.jobs.require_idle(generator_id)
        warnings = svc.set_seeds(generator_id, seeds.filename or "", seeds.file)["warnings"]
        row = svc.generator(generator_id)
    if row["state"] == "draft":
        result = svc.start_draft(generator_id)
        if not result.ok:
            return JSONResponse({"detail": result.alerts[0].message, **result.to_dict()}, 422)
    else:
        svc.jobs.enqueue(generator_id)
    body = svc.status(generator_id)
    if seeds is not None:
        body["seeds_warnings"] = warnings
    return JSONResponse(body)


@router.put("/generators/{generator_id}/seeds")
def put_seeds(
    request: Request,
    generator_id: str,
    file: Annotated[UploadFile, File(description=SEEDS_HELP)],
) -> dict[str, Any]:
    """Set the seed rows of the generator's next runs (replacing earlier ones): checked
    against its configuration and, once trained, its model; returns ``seeds`` (name,
    rows, columns) and the model's ``warnings``. A relational generator (child tables)
    takes no seeds (400)."""
    return services(request).set_seeds(generator_id, file.filename or "", file.file)


@router.delete("/generators/{generator_id}/seeds", status_code=204)
def delete_seeds(request: Request, generator_id: str) -> Response:
    """The generator's next runs generate without seeds (``num_records`` root rows)."""
    services(request).remove_seeds(generator_id)
    return Response(status_code=204)


@router.post("/generators/{generator_id}/cancel")
def cancel_generator(request: Request, generator_id: str) -> dict[str, Any]:
    """Cancel the generator's queued or running job (its earlier runs keep their data)."""
    svc = services(request)
    job = svc.store.latest_job(generator_id)
    svc.generator(generator_id)
    if job is None or not svc.jobs.cancel(job["id"]):
        raise ConfigError("nothing to cancel: the generator's latest job has ended")
    return svc.status(generator_id)


@router.post("/generators/{generator_id}/restart")
def restart_generator(request: Request, generator_id: str) -> dict[str, Any]:
    """Restart an interrupted, failed or cancelled job (a finished model is reused)."""
    svc = services(request)
    svc.generator(generator_id)
    job = svc.store.latest_job(generator_id)
    if job is None or not svc.jobs.restart(job["id"]):
        raise ConfigError("nothing to restart: the latest job is queued, running or done")
    return svc.status(generator_id)


class GeneratorChange(BaseModel):
    """What may change of a created generator."""

    name: str


@router.patch("/generators/{generator_id}")
def rename_generator(request: Request, generator_id: str, body: GeneratorChange) -> dict[str, Any]:
    """Rename a generator."""
    services(request).rename_generator(generator_id, body.name)
    return services(request).status(generator_id)


@router.post("/generators/{generator_id}/clone", status_code=201)
def clone_generator(request: Request, generator_id: str) -> dict[str, Any]:
    """A draft copy of a generator (same source, config, settings; no runs)."""
    row = services(request).clone_generator(generator_id)
    return services(request).status(row["id"])


@router.delete("/generators/{generator_id}", status_code=204)
def delete_generator(request: Request, generator_id: str) -> Response:
    """Delete a generator with its model, data and reports (400 while a job runs)."""
    services(request).delete_generator(generator_id)
    return Response(status_code=204)


@router.get("/generators/{generator_id}/data")
def download_data(
    request: Request, generator_id: str, format: str = "csv", job: str | None = None
) -> FileResponse:
    """A run's generated tables as a zip of CSV or Parquet files (application storage):
    ``job`` names the run, else the newest finished one."""
    path = services(request).data_zip(generator_id, format, job)
    return FileResponse(
        path, media_type="application/zip", filename=f"synthetic-{generator_id}-{format}.zip"
    )


@router.get("/generators/{generator_id}/report/{path:path}")
def report_file(
    request: Request, generator_id: str, path: str, job: str | None = None
) -> FileResponse:
    """A file of a run's report (``job``, else the newest): ``relational_report.html``
    (also ``report.html``), ``.pdf``, ``.json`` and the per-table reports."""
    aliases = {"report.html": HTML_FILE, "report.pdf": PDF_FILE, "report.json": REPORT_FILE}
    target = services(request).report_file(generator_id, aliases.get(path, path), job)
    response = FileResponse(target)
    response.headers["Content-Security-Policy"] = REPORT_CSP
    if target.suffix != ".html":
        response.headers["Content-Disposition"] = f'attachment; filename="{target.name}"'
    return response


@router.get("/jobs/{job_id}")
def get_job(request: Request, job_id: str) -> dict[str, Any]:
    """One job with its timeline."""
    svc = services(request)
    job = svc.store.job(job_id)
    if job is None:
        raise NotFound(f"job {job_id} does not exist")

    return {
        **(job_view(job) or {}),
        "generator_id": job["generator_id"],
        "timeline": svc.jobs.timeline(job),
    }
