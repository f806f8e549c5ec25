"""What the bench asks of an instrument: the :class:`OutputInstrument` protocol (AWGs and DAQ boards
alike) and the :class:`InputInstrument` protocol (boards that capture).

The bench plays a program in four steps, the same for every instrument: load each output's volts
(:meth:`OutputInstrument.load_outputs`, cleared per output), start (:meth:`~OutputInstrument.start_outputs`:
an AWG arms and switches its outputs on, then waits for its trigger; a DAQ board starts generating),
trigger (:meth:`~OutputInstrument.trigger`: the AWGs' software trigger; nothing for a board that started),
then :meth:`~OutputInstrument.finish` (wait until played) and :meth:`~OutputInstrument.outputs_off`.
Instruments that wait for a trigger (:attr:`~OutputInstrument.waits_for_trigger`) are started first, so
they are ready when the free-running ones begin.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    from wavegen.safety.interlock import Clearance

__all__ = ["InputInstrument", "OutputInstrument"]


@runtime_checkable
class OutputInstrument(Protocol):
    """An instrument with outputs the bench plays (see the module docstring)."""

    name: str
    #: True: started outputs wait for a trigger (AWGs); False: starting begins the generation (DAQs)
    waits_for_trigger: bool

    def output_id(self, channel: int) -> str:
        """The name of output ``channel`` in clearances (``"<name>/<channel>"``)."""
        ...

    def load_outputs(
        self,
        volts: Mapping[int, np.ndarray],
        sample_rate_hz: float,
        *,
        clearance: Clearance,
        full_scale_v: Mapping[int, float | None] | None = None,
        names: Mapping[int, str] | None = None,
    ) -> dict[int, bool]:
        """Load each channel's volts (checked against ``clearance`` before the first byte); return per
        channel whether the instrument's read-back proved it."""
        ...

    def start_outputs(self, channels: Sequence[int], *, clearance: Clearance, trigger: str = "bus") -> None:
        """Make the loaded channels play: armed and on (waiting for ``trigger``), or generating."""
        ...

    def trigger(self) -> None:
        """The software trigger of instruments that wait for one (no-op otherwise)."""
        ...

    def finish(self, timeout_s: float | None = None) -> None:
        """Wait until what was started has played (no-op for instruments that play on their own)."""
        ...

    def outputs_off(self) -> None:
        """Every output off (or at 0 V), confirmed; safe to call at any time."""
        ...


@runtime_checkable
class InputInstrument(Protocol):
    """An instrument that captures inputs on the clock of its outputs."""

    def configure_capture(self, channels: Sequence[int], n_samples: int) -> None:
        """Capture ``channels`` for ``n_samples`` from the start of the generation."""
        ...

    def read(self, timeout_s: float | None = None) -> np.ndarray:
        """The captured volts, ``(channels, n_samples)``."""
        ...
