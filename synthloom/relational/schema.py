"""The relational schema: tables, their keys and treatment, checked before anything trains.

Rules (each broken one is a :class:`ConfigError` naming the problem and the fix):

* tables marked ``original`` are copied unchanged; each needs at least one table that
  references it, references only original tables, and never counts as a root;
* exactly one root remains: the one synthesized table without foreign keys (a key to
  itself, e.g. employee → manager, does not count); where there is none, the one whose
  parents are all original tables (a star schema's fact table under its dimensions), whose
  references to them are learned as categories;
* foreign-key cycles are rejected, self-references are supported;
* keys may be composite (``Teams (yearID, teamID)``); a table may have several parents.
  The first parent that is synthesized (or ``parent:`` in the config) is the one whose
  children the table is modelled as; the others are matched afterwards.

Why one module of this length: every rule above reads the same tables and keys, and a
reader checking one rule needs the others at hand.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from synthloom.errors import ConfigError, ConfigProblems, DataError
from synthloom.relational.config import ForeignKeyConfig, RelationalConfig

log = logging.getLogger("synthloom")


@dataclass(frozen=True)
class ForeignKey:
    """``table(columns)`` → ``parent(parent_columns)``; the parent columns are its key."""

    table: str
    columns: tuple[str, ...]
    parent: str
    parent_columns: tuple[str, ...]

    @property
    def self_reference(self) -> bool:
        """Whether the key points into its own table."""
        return self.table == self.parent

    @property
    def name(self) -> str:
        """A readable name, also used for folders of the model dir."""
        return f"{self.table}.{'+'.join(self.columns)}->{self.parent}"

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ForeignKey:
        """Inverse of :meth:`to_dict`."""
        return cls(
            data["table"], tuple(data["columns"]), data["parent"], tuple(data["parent_columns"])
        )


@dataclass
class TableSchema:
    """One table: its columns (after exclusions), keys, treatment and place in the tree."""

    name: str
    columns: list[str]
    primary_key: list[str]
    foreign_keys: list[ForeignKey]
    original: bool = False
    keep: list[str] = field(default_factory=list)
    parent_key: int | None = None  # index in foreign_keys of the modelling parent
    # Key columns a model learns like data: parts of a composite primary key that carry
    # meaning (Teams.yearID; one part is regenerated to keep keys unique) and the child
    # columns that mirror them in a second parent's key (Batting.yearID), matched later,
    # and references into original (lookup) tables, learned as categories.
    learned_keys: list[str] = field(default_factory=list)
    # A database source's declared column types and nullability, for the destination.
    sql_types: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def key_columns(self) -> list[str]:
        """Primary and foreign key columns: regenerated, never learned."""
        names = list(self.primary_key)
        for fk in self.foreign_keys:
            names += [c for c in fk.columns if c not in names]
        return names

    @property
    def data_columns(self) -> list[str]:
        """Columns a model learns or keeps: everything but the keys (less learned parts)."""
        keys = set(self.key_columns) - set(self.learned_keys)
        return [c for c in self.columns if c not in keys]

    @property
    def fresh_keys(self) -> list[str]:
        """Primary-key columns that get new values (not foreign, not learned)."""
        foreign = {c for fk in self.foreign_keys for c in fk.columns}
        return [c for c in self.primary_key if c not in foreign and c not in self.learned_keys]

    @property
    def modelled_by(self) -> ForeignKey | None:
        """The foreign key to the parent whose children this table is modelled as."""
        return None if self.parent_key is None else self.foreign_keys[self.parent_key]

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        data = asdict(self)
        data["foreign_keys"] = [fk.to_dict() for fk in self.foreign_keys]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TableSchema:
        """Inverse of :meth:`to_dict`."""
        data = dict(data)
        data["foreign_keys"] = [ForeignKey.from_dict(f) for f in data["foreign_keys"]]
        return cls(**data)


@dataclass
class Schema:
    """All tables, the root, and the order tables are generated in (parents first), and
    the rows of the source that were not learned from as they were (orphan references)."""

    tables: dict[str, TableSchema]
    root: str
    order: list[str]
    left_out: list[dict[str, Any]] = field(default_factory=list)

    def left_out_notes(self) -> list[str]:
        """One line per foreign key with references that match no parent row."""
        return [orphan_note(entry) for entry in self.left_out]

    @property
    def originals(self) -> list[str]:
        """Tables copied unchanged."""
        return [name for name, t in self.tables.items() if t.original]

    @property
    def synthesized(self) -> list[str]:
        """Tables generated by models, parents first."""
        return list(self.order)

    def foreign_keys(self) -> list[ForeignKey]:
        """Every foreign key of every table."""
        return [fk for t in self.tables.values() for fk in t.foreign_keys]

    def depth(self) -> int:
        """Levels of the tree of synthesized tables (the root alone is 1)."""
        levels: dict[str, int] = {}
        for name in self.order:
            parents = [
                levels.get(fk.parent, 0)
                for fk in self.tables[name].foreign_keys
                if not fk.self_reference
            ]
            levels[name] = 1 + max(parents, default=0)
        return max(levels.values(), default=0)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {
            "tables": {name: t.to_dict() for name, t in self.tables.items()},
            "root": self.root,
            "order": self.order,
            "left_out": self.left_out,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Schema:
        """Inverse of :meth:`to_dict`."""
        tables = {name: TableSchema.from_dict(t) for name, t in data["tables"].items()}
        return cls(tables, data["root"], list(data["order"]), list(data.get("left_out") or []))


def orphan_note(entry: dict[str, Any]) -> str:
    """What happened to a foreign key's rows without a parent, in one line."""
    where = f"{entry['table']}.{', '.join(entry['foreign_key'])} → {entry['parent']}"
    found = []
    if entry["orphans"]:
        found.append(
            f"{entry['orphans']:,} of {entry['rows']:,} rows match no {entry['parent']} row"
        )
    if entry["missing"]:
        found.append(f"{entry['missing']:,} have none")
    fate = []
    if entry["left_out"]:
        fate.append(f"{entry['left_out']:,} left out of training")
    if entry["kept_as_null"]:
        fate.append(f"{entry['kept_as_null']:,} kept with the reference missing")
    if entry["missing"] and not entry["modelling_parent"]:
        fate.append("missing references learned as missing")
    hint = (
        f"; set tables.{entry['table']}.orphans: null to keep them"
        if entry["left_out"] and not entry["modelling_parent"]
        else ""
    )
    return f"{where}: {', '.join(found)}; {', '.join(fate)}{hint}"


