"""What each supported NI-DAQ board can do: a capability table checked before any I/O.

The figures come from NI's documents; each :class:`DaqBoard` says which of its numbers are verified
against a source reachable while this was written and which are not (``unverified``):

- **AI rates** (single channel / multi-channel aggregate): *X Series User Manual* (NI 370784),
  chapter 4 "Analog Input", section "Aggregate versus Single Channel Sample Rates", table "Analog Input
  Rates for MIO X Series Devices": NI 6361/6363/6365 2 MS/s single channel, 1 MS/s aggregate;
  NI 6341/6343 500 kS/s / 500 kS/s; NI 6351/6353 1.25 MS/s / 1 MS/s; and table "Analog Input Rates for
  Simultaneous MIO X Series Devices": NI 6368 2 MS/s per channel, 32 MS/s aggregate. The manual's footnote: the ADC
  can sample one channel faster, but the amplifier (PGIA) cannot settle fast enough between channels.
  A multi-channel task at rate *r* per channel uses ``r * n_channels`` of the aggregate.
- **AO update rate with one channel**: the value DAQmx reports as ``AO.MaxRate`` for a PCIe-6363
  (2.857 MS/s = 100 MHz / 35), as recorded by labscript-devices' introspected capability file
  (``labscript_devices/NI_DAQmx/models/NI_PCIe_6363.py``, ``max_AO_sample_rate``).
- **AO update rates with 2..4 channels** (X Series specifications: the rate falls as channels are added
  to one task): 2.0 / 1.54 / 1.25 MS/s for the 6363 are the commonly quoted figures of NI's
  specifications but were NOT verified from a source reachable here: ``unverified`` says so. On real
  hardware :class:`~wavegen.drivers.nidaq.NiDaq` also reads ``ao_max_rate`` from the device.
- timebase: 100 MHz; every internal sample clock is the timebase divided by an integer (X Series User
  Manual, "Analog Output Sample Clock": AO Sample Clock Timebase divided down).

Use :func:`check_config` from a bench configuration (at load time, before an instrument is opened) and
:meth:`DaqBoard.check` in the driver.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from wavegen.errors import ConfigError, RangeError

__all__ = ["DaqBoard", "BOARDS", "board", "check_config"]


@dataclass(frozen=True)
class DaqBoard:
    """Limits of one DAQ model (SI units: hertz, volts).

    Attributes
    ----------
    model : str
        DAQmx product type (``"PCIe-6363"``).
    n_ao, n_ai : int
        Analog outputs, analog inputs (single-ended).
    ao_max_rate_hz : tuple of float
        ``ao_max_rate_hz[k]``: highest update rate with ``k + 1`` AO channels in one task.
    ai_max_single_hz : float
        Highest AI rate with one channel in the task.
    ai_max_aggregate_hz : float
        Highest total AI rate (per-channel rate x channels) with several channels.
    ao_range_v, ai_range_v : float
        Largest symmetric output / input range.
    timebase_hz : float
        Sample clock timebase; clocks are this divided by an integer.
    unverified : tuple of str
        Which fields were not confirmed from a reachable source.
    """

    model: str
    n_ao: int
    n_ai: int
    ao_max_rate_hz: tuple[float, ...]
    ai_max_single_hz: float
    ai_max_aggregate_hz: float
    ao_range_v: float = 10.0
    ai_range_v: float = 10.0
    timebase_hz: float = 100e6
    unverified: tuple[str, ...] = ()

    def ao_limit_hz(self, n_channels: int) -> float:
        """Highest AO update rate with ``n_channels`` in one task."""
        return self.ao_max_rate_hz[min(max(n_channels, 1), len(self.ao_max_rate_hz)) - 1]

    def ai_limit_hz(self, n_channels: int) -> float:
        """Highest per-channel AI rate with ``n_channels`` in one task."""
        if n_channels <= 1:
            return self.ai_max_single_hz
        return self.ai_max_aggregate_hz / n_channels

    def check(
        self,
        instrument: str,
        *,
        ao_channels: Sequence[int] = (),
        ai_channels: Sequence[int] = (),
        ao_rate_hz: float | None = None,
        ai_rate_hz: float | None = None,
        error: type[Exception] = RangeError,
    ) -> None:
        """Refuse channels and rates this board cannot do; the message names the instrument, the channel,
        the limit and the value.

        Raises
        ------
        RangeError (or ``error``)
            A channel that does not exist, an AO rate above the limit for that many channels, an AI rate
            above the single-channel rate or the aggregate rate.
        """
        where = f"{instrument} ({self.model})"
        for kind, chans, count in (("ao", ao_channels, self.n_ao), ("ai", ai_channels, self.n_ai)):
            for c in chans:
                if not 0 <= int(c) < count:
                    raise error(f"{where}: channel {kind}{c} does not exist (the board has {kind}0..{kind}{count - 1})")
        if ao_rate_hz is not None and ao_channels:
            n = len(ao_channels)
            top = self.ao_limit_hz(n)
            if not (math.isfinite(ao_rate_hz) and 0 < ao_rate_hz <= top * (1 + 1e-12)):
                names = ", ".join(f"ao{c}" for c in ao_channels)
                raise error(
                    f"{where}: AO update rate {ao_rate_hz:g} S/s on {names} is above the board's {top:g} S/s "
                    f"for {n} channel(s) in one task"
                )
        if ai_rate_hz is not None and ai_channels:
            n = len(ai_channels)
            names = ", ".join(f"ai{c}" for c in ai_channels)
            if not (math.isfinite(ai_rate_hz) and 0 < ai_rate_hz <= self.ai_max_single_hz * (1 + 1e-12)):
                raise error(
                    f"{where}: AI sample rate {ai_rate_hz:g} S/s on {names} is above the board's single-channel "
                    f"{self.ai_max_single_hz:g} S/s"
                )
            total = ai_rate_hz * n
            if n > 1 and total > self.ai_max_aggregate_hz * (1 + 1e-12):
                raise error(
                    f"{where}: AI aggregate rate {total:g} S/s ({n} channels {names} x {ai_rate_hz:g} S/s) is above "
                    f"the board's multi-channel aggregate {self.ai_max_aggregate_hz:g} S/s "
                    f"(at most {self.ai_max_aggregate_hz / n:g} S/s per channel with {n} channels)"
                )


BOARDS: dict[str, DaqBoard] = {
    b.model.lower(): b
    for b in (
        DaqBoard(
            "PCIe-6363", n_ao=4, n_ai=32, ao_max_rate_hz=(100e6 / 35, 2.0e6, 1.54e6, 1.25e6),
            ai_max_single_hz=2.0e6, ai_max_aggregate_hz=1.0e6,
            unverified=("ao_max_rate_hz[1:] (2-4 channels)",),
        ),
        DaqBoard(
            "PXIe-6363", n_ao=4, n_ai=32, ao_max_rate_hz=(100e6 / 35, 2.0e6, 1.54e6, 1.25e6),
            ai_max_single_hz=2.0e6, ai_max_aggregate_hz=1.0e6,
            unverified=("ao_max_rate_hz[1:] (2-4 channels)",),
        ),
        DaqBoard(
            # simultaneous-sampling X Series: one ADC per channel, 2 MS/s on each of 16 channels
            # (X Series User Manual, "Analog Input Rates for Simultaneous MIO X Series Devices": NI 6368
            # 2 MS/s single channel, 32 MS/s total aggregate)
            "PXIe-6368", n_ao=4, n_ai=16, ao_max_rate_hz=(100e6 / 35, 2.0e6, 1.54e6, 1.25e6),
            ai_max_single_hz=2.0e6, ai_max_aggregate_hz=32e6,
            unverified=("ao_max_rate_hz (all: taken as the 6363's)",),
        ),
        DaqBoard(
            "USB-6343", n_ao=4, n_ai=32, ao_max_rate_hz=(917e3, 838e3, 788e3, 740e3),
            ai_max_single_hz=500e3, ai_max_aggregate_hz=500e3,
            unverified=("ao_max_rate_hz (all)",),
        ),
    )
}


def board(model: str | None) -> DaqBoard | None:
    """The table entry for ``model`` (case-insensitive), or ``None`` for a board not in the table."""
    if not model:
        return None
    return BOARDS.get(model.strip().lower())


def check_config(
    model: str | None,
    ao_channels: Sequence[int],
    ai_channels: Sequence[int],
    rate_hz: float,
    *,
    instrument: str = "daq",
    ai_rate_hz: float | None = None,
) -> None:
    """Config-time check of one DAQ instrument of a bench: :class:`~wavegen.errors.ConfigError` when the
    board ``model`` cannot play ``ao_channels`` and capture ``ai_channels`` at ``rate_hz`` (AI at
    ``ai_rate_hz``, default the same clock). A model not in :data:`BOARDS` is not checked here (the driver
    checks the device's own limits when it opens it).

    >>> check_config("PCIe-6363", [0, 1], [0], 1e6)
    >>> check_config("PCIe-6363", [0, 1], [0, 1], 1e6)
    Traceback (most recent call last):
    ...
    wavegen.errors.ConfigError: daq (PCIe-6363): AI aggregate rate 2e+06 S/s (2 channels ai0, ai1 x 1e+06 S/s) ...
    """
    b = board(model)
    if b is None:
        return
    b.check(
        instrument, ao_channels=tuple(ao_channels), ai_channels=tuple(ai_channels), ao_rate_hz=float(rate_hz),
        ai_rate_hz=float(rate_hz if ai_rate_hz is None else ai_rate_hz), error=ConfigError,
    )
