"""Server-rendered pages: plain HTML forms (each with a CSRF token), a little JS polling."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from synthloom.config import rebalance_text
from synthloom.errors import SynthloomError
from synthloom.serve import configurator as conf
from synthloom.serve import sources as src
from synthloom.serve.security import (
    CSRF_COOKIE,
    CSRF_FIELD,
    TOKEN_COOKIE,
    authorized,
    csrf_ok,
    new_token,
    session_value,
)
from synthloom.serve.services import HERE, NotFound, Services

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(HERE / "templates"))


class CsrfError(PermissionError):
    """A form without the right CSRF token (HTTP 403)."""


def services(request: Request) -> Services:
    """The app's services."""
    return request.app.state.services


def csrf_token(request: Request) -> str:
    """The CSRF token of this browser (made, and set as a cookie, on its first page)."""
    token = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "csrf_new", None)
    if not token:
        token = new_token()
        request.state.csrf_new = token
    return token


async def checked_form(request: Request) -> dict[str, Any]:
    """The posted form, refused unless it carries this browser's CSRF token."""
    form = await request.form()
    if not csrf_ok(request.cookies.get(CSRF_COOKIE), form.get(CSRF_FIELD)):  # type: ignore[arg-type]
        raise CsrfError("the form's CSRF token is missing or wrong; reload the page")
    data: dict[str, Any] = {}
    for key, value in form.multi_items():
        data.setdefault(key, value)
    data["__files__"] = form.getlist("files")
    return data


def render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    """A page with the CSRF token and the common context."""
    context.update(
        request=request,
        csrf=csrf_token(request),
        csrf_field=CSRF_FIELD,
        token_needed=services(request).token is not None,
    )
    return templates.TemplateResponse(request, name, context, status_code=status)


def back(url: str) -> RedirectResponse:
    """Redirect after a POST."""
    return RedirectResponse(url, 303)


# --------------------------------------------------------------------------- login


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> HTMLResponse:
    return render(request, "login.html", error=None)


@router.post("/login")
async def login(request: Request) -> Response:
    form = await request.form()
    token = services(request).token
    given = str(form.get("token") or "")
    if token is None:
        return back("/")
    if not authorized(token, f"Bearer {given}", None):
        return render(request, "login.html", 401, error="wrong token")
    response = back("/")
    response.set_cookie(TOKEN_COOKIE, session_value(token), httponly=True, samesite="strict")
    return response


# ------------------------------------------------------------------------- index


def _index(request: Request, status: int = 200, **extra: Any) -> HTMLResponse:
    svc = services(request)
    generators = [svc.status(g["id"], full=False) for g in svc.store.generators()]
    return render(
        request,
        "index.html",
        status,
        sources=[src.display(s) for s in svc.store.sources()],
        generators=generators,
        error=extra.pop("error", None),
        alerts=extra.pop("alerts", []),
        **extra,
    )


@router.get("/", response_class=HTMLResponse)
def index(request: Request) -> HTMLResponse:
    return _index(request)


@router.post("/sources/upload")
async def upload(request: Request) -> Response:
    form = await checked_form(request)
    files = [f for f in form["__files__"] if getattr(f, "filename", None)]
    try:
        row = await services(request).upload(files, form.get("name") or None)
    except SynthloomError as exc:
        return _index(request, 400, error=str(exc))
    return back(f"/sources/{row['id']}")


@router.post("/sources/register")
async def register(request: Request) -> Response:
    form = await checked_form(request)
    try:
        options = json.loads(form.get("storage_options") or "{}")
        if not isinstance(options, dict):
            raise ValueError
    except ValueError:
        return _index(request, 400, error="storage options must be a JSON object")
    try:
        row = services(request).register(
            str(form.get("kind")), str(form.get("location", "")), form.get("name") or None, options
        )
    except SynthloomError as exc:
        return _index(request, 400, error=str(exc))
    return back(f"/sources/{row['id']}")


