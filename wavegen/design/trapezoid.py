"""Trapezoid and ramp design on the gradient raster.

Every design here returns a gradient whose corner times sit on the gradient raster
(``limits.grad_raster_s``, computed on the integer nanosecond grid) and which passes
:func:`~wavegen.design.gradients.check_gradient` exactly.

The shortest lobe for an area ``A`` (continuous time, Bernstein et al., *Handbook of MRI Pulse
Sequences*, 2004, section 7.2) is a triangle of duration ``2 sqrt(A/S)`` when
``A <= G^2/S`` and otherwise a trapezoid of duration ``A/G + G/S``. On a raster three answers exist,
from the most constrained to the least:

- :func:`shortest_trapezoid`: the shortest :class:`~wavegen.design.gradients.Trapezoid` whose rise,
  flat and fall times are whole raster steps (a Pulseq ``[TRAP]`` event). It is found by exact search,
  not by rounding the closed form, so it is never longer than pypulseq's ``make_trapezoid``. Asymmetric
  ramps never help a lobe that starts and ends at 0 (for a fixed total length the area
  ``g * (N - (r + d)/2)`` with ``g <= S*min(r, d)`` is largest for ``r = d``), so the result is
  symmetric. It equals the closed form rounded up to the raster in most cases but can be one raster
  step longer, because the continuous optimum's corners (at ``G/S``, or the apex of an odd-length
  triangle) are then off the raster.
- :func:`shortest_extended_trapezoid`: the shortest gradient with corners on raster edges, with any
  start and end value (ramps may then be asymmetric, and a ramp may bend where the amplitude limit cuts
  in). This is the exact optimum over all raster-edge piecewise-linear waveforms.
- :func:`shortest_arbitrary_gradient`: a raster-centre sampled gradient (Pulseq arbitrary gradient)
  whose duration is *exactly* the closed form rounded up to the raster, the lower bound for any
  waveform on the raster: the continuous optimum is stretched to the raster length and averaged over
  each raster cell, which preserves the area exactly and cannot raise the amplitude or the slew.
"""

from __future__ import annotations

import logging
import math

import numpy as np
from numpy.typing import NDArray

from wavegen.design.bounds import MAX_DESIGN_SAMPLES, check_design_length
from wavegen.design.gradients import (
    ArbitraryGradient,
    ExtendedTrapezoid,
    Trapezoid,
    check_gradient,
)
from wavegen.errors import DesignError, LimitError, RangeError, RasterError
from wavegen.limits import TICK_S, SystemLimits
from wavegen.validate import finite

__all__ = [
    "resolve_area",
    "grad_raster",
    "steps_to_s",
    "shortest_trapezoid_duration_s",
    "shortest_trapezoid",
    "trapezoid_for_duration",
    "readout_trapezoid",
    "trapezoid_for_amplitude",
    "max_trapezoid_area_t_s_per_m",
    "ramp",
    "shortest_extended_trapezoid",
    "extended_trapezoid_for_duration",
    "shortest_arbitrary_gradient",
]

logger = logging.getLogger(__name__)


# ------------------------------------------------------------------------------------------------
# small helpers


def resolve_area(
    area_t_s_per_m: float | None, area_per_m: float | None, gamma_hz_per_t: float, *, what: str = "area"
) -> float:
    """Return an area in T*s/m from exactly one of ``area_t_s_per_m`` and ``area_per_m``.

    ``area_per_m`` is the k-space area in cycles/m (``gamma * integral G dt``, Pulseq's convention)
    and is divided by ``gamma_hz_per_t``.
    """
    if (area_t_s_per_m is None) == (area_per_m is None):
        raise RangeError(f"give exactly one of {what}_t_s_per_m (T*s/m) and {what}_per_m (cycles/m)")
    if area_t_s_per_m is not None:
        return finite(area_t_s_per_m, f"{what}_t_s_per_m", "T*s/m")
    assert area_per_m is not None  # for the type checker; checked above
    return finite(area_per_m, f"{what}_per_m", "1/m") / gamma_hz_per_t


