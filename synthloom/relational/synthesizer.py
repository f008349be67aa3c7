"""RelationalSynthesizer: per-table models composed into a database with valid keys.

A child table is learned as one sequence of rows per parent row
(:class:`~synthloom.synthesizers.sequence.SequenceSynthesizer`): each row is conditioned on a few
parent columns and on every earlier row of the same parent, and the number of children
is the model's own end decision. With ``sequential: false`` (or the amplify engine) a
child is learned row by row instead: a :class:`TableSynthesizer` seeded with the parent
columns, the row's position among its siblings and their number, and a count model for
how many children each parent row gets. Other synthesized parents are matched through
their own count models; references into original (lookup) tables are learned as
ordinary categorical values of the child. Keys are never learned: new values are made
for them after generation and integrity is checked before anything is returned or
written.

Why one module of this length: planning, per-table training, key assignment and
generation all walk the same :class:`TablePlan` in schema order. What stands apart is
beside it: how a child sees its parents (:mod:`.context`), keys (:mod:`.keys`), the schema
rules (:mod:`.schema`), sources and destinations, the report.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synthloom.config import (
    SyntheticsConfig,
    rebalance_problem,
    validate_config,
    weak_privacy_warning,
)
from synthloom.constraints import Constraints
from synthloom.encoding.clusters import cramers_v_matrix
from synthloom.errors import ConfigError, DataError, ModelDirError, TrainingInterrupted
from synthloom.io.model_dir import (
    PARAMS_FILE,
    SUMMARY_FILE,
    loading,
    read_json,
    training_dir,
    verify_manifest,
    write_json,
)
from synthloom.io.names import safe_file_name
from synthloom.lstm.threads import mark_worker_process
from synthloom.privacy.database import DatabaseBudget
from synthloom.relational.complexity import Assessment, assess
from synthloom.relational.config import (
    RelationalConfig,
    load_relational_config,
    parse_relational_config,
)
from synthloom.relational.context import (
    COUNT,
    PARENT,
    SIBLING_INDEX,
    SIBLINGS,
    context_candidates,
    like,
    lookup_columns,
    lookup_values,
    lookups_as_text,
    parent_context,
    reference_slots,
    sibling_index,
    usable_context,
    with_context,
)
from synthloom.relational.keys import (
    IntegrityReport,
    copy_key,
    learn_key_shape,
    new_key_values,
    require_integrity,
    self_reference_order,
)
from synthloom.relational.schema import (
    ForeignKey,
    Schema,
    TableSchema,
    build_schema,
    children_counts,
    is_lookup_reference,
    parent_positions,
)
from synthloom.relational.sources import is_database_url, read_source, source_record
from synthloom.relational.status import ProgressCallback, Timeline
from synthloom.synthesizers.base import model_header, refuse_unknown_seed_columns
from synthloom.synthesizers.executors import Executor, folder_files, land_files, refuse_ray_keyword
from synthloom.synthesizers.sequence import ENTITY, SequenceSynthesizer
from synthloom.synthesizers.table import TableSynthesizer

log = logging.getLogger("synthloom")

DATA_KIND = "relational"
STATUS_FILE = "status.json"
GENERATION_STATUS_FILE = "generation_status.json"
COMPLEXITY_FILE = "complexity.json"


@dataclass
class CountPlan:
    """How many rows of a table each row of a parent gets (one per foreign key)."""

    fk: str
    folder: str
    context: list[str]
    null_share: float
    max_count: int


@dataclass
class TablePlan:
    """What was learned for one synthesized table."""

    name: str
    folder: str | None
    context: list[str]
    seed_fields: list[str]
    keep: list[str]
    counts: dict[str, CountPlan] = field(default_factory=dict)
    self_refs: dict[str, float] = field(default_factory=dict)  # fk → null share
    dtypes: dict[str, str] = field(default_factory=dict)
    rows: int | None = 0  # None: private (a child's rows under DP)
    sequential: bool = False  # one sequence of rows per parent row
    constraints: list[dict[str, Any]] = field(default_factory=list)  # their learned state
    key_shapes: dict[str, Any] = field(default_factory=dict)  # new text keys written alike

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TablePlan:
        """Inverse of :meth:`to_dict`."""
        data = dict(data)
        data["counts"] = {k: CountPlan(**v) for k, v in data["counts"].items()}
        return cls(**data)


class RelationalSynthesizer:
    """Learns a database (SQLAlchemy URL, SQLite file, or folder + schema file) and
    generates a synthetic one with the same keys and referential integrity.

    ``config`` is a :class:`RelationalConfig`, a mapping of the YAML, or a YAML path.
    """

    def __init__(self, config: RelationalConfig | dict[str, Any] | str | Path | None = None):
        if isinstance(config, RelationalConfig):
            self.config = config
        elif isinstance(config, str | Path):
            self.config = load_relational_config(config)
        else:
            self.config = parse_relational_config(config)
        self.schema: Schema | None = None
        self.plans: dict[str, TablePlan] = {}
        self.model_dir: Path | None = None
        self.assessment_: Assessment | None = None
        self.integrity_: IntegrityReport | None = None
        self.timeline_: Timeline | None = None
        self.source_: dict[str, Any] | None = None
        self._models: dict[str, Any] = {}  # TableSynthesizer or SequenceSynthesizer
        self._originals: dict[str, pd.DataFrame] = {}
        self._keep: dict[str, pd.DataFrame] = {}
        # generate()'s rebalance and predict_batch_size, for the table models
        self._sampling: dict[str, Any] = {"rebalance": None, "predict_batch_size": None}
        self._key_offset = 0  # new keys start after it (generate's key_offset)
        self._seeds: dict[str, pd.DataFrame] = {}  # generate's, checked (_checked_seeds)
        self._dp_budget: DatabaseBudget | None = None  # a whole database under DP

    # ----------------------------------------------------------------- training
    def fit(
        self,
        source: str | Path,
        model_dir: str | Path,
        *,
        overwrite: bool = False,
        progress: ProgressCallback | None = None,
        config_dir: Path | None = None,
        on_assessment: Callable[[Assessment], None] | None = None,
        executor: Executor | None = None,
        ray: str | None = None,
    ) -> RelationalSynthesizer:
        """Read ``source``, check the schema, assess, train every table; save the model.

        ``executor`` (for example :class:`synthloom.scale.RayExecutor`) trains the tables
        as tasks side by side, a wide table's column clusters as tasks of their own; else
        one after another here."""
        refuse_ray_keyword(ray)
        config = self.config
        with training_dir(model_dir, overwrite) as directory:
            timeline = Timeline(directory / STATUS_FILE, progress)
            self.timeline_ = timeline
            with timeline.step("loading") as event:
                data = read_source(source, config, config_dir)
                schema, frames = build_schema(data.frames, data.keys, config, data.all_tables)
                for name, table in schema.tables.items():
                    declared = data.sql_types.get(name, {})
                    table.sql_types = {c: declared[c] for c in table.columns if c in declared}
                record = source_record(source, config_dir)
                rows = sum(len(f) for f in frames.values())
                read = sum(len(f) for f in data.frames.values())
                left = read - rows
                event.detail = (
                    f"{len(frames)} tables, {read:,} rows read"
                    + (f", {left:,} left out (references to no parent row)" if left else "")
                    + f", {rows:,} learned from, root {schema.root}"
                )
                for note in schema.left_out_notes():  # once per run, not per page view
                    log.warning("%s", note)
            with timeline.step("preprocessing") as event:
                states = self._apply_constraints(schema, frames)
                assessment = assess(schema, frames, config)
                write_json(directory / COMPLEXITY_FILE, assessment.to_dict())
                self.assessment_ = assessment
                event.detail = f"complexity {assessment.verdict}"
                if on_assessment is not None:
                    on_assessment(assessment)
                log.info("%s", assessment.describe())
                plans = {name: self._plan(schema, frames, name) for name in schema.order}
                for name, state in states.items():
                    plans[name].constraints = state
                self._save_originals(schema, frames, plans, directory)
                self._dp_budget = self._open_dp_budget(schema, frames)
            if executor is not None and self._dp_budget is not None:
                # a child's context vocabularies are its parent's DP releases: one by one
                log.info("DP: the tables train one after another (children need the root's)")
                executor = None
            if executor is not None:  # every table at once: each learns from real data only
                label = f"{len(plans)} tables on {executor.name}"
                with timeline.step("training", label) as event:
                    self._train_side_by_side(executor, schema, frames, plans, directory)
                    event.detail = f"{rows:,} rows"
            for name in schema.order if executor is None else ():
                with timeline.step("training", name) as event:
                    self._train_table(schema, frames, plans[name], directory)
                    event.detail = f"{len(frames[name]):,} rows"
            write_json(directory / PARAMS_FILE, self._meta(schema, plans, record, directory))
        self.schema, self.plans, self.source_ = schema, plans, record
        self.model_dir = Path(model_dir)
        self._load_parts(self.model_dir)
        return self

    def _apply_constraints(
        self, schema: Schema, frames: dict[str, pd.DataFrame]
    ) -> dict[str, list[dict[str, Any]]]:
        """Each synthesized table as its model learns it under its declared rules (in
        place in ``frames``); the rules' learned state per table."""
        states = {}
        for name in schema.order:
            rules = self.config.table(name).constraints
            if not rules:
                continue
            constraints = Constraints(rules)
            dp = self.config.params_for(name).dp
            constraints.check(schema.tables[name].data_columns, dp, f"tables.{name}.constraints")
            frames[name] = constraints.fit_transform(frames[name])
            states[name] = constraints.to_dict()
        return states

    def _open_dp_budget(
        self, schema: Schema, frames: dict[str, pd.DataFrame]
    ) -> DatabaseBudget | None:
        """Under DP with more than one synthesized table: the database's one budget,
        split between the tables' runs (the schema checked the structure)."""
        synthesized = [n for n in schema.order if not schema.tables[n].original]
        if not self.config.params.dp or len(synthesized) < 2:
            return None
        params = self.config.params_for(schema.root)
        if warning := weak_privacy_warning(params):  # the database's total, not a share
            log.warning("DP for the database: %s", warning)
        budget = DatabaseBudget.open(
            params.dp_epsilon, params.dp_delta, len(frames[schema.root]), synthesized
        )
        budget.public_inputs += [
            "column types as the source stores them (in relational_model.json)",
            "each child's context: the parent columns named by context_columns, else the "
            f"first {self.config.context_size_for(True)} in schema order",
        ]
        epsilon, delta = budget.share()
        log.info(
            "DP: one budget for the database (ε=%.4g, δ=%.3g), %d tables at ε=%.4g, δ=%.3g "
            "each; a person is a %s row with its child rows",
            budget.epsilon,
            budget.delta,
            len(synthesized),
            epsilon,
            delta,
            schema.root,
        )
        return budget

    def _plan(self, schema: Schema, frames: dict[str, pd.DataFrame], name: str) -> TablePlan:
        table, frame = schema.tables[name], frames[name]
        fk = table.modelled_by
        context: list[str] = []
        if fk is not None:
            context = self._context(table, fk, schema, frames)
        sequential = fk is not None and self._sequential(name)
        seed_fields: list[str] = []  # a sequence model is given its context directly
        if not sequential:
            seed_fields = [PARENT + c for c in context]
            if fk is not None:
                seed_fields += [SIBLING_INDEX, SIBLINGS]
            seed_fields += table.keep
        learned = [c for c in table.data_columns if c not in table.keep]
        plan = TablePlan(
            name=name,
            folder=_folder("tables", name) if learned else None,
            context=context,
            seed_fields=seed_fields,
            keep=list(table.keep),
            dtypes={c: str(frame[c].dtype) for c in frame.columns},
            rows=len(frame),
            sequential=sequential,
        )
        if not self.config.params_for(name).dp:  # a key's shape is read off real keys
            for column in table.fresh_keys:
                shape = learn_key_shape(frame[column])
                if shape is not None:
                    plan.key_shapes[column] = shape
        for other in table.foreign_keys:
            null_share = float(frame[list(other.columns)].isna().any(axis=1).mean() or 0.0)
            if other.self_reference:
                plan.self_refs[other.name] = null_share
                continue
            if (other is fk and sequential) or is_lookup_reference(schema.tables, other):
                continue  # the sequence's end decides; a lookup key is a learned value
            count_context = context if other is fk else self._count_context(other, frames)
            counts = children_counts(frames[other.parent], other, frame)
            plan.counts[other.name] = CountPlan(
                other.name,
                _folder("counts", other.name),
                count_context,
                null_share,
                int(counts.max(initial=0)),
            )
        return plan

    def _context(
        self,
        table: TableSchema,
        fk: ForeignKey,
        schema: Schema,
        frames: dict[str, pd.DataFrame],
    ) -> list[str]:
        """Parent columns the child is conditioned on: the config's, else the ones most
        associated with the child's columns and its number of siblings."""
        parent = schema.tables[fk.parent]
        wanted = self.config.table(table.name).context_columns
        if wanted is not None:
            bad = [c for c in wanted if c not in parent.data_columns]
            if bad:
                raise ConfigError(
                    f"tables.{table.name}.context_columns: {bad} are not data columns of the "
                    f"parent {fk.parent}; choose among {parent.data_columns}"
                )
            return list(wanted)
        size = self.config.context_size_for(self._sequential(table.name))
        if self.config.params_for(table.name).dp:  # a public rule, not a look at the data
            return parent.data_columns[:size]
        candidates = context_candidates(frames[fk.parent], parent)
        if not candidates or size == 0:
            return []
        child = frames[table.name]
        positions = parent_positions(frames[fk.parent], fk, child)
        linked = positions >= 0
        joined = child.loc[linked, table.data_columns].reset_index(drop=True)
        for column in candidates:
            joined[PARENT + column] = frames[fk.parent][column].to_numpy()[positions[linked]]
        counts = children_counts(frames[fk.parent], fk, child)
        per_parent = frames[fk.parent][candidates].copy()
        per_parent[COUNT] = counts
        scores = dict.fromkeys(candidates, 0.0)
        if len(joined) and table.data_columns:
            assoc = cramers_v_matrix(joined)
            for column in candidates:
                row = assoc.loc[PARENT + column, table.data_columns]
                scores[column] = float(row.max())
        if len(per_parent):
            assoc = cramers_v_matrix(per_parent)
            for column in candidates:
                scores[column] = max(scores[column], float(assoc.loc[column, COUNT]))
        ranked = sorted(candidates, key=lambda c: -scores[c])
        return ranked[:size]

    def _sequential(self, name: str) -> bool:
        """Whether a child table is learned as sequences (the LSTM engine, unless
        ``sequential: false``)."""
        return self.config.table(name).sequential and self.config.engine_for(name) == "lstm"

    def _count_context(self, fk: ForeignKey, frames: dict[str, pd.DataFrame]) -> list[str]:
        parent = frames[fk.parent]
        keys = set(fk.parent_columns)
        columns = [c for c in parent.columns if c not in keys]
        candidates = [c for c in columns if usable_context(parent[c])]
        size = self.config.context_size_for(sequential=False)
        if not candidates or size == 0:
            return []
        per_parent = parent[candidates].copy()
        per_parent[COUNT] = children_counts(parent, fk, frames[fk.table])
        assoc = cramers_v_matrix(per_parent)
        ranked = sorted(candidates, key=lambda c: -float(assoc.loc[c, COUNT]))
        return ranked[:size]

    def _save_originals(
        self,
        schema: Schema,
        frames: dict[str, pd.DataFrame],
        plans: dict[str, TablePlan],
        directory: Path,
    ) -> None:
        (directory / "originals").mkdir(exist_ok=True)
        for name in schema.originals:
            frames[name].to_parquet(directory / _folder("originals", name, ".parquet"))
        for name, plan in plans.items():
            if plan.keep:
                (directory / "keep").mkdir(exist_ok=True)
                frames[name][plan.keep].to_parquet(directory / _folder("keep", name, ".parquet"))

    def _train_side_by_side(
        self,
        executor: Executor,
        schema: Schema,
        frames: dict[str, pd.DataFrame],
        plans: dict[str, TablePlan],
        directory: Path,
    ) -> None:
        """Train every table's models as the executor's tasks. All of them learn from the
        real tables, never from another model, so no table waits for another; each task's
        files land in ``directory`` as a run here writes them, and the timeline hears of
        each table as it lands, with the seconds its task trained."""
        names = list(schema.order)
        done = executor.run(
            _train_table_task,
            [(plans[name],) for name in names],
            shared=(self, schema, frames, executor),
            label=lambda i: f"table {names[i]}",
        )
        for index, (files, plan, seconds) in done:
            land_files(files, directory)
            plans[names[index]] = plan  # as training left it: DP publishes released rows
            detail = f"{len(frames[names[index]]):,} rows, a {executor.name} task"
            assert self.timeline_ is not None
            self.timeline_.finished("training", names[index], seconds, detail)

    def _train_table(
        self,
        schema: Schema,
        frames: dict[str, pd.DataFrame],
        plan: TablePlan,
        directory: Path,
        executor: Executor | None = None,
    ) -> None:
        """One table's models (its own and its count models) into ``directory``; with an
        ``executor`` (in its task) a wide LSTM table's column clusters as tasks of their
        own."""
        table, frame = schema.tables[plan.name], frames[plan.name]
        fk = table.modelled_by
        if plan.sequential:
            assert fk is not None and plan.folder is not None
            self._train_sequences(schema, plan, fk, frames, directory / plan.folder)
        elif plan.folder is not None:
            lookups = lookup_columns(schema, table)
            training = lookups_as_text(frame[table.data_columns].reset_index(drop=True), lookups)
            if fk is not None:
                training = with_context(training, frame, frames[fk.parent], fk, plan.context)
            engine = self.config.engine_for(plan.name)
            seeds = plan.seed_fields
            if fk is None and self.config.generate.rebalance:  # the root: seed field to rebalance
                seeds = [*seeds, *self.config.generate.rebalance]
            synth = self._table_synthesizer(plan.name, seeds, engine, lookups=lookups)
            clusters = executor if engine == "lstm" and not synth.config.params.dp else None
            synth.fit(
                training,
                directory / plan.folder,
                log_warning=lambda message: _own_columns_warning(f"table {plan.name}: {message}"),
                force=True,  # the database decides which tables are small: warn only
                executor=clusters,
            )
            _stop_if_interrupted(synth, plan.name)
            if synth.config.params.dp:
                _publish_released_rows(plan, directory / plan.folder)
        for other in table.foreign_keys:
            if other.name not in plan.counts:
                continue
            count_plan = plan.counts[other.name]
            parent = frames[other.parent]
            counts_frame = pd.DataFrame(
                {PARENT + c: parent[c].to_numpy() for c in count_plan.context}
            )
            counts_frame[COUNT] = children_counts(parent, other, frame)
            if counts_frame.empty:
                raise DataError(
                    f"table {other.parent} has no rows, so {plan.name} cannot learn how many "
                    "rows each of its rows gets; give it rows or exclude it"
                )
            seeds = [PARENT + c for c in count_plan.context]
            counter = self._table_synthesizer(
                plan.name, seeds, self.config.count_engine, counts=True
            )
            counter.fit(
                counts_frame, directory / count_plan.folder, log_warning=log.debug, force=True
            )
            _stop_if_interrupted(counter, plan.name)

    def _train_sequences(
        self,
        schema: Schema,
        plan: TablePlan,
        fk: ForeignKey,
        frames: dict[str, pd.DataFrame],
        folder: Path,
    ) -> None:
        """One sequence per parent row (childless parents included): the parent's context
        columns, then its children in ``order_by`` (else source) order."""
        table = schema.tables[plan.name]
        frame, parent = frames[plan.name], frames[fk.parent]
        learned = [c for c in table.data_columns if c not in plan.keep]
        context = parent_context(parent, plan.context)
        conf = self.config.table(plan.name)
        dropped = [c for c in conf.order_by if c not in learned]
        if dropped:
            raise ConfigError(
                f"tables.{plan.name}.order_by: {dropped} are not learned columns of "
                f"{plan.name} (keys and kept columns cannot order it); choose among {learned}"
            )
        lookups = lookup_columns(schema, table)
        sections = self._sections(plan.name, lookups=lookups)
        sections["time_series"] = {
            "order_by": conf.order_by,
            "max_sequence_rows": conf.max_sequence_rows,
        }
        synth = SequenceSynthesizer(validate_config(SyntheticsConfig, sections))
        context_codec = None
        if synth.config.params.dp:  # the parent's DP releases: public to this run
            parent_dir = folder.parent.parent / _folder("tables", fk.parent)
            parent_model = TableSynthesizer.load(parent_dir)
            context_codec = parent_model.column_codec(plan.context).prefixed(PARENT)
        synth.fit(
            lookups_as_text(frame[learned].reset_index(drop=True), lookups),
            folder,
            entity=parent_positions(parent, fk, frame),
            context=context,
            context_codec=context_codec,
        )
        _stop_if_interrupted(synth, plan.name)
        if synth.config.params.dp:
            plan.rows = None  # the exact row count is private

    def _sections(
        self, table: str, counts: bool = False, lookups: list[str] | None = None
    ) -> dict[str, Any]:
        """The synthetics config sections of one table's model; ``lookups`` (columns
        referencing an original table) are categories, so only real keys come out."""
        config = self.config
        params = config.params_for(table)
        if counts:  # how many children each parent has: structure, learned as it is
            params = params.model_copy(update={"dp": False, "value_protection": False})
        elif self._dp_budget is not None:  # this table's share of the database's budget
            epsilon, delta = self._dp_budget.share()
            params = params.model_copy(update={"dp_epsilon": epsilon, "dp_delta": delta})
        return {
            "params": params.model_dump(exclude_unset=True),
            "generate": config.generate_section().model_dump(),
            "validators": config.validators.model_dump(),
            "fallback": config.fallback.model_dump(),
            "columns": {
                **{
                    c: o.model_dump(exclude_defaults=True)
                    for c, o in config.table(table).column_kinds.items()
                },
                # references to original tables: real keys, never protected away
                **{c: {"kind": "categorical", "value_protection": False} for c in lookups or []},
            },
        }

    def _table_synthesizer(
        self,
        table: str,
        seed_fields: list[str],
        engine: str,
        counts: bool = False,
        lookups: list[str] | None = None,
    ) -> TableSynthesizer:
        sections = self._sections(table, counts, lookups)
        if seed_fields:
            sections["task"] = {"type": "seed", "attrs": {"fields": seed_fields}}
        for column in seed_fields:  # the parent's columns and places: given, not learned
            sections["columns"].setdefault(column, {})["value_protection"] = False
        return TableSynthesizer(validate_config(SyntheticsConfig, sections), engine=engine)

    def _meta(
        self,
        schema: Schema,
        plans: dict[str, TablePlan],
        source: dict[str, Any],
        directory: Path,
    ) -> dict[str, Any]:
        config = self.config.model_dump(mode="json", exclude_unset=True)
        if config.get("source") and is_database_url(config["source"]):  # no password
            config["source"] = source_record(config["source"])["location"]
        meta = {
            **model_header(DATA_KIND),
            "config": config,
            # where the data came from (no credentials, no rows): the real side of a report
            "source": source,
            "schema": schema.to_dict(),
            "plans": {name: plan.to_dict() for name, plan in plans.items()},
        }
        if self.config.params.dp:  # the table's training_summary.json holds ε and δ
            meta["privacy_not_covered"] = [DP_NOT_COVERED]
        if self._dp_budget is not None:  # and the database's account adds them up
            meta["privacy"] = self._dp_budget.summary(
                {
                    name: read_json(directory / plans[name].folder / SUMMARY_FILE)["privacy"]
                    for name in self._dp_budget.tables
                }
            )
            account = meta["privacy"]
            log.info(
                "DP: the database spent ε=%.4g, δ=%.3g in all (%s)",
                account["epsilon"],
                account["delta"],
                account["neighbouring"],
            )
        return meta

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(cls, model_dir: str | Path) -> RelationalSynthesizer:
        """Load a trained relational model from its directory."""
        directory = Path(model_dir)
        if not (directory / PARAMS_FILE).is_file():
            raise ModelDirError(
                f"{directory} is not a relational model dir (no {PARAMS_FILE}); give the "
                "folder that `synthloom relational train --model-dir` wrote"
            )
        meta = read_json(directory / PARAMS_FILE)
        if meta.get("data_kind") != DATA_KIND:
            raise ModelDirError(
                f"{directory} holds a {meta.get('data_kind')} model, not a relational one; "
                "use `synthloom generate` for it"
            )
        verify_manifest(directory)
        with loading(directory):
            synth = cls(parse_relational_config(meta["config"]))
            synth.schema = Schema.from_dict(meta["schema"])
            synth.plans = {name: TablePlan.from_dict(p) for name, p in meta["plans"].items()}
            synth.model_dir = directory
            synth.source_ = meta.get("source")
            synth._load_parts(directory)
        return synth

    def _load_parts(self, directory: Path) -> None:
        assert self.schema is not None
        self._models = {}
        for plan in self.plans.values():
            if plan.sequential:
                self._models[plan.name] = SequenceSynthesizer.load(directory / plan.folder)
            elif plan.folder is not None:
                self._models[plan.name] = TableSynthesizer.load(directory / plan.folder)
            for count_plan in plan.counts.values():
                self._models[count_plan.fk] = TableSynthesizer.load(directory / count_plan.folder)
            if plan.keep:
                self._keep[plan.name] = pd.read_parquet(
                    directory / _folder("keep", plan.name, ".parquet")
                )
        self._originals = {
            name: pd.read_parquet(directory / _folder("originals", name, ".parquet"))
            for name in self.schema.originals
        }

    # ------------------------------------------------------------------- report
    def real_tables(
        self, source: str | Path | None = None, config_dir: Path | None = None
    ) -> dict[str, pd.DataFrame]:
        """The real tables, as the model learned them, read again from ``source`` (default:
        the source recorded at training; the model dir keeps no training rows).

        Raises:
            DataError: no source was recorded (a model trained before 0.1.0 recorded none),
                the recorded database needed a password (never stored), or the source no
                longer has the tables.
        """
        if self.schema is None:
            raise ConfigError("this synthesizer is not trained; call fit() or load() first")
        if source is None:
            record = self.source_
            if not record:
                raise DataError(
                    "the model dir does not record where its training data came from; pass "
                    "the source (--report-source URL|FOLDER) to read the real tables"
                )
            if record.get("password"):
                raise DataError(
                    f"the training database {record['location']} needed a password, which the "
                    "model dir does not keep; pass its URL (--report-source URL) to read it"
                )
            source = record["location"]
            if record.get("config_dir"):
                config_dir = Path(record["config_dir"])
        data = read_source(source, self.config, config_dir)
        _, frames = build_schema(data.frames, data.keys, self.config, data.all_tables)
        missing = [name for name in self.schema.tables if name not in frames]
        if missing:
            raise DataError(f"the source {source} no longer has the table(s) {missing}")
        return {name: frames[name] for name in self.schema.tables}

    def report(
        self,
        synthetic: dict[str, pd.DataFrame],
        output_dir: str | Path,
        *,
        source: str | Path | None = None,
        per_table_reports: bool = True,
        options: Any = None,
    ) -> dict[str, Any]:
        """Write the relational report of ``synthetic`` (what :meth:`generate` returned)
        against the real tables (:meth:`real_tables`) into ``output_dir``; see
        :func:`synthloom.relational.build_relational_report`."""
        from synthloom.relational.report import build_relational_report

        assert self.schema is not None
        return build_relational_report(
            self.real_tables(source),
            synthetic,
            self.schema,
            output_dir,
            per_table_reports=per_table_reports,
            options=options,
            order_by={name: self.config.table(name).order_by for name in self.schema.order},
            **self.report_claims(),
        )

    def report_claims(self) -> dict[str, Any]:
        """What the model says its reports should show beside their own figures, as
        :func:`build_relational_report` keywords: value protection and sensitive columns
        per table, and under DP the (ε, δ) that covers the whole database."""
        return {
            "protected": self.value_protection(),
            "sensitive": self.sensitive_columns(),
            "privacy": self.privacy_account(),
        }

    def privacy_account(self) -> dict[str, Any] | None:
        """Under DP, the privacy account that covers every table (the database's, or the
        one DP table's); None without DP."""
        if self.model_dir is None or not self.config.params.dp:
            return None
        meta = read_json(self.model_dir / PARAMS_FILE)
        if meta.get("privacy"):
            return meta["privacy"]
        for plan in self.plans.values():
            path = self.model_dir / plan.folder / SUMMARY_FILE if plan.folder else None
            privacy = read_json(path).get("privacy") if path and path.exists() else None
            if privacy:
                return privacy
        return None

    def sensitive_columns(self) -> dict[str, tuple[str, ...]]:
        """Per table, the columns its config marks sensitive (``column_kinds: {name:
        {sensitive: true}}``): the per-table reports run the attribute-inference attack on
        them."""
        assert self.schema is not None
        return {
            name: tuple(c for c, o in self.config.table(name).column_kinds.items() if o.sensitive)
            for name in self.schema.order
        }

    def value_protection(self) -> dict[str, tuple[dict[str, Any], ...]]:
        """Per learned table, what value protection changed in its training rows (its
        model's ``training_summary.json``), for the per-table reports."""
        out: dict[str, tuple[dict[str, Any], ...]] = {}
        for name, plan in self.plans.items():
            if self.model_dir is None or plan.folder is None:
                continue
            path = self.model_dir / plan.folder / SUMMARY_FILE
            if path.exists():
                out[name] = tuple(read_json(path).get("value_protection") or ())
        return out

    # --------------------------------------------------------------- generation
    def generate(
        self,
        num_records: int | None = None,
        *,
        seed: int | None = None,
        rebalance: dict[str, dict[Any, float]] | None = None,
        predict_batch_size: int | None = None,
        progress: ProgressCallback | None = None,
        key_offset: int = 0,
        seeds: dict[str, pd.DataFrame] | None = None,
    ) -> dict[str, pd.DataFrame]:
        """A synthetic database: ``num_records`` rows of the root table, every other table
        following, original tables copied; keys checked before it is returned.

        ``rebalance`` (``{column: {value: share}}``, default ``generate.rebalance``) sets
        value shares of a root-table column that the model was trained to rebalance;
        ``predict_batch_size`` (default ``generate.predict_batch_size``, else each table's
        params) is the rows a row-by-row table model samples per step (sequence children
        sample a fixed number of parents at a time). New keys count from ``key_offset`` + 1
        (a shard of a larger run: synthloom.scale).

        ``seeds`` (``{table: rows}``) conditions the database on given values: the root's
        seed rows (any of its columns) become its rows, one each and in order, so there are
        as many root rows as seed rows; a child learned as sequences under the root may
        have seed rows too, each with its foreign key naming a root seed row's primary key
        and values of some of the child's own columns: they are that parent's first
        children, the rest of each row drawn given them (see
        :meth:`SequenceSynthesizer.generate`), and it may have more children after them.
        Given values come back as given."""
        if self.schema is None:
            raise ConfigError("this synthesizer is not trained; call fit() or load() first")
        schema = self.schema
        self._sampling = self.sampling(rebalance, predict_batch_size)
        self._key_offset = key_offset
        self._seeds = self._checked_seeds(seeds or {})
        if schema.root in self._seeds:
            num_records = len(self._seeds[schema.root])
        n = num_records if num_records is not None else self.config.generate.num_records
        if n is None:
            n = self.plans[schema.root].rows
        if n <= 0:
            raise ConfigError(f"num_records={n} must be a positive number of root rows")
        seed = seed if seed is not None else self.config.generate.seed
        rng = np.random.default_rng(seed)
        path = self.model_dir / GENERATION_STATUS_FILE if self.model_dir is not None else None
        timeline = Timeline(path, progress)
        self.timeline_ = timeline
        tables: dict[str, pd.DataFrame] = {k: v.copy() for k, v in self._originals.items()}
        for index, name in enumerate(schema.order):
            with timeline.step("generation", name) as event:
                table_seed = None if seed is None else seed + 101 * index
                tables[name] = self._generate_table(name, tables, n, rng, table_seed)
                event.detail = f"{len(tables[name]):,} rows"
        for name in schema.order:  # children were seeded with their parents as learned
            rules = self.config.table(name).constraints
            if rules:
                tables[name] = Constraints(rules, self.plans[name].constraints).reverse(
                    tables[name]
                )
        with timeline.step("generation", "integrity check") as event:
            self.integrity_ = require_integrity(schema, tables)
            event.detail = f"{100 * self.integrity_.share:.0f}% of references valid"
        return {name: tables[name] for name in schema.tables}

    def _checked_seeds(self, seeds: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
        """The seed rows by table as the models take them (the root's: its data columns;
        a child's: an ``__entity`` column, the root seed row it belongs to, and its own
        columns as learned), each problem one line."""
        assert self.schema is not None
        schema, root = self.schema, self.schema.root
        if not seeds:
            return {}
        unknown = [name for name in seeds if name not in schema.tables]
        if unknown:
            raise DataError(f"seeds for {unknown}: not tables of the model {sorted(schema.tables)}")
        if self._sampling["rebalance"] and root in seeds:
            raise ConfigError("give seeds or rebalance for the root table, not both")
        out: dict[str, pd.DataFrame] = {}
        keys = seeds.get(root)
        if keys is not None:
            out[root] = self._root_seeds(keys.rename(columns=str))
        for name, frame in seeds.items():
            if name == root:
                continue
            table, plan = schema.tables[name], self.plans.get(name)
            fk = table.modelled_by
            if plan is None or not plan.sequential or fk is None or fk.parent != root:
                raise DataError(
                    f"seeds for {name}: only the root table ({root}) and the child tables "
                    "learned as sequences under it take seeds"
                )
            if keys is None:
                raise DataError(
                    f"seeds for {name} name their parents by key: give seeds for the root "
                    f"table {root} too, with its key {list(fk.parent_columns)}"
                )
            out[name] = self._child_seeds(name, frame.rename(columns=str), keys)
        return out

    def _root_seeds(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The root's seed rows without its key columns (they name rows for the children's
        seeds; the rows get new keys)."""
        assert self.schema is not None
        table = self.schema.tables[self.schema.root]
        if frame.empty:
            raise DataError(f"the seeds for {table.name} have no rows; give at least one")
        refuse_unknown_seed_columns(frame.columns, table.columns, table.name, table.data_columns)
        keys = [c for c in table.primary_key if c in frame.columns]
        if keys and frame.duplicated(subset=keys).any():
            raise DataError(f"the seeds for {table.name} repeat a key {keys}; give each once")
        data = [c for c in frame.columns if c in table.data_columns]
        lookups = [c for c in lookup_columns(self.schema, table) if c in data]
        return lookups_as_text(frame[data].reset_index(drop=True), lookups)

    def _child_seeds(self, name: str, frame: pd.DataFrame, roots: pd.DataFrame) -> pd.DataFrame:
        """A sequence child's seed rows: the root seed row each belongs to (by its foreign
        key) as ``__entity``, then its own given columns."""
        assert self.schema is not None
        table = self.schema.tables[name]
        fk = table.modelled_by
        assert fk is not None
        missing = [c for c in fk.columns if c not in frame.columns]
        absent = [c for c in fk.parent_columns if c not in roots.columns]
        if missing or absent:
            raise DataError(
                f"seeds for {name}: each row names its parent by {list(fk.columns)}, the "
                f"root seeds' {list(fk.parent_columns)}; give those columns"
            )
        positions = parent_positions(roots.reset_index(drop=True), fk, frame)
        if (positions < 0).any():
            example = frame.loc[positions < 0, list(fk.columns)].iloc[0].tolist()
            raise DataError(
                f"seeds for {name}: parent key {example} is not among the root seeds' keys"
            )
        own = [c for c in frame.columns if c not in fk.columns]
        refuse_unknown_seed_columns(own, table.data_columns, name, table.data_columns)
        lookups = [c for c in lookup_columns(self.schema, table) if c in own]
        given = lookups_as_text(frame[own].reset_index(drop=True), lookups)
        given.insert(0, ENTITY, positions)
        return given

    def sampling(
        self,
        rebalance: dict[str, dict[Any, float]] | None = None,
        predict_batch_size: int | None = None,
    ) -> dict[str, Any]:
        """The table models' sampling options of a run, checked: the rebalance (the
        config's where not given) of a root column trained for it, the batch size."""
        assert self.schema is not None
        gen = self.config.generate
        rebalance = rebalance if rebalance is not None else gen.rebalance
        if rebalance and next(iter(rebalance)) not in self._root_seed_fields():
            raise ConfigError(
                f"rebalance column {next(iter(rebalance))!r}: the root table "
                f"{self.schema.root} was trained without it; set generate.rebalance in the "
                "config and train again"
            )
        if rebalance and (problem := rebalance_problem(rebalance)):
            raise ConfigError(problem)
        batch = predict_batch_size if predict_batch_size is not None else gen.predict_batch_size
        return {"rebalance": rebalance, "predict_batch_size": batch}

    def _generate_table(
        self,
        name: str,
        tables: dict[str, pd.DataFrame],
        num_records: int,
        rng: np.random.Generator,
        seed: int | None,
    ) -> pd.DataFrame:
        assert self.schema is not None
        table, plan = self.schema.tables[name], self.plans[name]
        fk = table.modelled_by
        positions = None
        if plan.sequential:
            assert fk is not None
            rows, positions = self._sequences(plan, tables[fk.parent], seed)
            n = len(rows)
            seeds = pd.DataFrame(index=range(n))
        elif fk is None:
            n = num_records
            seeds = pd.DataFrame(index=range(n))
        else:
            parent = tables[fk.parent]
            counts = self._counts(plan.counts[fk.name], parent, seed)
            positions = np.repeat(np.arange(len(parent)), counts)
            n = len(positions)
            seeds = pd.DataFrame(
                {PARENT + c: parent[c].to_numpy()[positions] for c in plan.context}
            )
            seeds[SIBLING_INDEX] = sibling_index(positions)
            seeds[SIBLINGS] = counts[positions]
        if plan.keep:
            real = self._keep[name]
            picked = rng.integers(0, len(real), n) if len(real) else np.zeros(0, int)
            for column in plan.keep:
                seeds[column] = real[column].to_numpy()[picked]
        if plan.sequential:
            rows = pd.concat([rows, seeds], axis=1)
        else:
            rows = self._rows(plan, seeds, n, seed)
        frame = pd.DataFrame(index=range(n))
        lookups = lookup_columns(self.schema, table)
        for column in table.data_columns:
            frame[column] = rows[column].to_numpy() if n else pd.Series(dtype=object)
            if column in lookups:
                frame[column] = lookup_values(frame[column], plan.dtypes.get(column))
            frame[column] = like(frame[column], plan.dtypes.get(column))
        if fk is not None:
            assert positions is not None
            copy_key(frame, fk, tables[fk.parent], positions)
        for other in table.foreign_keys:
            if other is fk or other.name not in plan.counts:
                continue  # the modelling parent, self-references, learned lookup keys
            count_plan = plan.counts[other.name]
            parent = tables[other.parent]
            capacities = self._counts(count_plan, parent, seed) if len(parent) else np.zeros(0)
            slots = reference_slots(frame, other, self.schema, parent, capacities, rng)
            nulls = rng.random(n) < count_plan.null_share
            copy_key(frame, other, parent, np.where(nulls, -1, slots))
        references = {k: v for k, v in plan.self_refs.items()}
        if references:
            order, _ = self_reference_order(n, 0.0, True, rng)
            frame = frame.iloc[order].reset_index(drop=True)
        self._new_keys(frame, table, plan)
        for other in table.foreign_keys:
            if other.self_reference:
                null_share = references[other.name]
                _, refs = self_reference_order(n, null_share, null_share == 0.0, rng)
                copy_key(frame, other, frame, refs)
        return frame[table.columns]

    def _sequences(
        self, plan: TablePlan, parent: pd.DataFrame, seed: int | None
    ) -> tuple[pd.DataFrame, np.ndarray]:
        """The rows of every generated parent's sequence, and each row's parent position."""
        context = parent_context(parent, plan.context)
        if len(parent) == 0:
            return pd.DataFrame(), np.zeros(0, dtype=np.int64)
        batch = self._sampling["predict_batch_size"]
        rows = self._models[plan.name].generate(
            context=context,
            seeds=self._seeds.get(plan.name),
            seed=seed,
            predict_batch_size=batch,
        )
        positions = rows.pop(ENTITY).to_numpy()
        return rows.reset_index(drop=True), positions

    def _rows(self, plan: TablePlan, seeds: pd.DataFrame, n: int, seed: int | None) -> pd.DataFrame:
        """The learned columns of ``n`` rows (plus the seed columns), from the table's model."""
        if n == 0:
            return pd.DataFrame()
        model = self._models.get(plan.name)
        if model is None:
            return seeds
        batch = self._sampling["predict_batch_size"]
        given = self._seeds.get(plan.name)
        if given is not None and len(given.columns):
            rows = model.generate(seeds=given, seed=seed, predict_batch_size=batch)
            kept = seeds.drop(columns=rows.columns, errors="ignore")  # keep columns
            return pd.concat([rows.reset_index(drop=True), kept], axis=1)
        if plan.seed_fields:
            return model.generate(
                seeds=seeds[plan.seed_fields], seed=seed, predict_batch_size=batch
            )
        return model.generate(n, seed=seed, **self._sampling)  # the root

    def _root_seed_fields(self) -> list[str]:
        assert self.schema is not None
        model = self._models.get(self.schema.root)
        return model.seed_fields if model is not None else []

    def _counts(self, plan: CountPlan, parent: pd.DataFrame, seed: int | None) -> np.ndarray:
        """Children of each parent row, from the count model seeded with its context."""
        if len(parent) == 0:
            return np.zeros(0, dtype=np.int64)
        model = self._models[plan.fk]
        if plan.context:
            seeds = pd.DataFrame({PARENT + c: parent[c].to_numpy() for c in plan.context})
            drawn = model.generate(seeds=seeds, seed=seed)
        else:
            drawn = model.generate(len(parent), seed=seed)
        counts = pd.to_numeric(drawn[COUNT], errors="coerce").astype("Float64").fillna(0)
        return counts.clip(0, plan.max_count).round().astype(int).to_numpy()

    def _new_keys(self, frame: pd.DataFrame, table: TableSchema, plan: TablePlan) -> None:
        """New primary-key values; key columns that are also foreign keys keep theirs."""
        fresh = table.fresh_keys
        for column in fresh:
            frame[column] = new_key_values(
                frame,
                column,
                table.name,
                plan.dtypes[column],
                self._key_offset,
                plan.key_shapes.get(column),
            )
        if table.primary_key and not fresh:
            repeated = frame.duplicated(subset=table.primary_key)
            if repeated.any():
                log.info("%s: %d rows repeat a key and are dropped", table.name, repeated.sum())
                frame.drop(index=frame.index[repeated], inplace=True)
                frame.reset_index(drop=True, inplace=True)


