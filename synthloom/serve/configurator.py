"""The configurator: its steps, what each step's form changes, and the alerts.

The alerts are the errors the relational and DP code raises (``parse_relational_config``,
``build_schema``), each shown on the step where it can be fixed, plus the server's own
checks (sensitive columns kept, destinations, report limits). A generator can be created
only when none is left; the complexity assessment runs on the last step.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synthloom.config import parse_rebalance
from synthloom.errors import SynthloomError
from synthloom.relational.complexity import assess
from synthloom.relational.config import parse_relational_config
from synthloom.relational.schema import build_schema, select_tables
from synthloom.relational.sources import SourceData
from synthloom.serve import sources as src
from synthloom.serve.security import mask_options, mask_url
from synthloom.serve.seeds import problems as seeds_problems

STEPS = (
    ("data", "Choose data"),
    ("keys", "Primary keys"),
    ("fkeys", "Foreign keys"),
    ("treatment", "Data treatment"),
    ("generator", "Generator settings"),
    ("generation", "Generation settings"),
    ("report", "Report settings"),
)
MAX_RECORDS = 100_000_000  # root rows one generation run may ask for
STEP_NAMES = tuple(name for name, _ in STEPS)
# Model sizes: the network of every table model (LSTM engine).
PRESETS: dict[str, dict[str, Any]] = {
    "small": {"rnn_units": 64, "embedding_dim": 16, "rnn_layers": 1, "epochs": 20},
    "medium": {"rnn_units": 128, "embedding_dim": 32, "rnn_layers": 2, "epochs": 50},
    "large": {"rnn_units": 256, "embedding_dim": 64, "rnn_layers": 2, "epochs": 100},
}
ADVANCED = (
    "epochs",
    "learning_rate",
    "batch_size",
    "validation_split",
    "early_stopping_min_delta",
    "max_training_time_seconds",
    "dp_epsilon",
    "dp_delta",
    "dp_noise_multiplier",
    "dp_l2_norm_clip",
)
# Each advanced parameter in words: its label and one line of help (defaults: the model's).
ADVANCED_HELP = {
    "epochs": ("Epochs", "Passes over the data at most; early stopping may end sooner."),
    "learning_rate": ("Learning rate", "The optimiser's step size."),
    "batch_size": ("Batch size", "Records per training step."),
    "validation_split": (
        "Validation share",
        "Share of records held out to stop training when it stops improving (or false).",
    ),
    "early_stopping_min_delta": (
        "Early-stopping tolerance",
        "The smallest drop of the loss that counts as an improvement.",
    ),
    "max_training_time_seconds": (
        "Training time cap (seconds)",
        "Each table's training stops after this long; empty: no cap.",
    ),
    "dp_epsilon": (
        "Privacy budget ε",
        "With differential privacy: smaller is more private; ε ≤ 10 is the usual range.",
    ),
    "dp_delta": (
        "Privacy δ",
        "With differential privacy: must be below 1/n; empty: min(1/(10n), 1e-6).",
    ),
    "dp_noise_multiplier": (
        "Noise multiplier",
        "With differential privacy: fixes the noise instead of ε; empty: derived from ε.",
    ),
    "dp_l2_norm_clip": (
        "Gradient clip norm",
        "With differential privacy: each record's gradient is clipped to this norm.",
    ),
}


def advanced_default(key: str) -> Any:
    """The default of an advanced parameter, as the model would use it."""
    from synthloom.relational.config import RelationalParams

    return RelationalParams.model_fields[key].default


# The learning-rate choice: adaptive (halves when the loss stalls) or fixed.
LR_SCHEDULES = {
    "plateau": "adaptive: halve when the loss stops improving",
    "constant": "fixed: the learning rate throughout",
}
REPORT_LIMITS = (
    "max_columns_univariate",
    "max_columns_bivariate",
    "max_columns_knn",
    "max_columns_phik",
)
# Keys a served config may not set: the source is chosen among registered ones.
REFUSED_KEYS = ("source",)
DEFAULT_SETTINGS: dict[str, Any] = {
    "num_records": None,
    "seed": None,
    "destination": {"kind": "app", "format": "csv"},
    "report": {"enabled": True, "per_table": True, "limits": {}},
    "sensitive": {},
    "preset": None,
    # Set by the server from an uploaded seeds file (name, rows, columns); never by a form.
    "seeds": None,
}
_STEP_WORDS = (
    ("generator", ("params", "dp", "engine", "epsilon", "delta")),
    ("generation", ("generate", "num_records", "destination")),
    ("report", ("report",)),
    ("treatment", ("no root table",)),  # fixed by marking dimension tables original
    ("fkeys", ("exactly one synthesized", "cycle", "root:")),
    ("data", ("include_tables", "exclude_tables", "no tables left", "names tables", "has no rows")),
    ("treatment", ("original", "keep", ".columns", "treatment", "sensitive", "constraints")),
    ("keys", ("primary key", "primary_key")),
    ("fkeys", ("foreign", "references", "parent", "→")),
)


@dataclass
class Alert:
    """One problem, the step that fixes it, and its message."""

    step: str
    message: str


@dataclass
class Check:
    """What the configurator knows about a config: alerts, the schema, the assessment."""

    alerts: list[Alert] = field(default_factory=list)
    schema: dict[str, Any] | None = None
    assessment: dict[str, Any] | None = None
    # What the source holds that is not learned as it is (rows with references to no
    # parent row): shown beside the alerts, never blocking.
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No alert left."""
        return not self.alerts

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {
            "ok": self.ok,
            "alerts": [{"step": a.step, "message": a.message} for a in self.alerts],
            "schema": self.schema,
            "assessment": self.assessment,
            "notes": self.notes,
        }