@router.get("/sources/{source_id}", response_class=HTMLResponse)
def source_page(request: Request, source_id: str) -> HTMLResponse:
    svc = services(request)
    row = svc.source(source_id)
    result = svc.check_source(source_id)
    from synthloom.relational.profile import profile_source

    tables = src.preview(result["data"]) if not result["gone"] else {}
    quality = profile_source(result["data"]) if not result["gone"] else {}
    return render(
        request,
        "source.html",
        source=src.display(row),
        result=result,
        tables=tables,
        quality=quality,
    )


@router.post("/sources/{source_id}/accept")
async def accept(request: Request, source_id: str) -> Response:
    await checked_form(request)
    services(request).accept_source(source_id)
    return back(f"/sources/{source_id}")


@router.post("/sources/{source_id}/new-generator")
async def new_generator(request: Request, source_id: str) -> Response:
    form = await checked_form(request)
    svc = services(request)
    svc.source(source_id)
    row = svc.store.add_generator(
        name=str(form.get("name") or "generator")[:120],
        source_id=source_id,
        config={},
        settings=conf.settings_with_defaults(None),
        state="draft",
    )
    return back(f"/generators/{row['id']}/configure/data")


@router.post("/generators/yaml")
async def from_yaml(request: Request) -> Response:
    form = await checked_form(request)
    from synthloom.serve.api import GeneratorIn

    svc = services(request)
    try:
        body = GeneratorIn(
            source_id=str(form.get("source_id", "")),
            name=form.get("name"),
            config_yaml=str(form.get("config_yaml") or ""),
        )
        row, result = svc.create_generator(body.source_id, body.parsed_config(), None, body.name)
    except (SynthloomError, NotFound) as exc:
        return _index(request, 400, error=str(exc))
    if not result.ok:
        return _index(request, 422, alerts=result.alerts)
    return back(f"/generators/{row['id']}")


# -------------------------------------------------------------------- configurator


@router.get("/generators/{generator_id}/configure/{step}", response_class=HTMLResponse)
def configure_page(
    request: Request,
    generator_id: str,
    step: str,
    problems: list[str] | None = None,
    typed: dict[str, Any] | None = None,
) -> HTMLResponse:
    svc = services(request)
    row = svc.generator(generator_id)
    if step not in conf.STEP_NAMES:
        raise NotFound(f"configurator step {step} does not exist")
    try:
        data = svc.source_data(row["source_id"])
    except SynthloomError as exc:
        return render(request, "message.html", 409, title="Source unavailable", message=str(exc))
    config, settings = row["config"], conf.settings_with_defaults(row["settings"])
    result = conf.check(config, settings, data, svc.paths, assessment=step == "report")
    include = config.get("include_tables")
    tables = include if include is not None else list(data.frames)
    keys = {t: conf.effective_keys(config, data, t) for t in tables if t in data.frames}
    index = conf.STEP_NAMES.index(step)
    return render(
        request,
        "configure.html",
        generator=row,
        step=step,
        steps=conf.STEPS,
        index=index,
        data=data,
        config=config,
        settings=settings,
        tables=tables,
        keys=keys,
        check=result,
        problems=problems or [],
        presets=conf.PRESETS,
        advanced=conf.ADVANCED,
        advanced_help=conf.ADVANCED_HELP,
        advanced_default=conf.advanced_default,
        typed=typed or {},
        errors_for=lambda field: [
            p.split(": ", 1)[1] for p in problems or [] if p.startswith(field + ":")
        ],
        lr_schedules=conf.LR_SCHEDULES,
        rebalance_text=rebalance_text,
        limits=conf.REPORT_LIMITS,
        table_conf=lambda t: (config.get("tables") or {}).get(t) or {},
        shown=conf.shown_settings(settings),
    )


@router.post("/generators/{generator_id}/configure/{step}")
async def configure(request: Request, generator_id: str, step: str) -> Response:
    form = await checked_form(request)
    svc = services(request)
    row = svc.generator(generator_id)
    if step not in conf.STEP_NAMES or row["state"] != "draft":
        raise NotFound(f"generator {generator_id} has no draft step {step}")
    data = svc.source_data(row["source_id"])
    config, settings = row["config"], conf.settings_with_defaults(row["settings"])
    problems = conf.apply_form(step, form, config, settings, data)
    svc.store.update_generator(generator_id, config=config, settings=settings)
    if step == "generation":
        problems += await _seeds_form(svc, generator_id, form)
    if problems:
        return configure_page(request, generator_id, step, problems, typed=form)
    index = conf.STEP_NAMES.index(step)
    go = form.get("go")
    if go == "create":
        result = svc.start_draft(generator_id)
        if result.ok:
            return back(f"/generators/{generator_id}")
        return back(f"/generators/{generator_id}/configure/{step}")
    target = index - 1 if go == "back" else index + 1 if go == "next" else index
    target = max(0, min(target, len(conf.STEPS) - 1))
    return back(f"/generators/{generator_id}/configure/{conf.STEP_NAMES[target]}")


