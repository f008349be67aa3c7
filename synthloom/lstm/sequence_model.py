"""The sequence network: one LSTM over an entity's context and then its rows, row after row.

A sequence is ``<bos>``, the ``k`` context tokens (the parent's columns and the entity's
own constant columns), then per row a flag (row or end) and the row's field tokens. The
LSTM state runs through the whole sequence, so every row is conditioned on the context
and on every earlier row of the same entity, and the number of rows is the model's own
end decision.

Token ids in a training sequence are local ids + 1 (0 is ``<bos>`` and padding), so the
training loop's padding is ignored by the loss. Every position has a *slot*: a context
column, the flag, or a row field; slots of the same spelled column share one embedding
and one head, as in :class:`~synthloom.lstm.table_model.TableLSTM`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from synthloom.lstm.calibration import padded_bias, share_bucket
from synthloom.lstm.model import (
    LossTerms,
    State,
    draw_tokens,
    grouped_head_loss,
    recurrent_layers,
)
from synthloom.lstm.table_model import resample_candidates

# Rows beyond this index share one row-position embedding.
ROW_POSITIONS = 64
FLAG_ROW, FLAG_END = 0, 1


@dataclass(frozen=True)
class SequenceShape:
    """Everything needed to rebuild the sequence network."""

    context_sizes: tuple[int, ...]
    row_sizes: tuple[int, ...]  # the flag first, then the row's field positions
    embedding_dim: int
    rnn_units: int
    rnn_layers: int
    dropout_rate: float
    row_tied: tuple[int, ...] = ()  # per row slot, the row slot owning its head
    # Each row input also sees the same field of the previous row (False: models saved
    # before this input existed).
    previous_row: bool = False

    def to_dict(self) -> dict[str, object]:
        """Plain data for ``model_params.json``."""
        data = asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in data.items()}

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> SequenceShape:
        """Inverse of :meth:`to_dict`."""
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})  # type: ignore[arg-type]

    @property
    def period(self) -> int:
        """Positions per row (flag included)."""
        return len(self.row_sizes)

    @property
    def slot_sizes(self) -> list[int]:
        """Vocabulary size of every slot: context slots, then row slots."""
        return [*self.context_sizes, *self.row_sizes]

    @property
    def owners(self) -> list[int]:
        """Per slot, the slot that owns its embedding block and head."""
        k = len(self.context_sizes)
        row = list(self.row_tied) or list(range(len(self.row_sizes)))
        return list(range(k)) + [k + r for r in row]


class SequenceLSTM(nn.Module):
    """Predicts every context and row token of an entity from the tokens before it."""

    # Every token weighs the same in the loss, whatever its sequence's length (Trainer).
    equal_token_weights = True

    def __init__(self, shape: SequenceShape) -> None:
        super().__init__()
        self.shape = shape
        sizes, owners = shape.slot_sizes, shape.owners
        own = sorted(set(owners))
        starts = 1 + np.cumsum([0, *[sizes[s] for s in own[:-1]]])
        block = dict(zip(own, starts.tolist(), strict=True))
        self.register_buffer(
            "block_start", torch.tensor([block[o] for o in owners]), persistent=False
        )
        self.embedding = nn.Embedding(1 + sum(sizes[s] for s in own), shape.embedding_dim)
        # The context again at every row step: a parent's columns then need not survive
        # many noisy steps of the recurrent state to decide, say, when the sequence ends.
        starts_ctx = np.cumsum([0, *shape.context_sizes])[:-1]
        self.register_buffer(
            "context_start", torch.tensor(starts_ctx, dtype=torch.long), persistent=False
        )
        # (none without context: a parameter no pass uses has no per-record gradient)
        self.context_embedding = (
            nn.Embedding(sum(shape.context_sizes), shape.embedding_dim)
            if shape.context_sizes
            else None
        )
        self.slot_embedding = nn.Embedding(len(sizes), shape.embedding_dim)
        # The previous row's token in the same field, beside the token just seen: a
        # value's dependence on its previous value (a volume, a team) is then one step
        # away instead of a whole row of other fields back.
        self.previous_embedding = (
            nn.Embedding(self.embedding.num_embeddings, shape.embedding_dim)
            if shape.previous_row
            else None
        )
        self.row_embedding = nn.Embedding(ROW_POSITIONS + 1, shape.embedding_dim)
        self.lstm = recurrent_layers(
            shape.embedding_dim, shape.rnn_units, shape.rnn_layers, shape.dropout_rate
        )
        self.dropout = nn.Dropout(shape.dropout_rate)
        self.heads = nn.ModuleList(nn.Linear(shape.rnn_units, sizes[s]) for s in own)
        index = {s: i for i, s in enumerate(own)}
        self.head_of = [index[o] for o in owners]

    @property
    def n_context(self) -> int:
        return len(self.shape.context_sizes)

    def slots(self, start: int, length: int) -> tuple[np.ndarray, np.ndarray]:
        """Slot and row number (context: 0, rows from 1) of target positions ``start …``."""
        positions = np.arange(start, start + length)
        k, period = self.n_context, self.shape.period
        after = positions - k
        slot = np.where(after < 0, positions, k + np.mod(after, period))
        row = np.where(after < 0, 0, 1 + np.floor_divide(after, period))
        return slot, row

    def context_vector(self, context: torch.Tensor) -> torch.Tensor:
        """One vector per entity from its context tokens (local ids), added to the input
        of every row step."""
        if self.context_embedding is None:
            weight = self.embedding.weight
            return weight.new_zeros((context.shape[0], self.shape.embedding_dim))
        return self.context_embedding(context + self.context_start).sum(dim=1)

    def previous_row(self, inputs: torch.Tensor) -> torch.Tensor:
        """For whole sequences (``inputs`` from position 0): at each input position, the
        token of the previous row's target in the same slot (0 where there is none)."""
        k, period = self.n_context, self.shape.period
        previous = torch.zeros_like(inputs)
        # target t's field in the previous row is target t - period, whose token is
        # input t - period + 1; rows start at target k
        if inputs.shape[1] > k + period:
            previous[:, k + period :] = inputs[:, k + 1 : inputs.shape[1] - period + 1]
        return previous

    def hidden(
        self,
        inputs: torch.Tensor,
        state: State | None,
        start: int,
        context: torch.Tensor | None = None,
        previous: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, State]:
        """LSTM outputs for input positions ``start …`` (ids local + 1; 0 = bos/pad).

        The input at position ``t`` carries the token of target ``t - 1`` and is told the
        slot and row of target ``t``, the one it must predict; from the first row on it
        also gets ``context`` (:meth:`context_vector`; taken from ``inputs`` when the
        chunk starts the sequence) and ``previous``, target ``t``'s field in the previous
        row (:meth:`previous_row`; found from ``inputs`` when they start the sequence)."""
        length = inputs.shape[1]
        k = self.n_context
        slot, row = self.slots(start, length)
        before, _ = self.slots(max(start - 1, 0), length)
        if start == 0:  # input 0 is <bos>: no previous slot; its id is 0 anyway
            before = np.concatenate([[0], before[:-1]])
        block = self.block_start[torch.as_tensor(before, device=inputs.device)]
        ids = torch.where(inputs > 0, block + inputs - 1, torch.zeros_like(inputs))
        where = torch.as_tensor(slot, device=inputs.device)
        rows = torch.as_tensor(np.minimum(row, ROW_POSITIONS), device=inputs.device)
        embedded = (
            self.embedding(ids)
            + self.slot_embedding(where.expand(inputs.shape[0], -1))
            + self.row_embedding(rows.expand(inputs.shape[0], -1))
        )
        if self.previous_embedding is not None:
            if previous is None:
                previous = self.previous_row(inputs) if start == 0 else torch.zeros_like(inputs)
            block_here = self.block_start[where]
            known = previous > 0
            ids_previous = torch.where(known, block_here + previous - 1, torch.zeros_like(previous))
            embedded = embedded + self.previous_embedding(ids_previous) * known.unsqueeze(-1)
        if context is None and start == 0 and length > k:
            context = self.context_vector((inputs[:, 1 : k + 1] - 1).clamp(min=0))
        if context is not None and start + length > k:
            after = torch.as_tensor(np.arange(start, start + length) >= k, device=inputs.device)
            embedded = embedded + context.unsqueeze(1) * after.view(1, -1, 1)
        out, state = self.lstm(self.dropout(embedded), state)
        return self.dropout(out), state

    def loss_terms(
        self, inputs: torch.Tensor, targets: torch.Tensor, state: State | None, start: int
    ) -> LossTerms:
        """Cross-entropy of every real target, summed."""
        hidden, state = self.hidden(inputs, state, start)
        slot, _ = self.slots(start, inputs.shape[1])
        head_of = [self.head_of[s] for s in slot.tolist()]
        loss, correct = grouped_head_loss(self.heads, head_of, hidden, targets - 1)  # pad: -1
        return LossTerms(loss, correct, state)

    def count_targets(self, targets: torch.Tensor) -> int:
        """Targets that are not padding."""
        return int((targets > 0).sum())

    def chunk_length(self, seq_length: int | None, length: int) -> int:
        """A whole sequence per backward pass: every row step needs the context (sequences
        are at most ``max_sequence_rows`` rows)."""
        return length


