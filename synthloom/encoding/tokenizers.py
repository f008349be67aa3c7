"""Tokenizers: characters (``vocab_size: 0``) or SentencePiece (``vocab_size > 0``).

Token ids 0-3 are reserved in both: padding, begin-of-record, end-of-record and field
separator. Content tokens follow. Any UTF-8 line round-trips exactly.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import sentencepiece as spm

from synthloom.errors import DataError, ModelDirError

PAD, BOS, EOR, FS = 0, 1, 2, 3
RESERVED_TOKENS = ("<pad>", "<bos>", "<eor>", "<fs>")
N_RESERVED = len(RESERVED_TOKENS)
TOKENIZER_JSON = "tokenizer.json"
SENTENCEPIECE_FILE = "tokenizer.model"

# SentencePiece shows spaces as U+2581; a literal U+2581 in the data would come back as a
# space, so it is escaped to a private-use pair first (and the escape char doubled).
_SP_SPACE = "\u2581"
_ESC = "\ue000"


class Tokenizer(Protocol):
    """What the LSTM needs from a tokenizer."""

    kind: str

    @property
    def vocab_size(self) -> int:
        """Number of token ids, reserved ones included."""
        ...

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` (no reserved tokens added)."""
        ...

    def decode(self, ids: Sequence[int]) -> str:
        """Text of content token ids."""
        ...

    def non_content_ids(self) -> list[int]:
        """Ids the sampler must never emit inside a text record."""
        ...

    def save(self, directory: Path) -> None:
        """Write the tokenizer's files into ``directory``."""
        ...


class CharTokenizer:
    """One token per Unicode character seen in training."""

    kind = "char"

    def __init__(self, chars: Sequence[str]) -> None:
        self.chars = list(chars)
        self._ids = {c: i + N_RESERVED for i, c in enumerate(self.chars)}

    @classmethod
    def fit(cls, records: Sequence[str]) -> CharTokenizer:
        """Learn the character set of ``records``."""
        return cls(sorted(set().union(*map(set, records))))

    @property
    def vocab_size(self) -> int:
        return N_RESERVED + len(self.chars)

    def encode(self, text: str) -> list[int]:
        try:
            return [self._ids[c] for c in text]
        except KeyError as exc:
            raise DataError(
                f"character {exc.args[0]!r} never occurs in the training data, so the model "
                "cannot take it (e.g. in a start string); remove it or retrain with it"
            ) from None

    def decode(self, ids: Sequence[int]) -> str:
        return "".join(self.chars[i - N_RESERVED] for i in ids)

    def non_content_ids(self) -> list[int]:
        return [PAD, BOS, FS]

    def save(self, directory: Path) -> None:
        _write_json(directory / TOKENIZER_JSON, {"kind": self.kind, "chars": self.chars})


class SentencePieceTokenizer:
    """Subword tokens learned by SentencePiece, with byte fallback for unseen characters."""

    kind = "sentencepiece"

    def __init__(self, model_proto: bytes) -> None:
        self.model_proto = model_proto
        self._sp = spm.SentencePieceProcessor(model_proto=model_proto)

    @classmethod
    def fit(
        cls, records: Sequence[str], vocab_size: int, seed: int | None = None
    ) -> SentencePieceTokenizer:
        """Train a unigram SentencePiece model in memory (nothing is written to disk)."""
        escaped = [_sp_escape(r) for r in records]
        distinct_chars = len(set().union(*map(set, escaped)))
        # Byte fallback needs 256 byte pieces plus every character; below that SentencePiece
        # refuses to train, so the size is raised to the smallest that works.
        size = max(vocab_size, distinct_chars + 256 + 8)
        buffer = io.BytesIO()
        if seed is not None:
            spm.set_random_generator_seed(seed)
        try:
            spm.SentencePieceTrainer.train(
                sentence_iterator=iter(escaped),
                model_writer=buffer,
                vocab_size=size,
                model_type="unigram",
                normalization_rule_name="identity",
                add_dummy_prefix=False,
                remove_extra_whitespaces=False,
                byte_fallback=True,
                character_coverage=1.0,
                hard_vocab_limit=False,
                allow_whitespace_only_pieces=True,
                max_sentence_length=1 << 16,
                bos_id=-1,
                eos_id=-1,
                pad_id=-1,
                unk_id=0,
                num_threads=2,
                minloglevel=2,
            )
        except RuntimeError as exc:
            raise DataError(f"SentencePiece could not learn a vocabulary: {exc}") from None
        return cls(buffer.getvalue())

    @property
    def vocab_size(self) -> int:
        return N_RESERVED + self._sp.get_piece_size()

    def encode(self, text: str) -> list[int]:
        return [i + N_RESERVED for i in self._sp.encode(_sp_escape(text))]

    def decode(self, ids: Sequence[int]) -> str:
        return _sp_unescape(self._sp.decode([i - N_RESERVED for i in ids]))

    def non_content_ids(self) -> list[int]:
        return [PAD, BOS, FS, N_RESERVED + self._sp.unk_id()]

    def save(self, directory: Path) -> None:
        (directory / SENTENCEPIECE_FILE).write_bytes(self.model_proto)
        _write_json(
            directory / TOKENIZER_JSON, {"kind": self.kind, "model_file": SENTENCEPIECE_FILE}
        )