def read_database(
    source: str | Path,
    config: RelationalConfig | dict[str, Any] | str | Path | None = None,
    config_dir: Path | None = None,
) -> tuple[Schema, dict[str, pd.DataFrame]]:
    """The checked schema and the tables of ``source`` as a model learns them (the real
    side of a report)."""
    config = RelationalSynthesizer(config).config
    data = read_source(source, config, config_dir)
    return build_schema(data.frames, data.keys, config, data.all_tables)


# ------------------------------------------------------------------------------ helpers


def _folder(kind: str, name: str, suffix: str = "") -> str:
    return f"{kind}/{safe_file_name(name)}{suffix}"


# What a DP relational model dir states outside the DP table model.
DP_NOT_COVERED = (
    "complexity.json, status.json and the log state the exact row counts of the source "
    "tables (for the data's owner)"
)


def _publish_released_rows(plan: TablePlan, folder: Path) -> None:
    """Under DP the model keeps the released row count, never the exact one."""
    plan.rows = int(read_json(folder / SUMMARY_FILE)["training_records"])


def _own_columns_warning(message: str) -> None:
    """Data-check warnings, less those about parent columns (reported with the parent)."""
    if f"'{PARENT}" not in message:
        log.warning("%s", message)


def _stop_if_interrupted(synth: TableSynthesizer, table: str) -> None:
    """Ctrl-C stopped one table's training: end the whole run, saving nothing new."""
    result = synth.training_result_
    if result is not None and result.stop_reason == "interrupted":
        raise TrainingInterrupted(
            f"Ctrl-C while training table {table}: relational training stopped; an earlier "
            "model in the model dir is kept, nothing new was saved"
        )


def _train_table_task(
    synth: RelationalSynthesizer,
    schema: Schema,
    frames: dict[str, pd.DataFrame],
    executor: Executor,
    plan: TablePlan,
) -> tuple[dict[str, bytes], TablePlan, float]:
    """An executor's task: one table's model files, its plan as training left it, and the
    seconds it took; a wide table's column clusters train as tasks of their own."""
    mark_worker_process()
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="synthloom-train-") as folder:
        root = Path(folder)
        synth._train_table(schema, frames, plan, root, executor)
        return folder_files(root), plan, time.monotonic() - start