def step_of(message: str, default: str = "data") -> str:
    """The configurator step where the problem a message names is fixed."""
    lowered = message.lower()
    for step, words in _STEP_WORDS:
        if any(word in lowered for word in words):
            return step
    return default


def settings_with_defaults(settings: dict[str, Any] | None) -> dict[str, Any]:
    """Settings with every section present."""
    merged = copy.deepcopy(DEFAULT_SETTINGS)
    for key, value in (settings or {}).items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def shown_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """Settings as the API shows them: destination password and storage secrets masked."""
    shown = copy.deepcopy(settings)
    destination = shown.get("destination") or {}
    if destination.get("url"):
        destination["url"] = mask_url(destination["url"])
    if destination.get("storage_options"):
        destination["storage_options"] = mask_options(destination["storage_options"])
    return shown


def check(
    config: dict[str, Any],
    settings: dict[str, Any],
    data: SourceData,
    paths: src.Paths,
    assessment: bool = True,
) -> Check:
    """Every alert of a config + settings against a source's tables."""
    result = Check()
    refused = [k for k in REFUSED_KEYS if k in config]
    if refused:
        result.alerts.append(
            Alert(
                "data",
                f"config key {refused[0]!r} is set by the server "
                "(the generator's source); remove it",
            )
        )
        return result
    if config.get("schema_file") and (
        Path(str(config["schema_file"])).name != str(config["schema_file"])
    ):
        result.alerts.append(
            Alert(
                "data",
                "schema_file must name a file of the source folder "
                "(no folders); remove it or upload schema.yaml",
            )
        )
        return result
    parsed, alerts = _parse(config)
    if parsed is None:  # the settings can still be checked: every alert at once
        result.alerts += alerts + _settings_alerts({}, settings, paths)
        return result
    try:
        selected = select_tables(data.all_tables, parsed)
        frames = {name: data.frames[name] for name in selected}
        schema, frames = build_schema(frames, data.keys, parsed, data.all_tables)
    except SynthloomError as exc:
        for message in getattr(exc, "problems", None) or [str(exc)]:  # every one at once
            result.alerts.append(Alert(step_of(message), message))
        result.alerts += _settings_alerts(parsed.tables, settings, paths)
        return result
    result.schema = {
        "root": schema.root,
        "order": schema.order,
        "originals": schema.originals,
        "depth": schema.depth(),
        "root_reason": _root_reason(schema),
        "rows_read": {name: len(data.frames[name]) for name in selected},
        "rows_learned": {name: len(frame) for name, frame in frames.items()},
        "left_out": schema.left_out,
        "root_columns": [str(c) for c in schema.tables[schema.root].data_columns],
    }
    result.notes = schema.left_out_notes()
    result.alerts += [
        Alert("generation", p) for p in seeds_problems(result.schema, config, settings.get("seeds"))
    ]
    result.alerts += _width_alerts(frames, parsed.tables)
    result.alerts += _delta_alerts(frames, schema.order, parsed)
    result.alerts += _settings_alerts(parsed.tables, settings, paths)
    if assessment and result.ok:
        result.assessment = assess(schema, frames, parsed).to_dict()
    return result


