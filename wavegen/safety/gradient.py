"""Gradient hardware rules: amplitude, slew rate (per axis and as a vector), RMS over a window.

Every sample is checked, not every event: the worst sample, its axis and its time are reported.

Slew convention: with ``zero_edges=True`` (default) the hardware is at rest before the first and after
the last sample, so the step from 0 to ``g[0]`` and from ``g[N-1]`` back to 0 count as slew (a waveform
that starts or ends on a plateau is a real step on the amplifier). Slew index ``k`` is the step from
sample ``k-1`` to sample ``k`` and is reported at the time between them, ``t0 + k*dt``.
"""

from __future__ import annotations

import math

import numpy as np

from wavegen.safety._windows import max_window_integral
from wavegen.safety.report import RuleResult
from wavegen.safety.waveforms import Waveforms
from wavegen.validate import positive

__all__ = ["slew_rate", "check_gradient_amplitude", "check_gradient_slew", "check_gradient_rms", "REL_TOL"]

#: Relative tolerance on every "value > limit" comparison, so that a waveform designed exactly at a
#: limit is not failed by the last bit of floating-point rounding (1e-9 is far below any physical margin;
#: a 0.1 % excursion is caught).
REL_TOL = 1e-9


def exceeds(value: float, limit: float) -> bool:
    return value > limit * (1.0 + REL_TOL)


def slew_rate(grad_t_per_m: np.ndarray, dt_s: float, *, zero_edges: bool = True) -> np.ndarray:
    """Slew rate between consecutive samples, T/m/s.

    Parameters
    ----------
    grad_t_per_m
        Samples ``(N,)`` or ``(N, n_axes)``, T/m.
    dt_s
        Raster, s.
    zero_edges
        Include the steps from rest (0) to the first sample and from the last sample back to rest.

    Returns
    -------
    numpy.ndarray
        ``(N + 1, ...)`` with ``zero_edges``, else ``(N - 1, ...)``; index ``k`` is the step into sample
        ``k`` (with ``zero_edges``) or into sample ``k + 1`` (without).
    """
    g = np.asarray(grad_t_per_m, dtype=np.float64)
    if zero_edges:
        pad = [(1, 1)] + [(0, 0)] * (g.ndim - 1)
        g = np.pad(g, pad)
    return np.diff(g, axis=0) / dt_s


def _vector_or_none(value: float | None, name: str, unit: str) -> float | None:
    return None if value is None else positive(value, name, unit)


def check_gradient_amplitude(
    wf: Waveforms, max_grad_t_per_m: float, *, max_grad_vector_t_per_m: float | None = None
) -> tuple[RuleResult, ...]:
    """Gradient amplitude per axis and as a vector, every sample.

    Returns ``grad_amplitude`` (per axis, limit ``max_grad_t_per_m``) and ``grad_amplitude_vector``
    (``sqrt(sum g_i^2)``; verdict ``"info"`` unless ``max_grad_vector_t_per_m`` is given).
    """
    lim = positive(max_grad_t_per_m, "max_grad_t_per_m", "T/m")
    vlim = _vector_or_none(max_grad_vector_t_per_m, "max_grad_vector_t_per_m", "T/m")
    g = wf.grad_t_per_m
    if wf.n_grad == 0:
        return ()
    dt, t0 = wf.grad_raster_s, wf.t0_s
    per_axis = np.abs(g).max(axis=0)
    j = int(np.argmax(per_axis))
    i = int(np.argmax(np.abs(g[:, j])))
    val = float(per_axis[j])
    r_axis = RuleResult(
        "grad_amplitude",
        "gradient amplitude |G| per axis",
        "fail" if exceeds(val, lim) else "pass",
        val,
        lim,
        "T/m",
        wf.axes[j],
        t0 + (i + 0.5) * dt,
        index=i,
    )
    norm2 = np.einsum("ij,ij->i", g, g)
    iv = int(np.argmax(norm2))
    vval = math.sqrt(float(norm2[iv]))
    if vlim is None:
        r_vec = RuleResult(
            "grad_amplitude_vector",
            "gradient vector magnitude |G|",
            "info",
            vval,
            float("nan"),
            "T/m",
            "+".join(wf.axes),
            t0 + (iv + 0.5) * dt,
            note="no vector limit given; the per-axis limit is the hardware rating",
            index=iv,
        )
    else:
        r_vec = RuleResult(
            "grad_amplitude_vector",
            "gradient vector magnitude |G|",
            "fail" if exceeds(vval, vlim) else "pass",
            vval,
            vlim,
            "T/m",
            "+".join(wf.axes),
            t0 + (iv + 0.5) * dt,
            index=iv,
        )
    return (r_axis, r_vec)


