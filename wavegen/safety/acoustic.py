"""Acoustic (mechanical) resonances of the gradient coil: forbidden bands checked on the spectrum.

Peers only *draw* the bands over a spectrogram (pypulseq ``calculate_gradient_spectrum``, MATLAB
``gradSpectrum``; docs/references/safety.md section 3). Here each physical axis is cut into windows
(default 50 ms, hop 25 ms), each window's mean is removed and a Hann window applied, and the amplitude
spectrum is scaled so that a sinusoid of amplitude A (T/m) at a bin centre reads A. The largest amplitude
inside any forbidden band ``[f - bw/2, f + bw/2]`` is compared to a threshold in T/m, which must come from
the vendor or the user (no public standard gives one).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from wavegen.errors import RangeError
from wavegen.safety.gradient import _exceeds
from wavegen.safety.hardware import AcousticBand
from wavegen.safety.report import RuleResult
from wavegen.safety.waveforms import Waveforms

__all__ = ["BandPeak", "band_peaks", "check_acoustic"]


@dataclass(frozen=True)
class BandPeak:
    """Largest spectral amplitude found inside one band on one axis."""

    band: AcousticBand
    axis: str
    amplitude_t_per_m: float
    frequency_hz: float
    time_s: float


def band_peaks(
    wf: Waveforms,
    bands: tuple[AcousticBand, ...],
    *,
    window_s: float = 0.05,
    hop_s: float = 0.025,
    zero_fill: int = 2,
    chunk_frames: int = 128,
) -> tuple[BandPeak, ...]:
    """Largest windowed amplitude inside each band, per axis.

    Parameters
    ----------
    wf
        Waveforms (gradients are used).
    bands
        Forbidden bands.
    window_s, hop_s
        Analysis window and hop, s (a waveform shorter than the window is one zero-filled window).
    zero_fill
        FFT length as a multiple of the window (finer frequency grid).
    chunk_frames
        Frames transformed at once (memory bound).

    Returns
    -------
    tuple of BandPeak
        One per (band, axis); ``time_s`` is the centre of the worst window.
    """
    if not (math.isfinite(window_s) and window_s > 0 and math.isfinite(hop_s) and hop_s > 0):
        raise RangeError(f"window_s = {window_s!r} s and hop_s = {hop_s!r} s must be finite and > 0 s")
    if int(zero_fill) < 1:
        raise RangeError(f"zero_fill = {zero_fill!r} must be >= 1")
    if wf.n_grad == 0 or not bands:
        return ()
    dt = wf.grad_raster_s
    n_win = max(2, int(round(window_s / dt)))
    hop = max(1, int(round(hop_s / dt)))
    n = wf.n_grad
    if n <= n_win:
        starts = np.array([0])
    else:
        starts = np.arange(0, n - n_win + 1, hop)
        if starts[-1] + n_win < n:
            starts = np.append(starts, n - n_win)
    nfft = n_win * int(zero_fill)
    freqs = np.fft.rfftfreq(nfft, dt)
    win = np.hanning(n_win + 2)[1:-1]
    scale = 2.0 / win.sum()
    masks = [(freqs >= b.low_hz) & (freqs <= b.high_hz) for b in bands]
    for bd, mk in zip(bands, masks, strict=True):
        if not mk.any():  # band narrower than the frequency grid: take the nearest bin
            mk[int(np.argmin(np.abs(freqs - bd.frequency_hz)))] = True
    out: list[BandPeak] = []
    for j, axis in enumerate(wf.axes):
        g = wf.grad_t_per_m[:, j]
        best = [(-1.0, 0.0, 0.0) for _ in bands]
        for c0 in range(0, starts.size, chunk_frames):
            st = starts[c0 : c0 + chunk_frames]
            if n <= n_win:
                frames = np.zeros((1, n_win))
                frames[0, :n] = g
            else:
                frames = g[st[:, None] + np.arange(n_win)[None, :]]
            frames = frames - frames.mean(axis=1, keepdims=True)
            frames *= win
            spec = np.abs(np.fft.rfft(frames, n=nfft, axis=1)) * scale
            for b, m in enumerate(masks):
                sub = spec[:, m]
                fi, ki = np.unravel_index(int(np.argmax(sub)), sub.shape)
                val = float(sub[fi, ki])
                if val > best[b][0]:
                    t_c = wf.t0_s + (int(st[fi]) + min(n, n_win) / 2) * dt
                    best[b] = (val, float(freqs[m][ki]), t_c)
        for b, band in enumerate(bands):
            val, f, t_c = best[b]
            out.append(BandPeak(band, axis, val, f, t_c))
    return tuple(out)


def check_acoustic(
    wf: Waveforms,
    bands: tuple[AcousticBand, ...],
    threshold_t_per_m: float | None,
    *,
    window_s: float = 0.05,
    hop_s: float = 0.025,
) -> tuple[RuleResult, ...]:
    """Rule ``acoustic_resonance``: largest band amplitude vs ``threshold_t_per_m``.

    Verdict ``"unverified"`` when no threshold is given (the band amplitudes are still computed).
    """
    if not bands or wf.n_grad == 0:
        return ()
    if threshold_t_per_m is not None and not (math.isfinite(threshold_t_per_m) and threshold_t_per_m > 0):
        raise RangeError(f"acoustic threshold {threshold_t_per_m!r} T/m must be a finite number > 0 T/m")
    peaks = band_peaks(wf, bands, window_s=window_s, hop_s=hop_s)
    worst = max(peaks, key=lambda p: p.amplitude_t_per_m)
    band = f"band {worst.band.low_hz:g}-{worst.band.high_hz:g} Hz, peak at {worst.frequency_hz:.1f} Hz"
    if threshold_t_per_m is None:
        return (
            RuleResult(
                "acoustic_resonance",
                "gradient spectral amplitude in a forbidden acoustic band",
                "unverified",
                worst.amplitude_t_per_m,
                float("nan"),
                "T/m",
                worst.axis,
                worst.time_s,
                note=f"{band}; no threshold given (vendor or user must set acoustic_threshold_t_per_m)",
            ),
        )
    return (
        RuleResult(
            "acoustic_resonance",
            "gradient spectral amplitude in a forbidden acoustic band",
            "fail" if _exceeds(worst.amplitude_t_per_m, threshold_t_per_m) else "pass",
            worst.amplitude_t_per_m,
            threshold_t_per_m,
            "T/m",
            worst.axis,
            worst.time_s,
            note=f"{band}; {window_s * 1e3:g} ms Hann windows; time = centre of the worst window",
        ),
    )
