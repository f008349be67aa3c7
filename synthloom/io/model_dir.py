"""The model directory: JSON, tokenizer files and safetensors weights; never pickles."""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import os
import shutil
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from synthloom.errors import ModelDirError, SynthloomError, TrainingInterrupted

log = logging.getLogger("synthloom")

PARAMS_FILE = "model_params.json"
WEIGHTS_FILE = "weights.safetensors"
HISTORY_FILE = "history.csv"
SUMMARY_FILE = "training_summary.json"
HOLDOUT_FILE = "holdout.json"
# Written last, when training ends: every file's size and SHA-256, checked on load.
MANIFEST_FILE = "manifest.json"
MANIFEST_VERSION = 1
# Sane bounds for the numbers that size a network: an edited model_params.json must never
# make loading allocate more than the weights file could hold.
MAX_DIM = 1 << 16
MAX_VOCAB = 1 << 24
MAX_LAYERS = 64
# A table model whose generator is the statistical model alone has no LSTM weights.
FALLBACK_MODEL = "fallback/model.json"


def is_model_dir(path: Path) -> bool:
    """Whether ``path`` looks like a synthloom model directory."""
    return (path / PARAMS_FILE).is_file()


@contextmanager
def training_dir(target: str | Path, overwrite: bool) -> Iterator[Path]:
    """Yield the folder to train into, and publish it as ``target`` when training ends.

    An existing model is replaced only with ``overwrite``, and only once the new one is
    complete: until then training writes to a hidden sibling folder, so a failed run
    leaves the old model intact.
    """
    target = Path(target)
    if target.exists() and not target.is_dir():
        raise ModelDirError(f"model dir {target} is a file; give a folder path")
    occupied = target.is_dir() and any(target.iterdir())
    if occupied and not overwrite:
        raise ModelDirError(
            f"model dir {target} already holds files; pass --overwrite (overwrite=True) to "
            "replace it once the new model is trained, or choose another folder"
        )
    if occupied and not is_model_dir(target):
        raise ModelDirError(
            f"{target} is not empty and holds no synthloom model; refusing to overwrite it"
        )
    created = not target.exists()
    staging = target.parent / f".{target.name}.training-{os.getpid()}" if occupied else target
    if occupied:
        shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True, exist_ok=True)
    try:
        yield staging
    except BaseException as exc:
        incomplete = isinstance(exc, TrainingInterrupted) or not (staging / WEIGHTS_FILE).exists()
        if staging != target or (created and incomplete):
            shutil.rmtree(staging, ignore_errors=True)
        raise
    write_manifest(staging)
    if staging != target:
        _swap_in(staging, target)


def keep_old_if_interrupted(stop_reason: str, staging: Path, target: str | Path) -> None:
    """Ctrl-C while replacing a model: discard the unfinished new one, keep the old one.

    Raises:
        TrainingInterrupted: training was interrupted and ``staging`` is not ``target``.
    """
    if stop_reason == "interrupted" and staging != Path(target):
        raise TrainingInterrupted(
            f"the finished model in {target} is kept; the unfinished new one was discarded"
        )


def _swap_in(staging: Path, target: Path) -> None:
    backup = target.parent / f".{target.name}.old-{os.getpid()}"
    target.rename(backup)
    staging.rename(target)
    shutil.rmtree(backup, ignore_errors=True)


def require_model_dir(path: str | Path) -> Path:
    """Check that ``path`` holds a complete, undamaged model, with a clear message if not."""
    path = Path(path)
    if not path.is_dir():
        raise ModelDirError(f"model dir {path} does not exist; train a model into it first")
    if not is_model_dir(path):
        raise ModelDirError(
            f"{path} is not a synthloom model dir (no {PARAMS_FILE}); give the folder "
            "that `synthloom train --model-dir` wrote"
        )
    if not (path / WEIGHTS_FILE).is_file() and not (path / FALLBACK_MODEL).is_file():
        raise ModelDirError(
            f"{path} has no {WEIGHTS_FILE}: training stopped before its first checkpoint; "
            "train again"
        )
    verify_manifest(path)
    return path


@contextmanager
def loading(directory: Path) -> Iterator[None]:
    """Turn any failure to rebuild a model from its files into "model dir is damaged"."""
    try:
        yield
    except SynthloomError:
        raise
    except Exception as exc:  # JSON of the wrong shape, bad tensors, a broken tokenizer
        raise damaged(directory, f"{type(exc).__name__}: {exc}") from None


def damaged(directory: Path, reason: str) -> ModelDirError:
    """The error for a model dir whose files are not what training wrote."""
    return ModelDirError(
        f"model dir is damaged: {directory}: {reason}; train the model again or restore "
        "the folder from a backup"
    )


