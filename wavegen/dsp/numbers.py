"""Exact numbers and sample arrays: how rates, offsets and sample counts are read.

A float is read as the shortest decimal that prints as it (``0.1`` is 1/10), integers and fractions are
exact, and a sample array is checked for shape, dtype and finiteness before any kernel sees it.
"""

from __future__ import annotations

import math
import operator
from decimal import Decimal
from fractions import Fraction
from numbers import Integral, Real
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from wavegen.errors import NonFiniteError, RangeError, ShapeError
from wavegen.validate import all_finite

__all__ = ["as_rational", "whole_samples", "as_source", "as_real_samples", "check_finite"]

def as_rational(value: Any, *, name: str, unit: str, positive: bool = False) -> Fraction:
    """Read a number as an exact rational.

    Integers and :class:`~fractions.Fraction` are exact already; a float is read as the shortest
    decimal that prints as it (``0.1`` is 1/10, not 3602879701896397/2^55), which is what its author
    wrote.

    Raises
    ------
    RangeError
        Not a real number, or (with ``positive``) not > 0.
    NonFiniteError
        NaN or infinite.
    """
    if isinstance(value, (bool, np.bool_)):
        raise RangeError(f"{name} must be a number in {unit}, got {value!r}")
    if isinstance(value, Fraction):
        result = value
    elif isinstance(value, Integral):
        result = Fraction(int(value))
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise NonFiniteError(f"{name} = {value!r} {unit} is not finite")
        result = Fraction(value)
    elif isinstance(value, Real):
        f = float(value)
        if not math.isfinite(f):
            raise NonFiniteError(f"{name} = {value!r} {unit} is not finite")
        result = Fraction(repr(f))
    else:
        raise RangeError(f"{name} must be a real number in {unit}, got {type(value).__name__} {value!r}")
    if positive and result <= 0:
        raise RangeError(f"{name} = {float(result):g} {unit} must be > 0 {unit}")
    return result


def whole_samples(value: Any, *, name: str) -> int:
    if isinstance(value, (bool, np.bool_)):
        raise RangeError(f"{name} must be a whole number of samples, got {value!r}")
    try:
        return operator.index(value)
    except TypeError:
        pass
    if isinstance(value, float) and math.isfinite(value) and value == int(value):
        return int(value)
    raise RangeError(f"{name} must be a whole number of samples, got {value!r}")


def as_source(x: ArrayLike, *, name: str = "x") -> NDArray[Any]:
    """A 1-D real or complex array, at least one sample (not yet converted or checked for finiteness)."""
    arr = np.asarray(x)
    if arr.dtype == object or arr.dtype.kind not in "biufc":
        raise ShapeError(f"{name} must be numeric samples, got dtype {arr.dtype}")
    if arr.ndim != 1:
        raise ShapeError(f"{name} must be one-dimensional (n_samples,), got shape {arr.shape}")
    if arr.size == 0:
        raise ShapeError(f"{name} is empty: resampling needs at least one source sample")
    return arr


def as_real_samples(x: ArrayLike, *, name: str) -> NDArray[np.float64]:
    arr = np.asarray(x)
    if arr.dtype == object or arr.dtype.kind not in "biuf":
        raise ShapeError(f"{name} must be real samples, got dtype {arr.dtype}")
    if arr.ndim != 1:
        raise ShapeError(f"{name} must be one-dimensional (n_samples,), got shape {arr.shape}")
    y = np.ascontiguousarray(arr, dtype=np.float64)
    check_finite(y, name=name, offset=0)
    return y


def check_finite(a: NDArray[Any], *, name: str, offset: int) -> None:
    """:class:`NonFiniteError` naming the first NaN or infinite sample (:func:`wavegen.validate.all_finite`)."""
    all_finite(a, name, offset=offset)
