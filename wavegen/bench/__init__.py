"""wavegen.bench: instruments, channel map and limits; play, measure, and hardware in the loop.

- :mod:`.session`: :class:`Bench`, the I/O session (connect, check, render, clear, upload, play, capture).
- :mod:`.config`: the TOML configuration (:class:`BenchConfig`, :data:`MOCK_CONFIG`), validated before any
  instrument is touched.
- :mod:`.channels`: the channel map (physical units <-> volts per output and capture).
- :mod:`.results`: value types (:class:`Program`, :class:`PlayResult`, :class:`Measurement`,
  :class:`HilResult`).
- :mod:`.loop`, :mod:`.rf_loop`: the gradient and RF loops on a bench (through the session's public runner).
- :mod:`.plots`: figures of measurements and loops.
"""

from __future__ import annotations

from wavegen.bench.channels import ChannelMap
from wavegen.bench.config import MOCK_CONFIG, BenchConfig, InstrumentConfig, load_toml, parse_config
from wavegen.bench.results import HilResult, InstrumentInfo, Measurement, PlayResult, Program, Progress
from wavegen.bench.session import Bench

__all__ = [
    "MOCK_CONFIG",
    "Bench",
    "BenchConfig",
    "ChannelMap",
    "HilResult",
    "InstrumentConfig",
    "InstrumentInfo",
    "Measurement",
    "PlayResult",
    "Program",
    "Progress",
    "load_toml",
    "parse_config",
]
