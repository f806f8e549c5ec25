"""Gradient moments and flow-compensated (first-moment-nulled) bipolar gradients.

The n-th moment of a gradient about a time origin ``t0`` is ``M_n = integral G(t) (t - t0)^n dt``
(units T*s^(n+1)/m; multiply by gamma in Hz/T for cycles/m * s^n). ``M0`` is the area (the k-space
position), ``M1`` the phase of spins moving at constant velocity (flow), ``M2`` acceleration
(Bernstein et al., *Handbook of MRI Pulse Sequences*, 2004, section 10.1, gradient moment nulling).

:func:`gradient_moments` is exact for piecewise-linear gradients (two-point Gauss-Legendre quadrature
per linear segment integrates ``G t^2``, a cubic, exactly) and for raster-centre samples read as cell
means (the reading that makes :attr:`ArbitraryGradient.area_t_s_per_m` Pulseq's area).
"""

from __future__ import annotations

import logging
import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

from wavegen.design.bounds import MAX_SEARCH_SAMPLES, check_design_length
from wavegen.design.gradients import (
    ArbitraryGradient,
    ExtendedTrapezoid,
    Gradient,
    Trapezoid,
    check_gradient,
)
from wavegen.design.splitting import join_gradients
from wavegen.design.trapezoid import (
    grad_raster,
    resolve_area,
    shortest_trapezoid,
    steps_to_s,
    trapezoid_for_duration,
)
from wavegen.errors import DesignError, RangeError, ShapeError
from wavegen.limits import SystemLimits
from wavegen.validate import finite, positive

__all__ = ["gradient_moments", "sampled_moments", "piecewise_linear_moments", "flow_compensated_bipolar"]

logger = logging.getLogger(__name__)

FloatArray = NDArray[np.float64]

_GL2 = np.array([0.5 - 0.5 / math.sqrt(3.0), 0.5 + 0.5 / math.sqrt(3.0)])


def _check_order(max_order: int) -> int:
    if isinstance(max_order, bool) or int(max_order) != max_order or not 0 <= max_order <= 3:
        raise RangeError(f"max_order = {max_order!r} must be an integer from 0 to 3")
    return int(max_order)


def piecewise_linear_moments(
    times_s: ArrayLike, values_t_per_m: ArrayLike, *, t0_s: float = 0.0, max_order: int = 2
) -> FloatArray:
    """Moments ``M_0..M_max_order`` of a piecewise-linear waveform through the given corners.

    Exact (Gauss-Legendre with two points per segment integrates polynomials up to degree 3; with
    ``max_order = 3`` the integrand is quartic and three points are used).

    Returns
    -------
    ndarray
        Shape ``(max_order + 1,)``; ``M_n`` in T*s^(n+1)/m.
    """
    order = _check_order(max_order)
    t = np.asarray(times_s, dtype=np.float64) - finite(t0_s, "t0_s", "s")
    g = np.asarray(values_t_per_m, dtype=np.float64)
    if t.ndim != 1 or t.shape != g.shape or t.size < 2:
        raise ShapeError(
            f"times_s and values_t_per_m must be 1-D of equal length >= 2, got {t.shape}, {g.shape}"
        )
    if order <= 2:
        x, w = _GL2, np.array([0.5, 0.5])
    else:
        xs, ws = np.polynomial.legendre.leggauss(3)
        x, w = 0.5 * (xs + 1.0), 0.5 * ws
    dt = np.diff(t)
    tq = t[:-1, None] + dt[:, None] * x[None, :]
    gq = g[:-1, None] + (g[1:] - g[:-1])[:, None] * x[None, :]
    out = np.empty(order + 1)
    with np.errstate(over="ignore", invalid="ignore"):
        for n in range(order + 1):
            out[n] = float(np.sum((gq * tq**n) @ w * dt))
    if not np.all(np.isfinite(out)):
        raise RangeError(
            f"the moments about t0_s = {t0_s!r} s overflow (times up to {float(np.max(np.abs(t))):.3g} s from t0_s)"
        )
    return out


