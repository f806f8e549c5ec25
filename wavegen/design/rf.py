"""RF pulse shapes: block, windowed sinc, Gaussian, arbitrary, and exact flip-angle scaling.

The pulse value itself, :class:`~wavegen.design.pulse.RFPulse`, and its conventions (raster, centre,
Pulseq's frequency and phase offsets) live in :mod:`wavegen.design.pulse`.

Flip angles are exact: a hard (or any constant-phase real) pulse rotates about one axis on resonance,
so ``alpha = 2*pi*gamma*|integral B1 dt|`` (Bloch equation, e.g. Bernstein, King & Zhou, *Handbook of
MRI Pulse Sequences*, 2004, sec. 2.1); pulses whose phase varies are scaled by Bloch simulation until
the simulated on-resonance flip equals the request (:func:`scale_to_flip_angle`).

The slice-select gradient comes from a separate module, :mod:`wavegen.design.rf_slice`
(:func:`~wavegen.design.rf_slice.slice_select_gradient`).
"""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np

from wavegen.design.bloch import simulate_ab
from wavegen.design.pulse import (
    RFPulse,
    RFUse,
    build_pulse,
    check_flip_angle,
    rf_sample_count,
    rf_settings,
)
from wavegen.errors import DesignError
from wavegen.limits import GAMMA_1H_HZ_PER_T, SystemLimits
from wavegen.validate import as_1d_complex, finite, in_range, positive

__all__ = [
    "block_pulse",
    "sinc_pulse",
    "gauss_pulse",
    "arbitrary_pulse",
    "scale_to_flip_angle",
]

logger = logging.getLogger(__name__)


# --- shapes -----------------------------------------------------------------------------------------


def block_pulse(
    flip_angle_rad: float,
    duration_s: float,
    *,
    limits: SystemLimits | None = None,
    raster_s: float | None = None,
    gamma_hz_per_t: float | None = None,
    max_b1_t: float | None = None,
    freq_offset_hz: float = 0.0,
    phase_offset_rad: float = 0.0,
    use: RFUse = "excitation",
    delay_s: float = 0.0,
) -> RFPulse:
    """A rectangular (hard) pulse of exactly ``flip_angle_rad``.

    ``B1 = alpha / (2*pi*gamma*T)``: 90 deg in 1 ms is 250 Hz, 5.872 uT for 1H.

    Parameters
    ----------
    flip_angle_rad
        Flip angle, rad (> 0).
    duration_s
        Duration, s, a whole number of RF rasters.
    limits
        System limits (default :class:`~wavegen.limits.SystemLimits()`); give the RF raster, gamma and
        peak B1 unless overridden by ``raster_s``, ``gamma_hz_per_t`` and ``max_b1_t``.
    freq_offset_hz, phase_offset_rad, use, delay_s
        Stored on the :class:`RFPulse`.

    Raises
    ------
    LimitError
        If the pulse needs more than the peak B1 limit (a :class:`~wavegen.errors.DesignError`).
    """
    flip = check_flip_angle(flip_angle_rad)
    raster, gamma, mb = rf_settings(limits, raster_s, gamma_hz_per_t, max_b1_t)
    n = rf_sample_count(duration_s, raster)
    amp = flip / (2 * math.pi * gamma * n * raster)
    b1 = np.full(n, amp, dtype=np.complex128)
    return build_pulse(
        b1,
        raster,
        n * raster / 2,
        max_b1=mb,
        what=f"a {math.degrees(flip):.4g} deg block pulse of {duration_s * 1e6:.6g} us",
        freq_offset_hz=freq_offset_hz,
        phase_offset_rad=phase_offset_rad,
        use=use,
        delay_s=delay_s,
    )


def _window(u: np.ndarray, apodization: float) -> np.ndarray:
    """Generalised Hamming window ``(1-a) + a*cos(pi*u)`` on ``u`` in [-1, 1]."""
    return (1 - apodization) + apodization * np.cos(np.pi * u)


