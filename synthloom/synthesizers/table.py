"""Tables: learn a CSV/JSON/JSONL/Parquet table or a DataFrame and generate valid rows.

A table narrower than ``field_cluster_size`` is one model. A wider one is split into
clusters of correlated columns (one model each); every later cluster is conditioned on
anchor columns of the earlier ones through the same forced-prefix path as smart seeding.

Why one module of this length: :class:`TableSynthesizer` is one estimator, and ``fit``,
``load`` and ``generate`` share its state. What stands apart is beside it: the clusters'
models and their planning (:mod:`.table_parts`), one generation run
(:mod:`.table_sampling`), seeding and rebalancing (:mod:`.table_seeding`), the DP run and
the table defaults (:mod:`.base`), training side by side (:mod:`.executors`).
"""

from __future__ import annotations

import logging
import math
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from synthloom.config import (
    Fairness,
    Params,
    SyntheticsConfig,
    check_generation_args,
    dump_config,
    fairness_from,
    resolve_num_records,
    weak_privacy_warning,
)
from synthloom.constraints import Constraints, constrained
from synthloom.encoding.clusters import (
    Cluster,
)
from synthloom.encoding.columns import (
    CopyGuard,
    apply_treatments,
    gen_temps,
    protect_values,
    requested_kinds,
)
from synthloom.encoding.fields import (
    CHAR_KINDS,
    TableCodec,
    decide_kind,
)
from synthloom.errors import (
    ConfigError,
    DataError,
    SynthloomError,
    TooManyInvalidError,
    TrainingInterrupted,
)
from synthloom.fallback import FitTimeoutError, StatisticalModel
from synthloom.io.model_dir import (
    HOLDOUT_FILE,
    PARAMS_FILE,
    SUMMARY_FILE,
    holdout_record,
    keep_old_if_interrupted,
    loading,
    read_json,
    require_model_dir,
    training_dir,
    write_json,
)
from synthloom.io.schema import TableFormat
from synthloom.io.tables import read_frame
from synthloom.lstm.model import pick_device
from synthloom.lstm.pool import ordered_map
from synthloom.lstm.threads import generation_workers, mark_worker_process
from synthloom.lstm.train import (
    EpochCallback,
    Trainer,
    TrainingResult,
    first_given,
    seed_everything,
    split_holdout,
    time_share,
    training_summary,
)
from synthloom.privacy.training import log_privacy
from synthloom.synthesizers.base import LATE_DROPOUT_EPOCH, PrivateRun, model_header, table_params
from synthloom.synthesizers.executors import (
    Executor,
    folder_files,
    land_files,
    refuse_ray_keyword,
    task_seed,
)
from synthloom.synthesizers.table_parts import (
    ClusterModel,
    calibrate_released_shares,
    calibrate_text_ends,
    column_kinds,
    combine_results,
    new_cluster_model,
    plan_column_clusters,
)
from synthloom.synthesizers.table_sampling import (
    ChunkJob,
    GenerationRun,
    TrainedTable,
    cast_like,
    chunk_seed,
    new_stats,
    restore_dtypes,
    spans,
)
from synthloom.synthesizers.table_seeding import SeedFields
from synthloom.validation.data_checks import apply_data_checks
from synthloom.validation.field_validators import FieldValidators

log = logging.getLogger("synthloom")

VALIDATORS_FILE = "validators.json"
# Keyed digests of spelled columns' training values, to reject copies at generation.
COPY_GUARD_FILE = "copy_guard.json"
# Batch size when a table has spelled columns and params.batch_size is unset (not under DP,
# where the batch size sets the sampling rate). Characters need many updates: 60 s of
# training on 3,000 rows (benchmarks/strings.py) gave valid emails for 26% of rows at 256
# and 99% at 64; at 32 (about as many rows per second on a CPU, twice the updates) name
# bigram accuracy rose from 0.89-0.90 to 0.91-0.92 and well-formed names (before the copy
# guard) from 68% to 92%.
SPELLED_BATCH_SIZE = 32

FALLBACK_DIR = "fallback"
# The LSTM's statistical fallback learns from at most this many rows (a random sample).
FALLBACK_ROWS = 10_000
ENGINES = ("lstm", "amplify")
# Rows sampled per forward step unless predict_batch_size asks for more: small LSTM
# steps are cheap, so wide batches keep the CPU busy.
TABLE_SAMPLING_BATCH = 2048
# Below MIN_ROWS a table is refused unless forced; below FEW_ROWS it gets a warning.
MIN_ROWS = 10
FEW_ROWS = 100
# Rows generated (and written) at a time: the unit of memory when streaming to a file,
# and of work handed to a worker process.
CHUNK_ROWS = 25_000
# From this many rows on, generation uses one worker process per free core by default.
# Below it one process (threads=auto) was as fast or faster on 2 cores: 50,000 Adult
# rows took 4.1 s there and 4.5 s in 2 workers; 200,000 took 13.3 s in 2 workers, 1.9x
# one process at one thread (benchmarks/scale.py; docs/SCALING.md).
PARALLEL_MIN_ROWS = 4 * CHUNK_ROWS


