"""Exact sliding-window integrals of piecewise-constant sample streams (SAR, RF power, gradient RMS).

A stream ``p[i] >= 0`` holds the value on ``[i*dt, (i+1)*dt)``. Its running integral ``E(t)`` is
piecewise linear, so the window integral ``F(s) = E(s + W) - E(s)`` is piecewise linear in the window
start ``s`` with breakpoints where either window edge meets a sample boundary. The maximum over all
real ``s`` is therefore attained at a start on a sample boundary or at an end on a sample boundary,
and evaluating exactly those two families of windows gives the exact maximum -- no time grid, no
rounding of the window to whole samples, no block alignment (the flaws of the peers' SAR code, see
research/safety_physics.md section 1.5).

Outside the stream the value is 0 (played once) or the stream repeats (``periodic=True``: an AWG in
continuous mode, or a scan repeated back to back, which is how scanners predict SAR). The running
integral is computed once per stream and shared by every window length; each window is evaluated on
slices of it (no padded copies), a few passes over memory.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from wavegen.errors import RangeError

__all__ = ["max_window_integral", "max_window_integrals"]

_TOL = 1e-9


def _best(values: np.ndarray, best: tuple[float, float], start_of: float, step: float) -> tuple[float, float]:
    """Update (value, start) with the maximum of ``values``; the start of element k is start_of + k*step."""
    if values.size == 0:
        return best
    k = int(np.argmax(values))
    v = float(values[k])
    if v > best[0]:
        return v, start_of + k * step
    return best


def _one_window(
    p: np.ndarray, c: np.ndarray, dt_s: float, window_s: float, periodic: bool
) -> tuple[float, float]:
    k = int(p.shape[0])
    e_tot = float(c[-1])
    period = k * dt_s
    if periodic:
        n_p = math.floor(window_s / period + _TOL)
        base = n_p * e_tot
        wr = window_s - n_p * period
        if wr <= _TOL * period:
            return base, 0.0
    else:
        if window_s >= period * (1 - _TOL):
            return e_tot, 0.0
        base, wr = 0.0, window_s
    w = wr / dt_s
    m = int(math.floor(w))
    f = w - m
    if f > 1 - _TOL:
        m, f = m + 1, 0.0
    elif f < _TOL:
        f = 0.0
    m = min(m, k)
    fdt, gdt = f * dt_s, (1.0 - f) * dt_s
    best = (-math.inf, 0.0)  # (integral, start in samples)

    # windows starting on boundary i (0 <= i < k): [i, i + m + f]
    head = c[m:k] - c[: k - m]  # i < k - m: the end lies inside the same period
    if f > 0.0:
        head += fdt * p[m:k]
    best = _best(head, best, 0.0, 1.0)
    del head
    if periodic:  # i >= k - m: the end wraps into the next period
        tail = (e_tot + c[0:m]) - c[k - m : k]
        if f > 0.0:
            tail += fdt * p[0:m]
        best = _best(tail, best, float(k - m), 1.0)
    elif m < k:  # the end lies past the stream: the window holds c[k] - c[i]; largest at i = k - m
        best = _best(np.array([e_tot - c[k - m]]), best, float(k - m), 1.0)
    if f > 0.0:
        # windows ending on boundary i: [i - m - f, i]; the partial interval is j = i - m - 1
        body = c[m + 1 : k + 1] - c[0 : k - m]  # i = m+1 .. k, j = 0 .. k-m-1
        body -= gdt * p[0 : k - m]
        best = _best(body, best, float(m + 1) - w, 1.0)
        del body
        if periodic:  # i = 1 .. m: j = i - m - 1 < 0 wraps to j + k
            wrap = c[1 : m + 1] - (c[k - m : k] - e_tot)
            wrap -= gdt * p[k - m : k]
            best = _best(wrap, best, 1.0 - w, 1.0)
        elif m >= 1:  # i <= m: the start lies before the stream; largest at i = min(m, k)
            best = _best(np.array([float(c[min(m, k)])]), best, float(min(m, k)) - w, 1.0)
    integral, start_samples = best
    start_s = start_samples * dt_s
    if periodic:
        start_s %= period
    return base + integral, start_s


def max_window_integrals(
    p: np.ndarray, dt_s: float, windows_s: Sequence[float], *, periodic: bool
) -> list[tuple[float, float]]:
    """Largest integral of ``p`` over any window, for several window lengths.

    Parameters
    ----------
    p
        Non-negative samples, shape ``(K,)``, held constant over each raster interval.
    dt_s
        Raster, s.
    windows_s
        Window lengths, s (each > 0).
    periodic
        Treat the stream as repeating with period ``K * dt_s``; otherwise 0 outside it.

    Returns
    -------
    list of (integral, start_s)
        Per window: the largest window integral (units of ``p`` times s) and the start of a window
        attaining it, relative to the start of the stream, s (in ``[0, K*dt)`` when periodic; may be
        negative otherwise, meaning the window begins before the stream).
    """
    for w in windows_s:
        if not (w > 0 and math.isfinite(w)):
            raise RangeError(f"window_s = {w!r} s must be a finite number > 0 s")
    p = np.asarray(p, dtype=np.float64)
    k = int(p.shape[0])
    if k == 0:
        return [(0.0, 0.0) for _ in windows_s]
    c = np.empty(k + 1)
    c[0] = 0.0
    np.cumsum(p, out=c[1:])
    c *= dt_s
    return [_one_window(p, c, dt_s, float(w), periodic) for w in windows_s]


def max_window_integral(
    p: np.ndarray, dt_s: float, window_s: float, *, periodic: bool
) -> tuple[float, float]:
    """Largest integral of ``p`` over any window of length ``window_s``; see :func:`max_window_integrals`."""
    return max_window_integrals(p, dt_s, (window_s,), periodic=periodic)[0]
