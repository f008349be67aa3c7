"""Scale out on Ray: generation in shards, and an executor that trains side by side.

Local worker processes (every free core, no extra install) live with the generators
(:mod:`synthloom.lstm.pool`). This package sits above the synthesizers: it hands them a
:class:`RayExecutor` for training and runs their generation as shards; they never import
it. The opt-in ``synthloom[ray]`` extra: Ray is imported only when a function here runs.
"""

from synthloom.scale.executor import RayExecutor
from synthloom.scale.parts import PartWriter
from synthloom.scale.ray_jobs import (
    PartsResult,
    generate_parts,
    generate_relational_parts,
    generate_sequence_parts,
    generate_text_parts,
)

__all__ = [
    "PartWriter",
    "PartsResult",
    "RayExecutor",
    "generate_parts",
    "generate_relational_parts",
    "generate_sequence_parts",
    "generate_text_parts",
]
