"""Text records: learn line-delimited text and generate new lines (the record engine's API)."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from synthloom.config import (
    Params,
    SyntheticsConfig,
    check_generation_args,
    dump_config,
    resolve_num_records,
    unsupported_for_text,
    weak_privacy_warning,
)
from synthloom.encoding.tokenizers import ByteTokenizer, fit_tokenizer
from synthloom.errors import ConfigError, DataError, TooManyInvalidError
from synthloom.io.model_dir import (
    PARAMS_FILE,
    SUMMARY_FILE,
    keep_old_if_interrupted,
    loading,
    read_json,
    require_model_dir,
    training_dir,
    write_json,
)
from synthloom.io.text import clean_records, read_text_records
from synthloom.lstm.calibration import Rates, calibrated_biases, end_rates
from synthloom.lstm.generate import RecordModel, SamplingPlan, stream_texts
from synthloom.lstm.model import LONG_RECORD_TOKENS, ModelShape, RecordLSTM, pick_device
from synthloom.lstm.steps import dp_settings
from synthloom.lstm.threads import generation_workers
from synthloom.lstm.train import (
    EpochCallback,
    Trainer,
    TrainingResult,
    first_given,
    records_to_sequences,
    seed_everything,
    split_holdout,
    time_share,
    training_summary,
)
from synthloom.privacy.training import PrivateTraining, log_privacy
from synthloom.synthesizers.base import model_header
from synthloom.validation.records import GeneratedRecord, LineValidator, check_line

log = logging.getLogger("synthloom")

# From this many records on, generation uses one worker process per free core by default
# (parallelism unset). Below it one process was faster on 2 cores: 1,500 fortunes took
# 2.2 s there and 2.9 s in 2 workers; 5,000 took 5.3 s in 2 workers against 7.6 s in one
# process at one thread (benchmarks/scale.py; docs/SCALING.md).
PARALLEL_MIN_RECORDS = 5_000
# Under DP the sampler's length cap cannot come from the data; records are cut here.
DP_MAX_RECORD_BYTES = 2048
# End-of-record calibration after training (not under DP): records sampled per round
# (about 2 s of one core for fortunes), records side by side.
CALIBRATION_RECORDS = 1_000
CALIBRATION_BATCH = 256


class TextSynthesizer:
    """Learns a generative model of text records (one per line) and samples new records.

    Options are those of the YAML config: give a :class:`SyntheticsConfig`, or keywords
    such as ``epochs=10, vocab_size=0, rnn_units=128, num_records=100``.
    """

    def __init__(self, config: SyntheticsConfig | None = None, **options: Any) -> None:
        if config is not None and options:
            raise ConfigError("give either a config or keyword options, not both")
        self.config = config if config is not None else SyntheticsConfig.from_options(**options)
        problems = unsupported_for_text(self.config)
        if problems:
            raise ConfigError("; ".join(problems))
        self.model_dir: Path | None = None
        self.training_result_: TrainingResult | None = None
        self._model: RecordModel | None = None
        self._n_training_records = 0

    # ----------------------------------------------------------------- training
    def fit(
        self,
        data: str | Path | Sequence[str],
        model_dir: str | Path,
        *,
        overwrite: bool = False,
        epoch_callback: EpochCallback | None = None,
        show_progress: bool = False,
    ) -> TextSynthesizer:
        """Train on ``data`` (a text file path or a list of records) into ``model_dir``.

        The model dir is written as training goes (``model_params.json`` first, then the
        best checkpoint after each improving epoch); an existing model there is replaced
        only with ``overwrite=True``, and only once the new one is complete. Ctrl-C stops
        training and keeps the best checkpoint in a new model dir; when replacing a model it
        keeps the old one and raises :class:`~synthloom.errors.TrainingInterrupted`.
        """
        records = _as_records(data)
        params = self.config.params
        if params.dp and "vocab_size" in params.model_fields_set and params.vocab_size:
            raise ConfigError(
                "params.vocab_size: a SentencePiece vocabulary is learned from the raw text, "
                "outside DP-SGD; with dp: true set vocab_size: 0 (public byte tokens)"
            )
        if warning := weak_privacy_warning(self.config.params):
            log.warning("%s", warning)
        seed_everything(params.seed)
        start = time.monotonic()  # the cap covers the tokenizer too
        with training_dir(model_dir, overwrite) as directory:
            train_idx, val_idx = split_holdout(
                len(records), params.validation_share, np.random.default_rng(params.seed)
            )
            if len(train_idx) == 0:
                raise DataError("no records left for training after the validation split")
            privacy = (
                PrivateTraining.open(dp_settings(params), len(train_idx)) if params.dp else None
            )
            tokenizer = (
                ByteTokenizer()  # a public vocabulary: nothing learned outside DP-SGD
                if privacy
                else fit_tokenizer(records, params.vocab_size, params.seed)
            )
            encoded = [tokenizer.encode(r) for r in records]
            _warn_long_records(encoded, params.seq_length)
            shape = ModelShape(
                tokenizer.vocab_size,
                params.embedding_dim,
                params.rnn_units,
                params.rnn_layers,
                params.dropout_rate,
            )
            # Under DP the longest record must not set the cap: a public one instead.
            longest = DP_MAX_RECORD_BYTES if privacy else max(len(e) for e in encoded)
            max_tokens = _length_cap(longest)
            tokenizer.save(directory)
            n_records = privacy.n_released if privacy else len(records)
            meta = self._model_params(shape, max_tokens, n_records)
            meta["data_source"] = _data_source(data)
            write_json(directory / PARAMS_FILE, meta)
            network = RecordLSTM(shape)
            device = pick_device(params.device)
            sequences = records_to_sequences(encoded)
            budget = {"max_training_time_seconds": time_share(params, start)}
            trainer = Trainer(
                network,
                params.model_copy(update=budget),
                directory,
                device,
                epoch_callback,
                show_progress,
                privacy,
            )
            result = trainer.fit([sequences[i] for i in train_idx], [sequences[i] for i in val_idx])
            keep_old_if_interrupted(result.stop_reason, directory, model_dir)
            model = RecordModel(network, tokenizer, device, max_tokens)
            # not under DP (the training lengths are not read outside DP-SGD), nor after
            # Ctrl-C (a user who stops wants the model now)
            if not privacy and result.stop_reason != "interrupted":
                real = np.array([len(encoded[i]) for i in train_idx], dtype=np.int64)
                model.end_bias = _calibrated_ends(model, real, params)
                write_json(directory / PARAMS_FILE, {**meta, "end_bias": model.end_bias})
            summary = training_summary(
                result, len(train_idx), len(val_idx), privacy.summary() if privacy else None
            )
            write_json(directory / SUMMARY_FILE, summary)
            log_privacy(summary)
        self.model_dir = Path(model_dir)
        self.training_result_ = result
        self._n_training_records = len(train_idx)
        self._model = model
        return self

    def _model_params(self, shape: ModelShape, max_tokens: int, n_records: int) -> dict:
        return {
            **model_header("text"),
            "config": dump_config(self.config),
            "model_shape": shape.to_dict(),
            "tokenizer": _tokenizer_kind(self.config.params),
            "max_tokens": max_tokens,
            "n_records": n_records,
            "created_unix": time.time(),
        }

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(cls, model_dir: str | Path, device: str = "auto") -> TextSynthesizer:
        """Load a trained model from its directory."""
        directory = require_model_dir(model_dir)
        with loading(directory):
            meta = read_json(directory / PARAMS_FILE)
            if meta.get("data_kind") != "text":
                raise ConfigError(f"{directory} holds a {meta.get('data_kind')} model, not text")
            synth = cls(SyntheticsConfig.model_validate(meta["config"]))
            synth.model_dir = directory
            synth._model = RecordModel.load(directory, device)
            summary_path = directory / SUMMARY_FILE
            summary = read_json(summary_path) if summary_path.exists() else {}
            synth._n_training_records = int(summary.get("training_records", meta["n_records"]))
            return synth

    # --------------------------------------------------------------- generation
    def generate(
        self,
        num_records: int | None = None,
        *,
        start_string: str | None = None,
        line_validator: LineValidator | None = None,
        max_invalid: int | None = None,
        gen_temp: float | None = None,
        predict_batch_size: int | None = None,
        parallelism: int | None = None,
        seed: int | None = None,
    ) -> Iterator[GeneratedRecord]:
        """Yield generated records until ``num_records`` valid ones have been produced.

        Invalid records (rejected by ``line_validator``, empty, or cut at the length cap)
        are yielded too, with ``valid=False`` and an explanation. More than
        ``max_invalid`` of them (default 5 × ``num_records``) raises
        :class:`TooManyInvalidError`. Arguments left as None take the config's values.
        ``parallelism`` is the number of worker processes (one intra-op thread each); 0 is
        one per free core, and None that from :data:`PARALLEL_MIN_RECORDS` records on. The
        same seed gives the same records with any parallelism.
        """
        if self._model is None or self.model_dir is None:
            raise ConfigError("this synthesizer is not trained; call fit() or load() first")
        check_generation_args(seed=seed, max_invalid=max_invalid, parallelism=parallelism)
        gen, params = self.config.generate, self.config.params
        wanted = resolve_num_records(
            num_records if num_records is not None else gen.num_records, self._n_training_records
        )
        limit = first_given(max_invalid, gen.max_invalid, 5 * wanted)
        temperature = first_given(gen_temp, params.gen_temp)
        if temperature <= 0:
            raise ConfigError(f"gen_temp={temperature} must be above 0 (1.0 samples as trained)")
        prefix_text = first_given(start_string, gen.start_string, "")
        plan = SamplingPlan.make(
            prefix_text,
            tuple(self._model.tokenizer.encode(prefix_text)),
            first_given(predict_batch_size, params.predict_batch_size),
            temperature,
            seed if seed is not None else params.seed,
            wanted,
            params.threads,
        )
        workers = generation_workers(parallelism, wanted, PARALLEL_MIN_RECORDS, params.threads)
        return self._validated(
            stream_texts(self._model, self.model_dir, plan, workers), wanted, limit, line_validator
        )

    def _validated(
        self,
        stream: Iterator[tuple[str, bool]],
        wanted: int,
        max_invalid: int,
        validator: LineValidator | None,
    ) -> Iterator[GeneratedRecord]:
        valid = invalid = 0
        cap = self._model.max_tokens if self._model else 0
        try:
            for text, complete in stream:
                if not complete:
                    reason = f"no end of record within the length cap of {cap} tokens"
                    record = GeneratedRecord(text, False, reason)
                elif not text.strip():
                    record = GeneratedRecord(text, False, "empty record")
                else:
                    record = check_line(text, validator)
                valid += record.valid
                invalid += not record.valid
                yield record
                if invalid > max_invalid:
                    raise TooManyInvalidError(valid, invalid, max_invalid, wanted)
                if valid >= wanted:
                    return
        finally:
            stream.close()


def _as_records(data: str | Path | Sequence[str]) -> list[str]:
    if isinstance(data, str | Path):
        return read_text_records(data)
    records = clean_records(data)
    if not records:
        raise DataError("no records to train on; give at least one non-empty line")
    return records


def _data_source(data: str | Path | Sequence[str]) -> str | None:
    """The training file's absolute path (outputs must never overwrite it)."""
    return str(Path(data).resolve()) if isinstance(data, str | Path) else None