# --------------------------------------------------------------------------- selection


def select_tables(available: Iterable[str], config: RelationalConfig) -> list[str]:
    """The tables to read: included and not excluded, every named one existing."""
    available = list(available)
    named = set(config.tables) | set(config.exclude_tables) | set(config.include_tables or [])
    missing = sorted(t for t in named if t not in available)
    if missing:
        raise ConfigError(
            f"the config names tables the source does not have: {missing}; "
            f"the source's tables are {sorted(available)}"
        )
    wanted = config.include_tables if config.include_tables is not None else available
    excluded = set(config.exclude_tables) | {n for n, t in config.tables.items() if t.exclude}
    selected = [t for t in available if t in wanted and t not in excluded]
    if not selected:
        raise ConfigError("no tables left after include_tables/exclude_tables; include some")
    return selected


# ----------------------------------------------------------------------------- building


def build_schema(
    frames: dict[str, pd.DataFrame],
    discovered: dict[str, dict[str, Any]],
    config: RelationalConfig,
    all_tables: Iterable[str] = (),
) -> tuple[Schema, dict[str, pd.DataFrame]]:
    """Check the config against the data and build the schema.

    Args:
        frames: The selected tables, by name.
        discovered: Keys from the source, ``{table: {primary_key, foreign_keys}}`` with
            foreign keys as :class:`ForeignKeyConfig`.
        config: The relational config.
        all_tables: Every table of the source, selected or not (to tell an excluded parent
            from a misspelt one).

    Returns:
        The schema and the frames with excluded columns dropped.
    """
    all_tables = set(all_tables) | set(frames)
    frames = {name: _apply_column_treatment(name, frame, config) for name, frame in frames.items()}
    primary = {name: _primary_key(name, frames[name], discovered, config) for name in frames}
    for name in frames:  # a key that foreign keys reference is its table's primary key
        for fk in _fk_configs(name, discovered, config):
            parent = fk.references.table
            if parent in frames and not primary[parent] and fk.references.columns:
                _check_columns(parent, frames[parent], fk.references.columns, f"{name} → {parent}")
                primary[parent] = list(fk.references.columns)
    tables: dict[str, TableSchema] = {}
    for name, frame in frames.items():
        fks = _foreign_keys(name, frame, discovered, config, frames, primary, all_tables)
        conf = config.table(name)
        tables[name] = TableSchema(
            name=name,
            columns=[],
            primary_key=[],
            foreign_keys=fks,
            original=conf.original,
        )
    for name, table in tables.items():
        table.primary_key = primary[name]
        dropped = _dropped_fk_columns(name, frames[name], discovered, config, tables)
        frames[name] = frames[name].drop(columns=dropped)
        table.columns = list(frames[name].columns)
        _check_treatments(table, config)
        table.keep = [
            c for c, t in config.table(name).columns.items() if t == "keep" and c in table.columns
        ]
    _check_originals(tables)
    dp_problems = _dp_input_problems(tables, config)
    _check_cycles(tables)
    root = _find_root(tables, config)
    order = _order(tables)
    for name in order:  # the root is no one's child, even under original parents
        if name != root:
            tables[name].parent_key = _modelling_parent(tables[name], tables, config)
    _learned_keys(tables, frames)
    schema = Schema(tables, root, order)
    _check_dp_database(schema, config, dp_problems)
    _check_rebalance(schema, config)
    for name, table in tables.items():
        _check_unique_key(table, frames[name])
    frames = _drop_orphans(schema, frames, config)
    return schema, frames


