"""Gradient value types: :class:`Trapezoid`, :class:`ExtendedTrapezoid`, :class:`ArbitraryGradient`.

All three describe one gradient event on one axis as a piecewise-linear waveform in T/m, with the
timing conventions of Pulseq (``doc/pulseq_shapes_and_times.pdf`` in ``pulseq/pulseq``, v1.5):

- a :class:`Trapezoid` has ramps and a flat top; its corners sit at ``0``, ``rise``,
  ``rise + flat`` and ``rise + flat + fall`` after the start of the shape;
- an :class:`ExtendedTrapezoid` is a list of corner points (times on raster *edges* when designed by
  wavegen); it may start or end at a non-zero value, to be continued in the neighbouring block;
- an :class:`ArbitraryGradient` holds samples at raster *centres* ``(i + 0.5) * raster_s``; the
  waveform runs linearly from ``first_t_per_m`` at ``t = 0`` through the samples to
  ``last_t_per_m`` at ``t = n * raster_s`` (Pulseq ``time_id = 0`` with ``first``/``last``).

Every type is a frozen value. ``delay_s`` places the shape inside its block: the shape starts
``delay_s`` after the block start. ``duration_s`` is the length of the shape alone (delay not
included, as for :class:`~wavegen.design.pulse.RFPulse`); ``end_time_s = delay_s + duration_s`` is
Pulseq's ``calc_duration``. :meth:`corners` and :meth:`sample` describe the shape from its own
start unless asked to include the delay.

Areas are given in two units, with names that carry them:

- ``area_t_s_per_m``: the integral of G dt, T*s/m;
- ``area_per_m(gamma_hz_per_t)``: the k-space area in cycles/m, ``gamma * area`` (Pulseq's
  convention, k = gamma * integral G dt with gamma in Hz/T).

:func:`check_gradient` verifies a gradient against :class:`~wavegen.limits.SystemLimits` corner by
corner (amplitude) and segment by segment (slew); the check is exact up to floating-point rounding
(relative tolerance :data:`LIMIT_RTOL`).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import cast

import numpy as np
from numpy.typing import ArrayLike, NDArray

from wavegen.design.bounds import check_design_length
from wavegen.errors import LimitError, RangeError, RasterError, ShapeError
from wavegen.limits import TICK_S, SystemLimits
from wavegen.validate import as_1d_float, finite, non_negative, positive

__all__ = [
    "Trapezoid",
    "ExtendedTrapezoid",
    "ArbitraryGradient",
    "Gradient",
    "LIMIT_RTOL",
    "check_gradient",
    "gradient_limit_excess",
    "piecewise_linear_sample",
]

logger = logging.getLogger(__name__)

#: Relative tolerance of every limit check: floating-point rounding only (a few ulp of the limit).
LIMIT_RTOL = 1e-12

FloatArray = NDArray[np.float64]


def _frozen(arr: FloatArray) -> FloatArray:
    """``arr`` made read-only (the gradient values own their fresh copies)."""
    arr.setflags(write=False)
    return arr


def piecewise_linear_sample(
    times_s: ArrayLike, values: ArrayLike, raster_s: float, *, n_samples: int | None = None
) -> FloatArray:
    """Sample a piecewise-linear waveform at raster centres ``(i + 0.5) * raster_s``.

    Parameters
    ----------
    times_s, values
        Corner points (strictly increasing times, s). Outside ``[times_s[0], times_s[-1]]`` the
        waveform is 0.
    raster_s
        Sample period, s (> 0).
    n_samples
        Number of samples; default ``ceil(times_s[-1] / raster_s)`` computed on the nanosecond grid.

    Returns
    -------
    ndarray
        The samples, shape ``(n_samples,)``.
    """
    raster_s = positive(raster_s, "raster_s", "s")
    t = np.asarray(times_s, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    if n_samples is None:
        end_s = finite(float(t[-1]), "times_s[-1]", "s")
        check_design_length(end_s / raster_s, raster_s, f"a waveform lasting {end_s!r} s")
        end_ticks = round(end_s / TICK_S)
        r_ticks = raster_s / TICK_S
        n_samples = int(math.ceil(end_ticks / r_ticks - 1e-9))
    else:
        check_design_length(n_samples, raster_s, f"n_samples = {n_samples!r}")
    centres = (np.arange(n_samples, dtype=np.float64) + 0.5) * raster_s
    return np.asarray(np.interp(centres, t, v, left=0.0, right=0.0), dtype=np.float64)


class _GradientBase:
    """Methods shared by the three gradient types (all derived from :meth:`corners`)."""

    delay_s: float

    # -- to be provided -------------------------------------------------------------------------
    def corners(self, *, include_delay: bool = False) -> tuple[FloatArray, FloatArray]:  # pragma: no cover
        raise NotImplementedError

    @property
    def duration_s(self) -> float:  # pragma: no cover
        raise NotImplementedError

    # -- shared ---------------------------------------------------------------------------------
    @property
    def end_time_s(self) -> float:
        """Time from the block start to the end of the shape, s (``delay_s + duration_s``; Pulseq's
        ``calc_duration``)."""
        return self.delay_s + self.duration_s

    @property
    def area_t_s_per_m(self) -> float:
        """Integral of G dt over the whole shape, T*s/m (exact for piecewise-linear)."""
        t, g = self.corners()
        return float(np.sum(0.5 * (g[1:] + g[:-1]) * np.diff(t)))

    def area_per_m(self, gamma_hz_per_t: float) -> float:
        """k-space area, cycles/m: ``gamma_hz_per_t * area_t_s_per_m`` (Pulseq convention)."""
        return finite(gamma_hz_per_t, "gamma_hz_per_t", "Hz/T") * self.area_t_s_per_m

    @property
    def first_t_per_m(self) -> float:
        """Value at the start of the shape, T/m."""
        return float(self.corners()[1][0])

    @property
    def last_t_per_m(self) -> float:
        """Value at the end of the shape, T/m."""
        return float(self.corners()[1][-1])

    @property
    def max_amplitude_t_per_m(self) -> float:
        """Largest ``|G|`` over the shape, T/m."""
        return float(np.max(np.abs(self.corners()[1])))

    @property
    def max_slew_t_per_m_per_s(self) -> float:
        """Largest ``|dG/dt|`` over the shape, T/m/s (0 for a single corner)."""
        t, g = self.corners()
        if t.size < 2:
            return 0.0
        return float(np.max(np.abs(np.diff(g) / np.diff(t))))

    def sample(self, raster_s: float, *, include_delay: bool = False) -> FloatArray:
        """Values at raster centres ``(i + 0.5) * raster_s`` (Pulseq convention), T/m.

        The samples cover the shape (and the delay before it when ``include_delay``), rounded up to
        a whole number of samples; the waveform is 0 outside the shape. When ``raster_s`` divides
        every corner time the mean of the samples times the duration equals the exact area (the
        midpoint rule is exact on each linear piece).
        """
        t, g = self.corners(include_delay=include_delay)
        if include_delay and t[0] > 0:
            t = np.concatenate(([0.0], t))
            g = np.concatenate(([0.0], g))
        return piecewise_linear_sample(t, g, raster_s)

    def check(self, limits: SystemLimits) -> None:
        """Raise :class:`~wavegen.errors.LimitError` if the gradient exceeds ``limits``."""
        check_gradient(cast("Gradient", self), limits)

    def _summary(self) -> str:
        """Duration, peak, area and delay in human units (the tail of every gradient's repr)."""
        delay = f", delay {_us(self.delay_s)}" if self.delay_s else ""
        return (
            f"{_us(self.duration_s)}, peak {self.max_amplitude_t_per_m * 1e3:.4g} mT/m, "
            f"area {self.area_t_s_per_m * 1e6:.4g} mT*ms/m{delay}"
        )


def _us(t_s: float) -> str:
    """A time in us, ms or s without float noise (``0.00027`` s -> ``"270 us"``, ``0.0021`` -> ``"2.1 ms"``)."""
    if abs(t_s) >= 1.0:
        return f"{t_s:.6g} s"
    if abs(t_s) >= 1e-3:
        return f"{t_s * 1e3:.6g} ms"
    return f"{t_s * 1e6:.6g} us"


@dataclass(frozen=True)
class Trapezoid(_GradientBase):
    """A trapezoidal gradient lobe on one axis.

    Parameters
    ----------
    amplitude_t_per_m
        Flat-top amplitude, T/m (signed).
    rise_time_s, flat_time_s, fall_time_s
        Durations of the up-ramp, the flat top and the down-ramp, s (>= 0).
    delay_s
        Start of the shape after the block start, s (>= 0).

    Notes
    -----
    Pulseq ``[TRAP]`` event (Layton et al., MRM 2017;77:1544; .seq specification v1.5).
    """

    amplitude_t_per_m: float
    rise_time_s: float
    flat_time_s: float
    fall_time_s: float
    delay_s: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "amplitude_t_per_m", finite(self.amplitude_t_per_m, "Trapezoid.amplitude_t_per_m", "T/m")
        )
        for name in ("rise_time_s", "flat_time_s", "fall_time_s", "delay_s"):
            object.__setattr__(self, name, non_negative(getattr(self, name), f"Trapezoid.{name}", "s"))
        if self.amplitude_t_per_m != 0.0 and (self.rise_time_s == 0.0 or self.fall_time_s == 0.0):
            raise RangeError(
                "Trapezoid with amplitude "
                f"{self.amplitude_t_per_m!r} T/m needs rise_time_s and fall_time_s > 0 s "
                f"(got {self.rise_time_s!r} s and {self.fall_time_s!r} s): a zero ramp is an infinite slew"
            )

    @property
    def duration_s(self) -> float:
        """``rise + flat + fall``, s."""
        return self.rise_time_s + self.flat_time_s + self.fall_time_s

    def __repr__(self) -> str:
        return (
            f"Trapezoid({self.amplitude_t_per_m * 1e3:.6g} mT/m, rise {_us(self.rise_time_s)}, "
            f"flat {_us(self.flat_time_s)}, fall {_us(self.fall_time_s)}: {self._summary()})"
        )

    @property
    def area_t_s_per_m(self) -> float:
        """Integral of G dt, T*s/m: ``amplitude * (rise/2 + flat + fall/2)``."""
        return self.amplitude_t_per_m * (0.5 * self.rise_time_s + self.flat_time_s + 0.5 * self.fall_time_s)

    @property
    def flat_area_t_s_per_m(self) -> float:
        """Integral of G dt over the flat top only, T*s/m (readouts)."""
        return self.amplitude_t_per_m * self.flat_time_s

    def flat_area_per_m(self, gamma_hz_per_t: float) -> float:
        """k-space area of the flat top, cycles/m."""
        return finite(gamma_hz_per_t, "gamma_hz_per_t", "Hz/T") * self.flat_area_t_s_per_m

    def corners(self, *, include_delay: bool = False) -> tuple[FloatArray, FloatArray]:
        """Corner times (s) and amplitudes (T/m); four corners (three when ``flat_time_s == 0``)."""
        d = self.delay_s if include_delay else 0.0
        a = self.amplitude_t_per_m
        if self.flat_time_s > 0:
            t = [0.0, self.rise_time_s, self.rise_time_s + self.flat_time_s, self.duration_s]
            g = [0.0, a, a, 0.0]
        else:
            t = [0.0, self.rise_time_s, self.duration_s]
            g = [0.0, a, 0.0]
        return np.asarray(t, dtype=np.float64) + d, np.asarray(g, dtype=np.float64)

    def scaled(self, factor: float) -> Trapezoid:
        """The same timing with the amplitude multiplied by ``factor``."""
        f = finite(factor, "factor")
        return Trapezoid(
            self.amplitude_t_per_m * f, self.rise_time_s, self.flat_time_s, self.fall_time_s, self.delay_s
        )

    def with_delay(self, delay_s: float) -> Trapezoid:
        """The same shape with another delay."""
        return Trapezoid(
            self.amplitude_t_per_m, self.rise_time_s, self.flat_time_s, self.fall_time_s, delay_s
        )

    def to_extended(self) -> ExtendedTrapezoid:
        """The same waveform as an :class:`ExtendedTrapezoid`."""
        t, g = self.corners()
        return ExtendedTrapezoid(t, g, self.delay_s)


