"""The resampler: exact positions, each method against the NumPy reference, the physics of each method."""

from __future__ import annotations

import importlib
import os
from fractions import Fraction

import numpy as np
import pytest

import wavegen
from wavegen.dsp import Resampler, resample, resample_channels
from wavegen.dsp.reference import kernel_response_db, reference_render, sinc_design, sinc_kernel

# the function (the top-level `wavegen.resample` is wavegen.dsp.resample)
resample_mod = importlib.import_module("wavegen.dsp")

METHODS = ["zoh", "linear", "cubic", "sinc"]


def reference_for(r: Resampler, x, start: int, n_out: int):
    return reference_render(np.asarray(x), method=r.method, a=r._a, s=r._s, den=r._den, start=start,
                            n_out=n_out, design=r._design)


def test_native_backend_in_use():
    # CI sets WAVEGEN_REQUIRE_NATIVE=1; there a missing extension is an import error, and this asserts
    # the kernels really are the compiled ones.
    if os.environ.get("WAVEGEN_REQUIRE_NATIVE", "") not in ("", "0"):
        assert resample_mod.BACKEND == "native"
    from wavegen import _backend

    assert _backend.BACKEND == resample_mod.BACKEND
    assert (_backend.lib is not None) == (resample_mod.BACKEND == "native")
    # native/check_memory.sh runs these tests against a sanitized build and names its folder here
    expected_dir = os.environ.get("WAVEGEN_EXPECT_NATIVE_DIR")
    if expected_dir:
        native = importlib.import_module("wavegen._native")
        assert os.path.realpath(native.__file__).startswith(os.path.realpath(expected_dir))


def test_top_level_api():
    assert wavegen.resample is resample
    y = wavegen.resample(np.array([0.0, 1.0]), 1, 2)
    np.testing.assert_array_equal(y, [0.0, 0.5, 1.0])


# --- definitions -----------------------------------------------------------------------------------


def test_output_times_follow_the_definition():
    # x[i] at src_t0 + i/src, output k at dst_t0 + k/dst; a ramp makes the interpolant the time itself
    src, dst = 1e5, 3e5
    t_src = 2e-5 + np.arange(50) / src
    r = Resampler(src, dst, method="linear", src_t0_s=2e-5, dst_t0_s=0.0)
    y = r.render(t_src)
    t_out = np.arange(y.size) / dst
    inside = (t_out >= t_src[0]) & (t_out <= t_src[-1])
    np.testing.assert_allclose(y[inside], t_out[inside], rtol=0, atol=1e-15)
    assert np.all(y[~inside] == 0.0)
    # the default n_out reaches exactly the last output inside the span
    assert t_out[-1] <= t_src[-1] < t_out[-1] + 1 / dst


def test_zoh_holds_each_sample_for_one_period():
    x = np.array([1.0, 2.0, 3.0])
    y = resample(x, 1, 4, method="zoh")
    np.testing.assert_array_equal(y, [1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3])
    # one output more is outside the span [0, 3) and is 0
    assert resample(x, 1, 4, method="zoh", n_out=13)[-1] == 0.0


@pytest.mark.parametrize("method", METHODS)
def test_zero_outside_the_source_span(method):
    x = np.ones(20)
    r = Resampler(1, 4, method=method, src_t0_s=5, dst_t0_s=0)
    y = r.render(x, 0, 120)
    k = np.arange(120)
    t = k / 4
    span_end = 5 + 20 if method == "zoh" else 5 + 19
    outside = (t < 5) | (t > span_end) | ((t == span_end) & (method == "zoh"))
    assert np.all(y[outside] == 0.0)
    assert np.all(y[~outside] != 0.0)


@pytest.mark.parametrize("method", ["linear", "cubic", "sinc"])
def test_exact_at_the_knots(method):
    rng = np.random.default_rng(1)
    x = rng.standard_normal(200)
    y = resample(x, 1e5, 1e6, method=method)
    assert y.size == 1991
    if method == "sinc":
        # a windowed sinc passes through the samples only to within its table accuracy
        np.testing.assert_allclose(y[::10], x, rtol=0, atol=1e-6)
    else:
        np.testing.assert_array_equal(y[::10], x)


