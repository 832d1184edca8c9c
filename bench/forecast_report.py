"""The forecasting benchmark's tables: per series, per group, and the goals."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from forecast_corpus import GROUPS, CorpusSeries
from forecast_scoring import Run, geomean, loo_pick, loo_pick_coverage, score

HORIZONS = {"15m": 3, "1h": 12}
SINGLES = ("seasonal_naive", "linear", "level", "theta", "ets", "arima", "mlp", "lstm")


def _fmt(x: float, w: int = 7) -> str:
    return f"{x:>{w}.3f}" if math.isfinite(x) else f"{'-':>{w}}"


class Scores:
    """MASE relative to naive and coverage per series, model and horizon."""

    def __init__(
        self, corpus, origins, ours, theirs, families, train_window, day, band_families=None
    ) -> None:
        self.series = [s.name for s in corpus]
        self.group = {s.name: s.group for s in corpus}
        self.rel: dict[str, dict[str, dict[str, float]]] = {}  # [h][series][model]
        self.cov: dict[str, dict[str, float]] = {}  # [series][model], over 1 h of leads
        self.cov_raw: dict[str, dict[str, float]] = {}
        self.fit: dict[str, list[float]] = {}
        self.step_ms: dict[str, list[float]] = {}
        self.theirs = [str(m) for m in theirs["models"]] if theirs is not None else []
        for h in HORIZONS:
            self.rel[h] = {s: {} for s in self.series}
        for i, (s, o) in enumerate(zip(corpus, origins, strict=True)):
            self._add_series(s, o, ours[s.name], theirs, i, train_window, day)
        self.picks: dict[str, tuple[str, dict[str, str]]] = {}
        for fam, variants in families.items():
            joint = {
                s: {v: geomean([self.rel[h][s][v] for h in HORIZONS]) for v in variants}
                for s in self.series
            }
            self.picks[fam] = loo_pick(joint, variants)
        # settings that move only the bands (level's width): picked by coverage, and a
        # model's coverage figure is its pick's (LOO) on each series
        self.band_picks: dict[str, tuple[str, dict[str, str]]] = {
            fam: loo_pick_coverage(self.cov, variants)
            for fam, variants in (band_families or {}).items()
        }

    def _add_series(self, s, o, runs: Mapping[str, Run], theirs, i, tw, day) -> None:
        base = {
            h: score(
                s.values, o, runs["naive"].mean, runs["naive"].low, runs["naive"].high, n, tw, day
            )[0]
            for h, n in HORIZONS.items()
        }
        self.cov[s.name], self.cov_raw[s.name] = {}, {}
        for name, r in runs.items():
            for h, n in HORIZONS.items():
                m, c = score(s.values, o, r.mean, r.low, r.high, n, tw, day)
                self.rel[h][s.name][name] = _ratio(m, base[h])
            self.cov[s.name][name] = c
            self.cov_raw[s.name][name] = score(
                s.values, o, r.mean, r.raw_low, r.raw_high, 12, tw, day
            )[1]
            self.fit.setdefault(name, []).append(r.fit_seconds)
            self.step_ms.setdefault(name, []).append(r.step_ms)
        for j, name in enumerate(self.theirs):
            mean, low, high = (theirs[k][i, j] for k in ("mean", "low", "high"))
            for h, n in HORIZONS.items():
                m = score(s.values, o, mean, low, high, n, tw, day)[0]
                self.rel[h][s.name][name] = _ratio(m, base[h])
            self.cov[s.name][name] = score(s.values, o, mean, low, high, 12, tw, day)[1]
            self.fit.setdefault(name, []).append(float(theirs["fit_seconds"][i, j]))

    def model_rel(self, model: str, h: str, s: str, loo: bool) -> float:
        """A model's figure on one series; a family takes its LOO (or in-sample) pick."""
        if model in self.picks:
            in_sample, per_series = self.picks[model]
            model = per_series[s] if loo else in_sample
        return self.rel[h][s].get(model, float("nan"))

    def group_gm(self, model: str, h: str, group: str, loo: bool = True) -> float:
        names = [s for s in self.series if group == "all" or self.group[s] == group]
        return geomean([self.model_rel(model, h, s, loo) for s in names])

    def group_cov(self, model: str, group: str, raw: bool = False) -> float:
        table = self.cov_raw if raw else self.cov
        per = self.band_picks[model][1] if model in self.band_picks else {}
        vals = [
            table[s].get(per.get(s, model), float("nan"))
            for s in self.series
            if group == "all" or self.group[s] == group
        ]
        vals = [v for v in vals if math.isfinite(v)]
        return float(np.mean(vals)) if vals else float("nan")


def print_report(
    corpus: Sequence[CorpusSeries], origins, ours, theirs, families, tw, day, band_families=None
) -> None:
    sc = Scores(corpus, origins, ours, theirs, families, tw, day, band_families)
    members = {v for vs in (*families.values(), *(band_families or {}).values()) for v in vs}
    # a family shows as its pick; a variant outside every family (a candidate being
    # compared, such as ARIMA's ``arma_window``) shows as itself
    models = [
        m
        for m in ours[sc.series[0]]
        if m in (*SINGLES, "naive", "ensemble", "auto") or m not in members
    ]
    for fam, (pick, per) in sc.picks.items():
        changed = sorted({v for v in per.values()})
        print(
            f"default for {fam}: in-sample pick {pick!r}; LOO picks {', '.join(repr(c) for c in changed)}"
        )
    for fam, (pick, per) in sc.band_picks.items():
        changed = sorted({v for v in per.values()})
        print(
            f"default for {fam}'s band (by coverage): in-sample pick {pick!r}; "
            f"LOO picks {', '.join(repr(c) for c in changed)}"
        )
    _per_series(sc)
    for group in (*GROUPS, "all"):
        _group_table(sc, models, group)
    _goals(sc, models)


