"""Tokenizers round-trip any UTF-8 line exactly."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synthloom import DataError
from synthloom.encoding.tokenizers import (
    BOS,
    EOR,
    FS,
    N_RESERVED,
    PAD,
    CharTokenizer,
    SentencePieceTokenizer,
    load_tokenizer,
)
from tests.conftest import fortunes_lines

# Any line: every Unicode character that UTF-8 can hold, except line breaks.
lines = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r"), min_size=1
)


@pytest.fixture(scope="module")
def sentencepiece(tmp_path_factory: pytest.TempPathFactory) -> SentencePieceTokenizer:
    workdir = tmp_path_factory.mktemp("cwd")
    before = os.getcwd()
    os.chdir(workdir)
    try:
        tokenizer = SentencePieceTokenizer.fit(fortunes_lines(2000), vocab_size=1000, seed=0)
    finally:
        os.chdir(before)
    assert list(workdir.iterdir()) == [], "SentencePiece wrote into the working directory"
    return tokenizer


@given(lines)
def test_char_round_trip(text: str) -> None:
    tokenizer = CharTokenizer.fit([text])
    ids = tokenizer.encode(text)
    assert min(ids) >= N_RESERVED
    assert tokenizer.decode(ids) == text


@settings(max_examples=300)
@given(lines)
def test_sentencepiece_round_trip_of_unseen_text(
    sentencepiece: SentencePieceTokenizer, text: str
) -> None:
    ids = sentencepiece.encode(text)
    assert min(ids) >= N_RESERVED
    assert sentencepiece.decode(ids) == text


@pytest.mark.parametrize(
    "text", ["  lead and trail  ", "tab\there", "emoji 😀 漢字", "x\u2581y", "\ue000_\ue000\ue000"]
)
def test_sentencepiece_tricky_lines(sentencepiece: SentencePieceTokenizer, text: str) -> None:
    assert sentencepiece.decode(sentencepiece.encode(text)) == text


def test_sentencepiece_compresses_real_text(sentencepiece: SentencePieceTokenizer) -> None:
    text = fortunes_lines(10)[3]
    assert len(sentencepiece.encode(text)) < 0.6 * len(text)


def test_reserved_ids_are_distinct_and_banned() -> None:
    assert len({PAD, BOS, EOR, FS}) == N_RESERVED
    tokenizer = CharTokenizer.fit(["ab"])
    assert EOR not in tokenizer.non_content_ids()
    assert {PAD, BOS, FS} <= set(tokenizer.non_content_ids())


def test_unknown_character_is_a_clear_error() -> None:
    with pytest.raises(DataError, match="never occurs"):
        CharTokenizer.fit(["abc"]).encode("abz")


@pytest.mark.parametrize("kind", ["char", "sentencepiece"])
def test_save_and_load(tmp_path: Path, sentencepiece: SentencePieceTokenizer, kind: str) -> None:
    lines_ = fortunes_lines(50)
    tokenizer = CharTokenizer.fit(lines_) if kind == "char" else sentencepiece
    tokenizer.save(tmp_path)
    loaded = load_tokenizer(tmp_path)
    assert loaded.kind == kind
    assert loaded.vocab_size == tokenizer.vocab_size
    assert all(loaded.encode(line) == tokenizer.encode(line) for line in lines_)
