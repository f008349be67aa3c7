"""One generation call of a table model: sample, decode, validate, retry until enough.

A :class:`GenerationRun` draws rows from the clusters' networks (each later cluster
forced to its anchors' values, as seeds are), rejects invalid rows and copies of spelled
training values, and hands over to the statistical fallback when the LSTM cannot make
enough valid rows. It sees the trained model as a :class:`TrainedTable`, not the
synthesizer, so that sampling depends on nothing above it.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from synthloom.config import SyntheticsConfig
from synthloom.encoding.columns import CopyGuard, gen_temps
from synthloom.errors import TooManyInvalidError
from synthloom.fallback import StatisticalModel
from synthloom.io.schema import TableFormat
from synthloom.lstm.threads import ThreadGovernor
from synthloom.synthesizers.executors import task_seed
from synthloom.synthesizers.table_parts import ClusterModel, column_kinds, sampler_for
from synthloom.validation.field_validators import FieldValidators

log = logging.getLogger("synthloom")

# Rows rejected for holding a training value, at most this many times the rows wanted;
# after that copies are kept and counted (generation_stats_["copies_kept"]).
COPY_RESAMPLE_FACTOR = 2


@dataclass(frozen=True)
class TrainedTable:
    """What a generation run samples from: the trained parts and their safeguards."""

    config: SyntheticsConfig
    engine: str
    table_format: TableFormat
    parts: list[ClusterModel]
    fallback: StatisticalModel | None
    copy_guard: CopyGuard | None
    validators: FieldValidators | None
    device: torch.device
    fallback_reason: str | None


class GenerationRun:
    """One generation call: sample, decode, validate, and retry until enough valid rows."""

    def __init__(
        self,
        model: TrainedTable,
        temperature: float,
        batch: int,
        seed: int | None,
        max_invalid: int,
        wanted: int,
    ) -> None:
        self.model = model
        own = gen_temps(model.config.columns)
        self.samplers = [sampler_for(p, model.device, own) for p in model.parts]
        self.temperature, self.batch = temperature, batch
        self.generator = torch.Generator(device=model.device)
        self.generator.manual_seed(seed if seed is not None else int(torch.seed() % 2**62))
        self.rng = np.random.default_rng(seed)
        self.max_invalid, self.wanted = max_invalid, wanted
        self.valid = self.invalid = 0
        self.examples: list[str] = []
        self.seed = seed
        self.fallback_records = 0
        self.copies_resampled = self.copies_kept = 0
        # Identifiers are unique in the output too: values handed out so far.
        self._issued: dict[str, set[str]] = {
            name: set() for name, kind in column_kinds(model.parts).items() if kind == "identifier"
        }
        # A failed LSTM training left only the fallback: every row comes from it, and why.
        lstm_failed = model.engine == "lstm" and not model.parts
        self.fallback_reason = model.fallback_reason if lstm_failed else None
        self._done = pd.DataFrame()

    def generate(
        self, seeds: pd.DataFrame | None, free: pd.DataFrame | None = None
    ) -> pd.DataFrame:
        """All wanted rows: from the LSTM, or the statistical model when it must take over.

        ``seeds`` holds given values, one row per generated row; ``free`` (imputation),
        the same shape, is True where a seed cell is not given but to be generated."""
        given = given_cells(seeds, free)
        kept: list[pd.DataFrame] = []
        pending = np.arange(self.wanted)
        use_lstm = bool(self.model.parts) and self.model.engine == "lstm"
        try:
            if use_lstm:
                with ThreadGovernor(
                    self.model.config.params.threads, "generation", wait=False, level=logging.DEBUG
                ) as self.threads:
                    kept.append(self._collect(seeds, given, pending, self._draw))
                return pd.concat(kept).sort_index()
        except TooManyInvalidError as exc:
            if self.model.fallback is None or not self.model.config.fallback.allow:
                raise
            self.fallback_reason = f"LSTM output exceeded max_invalid ({exc})"
            log.warning(
                "%s; the statistical fallback model generates the rest", self.fallback_reason
            )
            kept.append(self._done)
            pending = np.setdiff1d(pending, self._done.index)
            self.invalid = 0
        before = self.valid
        kept.append(self._collect(seeds, given, pending, self._draw_statistical))
        self.fallback_records = self.valid - before
        return pd.concat(kept).sort_index()

    def _collect(
        self,
        seeds: pd.DataFrame | None,
        given: pd.DataFrame | None,
        pending: np.ndarray,
        draw: Callable[[int, pd.DataFrame | None, pd.DataFrame | None], pd.DataFrame],
    ) -> pd.DataFrame:
        """Valid rows for the ``pending`` slots; ``self._done`` holds them even on failure.
        ``given`` (as :func:`given_cells` makes it) marks the seed cells to keep."""
        self._done = pd.DataFrame()
        kept: list[pd.DataFrame] = []
        while len(pending):
            rows = cells = None
            if seeds is not None and given is not None:
                rows = seeds.iloc[pending].reset_index(drop=True)
                cells = given.iloc[pending].reset_index(drop=True)
            n = len(pending) if seeds is not None else math.ceil(len(pending) * 1.05) + 8
            frame = draw(n, rows, cells)
            as_given = pd.DataFrame(False, index=frame.index, columns=frame.columns)
            if rows is not None and cells is not None:  # seed values come back as given
                as_given[cells.columns] = cells
                for name in rows.columns:
                    values = rows[name].astype(object).where(cells[name], frame[name])
                    frame[name] = cast_like(values.to_numpy(), frame[name])
            ok = self._check(frame, as_given)
            ok = ok & self._novel(frame.mask(as_given), ok)  # seed values are the user's
            good = frame[ok].head(len(pending))
            good.index = pending[: len(good)] if seeds is None else pending[ok]
            kept.append(good)
            self._done = pd.concat(kept)
            self.valid += len(good)
            pending = np.setdiff1d(pending, good.index)
        return pd.concat(kept) if kept else pd.DataFrame()

    def _draw_statistical(
        self, n: int, seeds: pd.DataFrame | None, cells: pd.DataFrame | None
    ) -> pd.DataFrame:
        """Rows from the statistical model, conditioned on the given cells: rows that give
        the same columns are drawn together (the model conditions on whole columns)."""
        fallback = self.model.fallback
        assert fallback is not None
        self.seed = None if self.seed is None else self.seed + 1
        known = set(fallback.columns_)
        if seeds is None or cells is None:
            frame = fallback.generate(n, seed=self.seed)
        else:
            given = cells[[c for c in cells.columns if c in known]]
            parts = []
            for rows in same_pattern(given):
                columns = [c for c in given.columns if given[c].iloc[rows[0]]]
                conditions = seeds.iloc[rows][columns] if columns else None
                drawn = fallback.generate(len(rows), conditions=conditions, seed=self.seed)
                parts.append(drawn.set_axis(rows))
            frame = pd.concat(parts).sort_index()
        for name in self.model.table_format.names:  # spelled columns: not in the fallback
            if name not in frame:
                frame[name] = pd.Series([None] * len(frame), index=frame.index, dtype=object)
        return frame

    def _draw(self, n: int, seeds: pd.DataFrame | None, cells: pd.DataFrame | None) -> pd.DataFrame:
        """Rows from every part in turn: each is forced to its anchors' values (made by the
        earlier parts) and to the given seed values of its own columns."""
        frame: pd.DataFrame | None = None
        self.threads.tick()
        for part, sampler in zip(self.model.parts, self.samplers, strict=True):
            forced = np.full((n, len(part.codec.vocab_sizes)), -1, dtype=np.int64)
            if frame is not None and part.conditioned:
                anchors = frame[part.conditioned]
                forced[:, part.codec.positions(part.conditioned)] = part.codec.encode(
                    anchors, seeds=True
                )
            own = [] if cells is None else [c for c in cells.columns if c in part.columns]
            for name in own:
                rows = cells[name].to_numpy(dtype=bool)  # type: ignore[index]
                if rows.any():
                    tokens = part.codec.encode(seeds.loc[rows, [name]], seeds=True)
                    forced[np.ix_(rows, part.codec.positions([name]))] = tokens
            tokens = sampler.sample(
                n,
                self.batch,
                self.temperature,
                self.generator,
                forced if (forced >= 0).any() else None,
                self.model.config.params.conditioning_particles,
            )
            decoded = part.codec.decode(tokens, self.rng)[part.columns]
            frame = decoded if frame is None else frame.join(decoded)
        assert frame is not None
        return frame

    def _novel(self, frame: pd.DataFrame, ok: np.ndarray) -> np.ndarray:
        """Rows whose spelled values are new: not a training value (copy guard) and, for
        identifiers, not already issued. Up to COPY_RESAMPLE_FACTOR × wanted rows are
        rejected (drawn again); after that copies are kept and counted."""
        guard = self.model.copy_guard
        copied = np.zeros(len(frame), dtype=bool)
        if guard is not None:
            for hits in guard.copies(frame).values():
                copied |= hits
        for name, issued in self._issued.items():
            if name in frame:
                values = frame[name].astype(object)
                copied |= (values.duplicated() & values.notna()).to_numpy()
                copied |= values.isin(issued).to_numpy()
        copied &= ok
        room = COPY_RESAMPLE_FACTOR * self.wanted - self.copies_resampled
        rejected = int(copied.sum())
        if rejected <= room:
            self.copies_resampled += rejected
            keep = ~copied
        else:
            self.copies_kept += rejected
            keep = np.ones(len(frame), dtype=bool)
        for name, issued in self._issued.items():
            if name in frame:
                issued.update(frame[name][ok & keep].dropna().astype(str))
        return keep

    def _check(self, frame: pd.DataFrame, given: pd.DataFrame) -> np.ndarray:
        """Rows whose generated values pass the validators (given values are the user's)."""
        validators = self.model.validators
        if validators is None:
            return np.ones(len(frame), dtype=bool)
        explanations = validators.check_frame(frame, skip=given)
        ok = explanations.isna().to_numpy()
        bad = explanations[~ok]
        self.invalid += len(bad)
        self.examples = (self.examples + bad.astype(str).tolist())[:10]
        if self.invalid > self.max_invalid:
            raise TooManyInvalidError(self.valid, self.invalid, self.max_invalid, self.wanted)
        return ok


def same_pattern(given: pd.DataFrame) -> list[np.ndarray]:
    """Row positions grouped by which columns they give."""
    if not len(given.columns):
        return [np.arange(len(given))]
    groups = given.reset_index(drop=True).groupby(list(given.columns), sort=False).indices
    return [np.asarray(rows) for rows in groups.values()]


def given_cells(seeds: pd.DataFrame | None, free: pd.DataFrame | None) -> pd.DataFrame | None:
    """True for each seed cell whose value is given, not one to impute (``free``)."""
    if seeds is None:
        return None
    given = pd.DataFrame(True, index=seeds.index, columns=seeds.columns)
    if free is not None:
        shared = [c for c in seeds.columns if c in free]
        given[shared] = ~free[shared].to_numpy(dtype=bool)
    return given


@dataclass(frozen=True)
class ChunkJob:
    """One chunk of a generation run: everything a worker process needs to make it."""

    index: int
    rows: int
    seeds: pd.DataFrame | None
    seed: int | None
    temperature: float
    batch: int
    max_invalid: int
    free: pd.DataFrame | None = None  # imputation: seed cells to generate


def spans(total: int, step: int) -> Iterator[tuple[int, int]]:
    """(start, rows) of consecutive chunks of at most ``step`` rows covering ``total``."""
    for start in range(0, total, step):
        yield start, min(step, total - start)


def new_stats() -> dict[str, Any]:
    stats: dict[str, Any] = dict.fromkeys(
        ("valid", "invalid", "fallback_records", "copies_resampled", "copies_kept"), 0
    )
    stats["fallback_reason"] = None
    return stats


def chunk_seed(seed: int | None, index: int) -> int | None:
    """The first chunk keeps the seed (one-chunk runs stay as before); later ones derive."""
    return None if seed is None else task_seed(seed, index)


def cast_like(values: np.ndarray, like: pd.Series) -> pd.Series:
    """Seed values in the generated column's dtype when they fit it, else as given."""
    try:
        return pd.Series(values, index=like.index).astype(like.dtype)
    except (TypeError, ValueError):
        return pd.Series(values, index=like.index, dtype=object)


def restore_dtypes(frame: pd.DataFrame, dtypes: dict[str, str]) -> pd.DataFrame:
    """Give each column the dtype it had in training (seed values that do not fit stay)."""
    for name, dtype in dtypes.items():
        with contextlib.suppress(TypeError, ValueError):
            frame[name] = frame[name].astype(dtype)
    return frame