def write_manifest(directory: Path) -> None:
    """Record every file's size and SHA-256 (written last: its presence means complete)."""
    files = {
        rel: {"size": (directory / rel).stat().st_size, "sha256": _sha256(directory / rel)}
        for rel in _model_files(directory)
    }
    write_json(directory / MANIFEST_FILE, {"version": MANIFEST_VERSION, "files": files})


def verify_manifest(directory: Path) -> None:
    """Check the files against the manifest; a model without one only gets a warning."""
    path = directory / MANIFEST_FILE
    if not path.is_file():
        log.warning(
            "%s has no %s (a model from an older synthloom, or an interrupted copy): its "
            "files cannot be checked for damage",
            directory,
            MANIFEST_FILE,
        )
        return
    try:
        files = json.loads(path.read_text(encoding="utf-8"))["files"]
        entries = [(str(rel), int(e["size"]), str(e["sha256"])) for rel, e in files.items()]
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise damaged(directory, f"{MANIFEST_FILE} is unreadable ({exc})") from None
    for rel, size, digest in entries:
        file = directory / rel
        if not file.is_file():
            raise damaged(directory, f"{rel} is missing")
        actual = file.stat().st_size
        if actual != size:
            raise damaged(directory, f"{rel} has {actual} bytes, training wrote {size}")
        if _sha256(file) != digest:
            raise damaged(directory, f"{rel} was changed after training (its SHA-256 differs)")


def check_shape(
    directory: Path,
    dims: Mapping[str, Any],
    vocab_sizes: Sequence[Any],
    owners: Sequence[int] | None = None,
) -> None:
    """Refuse network sizes out of bounds or too big for the weights file beside them.

    ``owners``: per position, the position whose embedding and head it uses (a spelled
    column's positions share one), so each shared block is counted once.
    """
    numbers = {**dims, **{f"vocab_size[{i}]": v for i, v in enumerate(vocab_sizes)}}
    for name, value in numbers.items():
        limit = MAX_LAYERS if name == "rnn_layers" else MAX_VOCAB if "vocab" in name else MAX_DIM
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= limit:
            raise damaged(directory, f"{PARAMS_FILE} gives {name}={value!r} (expected 1…{limit})")
    emb, units, layers = dims["embedding_dim"], dims["rnn_units"], dims["rnn_layers"]
    vocab = sum(vocab_sizes[p] for p in set(owners or range(len(vocab_sizes))))
    # Embeddings and output heads, then the LSTM layers: a lower bound on the weights.
    floats = 2 * vocab * min(emb, units) + 4 * units * (emb + units) * layers
    weights = directory / WEIGHTS_FILE
    if weights.is_file() and 4 * floats > 2 * weights.stat().st_size + (1 << 20):
        raise damaged(
            directory,
            f"{PARAMS_FILE} describes a network of at least {4 * floats:,} bytes but "
            f"{WEIGHTS_FILE} holds {weights.stat().st_size:,}",
        )


def _model_files(directory: Path) -> list[str]:
    return sorted(
        p.relative_to(directory).as_posix()
        for p in directory.rglob("*")
        if p.is_file() and p.name != MANIFEST_FILE and not p.name.endswith(".tmp")
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_json(path: Path, data: Mapping[str, Any]) -> None:
    """Write JSON atomically (a crash never leaves half a file)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    tmp.replace(path)


def read_json(path: Path) -> dict[str, Any]:
    """Read a JSON file of the model dir."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise damaged(path.parent, f"{path.name} is missing") from None
    except (OSError, ValueError) as exc:
        raise damaged(path.parent, f"{path.name} is unreadable ({exc})") from None
    if not isinstance(data, dict):
        raise damaged(path.parent, f"{path.name} holds no JSON object")
    return data


def save_weights(directory: Path, state: Mapping[str, torch.Tensor]) -> None:
    """Save a checkpoint atomically as safetensors."""
    tmp = directory / (WEIGHTS_FILE + ".tmp")
    save_file({k: v.detach().cpu().contiguous() for k, v in state.items()}, str(tmp))
    tmp.replace(directory / WEIGHTS_FILE)


def load_weights(directory: Path) -> dict[str, torch.Tensor]:
    """Load the checkpoint (safetensors holds tensors only: no code runs on load)."""
    return load_file(str(directory / WEIGHTS_FILE))


def write_history(directory: Path, rows: Sequence[Mapping[str, Any]]) -> None:
    """Rewrite ``history.csv`` with one row per finished epoch."""
    if not rows:
        return
    tmp = directory / (HISTORY_FILE + ".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    tmp.replace(directory / HISTORY_FILE)


def holdout_record(data: object, rows: Sequence[int]) -> dict[str, Any]:
    """Where the training data was (None for a DataFrame) and which of its rows no model
    learned from (the report's holdout)."""
    source = str(Path(data).resolve()) if isinstance(data, str | Path) else None
    return {"data_source": source, "holdout_rows": [int(r) for r in rows]}
