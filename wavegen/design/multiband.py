"""Multiband (simultaneous multi-slice) RF pulses with phase schedules that lower the peak B1.

A multiband pulse is the sum of copies of a single-band pulse, each shifted in frequency to its
slice: ``b1_mb(t) = b1(t) * sum_k exp(i (2*pi*f_k*(t - t_c) + phi_k))`` with ``t_c`` the pulse centre
(so every band keeps the single-band refocusing and band ``k`` has phase ``phi_k`` at the centre).
With all ``phi_k = 0`` the copies add in phase at the centre and the peak B1 is ``K`` times the
single band's; a good phase schedule cuts that close to ``sqrt(K)`` (Wong, ISMRM 2012 p. 2209;
Goelman, MRM 1997;37:658).

Schedules:

- ``"zero"``: all phases 0 (the reference).
- ``"quadratic"``: Schroeder's low-crest-factor phases ``phi_k = pi k^2 / K`` (Schroeder, IEEE Trans
  Inf Theory 1970;16:85), closed form.
- ``"optimized"``: minimises the peak ``|b1_mb|`` of *this* pulse over the phases: a smooth
  ``p``-norm surrogate with its analytic gradient (L-BFGS-B), from the quadratic schedule and a fixed
  set of seeded starts, then the best by the true peak. Deterministic.
- an array of ``K`` phases in radians.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np
from scipy.optimize import minimize

from wavegen.design.pulse import RFPulse, check_max_b1
from wavegen.errors import DesignError, RangeError, ShapeError
from wavegen.limits import GAMMA_1H_HZ_PER_T, SystemLimits
from wavegen.validate import as_1d_float, finite, positive

__all__ = ["multiband_pulse", "multiband_phases", "band_offsets_hz"]

logger = logging.getLogger(__name__)


def band_offsets_hz(
    gradient_t_per_m: float, slice_positions_m: Any, *, gamma_hz_per_t: float = GAMMA_1H_HZ_PER_T
) -> np.ndarray:
    """Frequency offsets ``gamma * G * z_k`` (Hz) that put the bands on the slice positions (m)."""
    g = finite(gradient_t_per_m, "gradient_t_per_m", "T/m")
    z = as_1d_float(slice_positions_m, "slice_positions_m", "m")
    return np.asarray(positive(gamma_hz_per_t, "gamma_hz_per_t", "Hz/T") * g * z)


def _carriers(rf: RFPulse, offsets: np.ndarray) -> np.ndarray:
    t = rf.times_s - rf.center_s
    return np.exp(2j * np.pi * np.outer(t, offsets))  # (N, K)


def _peak(b1: np.ndarray, car: np.ndarray, phases: np.ndarray) -> float:
    return float(np.max(np.abs(b1 * (car * np.exp(1j * phases)).sum(axis=1))))


def multiband_phases(
    rf: RFPulse,
    offsets_hz: Any,
    method: str = "optimized",
    *,
    n_starts: int = 12,
) -> np.ndarray:
    """A phase schedule (rad, shape ``(K,)``, first phase 0) for the bands of a multiband pulse.

    See the module docstring for the methods. ``n_starts`` is the number of seeded random starts of
    the optimisation (besides the quadratic schedule).
    """
    offsets = np.asarray(offsets_hz, dtype=np.float64)
    k = offsets.size
    if method == "zero":
        return np.zeros(k)
    if method == "quadratic":
        return np.asarray(np.pi * np.arange(k) ** 2 / k)
    if method != "optimized":
        raise RangeError(f"method = {method!r} is not 'optimized', 'quadratic' or 'zero'")
    if k == 1:
        return np.zeros(1)
    b1 = np.asarray(rf.b1_t)
    car = _carriers(rf, offsets)
    w = b1 / float(np.max(np.abs(b1)))
    p = 16.0  # p-norm surrogate of the peak

    def cost(x: np.ndarray) -> tuple[float, np.ndarray]:
        """log of sum |s|^p and its gradient with respect to phases 1..K-1."""
        ph = np.concatenate(([0.0], x))
        e = np.exp(1j * ph)
        s = w * (car * e).sum(axis=1)  # element-wise, not BLAS: tiny sizes, no thread start-up
        mag2 = (s * np.conj(s)).real
        m2 = float(np.max(mag2))
        # relative powers, tiny ones zeroed: keeps r**(p/2 - 1) out of the (very slow) subnormal range
        r = mag2 / m2
        r[r < 1e-12] = 0.0
        q = r ** (p / 2)
        f = float(np.sum(q))
        dq = p * r ** (p / 2 - 1)
        grad = np.real(((np.conj(s) * dq * w)[:, None] * (1j * car * e[None, :])).sum(axis=0)) / m2
        return math.log(f) + (p / 2) * math.log(m2), np.asarray(grad[1:] / f)

    rng = np.random.default_rng(20120515)
    starts = [np.pi * np.arange(k) ** 2 / k] + [rng.uniform(0, 2 * np.pi, k) for _ in range(n_starts)]
    best_ph = np.zeros(k)
    best = _peak(b1, car, best_ph)
    for x0 in starts:
        x0 = x0 - x0[0]
        res = minimize(cost, x0[1:], jac=True, method="L-BFGS-B", options={"maxiter": 200})
        ph = np.concatenate(([0.0], res.x))
        pk = _peak(b1, car, ph)
        if pk < best:
            best, best_ph = pk, ph
    return np.asarray(np.mod(best_ph, 2 * np.pi))


def multiband_pulse(
    rf: RFPulse,
    offsets_hz: Any,
    *,
    phases: str | Any = "optimized",
    limits: SystemLimits | None = None,
    max_b1_t: float | None = None,
) -> RFPulse:
    """The multiband version of ``rf`` with bands at ``offsets_hz`` (Hz from the pulse's own frequency).

    Parameters
    ----------
    rf
        The single-band pulse (its ``freq_offset_hz`` is kept and applies to all bands).
    offsets_hz
        Band offsets, Hz, shape ``(K,)``; :func:`band_offsets_hz` converts slice positions. Bands must
        not overlap: neighbours at least ``rf.bandwidth_hz`` apart when that is known.
    phases
        ``"optimized"`` (default), ``"quadratic"``, ``"zero"``, or ``K`` phases in rad.
    limits, max_b1_t
        Peak B1 limit (``max_b1_t`` overrides ``limits.max_b1_t``; default ``SystemLimits()``).

    Raises
    ------
    LimitError
        If the multiband pulse needs more than the peak B1 limit.
    DesignError
        If bands overlap.
    """
    if not isinstance(rf, RFPulse):
        raise RangeError(f"rf must be an RFPulse, got {type(rf).__name__}")
    off = as_1d_float(offsets_hz, "offsets_hz", "Hz")
    nyquist = 0.5 / rf.raster_s
    if float(np.max(np.abs(off))) >= nyquist:
        i = int(np.argmax(np.abs(off)))
        raise RangeError(
            f"offsets_hz[{i}] = {off[i]!r} Hz lies beyond the RF raster's Nyquist frequency, "
            f"+-{nyquist:.6g} Hz (1 / (2 * {rf.raster_s!r} s)): the band would alias"
        )
    srt = np.sort(off)
    if rf.bandwidth_hz is not None and off.size > 1:
        gap = float(np.min(np.diff(srt)))
        if gap < rf.bandwidth_hz * (1 - 1e-9):
            raise DesignError(
                f"bands {gap:.6g} Hz apart overlap: the pulse's bandwidth is {rf.bandwidth_hz:.6g} Hz"
            )
    if isinstance(phases, str):
        ph = multiband_phases(rf, off, phases)
    else:
        ph = np.asarray(phases, dtype=np.float64)
        if ph.shape != off.shape:
            raise ShapeError(f"phases must have shape {off.shape}, got {ph.shape}")
        if not np.all(np.isfinite(ph)):
            raise RangeError("phases must be finite (rad)")
    b1 = rf.b1_t * (_carriers(rf, off) * np.exp(1j * ph)).sum(axis=1)
    lim = limits if limits is not None else SystemLimits()
    mb = positive(max_b1_t, "max_b1_t", "T") if max_b1_t is not None else lim.max_b1_t
    check_max_b1(b1, mb, f"a {off.size}-band pulse")
    logger.debug("multiband: %d bands, peak %.4g uT", off.size, float(np.max(np.abs(b1))) * 1e6)
    return rf.replace(b1_t=b1)
