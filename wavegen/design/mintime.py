"""Time-optimal gradient waveforms along a fixed k-space path.

:func:`min_time_gradient` follows Lustig, Kim and Pauly, "A fast method for designing time-optimal
gradient waveforms for arbitrary k-space trajectories", IEEE TMI 2008;27(6):866-873
(doi:10.1109/TMI.2008.922699): the path is parametrised by arc length ``s``; the speed ``v = ds/dt``
is bounded by the gradient amplitude (``|C'(s)| v <= gamma G``) and by the curvature
(``|C''(s)| v^2 <= gamma S``); a forward pass accelerates as fast as the slew limit allows from the
start speed, a backward pass decelerates into the end speed, and the pointwise minimum is the
time-optimal speed profile.

What is done differently from the published method (and from sigpy's port):

- The passes are discretised *conservatively and exactly* instead of with RK4: on each arc-length
  segment the tangential acceleration is constant (so ``v^2`` is linear in ``s``) and the step solves
  in closed form for the largest end speed that keeps ``|k''| <= gamma S`` at both segment ends with the
  larger curvature of the two and the larger speed of the two. The result satisfies its own
  discrete model exactly; the minimum of the two passes provably stays feasible.
- Gamma is honoured everywhere (``k`` in cycles/m, ``k' = gamma g``, gamma in Hz/T).
- Both limit kinds: ``constraint="euclidean"`` (rotation invariant, ``|g| <= G`` and ``|dg/dt| <= S``
  as vector norms) and ``constraint="per_axis"`` (each axis separately, Lustig's "RV" variant).
- The duration is rounded up to the raster by slowing the whole profile (time stretch), and each output
  sample is the exact mean of the continuous gradient over its raster cell, ``(k(t_{i+1}) - k(t_i)) /
  (gamma dt)``: the sum of the samples times ``gamma dt`` reproduces the path at every raster edge, and
  means over adjacent cells cannot differ by more than ``S dt``, so the sampled waveform keeps the
  limits that the continuous one keeps. A final exact check on the samples (including the half
  steps from ``g_start`` and to ``g_end``) guards the result; a design margin absorbs the spline
  interpolation between arc-length samples and is enlarged automatically if the check fails.
- Sharp corners of the path (turning angle above ``corner_angle_rad`` between consecutive chords,
  e.g. EPI) are kept sharp: the path is split there and the speed is zero at each corner.

The speed-profile passes (:mod:`wavegen.design.mintime_kernel`) run in C (``native/mintime.c``), with a
Python reference (:func:`speed_profile_reference`) used when the extension is missing.
"""

from __future__ import annotations

import logging
import math
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.interpolate import CubicHermiteSpline, CubicSpline

from wavegen.design.bounds import MAX_SEARCH_SAMPLES, check_design_length
from wavegen.design.gradients import LIMIT_RTOL, ArbitraryGradient
from wavegen.design.mintime_kernel import speed_profile, speed_profile_reference
from wavegen.errors import DesignError, LimitError, RangeError, ShapeError
from wavegen.limits import SystemLimits
from wavegen.validate import as_2d_float, non_negative

__all__ = [
    "min_time_gradient",
    "gradient_events",
    "gradient_to_k",
    "speed_profile",
    "speed_profile_reference",
    "sampled_limit_excess",
]

logger = logging.getLogger(__name__)

FloatArray = NDArray[np.float64]

# Gauss-Legendre nodes/weights on [0, 1] for arc-length integrals (exact for degree 7)
_GL_X, _GL_W = np.polynomial.legendre.leggauss(4)
_GL_X = 0.5 * (_GL_X + 1.0)
_GL_W = 0.5 * _GL_W


# ------------------------------------------------------------------------------------------------
# geometry


def _rownorm(a: FloatArray) -> FloatArray:
    """Euclidean norm of each row (faster than np.linalg.norm for a few columns)."""
    return np.asarray(np.sqrt(np.einsum("ij,ij->i", a, a)), dtype=np.float64)


