"""Slice selection for RF pulses: the slice-select trapezoid and the rephasing area.

Public through :mod:`wavegen.design`. The gradient is a separate value from the pulse (never a flag
that changes the return type of a pulse designer).
"""

from __future__ import annotations

import math

import numpy as np

from wavegen.design.gradients import Trapezoid
from wavegen.design.pulse import RFPulse, resolve_gamma
from wavegen.errors import DesignError, LimitError, RangeError
from wavegen.limits import TICK_S, SystemLimits
from wavegen.validate import positive

__all__ = ["slice_select_gradient", "slice_refocus_area_t_s_per_m"]


def _ceil_raster_ticks(t_s: float, r_ns: int) -> int:
    """``t_s`` rounded up to whole gradient raster steps, in ticks (a hair of tolerance for rounding)."""
    steps = math.ceil(t_s / TICK_S / r_ns - 1e-9)
    return max(0, int(steps)) * r_ns


def slice_select_gradient(
    rf: RFPulse,
    slice_thickness_m: float,
    limits: SystemLimits | None = None,
    *,
    bandwidth_hz: float | None = None,
    gamma_hz_per_t: float | None = None,
) -> Trapezoid:
    """The slice-select trapezoid for ``rf``: amplitude ``BW / (gamma * thickness)``, flat over the pulse.

    The flat top is the RF duration rounded up to the gradient raster; the ramps are the shortest
    raster ramps the slew limit allows (symmetric). The returned lobe starts at ``delay_s = 0``:
    play the pulse from ``rf.replace(delay_s=gz.rise_time_s)`` (plus any block offset) so it sits on
    the flat top (Bernstein et al., *Handbook of MRI Pulse Sequences*, sec. 8.3).

    Parameters
    ----------
    rf
        The pulse; its ``bandwidth_hz`` is used unless ``bandwidth_hz`` is given.
    slice_thickness_m
        Slice thickness, m (> 0).
    limits
        Gradient amplitude, slew and raster, and gamma (default :class:`SystemLimits()`).
    bandwidth_hz
        Profile width, Hz, overriding ``rf.bandwidth_hz``.
    gamma_hz_per_t
        Overrides ``limits.gamma_hz_per_t``.

    Raises
    ------
    DesignError
        If neither ``bandwidth_hz`` nor ``rf.bandwidth_hz`` is known.
    LimitError
        If the amplitude exceeds ``limits.max_grad_t_per_m`` (thicker slice or longer pulse needed).
    """
    if not isinstance(rf, RFPulse):
        raise RangeError(f"rf must be an RFPulse, got {type(rf).__name__}")
    lim = limits if limits is not None else SystemLimits()
    gamma = resolve_gamma(gamma_hz_per_t, lim)
    thk = positive(slice_thickness_m, "slice_thickness_m", "m")
    if bandwidth_hz is not None:
        bw = positive(bandwidth_hz, "bandwidth_hz", "Hz")
    elif rf.bandwidth_hz is not None:
        bw = rf.bandwidth_hz
    else:
        raise DesignError("the pulse has no bandwidth_hz; pass bandwidth_hz (Hz) explicitly")
    amp = bw / (gamma * thk)
    if amp > lim.max_grad_t_per_m * (1 + 1e-12):
        raise LimitError(
            f"a {thk * 1e3:.4g} mm slice with a {bw:.6g} Hz pulse needs {amp * 1e3:.4g} mT/m but the "
            f"gradient limit is {lim.max_grad_t_per_m * 1e3:.4g} mT/m; use a thicker slice or a "
            "longer (narrower-band) pulse"
        )
    r_ns = lim.grad_raster_ns
    rise_ticks = max(r_ns, _ceil_raster_ticks(amp / lim.max_slew_t_per_m_per_s, r_ns))
    flat_ticks = max(r_ns, _ceil_raster_ticks(rf.duration_s, r_ns))
    rise = rise_ticks * TICK_S
    return Trapezoid(amp, rise, flat_ticks * TICK_S, rise, 0.0)


def slice_refocus_area_t_s_per_m(gz: Trapezoid, rf: RFPulse) -> float:
    """Area a rephasing lobe needs after ``gz`` to refocus ``rf``, T*s/m (negative of the area after
    the pulse centre).

    ``rf.delay_s`` and ``gz.delay_s`` are both measured from the block start; the pulse centre is at
    ``rf.delay_s + rf.center_s``. Give the result to
    :func:`wavegen.design.trapezoid.shortest_trapezoid` for the rephaser.
    """
    t, g = gz.corners(include_delay=True)
    tc = rf.delay_s + rf.center_s
    if tc < t[0] or tc > t[-1]:
        raise DesignError(f"the pulse centre at {tc!r} s lies outside the gradient ({t[0]!r}..{t[-1]!r} s)")
    gc = float(np.interp(tc, t, g))
    after = t > tc
    tt = np.concatenate(([tc], t[after]))
    gg = np.concatenate(([gc], g[after]))
    return -float(np.sum(0.5 * (gg[1:] + gg[:-1]) * np.diff(tt)))