def sampled_moments(
    g_t_per_m: ArrayLike, raster_s: float, *, t0_s: float = 0.0, max_order: int = 2
) -> FloatArray:
    """Moments of raster-centre samples read as cell means (zero-order hold), exact for that reading.

    Sample ``i`` covers ``[i dt, (i + 1) dt)`` (plus the shift ``-t0_s``).

    Parameters
    ----------
    g_t_per_m
        Samples, shape (N,) or (N, n_axes), T/m.
    raster_s
        Sample period, s.

    Returns
    -------
    ndarray
        Shape ``(max_order + 1,)`` or ``(max_order + 1, n_axes)``; ``M_n`` in T*s^(n+1)/m.
    """
    order = _check_order(max_order)
    g = np.asarray(g_t_per_m, dtype=np.float64)
    dt = positive(raster_s, "raster_s", "s")
    t0 = finite(t0_s, "t0_s", "s")
    edges = np.arange(g.shape[0] + 1, dtype=np.float64) * dt - t0
    rows = []
    for n in range(order + 1):
        w = (edges[1:] ** (n + 1) - edges[:-1] ** (n + 1)) / (n + 1)
        rows.append(np.tensordot(w, g, axes=(0, 0)))
    return np.asarray(np.stack(rows), dtype=np.float64)


def gradient_moments(grad: Gradient, *, t0_s: float = 0.0, max_order: int = 2) -> FloatArray:
    """Moments ``[M0, M1, M2]`` of a gradient event about ``t0_s`` (time from the block start).

    Trapezoids and extended trapezoids are integrated exactly as piecewise-linear waveforms; an
    :class:`ArbitraryGradient` as cell means (so ``M0`` is its Pulseq area).

    Returns
    -------
    ndarray
        Shape ``(max_order + 1,)``; ``M_n`` in T*s^(n+1)/m.

    Examples
    --------
    >>> from wavegen.design.gradients import Trapezoid
    >>> m = gradient_moments(Trapezoid(0.01, 1e-4, 0.0, 1e-4))  # triangle, centroid at 100 us
    >>> bool(abs(m[1] / m[0] - 1e-4) < 1e-15)
    True
    """
    if isinstance(grad, ArbitraryGradient):
        return sampled_moments(
            grad.samples_t_per_m, grad.raster_s, t0_s=t0_s - grad.delay_s, max_order=max_order
        )
    if isinstance(grad, (Trapezoid, ExtendedTrapezoid)):
        t, g = grad.corners(include_delay=True)
        return piecewise_linear_moments(t, g, t0_s=t0_s, max_order=max_order)
    raise ShapeError(
        f"gradient_moments needs a Trapezoid, ExtendedTrapezoid or ArbitraryGradient, got {type(grad)}"
    )


