"""Differential privacy: DP-SGD (opacus), privacy accounting, private codec domains.

- :mod:`synthloom.privacy.accounting`: noise for a target ε, the privacy ledger, composition.
- :mod:`synthloom.privacy.engine`: private model and optimizer, Poisson batches, DP LSTM.
- :mod:`synthloom.privacy.domain`: private categories, bounds and quantiles; a byte tokenizer.

The submodules are imported on demand (opacus takes a second or two to import); what ε
covers is described in ``README.md`` beside this file.
"""
