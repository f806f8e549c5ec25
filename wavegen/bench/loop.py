"""The gradient loop on a bench: play the GIRF test inputs, then iterate measure -> ILC update.

Called by :meth:`wavegen.bench.Bench.hil` and :meth:`~wavegen.bench.Bench.estimate_girf`; it uses only
the bench's public runner (:meth:`~wavegen.bench.Bench.run`, :meth:`~wavegen.bench.Bench.clear_program`,
:meth:`~wavegen.bench.Bench.blank_program`) and the pure loop in :mod:`wavegen.hil`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from wavegen import hil as _hil
from wavegen.bench.channels import GRADIENT_CHANNELS
from wavegen.bench.results import HilResult, Progress, notify
from wavegen.errors import ConfigError, RangeError, SafetyError

if TYPE_CHECKING:
    from wavegen.bench.plan import Window
    from wavegen.bench.session import Bench
    from wavegen.sequence import Sequence

__all__ = ["estimate_girf", "hil", "hil_channels", "merge_results", "safety_only"]

logger = logging.getLogger(__name__)


def estimate_girf(
    bench: Bench,
    channels: tuple[str, ...] = GRADIENT_CHANNELS,
    *,
    regularization: float = 1e-6,
    progress: Progress = None,
) -> dict[str, _hil.Girf]:
    """Play the test inputs (:func:`wavegen.hil.test_inputs`: triangles of several widths and a
    chirp, at half the amplitude and slew limits) on ``channels`` together and estimate each
    channel's GIRF by regularised deconvolution."""
    chans = hil_channels(bench, channels)
    rate = bench.config.instruments[bench.channel_map.output(chans[0]).instrument].rate_hz
    lim = bench.limits
    records = _hil.test_inputs(
        rate, max_amplitude=0.5 * lim.max_grad_t_per_m, max_slew=0.5 * lim.max_slew_t_per_m_per_s,
        tail_s=max(bench.config.tail_s, 1e-3),
    )
    outs: dict[str, list[np.ndarray]] = {c: [] for c in chans}
    for k, rec in enumerate(records):
        blank = bench.blank_program(rec.size)
        try:  # all axes at once (each axis's own response: cross-terms are not modelled)
            together = blank.with_drive({c: rec for c in chans})
            _, cap = bench.run(together, override=None, progress=None, capture=True)
            for c in chans:
                outs[c].append(cap[c])
        except SafetyError as exc:  # e.g. PNS with a patient: one axis at a time
            logger.info("GIRF test input on %s together refused (%s); one axis at a time", chans, exc)
            for c in chans:
                _, cap = bench.run(blank.with_drive({c: rec}), override=None, progress=None, capture=True)
                outs[c].append(cap[c])
        notify(progress, "girf", k + 1, len(records))
    return {c: _hil.estimate_girf(records, outs[c], rate, regularization=regularization) for c in chans}

def hil_channels(bench: Bench, channels: tuple[str, ...]) -> list[str]:
    chans = [c for c in channels if c in bench.channel_map.outputs]
    for c in channels:
        if c not in GRADIENT_CHANNELS:
            raise ConfigError(f"hil: {c!r} is not a gradient channel (gx, gy, gz)")
        if c not in bench.channel_map.captures:
            raise ConfigError(f"hil: channel {c!r} has no [capture.{c}] entry; the loop needs a measurement")
    if not chans:
        raise ConfigError(f"hil: none of {channels} is an output of this bench")
    for c in chans:
        oc = bench.channel_map.output(c)
        cc = bench.channel_map.captures[c]
        r_out = bench.config.instruments[oc.instrument].rate_hz
        r_cap = bench.config.instruments[cc.instrument].rate_hz
        if r_out != r_cap:
            raise ConfigError(f"hil: {c} plays at {r_out} Hz but is captured at {r_cap} Hz; use one rate")
    return chans

