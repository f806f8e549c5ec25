"""RFPulse value and the classic shapes (block, sinc, Gaussian, arbitrary)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from wavegen.design.pulse import RFPulse
from wavegen.design.rf import arbitrary_pulse, block_pulse, gauss_pulse, sinc_pulse
from wavegen.errors import (
    DesignError,
    LimitError,
    NonFiniteError,
    RangeError,
    RasterError,
    ShapeError,
)
from wavegen.limits import GAMMA_1H_HZ_PER_T, GAMMA_PULSEQ_HZ_PER_T, SystemLimits


def test_rfpulse_basic_properties() -> None:
    b1 = np.array([1e-6, 2e-6, 3e-6, 2e-6])
    rf = RFPulse(b1, 1e-6, 2e-6, use="excitation")
    assert rf.b1_t.dtype == np.complex128
    assert rf.n_samples == 4
    assert rf.duration_s == pytest.approx(4e-6)
    np.testing.assert_allclose(rf.times_s, [0.5e-6, 1.5e-6, 2.5e-6, 3.5e-6])
    assert rf.peak_b1_t == pytest.approx(3e-6)
    assert rf.energy_t2_s == pytest.approx((1 + 4 + 9 + 4) * 1e-12 * 1e-6)
    assert rf.area_t_s == pytest.approx(8e-12)
    assert rf.flip_angle_rad() == pytest.approx(2 * math.pi * GAMMA_1H_HZ_PER_T * 8e-12)


def test_rfpulse_is_immutable_and_copies() -> None:
    b1 = np.ones(8, dtype=complex) * 1e-6
    rf = RFPulse(b1, 1e-6, 4e-6)
    b1[0] = 5.0  # the caller's array does not leak in
    assert rf.b1_t[0] == 1e-6
    with pytest.raises(ValueError):
        rf.b1_t[0] = 2.0
    with pytest.raises(AttributeError):
        rf.raster_s = 2e-6  # type: ignore[misc]


def test_rfpulse_equality_and_hash() -> None:
    a = RFPulse(np.ones(4) * 1e-6, 1e-6, 2e-6)
    b = RFPulse(np.ones(4) * 1e-6, 1e-6, 2e-6)
    c = RFPulse(np.ones(4) * 2e-6, 1e-6, 2e-6)
    assert a == b and hash(a) == hash(b)
    assert a != c
    assert len({a, b, c}) == 2
    assert a.replace(use="refocusing").use == "refocusing"
    assert a.scaled(2.0) == c


def test_rfpulse_modulation_follows_pulseq_convention() -> None:
    rf = RFPulse(np.ones(10) * 1e-6, 1e-6, 5e-6, freq_offset_hz=1000.0, phase_offset_rad=0.3)
    m = rf.modulated_b1_t()
    expect = 1e-6 * np.exp(1j * (0.3 + 2 * np.pi * 1000.0 * rf.times_s))
    np.testing.assert_allclose(m, expect, rtol=1e-14)
    np.testing.assert_array_equal(RFPulse(np.ones(3), 1e-6, 0.0).modulated_b1_t(), np.ones(3))


@pytest.mark.parametrize(
    ("kwargs", "err"),
    [
        (dict(b1_t=[], raster_s=1e-6, center_s=0.0), ShapeError),
        (dict(b1_t=[[1.0]], raster_s=1e-6, center_s=0.0), ShapeError),
        (dict(b1_t=["a"], raster_s=1e-6, center_s=0.0), ShapeError),
        (dict(b1_t=[1.0, np.nan], raster_s=1e-6, center_s=0.0), NonFiniteError),
        (dict(b1_t=[1.0, np.inf], raster_s=1e-6, center_s=0.0), NonFiniteError),
        (dict(b1_t=[1.0], raster_s=-1e-6, center_s=0.0), RangeError),
        (dict(b1_t=[1.0], raster_s=0.0, center_s=0.0), RangeError),
        (dict(b1_t=[1.0], raster_s=np.nan, center_s=0.0), NonFiniteError),
        (dict(b1_t=[1.0], raster_s=1e-6, center_s=2e-6), RangeError),
        (dict(b1_t=[1.0], raster_s=1e-6, center_s=-1e-9), RangeError),
        (dict(b1_t=[1.0], raster_s=1e-6, center_s=0.0, use="spoil"), RangeError),
        (dict(b1_t=[1.0], raster_s=1e-6, center_s=0.0, delay_s=-1e-6), RangeError),
        (dict(b1_t=[1.0], raster_s=1e-6, center_s=0.0, freq_offset_hz=np.inf), NonFiniteError),
    ],
)
def test_rfpulse_validation(kwargs: dict, err: type[Exception]) -> None:
    with pytest.raises(err):
        RFPulse(**kwargs)


def test_block_pulse_reference_amplitude() -> None:
    # docs/references/design.md §3: 90 deg in 1 ms needs 250 Hz, 5.872 uT
    rf = block_pulse(math.pi / 2, 1e-3, gamma_hz_per_t=GAMMA_PULSEQ_HZ_PER_T)
    assert rf.n_samples == 1000
    assert rf.peak_b1_t * GAMMA_PULSEQ_HZ_PER_T == pytest.approx(250.0, rel=1e-12)
    assert rf.peak_b1_t == pytest.approx(5.872e-6, abs=0.0005e-6)
    assert rf.center_s == pytest.approx(0.5e-3)
    assert rf.use == "excitation"
    assert rf.flip_angle_rad(GAMMA_PULSEQ_HZ_PER_T) == pytest.approx(math.pi / 2, rel=1e-12)


def test_block_pulse_errors() -> None:
    with pytest.raises(RangeError):
        block_pulse(math.pi / 2, -1e-3)
    with pytest.raises(RangeError):
        block_pulse(-1.0, 1e-3)
    with pytest.raises(NonFiniteError):
        block_pulse(float("nan"), 1e-3)
    with pytest.raises(RasterError):
        block_pulse(math.pi / 2, 1.5e-6 + 1e-3)
    # 180 deg in 100 us needs 117 uT, far above the 20 uT default
    with pytest.raises(LimitError, match="peak B1") as info:
        block_pulse(math.pi, 100e-6)
    assert isinstance(info.value, DesignError)
    assert "20 uT" in str(info.value)
    # a larger limit lets it through
    lim = SystemLimits(max_b1_t=200e-6)
    assert block_pulse(math.pi, 100e-6, limits=lim).peak_b1_t < 200e-6


@pytest.mark.parametrize("flip_deg", [10.0, 90.0, 180.0])
def test_sinc_and_gauss_flip_exact_by_area(flip_deg: float) -> None:
    flip = math.radians(flip_deg)
    rf = sinc_pulse(flip, 3e-3, 4, apodization=0.5, use="excitation")
    assert rf.flip_angle_rad() == pytest.approx(flip, rel=1e-12)
    assert rf.center_s == pytest.approx(1.5e-3)
    # symmetric, real
    np.testing.assert_allclose(rf.b1_t, rf.b1_t[::-1], atol=1e-20)
    assert np.all(rf.b1_t.imag == 0)
    g = gauss_pulse(flip, 2e-3, 3)
    assert g.flip_angle_rad() == pytest.approx(flip, rel=1e-12)


def test_sinc_shape_zero_crossings_and_window() -> None:
    # no window: tbw zero crossings; tbw=4 over 4 ms -> zeros every 1 ms from centre
    rf = sinc_pulse(0.1, 4e-3, 4, apodization=0.0, raster_s=10e-6)
    t = rf.times_s - 2e-3
    k = np.argmin(np.abs(t - 1e-3 - 5e-6))  # samples straddle the zero at 1 ms
    assert abs(rf.b1_t[k]) < 0.01 * rf.peak_b1_t
    # Hann window goes to zero at the edges
    rf2 = sinc_pulse(0.1, 4e-3, 4, apodization=0.5, raster_s=10e-6)
    assert abs(rf2.b1_t[0]) < 1e-3 * rf2.peak_b1_t
    with pytest.raises(RangeError):
        sinc_pulse(0.1, 4e-3, 4, apodization=1.5)
    with pytest.raises(RangeError):
        sinc_pulse(0.1, 4e-3, 0)


def test_arbitrary_pulse_as_tesla_and_scaled() -> None:
    shape = np.hanning(200)
    rf = arbitrary_pulse(shape * 1e-6, 2e-6)
    np.testing.assert_allclose(rf.b1_t, shape * 1e-6)
    assert rf.raster_s == 2e-6
    rf2 = arbitrary_pulse(shape, 2e-6, flip_angle_rad=0.5)
    assert rf2.flip_angle_rad() == pytest.approx(0.5, rel=1e-12)
    with pytest.raises(NonFiniteError):
        arbitrary_pulse([1.0, np.nan], 1e-6)
    with pytest.raises(LimitError):
        arbitrary_pulse(np.ones(10) * 30e-6, 1e-6)


def test_slice_select_gradient_reference_and_raster() -> None:
    from wavegen.design.gradients import Trapezoid, check_gradient
    from wavegen.design.rf_slice import slice_select_gradient

    lim = SystemLimits(gamma_hz_per_t=GAMMA_PULSEQ_HZ_PER_T)
    rf = sinc_pulse(0.26, 3e-3, 4, limits=lim)
    assert rf.bandwidth_hz == pytest.approx(4 / 3e-3)
    gz = slice_select_gradient(rf, 5e-3, lim)
    assert isinstance(gz, Trapezoid)
    # docs/references/design.md §3: 3 ms, TBW 4, 5 mm -> 266 667 Hz/m
    assert gz.amplitude_t_per_m * GAMMA_PULSEQ_HZ_PER_T == pytest.approx(266666.67, rel=1e-6)
    assert gz.flat_time_s == pytest.approx(3e-3)
    # rise on the 10 us raster, slew within the limit
    assert round(gz.rise_time_s / 10e-6, 9) == int(round(gz.rise_time_s / 10e-6))
    check_gradient(gz, lim, require_raster=True)
    # too thin a slice needs more than 40 mT/m
    with pytest.raises(LimitError, match="mT/m"):
        slice_select_gradient(rf, 0.5e-3, lim)
    # no bandwidth on a block pulse unless given
    blk = block_pulse(0.1, 1e-3)
    with pytest.raises(DesignError, match="bandwidth_hz"):
        slice_select_gradient(blk, 5e-3, lim)
    assert slice_select_gradient(blk, 5e-3, lim, bandwidth_hz=1000.0).amplitude_t_per_m > 0
    with pytest.raises(RangeError):
        slice_select_gradient(rf, -5e-3, lim)


def test_slice_profile_width_by_bloch_and_refocus_area() -> None:
    from wavegen.design.bloch import profile_metrics, simulate
    from wavegen.design.rf_slice import slice_refocus_area_t_s_per_m, slice_select_gradient

    rf = sinc_pulse(math.radians(20), 3e-3, 6, raster_s=5e-6)
    gz = slice_select_gradient(rf, 5e-3)
    rf = rf.replace(delay_s=gz.rise_time_s)
    area = slice_refocus_area_t_s_per_m(gz, rf)
    # symmetric pulse on the flat top: half the flat area plus the fall ramp
    expect = -(gz.amplitude_t_per_m * (gz.flat_time_s / 2 + gz.fall_time_s / 2))
    assert area == pytest.approx(expect, rel=1e-12)
    z = np.linspace(-10e-3, 10e-3, 801)
    prof = np.abs(simulate(rf, gradient_t_per_m=gz.amplitude_t_per_m, positions_m=z).mxy)
    m = profile_metrics(z, prof)
    assert m.fwhm == pytest.approx(5e-3, rel=0.03)


def test_scale_to_flip_angle_by_simulation_for_phase_modulated_shapes() -> None:
    from wavegen.design.bloch import flip_angle_rad
    from wavegen.design.rf import scale_to_flip_angle
    from wavegen.design.slr import slr_pulse

    lim = SystemLimits(rf_raster_s=10e-6, max_b1_t=1e-3)
    # a chirped SLR shape: its phase varies, so the rotation axes differ and only simulation tells
    base = slr_pulse(math.pi / 2, 2.56e-3, 6, limits=lim).b1_t
    u = np.linspace(-1, 1, base.size)
    shape = base * np.exp(1j * 4.0 * u**2)
    for flip in (math.radians(30), math.radians(120)):
        b1 = scale_to_flip_angle(shape * 123.0, 10e-6, flip)
        assert flip_angle_rad(b1, 10e-6) == pytest.approx(flip, rel=1e-9)
    rf = arbitrary_pulse(shape, 10e-6, flip_angle_rad=0.7, limits=lim, use="excitation")
    assert flip_angle_rad(rf) == pytest.approx(0.7, rel=1e-9)
    with pytest.raises(DesignError):
        scale_to_flip_angle(shape, 10e-6, 4.0)  # > pi is ambiguous for a simulated flip
    with pytest.raises(DesignError):
        scale_to_flip_angle(np.zeros(8), 10e-6, 0.5)
