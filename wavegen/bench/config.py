"""Bench configuration: parse and validate a TOML bench description before any instrument is touched.

A bench file has five tables (``examples/bench.toml`` documents every key)::

    [bench]        name, mode ("normal" | "first_level"), patient (bool), mock (bool),
                   trigger ("bus" | "external"), lead ("100 us"), tail ("3 ms")
    [limits]       SystemLimits in human units: max_grad = "40 mT/m", max_slew = "150 T/m/s", max_b1 = "20 uT", ...
    [instruments.NAME]  driver (a family in wavegen.drivers.registry: "nidaq", "keysight_33500", ...), resource,
                   rate ("1 MHz"),
                   and per driver: range ("10 V", DAQ AO), input_range ("10 V", DAQ AI), load ("50 ohm" | "high-Z")
    [channels.CH]  CH in gx gy gz rf_i rf_q adc trigger: instrument, channel, and the calibration:
                   volts_per_unit ("200 V/(T/m)", "0.2 V/uT") or amplifier = {a_per_v, t_per_m_per_a,
                   max_input, max_slew}; range ("10 V"), offset ("0 V"); digital: high ("5 V")
    [capture.CH]   CH in gx gy gz rf_i rf_q: instrument (a DAQ), channel (AI number), volts_per_unit

Every problem raises :class:`~wavegen.errors.ConfigError` naming the key (``channels.gx.volts_per_unit``)
and the value: unknown keys (typos), unit errors, a resource string that is not a VISA resource (or a
DAQmx device name), a missing channel, a channel used twice, limits the hardware cannot reach (a
``max_grad`` that needs more volts than the channel's range, a ``max_slew`` above an amplifier's
rating).
"""

from __future__ import annotations

import math
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wavegen.bench.channels import (
    DIGITAL_CHANNELS,
    GRADIENT_CHANNELS,
    OUTPUT_NAMES,
    RF_CHANNELS,
    CaptureChannel,
    ChannelMap,
    OutputChannel,
    kind_of,
)
from wavegen.errors import ConfigError, WavegenError
from wavegen.limits import SystemLimits
from wavegen.units import parse_quantity
from wavegen.validate import positive

__all__ = [
    "LIMIT_DIMENSIONS", "MOCK_CONFIG", "BenchConfig", "InstrumentConfig", "load_toml", "parse_config"]

#: The built-in mock bench (the same as the first half of ``examples/bench.toml``).
MOCK_CONFIG: dict[str, Any] = {
    "bench": {"name": "mock", "mock": True, "mode": "normal", "patient": False, "lead": "100 us", "tail": "3 ms"},
    "limits": {"max_grad": "40 mT/m", "max_slew": "150 T/m/s", "max_b1": "20 uT"},
    "instruments": {
        "daq": {"driver": "nidaq", "resource": "mock", "rate": "1 MHz", "range": "10 V", "input_range": "10 V"},
        "awg": {"driver": "keysight_33500", "resource": "mock", "model": "33522B", "rate": "1 MHz", "load": "50 ohm"},
    },
    "channels": {
        "gx": {"instrument": "daq", "channel": 0, "volts_per_unit": "200 V/(T/m)"},
        "gy": {"instrument": "daq", "channel": 1, "volts_per_unit": "200 V/(T/m)"},
        "gz": {"instrument": "daq", "channel": 2, "volts_per_unit": "200 V/(T/m)"},
        "adc": {"instrument": "daq", "channel": 3, "high": "5 V"},
        "rf_i": {"instrument": "awg", "channel": 1, "volts_per_unit": "0.2 V/uT"},
        "rf_q": {"instrument": "awg", "channel": 2, "volts_per_unit": "0.2 V/uT"},
    },
    # a 2 kW amplifier whose coil makes 25 uT at full power, rated 200 W average and 10 % duty over 10 s
    "rf_amplifier": {"peak_power": "2 kW", "b1_at_peak_power": "25 uT", "average_power": "200 W",
                     "max_duty_cycle": 0.1, "max_pulse": "20 ms"},
    "capture": {
        "gx": {"instrument": "daq", "channel": 0, "volts_per_unit": "200 V/(T/m)"},
        "gy": {"instrument": "daq", "channel": 1, "volts_per_unit": "200 V/(T/m)"},
        "gz": {"instrument": "daq", "channel": 2, "volts_per_unit": "200 V/(T/m)"},
        "rf_i": {"instrument": "daq", "channel": 4, "volts_per_unit": "0.2 V/uT"},
        "rf_q": {"instrument": "daq", "channel": 5, "volts_per_unit": "0.2 V/uT"},
    },
}

