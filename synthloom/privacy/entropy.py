"""Randomness that protects privacy: always from OS entropy, never from a config seed.

Whoever knows a seed can replay the noise and subtract it; under DP every draw that
protects privacy (Gaussian noise, Poisson sampling, Laplace and exponential-mechanism
releases) comes from here, whatever ``params.seed`` says.
"""

from __future__ import annotations

import os

import numpy as np
import torch


def secure_generator(device: torch.device | str = "cpu") -> torch.Generator:
    """A torch generator seeded with 63 bits from ``os.urandom`` (DP-SGD's noise)."""
    generator = torch.Generator(device=device)
    generator.manual_seed(int.from_bytes(os.urandom(8), "little") >> 1)
    return generator


def secure_rng() -> np.random.Generator:
    """A NumPy generator seeded with 256 bits from ``os.urandom`` (sampling, releases)."""
    return np.random.default_rng(int.from_bytes(os.urandom(32), "little"))
