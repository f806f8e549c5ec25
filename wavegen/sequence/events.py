"""Events of a sequence block: RF, gradients, ADC, and the extensions (triggers, labels, rotations, ...).

Every event is a frozen, hashable value. Amplitudes are kept in the units of the Pulseq file (Hz for RF,
Hz/m for gradients: gamma times the SI value) so that reading and writing a ``.seq`` file is exact; the
sequence's gyromagnetic ratio converts them to tesla and T/m when rendering. Times are integer
nanoseconds (``*_ns``): no float-seconds raster drift. (Every time field of a ``.seq`` file's events is a
whole ns: delays, ramps and flat times in us, ADC dwells in ns.)

A sequence whose rasters are not whole ns (``GradientRasterTime 1.00016276e-05``) counts time in ticks
of ``1 / ticks_per_ns`` ns (:attr:`wavegen.sequence.Sequence.ticks_per_ns`). The methods that place an
event on the time base therefore take the raster in ticks and ``ticks_per_ns`` (1: ticks are ns):
:meth:`vertices` and :meth:`duration_ticks`; :meth:`duration_ns` is the same in ns for whole-ns rasters.

Timing conventions (Pulseq, ``doc/pulseq_shapes_and_times.pdf``):

- a trapezoid's corners sit at ``delay``, ``+rise``, ``+flat``, ``+fall`` exactly;
- an arbitrary gradient's samples sit at the gradient raster *centres* ``(i + 0.5) * raster``, with
  ``first`` at 0 and ``last`` at ``n * raster``; linear in between (oversampled shapes, time id -1: at
  ``(i + 1) * raster / 2``; extended trapezoids: at the times of their time shape);
- RF samples sit at the RF raster centres and hold their value over their raster cell;
- ADC samples sit at the centres of their dwell periods; the ADC is open over ``[delay, delay + n*dwell)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from wavegen.errors import NonFiniteError, RangeError
from wavegen.sequence.shapes import Shape

__all__ = [
    "TrapGradient",
    "ArbGradient",
    "RFEvent",
    "ADCEvent",
    "Delay",
    "Trigger",
    "LabelSet",
    "LabelInc",
    "SoftDelay",
    "Rotation",
    "RFShim",
    "UnknownExtension",
    "Block",
    "GradEvent",
    "ExtensionEvent",
    "RF_USE_CODES",
    "SUPPORTED_LABELS",
]

#: Pulseq RF ``use`` letters and their meaning.
RF_USE_CODES = {
    "e": "excitation",
    "r": "refocusing",
    "i": "inversion",
    "s": "saturation",
    "p": "preparation",
    "o": "other",
    "u": "undefined",
}

#: Label names known to MATLAB Pulseq (counters, then flags). ``NOSLC`` is accepted as an alias.
SUPPORTED_LABELS = (
    "SLC",
    "SEG",
    "REP",
    "AVG",
    "SET",
    "ECO",
    "PHS",
    "LIN",
    "PAR",
    "ACQ",
    "TRID",
    "NAV",
    "REV",
    "SMS",
    "REF",
    "IMA",
    "OFF",
    "NOISE",
    "PMC",
    "NOROT",
    "NOPOS",
    "NOSCL",
    "NOSLC",
    "ONCE",
)


def _f(value: Any, name: str, unit: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise RangeError(f"{name} must be a real number in {unit}, got {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise NonFiniteError(f"{name} = {v!r} {unit} is not finite")
    return 0.0 if v == 0.0 else v


def _ns(value: Any, name: str, *, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise RangeError(f"{name} must be an integer number of ns, got {value!r}")
    v = int(value)
    if v < minimum:
        raise RangeError(f"{name} = {v} ns must be >= {minimum} ns")
    return v


@dataclass(frozen=True)
class TrapGradient:
    """A trapezoid gradient: amplitude in Hz/m, ramp and flat times and delay in integer ns."""

    amplitude_hz_per_m: float
    rise_ns: int
    flat_ns: int
    fall_ns: int
    delay_ns: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "amplitude_hz_per_m", _f(self.amplitude_hz_per_m, "TrapGradient.amplitude_hz_per_m", "Hz/m")
        )
        for n in ("rise_ns", "flat_ns", "fall_ns", "delay_ns"):
            object.__setattr__(self, n, _ns(getattr(self, n), f"TrapGradient.{n}"))

    def duration_ns(self, grad_raster_ns: int = 0) -> int:
        """End of the event from the start of its block, ns."""
        return self.delay_ns + self.rise_ns + self.flat_ns + self.fall_ns

    def duration_ticks(self, grad_raster_ticks: int = 0, ticks_per_ns: int = 1) -> int:
        """End of the event from the start of its block, ticks of ``1 / ticks_per_ns`` ns."""
        return self.duration_ns() * ticks_per_ns

    def vertices(self, grad_raster_ticks: int, ticks_per_ns: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """Corner times (ticks from block start; ns when ``ticks_per_ns`` is 1) and values (Hz/m) of the
        piecewise-linear waveform."""
        d, r, f, a = self.delay_ns, self.rise_ns, self.flat_ns, self.amplitude_hz_per_m
        if ticks_per_ns != 1:
            d, r, f = d * ticks_per_ns, r * ticks_per_ns, f * ticks_per_ns
        if f > 0:
            t = [d, d + r, d + r + f, d + r + f + self.fall_ns * ticks_per_ns]
            v = [0.0, a, a, 0.0]
        else:
            t = [d, d + r, d + r + self.fall_ns * ticks_per_ns]
            v = [0.0, a, 0.0]
        return np.array(t, dtype=np.int64), np.array(v, dtype=np.float64)

    def area_hz_s_per_m(self) -> float:
        """Integral of the waveform, Hz*s/m (= 1/m, k-space cycles)."""
        return self.amplitude_hz_per_m * (self.flat_ns + 0.5 * (self.rise_ns + self.fall_ns)) * 1e-9


@dataclass(frozen=True)
class ArbGradient:
    """A shaped gradient: ``amplitude * shape`` in Hz/m.

    ``time_shape`` None is the regular raster (samples at raster centres); with ``oversampled`` the
    samples are at half-raster steps (Pulseq time id -1); otherwise ``time_shape`` holds the sample
    times in gradient-raster units (an extended trapezoid). ``first``/``last`` are the values at the
    start and end of the event (Pulseq 1.5 fields).
    """

    amplitude_hz_per_m: float
    shape: Shape
    first_hz_per_m: float = 0.0
    last_hz_per_m: float = 0.0
    delay_ns: int = 0
    time_shape: Shape | None = None
    oversampled: bool = False

    def __post_init__(self) -> None:
        for n, u in (("amplitude_hz_per_m", "Hz/m"), ("first_hz_per_m", "Hz/m"), ("last_hz_per_m", "Hz/m")):
            object.__setattr__(self, n, _f(getattr(self, n), f"ArbGradient.{n}", u))
        object.__setattr__(self, "delay_ns", _ns(self.delay_ns, "ArbGradient.delay_ns"))
        if not isinstance(self.shape, Shape):
            object.__setattr__(self, "shape", Shape(self.shape))
        if self.time_shape is not None and not isinstance(self.time_shape, Shape):
            object.__setattr__(self, "time_shape", Shape(self.time_shape))
        if self.time_shape is not None and len(self.time_shape) != len(self.shape):
            raise RangeError(f"ArbGradient: time shape has {len(self.time_shape)} samples, waveform {len(self.shape)}")
        if self.time_shape is not None and self.oversampled:
            raise RangeError("ArbGradient: a gradient with a time shape cannot also be oversampled")
        if self.oversampled and len(self.shape) % 2 != 1:
            raise RangeError(f"ArbGradient: an oversampled shape needs an odd number of samples, got {len(self.shape)}")
        if self.time_shape is not None:
            ts = self.time_shape.samples
            if np.any(np.diff(ts) < 0) or ts[0] < 0:
                raise RangeError("ArbGradient: time shape must be non-negative and non-decreasing")

    @property
    def waveform_hz_per_m(self) -> np.ndarray:
        """The samples times the amplitude, Hz/m."""
        return self.amplitude_hz_per_m * self.shape.samples

    def sample_times_ns(self, grad_raster_ns: Any) -> np.ndarray:
        """Times of the shape samples from the event start (after delay), ns (float64)."""
        n = len(self.shape)
        r = float(grad_raster_ns)
        if self.time_shape is not None:
            return self.time_shape.samples * r
        if self.oversampled:
            return (np.arange(n, dtype=np.float64) + 1.0) * (r / 2)
        return (np.arange(n, dtype=np.float64) + 0.5) * r

    def shape_duration_ticks(self, grad_raster_ticks: int) -> int:
        """Length of the shape (without the delay), ticks (the raster in the same ticks)."""
        n = len(self.shape)
        if self.time_shape is not None:
            return _whole_ticks(float(self.time_shape.samples[-1]) * grad_raster_ticks, "gradient time shape end")
        if self.oversampled:
            return (n + 1) * grad_raster_ticks // 2
        return n * grad_raster_ticks

    def shape_duration_ns(self, grad_raster_ns: int) -> int:
        return self.shape_duration_ticks(grad_raster_ns)

    def duration_ns(self, grad_raster_ns: int) -> int:
        return self.delay_ns + self.shape_duration_ticks(grad_raster_ns)

    def duration_ticks(self, grad_raster_ticks: int, ticks_per_ns: int = 1) -> int:
        """End of the event from the start of its block, ticks of ``1 / ticks_per_ns`` ns."""
        return self.delay_ns * ticks_per_ns + self.shape_duration_ticks(grad_raster_ticks)

    def vertices(self, grad_raster_ticks: int, ticks_per_ns: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """Vertex times (int ticks from block start; ns when ``ticks_per_ns`` is 1) and values (Hz/m),
        linear in between. The raster is given in the same ticks."""
        w = self.waveform_hz_per_m
        d = self.delay_ns * ticks_per_ns
        graster = int(grad_raster_ticks)
        unit = "ns" if ticks_per_ns == 1 else f"ticks of 1/{ticks_per_ns} ns"
        if self.time_shape is not None:
            tt = self.time_shape.samples * graster
            if float(tt[-1]) >= 2.0**53:
                raise RangeError(f"ArbGradient: time shape ends at {float(tt[-1])!r} {unit}, out of range")
            ti = np.rint(tt)
            if np.any(np.abs(tt - ti) > 1e-6):
                i = int(np.argmax(np.abs(tt - ti) > 1e-6))
                raise RangeError(
                    f"ArbGradient: time shape point {i} ({float(self.time_shape.samples[i])!r} rasters) is "
                    f"{float(tt[i])!r} {unit}, not a whole number of {unit}: it falls between the points of "
                    "the time base and cannot be placed exactly"
                )
            return ti.astype(np.int64) + d, w.copy()
        n = w.size
        if self.oversampled:
            if graster % 2:
                raise RangeError(f"an oversampled gradient needs an even raster in {unit}, got {graster}")
            t = np.arange(n + 2, dtype=np.int64) * (graster // 2)
        else:
            if graster % 2:
                raise RangeError(f"gradient raster {graster} {unit} is odd: centres are not whole {unit}")
            t = np.empty(n + 2, dtype=np.int64)
            t[0] = 0
            t[1:-1] = np.arange(n, dtype=np.int64) * graster + graster // 2
            t[-1] = n * graster
        v = np.empty(n + 2, dtype=np.float64)
        v[0] = self.first_hz_per_m
        v[1:-1] = w
        v[-1] = self.last_hz_per_m
        return t + d, v


def _whole_ticks(x: float, name: str) -> int:
    """A time computed in float (shape value x raster) as whole ticks (ns on the nanosecond base)."""
    if not abs(x) < 2.0**53:
        raise RangeError(f"{name} = {x!r} ticks is out of range")
    n = round(x)
    if abs(x - n) > 1e-6:
        raise RangeError(f"{name} = {x!r} ticks is not a whole number of ticks of the time base")
    return int(n)


GradEvent = TrapGradient | ArbGradient


@dataclass(frozen=True)
class RFEvent:
    """An RF pulse as Pulseq stores it.

    ``amplitude_hz`` is the peak (gamma * B1, Hz); ``magnitude`` is normalised; ``phase`` holds the phase
    in cycles (``phase_rad / 2pi``); ``time_shape`` None means samples at RF raster centres, else the
    sample times in RF raster units (vertices, linear in between; e.g. a block pulse ``[0, n]``).
    ``center_us`` is the effective centre from the start of the shape, us (a float, as in the file).
    """

    amplitude_hz: float
    magnitude: Shape
    phase: Shape
    time_shape: Shape | None = None
    center_us: float = 0.0
    delay_ns: int = 0
    freq_ppm: float = 0.0
    phase_ppm: float = 0.0
    freq_offset_hz: float = 0.0
    phase_offset_rad: float = 0.0
    use: str = "u"

    def __post_init__(self) -> None:
        for n, u in (
            ("amplitude_hz", "Hz"),
            ("center_us", "us"),
            ("freq_ppm", "ppm"),
            ("phase_ppm", "rad/MHz"),
            ("freq_offset_hz", "Hz"),
            ("phase_offset_rad", "rad"),
        ):
            object.__setattr__(self, n, _f(getattr(self, n), f"RFEvent.{n}", u))
        object.__setattr__(self, "delay_ns", _ns(self.delay_ns, "RFEvent.delay_ns"))
        for n in ("magnitude", "phase", "time_shape"):
            v = getattr(self, n)
            if v is not None and not isinstance(v, Shape):
                object.__setattr__(self, n, Shape(v))
        if len(self.phase) != len(self.magnitude):
            raise RangeError(f"RFEvent: phase shape has {len(self.phase)} samples, magnitude {len(self.magnitude)}")
        if self.time_shape is not None and len(self.time_shape) != len(self.magnitude):
            raise RangeError(f"RFEvent: time shape has {len(self.time_shape)} samples, magnitude {len(self.magnitude)}")
        if self.time_shape is not None:
            ts = self.time_shape.samples
            if ts[0] < 0 or np.any(np.diff(ts) < 0):
                raise RangeError("RFEvent: time shape must be non-negative and non-decreasing (it may not restart)")
        use = self.use
        if use not in RF_USE_CODES:
            full = {v: k for k, v in RF_USE_CODES.items()}
            if use in full:
                object.__setattr__(self, "use", full[use])
            else:
                raise RangeError(f"RFEvent.use = {use!r} is not one of {', '.join(RF_USE_CODES)}")

    @property
    def signal_hz(self) -> np.ndarray:
        """Complex samples ``amp * mag * exp(2j*pi*phase)``, Hz (no frequency/phase offset)."""
        ph = self.phase.samples
        if np.any(np.abs(ph) > 1.0):  # whole turns do not matter; keep the argument small
            ph = np.mod(ph, 1.0)
        return self.amplitude_hz * self.magnitude.samples * np.exp(2j * np.pi * ph)

    def sample_times_ns(self, rf_raster_ns: Any) -> np.ndarray:
        """Sample times from the shape start (after delay), ns (float64)."""
        r = float(rf_raster_ns)
        if self.time_shape is not None:
            return self.time_shape.samples * r
        return (np.arange(len(self.magnitude), dtype=np.float64) + 0.5) * r

    def shape_duration_ticks(self, rf_raster_ticks: int) -> int:
        """Length of the shape (without the delay), ticks (the raster in the same ticks)."""
        if self.time_shape is not None:
            return _whole_ticks(float(self.time_shape.samples[-1]) * rf_raster_ticks, "RF time shape end")
        return len(self.magnitude) * rf_raster_ticks

    def shape_duration_ns(self, rf_raster_ns: int) -> int:
        return self.shape_duration_ticks(rf_raster_ns)

    def duration_ns(self, rf_raster_ns: int) -> int:
        return self.delay_ns + self.shape_duration_ticks(rf_raster_ns)

    def duration_ticks(self, rf_raster_ticks: int, ticks_per_ns: int = 1) -> int:
        """End of the event from the start of its block, ticks of ``1 / ticks_per_ns`` ns."""
        return self.delay_ns * ticks_per_ns + self.shape_duration_ticks(rf_raster_ticks)


@dataclass(frozen=True)
class ADCEvent:
    """An ADC readout: ``num_samples`` samples of ``dwell_ns`` after ``delay_ns``."""

    num_samples: int
    dwell_ns: int
    delay_ns: int = 0
    freq_ppm: float = 0.0
    phase_ppm: float = 0.0
    freq_offset_hz: float = 0.0
    phase_offset_rad: float = 0.0
    phase_shape: Shape | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "num_samples", _ns(self.num_samples, "ADCEvent.num_samples", minimum=1))
        object.__setattr__(self, "dwell_ns", _ns(self.dwell_ns, "ADCEvent.dwell_ns", minimum=1))
        object.__setattr__(self, "delay_ns", _ns(self.delay_ns, "ADCEvent.delay_ns"))
        for n, u in (
            ("freq_ppm", "ppm"),
            ("phase_ppm", "rad/MHz"),
            ("freq_offset_hz", "Hz"),
            ("phase_offset_rad", "rad"),
        ):
            object.__setattr__(self, n, _f(getattr(self, n), f"ADCEvent.{n}", u))
        if self.phase_shape is not None and not isinstance(self.phase_shape, Shape):
            object.__setattr__(self, "phase_shape", Shape(self.phase_shape))

    def duration_ns(self, raster_ns: int = 0) -> int:
        return self.delay_ns + self.num_samples * self.dwell_ns

    def duration_ticks(self, raster_ticks: int = 0, ticks_per_ns: int = 1) -> int:
        """End of the event from the start of its block, ticks of ``1 / ticks_per_ns`` ns."""
        return self.duration_ns() * ticks_per_ns


@dataclass(frozen=True)
class Delay:
    """A pure delay: asks the block to last at least ``duration_ns`` (not stored as an event)."""

    duration_ns: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "duration_ns", _ns(self.duration_ns, "Delay.duration_ns"))

    @classmethod
    def from_seconds(cls, duration_s: float) -> Delay:
        from wavegen.limits import seconds_to_ticks

        return cls(seconds_to_ticks(duration_s, name="Delay duration_s"))


# --- extensions ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Trigger:
    """TRIGGERS extension: ``kind`` 1 = digital output, 2 = trigger input; channel; delay and duration."""

    kind: int
    channel: int
    delay_ns: int = 0
    duration_ns: int = 0

    def __post_init__(self) -> None:
        for n in ("kind", "channel", "delay_ns", "duration_ns"):
            object.__setattr__(self, n, _ns(getattr(self, n), f"Trigger.{n}"))


@dataclass(frozen=True)
class LabelSet:
    """LABELSET extension: set ``label`` to ``value`` (before the block's ADC)."""

    label: str
    value: int

    def __post_init__(self) -> None:
        _check_label(self.label)
        object.__setattr__(self, "value", _int(self.value, "LabelSet.value"))


@dataclass(frozen=True)
class LabelInc:
    """LABELINC extension: add ``value`` to ``label``."""

    label: str
    value: int

    def __post_init__(self) -> None:
        _check_label(self.label)
        object.__setattr__(self, "value", _int(self.value, "LabelInc.value"))


def _int(v: Any, name: str) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise RangeError(f"{name} must be an integer, got {v!r}")
    return int(v)


def _check_label(label: str) -> None:
    if not isinstance(label, str) or not label or any(c.isspace() for c in label):
        raise RangeError(f"label must be a non-empty word, got {label!r}")


@dataclass(frozen=True)
class SoftDelay:
    """DELAYS extension (1.5.0): block duration = (value - offset) / factor for a named delay ``hint``."""

    num: int
    offset_ns: int
    factor: float
    hint: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "num", _int(self.num, "SoftDelay.num"))
        object.__setattr__(self, "offset_ns", _int(self.offset_ns, "SoftDelay.offset_ns"))
        object.__setattr__(self, "factor", _f(self.factor, "SoftDelay.factor", "1"))
        if self.factor == 0:
            raise RangeError("SoftDelay.factor must not be 0")
        _check_label(self.hint)


