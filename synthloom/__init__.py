"""synthloom: learn a private generative model of your data, generate synthetic records."""

from synthloom.config import SyntheticsConfig, SynthloomConfig, load_config
from synthloom.errors import (
    ConfigError,
    DataError,
    ModelDirError,
    SynthloomError,
    TooManyInvalidError,
)
from synthloom.lstm.train import EpochState
from synthloom.table import TableSynthesizer
from synthloom.text import TextSynthesizer
from synthloom.validation.records import GeneratedRecord

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "DataError",
    "EpochState",
    "GeneratedRecord",
    "ModelDirError",
    "SyntheticsConfig",
    "SynthloomConfig",
    "SynthloomError",
    "TableSynthesizer",
    "TextSynthesizer",
    "TooManyInvalidError",
    "__version__",
    "load_config",
]