def sinc_pulse(
    flip_angle_rad: float,
    duration_s: float,
    time_bw_product: float,
    *,
    apodization: float = 0.5,
    limits: SystemLimits | None = None,
    raster_s: float | None = None,
    gamma_hz_per_t: float | None = None,
    max_b1_t: float | None = None,
    freq_offset_hz: float = 0.0,
    phase_offset_rad: float = 0.0,
    use: RFUse = "excitation",
    delay_s: float = 0.0,
) -> RFPulse:
    """A windowed sinc pulse of exactly ``flip_angle_rad``.

    ``B1(t) ∝ w(t) * sinc(BW * (t - T/2))`` with ``BW = time_bw_product / T`` (the full width of the
    small-tip slice profile in Hz) and the generalised Hamming window
    ``w = (1 - a) + a*cos(2*pi*(t - T/2)/T)``; ``a = 0.5`` Hann (default), ``0.46`` Hamming, ``0`` none
    (Bernstein et al., *Handbook of MRI Pulse Sequences*, sec. 2.3; Pulseq's ``make_sinc_pulse``).

    Parameters
    ----------
    flip_angle_rad
        Flip angle, rad (> 0). Exact on resonance: the pulse is real, so the flip is
        ``2*pi*gamma*|integral B1 dt|``.
    duration_s
        Duration ``T``, s, a whole number of RF rasters.
    time_bw_product
        ``T * BW`` (> 0); the number of sinc zero crossings is ``time_bw_product`` over the pulse.
    apodization
        Window parameter ``a`` in [0, 1].
    limits, raster_s, gamma_hz_per_t, max_b1_t, freq_offset_hz, phase_offset_rad, use, delay_s
        As for :func:`block_pulse`.
    """
    flip = check_flip_angle(flip_angle_rad)
    tbw = positive(time_bw_product, "time_bw_product", "")
    a = in_range(apodization, "apodization", low=0.0, high=1.0)
    raster, gamma, mb = rf_settings(limits, raster_s, gamma_hz_per_t, max_b1_t)
    n = rf_sample_count(duration_s, raster)
    duration = n * raster
    u = ((np.arange(n) + 0.5) * raster - duration / 2) / (duration / 2)  # -1..1
    shape = _window(u, a) * np.sinc(tbw * u / 2)
    area = float(np.sum(shape)) * raster
    if abs(area) < 1e-300:
        raise DesignError("the sinc shape integrates to zero; a flip angle cannot be set")
    b1 = (shape * (flip / (2 * math.pi * gamma * area))).astype(np.complex128)
    return build_pulse(
        b1,
        raster,
        duration / 2,
        max_b1=mb,
        what=f"a {math.degrees(flip):.4g} deg sinc pulse (T = {duration * 1e6:.6g} us, TBW {tbw:g})",
        freq_offset_hz=freq_offset_hz,
        phase_offset_rad=phase_offset_rad,
        use=use,
        delay_s=delay_s,
        bandwidth_hz=tbw / duration,
    )


def gauss_pulse(
    flip_angle_rad: float,
    duration_s: float,
    time_bw_product: float,
    *,
    limits: SystemLimits | None = None,
    raster_s: float | None = None,
    gamma_hz_per_t: float | None = None,
    max_b1_t: float | None = None,
    freq_offset_hz: float = 0.0,
    phase_offset_rad: float = 0.0,
    use: RFUse = "excitation",
    delay_s: float = 0.0,
) -> RFPulse:
    """A Gaussian pulse of exactly ``flip_angle_rad``.

    ``B1(t) ∝ exp(-pi * (BW * (t - T/2))**2)`` with ``BW = time_bw_product / T``; its small-tip
    profile is ``exp(-pi * (f / BW)**2)`` (FWHM ``0.9394 * BW``), as in Pulseq's ``make_gauss_pulse``.

    Parameters are as for :func:`sinc_pulse` (no window).
    """
    flip = check_flip_angle(flip_angle_rad)
    tbw = positive(time_bw_product, "time_bw_product", "")
    raster, gamma, mb = rf_settings(limits, raster_s, gamma_hz_per_t, max_b1_t)
    n = rf_sample_count(duration_s, raster)
    duration = n * raster
    t = (np.arange(n) + 0.5) * raster - duration / 2
    with np.errstate(over="ignore", under="ignore"):  # a too-narrow Gaussian is refused below
        shape = np.exp(-np.pi * (tbw / duration * t) ** 2)
    area = float(np.sum(shape)) * raster
    if not area > 0.0:  # every sample underflowed: the Gaussian is narrower than one raster period
        raise DesignError(
            f"time_bw_product = {tbw!r} is too large for {n} samples of {raster!r} s: the Gaussian is "
            f"narrower than one sample and vanishes on the raster (keep time_bw_product below about "
            f"{2 * n * 15:.4g}, or use a finer raster)"
        )
    b1 = (shape * (flip / (2 * math.pi * gamma * area))).astype(np.complex128)
    return build_pulse(
        b1,
        raster,
        duration / 2,
        max_b1=mb,
        what=f"a {math.degrees(flip):.4g} deg Gaussian pulse (T = {duration * 1e6:.6g} us, TBW {tbw:g})",
        freq_offset_hz=freq_offset_hz,
        phase_offset_rad=phase_offset_rad,
        use=use,
        delay_s=delay_s,
        bandwidth_hz=tbw / duration,
    )


