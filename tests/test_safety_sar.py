"""SAR windows (exact in time), calibrations, RF amplifier, gradient RMS, acoustic bands, check()."""

from __future__ import annotations

import math

import matplotlib
import numpy as np
import pytest

from wavegen.errors import ConfigError, NonFiniteError, RangeError, RasterError, SafetyError, ShapeError
from wavegen.limits import SystemLimits
from wavegen.safety import Waveforms, check
from wavegen.safety._windows import max_window_integral
from wavegen.safety.acoustic import band_peaks
from wavegen.safety.hardware import AcousticBand, GradientHardware
from wavegen.safety.rfpower import RfAmplifier
from wavegen.safety.sar import SarCalibration, b1rms_t, rf_energy_t2_s, sar_limit_w_per_kg, sar_windows

matplotlib.use("Agg")

GAMMA = 42.577478518e6
B1_90 = 0.25 / (GAMMA * 1e-3)  # 90 deg in 1 ms: 5.872 uT
LIM = SystemLimits()


def pulse_train(
    b1_t: float, pulse_s: float, tr_s: float, n_pulses: int, dt_s: float, *, first_s: float = 0.0
) -> np.ndarray:
    n_tr, n_p, n0 = round(tr_s / dt_s), round(pulse_s / dt_s), round(first_s / dt_s)
    rf = np.zeros(n0 + n_tr * n_pulses, complex)
    for k in range(n_pulses):
        rf[n0 + k * n_tr : n0 + k * n_tr + n_p] = b1_t
    return rf


def rf_only(rf: np.ndarray, dt_s: float, n_tx_axes: int = 3) -> Waveforms:
    return Waveforms(np.zeros((0, n_tx_axes)), 10e-6, rf, dt_s)


# --- the window arithmetic ----------------------------------------------------------------------------


def test_b1_90_number() -> None:
    assert B1_90 == pytest.approx(5.872e-6, rel=1e-3)


@pytest.mark.parametrize(
    ("window_s", "pulses"),
    [(10.0, 10.0), (9.05, 9.5), (10.05, 10.5), (9.0505, 9.505), (0.1, 1.0), (0.05, 0.5), (0.35, 1.0)],
)
def test_window_edges_on_a_hand_computable_train(window_s: float, pulses: float) -> None:
    """Pulses of 0.1 s every 1 s (1 ms raster), played once: windows at and between pulse edges."""
    dt = 1e-3
    rf = pulse_train(2e-6, 0.1, 1.0, 30, dt)
    e_pulse = (2e-6) ** 2 * 0.1
    (sw,) = sar_windows(rf_only(rf, dt), windows_s=(window_s,), periodic=False)
    assert sw.energy == pytest.approx(pulses * e_pulse, rel=1e-9)
    assert sw.value == pytest.approx(math.sqrt(pulses * e_pulse / window_s), rel=1e-9)
    assert sw.unit == "T" and not sw.calibrated


def test_window_matches_brute_force_on_random_streams() -> None:
    rng = np.random.default_rng(3)
    for _ in range(20):
        k = int(rng.integers(5, 60))
        p = rng.uniform(0, 1, k) * (rng.uniform(size=k) < 0.6)
        dt = float(rng.uniform(0.5, 2.0))
        w = float(rng.uniform(0.3, 1.5 * k * dt))
        for periodic in (False, True):
            best, start = max_window_integral(p, dt, w, periodic=periodic)
            # brute force: the running integral, periodic or zero-padded, at many starts
            c = np.concatenate(([0.0], np.cumsum(p) * dt))
            period = k * dt

            edges = np.arange(k + 1) * dt

            def energy(
                t: np.ndarray, c: np.ndarray = c, edges: np.ndarray = edges, per: bool = periodic
            ) -> np.ndarray:
                if per:
                    q, r = np.divmod(t, edges[-1])
                    return q * c[-1] + np.interp(r, edges, c)
                return np.interp(t, edges, c, left=0.0, right=c[-1])

            s = np.linspace(-w - dt, period + dt, 20001)
            brute = float((energy(s + w) - energy(s)).max())
            assert best >= brute - 1e-9
            assert best <= brute + 1e-2 * dt * p.max() + 1e-12  # the grid can only miss by a sliver
            assert float(energy(np.array([start + w]))[0] - energy(np.array([start]))[0]) == pytest.approx(
                best, abs=1e-9
            )


