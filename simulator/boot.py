"""How long a simulated instance takes to boot: fixed, uniform, or log-normal."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

import numpy as np


@dataclass(frozen=True)
class BootDelay:
    """A boot-delay distribution. ``median`` is the fixed value for ``fixed``.

    ``uniform`` draws from [low, high]; ``lognormal`` has the given median and shape
    ``sigma`` and is clipped to [low, high] when those are set.
    """

    distribution: str = "fixed"
    median: timedelta = timedelta(minutes=2)
    low: timedelta | None = None
    high: timedelta | None = None
    sigma: float = 0.25

    def sample(self, rng: np.random.Generator) -> timedelta:
        if self.distribution == "fixed":
            return self.median
        if self.distribution == "uniform":
            assert self.low is not None and self.high is not None
            lo, hi = self.low.total_seconds(), self.high.total_seconds()
            return timedelta(seconds=float(rng.uniform(lo, hi)))
        if self.distribution == "lognormal":
            s = float(rng.lognormal(math.log(self.median.total_seconds()), self.sigma))
            if self.low is not None:
                s = max(s, self.low.total_seconds())
            if self.high is not None:
                s = min(s, self.high.total_seconds())
            return timedelta(seconds=s)
        raise ValueError(f"unknown boot delay distribution {self.distribution!r}")

    def upper(self) -> timedelta:
        """A delay that (nearly) every boot finishes within: for planning ahead."""
        if self.distribution == "fixed":
            return self.median
        if self.high is not None:
            return self.high
        return timedelta(seconds=self.median.total_seconds() * math.exp(2.33 * self.sigma))
