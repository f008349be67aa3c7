"""The configuration schema: Gretel's LSTM YAML, parsed and validated with pydantic.

Every option of ``docs/CONFIG.md`` lives here with its default. Unknown keys are an error that
names the nearest valid key. The Python API builds the same models from keywords
(:meth:`SyntheticsConfig.from_options`).
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from synthloom.constraints import Constraint
from synthloom.errors import ConfigError

# Only these separators are tried when auto-detecting a field delimiter (docs/CONFIG.md).
M = TypeVar("M", bound=BaseModel)

DELIMITER_CANDIDATES = (",", ":", "|", ";", "\t", "+", "-", "^", "@", "#", "*")


class _Section(BaseModel):
    """Base for config sections: strict keys, with a helpful message for typos."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    @model_validator(mode="before")
    @classmethod
    def _reject_unknown_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            known = set(cls.model_fields)
            for key in data:
                if key not in known:
                    raise ValueError(_unknown_key_message(str(key), known))
        return data


def _unknown_key_message(key: str, known: set[str]) -> str:
    close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.5)
    hint = f"; did you mean '{close[0]}'?" if close else f"; valid keys: {', '.join(sorted(known))}"
    return f"unknown key '{key}'{hint}"


class Params(_Section):
    """Training and sampling parameters (``params`` in the YAML)."""

    epochs: int = Field(100, ge=1)
    batch_size: int = Field(64, ge=1)
    vocab_size: int = Field(20000, ge=0)
    reset_states: bool = False
    learning_rate: float = Field(0.001, gt=0)
    # plateau: halve the rate after an epoch whose monitored loss did not improve (down to
    # 1/16 of learning_rate); constant: keep learning_rate throughout.
    # budget: fall linearly to learning_rate / 16 over the time cap or the epochs,
    # whichever runs out first.
    learning_rate_schedule: Literal["plateau", "constant", "budget"] = "plateau"
    rnn_units: int = Field(256, ge=1)
    dropout_rate: float = Field(0.2, ge=0, lt=1)
    field_cluster_size: int = Field(20, ge=1)
    early_stopping: bool = True
    early_stopping_patience: int = Field(5, ge=1)
    early_stopping_min_delta: float = Field(0.001, ge=0)
    gen_temp: float = Field(1.0, gt=0)
    predict_batch_size: int = Field(64, ge=1)
    conditioning_particles: int = Field(8, ge=1)
    validation_split: bool | float = False
    dp: bool = False
    dp_noise_multiplier: float | None = Field(None, gt=0)
    dp_l2_norm_clip: float = Field(1.0, gt=0)
    dp_microbatches: int = Field(1, ge=1)
    dp_epsilon: float = Field(5.0, gt=0)
    dp_delta: float | None = Field(None, gt=0, lt=1)
    dp_accountant: Literal["rdp", "prv"] = "rdp"
    field_delimiter: str | None = None
    seq_length: int | None = Field(None, ge=2)
    embedding_dim: int = Field(256, ge=1)
    rnn_layers: int = Field(2, ge=1)
    max_training_time_seconds: float | None = Field(None, gt=0)
    device: Literal["auto", "cpu", "cuda"] = "auto"
    threads: Literal["auto"] | int = "auto"
    seed: int | None = None
    # Value protection (outside DP): categories held by fewer than k records are replaced
    # and numbers and dates clipped to bounds k records reach, k drawn per column in
    # [threshold, 2·threshold] (synthloom.privacy.protection).
    value_protection: bool = True
    value_protection_threshold: int = Field(5, ge=1, le=10_000)
    rare_category_replacement: Literal["rare", "sample"] = "rare"

    @field_validator("threads", mode="before")
    @classmethod
    def _check_threads(cls, value: Any) -> Any:
        if value == "auto" or (type(value) is int and value >= 1):
            return value
        raise ValueError(f"threads={value!r} must be 'auto' or a whole number of threads ≥ 1")

    @model_validator(mode="after")
    def _check_split_and_delimiter(self) -> Params:
        split = self.validation_split
        if not isinstance(split, bool) and not 0 < split < 1:
            raise ValueError(
                f"validation_split={split} must be true/false or a share between 0 and 1"
            )
        if self.field_delimiter is not None and self.field_delimiter not in DELIMITER_CANDIDATES:
            raise ValueError(
                f"field_delimiter={self.field_delimiter!r} is not one of "
                f"{' '.join(repr(c) for c in DELIMITER_CANDIDATES)}"
            )
        return self

    @property
    def validation_share(self) -> float:
        """Share of records held out for validation (``true`` means 20%)."""
        split = self.validation_split
        if isinstance(split, bool):
            return 0.2 if split else 0.0
        return float(split)


