"""Target tracking on a forecast quantile over the window that a new instance would serve."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

from autoscaler.model import Decision, PolicyContext
from autoscaler.policies.base import instances_for, staffed
from autoscaler.policies.forecast_window import cadence, forecast_peaks


@dataclass(frozen=True)
class PredictiveTargetPolicy:
    """desired = ceil(L / (capacity x target)) where L is the ``quantile`` forecast's peak.

    Scale-out reads the forecast over [now + boot_delay, now + boot_delay + cadence)
    (instances asked for now serve from then). Scale-in reads the peak over
    [now, now + boot_delay + cadence) and the observed load, keeps the largest such
    recommendation made in the last ``stabilization_down`` (carried in memory as a JSON-ready
    list of ``[epoch seconds, count]``), and never moves inside the ``tolerance`` dead band.
    Without a usable forecast it tracks the observed load, like the reactive policy.

    ``spare`` (default 0: off) adds floor(spare x sqrt(n)) whole spare instances to a
    load of n instances' worth (``base.staffed``), before the target. ``react`` (default off)
    scales out on the larger of the forecast and the last observed sample, so a load the
    smoothed forecast has not caught up with yet is served now (on GPU serving the
    forecast of requests in the system lags every arrival).

    Two options for load that comes one request at a time (both off by default, the
    counts then unchanged): ``spare_above`` gives the spare only to a load of more than
    that many instances' worth (1: none for a lone request, whose spare replica would
    load a model the next request rarely asks for); ``keep_warm`` keeps, on a scale-in,
    the instances that the largest observed sample of the last ``keep_warm`` needs (no
    spare): the replicas that just served stay warm that long for the same users' next
    requests, however fast the smoothed forecast falls.
    """

    target: float = 0.7
    tolerance: float = 0.1
    quantile: float = 0.9
    stabilization_down: timedelta = timedelta(minutes=5)
    spare: float = 0.0
    react: bool = False
    spare_above: float = 0.0
    keep_warm: timedelta = timedelta(0)
    name: str = "predictive_target"

    def decide(self, ctx: PolicyContext) -> Decision:
        spec = ctx.spec
        current = ctx.status.total
        observed = ctx.load.last
        lead = spec.boot_delay
        until = lead + cadence(ctx)
        # both windows from one read of the forecast
        peaks = forecast_peaks(ctx, self.quantile, ((lead, until), (timedelta(0), until)))
        ahead, whole = (None, None) if peaks is None else peaks
        if ahead is None or whole is None:
            if math.isnan(observed):
                return Decision(current, "no forecast and no current sample", self.name)
            up_load = keep_load = observed
            source = "no forecast; observed load"
        else:
            up_load = ahead.value
            if self.react and not math.isnan(observed):
                up_load = max(up_load, observed)
            keep_load = max(whole.value, 0.0 if math.isnan(observed) else observed)
            source = f"q{self.quantile:g} forecast" + (f" ({ahead.note})" if ahead.note else "")
        up = instances_for(up_load, spec, self.target, self.spare, self.spare_above)
        keep = instances_for(keep_load, spec, self.target, self.spare, self.spare_above)
        if self.keep_warm:
            keep = max(keep, instances_for(_recent_peak(ctx, self.keep_warm), spec, self.target))
        now = ctx.now.timestamp()
        history = _recent(ctx.memory, now - self.stabilization_down.total_seconds())
        history.append([now, max(up, keep)])
        if current > 0:
            if self.spare:
                ratio = staffed(up_load, spec, self.spare, self.spare_above) / (
                    current * self.target
                )
            else:
                ratio = up_load / (current * spec.capacity_per_instance * self.target)
            if abs(ratio - 1.0) <= self.tolerance:
                return Decision(current, f"{source}: within tolerance", self.name, history)
        if up > current:
            if up > spec.max_size:
                return Decision(
                    spec.max_size,
                    f"{source} {up_load:.1f} needs {up}, more than max_size {spec.max_size}",
                    self.name,
                    history,
                )
            return Decision(up, f"{source} {up_load:.1f} needs {up}", self.name, history)
        stable = min(current, max(n for _, n in history))
        return Decision(
            stable,
            f"{source} {keep_load:.1f} needs {keep}; stabilised at {stable}",
            self.name,
            history,
        )


def _recent_peak(ctx: PolicyContext, span: timedelta) -> float:
    """The largest observed sample no older than ``span`` (NaN when there is none)."""
    values = ctx.load.tail(math.floor(span / ctx.load.step) + 1)
    finite = [v for v in values.tolist() if math.isfinite(v)]
    return max(finite) if finite else math.nan


def _recent(memory: object, since: float) -> list[list[float]]:
    """The recommendations after ``since`` (epoch seconds); none from unreadable memory."""
    if not isinstance(memory, list | tuple):
        return []
    try:
        return [[float(t), int(n)] for t, n in memory if float(t) > since]
    except (TypeError, ValueError):
        return []
