"""Deprecated: this module moved to :mod:`synthloom.synthesizers.table`; import from there
(or the package root, ``from synthloom import ...``). Kept so that old imports work."""

import warnings

from synthloom.synthesizers.table import *  # noqa: F403

warnings.warn(
    "synthloom.table moved to synthloom.synthesizers.table; import from there",
    DeprecationWarning,
    stacklevel=2,
)