MODES = ("normal", "first_level")

_VISA = re.compile(
    r"^(TCPIP\d*::[A-Za-z0-9_.\-]+::(\d{1,5}::SOCKET|[A-Za-z0-9_,.\-]+::INSTR|INSTR|hislip\d+(::INSTR)?)"
    r"|USB\d*::[^:]+::[^:]+::[^:]+(::\d+)?::INSTR|GPIB\d*::\d{1,2}(::\d+)?::INSTR|ASRL[^:]+::INSTR)$",
    re.IGNORECASE,
)
_DAQ_DEVICE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")

_BENCH_KEYS = {"name", "mode", "patient", "mock", "trigger", "lead", "tail", "seed"}
_INSTR_KEYS = {"driver", "resource", "rate", "range", "input_range", "load", "model"}
_CHANNEL_KEYS = {"instrument", "channel", "volts_per_unit", "amplifier", "range", "offset", "high"}
_AMP_KEYS = {"a_per_v", "t_per_m_per_a", "max_input", "max_slew"}
_CAPTURE_KEYS = {"instrument", "channel", "volts_per_unit"}
_RF_AMP_KEYS = {"peak_power", "b1_at_peak_power", "average_power", "average_window", "max_duty_cycle",
                "duty_window", "max_pulse"}


@dataclass(frozen=True)
class InstrumentConfig:
    """One instrument of the bench (validated; SI)."""

    name: str
    driver: str
    resource: str
    rate_hz: float
    range_v: float
    input_range_v: float = 10.0
    load_ohm: float | None = 50.0
    model: str | None = None

    @property
    def is_daq(self) -> bool:
        """A DAQ board (streams, captures) rather than an AWG (the registry's family kind)."""
        from wavegen.drivers.registry import family

        return family(self.driver).kind == "daq"

    def driver_options(self) -> dict[str, Any]:
        """The driver's constructor options this configuration sets (by the family's kind)."""
        if self.is_daq:
            return {"ao_range_v": self.range_v, "ai_range_v": self.input_range_v}
        return {"load_ohm": self.load_ohm}


@dataclass(frozen=True)
class BenchConfig:
    """A validated bench description (see the module docstring)."""

    name: str
    instruments: dict[str, InstrumentConfig]
    channel_map: ChannelMap
    limits: SystemLimits
    mode: str = "normal"
    patient: bool = False
    mock: bool = False
    trigger: str = "bus"
    lead_s: float = 100e-6
    tail_s: float = 3e-3
    seed: int = 0
    amp_max_slew: dict[str, float] = field(default_factory=dict)
    rf_amplifier: Any = None  # wavegen.safety.RfAmplifier, from the optional [rf_amplifier] table


def load_toml(path: str | Path) -> dict[str, Any]:
    """Read a TOML file (``tomllib`` on Python >= 3.11, the ``tomli`` package on 3.10)."""
    p = Path(path)
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        try:
            import tomli as tomllib
        except ImportError as exc:
            raise ConfigError(
                "reading TOML on Python 3.10 needs the 'tomli' package (pip install tomli); "
                "Python >= 3.11 has it built in"
            ) from exc
    try:
        with p.open("rb") as fh:
            return dict(tomllib.load(fh))
    except FileNotFoundError as exc:
        raise ConfigError(f"bench file {str(p)!r} does not exist") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: not valid TOML: {exc}") from exc