@dataclass
class RowRules:
    """Per row field: the token forced on an entity's first row / on later rows (-1:
    none) and the tokens banned there (an order start comes first, gaps after)."""

    first_fixed: list[int]
    later_fixed: list[int]
    first_banned: list[list[int]]
    later_banned: list[list[int]]


@dataclass
class SampledSequences:
    """Generated rows of many entities: whose they are, and their tokens."""

    context: np.ndarray  # (entities, k) local ids
    entity: np.ndarray  # (rows,) entity index of each row
    rows: np.ndarray  # (rows, period - 1) local ids of the row fields


# Logit shifts a sampler takes from calibration (see SequenceSampler).
CALIBRATED = ("end", "end_tied", "tie", "tie_again")
# Calibration key of a row field's category shares: the prefix and the field's index.
FIELD_SHARES = "field:"


def field_key(field: int) -> str:
    """Calibration key of row field ``field``'s shares (see SequenceSampler)."""
    return f"{FIELD_SHARES}{field}"


class SequenceSampler:
    """Samples whole sequences for many entities at once; ended entities leave the batch,
    so the work is proportional to the rows generated."""

    def __init__(
        self,
        model: SequenceLSTM,
        device: torch.device,
        banned: list[list[int]],
        ends: list[int],
        rules: RowRules | None = None,
        calibration: dict[str, list] | None = None,
        tie: tuple[int, int] | None = None,
    ) -> None:
        self.model = model.to(device).eval()
        self.device = device
        # Per row index (the last one for all later rows), logit shifts calibrated after
        # training (see SequenceSynthesizer._calibrated): the end flag's ("end", and
        # "end_tied" once an entity has shared a time) and, with ``tie`` (row field,
        # token), the zero gap's ("tie" before an entity's first shared time,
        # "tie_again" after it). Per row field ("field:<j>"), every token's shift per row
        # bucket (calibration.share_bucket): its share along the sequence.
        shifts = calibration or {}
        self._shifts = {kind: self._per_row(shifts.get(kind)) for kind in CALIBRATED}
        self._field_shifts = {
            int(key[len(FIELD_SHARES) :]): torch.as_tensor(
                shift, dtype=torch.float32, device=device
            )
            for key, shift in shifts.items()
            if key.startswith(FIELD_SHARES)
        }
        self._tie = tie if shifts.get("tie") else None
        self._no_mask = torch.zeros(2, device=device)  # the flag: row or end
        self.on_row: Callable[[], None] | None = None  # called once per row step
        self._ends = ends  # per row slot (flag first), as TableSampler's
        self._masks = [
            self._mask(size, ids) for size, ids in zip(model.shape.slot_sizes, banned, strict=True)
        ]
        width = model.shape.period - 1
        self.rules = rules or RowRules([-1] * width, [-1] * width, [[]] * width, [[]] * width)
        sizes = model.shape.row_sizes[1:]
        self._first_masks = [
            self._mask(n, ids) for n, ids in zip(sizes, self.rules.first_banned, strict=True)
        ]
        self._later_masks = [
            self._mask(n, ids) for n, ids in zip(sizes, self.rules.later_banned, strict=True)
        ]

    def _per_row(self, bias: list[float] | None) -> torch.Tensor:
        padded = padded_bias(bias or (), ROW_POSITIONS + 1)
        if padded is None:
            return torch.zeros(ROW_POSITIONS + 1, device=self.device)
        return torch.as_tensor(padded, device=self.device)

    def _shifted(
        self,
        mask: torch.Tensor,
        token: int,
        kinds: tuple[str, str],
        tied: torch.Tensor,
        row: int,
        temperature: float,
    ) -> torch.Tensor:
        """``mask`` per entity, ``token``'s logit shifted as calibrated for ``row``: by
        the first kind's shift before an entity's first shared time, the second's after
        it (divided by the temperature, as the logits are)."""
        at = min(row, ROW_POSITIONS)
        first, then = (self._shifts[kind][at] for kind in kinds)
        out = mask.expand(len(tied), -1).clone()
        out[:, token] += torch.where(tied, then, first) / temperature
        return out

    def _mask(self, size: int, banned: list[int]) -> torch.Tensor:
        mask = torch.zeros(size, device=self.device)
        mask[banned] = -torch.inf
        return mask

    @torch.inference_mode()
    def sample(
        self,
        context: np.ndarray,
        temperature: float,
        generator: torch.Generator,
        min_rows: np.ndarray,
        max_rows: np.ndarray,
        batch_size: int,
        prefix: np.ndarray | None = None,
        particles: int = 1,
    ) -> SampledSequences:
        """Sequences for the given context tokens (-1 entries are drawn by the model);
        each entity gets between ``min_rows`` and ``max_rows`` rows. ``prefix`` (entities,
        rows, fields) holds an entity's first rows: tokens ≥ 0 are kept as given, -1 are
        drawn, and the rows after the last one with a given token are generated (rows to
        continue are whole given rows).

        Where a drawn field comes before a given one in the prefix rows, each entity is
        sampled as ``particles`` candidates, weighted by the probability the network
        gives each given token and resampled there (sequential importance resampling, as
        :class:`~synthloom.lstm.table_model.TableSampler` does for one row), so the drawn
        values follow the network given the later given ones too; after an entity's
        given rows one candidate goes on."""
        k = particles if prefix is not None and particles > 1 and _free_before_given(prefix) else 1
        step = max(batch_size // k, 1)
        contexts, entities, rows = [], [], []
        for lo in range(0, len(context), step):
            hi = min(lo + step, len(context))

            def part(values: np.ndarray, lo: int = lo, hi: int = hi) -> torch.Tensor:
                return torch.as_tensor(values[lo:hi], device=self.device).repeat_interleave(
                    k, dim=0
                )

            ctx, entity, row = self._sample_batch(
                part(context),
                temperature,
                generator,
                part(min_rows),
                part(max_rows),
                None if prefix is None else part(prefix),
                k,
            )
            contexts.append(ctx[::k])
            entities.append(entity // k + lo)
            rows.append(row)
        width = self.model.shape.period - 1
        return SampledSequences(
            np.concatenate(contexts) if contexts else np.zeros((0, self.model.n_context), int),
            np.concatenate(entities) if entities else np.zeros(0, int),
            np.concatenate(rows) if rows else np.zeros((0, width), int),
        )

    def _draw(
        self,
        state: State | None,
        token: torch.Tensor,
        position: int,
        temperature: float,
        generator: torch.Generator,
        context: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
        previous: torch.Tensor | None = None,
        given: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, State, torch.Tensor | None]:
        """A drawn token per row, the state after it, and with ``given`` (tokens, -1:
        none) the log-probability of each given token (0 where none is given)."""
        hidden, state = self.model.hidden(
            token.unsqueeze(1),
            state,
            position,
            context,
            None if previous is None else previous.unsqueeze(1),
        )
        slot = int(self.model.slots(position, 1)[0][0])
        head = self.model.heads[self.model.head_of[slot]]
        logits = head(hidden[:, -1]) / temperature + self._masks[slot]
        if mask is not None:
            logits = logits + mask
        chance = None
        if given is not None:
            chance = torch.log_softmax(logits, dim=-1).gather(1, given.clamp(min=0).unsqueeze(1))
            chance = torch.where(
                (given >= 0) & chance.squeeze(1).isfinite(), chance.squeeze(1), 0.0
            )
        return draw_tokens(logits, generator), state, chance

    def _sample_batch(
        self,
        context: torch.Tensor,
        temperature: float,
        generator: torch.Generator,
        min_rows: torch.Tensor,
        max_rows: torch.Tensor,
        prefix: torch.Tensor | None = None,
        particles: int = 1,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Rows of ``particles`` candidates per entity side by side (entity ``i``'s are
        ``i·k … i·k + k − 1``); the entity index returned is the candidate's."""
        model = self.model
        k = particles
        given_rows = (
            (prefix >= 0).any(dim=2).long().cumprod(dim=1).sum(dim=1)
            if prefix is not None
            else torch.zeros(len(context), dtype=torch.long, device=self.device)
        )
        min_rows = torch.maximum(min_rows, given_rows)
        n, k_ctx, period = len(context), model.n_context, model.shape.period
        token = torch.zeros(n, dtype=torch.long, device=self.device)  # <bos>
        state: State | None = None
        drawn_context = torch.empty((n, k_ctx), dtype=torch.long, device=self.device)
        for t in range(k_ctx):
            drawn, state, _ = self._draw(state, token, t, temperature, generator)
            given = context[:, t]
            drawn = torch.where(given >= 0, given, drawn)
            drawn_context[:, t] = drawn
            token = drawn + 1
        vector = model.context_vector(drawn_context)
        alive = torch.arange(n, device=self.device)
        # candidates: their weights, which are set aside (after their entity's given rows
        # one goes on), and the rows each step appended, re-drawn when candidates resample
        log_weight = torch.zeros(n, device=self.device)
        dropped = torch.zeros(n, dtype=torch.bool, device=self.device)
        entity_parts: list[torch.Tensor] = []
        row_parts: list[torch.Tensor] = []
        row = 0
        fields = torch.zeros((n, period - 1), dtype=torch.long, device=self.device)
        tied = torch.zeros(n, dtype=torch.bool, device=self.device)  # a shared time so far
        while len(alive):
            if self.on_row is not None:
                self.on_row()
            if k > 1:  # candidates of entities whose given rows are over: one goes on
                spare = (row >= given_rows[alive]) & (alive % k > 0)
                if bool(spare.any()):
                    dropped[alive[spare]] = True
                    keep = ~spare
                    alive, fields, tied, token = alive[keep], fields[keep], tied[keep], token[keep]
                    state = (state[0][:, keep], state[1][:, keep])
                    if not len(alive):
                        break
            position = k_ctx + row * period
            # the previous row's tokens (+1; 0 on the first row): its flag said "row"
            last = (
                torch.zeros((len(alive), period), dtype=torch.long, device=self.device)
                if row == 0
                else torch.cat([torch.full_like(fields[:, :1], FLAG_ROW), fields], dim=1) + 1
            )
            flag, state, _ = self._draw(
                state,
                token,
                position,
                temperature,
                generator,
                vector[alive],
                self._shifted(self._no_mask, FLAG_END, ("end", "end_tied"), tied, row, temperature),
                last[:, 0],
            )
            count = torch.full_like(flag, row)
            flag = torch.where(count < min_rows[alive], FLAG_ROW, flag)
            flag = torch.where(count >= max_rows[alive], FLAG_END, flag)
            flag = torch.where(count < given_rows[alive], FLAG_ROW, flag)
            keep = flag == FLAG_ROW
            if not bool(keep.all()):
                alive, flag, last, tied = alive[keep], flag[keep], last[keep], tied[keep]
                state = (state[0][:, keep], state[1][:, keep])
                if not len(alive):
                    break
            token = flag + 1
            fields = torch.empty((len(alive), period - 1), dtype=torch.long, device=self.device)
            previous = None
            fixed = self.rules.first_fixed if row == 0 else self.rules.later_fixed
            masks = self._first_masks if row == 0 else self._later_masks
            bucket = int(share_bucket(np.array(row)))
            seeded = prefix is not None and row < prefix.shape[1]
            for j in range(1, period):
                mask = masks[j - 1]
                if j - 1 in self._field_shifts:
                    mask = mask + self._field_shifts[j - 1][bucket] / temperature
                if self._tie is not None and row > 0 and j - 1 == self._tie[0]:
                    kinds = ("tie", "tie_again")
                    mask = self._shifted(mask, self._tie[1], kinds, tied, row, temperature)
                kept = None
                if seeded:
                    assert prefix is not None
                    kept = prefix[alive, row, j - 1]
                    kept = torch.where(row < given_rows[alive], kept, -1)
                drawn, state, chance = self._draw(
                    state,
                    token,
                    position + j,
                    temperature,
                    generator,
                    vector[alive],
                    mask,
                    last[:, j],
                    kept if k > 1 else None,
                )
                if fixed[j - 1] >= 0:
                    drawn = torch.full_like(drawn, fixed[j - 1])
                if kept is not None:
                    drawn = torch.where(kept >= 0, kept, drawn)
                end = self._ends[j]
                if end >= 0 and previous is not None:
                    drawn = torch.where(previous >= end, end, drawn)
                fields[:, j - 1] = drawn
                previous = drawn
                token = drawn + 1
                if chance is not None and kept is not None and bool((kept >= 0).any()):
                    log_weight[alive] += chance
                    pick = _resample_groups(alive, kept >= 0, log_weight, k, generator)
                    state = (state[0][:, pick], state[1][:, pick])
                    fields, last, tied, token = fields[pick], last[pick], tied[pick], token[pick]
                    previous = previous[pick]
                    source = alive[pick]
                    vector[alive], drawn_context[alive] = vector[source], drawn_context[source]
                    for i, ids in enumerate(entity_parts):  # earlier rows follow the draw
                        row_parts[i] = _redrawn(row_parts[i], ids, alive, source)
                    log_weight[alive[kept >= 0]] = 0.0
            if self._tie is not None and row > 0:
                tied |= fields[:, self._tie[0]] == self._tie[1]
            entity_parts.append(alive.clone())
            row_parts.append(fields.clone())
            row += 1
        if k > 1:
            kept_rows = [~dropped[ids] for ids in entity_parts]
            entity_parts = [ids[m] for ids, m in zip(entity_parts, kept_rows, strict=True)]
            row_parts = [rows[m] for rows, m in zip(row_parts, kept_rows, strict=True)]
        entity_parts_np = [ids.cpu().numpy() for ids in entity_parts]
        row_parts_np = [rows.cpu().numpy() for rows in row_parts]
        width = period - 1
        entity = np.concatenate(entity_parts_np) if entity_parts_np else np.zeros(0, np.int64)
        rows = np.concatenate(row_parts_np) if row_parts_np else np.zeros((0, width), np.int64)
        order = np.argsort(entity, kind="stable")  # entity by entity, rows in order
        return drawn_context.cpu().numpy(), entity[order], rows[order]


def _free_before_given(prefix: np.ndarray) -> bool:
    """Whether some entity's given rows draw a field before a given one, in sampling
    order (candidates must then be weighed; whole given rows, as when continuing a
    series, need none)."""
    given = prefix >= 0
    seeded = np.cumprod(given.any(axis=2), axis=1).astype(bool)[..., None]
    order = np.arange(given.shape[1] * given.shape[2]).reshape(given.shape[1:])
    last_given = np.where(seeded & given, order, -1).max(axis=(1, 2), initial=-1)
    first_free = np.where(seeded & ~given, order, order.size).min(axis=(1, 2), initial=order.size)
    return bool((last_given > first_free).any())


def _resample_groups(
    alive: torch.Tensor,
    weighed: torch.Tensor,
    log_weight: torch.Tensor,
    k: int,
    generator: torch.Generator,
) -> torch.Tensor:
    """Positions in ``alive`` after resampling: the candidates of each entity with a
    ``weighed`` token (all ``k`` alive, side by side) drawn by weight, the rest kept."""
    pick = torch.arange(len(alive), device=alive.device)
    rows = torch.nonzero(weighed).flatten()
    if len(rows):  # rows come in blocks of one entity's k candidates
        pick[rows] = rows[resample_candidates(log_weight[alive[rows]].view(-1, k), k, generator)]
    return pick


def _redrawn(
    rows: torch.Tensor, ids: torch.Tensor, alive: torch.Tensor, source: torch.Tensor
) -> torch.Tensor:
    """An earlier step's ``rows`` (of candidates ``ids``, ascending) after resampling:
    candidate ``alive[i]`` now holds the rows of ``source[i]`` (both alive at every
    earlier step: they were in their entity's given rows)."""
    moved = alive != source
    if not bool(moved.any()):
        return rows
    out = rows.clone()
    out[torch.searchsorted(ids, alive[moved])] = rows[torch.searchsorted(ids, source[moved])]
    return out