DEFAULT_NUM_RECORDS = 5000


def resolve_num_records(num_records: int | None, n_training_records: int) -> int:
    """Records to generate: ``num_records``, or min(5000, training records) when null."""
    if num_records is None:
        return min(DEFAULT_NUM_RECORDS, n_training_records)
    if num_records <= 0:
        raise ConfigError(f"num_records={num_records} must be a positive number of records")
    return num_records


def rebalance_problem(rebalance: dict[str, dict[Any, float]]) -> str | None:
    """What is wrong with a ``{column: {value: share}}`` rebalance, or None."""
    if len(rebalance) != 1:
        return "rebalance takes one column at a time"
    ((_, shares),) = rebalance.items()
    if any(s < 0 for s in shares.values()) or sum(shares.values()) > 1 + 1e-9:
        return f"rebalance shares {shares} must be ≥ 0 and sum to at most 1"
    return None


def parse_rebalance(text: str) -> dict[str, dict[str, float]] | None:
    """``column: value=share, value=share`` (the CLI's and the web form's spelling) as a
    rebalance mapping; empty text is None."""
    if not text.strip():
        return None
    how = "write 'column: value=share, value=share', e.g. 'country: USA=0.5'"
    column, colon, rest = text.partition(":")
    shares: dict[str, float] = {}
    for item in rest.split(","):
        value, equals, share = item.partition("=")
        try:
            shares[value.strip()] = float(share)
        except ValueError:
            raise ConfigError(f"rebalance {text.strip()!r}: {how}") from None
        if not equals or not value.strip():
            raise ConfigError(f"rebalance {text.strip()!r}: {how}")
    if not colon or not column.strip():
        raise ConfigError(f"rebalance {text.strip()!r}: {how}")
    rebalance = {column.strip(): shares}
    problem = rebalance_problem(rebalance)
    if problem:
        raise ConfigError(problem)
    return rebalance


def rebalance_text(rebalance: dict[str, dict[Any, float]] | None) -> str:
    """Inverse of :func:`parse_rebalance`."""
    if not rebalance:
        return ""
    ((column, shares),) = rebalance.items()
    return f"{column}: " + ", ".join(f"{value}={share:g}" for value, share in shares.items())


def _valid_rebalance(
    rebalance: dict[str, dict[str, float]] | None,
) -> dict[str, dict[str, float]] | None:
    problem = rebalance_problem(rebalance) if rebalance is not None else None
    if problem:
        raise ValueError(problem)
    return rebalance