def scale_to_flip_angle(
    b1_t: Any,
    raster_s: float,
    flip_angle_rad: float,
    *,
    gamma_hz_per_t: float = GAMMA_1H_HZ_PER_T,
) -> np.ndarray:
    """``b1_t`` scaled by a positive real factor so its on-resonance flip angle is ``flip_angle_rad``.

    For a pulse of constant phase (mod pi) the flip is ``2*pi*gamma*|integral B1 dt|`` exactly and the
    scale follows in closed form. Otherwise the on-resonance flip ``2*arcsin|beta|`` is found by Bloch
    simulation (Cayley-Klein, :mod:`wavegen.design.bloch`) and the scale by bracketing and Brent's
    method to 1e-12 relative; flips must then lie in (0, pi].

    Raises
    ------
    DesignError
        If the shape has no net rotation or the flip cannot be reached by scaling.
    """
    b1 = as_1d_complex(b1_t, "b1_t")
    raster = positive(raster_s, "raster_s", "s")
    flip = check_flip_angle(flip_angle_rad)
    gamma = positive(gamma_hz_per_t, "gamma_hz_per_t", "Hz/T")
    nz = np.abs(b1) > 1e-15 * float(np.max(np.abs(b1)))
    if not nz.any():
        raise DesignError("b1_t is all zeros; a flip angle cannot be set")
    ph = np.angle(b1[nz])
    # constant phase modulo pi -> rotation about one axis: closed form
    d = np.angle(np.exp(2j * (ph - ph[0])))
    if float(np.max(np.abs(d))) < 1e-9:
        area = complex(np.sum(b1) * raster)
        if abs(area) < 1e-300:
            raise DesignError("b1_t integrates to zero; a flip angle cannot be set")
        return b1 * (flip / (2 * math.pi * gamma * abs(area)))
    if flip > math.pi:
        raise DesignError(f"flip_angle_rad = {flip!r} rad > pi cannot be set by simulation for a phase-modulated pulse")
    from scipy.optimize import brentq

    b1n = b1 / float(np.max(np.abs(b1)))

    def flip_of(scale: float) -> float:
        _, beta = simulate_ab(b1n * scale, raster, gamma_hz_per_t=gamma)
        return 2 * math.asin(min(1.0, float(abs(beta[0]))))

    # first guess from the area magnitude, then bracket
    area = abs(complex(np.sum(b1n) * raster))
    s = flip / (2 * math.pi * gamma * max(area, float(np.sum(np.abs(b1n))) * raster * 1e-3))
    lo, f_lo = 0.0, 0.0
    hi = s
    for _ in range(80):
        f_hi = flip_of(hi)
        if f_hi >= flip:
            break
        if f_hi < f_lo - 1e-6:  # past a maximum without reaching the target
            hi = s * 2**-1  # pragma: no cover - pathological shapes
            break
        lo, f_lo = hi, f_hi
        hi *= 1.5
    else:
        raise DesignError(f"no scale of this B1 shape reaches a flip angle of {flip!r} rad")
    if flip_of(hi) < flip:
        raise DesignError(f"no scale of this B1 shape reaches a flip angle of {flip!r} rad")
    scale = brentq(lambda x: flip_of(x) - flip, lo, hi, xtol=1e-14 * hi, rtol=1e-13, maxiter=200)
    return b1n * scale


def arbitrary_pulse(
    shape: Any,
    raster_s: float | None = None,
    *,
    flip_angle_rad: float | None = None,
    center_s: float | None = None,
    limits: SystemLimits | None = None,
    gamma_hz_per_t: float | None = None,
    max_b1_t: float | None = None,
    freq_offset_hz: float = 0.0,
    phase_offset_rad: float = 0.0,
    use: RFUse = "undefined",
    delay_s: float = 0.0,
) -> RFPulse:
    """An RF pulse from arbitrary complex samples.

    Parameters
    ----------
    shape
        Complex samples. With ``flip_angle_rad`` given they are a *shape* (any scale) and are scaled
        exactly to that flip angle (:func:`scale_to_flip_angle`); without it they are B1 in tesla.
    raster_s
        Sample period, s (default ``limits.rf_raster_s``).
    center_s
        Effective rotation time from the start, s. Default: the time of the largest ``|B1|`` sample
        centre (the isodelay of symmetric and minimum-phase shapes is close to it; give it explicitly
        when it is known, e.g. from an SLR design).
    limits, gamma_hz_per_t, max_b1_t, freq_offset_hz, phase_offset_rad, use, delay_s
        As for :func:`block_pulse`.
    """
    raster, gamma, mb = rf_settings(limits, raster_s, gamma_hz_per_t, max_b1_t)
    b1 = as_1d_complex(shape, "shape")
    if flip_angle_rad is not None:
        b1 = scale_to_flip_angle(b1, raster, flip_angle_rad, gamma_hz_per_t=gamma)
    if center_s is None:
        center = (int(np.argmax(np.abs(b1))) + 0.5) * raster
    else:
        center = finite(center_s, "center_s", "s")
    return build_pulse(
        b1,
        raster,
        center,
        max_b1=mb,
        what=f"an arbitrary pulse of {b1.size} samples",
        freq_offset_hz=freq_offset_hz,
        phase_offset_rad=phase_offset_rad,
        use=use,
        delay_s=delay_s,
    )
