"""Where output may go: never onto an existing file unasked, the model or its training data."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from synthloom.errors import DataError
from synthloom.io.model_dir import HOLDOUT_FILE, PARAMS_FILE


def recorded_training_data(model_dir: str | Path) -> Path | None:
    """The training data file or folder that ``model_dir`` says it learned from, if any.

    Table models record it in ``holdout.json``, text models in ``model_params.json``
    (``data_source``), relational ones as ``source.location`` when it was a folder.
    """
    directory = Path(model_dir)
    for name, keys in ((HOLDOUT_FILE, ("data_source",)), (PARAMS_FILE, ("data_source",))):
        value = _json_value(directory / name, keys)
        if isinstance(value, str):
            return Path(value)
    source = _json_value(directory / PARAMS_FILE, ("source",))
    if isinstance(source, dict) and source.get("kind") == "folder" and source.get("location"):
        return Path(source["location"])
    return None


def check_output_file(
    path: str | Path, *, overwrite: bool, model_dir: str | Path | None = None
) -> Path:
    """Refuse an output file that would lose data; return it as given.

    Raises:
        DataError: ``path`` is a folder, lies in the model dir, is the training data, or
            exists and ``overwrite`` is false.
    """
    path = Path(path)
    if path.is_dir():
        raise DataError(f"--output {path} is a folder; give a file name, e.g. {path / 'out.csv'}")
    check_not_protected(path, model_dir)
    if path.exists() and not overwrite:
        raise DataError(
            f"--output {path} already exists; pass --overwrite to replace it, or choose "
            "another name"
        )
    return path


def check_output_folder(
    folder: str | Path,
    *,
    overwrite: bool,
    files: Iterable[str] = (),
    model_dir: str | Path | None = None,
) -> Path:
    """Refuse an output folder that is a file, the model dir or its training data, or
    whose ``files`` exist already (unless ``overwrite``)."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise DataError(f"{folder} is a file; give a folder for the output, or another name")
    check_not_protected(folder, model_dir)
    existing = [name for name in files if (folder / name).exists()]
    if existing and not overwrite:
        raise DataError(
            f"{folder} already holds {', '.join(existing)}; pass --overwrite to replace "
            "them, or choose another folder"
        )
    return folder


def check_not_protected(path: Path, model_dir: str | Path | None) -> None:
    """Refuse ``path`` if it is (in) the model dir or the training data it records."""
    if model_dir is None:
        return
    target = path.resolve()
    model = Path(model_dir).resolve()
    if target == model or model in target.parents:
        raise DataError(
            f"{path} is inside the model dir {model_dir}; write the output elsewhere "
            "(the model's own files would be lost)"
        )
    data = recorded_training_data(model_dir)
    if data is None:
        return
    data = data.resolve()
    if target == data or (data.is_dir() and data in target.parents):
        raise DataError(
            f"{path} is the model's training data ({data}); write the output elsewhere "
            "(the real data would be lost)"
        )


def _json_value(path: Path, keys: tuple[str, ...]) -> object:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data