def test_periodic_long_window_is_the_mean_power() -> None:
    dt = 1e-3
    rf = pulse_train(B1_90, 1e-3, 10e-3, 3000, dt)  # 30 s, 1 ms 90 deg every 10 ms
    wf = rf_only(rf, dt)
    w10, w360 = sar_windows(wf)
    expected = B1_90 * math.sqrt(0.1)  # B1rms of a 10 % duty hard pulse train: 1.857 uT
    assert w10.value == pytest.approx(expected, rel=1e-9)
    assert w360.value == pytest.approx(expected, rel=1e-9) and w360.window_s == 360.0
    assert b1rms_t(wf) == pytest.approx(expected, rel=1e-9)
    assert rf_energy_t2_s(wf) == pytest.approx(3000 * B1_90**2 * 1e-3, rel=1e-9)
    # played once, the 6-min window still holds only 30 s of RF
    _, once = sar_windows(wf, periodic=False)
    assert once.value == pytest.approx(expected * math.sqrt(30 / 360), rel=1e-9)


# --- limits and calibrations ------------------------------------------------------------------------------


def test_iec_sar_limits() -> None:
    assert sar_limit_w_per_kg("whole_body", "normal", 360) == 2.0
    assert sar_limit_w_per_kg("whole_body", "first_level", 360) == 4.0
    assert sar_limit_w_per_kg("whole_body", "normal", 10) == 4.0
    assert sar_limit_w_per_kg("head", "first_level", 360) == 3.2
    assert sar_limit_w_per_kg("head", "normal", 10) == 6.4
    assert sar_limit_w_per_kg("partial_body", "normal", 360, patient_mass_kg=80, exposed_mass_kg=40) == 6.0
    assert (
        sar_limit_w_per_kg("partial_body", "first_level", 360, patient_mass_kg=80, exposed_mass_kg=40) == 7.0
    )
    with pytest.raises(ConfigError, match="patient_mass_kg"):
        sar_limit_w_per_kg("partial_body", "normal", 360)
    with pytest.raises(RangeError, match="10 s and 360 s"):
        sar_limit_w_per_kg("whole_body", "normal", 600)


def test_calibrated_whole_body_sar_in_check() -> None:
    dt = 10e-6
    rf = pulse_train(B1_90, 1e-3, 10e-3, 1200, dt)  # 12 s
    wf = Waveforms(np.zeros((10, 3)), 10e-6, rf, dt)
    cal = SarCalibration("whole_body", w_per_kg_per_ut2=0.5)
    sar = 0.5 * (B1_90 * 1e6) ** 2 * 0.1  # 1.724 W/kg
    rep = check(wf, LIM, sar_calibration=cal, patient_mass_kg=75.0)
    r6, r10 = rep["sar_whole_body_6min"], rep["sar_whole_body_10s"]
    assert r6.value == pytest.approx(sar, rel=1e-9) and r6.limit == 2.0 and r6.verdict == "pass"
    assert r10.value == pytest.approx(sar, rel=1e-9) and r10.limit == 4.0 and r10.unit == "W/kg"
    assert rep.complete is False  # no amplifier given
    rep = check(wf, LIM, sar_calibration=SarCalibration("whole_body", w_per_kg_per_ut2=0.6))
    assert rep["sar_whole_body_6min"].verdict == "fail"  # 2.07 W/kg > 2 W/kg normal mode
    with pytest.raises(SafetyError) as ei:
        rep.raise_if_unsafe()
    assert ei.value.unit == "W/kg" and ei.value.limit == 2.0
    assert check(wf, LIM, mode="first_level", sar_calibration=SarCalibration(w_per_kg_per_ut2=0.6)).ok
    # absorbed power per uT^2 divided by the patient mass
    cal_p = SarCalibration(absorbed_w_per_ut2=0.5 * 70.0)
    rep = check(wf, LIM, sar_calibration=cal_p, patient_mass_kg=70.0)
    assert rep["sar_whole_body_6min"].value == pytest.approx(sar, rel=1e-9)
    with pytest.raises(ConfigError, match="patient_mass_kg"):
        check(wf, LIM, sar_calibration=cal_p)


