"""wavegen: hardware-in-the-loop RF and gradient waveform generator for MRI bench work.

The top level holds the pieces every user needs; the larger parts are sub-packages, imported on first
use so that ``import wavegen`` stays quick:

- :mod:`wavegen.design`: gradients, trajectories, RF pulses, Bloch simulation;
- :mod:`wavegen.safety`: slew, PNS, SAR, RF power, acoustics, and the interlock;
- :mod:`wavegen.sequence`: the block timeline, Pulseq ``.seq`` files, rendering;
- :mod:`wavegen.drivers`: instrument adapters and the mock instruments.
"""

from __future__ import annotations

import importlib
from typing import Any

from wavegen.dsp import DacFormat, Resampler, resample, resample_to_codes
from wavegen.errors import (
    DacRangeError,
    DesignError,
    InstrumentError,
    LimitError,
    NonFiniteError,
    RangeError,
    RasterError,
    SafetyError,
    ShapeError,
    UnitError,
    WavegenError,
)
from wavegen.limits import SystemLimits
from wavegen.units import parse_quantity

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "SystemLimits",
    "Resampler",
    "DacFormat",
    "resample",
    "resample_to_codes",
    "parse_quantity",
    "WavegenError",
    "ShapeError",
    "NonFiniteError",
    "RangeError",
    "RasterError",
    "UnitError",
    "DesignError",
    "LimitError",
    "DacRangeError",
    "SafetyError",
    "InstrumentError",
    "Sequence",
    "Bench",
]

_LAZY = {"design", "safety", "sequence", "drivers", "pulseq", "cli", "bench", "hil", "dsp", "testing"}
# classes from the larger sub-packages, importable from the top level without importing them eagerly
_LAZY_ATTRS = {"Sequence": "wavegen.sequence", "Bench": "wavegen.bench"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module = importlib.import_module(f"wavegen.{name}")
        globals()[name] = module
        return module
    if name in _LAZY_ATTRS:
        value = getattr(importlib.import_module(_LAZY_ATTRS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'wavegen' has no attribute {name!r}")