def grad_raster(limits: SystemLimits) -> tuple[int, float]:
    """The gradient raster of ``limits`` in ns ticks and in seconds."""
    r_ns = limits.grad_raster_ns
    return r_ns, r_ns * TICK_S


def steps_to_s(n: int, r_ns: int) -> float:
    """``n`` raster steps of ``r_ns`` ticks in seconds (exact integer ticks, one correctly rounded division)."""
    return (n * r_ns) / 1e9


def _duration_steps(duration_s: float, r_ns: int, name: str) -> int:
    d = finite(duration_s, name, "s")
    check_design_length(abs(d) / (r_ns * TICK_S), r_ns * TICK_S, f"{name} = {d!r} s")
    ticks = d / TICK_S
    n_ticks = round(ticks)
    if abs(ticks - n_ticks) > 1e-6 + 1e-12 * abs(ticks) or n_ticks % r_ns:
        raise RasterError(f"{name} = {d!r} s is not a whole number of gradient raster steps ({r_ns} ns)")
    return n_ticks // r_ns


def shortest_trapezoid_duration_s(area_t_s_per_m: float, limits: SystemLimits) -> float:
    """Closed-form shortest duration of a zero-to-zero lobe (continuous time), s.

    ``2 sqrt(|A|/S)`` if ``|A| <= G^2/S`` (triangle), else ``|A|/G + G/S`` (Bernstein et al. 2004, sec. 7.2).
    """
    a = abs(finite(area_t_s_per_m, "area_t_s_per_m", "T*s/m"))
    g, s = limits.max_grad_t_per_m, limits.max_slew_t_per_m_per_s
    if a <= g * g / s:
        return 2.0 * math.sqrt(a / s)
    return a / g + g / s


def _best_rise_steps(n: int, x: float) -> int:
    """Rise steps (1..n//2) maximising ``min(x, r) * (n - r)`` (area of a symmetric lobe, units S*dt^2)."""
    half = n // 2
    cands = {max(1, min(half, math.floor(x))), max(1, min(half, math.ceil(x)))}
    return max(cands, key=lambda r: (min(x, r) * (n - r), r))


def max_trapezoid_area_t_s_per_m(n_steps: int, limits: SystemLimits) -> float:
    """Largest area of a zero-to-zero :class:`Trapezoid` lasting ``n_steps`` raster steps, T*s/m."""
    if n_steps < 2:
        return 0.0
    _, dt = grad_raster(limits)
    g, s = limits.max_grad_t_per_m, limits.max_slew_t_per_m_per_s
    r = _best_rise_steps(n_steps, g / (s * dt))
    return min(g, s * r * dt) * dt * (n_steps - r)


def _trap_amplitude(area: float, n: int, r: int, limits: SystemLimits) -> float | None:
    """Amplitude of a symmetric lobe (n steps, r-step ramps) with the given area, or None if over a limit."""
    _, dt = grad_raster(limits)
    amp = abs(area) / (dt * (n - r))
    cap = min(limits.max_grad_t_per_m, limits.max_slew_t_per_m_per_s * (r * dt))
    if amp > cap:
        if amp > cap * (1.0 + 1e-12):
            return None
        amp = cap  # a rounding hair above the cap: sit exactly on it
    return math.copysign(amp, area)


# ------------------------------------------------------------------------------------------------
# trapezoids


