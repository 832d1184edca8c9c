"""Small neural forecasters (MLP, LSTM) on torch, CPU only; torch is imported lazily here.

Inputs, per origin ``t`` (all divided by the training standard deviation):

* the last ``lookback`` values relative to the value at ``t``,
* with three days of history or more, the values one day before each target step
  (``t + 1 - day .. t + output - day``) relative to the value at ``t``: the daily pattern.

The network outputs all ``output`` steps at once, as changes from the value at ``t``
(so "no change" is the easy answer). No input gives the absolute level, so a level
shift beyond the training range does not pull forecasts back to the old mean. It is
trained with an L1 loss (a median forecast) on the first 80% of windows, with early
stopping on the last 20%. Intervals are
calibrated on that validation split: the empirical quantiles of its errors at each
lead. Longer horizons are forecast block by block, feeding the forecast back in.
Training is seeded and single-threaded by default, hence deterministic. A flat
training series (nothing to learn) gives persistence with a zero-width band.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from autoscaler.forecasters.base import BaseForecaster
from autoscaler.forecasters.intervals import empirical_bands
from autoscaler.forecasters.series_input import to_steps
from autoscaler.model import ForecastError

VALIDATION_SHARE = 0.2


def _build_net(torch: Any, arch: str, lookback: int, n_extra: int, hidden: int, output: int) -> Any:
    nn = torch.nn
    if arch == "mlp":
        return nn.Sequential(
            nn.Linear(lookback + n_extra, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, output),
        )

    class LstmNet(nn.Module):
        """An LSTM over the lookback window; its last state and the extra features feed a head."""

        def __init__(self) -> None:
            super().__init__()
            self.lstm = nn.LSTM(1, hidden, batch_first=True)
            self.head = nn.Linear(hidden + n_extra, output)

        def forward(self, x: Any) -> Any:
            seq, extra = x[:, :lookback].unsqueeze(-1), x[:, lookback:]
            _, (h, _) = self.lstm(seq)
            return self.head(torch.cat([h[-1], extra], dim=1))

    return LstmNet()


class NeuralForecaster(BaseForecaster):
    """Shared training and inference; ``arch`` picks the network."""

    arch = "mlp"

    def __init__(
        self,
        step: timedelta,
        lookback: int | str = 36,
        output: int | str = 24,
        hidden: int = 64,
        max_epochs: int = 60,
        patience: int = 12,
        learning_rate: float = 3e-3,
        batch_size: int = 64,
        fit_window: int | str = "7d",
        threads: int = 1,
        **params: Any,
    ) -> None:
        super().__init__(
            step,
            lookback=lookback,
            output=output,
            hidden=hidden,
            max_epochs=max_epochs,
            patience=patience,
            learning_rate=learning_rate,
            batch_size=batch_size,
            fit_window=fit_window,
            threads=threads,
            **params,
        )
        self.lookback = to_steps(lookback, step, name="lookback")
        self.output = to_steps(output, step, name="output")
        self.fit_window = to_steps(fit_window, step, name="fit_window")
        self.hidden, self.max_epochs, self.patience = int(hidden), int(max_epochs), int(patience)
        self.learning_rate, self.batch_size, self.threads = (
            float(learning_rate),
            int(batch_size),
            max(1, int(threads)),
        )
        if self.output > self.day:
            raise ForecastError(f"{self.name}: output ({self.output}) must not exceed one day")
        # Enough windows for a training and a validation split of a few dozen each.
        self.min_history = self.lookback + self.output + 60
        self._use_day = False
        self._flat = False
        self._mu, self._sd = 0.0, 1.0
        self._weights: dict[str, np.ndarray] = {}
        self._errors: list[np.ndarray] = []
        # band offsets per (horizon, quantiles): the errors change only at fit
        self._offsets: dict[tuple[int, tuple[float, ...]], dict[float, np.ndarray]] = {}
        self._net: Any = None
        self.epochs = 0

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state["_net"] = None  # rebuilt from _weights; keeps pickles free of torch objects
        state["_offsets"] = {}  # a cache, rebuilt at the first forecast
        return state

    def _features(self, z: np.ndarray, origins: np.ndarray) -> np.ndarray:
        """One row per origin (index of the last input point) in scaled series ``z``."""
        win = sliding_window_view(z, self.lookback)[origins - self.lookback + 1]
        now = z[origins][:, None]
        cols = [win - now]
        if self._use_day:
            lagged = sliding_window_view(z, self.output)[origins + 1 - self.day]
            cols.append(lagged - now)
        return np.hstack(cols).astype(np.float32)

    def _fit(self, values: np.ndarray) -> None:
        import torch

        from autoscaler.forecasters.neural_adam import FlatAdam

        v = values[-self.fit_window :]
        self._flat = bool(np.ptp(v) == 0)
        if self._flat:
            # Nothing to learn from a flat line: forecast persistence, with no spread.
            self._errors = [np.zeros(1)] * self.output
            self._offsets = {}
            return
        self._use_day = len(v) >= 3 * self.day
        self._mu = float(v.mean())
        self._sd = float(v.std()) or 1.0
        z = (v - self._mu) / self._sd
        first = max(self.lookback - 1, self.day - 1 if self._use_day else 0)
        origins = np.arange(first, len(z) - self.output)
        if len(origins) < 20:
            raise ForecastError(f"{self.name}: too few training windows ({len(origins)})")
        x = self._features(z, origins)
        targets = sliding_window_view(z, self.output)[origins + 1] - z[origins][:, None]
        split = int(len(origins) * (1 - VALIDATION_SHARE))
        torch.set_num_threads(self.threads)
        torch.manual_seed(self.seed)
        gen = torch.Generator().manual_seed(self.seed)
        xt, yt = torch.from_numpy(x), torch.from_numpy(targets.astype(np.float32))
        net = _build_net(
            torch, self.arch, self.lookback, x.shape[1] - self.lookback, self.hidden, self.output
        )
        opt = FlatAdam(net.parameters(), lr=self.learning_rate)  # torch's Adam, faster
        loss_fn = torch.nn.L1Loss()
        best, best_state, stale = np.inf, None, 0
        epoch = 0
        for epoch in range(self.max_epochs):  # noqa: B007 - the count is kept
            net.train()
            for idx in torch.randperm(split, generator=gen).split(self.batch_size):
                opt.zero_grad()
                loss = loss_fn(net(xt[idx]), yt[idx])
                loss.backward()
                opt.step()
            net.eval()
            with torch.no_grad():
                val = float(loss_fn(net(xt[split:]), yt[split:]))
            if val < best - 1e-6:
                best, stale = val, 0
                best_state = {k: t.detach().clone() for k, t in net.state_dict().items()}
            else:
                stale += 1
                if stale >= self.patience:
                    break
        self.epochs = epoch + 1
        if best_state is None or not np.isfinite(best):
            raise ForecastError(f"{self.name}: training diverged")
        net.load_state_dict(best_state)
        self._weights = {k: t.numpy().copy() for k, t in best_state.items()}
        self._net = net
        with torch.no_grad():
            pred = net(xt[split:]).numpy()
        err = (targets[split:] - pred) * self._sd
        self._errors = [err[:, h] for h in range(self.output)]
        self._offsets = {}

    def _network(self) -> Any:
        import torch

        if self._net is None:
            n_extra = self.output if self._use_day else 0
            net = _build_net(torch, self.arch, self.lookback, n_extra, self.hidden, self.output)
            net.load_state_dict({k: torch.from_numpy(w.copy()) for k, w in self._weights.items()})
            net.eval()
            self._net = net
        return self._net

    def _predict(self, horizon: int, quantiles: tuple[float, ...]):
        if self._flat:
            mean = np.full(horizon, self._history[-1])
            return mean, {q: mean.copy() for q in quantiles}
        import torch

        torch.set_num_threads(self.threads)
        net = self._network()
        z = (self._history - self._mu) / self._sd
        blocks = []
        while sum(len(b) for b in blocks) < horizon:
            x = self._features(z, np.array([len(z) - 1]))
            with torch.no_grad():
                delta = net(torch.from_numpy(x)).numpy()[0]
            block = z[-1] + delta
            blocks.append(block)
            z = np.concatenate([z, block])
        mean = np.concatenate(blocks)[:horizon] * self._sd + self._mu
        cache = self.__dict__.setdefault("_offsets", {})  # absent from older stored models
        offsets = cache.get((horizon, quantiles))
        if offsets is None:
            # Beyond the trained output the errors of the last lead are widened like a random walk.
            errors = [
                self._errors[h]
                if h < self.output
                else self._errors[-1] * np.sqrt((h + 1) / self.output)
                for h in range(horizon)
            ]
            offsets = cache[(horizon, quantiles)] = empirical_bands(
                np.zeros(horizon), errors, quantiles
            )
        return mean, {q: mean + offsets[q] for q in quantiles}


class MlpForecaster(NeuralForecaster):
    """Two hidden layers of ``hidden`` ReLU units."""

    name = "mlp"
    arch = "mlp"


class LstmForecaster(NeuralForecaster):
    """One LSTM layer of ``hidden`` units over the lookback window, then a linear head."""

    name = "lstm"
    arch = "lstm"

    def __init__(
        self, step: timedelta, hidden: int = 32, max_epochs: int = 30, **params: Any
    ) -> None:
        super().__init__(step, hidden=hidden, max_epochs=max_epochs, **params)