@dataclass(frozen=True)
class Rotation:
    """ROTATIONS extension (1.5.1): unit quaternion ``(q0, qx, qy, qz)`` rotating the block's gradients."""

    q0: float
    qx: float
    qy: float
    qz: float

    def __post_init__(self) -> None:
        for n in ("q0", "qx", "qy", "qz"):
            object.__setattr__(self, n, _f(getattr(self, n), f"Rotation.{n}", "1"))
        norm = math.sqrt(self.q0**2 + self.qx**2 + self.qy**2 + self.qz**2)
        if abs(norm - 1.0) > 1e-6:
            raise RangeError(f"Rotation quaternion norm is {norm!r}, must be 1 (within 1e-6)")

    def matrix(self) -> np.ndarray:
        """The 3x3 rotation matrix (logical gx, gy, gz -> physical x, y, z)."""
        w, x, y, z = self.q0, self.qx, self.qy, self.qz
        n = math.sqrt(w * w + x * x + y * y + z * z)
        w, x, y, z = w / n, x / n, y / n, z / n
        return np.array(
            [
                [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
                [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
                [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
            ]
        )


@dataclass(frozen=True)
class RFShim:
    """RF_SHIMS extension (1.5.1): per-transmit-channel magnitude and phase (rad)."""

    magnitudes: tuple[float, ...]
    phases_rad: tuple[float, ...]

    def __post_init__(self) -> None:
        m = tuple(_f(v, "RFShim.magnitudes", "1") for v in self.magnitudes)
        p = tuple(_f(v, "RFShim.phases_rad", "rad") for v in self.phases_rad)
        if len(m) != len(p) or not m:
            raise RangeError(f"RFShim needs as many phases as magnitudes (>=1), got {len(m)} and {len(p)}")
        object.__setattr__(self, "magnitudes", m)
        object.__setattr__(self, "phases_rad", p)


@dataclass(frozen=True)
class UnknownExtension:
    """An extension wavegen does not interpret, kept verbatim (name and the fields after the id)."""

    name: str
    fields: tuple[str, ...]


ExtensionEvent = Trigger | LabelSet | LabelInc | SoftDelay | Rotation | RFShim | UnknownExtension


@dataclass(frozen=True)
class Block:
    """One block of a sequence: its duration (ns) and the events that start with it.

    ``duration_ns`` is an int, or an exact :class:`fractions.Fraction` of a ns in a sequence whose block
    raster is not a whole number of ns (see :attr:`wavegen.sequence.Sequence.ticks_per_ns`).
    """

    duration_ns: int | Fraction
    rf: RFEvent | None = None
    gx: GradEvent | None = None
    gy: GradEvent | None = None
    gz: GradEvent | None = None
    adc: ADCEvent | None = None
    extensions: tuple[ExtensionEvent, ...] = field(default=())

    @property
    def duration_s(self) -> float:
        return float(self.duration_ns) * 1e-9

    @property
    def rotation(self) -> Rotation | None:
        for e in self.extensions:
            if isinstance(e, Rotation):
                return e
        return None
