"""Loading stored models without running code from the file.

A pickle names the callables that rebuild it; a plain ``pickle.loads`` imports and calls
whatever the file names. ``load_model`` admits only the globals our fitted models are
made of: our forecaster classes, numpy arrays and dtypes, pandas' datetime index and
series pieces, ``datetime`` values, and the forecaster registry's constructor (the
ensemble keeps it to build its members). Anything else is refused by name before it is
imported, and the result must be one of our model types.

A function a model keeps only to build fresh copies of itself (the conformal wrapper's
``refit``, a closure made when the model was built) is not data: it is written as a
reference that loads as None. A loaded model is used and updated, never refitted (a
refit builds a new model).
"""

from __future__ import annotations

import io
import pickle
from typing import Any

from autoscaler.model import ForecastError

# Modules whose classes (types only, never functions) may be rebuilt: our models.
_MODEL_MODULES = ("autoscaler.forecasters.",)

# Exact (module, name) pairs that rebuild plain data.
_DATA_GLOBALS: frozenset[tuple[str, str]] = frozenset(
    {
        ("builtins", "slice"),
        ("builtins", "complex"),
        ("collections", "deque"),
        ("datetime", "timedelta"),
        ("datetime", "timezone"),
        ("datetime", "datetime"),
        ("numpy", "dtype"),
        ("numpy", "ndarray"),
        ("pandas", "DatetimeIndex"),
        ("pandas", "DatetimeTZDtype"),
        ("pandas", "Series"),
        ("pandas", "Index"),
        ("pandas.arrays", "DatetimeArray"),
        ("pandas._libs.arrays", "__pyx_unpickle_NDArrayBacked"),
        ("pandas._libs.tslibs.timestamps", "_unpickle_timestamp"),
        ("pandas._libs.tslibs.timedeltas", "_timedelta_unpickle"),
        ("pandas.core.indexes.datetimes", "_new_DatetimeIndex"),
        ("pandas.core.indexes.base", "_new_Index"),
        ("pandas.core.internals.managers", "SingleBlockManager"),
        ("pandas.core.internals.managers", "BlockManager"),
        ("autoscaler.forecasters.registry", "build_forecaster"),
    }
    | {
        (mod, name)
        for mod in ("numpy.core.multiarray", "numpy._core.multiarray")
        for name in ("_reconstruct", "scalar")
    }
    | {(mod, "_frombuffer") for mod in ("numpy.core.numeric", "numpy._core.numeric")}
    | {
        ("pandas._libs.tslibs.offsets", tick)
        for tick in ("Day", "Hour", "Minute", "Second", "Milli", "Micro", "Nano")
    }
)


class RefusedModel(ForecastError):
    """The file is not one of our models (or names something we do not load)."""


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _DATA_GLOBALS:
            return super().find_class(module, name)
        if module.startswith(_MODEL_MODULES) and "." not in name and not name.startswith("_"):
            found = super().find_class(module, name)
            if isinstance(found, type) and _is_model_type(found):
                return found
        raise RefusedModel(f"refusing to load {module}.{name}: not part of a stored model")

    def persistent_load(self, pid: Any) -> Any:
        if pid == _DROPPED:
            return None
        raise RefusedModel(f"refusing to load the reference {pid!r}: not part of a stored model")


def _model_types() -> tuple[type, ...]:
    from autoscaler.forecasters.aci import ScorePool
    from autoscaler.forecasters.base import BaseForecaster
    from autoscaler.forecasters.compact_kalman import CompactStateSpace
    from autoscaler.forecasters.conformal import ConformalForecaster
    from autoscaler.forecasters.ensemble import Checkpoint
    from autoscaler.forecasters.ets_select import EtsFit
    from autoscaler.forecasters.fallback import FallbackForecaster
    from autoscaler.forecasters.season import SeasonalProfile

    return (
        BaseForecaster,
        FallbackForecaster,
        ConformalForecaster,
        CompactStateSpace,
        SeasonalProfile,
        EtsFit,
        Checkpoint,
        ScorePool,
    )


def _is_model_type(cls: type) -> bool:
    return issubclass(cls, _model_types())


def _top_level_types() -> tuple[type, ...]:
    from autoscaler.forecasters.base import BaseForecaster
    from autoscaler.forecasters.conformal import ConformalForecaster
    from autoscaler.forecasters.fallback import FallbackForecaster

    return BaseForecaster, FallbackForecaster, ConformalForecaster


_DROPPED = "dropped factory"


class _Pickler(pickle.Pickler):
    def persistent_id(self, obj: Any) -> Any:
        # a function made inside another (a refit factory) is no part of the fitted model
        if callable(obj) and "<locals>" in getattr(obj, "__qualname__", ""):
            return _DROPPED
        return None


def dump_model(model: Any) -> bytes:
    """The model's bytes; raises ``RefusedModel`` for something ``load_model`` would refuse."""
    if not isinstance(model, _top_level_types()):
        raise RefusedModel(f"{type(model).__name__} is not a forecaster this store keeps")
    buffer = io.BytesIO()
    try:
        _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(model)
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        raise RefusedModel(f"{type(model).__name__} cannot be saved: {exc}") from None
    payload = buffer.getvalue()
    load_model(payload)  # what cannot be read back must not be saved
    return payload


def load_model(payload: bytes) -> Any:
    """The forecaster in ``payload``. Raises ``RefusedModel`` for a global outside the
    allowed set or a result that is not a forecaster, ``ForecastError`` if corrupt."""
    try:
        model = _Unpickler(io.BytesIO(payload)).load()
    except RefusedModel:
        raise
    except Exception as exc:  # a corrupt payload can raise nearly anything
        reason = " ".join(str(exc).split())  # one line, whatever the library wrote
        raise ForecastError(f"corrupt model data: {type(exc).__name__}: {reason}") from None
    if not isinstance(model, _top_level_types()):
        raise RefusedModel(f"the file holds a {type(model).__name__}, not a forecaster")
    return model
