"""The integer time base of a sequence: ticks of ``1 / ticks_per_ns`` ns (issue 17 item 2).

Every time of a :class:`~wavegen.sequence.Sequence` is an integer (DESIGN rule: time on an integer
base, no float-seconds drift). On the rasters of every MR system in use (Siemens 10 us / 1 us / 100 ns,
GE 4 us, Philips 6.4 us) those integers are nanoseconds: ``ticks_per_ns == 1``. A Pulseq file may
declare rasters that are not whole ns -- a tabletop console clocked at 122.88 MHz writes
``GradientRasterTime 1.00016276e-05`` (10001.6276 ns, pypulseq prints rasters with ``%.9g``) -- and then
the block boundaries and the raster-centre sample times fall between nanoseconds. Such a sequence
counts time in finer ticks: ``ticks_per_ns`` is the least common multiple of the denominators of its
rasters in ns (2500 for 10001.6276 ns = 25004069/2500 ns), doubled when the gradient raster is then an
odd number of ticks (raster centres, where shaped gradients are sampled, must be whole ticks too).

What stays in ns: the events' own fields (delays, ramp and flat times, ADC dwells), which are whole ns
in every Pulseq format version (delays in us, dwells in ns), and the ADC raster, which only dwells sit
on (``AdcRasterTime 1e-10`` of the pulseq pTx demo is kept as ``Fraction(1, 10)`` ns and needs no finer
ticks).

Bounds: ``ticks_per_ns <= MAX_TICKS_PER_NS`` (10**6, ticks of 1 fs), and a sequence lasts less than
2**53 ticks (104 days at 1 tick per ns, one hour at 2500), so that every time and every difference of
times is exact in int64 and in float64.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

from wavegen.errors import RasterError

__all__ = [
    "MAX_TICKS_PER_NS",
    "MAX_TICKS",
    "ticks_per_ns_for",
    "raster_ticks",
    "snap_raster_ns",
    "significant_digits",
    "decimal_text",
]

#: Finest tick accepted, ticks per ns (1 fs). A raster needing finer ticks is refused.
MAX_TICKS_PER_NS = 10**6

#: Times are below this many ticks (exact in int64 and float64).
MAX_TICKS = 1 << 53

#: Largest denominator (in ns) tried when a raster is written as a rounded float.
_SNAP_DEN = 10**6


def significant_digits(tok: str) -> int:
    """Significant digits of a decimal number as written (``1.00016276e-05``: 9)."""
    mant = tok.strip().lower().split("e")[0].lstrip("+-").replace(".", "")
    return len(mant.lstrip("0")) or 1


def snap_raster_ns(ns: Fraction, digits: int = 17) -> Fraction:
    """The raster a file meant by the decimal it wrote, ns (exact); ``digits``: the significant digits it
    was written with.

    - Within 1e-6 ns (or 1e-12 relative) of a whole ns: that whole ns (writers print float noise,
      ``9.9999999999999995e-07`` for 1 us).
    - A decimal written with 15 or more significant digits (a float printed in full) that needs a
      denominator above 10**6 ns but lies within 2**-50 (relative: a few float64 ulps) of a fraction with
      a denominator <= 10**6 is that fraction: such a writer prints the float nearest to its raster
      (``1.0001627604166667e-05`` is the float of 1229 / 122.88 MHz = 3840625/384 ns).
    - Otherwise the decimal exactly as written (``1.00016276e-05`` is 25004069/2500 ns).
    """
    near = round(ns)
    if near >= 1 and abs(ns - near) <= max(Fraction(1, 10**6), ns / 10**12):
        return Fraction(near)
    if digits >= 15 and ns.denominator > _SNAP_DEN:
        cand = ns.limit_denominator(_SNAP_DEN)
        if abs(cand - ns) <= ns / (1 << 50):
            return cand
    return ns


def ticks_per_ns_for(grad_raster_ns: Any, rf_raster_ns: Any, block_raster_ns: Any) -> int:
    """The coarsest tick (as ticks per ns) on which these rasters, and the gradient raster centres of a
    sequence on a non-nanosecond base, are whole numbers.

    Raises
    ------
    RasterError
        The rasters need ticks finer than ``1 / MAX_TICKS_PER_NS`` ns.
    """
    t = 1
    for r in (grad_raster_ns, rf_raster_ns, block_raster_ns):
        d = Fraction(r).denominator
        t = t * d // math.gcd(t, d)
    if t > 1 and (Fraction(grad_raster_ns) * t).numerator % 2:
        t *= 2  # centres (i + 1/2) * raster must be whole ticks as well
    if t > MAX_TICKS_PER_NS:
        raise RasterError(
            f"the rasters (gradient {float(grad_raster_ns)!r} ns, RF {float(rf_raster_ns)!r} ns, block "
            f"{float(block_raster_ns)!r} ns) need a time base of 1/{t} ns to be exact, finer than the "
            f"1/{MAX_TICKS_PER_NS} ns (1 fs) wavegen counts in"
        )
    return t


def raster_ticks(raster_ns: Any, ticks_per_ns: int, name: str) -> int:
    """A raster (ns, int or Fraction) in whole ticks."""
    x = Fraction(raster_ns) * ticks_per_ns
    if x.denominator != 1:
        raise RasterError(f"{name} = {float(raster_ns)!r} ns is not a whole number of ticks of 1/{ticks_per_ns} ns")
    return int(x)


def decimal_text(seconds: Fraction) -> str | None:
    """The exact decimal text of a positive time in seconds (``1.00016276e-05``), None if it has none."""
    d = seconds.denominator
    k2 = k5 = 0
    while d % 2 == 0:
        d //= 2
        k2 += 1
    while d % 5 == 0:
        d //= 5
        k5 += 1
    if d != 1 or seconds <= 0:
        return None
    k = max(k2, k5)
    digits = str(seconds.numerator * 10**k // seconds.denominator)  # value = digits * 10**-k
    exp = len(digits) - 1 - k
    mant = digits.rstrip("0")
    body = mant[0] + ("." + mant[1:] if len(mant) > 1 else "")
    return f"{body}e{exp:+03d}"
