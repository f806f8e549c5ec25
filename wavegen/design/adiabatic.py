"""Adiabatic pulses in physical units: hyperbolic secant (HS1, HSn), WURST and BIR-4.

An adiabatic pulse is an amplitude modulation ``A(t)`` (T) with a frequency sweep ``f(t)`` (Hz); the
complex envelope is ``A(t) * exp(i * 2*pi * integral f dt)``, the phase taken as zero at the pulse
centre. With the rotation sense of :mod:`wavegen.design.bloch` the sweep passes through resonance
with spins at off-resonance ``f(t)``, so an inversion pulse sweeping ``-BW/2 .. +BW/2`` inverts the
band ``|df| < BW/2`` once ``B1`` is above the adiabatic threshold, and stays inverted for any larger
``B1`` (the point of adiabatic pulses: insensitivity to ``B1``).

References
----------
- HS1: Silver, Joseph & Hoult, J Magn Reson 1984;59:347; HSn: Tannus & Garwood, J Magn Reson A
  1996;120:133 (amplitude ``sech(beta * tau**n)``, frequency proportional to the integral of the
  squared amplitude).
- WURST: Kupce & Freeman, J Magn Reson A 1995;115:273 (amplitude ``1 - |cos(pi t/T)|**n``, linear
  sweep).
- BIR-4: Garwood & Ke, J Magn Reson 1991;94:511; Staewen et al., Invest Radiol 1990;25:559 (four
  tanh/tan segments, phase jumps ``+-(pi + theta/2)`` give a B1-insensitive flip ``theta``).
- Adiabatic threshold of HS1 (Garwood & DelaBarre, J Magn Reson 2001;153:155):
  ``gamma*B1max >= sqrt(mu) * beta_rad_per_s / (2*pi)`` in Hz with ``mu = pi*BW/beta_rad_per_s``;
  :func:`hs1_threshold_b1_t` returns it.
"""

from __future__ import annotations

import logging
import math

import numpy as np

from wavegen.design.pulse import RFPulse, RFUse, build_pulse, rf_sample_count, rf_settings
from wavegen.errors import RangeError
from wavegen.limits import GAMMA_1H_HZ_PER_T, SystemLimits
from wavegen.validate import finite, positive

__all__ = [
    "hyperbolic_secant_pulse",
    "wurst_pulse",
    "bir4_pulse",
    "hs1_threshold_b1_t",
]

logger = logging.getLogger(__name__)


def _tau(n: int) -> np.ndarray:
    """Sample centres mapped to [-1, 1]."""
    return (np.arange(n) + 0.5) / n * 2.0 - 1.0