def _warn_long_records(encoded: list[list[int]], seq_length: int | None) -> None:
    """Say that records longer than a backward pass are learned in chunks."""
    chunk = seq_length or LONG_RECORD_TOKENS
    long = [i for i, e in enumerate(encoded) if len(e) + 2 > chunk]
    if not long:
        return
    longest = max(long, key=lambda i: len(encoded[i]))
    log.warning(
        "%d record(s) are longer than %d tokens (the longest, record %d, has %d): they are "
        "learned in chunks of %d tokens with the LSTM state carried across, so memory stays "
        "bounded; set params.seq_length to change the chunk",
        len(long),
        chunk,
        longest + 1,
        len(encoded[longest]),
        chunk,
    )


def _tokenizer_kind(params: Params) -> str:
    if params.dp:
        return "byte"
    return "char" if params.vocab_size == 0 else "sentencepiece"


def _length_cap(longest: int) -> int:
    """Longest record a sample may reach: half again the longest training record."""
    return max(16, math.ceil(longest * 1.5) + 2)


def _calibrated_ends(model: RecordModel, real: np.ndarray, params: Params) -> list[float]:
    """The end-of-record logit shift per record length that makes sampled lengths follow
    the training records' (see :func:`calibrated_biases`). A per-token end decision
    errs a little at every token, and the errors compound: fortunes came out too short
    (length accuracy 0.72–0.76 at a 120 s cap)."""
    n = min(len(real), CALIBRATION_RECORDS)
    positions = model.max_tokens + 1

    def sample_ends(shifts: dict[str, list[float]], seed: int) -> dict[str, Rates]:
        model.end_bias = shifts["end"]
        generator = torch.Generator(device=model.device)
        generator.manual_seed(seed)
        records = model.sampler().sample(n, CALIBRATION_BATCH, params.gen_temp, generator)
        lengths = [len(r.ids) if r.complete else model.max_tokens for r in records]
        return {"end": end_rates(np.array(lengths), positions)}

    real_rates = {"end": end_rates(real, positions)}
    bias = calibrated_biases(sample_ends, real_rates, positions, first_given(params.seed, 0))["end"]
    log.info("end of record calibrated on %d sampled records", n)
    return bias
