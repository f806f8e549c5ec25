"""RF predistortion in the loop on a bench (:meth:`wavegen.bench.Bench.hil_rf`)."""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING

import numpy as np

from wavegen import errors as wg_errors
from wavegen import hil as _hil
from wavegen.bench.results import HilResult, Program, Progress, notify
from wavegen.errors import ConfigError

if TYPE_CHECKING:
    from wavegen.bench.plan import Window
    from wavegen.bench.session import Bench
    from wavegen.sequence import Sequence

__all__ = ["rf_hil"]

logger = logging.getLogger(__name__)


def rf_hil(
    bench: Bench,
    seq: Sequence,
    target_nrmse: float,
    max_iterations: int,
    progress: Progress,
    *,
    window: Window | None = None,
) -> HilResult:
    cm = bench.channel_map
    if "rf_i" not in cm.outputs or "rf_i" not in cm.captures:
        raise ConfigError("hil_rf needs rf_i/rf_q outputs and [capture.rf_i]/[capture.rf_q] entries")
    rate = bench.config.instruments[cm.output("rf_i").instrument].rate_hz
    cap_rate = bench.config.instruments[cm.captures["rf_i"].instrument].rate_hz
    if rate != cap_rate:
        raise ConfigError(f"hil_rf: RF plays at {rate} Hz but is captured at {cap_rate} Hz; use one rate")
    if isinstance(max_iterations, bool) or not isinstance(max_iterations, int) or max_iterations < 0:
        raise wg_errors.RangeError(f"max_iterations = {max_iterations!r} must be an integer >= 0")
    bench.check(seq).raise_if_unsafe()
    if not bench.plan(seq, window=window).fits_one_waveform:
        raise ConfigError(
            "hil corrects a program that each instrument holds as one waveform; this one streams or sequences: "
            "run the loop on a window of it (--window / --blocks, or window=Window.of_blocks(...))"
        )
    program = bench.render(seq, window=window)
    d = program.physical["rf_i"] + 1j * program.physical["rf_q"]
    if not np.any(d):
        raise ConfigError("hil_rf: the sequence plays no RF")
    max_b1 = 0.995 * min(bench.limits.max_b1_t, cm.output("rf_i").max_value, cm.output("rf_q").max_value)

    def run(prog: Program) -> np.ndarray:
        _, cap = bench.run(prog, override=None, progress=None, capture=True)
        return cap["rf_i"] + 1j * cap["rf_q"]

    ramp = _hil.rf_ramp(rate, max_b1)
    blank = bench.blank_program(ramp.size)
    curve = _hil.estimate_rf_curve(ramp, run(blank.with_drive({"rf_i": ramp})), rate)
    notify(progress, "rf curve", 1, 1)

    def with_drive(x: np.ndarray) -> Program:
        return program.with_drive({"rf_i": x.real.copy(), "rf_q": x.imag.copy()})

    hist: list[dict[str, float]] = []
    steps: list[float] = []
    y = run(program)
    hist.append({"rf": _hil.nrmse(d, y)})
    steps.append(0.0)
    best = (hist[0]["rf"], d, y)
    delay = _hil.estimate_delay(d, y, rate)
    d_adv = _hil.shift(d, -delay, rate)
    x = curve.predistort(d_adv)
    stopped = f"{max_iterations} iteration{'' if max_iterations == 1 else 's'} done"
    for it in range(1, max_iterations + 1):
        if best[0] <= target_nrmse:
            stopped = f"target NRMSE {target_nrmse:g} reached"
            break
        mag = np.abs(x)
        if np.any(mag > max_b1):
            logger.info("RF HIL iteration %d: drive above %.4g uT clipped", it, max_b1 * 1e6)
            x = np.where(mag > max_b1, x / np.maximum(mag, 1e-30) * max_b1, x)
        bench.clear_program(with_drive(x))  # SafetyError propagates: nothing unsafe plays
        y = run(with_drive(x))
        e = _hil.nrmse(d, y)
        hist.append({"rf": e})
        steps.append(1.0)
        if e < best[0]:
            best = (e, x, y)
        notify(progress, "hil", it, max_iterations)
        x = x + (d_adv - _hil.shift(y, -delay, rate)) / curve.gain(np.abs(x))
    init, final = hist[0]["rf"], best[0]
    return HilResult(
        hist, {"rf": init}, {"rf": final}, {"rf": init / final if final > 0 else math.inf}, {},
        {"rf": best[1]}, {"rf": d}, {"rf": best[2]}, rate, program.t0_s, steps, stopped, curve,
    )
