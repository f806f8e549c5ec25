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
from wavegen.safety.gradient import exceeds
from wavegen.safety.hardware import AcousticBand
from wavegen.safety.report import RuleResult
from wavegen.safety.waveforms import Waveforms

__all__ = ["BandPeak", "BandPeakStream", "band_peaks", "check_acoustic", "acoustic_result"]


@dataclass(frozen=True)
class BandPeak:
    """Largest spectral amplitude found inside one band on one axis."""

    band: AcousticBand
    axis: str
    amplitude_t_per_m: float
    frequency_hz: float
    time_s: float


class BandPeakStream:
    """:func:`band_peaks` on a gradient stream fed chunk by chunk (the same frames in the same batches,
    so the same bits), holding only the samples the next batch of frames needs.

    Parameters
    ----------
    n_total
        Length of the whole stream (samples per axis).
    dt_s
        Raster, s.
    axes
        Axis names (one column of each chunk per axis).
    bands, window_s, hop_s, zero_fill, chunk_frames, t0_s
        As :func:`band_peaks`.
    """

    def __init__(
        self,
        n_total: int,
        dt_s: float,
        axes: tuple[str, ...],
        bands: tuple[AcousticBand, ...],
        *,
        window_s: float = 0.05,
        hop_s: float = 0.025,
        zero_fill: int = 2,
        chunk_frames: int = 128,
        t0_s: float = 0.0,
    ) -> None:
        if not (math.isfinite(window_s) and window_s > 0 and math.isfinite(hop_s) and hop_s > 0):
            raise RangeError(f"window_s = {window_s!r} s and hop_s = {hop_s!r} s must be finite and > 0 s")
        if int(zero_fill) < 1:
            raise RangeError(f"zero_fill = {zero_fill!r} must be >= 1")
        self.n = n = int(n_total)
        self.dt = dt = float(dt_s)
        self.axes = tuple(axes)
        self.bands = tuple(bands)
        self.t0 = float(t0_s)
        self.n_win = n_win = max(2, int(round(window_s / dt)))
        hop = max(1, int(round(hop_s / dt)))
        if n <= n_win:
            starts = np.array([0])
        else:
            starts = np.arange(0, n - n_win + 1, hop)
            if starts[-1] + n_win < n:
                starts = np.append(starts, n - n_win)
        self.starts = starts
        self.chunk_frames = int(chunk_frames)
        self.nfft = n_win * int(zero_fill)
        self.freqs = np.fft.rfftfreq(self.nfft, dt)
        self.win = np.hanning(n_win + 2)[1:-1]
        self.scale = 2.0 / self.win.sum()
        masks = [(self.freqs >= b.low_hz) & (self.freqs <= b.high_hz) for b in self.bands]
        for bd, mk in zip(self.bands, masks, strict=True):
            if not mk.any():  # band narrower than the frequency grid: take the nearest bin
                mk[int(np.argmin(np.abs(self.freqs - bd.frequency_hz)))] = True
        self.masks = masks
        self.best = [[(-1.0, 0.0, 0.0) for _ in self.bands] for _ in self.axes]
        self.buf = np.zeros((0, len(self.axes)))
        self.buf_start = 0  # stream index of buf[0]
        self.pos = 0
        self.c0 = 0  # next batch of frames

    def feed(self, g: np.ndarray) -> None:
        """The next samples, shape ``(m, n_axes)``."""
        g = np.asarray(g, dtype=np.float64)
        if g.ndim == 1:
            g = g[:, None]
        self.buf = np.concatenate((self.buf, g)) if self.buf.size else g.copy()
        self.pos += g.shape[0]
        self._run(final=False)

    def _run(self, *, final: bool) -> None:
        n, n_win, st_all = self.n, self.n_win, self.starts
        while self.c0 < st_all.size and self.bands:
            st = st_all[self.c0 : self.c0 + self.chunk_frames]
            need = min(n, int(st[-1]) + n_win)
            if self.pos < need and not final:
                return
            for j in range(len(self.axes)):
                if n <= n_win:
                    frames = np.zeros((1, n_win))
                    frames[0, :n] = self.buf[:n, j]
                else:
                    frames = self.buf[:, j][(st - self.buf_start)[:, None] + np.arange(n_win)[None, :]]
                frames = frames - frames.mean(axis=1, keepdims=True)
                frames *= self.win
                spec = np.abs(np.fft.rfft(frames, n=self.nfft, axis=1)) * self.scale
                for b, m in enumerate(self.masks):
                    sub = spec[:, m]
                    fi, ki = np.unravel_index(int(np.argmax(sub)), sub.shape)
                    val = float(sub[fi, ki])
                    if val > self.best[j][b][0]:
                        t_c = self.t0 + (int(st[fi]) + min(n, n_win) / 2) * self.dt
                        self.best[j][b] = (val, float(self.freqs[m][ki]), t_c)
            self.c0 += st.size
            if self.c0 < st_all.size:  # drop what no later frame needs
                drop = int(st_all[self.c0]) - self.buf_start
                self.buf = self.buf[drop:]
                self.buf_start += drop

    def result(self) -> tuple[BandPeak, ...]:
        """One :class:`BandPeak` per (axis, band), as :func:`band_peaks`."""
        self._run(final=True)
        out: list[BandPeak] = []
        for j, axis in enumerate(self.axes):
            for b, band in enumerate(self.bands):
                val, f, t_c = self.best[j][b]
                out.append(BandPeak(band, axis, val, f, t_c))
        return tuple(out)


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
    st = BandPeakStream(wf.n_grad, wf.grad_raster_s, wf.axes, bands, window_s=window_s, hop_s=hop_s,
                        zero_fill=zero_fill, chunk_frames=chunk_frames, t0_s=wf.t0_s)
    st.feed(wf.grad_t_per_m)
    return st.result()


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
    return acoustic_result(peaks, threshold_t_per_m, window_s)


def acoustic_result(
    peaks: tuple[BandPeak, ...], threshold_t_per_m: float | None, window_s: float = 0.05
) -> tuple[RuleResult, ...]:
    """The ``acoustic_resonance`` rule from the band peaks."""
    if threshold_t_per_m is not None and not (math.isfinite(threshold_t_per_m) and threshold_t_per_m > 0):
        raise RangeError(f"acoustic threshold {threshold_t_per_m!r} T/m must be a finite number > 0 T/m")
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
            "fail" if exceeds(worst.amplitude_t_per_m, threshold_t_per_m) else "pass",
            worst.amplitude_t_per_m,
            threshold_t_per_m,
            "T/m",
            worst.axis,
            worst.time_s,
            note=f"{band}; {window_s * 1e3:g} ms Hann windows; time = centre of the worst window",
        ),
    )