@pytest.mark.parametrize("method", ["zoh", "linear", "cubic", "sinc"])
def test_constant_stays_exactly_constant(method):
    # a gradient flat top must not ripple in the last bit
    x = np.full(100, 0.0123456789)
    y = Resampler(1e5, Fraction(10**6, 3), method=method).render(x)
    core = y[60:-60]
    assert np.all(core == x[0])


def test_linear_is_exact_for_piecewise_linear_gradients_and_keeps_their_area():
    # a trapezoid on the 10 us raster: 40 mT/m, 100 us ramps, 1 ms flat
    raster = 10e-6
    g = np.concatenate([np.linspace(0, 0.04, 11), np.full(99, 0.04), np.linspace(0.04, 0, 11)])
    area_src = float(np.sum((g[1:] + g[:-1]) * 0.5) * raster)  # exact for piecewise-linear g
    for rate in (1e6, 2e6, 4e5, 5e5):  # rates that divide the raster
        y = resample(g, 1 / raster, rate)
        dx = 1 / rate
        area = float(np.sum((y[1:] + y[:-1]) * 0.5) * dx)
        assert abs(area - area_src) <= 1e-12 * abs(area_src)
        # and every sample lies on the straight lines between the corners
        t = np.arange(y.size) * dx
        np.testing.assert_allclose(y, np.interp(t, np.arange(g.size) * raster, g), rtol=0, atol=1e-15)


def test_cubic_reproduces_quadratics_in_the_interior():
    # Keys' kernel with a = -0.5 is third-order accurate: it reproduces polynomials up to degree 2
    i = np.arange(100.0)
    x = 0.5 * i**2 - 3 * i + 2
    r = Resampler(1, 7, method="cubic")
    y = r.render(x)
    u = np.array([float(r.position(k)) for k in range(y.size)])
    interior = (u >= 1) & (u <= 97)
    np.testing.assert_allclose(y[interior], 0.5 * u[interior] ** 2 - 3 * u[interior] + 2, rtol=1e-12, atol=1e-9)


# --- the band-limited method -------------------------------------------------------------------------


def _tone_components(u, y, freqs):
    """Amplitudes of the components of y(u) at the given frequencies (least-squares fit)."""
    m = np.column_stack([g(2 * np.pi * f * u) for f in freqs for g in (np.cos, np.sin)])
    c, *_ = np.linalg.lstsq(m, y, rcond=None)
    return np.hypot(c[0::2], c[1::2])


