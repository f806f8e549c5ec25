"""Adiabatic pulses: B1-insensitive inversion (HS1, HSn, WURST) and BIR-4 flips, by Bloch simulation."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest

from wavegen.design import adiabatic as ad
from wavegen.design.bloch import simulate
from wavegen.design.pulse import RFPulse
from wavegen.design.rf import block_pulse
from wavegen.errors import LimitError, RangeError, RasterError
from wavegen.limits import SystemLimits

LIM = SystemLimits(rf_raster_s=10e-6, max_b1_t=100e-6)
SCALES = np.linspace(1.0, 2.0, 6)


def _worst_mz(rf: RFPulse, half_band_hz: float) -> float:
    df = np.linspace(-half_band_hz, half_band_hz, 41)
    return max(float(simulate(rf.scaled(s), off_resonance_hz=df).mz.max()) for s in SCALES)


def _hs1() -> RFPulse:
    th = ad.hs1_threshold_b1_t(10e-3, 4000.0)
    return ad.hyperbolic_secant_pulse(10e-3, 4000.0, 2 * th, limits=LIM)


@pytest.mark.parametrize(
    ("name", "make", "band_hz"),
    [
        ("HS1", _hs1, 4000.0),
        ("HS4", lambda: ad.hyperbolic_secant_pulse(10e-3, 4000.0, 25e-6, order=4, limits=LIM), 4000.0),
        ("WURST-20", lambda: ad.wurst_pulse(10e-3, 10e3, 20e-6, limits=LIM), 10e3),
    ],
)
def test_inversion_is_b1_insensitive(name: str, make: Callable[[], RFPulse], band_hz: float) -> None:
    rf = make()
    assert rf.use == "inversion"
    assert rf.bandwidth_hz == band_hz
    # Mz <= -0.99 over the passband (60 % of the swept band) for every B1 scale 1.0 .. 2.0
    assert _worst_mz(rf, 0.3 * band_hz) <= -0.99
    # and outside the sweep the spins are left alone
    far = simulate(rf, off_resonance_hz=np.array([-1.5 * band_hz, 1.5 * band_hz])).mz
    assert far.min() >= 0.95


def test_block_pulse_is_not_b1_insensitive() -> None:
    # contrast: a hard 180 at twice its B1 is a 360 -- the property the adiabatic test checks is real
    rf = block_pulse(math.pi, 1e-3, limits=LIM)
    assert float(simulate(rf.scaled(2.0)).mz[0]) > 0.99


def test_hs1_below_threshold_fails_and_physical_sweep() -> None:
    th = ad.hs1_threshold_b1_t(10e-3, 4000.0)
    weak = ad.hyperbolic_secant_pulse(10e-3, 4000.0, 0.3 * th, limits=LIM)
    assert float(simulate(weak).mz[0]) > -0.9
    rf = _hs1()
    # instantaneous frequency sweeps -BW/2 .. +BW/2 (Hz), amplitude peaks at b1_max in the middle
    f = np.diff(np.unwrap(np.angle(rf.b1_t))) / (2 * np.pi * rf.raster_s)
    assert f[0] == pytest.approx(-2000.0, rel=0.01)
    assert f[-1] == pytest.approx(2000.0, rel=0.01)
    assert rf.peak_b1_t == pytest.approx(2 * th, rel=1e-3)
    assert abs(rf.b1_t[0]) == pytest.approx(2 * th / math.cosh(5.3), rel=0.01)


@pytest.mark.parametrize("flip_deg", [45.0, 90.0])
def test_bir4_flip_is_b1_insensitive(flip_deg: float) -> None:
    rf = ad.bir4_pulse(math.radians(flip_deg), 10e-3, 10e-6, 5000.0, limits=LIM)
    for s in SCALES:
        mz = float(simulate(rf.scaled(s)).mz[0])
        assert math.degrees(math.acos(min(1.0, max(-1.0, mz)))) == pytest.approx(flip_deg, abs=2.5)


def test_adiabatic_bad_input() -> None:
    with pytest.raises(RangeError):
        ad.hyperbolic_secant_pulse(10e-3, -4000.0, 20e-6, limits=LIM)
    with pytest.raises(RangeError):
        ad.hyperbolic_secant_pulse(10e-3, 4000.0, 20e-6, order=0, limits=LIM)
    with pytest.raises(RangeError):
        ad.wurst_pulse(-1e-3, 4000.0, 20e-6, limits=LIM)
    with pytest.raises(LimitError):
        ad.wurst_pulse(10e-3, 4000.0, 150e-6, limits=LIM)
    with pytest.raises(RasterError):
        ad.bir4_pulse(math.pi / 2, 10.0005e-3, 10e-6, 5000.0, limits=LIM)
    with pytest.raises(RangeError):
        ad.bir4_pulse(math.pi / 2, 10.01e-3, 10e-6, 5000.0, limits=LIM)  # 1001 samples: not 4k
    with pytest.raises(RangeError):
        ad.bir4_pulse(math.pi / 2, 10e-3, 10e-6, 5000.0, tan_kappa_deg=95.0, limits=LIM)
