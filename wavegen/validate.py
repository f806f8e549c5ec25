"""The one place where wavegen checks scalar and array inputs.

Every check takes its arguments in one order, ``(value, name, unit)``, returns the value converted
(a ``float``, an ``int`` or a fresh NumPy array) and raises an error from :mod:`wavegen.errors` whose
message names the value, the bound it broke and the unit:

>>> positive("3", "duration_s", "s")
Traceback (most recent call last):
...
wavegen.errors.RangeError: duration_s must be a real number in s, got '3'
>>> positive(-2.0, "duration_s", "s")
Traceback (most recent call last):
...
wavegen.errors.RangeError: duration_s = -2.0 s must be > 0 s

Which error is raised:

- a value that is not a number (a string, ``None``, ``True``): :class:`~wavegen.errors.RangeError`
  (the historic class of these checks, a ``ValueError``);
- NaN or infinity: :class:`~wavegen.errors.NonFiniteError`;
- a number outside its bounds: :class:`~wavegen.errors.RangeError`;
- an array of the wrong shape, dtype or size: :class:`~wavegen.errors.ShapeError`;
- a duration that is not a whole number of raster periods: :class:`~wavegen.errors.RasterError`.

Pass ``error=`` to raise another subclass of :class:`~wavegen.errors.WavegenValueError` for every
failure of a scalar check (for example :class:`~wavegen.errors.ConfigError` for configuration input,
so that a bench refuses it before any instrument is touched).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from wavegen.errors import NonFiniteError, RangeError, RasterError, ShapeError, WavegenValueError

__all__ = [
    "finite",
    "positive",
    "non_negative",
    "in_range",
    "at_most",
    "integer",
    "one_of",
    "first_nonfinite",
    "all_finite",
    "as_float_array",
    "as_1d_float",
    "as_1d_complex",
    "as_1d_numeric",
    "as_2d_float",
    "raster_count",
]

_REAL_TYPES = (int, float, np.integer, np.floating)


def _with_unit(value: Any, unit: str) -> str:
    """``"3.0 s"`` or ``"3.0"`` when there is no unit."""
    return f"{value!r} {unit}" if unit else f"{value!r}"


def _unit_suffix(unit: str) -> str:
    return f" {unit}" if unit else ""


def finite(value: Any, name: str, unit: str = "", *, error: type[WavegenValueError] | None = None) -> float:
    """``value`` as a finite ``float``.

    Parameters
    ----------
    value
        A real number (Python or NumPy; ``bool`` is refused).
    name
        What the value is, as the caller's user knows it (``"duration_s"``, ``"--flip"``).
    unit
        Its unit for the message (``"s"``, ``"T/m"``; empty for a pure number).
    error
        Raise this class for every failure instead of the defaults below (for example
        :class:`~wavegen.errors.ConfigError` for configuration input).

    Returns
    -------
    float

    Raises
    ------
    RangeError
        If ``value`` is not a real number or is beyond the float range.
    NonFiniteError
        If it is NaN or infinite.
    """
    if isinstance(value, bool) or not isinstance(value, _REAL_TYPES):
        what = f"a real number in {unit}" if unit else "a real number"
        raise (error or RangeError)(f"{name} must be {what}, got {value!r}")
    try:
        v = float(value)
    except OverflowError:  # a Python int beyond the float range
        digits = len(str(abs(int(value))))
        raise (error or RangeError)(
            f"{name}: an integer of {digits} digits is beyond the range of floating-point numbers"
        ) from None
    if not math.isfinite(v):
        raise (error or NonFiniteError)(f"{name} = {_with_unit(v, unit)} is not finite")
    return v


def positive(value: Any, name: str, unit: str = "", *, error: type[WavegenValueError] = RangeError) -> float:
    """``value`` as a finite ``float > 0``; see :func:`finite` for the errors."""
    v = finite(value, name, unit, error=None if error is RangeError else error)
    if v <= 0:
        raise error(f"{name} = {_with_unit(v, unit)} must be > 0{_unit_suffix(unit)}")
    return v


def non_negative(value: Any, name: str, unit: str = "", *, error: type[WavegenValueError] = RangeError) -> float:
    """``value`` as a finite ``float >= 0``; see :func:`finite` for the errors."""
    v = finite(value, name, unit, error=None if error is RangeError else error)
    if v < 0:
        raise error(f"{name} = {_with_unit(v, unit)} must be >= 0{_unit_suffix(unit)}")
    return v


def in_range(
    value: Any,
    name: str,
    unit: str = "",
    *,
    low: float = -math.inf,
    high: float = math.inf,
    low_open: bool = False,
    high_open: bool = False,
    error: type[WavegenValueError] = RangeError,
    source: str = "",
) -> float:
    """``value`` as a finite ``float`` within ``[low, high]`` (``(`` / ``)`` where ``*_open``).

    Parameters
    ----------
    value, name, unit
        As for :func:`finite`.
    low, high
        The bounds, in ``unit``; infinite for no bound.
    low_open, high_open
        Exclude the bound itself.
    error
        The class raised for a value outside the bounds (default :class:`~wavegen.errors.RangeError`).
    source
        Where the bounds come from, appended to the message (``"the strongest MRI gradients reach
        1.5 T/m"``).

    Examples
    --------
    >>> in_range(0.5, "apodization", low=0.0, high=1.0)
    0.5
    """
    v = finite(value, name, unit, error=None if error is RangeError else error)
    below = v <= low if low_open else v < low
    above = v >= high if high_open else v > high
    if below or above:
        lo_b = "(" if low_open else "["
        hi_b = ")" if high_open else "]"
        why = f" ({source})" if source else ""
        raise error(
            f"{name} = {_with_unit(v, unit)} is outside {lo_b}{low!r}, {high!r}{hi_b}{_unit_suffix(unit)}{why}"
        )
    return v


def at_most(
    value: Any, name: str, unit: str, limit: float, *, error: type[WavegenValueError] = RangeError, source: str = ""
) -> float:
    """``value`` as a finite ``float <= limit``; the message names the value, the limit and the unit."""
    v = finite(value, name, unit, error=None if error is RangeError else error)
    if v > limit:
        why = f" ({source})" if source else ""
        raise error(f"{name} = {_with_unit(v, unit)} exceeds {_with_unit(limit, unit)}{why}")
    return v


def integer(
    value: Any,
    name: str,
    unit: str = "",
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    integral_float: bool = False,
    error: type[WavegenValueError] = RangeError,
) -> int:
    """``value`` as an ``int`` within ``[minimum, maximum]``.

    ``bool`` is refused; NumPy integers are accepted; floats only with ``integral_float=True`` and a
    whole value (``5.0``). Every failure raises ``error`` (default :class:`~wavegen.errors.RangeError`;
    NaN and infinity a :class:`~wavegen.errors.NonFiniteError` unless ``error`` is given).

    Examples
    --------
    >>> integer(5.0, "n_points", minimum=4, integral_float=True)
    5
    """
    if isinstance(value, bool):
        raise error(f"{name} must be an integer, got {value!r}")
    if isinstance(value, (int, np.integer)):
        n = int(value)
    elif integral_float and isinstance(value, (float, np.floating)):
        if not math.isfinite(value):
            raise (NonFiniteError if error is RangeError else error)(
                f"{name} = {_with_unit(value, unit)} is not finite"
            )
        if float(value) != math.floor(value):
            raise error(f"{name} = {_with_unit(value, unit)} must be a whole number")
        n = int(value)
    else:
        raise error(f"{name} must be an integer, got {value!r}")
    if minimum is not None and n < minimum:
        raise error(f"{name} = {_with_unit(n, unit)} must be an integer >= {minimum}{_unit_suffix(unit)}")
    if maximum is not None and n > maximum:
        raise error(f"{name} = {_with_unit(n, unit)} must be an integer <= {maximum}{_unit_suffix(unit)}")
    return n


def one_of(value: Any, name: str, choices: Iterable[Any]) -> Any:
    """``value`` itself if it is one of ``choices``, else a :class:`~wavegen.errors.RangeError` listing them."""
    options = tuple(choices)
    if value not in options:
        listed = ", ".join(repr(c) for c in options)
        raise RangeError(f"{name} = {value!r} is not one of {listed}")
    return value


def first_nonfinite(a: NDArray[Any]) -> tuple[int, ...] | None:
    """Index of the first NaN or infinite element of ``a`` (C order), or ``None`` if all are finite."""
    bad = ~np.isfinite(a)
    if not bad.any():
        return None
    return tuple(int(i) for i in np.unravel_index(int(np.argmax(bad)), a.shape))


def all_finite(a: NDArray[Any], name: str, unit: str = "", *, offset: int = 0) -> NDArray[Any]:
    """``a`` itself if every element is finite, else a :class:`~wavegen.errors.NonFiniteError` naming the
    first bad element (its index shifted by ``offset`` along the first axis, for chunked input)."""
    idx = first_nonfinite(a)
    if idx is None:
        return a
    shown = (idx[0] + offset,) + idx[1:] if idx else idx
    where = f"[{shown[0]}]" if len(shown) == 1 else str(list(shown))
    raise NonFiniteError(f"{name}{where} = {_with_unit(a[idx].item(), unit)} is not finite")


def _numeric(x: Any, name: str, unit: str, kinds: str) -> NDArray[Any]:
    try:
        arr = np.asarray(x)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ShapeError(f"{name} cannot be read as an array of numbers in {unit or 'any unit'}: {exc}") from exc
    if arr.dtype.kind not in kinds:
        what = "real" if "c" not in kinds else "numeric"
        raise ShapeError(f"{name} must hold {what} numbers{_unit_suffix(unit)}, got dtype {arr.dtype}")
    return arr


def as_float_array(
    x: Any, name: str, unit: str = "", *, ndim: int | None = None, min_size: int = 1, copy: bool = True
) -> NDArray[np.float64]:
    """``x`` as a finite float64 array (a fresh copy unless ``copy=False``).

    Raises
    ------
    ShapeError
        Not numeric (strings, objects, complex), wrong ``ndim``, or fewer than ``min_size`` elements.
    NonFiniteError
        An element is NaN or infinite (the message gives its index).
    """
    arr = _numeric(x, name, unit, "biuf")
    if ndim is not None and arr.ndim != ndim:
        raise ShapeError(f"{name} must be {ndim}-D, got shape {arr.shape}")
    if arr.size < min_size:
        if arr.size == 0:
            raise ShapeError(f"{name} is empty")
        raise ShapeError(f"{name} needs at least {min_size} elements, got {arr.size}")
    out = np.array(arr, dtype=np.float64, copy=True) if copy else np.asarray(arr, dtype=np.float64)
    return all_finite(out, name, unit)


def as_1d_float(x: Any, name: str, unit: str = "", *, min_size: int = 1, copy: bool = True) -> NDArray[np.float64]:
    """``x`` as a finite 1-D float64 array of at least ``min_size`` samples; see :func:`as_float_array`."""
    return as_float_array(x, name, unit, ndim=1, min_size=min_size, copy=copy)


def as_1d_complex(x: Any, name: str, unit: str = "", *, min_size: int = 1) -> NDArray[np.complex128]:
    """``x`` as a fresh finite 1-D complex128 array of at least ``min_size`` samples (real input allowed)."""
    arr = _numeric(x, name, unit, "biufc")
    if arr.ndim != 1:
        raise ShapeError(f"{name} must be 1-D, got shape {arr.shape}")
    if arr.size < min_size:
        if arr.size == 0:
            raise ShapeError(f"{name} is empty")
        raise ShapeError(f"{name} needs at least {min_size} samples, got {arr.size}")
    out = np.array(arr, dtype=np.complex128, copy=True)
    return all_finite(out, name, unit)


def as_1d_numeric(x: Any, name: str, unit: str = "", *, min_size: int = 1) -> NDArray[Any]:
    """``x`` as a fresh finite 1-D array of at least ``min_size`` samples: float64 for real input,
    complex128 for complex input (measured signals, I/Q), so that real data stays real."""
    arr = _numeric(x, name, unit, "biufc")
    if arr.dtype.kind == "c":
        return as_1d_complex(arr, name, unit, min_size=min_size)
    return as_1d_float(arr, name, unit, min_size=min_size)


def as_2d_float(
    x: Any, name: str, unit: str = "", *, columns: Iterable[int] | None = None, min_rows: int = 1
) -> NDArray[np.float64]:
    """``x`` as a fresh finite float64 array of shape ``(rows, columns)``.

    Parameters
    ----------
    columns
        The allowed numbers of columns (``(2, 3)`` for k-space paths); any when ``None``.
    min_rows
        Fewest rows accepted.
    """
    arr = _numeric(x, name, unit, "biuf")
    allowed = None if columns is None else tuple(columns)
    if arr.ndim != 2 or (allowed is not None and arr.shape[1] not in allowed):
        cols = "" if allowed is None else f" with {' or '.join(str(c) for c in allowed)} columns"
        raise ShapeError(f"{name} must be a 2-D array{cols}, got shape {arr.shape}")
    if arr.shape[0] < min_rows:
        raise ShapeError(f"{name} needs at least {min_rows} rows, got {arr.shape[0]}")
    out = np.array(arr, dtype=np.float64, copy=True)
    return all_finite(out, name, unit)


def raster_count(
    duration_s: Any, raster_s: Any, name: str = "duration_s", *, max_count: int | None = None, what: str = "raster"
) -> int:
    """The number of raster periods in ``duration_s``, which must be a whole, positive number of them.

    Parameters
    ----------
    duration_s, raster_s
        Seconds, both finite and > 0.
    name
        What ``duration_s`` is, for the message.
    max_count
        Refuse more periods than this (checked before anything is allocated).
    what
        The raster's name for the message (``"RF raster"``).

    Raises
    ------
    RasterError
        ``duration_s`` is not a whole number of ``raster_s`` (relative tolerance 1e-9).
    RangeError
        More than ``max_count`` periods.
    """
    d = positive(duration_s, name, "s")
    r = positive(raster_s, "raster_s", "s")
    ratio = d / r
    if max_count is not None and ratio > max_count + 0.5:
        raise RangeError(
            f"{name} = {d!r} s is {ratio:.4g} {what} periods of {r!r} s; at most {max_count} are allowed "
            f"({max_count * r:.6g} s)"
        )
    n = round(ratio)
    if n < 1 or abs(ratio - n) > 1e-9 * max(1.0, ratio):
        raise RasterError(f"{name} = {d!r} s is not a whole number of {what} periods ({r!r} s)")
    return int(n)
