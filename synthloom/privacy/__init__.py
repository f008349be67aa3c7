"""Differential privacy: DP-SGD (opacus), the budget of a run, private releases, OS entropy.

- :mod:`synthloom.privacy.accounting`: noise for a target ε, the privacy ledger, the report.
- :mod:`synthloom.privacy.training`: a DP run's budget (released n, δ, split ε, one ledger).
- :mod:`synthloom.privacy.engine`: private model and optimizer, Poisson batches.
- :mod:`synthloom.privacy.lstm`: the per-record-gradient LSTM.
- :mod:`synthloom.privacy.domain`: private count, categories, bounds and quantiles.
- :mod:`synthloom.privacy.entropy`: randomness from the OS, never from a seed.

A leaf package: it imports nothing from synthloom but :mod:`synthloom.errors`. The submodules
are imported on demand (opacus takes a second or two to import); what ε covers is described
in ``README.md`` beside this file.
"""