@dataclass(frozen=True, eq=False, init=False)
class ExtendedTrapezoid(_GradientBase):
    """A piecewise-linear gradient given by its corner points.

    Parameters
    ----------
    times_s
        Corner times from the start of the shape, s: strictly increasing, ``times_s[0] >= 0``.
    amplitudes_t_per_m
        Values at the corners, T/m. If ``times_s[0] > 0`` the waveform is 0 before it, so
        ``amplitudes_t_per_m[0]`` must then be 0 (Pulseq's rule). The last value may be non-zero
        (the next block continues it).
    delay_s
        Start of the shape after the block start, s.

    Notes
    -----
    Pulseq ``make_extended_trapezoid`` / ``[GRADIENTS]`` with a time shape (``time_id >= 1``).
    """

    times_s: FloatArray
    amplitudes_t_per_m: FloatArray
    delay_s: float = 0.0

    def __init__(self, times_s: ArrayLike, amplitudes_t_per_m: ArrayLike, delay_s: float = 0.0) -> None:
        t = _frozen(as_1d_float(times_s, "ExtendedTrapezoid.times_s", "s"))
        g = _frozen(as_1d_float(amplitudes_t_per_m, "ExtendedTrapezoid.amplitudes_t_per_m", "T/m"))
        if t.shape != g.shape:
            raise ShapeError(
                f"ExtendedTrapezoid.times_s has {t.size} corners but amplitudes_t_per_m has {g.size}"
            )
        if t.size < 2:
            raise ShapeError(f"ExtendedTrapezoid needs at least 2 corners, got {t.size}")
        if t[0] < 0:
            raise RangeError(f"ExtendedTrapezoid.times_s[0] = {t[0]!r} s must be >= 0 s")
        steps = np.diff(t)
        bad = np.flatnonzero(steps <= 0)
        if bad.size:
            i = int(bad[0])
            raise RangeError(
                f"ExtendedTrapezoid.times_s must increase strictly: times_s[{i + 1}] = {t[i + 1]!r} s "
                f"<= times_s[{i}] = {t[i]!r} s"
            )
        if t[0] > 0 and g[0] != 0:
            raise RangeError(
                f"ExtendedTrapezoid starts at times_s[0] = {t[0]!r} s > 0 s with a non-zero amplitude "
                f"{g[0]!r} T/m: a shape that does not start at 0 s must start at 0 T/m"
            )
        object.__setattr__(self, "times_s", t)
        object.__setattr__(self, "amplitudes_t_per_m", g)
        object.__setattr__(self, "delay_s", non_negative(delay_s, "ExtendedTrapezoid.delay_s", "s"))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ExtendedTrapezoid):
            return NotImplemented
        return (
            self.delay_s == other.delay_s
            and np.array_equal(self.times_s, other.times_s)
            and np.array_equal(self.amplitudes_t_per_m, other.amplitudes_t_per_m)
        )

    def __hash__(self) -> int:
        return hash((self.delay_s, self.times_s.tobytes(), self.amplitudes_t_per_m.tobytes()))

    @property
    def duration_s(self) -> float:
        """Time of the last corner, s."""
        return float(self.times_s[-1])

    def __repr__(self) -> str:
        g = self.amplitudes_t_per_m
        return (
            f"ExtendedTrapezoid({g.size} corners, {g[0] * 1e3:.4g} -> {g[-1] * 1e3:.4g} mT/m: "
            f"{self._summary()})"
        )

    def corners(self, *, include_delay: bool = False) -> tuple[FloatArray, FloatArray]:
        """Corner times (s) and amplitudes (T/m), as copies."""
        d = self.delay_s if include_delay else 0.0
        return self.times_s + d, self.amplitudes_t_per_m.copy()

    def scaled(self, factor: float) -> ExtendedTrapezoid:
        """The same timing with every amplitude multiplied by ``factor``."""
        f = finite(factor, "factor")
        return ExtendedTrapezoid(self.times_s, self.amplitudes_t_per_m * f, self.delay_s)

    def with_delay(self, delay_s: float) -> ExtendedTrapezoid:
        """The same shape with another delay."""
        return ExtendedTrapezoid(self.times_s, self.amplitudes_t_per_m, delay_s)

    def to_extended(self) -> ExtendedTrapezoid:
        """Itself (for symmetry with the other types)."""
        return self


