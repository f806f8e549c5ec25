"""Trapezoid, ramp, extended/arbitrary shortest designs, split/join: durations vs the closed form,
exact areas, exact limit checks, raster alignment, pypulseq cross-check."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import linprog

from wavegen.design.gradients import ExtendedTrapezoid, Trapezoid, check_gradient
from wavegen.design.splitting import (
    join_arbitrary_gradients,
    join_gradients,
    split_arbitrary_gradient,
    split_gradient,
)
from wavegen.design.trapezoid import (
    ramp,
    readout_trapezoid,
    shortest_arbitrary_gradient,
    shortest_extended_trapezoid,
    shortest_trapezoid,
    shortest_trapezoid_duration_s,
    trapezoid_for_amplitude,
    trapezoid_for_duration,
)
from wavegen.errors import DesignError, LimitError, RangeError, RasterError
from wavegen.limits import GAMMA_PULSEQ_HZ_PER_T, SystemLimits

LIM = SystemLimits()
PULSEQ = SystemLimits(gamma_hz_per_t=GAMMA_PULSEQ_HZ_PER_T)
LIMIT_SETS = [
    SystemLimits(max_grad_t_per_m=0.04, max_slew_t_per_m_per_s=150.0),
    SystemLimits(max_grad_t_per_m=0.08, max_slew_t_per_m_per_s=200.0),
    SystemLimits(max_grad_t_per_m=0.024, max_slew_t_per_m_per_s=120.0, grad_raster_s=4e-6),
    SystemLimits(max_grad_t_per_m=0.2, max_slew_t_per_m_per_s=1000.0, gamma_hz_per_t=10.7084e6),
]
AREAS_PER_M = np.geomspace(0.5, 20000.0, 41)


def _steps(duration_s: float, lim: SystemLimits) -> int:
    n = duration_s / lim.grad_raster_s
    assert abs(n - round(n)) < 1e-9
    return round(n)


def _max_area_any_trapezoid(n: int, lim: SystemLimits) -> float:
    """Brute force over every (rise, flat, fall) with rise + flat + fall = n, asymmetric included."""
    dt, g, s = lim.grad_raster_s, lim.max_grad_t_per_m, lim.max_slew_t_per_m_per_s
    best = 0.0
    for r in range(1, n):
        for d in range(1, n - r + 1):
            f = n - r - d
            amp = min(g, s * dt * min(r, d))
            best = max(best, amp * dt * (f + 0.5 * (r + d)))
    return best


def _assert_exact_limits(grad: object, lim: SystemLimits) -> None:
    check_gradient(grad, lim, require_raster=not hasattr(grad, "samples_t_per_m"))  # type: ignore[arg-type]
    t, g = grad.corners()  # type: ignore[attr-defined]
    assert np.max(np.abs(g)) <= lim.max_grad_t_per_m * (1 + 1e-12)
    assert np.max(np.abs(np.diff(g) / np.diff(t))) <= lim.max_slew_t_per_m_per_s * (1 + 1e-12)


@pytest.mark.parametrize(
    ("area_per_m", "duration_us", "rise_us", "flat_us"),
    [
        (10, 80, 40, 0),
        (100, 260, 130, 0),
        (200, 360, 180, 0),
        (500, 570, 270, 30),
        (1000, 860, 270, 320),
        (5000, 3210, 270, 2670),
    ],
)
def test_shortest_trapezoid_anchor_table(
    area_per_m: float, duration_us: int, rise_us: int, flat_us: int
) -> None:
    # docs/references/design.md §2: raster optimum = pypulseq at 40 mT/m, 150 T/m/s, 10 us
    tr = shortest_trapezoid(PULSEQ, area_per_m=area_per_m)
    assert tr.duration_s == pytest.approx(duration_us * 1e-6, abs=1e-12)
    assert tr.rise_time_s == pytest.approx(rise_us * 1e-6, abs=1e-12)
    assert tr.flat_time_s == pytest.approx(flat_us * 1e-6, abs=1e-12)
    assert tr.area_per_m(PULSEQ.gamma_hz_per_t) == pytest.approx(area_per_m, rel=1e-13)


def test_closed_form_reference_numbers() -> None:
    # docs/references/design.md §2: A = 1000 1/m -> 853.85 us continuous, 860 us on the 10 us raster
    t_star = shortest_trapezoid_duration_s(1000 / GAMMA_PULSEQ_HZ_PER_T, PULSEQ)
    assert t_star * 1e6 == pytest.approx(853.85, abs=0.005)
    assert shortest_trapezoid(PULSEQ, area_per_m=1000).duration_s == pytest.approx(860e-6, abs=1e-12)
    assert shortest_arbitrary_gradient(PULSEQ, area_per_m=1000).duration_s == pytest.approx(860e-6, abs=1e-12)


@pytest.mark.parametrize("lim", LIMIT_SETS)
def test_shortest_designs_over_grid(lim: SystemLimits) -> None:
    gamma = lim.gamma_hz_per_t
    longer = 0
    for a_k in AREAS_PER_M:
        for sign in (1.0, -1.0):
            area = sign * a_k / gamma
            t_star = shortest_trapezoid_duration_s(area, lim)
            n_ceil = math.ceil(t_star / lim.grad_raster_s - 1e-9)
            tr = shortest_trapezoid(lim, area_t_s_per_m=area)
            ex = shortest_extended_trapezoid(lim, area_t_s_per_m=area)
            ag = shortest_arbitrary_gradient(lim, area_t_s_per_m=area)
            n_tr, n_ex, n_ag = (_steps(g.duration_s, lim) for g in (tr, ex, ag))
            # the raster lower bound holds for every design; the sampled one reaches it exactly
            assert n_ag == n_ceil
            assert n_ceil <= n_ex <= n_tr <= n_ceil + 1
            longer += n_tr > n_ceil
            for g in (tr, ex, ag):
                assert g.area_t_s_per_m == pytest.approx(area, rel=1e-12)
                _assert_exact_limits(g, lim)
            assert tr.rise_time_s == tr.fall_time_s  # symmetric is optimal for zero-to-zero lobes
    # the rounded-up closed form is usually reachable by a raster trapezoid, but not always
    assert longer < 0.2 * 2 * AREAS_PER_M.size


def test_trapezoid_is_true_raster_optimum_by_brute_force() -> None:
    # one step shorter is impossible even with asymmetric ramps (exhaustive search)
    for lim in LIMIT_SETS[:3]:
        for a_k in AREAS_PER_M[::4]:
            area = a_k / lim.gamma_hz_per_t
            n = _steps(shortest_trapezoid(lim, area_t_s_per_m=area).duration_s, lim)
            if n > 2 and n < 200:
                assert _max_area_any_trapezoid(n - 1, lim) < area
                assert _max_area_any_trapezoid(n, lim) >= area * (1 - 1e-12)


def test_odd_triangle_case_needs_one_more_step() -> None:
    # T*/dt just below an odd integer: the apex would be mid-cell, so a raster trapezoid needs one step
    # more, while the raster-centre sampled design does not
    dt, s = LIM.grad_raster_s, LIM.max_slew_t_per_m_per_s
    area = s * (4.99 * dt) ** 2 / 4  # triangle of 4.99 steps
    assert _steps(shortest_trapezoid(LIM, area_t_s_per_m=area).duration_s, LIM) == 6
    assert _steps(shortest_arbitrary_gradient(LIM, area_t_s_per_m=area).duration_s, LIM) == 5


def test_pypulseq_issue_301_blip() -> None:
    # 1/0.24 m at 200 T/m/s: continuous 44.2 us; pypulseq's symmetric rounding needs 60 us; 50 us fits
    lim = SystemLimits(max_slew_t_per_m_per_s=200.0, gamma_hz_per_t=GAMMA_PULSEQ_HZ_PER_T)
    tr = shortest_trapezoid(lim, area_per_m=1 / 0.24)
    assert tr.duration_s == pytest.approx(50e-6, abs=1e-12)
    _assert_exact_limits(tr, lim)


def _lp_max_area(n: int, g0: float, g1: float, lim: SystemLimits, sign: float) -> float:
    """Independent check: the largest (sign=+1) or smallest (-1) area over raster-edge waveforms (LP)."""
    dt, gm, st = lim.grad_raster_s, lim.max_grad_t_per_m, lim.max_slew_t_per_m_per_s * lim.grad_raster_s
    m = n + 1
    c = -sign * dt * np.concatenate(([0.5], np.ones(m - 2), [0.5]))
    a_ub = np.zeros((2 * n, m))
    for k in range(n):
        a_ub[2 * k, k + 1], a_ub[2 * k, k] = 1.0, -1.0
        a_ub[2 * k + 1, k + 1], a_ub[2 * k + 1, k] = -1.0, 1.0
    b_ub = np.full(2 * n, st)
    bounds = [(-gm, gm)] * m
    bounds[0] = (g0, g0)
    bounds[-1] = (g1, g1)
    res = linprog(c * 1e6, A_ub=a_ub, b_ub=b_ub, bounds=bounds, method="highs")
    if not res.success:
        return -math.inf * sign
    return float(-sign * res.fun / 1e6)


@pytest.mark.parametrize(
    ("area_per_m", "g0", "g1"),
    [(300.0, 0.0, 0.0), (800.0, 0.02, 0.0), (-200.0, 0.03, 0.01), (50.0, -0.01, 0.035), (0.0, 0.02, 0.02)],
)
def test_shortest_extended_trapezoid_is_lp_optimal(area_per_m: float, g0: float, g1: float) -> None:
    ex = shortest_extended_trapezoid(LIM, area_per_m=area_per_m, g_start_t_per_m=g0, g_end_t_per_m=g1)
    area = area_per_m / LIM.gamma_hz_per_t
    assert ex.area_t_s_per_m == pytest.approx(area, rel=1e-10, abs=1e-15)
    assert ex.first_t_per_m == g0 and ex.last_t_per_m == g1
    _assert_exact_limits(ex, LIM)
    n = _steps(ex.duration_s, LIM)
    if n > 1:  # one step shorter cannot reach the area (independent linear programme)
        hi = _lp_max_area(n - 1, g0, g1, LIM, 1.0)
        lo = _lp_max_area(n - 1, g0, g1, LIM, -1.0)
        assert not (lo - 1e-12 <= area <= hi + 1e-12)


def test_extended_asymmetric_ramps_when_ends_differ() -> None:
    ex = shortest_extended_trapezoid(LIM, area_per_m=600.0, g_start_t_per_m=0.03, g_end_t_per_m=0.0)
    t, g = ex.corners()
    i = int(np.argmax(g))
    assert t[i] < ex.duration_s - t[-2]  # the ramp from 30 mT/m is shorter than the ramp down to 0


def test_trapezoid_for_duration() -> None:
    tr = trapezoid_for_duration(LIM, 1e-3, area_per_m=500.0)
    assert tr.duration_s == pytest.approx(1e-3, abs=1e-12)
    assert tr.area_per_m(LIM.gamma_hz_per_t) == pytest.approx(500.0, rel=1e-13)
    _assert_exact_limits(tr, LIM)
    # lowest amplitude: any longer ramp would need a higher flat top
    assert tr.rise_time_s == pytest.approx(10e-6 * math.ceil(tr.amplitude_t_per_m / (150 * 10e-6) - 1e-9))
    with pytest.raises(LimitError, match="shortest"):
        trapezoid_for_duration(LIM, 100e-6, area_per_m=1000.0)
    with pytest.raises(RasterError):
        trapezoid_for_duration(LIM, 105e-6, area_per_m=10.0)


def test_readout_and_amplitude_trapezoids() -> None:
    # 256 samples over 256 mm, 2.56 ms flat top
    ro = readout_trapezoid(LIM, 2.56e-3, flat_area_per_m=256 / 0.256)
    assert ro.flat_area_per_m(LIM.gamma_hz_per_t) == pytest.approx(1000.0, rel=1e-13)
    assert ro.flat_time_s == pytest.approx(2.56e-3, abs=1e-12)
    steps = math.ceil(abs(ro.amplitude_t_per_m) / (150 * 10e-6))
    assert ro.rise_time_s == pytest.approx(steps * 10e-6, abs=1e-12)
    _assert_exact_limits(ro, LIM)
    with pytest.raises(LimitError, match="max_grad"):
        readout_trapezoid(LIM, 0.1e-3, flat_area_per_m=1000.0)
    tr = trapezoid_for_amplitude(LIM, -0.03, 100e-6)
    assert tr.rise_time_s == pytest.approx(200e-6, abs=1e-12)  # 30 mT/m at 150 T/m/s = 200 us exactly
    with pytest.raises(RangeError):
        shortest_trapezoid(LIM, area_per_m=1.0, area_t_s_per_m=1.0)
    with pytest.raises(RangeError):
        shortest_trapezoid(LIM)


def test_ramp() -> None:
    r = ramp(LIM, 0.01, -0.02)
    assert r.duration_s == pytest.approx(200e-6, abs=1e-12)
    assert r.first_t_per_m == 0.01 and r.last_t_per_m == -0.02
    _assert_exact_limits(r, LIM)
    r2 = ramp(LIM, 0.0, 0.0101)
    assert r2.duration_s == pytest.approx(70e-6, abs=1e-12)  # 67.3 us rounded up
    with pytest.raises(LimitError):
        ramp(LIM, 0.0, 0.05)


def test_split_and_join_round_trip() -> None:
    tr = shortest_trapezoid(LIM, area_per_m=1000.0).with_delay(20e-6)
    a, b = split_gradient(tr, 20e-6 + 150e-6)  # inside the up-ramp
    assert a.delay_s == 20e-6 and b.delay_s == 0.0
    assert a.last_t_per_m == pytest.approx(b.first_t_per_m)
    assert a.area_t_s_per_m + b.area_t_s_per_m == pytest.approx(tr.area_t_s_per_m, rel=1e-13)
    assert a.end_time_s == pytest.approx(170e-6, abs=1e-15)
    for part in (a, b):
        _assert_exact_limits(part, LIM)
    joined = join_gradients(a, b)
    t0, g0 = tr.corners(include_delay=True)
    t1, g1 = joined.corners(include_delay=True)
    np.testing.assert_allclose(np.interp(t0, t1, g1), g0, atol=1e-15)
    assert joined.area_t_s_per_m == pytest.approx(tr.area_t_s_per_m, rel=1e-13)
    # a cut at a corner adds nothing
    c, d = split_gradient(tr, 20e-6 + 270e-6)
    assert c.times_s.size == 2 and d.first_t_per_m == pytest.approx(tr.amplitude_t_per_m)
    with pytest.raises(DesignError, match="jump"):
        join_gradients(ExtendedTrapezoid([0, 1e-4], [0, 0.01]), ExtendedTrapezoid([0, 1e-4], [0.02, 0]))
    with pytest.raises(RangeError):
        split_gradient(tr, 5e-6)
    # a gap at zero between two lobes is allowed
    gap = join_gradients(Trapezoid(0.01, 1e-4, 0, 1e-4), Trapezoid(-0.01, 1e-4, 0, 1e-4, delay_s=5e-5))
    assert gap.duration_s == pytest.approx(4.5e-4) and gap.area_t_s_per_m == pytest.approx(0.0, abs=1e-18)


def test_split_and_join_sampled_gradient() -> None:
    ag = shortest_arbitrary_gradient(LIM, area_per_m=1500.0).with_delay(10e-6)
    a, b = split_arbitrary_gradient(ag, 37)
    assert a.n_samples == 37 and b.n_samples == ag.n_samples - 37
    assert a.last_t_per_m == b.first_t_per_m
    assert a.area_t_s_per_m + b.area_t_s_per_m == pytest.approx(ag.area_t_s_per_m, rel=1e-14)
    # the half steps at the cut keep the slope of the original segment
    s = ag.samples_t_per_m
    assert (a.last_t_per_m - s[36]) / 5e-6 == pytest.approx((s[37] - s[36]) / 10e-6, rel=1e-9, abs=1e-9)
    for part in (a, b):
        check_gradient(part, LIM)
    again = join_arbitrary_gradients(a, b)
    assert again == ag
    with pytest.raises(DesignError):
        join_arbitrary_gradients(b, a)
    with pytest.raises(RangeError):
        split_arbitrary_gradient(ag, 0)


def test_sampled_designs_never_exceed_limits_at_finer_rates() -> None:
    for a_k in (37.0, 444.0, 2500.0):
        for g in (shortest_trapezoid(LIM, area_per_m=a_k), shortest_extended_trapezoid(LIM, area_per_m=a_k)):
            s = g.sample(1e-6)
            assert np.max(np.abs(s)) <= LIM.max_grad_t_per_m * (1 + 1e-12)
            assert np.max(np.abs(np.diff(s))) / 1e-6 <= LIM.max_slew_t_per_m_per_s * (1 + 1e-9)
            assert np.sum(s) * 1e-6 == pytest.approx(a_k / LIM.gamma_hz_per_t, rel=1e-9)


def test_pypulseq_cross_check() -> None:
    pp = pytest.importorskip("pypulseq")
    system = pp.Opts(max_grad=40, grad_unit="mT/m", max_slew=150, slew_unit="T/m/s", grad_raster_time=10e-6)
    lim = SystemLimits(gamma_hz_per_t=system.gamma)
    for a_k in np.geomspace(1.0, 8000.0, 60):
        theirs = pp.make_trapezoid(channel="x", area=float(a_k), system=system)
        t_theirs = pp.calc_duration(theirs)
        ours = shortest_trapezoid(lim, area_per_m=float(a_k))
        assert ours.duration_s <= t_theirs + 1e-12
        assert ours.area_per_m(lim.gamma_hz_per_t) == pytest.approx(a_k, rel=1e-12)
        check_gradient(ours, lim, require_raster=True)
    # the issue-301 blip: pypulseq cannot make it in 50 us, wavegen can
    lim200 = SystemLimits(max_slew_t_per_m_per_s=200.0, gamma_hz_per_t=system.gamma)
    sys200 = pp.Opts(max_grad=40, grad_unit="mT/m", max_slew=200, slew_unit="T/m/s")
    blip = pp.make_trapezoid(channel="y", area=1 / 0.24, system=sys200)
    assert shortest_trapezoid(lim200, area_per_m=1 / 0.24).duration_s < pp.calc_duration(blip) - 1e-9