def _root_reason(schema: Any) -> str:
    """Why the root is the root, in words (a star schema's fact table is one too)."""
    parents = {fk.parent for fk in schema.tables[schema.root].foreign_keys if not fk.self_reference}
    if parents:
        return f"its parents ({', '.join(sorted(parents))}) are all original tables"
    return "the one synthesized table without parents"


def _parse(config: dict[str, Any]) -> tuple[Any, list[Alert]]:
    """The parsed config, or one alert per problem pydantic found (each on its step)."""
    from pydantic import ValidationError

    from synthloom.relational.config import RelationalConfig

    try:
        if not isinstance(config, dict) or "models" in config:  # its one-line answers
            return parse_relational_config(config), []
        return RelationalConfig.model_validate(config), []
    except ValidationError as exc:
        alerts = []
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"])
            message = f"{where}: {str(error['msg']).removeprefix('Value error, ')}"
            alerts.append(Alert(step_of(message), message))
        return None, alerts
    except SynthloomError as exc:
        return None, [Alert(step_of(str(exc)), str(exc))]


def _delta_alerts(frames: dict[str, Any], order: list[str], parsed: Any) -> list[Alert]:
    """A given δ must lie below 1/n of the table it protects (the training checks the same
    against the DP-released n, which only differs by the count's noise)."""
    from synthloom.privacy.accounting import check_delta

    alerts = []
    for name in order:
        params = parsed.params_for(name)
        if not params.dp or params.dp_delta is None:
            continue
        try:
            check_delta(params.dp_delta, max(1, len(frames[name])))
        except SynthloomError as exc:
            alerts.append(Alert("generator", f"{name}: {exc}"))
    return alerts


def _width_alerts(frames: dict[str, Any], tables: dict[str, Any]) -> list[Alert]:
    """Tables too wide to learn here (each column is a step of every record's sequence)."""
    alerts = []
    for name, frame in frames.items():
        columns = tables[name].columns if name in tables else {}
        learned = [c for c in frame.columns if columns.get(str(c)) != "exclude"]
        if len(learned) > src.MAX_COLUMNS:
            alerts.append(
                Alert(
                    "treatment",
                    f"{name}: {len(learned):,} columns to learn, more than this server's "
                    f"limit of {src.MAX_COLUMNS:,}; exclude columns (or split the table)",
                )
            )
    return alerts


def _settings_alerts(
    tables: dict[str, Any], settings: dict[str, Any], paths: src.Paths
) -> list[Alert]:
    alerts = []
    for table, columns in (settings.get("sensitive") or {}).items():
        kept = [c for c in columns if table in tables and tables[table].columns.get(c) == "keep"]
        if kept:
            alerts.append(
                Alert(
                    "treatment",
                    f"{table}: {kept} are marked sensitive but kept "
                    "(real values would be copied); synthesize or exclude them",
                )
            )
    try:
        paths.boundary.destination(settings.get("destination") or {})
    except SynthloomError as exc:
        alerts.append(Alert("generation", f"destination: {exc}"))
    num = settings.get("num_records")
    if num is not None and (not isinstance(num, int) or num < 1):
        alerts.append(
            Alert(
                "generation",
                f"num_records={num} must be a positive number of "
                "root rows (or empty: as many as the real root table)",
            )
        )
    elif num is not None and num > MAX_RECORDS:
        alerts.append(
            Alert(
                "generation",
                f"num_records={num:,} is more than this server generates in one run "
                f"({MAX_RECORDS:,} root rows); ask for fewer and run the generator again",
            )
        )
    limits = (settings.get("report") or {}).get("limits") or {}
    bad = [
        k for k, v in limits.items() if k not in REPORT_LIMITS or not isinstance(v, int) or v < 1
    ]
    if bad:
        alerts.append(
            Alert(
                "report",
                f"report limits {bad} must be positive whole numbers among {list(REPORT_LIMITS)}",
            )
        )
    return alerts


