"""synthloom: learn a private generative model of your data, generate synthetic records."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from synthloom.version import __version__

# Public names and the modules that define them, imported on first use: `import synthloom`
# (and so the command line's start-up) stays light until torch is needed.
_EXPORTS = {
    "ConfigError": "synthloom.errors",
    "DataError": "synthloom.errors",
    "ModelDirError": "synthloom.errors",
    "SynthloomError": "synthloom.errors",
    "TooManyInvalidError": "synthloom.errors",
    "TrainingInterrupted": "synthloom.errors",
    "SyntheticsConfig": "synthloom.config",
    "SynthloomConfig": "synthloom.config",
    "load_config": "synthloom.config",
    "EpochState": "synthloom.lstm.train",
    "TableSynthesizer": "synthloom.synthesizers.table",
    "SequenceSynthesizer": "synthloom.synthesizers.sequence",
    "RelationalSynthesizer": "synthloom.relational.synthesizer",
    "TextSynthesizer": "synthloom.synthesizers.text",
    "GeneratedRecord": "synthloom.validation.records",
}

__all__ = [
    "ConfigError",
    "DataError",
    "EpochState",
    "GeneratedRecord",
    "ModelDirError",
    "RelationalSynthesizer",
    "SequenceSynthesizer",
    "SyntheticsConfig",
    "SynthloomConfig",
    "SynthloomError",
    "TableSynthesizer",
    "TextSynthesizer",
    "TooManyInvalidError",
    "TrainingInterrupted",
    "__version__",
    "load_config",
]

if TYPE_CHECKING:
    from synthloom.config import SyntheticsConfig, SynthloomConfig, load_config
    from synthloom.errors import (
        ConfigError,
        DataError,
        ModelDirError,
        SynthloomError,
        TooManyInvalidError,
        TrainingInterrupted,
    )
    from synthloom.lstm.train import EpochState
    from synthloom.relational.synthesizer import RelationalSynthesizer
    from synthloom.synthesizers.sequence import SequenceSynthesizer
    from synthloom.synthesizers.table import TableSynthesizer
    from synthloom.synthesizers.text import TextSynthesizer
    from synthloom.validation.records import GeneratedRecord


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'synthloom' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value
