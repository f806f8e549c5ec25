"""Emulator of a Keysight 33500B / 33600A generator: its SCPI tree (as data), limits and arb sequences.

Syntax, limits and error codes follow the Keysight 33500 Series Operating and Service Guide (SCPI
Programming Reference: ``SOURce:FUNCtion``, ``SOURce:DATA``, ``OUTPut``, ``TRIGger``, ``BURSt``,
``FORMat:BORDer``, ``MMEMory``). State per channel: volatile arbs (name -> int16 DAC codes) and
sequences, the selected arb or sequence, function, frequency, sample rate, filter, advance mode,
amplitude, offset, output load, polarity, output state, burst and trigger settings. Byte order of block
data follows ``FORM:BORD`` (``NORM`` = big-endian, the power-on default; ``SWAP`` = little-endian).

Arb uploads, all documented forms:

- ``DATA:ARB:DAC <name>,<block of int16>`` and ``DATA:ARB:DAC <name>, v1, v2, ...`` (-32767..32767);
- ``DATA:ARB <name>,<block of float32>`` and ``DATA:ARB <name>, f1, f2, ...`` (-1..1, stored as
  ``round(f * 32767)``);
- names of at most 12 characters starting with a letter; 8 points at least; the model's memory at most
  (1 MSa per channel, 16 MSa with option MEM on the 33500B; 4/64 MSa on the 33600A), shared by all the
  arbs of a channel (``+780,"Arb: out of memory"`` beyond).

Sequences (``DATA:SEQuence #<n><len>"seq","arb1",<repeat>,<play>,<marker mode>,<marker point>,...``):
play control ``once | onceWaitTrig | repeat | repeatInf | repeatTilTrig``, marker mode ``maintain |
lowAtStart | highAtStart | highAtStartGoLow``, repeat count 1..1,000,000 (used with ``repeat``), marker
point 4..points-3, at most 512 steps; every segment must already be in the channel's volatile memory.
:meth:`KeysightPersonality.output_codes` expands what a channel plays, step by step and sample by
sample, so a test can compare it with a one-shot render.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
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
    split_params,
)
from .server import Personality, ScpiEmulator

__all__ = ["KeysightPersonality", "SequenceStep", "keysight_emulator", "SEQUENCE_LIMITS"]

_MODELS = {  # model: (channels, max rate Sa/s, standard points, option points, max sine frequency Hz)
    "33511B": (1, 160e6, 1 << 20, 16 << 20, 20e6),
    "33512B": (2, 160e6, 1 << 20, 16 << 20, 20e6),
    "33521B": (1, 250e6, 1 << 20, 16 << 20, 30e6),
    "33522B": (2, 250e6, 1 << 20, 16 << 20, 30e6),
    "33611A": (1, 660e6, 4 << 20, 64 << 20, 80e6),
    "33612A": (2, 660e6, 4 << 20, 64 << 20, 80e6),
    "33621A": (1, 1e9, 4 << 20, 64 << 20, 120e6),
    "33622A": (2, 1e9, 4 << 20, 64 << 20, 120e6),
}

#: DATA:SEQuence limits (Operating and Service Guide, ``DATA:SEQuence``)
SEQUENCE_LIMITS = {"max_steps": 512, "max_repeat": 1_000_000, "min_points": 8, "marker_margin": 3}

_PLAY = {"ONCE": "once", "ONCEWAITTRIG": "onceWaitTrig", "REPEAT": "repeat", "REPEATINF": "repeatInf",
         "REPEATTILTRIG": "repeatTilTrig"}  # fmt: skip
_MARKER = {"MAINTAIN": "maintain", "LOWATSTART": "lowAtStart", "HIGHATSTART": "highAtStart",
           "HIGHATSTARTGOLOW": "highAtStartGoLow"}  # fmt: skip


@dataclass(frozen=True)
class SequenceStep:
    """One step of a 33500 arb sequence."""

    arb: str
    repeat: int
    play: str
    marker_mode: str
    marker_point: int


@dataclass
class _Channel:
    arbs: dict[str, np.ndarray] = field(default_factory=dict)
    sequences: dict[str, list[SequenceStep]] = field(default_factory=dict)
    selected: str | None = None
    function: str = "SIN"
    freq_hz: float = 1e3
    srate_hz: float = 40e3
    filt: str = "NORM"
    advance: str = "SRAT"
    vpp: float = 0.1
    offset_v: float = 0.0
    unit: str = "VPP"
    phase_deg: float = 0.0
    square_duty_pct: float = 50.0
    ramp_symmetry_pct: float = 100.0
    pulse_period_s: float = 1e-3
    pulse_width_s: float = 100e-6
    pulse_duty_pct: float = 10.0
    pulse_hold: str = "WIDT"
    pulse_edge_s: float = 10e-9
    load: float = 50.0
    polarity: str = "NORM"
    output: bool = False
    trig_source: str = "IMM"
    trig_slope: str = "POS"
    trig_delay_s: float = 0.0
    burst: bool = False
    burst_mode: str = "TRIG"
    burst_period_s: float = 10e-3
    ncycles: float = 1
    triggers: int = 0
    synced: int = 0


_CH = "[SOURce#:]"
_VOLT = _CH + "VOLTage[:LEVel][:IMMediate]"
_NAME = Text(upper=True)


class KeysightPersonality(Personality):
    """A 33500B/33600A: construct with the model and whether the MEM option is fitted."""

    channel_nodes = ("SOURCE", "OUTPUT", "TRIGGER", "DATA")

    COMMANDS = (
        *SYSTEM_ERROR_COMMANDS,
        Cmd("FORMat:BORDer", (Choice("NORMal", "SWAPped"),), attr="byte_order", scope="instrument"),
        Cmd(_CH + "FUNCtion[:SHAPe]", (Choice("SINusoid", "SQUare", "TRIangle", "RAMP", "PULSe", "PRBS", "NOISe",
                                              "ARBitrary", "DC"),), attr="function", check="_check_function"),
        Cmd(_CH + "FUNCtion:ARBitrary", (_NAME,), on_set="_select", on_query="_q_selected"),
        Cmd(_CH + "FUNCtion:ARBitrary:SRATe", (Number(1e-6, "max_rate_hz", 40e3, unit="SA/S"),), attr="srate_hz"),
        Cmd(_CH + "FUNCtion:ARBitrary:FILTer", (Choice("NORMal", "STEP", "OFF"),), attr="filt"),
        Cmd(_CH + "FUNCtion:ARBitrary:ADVance", (Choice("TRIGger", "SRATe"),), attr="advance"),
        Cmd(_CH + "FUNCtion:ARBitrary:POINts", on_query="_q_arb_points", command=False),
        Cmd(_CH + "FUNCtion:ARBitrary:SYNChronize", on_set="_sync", query=False),
        Cmd(_CH + "FREQuency[:CW]", (Number(1e-6, "max_freq_hz", 1e3, unit="HZ"),), attr="freq_hz"),
        Cmd(_VOLT + "[:AMPLitude]", (Number(unit="V", lo=1e-3, hi=20.0, default=0.1),), attr="vpp",
            check="_check_vpp"),
        Cmd(_VOLT + ":OFFSet", (Number(-10.0, 10.0, 0.0, unit="V"),), attr="offset_v", check="_check_offset"),
        Cmd(_VOLT + ":HIGH", (Number(-10.0, 10.0, 0.05, unit="V"),), on_set="_set_high", on_query="_q_high"),
        Cmd(_VOLT + ":LOW", (Number(-10.0, 10.0, -0.05, unit="V"),), on_set="_set_low", on_query="_q_low"),
        Cmd(_CH + "VOLTage:UNIT", (Choice("VPP", "VRMS", "DBM"),), attr="unit"),
        Cmd(_CH + "PHASe[:ADJust]", (Number(-360.0, 360.0, 0.0, unit="DEG"),), attr="phase_deg"),
        Cmd(_CH + "PHASe:SYNChronize", on_set="_sync_phase", query=False),
        Cmd(_CH + "FUNCtion:SQUare:DCYCle", (Number(0.01, 99.99, 50.0),), attr="square_duty_pct"),
        Cmd(_CH + "FUNCtion:RAMP:SYMMetry", (Number(0.0, 100.0, 100.0),), attr="ramp_symmetry_pct"),
        Cmd(_CH + "FUNCtion:PULSe:PERiod", (Number(33e-9, 1e6, 1e-3, unit="S"),), attr="pulse_period_s"),
        Cmd(_CH + "FUNCtion:PULSe:WIDTh", (Number(16e-9, 1e6, 100e-6, unit="S"),), attr="pulse_width_s"),
        Cmd(_CH + "FUNCtion:PULSe:DCYCle", (Number(0.0, 100.0, 10.0),), attr="pulse_duty_pct"),
        Cmd(_CH + "FUNCtion:PULSe:HOLD", (Choice("WIDTh", "DCYCle"),), attr="pulse_hold"),
        Cmd(_CH + "FUNCtion:PULSe:TRANsition[:BOTH]", (Number(8.4e-9, 1e-6, 10e-9, unit="S"),), attr="pulse_edge_s"),
        Cmd("OUTPut:SYNC[:STATe]", (Boolean(),), attr="sync_out", scope="instrument"),
        Cmd("OUTPut:TRIGger[:STATe]", (Boolean(),), attr="trigger_out", scope="instrument"),
        Cmd("DISPlay:TEXT", (Text(),), attr="display_text", scope="instrument"),
        Cmd("DISPlay:TEXT:CLEar", on_set="_clear_text", query=False),
        Cmd("SYSTem:BEEPer[:IMMediate]", on_set="_beep", query=False),
        Cmd("OUTPut#[:STATe]", (Boolean(),), attr="output"),
        Cmd("OUTPut#:LOAD", (Number(1.0, 10e3, 50.0, unit="OHM", specials=(("INFinity", math.inf),)),),
            attr="load", check="_check_load"),
        Cmd("OUTPut#:POLarity", (Choice("NORMal", "INVerted"),), attr="polarity"),
        Cmd("TRIGger#:SOURce", (Choice("IMMediate", "EXTernal", "TIMer", "BUS"),), attr="trig_source"),
        Cmd("TRIGger#:SLOPe", (Choice("POSitive", "NEGative"),), attr="trig_slope"),
        Cmd("TRIGger#:DELay", (Number(0.0, 1000.0, 0.0, unit="S"),), attr="trig_delay_s"),
        Cmd("TRIGger#[:IMMediate]", on_set="_trigger_now", query=False),
        Cmd(_CH + "BURSt:STATe", (Boolean(),), attr="burst"),
        Cmd(_CH + "BURSt:MODE", (Choice("TRIGgered", "GATed"),), attr="burst_mode"),
        Cmd(_CH + "BURSt:NCYCles", (Integer(1, 1e8, 1, specials=(("INFinity", math.inf),)),), attr="ncycles"),
        Cmd(_CH + "BURSt:INTernal:PERiod", (Number(1e-6, 8000.0, 10e-3, unit="S"),), attr="burst_period_s"),
        Cmd(_CH + "DATA:VOLatile:CLEar", on_set="_clear", query=False),
        Cmd(_CH + "DATA:VOLatile:CATalog", on_query="_q_catalog", command=False),
        Cmd(_CH + "DATA:VOLatile:FREE", on_query="_q_free", command=False),
        Cmd(_CH + "DATA:ATTRibute:POINts", on_query="_q_points", command=False, query_params=(_NAME,),
            query_optional=1),
        Cmd(_CH + "DATA:ARBitrary:DAC", (_NAME, Rest()), on_set="_upload_dac", query=False),
        Cmd(_CH + "DATA:ARBitrary", (_NAME, Rest()), on_set="_upload_float", query=False),
        Cmd(_CH + "DATA:SEQuence", (Rest(),), on_set="_upload_sequence", query=False),
        Cmd("MMEMory:STORe:DATA#", (Text(),), on_set="_store", query=False),
        Cmd("MMEMory:LOAD:DATA#", (Text(),), on_set="_load", query=False),
        Cmd("MMEMory:UPLoad", on_query="_upload_file", command=False, query_params=(Text(),)),
        Cmd("MMEMory:DELete", (Text(),), on_set="_delete", query=False),
    )

    def __init__(self, model: str = "33522B", *, mem_option: bool = False, serial: str = "MY00000001") -> None:
        if model not in _MODELS:
            raise ValueError(f"unknown model {model}")
        super().__init__(f"Keysight Technologies,{model},{serial},A.02.02-3.0")
        self.model = model
        self.n_channels, self.max_rate_hz, std, opt, self.max_freq_hz = _MODELS[model]
        self.mem_option = mem_option
        self.max_points = opt if mem_option else std
        self.reset()

    def reset(self) -> None:
        self.byte_order = "NORM"
        self.ch = {c: _Channel() for c in range(1, self.n_channels + 1)}
        self.files: dict[str, bytes] = {}
        self.sync_count = 0
        self.phase_syncs = 0
        self.sync_out = True
        self.trigger_out = False
        self.display_text = ""
        self.beeps = 0

    def options(self) -> str:
        return "MEM" if self.mem_option else "0"

    def bus_trigger(self) -> None:
        for chan in self.ch.values():
            if chan.trig_source == "BUS" and chan.burst:
                chan.triggers += 1

    # -- what the emulator outputs (for a simulated device under test and for sequence tests)
    def iter_segments(self, channel: int, *, infinite_repeats: int = 1) -> Iterator[tuple[np.ndarray, int]]:
        """(codes, repeat count) in play order for one pass of what *channel* plays.

        A trigger wait (``onceWaitTrig``, ``repeatTilTrig``) is taken as answered at once, so such a step
        plays its segment once; a ``repeatInf`` step plays *infinite_repeats* times and ends the pass
        (the instrument never leaves it).
        """
        c = self.ch[channel]
        if c.selected is None or c.function != "ARB":
            raise RuntimeError(f"channel {channel} is not playing an arb")
        if c.selected in c.arbs:
            yield c.arbs[c.selected], 1
            return
        for step in c.sequences[c.selected]:
            codes = c.arbs[step.arb]
            if step.play == "repeat":
                yield codes, step.repeat
            elif step.play == "repeatInf":
                yield codes, infinite_repeats
                return
            else:
                yield codes, 1

    def output_codes(self, channel: int, *, infinite_repeats: int = 1) -> np.ndarray:
        """The int16 DAC codes *channel* plays in one pass, expanded sample by sample (see :meth:`iter_segments`)."""
        segments = self.iter_segments(channel, infinite_repeats=infinite_repeats)
        parts = [np.tile(codes, n) if n > 1 else codes for codes, n in segments]
        return np.concatenate(parts) if len(parts) > 1 else parts[0].copy()

    def output_volts(self, channel: int) -> tuple[float, np.ndarray]:
        """(sample rate Hz, volts) currently driven on *channel* (zeros when the output is off)."""
        c = self.ch[channel]
        codes = self.output_codes(channel).astype(np.float64)
        v = codes / 32767.0 * (c.vpp / 2.0) + c.offset_v
        if c.polarity == "INV":
            v = 2 * c.offset_v - v
        return c.srate_hz, v if c.output else np.zeros_like(v)

    # -- checks
    def _scale(self, c: _Channel) -> float:
        return 2.0 if math.isinf(c.load) else 1.0

    def _check_function(self, ctx: Context, f: str) -> None:
        if f == "ARB" and self.ch[ctx.channel].selected is None:
            raise ScpiCommandError(-221, "no arb selected")

    def _check_vpp(self, ctx: Context, vpp: float) -> None:
        c = self.ch[ctx.channel]
        s = self._scale(c)
        if not 1e-3 * s <= vpp <= 10.0 * s or abs(c.offset_v) + vpp / 2 > 5.0 * s + 1e-12:
            raise ScpiCommandError(-222, f"{vpp:g} Vpp with {c.offset_v:g} V offset into {c.load:g} ohm")

    def _check_offset(self, ctx: Context, off: float) -> None:
        c = self.ch[ctx.channel]
        if abs(off) + c.vpp / 2 > 5.0 * self._scale(c) + 1e-12:
            raise ScpiCommandError(-221, "offset changed due to amplitude")

    def _check_load(self, ctx: Context, load: float) -> None:
        c = self.ch[ctx.channel]
        if not math.isinf(load) and math.isinf(c.load):
            # leaving high-Z halves the available swing: the instrument clips amplitude and offset
            c.vpp = min(c.vpp, 10.0)
            c.offset_v = max(-5.0 + c.vpp / 2, min(5.0 - c.vpp / 2, c.offset_v))

    def _set_high(self, ctx: Context, high: float) -> None:
        c = self.ch[ctx.channel]
        low = c.offset_v - c.vpp / 2
        if high <= low:
            raise ScpiCommandError(-221, "high level not above low level")
        self._check_vpp(ctx, high - low)
        c.vpp, c.offset_v = high - low, (high + low) / 2

    def _set_low(self, ctx: Context, low: float) -> None:
        c = self.ch[ctx.channel]
        high = c.offset_v + c.vpp / 2
        if low >= high:
            raise ScpiCommandError(-221, "low level not below high level")
        c.vpp, c.offset_v = high - low, (high + low) / 2

    def _q_high(self, ctx: Context) -> str:
        c = self.ch[ctx.channel]
        return self.number_format.format(c.offset_v + c.vpp / 2)

    def _q_low(self, ctx: Context) -> str:
        c = self.ch[ctx.channel]
        return self.number_format.format(c.offset_v - c.vpp / 2)

    # -- arbs
    def _select(self, ctx: Context, name: str) -> None:
        c = self.ch[ctx.channel]
        key = _basename(name)
        if key not in c.arbs and key not in c.sequences:
            raise ScpiCommandError(-224, f"arb {name!r} not found")
        c.selected = key

    def _q_selected(self, ctx: Context) -> str:
        return f'"{self.ch[ctx.channel].selected or ""}"'

    def _q_arb_points(self, ctx: Context) -> str:
        c = self.ch[ctx.channel]
        if c.selected in c.arbs:
            return str(c.arbs[c.selected].size)
        if c.selected in c.sequences:
            steps = c.sequences[c.selected]
            return str(sum(c.arbs[s.arb].size * (s.repeat if s.play == "repeat" else 1) for s in steps))
        return "0"

    def _sync(self, ctx: Context) -> None:
        if self.n_channels < 2:
            raise ScpiCommandError(-113, "one-channel model")
        self.sync_count += 1
        for chan in self.ch.values():
            chan.synced += 1

    def _sync_phase(self, ctx: Context) -> None:
        self.phase_syncs += 1

    def _clear_text(self, ctx: Context) -> None:
        self.display_text = ""

    def _beep(self, ctx: Context) -> None:
        self.beeps += 1

    def _trigger_now(self, ctx: Context) -> None:
        self.ch[ctx.channel].triggers += 1

    def _clear(self, ctx: Context) -> None:
        c = self.ch[ctx.channel]
        c.arbs.clear()
        c.sequences.clear()
        c.selected = None
        if c.function == "ARB":
            c.function = "SIN"

    def _q_catalog(self, ctx: Context) -> str:
        c = self.ch[ctx.channel]
        names = [f'"{n}"' for n in (*c.arbs, *c.sequences)]
        return ",".join(names) if names else '""'

    def _q_free(self, ctx: Context) -> str:
        c = self.ch[ctx.channel]
        used = sum(a.size for a in c.arbs.values())
        return f"{self.max_points - used},{used}"

    def _q_points(self, ctx: Context, name: str | None = None) -> str:
        c = self.ch[ctx.channel]
        key = _basename(name) if name else c.selected
        a = c.arbs.get(key or "")
        if a is None:
            raise ScpiCommandError(-224, f"arb {name!r} not found")
        return str(a.size)

    def _store_arb(self, ctx: Context, name: str, codes: np.ndarray) -> None:
        c = self.ch[ctx.channel]
        if len(name) > 12 or not re.fullmatch(r"[A-Z][A-Z0-9_]*", name):
            raise ScpiCommandError(-224, f"arb name {name!r}: 12 characters at most, starting with a letter")
        n = codes.size
        if n < 8:
            raise ScpiCommandError(-222, "too few points")
        if n > self.max_points:
            raise ScpiCommandError(-223, f"{n} points, at most {self.max_points}")
        if name in c.arbs or name in c.sequences:
            raise ScpiCommandError(-221, "arb name already exists")
        used = sum(a.size for a in c.arbs.values())
        if used + n > self.max_points:
            self.push_error(780, "Arb: out of memory")
            return
        c.arbs[name] = codes

    def _upload_dac(self, ctx: Context, name: str, data: list[str] | bytes | bytearray) -> None:
        if isinstance(data, bytes | bytearray):
            if len(data) % 2:
                raise ScpiCommandError(-161, "odd byte count for int16 data")
            codes = np.frombuffer(data, dtype=">i2" if self.byte_order == "NORM" else "<i2").astype(np.int16)
        else:
            codes = _decimal(data, np.int64)
            if codes.size and (codes.max() > 32767 or codes.min() < -32768):
                raise ScpiCommandError(-222, "DAC value outside -32767..32767")
            codes = codes.astype(np.int16)
        if codes.size and int(codes.min()) < -32767:
            raise ScpiCommandError(-222, "DAC value outside -32767..32767")
        self._store_arb(ctx, name, codes)

    def _upload_float(self, ctx: Context, name: str, data: list[str] | bytes | bytearray) -> None:
        if isinstance(data, bytes | bytearray):
            if len(data) % 4:
                raise ScpiCommandError(-161, "byte count not a multiple of 4 for float32 data")
            x = np.frombuffer(data, dtype=">f4" if self.byte_order == "NORM" else "<f4").astype(np.float64)
        else:
            x = _decimal(data, np.float64)
        if not np.all(np.isfinite(x)) or (x.size and np.max(np.abs(x)) > 1.0):
            raise ScpiCommandError(-222, "value outside -1..1")
        self._store_arb(ctx, name, np.rint(x * 32767.0).astype(np.int16))

    def _upload_sequence(self, ctx: Context, data: list[str] | bytes | bytearray) -> None:
        if not isinstance(data, bytes | bytearray):
            raise ScpiCommandError(-104, "DATA:SEQuence takes a definite-length block")
        c = self.ch[ctx.channel]
        fields = split_params(bytes(data).decode("ascii", "replace"))
        if len(fields) < 6 or (len(fields) - 1) % 5:
            raise ScpiCommandError(-109, "descriptor: name, then arb,repeat,play,marker mode,marker point per step")
        name = _basename(_unquote(fields[0]))
        if not name or len(name) > 12 + 4:
            raise ScpiCommandError(-224, f"sequence name {name!r}")
        steps = []
        lim = SEQUENCE_LIMITS
        n_steps = (len(fields) - 1) // 5
        if n_steps > lim["max_steps"]:
            raise ScpiCommandError(-223, f"{n_steps} steps, at most {lim['max_steps']}")
        for k in range(n_steps):
            arb, rep, play, mmode, mpoint = fields[1 + 5 * k : 6 + 5 * k]
            key = _basename(_unquote(arb))
            if key not in c.arbs:
                raise ScpiCommandError(-224, f"step {k + 1}: arb {arb} is not in volatile memory")
            p = _PLAY.get(play.strip().upper())
            mm = _MARKER.get(mmode.strip().upper())
            if p is None or mm is None:
                raise ScpiCommandError(-224, f"step {k + 1}: play {play!r} / marker mode {mmode!r}")
            try:
                count, point = int(rep), int(mpoint)
            except ValueError:
                raise ScpiCommandError(-104, f"step {k + 1}: repeat {rep!r} / marker point {mpoint!r}") from None
            lo = 1 if p == "repeat" else 0
            if not lo <= count <= lim["max_repeat"]:
                raise ScpiCommandError(-222, f"step {k + 1}: repeat count {count} outside {lo}..{lim['max_repeat']}")
            size = c.arbs[key].size
            if not 4 <= point <= size - lim["marker_margin"]:
                raise ScpiCommandError(-222, f"step {k + 1}: marker point {point} outside 4..{size - 3}")
            steps.append(SequenceStep(key, count, p, mm, point))
        if name in c.arbs:
            raise ScpiCommandError(-221, "name already used by an arb")
        c.sequences[name] = steps

    # -- files
    def _store(self, ctx: Context, path: str) -> None:
        c = self.ch[ctx.channel]
        if c.selected is None or c.selected not in c.arbs:
            raise ScpiCommandError(-221, "no arb selected")
        self.files[path.upper()] = self._arb_file(c, c.selected)

    def _load(self, ctx: Context, path: str) -> None:
        data = self.files.get(path.upper())
        if data is None:
            raise ScpiCommandError(-256)
        body = data.partition(b"Data:")[2]
        self._store_arb(ctx, _basename(path), np.array(body.split(), dtype=np.int16))

    def _upload_file(self, ctx: Context, path: str) -> bytes:
        data = self.files.get(path.upper())
        if data is None:
            self.push_error(-256)
            return b"#10"
        data = self._corrupt_text(data)
        digits = str(len(data))
        return b"#" + str(len(digits)).encode() + digits.encode() + data

    def _delete(self, ctx: Context, path: str) -> None:
        if self.files.pop(path.upper(), None) is None:
            raise ScpiCommandError(-256)

    def _corrupt_text(self, data: bytes) -> bytes:
        i = self.faults.corrupt_readback_index
        if i is None:
            return data
        self.faults.corrupt_readback_index = None
        head, sep, body = data.partition(b"Data:")
        vals = body.split()
        if i < len(vals):
            vals[i] = str(int(vals[i]) ^ 1).encode()
        return head + sep + b"\n" + b"\n".join(vals) + b"\n"

    def _arb_file(self, c: _Channel, name: str) -> bytes:
        codes = c.arbs[name]
        head = (
            "File Format:1.10\nChecksum:0\nChannel Count:1\n"
            f"Sample Rate:{c.srate_hz:.6f}\nHigh Level:{c.offset_v + c.vpp / 2:.6f}\n"
            f'Low Level:{c.offset_v - c.vpp / 2:.6f}\nData Type:"short"\nFilter:"{c.filt.lower()}"\n'
            f"Data Points:{codes.size}\nData:\n"
        )
        body = "\n".join(map(str, codes.tolist()))
        return (head + body + "\n").encode("ascii")


def _unquote(text: str) -> str:
    t = text.strip()
    return t[1:-1] if len(t) >= 2 and t[0] == t[-1] and t[0] in "\"'" else t


def _basename(path: str) -> str:
    """``INT:\\DIR\\NAME.ARB`` -> ``NAME`` (volatile arbs are known by name; ``.seq`` names keep it)."""
    name = re.split(r"[\\/:]", path.strip())[-1].upper()
    return name[:-4] if name.endswith(".ARB") else name


def _decimal(values: list[str], dtype: type) -> np.ndarray:
    if not values:
        raise ScpiCommandError(-109, "no data points")
    try:
        return np.array([float(v) for v in values]).astype(dtype)
    except ValueError:
        raise ScpiCommandError(-104, "data points must be numbers") from None


def keysight_emulator(model: str = "33522B", *, mem_option: bool = False) -> ScpiEmulator:
    """An unstarted :class:`ScpiEmulator` running a :class:`KeysightPersonality` (use ``with``)."""
    return ScpiEmulator(KeysightPersonality(model, mem_option=mem_option))
