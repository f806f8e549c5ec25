"""Gradient value types: geometry, areas, sampling, validation, limit checks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from wavegen.design.gradients import (
    ArbitraryGradient,
    ExtendedTrapezoid,
    Trapezoid,
    check_gradient,
    gradient_limit_excess,
)
from wavegen.errors import LimitError, NonFiniteError, RangeError, RasterError, ShapeError
from wavegen.limits import GAMMA_1H_HZ_PER_T, SystemLimits

LIM = SystemLimits()


def test_trapezoid_geometry_and_area() -> None:
    tr = Trapezoid(0.02, 100e-6, 300e-6, 200e-6, delay_s=50e-6)
    assert tr.duration_s == pytest.approx(600e-6, abs=1e-18)
    assert tr.end_time_s == pytest.approx(650e-6, abs=1e-18)
    assert tr.area_t_s_per_m == pytest.approx(0.02 * (50e-6 + 300e-6 + 100e-6), rel=1e-15)
    assert tr.flat_area_t_s_per_m == pytest.approx(0.02 * 300e-6, rel=1e-15)
    assert tr.area_per_m(GAMMA_1H_HZ_PER_T) == pytest.approx(GAMMA_1H_HZ_PER_T * tr.area_t_s_per_m)
    t, g = tr.corners()
    np.testing.assert_allclose(t, [0, 100e-6, 400e-6, 600e-6], atol=1e-18)
    np.testing.assert_array_equal(g, [0, 0.02, 0.02, 0])
    t2, _ = tr.corners(include_delay=True)
    np.testing.assert_allclose(t2, t + 50e-6, atol=1e-18)
    # the generic (corner) area equals the closed form
    assert float(np.sum(0.5 * (g[1:] + g[:-1]) * np.diff(t))) == pytest.approx(tr.area_t_s_per_m, rel=1e-14)
    assert tr.max_slew_t_per_m_per_s == pytest.approx(200.0)


def test_triangle_has_three_corners() -> None:
    tr = Trapezoid(-0.01, 100e-6, 0.0, 100e-6)
    t, g = tr.corners()
    assert t.size == 3 and g[1] == -0.01
    assert tr.area_t_s_per_m == pytest.approx(-0.01 * 100e-6)


def test_sample_midpoint_area_exact() -> None:
    tr = Trapezoid(0.03, 200e-6, 170e-6, 130e-6)
    for raster in (10e-6, 1e-6, 5e-6):
        s = tr.sample(raster)
        assert s.size == round(tr.duration_s / raster)
        assert np.sum(s) * raster == pytest.approx(tr.area_t_s_per_m, rel=1e-12)
    s = tr.sample(10e-6)
    assert s[0] == pytest.approx(0.03 * 5e-6 / 200e-6)  # value at the first raster centre
    d = Trapezoid(0.03, 200e-6, 170e-6, 130e-6, delay_s=20e-6).sample(10e-6, include_delay=True)
    assert d.size == s.size + 2 and d[0] == 0 and d[1] == 0
    np.testing.assert_allclose(d[2:], s, rtol=1e-12)


def test_extended_trapezoid_validation_and_area() -> None:
    ex = ExtendedTrapezoid([0, 1e-4, 3e-4], [0.01, 0.02, 0.0])
    assert ex.first_t_per_m == 0.01 and ex.last_t_per_m == 0.0
    assert ex.area_t_s_per_m == pytest.approx(0.5 * (0.01 + 0.02) * 1e-4 + 0.5 * 0.02 * 2e-4)
    assert ex == ExtendedTrapezoid(np.array([0, 1e-4, 3e-4]), [0.01, 0.02, 0.0])
    assert hash(ex) == hash(ExtendedTrapezoid([0, 1e-4, 3e-4], [0.01, 0.02, 0.0]))
    with pytest.raises(ValueError):
        ex.times_s[0] = 1.0  # read-only
    with pytest.raises(RangeError, match="increase strictly"):
        ExtendedTrapezoid([0, 2e-4, 1e-4], [0, 0.01, 0])
    with pytest.raises(RangeError, match="non-zero amplitude"):
        ExtendedTrapezoid([1e-4, 2e-4], [0.01, 0])
    with pytest.raises(ShapeError):
        ExtendedTrapezoid([0, 1e-4], [0, 1, 2])
    with pytest.raises(NonFiniteError):
        ExtendedTrapezoid([0, math.nan], [0, 0])


def test_arbitrary_gradient_corners_include_half_steps() -> None:
    ag = ArbitraryGradient([0.001, 0.002, 0.001], 10e-6, first_t_per_m=0.0, last_t_per_m=0.0)
    t, g = ag.corners()
    np.testing.assert_allclose(t, [0, 5e-6, 15e-6, 25e-6, 30e-6], atol=1e-18)
    # half step from 0 to 1 mT/m in 5 us = 200 T/m/s: over the 150 T/m/s limit
    assert ag.max_slew_t_per_m_per_s == pytest.approx(200.0)
    with pytest.raises(LimitError, match="slew"):
        check_gradient(ag, LIM)
    # Pulseq's area: samples are cell means -> sum * raster
    assert ag.area_t_s_per_m == pytest.approx(4e-3 * 10e-6, rel=1e-12)
    # the piecewise-linear reading (0,0)-(5us,1)-(15us,2)-(25us,1)-(30us,0) mT/m gives 35 mT/m*us,
    # which is the sum minus raster/4 * (s0 - first + s_last - last)
    assert ag.to_extended().area_t_s_per_m == pytest.approx(4e-8 - 10e-6 / 4 * 2e-3, rel=1e-12)
    same_ends = ArbitraryGradient([0.001, 0.002, 0.001], 10e-6, first_t_per_m=0.001, last_t_per_m=0.001)
    assert same_ends.to_extended().area_t_s_per_m == pytest.approx(same_ends.area_t_s_per_m, rel=1e-12)
    np.testing.assert_array_equal(ag.sample(10e-6), ag.samples_t_per_m)
    assert ag.duration_s == pytest.approx(30e-6) and ag.with_delay(1e-5).end_time_s == pytest.approx(40e-6)


def test_validation_errors() -> None:
    with pytest.raises(RangeError):
        Trapezoid(0.01, -1e-5, 0, 1e-5)
    with pytest.raises(NonFiniteError):
        Trapezoid(math.inf, 1e-5, 0, 1e-5)
    with pytest.raises(RangeError, match="infinite slew"):
        Trapezoid(0.01, 0.0, 1e-4, 1e-5)
    with pytest.raises(RangeError):
        ArbitraryGradient([1.0], 0.0)
    with pytest.raises(ShapeError):
        ArbitraryGradient(np.zeros((2, 2)), 1e-5)
    with pytest.raises(ShapeError):
        ArbitraryGradient([], 1e-5)


def test_check_gradient_exact() -> None:
    # slew exactly at the limit passes; one part in 1e9 above fails
    tr = Trapezoid(0.03, 200e-6, 0.0, 200e-6)
    check_gradient(tr, LIM.replace(max_slew_t_per_m_per_s=150.0))
    with pytest.raises(LimitError, match="slew"):
        check_gradient(Trapezoid(0.03 * (1 + 1e-9), 200e-6, 0.0, 200e-6), LIM)
    with pytest.raises(LimitError, match="amplitude"):
        check_gradient(Trapezoid(0.041, 300e-6, 0.0, 300e-6), LIM)
    amp, slew = gradient_limit_excess(tr, LIM)
    assert amp == pytest.approx(0.75) and slew == pytest.approx(1.0)


def test_check_gradient_raster() -> None:
    check_gradient(Trapezoid(0.01, 70e-6, 30e-6, 70e-6, delay_s=20e-6), LIM, require_raster=True)
    with pytest.raises(RasterError):
        check_gradient(Trapezoid(0.01, 75e-6, 30e-6, 70e-6), LIM, require_raster=True)
    with pytest.raises(RasterError):
        check_gradient(ArbitraryGradient([0.0, 0.0], 5e-6), LIM, require_raster=True)


def test_scaled_and_conversions() -> None:
    tr = Trapezoid(0.01, 70e-6, 30e-6, 70e-6, delay_s=20e-6)
    assert tr.scaled(-2).amplitude_t_per_m == -0.02
    ex = tr.to_extended()
    assert ex.delay_s == 20e-6 and ex.area_t_s_per_m == pytest.approx(tr.area_t_s_per_m)
    ag = ArbitraryGradient([0.001, 0.002], 10e-6, first_t_per_m=0.001, last_t_per_m=0.002)
    assert ag.to_extended().area_t_s_per_m == pytest.approx(ag.area_t_s_per_m)  # first/last = ends
    assert ag.scaled(2).last_t_per_m == 0.004
    assert tr.with_delay(0.0).end_time_s == pytest.approx(tr.duration_s)