class TableSynthesizer:
    """Learns a table (file or DataFrame) and generates synthetic rows.

    Options are those of the YAML config, as a :class:`SyntheticsConfig` or keywords.
    Params left unset get table-sized defaults (128 units, batch 256, …).
    """

    def __init__(
        self, config: SyntheticsConfig | None = None, *, engine: str = "lstm", **options: Any
    ) -> None:
        if config is not None and options:
            raise ConfigError("give either a config or keyword options, not both")
        if engine not in ENGINES:
            raise ConfigError(f"engine {engine!r} is not one of {ENGINES}")
        self.config = config if config is not None else SyntheticsConfig.from_options(**options)
        if engine == "amplify" and self.config.params.dp:
            raise ConfigError(
                "the amplify engine (statistical model) is not differentially private; "
                "with dp: true use the LSTM engine (models: - synthetics) or set dp: false"
            )
        self.engine = engine
        self.fallback_reason_: str | None = None
        self._fallback: StatisticalModel | None = None
        self.model_dir: Path | None = None
        self.training_result_: TrainingResult | None = None
        self.table_format: TableFormat | None = None
        self.clusters_: list[Cluster] = []
        self.invalid_examples_: list[str] = []
        self.generation_stats_: dict[str, int] = {}
        self._parts: list[ClusterModel] = []
        self._validators: FieldValidators | None = None
        self._device = torch.device("cpu")
        self._n_training_records = 0
        self._private: PrivateRun | None = None
        self._copy_guard: CopyGuard | None = None

    @property
    def seed_fields(self) -> list[str]:
        """Fields generation may be conditioned on (the seed task's)."""
        task = self.config.task
        return list(task.attrs.fields) if task is not None else []

    # ----------------------------------------------------------------- training
    def fit(
        self,
        data: str | Path | pd.DataFrame,
        model_dir: str | Path,
        *,
        overwrite: bool = False,
        epoch_callback: EpochCallback | None = None,
        show_progress: bool = False,
        log_warning: Callable[[str], None] = log.warning,
        force: bool = False,
        executor: Executor | None = None,
        ray: str | None = None,
    ) -> TableSynthesizer:
        """Check, encode and train on ``data``; write the model into ``model_dir``.

        A table of fewer than :data:`MIN_ROWS` rows is refused unless ``force``: a model of
        so few people generates copies of them. ``executor`` (for example
        :class:`synthloom.scale.RayExecutor`) trains the column clusters of a table wider
        than ``field_cluster_size`` as tasks side by side (a table of one cluster trains
        here); it is refused under ``dp: true`` and for the amplify engine.
        """
        refuse_ray_keyword(ray)
        self._check_executor(executor)
        frame, table_format = read_frame(data, self.config.params.field_delimiter)
        frame, table_format = apply_treatments(frame, table_format, self.config.columns)
        if frame.empty:
            raise DataError("the table has a header but no rows; give at least one row")
        constraints = Constraints(self.config.constraints)
        constraints.check([str(c) for c in frame.columns], self.config.params.dp)
        frame = constraints.fit_transform(frame)
        _check_table_size(len(frame), force, log_warning)
        self._check_seed_fields(table_format)
        apply_data_checks(frame, self.config.data_checks.strategy, log_warning)
        frame, protected = protect_values(
            frame, table_format, self.config.params, self.config.columns
        )
        if warning := weak_privacy_warning(self.config.params):
            log.warning("%s", warning)
        params = table_params(self.config.params)
        spelled = self._spelled(frame, table_format)
        if spelled and "batch_size" not in self.config.params.model_fields_set:
            # Characters need many more updates than categories: smaller batches.
            params = params.model_copy(update={"batch_size": SPELLED_BATCH_SIZE})
            log.info("spelled columns %s: batch_size %d", spelled, SPELLED_BATCH_SIZE)
        seed_everything(params.seed)
        clusters = self._plan(frame, params)
        start = time.monotonic()
        train_rows, holdout_rows = split_holdout(
            len(frame), params.validation_share, np.random.default_rng(params.seed)
        )
        self._private = (
            PrivateRun.plan(
                frame, table_format, train_rows, params, len(clusters), self.config.columns
            )
            if params.dp
            else None
        )
        if self._private is not None:  # kinds, decimals from DP releases, not the raw data
            frame = self._private.frame
            table_format = replace(
                self._private.table_format, columns=tuple(self._private.codec.columns)
            )
        dtypes = {name: str(dtype) for name, dtype in frame.dtypes.items()}
        extra = {**table_format.extra, "dtypes": dtypes, "constraints": constraints.to_dict()}
        table_format = replace(table_format, extra=extra)
        with training_dir(model_dir, overwrite) as directory:
            validators = (
                FieldValidators([])  # learned from raw values: off under DP
                if self._private
                else FieldValidators.learn(frame, self.config.validators, spelled)
            )
            write_json(directory / VALIDATORS_FILE, validators.to_dict())
            # The LSTM never sees the held-out rows; neither may its backup, so the
            # report can use them as a true holdout. Amplify learns from every row.
            if self.engine != "lstm":
                train_rows, holdout_rows = np.arange(len(frame)), holdout_rows[:0]
            write_json(directory / HOLDOUT_FILE, holdout_record(data, holdout_rows.tolist()))
            self._fallback = self._fit_fallback(
                frame.iloc[train_rows].drop(columns=spelled).reset_index(drop=True), directory
            )
            parts: list[ClusterModel] = []
            result = TrainingResult(stop_reason="not trained")
            write_json(
                directory / PARAMS_FILE,
                self._model_params(table_format, parts, clusters, params, self._published_n(frame)),
            )
            if self.engine == "lstm":
                parts, result = self._train_lstm(
                    frame,
                    (train_rows, holdout_rows),
                    table_format,
                    clusters,
                    params,
                    directory,
                    start,
                    epoch_callback,
                    show_progress,
                    executor,
                )
            keep_old_if_interrupted(result.stop_reason, directory, model_dir)
            n_train, n_val = len(train_rows), len(holdout_rows)
            privacy = self._private.training.summary() if self._private else None
            summary = training_summary(result, n_train, n_val, privacy)
            log_privacy(summary)
            summary.update(engine=self.engine, fallback_reason=self.fallback_reason_)
            summary["column_kinds"] = column_kinds(parts)
            summary["value_protection"] = [p.to_dict() for p in protected]
            guard = self._learn_copy_guard(frame, parts, directory)  # held-out rows too
            summary["fallback_used"] = self.fallback_reason_ is not None
            write_json(directory / SUMMARY_FILE, summary)
        self.model_dir = Path(model_dir)
        self.training_result_ = result
        self.table_format = table_format
        self.clusters_ = clusters
        self._parts, self._validators = parts, validators
        self._copy_guard = guard
        self._device = pick_device(params.device)
        self._n_training_records = n_train
        return self

    def _train_lstm(
        self,
        frame: pd.DataFrame,
        split: tuple[np.ndarray, np.ndarray],
        table_format: TableFormat,
        clusters: list[Cluster],
        params: Params,
        directory: Path,
        start: float,
        epoch_callback: EpochCallback | None,
        show_progress: bool,
        executor: Executor | None = None,
    ) -> tuple[list[ClusterModel], TrainingResult]:
        """Train one LSTM per cluster; a failed run hands over to the fallback if allowed."""
        parts, results = [], []
        if executor is not None and len(clusters) == 1:
            log.info("one column cluster: it trains here (%s has nothing to split)", executor.name)
        if executor is not None and len(clusters) > 1:  # a failed task: its one-line error
            parts = [
                self._new_part(frame, table_format, c, i, params) for i, c in enumerate(clusters)
            ]
            results = self._train_side_by_side(
                executor, parts, frame, split, params, start, directory
            )
            n = self._published_n(frame)
            write_json(
                directory / PARAMS_FILE,
                self._model_params(table_format, parts, clusters, params, n),
            )
            return parts, combine_results(results)
        try:
            for index, cluster in enumerate(clusters):
                part = self._new_part(frame, table_format, cluster, index, params)
                parts.append(part)
                results.append(
                    self._train_part(
                        part,
                        frame,
                        split,
                        directory,
                        params,
                        (start, len(clusters) - index),
                        epoch_callback,
                        show_progress,
                    )
                )
                write_json(
                    directory / PARAMS_FILE,
                    self._model_params(
                        table_format, parts, clusters, params, self._published_n(frame)
                    ),
                )
                if results[-1].stop_reason == "interrupted" and index < len(clusters) - 1:
                    raise TrainingInterrupted(
                        f"Ctrl-C during column cluster {index + 1} of {len(clusters)}: the "
                        "model would lack the later clusters, so nothing new was saved"
                    )
        except (SynthloomError, KeyboardInterrupt):
            raise
        except Exception as exc:  # the LSTM could not train: say so, use the fallback
            if self._fallback is None:
                raise
            self.fallback_reason_ = f"LSTM training failed ({type(exc).__name__}: {exc})"
            log.warning(
                "%s; the statistical fallback model will generate the data", self.fallback_reason_
            )
            (directory / "weights.safetensors").unlink(missing_ok=True)
            return [], TrainingResult(stop_reason="failed")
        return parts, combine_results(results)

    def _train_side_by_side(
        self,
        executor: Executor,
        parts: list[ClusterModel],
        frame: pd.DataFrame,
        split: tuple[np.ndarray, np.ndarray],
        params: Params,
        start: float,
        directory: Path,
    ) -> list[TrainingResult]:
        """Train the column clusters as the executor's tasks; their results, in cluster
        order. ``parts`` are replaced by the trained ones.

        Every cluster learns from the real columns (a later cluster's conditioning columns
        are real values, not an earlier model's), so none waits for another. Each task's
        files land in ``directory`` as a run here writes them."""
        budget = cluster_budget(params, start, len(parts), executor.cpus())
        capped = params.model_copy(update={"max_training_time_seconds": budget})
        calls = [(part, index) for index, part in enumerate(parts)]
        results: dict[int, TrainingResult] = {}
        done = executor.run(
            _train_cluster_task,
            calls,
            shared=(self, frame, split, capped),
            label=lambda i: f"column cluster {i + 1} of {len(parts)}",
        )
        for index, (files, part, result) in done:
            land_files(files, directory)
            parts[index], results[index] = part, result
        return [results[i] for i in range(len(parts))]

    def _check_executor(self, executor: Executor | None) -> None:
        if executor is None:
            return
        if self.config.params.dp:  # one accountant composes over the clusters in turn
            raise ConfigError(
                "--ray does not train under dp: true (the privacy accounting composes over "
                "the column clusters trained in turn here); leave out --ray"
            )
        if self.engine != "lstm":
            raise ConfigError(
                "--ray trains the LSTM's column clusters; the amplify engine trains here, "
                "leave out --ray"
            )

    def _learn_copy_guard(
        self, frame: pd.DataFrame, parts: list[ClusterModel], directory: Path
    ) -> CopyGuard | None:
        """Digests of spelled columns' real values, held-out rows included (not under DP:
        rejecting exact training values is a use of raw data that ε does not cover)."""
        names = [n for n, k in column_kinds(parts).items() if k in CHAR_KINDS]
        if not names or self._private is not None:
            return None
        guard = CopyGuard.learn(frame, names)
        write_json(directory / COPY_GUARD_FILE, guard.to_dict())
        return guard

    def _spelled(self, frame: pd.DataFrame, table_format: TableFormat) -> list[str]:
        """Columns the LSTM spells. The statistical model (the fallback, or the amplify
        engine itself) leaves them out, since it could only hand back training values: in
        its rows they come out missing."""
        if self.config.params.dp:
            return []
        wanted = requested_kinds(self.config.columns)
        spelled = [
            info.name
            for info in table_format.columns
            if info.name not in self.seed_fields
            and decide_kind(frame[info.name], info, wanted.get(info.name)) in CHAR_KINDS
        ]
        if spelled and self.engine == "amplify":
            log.warning(
                "amplify: columns %s hold near-unique values (names, emails, ids, text) that a "
                "statistical model could only copy; they come out empty. The LSTM engine "
                "generates them (models: - synthetics)",
                spelled,
            )
        return spelled

    def _fit_fallback(self, frame: pd.DataFrame, directory: Path) -> StatisticalModel | None:
        """Fit the statistical model (the engine itself for amplify, else the fallback)."""
        if self.engine == "lstm" and not self.config.fallback.allow:
            return None
        if self.config.params.dp:
            log.warning("DP: the statistical fallback is off (it is not differentially private)")
            return None
        cap = self.config.fallback.max_fallback_training_time_seconds
        if self.engine == "lstm" and len(frame) > FALLBACK_ROWS:
            # a backup needs no every row: on Adult this takes 0.7 s instead of 2.7 s
            # out of a time cap the LSTM shares
            frame = frame.sample(FALLBACK_ROWS, random_state=self.config.params.seed or 0)
        try:
            model = StatisticalModel(random_state=self.config.params.seed or 0)
            model.fit(frame, max_seconds=cap)
        except FitTimeoutError as exc:
            if self.engine == "amplify":
                raise SynthloomError(
                    f"the statistical model did not fit within {cap:g} s ({exc}); raise "
                    "fallback.max_fallback_training_time_seconds"
                ) from None
            log.warning("fallback model not available: %s", exc)
            return None
        model.save(directory / FALLBACK_DIR)
        return model

    def _plan(self, frame: pd.DataFrame, params: Params) -> list[Cluster]:
        return plan_column_clusters(frame, params, self.seed_fields)

    def _new_part(
        self,
        frame: pd.DataFrame,
        table_format: TableFormat,
        cluster: Cluster,
        index: int,
        params: Params,
    ) -> ClusterModel:
        conditioned = self.seed_fields if index == 0 else cluster.anchors
        private = self._private.codec if self._private is not None else None
        return new_cluster_model(
            frame, table_format, cluster, conditioned, index, params, self.config.columns, private
        )

    def _train_part(
        self,
        part: ClusterModel,
        frame: pd.DataFrame,
        split: tuple[np.ndarray, np.ndarray],
        directory: Path,
        params: Params,
        clock: tuple[float, int],
        epoch_callback: EpochCallback | None,
        show_progress: bool,
    ) -> TrainingResult:
        """Train one cluster's network; ``clock``: when the fit started and how many
        parts (this one included) still share the rest of the time cap."""
        folder = directory / part.folder
        folder.mkdir(exist_ok=True)
        tokens = part.codec.encode(frame[[c.name for c in part.codec.columns]])
        rows = torch.as_tensor(np.concatenate([np.zeros((len(tokens), 1), np.int64), tokens], 1))
        train_idx, val_idx = split
        budget = time_share(params, *clock)  # after encoding, which the cap covers too
        part_params = params.model_copy(update={"max_training_time_seconds": budget})
        device = pick_device(params.device)
        private = self._private.training if self._private else None
        # late dropout unless the user set a rate (then it runs from the start, as in
        # Gretel), not under DP, whose noise already regularises, and not with validation
        # rows, which stop training before it memorises (Adult's first 7,000 rows with a
        # 10% split, benchmarks/adult.py: TVD 0.9734 with dropout from the start, 0.9700
        # with late dropout, which the early stop cut short)
        late = (
            not private
            and not len(val_idx)
            and "dropout_rate" not in self.config.params.model_fields_set
        )
        trainer = Trainer(
            part.network,
            part_params,
            folder,
            device,
            epoch_callback,
            show_progress,
            private,
            dropout_from_epoch=LATE_DROPOUT_EPOCH if late else 1,
        )
        result = trainer.fit(list(rows[train_idx]), list(rows[val_idx]))
        own = gen_temps(self.config.columns)
        if not private and result.stop_reason != "interrupted" and len(train_idx):
            calibrate_text_ends(part, tokens[train_idx], params, device, own)
        if private and result.stop_reason != "interrupted":
            calibrate_released_shares(part, params, device, own)
        return result

    def _check_seed_fields(self, table_format: TableFormat) -> None:
        missing = [f for f in self.seed_fields if f not in table_format.names]
        if missing:
            raise ConfigError(
                f"task.attrs.fields names columns not in the data: {missing}; "
                f"columns are {table_format.names}"
            )

    def _published_n(self, frame: pd.DataFrame) -> int:
        """The row count the model dir may show: under DP the released one."""
        return self._private.training.n_released if self._private else len(frame)

    def _model_params(
        self,
        table_format: TableFormat,
        parts: list[ClusterModel],
        clusters: list[Cluster],
        params: Params,
        n: int,
    ) -> dict[str, Any]:
        return {
            **model_header("table"),
            "engine": self.engine,
            "config": dump_config(self.config),
            "effective_params": params.model_dump(mode="json"),
            "table_format": table_format.to_dict(),
            "clusters": [c.to_dict() for c in clusters],
            "parts": [p.to_dict() for p in parts],
            "column_kinds": column_kinds(parts),
            "n_records": n,
        }

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(cls, model_dir: str | Path, device: str = "auto") -> TableSynthesizer:
        """Load a trained table model from its directory."""
        directory = require_model_dir(model_dir)
        with loading(directory):
            return cls._load(directory, device)

    @classmethod
    def _load(cls, directory: Path, device: str) -> TableSynthesizer:
        meta = read_json(directory / PARAMS_FILE)
        if meta.get("data_kind") != "table":
            raise ConfigError(f"{directory} holds a {meta.get('data_kind')} model, not a table")
        synth = cls(SyntheticsConfig.model_validate(meta["config"]), engine=meta["engine"])
        synth.model_dir = directory
        synth.table_format = TableFormat.from_dict(meta["table_format"])
        if (directory / FALLBACK_DIR).is_dir():
            synth._fallback = StatisticalModel.load(directory / FALLBACK_DIR)
        synth.clusters_ = [Cluster(**c) for c in meta["clusters"]]
        synth._parts = [ClusterModel.load(directory, p) for p in meta["parts"]]
        synth._validators = FieldValidators.from_dict(read_json(directory / VALIDATORS_FILE))
        if (directory / COPY_GUARD_FILE).exists():
            synth._copy_guard = CopyGuard.from_dict(read_json(directory / COPY_GUARD_FILE))
        synth._device = pick_device(device)
        summary_path = directory / SUMMARY_FILE
        summary = read_json(summary_path) if summary_path.exists() else {}
        synth._n_training_records = summary.get("training_records", meta["n_records"])
        synth.fallback_reason_ = summary.get("fallback_reason")
        return synth

    # --------------------------------------------------------------- generation
    def generate(
        self,
        num_records: int | None = None,
        *,
        seeds: pd.DataFrame | str | Path | None = None,
        rebalance: dict[str, dict[Any, float]] | None = None,
        fairness: Fairness | dict[str, Any] | None = None,
        max_invalid: int | None = None,
        gen_temp: float | None = None,
        predict_batch_size: int | None = None,
        seed: int | None = None,
        parallelism: int | None = None,
    ) -> pd.DataFrame:
        """Generate valid rows, in the training table's column order and types.

        With ``seeds`` (a DataFrame or file with any of the model's columns), one row per
        seed row, in order, each keeping its seed values exactly and the other columns
        drawn given them. With ``rebalance`` (``{column: {value: share}}``, any
        categorical column), the rows have the requested shares of those values; the
        remaining share goes to the other values in their training proportions. With
        ``fairness`` (``{"target": column, "sensitive": [columns]}``), the target's
        values have the same shares in every group of the sensitive columns (statistical
        parity), the rest of each row drawn as learned given them. ``parallelism``: as in
        :meth:`generate_chunks`.
        """
        chunks = list(
            self.generate_chunks(
                num_records,
                seeds=seeds,
                rebalance=rebalance,
                fairness=fairness,
                max_invalid=max_invalid,
                gen_temp=gen_temp,
                predict_batch_size=predict_batch_size,
                seed=seed,
                chunk_rows=None,
                parallelism=parallelism,
            )
        )
        return chunks[0] if len(chunks) == 1 else pd.concat(chunks, ignore_index=True)

    def impute(
        self,
        data: pd.DataFrame | str | Path,
        columns: list[str] | None = None,
        *,
        draws: int = 1,
        seed: int | None = None,
        max_invalid: int | None = None,
        gen_temp: float | None = None,
    ) -> pd.DataFrame:
        """``data`` with every missing value of ``columns`` (default: all) drawn from the
        model given the row's known values. Known values never change; rows come back in
        their order with their index. ``data`` (a DataFrame or table file) has the
        model's columns.

        With ``draws`` > 1 each value is a best guess instead of one draw: the most
        frequent of that many draws (the mean for numbers), which is right more often but
        no longer spread as the data is."""
        if draws < 1:
            raise ConfigError(f"draws={draws} must be at least 1")
        frame = data if isinstance(data, pd.DataFrame) else read_frame(data)[0]
        names = self._require_trained().names
        extra = [c for c in frame.columns if c not in names]
        absent = [c for c in names if c not in frame.columns]
        if extra or absent:
            raise DataError(
                f"the table to impute must have the model's columns {names}; "
                + (f"it has others: {extra}" if extra else f"it lacks {absent}")
            )
        chosen = list(names) if columns is None else list(columns)
        unknown = [c for c in chosen if c not in names]
        if unknown:
            raise ConfigError(f"impute columns {unknown} are not columns of the model {names}")
        # every missing value is unknown: drawn given the known ones (and kept only in the
        # chosen columns), never taken as a condition "is missing"
        free = frame[names].isna()
        if free[[c for c in chosen if c in constrained(self.config.constraints)]].any().any():
            raise ConfigError(
                "columns set by the model's constraints are imputed by their rules only; "
                "leave them out of the imputed columns"
            )
        todo = free[chosen].any(axis=1).to_numpy()
        out = frame.copy()
        if not todo.any():
            log.warning("nothing to impute: no missing values in the columns %s", chosen)
            return out
        seeds = frame.loc[todo, names].reset_index(drop=True)
        runs = []
        for draw in range(draws):
            chunks = self.generate_chunks(
                seeds=seeds,
                max_invalid=max_invalid,
                gen_temp=gen_temp,
                seed=None if seed is None else seed + draw,
                parallelism=1,
                free=free.loc[todo].reset_index(drop=True),
            )
            runs.append(pd.concat(list(chunks), ignore_index=True))
        filled = runs[0] if draws == 1 else best_guess(runs)
        for name in chosen:
            cells = free[name].to_numpy()
            if cells.any():
                column = out[name].astype(object)
                column[cells] = filled[name].to_numpy(dtype=object)[cells[todo]]
                out[name] = cast_like(column.to_numpy(), frame[name])
        return out

    def column_codec(self, names: list[str]) -> TableCodec:
        """The trained codec of columns ``names`` (under DP: their released vocabularies,
        public to a model that conditions on this table's rows, e.g. a child table's)."""
        self._require_trained()
        fields, infos = {}, {}
        for part in self._parts:  # the fallback has no tokens
            for info, field in zip(part.codec.columns, part.codec.fields, strict=True):
                fields[info.name], infos[info.name] = field, info
        missing = [c for c in names if c not in fields]
        if missing:
            raise ConfigError(f"columns {missing} are not learned by this model as tokens")
        return TableCodec([fields[c] for c in names], [infos[c] for c in names])

    def _require_trained(self) -> TableFormat:
        if self.table_format is None or not (self._parts or self._fallback):
            raise ConfigError("this synthesizer is not trained; call fit() or load() first")
        return self.table_format

    def generate_chunks(
        self,
        num_records: int | None = None,
        *,
        seeds: pd.DataFrame | str | Path | None = None,
        rebalance: dict[str, dict[Any, float]] | None = None,
        fairness: Fairness | dict[str, Any] | None = None,
        max_invalid: int | None = None,
        gen_temp: float | None = None,
        predict_batch_size: int | None = None,
        seed: int | None = None,
        chunk_rows: int | None = CHUNK_ROWS,
        parallelism: int | None = None,
        free: pd.DataFrame | None = None,
    ) -> Iterator[pd.DataFrame]:
        """:meth:`generate` in chunks of at most ``chunk_rows`` rows (and
        :data:`CHUNK_ROWS`), each made only when asked for, so that writing them as they
        come keeps memory flat however many rows are wanted. ``max_invalid`` counts over
        all chunks.

        ``parallelism`` is the number of worker processes that generate chunks side by
        side (one intra-op thread each, the model loaded once per worker from the model
        dir, so changes made to this object after loading do not reach them); 0 is one per
        free core, and None (the default) is the same from :data:`PARALLEL_MIN_ROWS` rows
        on and this process below. A chunk's rows depend on the seed and its index, not
        on where it ran: the same seed gives the same rows with any parallelism. Spelled
        identifiers are unique within a chunk. ``free`` (as :meth:`impute` uses it): True
        for the seed cells to generate rather than keep."""
        self._require_trained()
        check_generation_args(seed=seed, max_invalid=max_invalid, parallelism=parallelism)
        if chunk_rows is not None and chunk_rows < 1:
            raise ConfigError(f"chunk_rows={chunk_rows} must be at least 1")
        gen, params = self.config.generate, self.config.params
        rng = np.random.default_rng(first_given(seed, params.seed, 0))
        wanted, seed_frame, rebalance = self._seeding(num_records, seeds, rebalance, free)
        fair = fairness_from(fairness if fairness is not None else gen.fairness)
        if fair is not None:
            if seed_frame is not None or rebalance:
                raise ConfigError("fairness cannot be combined with seeds or a rebalance")
            seed_frame = self._seeds().fair(fair, wanted, rng)
        limit = first_given(max_invalid, gen.max_invalid, 5 * wanted)
        temperature = first_given(gen_temp, params.gen_temp)
        if temperature <= 0:
            raise ConfigError(f"gen_temp={temperature} must be above 0 (1.0 samples as trained)")
        batch = max(
            first_given(predict_batch_size, params.predict_batch_size), TABLE_SAMPLING_BATCH
        )
        run_seed = seed if seed is not None else params.seed
        self.generation_stats_, self.invalid_examples_ = new_stats(), []
        step = min(chunk_rows or wanted, CHUNK_ROWS)
        jobs = (
            ChunkJob(
                index,
                n,
                self._chunk_seeds(seed_frame, rebalance, start, n, rng),
                chunk_seed(run_seed, index),
                temperature,
                batch,
                limit - self.generation_stats_["invalid"],
                None if free is None else free.iloc[start : start + n].reset_index(drop=True),
            )
            for index, (start, n) in enumerate(spans(wanted, step))
        )
        workers = self._workers(parallelism, wanted, math.ceil(wanted / step))
        if workers <= 1:
            for job in jobs:
                yield self._generate_chunk(job)
            return
        log.info("generation: %d worker processes, %d rows per chunk", workers, step)
        results = ordered_map(_worker_chunk, jobs, workers, _init_worker, (str(self.model_dir),))
        try:
            for frame, stats, examples in results:
                self._merge_stats(stats, examples)
                if self.generation_stats_["invalid"] > limit:
                    done = self.generation_stats_
                    raise TooManyInvalidError(done["valid"], done["invalid"], limit, wanted)
                yield frame
        finally:
            results.close()

    def _seeding(
        self,
        num_records: int | None,
        seeds: pd.DataFrame | str | Path | None,
        rebalance: dict[str, dict[Any, float]] | None,
        free: pd.DataFrame | None = None,
    ) -> tuple[int, pd.DataFrame | None, dict[str, dict[Any, float]] | None]:
        """The rows wanted, the seed rows and the rebalance of a run (the config's where
        not given): one row per seed row when there are seeds."""
        gen = self.config.generate
        seed_frame = self._seeds().frame(seeds if seeds is not None else gen.data_source)
        rebalance = rebalance if rebalance is not None else gen.rebalance
        if seed_frame is None:
            wanted = resolve_num_records(
                first_given(num_records, gen.num_records), self._n_training_records
            )
            return wanted, None, rebalance
        wanted = len(seed_frame)
        if num_records is not None and num_records != wanted:
            log.warning(
                "the seeds file has %d rows: generating one record per seed row (%d "
                "records), not num_records=%d",
                wanted,
                wanted,
                num_records,
            )
        self._seeds().warn_unseen(seed_frame, free)
        return wanted, seed_frame, rebalance

    def _chunk_seeds(
        self,
        seed_frame: pd.DataFrame | None,
        rebalance: dict[str, dict[Any, float]] | None,
        start: int,
        n: int,
        rng: np.random.Generator,
    ) -> pd.DataFrame | None:
        """The seed rows of the chunk of ``n`` rows from ``start``, if any."""
        if seed_frame is not None:
            return seed_frame.iloc[start : start + n].reset_index(drop=True)
        return self._seeds().rebalanced(rebalance, n, rng) if rebalance else None

    def _seeds(self) -> SeedFields:
        assert self.table_format is not None
        return SeedFields(
            self.seed_fields,
            self._parts,
            self._fallback,
            self.config.params.seed,
            tuple(self.table_format.names),
            constrained(self.config.constraints),
        )

    def _workers(self, parallelism: int | None, wanted: int, chunks: int) -> int:
        """Worker processes for a run (:func:`generation_workers`, with
        :data:`PARALLEL_MIN_ROWS`), never more than there are chunks."""
        if self.model_dir is None or self._device.type != "cpu":
            return 1  # workers load the saved model on the CPU
        threads = self.config.params.threads
        workers = generation_workers(parallelism, wanted, PARALLEL_MIN_ROWS, threads)
        return max(min(workers, chunks), 1)

    def _generate_chunk(self, job: ChunkJob) -> pd.DataFrame:
        assert self.table_format is not None
        trained = TrainedTable(
            self.config,
            self.engine,
            self.table_format,
            self._parts,
            self._fallback,
            self._copy_guard,
            self._validators,
            self._device,
            self.fallback_reason_,
        )
        run = GenerationRun(
            trained, job.temperature, job.batch, job.seed, job.max_invalid, job.rows
        )
        try:
            frame = run.generate(job.seeds, job.free)
        finally:
            counts = {
                "valid": run.valid,
                "invalid": run.invalid,
                "fallback_records": run.fallback_records,
                "copies_resampled": run.copies_resampled,
                "copies_kept": run.copies_kept,
                "fallback_reason": run.fallback_reason,
            }
            self._merge_stats(counts, run.examples)
        assert self.table_format is not None
        frame = frame[self.table_format.names].reset_index(drop=True)
        frame = restore_dtypes(frame, self.table_format.extra.get("dtypes", {}))
        state = self.table_format.extra.get("constraints")
        return Constraints(self.config.constraints, state).reverse(frame)

    def _merge_stats(self, counts: dict[str, Any], examples: list[str]) -> None:
        """Add one chunk's counts (and invalid examples) to the run's."""
        stats = self.generation_stats_
        for key, value in counts.items():
            if key == "fallback_reason":
                stats[key] = stats[key] or value
            else:
                stats[key] += value
        self.invalid_examples_ = (self.invalid_examples_ + examples)[:10]


