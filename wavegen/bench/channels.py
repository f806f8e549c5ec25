"""The channel map: which instrument output plays which physical channel, and physical units <-> volts.

A bench drives gradient amplifiers (volts in, T/m in the coil), an RF modulator (I and Q volts in,
B1 at the coil) and digital lines (ADC gate, triggers), and reads monitors back (gradient current or
field monitors, a demodulated RF coupler). The :class:`ChannelMap` holds, per physical channel, the
instrument and channel number, the calibration (volts per T/m, volts per T, or an amplifier
calibration A/V and coil T/m/A) and the voltage range that channel may use; the drivers turn volts
into DAC codes (:mod:`wavegen.drivers`).

Channel names: outputs ``gx gy gz`` (T/m), ``rf_i rf_q`` (T, the real and imaginary parts of the
complex B1 envelope), ``adc`` and ``trigger`` (digital: 0 V low, ``high_v`` high); captures ``gx gy gz``
(monitor volts -> T/m) and ``rf_i rf_q`` (coupler volts -> T).

Never clips: a value beyond a channel's range raises :class:`~wavegen.errors.RangeError` naming the
channel, the sample, the value and the range, in physical units and volts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from wavegen.errors import ConfigError, NonFiniteError, RangeError, ShapeError
from wavegen.validate import positive

__all__ = [
    "GRADIENT_CHANNELS",
    "RF_CHANNELS",
    "DIGITAL_CHANNELS",
    "OUTPUT_NAMES",
    "OutputChannel",
    "CaptureChannel",
    "ChannelMap",
    "kind_of",
    "unit_of",
]

GRADIENT_CHANNELS = ("gx", "gy", "gz")
RF_CHANNELS = ("rf_i", "rf_q")
DIGITAL_CHANNELS = ("adc", "trigger")
OUTPUT_NAMES = GRADIENT_CHANNELS + RF_CHANNELS + DIGITAL_CHANNELS


def kind_of(name: str) -> str:
    """``"gradient"``, ``"rf"`` or ``"digital"`` for a channel name."""
    if name in GRADIENT_CHANNELS:
        return "gradient"
    if name in RF_CHANNELS:
        return "rf"
    if name in DIGITAL_CHANNELS:
        return "digital"
    raise ConfigError(f"unknown channel name {name!r}; known: {', '.join(OUTPUT_NAMES)}")


def unit_of(name: str) -> str:
    """The physical unit of a channel: ``"T/m"``, ``"T"`` or ``""`` (digital)."""
    return {"gradient": "T/m", "rf": "T", "digital": ""}[kind_of(name)]


@dataclass(frozen=True)
class OutputChannel:
    """One physical output.

    Parameters
    ----------
    name : str
        ``gx gy gz rf_i rf_q adc trigger``.
    instrument : str
        Name of the instrument in the bench configuration.
    channel : int
        Output number on that instrument (1-based for AWGs, ``aoN`` number for a DAQ).
    volts_per_unit : float
        Volts per T/m (gradients), per T (RF); for digital channels the high level, V.
    range_v : float
        The channel may drive ``-range_v .. +range_v`` (digital: ``0 .. range_v``), V: the smaller of
        the instrument's output range and the amplifier's input range.
    offset_v : float
        Volts at zero physical value (amplifier input offset), V.
    """

    name: str
    instrument: str
    channel: int
    volts_per_unit: float
    range_v: float
    offset_v: float = 0.0

    def __post_init__(self) -> None:
        kind_of(self.name)
        positive(self.volts_per_unit, f"channels.{self.name}.volts_per_unit", "V per unit", error=ConfigError)
        positive(self.range_v, f"channels.{self.name}.range_v", "V", error=ConfigError)
        if not math.isfinite(self.offset_v) or abs(self.offset_v) >= self.range_v:
            raise ConfigError(f"channels.{self.name}.offset_v = {self.offset_v!r} V must be finite and inside +-range")

    @property
    def kind(self) -> str:
        return kind_of(self.name)

    @property
    def max_value(self) -> float:
        """Largest physical value this channel can play, in its unit (T/m, T)."""
        return (self.range_v - abs(self.offset_v)) / self.volts_per_unit


@dataclass(frozen=True)
class CaptureChannel:
    """One monitor input: ``instrument`` input ``channel``; ``volts_per_unit`` V per T/m or per T."""

    name: str
    instrument: str
    channel: int
    volts_per_unit: float

    def __post_init__(self) -> None:
        if kind_of(self.name) == "digital":
            raise ConfigError(f"capture.{self.name}: only gradient and RF channels can be captured")
        positive(self.volts_per_unit, f"capture.{self.name}.volts_per_unit", "V per unit", error=ConfigError)


@dataclass(frozen=True)
class ChannelMap:
    """Outputs and captures of a bench (see the module docstring)."""

    outputs: Mapping[str, OutputChannel]
    captures: Mapping[str, CaptureChannel] = field(default_factory=dict)

    def __post_init__(self) -> None:
        seen: dict[tuple[str, int, str], str] = {}
        for name, ch in self.outputs.items():
            if ch.name != name:
                raise ConfigError(f"channels.{name}: entry names {ch.name!r}")
            key = (ch.instrument, ch.channel, "out")
            if key in seen:
                raise ConfigError(
                    f"channels.{name} and channels.{seen[key]} both use {ch.instrument} output {ch.channel}"
                )
            seen[key] = name
        for name, c in self.captures.items():
            key = (c.instrument, c.channel, "in")
            if key in seen:
                raise ConfigError(f"capture.{name} and capture.{seen[key]} both use {c.instrument} input {c.channel}")
            seen[key] = name
        if ("rf_i" in self.outputs) != ("rf_q" in self.outputs):
            missing = "rf_q" if "rf_i" in self.outputs else "rf_i"
            raise ConfigError(f"channels.{missing} is missing: RF needs both rf_i and rf_q")

    # -- queries -------------------------------------------------------------------------------
    def __contains__(self, name: object) -> bool:
        return name in self.outputs

    def output(self, name: str) -> OutputChannel:
        ch = self.outputs.get(name)
        if ch is None:
            raise ConfigError(f"the channel map has no output {name!r}; it has {', '.join(self.outputs) or 'none'}")
        return ch

    def on_instrument(self, instrument: str) -> list[OutputChannel]:
        """Outputs on one instrument, ordered by channel number."""
        return sorted((c for c in self.outputs.values() if c.instrument == instrument), key=lambda c: c.channel)

    @property
    def instruments(self) -> list[str]:
        """Instruments that play at least one output, in first-use order."""
        out: list[str] = []
        for c in self.outputs.values():
            if c.instrument not in out:
                out.append(c.instrument)
        return out

    # -- conversions ---------------------------------------------------------------------------
    def to_volts(self, name: str, values: np.ndarray) -> np.ndarray:
        """Physical values (T/m, T; digital: bool) -> volts for output ``name``; never clips.

        Raises
        ------
        RangeError
            A sample beyond the channel's range (names sample, value, volts and range).
        NonFiniteError, ShapeError
            NaN/inf or not 1-D.
        """
        ch = self.output(name)
        x = np.asarray(values)
        if x.ndim != 1:
            raise ShapeError(f"{name}: values must be 1-D, got shape {x.shape}")
        if ch.kind == "digital":
            return np.where(x.astype(bool), ch.volts_per_unit, 0.0) + ch.offset_v
        x = x.astype(np.float64, copy=False)
        bad = np.flatnonzero(~np.isfinite(x))
        if bad.size:
            raise NonFiniteError(f"{name}[{int(bad[0])}] = {x[bad[0]]!r} is not finite")
        v = x * ch.volts_per_unit + ch.offset_v
        over = np.flatnonzero(np.abs(v) > ch.range_v * (1 + 1e-12))
        if over.size:
            i = int(over[0])
            unit = unit_of(name)
            raise RangeError(
                f"{name}: {x[i]:.6g} {unit} at sample {i} needs {v[i]:.6g} V, beyond the channel's "
                f"+-{ch.range_v:.6g} V ({ch.instrument} output {ch.channel}; at most {ch.max_value:.6g} {unit})"
            )
        return v

    def from_volts(self, name: str, volts: np.ndarray) -> np.ndarray:
        """Monitor volts of capture ``name`` -> physical values (T/m, T)."""
        c = self.captures.get(name)
        if c is None:
            raise ConfigError(f"no capture {name!r}; captures: {', '.join(self.captures) or 'none'}")
        return np.asarray(volts, dtype=np.float64) / c.volts_per_unit

    def check_limits(self, max_grad_t_per_m: float, max_b1_t: float, *, source: str = "limits") -> None:
        """Refuse limits the hardware cannot play: every gradient output must reach ``max_grad`` and
        the RF outputs ``max_b1`` within their voltage ranges (else the limits promise what the bench
        cannot do, or the calibration is wrong).

        Raises
        ------
        ConfigError
            Names the limit, its value, the channel, the volts needed and the range.
        """
        for ch in self.outputs.values():
            if ch.kind == "gradient":
                need, key, unit, scale = max_grad_t_per_m, "max_grad", "mT/m", 1e3
            elif ch.kind == "rf":
                need, key, unit, scale = max_b1_t, "max_b1", "uT", 1e6
            else:
                continue
            volts = need * ch.volts_per_unit + abs(ch.offset_v)
            if volts > ch.range_v * (1 + 1e-12):
                raise ConfigError(
                    f"{source}.{key} = {need * scale:.6g} {unit} needs {volts:.6g} V on {ch.name} "
                    f"({ch.instrument} output {ch.channel}, {ch.volts_per_unit:.6g} V per {unit_of(ch.name)}), "
                    f"beyond its +-{ch.range_v:.6g} V range (at most {ch.max_value * scale:.6g} {unit}); "
                    f"lower {source}.{key} or fix the calibration"
                )
