"""Bad input to the resampler: each a clear wavegen error that names the value, never a crash."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from wavegen.dsp import Resampler, resample
from wavegen.errors import NonFiniteError, RangeError, ShapeError, WavegenError, WavegenValueError


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_samples_are_named(bad):
    x = np.ones(100)
    x[37] = bad
    with pytest.raises(NonFiniteError, match=r"x\[37\]"):
        resample(x, 1, 2)
    xc = np.ones(100, complex)
    xc[5] = complex(0, bad)
    with pytest.raises(NonFiniteError, match=r"x\[5\]"):
        resample(xc, 1, 2)


def test_non_finite_outside_the_rendered_window_is_reported_where_it_is_used():
    x = np.ones(1000)
    x[900] = np.nan
    r = Resampler(1, 2)
    # the first 100 outputs never read sample 900; the full render does
    assert np.all(r.render(x, 0, 100) == 1.0)
    with pytest.raises(NonFiniteError, match=r"x\[900\]"):
        r.render(x)


def test_empty_and_wrong_dimensions():
    with pytest.raises(ShapeError, match="empty"):
        resample(np.array([]), 1, 2)
    with pytest.raises(ShapeError, match=r"one-dimensional.*\(3, 2\)"):
        resample(np.ones((3, 2)), 1, 2)
    with pytest.raises(ShapeError, match="one-dimensional"):
        resample(np.float64(1.0), 1, 2)
    with pytest.raises(ShapeError, match="numeric"):
        resample(np.array(["a", "b"]), 1, 2)
    with pytest.raises(ShapeError, match="numeric"):
        resample(np.array([1.0, None], dtype=object), 1, 2)


def test_non_contiguous_input_is_handled_exactly():
    base = np.arange(40.0)
    strided = base[::2]
    assert not strided.flags.c_contiguous
    np.testing.assert_array_equal(resample(strided, 1, 3, method="cubic"),
                                  resample(np.ascontiguousarray(strided), 1, 3, method="cubic"))
    reversed_ = base[::-1]
    np.testing.assert_array_equal(resample(reversed_, 1, 2), resample(reversed_.copy(), 1, 2))
    # integers and float32 are read as their values
    np.testing.assert_array_equal(resample(np.arange(5), 1, 2), resample(np.arange(5.0), 1, 2))
    np.testing.assert_array_equal(resample(np.arange(5, dtype=np.float32), 1, 2), resample(np.arange(5.0), 1, 2))


@pytest.mark.parametrize("rate", [0, -1, -1e6, 0.0, np.nan, np.inf, "1 MHz", None, True, 1 + 2j])
def test_bad_rates(rate):
    with pytest.raises(WavegenValueError) as e:
        resample(np.ones(4), rate, 1e6)
    assert "src_rate_hz" in str(e.value)
    with pytest.raises(WavegenValueError) as e:
        resample(np.ones(4), 1e6, rate)
    assert "dst_rate_hz" in str(e.value)


def test_rate_message_names_value_limit_and_unit():
    with pytest.raises(RangeError, match=r"dst_rate_hz = -5 Hz must be > 0 Hz"):
        resample(np.ones(4), 1e6, -5)


@pytest.mark.parametrize("n_out", [-1, 1.5, "10", 10**15])
def test_absurd_n_out(n_out):
    with pytest.raises(RangeError) as e:
        resample(np.ones(4), 1, 2, n_out=n_out)
    assert "n_out" in str(e.value)


def test_absurd_n_out_suggests_chunks():
    with pytest.raises(RangeError, match="chunks"):
        resample(np.ones(4), 1, 2, n_out=10**15)


def test_bad_offsets_and_method():
    with pytest.raises(NonFiniteError, match="src_t0_s"):
        resample(np.ones(4), 1, 2, src_t0_s=np.nan)
    with pytest.raises(WavegenValueError, match="method must be one of"):
        resample(np.ones(4), 1, 2, method="spline")  # type: ignore[arg-type]
    with pytest.raises(RangeError, match="atten_db"):
        resample(np.ones(4), 1, 2, method="sinc", atten_db=5)
    with pytest.raises(RangeError, match="passband"):
        resample(np.ones(4), 1, 2, method="sinc", passband=1.0)


def test_denominator_too_fine():
    with pytest.raises(RangeError, match="denominator"):
        Resampler(Fraction(1, 2**40), Fraction(1, 2**40 - 1), src_t0_s=Fraction(1, 3**20))


def test_bad_out_buffer_and_start():
    r = Resampler(1, 2)
    x = np.arange(5.0)
    with pytest.raises(ShapeError, match="dtype float64 and shape"):
        r.render(x, out=np.empty(9, np.float32))
    with pytest.raises(ShapeError, match="dtype float64 and shape"):
        r.render(x, out=np.empty(8))
    buf = np.empty(18)[::2]
    with pytest.raises(ShapeError, match="contiguous"):
        r.render(x, out=buf)
    with pytest.raises(RangeError, match="start"):
        r.render(x, start=-1)
    with pytest.raises(RangeError, match="chunk_size"):
        list(r.chunks(x, 0))


def test_errors_are_in_the_tree():
    for exc in (NonFiniteError, RangeError, ShapeError):
        assert issubclass(exc, WavegenError) and issubclass(exc, ValueError)


def test_absurd_rates_are_range_errors_not_overflows():
    for src, dst in ((1e300, 1e-300), (1e-300, 1e300), (1e6, 1e300)):
        with pytest.raises(RangeError):
            resample(np.ones(4), src, dst)
