"""wavegen.hil: hardware in the loop, the pure part (NumPy in, NumPy out; no I/O).

- :mod:`.align`: sub-sample delay, alignment, NRMSE and per-channel metrics.
- :mod:`.girf`: test inputs, the system response (GIRF) and its regularised inverse.
- :mod:`.ilc`: iterative learning control and the safety-checked loop (:func:`run_loop`).
- :mod:`.rf`: RF amplifier AM/AM and AM/PM curves and predistortion.

The bench side (playing, capturing) is :meth:`wavegen.bench.Bench.hil`. Method and sources:
``docs/references/hil.md``.
"""

from __future__ import annotations

from wavegen.hil.align import ChannelMetrics, align, compare, estimate_delay, nrmse, shift
from wavegen.hil.girf import Girf, estimate_girf, precompensate, test_inputs
from wavegen.hil.ilc import LoopOutcome, LoopStep, ilc_update, run_loop, slew_limit
from wavegen.hil.rf import RfCurve, estimate_rf_curve, rf_ramp

__all__ = [
    "ChannelMetrics",
    "Girf",
    "LoopOutcome",
    "LoopStep",
    "RfCurve",
    "align",
    "compare",
    "estimate_delay",
    "estimate_girf",
    "estimate_rf_curve",
    "ilc_update",
    "nrmse",
    "precompensate",
    "rf_ramp",
    "run_loop",
    "shift",
    "slew_limit",
    "test_inputs",
]