@dataclass(frozen=True, eq=False, init=False)
class ArbitraryGradient(_GradientBase):
    """A regularly sampled gradient (samples at raster centres).

    Parameters
    ----------
    samples_t_per_m
        Values at ``(i + 0.5) * raster_s``, T/m.
    raster_s
        Sample period, s (> 0; normally the gradient raster).
    delay_s
        Start of the shape after the block start, s.
    first_t_per_m, last_t_per_m
        Values at the shape's edges ``t = 0`` and ``t = n * raster_s``, T/m (Pulseq ``first`` and
        ``last``); the waveform is linear between them and the neighbouring samples, so the slew
        of those half steps counts too.

    Notes
    -----
    Pulseq ``make_arbitrary_grad``, ``[GRADIENTS]`` with ``time_id = 0``.
    """

    samples_t_per_m: FloatArray
    raster_s: float
    delay_s: float = 0.0
    first_t_per_m: float = 0.0
    last_t_per_m: float = 0.0

    def __init__(
        self,
        samples_t_per_m: ArrayLike,
        raster_s: float,
        delay_s: float = 0.0,
        first_t_per_m: float = 0.0,
        last_t_per_m: float = 0.0,
    ) -> None:
        object.__setattr__(
            self,
            "samples_t_per_m",
            _frozen(as_1d_float(samples_t_per_m, "ArbitraryGradient.samples_t_per_m", "T/m")),
        )
        r = positive(raster_s, "ArbitraryGradient.raster_s", "s")
        object.__setattr__(self, "raster_s", r)
        object.__setattr__(self, "delay_s", non_negative(delay_s, "ArbitraryGradient.delay_s", "s"))
        object.__setattr__(
            self, "first_t_per_m", finite(first_t_per_m, "ArbitraryGradient.first_t_per_m", "T/m")
        )
        object.__setattr__(
            self, "last_t_per_m", finite(last_t_per_m, "ArbitraryGradient.last_t_per_m", "T/m")
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ArbitraryGradient):
            return NotImplemented
        return (
            self.raster_s == other.raster_s
            and self.delay_s == other.delay_s
            and self.first_t_per_m == other.first_t_per_m
            and self.last_t_per_m == other.last_t_per_m
            and np.array_equal(self.samples_t_per_m, other.samples_t_per_m)
        )

    def __hash__(self) -> int:
        return hash(
            (
                self.raster_s,
                self.delay_s,
                self.first_t_per_m,
                self.last_t_per_m,
                self.samples_t_per_m.tobytes(),
            )
        )

    @property
    def n_samples(self) -> int:
        return int(self.samples_t_per_m.size)

    @property
    def duration_s(self) -> float:
        """``n_samples * raster_s``, s."""
        return self.n_samples * self.raster_s

    def __repr__(self) -> str:
        return f"ArbitraryGradient({self.n_samples} samples x {_us(self.raster_s)}: {self._summary()})"

    @property
    def area_t_s_per_m(self) -> float:
        """``sum(samples) * raster_s``, T*s/m: each sample is the mean over its raster cell (Pulseq's
        ``grad.area``; exact for a zero-order-hold DAC and for cell-mean samples such as those of
        :func:`~wavegen.design.mintime.min_time_gradient`). The piecewise-linear reading of
        :meth:`corners` (used for the slew check) integrates to the same value when ``first`` equals the
        first sample and ``last`` the last one, and otherwise differs by
        ``raster_s/4 * (first - samples[0] + last - samples[-1])``."""
        return float(np.sum(self.samples_t_per_m) * self.raster_s)

    @property
    def times_s(self) -> FloatArray:
        """Sample times ``(i + 0.5) * raster_s`` from the start of the shape, s."""
        return (np.arange(self.n_samples, dtype=np.float64) + 0.5) * self.raster_s

    def corners(self, *, include_delay: bool = False) -> tuple[FloatArray, FloatArray]:
        """``(0, first)``, the samples at raster centres, ``(n * raster, last)``."""
        d = self.delay_s if include_delay else 0.0
        t = np.concatenate(([0.0], self.times_s, [self.duration_s])) + d
        g = np.concatenate(([self.first_t_per_m], self.samples_t_per_m, [self.last_t_per_m]))
        return t, g

    def sample(self, raster_s: float, *, include_delay: bool = False) -> FloatArray:
        """Values at raster centres; the stored samples themselves when ``raster_s`` is the own raster
        and no delay is asked for."""
        if raster_s == self.raster_s and not (include_delay and self.delay_s > 0):
            return self.samples_t_per_m.copy()
        return super().sample(raster_s, include_delay=include_delay)

    def scaled(self, factor: float) -> ArbitraryGradient:
        """Every value (samples, first, last) multiplied by ``factor``."""
        f = finite(factor, "factor")
        return ArbitraryGradient(
            self.samples_t_per_m * f,
            self.raster_s,
            self.delay_s,
            self.first_t_per_m * f,
            self.last_t_per_m * f,
        )

    def with_delay(self, delay_s: float) -> ArbitraryGradient:
        """The same shape with another delay."""
        return ArbitraryGradient(
            self.samples_t_per_m, self.raster_s, delay_s, self.first_t_per_m, self.last_t_per_m
        )

    def to_extended(self) -> ExtendedTrapezoid:
        """The same waveform as corner points (corners at the edges and the raster centres)."""
        t, g = self.corners()
        return ExtendedTrapezoid(t, g, self.delay_s)


