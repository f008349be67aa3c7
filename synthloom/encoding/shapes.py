"""Spelled columns with too few values to learn spelling from: new values in the shapes of
the training values.

A row model learns an email's or a phone number's format character by character from
thousands of values; from a few dozen (a small customers table) it either never learns
it or learns it by heart, and every value it writes is a copy. Here each training value
is cut into runs, letters, digits and single other characters, and keeps its *shape*:

* a letter run that at least :data:`COMMON_MIN_VALUES` training values share (``gmail``,
  ``com``) is a shared pattern, not a person's, and stays as it is;
* any other letter run becomes its length and case, refilled from a character bigram
  model of the column's letters;
* a digit run becomes its length, refilled with digits drawn as often as the column
  uses them (no leading zero where the training value had none); other characters
  (``@ . - + ( )``, spaces) stay.

A generated value takes the shape of a training value drawn at random, so emails keep
one ``@`` and a domain, and phone numbers keep their layout. Values equal to a training
value are rejected by the copy guard, as for spelled values. Not used under DP (the
shapes come from raw values).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# Fewer distinct training values than this and a spelled column is generated from shapes.
SHAPE_MAX_VALUES = 300
# A letter run in at least this many distinct training values is kept as it is.
COMMON_MIN_VALUES = 3

_RUNS = re.compile(r"(\d+)|([^\W\d_]+)|(.)", re.DOTALL)
_START = "^"  # a letter run's start in the bigram counts
_DIGITS, _NONZERO = "0-9", "1-9"  # the digit tables' keys (never a bigram key)


@dataclass
class ShapeSampler:
    """Training values' shapes and a character bigram model of their letters.

    ``shapes``: one per distinct training value, a list of pieces: ``["k", text]`` kept
    text (a common letter run or another character), ``["a", length, case]`` letters to
    refill (``case``: ``lower``, ``upper``, ``title`` or ``mixed``), ``["d", length,
    leading_zero]`` digits to refill. ``bigrams``: per lower-case letter (and ``^``, a
    run's start), the counts of the letters that follow it. ``digits``: how often the
    column uses each digit (generated numbers use only these, as the validators expect).
    """

    shapes: list[list[list[Any]]]
    bigrams: dict[str, dict[str, int]]
    digits: dict[str, int]
    # Each count table as characters and running totals, built once: a value's characters
    # are drawn one by one, so each draw must be a lookup, not a new distribution.
    _tables: dict[str, _Table] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._tables = {key: _Table.of(counts) for key, counts in self.bigrams.items()}
        nonzero = {d: n for d, n in self.digits.items() if d != "0"}
        self._tables[_DIGITS] = _Table.of(self.digits or {"0": 1})
        self._tables[_NONZERO] = _Table.of(nonzero or {"1": 1})
        self._tables.setdefault(_START, _Table.of({"x": 1}))

    @classmethod
    def fit(cls, values: list[str]) -> ShapeSampler:
        """Shapes and letter bigrams of the distinct ``values``."""
        distinct = sorted(set(values))
        runs = [[m.group(0) for m in _RUNS.finditer(v)] for v in distinct]
        letters = Counter(r for value in runs for r in set(value) if _is_letters(r))
        common = {r for r, n in letters.items() if n >= COMMON_MIN_VALUES}
        bigrams: dict[str, Counter[str]] = {}
        for run in (r for value in runs for r in value if _is_letters(r) and r not in common):
            lower = run.lower()
            for a, b in zip(_START + lower, lower, strict=False):
                bigrams.setdefault(a, Counter())[b] += 1
        shapes = [[_piece(r, common) for r in value] for value in runs]  # "" has no runs
        digits = Counter(c for value in distinct for c in value if c.isdigit() and c.isascii())
        return cls(
            shapes,
            {a: dict(sorted(c.items())) for a, c in sorted(bigrams.items())},
            dict(sorted(digits.items())),
        )

    def sample(self, n: int, rng: np.random.Generator) -> list[str]:
        """``n`` values, each in the shape of a training value drawn at random."""
        if not self.shapes:
            return [""] * n
        chosen = rng.integers(len(self.shapes), size=n)
        return ["".join(self._fill(p, rng) for p in self.shapes[i]) for i in chosen]

    def to_dict(self) -> dict[str, Any]:
        return {"shapes": self.shapes, "bigrams": self.bigrams, "digits": self.digits}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ShapeSampler:
        return cls(data["shapes"], data["bigrams"], data["digits"])

    def _fill(self, piece: list[Any], rng: np.random.Generator) -> str:
        kind = piece[0]
        if kind == "k":
            return str(piece[1])
        if kind == "d":
            length, leading_zero = int(piece[1]), bool(piece[2])
            first = _DIGITS if leading_zero or length == 1 else _NONZERO
            draws = rng.random(length)
            digits = self._tables[_DIGITS]
            return self._tables[first].draw(draws[0]) + "".join(map(digits.draw, draws[1:]))
        return _cased(self._letters(int(piece[1]), rng), str(piece[2]))

    def _letters(self, length: int, rng: np.random.Generator) -> str:
        """``length`` letters, each drawn from the bigram counts after the one before
        (the run-start counts where a letter was never followed)."""
        out, previous = [], _START
        for u in rng.random(length):
            table = self._tables.get(previous) or self._tables[_START]
            previous = table.draw(u)
            out.append(previous)
        return "".join(out)


@dataclass(frozen=True)
class _Table:
    """Characters and the running totals of their counts."""

    chars: list[str]
    totals: list[float]

    @classmethod
    def of(cls, counts: dict[str, int]) -> _Table:
        return cls(list(counts), np.cumsum(list(counts.values()), dtype=float).tolist())

    def draw(self, u: float) -> str:
        """The character that uniform ``u`` in [0, 1) picks, as often as its count."""
        return self.chars[min(bisect_right(self.totals, u * self.totals[-1]), len(self.chars) - 1)]


def _is_letters(run: str) -> bool:
    return run[0].isalpha()


def _piece(run: str, common: set[str]) -> list[Any]:
    if run[0].isdigit():
        return ["d", len(run), run[0] == "0"]
    if not _is_letters(run) or run in common:
        return ["k", run]
    return ["a", len(run), _case(run)]


def _case(run: str) -> str:
    if run.islower():
        return "lower"
    if run.isupper():
        return "upper" if len(run) > 1 else "title"
    return "title" if run[0].isupper() and run[1:].islower() else "mixed"


def _cased(letters: str, case: str) -> str:
    if case == "upper":
        return letters.upper()
    if case in ("title", "mixed"):
        return letters[:1].upper() + letters[1:]
    return letters
