"""Hardware limits and rasters: :class:`SystemLimits`.

A ``SystemLimits`` is a frozen value, always passed explicitly; there is no global default object to
mutate. Its defaults describe a typical clinical 3 T gradient and RF chain (gradients 40-80 mT/m and
150-200 T/m/s, peak B1 15-25 uT) with the Pulseq/Siemens rasters.

Limits must lie within physical sense (:data:`PLAUSIBLE_BOUNDS`): a limit above what any MRI gradient
or RF system can do (``max_slew = "150 T/m/ms"``, ``max_grad = "4 MT/m"``) is almost always a unit
slip, and it would silently disable the safety checks that compare against it, so it is refused with
an :class:`ImplausibleLimitError`. The bounds lie generously above the strongest systems built
(human gradients up to 0.5 T/m and 600 T/m/s, preclinical inserts about 1-1.5 T/m and about 1e4 T/m/s,
RF up to a few mT in solid-state NMR probes); their sources are listed in
``docs/references/limits.md``.

Time is kept on an integer base: every raster and dead time must be a whole number of nanoseconds
(:data:`TICK_S`), and the ``*_ns`` properties give those integers for exact raster arithmetic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import Any

from wavegen.errors import ConfigError, NonFiniteError, RangeError, RasterError
from wavegen.units import parse_quantity
from wavegen.validate import non_negative, positive

__all__ = [
    "SystemLimits",
    "TICK_S",
    "GAMMA_1H_HZ_PER_T",
    "GAMMA_PULSEQ_HZ_PER_T",
    "PLAUSIBLE_BOUNDS",
    "ImplausibleLimitError",
    "seconds_to_ticks",
]

#: The integer time base of wavegen: one nanosecond.
TICK_S = 1e-9

#: Gyromagnetic ratio of 1H in Hz/T (CODATA 2018: 42.577478518 MHz/T).
GAMMA_1H_HZ_PER_T = 42.577478518e6

#: The value Pulseq files assume when they define none.
GAMMA_PULSEQ_HZ_PER_T = 42.576e6


#: Largest number of ticks a time may have (2**62 ns, 146 years), well inside the int64 range of tick arrays.
_MAX_TICKS = 2**62


def seconds_to_ticks(t_s: float, *, name: str = "time") -> int:
    """Convert seconds to integer nanosecond ticks, refusing values that are not whole ticks.

    Raises
    ------
    RasterError
        If ``t_s`` is more than 1e-6 of a tick away from a whole number of nanoseconds.
    RangeError
        If ``|t_s|`` exceeds 2**62 ns (146 years), beyond any MR time and near the int64 range.
    """
    if not math.isfinite(t_s):
        raise NonFiniteError(f"{name} = {t_s!r} s is not finite")
    ticks = t_s / TICK_S
    if not abs(ticks) < _MAX_TICKS:  # also inf after the division
        raise RangeError(f"{name} = {t_s!r} s is beyond {_MAX_TICKS * TICK_S:.4g} s, the range of nanosecond ticks")
    n = round(ticks)
    # float seconds carry ~1e-16 relative error; allow that much, never a fraction of a tick
    if abs(ticks - n) > max(1e-6, 1e-12 * abs(ticks)):
        raise RasterError(f"{name} = {t_s!r} s is not a whole number of {TICK_S:g} s ticks")
    return int(n)


class ImplausibleLimitError(RangeError, ConfigError):
    """A limit lies outside what any MRI gradient or RF system can do (see :data:`PLAUSIBLE_BOUNDS`).

    Both a :class:`~wavegen.errors.RangeError` (a bad number) and a :class:`~wavegen.errors.ConfigError`
    (limits are configuration: a bench refuses them before any instrument is touched).
    """


#: field name -> (lowest, highest plausible SI value, why). The sources are in docs/references/limits.md.
PLAUSIBLE_BOUNDS: dict[str, tuple[float, float, str]] = {
    "max_grad_t_per_m": (
        0.0, 10.0,
        "human gradients reach 0.5 T/m (Connectome 2.0), preclinical and micro-imaging inserts about 1-3 T/m",
    ),
    "max_slew_t_per_m_per_s": (
        0.0, 1e5,
        "human gradients reach 600 T/m/s (Connectome 2.0), preclinical inserts about 1e4 T/m/s",
    ),
    "max_b1_t": (
        0.0, 10e-3,
        "clinical body coils reach about 25 uT, preclinical coils about 1 mT, solid-state NMR probes about 6 mT",
    ),
    "gamma_hz_per_t": (
        1e5, 1e8,
        "nuclei used in magnetic resonance lie between about 0.7 MHz/T (197Au) and 45.4 MHz/T (3H)",
    ),
    "grad_raster_s": (0.0, 1e-3, "MR system rasters are 0.1-10 us"),
    "rf_raster_s": (0.0, 1e-3, "MR system rasters are 0.1-10 us"),
    "adc_raster_s": (0.0, 1e-3, "MR system rasters are 0.1-10 us"),
    "block_raster_s": (0.0, 1e-3, "MR system rasters are 0.1-10 us"),
    "rf_dead_time_s": (0.0, 0.1, "RF dead and ring-down times are tens to hundreds of us"),
    "rf_ringdown_time_s": (0.0, 0.1, "RF dead and ring-down times are tens to hundreds of us"),
    "adc_dead_time_s": (0.0, 0.1, "ADC dead times are a few to tens of us"),
}


def _check_plausible(field: str, value: float, unit: str, given: str | None = None) -> None:
    """Raise :class:`ImplausibleLimitError` if ``value`` (SI) lies outside ``PLAUSIBLE_BOUNDS[field]``;
    ``given`` is the user's text (``"max_slew = '150 T/m/ms'"``) when there is one."""
    low, high, why = PLAUSIBLE_BOUNDS[field]
    if low <= value <= high:
        return
    side, bound = ("above", high) if value > high else ("below", low)
    what = f"{given} is {value:.6g} {unit}," if given else f"SystemLimits.{field} = {value:.6g} {unit} is"
    raise ImplausibleLimitError(
        f"{what} {side} {bound:.6g} {unit}, outside what any MR system can do "
        f"({why}; docs/references/limits.md); check the unit"
    )


