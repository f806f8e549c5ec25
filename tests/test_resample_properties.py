"""Property tests: the C kernels against the NumPy reference, over random rates, offsets and lengths."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from wavegen.dsp import DacFormat, Resampler
from wavegen.dsp.reference import reference_quantize, reference_render
from wavegen.errors import ShapeError

rates = st.fractions(min_value=Fraction(1, 10), max_value=Fraction(1000), max_denominator=1000).filter(lambda f: f > 0)
offsets = st.fractions(min_value=Fraction(-20), max_value=Fraction(20), max_denominator=10_000)
methods = st.sampled_from(["zoh", "linear", "cubic", "sinc"])
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _signal(seed: int, n: int, complex_: bool) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n)
    if complex_:
        x = x + 1j * rng.standard_normal(n)
    return x


@SETTINGS
@given(method=methods, src=rates, dst=rates, src_t0=offsets, dst_t0=offsets,
       n=st.sampled_from([1, 2, 3, 5, 17, 64, 257]), start=st.integers(0, 300), n_out=st.integers(0, 400),
       complex_=st.booleans(), seed=st.integers(0, 2**31))
def test_kernel_matches_reference(method, src, dst, src_t0, dst_t0, n, start, n_out, complex_, seed):
    x = _signal(seed, n, complex_)
    try:
        r = Resampler(src, dst, method=method, src_t0_s=src_t0, dst_t0_s=dst_t0, atten_db=70)
    except ValueError as exc:  # a sinc kernel too long for this ratio is a stated limit, not a crash
        assert "taps" in str(exc)
        return
    got = r.render(x, start, n_out)
    want = reference_render(x, method=method, a=r._a, s=r._s, den=r._den, start=start, n_out=n_out,
                            design=r._design)
    assert got.shape == want.shape
    if method == "sinc":
        # the kernel interpolates a fine table of the window; the reference evaluates it directly
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-6 * max(1.0, float(np.max(np.abs(x)))))
    else:
        np.testing.assert_array_equal(got, want)


@SETTINGS
@given(method=methods, src=rates, dst=rates, dst_t0=offsets, n=st.integers(1, 3000),
       chunk=st.integers(1, 2000), complex_=st.booleans(), seed=st.integers(0, 2**31))
def test_chunked_equals_one_piece(method, src, dst, dst_t0, n, chunk, complex_, seed):
    x = _signal(seed, n, complex_)
    try:
        r = Resampler(src, dst, method=method, dst_t0_s=dst_t0, atten_db=60)
    except ValueError:
        return
    total = r.n_out(n)
    assume(total <= 50_000)  # extreme up-sampling ratios would only make the test slow
    chunk = max(chunk, total // 200 + 1)  # at most ~200 chunks
    whole = r.render(x)
    parts = list(r.chunks(x, chunk))
    joined = np.concatenate(parts) if parts else np.empty(0, whole.dtype)
    assert np.array_equal(joined.view(np.float64), whole.view(np.float64))


@SETTINGS
@given(method=methods, n=st.integers(1, 500), up=st.integers(1, 16), down=st.integers(1, 16),
       bits=st.sampled_from([8, 12, 14, 16, 24, 32]), offset_binary=st.booleans(), seed=st.integers(0, 2**31),
       chunk=st.integers(1, 700))
def test_fused_codes_equal_quantized_render(method, n, up, down, bits, offset_binary, seed, chunk):
    x = 0.6 * np.tanh(_signal(seed, n, False))  # overshoot of cubic and sinc stays inside +-1.5
    dac = DacFormat.for_full_scale(bits, full_scale=1.5, offset_binary=offset_binary)
    r = Resampler(down, up, method=method, atten_db=60)
    y = r.render(x)
    codes = r.render_codes(x, dac)
    scale, offset, lo, hi, _ = dac._c_args()
    want, bad, _ = reference_quantize(y, scale=scale, offset=offset, lo=lo, hi=hi, clip=False)
    assert bad == -1
    assert codes.dtype == dac.dtype
    np.testing.assert_array_equal(codes.astype(np.float64), want)
    parts = list(r.chunks(x, chunk, dac=dac))
    joined = np.concatenate(parts) if parts else np.empty(0, dac.dtype)
    np.testing.assert_array_equal(joined, codes)


@pytest.mark.parametrize("method", ["zoh", "linear", "cubic", "sinc"])
def test_empty_source_is_an_error_for_every_method(method):
    with pytest.raises(ShapeError, match="empty"):
        Resampler(1, 2, method=method).render(np.array([]))


@pytest.mark.parametrize("method", ["zoh", "linear", "cubic", "sinc"])
@pytest.mark.parametrize("n", [1, 2])
def test_very_short_sources(method, n):
    x = np.arange(1.0, n + 1)
    r = Resampler(1, 4, method=method)
    y = r.render(x, 0, 12)
    np.testing.assert_allclose(y, reference_render(x, method=method, a=r._a, s=r._s, den=r._den, start=0,
                                                   n_out=12, design=r._design), atol=1e-6)
    assert y[0] == pytest.approx(1.0, abs=1e-6)


def test_large_input_matches_reference_on_a_sample():
    x = _signal(9, 200_000, False)
    for method in ["zoh", "linear", "cubic", "sinc"]:
        r = Resampler(1e5, 1e6, method=method)
        y = r.render(x)
        assert y.size == r.n_out(x.size)
        for start in (0, 777_777, y.size - 300):
            want = reference_render(x, method=method, a=r._a, s=r._s, den=r._den, start=start, n_out=300,
                                    design=r._design)
            np.testing.assert_allclose(y[start:start + 300], want, rtol=0, atol=1e-6 if method == "sinc" else 0)
