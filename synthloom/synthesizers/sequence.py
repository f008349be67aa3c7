"""SequenceSynthesizer: a table learned as sequences of rows, one per entity.

Two uses share it: a time-series table (``time_series: {entity_column, order_by}``; one
long series when there is no entity column), and a child table of a database, one
sequence per parent row with the parent's columns as context (see
:mod:`synthloom.relational`). Each generated row is conditioned on the context and on
every earlier row of the same entity; how many rows an entity has is the model's own end
decision (a time series takes its series lengths from the training series instead).

Why one module of this length: the sequence codec, the windows it trains on and the
entity-by-entity sampler change together (a window's context is what sampling must
rebuild), so they are read together; the DP run and the table defaults are in
:mod:`.base`.
"""

from __future__ import annotations

import itertools
import logging
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from synthloom.config import Params, SyntheticsConfig, TimeSeries
from synthloom.encoding.columns import (
    apply_treatments,
    max_lengths,
    protect_values,
    requested_kinds,
)
from synthloom.encoding.fields import CategoricalField, NumericField, TableCodec
from synthloom.encoding.private_kinds import retype_like
from synthloom.encoding.sequences import (
    WINDOW_COLUMN,
    ChangeStep,
    SequenceCodec,
    WindowLevel,
    change_steps,
    group_starts,
    order_steps,
    static_columns,
    to_changes,
    to_gaps,
    window_levels,
)
from synthloom.errors import ConfigError, DataError
from synthloom.io.model_dir import (
    HOLDOUT_FILE,
    PARAMS_FILE,
    SUMMARY_FILE,
    check_shape,
    holdout_record,
    keep_old_if_interrupted,
    load_weights,
    loading,
    read_json,
    require_model_dir,
    training_dir,
    write_json,
)
from synthloom.io.schema import ColumnInfo, TableFormat
from synthloom.io.tables import describe_frame, read_frame
from synthloom.lstm.calibration import (
    ROUNDS,
    Rates,
    Shares,
    calibrated_biases,
    field_shares,
    position_rates,
)
from synthloom.lstm.model import pick_device
from synthloom.lstm.sequence_model import (
    FLAG_END,
    FLAG_ROW,
    ROW_POSITIONS,
    RowRules,
    SequenceLSTM,
    SequenceSampler,
    SequenceShape,
    field_key,
)
from synthloom.lstm.threads import ThreadGovernor
from synthloom.lstm.train import (
    EpochCallback,
    Trainer,
    TrainingResult,
    first_given,
    seed_everything,
    split_holdout,
    training_summary,
)
from synthloom.privacy.entropy import secure_rng
from synthloom.synthesizers.base import (
    PrivateRun,
    model_header,
    refuse_unknown_seed_columns,
    table_params,
)
from synthloom.synthesizers.table_sampling import cast_like

log = logging.getLogger("synthloom")

DATA_KIND = "sequence"
ENTITY = "__entity"
# Entities sampled side by side: wide batches keep the per-step overhead small (ended
# entities leave the batch, so late rows cost little).
SEQUENCE_SAMPLING_BATCH = 65536
# Calibration of a child table's end flag and zero gaps (not under DP): generated rows per round
# (training parents sampled to about this many rows).
CALIBRATION_ROWS = 50_000
# Share of the time cap kept for calibration after training (Lahman Batting, 108,789 rows:
# calibration took 14.8 s of a 30 s cap, which training had used up, and the table took
# 44.5 s); when the rounds would not fit in it, they sample fewer parents, never fewer
# than MIN_CALIBRATION_PARENTS.
CALIBRATION_SHARE = 0.15
MIN_CALIBRATION_PARENTS = 200
# Sequence models' own defaults for params the user did not set (see _sequence_defaults).
SEQUENCE_DEFAULTS = {"learning_rate": 0.01, "rnn_layers": 1, "learning_rate_schedule": "plateau"}
# Fewest entities per training batch when the batch size is chosen for the data.
MIN_ENTITY_BATCH = 16
# A child's sequences learn their length class first (a static context column): rows
# then pace a bounded, ordered column (months in date order) to the sequence's length
# instead of running to its last value (flights by month: 31% of rows in December).
LENGTH_CLASS = "__length_class"
LENGTH_CLASSES = 8


