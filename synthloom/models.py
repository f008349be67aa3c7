"""Deprecated: this module moved to :mod:`synthloom.synthesizers.dispatch`; import from there
(or the package root, ``from synthloom import ...``). Kept so that old imports work."""

import warnings

from synthloom.synthesizers.dispatch import *  # noqa: F403

warnings.warn(
    "synthloom.models moved to synthloom.synthesizers.dispatch; import from there",
    DeprecationWarning,
    stacklevel=2,
)
