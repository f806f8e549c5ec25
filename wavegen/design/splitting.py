"""Splitting gradients at block edges and joining them again.

Pulseq blocks cut long gradients: a gradient that does not end at 0 must touch the block's end and be
continued by the next block at the same value (``.seq`` specification v1.5, "non-zero-ending gradients").
Cutting adds a corner on an existing linear segment, so amplitude and slew are unchanged; joining
refuses a jump (an infinite slew).
"""

from __future__ import annotations

import numpy as np

from wavegen.design.gradients import ArbitraryGradient, ExtendedTrapezoid, Gradient
from wavegen.errors import DesignError, RangeError
from wavegen.validate import finite

__all__ = ["split_gradient", "join_gradients", "split_arbitrary_gradient", "join_arbitrary_gradients"]


def split_gradient(grad: Gradient, time_s: float) -> tuple[ExtendedTrapezoid, ExtendedTrapezoid]:
    """Cut a gradient in two at ``time_s`` (from the block start, delay included).

    The first part keeps the delay and ends at ``time_s`` with the value the waveform has there; the
    second part starts at that value with zero delay (to be placed in the next block). Both parts are
    :class:`ExtendedTrapezoid` (an :class:`ArbitraryGradient` becomes its corner points).
    Slew and amplitude are unchanged (the cut adds a corner on an existing segment).
    """
    t_cut = finite(time_s, "time_s", "s")
    t, g = grad.corners(include_delay=True)
    if not (t[0] < t_cut < t[-1]):
        raise RangeError(f"time_s = {t_cut!r} s is not inside the gradient ({t[0]!r} s to {t[-1]!r} s)")
    value = float(np.interp(t_cut, t, g))
    inside = (t > t_cut) & ~np.isclose(t, t_cut, rtol=0, atol=1e-13)
    before = (t < t_cut) & ~np.isclose(t, t_cut, rtol=0, atol=1e-13)
    t1 = np.concatenate((t[before], [t_cut])) - grad.delay_s
    g1 = np.concatenate((g[before], [value]))
    t2 = np.concatenate(([t_cut], t[inside])) - t_cut
    g2 = np.concatenate(([value], g[inside]))
    first = ExtendedTrapezoid(t1 - t1[0], g1, grad.delay_s + float(t1[0]))
    second = ExtendedTrapezoid(t2, g2)
    return first, second


def join_gradients(first: Gradient, second: Gradient, *, rtol: float = 1e-9) -> ExtendedTrapezoid:
    """Join two gradients end to start into one :class:`ExtendedTrapezoid`.

    ``second`` begins where ``first`` ends (its own delay is a gap at 0 T/m, allowed only if ``first``
    ends at 0). The end value of ``first`` must equal the start value of ``second``: a jump would be an
    infinite slew.

    Raises
    ------
    DesignError
        If the values at the joint differ by more than ``rtol`` of the larger one.
    """
    t1, g1 = first.corners(include_delay=True)
    t2, g2 = second.corners(include_delay=True)
    a, b = float(g1[-1]), float(g2[0])
    if second.delay_s > 0 and (a != 0.0 or b != 0.0):
        raise DesignError(
            f"cannot join gradients across a delay of {second.delay_s!r} s: the first ends at {a!r} T/m and "
            f"the second starts at {b!r} T/m; a gap is only possible at 0 T/m"
        )
    if abs(a - b) > rtol * max(abs(a), abs(b)):
        raise DesignError(
            f"cannot join gradients: the first ends at {a!r} T/m, the second starts at {b!r} T/m "
            "(a jump is an infinite slew)"
        )
    t = np.concatenate((t1, t2 + t1[-1]))
    g = np.concatenate((g1, g2))
    keep = np.concatenate(([True], np.diff(t) > 1e-15))
    return ExtendedTrapezoid(t[keep] - first.delay_s, g[keep], first.delay_s)


def split_arbitrary_gradient(
    grad: ArbitraryGradient, n_first: int
) -> tuple[ArbitraryGradient, ArbitraryGradient]:
    """Cut a sampled gradient at the raster edge after ``n_first`` samples, keeping it sampled.

    The value at the cut (``last`` of the first part, ``first`` of the second) is the linear
    interpolation of the two neighbouring samples (their mean), Pulseq's piecewise-linear reading, so the
    half steps keep the slope of the original segment. The sample sums (areas) are partitioned exactly.
    """
    n = grad.n_samples
    if isinstance(n_first, bool) or int(n_first) != n_first or not 0 < n_first < n:
        raise RangeError(f"n_first = {n_first!r} must be an integer from 1 to {n - 1} (the gradient has {n})")
    k = int(n_first)
    s = grad.samples_t_per_m
    edge = 0.5 * (float(s[k - 1]) + float(s[k]))
    first = ArbitraryGradient(s[:k], grad.raster_s, grad.delay_s, grad.first_t_per_m, edge)
    second = ArbitraryGradient(s[k:], grad.raster_s, 0.0, edge, grad.last_t_per_m)
    return first, second


def join_arbitrary_gradients(
    first: ArbitraryGradient, second: ArbitraryGradient, *, rtol: float = 1e-9
) -> ArbitraryGradient:
    """Join two sampled gradients with the same raster (``second`` without delay) into one.

    Raises
    ------
    DesignError
        If the rasters differ, ``second`` has a delay, or ``first.last_t_per_m`` and
        ``second.first_t_per_m`` differ by more than ``rtol`` (a jump).
    """
    if first.raster_s != second.raster_s:
        raise DesignError(
            f"cannot join sampled gradients with rasters {first.raster_s!r} s and {second.raster_s!r} s"
        )
    if second.delay_s != 0.0:
        raise DesignError(
            f"the second gradient has a delay of {second.delay_s!r} s; join_gradients handles gaps"
        )
    a, b = first.last_t_per_m, second.first_t_per_m
    if abs(a - b) > rtol * max(abs(a), abs(b)):
        raise DesignError(
            f"cannot join gradients: the first ends at {a!r} T/m, the second starts at {b!r} T/m "
            "(a jump is an infinite slew)"
        )
    samples = np.concatenate((first.samples_t_per_m, second.samples_t_per_m))
    return ArbitraryGradient(samples, first.raster_s, first.delay_s, first.first_t_per_m, second.last_t_per_m)
