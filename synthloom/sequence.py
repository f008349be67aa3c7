"""Deprecated: this module moved to :mod:`synthloom.synthesizers.sequence`; import from there
(or the package root, ``from synthloom import ...``). Kept so that old imports work."""

import warnings

from synthloom.synthesizers.sequence import *  # noqa: F403

warnings.warn(
    "synthloom.sequence moved to synthloom.synthesizers.sequence; import from there",
    DeprecationWarning,
    stacklevel=2,
)