def _rowdot(a: FloatArray, b: FloatArray) -> FloatArray:
    return np.asarray(np.einsum("ij,ij->i", a, b), dtype=np.float64)


class _Piece:
    """One smooth piece of the path, with an arc-length grid and its geometry."""

    def __init__(self, pts: FloatArray, ds_target: float) -> None:
        chords = _rownorm(np.diff(pts, axis=0))
        p = np.concatenate(([0.0], np.cumsum(chords)))
        self.spline = CubicSpline(p, pts, axis=0) if pts.shape[0] > 2 else None
        self.pts = pts
        self.p_knots = p
        if self.spline is None:
            length = float(p[-1])
            s_knots = p
        else:
            d1 = self.spline.derivative(1)
            dp = np.diff(p)
            xq = p[:-1, None] + dp[:, None] * _GL_X[None, :]
            speed = _rownorm(d1(xq.ravel())).reshape(xq.shape)
            seg_len = (speed * _GL_W[None, :]).sum(axis=1) * dp
            s_knots = np.concatenate(([0.0], np.cumsum(seg_len)))
            length = float(s_knots[-1])
        self.length = length
        n_in = pts.shape[0] - 1
        n_seg = max(int(math.ceil(length / ds_target)), n_in if self.spline is not None else 1, 4)
        s_target = np.linspace(0.0, length, n_seg + 1)
        p_grid = np.interp(s_target, s_knots, p)
        p_grid[0], p_grid[-1] = p[0], p[-1]
        self.p_grid = p_grid
        if self.spline is None:
            direction = (pts[1] - pts[0]) / length
            n_axes = pts.shape[1]
            self.h = np.diff(p_grid)
            self.tangent = np.tile(direction, (p_grid.size, 1))
            self.normal = np.zeros((p_grid.size, n_axes))
            self.normal_mid = np.zeros((p_grid.size - 1, n_axes))
            self.kappa_inner = np.zeros(p_grid.size - 1)
            self.dp_ds = np.ones(p_grid.size)
        else:
            d1 = self.spline.derivative(1)
            d2 = self.spline.derivative(2)

            def geometry(pp: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
                c1 = d1(pp)
                c2 = d2(pp)
                sp = _rownorm(c1)
                if np.any(sp <= 0):
                    raise DesignError(
                        "the k-space path has a point of zero speed in its spline; remove repeated points"
                    )
                t = c1 / sp[:, None]
                return t, (c2 - _rowdot(t, c2)[:, None] * t) / (sp * sp)[:, None], sp

            # refine where the curvature between two grid points exceeds that at both ends: a tight
            # bend inside one segment would otherwise be missed by the conservative step
            # the spline's knots join the grid (curvature has kinks there)
            p_grid = np.union1d(p_grid, p)
            p_grid = p_grid[np.concatenate(([True], np.diff(p_grid) > 1e-9 * p[-1]))]
            p_grid[-1] = p[-1]
            tangent, normal, sp = geometry(p_grid)
            fr = np.array([0.25, 0.5, 0.75])

            def interior(lo: FloatArray, hi: FloatArray) -> FloatArray:
                """Largest |normal| (norm and per axis) at 3 interior points of each segment."""
                pp = (lo[:, None] + (hi - lo)[:, None] * fr[None, :]).ravel()
                _, nn, _ = geometry(pp)
                nn = nn.reshape(lo.size, fr.size, -1)
                return np.concatenate(
                    (
                        np.max(np.abs(nn), axis=1),
                        np.max(np.sqrt(np.einsum("ijk,ijk->ij", nn, nn)), axis=1)[:, None],
                    ),
                    axis=1,
                )

            def at_ends(nrm: FloatArray) -> FloatArray:
                a = np.concatenate((np.abs(nrm), _rownorm(nrm)[:, None]), axis=1)
                return np.asarray(np.maximum(a[:-1], a[1:]))

            inner = interior(p_grid[:-1], p_grid[1:])
            floor = 1e-6 * float(np.max(inner[:, -1])) + 1e-300
            for _ in range(30):
                # split segments whose curvature inside exceeds that at both ends: a tight bend inside one
                # segment would otherwise be missed by the conservative step
                bad = np.any(inner > at_ends(normal) * (1.0 + 1e-3) + floor, axis=1)
                if not np.any(bad) or p_grid.size > 64 * (n_seg + 1):
                    break
                b = np.flatnonzero(bad)
                mid = 0.5 * (p_grid[b] + p_grid[b + 1])
                t_m, n_m, sp_m = geometry(mid)
                left = interior(p_grid[b], mid)
                right = interior(mid, p_grid[b + 1])
                p_grid = np.insert(p_grid, b + 1, mid)
                tangent = np.insert(tangent, b + 1, t_m, axis=0)
                normal = np.insert(normal, b + 1, n_m, axis=0)
                sp = np.insert(sp, b + 1, sp_m)
                inner[b] = left
                inner = np.insert(inner, b + 1, right, axis=0)
            n_mid = inner[:, :-1]  # per-axis bound inside each segment
            self.kappa_inner = inner[:, -1]  # norm bound inside each segment
            self.p_grid = p_grid
            dp = np.diff(p_grid)
            xq = p_grid[:-1, None] + dp[:, None] * _GL_X[None, :]
            speed = _rownorm(d1(xq.ravel())).reshape(xq.shape)
            self.h = (speed * _GL_W[None, :]).sum(axis=1) * dp
            self.tangent = tangent
            self.normal = normal
            self.normal_mid = n_mid
            self.dp_ds = 1.0 / sp
        self.s_grid = np.concatenate(([0.0], np.cumsum(self.h)))
        self.length = float(self.s_grid[-1])

    def position(self, s: FloatArray) -> FloatArray:
        """Points on the path at arc length ``s``."""
        if self.spline is None:
            frac = np.clip(s / self.length, 0.0, 1.0)
            return self.pts[0] + frac[:, None] * (self.pts[1] - self.pts[0])
        p_of_s = CubicHermiteSpline(self.s_grid, self.p_grid, self.dp_ds)
        return np.asarray(self.spline(p_of_s(np.clip(s, 0.0, self.length))), dtype=np.float64)


def _split_at_corners(k: FloatArray, corner_angle_rad: float) -> list[FloatArray]:
    chords = np.diff(k, axis=0)
    norms = _rownorm(chords)
    unit = chords / norms[:, None]
    cosang = _rowdot(unit[1:], unit[:-1])
    corners = np.flatnonzero(cosang < math.cos(corner_angle_rad)) + 1
    pieces = []
    start = 0
    for c in corners:
        pieces.append(k[start : c + 1])
        start = int(c)
    pieces.append(k[start:])
    return pieces


# ------------------------------------------------------------------------------------------------
# the design


def gradient_to_k(
    g_t_per_m: ArrayLike, raster_s: float, gamma_hz_per_t: float, *, k0_per_m: ArrayLike | float = 0.0
) -> FloatArray:
    """k-space at the raster edges of a raster-centre sampled gradient, cycles/m.

    ``k[i] = k0 + gamma * dt * sum(g[:i])``; shape ``(M + 1, n_axes)`` for ``g`` of shape ``(M, n_axes)``.
    """
    g = np.asarray(g_t_per_m, dtype=np.float64)
    cum = np.cumsum(g, axis=0) * (gamma_hz_per_t * raster_s)
    zero = np.zeros((1,) + g.shape[1:])
    return np.asarray(np.concatenate((zero, cum), axis=0) + np.asarray(k0_per_m, dtype=np.float64))


def gradient_events(
    g_t_per_m: ArrayLike,
    raster_s: float,
    *,
    first_t_per_m: ArrayLike | None = None,
    last_t_per_m: ArrayLike | None = None,
) -> list[ArbitraryGradient]:
    """One :class:`ArbitraryGradient` per axis from raster-centre samples of shape (M, n_axes).

    ``first_t_per_m`` defaults to 0 on every axis (a waveform starting from rest) and ``last_t_per_m``
    to the last sample of each axis (a flat half step into whatever follows, e.g. a rewinder from
    :func:`~wavegen.design.trapezoid.shortest_extended_trapezoid` starting at that value).
    """
    g = np.asarray(g_t_per_m, dtype=np.float64)
    if g.ndim == 1:
        g = g[:, None]
    if g.ndim != 2 or g.shape[0] == 0:
        raise ShapeError(f"g_t_per_m must have shape (M, n_axes) with M >= 1, got {g.shape}")
    n_axes = g.shape[1]
    first = np.zeros(n_axes) if first_t_per_m is None else np.broadcast_to(np.asarray(first_t_per_m, float), n_axes)
    last = g[-1] if last_t_per_m is None else np.broadcast_to(np.asarray(last_t_per_m, float), n_axes)
    return [
        ArbitraryGradient(g[:, i], raster_s, first_t_per_m=float(first[i]), last_t_per_m=float(last[i]))
        for i in range(n_axes)
    ]


def sampled_limit_excess(
    g_t_per_m: ArrayLike,
    limits: SystemLimits,
    *,
    constraint: Literal["euclidean", "per_axis"] = "euclidean",
    first_t_per_m: ArrayLike | None = None,
    last_t_per_m: ArrayLike | None = None,
) -> tuple[float, float]:
    """Worst amplitude and slew of a raster-centre sampled gradient as fractions of the limits.

    The waveform is read as Pulseq does: linear between samples, with half steps from ``first`` (at
    ``t = 0``) and to ``last`` (at the end) when given. Vector norms for ``"euclidean"``, the worst
    axis for ``"per_axis"``.

    Returns
    -------
    tuple of float
        ``(max amplitude / max_grad, max slew / max_slew)``.
    """
    g = np.asarray(g_t_per_m, dtype=np.float64)
    if g.ndim == 1:
        g = g[:, None]
    dt = limits.grad_raster_s
    slews = [np.diff(g, axis=0) / dt]
    if first_t_per_m is not None:
        slews.append((g[:1] - np.asarray(first_t_per_m, dtype=np.float64).reshape(1, -1)) / (dt / 2))
    if last_t_per_m is not None:
        slews.append((np.asarray(last_t_per_m, dtype=np.float64).reshape(1, -1) - g[-1:]) / (dt / 2))
    slew = np.concatenate(slews, axis=0)

    def norm(x: FloatArray) -> FloatArray:
        if constraint == "euclidean":
            return np.asarray(np.linalg.norm(x, axis=1))
        return np.asarray(np.max(np.abs(x), axis=1))

    amp = float(np.max(norm(g))) if g.size else 0.0
    sl = float(np.max(norm(slew))) if slew.size else 0.0
    return amp / limits.max_grad_t_per_m, sl / limits.max_slew_t_per_m_per_s


def _validate_path(k_per_m: ArrayLike) -> FloatArray:
    k = as_2d_float(k_per_m, "k_per_m", "1/m", columns=(1, 2, 3), min_rows=2)
    # drop repeated points (zero-length chords)
    step = _rownorm(np.diff(k, axis=0))
    scale = max(float(np.max(np.abs(k))), 1e-300)
    keep = np.concatenate(([True], step > 1e-12 * scale))
    k = k[keep]
    if k.shape[0] < 2:
        raise ShapeError("k_per_m has fewer than 2 distinct points: the path has no length")
    return k


def _design(
    pieces: list[_Piece],
    limits_g: float,
    limits_s: float,
    gamma: float,
    g_start: float,
    g_end: float | None,
    per_axis: bool,
    use_native: bool | None,
) -> tuple[list[FloatArray], list[FloatArray]]:
    """Speed profiles ``u`` and segment times per piece."""
    vmax = gamma * limits_g
    acc = gamma * limits_s
    us: list[FloatArray] = []
    ts: list[FloatArray] = []
    last = len(pieces) - 1
    for ip, pc in enumerate(pieces):
        n = pc.s_grid.size
        with np.errstate(divide="ignore", over="ignore"):
            if per_axis:
                tmax = np.max(np.abs(pc.tangent), axis=1)
                ua = (vmax / tmax) ** 2
                nmax = np.max(np.abs(pc.normal), axis=1)
                nmid = np.max(np.abs(pc.normal_mid), axis=1)
            else:
                ua = np.full(n, vmax * vmax)
                nmax = _rownorm(pc.normal)
                nmid = pc.kappa_inner
            kseg = np.maximum(np.maximum(nmax[:-1], nmax[1:]), nmid)
            useg = np.minimum(acc / kseg, np.minimum(ua[:-1], ua[1:]))
        umax = np.minimum(ua, np.inf)
        umax[:-1] = np.minimum(umax[:-1], useg)
        umax[1:] = np.minimum(umax[1:], useg)
        u0 = (gamma * g_start) ** 2 if ip == 0 else 0.0
        if ip == 0 and u0 > umax[0] * (1 + 1e-9):
            raise DesignError(
                f"g_start_t_per_m = {g_start!r} T/m is faster than the path allows at its start "
                f"({math.sqrt(umax[0]) / gamma!r} T/m at the limits)"
            )
        u_end: float | None
        if ip < last:
            u_end = 0.0
        else:
            u_end = None if g_end is None else (gamma * g_end) ** 2
        if per_axis:
            u = speed_profile(
                pc.h,
                umax,
                u0,
                u_end,
                np.full(pc.tangent.shape[1], acc),
                tangent=pc.tangent,
                normal=pc.normal,
                use_native=use_native,
            )
        else:
            u = speed_profile(pc.h, umax, u0, u_end, acc, kappa_seg=kseg, use_native=use_native)
        if ip == 0 and abs(u[0] - u0) > 1e-9 * max(u0, 1e-300) and u0 > 0:
            raise DesignError(f"cannot start the path at g_start_t_per_m = {g_start!r} T/m within the limits")
        if ip == last and g_end is not None and u_end is not None and u[-1] < u_end * (1 - 1e-9):
            raise DesignError(
                f"cannot reach g_end_t_per_m = {g_end!r} T/m at the end of the path within the limits "
                f"(at most {math.sqrt(u[-1]) / gamma!r} T/m)"
            )
        v = np.sqrt(u)
        vs = v[:-1] + v[1:]
        if np.any(vs <= 0):
            raise DesignError("the speed profile stalls (zero speed on a segment); is the path degenerate?")
        us.append(u)
        ts.append(2.0 * pc.h / vs)
    return us, ts


def _positions(
    pieces: list[_Piece], us: list[FloatArray], ts: list[FloatArray], t_query: FloatArray, stretch: float
) -> FloatArray:
    """Path points at (stretched) times ``t_query``."""
    t_q = t_query * stretch  # back to the unstretched clock
    out = np.empty((t_q.size, pieces[0].pts.shape[1]))
    offset = 0.0
    for ip, (pc, u, dtseg) in enumerate(zip(pieces, us, ts, strict=True)):
        tcum = np.concatenate(([0.0], np.cumsum(dtseg))) + offset
        end = tcum[-1]
        sel = (t_q >= offset) & ((t_q < end) if ip < len(pieces) - 1 else np.ones_like(t_q, dtype=bool))
        tt = t_q[sel]
        j = np.clip(np.searchsorted(tcum, tt, side="right") - 1, 0, dtseg.size - 1)
        tau = np.clip(tt - tcum[j], 0.0, dtseg[j])
        v0 = np.sqrt(u[j])
        a = (u[j + 1] - u[j]) / (2.0 * pc.h[j])
        s = pc.s_grid[j] + v0 * tau + 0.5 * a * tau * tau
        s = np.minimum(s, pc.s_grid[j + 1])
        out[sel] = pc.position(s)
        offset = end
    return out


def min_time_gradient(
    k_per_m: ArrayLike,
    limits: SystemLimits,
    *,
    g_start_t_per_m: float = 0.0,
    g_end_t_per_m: float | None = None,
    constraint: Literal["euclidean", "per_axis"] = "euclidean",
    corner_angle_rad: float = math.pi / 4,
    use_native: bool | None = None,
) -> FloatArray:
    """The time-optimal gradient along a fixed k-space path (Lustig, Kim, Pauly, IEEE TMI 2008).

    Parameters
    ----------
    k_per_m
        The path, shape (N, 2) or (N, 3) (or (N, 1)), cycles/m (``k = gamma * integral g dt``, gamma in
        Hz/T, Pulseq's convention), in any parametrisation; it is interpolated by a cubic spline
        through the points (each smooth piece between corners separately).
    limits
        ``max_grad_t_per_m``, ``max_slew_t_per_m_per_s``, ``grad_raster_s``, ``gamma_hz_per_t``.
    g_start_t_per_m
        Gradient magnitude at the start, along the direction of travel, T/m (>= 0).
    g_end_t_per_m
        Gradient magnitude wanted at the end, T/m, or ``None`` to leave the end free (as fast as
        possible).
    constraint
        ``"euclidean"``: vector norms of the gradient and the slew are limited (rotation invariant);
        ``"per_axis"``: each axis separately.
    corner_angle_rad
        Turning angles between consecutive chords above this are sharp corners (the speed is zero there).
    use_native
        Force the C kernel on (if built) or off; default: C when available.

    Returns
    -------
    ndarray
        Gradient samples at raster centres, shape ``(M, n_axes)``, T/m; the duration is ``M *
        grad_raster_s``. ``gradient_to_k(g, dt, gamma, k0_per_m=k[0])`` reproduces the path at the raster
        edges and ends at ``k[-1]``.

    Raises
    ------
    LimitError, DesignError
        If ``g_start``/``g_end`` exceed the limits or the path cannot be followed.
    """
    if constraint not in ("euclidean", "per_axis"):
        raise RangeError(f"constraint must be 'euclidean' or 'per_axis', got {constraint!r}")
    k = _validate_path(k_per_m)
    gamma = limits.gamma_hz_per_t
    gmax, smax, dt = limits.max_grad_t_per_m, limits.max_slew_t_per_m_per_s, limits.grad_raster_s
    g0 = non_negative(g_start_t_per_m, "g_start_t_per_m", "T/m")
    if g0 > gmax:
        raise LimitError(f"g_start_t_per_m = {g0!r} T/m exceeds max_grad_t_per_m = {gmax!r} T/m")
    g1: float | None = None
    if g_end_t_per_m is not None:
        g1 = non_negative(g_end_t_per_m, "g_end_t_per_m", "T/m")
        if g1 > gmax:
            raise LimitError(f"g_end_t_per_m = {g1!r} T/m exceeds max_grad_t_per_m = {gmax!r} T/m")
    per_axis = constraint == "per_axis"
    # The path cannot be travelled faster than gamma G (sqrt(n_axes) gamma G per axis), so its chord
    # length bounds the number of samples from below before any grid is allocated.
    chord_per_m = float(np.sum(_rownorm(np.diff(k, axis=0))))
    top_speed = gamma * gmax * (math.sqrt(k.shape[1]) if per_axis else 1.0)
    path_words = f"a k-space path of length {chord_per_m:.6g} 1/m (cycles/m)"
    check_design_length(chord_per_m / (top_speed * dt), dt, path_words, limit=MAX_SEARCH_SAMPLES)
    raw_pieces = _split_at_corners(k, corner_angle_rad) if k.shape[0] > 2 else [k]
    ds_target = gamma * gmax * dt / 2.0
    pieces = [_Piece(p, ds_target) for p in raw_pieces]

    direction0 = pieces[0].tangent[0]
    direction1 = pieces[-1].tangent[-1]
    margin = 1e-4
    for _attempt in range(5):
        scale = 1.0 - margin
        us, ts = _design(pieces, gmax * scale, smax * scale, gamma, g0, g1, per_axis, use_native)
        total = float(sum(float(np.sum(t)) for t in ts))
        m = max(1, math.ceil(total / dt * (1.0 - 1e-12)))
        check_design_length(m, dt, path_words, limit=MAX_SEARCH_SAMPLES)
        stretch = total / (m * dt)  # <= 1: slow the whole profile down to a whole number of steps
        if (g0 > 0 or (g1 is not None and g1 > 0)) and stretch < 1.0 - 1e-12:
            us, ts, stretch = _stretch_fixed_ends(
                pieces, gmax * scale, smax * scale, gamma, g0, g1, per_axis, use_native, m * dt
            )
        edges = np.arange(m + 1, dtype=np.float64) * dt
        pos = _positions(pieces, us, ts, edges, stretch)
        pos[0], pos[-1] = k[0], k[-1]
        g = np.diff(pos, axis=0) / (gamma * dt)
        first = g0 * direction0
        last = None if g1 is None else g1 * direction1
        amp, slew = sampled_limit_excess(g, limits, constraint=constraint, first_t_per_m=first, last_t_per_m=last)
        if amp <= 1.0 + LIMIT_RTOL and slew <= 1.0 + LIMIT_RTOL:
            logger.debug("min_time_gradient: %d samples, margin %g, amp %.6f slew %.6f", m, margin, amp, slew)
            return np.asarray(g, dtype=np.float64)
        logger.debug("min_time_gradient: margin %g gave amplitude %.9f, slew %.9f of the limits", margin, amp, slew)
        margin *= 5.0  # 1e-4, 5e-4, 2.5e-3, 1.25e-2, 6.25e-2
    raise DesignError(
        f"min_time_gradient could not meet the limits on the raster (amplitude {amp:.6f}, slew {slew:.6f} "
        "of the limits); the path may be too finely wiggled for the gradient raster"
    )


def _stretch_fixed_ends(
    pieces: list[_Piece],
    gmax: float,
    smax: float,
    gamma: float,
    g0: float,
    g1: float | None,
    per_axis: bool,
    use_native: bool | None,
    target_s: float,
) -> tuple[list[FloatArray], list[FloatArray], float]:
    """Slow a profile with fixed non-zero end speeds to last ``target_s`` by lowering the limits
    (bisection on a factor c: limits c G and c^2 S)."""
    lo, hi = 0.0, 1.0  # factor c: limits (c G, c^2 S); duration decreases with c
    best: tuple[list[FloatArray], list[FloatArray], float] | None = None
    for _ in range(60):
        c = 0.5 * (lo + hi)
        if c * gmax < max(g0, g1 or 0.0):
            lo = c
            continue
        try:
            us, ts = _design(pieces, c * gmax, c * c * smax, gamma, g0, g1, per_axis, use_native)
        except DesignError:
            lo = c
            continue
        total = float(sum(float(np.sum(t)) for t in ts))
        if total <= target_s:
            best = (us, ts, total / target_s)
            hi = c  # fast enough: try lower limits (longer) to land just under the target
            if total >= target_s * (1.0 - 1e-12):
                break
        else:
            lo = c
    if best is None:
        raise DesignError("could not fit the path with fixed end gradients to the raster")
    return best
