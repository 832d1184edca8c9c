"""The shared band builder: quantiles are monotone and bracket the mean exactly."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from autoscaler.forecasters.intervals import empirical_bands, make_monotone, sample_quantiles

QS = (0.05, 0.25, 0.5, 0.75, 0.95)
finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


@given(
    mean=arrays(np.float64, 8, elements=finite),
    offsets=arrays(np.float64, (len(QS), 8), elements=finite),
)
def test_bands_are_monotone_and_bracket_the_mean(mean, offsets):
    bands = make_monotone({q: mean + offsets[i] for i, q in enumerate(QS)}, mean)
    stacked = np.vstack([bands[q] for q in QS])
    assert (np.diff(stacked, axis=0) >= 0).all()
    assert (bands[0.05] <= mean).all() and (bands[0.25] <= mean).all()
    assert (bands[0.75] >= mean).all() and (bands[0.95] >= mean).all()


def test_a_lower_band_rounded_above_the_mean_is_brought_back_to_it():
    # 0.1 + 0.2 - 0.3 is 5.6e-17, not 0: the kind of rounding a zero-width band suffers.
    mean = np.array([42.0, 42.0])
    lower = mean + (0.1 + 0.2 - 0.3) * 1e3
    bands = make_monotone({0.05: lower, 0.95: mean - 1e-13}, mean)
    np.testing.assert_array_equal(bands[0.05], mean)
    np.testing.assert_array_equal(bands[0.95], mean)


def test_without_a_mean_only_the_order_is_enforced():
    bands = make_monotone({0.1: np.array([3.0]), 0.9: np.array([1.0])})
    assert bands[0.1][0] == 3.0 and bands[0.9][0] == 3.0


@given(
    errors=arrays(np.float64, (6, 40), elements=finite),
    holes=st.lists(st.integers(0, 6 * 40 - 1), max_size=3),
)
def test_empirical_bands_are_each_steps_quantiles_of_its_finite_errors(errors, holes):
    """Equal, finite samples take one vectorised path; NaNs the per-step one: the
    same answer, each step's own quantiles of its finite errors."""
    errors.flat[holes] = np.nan
    mean = np.arange(6.0)
    bands = empirical_bands(mean, list(errors), QS)
    for h in range(6):
        e = errors[h][np.isfinite(errors[h])]
        for q in QS:
            assert bands[q][h] == mean[h] + np.quantile(e, q)


@given(
    sample=arrays(np.float64, st.integers(1, 300), elements=finite),
    probs=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=5),
    ties=st.booleans(),
)
def test_sample_quantiles_are_numpys_to_the_last_bit(sample, probs, ties):
    if ties:  # repeated values: the partition's neighbours are equal
        sample = np.round(sample / 1e5)
    before = sample.copy()
    expected = np.quantile(sample, probs)
    np.testing.assert_array_equal(sample_quantiles(sample, np.array(probs)), expected)
    np.testing.assert_array_equal(sample, before)  # the sample is left as it was