class SequenceSynthesizer:
    """Learns sequences of rows per entity and generates new entities with their rows.

    Options are those of the YAML config (:class:`SyntheticsConfig`, its ``time_series``
    section for a single table), as a config or keywords.
    """

    def __init__(self, config: SyntheticsConfig | None = None, **options: Any) -> None:
        if config is not None and options:
            raise ConfigError("give either a config or keyword options, not both")
        self.config = config if config is not None else SyntheticsConfig.from_options(**options)
        self.codec: SequenceCodec | None = None
        self.network: SequenceLSTM | None = None
        self.model_dir: Path | None = None
        self.training_result_: TrainingResult | None = None
        self.table_format: TableFormat | None = None
        self.max_rows = 0
        self.lengths: list[int] = []  # training series lengths (time series, not under DP)
        # Recent-level context of series longer than one window (see WindowLevel)
        self.levels: list[WindowLevel] = []
        # Logit shifts per row index calibrated after training (child tables), by kind
        # (see _calibrated and SequenceSampler)
        self.calibration: dict[str, list] = {}
        self.n_entities = 0  # entities learned (under DP the released count)
        self._device = torch.device("cpu")

    @property
    def series(self) -> TimeSeries:
        """The sequence options (defaults when the config has none)."""
        return self.config.time_series or TimeSeries()

    # ----------------------------------------------------------------- training
    def fit(
        self,
        data: str | Path | pd.DataFrame,
        model_dir: str | Path,
        *,
        entity: np.ndarray | None = None,
        context: pd.DataFrame | None = None,
        context_codec: TableCodec | None = None,
        overwrite: bool = False,
        epoch_callback: EpochCallback | None = None,
        show_progress: bool = False,
    ) -> SequenceSynthesizer:
        """Learn ``data``'s sequences; write the model into ``model_dir``.

        Args:
            data: The rows (a table file or DataFrame).
            model_dir: Where the model goes (replaced only when training succeeds).
            entity: For a child table: the entity (row of ``context``) of each row, -1 for
                none; without it the ``time_series.entity_column`` groups the rows.
            context: For a child table: one row per entity (parents without rows
                included), the columns given at generation.
            context_codec: Under DP, the context columns' codec as the parent's DP model
                released it (their vocabularies are then public to this model).
        """
        began = time.monotonic()  # the time cap covers reading, encoding and calibration too
        frame, table_format = read_frame(data, self.config.params.field_delimiter)
        frame, table_format = apply_treatments(frame, table_format, self.config.columns)
        entity_column = self.series.entity_column if context is None else None
        frame, protected = protect_values(
            frame,
            table_format,
            self.config.params,
            self.config.columns,
            exempt=(entity_column,) if entity_column else (),
        )
        dp = self.config.params.dp
        infos = {c.name: c for c in table_format.columns}
        if context is None:
            frame, entity, context = self._series(frame, table_format, windows=not dp)
            # the windows' own context columns (WINDOW_COLUMN, level bins)
            infos.update({c: ColumnInfo(c, "string") for c in frame.columns if c not in infos})
        elif dp and len(context.columns) and context_codec is None:
            raise ConfigError(
                "dp: a child table's context columns need their parent's released "
                "vocabularies; train the database with `synthloom relational train`"
            )
        else:
            assert entity is not None
            frame, entity = _sorted(
                frame, entity, self.series.order_by, cap=self.series.max_sequence_rows
            )
            infos.update({c.name: c for c in describe_frame(context).columns})
            if not dp:  # learned once per entity (a static column), never output
                frame[LENGTH_CLASS] = length_classes(entity)
                infos[LENGTH_CLASS] = ColumnInfo(LENGTH_CLASS, "string")
        params = table_params(self.config.params, flat=False)
        if not dp:
            params = _sequence_defaults(params, self.config.params)
        seed_everything(params.seed)
        train_idx, val_idx = split_holdout(
            len(context), params.validation_share, np.random.default_rng(params.seed)
        )
        private = None
        if dp:  # structure from DP releases and public facts only
            frame, codec, private = self._fit_private_codec(
                frame, entity, table_format, train_idx, context_codec
            )
            self.lengths = []  # lengths come from the model's end decision
        else:
            codec = self._fit_codec(frame, entity, context, infos)
        ctx, rows = codec.encode(
            _context_frame(frame, entity, context, codec.static), frame, entity
        )
        sequences = [_sequence(ctx[i], rows[i]) for i in range(len(ctx))]
        cap = self.series.max_sequence_rows
        self.max_rows = cap if dp else max((len(r) for r in rows), default=0)
        shape = SequenceShape(
            tuple(codec.context.vocab_sizes),
            (2, *codec.rows.vocab_sizes),
            params.embedding_dim,
            params.rnn_units,
            params.rnn_layers,
            params.dropout_rate,
            (0, *[1 + t for t in codec.rows.tied]),
            previous_row=True,
        )
        network = SequenceLSTM(shape)
        if not dp:  # under DP the batch is the sampling rate of the privacy plan
            params = _entity_batches(params, self.config.params, sequences, shape.period)
        start = time.monotonic()
        cap = params.max_training_time_seconds
        calibrates = not dp and not self.lengths
        if cap is not None:  # what is left after encoding, less the calibration's share
            left = cap - (start - began) - (CALIBRATION_SHARE * cap if calibrates else 0.0)
            params = params.model_copy(
                update={"max_training_time_seconds": max(left, min(cap, 1.0))}
            )
        with training_dir(model_dir, overwrite) as directory:
            self.codec, self.network, self.table_format = codec, network, table_format
            self.n_entities = private.training.n_released if private else len(sequences)
            write_json(directory / PARAMS_FILE, self._model_params(params, self.n_entities))
            # a time series' holdout is whole windows, not rows: its report compares with
            # every row
            write_json(directory / HOLDOUT_FILE, holdout_record(data, []))
            trainer = Trainer(
                network,
                params,
                directory,
                pick_device(params.device),
                epoch_callback,
                show_progress,
                private.training if private else None,
            )
            result = trainer.fit([sequences[i] for i in train_idx], [sequences[i] for i in val_idx])
            keep_old_if_interrupted(result.stop_reason, directory, model_dir)
            self.calibration = {}
            stopped = result.stop_reason == "interrupted"  # Ctrl-C: the model now
            if calibrates and len(train_idx) and not stopped:
                deadline = None if cap is None else began + cap
                self.calibration = self._calibrated(ctx, rows, train_idx, params, deadline)
                write_json(directory / PARAMS_FILE, self._model_params(params, self.n_entities))
            account = private.training.summary() if private else None
            if account is not None:
                account["neighbouring"] = (
                    f"datasets differing by one entity: all rows of one series (at most "
                    f"max_sequence_rows={cap}; longer series are cut there)"
                )
            summary = training_summary(result, len(train_idx), len(val_idx), account)
            kinds = {**codec.rows.kinds, **codec.context.kinds}
            summary["value_protection"] = [p.to_dict() for p in protected]
            summary.update(
                column_kinds={c: kinds[c] for c in table_format.names if c in kinds},
                engine="lstm",
                entities=self.n_entities,
                rows=None if private else len(frame),
                seconds_total=round(time.monotonic() - start, 3),
            )
            write_json(directory / SUMMARY_FILE, summary)
        self.model_dir = Path(model_dir)
        self.training_result_ = result
        self._device = pick_device(params.device)
        return self

    def _series(
        self, frame: pd.DataFrame, table_format: TableFormat, windows: bool = True
    ) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame]:
        """A time-series table's rows sorted into windows of at most max_sequence_rows
        (without ``windows``, as under DP where a series is one unit: cut there), and the
        (empty) context of each sequence."""
        options = self.series
        named = [options.entity_column] if options.entity_column else []
        missing = [c for c in named + options.order_by if c not in table_format.names]
        if missing:
            raise ConfigError(
                f"time_series names columns not in the data: {missing}; columns are "
                f"{table_format.names}"
            )
        if options.entity_column:
            codes, _ = pd.factorize(frame[options.entity_column], use_na_sentinel=False)
            frame = frame.drop(columns=[options.entity_column])
        else:
            codes = np.zeros(len(frame), dtype=np.int64)
        cap = None if windows else options.max_sequence_rows
        frame, codes = _sorted(frame, codes, options.order_by, cap=cap)
        self.lengths = np.bincount(codes).tolist()
        if windows and options.max_sequence_rows < 2 and max(self.lengths, default=0) > 1:
            # a window continues the last half of the one before; one row has no half
            raise ConfigError(
                f"time_series.max_sequence_rows={options.max_sequence_rows} cannot continue "
                "a series window by window; set it to at least 2 (series here have up to "
                f"{max(self.lengths)} rows)"
            )
        rows, entity = _windows(codes, options.max_sequence_rows)
        self.levels = []
        if windows and max(self.lengths, default=0) > options.max_sequence_rows:
            columns = [c for c in table_format.columns if c.name in frame.columns]
            columns = [c for c in columns if c.name not in options.order_by]
            # a column spelled by its changes continues from its last value: its level
            # is carried already
            walks = {step.name for step in change_steps(frame, codes, columns)}
            frame = self._fit_windows(
                frame.iloc[rows].reset_index(drop=True),
                entity,
                [c for c in columns if c.name not in walks],
                first=group_starts(codes[rows][group_starts(entity)]),
            )
        else:
            frame = frame.iloc[rows].reset_index(drop=True)
        return frame, entity, pd.DataFrame(index=range(int(entity.max(initial=-1)) + 1))

    def _fit_windows(
        self, frame: pd.DataFrame, window: np.ndarray, columns: list[ColumnInfo], first: np.ndarray
    ) -> pd.DataFrame:
        """The windowed rows with each window's context: whether it is its series' first
        (``first``, per window) and its :class:`WindowLevel` bins, learned from the
        windows' first halves (a new series takes the first level of a training series of
        its length)."""
        head = _half_windows(window, self.series.max_sequence_rows)
        self.levels = window_levels(frame[head], window[head], columns)
        labels = {WINDOW_COLUMN: np.where(first, "first", "later")[window]}
        for level in self.levels:
            per_window = level.labels(frame[head], window[head])
            level.series = per_window[first].tolist()
            labels[level.column] = per_window[window]
        return frame.assign(**labels)

    def _fit_codec(
        self,
        frame: pd.DataFrame,
        entity: np.ndarray,
        context: pd.DataFrame,
        infos: dict[str, ColumnInfo],
    ) -> SequenceCodec:
        order_by = self.series.order_by
        candidates = [c for c in frame.columns if c not in order_by]
        static = static_columns(frame, entity, candidates)
        given = list(context.columns)
        steps = order_steps(frame, [infos[c] for c in frame.columns], order_by)
        stepped, gap_infos = to_gaps(frame, entity, steps, infos)
        first = [c for c in order_by if c in frame.columns]
        rest = [c for c in frame.columns if c not in static and c not in first]
        changes = change_steps(frame, entity, [infos[c] for c in rest])
        stepped = to_changes(stepped, entity, changes)
        # each order column's gap right after it: a row's time is decided before the
        # columns that number rows within one time (Lahman's stint after the season)
        gap_of = {step.name: info for step, info in zip(steps, gap_infos, strict=True)}
        ordered = [i for c in first for i in (infos[c], gap_of.get(c)) if i is not None]
        row_infos = ordered + _change_infos(rest, changes, infos)
        options = self.config.columns
        kinds, lengths = requested_kinds(options), max_lengths(options)
        # every row column takes unseen values as seeds: a prefix to continue may hold
        # values (a start date, a category) that training never saw
        seedable = [info.name for info in row_infos]
        rows = TableCodec.fit(stepped, row_infos, seedable, None, kinds, lengths)
        ctx_frame = _context_frame(frame, entity, context, static)
        ctx_infos = [infos[c] for c in given + static]
        ctx = TableCodec.fit(ctx_frame, ctx_infos, given, None, kinds, lengths)
        log.info(
            "sequences: %d entities, %d rows; context %s, constant per entity %s, order %s, "
            "spelled by changes %s",
            len(context),
            len(frame),
            given,
            static,
            order_by or "source order",
            [c.name for c in changes],
        )
        all_infos = {**infos, **{g.name: g for g in gap_infos}}
        return SequenceCodec(ctx, rows, given, static, steps, all_infos, changes)

    def _fit_private_codec(
        self,
        frame: pd.DataFrame,
        entity: np.ndarray,
        table_format: TableFormat,
        train: np.ndarray,
        context_codec: TableCodec | None = None,
    ) -> tuple[pd.DataFrame, SequenceCodec, PrivateRun]:
        """Under DP: one row per training entity that has rows, drawn with OS entropy, is
        what every column's kind and vocabulary release sees (one entity changes each count
        by at most one); no constant columns, no start + gap spelling (order comes from
        sorting the generated rows, post-processing); the number of entities released. A
        child table's context columns keep the codec its parent's DP model released."""
        rng = secure_rng()
        sizes = np.bincount(entity, minlength=int(entity.max(initial=-1)) + 1)
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        with_rows = np.intersect1d(train, np.flatnonzero(sizes > 0))
        picked = starts[with_rows] + np.floor(rng.random(len(with_rows)) * sizes[with_rows])
        sample = frame.iloc[picked.astype(int)].reset_index(drop=True)
        columns = [c for c in table_format.columns if c.name in frame.columns]
        table_format = replace(table_format, columns=tuple(columns))
        run = PrivateRun.plan(
            sample,
            table_format,
            np.arange(len(sample)),
            self.config.params,
            1,
            self.config.columns,
        )
        frame = retype_like(frame, table_format, run.table_format)
        infos = {c.name: c for c in run.codec.columns}
        order = run.codec.order_by_vocabulary(list(infos))
        rows = TableCodec([run.codec.field(c) for c in order], [infos[c] for c in order])
        run.training.public_inputs.append(
            f"max_sequence_rows={self.series.max_sequence_rows}: longest series learned"
        )
        context = context_codec or TableCodec([], [])
        given = [c.name for c in context.columns]
        if given:
            run.training.public_inputs.append(
                f"context columns {given}: their vocabularies as the parent's DP model "
                "released them"
            )
        infos.update({c.name: c for c in context.columns})
        codec = SequenceCodec(context, rows, given, [], [], infos)
        return frame, codec, run

    def _model_params(self, params: Params, n_entities: int) -> dict[str, Any]:
        assert self.codec is not None and self.network is not None
        assert self.table_format is not None
        return {
            **model_header(DATA_KIND),
            "config": self.config.model_dump(mode="json", exclude_unset=True),
            "effective_params": params.model_dump(mode="json"),
            "table_format": self.table_format.to_dict(),
            "codec": self.codec.to_dict(),
            "model_shape": self.network.shape.to_dict(),
            "max_rows": self.max_rows,
            "lengths": self.lengths,
            "levels": [vars(level) for level in self.levels],
            "calibration": self.calibration,
            "n_records": n_entities,
        }

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(cls, model_dir: str | Path, device: str = "auto") -> SequenceSynthesizer:
        """Load a trained sequence model from its directory."""
        directory = require_model_dir(model_dir)
        with loading(directory):
            meta = read_json(directory / PARAMS_FILE)
            if meta.get("data_kind") != DATA_KIND:
                raise ConfigError(
                    f"{directory} holds a {meta.get('data_kind')} model, not a sequence model"
                )
            synth = cls(SyntheticsConfig.model_validate(meta["config"]))
            shape = SequenceShape.from_dict(meta["model_shape"])
            dims = {k: getattr(shape, k) for k in ("embedding_dim", "rnn_units", "rnn_layers")}
            check_shape(directory, dims, shape.slot_sizes, shape.owners)
            synth.network = SequenceLSTM(shape)
            synth.network.load_state_dict(load_weights(directory))
            synth.codec = SequenceCodec.from_dict(meta["codec"])
            synth.table_format = TableFormat.from_dict(meta["table_format"])
            synth.max_rows = int(meta["max_rows"])
            synth.lengths = list(meta.get("lengths", []))
            synth.levels = [WindowLevel(**level) for level in meta.get("levels", [])]
            # models saved before the zero-gap calibration hold only "end_bias"
            saved = meta.get("calibration") or {"end": meta.get("end_bias") or []}
            synth.calibration = {
                kind: np.asarray(bias, dtype=float).tolist() for kind, bias in saved.items()
            }
            synth.n_entities = int(meta.get("n_records", 0))
            synth.model_dir = directory
            synth._device = pick_device(device)
        return synth

    # --------------------------------------------------------------- generation
    def generate(
        self,
        num_records: int | None = None,
        *,
        context: pd.DataFrame | None = None,
        prefix: pd.DataFrame | None = None,
        seeds: pd.DataFrame | None = None,
        seed: int | None = None,
        gen_temp: float | None = None,
        predict_batch_size: int | None = None,
        entity_offset: int = 0,
    ) -> pd.DataFrame:
        """New entities and their rows.

        A child table passes ``context`` (one row per parent, the given columns): the
        result has an ``__entity`` column, the context row of each generated row. A
        time series makes ``num_records`` series (default: as many as it learned), with
        new values in its entity column and each series as long as a training series.
        A time series given a ``prefix`` (rows with the training columns) continues each
        of its series instead: the prefix rows come back as given, its entity ids kept,
        followed by at least one generated row. ``predict_batch_size``: entities sampled
        side by side (default 65,536; fewer use less memory). A time series' new entity
        ids count from ``entity_offset`` + 1 (a Ray shard's own range).

        A child table given ``seeds`` beside its ``context`` conditions rows on some of
        its own columns too: each seed row (an ``__entity`` column, the context row it
        belongs to, and values of some row columns) is one of that entity's first rows,
        in the seeds' order. Its given values come back as given, the rest of the row is
        drawn given them (``conditioning_particles`` candidates per entity, resampled by
        the chance of each given value, where a drawn field comes before a given one),
        and the entity may go on with rows of its own after them.
        """
        if predict_batch_size is not None and predict_batch_size < 1:
            raise ConfigError(f"predict_batch_size={predict_batch_size} must be at least 1")
        batch = predict_batch_size or SEQUENCE_SAMPLING_BATCH
        if prefix is not None:
            return self._continue(prefix, seed, gen_temp, batch)
        codec = self._trained()
        rng = np.random.default_rng(first_given(seed, self.config.params.seed, 0))
        given = seeded = None
        if context is not None:
            n = len(context)
            forced = np.full((n, len(codec.context.vocab_sizes)), -1, dtype=np.int64)
            if codec.given and n:
                forced[:, codec.context.positions(codec.given)] = codec.context.encode(
                    context[codec.given], seeds=True
                )
            min_rows = np.zeros(n, dtype=np.int64)
            max_rows = np.full(n, self.max_rows, dtype=np.int64)
            if seeds is not None:
                given, seeded = self._seed_rows(seeds, forced)
                min_rows = np.bincount(seeded[ENTITY], minlength=n).astype(np.int64)
                max_rows = np.maximum(max_rows, min_rows)
        elif seeds is not None:
            raise ConfigError(
                "seeds condition a child table's rows given their parents (context=); "
                "continue a time series with prefix= instead"
            )
        else:
            n = num_records if num_records is not None else (len(self.lengths) or self.n_entities)
            if n <= 0:
                raise ConfigError(f"num_records={n} must be a positive number of series")
            forced = np.full((n, len(codec.context.vocab_sizes)), -1, dtype=np.int64)
            if self.lengths:
                # each new series takes a training series' length and level bins, the
                # training series drawn without replacement while they last
                picks = _draws(rng, len(self.lengths), n)
                targets = np.asarray(self.lengths)[picks]
                self._force_first_windows(forced, picks)
                # series longer than the learned window grow window by window (_extend)
                min_rows = max_rows = np.minimum(targets, max(self.max_rows, 1))
            else:  # under DP: the model's own end decision, at least one row
                min_rows = np.ones(n, dtype=np.int64)
                max_rows = np.full(n, self.max_rows, dtype=np.int64)
        frame, entity = self._sample(
            forced, min_rows, max_rows, seed, gen_temp, batch, given, seeded=seeded
        )
        frame.insert(0, ENTITY, entity)
        if context is not None:
            return frame.reset_index(drop=True)
        if self.lengths:
            more = self._extend(frame, targets - max_rows, seed, gen_temp, batch)
            frame = pd.concat([frame, more], ignore_index=True)
            frame = frame.sort_values(ENTITY, kind="stable").reset_index(drop=True)
        ids = frame[ENTITY].to_numpy() + entity_offset
        return self._with_entity_ids(frame.drop(columns=[ENTITY]), ids)

    def _calibrated(
        self,
        ctx: np.ndarray,
        rows: list[np.ndarray],
        train_idx: np.ndarray,
        params: Params,
        deadline: float | None = None,
    ) -> dict[str, list[float]]:
        """Logit shifts per row index that make the children generated for the training
        parents match theirs (see ``calibrated_biases``): the end flag's (their lengths)
        and the zero gap's of the first ``order_by`` column (rows sharing their
        predecessor's time), each apart before and after an entity's first shared time
        (see :func:`_decision_rates`); no zero-gap shifts when zero has no token; and the
        category shares of every category and number bin field by row bucket
        (:func:`_share_fields`): without them a child's column drifted along long
        sequences (a day of the month rose from a mean of 16 on the first rows to 20 on
        the 20th, real 16 throughout; flights benchmark, 60 s cap).

        Whether a parent's times ever repeat hangs on a product of per-row rates, so the
        generated side takes about :data:`CALIBRATION_ROWS` rows (with 30,000, runs on
        Lahman missed the real share by up to 0.016) and the real side every
        training parent.

        A learned per-row decision errs a little at every row, and the errors compound: a
        child table's long sequences came out five times as often as in the data (Lahman
        Batting: 2.1% of players over 22 rows against 0.4%), and players with a second
        stint in some season 30% against 27%.

        With a ``deadline`` (the time cap's end), each round samples as many of the chosen
        parents as the time left allows for the rounds left, at least
        :data:`MIN_CALIBRATION_PARENTS` (the first round's pace sets it)."""
        codec, network = self._trained(), self.network
        assert network is not None
        positions = ROW_POSITIONS + 1
        tie = codec.tie_token()
        fields = _share_fields(codec)
        rng = np.random.default_rng(first_given(params.seed, 0))
        mean_rows = np.mean([len(rows[i]) for i in train_idx])
        # about CALIBRATION_ROWS rows: a few hundred training parents are drawn again
        # and again (the sampled shares of 150 parents' rows were noisier than the
        # errors they corrected)
        n = max(1, int(CALIBRATION_ROWS / max(mean_rows, 1.0)))
        chosen = rng.choice(np.asarray(train_idx), n, replace=n > len(train_idx))

        def rates(lengths: np.ndarray, tokens: np.ndarray) -> dict[str, Rates | Shares]:
            ties = tokens[:, tie[0]] == tie[1] if tie else np.zeros(len(tokens), bool)
            decisions = _decision_rates(lengths, ties, positions)
            out: dict[str, Rates | Shares] = dict(decisions if tie else {"end": decisions["end"]})
            index = np.arange(len(tokens)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
            for field, size in fields.items():
                out[field_key(field)] = field_shares(tokens[:, field], index, size)
            return out

        real = rates(  # every training parent: the real side costs no sampling
            np.array([len(rows[i]) for i in train_idx], dtype=np.int64),
            np.concatenate([rows[i] for i in train_idx]),
        )
        forced = np.full_like(ctx[chosen], -1)
        given = codec.context.positions(codec.given)
        forced[:, given] = ctx[chosen][:, given]
        limit = np.full(n, self.max_rows, dtype=np.int64)
        device = pick_device(params.device)

        # under a deadline the first round is a probe of a quarter of the parents, whose
        # pace sizes the rest
        probe = min(n, len(train_idx)) // 4  # a quarter of the distinct parents
        first = n if deadline is None else max(min(MIN_CALIBRATION_PARENTS, n), probe)
        pace = {"parents": first, "rounds": 0, "seconds_per_parent": 0.0}

        def sample(shifts: dict[str, list], seed: int) -> dict[str, Rates | Shares]:
            k = pace["parents"]
            generator = torch.Generator(device=device)
            generator.manual_seed(seed)
            t0 = time.monotonic()
            drawn = self._sampler(device, shifts).sample(
                forced[:k],
                params.gen_temp,
                generator,
                np.zeros(k, np.int64),
                limit[:k],
                SEQUENCE_SAMPLING_BATCH,
            )
            pace["rounds"] += 1
            pace["seconds_per_parent"] = (time.monotonic() - t0) / k
            rounds_left = ROUNDS - pace["rounds"]
            if deadline is not None and rounds_left > 0:
                affordable = (deadline - time.monotonic()) / rounds_left
                fits = int(affordable / max(pace["seconds_per_parent"], 1e-9))
                pace["parents"] = int(np.clip(fits, min(MIN_CALIBRATION_PARENTS, n), n))
            return rates(np.bincount(drawn.entity, minlength=k), drawn.rows)

        shifts = calibrated_biases(sample, real, positions, first_given(params.seed, 0))
        rates_of = [k for k, v in real.items() if isinstance(v, Rates)]
        log.info(
            "calibrated on %d training parents: shifts of the first rows %s; shares of %d fields",
            n,
            {k: [round(b, 2) for b in bias[:6]] for k, bias in shifts.items() if k in rates_of},
            len(fields),
        )
        return shifts

    def _sampler(self, device: torch.device, calibration: dict[str, list]) -> SequenceSampler:
        codec, network = self._trained(), self.network
        assert network is not None
        return SequenceSampler(
            network,
            device,
            [*codec.context.banned, [], *codec.rows.banned],
            [-1, *codec.rows.ends],
            RowRules(*codec.row_rules()),
            calibration,
            codec.tie_token(),
        )

    def _trained(self) -> SequenceCodec:
        if self.codec is None or self.network is None or self.table_format is None:
            raise ConfigError("this synthesizer is not trained; call fit() or load() first")
        return self.codec

    def _sample(
        self,
        forced: np.ndarray,
        min_rows: np.ndarray,
        max_rows: np.ndarray,
        seed: int | None,
        gen_temp: float | None,
        batch: int,
        prefix: np.ndarray | None = None,
        starts: dict[str, np.ndarray] | None = None,
        seeded: pd.DataFrame | None = None,
    ) -> tuple[pd.DataFrame, np.ndarray]:
        """Decoded rows (training columns) and each row's entity, from the sampler
        (``batch`` entities side by side; ``prefix`` and ``starts``: rows to continue, see
        :meth:`_extend`; ``seeded``: the seed rows whose values ``prefix`` gives, which
        come back as given)."""
        codec, network, params = self._trained(), self.network, self.config.params
        assert network is not None and self.table_format is not None
        temperature = first_given(gen_temp, params.gen_temp)
        if temperature <= 0:
            raise ConfigError(f"gen_temp={temperature} must be above 0 (1.0 samples as trained)")
        rng = np.random.default_rng(first_given(seed, params.seed, 0))
        generator = torch.Generator(device=self._device)
        run_seed = seed if seed is not None else params.seed
        generator.manual_seed(run_seed if run_seed is not None else int(torch.seed() % 2**62))
        sampler = self._sampler(self._device, self.calibration)
        with ThreadGovernor(params.threads, "generation", wait=False, level=logging.DEBUG) as gov:
            sampler.on_row = gov.tick
            drawn = sampler.sample(
                forced,
                temperature,
                generator,
                min_rows,
                max_rows,
                batch,
                prefix,
                params.conditioning_particles if seeded is not None else 1,
            )
        _, frame = codec.decode(drawn.context, drawn.entity, drawn.rows, rng, starts)
        names = [c for c in self.table_format.names if c in frame.columns]
        frame, entity = frame[names], drawn.entity
        if seeded is not None:
            frame = _as_seeded(frame, entity, seeded)
        order_by = [c for c in self.series.order_by if c in frame]
        spelled = {step.name for step in codec.steps}
        if any(c not in spelled for c in order_by):
            # order not (all) spelled as gaps (DP, text columns, a second order_by column
            # such as Lahman's stint within a season): sort each entity's rows by all of
            # order_by; a column spelled as gaps already never decreases
            keys = frame[order_by].assign(**{ENTITY: entity})
            order = keys.sort_values([ENTITY, *order_by], kind="stable").index.to_numpy()
            frame, entity = frame.iloc[order].reset_index(drop=True), entity[order]
        return frame, entity

    def _continue(
        self, prefix: pd.DataFrame, seed: int | None, gen_temp: float | None, batch: int
    ) -> pd.DataFrame:
        """Each series of ``prefix`` continued (see :meth:`generate`)."""
        table_format = self.table_format
        self._trained()
        assert table_format is not None
        missing = [c for c in table_format.names if c not in prefix.columns]
        if missing:
            raise DataError(
                f"the prefix rows lack columns {missing}; give rows with the training "
                f"columns {table_format.names}"
            )
        if prefix.empty:
            raise DataError("the prefix has no rows; give the first rows of each series")
        column = self.series.entity_column
        ids = prefix[column] if column else pd.Series(np.zeros(len(prefix), dtype=np.int64))
        codes, uniques = pd.factorize(ids, sort=False)
        rows = prefix.drop(columns=[column] if column else []).reset_index(drop=True)
        rows, codes = _sorted(rows, codes.astype(np.int64), self.series.order_by, cap=None)
        counts = np.bincount(codes, minlength=len(uniques))
        rng = np.random.default_rng(first_given(seed, self.config.params.seed, 0))
        total = np.maximum(rng.choice(np.asarray(self.lengths or [1]), len(uniques)), counts + 1)
        # the prefix rows come back exactly as given, not as their decoded tokens
        kept = rows[[c for c in table_format.names if c in rows.columns]].copy()
        kept.insert(0, ENTITY, codes)
        more = self._extend(kept, total - counts, seed, gen_temp, batch)
        frame = pd.concat([kept, more], ignore_index=True)
        frame = frame.sort_values(ENTITY, kind="stable").reset_index(drop=True)
        if column:
            frame.insert(0, column, np.asarray(uniques, dtype=object)[frame[ENTITY]])
        return frame[table_format.names]

    def _extend(
        self,
        history: pd.DataFrame,
        more: np.ndarray,
        seed: int | None,
        gen_temp: float | None,
        batch: int,
    ) -> pd.DataFrame:
        """``more[e]`` new rows after entity ``e``'s rows in ``history`` (sorted, with an
        ``__entity`` column), window by window: each step continues the last half window
        of rows, as the model learned mid-series windows (see :func:`_windows`)."""
        window = max(self.max_rows, 1)
        overlap = min(window // 2, window - 1)
        remaining = np.maximum(np.asarray(more, dtype=np.int64), 0)
        parts, tails, step = [], history, 0
        while (remaining > 0).any():
            todo = np.flatnonzero(remaining > 0)
            tail = tails[tails[ENTITY].isin(todo)]
            tail = tail.groupby(ENTITY, sort=False).tail(overlap) if overlap else tail.iloc[:0]
            local = np.searchsorted(todo, tail[ENTITY].to_numpy())
            rows = self._window_context(tail.drop(columns=[ENTITY]).reset_index(drop=True), local)
            forced, given, counts = self._prefix_tokens(rows, local, len(todo))
            total = counts + np.minimum(remaining[todo], window - counts)
            step_seed = None if seed is None else seed + 7919 * (step + 1)
            starts = self._trained().starts(rows, local, len(todo))
            frame, entity = self._sample(
                forced, total, total, step_seed, gen_temp, batch, given, starts
            )
            within = pd.Series(entity).groupby(entity).cumcount().to_numpy()
            new = frame[within >= counts[entity]].copy()
            new.insert(0, ENTITY, todo[entity[within >= counts[entity]]])
            parts.append(new)
            remaining[todo] -= total - counts
            tails = pd.concat([tail, new], ignore_index=True).sort_values(ENTITY, kind="stable")
            step += 1
        if not parts:
            return history.iloc[:0]
        return pd.concat(parts, ignore_index=True)

    def _seed_rows(
        self, seeds: pd.DataFrame, forced: np.ndarray
    ) -> tuple[np.ndarray, pd.DataFrame]:
        """The seed rows of a child table's entities as the sampler's prefix (entities,
        rows, fields; -1 where the model draws), and the seeds checked and sorted by
        entity (the given values to put back). A column the model learned as constant
        per entity is forced into ``forced`` (the context tokens), one value per entity."""
        n = len(forced)
        codec, table_format = self._trained(), self.table_format
        assert table_format is not None
        if ENTITY not in seeds.columns:
            raise DataError(f"the child seeds lack the {ENTITY} column (each row's parent row)")
        given = [c for c in seeds.columns if c != ENTITY]
        direct = {field.name for field in codec.rows.fields} | set(codec.static)
        direct &= set(table_format.names)
        offer = [c for c in table_format.names if c in direct]
        refuse_unknown_seed_columns(given, table_format.names, "the child table", offer)
        stepped = [c for c in given if c not in direct]
        if stepped:
            raise DataError(
                f"seed column(s) {stepped} are learned as steps from the row before "
                "(order_by or a column that rarely changes) and cannot be given; leave "
                "them out"
            )
        if seeds.empty or not given:
            raise DataError("the child seeds have no rows or no columns; give at least one of each")
        entity = pd.to_numeric(seeds[ENTITY], errors="coerce")
        if entity.isna().any() or not entity.between(0, n - 1).all():
            raise DataError(f"the child seeds' {ENTITY} must name parent rows 0 … {n - 1}")
        seeded = seeds.assign(**{ENTITY: entity.astype(np.int64)}).reset_index(drop=True)
        seeded = seeded.sort_values(ENTITY, kind="stable").reset_index(drop=True)
        codes = seeded[ENTITY].to_numpy()
        counts = np.bincount(codes, minlength=n)
        if counts.max() > self.max_rows:
            raise DataError(
                f"a parent has {counts.max()} seed rows; the model learned at most "
                f"{self.max_rows} rows per parent (max_sequence_rows)"
            )
        prefix = np.full((n, int(counts.max()), len(codec.rows.vocab_sizes)), -1, np.int64)
        within = seeded.groupby(ENTITY).cumcount().to_numpy()
        for column in given:
            part = codec.context if column in codec.static else codec.rows
            field = part.field(column)
            if isinstance(field, CategoricalField) and not field.numeric:
                known = {str(v) for v in field.values}
                unseen = sorted({str(v) for v in seeded[column].dropna()} - known)
                if unseen:
                    raise DataError(
                        f"child seed column {column!r} has values never seen in training: "
                        f"{unseen[:5]}; give values the table learned"
                    )
        static = [c for c in given if c in codec.static]
        fields = [c for c in given if c not in static]
        try:
            if fields:
                tokens = codec.rows.encode(seeded[fields], seeds=True)
                prefix[codes[:, None], within[:, None], codec.rows.positions(fields)] = tokens
            if static:
                self._seed_static(seeded[[ENTITY, *static]], forced)
        except DataError as exc:
            raise DataError(f"child seeds: {exc}; give values the table learned") from None
        return prefix, seeded

    def _seed_static(self, seeded: pd.DataFrame, forced: np.ndarray) -> None:
        """Seed values of columns learned as one value per entity, into its context."""
        codec = self._trained()
        columns = [c for c in seeded.columns if c != ENTITY]
        per_entity = seeded.groupby(ENTITY)
        mixed = [c for c in columns if (per_entity[c].nunique(dropna=False) > 1).any()]
        if mixed:
            raise DataError(
                f"seed column(s) {mixed} hold one value per parent in the data; give the "
                "same value in each of a parent's seed rows"
            )
        first = per_entity[columns].first()
        forced[np.ix_(first.index.to_numpy(), codec.context.positions(columns))] = (
            codec.context.encode(first[columns], seeds=True)
        )

    def _prefix_tokens(
        self, rows: pd.DataFrame, codes: np.ndarray, n: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Forced context tokens (the static columns of each entity's rows), the rows'
        tokens to force (entities, rows + 1, fields; -1 where the model draws) and each
        entity's number of given rows."""
        codec = self._trained()
        counts = np.bincount(codes, minlength=n)
        width = len(codec.rows.vocab_sizes)
        given = np.full((n, int(counts.max(initial=0)) + 1, width), -1, dtype=np.int64)
        if len(rows):
            within = pd.Series(codes).groupby(codes).cumcount().to_numpy()
            given[codes, within] = codec.rows.encode(codec.spell(rows, codes), seeds=True)
        forced = np.full((n, len(codec.context.vocab_sizes)), -1, dtype=np.int64)
        if codec.static and len(rows):
            context = _context_frame(rows, codes, pd.DataFrame(index=range(n)), codec.static)
            has = counts > 0
            positions = codec.context.positions(codec.static)
            forced[np.ix_(has, positions)] = codec.context.encode(
                context.loc[has, codec.static], seeds=True
            )
        return forced, given, counts

    def _force_first_windows(self, forced: np.ndarray, picks: np.ndarray) -> None:
        """Into ``forced``: new series' first windows, at the first levels of the training
        series ``picks``."""
        codec = self._trained()
        levels = [lv for lv in self.levels if lv.column in codec.static and lv.series]
        labels = pd.DataFrame(
            {lv.column: np.asarray(lv.series)[picks] for lv in levels}, index=range(len(picks))
        )
        if WINDOW_COLUMN in codec.static:
            labels[WINDOW_COLUMN] = "first"
        if labels.empty:
            return
        positions = codec.context.positions(list(labels.columns))
        forced[:, positions] = codec.context.encode(labels, seeds=True)

    def _window_context(self, rows: pd.DataFrame, entity: np.ndarray) -> pd.DataFrame:
        """Rows to continue (sorted by entity; at most half a window each), with the
        context of the window that continues them: a later window, at their
        :class:`WindowLevel` bins."""
        labels = {level.column: level.labels(rows, entity)[entity] for level in self.levels}
        if WINDOW_COLUMN in self._trained().static:
            labels[WINDOW_COLUMN] = np.full(len(rows), "later")
        return rows.assign(**labels) if labels else rows

    def _with_entity_ids(self, frame: pd.DataFrame, entity: np.ndarray) -> pd.DataFrame:
        """A time series' entity column with new ids (1, 2, …), in the training columns' order."""
        assert self.table_format is not None
        column = self.series.entity_column
        if column is not None:
            info = self.table_format.column(column)
            ids = entity + 1
            frame.insert(0, column, ids if info.kind == "integer" else ids.astype(str))
        return frame[self.table_format.names].reset_index(drop=True)


def _change_infos(
    columns: list[str], changes: list[ChangeStep], infos: dict[str, ColumnInfo]
) -> list[ColumnInfo]:
    """Row columns in place of ``columns``: an anchor's level and its change, a moving
    column's distance from its anchor, other columns as they are."""
    spelled = {step.name: step for step in changes}
    out = []
    for column in columns:
        step = spelled.get(column)
        if step is None:
            out.append(infos[column])
            continue
        if step.anchor is None:
            out.append(infos[column])
        kind = "float" if step.log or infos[column].kind == "float" else "integer"
        out.append(ColumnInfo(step.delta, kind, None))
    return out


def length_classes(entity: np.ndarray) -> np.ndarray:
    """Each row's entity's number of rows, as one of up to :data:`LENGTH_CLASSES`
    quantile classes over the entities ("4-7": four to seven rows)."""
    sizes = np.bincount(entity) if len(entity) else np.zeros(0, dtype=np.int64)
    present = sizes[sizes > 0]
    if not len(present):
        return np.array([], dtype=object)
    cuts = np.unique(np.quantile(present, np.linspace(0, 1, LENGTH_CLASSES + 1)[1:-1]))
    cuts = np.unique(np.ceil(cuts).astype(np.int64))
    lows = np.concatenate([[present.min()], cuts + 1])
    highs = np.concatenate([cuts, [present.max()]])
    labels = np.array(
        [f"{lo}" if lo == hi else f"{lo}-{hi}" for lo, hi in zip(lows, highs, strict=True)],
        dtype=object,
    )
    return labels[np.searchsorted(cuts, sizes[entity], side="left")]


def _draws(rng: np.random.Generator, population: int, n: int) -> np.ndarray:
    """``n`` indices below ``population``: every index once (shuffled) per round."""
    rounds = -(-n // max(population, 1))
    return np.concatenate([rng.permutation(population) for _ in range(rounds)])[:n]


def _half_windows(window: np.ndarray, size: int) -> np.ndarray:
    """Whether each windowed row is in its window's first half (what a later window is
    given to continue, see :meth:`SequenceSynthesizer._extend`)."""
    within = pd.Series(window).groupby(window).cumcount().to_numpy()
    return within < max(min(size // 2, size - 1), 1)


def _windows(codes: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Overlapping training windows of a time series' rows (sorted by series): windows of
    ``size`` rows starting every ``size // 2`` rows, the last one ending at the series'
    end, so the model learns to continue a series from the middle. Returns the row index
    and the window id of every windowed row."""
    stride = max(size // 2, 1)
    bounds = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1], True])
    rows, ids = [], []
    for lo, hi in itertools.pairwise(bounds):
        n = hi - lo
        starts = list(range(0, max(n - size, 0) + 1, stride))
        if starts[-1] + size < n:
            starts.append(n - size)
        for start in starts:
            rows.append(np.arange(lo + start, lo + min(start + size, n)))
            ids.append(np.full(min(size, n - start), len(ids)))
    if not rows:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(rows), np.concatenate(ids).astype(np.int64)


def _sequence_defaults(params: Params, given: Params) -> Params:
    """A sequence model takes few steps per epoch (a batch is a few dozen long
    sequences): unless the user set them, a higher learning rate and one recurrent layer
    (twice the tokens per second) learn more in the same time. Measured on
    benchmarks/sequences.py stocks, 120 s: Volume lag-1 0.24 → 0.69 (real 0.62)."""
    update = {
        name: value
        for name, value in SEQUENCE_DEFAULTS.items()
        if name not in given.model_fields_set
    }
    return params.model_copy(update=update) if update else params


def _entity_batches(
    params: Params, given: Params, sequences: list[torch.Tensor], period: int
) -> Params:
    """Unless the user set ``batch_size``: entities per batch such that a batch holds as
    many tokens as a table batch of rows (a sequence is many rows; too few updates per
    epoch otherwise)."""
    if "batch_size" in given.model_fields_set or not sequences:
        return params
    mean_tokens = float(np.mean([len(s) for s in sequences]))
    size = round(params.batch_size * period / max(mean_tokens, 1.0))
    size = int(np.clip(size, MIN_ENTITY_BATCH, params.batch_size))
    log.info("sequences: batch_size %d entities (about %.0f tokens each)", size, mean_tokens)
    return params.model_copy(update={"batch_size": size})


def _sorted(
    frame: pd.DataFrame, entity: np.ndarray, order_by: list[str], cap: int | None
) -> tuple[pd.DataFrame, np.ndarray]:
    """Rows with an entity, grouped by entity and ordered (the source order breaks ties);
    with ``cap``, an entity's rows beyond the first ``cap`` are left out, with a warning."""
    missing = [c for c in order_by if c not in frame.columns]
    if missing:
        raise ConfigError(
            f"order_by names columns not in the table: {missing}; columns are {list(frame.columns)}"
        )
    keep = entity >= 0
    frame, entity = frame[keep].reset_index(drop=True), entity[keep]
    empty = [c for c in order_by if frame[c].isna().any()]
    if empty:
        log.warning(
            "order_by %s: %d rows have no value; they are placed last in their sequence",
            empty,
            int(frame[empty].isna().any(axis=1).sum()),
        )
    keys = pd.DataFrame({ENTITY: entity, "__row": np.arange(len(frame))})
    for column in order_by:
        keys[column] = frame[column].to_numpy()
    order = keys.sort_values([ENTITY, *order_by, "__row"], kind="stable").index.to_numpy()
    frame, entity = frame.iloc[order].reset_index(drop=True), entity[order]
    if cap is not None:
        within = pd.Series(entity).groupby(entity).cumcount().to_numpy()
        over = within >= cap
        if over.any():
            log.warning(
                "%d entities have more than %d rows; their %d later rows are left out of "
                "training (raise time_series.max_sequence_rows / max_sequence_rows to learn "
                "longer sequences)",
                len(np.unique(entity[over])),
                cap,
                int(over.sum()),
            )
            frame, entity = frame[~over].reset_index(drop=True), entity[~over]
    return frame, entity


def _context_frame(
    frame: pd.DataFrame, entity: np.ndarray, context: pd.DataFrame, static: list[str]
) -> pd.DataFrame:
    """The given context plus each entity's static columns (from its first row)."""
    out = context.reset_index(drop=True).copy()
    if not static:
        return out
    first = np.full(len(context), -1)
    starts = np.unique(entity, return_index=True)
    first[starts[0]] = starts[1]
    for column in static:
        values = frame[column].to_numpy(dtype=object)
        picked = np.where(first >= 0, first, 0)
        series = pd.Series(values[picked] if len(values) else [None] * len(first), dtype=object)
        out[column] = series.where(first >= 0, None).astype(frame[column].dtype, errors="ignore")
    return out


def _sequence(context: np.ndarray, rows: np.ndarray) -> torch.Tensor:
    """``<bos>`` context (row-flag row-tokens)* end-flag, as ids local + 1."""
    flags = np.full((len(rows), 1), FLAG_ROW)
    body = np.concatenate([flags, rows], axis=1).reshape(-1) if len(rows) else np.zeros(0, int)
    ids = np.concatenate([[-1], context, body, [FLAG_END]]) + 1
    return torch.as_tensor(ids, dtype=torch.long)


def _as_seeded(frame: pd.DataFrame, entity: np.ndarray, seeded: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (rows sorted by entity, in order) with the seed rows' given values put
    back: a number conditioned by its bin comes back as given, not as a draw in it."""
    within = pd.Series(entity).groupby(entity).cumcount().to_numpy()
    where = pd.MultiIndex.from_arrays([entity, within])
    target = pd.MultiIndex.from_arrays(
        [seeded[ENTITY].to_numpy(), seeded.groupby(ENTITY).cumcount().to_numpy()]
    )
    rows = where.get_indexer(target)
    out = frame.copy()
    for column in seeded.columns.drop(ENTITY):
        values = out[column].astype(object).to_numpy(copy=True)
        values[rows] = seeded[column].to_numpy(dtype=object)
        out[column] = cast_like(values, frame[column])
    return out


def _share_fields(codec: SequenceCodec) -> dict[int, int]:
    """Row fields whose category shares are calibrated, with their vocabulary sizes: the
    first token of every category and number field (a number's bin), except the zero-gap
    field (calibrated as a decision) and fields a row rule fixes."""
    tie = codec.tie_token()
    first_fixed, later_fixed, _, _ = codec.row_rules()
    sizes = codec.rows.vocab_sizes
    out = {}
    for field in codec.rows.fields:
        if not isinstance(field, CategoricalField | NumericField):
            continue
        at = codec.rows.positions([field.name])[0]
        fixed = first_fixed[at] >= 0 or later_fixed[at] >= 0
        if sizes[at] > 1 and not fixed and (tie is None or tie[0] != at):
            out[at] = sizes[at]
    return out


def _decision_rates(lengths: np.ndarray, ties: np.ndarray, positions: int) -> dict[str, Rates]:
    """The per-row decisions of entities with ``lengths`` rows (``ties``: per row, sorted
    by entity, whether it shares its predecessor's time), by row index and by whether the
    entity has shared a time before: the end flag, decided before each row and after
    the last ("end" / "end_tied"), and the zero gap, on every row but the first ("tie" /
    "tie_again"). Whether an entity ever shares a time hangs on the first of each pair,
    so matching both pairs makes that share match too."""
    n = len(lengths)
    starts = np.r_[0, np.cumsum(lengths)[:-1]].astype(np.int64)
    entity = np.repeat(np.arange(n), lengths)
    index = np.arange(len(entity)) - starts[entity]
    hit = ties & (index > 0)
    first_tie = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(first_tie, entity[hit], index[hit])

    at = np.repeat(np.arange(n), lengths + 1)  # end decisions: rows 0 … length
    row = np.arange(len(at)) - np.repeat(starts + np.arange(n), lengths + 1)
    end_tied = row > first_tie[at]
    ended = row == lengths[at]
    later = index > 0
    tie_again = later & (index > first_tie[entity])
    tie_first = later & ~tie_again
    return {
        "end": position_rates(row[~end_tied], ended[~end_tied], positions),
        "end_tied": position_rates(row[end_tied], ended[end_tied], positions),
        "tie": position_rates(index[tie_first], ties[tie_first], positions),
        "tie_again": position_rates(index[tie_again], ties[tie_again], positions),
    }
