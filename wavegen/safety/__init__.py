"""wavegen.safety: hardware and patient safety checks, and the interlock drivers call.

``check(waveforms, limits, mode="normal", ...) -> SafetyReport`` runs every rule; ``clear()`` /
``override()`` / ``require()`` form the interlock (see :mod:`wavegen.safety.interlock`).
"""

from __future__ import annotations

from wavegen.safety.check import MODES, check
from wavegen.safety.interlock import Clearance, clear, override, require
from wavegen.safety.report import RuleResult, SafetyReport
from wavegen.safety.waveforms import SupportsToWaveforms, Waveforms, as_waveforms

__all__ = [
    "MODES",
    "check",
    "Clearance",
    "clear",
    "override",
    "require",
    "RuleResult",
    "SafetyReport",
    "SupportsToWaveforms",
    "Waveforms",
    "as_waveforms",
]
