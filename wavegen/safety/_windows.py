"""Exact sliding-window integrals of piecewise-constant sample streams (SAR, RF power, gradient RMS).

A stream ``p[i] >= 0`` holds the value on ``[i*dt, (i+1)*dt)``. Its running integral ``E(t)`` is
piecewise linear, so the window integral ``F(s) = E(s + W) - E(s)`` is piecewise linear in the window
start ``s`` with breakpoints where either window edge meets a sample boundary. The maximum over all
real ``s`` is therefore attained at a start on a sample boundary or at an end on a sample boundary,
and evaluating exactly those two families of windows gives the exact maximum -- no time grid, no
rounding of the window to whole samples, no block alignment (the flaws of the peers' SAR code, see
docs/references/safety.md section 1.5).

Outside the stream the value is 0 (played once) or the stream repeats (``periodic=True``: an AWG in
continuous mode, or a scan repeated back to back, which is how scanners predict SAR). The running
integral is computed once per stream and shared by every window length; each window is evaluated on
slices of it (no padded copies), a few passes over memory.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

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


_CHUNK = 1 << 20


def _chunked(
    fn: Callable[[int, int], np.ndarray], lo: int, hi: int, best: tuple[float, float], start_of: float
) -> tuple[float, float]:
    """Maximum of ``fn(a, b)`` over ``[lo, hi)`` in chunks (bounded temporaries); element ``q`` of the
    family starts at ``start_of + q`` samples."""
    for a in range(lo, hi, _CHUNK):
        b = min(hi, a + _CHUNK)
        best = _best(fn(a, b), best, start_of + a, 1.0)
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

    # windows starting on boundary i (0 <= i < k - m): [i, i + m + f], the end inside the same period
    def head(a: int, b: int) -> np.ndarray:
        v = c[a + m : b + m] - c[a:b]
        if f > 0.0:
            v += fdt * p[a + m : b + m]
        return v

    best = _chunked(head, 0, k - m, best, 0.0)
    if periodic:  # i >= k - m: the end wraps into the next period (offset q = i - (k - m))

        def tail(a: int, b: int) -> np.ndarray:
            v = (e_tot + c[a:b]) - c[k - m + a : k - m + b]
            if f > 0.0:
                v += fdt * p[a:b]
            return v

        best = _chunked(tail, 0, m, best, float(k - m))
    elif m < k:  # the end lies past the stream: the window holds c[k] - c[i]; largest at i = k - m
        best = _best(np.array([e_tot - c[k - m]]), best, float(k - m), 1.0)
    if f > 0.0:
        # windows ending on boundary i: [i - m - f, i]; the partial interval is j = i - m - 1
        def body(a: int, b: int) -> np.ndarray:  # j = a .. b-1, i = j + m + 1
            v = c[a + m + 1 : b + m + 1] - c[a:b]
            v -= gdt * p[a:b]
            return v

        best = _chunked(body, 0, k - m, best, float(m + 1) - w)
        if periodic:  # i = 1 .. m: j = i - m - 1 < 0 wraps to j + k

            def wrap(a: int, b: int) -> np.ndarray:  # i = a + 1 .. b
                v = c[a + 1 : b + 1] - (c[k - m + a : k - m + b] - e_tot)
                v -= gdt * p[k - m + a : k - m + b]
                return v

            best = _chunked(wrap, 0, m, best, 1.0 - w)
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
