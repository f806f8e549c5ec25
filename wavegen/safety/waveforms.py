"""The sampled waveforms the safety engine checks: :class:`Waveforms`.

A :class:`Waveforms` holds the gradient samples of every physical axis on one raster and, optionally,
the complex RF envelope (B1, tesla) of one or more transmit channels on its own raster. It is what
:func:`wavegen.safety.check` and the interlock (:mod:`wavegen.safety.interlock`) look at, and what a
``Sequence`` hands over through ``to_waveforms()``.

Sample convention (Pulseq): sample ``i`` of a stream with raster ``dt`` holds the value at the raster
centre ``t0_s + (i + 0.5) * dt`` and stands for the interval ``[t0_s + i*dt, t0_s + (i+1)*dt)``. Before
the first and after the last sample the hardware is assumed at rest (0), which is how a player starts
and ends.

Gradients must be in the *physical* frame (x, y, z of the magnet): PNS and dB/dt limits are per
physical axis, so apply any slice rotation first.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from wavegen.errors import NonFiniteError, RangeError, RasterError, ShapeError
from wavegen.validate import first_nonfinite, positive

__all__ = ["Waveforms", "SupportsToWaveforms", "as_waveforms"]


@runtime_checkable
class SupportsToWaveforms(Protocol):
    """Anything that can render itself to :class:`Waveforms` (for example a ``Sequence``)."""

    def to_waveforms(self) -> Waveforms: ...


#: Set only by :func:`adopting` around the construction of arrays nobody else holds (a fresh render).
_ADOPT: contextvars.ContextVar[bool] = contextvars.ContextVar("wavegen_waveforms_adopt", default=False)


@contextlib.contextmanager
def adopting() -> Iterator[None]:
    """Inside this block :class:`Waveforms` keeps C-contiguous float64 / complex128 arrays instead of
    copying them (they are still made read-only). For callers that pass arrays they just created and
    drop (``Sequence.to_waveforms``): a long sequence's RF is then held once, not twice."""
    token = _ADOPT.set(True)
    try:
        yield
    finally:
        _ADOPT.reset(token)


def _owned(a: Any, dtype: type) -> np.ndarray:
    if _ADOPT.get() and isinstance(a, np.ndarray) and a.dtype == dtype and a.flags.c_contiguous:
        return a
    return np.array(a, dtype=dtype, order="C", copy=True)


