"""The synthesizers: a table, rows per entity (time series) and text lines.

Each follows one skeleton, read → check → encode → train → generate → validate, in the
estimator style: options in the constructor, ``fit(data, model_dir)``, ``generate``, and
``load(model_dir)`` for a trained one. :mod:`~synthloom.synthesizers.base` holds what the
table and sequence synthesizers share (table-sized defaults, the DP run);
:mod:`~synthloom.synthesizers.dispatch` picks one by the data; an
:class:`~synthloom.synthesizers.executors.Executor` (the Ray one lives in
:mod:`synthloom.scale`) runs independent training tasks side by side.
"""

from synthloom.synthesizers.dispatch import load_model, synthesizer_for
from synthloom.synthesizers.sequence import SequenceSynthesizer
from synthloom.synthesizers.table import TableSynthesizer
from synthloom.synthesizers.text import TextSynthesizer

__all__ = [
    "SequenceSynthesizer",
    "TableSynthesizer",
    "TextSynthesizer",
    "load_model",
    "synthesizer_for",
]