def flow_compensated_bipolar(
    limits: SystemLimits,
    *,
    m0_t_s_per_m: float | None = None,
    m0_per_m: float | None = None,
    m1_t_s2_per_m: float = 0.0,
    delay_s: float = 0.0,
) -> ExtendedTrapezoid:
    """The shortest pair of back-to-back raster trapezoids with a given ``M0`` and ``M1``.

    Moments are taken about the start of the first lobe (``t = delay_s`` from the block start);
    ``m1_t_s2_per_m = 0`` (the default) is flow compensation: spins moving at constant velocity get no
    phase. Typical uses: a flow-compensated readout prephaser (``M0 = -flat_area / 2``) or a
    slice-select refocuser; to compensate what precedes the bipolar, pass the opposite of the
    preceding moments (re-referenced to the bipolar's start) as targets.

    Method: for symmetric lobes of ``N1`` and ``N2`` raster steps, ``M0 = a1 + a2`` and
    ``M1 = a1 T1/2 + a2 (T1 + T2/2)`` fix the lobe areas ``a2 = (M1 - M0 T1/2) / ((T1 + T2)/2)`` and
    ``a1 = M0 - a2``; the shortest total ``N1 + N2`` for which both fit
    (:func:`~wavegen.design.trapezoid.max_trapezoid_area_t_s_per_m`) is found by exact search, and
    each lobe is then the lowest-amplitude trapezoid of its length (:func:`trapezoid_for_duration`).

    Returns
    -------
    ExtendedTrapezoid
        The two lobes joined (corners on the gradient raster), checked against the limits.
    """
    m0 = resolve_area(m0_t_s_per_m, m0_per_m, limits.gamma_hz_per_t, what="m0")
    m1 = finite(m1_t_s2_per_m, "m1_t_s2_per_m", "T*s^2/m")
    if m0 == 0.0 and m1 == 0.0:
        raise DesignError("M0 = 0 and M1 = 0 need no gradient")
    r_ns, dt = grad_raster(limits)
    gmax = limits.max_grad_t_per_m
    words = f"M0 = {m0:.6g} T*s/m and M1 = {m1:.6g} T*s^2/m"
    # within |g| <= G a gradient of duration T holds |M0| <= G T and |M1| <= G T^2 / 2: a lower bound on
    # the length, checked before anything is allocated
    n_bound = max(abs(m0) / gmax, math.sqrt(2.0 * abs(m1) / gmax)) / dt * (1.0 - 1e-9) - 1.0
    check_design_length(n_bound, dt, words, limit=MAX_SEARCH_SAMPLES)
    n_min = max(4, math.floor(n_bound))
    if m0 != 0.0:
        n_min = max(n_min, round(shortest_trapezoid(limits, area_t_s_per_m=m0).duration_s / dt))
    caps = _trapezoid_caps(max(64, 4 * n_min), limits)

    def split(n: int) -> tuple[int, float, float] | None:
        """The best split of ``n`` steps into two lobes (most headroom), or None if none fits."""
        nonlocal caps
        if n >= caps.size:
            caps = _trapezoid_caps(2 * n, limits)
        n1 = np.arange(2, n - 1)
        t1, t2 = n1 * dt, (n - n1) * dt
        a2 = (m1 - m0 * t1 / 2.0) / ((t1 + t2) / 2.0)
        a1 = m0 - a2
        tol = 1e-12 * np.maximum(np.abs(a1), np.abs(a2))
        c1, c2 = caps[n1], caps[n - n1]
        ok = (np.abs(a1) <= c1 + tol) & (np.abs(a2) <= c2 + tol)
        if not np.any(ok):
            return None
        # among the splits that fit, the one with the most headroom (lowest amplitudes)
        slack = np.where(ok, np.minimum(c1 - np.abs(a1), c2 - np.abs(a2)), -np.inf)
        i = int(np.argmax(slack))
        return int(n1[i]), float(a1[i]), float(a2[i])

    # the first n that fits: scan a few steps, then gallop and bisect (a longer pair never holds less),
    # and confirm that the few lengths just below the answer do not fit either
    n = n_min
    found = None
    for n in range(n_min, n_min + 4):
        found = split(n)
        if found is not None:
            break
    else:
        lo, step = n, 4
        while split(n_min + step) is None:
            lo = n_min + step
            step *= 2
            check_design_length(n_min + step, dt, words, limit=MAX_SEARCH_SAMPLES)
        hi = n_min + step
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (lo, mid) if split(mid) is not None else (mid, hi)
        n = hi
        while n - 1 >= n_min and split(n - 1) is not None:  # pragma: no cover - feasibility is monotone
            n -= 1
        found = split(n)
    assert found is not None
    n1_best, a1_best, a2_best = found
    lobe1 = _lobe(limits, n1_best, a1_best, r_ns)
    lobe2 = _lobe(limits, n - n1_best, a2_best, r_ns)
    out = join_gradients(lobe1, lobe2).with_delay(delay_s)
    check_gradient(out, limits)
    return out


def _trapezoid_caps(n_max: int, limits: SystemLimits) -> FloatArray:
    """:func:`max_trapezoid_area_t_s_per_m` for 0..n_max steps (vectorized, same candidates)."""
    _, dt = grad_raster(limits)
    g, s = limits.max_grad_t_per_m, limits.max_slew_t_per_m_per_s
    x = g / (s * dt)
    n = np.arange(n_max + 1)
    half = n // 2
    best = np.zeros(n_max + 1)
    for r0 in (math.floor(x), math.ceil(x)):
        r = np.maximum(1, np.minimum(half, r0))
        area = np.minimum(g, s * r * dt) * dt * (n - r)
        best = np.maximum(best, area)
    best[n < 2] = 0.0
    return best


def _lobe(limits: SystemLimits, n: int, area: float, r_ns: int) -> Trapezoid:
    try:
        return trapezoid_for_duration(limits, steps_to_s(n, r_ns), area_t_s_per_m=area)
    except DesignError:
        # the area sits within rounding of the lobe's capacity: use the largest lobe, scaled
        shortest = shortest_trapezoid(limits, area_t_s_per_m=area)
        if round(shortest.duration_s / (r_ns * 1e-9)) == n:
            return shortest
        raise
