"""Exact sliding-window integrals of piecewise-constant sample streams (SAR, RF power, gradient RMS).

A stream ``p[i] >= 0`` holds the value on ``[i*dt, (i+1)*dt)``. Its running integral ``E(t)`` is
piecewise linear, so the window integral ``F(s) = E(s + W) - E(s)`` is piecewise linear in the window
start ``s`` with breakpoints where either window edge meets a sample boundary. The maximum over all
real ``s`` is therefore attained at a start on a sample boundary or at an end on a sample boundary,
and evaluating exactly those two families of windows gives the exact maximum -- no time grid, no
rounding of the window to whole samples, no block alignment (the flaws of the peers' SAR code, see
research/safety_physics.md section 1.5).

Outside the stream the value is 0 (played once) or the stream repeats (``periodic=True``: an AWG in
continuous mode, or a scan repeated back to back, which is how scanners predict SAR).
"""

from __future__ import annotations

import math

import numpy as np

from wavegen.errors import RangeError

__all__ = ["max_window_integral"]

_TOL = 1e-9


def max_window_integral(
    p: np.ndarray, dt_s: float, window_s: float, *, periodic: bool
) -> tuple[float, float]:
    """Largest integral of ``p`` over any window of length ``window_s``.

    Parameters
    ----------
    p
        Non-negative samples, shape ``(K,)``, held constant over each raster interval.
    dt_s
        Raster, s.
    window_s
        Window length, s (> 0).
    periodic
        Treat the stream as repeating with period ``K * dt_s``; otherwise 0 outside it.

    Returns
    -------
    (integral, start_s)
        The largest window integral (units of ``p`` times s) and the start of a window attaining it,
        relative to the start of the stream, s (in ``[0, K*dt)`` when periodic; may be negative
        otherwise, meaning the window begins before the stream).
    """
    if not (window_s > 0 and math.isfinite(window_s)):
        raise RangeError(f"window_s = {window_s!r} s must be a finite number > 0 s")
    p = np.asarray(p, dtype=np.float64)
    k = int(p.shape[0])
    if k == 0:
        return 0.0, 0.0
    c = np.empty(k + 1)
    c[0] = 0.0
    np.cumsum(p, out=c[1:])
    c *= dt_s
    e_tot = float(c[-1])
    period = k * dt_s

    if periodic:
        ratio = window_s / period
        n_p = math.floor(ratio + _TOL)
        base = n_p * e_tot
        wr = window_s - n_p * period
        if wr <= _TOL * period:
            return base, 0.0
        cx = np.concatenate((c, e_tot + c[1:]))
        px = np.concatenate((p, p))
        off = 0
        a_starts = np.arange(0, k)  # start boundaries (padded index)
        b_ends = np.arange(k, 2 * k)  # end boundaries (padded index)
    else:
        if window_s >= period * (1 - _TOL):
            return e_tot, 0.0
        base = 0.0
        wr = window_s
        m0 = int(math.floor(wr / dt_s)) + 2
        cx = np.concatenate((np.zeros(m0), c, np.full(m0, e_tot)))
        px = np.concatenate((np.zeros(m0), p, np.zeros(m0)))
        off = m0
        a_starts = np.arange(off, off + k)
        b_ends = np.arange(off + 1, off + k + 1)

    w = wr / dt_s
    m = int(math.floor(w))
    f = w - m
    if f > 1 - _TOL:
        m, f = m + 1, 0.0
    elif f < _TOL:
        f = 0.0

    # windows starting on a boundary: [i, i + m + f]
    s0, s1 = int(a_starts[0]), int(a_starts[-1]) + 1
    fa = cx[s0 + m : s1 + m] - cx[s0:s1]
    if f > 0.0:
        fa = fa + (f * dt_s) * px[s0 + m : s1 + m]
    ia = int(np.argmax(fa))
    best, start_idx = float(fa[ia]), float(s0 + ia - off)
    if f > 0.0:
        # windows ending on a boundary: [i - m - f, i]
        e0, e1 = int(b_ends[0]), int(b_ends[-1]) + 1
        fb = cx[e0:e1] - cx[e0 - m - 1 : e1 - m - 1] - ((1.0 - f) * dt_s) * px[e0 - m - 1 : e1 - m - 1]
        ib = int(np.argmax(fb))
        if float(fb[ib]) > best:
            best = float(fb[ib])
            start_idx = (e0 + ib - off) - w
    start_s = start_idx * dt_s
    if periodic:
        start_s = start_s % period
    return base + best, start_s