def _table(cfg: dict[str, Any], key: str, where: str, *, required: bool = True) -> dict[str, Any]:
    v = cfg.get(key)
    if v is None:
        if required:
            raise ConfigError(f"{where}{key}: missing table [{where}{key}]")
        return {}
    if not isinstance(v, dict):
        raise ConfigError(f"{where}{key} must be a table, got {v!r}")
    return v


def _unknown(d: dict[str, Any], known: set[str], where: str) -> None:
    for k in d:
        if k not in known:
            raise ConfigError(f"{where}.{k} = {d[k]!r}: unknown key; known keys: {', '.join(sorted(known))}")


def _qty(d: dict[str, Any], key: str, dim: str, where: str, default: Any = None) -> float:
    if key not in d:
        if default is None:
            raise ConfigError(f"{where}.{key}: missing (a quantity in {dim})")
        return float(default)
    _needs_unit(d[key], dim, f"{where}.{key}")
    try:
        return parse_quantity(d[key], dim, name=f"{where}.{key}")
    except WavegenError as exc:
        raise ConfigError(f"{where}.{key} = {d[key]!r}: {exc}") from exc


#: the [limits] keys that carry a unit (gamma, rasters and dead times included)
LIMIT_DIMENSIONS = {"max_grad": "T/m", "max_slew": "T/m/s", "max_b1": "T", "grad_raster": "s", "rf_raster": "s",
                     "adc_raster": "s", "block_raster": "s", "rf_dead_time": "s", "rf_ringdown_time": "s",
                     "adc_dead_time": "s", "gamma": "Hz/T"}
