"""Emulator of a Siglent SDG (header-less ``WVDT`` upload ended by a pause, ``WVDT?`` readback, TrueArb).

The commands follow the SDG series programming guide: ``C<n>:BaSic_WaVe`` (short ``BSWV``),
``C<n>:OUTPut``, ``C<n>:ARbWaVe``, ``C<n>:SampleRATE``, ``C<n>:BursTWaVe``, ``C<n>:WaVeDaTa`` and
``WVDT? USER,<name>``, each with its query answered in the instrument's ``<header> <name>,<value>,...``
form. Parameters are name/value pairs (``C1:BSWV AMP,2,OFST,0``).

What the SDG lacks, the emulator lacks too: there is no ``SYSTem:ERRor?`` (an independent, bench-tested
SDG1032X driver reports that the SDG1000X has none and leaves unknown queries unanswered), so an unknown
command or query gets no answer at all and a driver that waits for one times out. The IEEE 488.2
common commands are there (``*IDN? *OPC? *RST *CLS *ESR? *ESE *STB?``): what the instrument flags (an
unknown header, a bad parameter, an odd byte count) sets the command / execution error bits of the
standard event status register read by ``*ESR?``; the entries themselves stay in
:attr:`SiglentPersonality.errors` for tests to inspect, never answered.

The raw ``WAVEDATA`` payload ends when the line stays quiet for :attr:`raw_idle_s` (the server's raw
mode), so a driver that talks again too soon gets its next command stored inside the waveform, as with
the real instrument (pyvisa-py#311). Burst counts are limited to 1..1,000,000 cycles (``BTWV TIME``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .scpi_tree import Cmd, Context, Rest, ScpiCommandError, Text
from .server import Personality, ScpiEmulator

__all__ = ["SiglentPersonality", "siglent_emulator"]

_MODELS = {  # model: (TrueArb max rate Sa/s, max points, max sine frequency Hz)
    "SDG1032X": (30e6, 16384, 30e6),
    "SDG1062X": (30e6, 16384, 60e6),
    "SDG2042X": (300e6, 8_388_608, 40e6),
    "SDG2122X": (300e6, 8_388_608, 120e6),
    "SDG6052X": (1.2e9, 20_000_000, 500e6),
}
MAX_BURST_CYCLES = 1_000_000
_WVTP = ("SINE", "SQUARE", "RAMP", "PULSE", "NOISE", "ARB", "DC", "PRBS", "IQ")


@dataclass
class _Chan:
    selected: str | None = None
    wvtp: str = "SINE"
    freq_hz: float = 1e3
    srate_hz: float = 1e6
    interp: str = "HOLD"
    mode: str = "DDS"
    vpp: float = 4.0
    offset_v: float = 0.0
    phase_deg: float = 0.0
    output: bool = False
    load: str = "HZ"
    polarity: str = "NOR"
    burst: bool = False
    trig_source: str = "INT"
    ncycles: int = 1
    triggers: int = 0


def _g(v: float) -> str:
    return f"{v:.10g}"


def _pairs(fields: list[str]) -> dict[str, str]:
    if len(fields) % 2:
        raise ScpiCommandError(-109, "parameters come in name,value pairs")
    return {k.strip().upper(): v.strip() for k, v in zip(fields[0::2], fields[1::2], strict=True)}


def _float(text: str, what: str) -> float:
    t = text.strip().upper()
    for unit in ("SA/S", "HZ", "VRMS", "V", "S"):
        if t.endswith(unit):
            t = t[: -len(unit)]
            break
    try:
        return float(t)
    except ValueError:
        raise ScpiCommandError(-104, f"{what} {text!r}") from None


class SiglentPersonality(Personality):
    """An SDG model."""

    raw_marker = b"WAVEDATA,"
    raw_idle_s = 0.05
    silent_unknown = True
    channel_nodes = ("C",)
    COMMON = frozenset({"*IDN", "*OPC", "*RST", "*CLS", "*ESR", "*ESE", "*STB"})

    COMMANDS = (
        Cmd("C#:OUTPut", (Rest(),), on_set="_set_outp", on_query="_q_outp"),
        Cmd("C#:BaSic_WaVe", (Rest(),), on_set="_set_bswv", on_query="_q_bswv"),
        Cmd("C#:ARbWaVe", (Rest(),), on_set="_set_arwv", on_query="_q_arwv"),
        Cmd("C#:SampleRATE", (Rest(),), on_set="_set_srate", on_query="_q_srate"),
        Cmd("C#:BursTWaVe", (Rest(),), on_set="_set_btwv", on_query="_q_btwv"),
        Cmd("C#:WaVeDaTa", (Rest(),), on_set="_wvdt", query=False),
        Cmd("WaVeDaTa", on_query="_q_wvdt", command=False, query_params=(Text(upper=True), Text())),
        Cmd("StoreList", on_query="_q_stl", command=False, query_params=(Text(upper=True),), query_optional=1),
    )

    def __init__(self, model: str = "SDG2042X", *, serial: str = "SDG2XCAD1R0001") -> None:
        if model not in _MODELS:
            raise ValueError(f"unknown model {model}")
        super().__init__(f"Siglent Technologies,{model},{serial},2.01.01.35R3")
        self.model = model
        self.n_channels = 2
        self.max_rate_hz, self.max_points, self.max_freq_hz = _MODELS[model]
        self.reset()

    def reset(self) -> None:
        self.waves: dict[str, np.ndarray] = {}
        self.ch = {1: _Chan(), 2: _Chan()}

    def output_codes(self, channel: int) -> np.ndarray:
        """The int16 samples *channel* plays (its selected TrueArb waveform)."""
        c = self.ch[channel]
        if c.selected is None:
            raise RuntimeError(f"channel {channel} has no arbitrary waveform")
        return self.waves[c.selected].copy()

    def output_volts(self, channel: int) -> tuple[float, np.ndarray]:
        """(sample rate Hz, volts) on *channel* (zeros while the output is off)."""
        c = self.ch[channel]
        v = self.output_codes(channel).astype(np.float64) / 32767.0 * (c.vpp / 2.0) + c.offset_v
        return c.srate_hz, v if c.output else np.zeros_like(v)

    def _scale(self, c: _Chan) -> float:
        return 2.0 if c.load == "HZ" else 1.0

    # -- OUTPut
    def _set_outp(self, ctx: Context, fields: list[str]) -> None:
        c = self.ch[ctx.channel]
        if not fields:
            raise ScpiCommandError(-109)
        state = fields[0].strip().upper()
        if state in ("ON", "OFF"):
            c.output = state == "ON"
            fields = fields[1:]
        pairs = _pairs(fields)
        if "LOAD" in pairs:
            load = pairs["LOAD"].upper()
            if load not in ("HZ", "50"):
                val = _float(load, "LOAD")
                if not 50 <= val <= 1e5:
                    raise ScpiCommandError(-222, f"load {val:g} ohm")
                load = _g(val)
            c.load = load
        if "PLRT" in pairs:
            pol = pairs["PLRT"].upper()
            if pol not in ("NOR", "INVT"):
                raise ScpiCommandError(-224, pol)
            c.polarity = pol

    def _q_outp(self, ctx: Context) -> str:
        c = self.ch[ctx.channel]
        return f"C{ctx.channel}:OUTP {'ON' if c.output else 'OFF'},LOAD,{c.load},PLRT,{c.polarity}"

    # -- BaSic_WaVe
    def _set_bswv(self, ctx: Context, fields: list[str]) -> None:
        c = self.ch[ctx.channel]
        pairs = _pairs(fields)
        s = self._scale(c)
        if "WVTP" in pairs:
            wvtp = pairs["WVTP"].upper()
            if wvtp not in _WVTP:
                raise ScpiCommandError(-224, wvtp)
            c.wvtp = wvtp
        if "FRQ" in pairs:
            f = _float(pairs["FRQ"], "FRQ")
            if not 1e-6 <= f <= self.max_freq_hz:
                raise ScpiCommandError(-222, f"{f:g} Hz")
            c.freq_hz = f
        if "PHSE" in pairs:
            c.phase_deg = _float(pairs["PHSE"], "PHSE")
        if "AMP" in pairs:
            v = _float(pairs["AMP"], "AMP")
            if not 2e-3 * s / 2 <= v <= 10.0 * s or abs(c.offset_v) + v / 2 > 5.0 * s + 1e-12:
                raise ScpiCommandError(-222, f"{v:g} Vpp")
            c.vpp = v
        if "OFST" in pairs:
            o = _float(pairs["OFST"], "OFST")
            if abs(o) + c.vpp / 2 > 5.0 * s + 1e-12:
                raise ScpiCommandError(-222, f"{o:g} V offset")
            c.offset_v = o

    def _q_bswv(self, ctx: Context) -> str:
        c = self.ch[ctx.channel]
        return (
            f"C{ctx.channel}:BSWV WVTP,{c.wvtp},FRQ,{_g(c.freq_hz)}HZ,PERI,{_g(1 / c.freq_hz)}S,AMP,{_g(c.vpp)}V,"
            f"OFST,{_g(c.offset_v)}V,HLEV,{_g(c.offset_v + c.vpp / 2)}V,LLEV,{_g(c.offset_v - c.vpp / 2)}V,"
            f"PHSE,{_g(c.phase_deg)}"
        )

    # -- ARbWaVe
    def _set_arwv(self, ctx: Context, fields: list[str]) -> None:
        c = self.ch[ctx.channel]
        pairs = _pairs(fields)
        name = pairs.get("NAME")
        if name is None or name not in self.waves:
            raise ScpiCommandError(-224, f"waveform {name!r}")
        c.selected = name
        c.wvtp = "ARB"

    def _q_arwv(self, ctx: Context) -> str:
        c = self.ch[ctx.channel]
        names = list(self.waves)
        idx = names.index(c.selected) + 1 if c.selected in names else 0
        return f"C{ctx.channel}:ARWV INDEX,{idx},NAME,{c.selected or ''}"

    # -- SampleRATE
    def _set_srate(self, ctx: Context, fields: list[str]) -> None:
        c = self.ch[ctx.channel]
        pairs = _pairs(fields)
        if "VALUE" in pairs:
            rate = _float(pairs["VALUE"], "VALUE")
            if not 1e-6 <= rate <= self.max_rate_hz:
                raise ScpiCommandError(-222, f"{rate:g} Sa/s outside 1e-06..{self.max_rate_hz:g}")
            c.srate_hz = rate
        if "MODE" in pairs:
            mode = pairs["MODE"].upper()
            if mode not in ("DDS", "TARB"):
                raise ScpiCommandError(-224, mode)
            c.mode = mode
        if "INTER" in pairs:
            inter = pairs["INTER"].upper()
            if inter not in ("LINE", "HOLD"):
                raise ScpiCommandError(-224, inter)
            c.interp = inter

    def _q_srate(self, ctx: Context) -> str:
        c = self.ch[ctx.channel]
        return f"C{ctx.channel}:SRATE MODE,{c.mode},VALUE,{_g(c.srate_hz)}Sa/s,INTER,{c.interp}"

    # -- BursTWaVe
    def _set_btwv(self, ctx: Context, fields: list[str]) -> None:
        c = self.ch[ctx.channel]
        if fields and fields[0].strip().upper() == "MTRIG":
            if c.burst and c.trig_source == "MAN":
                c.triggers += 1
            fields = fields[1:]
            if not fields:
                return
        pairs = _pairs(fields)
        if "STATE" in pairs:
            st = pairs["STATE"].upper()
            if st not in ("ON", "OFF"):
                raise ScpiCommandError(-224, st)
            c.burst = st == "ON"
        if "TRSR" in pairs:
            src = pairs["TRSR"].upper()
            if src not in ("INT", "EXT", "MAN"):
                raise ScpiCommandError(-224, src)
            c.trig_source = src
        if "TIME" in pairs:
            t = pairs["TIME"].upper()
            n = MAX_BURST_CYCLES + 1 if t == "INF" else int(round(_float(t, "TIME")))
            if t != "INF" and not 1 <= n <= MAX_BURST_CYCLES:
                raise ScpiCommandError(-222, f"{n} cycles outside 1..{MAX_BURST_CYCLES}")
            c.ncycles = n

    def _q_btwv(self, ctx: Context) -> str:
        c = self.ch[ctx.channel]
        time_ = "INF" if c.ncycles > MAX_BURST_CYCLES else str(c.ncycles)
        return (
            f"C{ctx.channel}:BTWV STATE,{'ON' if c.burst else 'OFF'},TRSR,{c.trig_source},"
            f"TIME,{time_},GATE_NCYC,NCYC"
        )

    # -- waveform data
    def _wvdt(self, ctx: Context, fields: list[str] | bytes | bytearray) -> None:
        if isinstance(fields, bytes | bytearray) or not fields or isinstance(fields[-1], str):
            raise ScpiCommandError(-109, "WVDT without WAVEDATA payload")
        block = fields[-1]
        names = [f for f in fields[:-1] if isinstance(f, str)]
        if not names or names[-1].upper() != "WAVEDATA":
            raise ScpiCommandError(-109, "WVDT needs ...,WAVEDATA,<data>")
        pairs = _pairs(names[:-1])
        name = pairs.get("WVNM")
        if not name:
            raise ScpiCommandError(-109, "WVDT needs WVNM,<name>")
        if len(block) % 2 or not 8 <= len(block) // 2 <= self.max_points:
            raise ScpiCommandError(-222, f"{len(block)} bytes: 8..{self.max_points} int16 points")
        self.waves[name] = np.frombuffer(block, "<i2").copy()

    def _q_wvdt(self, ctx: Context, where: str, name: str) -> bytes:
        w = self.waves.get(name) if where == "USER" else None
        if w is None:
            raise ScpiCommandError(-224, f"waveform {name!r}")
        raw = self.corrupt(w.astype("<i2").tobytes(), 2)
        head = f"WVDT WVNM,{name},LENGTH,{len(raw)}B,WAVEDATA,".encode()
        return head + raw

    def _q_stl(self, ctx: Context, where: str = "USER") -> str:
        if where != "USER":
            return "STL WVNM,SINE,SQUARE,RAMP"
        return "STL WVNM," + ",".join(self.waves)


def siglent_emulator(model: str = "SDG2042X") -> ScpiEmulator:
    """An unstarted emulator running a :class:`SiglentPersonality` (use ``with``)."""
    return ScpiEmulator(SiglentPersonality(model))
