"""Forecasters: the models, their registry, fallback, model store and backtesting.

Import nothing heavy here: ``registry.build_forecaster(kind, step, **params)`` imports
a model's module (statsmodels, torch) only when that kind is built.

* ``base``: the shared skeleton (input cleaning, non-negative output, monotone quantiles)
* ``level``: smoothed persistence with noise-following bands (the daemon's default)
* ``baselines``: naive, seasonal_naive, linear
* ``theta``: the Theta method (SES plus half the fitted drift)
* ``season``, ``statespace``, ``arima``, ``ets``: STL/MSTL + ARIMA / damped ETS
* ``neural``: mlp, lstm (torch, optional ``ml`` extra)
* ``ensemble``: ensemble and auto, weighted or chosen by rolling-origin error
* ``fallback``: seasonal naive, then naive, when a model fails
* ``store``: versioned, checksummed, atomically swapped model files
* ``backtest``: rolling-origin evaluation (MASE, sMAPE, MAE, 90% coverage, timings)
"""
