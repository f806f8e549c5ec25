"""Gradient amplitude and slew of a sequence on its exact piecewise-linear waveform (issue 17 item 5).

A Pulseq gradient is piecewise linear between its vertices (trapezoid corners, the raster centres of an
arbitrary gradient with ``first``/``last`` at the event edges, the time points of an extended
trapezoid) and 0 outside every event. On such a waveform the amplitude is largest at a vertex and the
slew rate is constant between vertices, so evaluating every vertex and every segment is exact -- the
same reasoning as :func:`wavegen.design.check_gradient` applies to one design event. Checking samples
at raster centres instead halves the slope of a one-raster ramp (a 10 us ramp that slews at
1,750 T/m/s reads 875 T/m/s), so a file could pass by its sampling; this module cannot be fooled so.

- Per axis: the largest ``|G|`` over all vertices and the largest ``|dG/dt|`` over all segments.
- As a vector: ``|G|`` is convex on every interval between the union of all axes' vertices, so its
  maximum is at one of those times (both one-sided limits are evaluated); ``dG/dt`` is constant on
  every such interval.
- A jump (the waveform changes value at one instant: an event that starts or ends away from 0, two
  events that do not join) cannot be played by any amplifier; it is counted as a step over one
  gradient raster, ``|jump| / grad_raster``, the steepest a sampled player produces (the same step a
  raster-sampled check sees). With ``zero_edges=False`` the steps from rest at the very start and back
  to rest at the very end of the sequence are not counted (the hardware is not assumed at rest there).

Times are integers on the sequence's time base: ns, or ticks of ``1 / ticks_per_ns`` ns for a sequence
whose rasters are not whole ns (:mod:`wavegen.sequence.timebase`); corners between nanoseconds are then
still exact vertices, and slopes are converted with the tick length.

The waveform arrives window by window (block ranges, :mod:`wavegen.safety.stream`), so memory does
not grow with the length of the sequence; the last segment of each axis is carried into the next
window so that joins across windows are judged exactly.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from wavegen.errors import RangeError

__all__ = ["PwlGradientCheck"]

_AXES = ("gx", "gy", "gz")


def _limits(
    t: np.ndarray, v: np.ndarray, occ: np.ndarray, q: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Left limit, right limit and right slope (T/m per tick) at the query times ``q`` (int ticks).

    ``(t, v, occ)``: vertices sorted by time, ``occ`` equal within one event; 0 outside events.
    """
    n = t.size
    left = np.zeros(q.size)
    right = np.zeros(q.size)
    slope = np.zeros(q.size)
    if n == 0:
        return left, right, slope
    same = np.zeros(n, dtype=bool)  # vertex i starts a segment (i -> i+1) inside one event
    same[:-1] = occ[1:] == occ[:-1]
    # right limit: last vertex with t <= q
    i = np.searchsorted(t, q, side="right") - 1
    ok = (i >= 0) & same[np.maximum(i, 0)]
    ii = np.maximum(i[ok], 0)
    dt = (t[ii + 1] - t[ii]).astype(np.float64)  # > 0: i is the last vertex with t <= q < t[i+1]
    sl = (v[ii + 1] - v[ii]) / dt
    right[ok] = v[ii] + sl * (q[ok] - t[ii])
    slope[ok] = sl
    # left limit: last vertex with t < q, inside a segment reaching q
    j = np.searchsorted(t, q, side="left") - 1
    ok = (j >= 0) & same[np.maximum(j, 0)]
    jj = np.maximum(j[ok], 0)
    dt = (t[jj + 1] - t[jj]).astype(np.float64)
    at_end = t[jj + 1] == q[ok]
    val = v[jj] + (v[jj + 1] - v[jj]) * ((q[ok] - t[jj]) / np.where(dt > 0, dt, 1.0))
    left[ok] = np.where(at_end, v[jj + 1], val)
    return left, right, slope


