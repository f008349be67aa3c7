"""Generation from a model directory: chunks of records, in-process or in worker processes.

Chunk ``i`` is always sampled with a seed derived from (seed, i) and results are consumed
in chunk order, so a fixed seed gives the same records whatever the number of workers.
"""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import torch

from synthloom.encoding.tokenizers import Tokenizer, load_tokenizer
from synthloom.io.model_dir import (
    PARAMS_FILE,
    check_shape,
    load_weights,
    loading,
    read_json,
    require_model_dir,
)
from synthloom.lstm.model import ModelShape, RecordLSTM, pick_device
from synthloom.lstm.pool import ordered_map
from synthloom.lstm.sample import RecordSampler
from synthloom.lstm.threads import ThreadGovernor, ThreadSetting

# Each chunk holds this many sampling batches: enough that the batch stays full most of
# the time, small enough that little is sampled beyond what was asked.
_BATCHES_PER_CHUNK = 8


@dataclass
class RecordModel:
    """A trained network with its tokenizer, ready to sample."""

    network: RecordLSTM
    tokenizer: Tokenizer
    device: torch.device
    max_tokens: int
    end_bias: list[float] = field(default_factory=list)  # see synthloom.lstm.calibration

    @classmethod
    def load(cls, model_dir: str | Path, device: str = "auto") -> RecordModel:
        """Load from a model dir (JSON + tokenizer + safetensors; nothing executable)."""
        directory = require_model_dir(model_dir)
        with loading(directory):
            meta = read_json(directory / PARAMS_FILE)
            shape = meta["model_shape"]
            dims = {k: shape[k] for k in ("embedding_dim", "rnn_units", "rnn_layers")}
            check_shape(directory, dims, [shape["vocab_size"]])
            network = RecordLSTM(ModelShape(**shape))
            network.load_state_dict(load_weights(directory))
            tokenizer = load_tokenizer(directory)
            bias = [float(b) for b in meta.get("end_bias", [])]
            return cls(network, tokenizer, pick_device(device), int(meta["max_tokens"]), bias)

    def sampler(self) -> RecordSampler:
        """A sampler over this model's content tokens."""
        return RecordSampler(
            self.network,
            self.device,
            self.tokenizer.non_content_ids(),
            self.max_tokens,
            self.end_bias,
        )


@dataclass(frozen=True)
class SamplingPlan:
    """How to sample: prefix tokens, batch, temperature and the base seed."""

    prefix_text: str
    prefix: tuple[int, ...]
    batch_size: int
    temperature: float
    seed: int
    chunk_records: int
    threads: ThreadSetting = "auto"  # intra-op threads of in-process sampling

    @classmethod
    def make(
        cls,
        prefix_text: str,
        prefix: tuple[int, ...],
        batch_size: int,
        temperature: float,
        seed: int | None,
        num_records: int,
        threads: ThreadSetting = "auto",
    ) -> SamplingPlan:
        """A plan whose chunks fit ``num_records``; a random seed when none is given."""
        base = seed if seed is not None else int.from_bytes(os.urandom(4), "little")
        chunk = min(batch_size * _BATCHES_PER_CHUNK, max(num_records, 1))
        return cls(prefix_text, prefix, batch_size, temperature, base, chunk, threads)

    def chunk_seed(self, index: int) -> int:
        """The seed of chunk ``index``."""
        return int(np.random.SeedSequence([self.seed, index]).generate_state(1)[0])


def sample_chunk(model: RecordModel, plan: SamplingPlan, index: int) -> list[tuple[str, bool]]:
    """Texts of chunk ``index`` with a flag saying whether each ended properly."""
    generator = torch.Generator(device=model.device).manual_seed(plan.chunk_seed(index))
    records = model.sampler().sample(
        plan.chunk_records, plan.batch_size, plan.temperature, generator, plan.prefix
    )
    return [(plan.prefix_text + model.tokenizer.decode(r.ids), r.complete) for r in records]


def stream_texts(
    model: RecordModel, model_dir: Path, plan: SamplingPlan, workers: int
) -> Iterator[tuple[str, bool]]:
    """An endless stream of sampled texts, chunk after chunk, in chunk order."""
    if workers > 1 and model.device.type == "cpu":
        yield from _stream_from_workers(model_dir, plan, workers)
        return
    index = 0
    while True:
        # threads follow the load chunk by chunk (and are the caller's between chunks)
        with ThreadGovernor(plan.threads, "generation", wait=False, level=logging.DEBUG):
            texts = sample_chunk(model, plan, index)
        yield from texts
        index += 1


def _stream_from_workers(
    model_dir: Path, plan: SamplingPlan, workers: int
) -> Iterator[tuple[str, bool]]:
    work = partial(_worker_chunk, plan)
    chunks = ordered_map(work, itertools.count(), workers, _init_worker, (str(model_dir),))
    try:
        for texts in chunks:
            yield from texts
    finally:
        chunks.close()


_WORKER_MODEL: RecordModel | None = None


def _init_worker(model_dir: str) -> None:
    global _WORKER_MODEL
    _WORKER_MODEL = RecordModel.load(model_dir, device="cpu")


def _worker_chunk(plan: SamplingPlan, index: int) -> list[tuple[str, bool]]:
    assert _WORKER_MODEL is not None, "worker was not initialised"
    return sample_chunk(_WORKER_MODEL, plan, index)
