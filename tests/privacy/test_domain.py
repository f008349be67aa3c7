"""Private codec domains: noisy categories, bounds and quantiles; the byte tokenizer."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthloom.encoding.tokenizers import BYTE_ALPHABET, N_RESERVED, ByteTokenizer
from synthloom.errors import DataError
from synthloom.privacy.domain import (
    private_bounds,
    private_categories,
    private_histogram,
    private_quantiles,
)


def test_a_category_held_by_one_record_is_dropped_and_frequent_ones_kept() -> None:
    rng = np.random.default_rng(0)
    values = pd.Series(["a"] * 500 + ["b"] * 200 + ["rare"] + [None] * 30)
    kept = [private_categories(values, 1.0, 1e-5, rng) for _ in range(300)]
    assert all(k == ["a", "b"] for k in kept)
    # at δ = 0.05 a lone category survives about 5 % of the time, never more than δ allows
    loose = sum("rare" in private_categories(values, 1.0, 0.05, rng) for _ in range(1000))
    assert 20 <= loose <= 80


def test_noisy_counts_are_close_for_large_epsilon() -> None:
    counts = private_histogram(
        pd.Series([3] * 400 + [7] * 100), 5.0, 1e-6, np.random.default_rng(1)
    )
    assert list(counts) == [3, 7] and isinstance(next(iter(counts)), int)
    assert counts[3] == pytest.approx(400, abs=5) and counts[7] == pytest.approx(100, abs=5)


@pytest.mark.parametrize("public", [None, (-100.0, 200.0)])
def test_private_bounds_are_near_the_true_quantiles(public: tuple[float, float] | None) -> None:
    rng = np.random.default_rng(2)
    values = pd.Series(rng.normal(50, 10, 5000))
    true_lo, true_hi = np.quantile(values, [0.005, 0.995])
    lo, hi = private_bounds(values, 5.0, rng, public_bounds=public)
    assert abs(lo - true_lo) < 2 and abs(hi - true_hi) < 2


def test_public_bounds_clip_and_coarse_bounds_need_enough_data() -> None:
    rng = np.random.default_rng(3)
    values = pd.Series(np.r_[rng.uniform(0, 10, 2000), [1e9]])
    lo, hi = private_bounds(values, 2.0, rng, public_bounds=(0, 20), quantiles=(0.0, 1.0))
    assert 0 <= lo <= hi <= 20
    _, hi = private_bounds(values, 2.0, rng)
    assert hi < 100  # one outlier does not stretch the range
    with pytest.raises(DataError, match="give more rows, raise dp_epsilon"):
        private_bounds(pd.Series([1.0, 2.0, 3.0]), 1.0, rng)


def test_private_quantiles_track_the_true_ones() -> None:
    rng = np.random.default_rng(4)
    values = pd.Series(rng.exponential(10, 20000))
    wanted = [0.1, 0.25, 0.5, 0.75, 0.9]
    edges = private_quantiles(values, wanted, 1.0, (0.0, 60.0), rng)
    assert np.all(np.diff(edges) >= 0)
    np.testing.assert_allclose(edges, np.quantile(values, wanted), atol=0.5)


def test_byte_tokenizer_has_a_public_vocabulary(tmp_path: Path) -> None:
    tokenizer = ByteTokenizer()
    assert len(BYTE_ALPHABET) == 256 and tokenizer.vocab_size == N_RESERVED + 256
    text = "Ünïcödé ✓ 🙂 and ascii"
    ids = tokenizer.encode(text)
    assert min(ids) >= N_RESERVED and max(ids) < tokenizer.vocab_size
    assert tokenizer.decode(ids) == text
    assert tokenizer.decode([N_RESERVED + 0xFF]) == "\ufffd"
    tokenizer.save(tmp_path)
    assert json.loads((tmp_path / "tokenizer.json").read_text()) == {"kind": "byte"}