def test_missing_calibration_relative_figures_and_patient_error() -> None:
    dt = 10e-6
    wf = Waveforms(np.zeros((10, 3)), 10e-6, pulse_train(B1_90, 1e-3, 10e-3, 100, dt), dt)
    rep = check(wf, LIM)
    r = rep["b1rms_10s"]
    assert r.verdict == "unverified" and "no SarCalibration" in r.note and r.unit == "T"
    assert r.value == pytest.approx(B1_90 * math.sqrt(0.1), rel=1e-9)
    assert rep.ok and not rep.complete
    assert "unverified" in rep.summary()
    rep.raise_if_unsafe()
    with pytest.raises(SafetyError, match="cannot be verified"):
        rep.raise_if_unsafe(strict=True)
    with pytest.raises(ConfigError, match="missing SAR calibration"):
        check(wf, LIM, patient_mass_kg=70.0)
    with pytest.raises(RangeError, match="patient_mass_kg"):
        check(wf, LIM, patient_mass_kg=-3.0)


def test_multichannel_q_matrices() -> None:
    dt = 10e-6
    base = pulse_train(B1_90, 1e-3, 10e-3, 200, dt)
    u = np.stack([base, 1j * base], axis=1)  # two channels, quadrature
    wf = Waveforms(np.zeros((10, 3)), 10e-6, u, dt)
    k = 0.5 / 1e-12  # W/kg per T^2
    q = np.stack([k * np.eye(2), k * np.array([[1.0, 0.5j], [-0.5j, 1.0]])])
    rep = check(wf, LIM, sar_calibration=SarCalibration("head", q_w_per_kg_per_t2=q))
    r = rep["sar_head_6min"]
    # vop1: u^H Q u = k |b|^2 (1 + 1 + 2 Re(conj(b) 0.5j (1j b))) = k |b|^2 (2 - 1) ; vop0: 2 k |b|^2
    assert r.channel == "vop0" and r.value == pytest.approx(2 * 0.5 * (B1_90 * 1e6) ** 2 * 0.1, rel=1e-9)
    with pytest.raises(ConfigError, match="one transmit channel"):
        check(wf, LIM, sar_calibration=SarCalibration(w_per_kg_per_ut2=0.5))
    with pytest.raises(ShapeError, match="3 transmit"):
        check(wf, LIM, sar_calibration=SarCalibration(q_w_per_kg_per_t2=np.eye(3)))
    with pytest.raises(RangeError, match="Hermitian"):
        SarCalibration(q_w_per_kg_per_t2=np.array([[1.0, 1.0], [0.0, 1.0]]))
    with pytest.raises(ConfigError, match="exactly one"):
        SarCalibration()


# --- RF amplifier -------------------------------------------------------------------------------------------


def test_rf_amplifier_rules() -> None:
    dt = 10e-6
    rf = pulse_train(B1_90, 1e-3, 10e-3, 50, dt, first_s=2e-3)
    wf = Waveforms(np.zeros((10, 3)), 10e-6, rf, dt)
    amp = RfAmplifier.from_reference_voltage(
        200.0,
        10e-6,
        peak_power_w=1000.0,
        average_power_w=20.0,
        average_window_s=0.1,
        max_duty_cycle=0.2,
        duty_window_s=0.1,
        max_pulse_s=2e-3,
    )
    assert amp.watts_per_t2 == pytest.approx(4e12)
    p_peak = 4e12 * B1_90**2
    rep = check(wf, LIM, rf_amplifier=amp)
    assert rep["rf_peak_power"].value == pytest.approx(p_peak) and rep["rf_peak_power"].verdict == "pass"
    assert rep["rf_peak_power"].time_s == pytest.approx(2e-3 + 5e-6)
    assert rep["rf_average_power"].value == pytest.approx(p_peak * 0.1, rel=1e-9)
    assert rep["rf_duty_cycle"].value == pytest.approx(0.1, rel=1e-9)
    assert rep["rf_pulse_length"].value == pytest.approx(1e-3)
    assert rep.ok
    tight = RfAmplifier(
        peak_power_w=100.0, watts_per_t2=4e12, average_power_w=10.0, max_duty_cycle=0.05, max_pulse_s=0.5e-3
    )
    rep = check(wf, LIM, rf_amplifier=tight)
    assert {r.rule for r in rep.violations} == {
        "rf_peak_power",
        "rf_average_power",
        "rf_duty_cycle",
        "rf_pulse_length",
    }
    with pytest.raises(RangeError, match="max_duty_cycle"):
        RfAmplifier(peak_power_w=1.0, watts_per_t2=1.0, max_duty_cycle=1.5)