#: Any of the three gradient types.
Gradient = Trapezoid | ExtendedTrapezoid | ArbitraryGradient


def gradient_limit_excess(grad: Gradient, limits: SystemLimits) -> tuple[float, float]:
    """Worst amplitude and slew of ``grad`` as fractions of the limits.

    Returns
    -------
    tuple of float
        ``(max|G| / max_grad, max|dG/dt| / max_slew)``; values above 1 exceed the limit.
    """
    return (
        grad.max_amplitude_t_per_m / limits.max_grad_t_per_m,
        grad.max_slew_t_per_m_per_s / limits.max_slew_t_per_m_per_s,
    )


def check_gradient(
    grad: Gradient, limits: SystemLimits, *, require_raster: bool = False, axis: str = ""
) -> None:
    """Verify a gradient against the amplitude and slew limits, corner by corner and segment by segment.

    For a piecewise-linear waveform the amplitude is largest at a corner and the slew is constant
    on each segment, so this check is exact (up to :data:`LIMIT_RTOL` of floating-point rounding).

    Parameters
    ----------
    grad
        The gradient.
    limits
        ``max_grad_t_per_m`` and ``max_slew_t_per_m_per_s`` are used, and ``grad_raster_s`` when
        ``require_raster``.
    require_raster
        Also require the delay and every corner of a :class:`Trapezoid` or
        :class:`ExtendedTrapezoid` (and the raster of an :class:`ArbitraryGradient`) to sit on the
        gradient raster (checked on the integer nanosecond grid).
    axis
        Name of the axis for the error message.

    Raises
    ------
    LimitError
        Naming the time, the value, the limit and the unit of the first violation.
    RasterError
        If ``require_raster`` and a time is off the raster.
    """
    where = f" on {axis}" if axis else ""
    t, g = grad.corners(include_delay=True)
    gmax = limits.max_grad_t_per_m
    over = np.flatnonzero(np.abs(g) > gmax * (1.0 + LIMIT_RTOL))
    if over.size:
        i = int(over[0])
        raise LimitError(
            f"gradient amplitude{where} |{float(g[i]):.10g}| T/m at t = {float(t[i]):.10g} s exceeds "
            f"max_grad_t_per_m = {gmax!r} T/m"
        )
    if t.size >= 2:
        smax = limits.max_slew_t_per_m_per_s
        dt = np.diff(t)
        slew = np.diff(g) / dt
        # corner times are floats: on a long gradient (tens of seconds) a 10 us segment carries a
        # representation error of a few ulp of the largest time, which the tolerance must admit
        rtol = LIMIT_RTOL + 4.0 * np.finfo(np.float64).eps * float(np.max(np.abs(t))) / dt
        over = np.flatnonzero(np.abs(slew) > smax * (1.0 + rtol))
        if over.size:
            i = int(over[0])
            raise LimitError(
                f"gradient slew{where} |{float(slew[i]):.10g}| T/m/s between t = {float(t[i]):.10g} s and "
                f"{float(t[i + 1]):.10g} s exceeds max_slew_t_per_m_per_s = {smax!r} T/m/s"
            )
    if require_raster:
        r_ns = limits.grad_raster_ns
        if isinstance(grad, ArbitraryGradient):
            checks = [("raster_s", grad.raster_s), ("delay_s", grad.delay_s)]
            own = round(grad.raster_s / TICK_S)
            if abs(grad.raster_s / TICK_S - own) > 1e-6 or own % r_ns:
                raise RasterError(
                    f"ArbitraryGradient.raster_s = {grad.raster_s!r} s is not a multiple of "
                    f"grad_raster_s = {limits.grad_raster_s!r} s"
                )
        else:
            tt, _ = grad.corners(include_delay=True)
            checks = [("delay_s", grad.delay_s)] + [(f"corner {i}", float(x)) for i, x in enumerate(tt)]
        for name, value in checks:
            ticks = value / TICK_S
            n = round(ticks)
            if abs(ticks - n) > 1e-6 + 1e-12 * abs(ticks) or n % r_ns:
                raise RasterError(
                    f"{type(grad).__name__} {name} = {value!r} s{where} is not on the gradient raster "
                    f"grad_raster_s = {limits.grad_raster_s!r} s"
                )
