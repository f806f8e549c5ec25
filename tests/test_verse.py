"""VERSE: peak-B1 / energy targets reached, on-resonance profile kept, gradient inside the limits."""

from __future__ import annotations

import math

import numpy as np
import pytest

from wavegen.design.bloch import simulate
from wavegen.design.gradients import ArbitraryGradient
from wavegen.design.pulse import RFPulse
from wavegen.design.rf import sinc_pulse
from wavegen.design.rf_slice import slice_select_gradient
from wavegen.design.slr import slr_pulse
from wavegen.design.verse import gradient_on_rf_raster, verse
from wavegen.errors import DesignError, NonFiniteError, RangeError
from wavegen.limits import SystemLimits

LIM = SystemLimits(max_b1_t=50e-6)
THK = 5e-3


def _check_gradient_samples(g: ArbitraryGradient, lim: SystemLimits) -> None:
    assert g.raster_s == lim.grad_raster_s
    v = np.concatenate(([g.first_t_per_m], g.samples_t_per_m, [g.last_t_per_m]))
    assert v[0] == 0.0 and v[-1] == 0.0
    assert np.max(np.abs(v)) <= lim.max_grad_t_per_m * (1 + 1e-12)
    dt = np.concatenate(([g.raster_s / 2], np.full(v.size - 3, g.raster_s), [g.raster_s / 2]))
    slew = np.abs(np.diff(v)) / dt
    assert np.max(slew) <= lim.max_slew_t_per_m_per_s * (1 + 1e-9)


def _profiles(rf0: RFPulse, g0: float, rf1: RFPulse, grad1: ArbitraryGradient) -> tuple[np.ndarray, ...]:
    z = np.linspace(-2 * THK, 2 * THK, 401)
    p0 = np.abs(simulate(rf0, gradient_t_per_m=g0, positions_m=z).mxy)
    g1 = gradient_on_rf_raster(grad1, rf1)
    p1 = np.abs(simulate(rf1, gradient_t_per_m=g1, positions_m=z).mxy)
    return z, p0, p1


@pytest.mark.parametrize("reduction", [0.7, 0.5, 0.35])
def test_peak_b1_target_profile_and_limits(reduction: float) -> None:
    rf = sinc_pulse(math.pi / 2, 2e-3, 6, limits=LIM)
    gz = slice_select_gradient(rf, THK, LIM)
    res = verse(rf, gz, LIM, max_b1_t=reduction * rf.peak_b1_t)
    assert res.rf.peak_b1_t <= reduction * rf.peak_b1_t * (1 + 1e-9)
    assert res.peak_b1_ratio == pytest.approx(reduction, rel=1e-6)
    assert res.rf.energy_t2_s < rf.energy_t2_s
    assert res.energy_ratio < 1.0
    # where B1 was highest the pulse slows down; the tails run faster
    assert res.rates[np.argmax(np.abs(rf.b1_t))] < 1.0
    assert res.rates.max() > 1.0
    _check_gradient_samples(res.gradient, LIM)
    # RF placed on the gradient, both on their rasters
    assert round(res.rf.delay_s / LIM.grad_raster_s, 9) % 1 == 0
    assert res.rf.delay_s + res.rf.duration_s <= res.gradient.duration_s + 1e-12
    z, p0, p1 = _profiles(rf, gz.amplitude_t_per_m, res.rf, res.gradient)
    passband = np.abs(z) <= 0.4 * THK
    assert np.max(np.abs(p1[passband] - p0[passband])) <= 0.01
    assert np.max(np.abs(p1 - p0)) <= 0.01  # the whole on-resonance profile, in fact


def test_energy_target() -> None:
    rf = sinc_pulse(math.pi / 2, 2e-3, 6, limits=LIM)
    gz = slice_select_gradient(rf, THK, LIM)
    res = verse(rf, gz, LIM, energy_fraction=0.6)
    assert res.energy_ratio == pytest.approx(0.6, rel=0.01)
    assert res.peak_b1_ratio < 1.0
    _check_gradient_samples(res.gradient, LIM)
    z, p0, p1 = _profiles(rf, gz.amplitude_t_per_m, res.rf, res.gradient)
    assert np.max(np.abs(p1 - p0)) <= 0.01


def test_slr_refocusing_pulse_under_a_slow_gradient_system() -> None:
    lim = SystemLimits(max_b1_t=100e-6, max_grad_t_per_m=20e-3, max_slew_t_per_m_per_s=50.0)
    rf = slr_pulse(math.pi, 3e-3, 4, pulse_type="refocusing", limits=lim)
    g0 = slice_select_gradient(rf, THK, lim).amplitude_t_per_m
    res = verse(rf, g0, lim, max_b1_t=0.6 * rf.peak_b1_t)
    assert res.peak_b1_ratio <= 0.6 + 1e-9
    _check_gradient_samples(res.gradient, lim)
    z = np.linspace(-2 * THK, 2 * THK, 201)
    b0 = np.abs(simulate(rf, gradient_t_per_m=g0, positions_m=z).spin_echo)
    g1 = gradient_on_rf_raster(res.gradient, res.rf)
    b1 = np.abs(simulate(res.rf, gradient_t_per_m=g1, positions_m=z).spin_echo)
    assert np.max(np.abs(b1 - b0)) <= 0.01


def test_verse_errors() -> None:
    rf = sinc_pulse(math.pi / 2, 2e-3, 6, limits=LIM)
    gz = slice_select_gradient(rf, THK, LIM)
    with pytest.raises(RangeError):
        verse(rf, gz, LIM)
    with pytest.raises(RangeError):
        verse(rf, gz, LIM, max_b1_t=5e-6, energy_fraction=0.5)
    with pytest.raises(RangeError):
        verse(rf, gz, LIM, energy_fraction=1.5)
    with pytest.raises(RangeError):
        verse(rf, gz, LIM, max_b1_t=-1e-6)
    with pytest.raises(NonFiniteError):
        verse(rf, gz, LIM, max_b1_t=float("nan"))
    with pytest.raises(DesignError):
        verse(rf, 0.0, LIM, max_b1_t=5e-6)
    with pytest.raises(DesignError, match="max_duration_s"):
        verse(rf, gz, LIM, max_b1_t=0.1 * rf.peak_b1_t, max_duration_s=2e-3)


def test_off_centre_slice_stays_in_place() -> None:
    from wavegen.design.bloch import profile_metrics
    from wavegen.limits import GAMMA_1H_HZ_PER_T

    base = sinc_pulse(math.pi / 2, 2e-3, 6, limits=LIM)
    gz = slice_select_gradient(base, THK, LIM)
    z0 = 12e-3
    rf = base.replace(freq_offset_hz=GAMMA_1H_HZ_PER_T * gz.amplitude_t_per_m * z0, phase_offset_rad=0.4)
    res = verse(rf, gz, LIM, max_b1_t=0.5 * rf.peak_b1_t)
    assert res.rf.freq_offset_hz == 0.0 and res.rf.phase_offset_rad == 0.0
    z = np.linspace(z0 - 2 * THK, z0 + 2 * THK, 401)
    m0 = simulate(rf, gradient_t_per_m=gz.amplitude_t_per_m, positions_m=z).mxy
    m1 = simulate(res.rf, gradient_t_per_m=gradient_on_rf_raster(res.gradient, res.rf), positions_m=z).mxy
    assert np.max(np.abs(np.abs(m1) - np.abs(m0))) <= 0.01
    assert profile_metrics(z, np.abs(m1)).center == pytest.approx(z0, abs=2e-5)
