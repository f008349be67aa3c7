"""The model directory: JSON, tokenizer files and safetensors weights; never pickles."""

from __future__ import annotations

import csv
import json
import os
import shutil
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from synthloom.errors import ModelDirError

PARAMS_FILE = "model_params.json"
WEIGHTS_FILE = "weights.safetensors"
HISTORY_FILE = "history.csv"
SUMMARY_FILE = "training_summary.json"
HOLDOUT_FILE = "holdout.json"
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
    except BaseException:
        if staging != target or (created and not (staging / WEIGHTS_FILE).exists()):
            shutil.rmtree(staging, ignore_errors=True)
        raise
    if staging != target:
        _swap_in(staging, target)


def _swap_in(staging: Path, target: Path) -> None:
    backup = target.parent / f".{target.name}.old-{os.getpid()}"
    target.rename(backup)
    staging.rename(target)
    shutil.rmtree(backup, ignore_errors=True)


def require_model_dir(path: str | Path) -> Path:
    """Check that ``path`` holds a complete model, with a clear message if not."""
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
    return path


def write_json(path: Path, data: Mapping[str, Any]) -> None:
    """Write JSON atomically (a crash never leaves half a file)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    tmp.replace(path)


def read_json(path: Path) -> dict[str, Any]:
    """Read a JSON file of the model dir."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelDirError(f"cannot read {path}: {exc}") from None


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