def check_gradient_slew(
    wf: Waveforms,
    max_slew_t_per_m_per_s: float,
    *,
    max_slew_vector_t_per_m_per_s: float | None = None,
    zero_edges: bool = True,
) -> tuple[RuleResult, ...]:
    """Slew rate per axis and as a vector, every step between samples (see module notes).

    Returns ``grad_slew`` and ``grad_slew_vector`` (``"info"`` unless a vector limit is given).
    """
    lim = positive(max_slew_t_per_m_per_s, "max_slew_t_per_m_per_s", "T/m/s")
    vlim = _vector_or_none(max_slew_vector_t_per_m_per_s, "max_slew_vector_t_per_m_per_s", "T/m/s")
    if wf.n_grad == 0:
        return ()
    dt, t0 = wf.grad_raster_s, wf.t0_s
    shift = 0 if zero_edges else 1  # slew index k is the step into sample k + shift
    best_val, best_axis, best_k = -1.0, 0, 0
    norm2: np.ndarray | None = None
    for j in range(wf.n_axes):
        s = slew_rate(wf.grad_t_per_m[:, j], dt, zero_edges=zero_edges)
        if s.size == 0:
            continue
        a = np.abs(s)
        k = int(np.argmax(a))
        if a[k] > best_val:
            best_val, best_axis, best_k = float(a[k]), j, k
        norm2 = s * s if norm2 is None else norm2 + s * s
    if norm2 is None:  # a single sample without edges: no slew defined
        return ()
    k_step = best_k + shift  # index of the sample the step leads into
    r_axis = RuleResult(
        "grad_slew",
        "gradient slew rate |dG/dt| per axis",
        "fail" if exceeds(best_val, lim) else "pass",
        best_val,
        lim,
        "T/m/s",
        wf.axes[best_axis],
        t0 + k_step * dt,
        index=k_step,
    )
    kv = int(np.argmax(norm2))
    vval = math.sqrt(float(norm2[kv]))
    kv_step = kv + shift
    verdict = "info" if vlim is None else ("fail" if exceeds(vval, vlim) else "pass")
    r_vec = RuleResult(
        "grad_slew_vector",
        "gradient slew vector magnitude |dG/dt|",
        verdict,
        vval,
        float("nan") if vlim is None else vlim,
        "T/m/s",
        "+".join(wf.axes),
        t0 + kv_step * dt,
        note="no vector limit given; the per-axis limit is the hardware rating" if vlim is None else "",
        index=kv_step,
    )
    return (r_axis, r_vec)


def check_gradient_rms(
    wf: Waveforms, max_rms_t_per_m: float, window_s: float, *, periodic: bool = True
) -> tuple[RuleResult, ...]:
    """Gradient RMS over the worst window of ``window_s`` per axis (amplifier and coil heating).

    The window integral of ``g^2`` is exact in time (:func:`max_window_integral`).
    """
    lim = positive(max_rms_t_per_m, "max_rms_t_per_m", "T/m")
    win = positive(window_s, "grad rms window_s", "s")
    if wf.n_grad == 0:
        return ()
    per_axis = [
        max_window_integral(wf.grad_t_per_m[:, j] * wf.grad_t_per_m[:, j], wf.grad_raster_s, win, periodic=periodic)
        for j in range(wf.n_axes)
    ]
    return rms_result(per_axis, wf.axes, lim, win, periodic, wf.t0_s)


def rms_result(
    per_axis: list[tuple[float, float]],
    axes: tuple[str, ...],
    max_rms_t_per_m: float,
    window_s: float,
    periodic: bool,
    t0_s: float,
) -> tuple[RuleResult, ...]:
    """``grad_rms`` from each axis's largest window integral of ``g^2`` (T^2/m^2 s) and its start (s)."""
    lim, win = max_rms_t_per_m, window_s
    best, best_axis, best_t = -1.0, 0, 0.0
    for j, (e, start) in enumerate(per_axis):
        rms = math.sqrt(e / win)
        if rms > best:
            best, best_axis, best_t = rms, j, start
    return (
        RuleResult(
            "grad_rms",
            f"gradient RMS over {win:g} s per axis",
            "fail" if exceeds(best, lim) else "pass",
            best,
            lim,
            "T/m",
            axes[best_axis],
            t0_s + best_t,
            note=("waveform repeated back to back" if periodic else "waveform played once")
            + "; time = start of the worst window",
        ),
    )