async def _seeds_form(svc: Services, generator_id: str, form: dict[str, Any]) -> list[str]:
    """The generation step's seeds: a chosen file replaces them, ``remove_seeds`` drops
    them; a bad file is one problem line (the earlier seeds stay)."""
    upload = form.get("seeds")
    try:
        if getattr(upload, "filename", None):
            await run_in_threadpool(svc.set_seeds, generator_id, upload.filename, upload.file)
        elif form.get("remove_seeds"):
            svc.remove_seeds(generator_id)
    except SynthloomError as exc:
        return [str(exc)]
    return []


# ------------------------------------------------------------------------ generator


def _seed_tables(svc: Services, row: dict[str, Any]) -> list[str] | None:
    """The tables a created generator synthesizes (seeds need exactly one), or None when
    its configuration cannot be checked now (the source is gone)."""
    settings = conf.settings_with_defaults({**row["settings"], "seeds": None})
    result = svc.check(row["source_id"], row["config"], settings, assessment=False)
    return list(result.schema["order"]) if result.schema else None


def _generator_page(
    request: Request, generator_id: str, status_code: int = 200, **seeds: Any
) -> Response:
    svc = services(request)
    status = svc.status(generator_id)
    if status["state"] == "draft":
        return back(f"/generators/{generator_id}/configure/data")
    return render(
        request,
        "generator.html",
        status_code,
        g=status,
        source=src.display(svc.source(status["source_id"])),
        seed_tables=_seed_tables(svc, svc.generator(generator_id)),
        seeds_error=seeds.get("error"),
        seeds_notes=seeds.get("notes") or [],
    )


@router.get("/generators/{generator_id}", response_class=HTMLResponse)
def generator_page(request: Request, generator_id: str) -> Response:
    return _generator_page(request, generator_id)


@router.post("/generators/{generator_id}/{action}")
async def generator_action(request: Request, generator_id: str, action: str) -> Response:
    form = await checked_form(request)
    svc = services(request)
    svc.generator(generator_id)
    job = svc.store.latest_job(generator_id)
    if action == "rename":
        svc.rename_generator(generator_id, str(form.get("name") or ""))
    elif action == "clone":
        copy = svc.clone_generator(generator_id)
        return back(f"/generators/{copy['id']}/configure/data")
    elif action == "delete":
        svc.delete_generator(generator_id)
        return back("/")
    elif action == "cancel" and job is not None:
        svc.jobs.cancel(job["id"])
    elif action == "restart" and job is not None:
        svc.jobs.restart(job["id"])
    elif action == "rerun":
        with contextlib.suppress(SynthloomError):  # already queued or running: shown
            svc.jobs.enqueue(generator_id)
    elif action == "seeds":  # upload seeds and generate from them
        upload = form.get("seeds")
        try:
            if not getattr(upload, "filename", None):
                raise SynthloomError(
                    "choose a seeds file (CSV, TSV, Parquet, JSON or JSONL) to generate from"
                )
            svc.jobs.require_idle(generator_id)
            checked = await run_in_threadpool(
                svc.set_seeds, generator_id, upload.filename, upload.file
            )
            svc.jobs.enqueue(generator_id)
        except SynthloomError as exc:
            return _generator_page(request, generator_id, 400, error=str(exc))
        if checked["warnings"]:  # shown once, beside the queued run
            return _generator_page(request, generator_id, notes=checked["warnings"])
    elif action == "unseed":
        svc.remove_seeds(generator_id)
    else:
        raise NotFound(f"no action {action}")
    return back(f"/generators/{generator_id}")
