"""The one exception tree of wavegen.

Every exception wavegen raises on purpose derives from :class:`WavegenError`.

- Input and design errors (bad values, wrong shapes, limits a design cannot meet) also derive from
  :class:`ValueError`, so generic numeric code can catch them as it always has.
- A safety violation is a :class:`SafetyError`. It deliberately does *not* derive from ``ValueError``:
  a handler written for bad input must never swallow "this would harm the hardware or the patient".
- Instrument and transport failures are :class:`InstrumentError` and its children.
"""

from __future__ import annotations

__all__ = [
    "WavegenError",
    "WavegenValueError",
    "ShapeError",
    "NonFiniteError",
    "RangeError",
    "UnitError",
    "DesignError",
    "LimitError",
    "RasterError",
    "DacRangeError",
    "SeqFormatError",
    "ConfigError",
    "SafetyError",
    "InstrumentError",
    "InstrumentTimeoutError",
    "InstrumentProtocolError",
    "InstrumentReportedError",
    "VerificationError",
    "NativeBackendError",
]


class WavegenError(Exception):
    """Root of every exception wavegen raises on purpose."""


# --- input and design errors (also ValueError) -------------------------------------------------


class WavegenValueError(WavegenError, ValueError):
    """A value given to wavegen is not acceptable."""


class ShapeError(WavegenValueError):
    """An array has the wrong number of dimensions, the wrong length or is empty."""


class NonFiniteError(WavegenValueError):
    """An array or a number holds NaN or infinity."""


class RangeError(WavegenValueError):
    """A number lies outside the range it must be in (negative rate, absurd length, ...)."""


class UnitError(WavegenValueError):
    """A quantity string has a unit that is unknown or of the wrong dimension."""


class DesignError(WavegenValueError):
    """A design request cannot be met (for example a flip angle needing more B1 than allowed)."""


class LimitError(DesignError):
    """A designed waveform would exceed a hardware limit (amplitude, slew, B1)."""


class RasterError(WavegenValueError):
    """A time or duration does not sit on the raster it must sit on."""


class DacRangeError(WavegenValueError):
    """A value does not fit in the DAC code range and clipping was not asked for."""


class SeqFormatError(WavegenValueError):
    """A Pulseq ``.seq`` file is malformed; the message names the file and the line."""


class ConfigError(WavegenValueError):
    """A bench configuration is wrong (missing channel, unknown driver, unit typo, ...)."""


# --- safety (NOT a ValueError) -----------------------------------------------------------------


class SafetyError(WavegenError):
    """A waveform breaks a safety limit.

    Carries the quantity, the worst value, the limit, the unit, the channel and the time of the worst
    sample, so that a caller can report exactly what happened.
    """

    def __init__(
        self,
        message: str,
        *,
        quantity: str = "",
        value: float = float("nan"),
        limit: float = float("nan"),
        unit: str = "",
        channel: str = "",
        time_s: float = float("nan"),
    ) -> None:
        super().__init__(message)
        self.quantity = quantity
        self.value = value
        self.limit = limit
        self.unit = unit
        self.channel = channel
        self.time_s = time_s


# --- instruments --------------------------------------------------------------------------------


class InstrumentError(WavegenError):
    """An instrument or its transport failed."""


class InstrumentTimeoutError(InstrumentError):
    """An instrument did not answer within its timeout."""


class InstrumentProtocolError(InstrumentError):
    """An instrument answered something that does not parse (nonsense, wrong block header, ...)."""


class InstrumentReportedError(InstrumentError):
    """The instrument's own error queue held errors after an operation."""


class VerificationError(InstrumentError):
    """What the instrument holds differs from what was uploaded."""


# --- build --------------------------------------------------------------------------------------


class NativeBackendError(WavegenError, ImportError):
    """The compiled extension ``wavegen._native`` is required but cannot be imported."""
