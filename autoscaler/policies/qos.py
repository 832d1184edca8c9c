"""The SLO-driven policy: size the group with the M/M/c latency model on the upper
forecast quantile, and close the loop on the SLO violations it observes.

What the loop adjusts is the *band*: the planning load is ``mean + band x (quantile -
mean)``, so the feedback widens or narrows the forecast's uncertainty rather than
multiplying the whole load. A multiplicative headroom charges the same percentage at
every level, while the error of a load forecast grows more slowly than the load itself
(counting noise grows with its square root), and a forecaster that knows when it is
unsure (a recurring spike, a noisy hour) says so in its band. The band is at least
``band_floor`` of the mean and of one instance's capacity (at load near zero a band
relative to the mean vanishes), so the loop can always buy headroom.

How the policy learns about violations: when the group names a latency metric
(``metric.latency``), the engine hands it the measured p95 (``PolicyContext.latency``)
and each new sample over the SLO is a violation. Otherwise, or while that metric is
stale, it infers them: it takes the load samples that arrived since its previous
decision and the number of instances that were serving them (the smaller of the ready
counts at the two decisions), and asks the same M/M/c model whether each sample's p95
exceeded the SLO (load above ``SloCapacity.lam_max[ready]``). The inference cannot see
a service slower than configured; the measured latency can. The counts are carried in
``Decision.memory``, so the policy stays pure and a restarted daemon only loses the
feedback state, never safety.

Two loops, in the spirit of Autothrottle (a fast local controller under a slower
target):

* fast, every decision: the band goes up by ``gain`` (a factor) per violating sample
  and down by a small factor per clean one. The down factor is chosen so that the band
  stands still exactly when the violation rate equals the *setpoint*; it is a
  stochastic-approximation quantile tracker. Every sample counts, also while a
  scale-out boots: on bursty load most violations fall in those minutes, and a loop
  that skipped them (as this one once did, for anti-windup) cannot buy them back, so
  its violation rate stopped following the budget.
* slow, every ``slow_period``: the setpoint is corrected by how far the period's
  violation rate was from the group's target (``slo.target_violation_pct``): too many
  violations lower it, slack raises it (within target/4 and 2 x target). Its memory
  is long (about four days): a short one winds up over every quiet night or weekend.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from autoscaler.durations import format_duration
from autoscaler.model import Decision, PolicyContext
from autoscaler.policies.forecast_window import cadence, forecast_peaks
from autoscaler.policies.qos_state import QosMemory, QosState
from autoscaler.queueing import SloCapacity, slo_capacity

__all__ = ["QosMemory", "QosPolicy", "QosState", "slo_capacity"]

# Weight of the previous slow periods' counts: about four days of hourly periods. With
# a day's memory (0.95) a quiet weekend or night emptied it, the setpoint wound up to
# its cap, the band shrank, and the next busy morning spent the budget several times
# over (on NAB realTweets KO the setpoint swung between its two bounds twice a week).
_FADE = 0.99
_ZERO = timedelta(0)
# Positions of the fields a decision sets in ``_observed``'s list (QosState's order).
_AT = {name: i for i, name in enumerate(QosState.__dataclass_fields__)}
_BAND, _LAST_READY, _RECENT, _PANIC_UNTIL = (
    _AT[n] for n in ("band", "last_ready", "recent", "panic_until")
)


@dataclass(frozen=True)
class QosPolicy:
    """Fewest instances whose p95 stays under the SLO for the ``quantile`` forecast
    (its band scaled by the learned ``band``) over [now + boot_delay, now + boot_delay +
    interval).

    Scale-in: to the largest recommendation of the last ``scale_in_window``, where a
    recommendation sizes the group so the upper quantile over [now, now + boot_delay +
    interval) stays below ``low_water`` of its SLO capacity. Without a usable forecast
    it sizes on the observed load plus ``band_floor`` x ``band`` of it (reactive) and
    never scales in. Counts above ``max_size`` are clamped there and the reason says so.
    """

    target_violation_pct: float = 1.0
    # quantile and gain were chosen on tw-KO and GenAI at a 2-minute boot (issue 14,
    # docs/policy-quality.md): on q0.9 the loop scaled the band up ~10x on bursty load
    # and paid for it on every step; q0.95 (a default forecaster quantile) and a slower
    # fast loop cost less there at the same violation rates.
    quantile: float = 0.95
    band: float = 1.0
    min_band: float = 0.1
    max_band: float = 50.0
    band_floor: float = 0.05
    low_water: float = 0.95
    scale_in_window: timedelta = timedelta(minutes=5)
    feedback: bool = True
    gain: float = 0.05
    slow_period: timedelta = timedelta(hours=1)
    panic_window: timedelta = timedelta(minutes=10)
    name: str = "qos"

    def initial_state(self) -> QosState:
        return QosState(self.band, self._clamp_setpoint(self.target_violation_pct / 100))

    def _clamp_setpoint(self, p: float) -> float:
        target = self.target_violation_pct / 100
        lo, hi = max(target / 4, 1e-5), min(max(target * 2, 1e-4), 0.5)
        return min(max(p, lo), hi)

    # ------------------------------------------------------------- feedback

    def observe(self, ctx: PolicyContext, state: QosState, table: SloCapacity) -> QosState:
        """Count the SLO violations among the samples new since the last decision and
        run both loops on them: on the measured p95 when the group has a fresh one, else
        inferred from load through the M/M/c model."""
        fields = self._observed(ctx, state, table)
        return state if fields is None else QosState(*fields)

    def _observed(
        self, ctx: PolicyContext, state: QosState, table: SloCapacity
    ) -> list[object] | None:
        """``observe``'s next state as the list of its field values, in order (None
        without a load sample): a decision sets its own fields in it, then builds the
        state once."""
        load = ctx.load
        if len(load) == 0:
            return None
        if state.seen_until is None:
            new = load.values[-1:]
        else:
            n_new = round((load.end - state.seen_until) / load.step)
            new = load.values[max(0, len(load) - n_new) :] if n_new > 0 else load.values[:0]
        latency_until = state.latency_until
        measured = _new_latency(ctx, latency_until)
        if measured is not None:
            latency_until = ctx.latency.end if ctx.latency is not None else latency_until
            new = measured[np.isfinite(measured)]
            k = int((new > ctx.spec.slo_p95_seconds).sum())
            n = len(new)
        else:
            ready = (
                ctx.status.ready
                if state.last_ready is None
                else min(state.last_ready, ctx.status.ready)
            )
            cap = table.lam_max[min(ready, table.max_servers)] if ready > 0 else 0.0
            if len(new) == 1:  # the usual case (one sample a decision): no array ops
                v = float(new[0])
                n = 1 if math.isfinite(v) else 0
                k = int(n == 1 and v > (cap if cap > 0 else 0.0))
            else:
                new = new[np.isfinite(new)]
                k = int((new > cap).sum()) if cap > 0 else int((new > 0).sum())
                n = len(new)
        band = state.band
        if self.feedback and n:
            # Every sample counts, booting or not: on bursty load most violations come
            # while a scale-out boots, and a loop blind to them cannot buy them back.
            up = math.log1p(self.gain)
            down = up * state.setpoint / (1.0 - state.setpoint)
            band *= math.exp(up * k - down * (n - k))
            band = min(max(band, self.min_band), self.max_band)
        period_start = state.period_start or ctx.now
        period_violations = state.period_violations + k
        period_samples = state.period_samples + n
        setpoint, long_violations, long_samples = (
            state.setpoint,
            state.long_violations,
            state.long_samples,
        )
        if self.feedback and ctx.now - period_start >= self.slow_period:
            setpoint, long_violations, long_samples = self._slow_update(
                state, period_violations, period_samples
            )
            period_start, period_violations, period_samples = ctx.now, 0, 0
        return [
            band,
            setpoint,
            load.end,
            state.last_ready,
            period_start,
            period_violations,
            period_samples,
            long_violations,
            long_samples,
            state.recent,
            state.violations + k,
            state.samples + n,
            latency_until,
            state.measured + (n if measured is not None else 0),
            state.panic_until,
        ]

    def _slow_update(
        self, state: QosState, period_violations: int, period_samples: int
    ) -> tuple[float, float, float]:
        """The slow loop at the end of a period with these counts: the new setpoint
        and the faded violation and sample sums (the period then starts afresh)."""
        target = self.target_violation_pct / 100
        # The rate over the last few periods (older ones fade), so that a quiet night
        # and a busy day are judged together rather than pulling in turn.
        v = _FADE * state.long_violations + period_violations
        n = _FADE * state.long_samples + period_samples
        rate = v / max(n, 1.0)
        # A fourth root: a gentle correction, so one unlucky period does not swing it.
        ratio = (max(target, 1e-6) / max(rate, target / 4, 1e-6)) ** 0.25
        return self._clamp_setpoint(state.setpoint * min(max(ratio, 0.5), 2.0)), v, n

    # ------------------------------------------------------------- decision

    def restore(self, memory: object) -> QosState:
        """The state from the previous decision (as returned, or after a JSON round trip);
        a fresh one when there is none or it is unreadable."""
        if isinstance(memory, QosState):
            return memory
        if type(memory) is QosMemory and memory.state is not None:
            return memory.state  # this process's own, unchanged: no need to parse it
        if isinstance(memory, Mapping):
            try:
                return QosState.from_json(memory)
            except (KeyError, TypeError, ValueError):
                pass
        return self.initial_state()

    def decide(self, ctx: PolicyContext) -> Decision:
        """See the class docstring. ``Decision.memory`` is ``QosState.to_json()`` (a
        ``QosMemory``, which also holds the state for the next decision)."""
        desired, reason, state = self._decide(ctx, self.restore(ctx.memory))
        return Decision(desired, reason, self.name, QosMemory(state))

    def _decide(self, ctx: PolicyContext, state: QosState) -> tuple[int, str, QosState]:
        spec = ctx.spec
        current = ctx.status.total
        table = slo_capacity(spec.capacity_per_instance, spec.slo_p95_seconds, spec.max_size)
        fields = self._observed(ctx, state, table) or state.values()
        fields[_LAST_READY] = ctx.status.ready
        h = fields[_BAND]
        observed = ctx.load.last
        lead = spec.boot_delay
        # The floor is also a share of one instance's capacity: at (nearly) zero load a
        # band relative to the mean vanishes, and the loop could buy no headroom at all.
        until = lead + cadence(ctx)
        peaks = forecast_peaks(
            ctx,
            self.quantile,
            ((lead, until), (_ZERO, until)),
            band_scale=h,
            band_floor=self.band_floor,
            band_min=self.band_floor * spec.capacity_per_instance,
        )
        ahead, whole = (None, None) if peaks is None else peaks

        if ahead is None or whole is None:
            state = QosState(*fields)
            if math.isnan(observed):
                return current, "no forecast and no sample; hold", state
            planned = observed * (1.0 + h * self.band_floor)
            need = table.required_one(planned)
            desired, clamp = _clamp(max(need, current), spec.max_size)
            return (
                desired,
                f"no forecast; observed {observed:.1f} (+{h * self.band_floor:.0%}) needs {need}{clamp}",
                state,
            )

        up_need = table.required_one(ahead.value)
        floor_load = max(whole.value, 0.0 if math.isnan(observed) else observed)
        in_need = table.required_one(floor_load / self.low_water)
        now = ctx.now
        since = now - self.scale_in_window
        recent = tuple([r for r in state.recent if r[0] > since] + [(now, in_need)])
        note = f" ({ahead.note})" if ahead.note else ""
        # The panic window (after Knative's): the newest sample alone needed more
        # instances than were serving it. A level forecast lags a burst by design, so
        # the group is sized for the burst as seen, and holds for ``panic_window``.
        burst = self._burst_need(ctx, observed, table)
        panic_until = ctx.now + self.panic_window if burst is not None else state.panic_until
        fields[_RECENT], fields[_PANIC_UNTIL] = recent, panic_until
        state = QosState(*fields)  # the decision's next state, built once
        panic = panic_until is not None and ctx.now < panic_until
        if burst is not None and burst > max(up_need, current):
            desired, clamp = _clamp(burst, spec.max_size)
            return (
                desired,
                f"panic: observed {observed:.1f} needs {burst} (forecast {ahead.value:.1f}){clamp}",
                state,
            )
        if up_need > current:
            desired, clamp = _clamp(up_need, spec.max_size)
            return (
                desired,
                f"q{self.quantile:g} band x{h:.2f}: {ahead.value:.1f} needs {up_need} for the SLO"
                f"{clamp}{note}",
                state,
            )
        if panic:
            return current, f"panic window until {state.panic_until:%H:%M}: no scale-in", state
        window_full = ctx.now - recent[0][0] >= self.scale_in_window - cadence(ctx)
        stable = max([n for _, n in recent])
        if window_full and stable < current:
            return (
                stable,
                f"q{self.quantile:g} below {self.low_water:.0%} of {stable}'s SLO capacity "
                f"for {format_duration(self.scale_in_window)}{note}",
                state,
            )
        return (
            current,
            f"q{self.quantile:g} band x{h:.2f}: {ahead.value:.1f} fits {current}{note}",
            state,
        )

    def _burst_need(self, ctx: PolicyContext, observed: float, table: SloCapacity) -> int | None:
        """The instances the newest load sample needed, when that is more than were
        ready to serve it (a burst); None otherwise or with the panic window off."""
        if self.panic_window <= timedelta(0) or not math.isfinite(observed):
            return None
        need = table.required_one(observed)
        return need if need > ctx.status.ready else None


def _new_latency(ctx: PolicyContext, since: datetime | None) -> np.ndarray | None:
    """The measured p95 samples newer than ``since``; None when the group has no
    measured latency, or none fresher than ``stale_after`` (the caller then infers)."""
    lat = ctx.latency
    if lat is None or len(lat) == 0:
        return None
    age = lat.last_valid_age()
    if age is None or ctx.now - (lat.end - age) > ctx.spec.stale_after:
        return None
    if since is None:
        return lat.values[-1:]
    n_new = round((lat.end - since) / lat.step)
    return lat.values[max(0, len(lat) - n_new) :] if n_new > 0 else lat.values[:0]


def _clamp(n: int, max_size: int) -> tuple[int, str]:
    if n > max_size:
        return max_size, f" (more than max_size; clamped to {max_size})"
    return n, ""
