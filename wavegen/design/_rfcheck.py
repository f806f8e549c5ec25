"""Validators shared by the RF design modules (numbers, durations on the raster, B1 arrays, peak B1)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from wavegen.errors import LimitError, NonFiniteError, RangeError, RasterError, ShapeError
from wavegen.limits import GAMMA_1H_HZ_PER_T, SystemLimits

__all__ = ["check_max_b1"]

#: The allowed values of ``RFPulse.use``.
RF_USES: tuple[str, ...] = ("excitation", "refocusing", "inversion", "saturation", "undefined")


def _finite(value: Any, name: str, unit: str) -> float:
    """``value`` as a float, refusing non-numbers, NaN and infinity."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise RangeError(f"{name} must be a real number in {unit}, got {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise NonFiniteError(f"{name} = {v!r} {unit} is not finite")
    return v


def _positive(value: Any, name: str, unit: str) -> float:
    v = _finite(value, name, unit)
    if v <= 0:
        raise RangeError(f"{name} = {v!r} {unit} must be > 0 {unit}")
    return v


def _nonnegative(value: Any, name: str, unit: str) -> float:
    v = _finite(value, name, unit)
    if v < 0:
        raise RangeError(f"{name} = {v!r} {unit} must be >= 0 {unit}")
    return v


def _n_samples(duration_s: float, raster_s: float, name: str = "duration_s") -> int:
    """Number of raster samples in ``duration_s``; the duration must be a whole number of rasters."""
    duration_s = _positive(duration_s, name, "s")
    raster_s = _positive(raster_s, "raster_s", "s")
    ratio = duration_s / raster_s
    n = round(ratio)
    if n < 1 or abs(ratio - n) > 1e-9 * max(1.0, ratio):
        raise RasterError(f"{name} = {duration_s!r} s is not a whole number of RF raster periods ({raster_s!r} s)")
    return int(n)


def _as_complex_1d(x: Any, name: str) -> np.ndarray:
    try:
        arr = np.asarray(x)
    except Exception as exc:  # pragma: no cover - numpy accepts nearly anything
        raise ShapeError(f"{name} cannot be read as an array: {exc}") from exc
    if arr.dtype.kind not in "biufc":
        raise ShapeError(f"{name} must be numeric, got dtype {arr.dtype}")
    if arr.ndim != 1:
        raise ShapeError(f"{name} must be 1-D, got shape {arr.shape}")
    if arr.size == 0:
        raise ShapeError(f"{name} is empty")
    arr = np.array(arr, dtype=np.complex128, copy=True)
    bad = ~np.isfinite(arr)
    if bad.any():
        i = int(np.argmax(bad))
        raise NonFiniteError(f"{name}[{i}] = {arr[i]!r} is not finite")
    return arr


def _gamma(gamma_hz_per_t: float | None, limits: SystemLimits | None) -> float:
    if gamma_hz_per_t is not None:
        return _positive(gamma_hz_per_t, "gamma_hz_per_t", "Hz/T")
    return limits.gamma_hz_per_t if limits is not None else GAMMA_1H_HZ_PER_T


def _check_use(use: str) -> str:
    if use not in RF_USES:
        raise RangeError(f"use = {use!r} is not one of {', '.join(RF_USES)}")
    return use


def check_max_b1(b1_t: np.ndarray, max_b1_t: float | None, what: str) -> None:
    """Raise :class:`~wavegen.errors.LimitError` if ``max|b1_t|`` exceeds ``max_b1_t`` (T)."""
    if max_b1_t is None:
        return
    peak = float(np.max(np.abs(b1_t)))
    if peak > max_b1_t * (1 + 1e-12):
        i = int(np.argmax(np.abs(b1_t)))
        raise LimitError(
            f"{what} needs a peak B1 of {peak * 1e6:.4g} uT (sample {i}) but the limit is "
            f"{max_b1_t * 1e6:.4g} uT; lengthen the pulse, lower the flip angle or use VERSE"
        )
