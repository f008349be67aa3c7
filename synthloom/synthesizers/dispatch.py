"""Choosing the synthesizer: text for line files, table for CSV/JSON/JSONL/Parquet."""

from __future__ import annotations

from pathlib import Path

from synthloom.config import SyntheticsConfig
from synthloom.errors import ConfigError, DataError
from synthloom.io.model_dir import PARAMS_FILE, is_model_dir, read_json, require_model_dir
from synthloom.io.schema import UNSUPPORTED_SUFFIXES
from synthloom.synthesizers.sequence import SequenceSynthesizer
from synthloom.synthesizers.table import TableSynthesizer
from synthloom.synthesizers.text import TextSynthesizer

TABLE_SUFFIXES = {".csv", ".tsv", ".json", ".jsonl", ".parquet", ".pq"}

Synthesizer = TextSynthesizer | TableSynthesizer | SequenceSynthesizer


def is_table_path(path: str | Path) -> bool:
    """Whether a data file is a table (by its extension); anything else is text lines."""
    return Path(path).suffix.lower() in TABLE_SUFFIXES


def synthesizer_for(
    data: str | Path, config: SyntheticsConfig, engine: str = "lstm"
) -> Synthesizer:
    """A table synthesizer for table files (or text with a ``field_delimiter``), else text."""
    suffix = Path(data).suffix.lower()
    if suffix in UNSUPPORTED_SUFFIXES:
        raise DataError(
            f"data file {data}: synthloom does not read {suffix} files; export the table as "
            f"CSV, JSON, JSONL or Parquet (a file holding CSV text needs the name .csv)"
        )
    if is_table_path(data) or config.params.field_delimiter is not None:
        if config.time_series is not None:
            if engine != "lstm":
                raise ConfigError(
                    f"time_series tables are learned by the LSTM sequence model, not {engine}; "
                    "use models: - synthetics, or drop the time_series section"
                )
            return SequenceSynthesizer(config)
        return TableSynthesizer(config, engine=engine)
    if engine != "lstm":
        raise ConfigError(f"the {engine} model takes tables (CSV/JSON/JSONL/Parquet), not text")
    return TextSynthesizer(config)


def load_model(model_dir: str | Path) -> Synthesizer:
    """Load whichever kind of model ``model_dir`` holds (text, table or sequences)."""
    if is_model_dir(Path(model_dir)):
        kind = read_json(Path(model_dir) / PARAMS_FILE).get("data_kind")
        if kind == "relational":
            raise ConfigError(
                f"{model_dir} holds a relational model (a whole database), not a text or table "
                f"one; generate with `synthloom relational generate --model-dir {model_dir} "
                "--destination FOLDER|URL` (Python: RelationalSynthesizer.load)"
            )
    directory = require_model_dir(model_dir)
    kind = read_json(directory / PARAMS_FILE).get("data_kind")
    if kind == "sequence":
        return SequenceSynthesizer.load(directory)
    return TableSynthesizer.load(directory) if kind == "table" else TextSynthesizer.load(directory)
