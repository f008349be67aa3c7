"""Statistical fallback model: a fast mixture of Gaussian copulas over mixed marginals."""

from synthloom.fallback.copula import FitTimeoutError, StatisticalModel

__all__ = ["FitTimeoutError", "StatisticalModel"]
