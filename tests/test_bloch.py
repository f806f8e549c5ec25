"""Bloch simulator: analytic hard-pulse solution, flip angles, C vs NumPy, relaxation, metrics."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from wavegen.design import bloch
from wavegen.design.bloch import flip_angle_rad, profile_metrics, simulate, simulate_ab
from wavegen.design.pulse import RFPulse
from wavegen.design.rf import block_pulse, sinc_pulse
from wavegen.errors import NonFiniteError, RangeError, ShapeError
from wavegen.limits import GAMMA_1H_HZ_PER_T

GAMMA = GAMMA_1H_HZ_PER_T
BACKENDS = ["numpy"] + (["native"] if bloch._has_native() else [])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("flip_deg", [30.0, 90.0, 180.0])
def test_hard_pulse_matches_rabi_formula(backend: str, flip_deg: float) -> None:
    duration = 1e-3
    rf = block_pulse(math.radians(flip_deg), duration, raster_s=1e-6)
    w1 = 2 * math.pi * GAMMA * rf.peak_b1_t
    df = np.linspace(-5000.0, 5000.0, 401)
    res = simulate(rf, off_resonance_hz=df, backend=backend)  # type: ignore[arg-type]
    dw = 2 * np.pi * df
    big_w = np.sqrt(w1**2 + dw**2)
    mz_exact = 1 - 2 * (w1**2 / big_w**2) * np.sin(big_w * duration / 2) ** 2
    assert res.mz.shape == (401, 1)
    np.testing.assert_allclose(res.mz[:, 0], mz_exact, rtol=0, atol=1e-10)
    # |Mxy|^2 + Mz^2 = 1 without relaxation
    np.testing.assert_allclose(np.abs(res.mxy) ** 2 + res.mz**2, 1.0, atol=1e-12)


def test_hard_pulse_first_null() -> None:
    # 90 deg hard pulse: the first Mz = 1 null sits at df*T = sqrt(1 - 1/16) (docs/references/design.md §3)
    rf = block_pulse(math.pi / 2, 1e-3)
    df = math.sqrt(1 - 1 / 16) / 1e-3
    res = simulate(rf, off_resonance_hz=np.array([df]))
    assert res.mz[0, 0] == pytest.approx(1.0, abs=1e-10)


@pytest.mark.parametrize("flip_deg", [5.0, 45.0, 90.0, 150.0, 180.0])
def test_flip_angles_within_0p1_percent(flip_deg: float) -> None:
    flip = math.radians(flip_deg)
    for rf in (
        block_pulse(flip, 1e-3),
        sinc_pulse(flip, 4e-3, 6, raster_s=2e-6),
    ):
        assert flip_angle_rad(rf) == pytest.approx(flip, rel=1e-3)


def test_reference_90_in_1ms() -> None:
    # docs/references/design.md §3: 90 deg in 1 ms needs 5.872 uT; simulate a constant 5.872 uT for 1 ms
    b1 = np.full(1000, 5.872e-6)
    flip = flip_angle_rad(b1, 1e-6, gamma_hz_per_t=42.576e6)
    assert math.degrees(flip) == pytest.approx(90.0, rel=1e-3)


def test_sign_convention_and_slice_shift() -> None:
    # a real positive pulse tips +z to -y
    rf = block_pulse(math.pi / 2, 1e-3)
    res = simulate(rf)
    assert res.mxy[0] == pytest.approx(-1j, abs=1e-12)
    # freq_offset = gamma*G*z0 moves the slice to z0
    g = 10e-3
    z0 = 8e-3
    base = sinc_pulse(math.pi / 6, 2e-3, 4, raster_s=4e-6)
    shifted = base.replace(freq_offset_hz=GAMMA * g * z0)
    z = np.linspace(-20e-3, 20e-3, 801)
    p0 = np.abs(simulate(base, gradient_t_per_m=g, positions_m=z).mxy)
    p1 = np.abs(simulate(shifted, gradient_t_per_m=g, positions_m=z).mxy)
    m0 = profile_metrics(z, p0)
    m1 = profile_metrics(z, p1)
    assert m0.center == pytest.approx(0.0, abs=1e-5)
    assert m1.center == pytest.approx(z0, abs=2e-5)
    assert m1.fwhm == pytest.approx(m0.fwhm, rel=1e-3)


@pytest.mark.skipif(not bloch._has_native(), reason="compiled Bloch kernel not built")
def test_native_matches_numpy_reference() -> None:
    rng = np.random.default_rng(1)
    n = 300
    b1 = (rng.normal(size=n) + 1j * rng.normal(size=n)) * 5e-6
    g = rng.normal(size=(n, 3)) * 20e-3
    pos = rng.normal(size=(77, 3)) * 0.05
    # every tier of the kernel: Taylor to h^10 (h <= 1/8), to h^18 (h <= 1), libm beyond
    for gs in (1e-4, 0.02):
        for be in ("native", "numpy"):
            a_t, b_t = simulate_ab(b1, 4e-6, gradient_t_per_m=g * gs, positions_m=pos, backend=be)
            if be == "native":
                a_n, b_n = a_t, b_t
        np.testing.assert_allclose(a_n, a_t, rtol=0, atol=1e-13)
        np.testing.assert_allclose(b_n, b_t, rtol=0, atol=1e-13)
    df = np.array([-300.0, 0.0, 125.0])
    kw: dict[str, Any] = dict(gradient_t_per_m=g, positions_m=pos, off_resonance_hz=df)
    a1, b1n = simulate_ab(b1, 4e-6, backend="native", **kw)
    a2, b2 = simulate_ab(b1, 4e-6, backend="numpy", **kw)
    assert a1.shape == (3, 77)
    np.testing.assert_allclose(a1, a2, rtol=0, atol=1e-12)
    np.testing.assert_allclose(b1n, b2, rtol=0, atol=1e-12)
    # large per-step angles take the libm branch; still equal
    big = np.full(20, 2e-3)  # 2 mT for 10 us: ~5 rad per step
    a3, b3 = simulate_ab(big, 10e-6, off_resonance_hz=np.array([0.0, 3e4]), backend="native")
    a4, b4 = simulate_ab(big, 10e-6, off_resonance_hz=np.array([0.0, 3e4]), backend="numpy")
    np.testing.assert_allclose(a3, a4, atol=1e-12)
    np.testing.assert_allclose(b3, b4, atol=1e-12)
    # unitarity
    np.testing.assert_allclose(np.abs(a1) ** 2 + np.abs(b1n) ** 2, 1.0, atol=1e-12)


def test_numpy_tree_and_sequential_agree() -> None:
    rng = np.random.default_rng(5)
    b1 = (rng.normal(size=101) + 1j * rng.normal(size=101)) * 4e-6
    g = rng.normal(size=(101, 2)) * 5e-3
    p = bloch._prepare(b1, 5e-6, g, rng.normal(size=(300, 2)) * 0.03, np.array([0.0, 77.0]), GAMMA)
    a1, b1t = bloch._ck_numpy_tree(p)
    a2, b2 = bloch._ck_numpy_sequential(p)
    np.testing.assert_allclose(a1, a2, atol=1e-13)
    np.testing.assert_allclose(b1t, b2, atol=1e-13)


def test_matches_sequential_rotation_of_the_vector() -> None:
    # alpha/beta from the product == rotating the magnetisation step by step (relaxation path, T huge)
    rng = np.random.default_rng(2)
    b1 = (rng.normal(size=64) + 1j * rng.normal(size=64)) * 3e-6
    g = rng.normal(size=64) * 5e-3
    z = np.linspace(-0.02, 0.02, 9)
    m0 = (0.3, -0.4, 0.5)
    ck = simulate(b1, 10e-6, gradient_t_per_m=g, positions_m=z, m0=m0)
    rel = simulate(b1, 10e-6, gradient_t_per_m=g, positions_m=z, m0=m0, t1_s=1e12, t2_s=1e12)
    assert rel.alpha is None and rel.beta is None
    np.testing.assert_allclose(ck.mxy, rel.mxy, atol=1e-9)
    np.testing.assert_allclose(ck.mz, rel.mz, atol=1e-9)


def test_relaxation_free_precession() -> None:
    # no RF: Mxy decays with T2 and precesses with df; Mz recovers with T1
    n, dt = 1000, 10e-6
    t = n * dt
    res = simulate(np.zeros(n), dt, m0=(1.0, 0.0, 0.0), off_resonance_hz=np.array([50.0]), t1_s=0.05, t2_s=0.02)
    expect_xy = math.exp(-t / 0.02) * np.exp(2j * np.pi * 50.0 * t)
    assert res.mxy[0, 0] == pytest.approx(expect_xy, abs=1e-12)
    assert res.mz[0, 0] == pytest.approx(1 - math.exp(-t / 0.05), abs=1e-12)
    with pytest.raises(RangeError):
        simulate(np.zeros(4), dt, t1_s=1.0)


def test_spin_echo_property() -> None:
    rf = block_pulse(math.pi, 1e-3, limits=None)
    res = simulate(rf)
    assert abs(res.spin_echo[0]) == pytest.approx(1.0, abs=1e-12)
    rel = simulate(rf, t1_s=1.0, t2_s=0.1)
    with pytest.raises(RangeError):
        _ = rel.spin_echo


def test_input_validation() -> None:
    with pytest.raises(RangeError):
        simulate_ab(np.ones(4))  # raster missing
    with pytest.raises(NonFiniteError):
        simulate_ab(np.array([1.0, np.nan]), 1e-6)
    with pytest.raises(ShapeError):
        simulate_ab(np.ones(4), 1e-6, gradient_t_per_m=np.ones(5))
    with pytest.raises(ShapeError):
        simulate_ab(np.ones(4), 1e-6, gradient_t_per_m=np.ones((4, 2)), positions_m=np.ones(3))
    with pytest.raises(NonFiniteError):
        simulate_ab(np.ones(4), 1e-6, positions_m=np.array([np.inf]))
    with pytest.raises(RangeError):
        simulate_ab(np.ones(4), -1e-6)
    with pytest.raises(RangeError):
        simulate_ab(np.ones(4), 1e-6, backend="gpu")  # type: ignore[arg-type]
    rf = RFPulse(np.ones(4) * 1e-6, 1e-6, 2e-6)
    a, b = simulate_ab(rf)
    assert a.shape == (1,)


def test_profile_metrics_on_a_known_trapezoid() -> None:
    x = np.linspace(-10, 10, 20001)
    # trapezoid: 1 on |x|<=2, linear to 0 at |x|=4; FWHM 6, 10-90 % width 1.6
    y = np.clip((4 - np.abs(x)) / 2, 0, 1)
    y = y + 0.01 * np.cos(40 * x) * (np.abs(x) <= 2)  # passband ripple 0.01
    y = y + 0.003 * (np.abs(x) >= 5)  # stopband floor
    m = profile_metrics(x, y, passband=(-2, 2), stopband=(-5, 5))
    assert m.fwhm == pytest.approx(6.0, abs=0.02)
    assert m.center == pytest.approx(0.0, abs=1e-9)
    assert m.transition_width == pytest.approx(1.6, abs=0.05)
    assert m.passband_ripple == pytest.approx(0.01, abs=2e-4)
    assert m.stopband_level == pytest.approx(0.003, abs=1e-12)
    nob = profile_metrics(x, y)
    assert math.isnan(nob.passband_ripple) and math.isnan(nob.stopband_level)
    with pytest.raises(RangeError):
        profile_metrics(x[::-1], y)
    with pytest.raises(ShapeError):
        profile_metrics(x, y[:-1])


@pytest.mark.skipif(not bloch._has_native(), reason="compiled Bloch kernel not built")
def test_native_matches_reference_property() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    @settings(max_examples=40, deadline=None, derandomize=True)
    @given(
        n=st.integers(1, 40),
        n_pos=st.integers(1, 300),
        n_axes=st.integers(1, 3),
        b1_scale=st.sampled_from([1e-7, 5e-6, 1e-4, 3e-3]),
        g_scale=st.sampled_from([0.0, 1e-4, 1e-2, 0.5]),
        seed=st.integers(0, 2**32 - 1),
    )
    def check(n: int, n_pos: int, n_axes: int, b1_scale: float, g_scale: float, seed: int) -> None:
        rng = np.random.default_rng(seed)
        b1 = (rng.normal(size=n) + 1j * rng.normal(size=n)) * b1_scale
        g = rng.normal(size=(n, n_axes)) * g_scale
        pos = rng.normal(size=(n_pos, n_axes)) * 0.05
        df = rng.normal(size=2) * 500.0
        kw: dict[str, Any] = dict(gradient_t_per_m=g, positions_m=pos, off_resonance_hz=df)
        a1, b1n = simulate_ab(b1, 2e-6, backend="native", **kw)
        a2, b2 = simulate_ab(b1, 2e-6, backend="numpy", **kw)
        np.testing.assert_allclose(a1, a2, rtol=0, atol=1e-12)
        np.testing.assert_allclose(b1n, b2, rtol=0, atol=1e-12)

    check()