def hil(
    bench: Bench,
    seq: Sequence,
    *,
    channels: tuple[str, ...] = GRADIENT_CHANNELS,
    target_nrmse: float = 0.01,
    max_iterations: int = 5,
    progress: Progress = None,
    on_unsafe: str = "clip",
    girf: dict[str, _hil.Girf] | None = None,
    regularization: float = 1e-2,
    band_hz: float | None = None,
    window: Window | None = None,
) -> HilResult:
    """Hardware in the loop: estimate the GIRF, then iterate measure -> ILC update until every
    channel's NRMSE <= ``target_nrmse`` or ``max_iterations`` corrections.

    Every drive is cleared by the safety interlock before it plays (the uncorrected one included).
    An unsafe correction: ``on_unsafe="clip"`` (default) passes it through a slew and amplitude
    limiter (:func:`wavegen.hil.slew_limit`, 0.5 % inside the limits) and checks it again, then
    halves the step if it still fails (PNS, say); ``"shrink"`` only halves the step (stopping below
    1/16); ``"stop"`` raises the :class:`SafetyError`. Channels not in ``channels`` (RF, ADC) play as
    rendered. ``"rf"`` in ``channels`` runs :meth:`hil_rf` as well (after the gradients); the two
    results are merged (histories padded with their last value).
    """
    if "rf" in channels:
        grads = tuple(c for c in channels if c != "rf")
        rf = bench.hil_rf(
            seq, target_nrmse=target_nrmse, max_iterations=max_iterations, progress=progress, window=window
        )
        if not grads:
            return rf
        g = hil(
            bench,
            seq, channels=grads, target_nrmse=target_nrmse, max_iterations=max_iterations, progress=progress,
            on_unsafe=on_unsafe, girf=girf, regularization=regularization, band_hz=band_hz, window=window,
        )
        return merge_results(g, rf)
    chans = hil_channels(bench, channels)
    bench.check(seq).raise_if_unsafe()
    if not bench.plan(seq, window=window).fits_one_waveform:
        raise ConfigError(
            "hil corrects a program that each instrument holds as one waveform; this one streams or sequences: "
            "run the loop on a window of it (--window / --blocks, or window=Window.of_blocks(...))"
        )
    program = bench.render(seq, window=window)
    rate = program.rate_of(chans[0])
    if girf is None:
        girf = estimate_girf(bench, tuple(chans), progress=progress)
    targets = {c: program.physical[c] for c in chans}

    def check(drive: dict[str, np.ndarray]) -> None:
        p = program.with_drive(drive)
        bench.clear_program(p)
        for c, x in drive.items():
            bench.channel_map.to_volts(c, x)

    def measure(drive: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        _, cap = bench.run(program.with_drive(drive), override=None, progress=None, capture=True)
        return {c: cap[c] for c in chans}

    max_slew = 0.995 * bench.limits.max_slew_t_per_m_per_s
    amp = {c: 0.995 * min(bench.limits.max_grad_t_per_m, bench.channel_map.output(c).max_value) for c in chans}
    for c in chans:
        max_slew = min(max_slew, 0.995 * bench.config.amp_max_slew.get(c, math.inf))

    def clip(drive: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {c: _hil.slew_limit(x, max_slew, amp[c], rate) for c, x in drive.items()}

    out = _hil.run_loop(
        targets, girf, measure, safety_only(check), target_nrmse=target_nrmse, max_iterations=max_iterations,
        on_unsafe=on_unsafe, clip=clip, regularization=regularization, band_hz=band_hz, progress=progress,
    )
    hist = [s.nrmse for s in out.steps]
    init = dict(hist[0])
    final = dict(hist[out.best_index])
    red = {c: (init[c] / final[c]) if final[c] > 0 else math.inf for c in chans}
    return HilResult(
        hist, init, final, red, dict(girf), out.best_drive, targets, out.best_measured, rate, program.t0_s,
        [s.step for s in out.steps], out.stopped,
    )


def merge_results(g: HilResult, rf: HilResult) -> HilResult:
    n = max(len(g.history), len(rf.history))
    hist = [{**g.history[min(i, len(g.history) - 1)], **rf.history[min(i, len(rf.history) - 1)]} for i in range(n)]
    steps = [g.steps[min(i, len(g.steps) - 1)] for i in range(n)]
    return HilResult(
        hist, {**g.initial_nrmse, **rf.initial_nrmse}, {**g.final_nrmse, **rf.final_nrmse},
        {**g.reduction, **rf.reduction}, dict(g.girf), {**g.corrected, **rf.corrected}, {**g.target, **rf.target},
        {**g.measured, **rf.measured}, g.rate_hz, g.t0_s, steps, f"gradients: {g.stopped}; rf: {rf.stopped}",
        rf.rf_curve,
    )


def safety_only(check: Callable[[dict[str, np.ndarray]], None]) -> Callable[[dict[str, np.ndarray]], None]:
    """A range error from the channel map (a correction beyond the DAC range) is unsafe too."""
    def wrapped(drive: dict[str, np.ndarray]) -> None:
        try:
            check(drive)
        except RangeError as exc:
            raise SafetyError(str(exc), quantity="channel range") from exc

    return wrapped
