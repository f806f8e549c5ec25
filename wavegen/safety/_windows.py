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


class WindowMaxStream:
    """:func:`max_window_integral` of a stream fed chunk by chunk, in memory bounded by the window.

    The running integral is accumulated in the same order as the one-shot function (one sequential
    sum, then times ``dt``), and the four families of candidate windows are evaluated on the samples
    as they pass: a window start is paired with its end ``m`` samples later (a carried tail of ``m + 1``
    samples), and the windows that wrap around a periodic stream use the first ``m + 1`` samples, kept
    from the start. :meth:`result` gives exactly what ``max_window_integral(p, dt_s, window_s,
    periodic=periodic)`` gives on the whole stream.

    Parameters
    ----------
    n_total
        Length of the whole stream (samples).
    """

    def __init__(self, n_total: int, dt_s: float, window_s: float, *, periodic: bool) -> None:
        if not (window_s > 0 and math.isfinite(window_s)):
            raise RangeError(f"window_s = {window_s!r} s must be a finite number > 0 s")
        self.k = int(n_total)
        self.dt = float(dt_s)
        self.periodic = periodic
        k, dt = self.k, self.dt
        period = k * dt
        self.trivial: str | None = None
        self.n_p, wr = 0, float(window_s)
        if periodic:
            self.n_p = math.floor(window_s / period + _TOL) if k else 0
            wr = window_s - self.n_p * period
            if k and wr <= _TOL * period:
                self.trivial = "base"
        elif window_s >= period * (1 - _TOL):
            self.trivial = "total"
        w = wr / dt if k else 0.0
        m = int(math.floor(w))
        f = w - m
        if f > 1 - _TOL:
            m, f = m + 1, 0.0
        elif f < _TOL:
            f = 0.0
        self.m = min(m, k)
        self.f = f
        self.w = w
        self.fdt, self.gdt = f * dt, (1.0 - f) * dt
        self.raw = 0.0  # running sum of p (before * dt)
        self.pos = 0  # samples seen
        # carried c[pos - m - 1 .. pos] and p[pos - m - 1 .. pos - 1]
        self.tail_c = np.zeros(1)
        self.tail_p = np.zeros(0)
        self.head_c = np.zeros(0)
        self.head_p = np.zeros(0)
        self.best_head = (-math.inf, 0.0)
        self.best_body = (-math.inf, 0.0)
        self.h_done = 0  # next end boundary of the head family
        self.b_done = 0  # next end boundary of the body family
        self.e_last = 0.0

    def feed(self, p: np.ndarray) -> None:
        """The next samples of the stream (non-negative)."""
        p = np.asarray(p, dtype=np.float64)
        if p.size == 0:
            return
        a = self.pos
        b = a + p.size
        raw = np.empty(p.size + 1)
        raw[0] = self.raw
        raw[1:] = p
        np.cumsum(raw, out=raw)  # sequential, as np.cumsum over the whole stream
        self.raw = float(raw[-1])
        c_new = raw[1:] * self.dt  # c[a + 1 .. b]
        self.pos = b
        if self.trivial is not None:
            self.e_last = float(c_new[-1])
            return
        m, k = self.m, self.k
        c = np.concatenate((self.tail_c, c_new))  # c[lo_c .. b]
        pp = np.concatenate((self.tail_p, p))  # p[lo_p .. b - 1]
        lo_c = b - c.size + 1
        lo_p = b - pp.size
        # head family: window [i, i + m + f], end boundary e = i + m (needs p[e] when f > 0)
        e0 = max(self.h_done, m)
        e1 = min(b if self.f == 0.0 else b - 1, k - 1)
        if e1 >= e0:
            v = c[e0 - lo_c : e1 + 1 - lo_c] - c[e0 - m - lo_c : e1 - m + 1 - lo_c]
            if self.f > 0.0:
                v += self.fdt * pp[e0 - lo_p : e1 + 1 - lo_p]
            self.best_head = _best(v, self.best_head, float(e0 - m), 1.0)
            self.h_done = e1 + 1
        if self.f > 0.0:  # body family: end boundary e = j + m + 1 with the partial interval j
            e0 = max(self.b_done, m + 1)
            e1 = min(b, k)
            if e1 >= e0:
                j0, j1 = e0 - m - 1, e1 - m - 1
                v = c[e0 - lo_c : e1 + 1 - lo_c] - c[j0 - lo_c : j1 + 1 - lo_c]
                v -= self.gdt * pp[j0 - lo_p : j1 + 1 - lo_p]
                kk = int(np.argmax(v))
                if float(v[kk]) > self.best_body[0]:  # start as the one-shot function forms it
                    self.best_body = (float(v[kk]), (float(m + 1) - self.w) + float(j0 + kk))
                self.b_done = e1 + 1
        # keep the first m + 2 values of c (m + 1 of p) for the periodic wrap, the last as many for pairing
        if self.head_c.size < m + 2:
            first = np.concatenate(([0.0], c_new)) if a == 0 else c_new
            self.head_c = np.concatenate((self.head_c, first[: m + 2 - self.head_c.size]))
        if self.head_p.size < m + 1:
            self.head_p = np.concatenate((self.head_p, p[: m + 1 - self.head_p.size]))
        self.tail_c = c[-(m + 2) :].copy()
        self.tail_p = pp[-(m + 1) :].copy()

    def result(self) -> tuple[float, float]:
        """``(integral, start_s)`` as :func:`max_window_integral` returns them."""
        k, m, dt = self.k, self.m, self.dt
        if k == 0:
            return 0.0, 0.0
        if self.trivial is not None:  # c[-1] = (sequential sum) * dt, as the one-shot function has it
            return (self.n_p * self.e_last if self.trivial == "base" else self.e_last), 0.0
        c_tail = self.tail_c  # c[k - m - 1 .. k]
        p_tail = self.tail_p  # p[k - m - 1 .. k - 1]
        e_tot = float(c_tail[-1])
        base = self.n_p * e_tot if self.periodic else 0.0
        hc, hp = self.head_c, self.head_p  # c[0 .. m + 1], p[0 .. m]

        def tc(i: int) -> int:  # index of c[i] in the tail
            return i - (k - c_tail.size + 1)

        def tp(i: int) -> int:
            return i - (k - p_tail.size)

        best = self.best_head
        if self.periodic:
            if m > 0:
                v = (e_tot + hc[0:m]) - c_tail[tc(k - m) : tc(k - m) + m]
                if self.f > 0.0:
                    v += self.fdt * hp[0:m]
                best = _best(v, best, float(k - m), 1.0)
        elif m < k:
            best = _best(np.array([e_tot - c_tail[tc(k - m)]]), best, float(k - m), 1.0)
        if self.f > 0.0:
            b = self.best_body
            if b[0] > best[0]:
                best = b
            if self.periodic:
                if m > 0:
                    v = hc[1 : m + 1] - (c_tail[tc(k - m) : tc(k - m) + m] - e_tot)
                    v -= self.gdt * p_tail[tp(k - m) : tp(k - m) + m]
                    best = _best(v, best, 1.0 - self.w, 1.0)
            elif m >= 1:
                best = _best(np.array([float(hc[min(m, k)])]), best, float(min(m, k)) - self.w, 1.0)
        integral, start_samples = best
        start_s = start_samples * dt
        if self.periodic:
            start_s %= k * dt
        return base + integral, start_s