_BARE = re.compile(r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$")


def _needs_unit(value: Any, dim: str, where: str) -> None:
    """A dimensional value written as a bare number is ambiguous (ms or s? mT/m or T/m?): refused."""
    bare = isinstance(value, (int, float)) and not isinstance(value, bool) or (
        isinstance(value, str) and _BARE.match(value) is not None
    )
    if dim and bare:
        raise ConfigError(f'{where} = {value!r}: give the unit, e.g. "{value} {dim}" if that is what you mean')


#: units accepted for the amplifier calibration (to SI)
_A_PER_V = {"A/V": 1.0, "mA/V": 1e-3}
_T_PER_M_PER_A = {"T/m/A": 1.0, "mT/m/A": 1e-3, "uT/m/A": 1e-6, "µT/m/A": 1e-6}
_NUMBER_UNIT = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(\S*)\s*$")


def _ratio(d: dict[str, Any], key: str, units: dict[str, float], where: str) -> float:
    """A quantity in one of ``units`` (``"10 A/V"``, ``"0.1 mT/m/A"``), or a bare number in the first."""
    if key not in d:
        raise ConfigError(f"{where}.{key}: missing (a quantity in {next(iter(units))})")
    raw = d[key]
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        return float(raw)
    m = _NUMBER_UNIT.match(str(raw))
    if m is None or (m.group(2) and m.group(2) not in units):
        raise ConfigError(
            f"{where}.{key} = {raw!r}: write a number and one of the units {', '.join(units)} "
            f"(e.g. \"{'10' if 'A/V' in units else '0.1'} {next(iter(units))}\")"
        )
    return float(m.group(1)) * units.get(m.group(2) or next(iter(units)), 1.0)


def _check_daq_boards(
    instruments: dict[str, InstrumentConfig], outputs: dict[str, OutputChannel], captures: dict[str, CaptureChannel]
) -> None:
    """Every DAQ board's channels and rates against its capability table (drivers/daq_boards.py), before
    any instrument is touched: a channel the board lacks, an AI aggregate over its limit (a mock board
    with no model is the board the mock simulates)."""
    from wavegen.drivers.daq_boards import check_config

    for name, ic in instruments.items():
        if not ic.is_daq:
            continue
        model = ic.model
        if model is None and ic.resource == "mock":
            from wavegen.drivers.mock.bench import MOCK_DAQ_MODEL

            model = MOCK_DAQ_MODEL
        ao = sorted(oc.channel for oc in outputs.values() if oc.instrument == name)
        ai = sorted(c.channel for c in captures.values() if c.instrument == name)
        check_config(model, ao, ai, ic.rate_hz, instrument=name)


def positive_config(value: float, where: str, unit: str) -> float:
    """A configuration value that must be finite and > 0: :func:`wavegen.validate.positive` raising
    :class:`ConfigError`."""
    return positive(value, where, unit, error=ConfigError)


def _int(d: dict[str, Any], key: str, where: str) -> int:
    v = d.get(key)
    if v is None:
        raise ConfigError(f"{where}.{key}: missing (an integer)")
    if isinstance(v, bool) or not isinstance(v, int):
        raise ConfigError(f"{where}.{key} = {v!r} must be an integer")
    return v


def _instrument(name: str, d: dict[str, Any], mock: bool) -> InstrumentConfig:
    where = f"instruments.{name}"
    if not isinstance(d, dict):
        raise ConfigError(f"{where} must be a table, got {d!r}")
    _unknown(d, _INSTR_KEYS, where)
    driver = d.get("driver")
    from wavegen.drivers.registry import families  # the registry imports no driver

    known = families()
    if driver not in known:
        raise ConfigError(f"{where}.driver = {driver!r}: unknown driver; known: {', '.join(sorted(known))}")
    resource = d.get("resource")
    if not isinstance(resource, str) or not resource:
        raise ConfigError(f"{where}.resource = {resource!r}: missing or not a string")
    if resource == "mock":
        if not mock:
            raise ConfigError(f"{where}.resource = 'mock' needs [bench] mock = true")
    elif driver == "nidaq":
        if not _DAQ_DEVICE.match(resource):
            raise ConfigError(f"{where}.resource = {resource!r}: not a DAQmx device name such as 'Dev1'")
    elif not _VISA.match(resource):
        raise ConfigError(
            f"{where}.resource = {resource!r}: not a VISA resource string "
            "(e.g. 'TCPIP0::192.0.2.5::5025::SOCKET', 'TCPIP0::host::inst0::INSTR', 'USB0::...::INSTR')"
        )
    rate = positive_config(_qty(d, "rate", "Hz", where, 1e6), f"{where}.rate", "Hz")
    if driver == "nidaq":
        div = 100e6 / rate
        if abs(div - round(div)) > 1e-9 * div:
            raise ConfigError(f"{where}.rate = {rate!r} Hz: a DAQ sample clock must divide its 100 MHz timebase")
        rng = positive_config(_qty(d, "range", "V", where, 10.0), f"{where}.range", "V")
        if rng > 10.0:
            raise ConfigError(f"{where}.range = {rng} V: beyond the +-10 V of NI DAQ analog outputs")
        irng = positive_config(_qty(d, "input_range", "V", where, 10.0), f"{where}.input_range", "V")
        if irng > 10.0:
            raise ConfigError(f"{where}.input_range = {irng} V: beyond the +-10 V of NI DAQ analog inputs")
        load: float | None = None
    else:
        load_text = d.get("load", "50 ohm")
        if not isinstance(load_text, str) or load_text.replace(" ", "").lower() not in ("50ohm", "high-z", "highz"):
            raise ConfigError(f"{where}.load = {load_text!r}: use '50 ohm' or 'high-Z'")
        load = 50.0 if load_text.replace(" ", "").lower() == "50ohm" else None
        reach = 5.0 * (2.0 if load is None else 1.0)  # the families' +-5 V into 50 ohm (Keysight 33500)
        rng = positive_config(_qty(d, "range", "V", where, reach), f"{where}.range", "V")
        if rng > 10.0 * (2.0 if load is None else 1.0):
            raise ConfigError(f"{where}.range = {rng} V: beyond what an AWG output can drive into {load_text}")
        irng = 0.0
    model = d.get("model")
    if model is not None and not isinstance(model, str):
        raise ConfigError(f"{where}.model = {model!r} must be a string")
    return InstrumentConfig(name, str(driver), resource, rate, rng, irng, load, model)


def _output(name: str, d: dict[str, Any], instruments: dict[str, InstrumentConfig]) -> tuple[OutputChannel, float]:
    where = f"channels.{name}"
    if not isinstance(d, dict):
        raise ConfigError(f"{where} must be a table, got {d!r}")
    _unknown(d, _CHANNEL_KEYS, where)
    inst = d.get("instrument")
    if inst not in instruments:
        raise ConfigError(f"{where}.instrument = {inst!r}: no such instrument; have {', '.join(instruments)}")
    ic = instruments[str(inst)]
    ch = _int(d, "channel", where)
    if ch < (0 if ic.is_daq else 1):
        first = "DAQ ao numbers start at 0" if ic.is_daq else "AWG outputs start at 1"
        raise ConfigError(f"{where}.channel = {ch}: {first}")
    kind = kind_of(name)
    max_slew = math.inf
    if kind == "digital":
        if "volts_per_unit" in d or "amplifier" in d:
            raise ConfigError(f"{where}: a digital channel has a 'high' level, not a calibration")
        vpu = positive_config(_qty(d, "high", "V", where, 5.0), f"{where}.high", "V")
    elif "amplifier" in d:
        if "volts_per_unit" in d:
            raise ConfigError(f"{where}: give volts_per_unit or amplifier, not both")
        if kind != "gradient":
            raise ConfigError(f"{where}.amplifier: amplifier calibrations are for gradient channels")
        amp = d["amplifier"]
        if not isinstance(amp, dict):
            raise ConfigError(f"{where}.amplifier must be a table, got {amp!r}")
        _unknown(amp, _AMP_KEYS, f"{where}.amplifier")
        a_per_v = positive_config(
            _ratio(amp, "a_per_v", _A_PER_V, f"{where}.amplifier"), f"{where}.amplifier.a_per_v", "A/V"
        )
        t_per_a = positive_config(
            _ratio(amp, "t_per_m_per_a", _T_PER_M_PER_A, f"{where}.amplifier"), f"{where}.amplifier.t_per_m_per_a",
            "T/m/A",
        )
        vpu = 1.0 / (a_per_v * t_per_a)
        if "max_slew" in amp:
            max_slew = _qty(amp, "max_slew", "T/m/s", f"{where}.amplifier")
    else:
        dim = "V/(T/m)" if kind == "gradient" else "V/T"
        vpu = positive_config(_qty(d, "volts_per_unit", dim, where), f"{where}.volts_per_unit", dim)
    rng = positive_config(_qty(d, "range", "V", where, ic.range_v), f"{where}.range", "V")
    if rng > ic.range_v * (1 + 1e-12):
        raise ConfigError(f"{where}.range = {rng} V exceeds instruments.{ic.name}.range = {ic.range_v} V")
    if isinstance(d.get("amplifier"), dict) and "max_input" in d["amplifier"]:
        mi = _qty(d["amplifier"], "max_input", "V", f"{where}.amplifier")
        rng = min(rng, positive_config(mi, f"{where}.amplifier.max_input", "V"))
    off = _qty(d, "offset", "V", where, 0.0) if "offset" in d else 0.0
    try:
        return OutputChannel(name, ic.name, ch, vpu, rng, off), max_slew
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from exc


def parse_config(cfg: dict[str, Any]) -> BenchConfig:
    """Validate a bench description (the dict of a TOML file) into a :class:`BenchConfig`.

    Raises
    ------
    ConfigError
        Naming the key and the value (see the module docstring). Touches no instrument.
    """
    if not isinstance(cfg, dict):
        raise ConfigError(f"a bench configuration is a table (dict), got {type(cfg).__name__}")
    _unknown(cfg, {"bench", "limits", "instruments", "channels", "capture", "rf_amplifier"}, "(top level)")
    b = _table(cfg, "bench", "", required=False)
    _unknown(b, _BENCH_KEYS, "bench")
    mode = b.get("mode", "normal")
    if mode not in MODES:
        raise ConfigError(f"bench.mode = {mode!r}: use one of {', '.join(MODES)}")
    patient = b.get("patient", False)
    mock = b.get("mock", False)
    for key, v in (("patient", patient), ("mock", mock)):
        if not isinstance(v, bool):
            raise ConfigError(f"bench.{key} = {v!r} must be true or false")
    trigger = b.get("trigger", "bus")
    if trigger not in ("bus", "external"):
        raise ConfigError(f"bench.trigger = {trigger!r}: use 'bus' (software) or 'external'")
    lead = _qty(b, "lead", "s", "bench", 100e-6)
    tail = _qty(b, "tail", "s", "bench", 3e-3)
    for key, v in (("lead", lead), ("tail", tail)):
        if not (0 <= v <= 1.0):
            raise ConfigError(f"bench.{key} = {v!r} s must be within 0..1 s")
    seed = b.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ConfigError(f"bench.seed = {seed!r} must be an integer")
    name = str(b.get("name", "bench"))

    lim_t = _table(cfg, "limits", "", required=False)
    for key, value in lim_t.items():
        if key in LIMIT_DIMENSIONS:
            _needs_unit(value, LIMIT_DIMENSIONS[key], f"limits.{key}")
    try:
        limits = SystemLimits.from_units(**lim_t)
    except WavegenError as exc:
        raise ConfigError(f"limits: {exc} (given: {lim_t!r})") from exc

    inst_t = _table(cfg, "instruments", "")
    if not inst_t:
        raise ConfigError("instruments: no instrument configured")
    instruments = {n: _instrument(n, d, bool(mock)) for n, d in inst_t.items()}

    ch_t = _table(cfg, "channels", "")
    for n in ch_t:
        if n not in OUTPUT_NAMES:
            raise ConfigError(f"channels.{n}: unknown channel; known: {', '.join(OUTPUT_NAMES)}")
    if not any(n in ch_t for n in GRADIENT_CHANNELS + RF_CHANNELS):
        raise ConfigError("channels: no gradient (gx, gy, gz) or RF (rf_i, rf_q) channel configured")
    outputs: dict[str, OutputChannel] = {}
    slews: dict[str, float] = {}
    for n, d in ch_t.items():
        outputs[n], slews[n] = _output(n, d, instruments)
    for n, oc in outputs.items():
        if instruments[oc.instrument].is_daq and n in DIGITAL_CHANNELS and oc.volts_per_unit > oc.range_v:
            raise ConfigError(f"channels.{n}.high = {oc.volts_per_unit} V exceeds the channel range {oc.range_v} V")

    cap_t = _table(cfg, "capture", "", required=False)
    captures: dict[str, CaptureChannel] = {}
    for n, d in cap_t.items():
        where = f"capture.{n}"
        if n not in GRADIENT_CHANNELS + RF_CHANNELS:
            raise ConfigError(f"{where}: only {', '.join(GRADIENT_CHANNELS + RF_CHANNELS)} can be captured")
        if not isinstance(d, dict):
            raise ConfigError(f"{where} must be a table, got {d!r}")
        _unknown(d, _CAPTURE_KEYS, where)
        inst = d.get("instrument")
        if inst not in instruments:
            raise ConfigError(f"{where}.instrument = {inst!r}: no such instrument; have {', '.join(instruments)}")
        if not instruments[str(inst)].is_daq:
            raise ConfigError(f"{where}.instrument = {inst!r}: captures are read by a DAQ (driver 'nidaq')")
        if n not in outputs:
            raise ConfigError(f"{where}: channels.{n} is missing (nothing plays what this would capture)")
        if not any(o.instrument == inst for o in outputs.values()):
            raise ConfigError(f"{where}: the capture DAQ {inst!r} plays no output, so nothing starts its inputs")
        dim = "V/(T/m)" if kind_of(n) == "gradient" else "V/T"
        vpu = positive_config(_qty(d, "volts_per_unit", dim, where), f"{where}.volts_per_unit", dim)
        captures[n] = CaptureChannel(n, str(inst), _int(d, "channel", where), vpu)
    if ("rf_i" in captures) != ("rf_q" in captures):
        raise ConfigError("capture: RF capture needs both rf_i and rf_q")
    try:
        cmap = ChannelMap(outputs, captures)
    except ConfigError as exc:
        raise ConfigError(str(exc)) from exc

    _check_daq_boards(instruments, outputs, captures)
    rf_rates = {instruments[outputs[c].instrument].rate_hz for c in RF_CHANNELS if c in outputs}
    if len(rf_rates) > 1:
        raise ConfigError(
            f"channels: rf_i and rf_q play at different rates {sorted(rf_rates)} Hz (their instruments' rates); "
            "the I/Q pair must share one rate"
        )
    if ("rf_i" in outputs) != ("rf_q" in outputs):
        raise ConfigError("channels: RF needs both rf_i and rf_q (the complex envelope's two parts)")
    rates = {instruments[outputs[g].instrument].rate_hz for g in GRADIENT_CHANNELS if g in outputs}
    if len(rates) > 1:
        raise ConfigError(f"channels: the gradient outputs run at different rates {sorted(rates)} Hz; use one rate")
    cmap.check_limits(limits.max_grad_t_per_m, limits.max_b1_t)
    for n, s in slews.items():
        if limits.max_slew_t_per_m_per_s > s:
            raise ConfigError(
                f"limits.max_slew = {limits.max_slew_t_per_m_per_s:g} T/m/s exceeds "
                f"channels.{n}.amplifier.max_slew = {s:g} T/m/s (the amplifier cannot slew that fast)"
            )
    rf_amp = _rf_amplifier(_table(cfg, "rf_amplifier", "", required=False))
    return BenchConfig(
        name=name,
        instruments=instruments,
        channel_map=cmap,
        limits=limits,
        mode=str(mode),
        patient=bool(patient),
        mock=bool(mock),
        trigger=str(trigger),
        lead_s=lead,
        tail_s=tail,
        seed=int(seed),
        amp_max_slew={k: v for k, v in slews.items() if math.isfinite(v)},
        rf_amplifier=rf_amp,
    )


def _rf_amplifier(d: dict[str, Any]) -> Any:
    """The optional ``[rf_amplifier]`` table: the RF amplifier's ratings and its B1 calibration, which
    every safety check of the bench then judges (peak and average power, duty cycle, pulse length).

    ``peak_power = "2 kW"`` and ``b1_at_peak_power = "25 uT"`` (the B1 the coil makes at that power)
    are required; ``average_power`` (+ ``average_window``), ``max_duty_cycle`` (+ ``duty_window``) and
    ``max_pulse`` are optional.
    """
    if not d:
        return None
    from wavegen.safety.rfpower import RfAmplifier

    where = "rf_amplifier"
    _unknown(d, _RF_AMP_KEYS, where)
    for key in ("peak_power", "b1_at_peak_power"):
        if key not in d:
            raise ConfigError(f"{where}.{key}: missing (needed to turn B1 into amplifier power)")
    peak = positive_config(_qty(d, "peak_power", "W", where), f"{where}.peak_power", "W")
    b1 = positive_config(_qty(d, "b1_at_peak_power", "T", where), f"{where}.b1_at_peak_power", "T")
    kwargs: dict[str, Any] = {"peak_power_w": peak, "watts_per_t2": peak / (b1 * b1)}
    if "average_power" in d:
        kwargs["average_power_w"] = positive_config(_qty(d, "average_power", "W", where), f"{where}.average_power", "W")
        kwargs["average_window_s"] = positive_config(_qty(d, "average_window", "s", where, 10.0),
                                               f"{where}.average_window", "s")
    if "max_duty_cycle" in d:
        duty = d["max_duty_cycle"]
        if isinstance(duty, bool) or not isinstance(duty, (int, float)) or not 0 < duty <= 1:
            raise ConfigError(f"{where}.max_duty_cycle = {duty!r} must be a fraction in (0, 1]")
        kwargs["max_duty_cycle"] = float(duty)
        kwargs["duty_window_s"] = positive_config(_qty(d, "duty_window", "s", where, 10.0), f"{where}.duty_window", "s")
    if "max_pulse" in d:
        kwargs["max_pulse_s"] = positive_config(_qty(d, "max_pulse", "s", where), f"{where}.max_pulse", "s")
    try:
        return RfAmplifier(**kwargs)
    except WavegenError as exc:
        raise ConfigError(f"{where}: {exc}") from exc
