"""The cells of the policy frontier: which traces, which policy variants, and one run.

A cell is one policy variant on one trace at one boot delay; ``run_cell`` runs it in a
worker process and returns plain numbers, so cells can go to a process pool.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from pydantic import ValidationError

from autoscaler.config import (
    Config,
    GroupConfig,
    QosPolicyConfig,
    SloConfig,
    TargetPolicyConfig,
    ThresholdPolicyConfig,
    default_group,
)
from autoscaler.simulation import Scenario, build_scenario, run_policy
from autoscaler.simulator.scoring import required_instances
from autoscaler.traces import Trace, load_trace

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
TWEETS = ("AAPL", "AMZN", "CRM", "CVS", "FB", "GOOG", "IBM", "KO", "PFE", "UPS")
# trace name -> (file under DATA, gap fill); the GenAI trace is built from its requests.
TRACES: dict[str, tuple[str, str]] = {
    "nasa": ("nasa-http-1995/nasa_http_1995_per_minute.csv", "zero"),
    "nab-elb": ("nab/realAWSCloudwatch/elb_request_count_8c0756.csv", "previous"),
    "nab-asg": ("nab/realKnownCause/cpu_utilization_asg_misconfiguration.csv", "previous"),
    **{f"tw-{t}": (f"nab/realTweets/Twitter_volume_{t}.csv", "previous") for t in TWEETS},
    "genai": ("alibaba-genai-v2026/lora_request_trace.csv", "requests"),
}
# traces no default was chosen on, outside the dev corpus (run them by name with --traces):
# NYC taxi passengers per 30 minutes, 7 months, a daily and weekly request-like load
HELD_OUT: dict[str, tuple[str, str]] = {
    "nyc-taxi": ("nab/realKnownCause/nyc_taxi.csv", "previous"),
}
STEPS_PER_DAY = {"nasa": 1440, "nyc-taxi": 48}  # the others: 5-minute samples, 288


def steps_per_day(name: str) -> int:
    return STEPS_PER_DAY.get(name, 288)


BOOTS = (2, 10)  # minutes
TARGETS = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85)
THRESHOLDS = ((0.6, 0.2), (0.7, 0.3), (0.8, 0.3), (0.9, 0.5))  # (upper, lower)
BUDGETS = (0.5, 1.0, 2.0, 5.0)
GENAI_STEP = timedelta(minutes=5)


@dataclass(frozen=True)
class Cell:
    trace: str
    boot: int  # minutes
    family: str  # target, threshold, qos, oracle
    setting: float | tuple[float, float] | None  # utilisation, (upper, lower), budget %
    # qos settings other than the defaults, as (name, YAML value) pairs (--qos-set)
    qos: tuple[tuple[str, str], ...] = ()

    @property
    def label(self) -> str:
        if self.family == "target":
            return f"target {self.setting:g}"
        if self.family == "threshold":
            up, lo = self.setting  # type: ignore[misc]
            return f"threshold {up:g}/{lo:g}"
        if self.family == "qos":
            return f"qos {self.setting:g}%"
        return self.family


def cells(
    traces: list[str],
    boots: tuple[int, ...] = BOOTS,
    budgets: tuple[float, ...] = BUDGETS,
    qos: tuple[tuple[str, str], ...] = (),
) -> list[Cell]:
    """Every variant on every trace and boot delay; qos first (the slowest cells)."""
    out = []
    for name in traces:
        for boot in boots:
            out += [Cell(name, boot, "qos", b, qos) for b in budgets]
            out += [Cell(name, boot, "target", u) for u in TARGETS]
            out += [Cell(name, boot, "threshold", t) for t in THRESHOLDS]
            out.append(Cell(name, boot, "oracle", None))
    return out


def genai_rate(path: Path, step: timedelta = GENAI_STEP) -> Trace:
    """Requests per second of the GenAI serving trace, counted per ``step`` (its 26,823
    requests over 23 days are too sparse for one-minute counts)."""
    times = pd.to_datetime(pd.read_csv(path, usecols=["gmt_create"])["gmt_create"], utc=True)
    counts = times.dt.floor(step).value_counts().sort_index()
    index = pd.date_range(counts.index[0], counts.index[-1], freq=step)
    rate = counts.reindex(index, fill_value=0).astype(float) / step.total_seconds()
    return Trace("genai-request-rate", rate, step, notes=("requests counted per 5 min",))


@functools.cache
def trace(name: str, max_steps: int) -> Trace:
    rel, fill = {**TRACES, **HELD_OUT}[name]
    path = DATA / rel
    t = genai_rate(path) if fill == "requests" else load_trace(path, fill=fill)
    if len(t) > max_steps:
        t = Trace(t.name, t.series.iloc[:max_steps], t.step, (), t.fill, t.column, t.notes)
    return t


def qos_config(
    settings: tuple[tuple[str, str], ...], base: Mapping[str, object] | None = None
) -> QosPolicyConfig:
    """qos's config with these (name, YAML value) settings over ``base`` (a qos config's
    values; None: qos's defaults); raises pydantic's ``ValidationError`` on an unknown
    name or a bad value."""
    values = {**(base or {}), **{k: yaml.safe_load(v) for k, v in settings}}
    return QosPolicyConfig.model_validate(values)


def qos_settings(
    values: list[str], base: Mapping[str, object] | None = None
) -> tuple[tuple[str, str], ...]:
    """``--qos-set`` values (NAME=VALUE, VALUE in YAML) as (name, value) pairs, checked
    against qos's config (over ``base``, as ``qos_config``); ``ValueError`` with one line
    naming every problem."""
    pairs = [tuple(kv.split("=", 1)) for kv in values]
    if any(len(kv) != 2 for kv in pairs):
        raise ValueError("takes NAME=VALUE")
    settings: tuple[tuple[str, str], ...] = tuple(pairs)  # type: ignore[arg-type]
    try:
        qos_config(settings, base)
    except ValidationError as exc:
        raise ValueError(
            "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        ) from None
    return settings


def _group(cell: Cell) -> GroupConfig:
    base = default_group()
    if cell.family == "target":
        return base.model_copy(update={"policies": [TargetPolicyConfig(target=cell.setting)]})
    if cell.family == "threshold":
        up, lo = cell.setting  # type: ignore[misc]
        return base.model_copy(update={"policies": [ThresholdPolicyConfig(upper=up, lower=lo)]})
    if cell.family == "qos":
        return base.model_copy(
            update={
                "policies": [qos_config(cell.qos)],
                "slo": SloConfig(target_violation_pct=cell.setting),
            }
        )
    return base


def scenario(cell: Cell, max_steps: int) -> Scenario:
    """The cell's scenario: its trace cut to ``max_steps``, the group with its policy."""
    t = trace(cell.trace, max_steps)
    group = _group(cell)
    # a coarse trace (NYC taxi, 30 min): threshold's periods fit in the window, and the
    # newest sample, a step old when read, is not stale
    lookback = max(group.metric.lookback, (ThresholdPolicyConfig().periods + 1) * t.step)
    group = group.model_copy(
        update={
            "metric": group.metric.model_copy(update={"lookback": lookback}),
            "stale_after": max(group.stale_after, t.step),
        }
    )
    return build_scenario(t, Config(groups=[group]), boot_delay=timedelta(minutes=cell.boot))


def run_cell(cell: Cell, max_steps: int) -> dict[str, float | int | str]:
    """One run: violation %, instance-hours and wall time of the cell's policy."""
    scn = scenario(cell, max_steps)
    required = required_instances(scn.load, scn.service, scn.spec.max_size)
    run = run_policy(scn, cell.family, required)
    return {
        "trace": cell.trace,
        "boot": cell.boot,
        "family": cell.family,
        "label": cell.label,
        "violation_pct": run.score.slo_violation_pct,
        "instance_hours": run.score.instance_hours,
        "steps": len(scn.load),
        "wall_seconds": run.wall_seconds,
        "peak_required": int(np.max(required)),
    }