class Fairness(_Section):
    """Generate rows in which ``target`` is independent of the ``sensitive`` columns
    (statistical parity): ``generate.fairness`` in the YAML."""

    target: str
    sensitive: list[str]

    @field_validator("sensitive", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _check_columns(self) -> Fairness:
        if not self.sensitive:
            raise ValueError("fairness.sensitive names no column; give one or more columns")
        if self.target in self.sensitive:
            raise ValueError(
                f"fairness target {self.target!r} is also a sensitive column; the target "
                "must be another column"
            )
        return self


def parse_fairness(text: str | None) -> Fairness | None:
    """``target: sensitive, sensitive`` (the CLI's spelling) as a fairness request."""
    if not text or not text.strip():
        return None
    target, colon, rest = text.partition(":")
    sensitive = [c.strip() for c in rest.split(",") if c.strip()]
    if not colon or not target.strip() or not sensitive:
        raise ConfigError(
            f"fairness {text.strip()!r}: write 'target: sensitive, ...', e.g. 'income: sex'"
        )
    return fairness_from({"target": target.strip(), "sensitive": sensitive})


def fairness_from(value: Fairness | dict[str, Any] | None) -> Fairness | None:
    """A fairness request as given to ``generate`` (a mapping or a :class:`Fairness`)."""
    if value is None or isinstance(value, Fairness):
        return value
    return validate_config(Fairness, value)


class Generate(_Section):
    """Generation options (``generate`` in the YAML)."""

    num_records: int | None = DEFAULT_NUM_RECORDS
    max_invalid: int | None = Field(None, ge=0)
    data_source: str | None = None
    start_string: str | None = None
    rebalance: dict[str, dict[str, float]] | None = None
    fairness: Fairness | None = None

    _check_rebalance = field_validator("rebalance")(_valid_rebalance)

    @model_validator(mode="after")
    def _check_num_records(self) -> Generate:
        if self.num_records is not None and self.num_records <= 0:
            raise ValueError(
                f"num_records={self.num_records} must be a positive number of records "
                "(or null for min(5000, training records))"
            )
        return self


class Validators(_Section):
    """Record validators learned from the training data (``validators`` in the YAML)."""

    in_set_count: int = Field(10, ge=0)
    pattern_count: int = Field(10, ge=0)
    use_numeric_iqr: bool = True
    open_close_chars: Literal["default"] | list[str] | None = None
    allow_empty_values: bool = True

    @model_validator(mode="after")
    def _check_pairs(self) -> Validators:
        if isinstance(self.open_close_chars, list):
            bad = [p for p in self.open_close_chars if len(p) != 2]
            if bad:
                raise ValueError(
                    f"open_close_chars entries must be 2-character strings like '()', got {bad}"
                )
        return self


class Fallback(_Section):
    """When and how to switch to the statistical fallback model."""

    allow: bool = True
    max_fallback_training_time_seconds: float = Field(300, gt=0)


class SeedAttrs(_Section):
    """Attributes of a seed task: the fields generation may be conditioned on."""

    fields: list[str] = Field(min_length=1)


class Task(_Section):
    """A training task; ``seed`` enables smart seeding."""

    type: Literal["seed"]
    attrs: SeedAttrs


class DataChecks(_Section):
    """Checks on the training data before training."""

    strategy: Literal["log", "skip", "interrupt"] = "log"


COLUMN_KINDS = ("auto", "categorical", "string", "identifier", "text")
TREATMENTS = ("generate", "keep", "exclude", "hash")


class ColumnOptions(_Section):
    """How one table column is learned (``columns: {name: {...}}`` in the YAML).

    ``kind``: ``auto`` (decided at fit time), ``categorical`` (each distinct value one
    token), ``string`` / ``identifier`` / ``text`` (spelled character by character; new
    values, never training values). ``treatment``: ``generate`` (default), ``keep`` (real
    values as categories), ``exclude`` (not learned, not in the output), ``hash`` (real
    values replaced by keyed hashes before training). ``max_length``: longest spelled value.
    ``loss_weight``: how much the column's tokens count in the row model's loss (a text
    column's own share of training). ``gen_temp``: the column's sampling temperature.
    ``value_protection``: ``false`` lets the column's rare categories and extreme values
    through (``params.value_protection`` protects every column by default).
    ``sensitive``: ``true`` marks a column an attacker should not learn; the report then
    runs its attribute-inference attack on it (guessing it from the other columns with a
    model trained on the synthetic data). It changes nothing in training or generation.
    A bare word is a kind or a treatment: ``columns: {email: string, ssn: exclude}``.
    """

    kind: Literal["auto", "categorical", "string", "identifier", "text"] = "auto"
    treatment: Literal["generate", "keep", "exclude", "hash"] = "generate"
    max_length: int | None = Field(None, ge=1, le=2000)
    loss_weight: float = Field(1.0, gt=0, le=100)
    gen_temp: float | None = Field(None, gt=0, le=10)
    value_protection: bool = True
    sensitive: bool = False

    @property
    def model_settings(self) -> list[str]:
        """The keys set here that change how the column is learned or sampled."""
        out = ["loss_weight"] if self.loss_weight != 1 else []
        return out + (["gen_temp"] if self.gen_temp is not None else [])

    @model_validator(mode="before")
    @classmethod
    def _from_word(cls, data: Any) -> Any:
        if isinstance(data, str):
            if data in COLUMN_KINDS:
                return {"kind": data}
            if data in TREATMENTS:
                return {"treatment": data}
            raise ValueError(
                f"{data!r} is not a column kind ({', '.join(COLUMN_KINDS)}) or treatment "
                f"({', '.join(TREATMENTS)})"
            )
        return data

    @model_validator(mode="after")
    def _kind_fits_treatment(self) -> ColumnOptions:
        if self.treatment in ("keep", "hash") and self.kind not in ("auto", "categorical"):
            raise ValueError(
                f"treatment {self.treatment!r} keeps (hashed) real values as categories; "
                f"drop kind {self.kind!r} or use treatment 'generate'"
            )
        if self.treatment == "exclude" and self.model_settings:
            raise ValueError(
                f"an excluded column is not learned: drop {' and '.join(self.model_settings)} "
                "or use treatment 'generate'"
            )
        return self


# Longest sequence learned in one piece (rows per entity); see TimeSeries.
MAX_SEQUENCE_ROWS = 256


class TimeSeries(_Section):
    """A table learned as sequences: one per ``entity_column`` value (one long series
    when it is absent), rows in ``order_by`` order (else the file's order); numeric and
    datetime ``order_by`` columns come out as a start plus non-negative gaps, so every
    generated sequence is ordered. Series longer than ``max_sequence_rows`` are learned
    in windows of that many rows."""

    entity_column: str | None = None
    order_by: list[str] = Field(default_factory=list)
    max_sequence_rows: int = Field(MAX_SEQUENCE_ROWS, ge=1, le=100_000)


class SyntheticsConfig(_Section):
    """One ``synthetics`` model: data source plus every section."""

    data_source: str | None = None
    params: Params = Field(default_factory=Params)
    generate: Generate = Field(default_factory=Generate)
    validators: Validators = Field(default_factory=Validators)
    fallback: Fallback = Field(default_factory=Fallback)
    task: Task | None = None
    data_checks: DataChecks = Field(default_factory=DataChecks)
    columns: dict[str, ColumnOptions] = Field(default_factory=dict)
    time_series: TimeSeries | None = None
    # Rules every generated row keeps (synthloom.constraints): formula, inequality,
    # clock_time, range, fixed_combinations.
    constraints: list[Constraint] = Field(default_factory=list)

    @model_validator(mode="after")
    def _row_model_settings(self) -> SyntheticsConfig:
        if self.time_series is None:
            return self
        for name, options in self.columns.items():
            if options.model_settings:
                raise ValueError(
                    f"columns.{name}: {' and '.join(options.model_settings)} apply to tables "
                    "learned row by row, not to time_series yet; remove them"
                )
        return self

    @classmethod
    def from_options(cls, **options: Any) -> SyntheticsConfig:
        """Build a config from flat keywords, as the Python API takes them.

        Keys of ``params`` and ``generate`` may be given directly (``epochs=5``,
        ``num_records=10``); whole sections by their name (``validators={...}``).
        """
        sections: dict[str, Any] = {"params": {}, "generate": {}}
        section_names = set(cls.model_fields)
        for key, value in options.items():
            if key in section_names:
                sections[key] = value
            elif key in Params.model_fields:
                sections["params"][key] = value
            elif key in Generate.model_fields:
                sections["generate"][key] = value
            else:
                known = section_names | set(Params.model_fields) | set(Generate.model_fields)
                raise ConfigError(_unknown_key_message(key, known))
        return validate_config(cls, sections)


class ModelEntry(_Section):
    """One item of the ``models`` list: an LSTM (``synthetics``) or the statistical
    model (``amplify``), with the same sections."""

    synthetics: SyntheticsConfig | None = None
    amplify: SyntheticsConfig | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> ModelEntry:
        if (self.synthetics is None) == (self.amplify is None):
            raise ValueError("each model entry needs exactly one of 'synthetics' or 'amplify'")
        return self

    @property
    def engine(self) -> str:
        """``lstm`` for synthetics, ``amplify`` for the statistical model."""
        return "lstm" if self.synthetics is not None else "amplify"

    @property
    def settings(self) -> SyntheticsConfig:
        """The entry's sections, whichever model it names."""
        settings = self.synthetics or self.amplify
        assert settings is not None
        return settings


class ConfigFile(_Section):
    """What every config file starts with: its schema version and an optional name."""

    schema_version: str = "1.0"
    name: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _version_as_text(cls, data: Any) -> Any:
        # YAML reads `schema_version: 1.0` as a number
        if isinstance(data, dict) and isinstance(data.get("schema_version"), int | float):
            data = {**data, "schema_version": str(data["schema_version"])}
        return data


class SynthloomConfig(ConfigFile):
    """A whole configuration file."""

    models: list[ModelEntry] = Field(min_length=1)

    @model_validator(mode="after")
    def _one_model(self) -> SynthloomConfig:
        if self.schema_version != "1.0":
            raise ValueError(f"schema_version '{self.schema_version}' is not supported; use '1.0'")
        if len(self.models) > 1:
            raise ValueError("several models in one config are not supported yet; give one")
        return self

    @property
    def synthetics(self) -> SyntheticsConfig:
        """The sections of the (single) model of this config."""
        return self.models[0].settings

    @property
    def engine(self) -> str:
        """Which model the config asks for: ``lstm`` or ``amplify``."""
        return self.models[0].engine


def validate_config(model: type[M], data: Any) -> M:
    """Validate ``data`` into ``model``, turning pydantic's errors into one ConfigError."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe_errors(exc)) from None


def _describe_errors(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    return "invalid config: " + "; ".join(parts)


def read_yaml_file(path: str | Path, what: str = "config file") -> Any:
    """The data of a YAML (or JSON) file; safe loading, so YAML tags never run code."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"{what} {path} is a folder; give the path of a YAML file")
    if not path.is_file():
        raise ConfigError(f"{what} {path} does not exist; give the path of a YAML file")
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{what} {path} is not valid YAML: {exc}") from None


def load_config(path: str | Path) -> SynthloomConfig:
    """Read and validate a YAML config file."""
    path = Path(path)
    data = read_yaml_file(path)
    if not isinstance(data, dict):
        raise ConfigError(
            f"config file {path} must hold a mapping with 'models'; see docs/CONFIG.md"
        )
    return validate_config(SynthloomConfig, data)


def dump_config(config: SyntheticsConfig) -> dict[str, Any]:
    """The config as plain JSON-ready data (what ``model_params.json`` stores)."""
    return config.model_dump(mode="json")


def unsupported_for_text(config: SyntheticsConfig) -> list[str]:
    """Options that a text (line-per-record) model cannot honour yet, as readable lines."""
    problems = []
    params = config.params
    if params.field_delimiter is not None:
        problems.append(
            "params.field_delimiter: delimited text is a table; train a TableSynthesizer on it"
        )

    if config.columns:
        problems.append("columns: per-column kinds and treatments apply to tables")
    if config.task is not None:
        problems.append("task: smart seeding applies to tables (CSV/JSON/JSONL/Parquet)")
    if config.generate.data_source is not None or config.generate.rebalance is not None:
        problems.append("generate.data_source/rebalance: seeding applies to tables only")
    if config.validators != Validators():
        problems.append(
            "validators: learned field validators apply to tables; for text pass a "
            "line_validator in the Python API instead"
        )
    return problems


MAX_SEED = 2**63 - 1


def check_generation_args(
    *,
    seed: int | None = None,
    max_invalid: int | None = None,
    parallelism: int | None = None,
) -> None:
    """Refuse generation arguments out of range, naming the argument and its range."""
    if seed is not None and not 0 <= seed <= MAX_SEED:
        raise ConfigError(f"seed={seed} must be between 0 and 2**63-1; give a non-negative seed")
    if max_invalid is not None and max_invalid < 0:
        raise ConfigError(
            f"max_invalid={max_invalid} must be 0 or more (0: stop at the first invalid record)"
        )
    if parallelism is not None and parallelism < 0:
        raise ConfigError(
            f"parallelism={parallelism} must be 0 (one per free core) or a number of workers"
        )


# Above this ε the DP guarantee (odds bounded by e^ε) no longer protects anyone.
WEAK_EPSILON = 10.0


def weak_privacy_warning(params: Params) -> str | None:
    """A warning when DP is on with an ε too large to mean anything, else None."""
    if not params.dp or params.dp_epsilon <= WEAK_EPSILON:
        return None
    return (
        f"dp_epsilon={params.dp_epsilon:g} gives no meaningful privacy: ε bounds how much "
        f"one person can change the odds of any output, by up to e^ε; use ε ≤ {WEAK_EPSILON:g} "
        "(1 to 5 is usual)"
    )
