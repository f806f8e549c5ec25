"""Alignment and comparison of a captured waveform with its reference (part of :mod:`wavegen.hil`).

Sub-sample delay by cross-correlation (FFT, parabolic peak interpolation) refined by a weighted fit of
the cross-spectrum phase; least-squares gain; NRMSE and peak error. Pure functions on uniform grids.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from wavegen.errors import RangeError, ShapeError
from wavegen.validate import as_1d_numeric, positive

__all__ = [
    "ChannelMetrics", "nrmse", "estimate_delay", "shift", "align", "compare", "as_signal", "fft_length",
    "positive_rate", "compare_long",
]


def fft_length(n: int) -> int:
    """The power of two >= ``max(2, n)`` used for linear (not circular) FFT convolutions."""
    return 1 << int(math.ceil(math.log2(max(2, n))))


def as_signal(x: Any, name: str) -> np.ndarray:
    """``x`` as a 1-D numeric array of >= 2 finite samples (:func:`wavegen.validate.as_1d_numeric`)."""
    return as_1d_numeric(x, name, min_size=2)


def positive_rate(rate_hz: Any) -> float:
    """``rate_hz`` as a finite float > 0 (:func:`wavegen.validate.positive`)."""
    return positive(rate_hz, "rate_hz", "Hz")


def nrmse(reference: np.ndarray, measured: np.ndarray) -> float:
    """``||measured - reference|| / ||reference||`` (root-mean-square error over the RMS of the
    reference; complex allowed). ``inf`` for an all-zero reference with a non-zero error."""
    d = np.asarray(reference)
    e = np.asarray(measured) - d
    den = float(np.sqrt(np.mean(np.abs(d) ** 2)))
    num = float(np.sqrt(np.mean(np.abs(e) ** 2)))
    if den == 0.0:
        return 0.0 if num == 0.0 else math.inf
    return num / den


def estimate_delay(reference: Any, measured: Any, rate_hz: float, *, max_delay_s: float | None = None) -> float:
    """Delay of ``measured`` behind ``reference``, s (sub-sample).

    Cross-correlation through the FFT (zero-padded: linear, not circular), the peak refined by a
    parabola through its neighbours, then by a least-squares fit of the cross-spectrum phase
    (weights ``|R Y|``, the frequencies holding 99.9 % of the cross-power) after removing the coarse
    delay (the phase-slope estimator is unbiased for sub-sample shifts, the parabola is not).

    Parameters
    ----------
    reference, measured : array_like, shape (n,)
        Real or complex, same length.
    rate_hz : float
        Sample rate, Hz.
    max_delay_s : float, optional
        Search the peak only within +-max_delay_s.
    """
    d = as_signal(reference, "reference")
    y = as_signal(measured, "measured")
    if d.shape != y.shape:
        raise ShapeError(f"reference and measured differ in length: {d.size} and {y.size}")
    rate = positive_rate(rate_hz)
    n = d.size
    nf = fft_length(2 * n)
    D = np.fft.fft(d, nf)
    Y = np.fft.fft(y, nf)
    xc = np.abs(np.fft.ifft(Y * np.conj(D)))
    lags = np.fft.fftfreq(nf, 1.0 / nf).astype(np.int64)  # 0, 1, ..., -1
    if max_delay_s is not None:
        xc = np.where(np.abs(lags) <= max_delay_s * rate + 1, xc, 0.0)
    k = int(np.argmax(xc))
    a, b, c = xc[(k - 1) % nf], xc[k], xc[(k + 1) % nf]
    den = a - 2 * b + c
    frac = 0.5 * (a - c) / den if den != 0 else 0.0
    coarse = float(lags[k]) + float(np.clip(frac, -0.5, 0.5))
    # phase refinement around the coarse estimate
    f = np.fft.fftfreq(nf, 1.0 / rate)
    cross = Y * np.conj(D) * np.exp(2j * np.pi * f * coarse / rate)
    w = np.abs(cross)
    order = np.argsort(w)[::-1]
    cum = np.cumsum(w[order])
    keep = order[: int(np.searchsorted(cum, 0.999 * cum[-1])) + 1]
    ph = np.angle(cross[keep])
    om = 2 * np.pi * f[keep]
    ww = w[keep]
    den2 = float(np.sum(ww * om * om))
    fine = -float(np.sum(ww * om * ph)) / den2 if den2 > 0 else 0.0
    if abs(fine * rate) > 1.0:  # the phase fit is only trusted for sub-sample corrections
        fine = 0.0
    return coarse / rate + fine


def shift(x: Any, delay_s: float, rate_hz: float) -> np.ndarray:
    """``x`` delayed by ``delay_s`` (may be negative and fractional), band-limited (FFT, zero-padded
    so nothing wraps around), same length."""
    a = as_signal(x, "x")
    rate = positive_rate(rate_hz)
    n = a.size
    nf = fft_length(2 * n)
    if np.iscomplexobj(a):
        f = np.fft.fftfreq(nf, 1.0 / rate)
        return np.fft.ifft(np.fft.fft(a, nf) * np.exp(-2j * np.pi * f * delay_s))[:n]
    f = np.fft.rfftfreq(nf, 1.0 / rate)
    spec = np.fft.rfft(a.astype(np.float64), nf) * np.exp(-2j * np.pi * f * delay_s)
    if nf % 2 == 0:
        spec[-1] = spec[-1].real  # the Nyquist bin of a real signal stays real
    return np.fft.irfft(spec, nf)[:n]


def align(reference: Any, measured: Any, rate_hz: float) -> tuple[np.ndarray, float, complex]:
    """``measured`` advanced by its delay and divided by its gain, with (delay_s, gain).

    The gain is the least-squares ``g`` of ``measured ~ g * reference`` after alignment (complex for
    complex signals, real otherwise)."""
    d = as_signal(reference, "reference")
    delay = estimate_delay(d, measured, rate_hz)
    y = shift(measured, -delay, rate_hz)
    den = complex(np.vdot(d, d))
    gain = complex(np.vdot(d, y)) / den if den != 0 else 1.0 + 0j
    if not np.iscomplexobj(d) and not np.iscomplexobj(y):
        gain = complex(gain.real, 0.0)
    g = gain if gain != 0 else 1.0
    return y / (g if np.iscomplexobj(y) or np.iscomplexobj(d) else g.real), delay, gain


@dataclass(frozen=True)
class ChannelMetrics:
    """How one captured channel compares with what was asked for.

    Attributes
    ----------
    nrmse : float
        RMS error over RMS of the reference, as captured (no alignment): what the hardware did.
    peak_error : float
        Largest absolute error, in the channel's unit.
    delay_s : float
        Delay of the capture behind the reference, s (sub-sample): the cross-correlation lag. For a
        dispersive chain (band limit, eddy currents) the group delay varies with frequency, so this
        lag depends on the waveform; the loop corrects the whole response, not just this number.
    gain : float
        Least-squares gain after removing the delay (magnitude for RF).
    phase_rad : float
        Phase of the complex gain (RF; 0 for gradients).
    nrmse_aligned : float
        NRMSE after removing delay and gain: the shape error alone.
    unit : str
        ``"T/m"`` or ``"T"``.
    """

    nrmse: float
    peak_error: float
    delay_s: float
    gain: float
    phase_rad: float
    nrmse_aligned: float
    unit: str = ""

    def __repr__(self) -> str:
        scale, u = (1e3, "mT/m") if self.unit == "T/m" else (1e6, "uT") if self.unit == "T" else (1.0, self.unit)
        return (
            f"ChannelMetrics(nrmse={self.nrmse:.3%}, peak_error={self.peak_error * scale:.4g} {u}, "
            f"delay={self.delay_s * 1e6:.3f} us, gain={self.gain:.4f}, nrmse_aligned={self.nrmse_aligned:.3%})"
        )


def compare(reference: Any, measured: Any, rate_hz: float, *, unit: str = "") -> ChannelMetrics:
    """Compare a captured channel with its reference (same grid): see :class:`ChannelMetrics`."""
    d = as_signal(reference, "reference")
    y = as_signal(measured, "measured")
    if d.shape != y.shape:
        raise ShapeError(f"reference and measured differ in length: {d.size} and {y.size}")
    raw = nrmse(d, y)
    peak = float(np.max(np.abs(y - d)))
    if not np.any(d):
        return ChannelMetrics(raw, peak, 0.0, 0.0, 0.0, raw, unit)
    ya, delay, gain = align(d, y, rate_hz)
    return ChannelMetrics(raw, peak, float(delay), float(abs(gain)), float(np.angle(gain)), nrmse(d, ya), unit)


def compare_long(
    reference: Callable[[int, int], np.ndarray],
    measured: Any,
    rate_hz: float,
    *,
    unit: str = "",
    chunk_samples: int = 1 << 20,
    fit_samples: int = 1 << 20,
    fit_candidates: int = 16,
    on_chunk: Callable[[int, np.ndarray, np.ndarray], None] | None = None,
) -> ChannelMetrics:
    """:func:`compare` for captures of any length, in one pass and memory bounded by ``chunk_samples``.

    ``reference(k0, k1)`` gives the reference samples ``[k0, k1)`` (rendered on demand); ``measured`` is
    any array-like that slices (a streamed capture). Delay and gain are fitted (:func:`align`) on the
    ``fit_samples`` window that holds the most reference energy among up to ``fit_candidates`` evenly
    spaced windows (every window when there are no more; the whole record when it is shorter, which
    gives :func:`compare`'s delay, gain, NRMSE and peak error exactly). NRMSE, peak error and the
    aligned NRMSE are then accumulated chunk by chunk, each chunk read and rendered once. The aligned
    error compares ``measured / gain`` with the reference delayed by linear interpolation between its
    samples: exact for piecewise-linear gradients whose corners fall on samples, and the measured noise
    is left as it is (a band-limited shift of the capture, as :func:`compare` does, agrees to ~1 % of
    the aligned NRMSE for band-limited signals). ``on_chunk(k0, reference_chunk, measured_chunk)`` sees
    every chunk as it goes (overviews of the capture without another pass).
    """
    rate = positive_rate(rate_hz)
    n = len(measured)
    if n < 2:
        raise ShapeError(f"measured must hold >= 2 samples, got {n}")
    if chunk_samples < 2 or fit_samples < 2 or fit_candidates < 1:
        raise RangeError(
            f"chunk_samples and fit_samples must be >= 2 and fit_candidates >= 1, got {chunk_samples}, "
            f"{fit_samples}, {fit_candidates}"
        )
    # 1. the fit window: of the candidate windows, the one of most reference energy
    starts = list(range(0, n, fit_samples))
    if len(starts) > fit_candidates:
        pick = np.linspace(0, len(starts) - 1, fit_candidates).round().astype(int)
        starts = [starts[i] for i in sorted(set(pick.tolist()))]
    best, best_e = 0, -1.0
    for k0 in starts:
        d = np.asarray(reference(k0, min(n, k0 + fit_samples)))
        e = float(np.vdot(d, d).real)
        if e > best_e:
            best, best_e = k0, e
    k1 = min(n, best + fit_samples)
    d_fit = np.asarray(reference(best, k1))
    y_fit = np.asarray(measured[best:k1])
    if best_e == 0.0:
        delay, gain = 0.0, 0.0 + 0j
    else:
        _, delay, gain = align(d_fit, y_fit, rate)
    del d_fit, y_fit
    g = gain if gain != 0 else 1.0 + 0j
    complex_data = None
    # 2. one pass: the reference of each chunk rendered with a margin, so that its delayed copy
    #    d(k - delay) = (1 - frac) d[k - whole] + frac d[k - whole - 1] reads across chunk edges
    shift_samples = delay * rate
    whole = int(math.floor(shift_samples))
    frac = shift_samples - whole
    lo_m, hi_m = max(0, whole + 1), max(0, -whole)
    sum_d = sum_e = sum_ea = 0.0
    peak = 0.0
    for k0 in range(0, n, chunk_samples):
        c1 = min(n, k0 + chunk_samples)
        a, b = k0 - lo_m, c1 + hi_m
        ext = np.asarray(reference(max(a, 0), min(b, n)))
        if a < 0 or b > n:
            ext = np.concatenate([np.zeros(max(0, -a), ext.dtype), ext, np.zeros(max(0, b - n), ext.dtype)])
        d = ext[lo_m : lo_m + (c1 - k0)]
        y = np.asarray(measured[k0:c1])
        if complex_data is None:
            complex_data = np.iscomplexobj(d) or np.iscomplexobj(y)
        err = y - d
        sum_d += float(np.vdot(d, d).real)
        sum_e += float(np.vdot(err, err).real)
        if np.iscomplexobj(err):
            peak = max(peak, float(np.max(np.abs(err))))
        else:
            peak = max(peak, float(err.max()), -float(err.min()))
        if best_e > 0.0:
            # g d(k0 + j - shift) from ext, whose sample i is reference sample a + i; the aligned error
            # y / g - d(. - shift) is (y - g d(. - shift)) / g
            i0 = k0 - whole - a  # index in ext of d[k0 + j - whole] at j = 0
            L = c1 - k0
            gg = g if complex_data else g.real
            gds = ext[i0 : i0 + L] * (gg * (1.0 - frac))
            if frac:
                gds += ext[i0 - 1 : i0 - 1 + L] * (gg * frac)
            np.subtract(y, gds, out=gds)
            sum_ea += float(np.vdot(gds, gds).real) / abs(gg) ** 2
        if on_chunk is not None:
            on_chunk(k0, d, y)
    raw = math.sqrt(sum_e / sum_d) if sum_d > 0 else (0.0 if sum_e == 0 else math.inf)
    if best_e == 0.0:
        return ChannelMetrics(raw, peak, 0.0, 0.0, 0.0, raw, unit)
    aligned = math.sqrt(sum_ea / sum_d)
    return ChannelMetrics(raw, peak, float(delay), float(abs(gain)), float(np.angle(gain)), aligned, unit)