def shortest_trapezoid(
    limits: SystemLimits,
    *,
    area_t_s_per_m: float | None = None,
    area_per_m: float | None = None,
    delay_s: float = 0.0,
) -> Trapezoid:
    """The shortest :class:`Trapezoid` (raster rise/flat/fall) with a given area.

    Parameters
    ----------
    limits
        ``max_grad_t_per_m``, ``max_slew_t_per_m_per_s``, ``grad_raster_s``; ``gamma_hz_per_t``
        converts ``area_per_m``.
    area_t_s_per_m, area_per_m
        The area, exactly one of: T*s/m, or k-space cycles/m (``gamma * area``). Signed.
    delay_s
        Delay of the event, s.

    Returns
    -------
    Trapezoid
        Symmetric ramps; among the equally short designs the one with the longest ramps (lowest
        slew). A triangle when that is shortest. Zero area gives a zero-amplitude one-step lobe.

    Notes
    -----
    Exact search over whole raster steps: starting below the closed form, the total length ``N`` grows
    until :func:`max_trapezoid_area_t_s_per_m` reaches ``|A|``. See the module notes on why the result
    may be one step longer than the rounded-up closed form.
    """
    area = resolve_area(area_t_s_per_m, area_per_m, limits.gamma_hz_per_t)
    r_ns, dt = grad_raster(limits)
    if area == 0.0:
        return Trapezoid(0.0, steps_to_s(1, r_ns), 0.0, steps_to_s(1, r_ns), delay_s)
    steps = shortest_trapezoid_duration_s(area, limits) / dt
    check_design_length(steps, dt, _area_words(area, limits))
    n = max(2, math.floor(steps) - 1)
    while max_trapezoid_area_t_s_per_m(n, limits) < abs(area) * (1.0 - 1e-13):
        n += 1
    # the longest ramps that still fit (lowest slew)
    _, r_max = _rise_bounds(area, n, limits)
    r = _fitting_rise(area, n, limits, range(r_max, 0, -1))
    amp = None if r is None else _trap_amplitude(area, n, r, limits)
    if r is None or amp is None:  # pragma: no cover - n was chosen so that a lobe of n steps reaches the area
        raise DesignError(f"no trapezoid found for area {area!r} T*s/m")
    trap = Trapezoid(amp, steps_to_s(r, r_ns), steps_to_s(n - 2 * r, r_ns), steps_to_s(r, r_ns), delay_s)
    check_gradient(trap, limits)
    return trap


def _area_words(area: float, limits: SystemLimits) -> str:
    """An area in both units, for messages."""
    return f"an area of {area:.6g} T*s/m ({area * limits.gamma_hz_per_t:.6g} 1/m)"


def _rise_bounds(area: float, n: int, limits: SystemLimits) -> tuple[int, int]:
    """For a symmetric lobe of ``n`` steps and ``area``: ``(r_min, r_max)``, the shortest ramp the slew
    limit allows and the longest the amplitude limit allows, in raster steps within ``1..n//2``
    (``r_min`` may exceed ``r_max``: then no ramp fits).

    The amplitude ``|A| / (dt (n - r))`` grows with ``r``; it must stay below ``G`` (true up to
    ``r_max``) and below ``S r dt`` (true from ``r_min`` on, as ``r (n - r)`` grows for
    ``r <= n/2``). Both ends are found by bisection in ``log2(n)`` steps instead of a scan over ``r``.
    """
    _, dt = grad_raster(limits)
    a = abs(area)
    tol = 1.0 + 1e-12
    g_cap = limits.max_grad_t_per_m * tol
    smax = limits.max_slew_t_per_m_per_s

    def under_g(r: int) -> bool:
        return a / (dt * (n - r)) <= g_cap

    def under_s(r: int) -> bool:
        return a / (dt * (n - r)) <= smax * (r * dt) * tol

    half = n // 2
    # r_max: the last r with under_g (under_g is true then false)
    if not under_g(1):
        r_max = 0
    elif under_g(half):
        r_max = half
    else:
        lo, hi = 1, half
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (mid, hi) if under_g(mid) else (lo, mid)
        r_max = lo
    # r_min: the first r with under_s (false then true)
    if under_s(1):
        r_min = 1
    elif not under_s(half):
        r_min = half + 1
    else:
        lo, hi = 1, half
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (lo, mid) if under_s(mid) else (mid, hi)
        r_min = hi
    return r_min, r_max


def _fitting_rise(area: float, n: int, limits: SystemLimits, candidates: range) -> int | None:
    """The first ``r`` in ``candidates`` whose lobe passes :func:`_trap_amplitude` (a few at most are
    tried: the bisection of :func:`_rise_bounds` lands on the answer up to floating-point rounding)."""
    for r in candidates[:64]:
        if 1 <= r <= n // 2 and _trap_amplitude(area, n, r, limits) is not None:
            return r
    return None