@dataclass(frozen=True, eq=False)
class Waveforms:
    """Gradient and RF samples to be checked for safety.

    Parameters
    ----------
    grad_t_per_m
        Gradient samples, shape ``(N, n_axes)``, T/m, physical axes, at raster centres. ``N`` may be 0
        only when RF is given (an RF-only waveform).
    grad_raster_s
        Gradient raster, s (> 0).
    rf_b1_t
        Complex RF envelope B1, T: shape ``(M,)`` for one transmit channel or ``(M, n_tx)`` for several;
        ``None`` when there is no RF.
    rf_raster_s
        RF raster, s; required exactly when ``rf_b1_t`` is given.
    axes
        Names of the gradient axes, one per column (default ``("gx", "gy", "gz")``).
    t0_s
        Start time of both streams, s (only shifts the times reported).

    Raises
    ------
    ShapeError
        Wrong number of dimensions, a column count that does not match ``axes``, nothing to check.
    NonFiniteError
        NaN or infinity anywhere (the message gives the first bad sample).
    RasterError
        RF given without a raster or a raster without RF.
    RangeError
        A raster that is not a positive number.

    Notes
    -----
    The arrays are copied and made read-only, so a checked object cannot change after its check
    (:meth:`digest` identifies exactly what was checked).
    """

    grad_t_per_m: np.ndarray
    grad_raster_s: float
    rf_b1_t: np.ndarray | None = None
    rf_raster_s: float | None = None
    axes: tuple[str, ...] = ("gx", "gy", "gz")
    t0_s: float = 0.0

    def __post_init__(self) -> None:
        axes = tuple(str(a) for a in self.axes)
        if len(axes) == 0:
            raise ShapeError("Waveforms.axes is empty; name at least one gradient axis")
        if len(set(axes)) != len(axes):
            raise ShapeError(f"Waveforms.axes has duplicate names: {axes}")
        object.__setattr__(self, "axes", axes)

        g = np.asarray(self.grad_t_per_m)
        if np.iscomplexobj(g):
            raise ShapeError("Waveforms.grad_t_per_m must be real (T/m), got a complex array")
        if g.dtype == object or not (np.issubdtype(g.dtype, np.number) or g.dtype == np.bool_):
            raise ShapeError(f"Waveforms.grad_t_per_m must be numeric, got dtype {g.dtype}")
        if g.ndim != 2:
            raise ShapeError(
                f"Waveforms.grad_t_per_m must have shape (N, n_axes) = (N, {len(axes)}), got {g.shape}"
            )
        if g.shape[1] != len(axes):
            raise ShapeError(
                f"Waveforms.grad_t_per_m has {g.shape[1]} columns but axes names {len(axes)}: {axes}"
            )
        g = _owned(g, np.float64)
        if not np.all(np.isfinite(g)):
            i, j = first_nonfinite(g) or (0, 0)  # not all finite: there is a first
            raise NonFiniteError(
                f"Waveforms.grad_t_per_m[{i}, {j}] = {g[i, j]!r} T/m (axis {axes[j]}) is not finite"
            )
        g.setflags(write=False)
        object.__setattr__(self, "grad_t_per_m", g)
        object.__setattr__(
            self, "grad_raster_s", positive(self.grad_raster_s, "Waveforms.grad_raster_s", "s")
        )

        t0 = self.t0_s
        if isinstance(t0, bool) or not isinstance(t0, (int, float, np.floating, np.integer)):
            raise RangeError(f"Waveforms.t0_s must be a number in s, got {t0!r}")
        if not math.isfinite(float(t0)):
            raise NonFiniteError(f"Waveforms.t0_s = {t0!r} s is not finite")
        object.__setattr__(self, "t0_s", float(t0))

        if self.rf_b1_t is None:
            if self.rf_raster_s is not None:
                raise RasterError("Waveforms.rf_raster_s is given but rf_b1_t is None")
            if g.shape[0] == 0:
                raise ShapeError("Waveforms is empty: no gradient samples and no RF")
            return
        if self.rf_raster_s is None:
            raise RasterError("Waveforms.rf_b1_t is given without rf_raster_s (s)")
        object.__setattr__(self, "rf_raster_s", positive(self.rf_raster_s, "Waveforms.rf_raster_s", "s"))
        rf = np.asarray(self.rf_b1_t)
        if rf.dtype == object or not (np.issubdtype(rf.dtype, np.number)):
            raise ShapeError(f"Waveforms.rf_b1_t must be numeric (complex T), got dtype {rf.dtype}")
        if rf.ndim not in (1, 2):
            raise ShapeError(f"Waveforms.rf_b1_t must have shape (M,) or (M, n_tx), got {rf.shape}")
        if rf.shape[0] == 0 or (rf.ndim == 2 and rf.shape[1] == 0):
            raise ShapeError(f"Waveforms.rf_b1_t is empty (shape {rf.shape}); pass None for no RF")
        rf = _owned(rf, np.complex128)
        if not np.all(np.isfinite(rf)):
            idx = first_nonfinite(rf) or (0,)  # not all finite: there is a first
            raise NonFiniteError(f"Waveforms.rf_b1_t{list(idx)} = {rf[idx]!r} T is not finite")
        rf.setflags(write=False)
        object.__setattr__(self, "rf_b1_t", rf)

    # --- derived quantities ------------------------------------------------------------------------

    @property
    def n_grad(self) -> int:
        """Number of gradient samples."""
        return int(self.grad_t_per_m.shape[0])

    @property
    def n_axes(self) -> int:
        """Number of gradient axes."""
        return int(self.grad_t_per_m.shape[1])

    @property
    def has_rf(self) -> bool:
        """Whether an RF envelope is present."""
        return self.rf_b1_t is not None

    @property
    def n_tx(self) -> int:
        """Number of RF transmit channels (0 without RF)."""
        if self.rf_b1_t is None:
            return 0
        return 1 if self.rf_b1_t.ndim == 1 else int(self.rf_b1_t.shape[1])

    @property
    def rf_channels(self) -> np.ndarray:
        """The RF envelope as ``(M, n_tx)`` (a view), T; shape ``(0, 0)`` without RF."""
        if self.rf_b1_t is None:
            return np.zeros((0, 0), dtype=np.complex128)
        return self.rf_b1_t if self.rf_b1_t.ndim == 2 else self.rf_b1_t[:, None]

    @property
    def grad_duration_s(self) -> float:
        """Duration of the gradient stream, s."""
        return self.n_grad * self.grad_raster_s

    @property
    def rf_duration_s(self) -> float:
        """Duration of the RF stream, s (0 without RF)."""
        if self.rf_b1_t is None or self.rf_raster_s is None:
            return 0.0
        return int(self.rf_b1_t.shape[0]) * self.rf_raster_s

    @property
    def duration_s(self) -> float:
        """Duration of the longer stream, s."""
        return max(self.grad_duration_s, self.rf_duration_s)

    def grad_times_s(self) -> np.ndarray:
        """Times of the gradient samples (raster centres), s."""
        return self.t0_s + (np.arange(self.n_grad) + 0.5) * self.grad_raster_s

    def rf_times_s(self) -> np.ndarray:
        """Times of the RF samples (raster centres), s; empty without RF."""
        if self.rf_b1_t is None or self.rf_raster_s is None:
            return np.zeros(0)
        return self.t0_s + (np.arange(self.rf_b1_t.shape[0]) + 0.5) * self.rf_raster_s

    def digest(self) -> str:
        """SHA-256 (hex) of exactly what is checked: samples, rasters, axes and start time."""
        h = hashlib.sha256()
        h.update(b"wavegen.safety.Waveforms/1\0")
        h.update(repr((self.grad_t_per_m.shape, self.grad_raster_s, self.axes, self.t0_s)).encode())
        h.update(self.grad_t_per_m.tobytes())
        if self.rf_b1_t is not None:
            h.update(repr((self.rf_b1_t.shape, self.rf_raster_s)).encode())
            h.update(self.rf_b1_t.tobytes())
        else:
            h.update(b"no-rf")
        return h.hexdigest()

    def __repr__(self) -> str:
        rf = "None" if self.rf_b1_t is None else f"{self.rf_b1_t.shape} @ {self.rf_raster_s:g} s"
        return (
            f"Waveforms(grad {self.grad_t_per_m.shape} @ {self.grad_raster_s:g} s, axes={self.axes}, "
            f"rf {rf}, t0_s={self.t0_s:g})"
        )


