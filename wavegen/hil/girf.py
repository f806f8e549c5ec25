"""The system response of a gradient chain (GIRF): test inputs, estimation, pre-compensation.

The gradient chain of a bench (amplifier, coil, eddy currents, monitor) is treated as a linear
time-invariant system per axis, ``Y(f) = H(f) X(f)`` (Vannesjo et al., MRM 69:583 (2013)):

- :func:`test_inputs`: triangles of several widths (their spectral zeros fall at different
  frequencies, so the sum of their power spectra has no zero in band) and a linear chirp, within a
  given amplitude and slew.
- :func:`estimate_girf`: ``H(f) = sum_k O_k I_k* / (sum_k |I_k|^2 + lambda)`` (least squares over
  records with Tikhonov regularisation; GIRF toolbox ``ComputeGirf``).
- :func:`precompensate`: the regularised inverse ``X = D H* / (|H|^2 + lambda(f))`` inside a raised-cosine
  band, the target itself outside it (Vannesjo et al., MRM 78:1607 (2017)).

Pure NumPy on a uniform grid of ``rate_hz``; no I/O.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from wavegen.errors import RangeError, ShapeError
from wavegen.hil.align import (
    as_signal,
    fft_length,
    positive_rate,
)

__all__ = ["Girf", "test_inputs", "estimate_girf", "precompensate", "inverse_filter", "band_window"]

logger = logging.getLogger(__name__)

# -- system response ------------------------------------------------------------------------------


def test_inputs(
    rate_hz: float,
    *,
    max_amplitude: float,
    max_slew: float,
    widths_s: tuple[float, ...] = (20e-6, 30e-6, 50e-6, 80e-6, 130e-6, 210e-6),
    spacing_s: float = 1e-3,
    chirp_s: float = 5e-3,
    chirp_f_hz: float = 60e3,
    lead_s: float = 100e-6,
    tail_s: float = 3e-3,
) -> list[np.ndarray]:
    """GIRF test records: a train of triangles of several widths, and a linear chirp ``0..chirp_f_hz``.

    Each triangle is as tall as ``max_amplitude`` and ``max_slew`` allow; the chirp amplitude keeps
    ``2 pi f A <= max_slew`` at its top frequency (with a 10 % raised-cosine taper at both ends).
    Both records have the same length (``lead_s`` of zeros first, ``tail_s`` of zeros last for the
    response to settle). Units follow the inputs (T/m and T/m/s for gradients).

    Returns
    -------
    list of ndarray
        ``[triangle_train, chirp]`` (``[triangle_train]`` if ``chirp_s`` is 0).
    """
    rate = positive_rate(rate_hz)
    for name, v in (("max_amplitude", max_amplitude), ("max_slew", max_slew)):
        if not (math.isfinite(v) and v > 0):
            raise RangeError(f"{name} = {v!r} must be a finite number > 0")
    dt = 1.0 / rate
    parts: list[np.ndarray] = []
    for w in widths_s:
        nh = max(1, int(round(w / 2 * rate)))
        peak = min(max_amplitude, max_slew * nh * dt)
        up = np.arange(nh + 1) / nh * peak
        tri = np.concatenate([up, up[-2::-1]])
        parts.append(tri)
        parts.append(np.zeros(max(0, int(round(spacing_s * rate)) - tri.size)))
    train = np.concatenate(parts)
    records = [train]
    if chirp_s > 0:
        n = int(round(chirp_s * rate))
        t = np.arange(n) * dt
        amp = min(max_amplitude, 0.9 * max_slew / (2 * np.pi * chirp_f_hz))
        ph = 2 * np.pi * (0.5 * chirp_f_hz / chirp_s * t * t)
        taper = np.ones(n)
        m = max(1, n // 10)
        ramp = 0.5 - 0.5 * np.cos(np.pi * np.arange(m) / m)
        taper[:m] = ramp
        taper[-m:] = ramp[::-1]
        records.append(amp * np.sin(ph) * taper)
    lead = int(round(lead_s * rate))
    total = max(r.size for r in records) + lead + int(round(tail_s * rate))
    out = []
    for r in records:
        a = np.zeros(total)
        a[lead : lead + r.size] = r
        out.append(a)
    return out


@dataclass(frozen=True)
class Girf:
    """An estimated transfer function on a frequency grid.

    Attributes
    ----------
    freq_hz : ndarray
        Non-negative frequencies (``rfftfreq``), Hz.
    response : ndarray
        Complex H(f), unitless (output unit per input unit).
    weight : ndarray
        Input power ``sum |I_k|^2`` at each frequency (relative to its maximum): where H is measured.
    delay_s : float
        Bulk delay (phase slope), s: removed before interpolating H to another grid.
    rate_hz : float
        Sample rate of the records, Hz.
    """

    freq_hz: np.ndarray
    response: np.ndarray
    weight: np.ndarray
    delay_s: float
    rate_hz: float

    def __post_init__(self) -> None:
        f = np.asarray(self.freq_hz)
        h = np.asarray(self.response)
        w = np.asarray(self.weight)
        if f.ndim != 1 or f.size < 2 or h.shape != f.shape or w.shape != f.shape:
            raise ShapeError(
                f"Girf: freq_hz, response and weight must be 1-D of one length >= 2, got {f.shape}, {h.shape}, "
                f"{w.shape}"
            )
        for name, a in (("freq_hz", f), ("response", h), ("weight", w)):
            if not np.all(np.isfinite(a)):
                i = int(np.flatnonzero(~np.isfinite(a))[0])
                raise RangeError(f"Girf.{name}[{i}] = {a[i]} is not finite: the GIRF cannot correct anything")
        if not (math.isfinite(self.delay_s) and math.isfinite(self.rate_hz) and self.rate_hz > 0):
            raise RangeError(
                f"Girf: delay_s = {self.delay_s} s and rate_hz = {self.rate_hz} Hz must be finite (rate > 0)"
            )

    def at(self, f_hz: Any) -> np.ndarray:
        """H at arbitrary frequencies |f| <= rate/2 (the delay-free part interpolated, the delay
        re-applied; negative frequencies by conjugate symmetry)."""
        f = np.asarray(f_hz, dtype=np.float64)
        af = np.abs(f)
        base = self.response * np.exp(2j * np.pi * self.freq_hz * self.delay_s)
        re = np.interp(af, self.freq_hz, base.real)
        im = np.interp(af, self.freq_hz, base.imag)
        h = (re + 1j * np.sign(f + (f == 0)) * im) * np.exp(-2j * np.pi * f * self.delay_s)
        return h

    def bandwidth_hz(self, level: float = 0.5) -> float:
        """Lowest frequency where |H| / |H(0)| falls below ``level`` (the -6 dB point by default)."""
        mag = np.abs(self.response)
        ref = mag[0] if mag[0] > 0 else np.max(mag)
        below = np.flatnonzero(mag < level * ref)
        return float(self.freq_hz[below[0]]) if below.size else float(self.freq_hz[-1])

    def __repr__(self) -> str:
        return (
            f"Girf(|H(0)|={abs(self.response[0]):.4f}, delay={self.delay_s * 1e6:.3f} us, "
            f"-6 dB at {self.bandwidth_hz() / 1e3:.1f} kHz, {self.freq_hz.size} bins)"
        )


def estimate_girf(
    inputs: Any, outputs: Any, rate_hz: float, *, regularization: float = 1e-6
) -> Girf:
    """Least-squares GIRF over several records with Tikhonov regularisation.

    ``H(f) = sum_k O_k(f) I_k*(f) / (sum_k |I_k(f)|^2 + lambda max_f sum_k |I_k|^2)``
    (GIRF toolbox ``ComputeGirf``; docs/references/hil.md §1). Records must have equal lengths and end in
    enough zeros for the response to settle (their DFTs are taken at twice the length, zero-padded).

    Parameters
    ----------
    inputs, outputs : sequence of arrays, shape (n,)
        What was played and what was measured, in the same unit (T/m).
    rate_hz : float
        Sample rate, Hz.
    regularization : float
        ``lambda``, relative to the peak input power.
    """
    ins = [as_signal(x, "input") for x in inputs]
    outs = [as_signal(y, "output") for y in outputs]
    if not ins or len(ins) != len(outs):
        raise ShapeError(f"need as many outputs as inputs (>= 1), got {len(ins)} and {len(outs)}")
    n = ins[0].size
    if any(x.size != n for x in ins + outs):
        raise ShapeError("all test records must have the same length")
    rate = positive_rate(rate_hz)
    if not (math.isfinite(regularization) and regularization >= 0):
        raise RangeError(f"regularization = {regularization!r} must be >= 0")
    nf = fft_length(2 * n)
    num = np.zeros(nf // 2 + 1, dtype=complex)
    den = np.zeros(nf // 2 + 1)
    for x, y in zip(ins, outs, strict=True):
        X = np.fft.rfft(x, nf)
        Y = np.fft.rfft(y, nf)
        num += Y * np.conj(X)
        den += np.abs(X) ** 2
    peak = float(np.max(den))
    if peak == 0:
        raise RangeError("the test inputs are all zero")
    H = num / (den + regularization * peak)
    f = np.fft.rfftfreq(nf, 1.0 / rate)
    w = den / peak
    # bulk delay from the phase slope where the input has power
    keep = w > 1e-3
    ph = np.unwrap(np.angle(H[keep]))
    om = 2 * np.pi * f[keep]
    ww = w[keep]
    delay = -float(np.sum(ww * om * (ph - ph[0]))) / float(np.sum(ww * om * om)) if om.size > 2 else 0.0
    return Girf(f, H, w, delay, rate)


def inverse_filter(girf: Girf, f: np.ndarray, regularization: float, band_hz: float) -> np.ndarray:
    H = girf.at(f)
    h0 = abs(girf.response[0]) or 1.0
    # frequency-shaped Tikhonov term: no bias at DC (gain and slow eddy currents are inverted exactly),
    # growing as (f / f_6dB)^2 where |H| falls and the estimate is poorer
    lam = regularization * h0 * h0 * (f / girf.bandwidth_hz()) ** 2
    inv = np.conj(H) / (np.abs(H) ** 2 + lam)
    return band_window(f, band_hz) * inv


def precompensate(
    target: Any, girf: Girf, *, regularization: float = 1e-2, band_hz: float | None = None
) -> np.ndarray:
    """Drive that makes the system described by ``girf`` play ``target`` (open loop).

    ``X = W H* / (|H|^2 + lambda |H(0)|^2 (f / f_6dB)^2) D + (1 - W) D`` with ``W`` a raised-cosine band window
    (1 below ``0.8 band_hz``, 0 above ``band_hz``); outside the band the target passes unchanged.
    Default band: 2x the GIRF's -6 dB frequency, at most 0.4x the rate. Re-check the result against the
    safety limits before playing it: inversion raises the peak slew (docs/references/hil.md §3).
    """
    d = as_signal(target, "target")
    rate = girf.rate_hz
    band = min(2 * girf.bandwidth_hz(), 0.4 * rate) if band_hz is None else float(band_hz)
    n = d.size
    nf = fft_length(2 * n)
    f = np.fft.rfftfreq(nf, 1.0 / rate)
    F = inverse_filter(girf, f, regularization, band)
    D = np.fft.rfft(d, nf)
    X = F * D + D * (1 - band_window(f, band))
    return np.fft.irfft(X, nf)[:n]


def band_window(f: np.ndarray, band_hz: float) -> np.ndarray:
    af = np.abs(f)
    lo = 0.8 * band_hz
    return np.where(af <= lo, 1.0, np.where(af >= band_hz, 0.0, 0.5 + 0.5 * np.cos(np.pi * (af - lo) / (band_hz - lo))))
