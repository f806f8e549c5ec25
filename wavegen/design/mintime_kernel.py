"""Speed-profile kernel of :func:`~wavegen.design.mintime.min_time_gradient`: the forward and backward
passes of Lustig, Kim and Pauly (IEEE TMI 2008;27(6):866-873) with conservative closed-form steps.

:func:`speed_profile_reference` is the pure-Python reference; :func:`speed_profile` runs the same
arithmetic in C (``native/mintime.c``) when the extension is built, and falls back to the reference
otherwise. Both are tested to agree bit for bit.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

from wavegen._backend import NATIVE, ffi, lib

__all__ = ["speed_profile", "speed_profile_reference"]

FloatArray = NDArray[np.float64]


# ------------------------------------------------------------------------------------------------
# speed profile kernel (reference in Python; C in native/mintime.c)


def _step_euclid(u: float, h: float, kap: float, acc: float) -> float:
    """Largest ``x >= u`` with ``((x - u) / (2h))^2 + kap^2 x^2 <= acc^2`` (closed form)."""
    alpha = 1.0 / (4.0 * h * h)
    k2 = kap * kap
    disc = acc * acc * (alpha + k2) - alpha * k2 * u * u
    if disc < 0.0:
        return u
    return (alpha * u + math.sqrt(disc)) / (alpha + k2)


def _step_axes(
    u: float,
    h: float,
    cs: FloatArray,
    css: FloatArray,
    acc: FloatArray,
    forward: bool,
) -> float:
    """Largest next ``u`` under per-axis limits ``|css_i w + cs_i a| <= acc_i`` at both segment ends.

    ``cs``/``css`` have shape (2, n_axes) (geometry at the two ends); ``w`` takes both speeds
    (``u`` and the unknown); ``a = +-(x - u) / (2h)`` (forward: accelerating towards the next point;
    backward: the unknown is the earlier point's speed).
    """
    hi = math.inf
    inv = 1.0 / (2.0 * h)
    for g in range(2):
        for i in range(cs.shape[1]):
            c = float(cs[g, i]) * inv
            q = float(css[g, i])
            a_lim = float(acc[i])
            if forward:
                # a = (x - u)/(2h);  w = u: c x + (q - c) u;  w = x: (q + c) x - c u
                pairs = ((c, (q - c) * u), (q + c, -c * u))
            else:
                # a = (u - y)/(2h), unknown y is the earlier speed; w = u: -c y + (q + c) u;
                # w = y: (q - c) y + c u
                pairs = ((-c, (q + c) * u), (q - c, c * u))
            for alpha, beta in pairs:
                if alpha > 0.0:
                    hi = min(hi, (a_lim - beta) / alpha)
                elif alpha < 0.0:
                    hi = min(hi, (-a_lim - beta) / alpha)
    return hi


def speed_profile_reference(
    h: ArrayLike,
    umax: ArrayLike,
    u_start: float,
    u_end: float | None,
    acc: float | ArrayLike,
    *,
    kappa_seg: ArrayLike | None = None,
    tangent: ArrayLike | None = None,
    normal: ArrayLike | None = None,
) -> FloatArray:
    """Time-optimal squared speed ``u = v^2`` at arc-length points (forward/backward passes), Python.

    Parameters
    ----------
    h
        Segment lengths, shape (n - 1,), cycles/m.
    umax
        Upper bound of ``u`` at each point, shape (n,), (cycles/m/s)^2.
    u_start, u_end
        Squared speed at the first and last point; ``u_end=None`` leaves the end free.
    acc
        Acceleration limit ``gamma * S``, cycles/m/s^2: a float (Euclidean) or one per axis.
    kappa_seg
        Euclidean mode: the curvature bound of each segment, shape (n - 1,), m/cycle.
    tangent, normal
        Per-axis mode: ``dC/ds`` and ``d^2C/ds^2`` at the points, shape (n, n_axes).

    Returns
    -------
    ndarray
        ``u`` at the points, shape (n,).
    """
    h_a = np.asarray(h, dtype=np.float64)
    um = np.asarray(umax, dtype=np.float64)
    n = um.size
    fwd = np.empty(n)
    out = np.empty(n)
    per_axis = kappa_seg is None
    if per_axis:
        cs = np.asarray(tangent, dtype=np.float64)
        css = np.asarray(normal, dtype=np.float64)
        acc_v = np.asarray(acc, dtype=np.float64)
    else:
        kap = np.asarray(kappa_seg, dtype=np.float64)
        acc_f = float(acc)  # type: ignore[arg-type]
    fwd[0] = min(u_start, um[0])
    for j in range(n - 1):
        if per_axis:
            x = _step_axes(fwd[j], h_a[j], cs[j : j + 2], css[j : j + 2], acc_v, True)
        else:
            x = _step_euclid(fwd[j], h_a[j], kap[j], acc_f)
        fwd[j + 1] = max(0.0, min(um[j + 1], x))
    out[n - 1] = fwd[n - 1] if u_end is None else min(u_end, fwd[n - 1])
    for j in range(n - 2, -1, -1):
        if per_axis:
            y = _step_axes(out[j + 1], h_a[j], cs[j : j + 2], css[j : j + 2], acc_v, False)
        else:
            y = _step_euclid(out[j + 1], h_a[j], kap[j], acc_f)
        out[j] = min(fwd[j], max(0.0, min(um[j], y)))
    return out


def speed_profile(
    h: FloatArray,
    umax: FloatArray,
    u_start: float,
    u_end: float | None,
    acc: float | FloatArray,
    *,
    kappa_seg: FloatArray | None = None,
    tangent: FloatArray | None = None,
    normal: FloatArray | None = None,
    use_native: bool | None = None,
) -> FloatArray:
    """:func:`speed_profile_reference` in C when the extension is available (same arguments)."""
    native = NATIVE if use_native is None else (use_native and NATIVE)
    if not native:
        return speed_profile_reference(
            h, umax, u_start, u_end, acc, kappa_seg=kappa_seg, tangent=tangent, normal=normal
        )
    h_c = np.ascontiguousarray(h, dtype=np.float64)
    um_c = np.ascontiguousarray(umax, dtype=np.float64)
    n = um_c.size
    out = np.empty(n)
    fwd = np.empty(n)
    ue = -1.0 if u_end is None else float(u_end)
    dp = "double *"
    if kappa_seg is not None:
        kap = np.ascontiguousarray(kappa_seg, dtype=np.float64)
        lib.wg_mintime_euclid(
            n,
            ffi.cast(dp, h_c.ctypes.data),
            ffi.cast(dp, kap.ctypes.data),
            ffi.cast(dp, um_c.ctypes.data),
            float(u_start),
            ue,
            float(acc),
            ffi.cast(dp, fwd.ctypes.data),
            ffi.cast(dp, out.ctypes.data),
        )
    else:
        cs = np.ascontiguousarray(tangent, dtype=np.float64)
        css = np.ascontiguousarray(normal, dtype=np.float64)
        acc_v = np.ascontiguousarray(acc, dtype=np.float64)
        lib.wg_mintime_axes(
            n,
            cs.shape[1],
            ffi.cast(dp, h_c.ctypes.data),
            ffi.cast(dp, cs.ctypes.data),
            ffi.cast(dp, css.ctypes.data),
            ffi.cast(dp, um_c.ctypes.data),
            float(u_start),
            ue,
            ffi.cast(dp, acc_v.ctypes.data),
            ffi.cast(dp, fwd.ctypes.data),
            ffi.cast(dp, out.ctypes.data),
        )
    return out