def _phase_from_freq(freq_hz: np.ndarray, raster_s: float) -> np.ndarray:
    """``2*pi * integral f dt`` at the sample centres (midpoint rule), zero at the pulse centre."""
    n = freq_hz.size
    # cumulative phase at sample centres: sum of previous samples plus half of this one
    ph = 2 * np.pi * raster_s * (np.cumsum(freq_hz) - 0.5 * freq_hz)
    if n % 2:
        centre = ph[n // 2]
    else:
        centre = 0.5 * (ph[n // 2 - 1] + ph[n // 2])
    return np.asarray(ph - centre)


def hs1_threshold_b1_t(
    duration_s: float,
    bandwidth_hz: float,
    *,
    truncation: float = 5.3,
    gamma_hz_per_t: float = GAMMA_1H_HZ_PER_T,
) -> float:
    """Adiabatic threshold of an HS1 inversion, T (Garwood & DelaBarre 2001).

    With ``beta = 2*truncation/T`` (rad/s) and ``mu = pi*BW/beta``, inversion is adiabatic for
    ``2*pi*gamma*B1max >> sqrt(mu)*beta``; this returns ``sqrt(mu)*beta/(2*pi*gamma)``. Use a few
    times this value (see the tests: 3x inverts to Mz <= -0.99).
    """
    t = positive(duration_s, "duration_s", "s")
    bw = positive(bandwidth_hz, "bandwidth_hz", "Hz")
    tr = positive(truncation, "truncation", "")
    gamma = positive(gamma_hz_per_t, "gamma_hz_per_t", "Hz/T")
    beta = 2 * tr / t
    mu = math.pi * bw / beta
    return math.sqrt(mu) * beta / (2 * math.pi * gamma)


def hyperbolic_secant_pulse(
    duration_s: float,
    bandwidth_hz: float,
    b1_max_t: float,
    *,
    order: int = 1,
    truncation: float = 5.3,
    limits: SystemLimits | None = None,
    raster_s: float | None = None,
    gamma_hz_per_t: float | None = None,
    max_b1_t: float | None = None,
    freq_offset_hz: float = 0.0,
    phase_offset_rad: float = 0.0,
    use: RFUse = "inversion",
    delay_s: float = 0.0,
) -> RFPulse:
    """A hyperbolic-secant adiabatic pulse, HS1 (``order=1``) or HSn.

    ``A(tau) = b1_max * sech(truncation * tau**order)``, ``tau = 2t/T - 1`` in [-1, 1]; the frequency
    sweeps ``-BW/2 .. +BW/2`` as ``tanh(truncation*tau)/tanh(truncation)`` for HS1 and, for HSn, as the
    normalised integral of ``A**2`` (Tannus & Garwood 1996).

    Parameters
    ----------
    duration_s
        Duration ``T``, s, a whole number of RF rasters.
    bandwidth_hz
        Full sweep width ``BW``, Hz: the inverted band is about ``|df| < BW/2``.
    b1_max_t
        Peak amplitude, T (compare :func:`hs1_threshold_b1_t`).
    order
        ``n`` of HSn, an integer >= 1 (1: HS1; 4 or 8: flatter amplitude, lower peak for the band).
    truncation
        ``beta``: the amplitude at the ends is ``sech(beta)`` (5.3: 1 %).
    limits, raster_s, gamma_hz_per_t, max_b1_t, freq_offset_hz, phase_offset_rad, use, delay_s
        As for :func:`wavegen.design.rf.block_pulse`.
    """
    t = positive(duration_s, "duration_s", "s")
    bw = positive(bandwidth_hz, "bandwidth_hz", "Hz")
    b1max = positive(b1_max_t, "b1_max_t", "T")
    if isinstance(order, bool) or not isinstance(order, (int, np.integer)) or order < 1:
        raise RangeError(f"order = {order!r} must be an integer >= 1")
    tr = positive(truncation, "truncation", "")
    raster, _gamma, mb = rf_settings(limits, raster_s, gamma_hz_per_t, max_b1_t)
    n = rf_sample_count(t, raster)
    tau = _tau(n)
    amp = 1.0 / np.cosh(tr * tau ** int(order))
    if order == 1:
        freq = 0.5 * bw * np.tanh(tr * tau) / math.tanh(tr)
    else:
        # integral of sech^2(beta tau^n) from the centre, normalised to +-1 at the ends (fine grid)
        fine = np.linspace(0.0, 1.0, 20001)
        sq = 1.0 / np.cosh(tr * fine ** int(order)) ** 2
        cum = np.concatenate(([0.0], np.cumsum(0.5 * (sq[1:] + sq[:-1]) * np.diff(fine))))
        freq = 0.5 * bw * np.sign(tau) * np.interp(np.abs(tau), fine, cum) / cum[-1]
    b1 = b1max * amp * np.exp(1j * _phase_from_freq(freq, raster))
    return build_pulse(
        b1,
        raster,
        n * raster / 2,
        max_b1=mb,
        what=f"an HS{order} pulse with B1max {b1max * 1e6:.4g} uT",
        freq_offset_hz=finite(freq_offset_hz, "freq_offset_hz", "Hz"),
        phase_offset_rad=phase_offset_rad,
        use=use,
        delay_s=delay_s,
        bandwidth_hz=bw,
    )


def wurst_pulse(
    duration_s: float,
    bandwidth_hz: float,
    b1_max_t: float,
    *,
    order: int = 20,
    limits: SystemLimits | None = None,
    raster_s: float | None = None,
    gamma_hz_per_t: float | None = None,
    max_b1_t: float | None = None,
    freq_offset_hz: float = 0.0,
    phase_offset_rad: float = 0.0,
    use: RFUse = "inversion",
    delay_s: float = 0.0,
) -> RFPulse:
    """A WURST-n adiabatic pulse (Kupce & Freeman 1995): ``A = b1_max (1 - |cos(pi t/T)|**n)`` with a
    linear sweep ``-BW/2 .. +BW/2``.

    Parameters are as for :func:`hyperbolic_secant_pulse`; ``order`` is ``n`` (>= 1, typically 20-80).
    """
    t = positive(duration_s, "duration_s", "s")
    bw = positive(bandwidth_hz, "bandwidth_hz", "Hz")
    b1max = positive(b1_max_t, "b1_max_t", "T")
    if isinstance(order, bool) or not isinstance(order, (int, np.integer)) or order < 1:
        raise RangeError(f"order = {order!r} must be an integer >= 1")
    raster, _gamma, mb = rf_settings(limits, raster_s, gamma_hz_per_t, max_b1_t)
    n = rf_sample_count(t, raster)
    tau = _tau(n)
    amp = 1.0 - np.abs(np.sin(0.5 * np.pi * tau)) ** int(order)  # = 1 - |cos(pi t/T)|^n
    freq = 0.5 * bw * tau
    b1 = b1max * amp * np.exp(1j * _phase_from_freq(freq, raster))
    return build_pulse(
        b1,
        raster,
        n * raster / 2,
        max_b1=mb,
        what=f"a WURST-{order} pulse with B1max {b1max * 1e6:.4g} uT",
        freq_offset_hz=finite(freq_offset_hz, "freq_offset_hz", "Hz"),
        phase_offset_rad=phase_offset_rad,
        use=use,
        delay_s=delay_s,
        bandwidth_hz=bw,
    )


def bir4_pulse(
    flip_angle_rad: float,
    duration_s: float,
    b1_max_t: float,
    max_freq_hz: float,
    *,
    tanh_factor: float = 10.0,
    tan_kappa_deg: float = math.degrees(math.atan(20.0)),
    limits: SystemLimits | None = None,
    raster_s: float | None = None,
    gamma_hz_per_t: float | None = None,
    max_b1_t: float | None = None,
    freq_offset_hz: float = 0.0,
    phase_offset_rad: float = 0.0,
    use: RFUse = "excitation",
    delay_s: float = 0.0,
) -> RFPulse:
    """A BIR-4 plane rotation by ``flip_angle_rad``, insensitive to B1 (Garwood & Ke 1991).

    Four segments of ``T/4``: amplitude ``tanh(lambda(1 - 4t/T))``, ``tanh(lambda(4t/T - 1))``,
    ``tanh(lambda(3 - 4t/T))``, ``tanh(lambda(4t/T - 3))``; frequency
    ``f_max tan(kappa x)/tan(kappa)`` with ``x = 4t/T``, ``4t/T - 2``, ``4t/T - 2``, ``4t/T - 4``;
    phase jumps of ``+(pi + theta/2)`` at ``T/4`` and ``-(pi + theta/2)`` at ``3T/4``.

    Parameters
    ----------
    flip_angle_rad
        Flip angle ``theta``, rad (any real; 90 deg excitation, 180 deg refocusing, ...).
    duration_s
        Duration, s; a whole number of RF rasters, and the number of samples a multiple of 4.
    b1_max_t
        Peak amplitude, T.
    max_freq_hz
        Peak frequency offset ``f_max`` of the sweep, Hz.
    tanh_factor
        ``lambda`` (default 10).
    tan_kappa_deg
        ``kappa`` in degrees (default ``atan(20)``, 87.1 deg).
    """
    theta = finite(flip_angle_rad, "flip_angle_rad", "rad")
    t = positive(duration_s, "duration_s", "s")
    b1max = positive(b1_max_t, "b1_max_t", "T")
    fmax = positive(max_freq_hz, "max_freq_hz", "Hz")
    lam = positive(tanh_factor, "tanh_factor", "")
    kappa = math.radians(positive(tan_kappa_deg, "tan_kappa_deg", "deg"))
    if kappa >= math.pi / 2:
        raise RangeError(f"tan_kappa_deg = {tan_kappa_deg!r} deg must be < 90 deg")
    raster, _gamma, mb = rf_settings(limits, raster_s, gamma_hz_per_t, max_b1_t)
    n = rf_sample_count(t, raster)
    if n % 4:
        raise RangeError(f"a BIR-4 pulse needs a multiple of 4 samples, got {n}")
    q = n // 4
    x = (np.arange(n) + 0.5) / n * 4.0  # 0..4
    seg = np.minimum((np.arange(n) // q), 3)
    amp = np.choose(
        seg, [np.tanh(lam * (1 - x)), np.tanh(lam * (x - 1)), np.tanh(lam * (3 - x)), np.tanh(lam * (x - 3))]
    )
    xs = np.choose(seg, [x, x - 2, x - 2, x - 4])
    freq = fmax * np.tan(kappa * xs) / math.tan(kappa)
    phase = _phase_from_freq(freq, raster)
    # the phase is continuous through each segment boundary except for the jumps
    dphi = math.pi + theta / 2
    jumps = np.where((seg == 1) | (seg == 2), dphi, 0.0)
    b1 = b1max * amp * np.exp(1j * (phase + jumps))
    return build_pulse(
        b1,
        raster,
        n * raster / 2,
        max_b1=mb,
        what=f"a BIR-4 pulse with B1max {b1max * 1e6:.4g} uT",
        freq_offset_hz=finite(freq_offset_hz, "freq_offset_hz", "Hz"),
        phase_offset_rad=phase_offset_rad,
        use=use,
        delay_s=delay_s,
    )