# field name -> (dimension for from_units, human unit for messages)
_UNITS: dict[str, tuple[str, str]] = {
    "max_grad_t_per_m": ("T/m", "T/m"),
    "max_slew_t_per_m_per_s": ("T/m/s", "T/m/s"),
    "grad_raster_s": ("s", "s"),
    "rf_raster_s": ("s", "s"),
    "adc_raster_s": ("s", "s"),
    "block_raster_s": ("s", "s"),
    "gamma_hz_per_t": ("Hz/T", "Hz/T"),
    "rf_dead_time_s": ("s", "s"),
    "rf_ringdown_time_s": ("s", "s"),
    "adc_dead_time_s": ("s", "s"),
    "max_b1_t": ("T", "T"),
}

_SHORT_NAMES = {
    "max_grad": "max_grad_t_per_m",
    "max_slew": "max_slew_t_per_m_per_s",
    "grad_raster": "grad_raster_s",
    "rf_raster": "rf_raster_s",
    "adc_raster": "adc_raster_s",
    "block_raster": "block_raster_s",
    "gamma": "gamma_hz_per_t",
    "rf_dead_time": "rf_dead_time_s",
    "rf_ringdown_time": "rf_ringdown_time_s",
    "adc_dead_time": "adc_dead_time_s",
    "max_b1": "max_b1_t",
}


