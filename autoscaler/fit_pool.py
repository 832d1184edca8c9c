"""Model fits in worker processes: the daemon's refits use every core.

A fit is Python and numpy on small matrices: threads share one interpreter lock, so
a start with many groups fitted them one at a time whatever the cores. ``FitPool``
sends each fit (a picklable recipe and the series) to a pool of worker processes and
hands back the fitted model (in the model store's format, read back by its
restricted loader). The workers come from a forkserver that has already
imported the models' libraries, so a worker starts in milliseconds, not seconds, and
no worker is forked from the daemon's threads.

Only the daemon uses it (``inline=False`` providers): the simulator fits inline, on
simulated time. Anything that cannot travel to a worker (a recipe that does not pickle,
a model the store does not keep: test doubles) or a pool that broke is fitted in the
calling thread instead,
at most ``os.cpu_count()`` such fits at a time (``FIT_SLOTS``): a fit never fails
because of where it runs.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
import threading
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import timedelta
from typing import Any

import pandas as pd

# In-thread fits share the cores: a start with many groups queues its fits.
FIT_SLOTS = threading.BoundedSemaphore(max(1, os.cpu_count() or 1))

# What the forkserver imports once (about 2 CPU-s), so that its workers start with it
# loaded: the model modules and the statsmodels pieces ARIMA and ETS fit with.
PRELOAD = [
    "autoscaler.fit_pool",
    "autoscaler.forecasters.registry",
    "autoscaler.forecasters.arima",
    "autoscaler.forecasters.ets",
    "statsmodels.tsa.statespace.sarimax",
    "statsmodels.tsa.arima.estimators.hannan_rissanen",
    "statsmodels.tsa.stattools",
]

Recipe = Callable[[timedelta], Any]


def fit_model(make: Recipe, step: timedelta, y: pd.Series) -> Any:
    """A fresh model from ``make(step)``, fitted on ``y``."""
    return make(step).fit(y)


def fit_remotely(make: Recipe, step: timedelta, y: pd.Series) -> bytes:
    """What a worker runs: the fitted model in the model store's format, which the
    daemon reads back with the store's restricted loader."""
    from autoscaler.forecasters.restricted_pickle import dump_model

    return dump_model(fit_model(make, step, y))


class FitPool:
    """Fits models in ``workers`` processes (default: one per core), started on the
    first fit; ``close`` stops them."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = max(1, workers or os.cpu_count() or 1)
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self.remote = 0  # fits done in a worker / in the calling thread, for tests and reports
        self.local = 0

    def _executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                ctx = multiprocessing.get_context("forkserver")
                ctx.set_forkserver_preload(PRELOAD)
                self._pool = ProcessPoolExecutor(self.workers, mp_context=ctx)
            return self._pool

    def start(self) -> None:
        """Start the forkserver and a worker now (its imports then overlap the daemon's
        first ticks instead of delaying the first fit). Never raises: a pool that cannot
        start leaves the fits to the calling threads."""
        if self._pool is not None:
            return  # started already (every daemon-mode provider asks)
        with contextlib.suppress(RuntimeError, OSError):
            self._executor().submit(int)

    def fit(self, make: Recipe, step: timedelta, y: pd.Series) -> Any:
        """``make(step)`` fitted on ``y``, in a worker when it can travel there. Raises
        what the model's fit raises."""
        future: Future | None = None
        try:
            pickle.dumps(make)  # a recipe that cannot travel is fitted here
            future = self._executor().submit(fit_remotely, make, step, y)
        except (pickle.PicklingError, TypeError, AttributeError, RuntimeError, OSError):
            future = None
        if future is not None:
            from autoscaler.forecasters.restricted_pickle import RefusedModel, load_model

            try:
                model = load_model(future.result())
                self.remote += 1
                return model
            except (BrokenProcessPool, RefusedModel) as exc:  # a model that cannot travel
                self._broken(exc)
        with FIT_SLOTS:
            model = fit_model(make, step, y)
        self.local += 1
        return model

    def _broken(self, exc: BaseException) -> None:
        """A pool whose worker died (killed, out of memory) is replaced on the next fit."""
        if isinstance(exc, BrokenProcessPool):
            self.close()

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None


_SHARED: FitPool | None = None
_SHARED_LOCK = threading.Lock()


def shared_pool() -> FitPool:
    """The process's one pool, shared by every group's provider (one worker per core
    in all, however many groups)."""
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is None:
            _SHARED = FitPool()
        return _SHARED


def close_shared_pool() -> None:
    """Stop the shared pool's workers, if it was started (the daemon's stop): queued
    fits are cancelled, a running one is left to end with its worker."""
    with _SHARED_LOCK:
        if _SHARED is not None:
            _SHARED.close()
