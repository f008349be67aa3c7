"""Scale out: generation in shards on a Ray cluster, relational tables trained side by side.

Local worker processes (every free core, no extra install) live with the generators
(:mod:`synthloom.lstm.pool`). This package is the opt-in ``synthloom[ray]`` extra: Ray is
imported only when a function here is called with ``ray=``.
"""

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
    "generate_parts",
    "generate_relational_parts",
    "generate_sequence_parts",
    "generate_text_parts",
]
