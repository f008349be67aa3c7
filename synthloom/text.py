"""Deprecated: this module moved to :mod:`synthloom.synthesizers.text`; import from there
(or the package root, ``from synthloom import ...``). Kept so that old imports work."""

import warnings

from synthloom.synthesizers.text import *  # noqa: F403

warnings.warn(
    "synthloom.text moved to synthloom.synthesizers.text; import from there",
    DeprecationWarning,
    stacklevel=2,
)
