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

With ``sides`` the two edges of the band get stretches of their own, each the quantile
of its side's scores (an outcome on the other side scores 0 there: no stretch of this
edge is missed by it), so an edge that cannot miss (a lower band clipped at zero under
outcomes at zero) no longer sets the other edge's stretch. ``"own"``: each edge has
its own miss rate aiming at half the target miss (two one-sided bands); ``"shared"``:
one miss rate for the band as a whole, each edge at the ``1 - alpha / 2`` quantile of
its side, so a side that misses less leaves its share of misses to the other.

With ``floor`` a lower edge the model put at zero (a band of a non-negative quantity,
clipped there) stays at zero under any stretch (``conformal.stretch``): what is left of
the model's band below the mean is then not a spread but the floor, and an outcome at
or above it is covered. Its score is 0, so the outcomes that sit at zero (a series that
is mostly zeros) no longer hold one stretch at 1 and the upper edge keeps its own
miss rate. ``floor=True`` keeps every such edge; a share ``floor`` in (0, 1) keeps them
only while at least that share of the pooled outcomes scored under an edge at zero
were zero (the band's lower edge is a 5 % quantile: it belongs at zero when at least
5 % of the outcomes are), and otherwise calibrates as without ``floor``; the scores
are pooled as they came, so the switch applies to the whole pool at once. The miss rate moves in [0, ``cap``]: 0.5 keeps every stretch at or above
the pool's median; Gibbs and Candès leave it unbounded (1: down to the smallest score).
"""

from __future__ import annotations

from collections import deque

import numpy as np

MIN_SCORES = 60  # fewer scored outcomes than this: the model's own bands are kept
SIDES = (False, "own", "shared")
# MARK of a pooled score (``floor``): the model's lower edge was not at zero; it was, and
# the outcome fell above the mean (or on it); below the mean; at zero
ABOVE, UNDER, ZERO = 1, 2, 3


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
        sides: bool | str = False,
        floor: bool | float = False,
        cap: float = 0.5,
    ) -> None:
        self.target = float(target)
        self.gamma = float(gamma)
        self.leads = None if leads is None else max(1, int(leads))
        if certain not in (True, False, "rate"):
            raise ValueError(f"certain must be True, False or 'rate', not {certain!r}")
        self.certain = certain
        self.age_out = max(0.0, float(age_out))
        if sides not in SIDES:
            raise ValueError(f"sides must be one of {SIDES}, not {sides!r}")
        self.sides = sides
        if not (isinstance(floor, bool) or 0.0 < float(floor) < 1.0):
            raise ValueError(f"floor must be True, False or a share in (0, 1), not {floor!r}")
        self.floor = floor
        if not 0.0 < float(cap) <= 1.0:
            raise ValueError(f"cap must be in (0, 1], not {cap!r}")
        self.cap = float(cap)
        self.scores: deque[float] = deque(maxlen=int(size))
        self.signs: deque[int] = deque(maxlen=int(size))  # each pooled score's side (sides)
        self.marks: deque[int] = deque(maxlen=int(size))  # each pooled score's mark (floor)
        self.fit_left = 0  # how many of the oldest pooled scores are the fit's
        # with sides="own": the lower edge's rates, then the upper's
        self.alphas = np.full((self.leads or 1) * (2 if sides == "own" else 1), self._start)

    def __setstate__(self, state: dict) -> None:
        state.setdefault("age_out", 0.0)  # stored before ageing: fit scores stay
        state.setdefault("fit_left", 0)
        state.setdefault("sides", False)  # stored before sides: one stretch
        state.setdefault("signs", deque(maxlen=state["scores"].maxlen))
        state.setdefault("floor", False)  # stored before the floor: edges at zero move
        state.setdefault("cap", 0.5)
        state.setdefault("marks", deque(maxlen=state["scores"].maxlen))
        self.__dict__.update(state)

    @property
    def _start(self) -> float:
        """The miss rate a rate starts at (and aims at): per edge with ``"own"``."""
        return (1.0 - self.target) / (2 if self.sides == "own" else 1)

    @property
    def calibrated(self) -> bool:
        return len(self.scores) >= MIN_SCORES

    @property
    def pinned(self) -> bool:
        """Whether a lower edge at zero is kept there now (``floor``)."""
        return self._pinned(None)

    def _pinned(self, marks: np.ndarray | None) -> bool:
        """``pinned``, from the pool's marks when the caller has them as an array."""
        if isinstance(self.floor, bool):
            return self.floor
        if marks is None:
            marks = np.fromiter(self.marks, dtype=np.int8, count=len(self.marks))
        counts = np.bincount(marks, minlength=ZERO + 1)
        under = int(counts[ABOVE:].sum())
        return under > 0 and float(counts[ZERO]) >= self.floor * under

    def clear(self) -> None:
        self.scores.clear()
        self.signs.clear()
        self.marks.clear()
        self.fit_left = 0
        self.alphas[:] = self._start

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
        side: np.ndarray | None = None,
        floored: np.ndarray | None = None,
    ) -> None:
        """One forecast's scored outcomes (``scores[i]`` at lead ``leads[i]``; where
        ``certain[i]``, the band had no width there; ``fit``: a held-out forecast of the
        fit; ``side[i]``: +1 above the mean, -1 below, needed with ``sides`` and
        ``floor``; ``floored[i]``: the model's lower edge was at zero, None: at no lead):
        adapt the miss rates to how the current stretch did on them, then
        pool them."""
        if side is None:
            if self.sides or self.floor:
                raise ValueError("a pool with sides or floor needs the side of every score")
            side = np.zeros(len(scores), dtype=np.int8)
        scores, side = np.asarray(scores, dtype=float), np.asarray(side)
        marks = np.zeros(len(scores), dtype=np.int8)
        if self.floor and floored is not None:
            marks = _marks(np.asarray(floored, dtype=bool), side, scores)
        pooled = np.ones(len(scores), dtype=bool)
        if certain is not None and self.certain is not True:
            pooled = ~np.asarray(certain, dtype=bool)
            if self.certain is False:
                leads, scores, side = leads[pooled], scores[pooled], side[pooled]
                marks, pooled = marks[pooled], pooled[pooled]
        if not len(scores):
            return
        if self.calibrated:
            slots = self._slots(leads)
            pool, pinned = self._current()
            now = np.where(marks >= UNDER, 0.0, scores) if pinned else scores
            rates, missed, aim = slots, now > self._factors(pool, slots), self._start
            if self.sides:
                lo, hi = missed  # the edge an outcome is scored against is its side's
                missed = np.vstack([lo & (side < 0), hi & (side > 0)])
                if self.sides == "own":  # every outcome moves both edges' rates
                    rates = np.r_[slots, len(self.alphas) // 2 + slots]
                    missed = missed.ravel()
                else:
                    missed = missed.any(axis=0)
            # one step of Gibbs and Candes' update per scored outcome, as they have it
            step = np.bincount(rates, weights=aim - missed, minlength=len(self.alphas))
            self.alphas = np.clip(self.alphas + self.gamma * step, 0.0, self.cap)
        self._pool(scores[pooled], side[pooled], fit, marks[pooled])

    def _pool(self, new: np.ndarray, side: np.ndarray, fit: bool, marks: np.ndarray) -> None:
        """Append ``new``; the deque drops the oldest (the fit's first) past its size."""
        cap = self.scores.maxlen
        evicted = 0 if cap is None else max(0, len(self.scores) + len(new) - cap)
        self.fit_left = max(0, self.fit_left - evicted)
        self.scores.extend(new.tolist())
        if self.sides:
            self.signs.extend(np.sign(side).astype(int).tolist())
        if self.floor:
            self.marks.extend(marks.astype(int).tolist())
        if fit:
            self.fit_left = min(self.fit_left + len(new), len(self.scores))
            return
        drop = min(self.fit_left, int(self.age_out * len(new)), len(self.scores) - MIN_SCORES)
        for _ in range(max(0, drop)):
            self.scores.popleft()
            if self.sides:
                self.signs.popleft()
            if self.floor:
                self.marks.popleft()
        self.fit_left -= max(0, drop)

    def _current(self) -> tuple[np.ndarray, bool]:
        """The pooled scores as the band now has them (0 below the mean under an edge
        kept at zero) and whether such edges are kept (``pinned``)."""
        pool = np.asarray(self.scores)
        if not self.floor:
            return pool, False
        marks = np.fromiter(self.marks, dtype=np.int8, count=len(self.marks))
        if not self._pinned(marks):
            return pool, False
        return np.where(marks >= UNDER, 0.0, pool), True

    def factors_at(self, slots: np.ndarray) -> np.ndarray:
        """The stretch for each miss-rate slot in ``slots`` (the pool's 1 - alpha
        quantile); with ``sides`` two rows, the lower edge's and the upper's."""
        return self._factors(self._current()[0], slots)

    def _factors(self, pool: np.ndarray, slots: np.ndarray) -> np.ndarray:
        """``factors_at`` on ``pool``, the scores as ``_current`` gives them."""
        if not self.sides:
            return _quantile(pool, 1.0 - self.alphas[slots])
        signs = np.asarray(self.signs)
        if self.sides == "own":
            a_lo, a_hi = self.alphas[slots], self.alphas[len(self.alphas) // 2 + slots]
        else:
            a_lo = a_hi = self.alphas[slots] / 2
        return np.vstack(
            [
                _quantile(np.where(signs < 0, pool, 0.0), 1.0 - a_lo),
                _quantile(np.where(signs > 0, pool, 0.0), 1.0 - a_hi),
            ]
        )

    def factors(self, horizon: int) -> np.ndarray | None:
        """The stretch at each lead 1..``horizon`` (with ``sides``: rows lower, upper);
        None until enough scores are pooled."""
        if not self.calibrated:
            return None
        return self.factors_at(self._slots(np.arange(1, horizon + 1)))


def _marks(floored: np.ndarray, side: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Each outcome's ``MARK``: under an edge at zero, below the mean, and at zero (its
    score against an edge at zero, (mean - y) / mean, is then exactly 1)."""
    below = floored & (side < 0)
    at_zero = below & (np.abs(scores - 1.0) <= 1e-9)
    return np.where(at_zero, ZERO, np.where(below, UNDER, np.where(floored, ABOVE, 0)))


def _quantile(pool: np.ndarray, qs: np.ndarray) -> np.ndarray:
    """The ``qs`` quantiles of ``pool``, whose infinite scores count at its top: a
    quantile that falls among them is the largest finite score (a stretch is never
    infinite); 1 where every score is infinite."""
    qs = np.clip(qs, 0.0, 1.0)
    finite = np.isfinite(pool)
    if finite.all():
        return np.quantile(pool, qs)
    # np.quantile's interpolation over the sorted pool, the infinite scores at its top
    f = np.sort(pool[finite])
    if not f.size:
        return np.ones(len(qs))
    return np.interp(qs * (len(pool) - 1), np.arange(len(f)), f)
