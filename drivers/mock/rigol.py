"""Emulator of a Rigol DG1000Z / DG800: its SCPI tree (as data), DAC16 packets, readback, burst.

Syntax and limits follow the DG1000Z Programming Guide (``:SOURce:TRACe:DATA:DAC16``, ``:TRACe:DATA:DAC``,
``:TRACe:DATA:LOAD?``, ``:FUNCtion:ARB:MODE``, ``:APPLy``, ``:BURSt``, ``:OUTPut``) and the DG800 guide.

- ``:SOUR1:TRAC:DATA:DAC16 VOLATILE,CON|END,#<block>``: 8..16384 points per packet (else
  ``-222,"Data out of range"`` and the upload in progress is discarded), codes 0..0x3FFF little-endian,
  total length within the model's memory; ``END`` commits the waveform and switches the channel to
  arbitrary output. ``:TRAC:DATA:DAC VOLATILE,<block | v1,v2,...>`` sends one packet of 8..16384 points.
- In frequency mode (``:FUNC:ARB:MODE FREQ``, the default) data of at most 8192 points are stretched to
  8192 points (linear interpolation), longer data switch the channel to sample-rate mode; send
  ``:FUNC:ARB:MODE SRAT`` before the data to keep the points as sent (guide, ``:TRACe:DATA:DAC``).
- ``:TRAC:DATA:LOAD? VOLATILE`` answers the number of readback packets, ``:TRAC:DATA:LOAD? <k>`` packet
  *k*: :attr:`RigolPersonality.readback_packet_points` points (8192 by default: the guide's example
  answer header is ``#9000016384``, 16 KiB).
- ``:OUTPut?`` answers ``ON``/``OFF``; ``:OUTPut:LOAD?`` answers ``9.9E+37`` for high-Z.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .scpi_tree import (
    SYSTEM_ERROR_COMMANDS,
    Boolean,
    Choice,
    Cmd,
    Context,
    Integer,
    Number,
    Rest,
    ScpiCommandError,
    Text,
    mnemonic_forms,
)
from .server import Personality, ScpiEmulator

__all__ = ["RigolPersonality", "rigol_emulator"]

_MODELS = {  # model: (channels, max sample rate Sa/s, memory points, max sine frequency Hz)
    "DG1022Z": (2, 200e6, 2_000_000, 25e6),
    "DG1032Z": (2, 200e6, 8_000_000, 30e6),
    "DG1062Z": (2, 200e6, 8_000_000, 60e6),
    "DG812": (2, 125e6, 2_000_000, 10e6),
    "DG822": (2, 125e6, 2_000_000, 25e6),
    "DG832": (2, 125e6, 2_000_000, 35e6),
}
PACKET_MIN, PACKET_MAX = 8, 16384
FREQ_MODE_POINTS = 8192


@dataclass
class _Chan:
    pending: list[np.ndarray] = field(default_factory=list)
    wave: np.ndarray | None = None
    function: str = "SIN"
    arb_mode: str = "FREQ"
    freq_hz: float = 1e3
    srate_hz: float = 1e6
    vpp: float = 5.0
    offset_v: float = 0.0
    phase_deg: float = 0.0
    duty_pct: float = 50.0
    width_s: float = 500e-6
    output: bool = False
    sync: bool = True
    load_ohm: float = 50.0
    burst: bool = False
    burst_mode: str = "TRIG"
    ncycles: int = 1
    trig_source: str = "INT"
    triggers: int = 0

    @property
    def load(self) -> str:
        """``"INF"`` or the load in ohms as text (what the front panel shows)."""
        return "INF" if math.isinf(self.load_ohm) else f"{self.load_ohm:g}"


_S = "[SOURce#:]"
_VOLT = _S + "VOLTage[:LEVel][:IMMediate]"
_ONOFF = Boolean(answers=("ON", "OFF"))
_LOAD = Number(1.0, 10e3, 50.0, unit="OHM", specials=(("INFinity", math.inf),))
_APPLY_FUNCS = ("SINusoid", "SQUare", "RAMP", "PULSe", "NOISe", "USER", "HARMonic", "CUSTom", "DC", "ARB")


# what the parameters of :APPLy:<function> [p1[,p2[,p3[,p4]]]] set (None: a placeholder)
_APPLY_FIELDS: dict[str, tuple[str | None, ...]] = {
    "NOIS": ("vpp", "offset_v"),
    "DC": (None, None, "offset_v"),
    "ARB": ("srate_hz", "vpp", "offset_v", "phase_deg"),
}


def _apply(func: str) -> Cmd:
    return Cmd(_S + "APPLy:" + func, (Number(), Number(), Number(), Number()), on_set="_apply", optional=4,
               query=False)  # fmt: skip


class RigolPersonality(Personality):
    """A DG1000Z / DG800 model."""

    number_format = "{:.6E}"

    COMMANDS = (
        *SYSTEM_ERROR_COMMANDS,
        Cmd("OUTPut#[:STATe]", (_ONOFF,), attr="output"),
        Cmd("OUTPut#:LOAD", (_LOAD,), attr="load_ohm", check="_check_load"),
        Cmd("OUTPut#:IMPedance", (_LOAD,), attr="load_ohm", check="_check_load"),
        Cmd("OUTPut#:SYNC[:STATe]", (_ONOFF,), attr="sync"),
        Cmd(_S + "FUNCtion[:SHAPe]", (Choice("SINusoid", "SQUare", "RAMP", "PULSe", "NOISe", "USER", "HARMonic",
                                             "CUSTom", "DC", "ARB"),), attr="function"),
        Cmd(_S + "FUNCtion:ARB:MODE", (Choice("FREQuency", "SRATe"),), attr="arb_mode"),
        Cmd(_S + "FUNCtion:ARB:SRATe", (Number(1e-6, "max_rate_hz", 1e6, unit="SA/S"),), attr="srate_hz"),
        Cmd(_S + "FREQuency[:FIXed]", (Number(1e-6, "max_freq_hz", 1e3, unit="HZ"),), attr="freq_hz"),
        Cmd(_S + "PHASe[:ADJust]", (Number(0.0, 360.0, 0.0, unit="DEG"),), attr="phase_deg"),
        Cmd(_S + "PULSe:DCYCle", (Number(0.001, 99.999, 50.0),), attr="duty_pct"),
        Cmd(_S + "PULSe:WIDTh", (Number(16e-9, 1e6, 500e-6, unit="S"),), attr="width_s"),
        Cmd(_VOLT + "[:AMPLitude]", (Number(1e-3, 20.0, 5.0, unit="V"),), attr="vpp", check="_check_vpp"),
        Cmd(_VOLT + ":OFFSet", (Number(-10.0, 10.0, 0.0, unit="V"),), attr="offset_v", check="_check_offset"),
        *(_apply(f) for f in _APPLY_FUNCS),
        Cmd(_S + "APPLy", on_query="_q_apply", command=False),
        Cmd(_S + "BURSt[:STATe]", (_ONOFF,), attr="burst"),
        Cmd(_S + "BURSt:MODE", (Choice("TRIGgered", "GATed", "INFinity"),), attr="burst_mode"),
        Cmd(_S + "BURSt:NCYCles", (Integer(1, 1_000_000, 1),), attr="ncycles"),
        Cmd(_S + "BURSt:TRIGger:SOURce", (Choice("INTernal", "EXTernal", "MANual"),), attr="trig_source"),
        Cmd(_S + "BURSt:TRIGger[:IMMediate]", on_set="_burst_trigger", query=False),
        Cmd(_S + "TRACe:DATA:DAC16", (Choice("VOLATILE"), Choice("CON", "END"), Rest()), on_set="_dac16",
            query=False),
        Cmd(_S + "TRACe:DATA:DAC", (Choice("VOLATILE"), Rest()), on_set="_dac", query=False),
        Cmd(_S + "TRACe:DATA[:DATA]", (Choice("VOLATILE"), Rest()), on_set="_float_data", query=False),
        Cmd(_S + "TRACe:DATA:LOAD", on_query="_q_load", command=False, query_params=(Text(upper=True),)),
    )

    def __init__(
        self, model: str = "DG1062Z", *, serial: str = "DG1ZA000000001", readback_packet_points: int = 8192
    ) -> None:
        if model not in _MODELS:
            raise ValueError(f"unknown model {model}")
        super().__init__(f"Rigol Technologies,{model},{serial},00.01.14")
        self.model = model
        self.n_channels, self.max_rate_hz, self.max_points, self.max_freq_hz = _MODELS[model]
        self.readback_packet_points = readback_packet_points
        self.packets_received = 0
        self.reset()

    def reset(self) -> None:
        self.ch = {c: _Chan() for c in range(1, self.n_channels + 1)}

    def on_disconnect(self) -> None:
        # a CON sequence cut off by a lost connection is discarded (assumed behaviour (~))
        for c in self.ch.values():
            c.pending.clear()

    def bus_trigger(self) -> None:
        for c in self.ch.values():
            if c.burst and c.trig_source == "MAN":
                c.triggers += 1

    def output_codes(self, channel: int) -> np.ndarray:
        """The 14-bit codes *channel* holds (what it plays, sample by sample)."""
        c = self.ch[channel]
        if c.wave is None:
            raise RuntimeError(f"channel {channel} has no arbitrary waveform")
        return c.wave.copy()

    def output_volts(self, channel: int) -> tuple[float, np.ndarray]:
        """(sample rate Hz, volts) on *channel* (zeros while the output is off)."""
        c = self.ch[channel]
        v = (self.output_codes(channel).astype(np.float64) - 8191.5) / 8191.5 * (c.vpp / 2.0) + c.offset_v
        return c.srate_hz, v if c.output else np.zeros_like(v)

    # -- checks
    def _limit_v(self, c: _Chan) -> float:
        return 10.0 if math.isinf(c.load_ohm) else 5.0

    def _check_vpp(self, ctx: Context, vpp: float) -> None:
        c = self.ch[ctx.channel]
        lim = self._limit_v(c)
        if not 1e-3 * lim / 5 <= vpp <= 2 * lim or abs(c.offset_v) + vpp / 2 > lim + 1e-12:
            raise ScpiCommandError(-222, f"{vpp:g} Vpp with {c.offset_v:g} V offset")

    def _check_offset(self, ctx: Context, off: float) -> None:
        c = self.ch[ctx.channel]
        if abs(off) + c.vpp / 2 > self._limit_v(c) + 1e-12:
            raise ScpiCommandError(-222, f"{off:g} V offset with {c.vpp:g} Vpp")

    def _check_load(self, ctx: Context, load: float) -> None:
        return None

    # -- APPLy
    def _apply(self, ctx: Context, *values: float) -> None:
        c = self.ch[ctx.channel]
        func = mnemonic_forms(ctx.cmd.pattern.rsplit(":", 1)[-1])[1]
        fields = _APPLY_FIELDS.get(func, ("freq_hz", "vpp", "offset_v", "phase_deg"))
        new = {f: v for f, v in zip(fields, values, strict=False) if f is not None}
        if "freq_hz" in new and not 1e-6 <= new["freq_hz"] <= self.max_freq_hz:
            raise ScpiCommandError(-222, f"{new['freq_hz']:g} Hz outside 1e-06..{self.max_freq_hz:g}")
        if "srate_hz" in new and not 1e-6 <= new["srate_hz"] <= self.max_rate_hz:
            raise ScpiCommandError(-222, f"{new['srate_hz']:g} Sa/s outside 1e-06..{self.max_rate_hz:g}")
        vpp, off = new.get("vpp", c.vpp), new.get("offset_v", c.offset_v)
        lim = self._limit_v(c)
        if abs(off) + (0.0 if func == "DC" else vpp / 2) > lim + 1e-12:
            raise ScpiCommandError(-222, f"{vpp:g} Vpp with {off:g} V offset")
        for name, v in new.items():
            setattr(c, name, v)
        c.function = func

    def _q_apply(self, ctx: Context) -> str:
        c = self.ch[ctx.channel]
        f = self.number_format.format
        return f'"{c.function},{f(c.freq_hz)},{f(c.vpp)},{f(c.offset_v)},{f(c.phase_deg)}"'

    # -- burst
    def _burst_trigger(self, ctx: Context) -> None:
        c = self.ch[ctx.channel]
        if c.burst and c.trig_source == "MAN":
            c.triggers += 1

    # -- arbitrary data
    def _packet(self, ctx: Context, codes: np.ndarray, last: bool) -> None:
        c = self.ch[ctx.channel]
        self.packets_received += 1
        n = codes.size
        if not PACKET_MIN <= n <= PACKET_MAX:
            c.pending.clear()
            raise ScpiCommandError(-222, f"packet of {n} points: 8 to 16384 points per packet")
        if int(codes.max()) > 0x3FFF or int(codes.min()) < 0:
            c.pending.clear()
            raise ScpiCommandError(-222, "code outside 0..16383")
        c.pending.append(codes.astype(np.uint16))
        if sum(p.size for p in c.pending) > self.max_points:
            c.pending.clear()
            raise ScpiCommandError(-223, f"more than {self.max_points} points")
        if last:
            wave = np.concatenate(c.pending)
            c.pending.clear()
            if c.arb_mode == "FREQ":
                if wave.size <= FREQ_MODE_POINTS:
                    wave = _stretch(wave, FREQ_MODE_POINTS)
                else:
                    c.arb_mode = "SRAT"
            c.wave = wave
            c.function = "ARB"

    def _dac16(self, ctx: Context, _vol: str, flag: str, data: list[str] | bytes | bytearray) -> None:
        if not isinstance(data, bytes | bytearray):
            raise ScpiCommandError(-104, "DAC16 takes a definite-length block")
        if len(data) % 2:
            self.ch[ctx.channel].pending.clear()
            raise ScpiCommandError(-222, "odd byte count")
        self._packet(ctx, np.frombuffer(data, "<u2"), flag == "END")

    def _dac(self, ctx: Context, _vol: str, data: list[str] | bytes | bytearray) -> None:
        if isinstance(data, bytes | bytearray):
            if len(data) % 2:
                raise ScpiCommandError(-222, "odd byte count")
            codes = np.frombuffer(data, "<u2")
        else:
            try:
                codes = np.array([float(v) for v in data]).round().astype(np.int64)
            except ValueError:
                raise ScpiCommandError(-104, "DAC values must be numbers") from None
        self.ch[ctx.channel].pending.clear()
        self._packet(ctx, codes, True)

    def _float_data(self, ctx: Context, _vol: str, data: list[str] | bytes | bytearray) -> None:
        if isinstance(data, bytes | bytearray):
            raise ScpiCommandError(-104, "TRACe:DATA takes decimal values")
        try:
            x = np.array([float(v) for v in data])
        except ValueError:
            raise ScpiCommandError(-104, "values must be numbers") from None
        if x.size and np.max(np.abs(x)) > 1.0:
            raise ScpiCommandError(-222, "value outside -1..1")
        self.ch[ctx.channel].pending.clear()
        self._packet(ctx, np.rint((x + 1.0) * 8191.5).astype(np.int64), True)

    def _q_load(self, ctx: Context, which: str) -> str | bytes:
        c = self.ch[ctx.channel]
        per = self.readback_packet_points
        n = 0 if c.wave is None else -(-c.wave.size // per)
        if which in ("VOLATILE", "VOL"):
            return str(n)
        try:
            k = int(which)
        except ValueError:
            raise ScpiCommandError(-224, which) from None
        if not 1 <= k <= n or c.wave is None:
            self.push_error(-222, f"packet {k} of {n}")
            return b"#10"
        part = c.wave[(k - 1) * per : k * per].astype("<u2").tobytes()
        part = self.corrupt(part, 2) if k == 1 else part
        return b"#9" + f"{len(part):09d}".encode() + part


def _stretch(wave: np.ndarray, n: int) -> np.ndarray:
    """Linear interpolation of *wave* onto *n* points spanning the same period."""
    x = np.arange(n) * (wave.size / n)
    return np.rint(np.interp(x, np.arange(wave.size), wave.astype(np.float64), period=wave.size)).astype(np.uint16)


def rigol_emulator(model: str = "DG1062Z", **kwargs: int) -> ScpiEmulator:
    """An unstarted emulator running a :class:`RigolPersonality` (use ``with``)."""
    return ScpiEmulator(RigolPersonality(model, **kwargs))  # type: ignore[arg-type]