def trapezoid_for_duration(
    limits: SystemLimits,
    duration_s: float,
    *,
    area_t_s_per_m: float | None = None,
    area_per_m: float | None = None,
    delay_s: float = 0.0,
) -> Trapezoid:
    """A :class:`Trapezoid` of a given (raster) duration and area, with the lowest amplitude.

    The ramps are as short as the slew limit allows, so the flat top is as long and as low as
    possible.

    Raises
    ------
    RasterError
        If ``duration_s`` is not a whole number of raster steps.
    LimitError
        If no trapezoid of that duration reaches the area within the limits (the message gives the
        shortest duration that would).
    """
    area = resolve_area(area_t_s_per_m, area_per_m, limits.gamma_hz_per_t)
    r_ns, _ = grad_raster(limits)
    n = _duration_steps(duration_s, r_ns, "duration_s")
    check_design_length(n, r_ns * TICK_S, f"duration_s = {duration_s!r} s")
    if area == 0.0 and n >= 2:
        return Trapezoid(0.0, steps_to_s(1, r_ns), steps_to_s(n - 2, r_ns), steps_to_s(1, r_ns), delay_s)
    # the shortest ramps that fit (longest, lowest flat top)
    r_min, _ = _rise_bounds(area, n, limits) if n >= 2 else (1, 0)
    r = _fitting_rise(area, n, limits, range(max(1, r_min - 1), n // 2 + 1))
    if r is not None:
        amp = _trap_amplitude(area, n, r, limits)
        assert amp is not None  # checked by _fitting_rise
        trap = Trapezoid(amp, steps_to_s(r, r_ns), steps_to_s(n - 2 * r, r_ns), steps_to_s(r, r_ns), delay_s)
        check_gradient(trap, limits)
        return trap
    shortest = shortest_trapezoid(limits, area_t_s_per_m=area)
    raise LimitError(
        f"no trapezoid of duration_s = {duration_s!r} s reaches area {area!r} T*s/m within "
        f"max_grad_t_per_m = {limits.max_grad_t_per_m!r} T/m and max_slew_t_per_m_per_s = "
        f"{limits.max_slew_t_per_m_per_s!r} T/m/s; the shortest that does lasts {shortest.duration_s!r} s"
    )


def trapezoid_for_amplitude(
    limits: SystemLimits, amplitude_t_per_m: float, flat_time_s: float, *, delay_s: float = 0.0
) -> Trapezoid:
    """A :class:`Trapezoid` with a given amplitude and flat time and the shortest raster ramps."""
    amp = finite(amplitude_t_per_m, "amplitude_t_per_m", "T/m")
    r_ns, dt = grad_raster(limits)
    n_flat = _duration_steps(flat_time_s, r_ns, "flat_time_s")
    check_design_length(n_flat, dt, f"flat_time_s = {flat_time_s!r} s")
    if abs(amp) > limits.max_grad_t_per_m:
        raise LimitError(f"amplitude_t_per_m = {amp!r} T/m exceeds max_grad_t_per_m = {limits.max_grad_t_per_m!r} T/m")
    r = max(1, math.ceil(abs(amp) / (limits.max_slew_t_per_m_per_s * dt) * (1.0 - 1e-12)))
    trap = Trapezoid(amp, steps_to_s(r, r_ns), steps_to_s(n_flat, r_ns), steps_to_s(r, r_ns), delay_s)
    check_gradient(trap, limits)
    return trap


def readout_trapezoid(
    limits: SystemLimits,
    flat_time_s: float,
    *,
    flat_area_t_s_per_m: float | None = None,
    flat_area_per_m: float | None = None,
    delay_s: float = 0.0,
) -> Trapezoid:
    """A readout :class:`Trapezoid`: given flat-top area and flat time, shortest ramps.

    ``flat_area_per_m`` is typically ``n_samples / fov_m`` (cycles/m); the amplitude is
    ``flat_area / flat_time``.

    Raises
    ------
    LimitError
        If the amplitude exceeds ``max_grad_t_per_m``.
    """
    fa = resolve_area(flat_area_t_s_per_m, flat_area_per_m, limits.gamma_hz_per_t, what="flat_area")
    ft = finite(flat_time_s, "flat_time_s", "s")
    if ft <= 0:
        raise RangeError(f"flat_time_s = {ft!r} s must be > 0 s")
    return trapezoid_for_amplitude(limits, fa / ft, ft, delay_s=delay_s)


def ramp(limits: SystemLimits, from_t_per_m: float, to_t_per_m: float, *, delay_s: float = 0.0) -> ExtendedTrapezoid:
    """The shortest raster ramp from one gradient value to another (an :class:`ExtendedTrapezoid`).

    Takes ``ceil(|to - from| / (S * dt))`` raster steps (at least one).
    """
    g0 = finite(from_t_per_m, "from_t_per_m", "T/m")
    g1 = finite(to_t_per_m, "to_t_per_m", "T/m")
    gmax = limits.max_grad_t_per_m
    for name, v in (("from_t_per_m", g0), ("to_t_per_m", g1)):
        if abs(v) > gmax:
            raise LimitError(f"{name} = {v!r} T/m exceeds max_grad_t_per_m = {gmax!r} T/m")
    r_ns, dt = grad_raster(limits)
    n = max(1, math.ceil(abs(g1 - g0) / (limits.max_slew_t_per_m_per_s * dt) * (1.0 - 1e-12)))
    out = ExtendedTrapezoid([0.0, steps_to_s(n, r_ns)], [g0, g1], delay_s)
    check_gradient(out, limits)
    return out


# ------------------------------------------------------------------------------------------------
# extended trapezoid: exact optimum over raster-edge piecewise-linear waveforms


def _envelopes(
    n: int, g0: float, g1: float, limits: SystemLimits
) -> tuple[NDArray[np.float64], NDArray[np.float64]] | None:
    _, dt = grad_raster(limits)
    gmax, step = limits.max_grad_t_per_m, limits.max_slew_t_per_m_per_s * dt
    k = np.arange(n + 1, dtype=np.float64)
    upper = np.minimum(np.minimum(gmax, g0 + step * k), g1 + step * (n - k))
    lower = np.maximum(np.maximum(-gmax, g0 - step * k), g1 - step * (n - k))
    if np.any(lower > upper):
        return None
    upper[0] = lower[0] = g0
    upper[-1] = lower[-1] = g1
    return lower, upper


def _trapz_area(values: NDArray[np.float64], dt: float) -> float:
    return float(dt * (np.sum(values) - 0.5 * (values[0] + values[-1])))


def _feasible(n: int, area: float, g0: float, g1: float, limits: SystemLimits) -> bool:
    env = _envelopes(n, g0, g1, limits)
    if env is None:
        return False
    _, dt = grad_raster(limits)
    tol = 1e-12 * max(abs(area), limits.max_grad_t_per_m * dt)
    return _trapz_area(env[0], dt) - tol <= area <= _trapz_area(env[1], dt) + tol


def _tent_sum(a: float, c: float, step: float, cap: float, n: NDArray[np.int64]) -> NDArray[np.float64]:
    """``sum_{k=0}^{N} min(cap, a + step*k, c + step*(N - k))`` for every ``N`` in ``n`` (closed form).

    Requires ``a, c <= cap`` and ``|a - c| <= step * N``. Arithmetic series on the rising part, the
    plateau at ``cap`` (if the tent reaches it) and the falling part.
    """
    nf = n.astype(np.float64)
    k1 = (cap - a) / step  # the rising line reaches the cap
    k2 = nf - (cap - c) / step  # the falling line leaves the cap
    kx = (c - a + step * nf) / (2.0 * step)  # the two lines cross
    plateau = k1 < k2
    m_rise = np.where(plateau, math.floor(k1), np.floor(kx))
    m_fall = np.where(plateau, np.ceil(k2), np.floor(kx) + 1.0)
    rise = (m_rise + 1.0) * a + step * m_rise * (m_rise + 1.0) / 2.0
    j = nf - m_fall  # the falling part has j + 1 terms
    fall = (j + 1.0) * c + step * j * (j + 1.0) / 2.0
    flat = np.where(plateau, cap * (m_fall - m_rise - 1.0), 0.0)
    return np.asarray(rise + flat + fall, dtype=np.float64)


def _first_feasible(n_start: int, area: float, g0: float, g1: float, limits: SystemLimits) -> int:
    """The smallest ``N >= n_start`` for which :func:`_feasible` holds (the exact raster optimum).

    Feasibility is not monotone in ``N`` when both ends are non-zero (a longer gradient spends longer
    near its end values, so the largest reachable area can first shrink), hence no bisection: the
    envelope areas of every candidate ``N`` are computed in closed form (:func:`_tent_sum`, vectorised
    over blocks of candidates), and the first candidates that pass with a tolerance well above the
    rounding of the closed form are confirmed by the exact check on the sampled envelopes.
    """
    _, dt = grad_raster(limits)
    gmax, step = limits.max_grad_t_per_m, limits.max_slew_t_per_m_per_s * dt
    lo = n_start
    block = 1024
    while True:
        check_design_length(lo, dt, _area_words(area, limits))
        n = np.arange(lo, lo + block, dtype=np.int64)
        upper = dt * (_tent_sum(g0, g1, step, gmax, n) - 0.5 * (g0 + g1))
        lower = -dt * (_tent_sum(-g0, -g1, step, gmax, n) - 0.5 * (g0 + g1) * -1.0)
        tol = 1e-9 * (np.abs(upper) + np.abs(lower) + gmax * dt * n) + 1e-12 * abs(area)
        candidates = n[(lower - tol <= area) & (area <= upper + tol)]
        for cand in candidates[:64]:
            if _feasible(int(cand), area, g0, g1, limits):
                return int(cand)
        if candidates.size > 64:  # pragma: no cover - the closed form and the samples disagree widely
            raise DesignError(f"no raster gradient found for {_area_words(area, limits)}")
        lo += block
        block = min(2 * block, MAX_DESIGN_SAMPLES)



def shortest_extended_trapezoid(
    limits: SystemLimits,
    *,
    area_t_s_per_m: float | None = None,
    area_per_m: float | None = None,
    g_start_t_per_m: float = 0.0,
    g_end_t_per_m: float = 0.0,
    delay_s: float = 0.0,
) -> ExtendedTrapezoid:
    """The shortest gradient with corners on raster edges that starts at ``g_start``, ends at ``g_end``
    and has a given area.

    Method: for ``N`` steps every feasible waveform lies between the envelopes
    ``u_k = min(G, g0 + S dt k, g1 + S dt (N - k))`` and ``l_k = max(-G, g0 - S dt k, g1 - S dt (N - k))``
    (slew between neighbouring edges, amplitude), and each envelope is itself feasible. ``N`` is the
    smallest with ``area(l) <= A <= area(u)``; the waveform is ``clip(h, l_k, u_k)`` with the level ``h``
    solved exactly (area is piecewise linear in ``h``). Clipping a constant between two slew-limited
    envelopes keeps the slew limit. The result is the exact raster optimum; ramps come out asymmetric
    when the end values differ (compare Pulseq's ``make_extended_trapezoid_area``).

    Returns
    -------
    ExtendedTrapezoid
        Collinear corners merged; times on the gradient raster.
    """
    area = resolve_area(area_t_s_per_m, area_per_m, limits.gamma_hz_per_t)
    g0 = finite(g_start_t_per_m, "g_start_t_per_m", "T/m")
    g1 = finite(g_end_t_per_m, "g_end_t_per_m", "T/m")
    gmax = limits.max_grad_t_per_m
    for name, v in (("g_start_t_per_m", g0), ("g_end_t_per_m", g1)):
        if abs(v) > gmax:
            raise LimitError(f"{name} = {v!r} T/m exceeds max_grad_t_per_m = {gmax!r} T/m")
    r_ns, dt = grad_raster(limits)
    n_lo = max(1, math.ceil(abs(g1 - g0) / (limits.max_slew_t_per_m_per_s * dt) * (1.0 - 1e-12)))
    # No waveform of N steps within |g| <= G holds more than G N dt: a lower bound on N that is known
    # before anything is allocated (and close to the answer for large areas).
    n_area = abs(area) / (gmax * dt) * (1.0 - 1e-9) - 1.0
    check_design_length(max(n_lo, n_area), dt, _area_words(area, limits))
    n = _first_feasible(max(n_lo, math.floor(n_area)), area, g0, g1, limits)
    return _extended_on_steps(n, area, g0, g1, limits, delay_s)


def _extended_on_steps(
    n: int, area: float, g0: float, g1: float, limits: SystemLimits, delay_s: float
) -> ExtendedTrapezoid:
    r_ns, dt = grad_raster(limits)
    env = _envelopes(n, g0, g1, limits)
    if env is None:  # pragma: no cover - callers check feasibility first
        raise DesignError(f"no gradient of {n} raster steps joins {g0!r} T/m to {g1!r} T/m within the slew limit")
    lower, upper = env
    values = _solve_level(lower, upper, area, dt)
    t = np.arange(n + 1, dtype=np.int64) * r_ns
    keep = _corner_mask(values)
    out = ExtendedTrapezoid(t[keep] / 1e9, values[keep], delay_s)
    check_gradient(out, limits)
    return out


def extended_trapezoid_for_duration(
    limits: SystemLimits,
    duration_s: float,
    *,
    area_t_s_per_m: float | None = None,
    area_per_m: float | None = None,
    g_start_t_per_m: float = 0.0,
    g_end_t_per_m: float = 0.0,
    delay_s: float = 0.0,
) -> ExtendedTrapezoid:
    """A raster-edge gradient of a given duration from ``g_start`` to ``g_end`` with a given area.

    Same construction as :func:`shortest_extended_trapezoid` (``clip(h, l_k, u_k)`` between the slew
    envelopes) for a fixed number of steps: the flat level ``h`` is as low as the area allows. Typical
    use: rewinders on several axes that must share the longest axis' duration (compare pypulseq's
    ``make_extended_trapezoid_area(..., duration)``).

    Raises
    ------
    RasterError
        If ``duration_s`` is not a whole number of raster steps.
    LimitError
        If the area or the end values cannot be reached in that time within the limits.
    """
    area = resolve_area(area_t_s_per_m, area_per_m, limits.gamma_hz_per_t)
    g0 = finite(g_start_t_per_m, "g_start_t_per_m", "T/m")
    g1 = finite(g_end_t_per_m, "g_end_t_per_m", "T/m")
    gmax = limits.max_grad_t_per_m
    for name, v in (("g_start_t_per_m", g0), ("g_end_t_per_m", g1)):
        if abs(v) > gmax:
            raise LimitError(f"{name} = {v!r} T/m exceeds max_grad_t_per_m = {gmax!r} T/m")
    r_ns, _ = grad_raster(limits)
    n = _duration_steps(duration_s, r_ns, "duration_s")
    check_design_length(n, r_ns * TICK_S, f"duration_s = {duration_s!r} s")
    if n < 1 or not _feasible(n, area, g0, g1, limits):
        raise LimitError(
            f"no gradient of duration_s = {duration_s!r} s goes from {g0!r} T/m to {g1!r} T/m with area "
            f"{area!r} T*s/m within max_grad_t_per_m = {gmax!r} T/m and max_slew_t_per_m_per_s = "
            f"{limits.max_slew_t_per_m_per_s!r} T/m/s"
        )
    return _extended_on_steps(n, area, g0, g1, limits, delay_s)


def _solve_level(lower: NDArray[np.float64], upper: NDArray[np.float64], area: float, dt: float) -> NDArray[np.float64]:
    """``clip(h, lower, upper)`` with the level ``h`` giving the area (exact: the area is piecewise linear
    in h)."""
    brk = np.unique(np.concatenate((lower, upper)))

    def area_at(h: float) -> float:
        return _trapz_area(np.clip(h, lower, upper), dt)

    if area <= area_at(float(brk[0])):
        return lower.copy()
    if area >= area_at(float(brk[-1])):
        return upper.copy()
    lo, hi = 0, brk.size - 1  # area_at(brk[lo]) < area <= area_at(brk[hi])
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if area_at(float(brk[mid])) < area:
            lo = mid
        else:
            hi = mid
    h0, h1 = float(brk[lo]), float(brk[hi])
    a0, a1 = area_at(h0), area_at(h1)
    h = h0 + (area - a0) * (h1 - h0) / (a1 - a0) if a1 > a0 else h1
    return np.clip(min(max(h, h0), h1), lower, upper)


def _corner_mask(values: NDArray[np.float64]) -> NDArray[np.bool_]:
    """Keep the ends and every point where the slope changes."""
    keep = np.ones(values.size, dtype=bool)
    if values.size > 2:
        d = np.diff(values)
        scale = max(float(np.max(np.abs(values))), 1e-300)
        keep[1:-1] = np.abs(d[1:] - d[:-1]) > 1e-12 * scale
    return keep


# ------------------------------------------------------------------------------------------------
# raster-centre sampled optimum


def _cumulative_area(t: NDArray[np.float64], g: NDArray[np.float64], x: NDArray[np.float64]) -> NDArray[np.float64]:
    """Exact integral from t[0] to x of the piecewise-linear waveform (t, g)."""
    seg_area = 0.5 * (g[1:] + g[:-1]) * np.diff(t)
    cum = np.concatenate(([0.0], np.cumsum(seg_area)))
    j = np.clip(np.searchsorted(t, x, side="right") - 1, 0, t.size - 2)
    tau = x - t[j]
    slope = (g[j + 1] - g[j]) / (t[j + 1] - t[j])
    return np.asarray(cum[j] + g[j] * tau + 0.5 * slope * tau * tau, dtype=np.float64)


def shortest_arbitrary_gradient(
    limits: SystemLimits,
    *,
    area_t_s_per_m: float | None = None,
    area_per_m: float | None = None,
    delay_s: float = 0.0,
) -> ArbitraryGradient:
    """The shortest zero-to-zero gradient on the raster for an area, as raster-centre samples.

    Its duration is exactly ``ceil(T* / dt) * dt`` with ``T*`` the closed form (no waveform on the raster
    can be shorter, since ``(N - 1) dt < T*``). The continuous optimum (triangle or trapezoid) is stretched
    in time by ``f = T* / (N dt) <= 1`` at constant area (amplitude times ``f``, slew times ``f^2``) and
    each sample is its exact mean over the raster cell; means of a slew-limited waveform over adjacent
    cells differ by at most ``S dt``, and the half steps from ``first = 0`` and to ``last = 0`` by at most
    ``S dt / 2``, so the Pulseq piecewise-linear reading of the samples keeps both limits.
    """
    area = resolve_area(area_t_s_per_m, area_per_m, limits.gamma_hz_per_t)
    r_ns, dt = grad_raster(limits)
    gmax, smax = limits.max_grad_t_per_m, limits.max_slew_t_per_m_per_s
    a = abs(area)
    if a == 0.0:
        return ArbitraryGradient(np.zeros(1), dt, delay_s)
    t_star = shortest_trapezoid_duration_s(a, limits)
    check_design_length(t_star / dt, dt, _area_words(area, limits))
    n = max(1, math.ceil(t_star / dt * (1.0 - 1e-12)))
    total = steps_to_s(n, r_ns)
    f = t_star / total
    if a <= gmax * gmax / smax:
        amp, rise = math.sqrt(a * smax), math.sqrt(a / smax)
    else:
        amp, rise = gmax, gmax / smax
    amp, rise = amp * f, rise / f
    flat = max(0.0, total - 2.0 * rise)
    corners_t = np.array([0.0, rise, rise + flat, total]) if flat > 0 else np.array([0.0, total / 2, total])
    corners_g = np.array([0.0, amp, amp, 0.0]) if flat > 0 else np.array([0.0, amp, 0.0])
    edges = np.arange(n + 1, dtype=np.int64) * r_ns / 1e9
    cum = _cumulative_area(corners_t, corners_g, edges)
    samples = np.diff(cum) / dt
    samples *= a / (np.sum(samples) * dt)  # remove the rounding of the stretch; a factor 1 +- 1e-15
    out = ArbitraryGradient(math.copysign(1.0, area) * samples, dt, delay_s)
    if out.max_slew_t_per_m_per_s > smax or out.max_amplitude_t_per_m > gmax:
        # only reachable through rounding right at a limit: shave the last ulps
        out = out.scaled(1.0 - 1e-13)
    check_gradient(out, limits)
    return out
