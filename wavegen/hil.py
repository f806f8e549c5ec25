"""Hardware in the loop: align, compare, estimate the system response (GIRF), pre-compensate, iterate.

The gradient chain of a bench (amplifier, coil, eddy currents, monitor) is treated as a linear
time-invariant system per axis, ``Y(f) = H(f) X(f)`` (Vannesjo et al., MRM 69:583 (2013);
safety_physics.md section 4):

- :func:`estimate_delay` / :func:`align` / :func:`compare`: sub-sample delay by cross-correlation
  (FFT, parabolic peak interpolation), refined by a weighted fit of the cross-spectrum phase; gain
  by least squares; NRMSE, peak error.
- :func:`test_inputs`: triangles of several widths (their spectral zeros fall at different
  frequencies, so the sum of their power spectra has no zero in band) and a linear chirp, within a
  given amplitude and slew.
- :func:`estimate_girf`: ``H(f) = sum_k O_k I_k* / (sum_k |I_k|^2 + lambda)`` (least squares over
  records with Tikhonov regularisation; GIRF toolbox ``ComputeGirf``).
- :func:`precompensate`: the regularised inverse ``X = D H* / (|H|^2 + lambda(f))`` inside a raised-cosine
  band, the target itself outside it (Vannesjo et al., MRM 78:1607 (2017)).
- :func:`ilc_update`: iterative learning control ``x_{k+1} = x_k + mu F^-1{W H*/(|H|^2+lambda) (D - Y_k)}``;
  :func:`run_loop` iterates measure -> update until a target NRMSE, checking every candidate for
  safety before it plays (the caller's ``check``); an unsafe candidate is clipped to the limits
  (:func:`slew_limit`) and checked again, shrunk (the step halved until safe) or refused with the
  :class:`~wavegen.errors.SafetyError`.
- RF (:mod:`wavegen.hil_rf`): AM/AM and AM/PM from a slow amplitude ramp, :class:`RfCurve`
  predistortion (safety_physics.md 4.4).

Alignment and comparison live in :mod:`wavegen.hil_align`, RF in :mod:`wavegen.hil_rf`; everything is
re-exported here. All functions take and return NumPy arrays on a uniform grid of ``rate_hz`` (SI
units); no I/O. The bench side (playing, capturing) is :meth:`wavegen.bench.Bench.hil`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from wavegen.errors import RangeError, SafetyError, ShapeError
from wavegen.hil_align import ChannelMetrics, _as_1d, _nfft, _rate, align, compare, estimate_delay, nrmse, shift
from wavegen.hil_rf import RfCurve, estimate_rf_curve, rf_ramp

__all__ = [
    "ChannelMetrics",
    "Girf",
    "LoopStep",
    "LoopOutcome",
    "estimate_delay",
    "shift",
    "align",
    "compare",
    "nrmse",
    "test_inputs",
    "estimate_girf",
    "precompensate",
    "ilc_update",
    "run_loop",
    "slew_limit",
    "RfCurve",
    "rf_ramp",
    "estimate_rf_curve",
]

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
    rate = _rate(rate_hz)
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
    (GIRF toolbox ``ComputeGirf``; safety_physics.md 4.1). Records must have equal lengths and end in
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
    ins = [_as_1d(x, "input") for x in inputs]
    outs = [_as_1d(y, "output") for y in outputs]
    if not ins or len(ins) != len(outs):
        raise ShapeError(f"need as many outputs as inputs (>= 1), got {len(ins)} and {len(outs)}")
    n = ins[0].size
    if any(x.size != n for x in ins + outs):
        raise ShapeError("all test records must have the same length")
    rate = _rate(rate_hz)
    if not (math.isfinite(regularization) and regularization >= 0):
        raise RangeError(f"regularization = {regularization!r} must be >= 0")
    nf = _nfft(2 * n)
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


def _inverse_filter(girf: Girf, f: np.ndarray, regularization: float, band_hz: float) -> np.ndarray:
    H = girf.at(f)
    h0 = abs(girf.response[0]) or 1.0
    # frequency-shaped Tikhonov term: no bias at DC (gain and slow eddy currents are inverted exactly),
    # growing as (f / f_6dB)^2 where |H| falls and the estimate is poorer
    lam = regularization * h0 * h0 * (f / girf.bandwidth_hz()) ** 2
    inv = np.conj(H) / (np.abs(H) ** 2 + lam)
    return _band_window(f, band_hz) * inv


def precompensate(
    target: Any, girf: Girf, *, regularization: float = 1e-2, band_hz: float | None = None
) -> np.ndarray:
    """Drive that makes the system described by ``girf`` play ``target`` (open loop).

    ``X = W H* / (|H|^2 + lambda |H(0)|^2 (f / f_6dB)^2) D + (1 - W) D`` with ``W`` a raised-cosine band window
    (1 below ``0.8 band_hz``, 0 above ``band_hz``); outside the band the target passes unchanged.
    Default band: 2x the GIRF's -6 dB frequency, at most 0.4x the rate. Re-check the result against the
    safety limits before playing it: inversion raises the peak slew (safety_physics.md 4.3).
    """
    d = _as_1d(target, "target")
    rate = girf.rate_hz
    band = min(2 * girf.bandwidth_hz(), 0.4 * rate) if band_hz is None else float(band_hz)
    n = d.size
    nf = _nfft(2 * n)
    f = np.fft.rfftfreq(nf, 1.0 / rate)
    F = _inverse_filter(girf, f, regularization, band)
    D = np.fft.rfft(d, nf)
    X = F * D + D * (1 - _band_window(f, band))
    return np.fft.irfft(X, nf)[:n]


def _band_window(f: np.ndarray, band_hz: float) -> np.ndarray:
    af = np.abs(f)
    lo = 0.8 * band_hz
    return np.where(af <= lo, 1.0, np.where(af >= band_hz, 0.0, 0.5 + 0.5 * np.cos(np.pi * (af - lo) / (band_hz - lo))))


def ilc_update(
    drive: Any,
    target: Any,
    measured: Any,
    girf: Girf,
    *,
    gain: float = 1.0,
    regularization: float = 1e-2,
    band_hz: float | None = None,
) -> np.ndarray:
    """One iterative-learning-control step: ``x + gain F^-1{W H*/(|H|^2 + lambda) (D - Y)}``.

    All three arrays on one grid of ``girf.rate_hz`` (same length)."""
    x = _as_1d(drive, "drive")
    d = _as_1d(target, "target")
    y = _as_1d(measured, "measured")
    if not x.shape == d.shape == y.shape:
        raise ShapeError(f"drive, target and measured lengths differ: {x.size}, {d.size}, {y.size}")
    rate = girf.rate_hz
    band = min(2 * girf.bandwidth_hz(), 0.4 * rate) if band_hz is None else float(band_hz)
    n = x.size
    nf = _nfft(2 * n)
    f = np.fft.rfftfreq(nf, 1.0 / rate)
    F = _inverse_filter(girf, f, regularization, band)
    step = np.fft.irfft(F * np.fft.rfft(d - y, nf), nf)[:n]
    return x + gain * step


def slew_limit(x: Any, max_slew: float, max_amplitude: float, rate_hz: float) -> np.ndarray:
    """The drive nearest ``x`` that a slew- and amplitude-limited amplifier would accept.

    Amplitude clipped to ``+-max_amplitude``, then a slew-rate limiter run forwards and backwards
    (each step at most ``max_slew / rate_hz``), the two averaged: both constraints are convex, so the
    average satisfies them too, and the forward lag and backward lead cancel to first order.
    """
    a = _as_1d(x, "x").astype(np.float64)
    step = float(max_slew) / _rate(rate_hz)
    if not (step > 0 and max_amplitude > 0):
        raise RangeError(f"max_slew = {max_slew!r} and max_amplitude = {max_amplitude!r} must be > 0")
    a = np.clip(a, -max_amplitude, max_amplitude)

    def run(v: list[float]) -> list[float]:
        out = [0.0] * len(v)
        prev = 0.0  # the amplifier starts at rest
        for i, t in enumerate(v):
            prev = prev + min(step, max(-step, t - prev))
            out[i] = prev
        return out

    fwd = np.array(run(a.tolist()))
    bwd = np.array(run(a[::-1].tolist()))[::-1]
    return 0.5 * (fwd + bwd)


# -- the loop -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoopStep:
    """One iteration: the NRMSE per channel measured with the drive of this step, and the step size
    used to reach that drive (1.0 = the full ILC update; less if it was shrunk to stay safe)."""

    nrmse: dict[str, float]
    step: float


@dataclass
class LoopOutcome:
    """What :func:`run_loop` did: steps (index 0 = the uncorrected drive), the best drive, why it stopped."""

    steps: list[LoopStep] = field(default_factory=list)
    best_drive: dict[str, np.ndarray] = field(default_factory=dict)
    best_measured: dict[str, np.ndarray] = field(default_factory=dict)
    best_index: int = 0
    stopped: str = ""


def run_loop(
    targets: Mapping[str, np.ndarray],
    girfs: Mapping[str, Girf],
    measure: Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]],
    check: Callable[[dict[str, np.ndarray]], None],
    *,
    target_nrmse: float = 0.01,
    max_iterations: int = 5,
    on_unsafe: str = "shrink",
    clip: Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]] | None = None,
    min_step: float = 1.0 / 16,
    regularization: float = 1e-2,
    band_hz: float | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> LoopOutcome:
    """Iterate measure -> ILC update until every channel's NRMSE <= ``target_nrmse``.

    Parameters
    ----------
    targets
        Desired waveform per channel (one grid, ``girfs[ch].rate_hz``).
    girfs
        The estimated response per channel.
    measure
        Plays a drive ``{channel: array}`` and returns the captured ``{channel: array}`` on the same grid.
        Called only with drives that ``check`` accepted.
    check
        Raises :class:`~wavegen.errors.SafetyError` if a drive must not play (amplitude, slew, PNS...).
    target_nrmse, max_iterations
        Stop when reached / after this many corrections (plays = corrections + 1).
    on_unsafe
        ``"clip"``: pass an unsafe candidate through ``clip`` (e.g. :func:`slew_limit`: the closest
        drive within slew and amplitude) and check again, halving the step if it still fails;
        ``"shrink"``: halve the update step until the candidate passes (stop when it falls below
        ``min_step``, keeping the best safe drive); ``"stop"``: raise the SafetyError at once.
    clip
        Required for ``on_unsafe="clip"``.
    """
    if on_unsafe not in ("clip", "shrink", "stop"):
        raise RangeError(f"on_unsafe must be 'clip', 'shrink' or 'stop', got {on_unsafe!r}")
    if on_unsafe == "clip" and clip is None:
        raise RangeError("on_unsafe='clip' needs a clip function (e.g. wavegen.hil.slew_limit per channel)")
    if isinstance(max_iterations, bool) or not isinstance(max_iterations, int) or max_iterations < 0:
        raise RangeError(f"max_iterations = {max_iterations!r} must be an integer >= 0")
    chans = list(targets)
    drive = {c: np.asarray(targets[c], dtype=np.float64).copy() for c in chans}
    out = LoopOutcome()
    total = max_iterations + 1

    def play(d: dict[str, np.ndarray], step: float) -> dict[str, np.ndarray]:
        check(d)  # never measure what the safety check refuses
        y = measure(d)
        e = {c: nrmse(targets[c], y[c]) for c in chans}
        out.steps.append(LoopStep(e, step))
        return y

    y = play(drive, 0.0)
    out.best_drive, out.best_measured, out.best_index = drive, y, 0
    best = max(out.steps[0].nrmse.values())
    if progress:
        progress("hil", 1, total)
    for it in range(1, max_iterations + 1):
        if max(out.steps[-1].nrmse.values()) <= target_nrmse:
            out.stopped = f"target NRMSE {target_nrmse:g} reached"
            break
        full = {
            c: ilc_update(drive[c], targets[c], y[c], girfs[c], regularization=regularization, band_hz=band_hz)
            - drive[c]
            for c in chans
        }
        step = 1.0
        while True:
            cand = {c: drive[c] + step * full[c] for c in chans}
            try:
                try:
                    check(cand)
                except SafetyError as exc:
                    if on_unsafe != "clip" or clip is None:
                        raise
                    logger.info("HIL iteration %d: correction unsafe (%s); clipped to the limits", it, exc)
                    cand = clip(cand)
                    check(cand)
                break
            except SafetyError as exc:
                if on_unsafe == "stop":
                    logger.error("HIL iteration %d: corrected drive is unsafe (%s); stopping", it, exc)
                    raise
                step /= 2
                logger.warning("HIL iteration %d: correction unsafe (%s); step halved to %g", it, exc, step)
                if step < min_step:
                    out.stopped = f"correction unsafe at every step >= {min_step:g} (last: {exc})"
                    break
        if out.stopped:
            break
        drive = cand
        y = play(drive, step)
        worst = max(out.steps[-1].nrmse.values())
        if worst < best:
            best = worst
            out.best_drive, out.best_measured, out.best_index = drive, y, len(out.steps) - 1
        if progress:
            progress("hil", it + 1, total)
    else:
        if max(out.steps[-1].nrmse.values()) <= target_nrmse:
            out.stopped = f"target NRMSE {target_nrmse:g} reached"
        else:
            out.stopped = f"{max_iterations} iterations done"
    return out
