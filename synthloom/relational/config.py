"""The relational YAML config: which tables, their keys and treatment, and the model params.

```yaml
engine: amplify            # lstm (default) or amplify, for every table unless a table says
params: {epochs: 5}        # synthetics params for every table model
generate: {num_records: 1000, rebalance: {birthCountry: {CAN: 0.2}}}  # root table only
root: People               # optional: checked against the one root the schema has
include_tables: [People, Teams, TeamsFranchises, Batting]
tables:
  People: {primary_key: [playerID]}
  Teams:
    primary_key: [yearID, teamID]
    foreign_keys:
      - {columns: [franchID], references: {table: TeamsFranchises, columns: [franchID]}}
  TeamsFranchises: {original: true}
  Batting:
    foreign_keys:
      - {columns: [playerID], references: {table: People}}
      - {columns: [yearID, teamID], references: {table: Teams}}
    columns: {lgID: keep, GIDP: exclude}
    order_by: [yearID, stint]  # rows of one player, in this order (a sequence per player)
```

Keys not given here come from the database's constraints (or the schema file of a folder
source); a ``primary_key`` or ``foreign_keys`` given here replaces the source's (``[]``
unsets them). Unknown keys are an error that names the nearest valid key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from synthloom.config import (
    MAX_SEQUENCE_ROWS,
    ColumnOptions,
    ConfigFile,
    Fallback,
    Generate,
    Params,
    Validators,
    _Section,
    _valid_rebalance,
    read_yaml_file,
    validate_config,
)
from synthloom.constraints import Constraint
from synthloom.errors import ConfigError

Treatment = Literal["synthesize", "keep", "exclude"]
# Parent columns a child is conditioned on when ``context_size`` is unset: a row-by-row
# child or count model reads them on every row, a sequence once per parent (and its
# number of rows depends on them: Lahman careers follow debut and final game).
ROW_CONTEXT_SIZE = 3
SEQUENCE_CONTEXT_SIZE = 10
Engine = Literal["lstm", "amplify"]


class RelationalParams(Params):
    """Synthetics params for every table model, plus the ``engine`` that learns them."""

    engine: Engine | None = None

    def table_params(self) -> Params:
        """The synthetics params alone, with only the options the user set marked as set."""
        return Params(**self.model_dump(exclude_unset=True, exclude={"engine"}))


class Reference(_Section):
    """The table (and columns, default its primary key) a foreign key points to."""

    table: str
    columns: list[str] | None = None


class ForeignKeyConfig(_Section):
    """One foreign key: child ``columns`` → ``references.table`` (``references.columns``)."""

    columns: list[str] = Field(min_length=1)
    references: Reference


class TableConfig(_Section):
    """How one table is treated."""

    original: bool = False
    exclude: bool = False
    primary_key: list[str] | None = None
    foreign_keys: list[ForeignKeyConfig] | None = None
    parent: str | None = None
    columns: dict[str, Treatment] = Field(default_factory=dict)
    # How a column is learned, as a table model's columns.<name>: a kind (names and
    # emails spelled as strings; default: decided from the data) or a mapping with kind,
    # max_length, loss_weight, gen_temp (a text column's own settings; tables learned
    # row by row). Treatments are ``columns`` above.
    column_kinds: dict[str, ColumnOptions] = Field(default_factory=dict)
    context_columns: list[str] | None = None
    engine: Engine | None = None
    params: RelationalParams | None = None
    # A child table is learned as one sequence of rows per parent row (LSTM engine);
    # false learns it row by row, each row seeded with its parent's columns.
    sequential: bool = True
    order_by: list[str] = Field(default_factory=list)
    max_sequence_rows: int = Field(MAX_SEQUENCE_ROWS, ge=1, le=100_000)
    # Rows whose reference (other than to the modelling parent) matches no parent row:
    # "drop" leaves them out of training, "null" keeps them with that reference missing.
    orphans: Literal["drop", "null"] = "drop"
    # Rules every generated row of this table keeps (synthloom.constraints).
    constraints: list[Constraint] = Field(default_factory=list)

    @field_validator("column_kinds")
    @classmethod
    def _no_treatments(cls, kinds: dict[str, ColumnOptions]) -> dict[str, ColumnOptions]:
        treated = [name for name, options in kinds.items() if options.treatment != "generate"]
        if treated:
            raise ValueError(
                f"{treated}: a relational table's treatments (synthesize, keep, exclude) go "
                "under its columns, not column_kinds"
            )
        return kinds


class RelationalGenerate(_Section):
    """Generation defaults: rows of the root table, seed, the root table's rebalance,
    rows sampled per step."""

    num_records: int | None = Field(None, ge=1)
    seed: int | None = None
    max_invalid: int | None = Field(None, ge=0)
    # {column: {value: share}} of the root table; training makes the column a seed field
    rebalance: dict[str, dict[str, float]] | None = None
    predict_batch_size: int | None = Field(None, ge=1)

    _check_rebalance = field_validator("rebalance")(_valid_rebalance)


class RelationalConfig(ConfigFile):
    """A whole relational config file."""

    source: str | None = None
    schema_file: str | None = None
    engine: Engine = "lstm"
    count_engine: Engine = "amplify"
    context_size: int | None = Field(None, ge=0)
    params: RelationalParams = Field(default_factory=RelationalParams)
    validators: Validators = Field(default_factory=Validators)
    fallback: Fallback = Field(default_factory=Fallback)
    generate: RelationalGenerate = Field(default_factory=RelationalGenerate)
    root: str | None = None
    include_tables: list[str] | None = None
    exclude_tables: list[str] = Field(default_factory=list)
    tables: dict[str, TableConfig] = Field(default_factory=dict)

    def context_size_for(self, sequential: bool) -> int:
        """Parent columns a child (its sequences, else its rows) is conditioned on."""
        if self.context_size is not None:
            return self.context_size
        return SEQUENCE_CONTEXT_SIZE if sequential else ROW_CONTEXT_SIZE

    def engine_for(self, table: str) -> str:
        """The engine that learns ``table``: the table's, else ``params.engine``, else top."""
        conf = self.tables.get(table)
        if conf is not None and conf.engine:
            return conf.engine
        return self.params.engine or self.engine

    def params_for(self, table: str) -> Params:
        """Synthetics params of ``table``: the shared ones updated by the table's own."""
        shared = self.params.model_dump(exclude_unset=True, exclude={"engine"})
        conf = self.tables.get(table)
        if conf is not None and conf.params is not None:
            shared.update(conf.params.model_dump(exclude_unset=True, exclude={"engine"}))
        return validate_config(Params, shared)

    def generate_section(self) -> Generate:
        """The synthetics ``generate`` section a table model is built with."""
        return Generate(num_records=None, max_invalid=self.generate.max_invalid)

    def table(self, name: str) -> TableConfig:
        """The config of table ``name`` (defaults when the config does not name it)."""
        return self.tables.get(name) or TableConfig()


def parse_relational_config(data: Any, where: str = "config") -> RelationalConfig:
    """Validate a mapping into a :class:`RelationalConfig` (ConfigError on problems)."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{where} must hold a mapping (tables, params, ...)")
    if "models" in data:
        raise ConfigError(
            f"{where} is a table/text config (it has 'models'); a relational config has "
            "'tables', 'params', 'engine' at its top level (see the README)"
        )
    return validate_config(RelationalConfig, data)


def load_relational_config(path: str | Path) -> RelationalConfig:
    """Read and validate a relational YAML config file."""
    return parse_relational_config(read_yaml_file(path), f"config file {path}")
