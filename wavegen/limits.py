"""Hardware limits and rasters: :class:`SystemLimits`.

A ``SystemLimits`` is a frozen value, always passed explicitly; there is no global default object to
mutate. Its defaults describe a typical clinical 3 T gradient and RF chain (REFERENCES.md: gradients
40-80 mT/m and 150-200 T/m/s, peak B1 15-25 uT) with the Pulseq/Siemens rasters.

Time is kept on an integer base: every raster and dead time must be a whole number of nanoseconds
(:data:`TICK_S`), and the ``*_ns`` properties give those integers for exact raster arithmetic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import Any

from wavegen.errors import NonFiniteError, RangeError, RasterError
from wavegen.units import parse_quantity

__all__ = ["SystemLimits", "TICK_S", "GAMMA_1H_HZ_PER_T", "GAMMA_PULSEQ_HZ_PER_T", "seconds_to_ticks"]

#: The integer time base of wavegen: one nanosecond.
TICK_S = 1e-9

#: Gyromagnetic ratio of 1H in Hz/T (CODATA 2018: 42.577478518 MHz/T).
GAMMA_1H_HZ_PER_T = 42.577478518e6

#: The value Pulseq files assume when they define none.
GAMMA_PULSEQ_HZ_PER_T = 42.576e6


def seconds_to_ticks(t_s: float, *, name: str = "time") -> int:
    """Convert seconds to integer nanosecond ticks, refusing values that are not whole ticks.

    Raises
    ------
    RasterError
        If ``t_s`` is more than 1e-6 of a tick away from a whole number of nanoseconds.
    """
    if not math.isfinite(t_s):
        raise NonFiniteError(f"{name} = {t_s!r} s is not finite")
    ticks = t_s / TICK_S
    n = round(ticks)
    # float seconds carry ~1e-16 relative error; allow that much, never a fraction of a tick
    if abs(ticks - n) > max(1e-6, 1e-12 * abs(ticks)):
        raise RasterError(f"{name} = {t_s!r} s is not a whole number of {TICK_S:g} s ticks")
    return int(n)


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
            value = getattr(self, f.name)
            unit = _UNITS[f.name][1]
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise RangeError(f"SystemLimits.{f.name} must be a number in {unit}, got {value!r}")
            if not math.isfinite(value):
                raise NonFiniteError(f"SystemLimits.{f.name} = {value!r} {unit} is not finite")
            if f.name.endswith("_time_s"):
                if value < 0:
                    raise RangeError(f"SystemLimits.{f.name} = {value!r} {unit} must be >= 0 {unit}")
            elif value <= 0:
                raise RangeError(f"SystemLimits.{f.name} = {value!r} {unit} must be > 0 {unit}")
            if _UNITS[f.name][0] == "s":  # times only (max_slew_t_per_m_per_s also ends in "_s")
                seconds_to_ticks(float(value), name=f"SystemLimits.{f.name}")
            object.__setattr__(self, f.name, float(value))

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