@dataclass(frozen=True)
class SystemLimits:
    """Gradient, RF and timing limits of one MR system or bench.

    Parameters
    ----------
    max_grad_t_per_m
        Largest gradient amplitude per axis, T/m (default 40 mT/m).
    max_slew_t_per_m_per_s
        Largest slew rate per axis, T/m/s (default 150 T/m/s).
    grad_raster_s, rf_raster_s, adc_raster_s, block_raster_s
        Rasters of gradient samples, RF samples, ADC dwell times and block durations, s
        (defaults 10 us, 1 us, 100 ns, 10 us as in Pulseq).
    gamma_hz_per_t
        Gyromagnetic ratio, Hz/T (default 1H, 42.577478518 MHz/T). Use another nucleus' value for
        13C, 23Na, ...; gradient limits in k-space units scale with it.
    rf_dead_time_s, rf_ringdown_time_s, adc_dead_time_s
        Dead time before RF, ring-down time after RF, dead time around the ADC, s
        (defaults 100 us, 60 us, 10 us, as in Pulseq's defaults).
    max_b1_t
        Largest RF amplitude, T (default 20 uT).

    Raises
    ------
    RangeError, NonFiniteError, RasterError
        A value that is not a number, not finite, not positive (times: negative) or a time that is not
        a whole number of nanoseconds.
    ImplausibleLimitError
        A value outside :data:`PLAUSIBLE_BOUNDS` (at most 10 T/m, 1e5 T/m/s, 10 mT of B1, gamma in
        0.1-100 MHz/T, rasters up to 1 ms, dead times up to 0.1 s); a ``RangeError`` and a
        ``ConfigError``.
    """

    max_grad_t_per_m: float = 40e-3
    max_slew_t_per_m_per_s: float = 150.0
    grad_raster_s: float = 10e-6
    rf_raster_s: float = 1e-6
    adc_raster_s: float = 100e-9
    block_raster_s: float = 10e-6
    gamma_hz_per_t: float = GAMMA_1H_HZ_PER_T
    rf_dead_time_s: float = 100e-6
    rf_ringdown_time_s: float = 60e-6
    adc_dead_time_s: float = 10e-6
    max_b1_t: float = 20e-6

    def __post_init__(self) -> None:
        for f in fields(self):
            unit = _UNITS[f.name][1]
            name = f"SystemLimits.{f.name}"
            check = non_negative if f.name.endswith("_time_s") else positive  # dead times may be 0
            value = check(getattr(self, f.name), name, unit)
            _check_plausible(f.name, value, unit)
            if _UNITS[f.name][0] == "s":  # times only (max_slew_t_per_m_per_s also ends in "_s")
                seconds_to_ticks(value, name=name)
            object.__setattr__(self, f.name, value)

    # --- construction at the edge ----------------------------------------------------------------

    @classmethod
    def from_units(cls, **quantities: Any) -> SystemLimits:
        """Build limits from quantities with units.

        Keys are the field names or their short forms (``max_grad``, ``max_slew``, ``grad_raster``,
        ``rf_raster``, ``adc_raster``, ``block_raster``, ``gamma``, ``rf_dead_time``,
        ``rf_ringdown_time``, ``adc_dead_time``, ``max_b1``); values are strings with units
        (``"40 mT/m"``, ``"150 T/m/s"``, ``"10 us"``, ``"20 uT"``) or numbers in SI.

        Examples
        --------
        >>> SystemLimits.from_units(max_grad="80 mT/m", max_slew="200 T/m/s").max_grad_t_per_m
        0.08
        """
        kwargs: dict[str, float] = {}
        for key, value in quantities.items():
            name = _SHORT_NAMES.get(key, key)
            if name not in _UNITS:
                known = sorted(set(_SHORT_NAMES) | set(_UNITS))
                raise RangeError(f"SystemLimits has no limit {key!r}; known: {', '.join(known)}")
            kwargs[name] = parse_quantity(value, _UNITS[name][0], name=key)
            if math.isfinite(kwargs[name]):  # the constructor names the non-finite ones
                _check_plausible(name, kwargs[name], _UNITS[name][1], f"{key} = {value!r}")
        return cls(**kwargs)

    def replace(self, **changes: Any) -> SystemLimits:
        """A copy with some fields changed (SI values)."""
        return replace(self, **changes)

    # --- derived values ---------------------------------------------------------------------------

    @property
    def grad_raster_ns(self) -> int:
        return seconds_to_ticks(self.grad_raster_s)

    @property
    def rf_raster_ns(self) -> int:
        return seconds_to_ticks(self.rf_raster_s)

    @property
    def adc_raster_ns(self) -> int:
        return seconds_to_ticks(self.adc_raster_s)

    @property
    def block_raster_ns(self) -> int:
        return seconds_to_ticks(self.block_raster_s)

    @property
    def max_grad_hz_per_m(self) -> float:
        """Largest gradient in Pulseq's k-space units, Hz/m (gamma * T/m)."""
        return self.max_grad_t_per_m * self.gamma_hz_per_t

    @property
    def max_slew_hz_per_m_per_s(self) -> float:
        """Largest slew rate in Pulseq's units, Hz/m/s."""
        return self.max_slew_t_per_m_per_s * self.gamma_hz_per_t
