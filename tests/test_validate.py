"""wavegen.validate: one argument order (value, name, unit), wavegen errors naming value, bound and unit."""

from __future__ import annotations

import math

import numpy as np
import pytest

from wavegen import validate as v
from wavegen.errors import ConfigError, NonFiniteError, RangeError, RasterError, ShapeError


def test_scalar_checks_convert_and_name_value_bound_unit():
    assert v.finite(np.float32(0.5), "x", "s") == 0.5 and isinstance(v.finite(3, "x"), float)
    assert v.positive(2, "duration_s", "s") == 2.0
    assert v.non_negative(0.0, "delay_s", "s") == 0.0
    with pytest.raises(RangeError, match=r"^duration_s = -2\.0 s must be > 0 s$"):
        v.positive(-2.0, "duration_s", "s")
    with pytest.raises(RangeError, match=r"^delay_s = -1\.0 s must be >= 0 s$"):
        v.non_negative(-1.0, "delay_s", "s")
    with pytest.raises(RangeError, match=r"^apodization = 1\.5 is outside \[0\.0, 1\.0\]$"):
        v.in_range(1.5, "apodization", low=0.0, high=1.0)
    with pytest.raises(RangeError, match=r"^x = 1\.0 T is outside \(1\.0, 2\.0\] T \(why\)$"):
        v.in_range(1.0, "x", "T", low=1.0, high=2.0, low_open=True, source="why")
    with pytest.raises(RangeError, match=r"^max_grad = 5\.0 T/m exceeds 1\.0 T/m$"):
        v.at_most(5.0, "max_grad", "T/m", 1.0)


@pytest.mark.parametrize("bad", ["3", None, True, [1.0], 1 + 2j])
def test_non_numbers_are_range_errors(bad):
    with pytest.raises(RangeError, match="must be a real number in s"):
        v.finite(bad, "duration_s", "s")


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, np.float64("nan")])
def test_non_finite_is_non_finite_error(bad):
    with pytest.raises(NonFiniteError, match="duration_s"):
        v.positive(bad, "duration_s", "s")


def test_huge_python_int_is_a_range_error_not_overflow():
    with pytest.raises(RangeError, match="401 digits"):
        v.finite(10**400, "n", "")


def test_error_class_can_be_chosen_for_configuration_input():
    for bad in ("3", math.nan, -1.0):
        with pytest.raises(ConfigError):
            v.positive(bad, "instruments.awg.rate", "Hz", error=ConfigError)
    with pytest.raises(ConfigError, match="integer"):
        v.integer("2", "bench.seed", error=ConfigError)


def test_integer():
    assert v.integer(np.int64(4), "n") == 4
    assert v.integer(5.0, "n", integral_float=True) == 5
    for bad in (True, 2.5, "3", None):
        with pytest.raises(RangeError):
            v.integer(bad, "n", integral_float=True)
    with pytest.raises(RangeError, match=r"n = 1 must be an integer >= 2"):
        v.integer(1, "n", minimum=2)
    with pytest.raises(RangeError, match=r"n = 9 must be an integer <= 8"):
        v.integer(9, "n", maximum=8)
    with pytest.raises(RangeError):
        v.integer(4.0, "n")  # floats only when asked for
    with pytest.raises(NonFiniteError):
        v.integer(math.inf, "n", integral_float=True)


def test_one_of():
    assert v.one_of("gx", "axis", ("gx", "gy")) == "gx"
    with pytest.raises(RangeError, match=r"axis = 'gq' is not one of 'gx', 'gy'"):
        v.one_of("gq", "axis", ("gx", "gy"))


def test_arrays():
    a = [1, 2, 3]
    out = v.as_1d_float(a, "x", "T")
    assert out.dtype == np.float64 and out.tolist() == [1.0, 2.0, 3.0]
    src = np.ones(3)
    assert v.as_1d_float(src, "x") is not src  # a fresh copy by default
    assert v.as_1d_complex([1, 2j], "b1_t", "T").dtype == np.complex128
    with pytest.raises(ShapeError, match="1-D"):
        v.as_1d_float(np.ones((2, 2)), "x")
    with pytest.raises(ShapeError, match="empty"):
        v.as_1d_float([], "x")
    with pytest.raises(ShapeError, match="at least 2"):
        v.as_1d_float([1.0], "x", min_size=2)
    with pytest.raises(ShapeError, match="dtype"):
        v.as_1d_float(["a", "b"], "x")
    with pytest.raises(ShapeError, match="dtype"):
        v.as_1d_float([1j], "x")  # complex is not real
    with pytest.raises(NonFiniteError, match=r"x\[2\] = nan T is not finite"):
        v.as_1d_float([0.0, 1.0, math.nan], "x", "T")
    k = v.as_2d_float([[0, 0], [1, 1]], "k_per_m", "1/m", columns=(2, 3), min_rows=2)
    assert k.shape == (2, 2)
    with pytest.raises(ShapeError, match="2 or 3 columns"):
        v.as_2d_float([[0, 0, 0, 0]], "k_per_m", columns=(2, 3))
    with pytest.raises(ShapeError, match="at least 2 rows"):
        v.as_2d_float([[0, 0]], "k_per_m", min_rows=2)
    with pytest.raises(NonFiniteError, match=r"k_per_m\[1, 0\]"):
        v.as_2d_float([[0, 0], [math.inf, 0]], "k_per_m")
    assert v.as_float_array(np.ones((2, 3, 4)), "cube").shape == (2, 3, 4)


def test_first_nonfinite_and_all_finite_with_offset():
    assert v.first_nonfinite(np.ones(4)) is None
    assert v.first_nonfinite(np.array([[0.0, 1.0], [np.nan, 0.0]])) == (1, 0)
    x = np.array([0.0, np.inf])
    with pytest.raises(NonFiniteError, match=r"x\[1001\] = inf V is not finite"):
        v.all_finite(x, "x", "V", offset=1000)  # chunked input: the index in the whole signal


def test_raster_count():
    assert v.raster_count(1e-3, 1e-6) == 1000
    assert v.raster_count(3 * 0.1e-6, 0.1e-6) == 3  # float rounding is not a raster error
    with pytest.raises(RasterError, match="RF raster"):
        v.raster_count(1.5e-6, 1e-6, what="RF raster")
    with pytest.raises(RangeError, match=r"at most 100 are allowed \(0.0001 s\)"):
        v.raster_count(1.0, 1e-6, max_count=100)
    with pytest.raises(RangeError, match="duration_s"):
        v.raster_count(-1e-3, 1e-6)


def test_as_1d_numeric_keeps_real_real_and_complex_complex():
    assert v.as_1d_numeric([1, 2], "x").dtype == np.float64
    assert v.as_1d_numeric(np.array([1 + 1j, 2]), "iq", "V").dtype == np.complex128
    with pytest.raises(ShapeError, match="at least 2 samples"):
        v.as_1d_numeric([1j], "iq", min_size=2)
    with pytest.raises(NonFiniteError, match=r"iq\[1\]"):
        v.as_1d_numeric([0j, complex(np.nan, 0)], "iq")
