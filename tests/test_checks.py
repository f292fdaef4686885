"""``ltbounds.checks``: what bad input is refused, and the fast path of ``check_finite``."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ltbounds.checks import InputError, check_chunk_size, check_finite

_ENTRIES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([np.finfo(np.float64).max, -np.finfo(np.float64).max, 1e308, 0.0]),
)


@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=2, max_side=6), elements=_ENTRIES))
def test_check_finite_refuses_exactly_the_arrays_with_a_nan_or_infinity(values):
    # the fast path sums first: a sum that overflows (finite entries near the float64 limit) must still pass
    if np.all(np.isfinite(values)):
        np.testing.assert_array_equal(check_finite(values, "x"), values)
    else:
        with pytest.raises(InputError, match="x contains"):
            check_finite(values, "x")


def test_check_finite_accepts_finite_entries_whose_sum_overflows():
    values = np.full((3, 2), np.finfo(np.float64).max)
    with np.errstate(over="ignore"):
        assert not np.isfinite(values.sum())
    assert check_finite(values, "x") is not None
    values[1, 1] = np.nan
    with pytest.raises(InputError, match="1 non-finite"):
        check_finite(values, "x")


@pytest.mark.parametrize("good", [None, 1, 7, 4096, np.int64(3), 5.0])
def test_check_chunk_size_accepts_none_and_whole_numbers_of_rows(good):
    assert check_chunk_size(good) == (None if good is None else int(good))


@pytest.mark.parametrize("bad", [0, -3, 2.5, True, "12", float("nan"), float("inf")])
def test_check_chunk_size_refuses_anything_else_naming_the_option(bad):
    with pytest.raises(InputError, match="--chunk-size must be a positive number of rows"):
        check_chunk_size(bad, "--chunk-size")
