"""``check()``: every safety rule on one set of waveforms, one :class:`SafetyReport`."""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np

from wavegen.errors import RangeError
from wavegen.limits import SystemLimits
from wavegen.safety.gradient import _exceeds, check_gradient_amplitude, check_gradient_slew
from wavegen.safety.report import RuleResult, SafetyReport
from wavegen.safety.waveforms import Waveforms, as_waveforms

__all__ = ["check", "MODES"]

log = logging.getLogger(__name__)

MODES = ("normal", "first_level")


def _check_b1_peak(wf: Waveforms, max_b1_t: float) -> tuple[RuleResult, ...]:
    if wf.rf_b1_t is None or wf.rf_raster_s is None:
        return ()
    mag = np.abs(wf.rf_channels)
    i, c = np.unravel_index(int(np.argmax(mag)), mag.shape)
    val = float(mag[i, c])
    return (
        RuleResult(
            "rf_b1_peak",
            "RF peak |B1| per transmit channel",
            "fail" if _exceeds(val, max_b1_t) else "pass",
            val,
            max_b1_t,
            "T",
            f"tx{int(c)}",
            wf.t0_s + (int(i) + 0.5) * wf.rf_raster_s,
            index=int(i),
        ),
    )


def check(
    waveforms: Any,
    limits: SystemLimits,
    *,
    mode: str = "normal",
    grad_raster_s: float | None = None,
    rf_b1_t: np.ndarray | None = None,
    rf_raster_s: float | None = None,
    axes: tuple[str, ...] | None = None,
    max_grad_vector_t_per_m: float | None = None,
    max_slew_vector_t_per_m_per_s: float | None = None,
    zero_edges: bool = True,
) -> SafetyReport:
    """Check waveforms against every safety rule.

    Parameters
    ----------
    waveforms
        :class:`Waveforms`, an object with ``to_waveforms()``, or a gradient array ``(N, n_axes)`` T/m
        with ``grad_raster_s`` (and optionally ``rf_b1_t``, ``rf_raster_s``, ``axes``).
    limits
        Hardware limits (:class:`wavegen.limits.SystemLimits`).
    mode
        ``"normal"`` or ``"first_level"`` (IEC 60601-2-33 operating modes).

    Returns
    -------
    SafetyReport
    """
    if mode not in MODES:
        raise RangeError(f"mode must be one of {MODES}, got {mode!r}")
    if not isinstance(limits, SystemLimits):
        raise RangeError(f"limits must be a wavegen.limits.SystemLimits, got {type(limits).__name__}")
    wf = as_waveforms(
        waveforms, grad_raster_s=grad_raster_s, rf_b1_t=rf_b1_t, rf_raster_s=rf_raster_s, axes=axes
    )
    results: list[RuleResult] = []
    results += check_gradient_amplitude(
        wf, limits.max_grad_t_per_m, max_grad_vector_t_per_m=max_grad_vector_t_per_m
    )
    results += check_gradient_slew(
        wf,
        limits.max_slew_t_per_m_per_s,
        max_slew_vector_t_per_m_per_s=max_slew_vector_t_per_m_per_s,
        zero_edges=zero_edges,
    )
    results += _check_b1_peak(wf, limits.max_b1_t)
    report = SafetyReport(tuple(results), mode=mode, digest=wf.digest())
    log.info("safety check (%s): %s", mode, "ok" if report.ok else f"{len(report.violations)} violation(s)")
    if not math.isfinite(wf.duration_s):  # pragma: no cover - guarded by Waveforms
        raise RangeError("waveform duration is not finite")
    return report