def _per_series(sc: Scores) -> None:
    print("\nper series, MASE relative to naive (ours LOO) and our/their ratios")
    for h in HORIZONS:
        head = f"{'series':<30}{'grp':>8}{'auto':>7}{'level':>7}{'arima':>7}{'ets':>7}"
        head += "".join(f"{m[:9]:>10}" for m in sc.theirs)
        head += f"{'auto/best':>10}{'arima/AA':>9}{'ets/AE':>8}"
        print(f"\n[{h}]\n{head}")
        for s in sc.series:
            ours = [sc.model_rel(m, h, s, True) for m in ("auto", "level", "arima", "ets")]
            theirs = [sc.rel[h][s].get(m, float("nan")) for m in sc.theirs]
            best = min((t for t in theirs if math.isfinite(t)), default=float("nan"))
            aa = sc.rel[h][s].get("AutoARIMA", float("nan"))
            ae = sc.rel[h][s].get("AutoETS", float("nan"))
            row = f"{s[:30]:<30}{sc.group[s]:>8}" + "".join(_fmt(x) for x in ours)
            row += "".join(_fmt(x, 10) for x in theirs)
            row += (
                _fmt(_ratio(ours[0], best), 10)
                + _fmt(_ratio(ours[2], aa), 9)
                + _fmt(_ratio(ours[3], ae), 8)
            )
            print(row)


def _group_table(sc: Scores, models: list[str], group: str) -> None:
    n = sum(1 for s in sc.series if group == "all" or sc.group[s] == group)
    print(f"\ngroup {group} ({n} series): geometric mean of MASE / naive")
    print(
        f"{'model':<16}{'15m LOO':>9}{'1h LOO':>9}{'15m in':>9}{'1h in':>9}{'cov90':>8}{'raw cov':>8}{'fit s':>8}{'upd+pred ms':>12}"
    )
    for m in [*models, *sc.theirs]:
        cells = [sc.group_gm(m, h, group, True) for h in HORIZONS]
        cells += [sc.group_gm(m, h, group, False) for h in HORIZONS]
        fit = float(np.median(sc.fit.get(m, [np.nan])))
        step = float(np.median(sc.step_ms.get(m, [np.nan])))
        raw = sc.group_cov(m, group, raw=True) if m not in sc.theirs else float("nan")
        print(
            f"{m:<16}"
            + "".join(_fmt(c, 9) for c in cells)
            + _fmt(sc.group_cov(m, group), 8)
            + _fmt(raw, 8)
            + _fmt(fit, 8)
            + _fmt(step, 12)
        )


def _goals(sc: Scores, models: list[str]) -> None:
    print("\ngoals (leave-one-series-out figures)")
    for group in (*GROUPS, "all"):
        for h, bound in (("15m", 0.80), ("1h", 0.82)):
            auto = sc.group_gm("auto", h, group)
            best_sf = min((sc.group_gm(m, h, group) for m in sc.theirs), default=float("nan"))
            singles = [m for m in models if m in SINGLES]
            line = f"{group:<8}{h:>4}: auto {auto:.3f} (<= {bound}: {_ok(auto <= bound)})"
            if math.isfinite(best_sf):
                line += f"; auto/best statsforecast {auto / best_sf:.3f} (<= 0.95: {_ok(auto / best_sf <= 0.95)})"
            if singles:
                best_single = min(singles, key=lambda m: sc.group_gm(m, h, group))
                bs = sc.group_gm(best_single, h, group)
                line += f"; auto/best single ({best_single}) {auto / bs:.3f} (<= 1.02: {_ok(auto / bs <= 1.02)})"
            for ours, theirs in (("arima", "AutoARIMA"), ("ets", "AutoETS")):
                if theirs in sc.theirs and ours in models:
                    r = sc.group_gm(ours, h, group) / sc.group_gm(theirs, h, group)
                    line += f"; {ours}/{theirs} {r:.3f} (<= 1: {_ok(r <= 1)})"
            print(line)
    bad = [
        f"{m} {g} {sc.group_cov(m, g):.3f}"
        for m in models
        for g in GROUPS
        if not 0.88 <= sc.group_cov(m, g) <= 0.92
    ]
    print(
        f"90% coverage in [0.88, 0.92] per model and group: {_ok(not bad)}"
        + (f" (outside: {'; '.join(bad)})" if bad else "")
    )
    fit = float(np.median(sc.fit.get("auto", [np.nan])))
    step = float(np.median(sc.step_ms.get("auto", [np.nan])))
    print(
        f"auto: median fit {fit:.2f}s (<= 1: {_ok(fit <= 1)}); median update+predict {step:.1f} ms (<= 5: {_ok(step <= 5)})"
    )


def _ratio(a: float, b: float) -> float:
    """``a / b``; NaN (left out of the means) where naive was exact (``b`` is 0)."""
    return a / b if b > 0 and math.isfinite(b) else float("nan")


def _ok(flag: bool) -> str:
    return "met" if flag else "NOT met"