def best_guess(runs: list[pd.DataFrame]) -> pd.DataFrame:
    """Per cell, the most frequent value of several imputations (the mean for numbers,
    rounded for whole numbers)."""
    out = runs[0].copy()
    for name in out.columns:
        stacked = pd.concat([run[name] for run in runs], axis=1, ignore_index=True)
        if pd.api.types.is_numeric_dtype(out[name]) and not pd.api.types.is_bool_dtype(out[name]):
            mean = stacked.astype(float).mean(axis=1)
            whole = pd.api.types.is_integer_dtype(out[name])
            out[name] = cast_like((mean.round() if whole else mean).to_numpy(), out[name])
        else:
            out[name] = stacked.astype(object).mode(axis=1, dropna=False)[0]
    return out


def cluster_budget(params: Params, start: float, clusters: int, cpus: float) -> float | None:
    """Each cluster task's share of the time cap: the tasks run side by side in
    ⌈clusters / cpus⌉ waves, so each gets what is left since ``start`` over the waves
    (all of it with a CPU per cluster) and the fit keeps to the cap; None without a cap."""
    waves = -(-clusters // max(int(cpus), 1))
    return time_share(params, start, waves)


def _train_cluster_task(
    synth: TableSynthesizer,
    frame: pd.DataFrame,
    split: tuple[np.ndarray, np.ndarray],
    params: Params,
    part: ClusterModel,
    index: int,
) -> tuple[dict[str, bytes], ClusterModel, TrainingResult]:
    """An executor's task: one column cluster's files (as a run here writes them under the
    model dir), its trained part and its training result. ``params`` carry the task's
    share of the cap."""
    mark_worker_process()
    start = time.monotonic()
    if params.seed is not None:  # each cluster its own stream, the same on every run
        seed_everything(task_seed(params.seed, index) % 2**32)  # NumPy's range
    with tempfile.TemporaryDirectory(prefix="synthloom-cluster-") as folder:
        root = Path(folder)
        result = synth._train_part(part, frame, split, root, params, (start, 1), None, False)
        return folder_files(root), part, result


_WORKER_SYNTH: TableSynthesizer | None = None


def _init_worker(model_dir: str) -> None:
    global _WORKER_SYNTH
    _WORKER_SYNTH = TableSynthesizer.load(model_dir, device="cpu")


def _worker_chunk(job: ChunkJob) -> tuple[pd.DataFrame, dict[str, Any], list[str]]:
    """A chunk made in a worker, with its counts and invalid examples."""
    synth = _WORKER_SYNTH
    assert synth is not None, "worker was not initialised"
    synth.generation_stats_, synth.invalid_examples_ = new_stats(), []
    frame = synth._generate_chunk(job)
    return frame, synth.generation_stats_, synth.invalid_examples_


def _check_table_size(rows: int, force: bool, log_warning: Callable[[str], None]) -> None:
    """Refuse (or, forced, warn about) tables too small to hide the people in them."""
    if rows < MIN_ROWS and not force:
        raise DataError(
            f"the table has only {rows} row(s): a model of so few records generates copies "
            f"of the real people in them; give at least {MIN_ROWS} rows, or pass --force "
            "(force=True) if the data is not about people or may be disclosed"
        )
    if rows < FEW_ROWS:
        log_warning(
            f"the table has only {rows} rows: the synthetic records may copy real ones; "
            "check the report's privacy findings before sharing them"
        )
