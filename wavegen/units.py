"""Human units at the edge: parse ``"40 mT/m"`` into SI numbers.

Inside wavegen every number is SI (s, Hz, T, T/m, T/m/s, V, W, kg). Config files, the command line and
notebooks may write quantities with units; :func:`parse_quantity` turns such a string into the SI value
of a stated dimension and refuses anything else with a message that names the text and the unit it
expected.

Examples
--------
>>> parse_quantity("40 mT/m", "T/m")
0.04
>>> parse_quantity("10 us", "s")
1e-05
>>> parse_quantity("150 T/m/s", "T/m/s")
150.0
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

import numpy as np

from wavegen.errors import NonFiniteError, RangeError, UnitError

__all__ = ["parse_quantity", "DIMENSIONS"]

_PREFIX = {
    "": 1.0,
    "G": 1e9,
    "M": 1e6,
    "k": 1e3,
    "m": 1e-3,
    "u": 1e-6,
    "µ": 1e-6,
    "μ": 1e-6,
    "n": 1e-9,
    "p": 1e-12,
}

# Each dimension: its SI spelling and the base units (before prefixes) that mean it, with their factor.
DIMENSIONS: dict[str, dict[str, float]] = {
    "s": {"s": 1.0},
    "Hz": {"Hz": 1.0, "/s": 1.0},
    "T": {"T": 1.0, "G": 1e-4},  # gauss accepted for B1 (1 G = 1e-4 T); "G" alone is gauss here
    "T/m": {"T/m": 1.0, "G/cm": 1e-2},
    "T/m/s": {"T/m/s": 1.0, "T/(m*s)": 1.0, "T/m/ms": 1e3, "G/cm/s": 1e-2, "G/cm/ms": 10.0},
    "Hz/T": {"Hz/T": 1.0},
    "V": {"V": 1.0},
    "W": {"W": 1.0},
    "kg": {"g": 1e-3},
    "W/kg": {"W/kg": 1.0},
    "rad": {"rad": 1.0, "deg": math.pi / 180.0, "°": math.pi / 180.0},
    "m": {"m": 1.0},
    "V/(T/m)": {"V/(T/m)": 1.0, "V/(mT/m)": 1e3},
    "V/T": {"V/T": 1.0, "V/uT": 1e6, "V/µT": 1e6},
    "": {"": 1.0},
    # gradient areas: k-space cycles per metre (gamma-scaled, Pulseq's unit) and tesla-seconds per metre
    "1/m": {"1/m": 1.0, "/m": 1.0, "1/cm": 1e2, "/cm": 1e2, "1/mm": 1e3, "/mm": 1e3},
    "T*s/m": {"T*s/m": 1.0, "Ts/m": 1.0, "T*ms/m": 1e-3, "mT*ms/m": 1e-6, "mT/m*ms": 1e-6, "uT*s/m": 1e-6},
}

_NUMBER = re.compile(r"^\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*(.*?)\s*$")


def _unit_factor(unit: str, dimension: str) -> float | None:
    table = DIMENSIONS[dimension]
    if unit in table:
        return table[unit]
    for base, factor in table.items():
        if not base:
            continue
        # a prefix on the leading unit symbol ("mT/m", "us", "kHz", "MHz/T", "uT")
        if unit.endswith(base[1:]) and len(unit) >= len(base):
            head = unit[: len(unit) - len(base) + 1]
            prefix, symbol = head[:-1], head[-1]
            if symbol == base[0] and prefix in _PREFIX:
                return _PREFIX[prefix] * factor
    return None


#: Longest text :func:`parse_quantity` reads (a number with a unit is a few dozen characters).
_MAX_TEXT = 200

#: Decimal exponents beyond this are refused before any arithmetic (floats end near 1e308 and 1e-324;
#: exact arithmetic on 1e999999999 would take minutes).
_MAX_EXPONENT = 400


def _number_text(number_text: str, value: str, name: str) -> str:
    """The number text to read exactly, after refusing a decimal exponent so large or small that no
    float holds the number (zero with any exponent is zero)."""
    mantissa, _, exponent = number_text.lower().partition("e")
    if exponent and abs(int(exponent)) > _MAX_EXPONENT:
        if float(mantissa) == 0.0:
            return "0"
        raise RangeError(
            f"{name}: {value!r} is beyond the range of floating-point numbers (about 1e-308 to 1.8e308)"
        )
    return number_text


def parse_quantity(value: str | float | int, dimension: str, *, name: str = "value") -> float:
    """Parse a number with a unit into SI.

    Parameters
    ----------
    value
        ``"40 mT/m"``, ``"10us"``, ``"42.576 MHz/T"``; a bare number is taken as already SI.
    dimension
        The SI unit expected, one of :data:`DIMENSIONS` (``"T/m"``, ``"s"``, ``"Hz"``, ...).
    name
        What the value is, for the error message.

    Returns
    -------
    float
        The value in SI units of ``dimension``.

    Raises
    ------
    UnitError
        The text does not parse (or is longer than 200 characters), or its unit is not of the expected
        dimension.
    NonFiniteError
        The number is NaN or infinite.
    RangeError
        The number lies beyond the range of floating-point numbers (``"1e400 mT/m"``).
    """
    if dimension not in DIMENSIONS:
        raise UnitError(f"unknown dimension {dimension!r}; known: {sorted(DIMENSIONS)}")
    if isinstance(value, bool):
        raise UnitError(f"{name}: expected a number or a string with a unit in {dimension}, got {value!r}")
    if isinstance(value, (int, float, np.integer, np.floating)):
        try:
            number = float(value)
        except OverflowError:  # a Python int beyond the float range
            digits = len(str(abs(int(value))))
            raise RangeError(
                f"{name}: an integer of {digits} digits is beyond the range of floating-point numbers (about 1.8e308)"
            ) from None
    elif isinstance(value, str):
        if len(value) > _MAX_TEXT:
            raise UnitError(
                f"{name}: {len(value)} characters are too long for a number with a unit (at most {_MAX_TEXT})"
            )
        m = _NUMBER.match(value)
        if m is None:
            raise UnitError(f"{name}: cannot read {value!r} as a number with a unit (expected e.g. '1.5 {dimension}')")
        number_text = _number_text(m.group(1), value, name)
        unit = m.group(2).replace(" ", "")
        factor = _unit_factor(unit, dimension) if unit else 1.0
        if factor is None:
            raise UnitError(
                f"{name}: unit {unit!r} in {value!r} is not a unit of {dimension} "
                f"(accepted: {', '.join(k for k in DIMENSIONS[dimension] if k)} with SI prefixes)"
            )
        # exact decimal arithmetic, so that "10 us" is the float nearest 1e-5, not 9.999999999999999e-06
        try:
            number = float(Fraction(number_text) * Fraction(repr(factor)))
        except OverflowError:
            raise RangeError(
                f"{name}: {value!r} is beyond the range of floating-point numbers (about 1.8e308 {dimension})"
            ) from None
    else:
        raise UnitError(f"{name}: expected a number or a string with a unit in {dimension}, got {type(value).__name__}")
    if not math.isfinite(number):
        raise NonFiniteError(f"{name}: {value!r} is not finite")
    return number
