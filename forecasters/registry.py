"""Building forecasters by name: the one place the engine, the CLI and the config meet them.

Model modules are imported only when their kind is built, so that listing kinds or
building a baseline never imports statsmodels or torch.
"""

from __future__ import annotations

import functools
import importlib
import inspect
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from autoscaler.model import ForecastError

_KINDS: dict[str, str] = {
    "level": "autoscaler.forecasters.level:LevelForecaster",
    "naive": "autoscaler.forecasters.baselines:NaiveForecaster",
    "seasonal_naive": "autoscaler.forecasters.baselines:SeasonalNaiveForecaster",
    "linear": "autoscaler.forecasters.baselines:LinearForecaster",
    "theta": "autoscaler.forecasters.theta:ThetaForecaster",
    "ets": "autoscaler.forecasters.ets:EtsForecaster",
    "arima": "autoscaler.forecasters.arima:ArimaForecaster",
    "mlp": "autoscaler.forecasters.neural:MlpForecaster",
    "lstm": "autoscaler.forecasters.neural:LstmForecaster",
    "ensemble": "autoscaler.forecasters.ensemble:EnsembleForecaster",
    "auto": "autoscaler.forecasters.ensemble:AutoForecaster",
}

KNOWN_KINDS: tuple[str, ...] = tuple(_KINDS)
NEEDS_TORCH: frozenset[str] = frozenset({"mlp", "lstm"})


def forecaster_class(kind: str) -> type:
    """The class behind ``kind``. Raises ``ForecastError`` for an unknown kind."""
    target = _KINDS.get(kind)
    if target is None:
        raise ForecastError(f"unknown forecaster {kind!r} (known: {', '.join(KNOWN_KINDS)})")
    module, _, cls = target.partition(":")
    try:
        return getattr(importlib.import_module(module), cls)
    except ImportError as exc:
        hint = " (install the 'ml' extra: pip install 'predictive-autoscaler[ml]')"
        raise ForecastError(
            f"forecaster {kind!r} is unavailable: {exc}{hint if kind in NEEDS_TORCH else ''}"
        ) from None


def accepted_params(cls: type) -> set[str]:
    """Keyword parameters accepted anywhere along the class's constructors."""
    return set(_accepted_params(cls))


@functools.cache
def _accepted_params(cls: type) -> frozenset[str]:
    # cached: a simulation builds a fresh model at every refit, and inspecting the
    # signatures took longer than fitting the level model
    names: set[str] = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        for p in inspect.signature(init).parameters.values():
            if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD) and p.name not in (
                "self",
                "step",
            ):
                names.add(p.name)
    return frozenset(names)


def checked_member_params(
    raw: Mapping[str, Mapping[str, Any]] | None, members: tuple[str, ...], name: str
) -> dict[str, dict[str, Any]]:
    """``member_params`` as plain dicts, each naming a member and only parameters its
    kind accepts (a kind that cannot be imported here is left to fail at fit)."""
    out: dict[str, dict[str, Any]] = {}
    for kind, params in (raw or {}).items():
        if kind not in members or not isinstance(params, Mapping):
            raise ForecastError(
                f"{name}: member_params maps members ({', '.join(members)}) to their "
                f"parameters, not {kind!r}: {params!r}"
            )
        try:
            known = accepted_params(forecaster_class(kind))
        except ForecastError:
            known = set(params)
        unknown = sorted(set(params) - known - {"seed"})
        if unknown or "seed" in params:
            raise ForecastError(
                f"{name}: member_params for {kind}: unknown parameter(s) "
                f"{', '.join(unknown or ['seed'])}"
            )
        out[kind] = dict(params)
    return out


def build_forecaster(
    kind: str,
    step: timedelta,
    *,
    fallback: bool = False,
    calibrated: bool | str = False,
    conformal: Mapping[str, Any] | None = None,
    **params: Any,
) -> Any:
    """A new, unfitted forecaster of ``kind`` at ``step`` with ``params``.

    With ``fallback`` the model is wrapped in ``FallbackForecaster``: a fit failure
    falls back to seasonal naive, then naive, and the forecast's note says so. With
    ``calibrated`` (outside the fallback) its bands are conformal quantiles of its own
    recent errors (``ConformalForecaster``): scored on a copy fitted without the last
    days, the model itself fitted on all of ``y`` (two fits); ``calibrated="once"``
    scores the model itself fitted without them and brings it forward (one fit);
    ``conformal`` holds ``ConformalForecaster``'s settings (the benchmark's variants).
    Raises ``ForecastError`` for an unknown kind or parameter, or a bad value.
    """
    if calibrated not in (True, False, "once"):
        raise ForecastError(f"calibrated must be true, false or once, not {calibrated!r}")
    cls = forecaster_class(kind)
    # ``build`` is how the registry hands itself to ensembles, not a setting
    unknown = sorted((set(params) - accepted_params(cls)) | ({"build"} & set(params)))
    if unknown:
        raise ForecastError(
            f"forecaster {kind!r}: unknown parameter(s) {', '.join(unknown)} "
            f"(accepted: {', '.join(sorted(accepted_params(cls) - {'build'}))})"
        )
    if kind in ("ensemble", "auto"):
        params.setdefault("build", build_forecaster)
    try:
        model = cls(step, **params)
    except (TypeError, ValueError) as exc:
        raise ForecastError(f"forecaster {kind!r}: {exc}") from None
    if fallback:
        from autoscaler.forecasters.fallback import FallbackForecaster

        model = FallbackForecaster(model, step)
    if calibrated:
        from autoscaler.forecasters.conformal import ConformalForecaster

        def fresh() -> Any:
            return build_forecaster(kind, step, fallback=fallback, **params)

        refit = None if calibrated == "once" else fresh
        try:
            model = ConformalForecaster(model, step, refit=refit, **dict(conformal or {}))
        except (TypeError, ValueError) as exc:
            raise ForecastError(f"forecaster {kind!r}: conformal: {exc}") from None
    return model
