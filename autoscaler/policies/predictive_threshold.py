"""The OpenStack Monasca predictive baseline: the threshold rule on forecast utilisation."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

import numpy as np

from autoscaler.model import Decision, PolicyContext
from autoscaler.policies.forecast_window import forecast_peak


def linear_extrapolation(values: np.ndarray, ahead_steps: float) -> float | None:
    """Least-squares line through ``values`` (one per step, NaN gaps ignored), read
    ``ahead_steps`` after the last one. None with fewer than two finite values."""
    x = np.arange(len(values), dtype=float)
    ok = np.isfinite(values)
    if ok.sum() < 2:
        return None
    slope, intercept = np.polyfit(x[ok], values[ok], 1)
    return float(intercept + slope * (len(values) - 1 + ahead_steps))


@dataclass(frozen=True)
class PredictiveThresholdPolicy:
    """Predict the load ``horizon`` ahead, as utilisation of every instance the group
    has asked for (booting ones serve by then), and apply the threshold rule to that
    prediction: out by ``step_out`` once ``periods`` consecutive predictions exceed
    ``upper``, in by ``step_in`` once as many fall below ``lower``.

    ``model="linear"`` fits a line to the last ``lookback`` of observed load (the
    published approach); ``model="forecast"`` reads the group's forecast mean. The
    recent predictions are carried in ``Decision.memory``. No prediction (too few
    samples, no forecast) means hold, and the streak restarts.
    """

    upper: float = 0.8
    lower: float = 0.15
    periods: int = 3
    step_out: int = 2
    step_in: int = 1
    lookback: timedelta = timedelta(minutes=20)
    horizon: timedelta = timedelta(minutes=15)
    model: str = "linear"
    name: str = "predictive_threshold"

    def predict(self, ctx: PolicyContext) -> float | None:
        """The load predicted ``horizon`` ahead of now, or None."""
        if self.model == "forecast":
            peak = forecast_peak(ctx, None, self.horizon, self.horizon + ctx.spec.interval)
            return None if peak is None else peak.value
        step = ctx.load.step
        n = max(2, int(self.lookback / step))
        recent = ctx.load.tail(n)
        # the last sample is at load.end, which is up to one step before now
        ahead = (ctx.now + self.horizon - ctx.load.end) / step
        return linear_extrapolation(recent, ahead)

    def decide(self, ctx: PolicyContext) -> Decision:
        current = ctx.status.total
        predicted = self.predict(ctx)
        if predicted is None or not math.isfinite(predicted):
            return Decision(current, "no prediction; hold", self.name, ())
        predicted = max(predicted, 0.0)
        history: tuple[float, ...] = (*tuple(ctx.memory or ())[-(self.periods - 1) :], predicted)
        if self.periods == 1:
            history = (predicted,)
        cap = current * ctx.spec.capacity_per_instance
        loads = np.array(history)
        util = loads / cap if cap > 0 else np.where(loads > 0, math.inf, 0.0)
        util_now = float(util[-1])
        if len(history) == self.periods and (util > self.upper).all():
            return Decision(
                current + self.step_out,
                f"predicted utilization {util_now:.0%} > {self.upper:.0%} "
                f"for {self.periods} periods",
                self.name,
                history,
            )
        if len(history) == self.periods and (util < self.lower).all():
            return Decision(
                current - self.step_in,
                f"predicted utilization {util_now:.0%} < {self.lower:.0%} "
                f"for {self.periods} periods",
                self.name,
                history,
            )
        return Decision(
            current,
            f"predicted utilization {util_now:.0%}: not beyond a threshold for "
            f"{self.periods} periods",
            self.name,
            history,
        )
