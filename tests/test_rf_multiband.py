"""Multiband pulses: phase schedules lower the peak B1; every band keeps its slice profile."""

from __future__ import annotations

import math

import numpy as np
import pytest

from wavegen.design.bloch import profile_metrics, simulate
from wavegen.design.multiband import band_offsets_hz, multiband_phases, multiband_pulse
from wavegen.design.pulse import RFPulse
from wavegen.design.rf import sinc_pulse
from wavegen.errors import DesignError, LimitError, RangeError, ShapeError
from wavegen.limits import GAMMA_1H_HZ_PER_T, SystemLimits

LIM = SystemLimits(max_b1_t=1e-3)


def _rf() -> RFPulse:
    return sinc_pulse(math.radians(20), 3e-3, 4, raster_s=5e-6, limits=LIM)


@pytest.mark.parametrize("n_bands", [3, 5])
def test_phase_schedules_lower_peak_b1(n_bands: int) -> None:
    rf = _rf()
    assert rf.bandwidth_hz is not None
    off = (np.arange(n_bands) - (n_bands - 1) / 2) * 5 * rf.bandwidth_hz
    zero = multiband_pulse(rf, off, phases="zero", limits=LIM)
    quad = multiband_pulse(rf, off, phases="quadratic", limits=LIM)
    opt = multiband_pulse(rf, off, phases="optimized", limits=LIM)
    # in phase, the bands add up at the centre: K times the single-band peak
    assert zero.peak_b1_t == pytest.approx(n_bands * rf.peak_b1_t, rel=0.03)
    assert quad.peak_b1_t < 0.9 * zero.peak_b1_t
    assert opt.peak_b1_t <= quad.peak_b1_t + 1e-15
    assert opt.peak_b1_t < (0.8 if n_bands == 3 else 0.6) * zero.peak_b1_t
    # same energy whatever the phases (bands are orthogonal to a good approximation)
    assert opt.energy_t2_s == pytest.approx(zero.energy_t2_s, rel=0.02)
    assert opt.center_s == rf.center_s and opt.bandwidth_hz == rf.bandwidth_hz


def test_every_band_keeps_its_slice() -> None:
    rf = _rf()
    g = 10e-3
    z_slices = np.array([-30e-3, -10e-3, 10e-3, 30e-3])
    off = band_offsets_hz(g, z_slices)
    np.testing.assert_allclose(off, GAMMA_1H_HZ_PER_T * g * z_slices)
    mb = multiband_pulse(rf, off, limits=LIM)
    z = np.linspace(-45e-3, 45e-3, 1801)
    single = np.abs(simulate(rf, gradient_t_per_m=g, positions_m=z).mxy)
    multi = np.abs(simulate(mb, gradient_t_per_m=g, positions_m=z).mxy)
    ref = profile_metrics(z, single)
    for z0 in z_slices:
        sel = np.abs(z - z0) < 8e-3
        m = profile_metrics(z[sel], multi[sel])
        assert m.center == pytest.approx(z0, abs=2e-5)
        assert m.fwhm == pytest.approx(ref.fwhm, rel=0.02)
        assert m.peak == pytest.approx(ref.peak, rel=0.02)


def test_explicit_phases_and_errors() -> None:
    rf = _rf()
    off = np.array([-4000.0, 0.0, 4000.0])
    ph = multiband_phases(rf, off, "optimized")
    assert ph.shape == (3,) and ph[0] == 0.0
    mb = multiband_pulse(rf, off, phases=ph, limits=LIM)
    assert mb.peak_b1_t == pytest.approx(multiband_pulse(rf, off, limits=LIM).peak_b1_t, rel=1e-9)
    with pytest.raises(DesignError, match="overlap"):
        multiband_pulse(rf, np.array([0.0, 500.0]), limits=LIM)
    with pytest.raises(ShapeError):
        multiband_pulse(rf, np.array([0.0, 4000.0]), phases=np.zeros(3), limits=LIM)
    with pytest.raises(ShapeError):
        multiband_pulse(rf, np.array([]), limits=LIM)
    with pytest.raises(RangeError):
        multiband_pulse(rf, off, phases="random", limits=LIM)
    with pytest.raises(LimitError):
        multiband_pulse(rf, off, phases="zero", max_b1_t=1.5 * rf.peak_b1_t)
