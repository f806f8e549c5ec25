"""wavegen.testing: what tests of wavegen (the project's own, and downstream users') need.

- :mod:`.imports`: the import graph (cycles, private names across modules, rooms).
- :mod:`.replay`: :class:`ReplayTransport` checks every byte a driver sends against a recorded protocol
  and serves the recorded answers (:class:`BlockMessage` for binary samples; :class:`ReplayMismatch`
  names the first wrong byte or sample).
- :mod:`.recorder`: :class:`Recorder` wraps a real transport and records the exchange;
  :func:`load_replay` plays a recorded file back, :func:`save_replay` writes one.

Drivers never import this package.
"""

from __future__ import annotations

from .recorder import Recorder
from .replay import (
    REPLAY_FORMAT,
    BlockMessage,
    ReplayMismatch,
    ReplayTransport,
    load_replay,
    replay_steps,
    save_replay,
)

__all__ = [
    "REPLAY_FORMAT",
    "BlockMessage",
    "Recorder",
    "ReplayMismatch",
    "ReplayTransport",
    "load_replay",
    "replay_steps",
    "save_replay",
]
