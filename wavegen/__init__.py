"""wavegen: hardware-in-the-loop RF and gradient waveform generator for MRI bench work.

The top level holds the pieces every user needs; the larger parts are sub-packages, imported on first
use so that ``import wavegen`` stays quick:

- :mod:`wavegen.design`: gradients, trajectories, RF pulses, Bloch simulation;
- :mod:`wavegen.safety`: slew, PNS, SAR, RF power, acoustics, and the interlock;
- :mod:`wavegen.sequence`: the block timeline, Pulseq ``.seq`` files, rendering;
- :mod:`wavegen.drivers`: instrument adapters and the mock instruments.

The package logs through the ``wavegen`` logger and its children (``logging.getLogger(__name__)`` in
every module) and adds one :class:`logging.NullHandler`, here; an application chooses the output
(the command line routes the records to stderr).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
from typing import Any

from wavegen._source_tree import check_source_tree

# before anything else: from an unbuilt checkout, say what to do instead of failing on wavegen.drivers
check_source_tree(__path__[0])

from wavegen.dsp import DacFormat, Resampler, resample, resample_to_codes  # noqa: E402
from wavegen.errors import (  # noqa: E402
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
from wavegen.limits import SystemLimits  # noqa: E402
from wavegen.units import parse_quantity  # noqa: E402

logging.getLogger(__name__).addHandler(logging.NullHandler())

try:
    # the version is written once, in pyproject.toml; the installed metadata carries it
    __version__ = importlib.metadata.version("wavegen")
except importlib.metadata.PackageNotFoundError:  # a copy on sys.path that was never installed
    __version__ = "0+unknown"

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