def _apply_column_treatment(
    name: str, frame: pd.DataFrame, config: RelationalConfig
) -> pd.DataFrame:
    treatments = config.table(name).columns
    unknown = sorted(c for c in treatments if c not in frame.columns)
    if unknown:
        raise ConfigError(
            f"tables.{name}.columns names columns {name} does not have: {unknown}; "
            f"its columns are {list(frame.columns)}"
        )
    excluded = [c for c, t in treatments.items() if t == "exclude"]
    return frame.drop(columns=excluded)


def _primary_key(
    name: str,
    frame: pd.DataFrame,
    discovered: dict[str, dict[str, Any]],
    config: RelationalConfig,
) -> list[str]:
    conf = config.table(name)
    key = conf.primary_key
    if key is None:
        key = list(discovered.get(name, {}).get("primary_key") or [])
    _check_columns(name, frame, key, f"tables.{name}.primary_key")
    return list(key)


def _check_columns(table: str, frame: pd.DataFrame, columns: Iterable[str], where: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ConfigError(
            f"{where}: table {table} has no column(s) {missing} (or they are excluded); "
            f"its columns are {list(frame.columns)}"
        )


def _fk_configs(
    name: str, discovered: dict[str, dict[str, Any]], config: RelationalConfig
) -> list[ForeignKeyConfig]:
    conf = config.table(name)
    if conf.foreign_keys is not None:
        return list(conf.foreign_keys)
    return list(discovered.get(name, {}).get("foreign_keys") or [])


def _foreign_keys(
    name: str,
    frame: pd.DataFrame,
    discovered: dict[str, dict[str, Any]],
    config: RelationalConfig,
    frames: dict[str, pd.DataFrame],
    primary: dict[str, list[str]],
    all_tables: set[str],
) -> list[ForeignKey]:
    keys = []
    for fk in _fk_configs(name, discovered, config):
        where = f"tables.{name}.foreign_keys ({fk.columns} → {fk.references.table})"
        parent = fk.references.table
        if parent not in frames:
            if parent in all_tables:
                continue  # the parent is excluded: its key columns go too
            raise ConfigError(
                f"{where}: table {parent} does not exist; the source's tables are "
                f"{sorted(all_tables)}"
            )
        _check_columns(name, frame, fk.columns, where)
        parent_cols = fk.references.columns or primary[parent]
        if not parent_cols:
            raise ConfigError(
                f"{where}: {parent} has no primary key; set tables.{parent}.primary_key or "
                "references.columns"
            )
        _check_columns(parent, frames[parent], parent_cols, where)
        if len(parent_cols) != len(fk.columns):
            raise ConfigError(
                f"{where}: {len(fk.columns)} column(s) cannot reference {len(parent_cols)} "
                f"column(s) {parent_cols} of {parent}; give one column per key column"
            )
        if not primary[parent]:
            primary[parent] = list(parent_cols)  # a referenced key is the parent's key
        elif set(parent_cols) != set(primary[parent]):
            raise ConfigError(
                f"{where}: references {parent_cols}, but {parent}'s primary key is "
                f"{primary[parent]}; a foreign key must reference the primary key"
            )
        pairs = dict(zip(parent_cols, fk.columns, strict=True))
        ordered = tuple(pairs[c] for c in primary[parent])
        keys.append(ForeignKey(name, ordered, parent, tuple(primary[parent])))
    return keys


def _dropped_fk_columns(
    name: str,
    frame: pd.DataFrame,
    discovered: dict[str, dict[str, Any]],
    config: RelationalConfig,
    tables: dict[str, TableSchema],
) -> list[str]:
    """Columns of foreign keys to excluded tables: they would only leak old key values."""
    kept = {c for fk in tables[name].foreign_keys for c in fk.columns}
    dropped = []
    for fk in _fk_configs(name, discovered, config):
        if fk.references.table in tables:
            continue
        lost = [c for c in fk.columns if c in frame.columns and c not in kept]
        if lost:
            log.info(
                "%s: dropping %s, the key of excluded table %s", name, lost, fk.references.table
            )
        dropped += [c for c in lost if c not in dropped]
    return dropped


def _check_treatments(table: TableSchema, config: RelationalConfig) -> None:
    treatments = config.table(table.name).columns
    bad = [c for c in table.key_columns if treatments.get(c) in ("keep", "exclude")]
    if bad:
        raise ConfigError(
            f"tables.{table.name}.columns: {bad} are key columns (regenerated so every key "
            "stays valid); remove their treatment or unset the key"
        )
    if table.original and any(t == "keep" for t in treatments.values()):
        log.info("%s is original: every column is kept", table.name)
    kinds = config.table(table.name).column_kinds
    keys = [
        c
        for c, o in kinds.items()
        if c in table.key_columns and "value_protection" in o.model_fields_set
    ]
    if keys:
        raise ConfigError(
            f"tables.{table.name}.column_kinds: {keys} are key columns, regenerated and never "
            "learned, so value protection does not apply; remove value_protection there"
        )
    wrong = [c for c in kinds if c not in table.columns or c in table.key_columns]
    if wrong:
        raise ConfigError(
            f"tables.{table.name}.column_kinds: {wrong} are not data columns of "
            f"{table.name}; choose among {[c for c in table.columns if c not in table.key_columns]}"
        )


def _check_originals(tables: dict[str, TableSchema]) -> None:
    for name, table in tables.items():
        if not table.original:
            continue
        inbound = [fk for t in tables.values() for fk in t.foreign_keys if fk.parent == name]
        if not any(not fk.self_reference for fk in inbound):
            raise ConfigError(
                f"table {name} is marked original but no other table references it; an "
                "original table must have an inbound foreign key: add one, or unmark it"
            )
        synthetic = [
            fk.parent
            for fk in table.foreign_keys
            if not fk.self_reference and not tables[fk.parent].original
        ]
        if synthetic:
            raise ConfigError(
                f"original table {name} references synthesized table(s) {synthetic}, whose "
                "keys are regenerated; mark them original too, or do not mark it original"
            )


def _check_cycles(tables: dict[str, TableSchema]) -> None:
    parents = {
        name: sorted({fk.parent for fk in t.foreign_keys if not fk.self_reference})
        for name, t in tables.items()
    }
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(name: str) -> None:
        state[name] = 1
        path.append(name)
        for parent in parents[name]:
            if state.get(parent) == 1:
                cycle = [*path[path.index(parent) :], parent]
                raise ConfigError(
                    "foreign keys form a cycle: "
                    + " → ".join(cycle)
                    + "; only self-references are supported: unset one of these keys in "
                    "the config (tables.NAME.foreign_keys) or exclude a table"
                )
            if state.get(parent) is None:
                visit(parent)
        path.pop()
        state[name] = 2

    for name in tables:
        if name not in state:
            visit(name)


def _find_root(tables: dict[str, TableSchema], config: RelationalConfig) -> str:
    """The one synthesized table without parents; failing that (a star schema: a fact table
    under original dimension tables), the one whose parents are all original."""
    roots = [
        name
        for name, t in tables.items()
        if not t.original and all(fk.self_reference for fk in t.foreign_keys)
    ]
    if not roots:
        roots = [
            name
            for name, t in tables.items()
            if not t.original
            and all(fk.self_reference or tables[fk.parent].original for fk in t.foreign_keys)
        ]
    if len(roots) != 1:
        found = f"{len(roots)} root tables ({', '.join(roots)})" if roots else "no root table"
        raise ConfigError(
            f"found {found}: a relational model needs exactly one synthesized table without "
            "foreign keys to other synthesized tables; mark lookup tables original, exclude "
            "tables, or add foreign keys in the config"
        )
    if config.root is not None and config.root != roots[0]:
        raise ConfigError(
            f"root: {config.root} is not the root of this schema; the one table without "
            f"synthesized parents is {roots[0]}"
        )
    return roots[0]


def _check_rebalance(schema: Schema, config: RelationalConfig) -> None:
    """``generate.rebalance`` names a synthesized column of the root table (its model
    is trained with that column as a seed field)."""
    if not config.generate.rebalance:
        return
    column = next(iter(config.generate.rebalance))
    root = schema.tables[schema.root]
    learned = [c for c in root.data_columns if c not in root.keep]
    if column not in learned:
        raise ConfigError(
            f"generate.rebalance: {column!r} is not a synthesized column of the root table "
            f"{schema.root} (rebalance applies to the root table); name one of {learned}"
        )
    if root.keep:
        raise ConfigError(
            f"generate.rebalance: the root table {schema.root} copies real values of "
            f"{root.keep}; synthesize or exclude them, or remove the rebalance"
        )


def _order(tables: dict[str, TableSchema]) -> list[str]:
    """Synthesized tables, every parent before its children (source order otherwise)."""
    done: list[str] = []
    pending = [n for n, t in tables.items() if not t.original]
    while pending:
        for name in pending:
            needs = {
                fk.parent
                for fk in tables[name].foreign_keys
                if not fk.self_reference and not tables[fk.parent].original
            }
            if needs <= set(done):
                done.append(name)
                pending.remove(name)
                break
    return done


def _modelling_parent(
    table: TableSchema, tables: dict[str, TableSchema], config: RelationalConfig
) -> int | None:
    candidates = [i for i, fk in enumerate(table.foreign_keys) if not fk.self_reference]
    if not candidates:
        return None
    wanted = config.table(table.name).parent
    if wanted is not None:
        match = [i for i in candidates if table.foreign_keys[i].parent == wanted]
        if not match:
            parents = sorted({table.foreign_keys[i].parent for i in candidates})
            raise ConfigError(
                f"tables.{table.name}.parent: {wanted} is not a parent of {table.name}; "
                f"its parents are {parents}"
            )
        return match[0]
    synthetic = [i for i in candidates if not tables[table.foreign_keys[i].parent].original]
    return (synthetic or candidates)[0]


def _learned_keys(tables: dict[str, TableSchema], frames: dict[str, pd.DataFrame]) -> None:
    """Composite keys keep their meaning: all parts but one are learned as data.

    The part regenerated (to keep keys unique) is the last text column of the key's own
    columns, else its last one; a child learns its copies of the other parts for a second
    parent and is matched to a parent row with the same values.
    """
    for table in tables.values():
        if table.original:
            continue
        foreign = {c for fk in table.foreign_keys for c in fk.columns}
        own = [c for c in table.primary_key if c not in foreign]
        if len(own) < 2:
            continue
        frame = frames[table.name]
        text = [c for c in own if not pd.api.types.is_numeric_dtype(frame[c])]
        fresh = (text or own)[-1]
        table.learned_keys = [c for c in own if c != fresh]
    for table in tables.values():
        modelled = table.modelled_by
        copied = set(modelled.columns) if modelled is not None else set()
        for fk in table.foreign_keys:
            if fk is modelled or fk.self_reference:
                continue
            if is_lookup_reference(tables, fk):
                table.learned_keys += [c for c in fk.columns if c not in table.learned_keys]
                continue
            parts = set(tables[fk.parent].learned_keys)
            for column, parent_column in zip(fk.columns, fk.parent_columns, strict=True):
                wanted = parent_column in parts and column not in copied
                if wanted and column not in table.learned_keys:
                    table.learned_keys.append(column)


def is_lookup_reference(tables: dict[str, TableSchema], fk: ForeignKey) -> bool:
    """A synthesized table's foreign key into an original (lookup) table, other than its
    modelling parent's: the lookup keeps its keys, so the child learns which rows it
    references as a categorical value."""
    table = tables[fk.table]
    return tables[fk.parent].original and not table.original and fk != table.modelled_by


def _uses_dp(config: RelationalConfig) -> bool:
    return config.params.dp or any(
        t.params is not None and t.params.dp for t in config.tables.values()
    )


def _dp_input_problems(tables: dict[str, TableSchema], config: RelationalConfig) -> list[str]:
    """Under DP every released byte must come from the DP models: no real values copied
    (``keep``), no original tables (their rows and the references into them would be
    released as they are), no self-references."""
    if not _uses_dp(config):
        return []
    problems = []
    kept = [f"{name}.{c}" for name, t in tables.items() for c in t.keep]
    if kept:
        problems.append(
            f"params.dp: columns marked keep ({', '.join(kept)}) would be copied from the real "
            "rows, outside differential privacy; mark them synthesize or exclude, or set dp: false"
        )
    originals = sorted(name for name, t in tables.items() if t.original)
    if originals:
        problems.append(
            f"params.dp: original tables ({', '.join(originals)}) are copied as they are and "
            "their references would be matched on the real rows, outside differential "
            "privacy; exclude them (exclude_tables), or set dp: false"
        )
    loops = [
        f"{t.name}.{fk.name}" for t in tables.values() for fk in t.foreign_keys if fk.self_reference
    ]
    if loops:
        problems.append(
            f"params.dp: self-references ({', '.join(loops)}) are rebuilt from the real share "
            "of rows without one, outside differential privacy; drop them with "
            "foreign_keys: [] on the table, or set dp: false"
        )
    return problems


def _check_dp_database(schema: Schema, config: RelationalConfig, problems: list[str]) -> None:
    """Under DP a person is a root row with all its child rows: every other synthesized
    table must be a direct child of the root learned as its sequences (one sequence per
    root row, under the same accountant), and every table must be learned under DP with
    the database's one budget. Every objection at once (``problems``: the inputs')."""
    synthesized = [name for name in schema.order if not schema.tables[name].original]
    if not _uses_dp(config) or len(synthesized) == 1:
        synthesized = []
    problems = list(problems)
    for name in synthesized:
        table, own = schema.tables[name], config.tables.get(name)
        if not config.params_for(name).dp:
            problems.append(
                f"params.dp: table {name} is learned without dp, from the same people outside the "
                "budget; under DP every synthesized table is learned with dp (set the "
                "top-level params.dp: true)"
            )
        if own is not None and own.params is not None:
            budget = {"dp_epsilon", "dp_delta"} & own.params.model_fields_set
            if budget:
                problems.append(
                    f"params.dp: tables.{name}.params sets {sorted(budget)}, but a database "
                    "under DP has one budget; set them in the top-level params only"
                )
        if name == schema.root:
            continue
        fk = table.modelled_by
        if fk is None or fk.parent != schema.root:
            problems.append(
                f"params.dp: table {name} is not a direct child of the root {schema.root}; "
                "under DP a person is one root row with its child rows, so only the root's "
                "children can be learned; exclude it (exclude_tables), or set dp: false"
            )
            continue
        conf = config.table(name)
        if not conf.sequential or config.engine_for(name) != "lstm":
            problems.append(
                f"params.dp: child table {name} must be learned as sequences (the LSTM engine "
                "with sequential: true) so that each root row is one record; remove "
                f"tables.{name}.sequential: false or its engine"
            )
        others = [
            other.name
            for other in table.foreign_keys
            if other is not fk and not schema.tables[other.parent].original
        ]
        if others:
            problems.append(
                f"params.dp: {name}'s foreign keys {others} reference another synthesized table, "
                "whose row counts would be learned outside the budget; drop them with "
                f"tables.{name}.foreign_keys"
            )
    if len(problems) == 1:
        raise ConfigError(problems[0])
    if problems:
        raise ConfigProblems(problems)


def _check_unique_key(table: TableSchema, frame: pd.DataFrame) -> None:
    if not table.primary_key:
        return
    keys = frame[table.primary_key]
    if keys.isna().any().any():
        raise DataError(
            f"table {table.name}: primary key {table.primary_key} has missing values; fix the "
            f"data or set tables.{table.name}.primary_key"
        )
    duplicated = keys.duplicated()
    if duplicated.any():
        example = keys[duplicated].iloc[0].tolist()
        raise DataError(
            f"table {table.name}: primary key {table.primary_key} is not unique "
            f"({int(duplicated.sum())} repeats, e.g. {example}); give the right key in "
            f"tables.{table.name}.primary_key"
        )


def key_index(frame: pd.DataFrame, columns: Iterable[str]) -> pd.MultiIndex:
    """Rows' key tuples, comparable across tables (numbers as numbers, text as text)."""
    arrays = [_normalise(frame[c]) for c in columns]
    return pd.MultiIndex.from_arrays(arrays)


def parent_positions(parent: pd.DataFrame, fk: ForeignKey, child: pd.DataFrame) -> np.ndarray:
    """Row position in ``parent`` of each child row (-1: no parent)."""
    index = key_index(parent, fk.parent_columns)
    return index.get_indexer(key_index(child, fk.columns))


def children_counts(parent: pd.DataFrame, fk: ForeignKey, child: pd.DataFrame) -> np.ndarray:
    """How many rows of ``child`` each row of ``parent`` has through ``fk`` (zeros included)."""
    positions = parent_positions(parent, fk, child)
    return np.bincount(positions[positions >= 0], minlength=len(parent)).astype(np.int64)


def _normalise(series: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        return pd.to_numeric(series, errors="coerce").astype("Float64").astype(object)
    return series.astype(object)


def _drop_orphans(
    schema: Schema, frames: dict[str, pd.DataFrame], config: RelationalConfig
) -> dict[str, pd.DataFrame]:
    """Rows of synthesized tables whose foreign key points nowhere are not learned from,
    or (``orphans: null``, not for the modelling parent) kept with the reference missing.
    What happened to them is recorded in ``schema.left_out``, for every view of the run."""
    frames = dict(frames)
    for name in schema.order:
        table = schema.tables[name]
        keep_as_null = config.table(name).orphans == "null"
        for fk in table.foreign_keys:
            child = frames[name]
            parent_keys = key_index(frames[fk.parent], fk.parent_columns)
            values = key_index(child, fk.columns)
            null = child[list(fk.columns)].isna().any(axis=1).to_numpy()
            orphan = ~values.isin(parent_keys) & ~null
            # Rows without their modelling parent cannot be anyone's children.
            modelling = fk == table.modelled_by
            nulled = orphan & keep_as_null & (not modelling)
            dropped = (orphan & ~nulled) | (null & modelling)
            if orphan.any() or null.any():
                schema.left_out.append(
                    {
                        "table": name,
                        "foreign_key": list(fk.columns),
                        "parent": fk.parent,
                        "rows": len(child),
                        "orphans": int(orphan.sum()),
                        "missing": int(null.sum()),
                        "left_out": int(dropped.sum()),
                        "kept_as_null": int(nulled.sum()),
                        "modelling_parent": modelling,
                    }
                )
            if nulled.any():
                child = child.copy()
                for column in fk.columns:
                    child.loc[nulled, column] = None
            frames[name] = child[~dropped].reset_index(drop=True) if dropped.any() else child
    for name in schema.originals:
        for fk in schema.tables[name].foreign_keys:
            values = key_index(frames[name], fk.columns)
            null = frames[name][list(fk.columns)].isna().any(axis=1).to_numpy()
            orphan = ~values.isin(key_index(frames[fk.parent], fk.parent_columns)) & ~null
            if orphan.any():
                raise DataError(
                    f"original table {name}: {int(orphan.sum())} rows' {list(fk.columns)} "
                    f"match no row of {fk.parent}; an original table is copied unchanged, so "
                    "fix the data or unset that key"
                )
    return frames