class PwlGradientCheck:
    """Accumulates the exact amplitude and slew maxima of a 3-axis piecewise-linear gradient.

    Parameters
    ----------
    grad_raster_ns
        Gradient raster, ticks (a jump counts as a step over one raster).
    duration_ns
        End of the sequence, ticks.
    zero_edges
        Count the steps from rest at t = 0 and back to rest at the end.
    ticks_per_ns
        Ticks per ns of the time base of the vertices, the raster and the duration (1: all in ns).
        :meth:`for_sequence` takes it, the raster and the duration from a sequence.

    Raises
    ------
    RangeError
        A raster or duration that is not a whole number of ticks (a sequence on a time base finer than
        ns gives its rasters in ns as fractions: use :meth:`for_sequence`).
    """

    def __init__(
        self, grad_raster_ns: int, duration_ns: int, *, zero_edges: bool = True, ticks_per_ns: int = 1
    ) -> None:
        for name, x in (("grad_raster", grad_raster_ns), ("duration", duration_ns)):
            if int(x) != x:
                raise RangeError(
                    f"PwlGradientCheck: {name} = {x!r} is not a whole number of ticks of 1/{ticks_per_ns} ns; "
                    "for a sequence use PwlGradientCheck.for_sequence(seq)"
                )
        #: Raster and duration in ticks (ns when ``ticks_per_ns`` is 1); maxima times below too.
        self.raster_ns = int(grad_raster_ns)
        self.duration_ns = int(duration_ns)
        self.ticks_per_ns = int(ticks_per_ns)
        self.zero_edges = bool(zero_edges)
        self._carry: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = [
            (np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0, dtype=np.int64)) for _ in range(3)
        ]
        # (value, axis, time ns) per maximum
        self.amp = (-1.0, 0, 0)
        self.amp_vec = (-1.0, 0)
        self.slew = (-1.0, 0, 0)  # T/m/s
        self.slew_vec = (-1.0, 0)
        self.n_jumps = 0

    @classmethod
    def for_sequence(cls, seq: Any, *, zero_edges: bool = True) -> PwlGradientCheck:
        """A check on the time base of ``seq`` (a :class:`wavegen.sequence.Sequence`)."""
        return cls(seq.grad_raster_ticks, seq.duration_ticks, zero_edges=zero_edges, ticks_per_ns=seq.ticks_per_ns)

    def add(self, verts: list[tuple[np.ndarray, np.ndarray, np.ndarray]], t_lo: int, t_hi: int) -> None:
        """Vertices ``(t_ns, value_t_per_m, event)`` of gx, gy, gz of every event starting in
        ``[t_lo, t_hi)``; times ``>= t_hi`` are judged by the next call (or :meth:`finish`)."""
        axes = []
        for a in range(3):
            t, v, occ = verts[a]
            ct, cv, co = self._carry[a]
            if ct.size:
                t = np.concatenate((ct, t))
                v = np.concatenate((cv, v))
                occ = np.concatenate((co, occ))
            axes.append((t, v, occ))
            # carry the last segment (two vertices of one event) for the left limit at the next join
            if t.size >= 2 and occ[-1] == occ[-2]:
                self._carry[a] = (t[-2:].copy(), v[-2:].copy(), np.array([-1, -1], dtype=np.int64))
            elif t.size:
                self._carry[a] = (t[-1:].copy(), v[-1:].copy(), np.array([-1], dtype=np.int64))
        self._judge(axes, t_lo, t_hi, last=False)

    def finish(self) -> None:
        """Judge the remaining times (up to and including the end of the sequence)."""
        self._judge(self._carry, self.duration_ns, self.duration_ns + 1, last=True)

    def _judge(
        self, axes: list[tuple[np.ndarray, np.ndarray, np.ndarray]], t_lo: int, t_hi: int, *, last: bool
    ) -> None:
        parts = [a[0][(a[0] >= t_lo) & (a[0] < t_hi)] for a in axes]
        q = np.unique(np.concatenate(parts)) if any(p.size for p in parts) else np.zeros(0, dtype=np.int64)
        if q.size == 0:
            return
        lefts, rights, slopes = [], [], []
        for t, v, occ in axes:
            le, ri, sl = _limits(t, v, occ, q)
            lefts.append(le)
            rights.append(ri)
            slopes.append(sl)
        left = np.stack(lefts)
        right = np.stack(rights)
        slope = np.stack(slopes) * (1e9 * self.ticks_per_ns)  # T/m/s
        jump = right - left
        if not self.zero_edges:
            jump[:, q == 0] = 0.0
            jump[:, q == self.duration_ns] = 0.0
        jump_slew = np.abs(jump) / (self.raster_ns * 1e-9 / self.ticks_per_ns)
        self.n_jumps += int(np.count_nonzero(np.any(jump != 0.0, axis=0)))
        # per axis amplitude (both one-sided limits) and slew (segments and jumps)
        amp = np.maximum(np.abs(left), np.abs(right))
        a, k = np.unravel_index(int(np.argmax(amp.T)), amp.T.shape)[::-1]
        if amp[a, k] > self.amp[0]:
            self.amp = (float(amp[a, k]), int(a), int(q[k]))
        sl = np.maximum(np.abs(slope), jump_slew)
        a, k = np.unravel_index(int(np.argmax(sl.T)), sl.T.shape)[::-1]
        if sl[a, k] > self.slew[0]:
            self.slew = (float(sl[a, k]), int(a), int(q[k]))
        # vector: |G| at both limits, |dG/dt| on the segment after each time and at jumps
        nv = np.sqrt(np.maximum(np.einsum("ij,ij->j", left, left), np.einsum("ij,ij->j", right, right)))
        kv = int(np.argmax(nv))
        if nv[kv] > self.amp_vec[0]:
            self.amp_vec = (float(nv[kv]), int(q[kv]))
        sv = np.sqrt(np.maximum(np.einsum("ij,ij->j", slope, slope), np.einsum("ij,ij->j", jump_slew, jump_slew)))
        ks = int(np.argmax(sv))
        if sv[ks] > self.slew_vec[0]:
            self.slew_vec = (float(sv[ks]), int(q[ks]))

    # --- results ---------------------------------------------------------------------------------------

    @property
    def has_data(self) -> bool:
        """Whether any vertex was seen."""
        return self.amp[0] >= 0.0

    def axis_name(self, a: int) -> str:
        return _AXES[a]

    def time_s(self, t: int) -> float:
        """A time of the check (ticks) in s."""
        return t * 1e-9 if self.ticks_per_ns == 1 else t / self.ticks_per_ns * 1e-9

    def note(self) -> str:
        """What the exact check assumed."""
        s = "exact piecewise-linear waveform (every vertex and segment)"
        if self.n_jumps:
            s += (
                f"; {self.n_jumps} jump(s) counted as steps over one gradient raster "
                f"({self.raster_ns / self.ticks_per_ns:.10g} ns)"
            )
        return s
