"""Every design call answers promptly: absurd requests are refused at once, large ones are searched in
closed form or by bisection (issue 12 items 5 and 11)."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from wavegen import design
from wavegen.design.bounds import MAX_DESIGN_SAMPLES, MAX_SEARCH_SAMPLES
from wavegen.design.gradients import piecewise_linear_sample
from wavegen.design.trapezoid import _feasible, grad_raster
from wavegen.errors import DesignError, RangeError, WavegenError
from wavegen.limits import SystemLimits

LIM = SystemLimits()
_SINC = design.sinc_pulse(1.0, 2e-3, 4.0)
FAST_S = 1.0  # every refusal below must come within this (a linear search took minutes)


def _timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    try:
        out = fn(*args, **kwargs)
    except WavegenError as exc:
        out = exc
    return out, time.perf_counter() - t0


def _assert_refused(result, seconds, *words):
    assert isinstance(result, RangeError), result
    assert seconds < FAST_S, f"took {seconds:.2f} s"
    text = str(result)
    for w in words:
        assert w in text, text


def test_shortest_trapezoid_absurd_area_is_refused_at_once():
    out, sec = _timed(design.shortest_trapezoid, LIM, area_per_m=1e12)
    # names the request, the bound and the unit
    _assert_refused(out, sec, "1e+12 1/m", "T*s/m", str(MAX_DESIGN_SAMPLES), "MAX_DESIGN_SAMPLES", " s")


def test_shortest_extended_trapezoid_absurd_area_is_refused_at_once():
    out, sec = _timed(design.shortest_extended_trapezoid, LIM, area_t_s_per_m=1e9)
    _assert_refused(out, sec, "1e+09 T*s/m", str(MAX_DESIGN_SAMPLES))


def test_min_time_gradient_on_a_huge_path_is_refused_at_once():
    k = design.archimedean_spiral(500.0, 16, 4000)
    k = k / np.max(np.abs(k)) * 1e6  # a path scaled to 1e6 cycles/m
    out, sec = _timed(design.min_time_gradient, k, LIM)
    _assert_refused(out, sec, "1/m", str(MAX_SEARCH_SAMPLES), "MAX_SEARCH_SAMPLES")


@pytest.mark.parametrize(
    "call",
    [
        lambda: design.trapezoid_for_duration(LIM, 1e6, area_t_s_per_m=1e-3),
        lambda: design.extended_trapezoid_for_duration(LIM, 1e6, area_t_s_per_m=1e-3),
        lambda: design.shortest_arbitrary_gradient(LIM, area_t_s_per_m=1e4),
        lambda: design.trapezoid_for_amplitude(LIM, 0.01, 1e7),
        lambda: design.block_pulse(math.pi / 2, 1e9),
        lambda: design.sinc_pulse(math.pi / 2, 1e4, 4.0),
        lambda: design.slr_pulse(math.pi / 2, 1e5, 4.0),
        lambda: design.hyperbolic_secant_pulse(1e6, 1e3, b1_max_t=10e-6),
        lambda: design.variable_density_spiral(100.0, 8, 10**12),
        lambda: piecewise_linear_sample([0.0, 1e9], [0.0, 1.0], 1e-5),
        lambda: design.trapezoid_for_duration(LIM, 1e300, area_per_m=100.0),  # OverflowError before
        lambda: design.readout_trapezoid(LIM, 1e300, flat_area_per_m=100.0),
        lambda: design.verse(_SINC, design.slice_select_gradient(_SINC, 5e-3), LIM, max_b1_t=1e-10),
    ],
)
def test_absurd_durations_are_refused_before_allocating(call):
    # a MemoryError or a minutes-long loop before; now a RangeError naming the bound
    out, sec = _timed(call)
    _assert_refused(out, sec, str(MAX_DESIGN_SAMPLES))


def test_large_but_sane_requests_are_fast_and_unchanged():
    # 1e7 cycles/m: a 5.9 s lobe (587,192 raster steps) -- found by bisection, not a scan over ramps
    trap, sec = _timed(design.shortest_trapezoid, LIM, area_per_m=1e7)
    assert sec < FAST_S
    assert abs(trap.area_t_s_per_m - 1e7 / LIM.gamma_hz_per_t) < 1e-12 * trap.area_t_s_per_m
    # the closed form rounded up to the raster, plus at most one step (module notes)
    closed = design.trapezoid.shortest_trapezoid_duration_s(trap.area_t_s_per_m, LIM)
    assert closed <= trap.duration_s <= closed + 2 * LIM.grad_raster_s
    ext, sec = _timed(design.shortest_extended_trapezoid, LIM, area_t_s_per_m=0.5)
    assert sec < 2 * FAST_S
    assert ext.duration_s == pytest.approx(0.5 / LIM.max_grad_t_per_m + LIM.max_grad_t_per_m / 150.0, abs=2e-5)


def test_extended_trapezoid_finds_the_true_optimum_when_feasibility_is_not_monotone():
    # Both ends negative and large: a longer gradient spends longer near its (negative) ends, so the
    # largest reachable area first shrinks with the length. The answer is the smallest feasible
    # length (371 steps here); a bisection on "feasible" returned 1443 steps.
    lim = SystemLimits(max_grad_t_per_m=0.2, max_slew_t_per_m_per_s=200.0, grad_raster_s=1e-6)
    area, g0, g1 = -3.68016591804004e-05, -0.12577234635997, -0.06258161938083694
    out = design.shortest_extended_trapezoid(lim, area_t_s_per_m=area, g_start_t_per_m=g0, g_end_t_per_m=g1)
    _, dt = grad_raster(lim)
    n = round(out.duration_s / dt)
    assert _feasible(n, area, g0, g1, lim)
    assert not any(_feasible(m, area, g0, g1, lim) for m in range(1, n))
    assert out.area_t_s_per_m == pytest.approx(area, rel=1e-9)
    assert n < 1443


def test_gauss_pulse_with_a_vanishing_shape_is_a_design_error_not_zero_division():
    with pytest.raises(DesignError, match="time_bw_product"):
        design.gauss_pulse(math.pi / 2, 10e-6, 1e4)


@pytest.mark.parametrize("m1", [1e3, -1.0])
def test_flow_compensated_bipolar_of_absurd_moment_is_refused_at_once(m1):
    # M1 = -1 T*s^2/m (a 7 s bipolar) ran for seconds in a scan over lengths
    out, sec = _timed(design.flow_compensated_bipolar, LIM, m0_per_m=100.0, m1_t_s2_per_m=m1)
    _assert_refused(out, sec, str(MAX_SEARCH_SAMPLES), "T*s^2/m")


def test_other_non_wavegen_exceptions_are_gone():
    spiral = design.archimedean_spiral(100.0, 4, 200)
    with pytest.raises(RangeError, match="g_start_t_per_m"):  # TypeError before
        design.min_time_gradient(spiral, LIM, g_start_t_per_m=None)
    with pytest.raises(RangeError, match="g_start_t_per_m"):  # OverflowError before
        design.min_time_gradient(spiral, LIM, g_start_t_per_m=10**400)
    with pytest.raises(RangeError, match="Nyquist"):  # a slow optimisation of an aliased band before
        design.multiband_pulse(design.sinc_pulse(0.2, 2e-3, 4.0), [0.0, 1e9])
    with pytest.raises(RangeError, match="overflow"):  # inf moments and a RuntimeWarning before
        design.gradient_moments(design.shortest_trapezoid(LIM, area_per_m=100.0), t0_s=1e300)
    with pytest.raises(RangeError, match="angle_rad"):  # TypeError before
        design.radial_spoke(100.0, "0")


def test_a_long_gradient_within_the_bound_passes_its_own_limit_check():
    # 40 s on a 10 us raster: corner times near 40 s carry float errors of ~1e-14 s, which made the
    # 10 us ramps read as 1.0000000016 x the slew limit and the design refuse itself (LimitError)
    out = design.shortest_extended_trapezoid(LIM, area_t_s_per_m=1.6, g_start_t_per_m=0.03)
    assert out.duration_s < MAX_DESIGN_SAMPLES * LIM.grad_raster_s
    assert out.area_t_s_per_m == pytest.approx(1.6, rel=1e-9)
    assert "40.000" in repr(out) and " s, peak" in repr(out)  # seconds, not 4.00002e+07 us


def test_slr_filters_of_absurd_size_are_refused_at_once():
    from wavegen.design import slr

    lim = SystemLimits(max_b1_t=1e-2)
    # a TBW of 1000 took 4 s (Parks-McClellan) or 30 s (least squares) to design
    out, sec = _timed(design.slr_pulse, math.pi / 2, 20e-3, 1000.0, limits=lim, filter_type="ls")
    _assert_refused(out, sec, "time_bw_product = 1000.0", str(slr.MAX_SLR_TIME_BW))
    out, sec = _timed(slr.slr_beta, 100_000, 4.0)
    _assert_refused(out, sec, "n = 100000 samples", str(slr.MAX_SLR_STEPS))