# ----------------------------------------------------------------------- forms


def effective_keys(config: dict[str, Any], data: SourceData, table: str) -> dict[str, Any]:
    """The primary and foreign keys a table has now: the config's, else the source's."""
    conf = (config.get("tables") or {}).get(table) or {}
    found = data.keys.get(table, {})
    pk = conf.get("primary_key")
    fks = conf.get("foreign_keys")
    if fks is None:
        fks = [fk.model_dump(exclude_none=True) for fk in found.get("foreign_keys") or []]
    return {
        "primary_key": pk if pk is not None else list(found.get("primary_key") or []),
        "foreign_keys": fks,
    }


def _names(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def apply_form(
    step: str,
    form: dict[str, Any],
    config: dict[str, Any],
    settings: dict[str, Any],
    data: SourceData,
) -> list[str]:
    """Change ``config`` and ``settings`` in place from a step's form; returns problems the
    form itself had (unreadable numbers, lines)."""
    tables = config.setdefault("tables", {})
    problems: list[str] = []
    if step == "data":
        chosen = [t for t in data.all_tables if form.get(f"table:{t}")]
        config["include_tables"] = chosen
        for name in data.all_tables:
            frame = data.frames.get(name)
            if frame is None:
                continue
            columns = tables.setdefault(name, {}).setdefault("columns", {})
            for column in frame.columns:
                if form.get(f"column:{name}:{column}"):
                    if columns.get(column) == "exclude":
                        del columns[column]
                else:
                    columns[column] = "exclude"
    elif step == "keys":
        for name in config.get("include_tables") or data.all_tables:
            frame = data.frames.get(name)
            if f"pkpicked:{name}" in form and frame is not None:
                ticked = [str(c) for c in frame.columns if form.get(f"pkcol:{name}:{c}")]
                tables.setdefault(name, {})["primary_key"] = ticked
    elif step == "fkeys":
        for name in config.get("include_tables") or data.all_tables:
            if f"fkpicked:{name}" in form:
                tables.setdefault(name, {})["foreign_keys"] = _picked_fks(form, name, data)
    elif step == "treatment":
        sensitive: dict[str, list[str]] = {}
        for name in config.get("include_tables") or data.all_tables:
            conf = tables.setdefault(name, {})
            was_original = bool(conf.get("original"))
            conf["original"] = bool(form.get(f"original:{name}"))
            if form.get(f"orphans:{name}") in ("drop", "null"):
                conf["orphans"] = form[f"orphans:{name}"]
            columns = conf.setdefault("columns", {})
            frame = data.frames.get(name)
            shown = frame is not None and not was_original  # an original's columns: hidden
            for column in frame.columns if shown else []:
                treat = form.get(f"treat:{name}:{column}")
                if treat in ("keep", "exclude"):
                    columns[column] = treat
                elif treat == "synthesize":
                    columns.pop(column, None)
                if form.get(f"sensitive:{name}:{column}"):
                    sensitive.setdefault(name, []).append(str(column))
        settings["sensitive"] = sensitive
    elif step == "generator":
        params = config.setdefault("params", {})
        config["engine"] = form.get("engine") or "lstm"
        preset = form.get("preset") or None
        for key in PRESETS["medium"]:
            params.pop(key, None)
        if preset in PRESETS:
            params.update(PRESETS[preset])
        settings["preset"] = preset
        for key in ADVANCED:
            value = str(form.get(key, "")).strip()
            if value == "":
                if key != "epochs" or preset not in PRESETS:
                    params.pop(key, None)
                continue
            parsed = _number(value)
            if parsed is None and key == "validation_split" and value.lower() in ("true", "false"):
                parsed = value.lower() == "true"
            problem = _param_problem(key, value, parsed)
            if problem:  # refused where typed: the old value stays, the page shows the new
                problems.append(problem)
            else:
                params[key] = parsed
        schedule = form.get("learning_rate_schedule")
        if schedule in LR_SCHEDULES and schedule != "plateau":
            params["learning_rate_schedule"] = schedule
        else:
            params.pop("learning_rate_schedule", None)  # plateau: the default
        params["dp"] = bool(form.get("dp"))
    elif step == "generation":
        for key in ("num_records", "seed"):
            settings[key] = _whole(form, key, problems)
        _apply_generate_section(form, config, problems)
        destination = {
            "kind": form.get("destination_kind") or "app",
            "format": form.get("format") or "csv",
            "overwrite": bool(form.get("overwrite")),
        }
        if destination["kind"] != "app":
            destination["url"] = str(form.get("destination_url") or "").strip()
            options = str(form.get("storage_options") or "").strip()
            if options:
                try:
                    destination["storage_options"] = json.loads(options)
                except ValueError:
                    problems.append("storage options must be a JSON object")
        old = settings.get("destination") or {}
        if destination.get("url") and "***" in destination["url"] and old.get("url"):
            destination["url"] = old["url"]  # the masked URL came back unchanged
        settings["destination"] = destination
    elif step == "report":
        limits = {}
        for key in REPORT_LIMITS:
            value = str(form.get(key, "")).strip()
            if value:
                number = _number(value)
                limits[key] = number if isinstance(number, int) else value
        settings["report"] = {
            "enabled": bool(form.get("report_enabled")),
            "per_table": bool(form.get("per_table")),
            "limits": limits,
        }
    return problems


def _picked_fks(form: dict[str, Any], table: str, data: SourceData) -> list[dict[str, Any]]:
    """The foreign keys of a table's picker rows: ticked columns, a parent, and the
    parent's columns when named (else its primary key)."""
    frame = data.frames.get(table)
    columns = [] if frame is None else [str(c) for c in frame.columns]
    rows = sorted(
        {int(k.split(":")[2]) for k in form if k.startswith(f"fkparent:{table}:")}
        | {int(k.split(":")[2]) for k in form if k.startswith(f"fkcol:{table}:")}
    )
    fks = []
    for row in rows:
        parent = str(form.get(f"fkparent:{table}:{row}") or "")
        ticked = [c for c in columns if form.get(f"fkcol:{table}:{row}:{c}")]
        if not parent or not ticked:
            continue
        references: dict[str, Any] = {"table": parent}
        named = _names(str(form.get(f"fkref:{table}:{row}") or ""))
        if named:
            references["columns"] = named
        fks.append({"columns": ticked, "references": references})
    return fks


def _param_problem(key: str, typed: str, value: Any) -> str | None:
    """Why a typed parameter cannot be used (its field's own rule), or None."""
    from pydantic import ValidationError

    from synthloom.relational.config import RelationalParams

    if value is None:
        return f"params.{key}: {typed!r} is not a number"
    try:
        RelationalParams.model_validate({key: value})
    except ValidationError as exc:
        message = str(exc.errors()[0]["msg"]).removeprefix("Value error, ")
        return f"params.{key}: {typed!r}: {message}"
    return None


def _whole(form: dict[str, Any], key: str, problems: list[str]) -> int | None:
    """A form field as a whole number (empty: None; else a problem)."""
    value = str(form.get(key, "")).strip()
    number = _number(value) if value else None
    if value and not isinstance(number, int):
        problems.append(f"{key}: {value!r} is not a whole number")
    return number if isinstance(number, int) else None


def _apply_generate_section(
    form: dict[str, Any], config: dict[str, Any], problems: list[str]
) -> None:
    """Rebalance and batch size go in the config's ``generate`` section: the root model
    learns the rebalanced column at training, and the CLI takes the same YAML."""
    generate = config.setdefault("generate", {})
    try:
        generate["rebalance"] = parse_rebalance(str(form.get("rebalance") or ""))
    except SynthloomError as exc:
        problems.append(str(exc))
    generate["predict_batch_size"] = _whole(form, "batch_size", problems)
    for key in ("rebalance", "predict_batch_size"):
        if generate.get(key) is None:
            generate.pop(key, None)
    if not generate:
        del config["generate"]


def _number(text: str) -> int | float | None:
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return None
