"""The DAC output stage: scale, offset, round half to even, range check, clipping only on request."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from wavegen.dsp import DacFormat, Resampler, quantize, resample_to_codes
from wavegen.errors import DacRangeError, RangeError, WavegenValueError


def test_keysight_style_symmetric_int16():
    dac = DacFormat.for_full_scale(16, full_scale=1.0)
    assert (dac.code_min, dac.code_max, dac.dtype) == (-32767, 32767, np.dtype("i2"))
    codes = quantize([-1.0, -0.5, 0.0, 0.5, 1.0], dac)
    np.testing.assert_array_equal(codes, [-32767, -16384, 0, 16384, 32767])  # -16383.5 -> -16384 (even)
    assert codes.dtype == np.int16


def test_rigol_style_14_bit_offset_binary():
    dac = DacFormat.for_full_scale(14, full_scale=2.0, offset_binary=True, symmetric=False)
    assert dac.dtype == np.dtype("u2")
    assert (dac.code_min, dac.code_max, dac.zero_code) == (0, 16383, 8192)
    codes = quantize([0.0, 2.0, -8192 / dac.scale], dac)
    np.testing.assert_array_equal(codes, [8192, 16383, 0])


def test_round_half_to_even():
    dac = DacFormat(bits=16, scale=1.0)
    np.testing.assert_array_equal(quantize([0.5, 1.5, 2.5, -0.5, -1.5, 2.4999999], dac), [0, 2, 2, 0, -2, 2])


@pytest.mark.parametrize("bits", [1, 4, 8, 12, 16, 20, 24, 32])
@pytest.mark.parametrize("offset_binary", [False, True])
def test_every_width_round_trips_its_extreme_codes(bits, offset_binary):
    dac = DacFormat(bits=bits, offset_binary=offset_binary, scale=1.0)
    lo, hi = dac.code_min, dac.code_max
    assert lo is not None and hi is not None
    assert np.iinfo(dac.dtype).min <= lo and hi <= np.iinfo(dac.dtype).max
    values = np.array([lo, hi], dtype=np.float64) - dac.zero_code
    codes = quantize(values, dac)
    np.testing.assert_array_equal(codes.astype(np.int64), [lo, hi])
    with pytest.raises(DacRangeError):
        quantize(values + np.array([-1.0, 0.0]), dac)
    with pytest.raises(DacRangeError):
        quantize(values + np.array([0.0, 1.0]), dac)


def test_out_of_range_names_sample_value_and_range():
    dac = DacFormat.for_full_scale(16, full_scale=5.0)
    x = np.zeros(100)
    x[42] = 5.2
    x[60] = 7.0
    with pytest.raises(DacRangeError) as e:
        quantize(x, dac)
    msg = str(e.value)
    assert "sample 42" in msg and "5.2" in msg and "[-32767, 32767]" in msg and "clip=True" in msg


def test_fused_out_of_range_names_the_output_sample():
    dac = DacFormat.for_full_scale(16, full_scale=1.0)
    g = np.array([0.0, 0.5, 1.2, 0.5, 0.0])
    with pytest.raises(DacRangeError) as e:
        resample_to_codes(g, 1, 10, dac)
    # the interpolant first exceeds 1.0 between samples 1 and 2: 0.5 + 0.7 f > 1 -> f > 5/7 -> output 18
    assert "output sample 18" in str(e.value)
    assert "1.2" not in str(e.value).split("value")[0]


def test_clip_only_when_asked_and_logged(caplog):
    dac = DacFormat.for_full_scale(16, full_scale=1.0)
    x = np.array([0.0, 2.0, -3.0, 0.25])
    with caplog.at_level(logging.WARNING, logger="wavegen.dsp.dac"):
        codes = quantize(x, dac, clip=True)
    np.testing.assert_array_equal(codes, [0, 32767, -32767, 8192])
    assert "clipped 2 of 4" in caplog.text
    with caplog.at_level(logging.WARNING, logger="wavegen.dsp.dac"):
        fused = resample_to_codes(x, 1, 2, dac, clip=True)
    assert fused.max() == 32767 and fused.min() == -32767
    assert "render_codes: clipped" in caplog.text


def test_fused_equals_render_then_quantize():
    rng = np.random.default_rng(3)
    x = 0.5 * np.tanh(rng.standard_normal(2000))
    dac = DacFormat.for_full_scale(12, full_scale=1.0, offset_binary=True)
    for method in ("zoh", "linear", "cubic", "sinc"):
        r = Resampler(1e5, 7e5, method=method)
        np.testing.assert_array_equal(r.render_codes(x, dac), quantize(r.render(x), dac))


def test_complex_needs_two_channels():
    with pytest.raises(WavegenValueError, match="I and Q"):
        resample_to_codes(np.ones(4, complex), 1, 2, DacFormat())


@pytest.mark.parametrize(
    "kwargs",
    [dict(bits=0), dict(bits=33), dict(bits=16.0), dict(scale=0.0), dict(scale=np.nan), dict(offset=np.inf),
     dict(code_min=-40000), dict(code_max=40000), dict(code_min=10, code_max=-10), dict(bits=True)],
)
def test_bad_formats(kwargs):
    with pytest.raises(WavegenValueError):
        DacFormat(**kwargs)


def test_bad_full_scale():
    with pytest.raises(RangeError, match="full_scale"):
        DacFormat.for_full_scale(16, full_scale=0)
    with pytest.raises(RangeError, match="full_scale"):
        DacFormat.for_full_scale(16, full_scale=np.nan)


def test_quantize_rejects_bad_samples():
    dac = DacFormat()
    with pytest.raises(WavegenValueError, match="finite"):
        quantize([0.0, np.nan], dac)
    with pytest.raises(WavegenValueError, match="real"):
        quantize([1j], dac)
    with pytest.raises(WavegenValueError, match="DacFormat"):
        quantize([0.0], "int16")  # type: ignore[arg-type]
    assert quantize([], dac).size == 0


def test_input_range():
    dac = DacFormat.for_full_scale(16, full_scale=2.5)
    lo, hi = dac.input_range
    assert lo == pytest.approx(-2.5) and hi == pytest.approx(2.5)
