"""Adaptive conformal inference's state: recent normalised scores and the miss rates.

A score is how far an outcome fell from the forecast's mean in units of the model's own
band on that side (``conformal``): the band stretched by ``c`` covers it when the score
is at most ``c``. ``ScorePool`` keeps the newest ``size`` scores of every lead together
and a working miss rate ``alpha``, which adaptive conformal inference (Gibbs and
Candès, 2021) moves by ``gamma`` x (target miss - miss) for every scored outcome; the
stretch is the ``1 - alpha`` quantile of the pool.

A lead where the model's band had no width on a side is "certain"; where the outcome
fell on that side its score is 0 when it was the mean and infinite when not: no
stretch covers it. With ``certain`` such outcomes count like the others (they are forecasts
the band is judged on too; a stretch is never taken from an infinite score, the
largest finite one is used instead); without it they are left out; with ``"rate"``
they move the miss rate (a certain miss is a miss) but are not pooled, so no stretch is
a quantile over their zeros and infinities.

Scores from the fit (``add(..., fit=True)``: held-out forecasts before the model went
online) can age out: with ``age_out`` k, every online score pooled drops k of the
oldest fit-time ones (never below ``MIN_SCORES`` in all), so after a calm or a noisy
spell the online outcomes set the stretch sooner than the pool's size would have them.

With ``leads`` the miss rate is kept per lead (lead ``h`` is moved by lead ``h``'s
outcomes only, and lead ``leads`` stands for every later one): a model whose own band
grows too fast or too slowly with the lead is corrected at each lead, from the one
pool. Without it one rate serves every lead, as the paper has it.
"""

from __future__ import annotations

from collections import deque

import numpy as np

MIN_SCORES = 60  # fewer scored outcomes than this: the model's own bands are kept


class ScorePool:
    """Scores and miss rate(s); ``leads=None``: one rate for all leads."""

    def __init__(
        self,
        *,
        target: float = 0.9,
        gamma: float = 0.005,
        size: int = 2000,
        leads: int | None,
        certain: bool | str = False,
        age_out: float = 0.0,
    ) -> None:
        self.target = float(target)
        self.gamma = float(gamma)
        self.leads = None if leads is None else max(1, int(leads))
        if certain not in (True, False, "rate"):
            raise ValueError(f"certain must be True, False or 'rate', not {certain!r}")
        self.certain = certain
        self.age_out = max(0.0, float(age_out))
        self.scores: deque[float] = deque(maxlen=int(size))
        self.fit_left = 0  # how many of the oldest pooled scores are the fit's
        self.alphas = np.full(self.leads or 1, 1.0 - self.target)

    def __setstate__(self, state: dict) -> None:
        state.setdefault("age_out", 0.0)  # stored before ageing: fit scores stay
        state.setdefault("fit_left", 0)
        self.__dict__.update(state)

    @property
    def calibrated(self) -> bool:
        return len(self.scores) >= MIN_SCORES

    def clear(self) -> None:
        self.scores.clear()
        self.fit_left = 0
        self.alphas[:] = 1.0 - self.target

    def _slots(self, leads: np.ndarray) -> np.ndarray:
        """Each lead's miss rate (leads count from 1; past ``leads``, the last one's)."""
        if self.leads is None:
            return np.zeros(len(leads), dtype=int)
        return np.clip(np.asarray(leads, dtype=int) - 1, 0, self.leads - 1)

    def add(
        self,
        leads: np.ndarray,
        scores: np.ndarray,
        certain: np.ndarray | None = None,
        fit: bool = False,
    ) -> None:
        """One forecast's scored outcomes (``scores[i]`` at lead ``leads[i]``; where
        ``certain[i]``, the band had no width there; ``fit``: a held-out forecast of the
        fit): adapt the miss rates to how the current stretch did on them, then pool them."""
        pooled = np.ones(len(scores), dtype=bool)
        if certain is not None and self.certain is not True:
            pooled = ~np.asarray(certain, dtype=bool)
            if self.certain is False:
                leads, scores, pooled = leads[pooled], scores[pooled], pooled[pooled]
        if not len(scores):
            return
        if self.calibrated:
            slots = self._slots(leads)
            missed = scores > self.factors_at(slots)
            # one step of Gibbs and Candes' update per scored outcome, as they have it
            step = np.bincount(
                slots, weights=(1 - self.target) - missed, minlength=len(self.alphas)
            )
            self.alphas = np.clip(self.alphas + self.gamma * step, 0.0, 0.5)
        self._pool(np.asarray(scores, dtype=float)[pooled], fit)

    def _pool(self, new: np.ndarray, fit: bool) -> None:
        """Append ``new``; the deque drops the oldest (the fit's first) past its size."""
        cap = self.scores.maxlen
        evicted = 0 if cap is None else max(0, len(self.scores) + len(new) - cap)
        self.fit_left = max(0, self.fit_left - evicted)
        self.scores.extend(new.tolist())
        if fit:
            self.fit_left = min(self.fit_left + len(new), len(self.scores))
            return
        drop = min(self.fit_left, int(self.age_out * len(new)), len(self.scores) - MIN_SCORES)
        for _ in range(max(0, drop)):
            self.scores.popleft()
        self.fit_left -= max(0, drop)

    def factors_at(self, slots: np.ndarray) -> np.ndarray:
        """The stretch for each miss-rate slot in ``slots`` (the pool's 1 - alpha quantile)."""
        pool = np.asarray(self.scores)
        qs = 1.0 - self.alphas[slots]
        qs = np.clip(qs, 0.0, 1.0)
        finite = np.isfinite(pool)
        if finite.all():
            return np.quantile(pool, qs)
        # np.quantile's interpolation over the sorted pool, the infinite scores at its
        # top: a quantile that falls among them is the largest finite score
        f = np.sort(pool[finite])
        if not f.size:
            return np.ones(len(qs))
        return np.interp(qs * (len(pool) - 1), np.arange(len(f)), f)

    def factors(self, horizon: int) -> np.ndarray | None:
        """The stretch at each lead 1..``horizon``; None until enough scores are pooled."""
        if not self.calibrated:
            return None
        return self.factors_at(self._slots(np.arange(1, horizon + 1)))