def as_waveforms(
    obj: Any,
    *,
    grad_raster_s: float | None = None,
    rf_b1_t: np.ndarray | None = None,
    rf_raster_s: float | None = None,
    axes: tuple[str, ...] | None = None,
) -> Waveforms:
    """Coerce what a caller hands to the safety engine into :class:`Waveforms`.

    Parameters
    ----------
    obj
        A :class:`Waveforms`; an object with ``to_waveforms()`` (a ``Sequence``); or a gradient array
        ``(N, n_axes)`` in T/m (``(N,)`` is one axis), which then needs ``grad_raster_s``.
    grad_raster_s, rf_b1_t, rf_raster_s, axes
        For plain arrays only. With a ``Waveforms`` or a sequence, a given ``grad_raster_s`` /
        ``rf_raster_s`` must equal the object's own (a mismatch raises :class:`RasterError`).

    Returns
    -------
    Waveforms
    """
    if not isinstance(obj, Waveforms) and isinstance(obj, SupportsToWaveforms):
        wf = obj.to_waveforms()
        if not isinstance(wf, Waveforms):
            raise ShapeError(
                f"{type(obj).__name__}.to_waveforms() returned {type(wf).__name__}, not Waveforms"
            )
        obj = wf
    if isinstance(obj, Waveforms):
        if rf_b1_t is not None or axes is not None:
            raise ShapeError("rf_b1_t/axes may only be given with a plain gradient array, not with Waveforms")
        for name, given, own in (
            ("grad_raster_s", grad_raster_s, obj.grad_raster_s),
            ("rf_raster_s", rf_raster_s, obj.rf_raster_s),
        ):
            if given is not None and (own is None or not math.isclose(float(given), own, rel_tol=1e-12)):
                raise RasterError(f"{name} = {given!r} s does not match the waveform's own raster {own!r} s")
        return obj
    if obj is None:
        raise ShapeError("nothing to check: got None")
    g = np.asarray(obj)
    if g.ndim == 1:
        g = g[:, None]
    if axes is None:
        axes = (
            ("gx", "gy", "gz")[: g.shape[1]]
            if g.ndim == 2 and g.shape[1] <= 3
            else tuple(f"g{i}" for i in range(g.shape[1] if g.ndim == 2 else 0))
        )
    if grad_raster_s is None:
        raise RasterError("a plain gradient array needs grad_raster_s (s)")
    return Waveforms(g, grad_raster_s, rf_b1_t, rf_raster_s, axes=tuple(axes))