# The public base alphabet for text under DP: the 256 byte values of UTF-8.
BYTE_ALPHABET: tuple[int, ...] = tuple(range(256))


class ByteTokenizer:
    """Text as UTF-8 bytes: 256 content tokens, whatever the data (a public vocabulary).

    Reveals nothing about the training text, so it costs no ε. Generated byte sequences
    that are not valid UTF-8 decode with U+FFFD replacement characters.
    """

    kind = "byte"

    @property
    def vocab_size(self) -> int:
        """Reserved tokens plus the 256 byte values."""
        return N_RESERVED + len(BYTE_ALPHABET)

    def encode(self, text: str) -> list[int]:
        """One token per UTF-8 byte."""
        return [N_RESERVED + b for b in text.encode("utf-8")]

    def decode(self, ids: Sequence[int]) -> str:
        """Text of content token ids (invalid UTF-8 becomes U+FFFD)."""
        return bytes(i - N_RESERVED for i in ids).decode("utf-8", errors="replace")

    def non_content_ids(self) -> list[int]:
        """Ids the sampler must never emit inside a record."""
        return [PAD, BOS, FS]

    def save(self, directory: Path) -> None:
        """Write ``tokenizer.json`` (nothing learned, so nothing else)."""
        _write_json(directory / TOKENIZER_JSON, {"kind": self.kind})


def fit_tokenizer(records: Sequence[str], vocab_size: int, seed: int | None = None) -> Tokenizer:
    """Characters when ``vocab_size`` is 0, else SentencePiece with that vocabulary size."""
    if vocab_size == 0:
        return CharTokenizer.fit(records)
    return SentencePieceTokenizer.fit(records, vocab_size, seed)


def load_tokenizer(directory: Path) -> Tokenizer:
    """Read the tokenizer saved in a model directory."""
    path = directory / TOKENIZER_JSON
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelDirError(f"{directory} has no readable {TOKENIZER_JSON}: {exc}") from None
    if meta.get("kind") == "char":
        return CharTokenizer(meta["chars"])
    if meta.get("kind") == "byte":
        return ByteTokenizer()
    if meta.get("kind") == "sentencepiece":
        return SentencePieceTokenizer((directory / meta["model_file"]).read_bytes())
    raise ModelDirError(f"{path} names an unknown tokenizer kind {meta.get('kind')!r}")


def _sp_escape(text: str) -> str:
    return text.replace(_ESC, _ESC + _ESC).replace(_SP_SPACE, _ESC + "_")


def _sp_unescape(text: str) -> str:
    if _ESC not in text:
        return text
    out, i = [], 0
    while i < len(text):
        char = text[i]
        pair = text[i : i + 2]
        if pair in (_ESC + _ESC, _ESC + "_"):
            out.append(_ESC if pair == _ESC + _ESC else _SP_SPACE)
            i += 2
        else:
            out.append(char)
            i += 1
    return "".join(out)


def _write_json(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
