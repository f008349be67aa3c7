"""The installed package's version, from its metadata: pyproject.toml is the one source."""

from importlib import metadata

try:
    __version__ = metadata.version("synthloom")
except metadata.PackageNotFoundError:  # a checkout run without installing it
    __version__ = "0+unknown"
