"""Iterative learning control: correct a drive from measurements until the output matches the target.

:func:`ilc_update` is ``x_{k+1} = x_k + mu F^-1{W H*/(|H|^2+lambda) (D - Y_k)}`` with the GIRF ``H``
(:mod:`wavegen.hil.girf`); :func:`run_loop` iterates measure -> update until a target NRMSE, checking every
candidate for safety before it plays (the caller's ``check``); an unsafe candidate is clipped to the
limits (:func:`slew_limit`) and checked again, shrunk (the step halved until safe) or refused with the
:class:`~wavegen.errors.SafetyError`. Pure NumPy; no I/O.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from wavegen.errors import RangeError, SafetyError, ShapeError
from wavegen.hil.align import as_signal, fft_length, nrmse, positive_rate
from wavegen.hil.girf import Girf, inverse_filter

__all__ = ["ilc_update", "slew_limit", "LoopStep", "LoopOutcome", "run_loop"]

logger = logging.getLogger(__name__)


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
    x = as_signal(drive, "drive")
    d = as_signal(target, "target")
    y = as_signal(measured, "measured")
    if not x.shape == d.shape == y.shape:
        raise ShapeError(f"drive, target and measured lengths differ: {x.size}, {d.size}, {y.size}")
    rate = girf.rate_hz
    band = min(2 * girf.bandwidth_hz(), 0.4 * rate) if band_hz is None else float(band_hz)
    n = x.size
    nf = fft_length(2 * n)
    f = np.fft.rfftfreq(nf, 1.0 / rate)
    F = inverse_filter(girf, f, regularization, band)
    step = np.fft.irfft(F * np.fft.rfft(d - y, nf), nf)[:n]
    return x + gain * step


def slew_limit(x: Any, max_slew: float, max_amplitude: float, rate_hz: float) -> np.ndarray:
    """The drive nearest ``x`` that a slew- and amplitude-limited amplifier would accept.

    Amplitude clipped to ``+-max_amplitude``, then a slew-rate limiter run forwards and backwards
    (each step at most ``max_slew / rate_hz``), the two averaged: both constraints are convex, so the
    average satisfies them too, and the forward lag and backward lead cancel to first order.
    """
    a = as_signal(x, "x").astype(np.float64)
    step = float(max_slew) / positive_rate(rate_hz)
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
    clipped = 0  # iterations whose correction was clipped to the limits (one warning at the end)
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
                    logger.debug("HIL iteration %d: correction unsafe (%s); clipped to the limits", it, exc)
                    clipped += 1
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
        before = max(out.steps[-1].nrmse.values())
        y = play(drive, step)
        worst = max(out.steps[-1].nrmse.values())
        if worst < best:
            best = worst
            out.best_drive, out.best_measured, out.best_index = drive, y, len(out.steps) - 1
        if progress:
            progress("hil", it + 1, total)
        if worst > before:  # the correction made it worse: more of the same will not help
            out.stopped = (
                f"the error rose at iteration {it} ({before:.3%} -> {worst:.3%}); kept the best drive "
                f"(iteration {out.best_index})"
            )
            break
    else:
        if max(out.steps[-1].nrmse.values()) <= target_nrmse:
            out.stopped = f"target NRMSE {target_nrmse:g} reached"
        else:
            out.stopped = f"{max_iterations} iteration{'' if max_iterations == 1 else 's'} done"
    if clipped:
        logger.warning(
            "HIL: %d of %d corrections were beyond the limits and were clipped to them (design with slew "
            "headroom for the loop)", clipped, len(out.steps) - 1,
        )
    return out