@pytest.mark.parametrize("atten_db", [40.0, 60.0, 80.0, 100.0, 120.0])
def test_sinc_meets_its_stop_band_on_a_tone_sweep_when_upsampling(atten_db):
    # tones across the pass band, up-sampled 8x: every image (at k -+ f) is attenuated by atten_db,
    # and the tone itself comes through with its amplitude (pass-band ripple of the same order)
    passband, up, n = 0.8, 8, 2000
    r = Resampler(1.0, up, method="sinc", atten_db=atten_db, passband=passband)
    delta = 10 ** (-atten_db / 20)
    for f in np.linspace(0.005, passband * 0.5, 25):  # cycles per source sample; Nyquist is 0.5
        y = r.render(np.cos(2 * np.pi * f * np.arange(n) + 0.3))
        u = np.arange(y.size) / up
        mid = (u > 100) & (u < n - 100)
        images = [k + s * f for k in range(1, up // 2 + 1) for s in (-1, 1) if k + s * f < up / 2]
        amps = _tone_components(u[mid], y[mid], [f, *images])
        assert np.max(amps[1:]) <= delta, f"image at {20 * np.log10(np.max(amps[1:])):.1f} dB, f = {f}"
        assert abs(amps[0] - 1.0) <= 2 * delta


@pytest.mark.parametrize("atten_db", [60.0, 80.0])
def test_sinc_rejects_aliases_when_downsampling(atten_db):
    # 4x down: the lower Nyquist is 1/8 cycle per source sample; a tone above (2 - passband) times it
    # must come out attenuated by atten_db; a tone in the pass band must come through
    r = Resampler(4.0, 1.0, method="sinc", atten_db=atten_db, passband=0.8)
    n = 8000
    delta = 10 ** (-atten_db / 20)
    fn = 0.125
    for f in np.linspace(1.25 * fn, 0.5, 9):
        y = r.render(np.cos(2 * np.pi * f * np.arange(n)))
        assert np.max(np.abs(y[200:-200])) <= 2 * delta
    f_pass = 0.5 * fn
    y = r.render(np.cos(2 * np.pi * f_pass * np.arange(n)))
    u = 4.0 * np.arange(y.size)
    np.testing.assert_allclose(y[200:-200], np.cos(2 * np.pi * f_pass * u[200:-200]), atol=2 * delta)


@pytest.mark.parametrize("atten_db", [20.0, 50.0, 80.0, 140.0])
@pytest.mark.parametrize("cutoff", [1.0, 0.3])
def test_sinc_design_meets_its_spec_on_the_kernel_spectrum(atten_db, cutoff):
    d = sinc_design(atten_db, 0.8, cutoff)
    stop_db, pass_db = kernel_response_db(d, 0.8)
    assert stop_db <= -atten_db and pass_db <= -atten_db


def test_sinc_table_matches_the_kernel():
    d = sinc_design(80.0, 0.8, 1.0)
    assert d.ntaps % 2 == 0 and d.half_width <= d.ntaps // 2
    # the kernel is zero at the other integers and one at zero (interpolating) when not down-sampling
    k = sinc_kernel(d, np.arange(-d.ntaps // 2, d.ntaps // 2 + 1).astype(float))
    np.testing.assert_allclose(k[d.ntaps // 2], 1.0)
    assert np.max(np.abs(np.delete(k, d.ntaps // 2))) < 1e-15


def test_complex_rf_resamples_real_and_imaginary_parts_alike():
    rng = np.random.default_rng(5)
    x = rng.standard_normal(300) + 1j * rng.standard_normal(300)
    for method in METHODS:
        y = resample(x, 1e6, 2.5e6, method=method)
        assert y.dtype == np.complex128
        np.testing.assert_array_equal(y.real, resample(x.real, 1e6, 2.5e6, method=method))
        np.testing.assert_array_equal(y.imag, resample(x.imag, 1e6, 2.5e6, method=method))


# --- exact timing ------------------------------------------------------------------------------------


def test_positions_are_exact_rationals():
    r = Resampler(Fraction(10**6, 3), 1e6, src_t0_s=5e-6, dst_t0_s=1e-7)
    k = 10**9
    assert r.position(k) == (Fraction(1, 10**7) - Fraction(5, 10**6) + Fraction(k, 10**6)) * Fraction(10**6, 3)
    assert r.time_s(k) == Fraction(1, 10**7) + Fraction(k, 10**6)


def test_sample_one_billion_is_as_exact_as_sample_zero():
    # choose dst_t0 so that output 10^9 lands at source position 1.5 + 1/7 exactly
    src = Fraction(1000)
    dst = Fraction(7 * 10**6, 3)
    k = 10**9
    target = Fraction(3, 2) + Fraction(1, 7)
    dst_t0 = target / src - Fraction(k) / dst
    x = np.array([0.0, 1.0, 5.0, 2.0, -1.0, 0.5])
    r = Resampler(src, dst, method="linear", dst_t0_s=dst_t0)
    assert r.position(k) == target
    y = r.render(x, start=k, n_out=3)
    f = float(target - 1)
    assert y[0] == x[1] + f * (x[2] - x[1])
    for method in METHODS:
        rm = Resampler(src, dst, method=method, dst_t0_s=dst_t0)
        np.testing.assert_allclose(rm.render(x, start=k, n_out=200), reference_for(rm, x, k, 200), rtol=0,
                                   atol=1e-6 if method == "sinc" else 0)
    # a float step accumulated 10^9 times would be off by far more than a sample's fraction
    step = float(src / dst)
    acc = float(r.position(0))
    acc_err = abs((acc + step * k) - float(target))
    assert acc_err < 1  # sanity of the setup (rounding of the float product only)


@pytest.mark.parametrize("method", METHODS)
def test_chunks_are_bit_identical_to_one_piece(method):
    rng = np.random.default_rng(11)
    x = rng.standard_normal(3000) + 1j * rng.standard_normal(3000)
    for src, dst in [(1e5, 1e6), (3, 7), (7, 3), (1e5, 100_010), (Fraction(10**6, 3), 1e6)]:
        r = Resampler(src, dst, method=method, src_t0_s=Fraction(1, 10**7))
        whole = r.render(x)
        for size in (1, 97, 1000, 10**6):
            parts = list(r.chunks(x, size))
            assert all(p.size <= size for p in parts)
            joined = np.concatenate(parts) if parts else np.empty(0, np.complex128)
            assert joined.shape == whole.shape
            assert np.array_equal(joined.view(np.float64), whole.view(np.float64))


def test_chunks_read_a_memmap_in_bounded_windows(tmp_path):
    n = 200_000
    mm = np.lib.format.open_memmap(tmp_path / "x.npy", mode="w+", dtype=np.float64, shape=(n,))
    mm[:] = np.sin(np.arange(n) * 1e-3)
    mm.flush()
    ro = np.load(tmp_path / "x.npy", mmap_mode="r")
    r = Resampler(1e5, 1e6, method="cubic")
    seen = 0
    last = None
    for part in r.chunks(ro, 65536):
        assert part.size <= 65536
        seen += part.size
        last = part
    assert seen == r.n_out(n)
    assert last is not None
    np.testing.assert_array_equal(last, r.render(np.asarray(ro), seen - last.size, last.size))


def test_render_into_a_given_buffer():
    x = np.arange(10.0)
    out = np.empty(19)
    res = Resampler(1, 2).render(x, out=out)
    assert res is out
    np.testing.assert_array_equal(out, np.arange(19) / 2)


def test_channels_render_in_parallel_threads_alike():
    rng = np.random.default_rng(2)
    chans = [rng.standard_normal(5000) for _ in range(4)]
    got = resample_channels(chans, 1e5, 1e6, method="cubic", max_workers=4)
    for c, g in zip(chans, got, strict=True):
        np.testing.assert_array_equal(g, resample(c, 1e5, 1e6, method="cubic"))
    assert resample_channels([], 1, 2) == []


def test_periodic_and_stepping_paths_agree_with_the_reference():
    # a ratio whose period is too long for a schedule uses exact stepping instead
    rng = np.random.default_rng(4)
    x = rng.standard_normal(400)
    for method in METHODS:
        long_period = Resampler(Fraction(10**6), Fraction(10**6 + 7), method=method)
        short_period = Resampler(1e5, 1e6, method=method)
        assert not long_period.periodic and short_period.periodic
        for r in (long_period, short_period):
            y = r.render(x)
            np.testing.assert_allclose(y, reference_for(r, x, 0, y.size), rtol=0,
                                       atol=1e-6 if method == "sinc" else 0)


@pytest.mark.parametrize("method", METHODS)
def test_numpy_fallback_matches_the_kernel_on_windows(method, monkeypatch):
    # where the extension could not be built the reference renders, from the same source windows
    from wavegen import _backend

    rng = np.random.default_rng(8)
    x = rng.standard_normal(3000) + 1j * rng.standard_normal(3000)
    native = Resampler(1e5, Fraction(10**6, 3), method=method, src_t0_s=Fraction(1, 10**7)).render(x, 500, 2000)
    monkeypatch.setattr(_backend, "NATIVE", False)
    r = Resampler(1e5, Fraction(10**6, 3), method=method, src_t0_s=Fraction(1, 10**7))
    fallback = r.render(x, 500, 2000)
    np.testing.assert_allclose(fallback, native, rtol=0, atol=1e-6 if method == "sinc" else 1e-15)
    joined = np.concatenate(list(r.chunks(x, 333, start=500, n_out=2000)))
    np.testing.assert_array_equal(joined, fallback)
