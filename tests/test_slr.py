"""SLR design: profiles meet their ripples (checked by Bloch simulation), phases, inverse transform."""

from __future__ import annotations

import math

import numpy as np
import pytest

from wavegen.design import slr
from wavegen.design.bloch import simulate
from wavegen.design.pulse import RFPulse
from wavegen.errors import DesignError, LimitError, NonFiniteError, RangeError
from wavegen.limits import GAMMA_1H_HZ_PER_T, SystemLimits

GAMMA = GAMMA_1H_HZ_PER_T
LIM = SystemLimits(rf_raster_s=10e-6, max_b1_t=200e-6)  # N = 256 samples in 2.56 ms
N, TB, T = 256, 8.0, 2.56e-3
G = 1e-3  # T/m, only scales positions


def _profile(rf: RFPulse, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """Profile on a grid in cycles per pulse (x * gamma * G * T), from -2tb to 2tb."""
    xc = np.linspace(-2 * TB, 2 * TB, 1601)
    res = simulate(rf, gradient_t_per_m=G, positions_m=xc / (GAMMA * G * T))
    if kind == "mxy":
        return xc, np.abs(res.mxy)
    if kind == "se":
        return xc, np.abs(res.spin_echo)
    return xc, res.mz


def _bands(pulse_type: str, d1: float, d2: float, xc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    b1, b2 = slr.slr_ripples(pulse_type, d1, d2)
    w = slr.dinf(b1, b2) / TB
    return np.abs(xc) <= (1 - w) * TB / 2, np.abs(xc) >= (1 + w) * TB / 2


def test_dinf_reference_value() -> None:
    assert slr.dinf(0.01, 0.01) == pytest.approx(1.944048, abs=1e-6)


def test_excitation_reference_figures() -> None:
    # docs/references/design.md §4: N = 256, tb = 8, d1 = d2 = 0.01: passband |Mxy| >= 0.98, stopband <= 0.013
    rf = slr.slr_pulse(math.pi / 2, T, TB, pulse_type="excitation", filter_type="pm", limits=LIM)
    assert rf.n_samples == N and rf.use == "excitation"
    assert rf.bandwidth_hz == pytest.approx(TB / T)
    xc, p = _profile(rf, "mxy")
    pb, sb = _bands("excitation", 0.01, 0.01, xc)
    assert p[pb].min() >= 0.98
    assert p[pb].max() <= 1.0 + 1e-9
    assert p[sb].max() <= 0.013


#: Minimum- and maximum-phase bounds at this case (N = 256, tb = 8, d1 = d2 = 0.01), as multiples of
#: the asked ripple in the metric of test_profiles_meet_ripples: 1.1 times the reference's figures
#: (SigPy 0.1.27 ``dzrf(256, 8, ptype, "min"/"max", 0.01, 0.01)``, simulated the same way, listed in
#: docs/references/design.md sec. 4). The reference design itself exceeds the asked ripple: Pauly's
#: ripple relations are first order, and the minimum-phase factor's passband |B|^2 is 1 + d2^2/2.
#: Small tip has no like-for-like reference (SigPy's "st" returns B unscaled); it is held to the
#: excitation figures, whose B factor it shares. The live comparison over the whole grid of types,
#: time-bandwidths and ripples is tests/test_slr_sigpy.py.
_REFERENCE_MIN_PHASE = {  # (passband, stopband), SigPy's figure x 1.1
    "excitation": (1.55 * 1.1, 1.12 * 1.1),
    "small_tip": (1.55 * 1.1, 1.12 * 1.1),
    "refocusing": (0.58 * 1.1, 1.16 * 1.1),
    "inversion": (1.29 * 1.1, 0.60 * 1.1),
    "saturation": (1.65 * 1.1, 1.10 * 1.1),
}


@pytest.mark.parametrize("phase", ["linear", "minimum", "maximum"])
@pytest.mark.parametrize(
    ("pulse_type", "flip", "kind"),
    [
        ("excitation", math.pi / 2, "mxy"),
        ("refocusing", math.pi, "se"),
        ("inversion", math.pi, "mz"),
        ("saturation", math.pi / 2, "mz"),
        ("small_tip", 0.1, "mxy"),
    ],
)
def test_profiles_meet_ripples(phase: str, pulse_type: str, flip: float, kind: str) -> None:
    d1 = d2 = 0.01
    rf = slr.slr_pulse(flip, T, TB, pulse_type=pulse_type, phase=phase, limits=LIM)  # type: ignore[arg-type]
    xc, p = _profile(rf, kind)
    pb, sb = _bands(pulse_type, d1, d2, xc)
    # measured ripples, as multiples of the asked ones
    if pulse_type in ("excitation", "small_tip"):
        ideal = math.sin(flip)
        r_pass = np.max(np.abs(p[pb] - ideal)) / (d1 * ideal)
        r_stop = p[sb].max() / (d2 * (ideal if pulse_type == "small_tip" else 1.0))
    elif pulse_type == "refocusing":  # |beta|^2: 1 in the passband, 0 outside
        r_pass = (1 - p[pb].min()) / (2 * d1)
        r_stop = p[sb].max() / d2
    elif pulse_type == "inversion":  # Mz: -1 in the passband, 1 outside
        r_pass = (p[pb].max() + 1) / d1
        r_stop = (1 - p[sb].min()) / (2 * d2)
    else:  # saturation: Mz ~ 0 in the passband
        r_pass = np.abs(p[pb]).max() / d1
        r_stop = (1 - p[sb].min()) / d2
    if phase == "linear":
        # The ripple relations are first order (Pauly 1991): the 90 deg excitation's passband is known
        # to overshoot (1.7 % for 1 % asked, also with SigPy)
        bound_pass = {"excitation": 2.0, "small_tip": 1.3, "refocusing": 1.0, "inversion": 1.25, "saturation": 1.4}
        bound_stop = {"excitation": 1.3, "small_tip": 1.3, "refocusing": 1.2, "inversion": 1.0, "saturation": 1.2}
        assert r_pass <= bound_pass[pulse_type]
        assert r_stop <= bound_stop[pulse_type]
    else:
        bp, bs = _REFERENCE_MIN_PHASE[pulse_type]
        assert r_pass <= bp
        assert r_stop <= bs


def test_minimum_phase_has_shorter_isodelay_and_refocuses() -> None:
    lin = slr.slr_pulse(math.pi / 2, T, TB, phase="linear", limits=LIM)
    mn = slr.slr_pulse(math.pi / 2, T, TB, phase="minimum", limits=LIM)
    mx = slr.slr_pulse(math.pi / 2, T, TB, phase="maximum", limits=LIM)
    assert lin.center_s == pytest.approx(T / 2, rel=0.03)
    # minimum phase: the effective rotation is late, so the time left to refocus (isodelay) is short
    assert T - mn.center_s < 0.5 * (T - lin.center_s)
    assert mx.center_s < lin.center_s
    # the measured centre is right: rewinding from it leaves no linear phase over the passband
    # (rewinding from T/2 instead leaves a lot for the minimum-phase pulse)

    def residual_slope(rf: RFPulse, center_s: float) -> float:
        xc = np.linspace(-TB / 4, TB / 4, 41)
        z = xc / (GAMMA * G * T)
        n_rew = 64
        iso = rf.duration_s - center_s
        grad = np.concatenate([np.full(rf.n_samples, G), np.full(n_rew, -G * iso / (n_rew * 10e-6))])
        b1 = np.concatenate([rf.b1_t, np.zeros(n_rew)])
        m = simulate(b1, 10e-6, gradient_t_per_m=grad, positions_m=z).mxy
        return float(np.polyfit(xc, np.unwrap(np.angle(m)), 1)[0])  # rad per cycle

    for rf in (lin, mn, mx):
        assert abs(residual_slope(rf, rf.center_s)) < 0.005
    assert abs(residual_slope(mn, T / 2)) > 1.0


@pytest.mark.parametrize("filter_type", ["ls", "pm"])
def test_least_squares_and_equiripple_both_work(filter_type: str) -> None:
    rf = slr.slr_pulse(math.pi / 2, T, TB, filter_type=filter_type, limits=LIM)  # type: ignore[arg-type]
    xc, p = _profile(rf, "mxy")
    pb, _ = _bands("excitation", 0.01, 0.01, xc)
    assert p[pb].min() >= 0.97
    # on resonance the flip is 90 deg to within the passband ripple
    res = simulate(rf)
    assert abs(res.mxy[0]) == pytest.approx(1.0, abs=0.02)


def test_inverse_slr_round_trip_and_native_agree() -> None:
    b = slr.slr_beta(128, 6, pulse_type="excitation", phase="minimum")
    a = slr.beta_to_alpha(b)
    rf_np = slr.inverse_slr(a, b, backend="numpy")
    rf_auto = slr.inverse_slr(a, b)
    np.testing.assert_allclose(rf_auto, rf_np, atol=1e-13)
    a2, b2 = slr.forward_slr(rf_np)
    np.testing.assert_allclose(b2, b, atol=1e-9)
    np.testing.assert_allclose(a2, a, atol=1e-9)
    # |A|^2 + |B|^2 = 1 on the unit circle
    af, bf = np.fft.fft(a, 4096), np.fft.fft(b, 4096)
    np.testing.assert_allclose(np.abs(af) ** 2 + np.abs(bf) ** 2, 1.0, atol=1e-6)


def test_slr_beta_of_hard_pulse_model_matches_simulation() -> None:
    # the designed B equals the simulated beta (up to the final gradient phase) for small steps
    rf = slr.slr_pulse(0.3, T, TB, pulse_type="small_tip", limits=LIM)
    b = slr.slr_beta(N, TB, pulse_type="small_tip", flip_angle_rad=0.3)
    xc = np.linspace(-TB, TB, 201)
    beta = simulate(rf, gradient_t_per_m=G, positions_m=xc / (GAMMA * G * T)).beta
    assert beta is not None
    omega = 2 * np.pi * xc / N
    bpoly = np.array([np.sum(b * np.exp(1j * np.arange(N) * w)) for w in omega])
    np.testing.assert_allclose(np.abs(beta), np.abs(bpoly), atol=2e-3)


def test_bad_input() -> None:
    with pytest.raises(RangeError):
        slr.slr_pulse(math.pi / 2, T, TB, pulse_type="spoiler", limits=LIM)  # type: ignore[arg-type]
    with pytest.raises(RangeError):
        slr.slr_pulse(math.pi / 2, T, TB, phase="zero", limits=LIM)  # type: ignore[arg-type]
    with pytest.raises(RangeError):
        slr.slr_pulse(math.pi / 2, T, TB, filter_type="cheby", limits=LIM)  # type: ignore[arg-type]
    with pytest.raises(RangeError):
        slr.slr_pulse(math.pi / 2, -T, TB, limits=LIM)
    with pytest.raises(RangeError):
        slr.slr_pulse(4.0, T, TB, limits=LIM)  # > pi
    with pytest.raises(RangeError):
        slr.slr_beta(64, 4, pulse_type="small_tip")  # needs a flip angle
    with pytest.raises(NonFiniteError):
        slr.slr_pulse(math.pi / 2, T, TB, passband_ripple=float("nan"), limits=LIM)
    with pytest.raises(DesignError):
        slr.slr_beta(16, 20)  # tb too large for 16 samples
    # a 180 in 1 ms needs more than 20 uT
    with pytest.raises(LimitError, match="peak B1"):
        slr.slr_pulse(math.pi, 1e-3, 4, pulse_type="refocusing")
    with pytest.raises(DesignError):
        slr.inverse_slr(np.array([0.0, 1.0]), np.array([0.1, 0.0]))


def test_fine_raster_is_designed_coarse_and_rebinned() -> None:
    # 2560 samples on a 1 us raster: designed on 256, re-binned; still meets the reference figures
    lim = SystemLimits(rf_raster_s=1e-6, max_b1_t=200e-6)
    rf = slr.slr_pulse(math.pi / 2, T, TB, pulse_type="excitation", limits=lim)
    assert rf.n_samples == 2560
    xc, p = _profile(rf, "mxy")
    pb, sb = _bands("excitation", 0.01, 0.01, xc)
    assert p[pb].min() >= 0.98
    assert p[sb].max() <= 0.013
    # the rotation is preserved by the re-binning: same on-resonance flip as the 256-sample design
    coarse = slr.slr_pulse(math.pi / 2, T, TB, pulse_type="excitation", limits=LIM)
    assert rf.area_t_s == pytest.approx(coarse.area_t_s, rel=1e-3)


def test_least_squares_filter_matches_scipy_firls(monkeypatch: pytest.MonkeyPatch) -> None:
    from scipy.signal import firls

    from wavegen._backend import NATIVE

    if NATIVE:  # the C Cholesky path must be the one that answers

        def no_fallback(*args: object, **kwargs: object) -> None:
            raise AssertionError("fell back to scipy.signal.firls")

        monkeypatch.setattr(slr, "firls", no_fallback)
    for n in (65, 257):
        h = slr._firls_lowpass(n, 0.05, 0.09, 0.4)
        ref = firls(n, [0, 0.05, 0.09, 1], [1, 1, 0, 0], weight=[1, 0.4])
        np.testing.assert_allclose(h, ref, atol=1e-12)


def test_inverse_slr_native_matches_reference_property() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    @settings(max_examples=30, deadline=None, derandomize=True)
    @given(n=st.integers(1, 200), scale=st.floats(0.001, 0.2), seed=st.integers(0, 2**32 - 1))
    def check(n: int, scale: float, seed: int) -> None:
        rng = np.random.default_rng(seed)
        rf = (rng.normal(size=n) + 1j * rng.normal(size=n)) * scale
        a, b = slr.forward_slr(rf)
        got = slr.inverse_slr(a, b)
        ref = slr.inverse_slr_reference(a, b)
        np.testing.assert_allclose(got, ref, atol=1e-9)
        np.testing.assert_allclose(got, rf, atol=1e-7)

    check()


def test_designs_without_the_extension_are_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    with_c = slr.slr_pulse(math.pi / 2, T, TB, filter_type="ls", limits=LIM)
    monkeypatch.setattr(slr, "NATIVE", False)
    without = slr.slr_pulse(math.pi / 2, T, TB, filter_type="ls", limits=LIM)
    np.testing.assert_allclose(without.b1_t, with_c.b1_t, rtol=0, atol=1e-12 * with_c.peak_b1_t)