# --- gradient RMS and acoustics --------------------------------------------------------------------------


def test_gradient_rms_window() -> None:
    dt = 10e-6
    g = np.zeros((100_000, 3))  # 1 s
    g[20_000:40_000, 2] = 0.02  # 0.2 s at 20 mT/m
    hw = GradientHardware(pns=None, max_grad_rms_t_per_m=0.013, grad_rms_window_s=0.5)
    rep = check(Waveforms(g, dt), LIM, hardware=hw, iec=False)
    r = rep["grad_rms"]
    assert r.value == pytest.approx(0.02 * math.sqrt(0.2 / 0.5), rel=1e-9) and r.channel == "gz"
    assert r.verdict == "pass"
    hw = GradientHardware(pns=None, max_grad_rms_t_per_m=0.012, grad_rms_window_s=0.1)
    assert check(Waveforms(g, dt), LIM, hardware=hw, iec=False)["grad_rms"].verdict == "fail"
    with pytest.raises(ConfigError, match="go together"):
        GradientHardware(max_grad_rms_t_per_m=0.01)


def test_acoustic_band_is_checked_on_the_spectrum() -> None:
    dt = 10e-6
    t = (np.arange(50_000) + 0.5) * dt  # 0.5 s
    g = np.zeros((t.size, 3))
    g[:, 1] = 5e-3 * np.sin(2 * np.pi * 1100.0 * t)  # inside 1030-1250 Hz
    g[:, 0] = 5e-3 * np.sin(2 * np.pi * 800.0 * t)  # between the bands
    bands = (AcousticBand(590.0, 100.0), AcousticBand(1140.0, 220.0))
    peaks = band_peaks(Waveforms(g, dt), bands)
    by = {(p.band.frequency_hz, p.axis): p for p in peaks}
    assert by[(1140.0, "gy")].amplitude_t_per_m == pytest.approx(5e-3, rel=0.01)
    assert by[(1140.0, "gy")].frequency_hz == pytest.approx(1100.0, abs=10)
    assert by[(1140.0, "gx")].amplitude_t_per_m < 2e-4
    hw = GradientHardware(pns=None, acoustic_bands=bands, acoustic_threshold_t_per_m=4e-3)
    lim = SystemLimits(max_slew_t_per_m_per_s=1000.0)
    r = check(Waveforms(g, dt), lim, hardware=hw, iec=False)["acoustic_resonance"]
    assert r.verdict == "fail" and r.channel == "gy" and "1030-1250 Hz" in r.note
    g[:, 1] = 0.0
    r = check(Waveforms(g, dt), lim, hardware=hw, iec=False)["acoustic_resonance"]
    assert r.verdict == "pass"
    hw = GradientHardware(pns=None, acoustic_bands=bands)
    assert check(Waveforms(g, dt), lim, hardware=hw, iec=False)["acoustic_resonance"].verdict == "unverified"


# --- check() inputs and the report --------------------------------------------------------------------------


def test_check_accepts_arrays_and_rejects_bad_input() -> None:
    g = np.zeros((100, 3))
    g[10:20, 0] = np.linspace(0, 0.01, 10)
    rep = check(g, LIM, grad_raster_s=10e-6, rf_b1_t=np.full(50, 1e-6 + 0j), rf_raster_s=1e-6)
    assert rep["rf_b1_peak"].value == pytest.approx(1e-6)
    with pytest.raises(RasterError):
        check(g, LIM)
    with pytest.raises(RasterError, match="does not match"):
        check(Waveforms(g, 10e-6), LIM, grad_raster_s=4e-6)
    g[3, 2] = np.nan
    with pytest.raises(NonFiniteError, match=r"\[3, 2\]"):
        check(g, LIM, grad_raster_s=10e-6)
    with pytest.raises(ShapeError, match="empty"):
        check(np.zeros((0, 3)), LIM, grad_raster_s=10e-6)
    with pytest.raises(RasterError, match="rf_raster_s"):
        check(np.zeros((5, 3)), LIM, grad_raster_s=10e-6, rf_b1_t=np.ones(4))


