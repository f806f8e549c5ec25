"""Gradient moments (exact for piecewise-linear and cell-mean samples) and flow-compensated bipolars."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import trapezoid

from wavegen.design.gradients import ArbitraryGradient, ExtendedTrapezoid, Trapezoid, check_gradient
from wavegen.design.moments import (
    flow_compensated_bipolar,
    gradient_moments,
    piecewise_linear_moments,
    sampled_moments,
)
from wavegen.design.trapezoid import max_trapezoid_area_t_s_per_m
from wavegen.errors import DesignError, RangeError, ShapeError
from wavegen.limits import SystemLimits

LIM = SystemLimits()


def _numeric_moments(t: np.ndarray, g: np.ndarray, t0: float, n_fine: int = 400_001) -> np.ndarray:
    tt = np.linspace(t[0], t[-1], n_fine)
    gg = np.interp(tt, t, g)
    x = tt - t0
    return np.array([trapezoid(gg * x**n, tt) for n in range(3)])


def test_trapezoid_moments_closed_form() -> None:
    # symmetric trapezoid: M1 = M0 * centre; M2 from the exact polynomial integrals
    tr = Trapezoid(0.02, 200e-6, 600e-6, 200e-6, delay_s=100e-6)
    m = gradient_moments(tr)
    centre = 100e-6 + 500e-6
    assert m[0] == pytest.approx(tr.area_t_s_per_m, rel=1e-14)
    assert m[1] == pytest.approx(tr.area_t_s_per_m * centre, rel=1e-14)
    t, g = tr.corners(include_delay=True)
    np.testing.assert_allclose(m, _numeric_moments(t, g, 0.0), rtol=1e-8)
    m_c = gradient_moments(tr, t0_s=centre)
    assert abs(m_c[1]) <= 1e-15 * abs(m[1])
    # about the centre, M2 = a*(flat^3/12 + ...) - compare with the numeric integral
    np.testing.assert_allclose(m_c[[0, 2]], _numeric_moments(t, g, centre)[[0, 2]], rtol=1e-8)


def test_extended_and_cubic_moment() -> None:
    ex = ExtendedTrapezoid([0, 1e-4, 3e-4, 4e-4], [0.01, 0.03, -0.02, 0.0])
    t, g = ex.corners()
    np.testing.assert_allclose(gradient_moments(ex, t0_s=1.7e-4), _numeric_moments(t, g, 1.7e-4), rtol=1e-8)
    m3 = piecewise_linear_moments(t, g, max_order=3)
    tt = np.linspace(0, 4e-4, 400_001)
    assert m3[3] == pytest.approx(trapezoid(np.interp(tt, t, g) * tt**3, tt), rel=1e-8)
    with pytest.raises(RangeError):
        piecewise_linear_moments(t, g, max_order=4)
    with pytest.raises(ShapeError):
        piecewise_linear_moments([0.0], [1.0])


def test_arbitrary_gradient_moments_are_cell_means() -> None:
    rng = np.random.default_rng(3)
    s = rng.normal(size=50) * 0.01
    ag = ArbitraryGradient(s, 10e-6, delay_s=30e-6)
    m = gradient_moments(ag)
    edges = 30e-6 + np.arange(51) * 10e-6
    # exact per-cell integrals of a constant times t^n
    expect = [np.sum(s * (edges[1:] ** (n + 1) - edges[:-1] ** (n + 1)) / (n + 1)) for n in range(3)]
    np.testing.assert_allclose(m, expect, rtol=1e-12)
    assert m[0] == pytest.approx(ag.area_t_s_per_m, rel=1e-12)
    multi = sampled_moments(np.stack([s, -2 * s], axis=1), 10e-6, t0_s=-30e-6)
    np.testing.assert_allclose(multi[:, 0], m, rtol=1e-12)
    np.testing.assert_allclose(multi[:, 1], -2 * m, rtol=1e-12)


@pytest.mark.parametrize("m0_per_m", [-700.0, -100.0, 25.0, 400.0, 1500.0])
def test_flow_compensated_bipolar(m0_per_m: float) -> None:
    bp = flow_compensated_bipolar(LIM, m0_per_m=m0_per_m, delay_s=40e-6)
    m = gradient_moments(bp, t0_s=40e-6)
    m0 = m0_per_m / LIM.gamma_hz_per_t
    assert m[0] == pytest.approx(m0, rel=1e-12)
    assert abs(m[1]) <= 1e-12 * abs(m0) * bp.duration_s
    check_gradient(bp, LIM, require_raster=True)
    # shortest: no split of one step less fits two raster trapezoids with these moments
    dt = LIM.grad_raster_s
    n = round(bp.duration_s / dt)
    for n1 in range(2, n - 2):
        t1, t2 = n1 * dt, (n - 1 - n1) * dt
        a2 = (0.0 - m0 * t1 / 2) / ((t1 + t2) / 2)
        a1 = m0 - a2
        assert abs(a1) > max_trapezoid_area_t_s_per_m(n1, LIM) or abs(a2) > max_trapezoid_area_t_s_per_m(
            n - 1 - n1, LIM
        )


def test_vectorized_lobe_capacity_matches_scalar() -> None:
    from wavegen.design.moments import _trapezoid_caps

    for lim in (LIM, SystemLimits(max_grad_t_per_m=0.08, max_slew_t_per_m_per_s=200.0, grad_raster_s=4e-6)):
        caps = _trapezoid_caps(300, lim)
        np.testing.assert_array_equal(caps, [max_trapezoid_area_t_s_per_m(n, lim) for n in range(301)])


def test_bipolar_with_first_moment_target() -> None:
    target_m1 = 2e-9  # T*s^2/m
    bp = flow_compensated_bipolar(LIM, m0_t_s_per_m=5e-6, m1_t_s2_per_m=target_m1)
    m = gradient_moments(bp)
    assert m[0] == pytest.approx(5e-6, rel=1e-12)
    assert m[1] == pytest.approx(target_m1, rel=1e-10)
    with pytest.raises(DesignError):
        flow_compensated_bipolar(LIM, m0_t_s_per_m=0.0)