def test_b1_peak_and_plot() -> None:
    dt = 1e-6
    rf = np.zeros(2000, complex)
    rf[700] = 20.02e-6  # 0.1 % over 20 uT
    wf = Waveforms(np.zeros((200, 3)), 10e-6, rf, dt, t0_s=0.5)
    rep = check(wf, LIM)
    r = rep["rf_b1_peak"]
    assert r.verdict == "fail" and r.index == 700 and r.time_s == pytest.approx(0.5 + 700.5e-6)
    fig = rep.plot()  # amplitude and slew rows, PNS when traced, then B1 with the failing sample marked
    labels = [a.get_ylabel() for a in fig.axes]
    assert labels[:2] == ["gradient (mT/m)", "slew (T/m/s)"] and labels[-1] == "|B1| (uT)"
    assert len(fig.axes) == 2 + ("pns_safe" in rep.traces) + 1
    worst = next(ln for ln in fig.axes[-1].lines if ln.get_label().startswith("worst"))
    assert worst.get_ydata()[0] == pytest.approx(20.02) and worst.get_color() == "r"
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_patient_false_reports_but_does_not_judge_patient_rules() -> None:
    dt = 10e-6
    g = np.zeros((20_000, 3))
    k = np.arange(20_000)
    up = (k - 100) * 100.0 * dt  # 3.5 ms ramps at 100 T/m/s on y
    g[:, 1] = np.clip(np.minimum(up, (19_900 - k) * 100.0 * dt), 0, 0.035)
    wf = Waveforms(g, dt, pulse_train(B1_90, 1e-3, 10e-3, 20, dt), dt)
    lim = SystemLimits(max_slew_t_per_m_per_s=150.0)
    rep = check(wf, lim, sar_calibration=SarCalibration(w_per_kg_per_ut2=20.0))
    assert rep["pns_safe"].verdict == "fail"  # example hardware, y: 100 % at 48 T/m/s
    assert rep["sar_whole_body_6min"].verdict == "fail"
    bench = check(wf, lim, sar_calibration=SarCalibration(w_per_kg_per_ut2=20.0), patient=False)
    assert bench.ok
    for rule in ("pns_safe", "sar_whole_body_6min", "pns_iec"):
        assert bench[rule].verdict == "info" and "patient=False" in bench[rule].note
        assert bench[rule].value == rep[rule].value
    assert bench["grad_slew"].verdict == "pass"
    with pytest.raises(ConfigError, match="contradicts"):
        check(wf, lim, patient=False, patient_mass_kg=70.0)


def test_window_chunking_does_not_change_the_result(monkeypatch: pytest.MonkeyPatch) -> None:
    import wavegen.safety._windows as win

    rng = np.random.default_rng(5)
    p = rng.uniform(0, 1, 500) * (rng.uniform(size=500) < 0.3)
    cases = [(w, per) for w in (0.37, 3.0, 17.25, 123.5, 499.9, 900.0) for per in (False, True)]
    whole = [max_window_integral(p, 1.0, w, periodic=per) for w, per in cases]
    monkeypatch.setattr(win, "_CHUNK", 7)
    chunked = [max_window_integral(p, 1.0, w, periodic=per) for w, per in cases]
    for (e1, s1), (e2, s2) in zip(whole, chunked, strict=True):
        assert e2 == pytest.approx(e1, rel=1e-12) and s2 == pytest.approx(s1, abs=1e-9)


def test_vop_power_series_matches_direct_quadratic_form() -> None:
    from wavegen.safety.sar import rf_power_series

    rng = np.random.default_rng(9)
    n_vop, n_tx, m = 64, 8, 20_000  # several chunks of the VOP evaluation
    a = rng.normal(size=(n_vop, n_tx, n_tx)) + 1j * rng.normal(size=(n_vop, n_tx, n_tx))
    q = np.einsum("vij,vkj->vik", a, np.conj(a)) * 1e10  # Hermitian PSD
    u = (rng.normal(size=(m, n_tx)) + 1j * rng.normal(size=(m, n_tx))) * 1e-6
    wf = Waveforms(np.zeros((0, 3)), 10e-6, u, 1e-6)
    p, channels, unit = rf_power_series(wf, SarCalibration(q_w_per_kg_per_t2=q))
    direct = np.einsum("ni,vij,nj->vn", np.conj(u), q, u).real
    assert unit == "W/kg" and channels[5] == "vop5" and p.shape == (n_vop, m)
    np.testing.assert_allclose(p, direct, rtol=1e-10)
    assert np.all(p > 0)
