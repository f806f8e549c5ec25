"""Emulator of a Tektronix AWG5200 / AWG70000: waveform list, sequence list, float32 blocks, markers, one clock.

Syntax follows the AWG5200 and AWG70000 programmer manuals (the command lists of Tektronix's tm_devices
``gen_btm6t_awg`` modules: ``WLISt``, ``SLISt``, ``SOURce``, ``CLOCk``, ``AWGControl``, ``TRIGger``).

Waveform list: ``WLISt:WAVeform:NEW "name",<size>``, ``WLISt:WAVeform:DATA "name"[,<start>[,<size>]],
<float32 block>`` (little-endian, -1..1), ``WLISt:WAVeform:MARKer:DATA`` (uint8 block), their queries,
``WLISt:WAVeform:DELete "name"|ALL``, ``WLISt:LIST?``, ``WLISt:SIZE?``, ``WLISt:NAME? <n>``,
``WLISt:WAVeform:LENGth? "name"``, ``WLISt:WAVeform:LMINimum?``, ``LMAXimum?``, ``GRANularity?``.

Sequence list: ``SLISt:SEQuence:NEW "seq",<steps>[,<tracks>]``, ``SLISt:SEQuence:STEP<n>:TASSet<m>:WAVeform
"seq","wfm"``, ``...:STEP<n>:RCOunt "seq",ONCE|INFinite|<count>``, ``...:STEP<n>:WINPut "seq",ATRigger|
BTRigger|ITRigger|OFF``, ``...:STEP<n>:GOTO "seq",NEXT|FIRSt|LAST|END|<step>``, ``...:STEP<n>:EJINput``,
``...:STEP<n>:EJUMp``, each with its query; ``SLISt:SEQuence:DELete "seq"|ALL``, ``SLISt:SIZE?``,
``SLISt:NAME? <n>``, ``SLISt:SEQuence:LENGth? "seq"``, ``SLISt:SEQuence:TRACk? "seq"``,
``SLISt:SEQuence:STEP:MAX?``, ``SLISt:SEQuence:STEP:RCOunt:MAX?``, ``SLISt:SEQuence:TRACk:MAX?``;
``SOURce<n>:CASSet:SEQuence "seq",<track>`` plays a track on a channel.
:meth:`TektronixPersonality.output_samples` expands what a channel plays, step by step and sample by
sample, so a test can compare it with a one-shot render.

Limits per model (:data:`TEK_LIMITS`): sample clock, amplitude, DAC resolutions, sequence steps (16383)
and repeat count (1,048,576). The minimum waveform length and the granularity are values wavegen could
not confirm from a manual (marked ``(~)``; the defaults, 1 and 1, are the least restrictive): the
emulator answers them to ``WLIS:WAV:LMIN?`` / ``GRAN?`` and refuses to play (``SOURce:CASSet:WAVeform``,
a sequence step) a waveform shorter than the minimum or not a multiple of the granularity, with
``-222``. Construct with ``lmin=`` / ``gran=`` to emulate a stricter instrument: a driver that queries
them adapts.

Errors: ``-113,"Undefined header"``, ``-222,"Data out of range"`` (a sample outside -1..1, a chunk past the
end of the waveform, a waveform that exists already), ``-224,"Illegal parameter value"`` (unknown waveform
or sequence, bad resolution), ``-161,"Invalid block data"`` (a block whose size is not ``size`` samples).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

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
)
from .server import Personality, ScpiEmulator

__all__ = ["TektronixPersonality", "tektronix_emulator", "TEK_LIMITS"]

#: model: channels, DAC bits, clock range (S/s), amplitude range (Vpp), minimum waveform length and
#: granularity (~: not confirmed from a manual; 1 is the least restrictive answer, see the module docstring)
TEK_LIMITS: dict[str, dict[str, float]] = {
    "AWG5202": {"channels": 2, "bits": 16, "min_rate": 298.0, "max_rate": 2.5e9, "min_vpp": 0.025, "max_vpp": 0.75,
                "lmin": 1, "gran": 1},
    "AWG5204": {"channels": 4, "bits": 16, "min_rate": 298.0, "max_rate": 2.5e9, "min_vpp": 0.025, "max_vpp": 0.75,
                "lmin": 1, "gran": 1},
    "AWG5208": {"channels": 8, "bits": 16, "min_rate": 298.0, "max_rate": 2.5e9, "min_vpp": 0.025, "max_vpp": 0.75,
                "lmin": 1, "gran": 1},
    "AWG70001A": {"channels": 1, "bits": 10, "min_rate": 1.49e3, "max_rate": 50e9, "min_vpp": 0.25, "max_vpp": 0.5,
                  "lmin": 1, "gran": 1},
    "AWG70002A": {"channels": 2, "bits": 10, "min_rate": 1.49e3, "max_rate": 25e9, "min_vpp": 0.25, "max_vpp": 0.5,
                  "lmin": 1, "gran": 1},
}  # fmt: skip
MAX_STEPS = 16383
MAX_REPEAT = 1_048_576
MAX_WAVE_POINTS = 2_000_000_000


@dataclass
class _Wave:
    data: np.ndarray
    markers: np.ndarray


@dataclass
class _Step:
    waves: dict[int, str] = field(default_factory=dict)  # track -> waveform
    rcount: float = 1  # float("inf") for INFinite
    winput: str = "OFF"
    goto: str = "NEXT"
    ejinput: str = "OFF"
    ejump: str = "NEXT"


@dataclass
class _Seq:
    steps: list[_Step]
    tracks: int


@dataclass
class _Chan:
    waveform: str | None = None
    sequence: tuple[str, int] | None = None
    resolution: int = 0
    vpp: float = 0.5
    output: bool = False
    rmode: str = "CONT"
    tinput: str = "ATR"


_SEQ = Text()
_STEP = "SLISt:SEQuence:STEP#"


def _goto(text: str | bytes | bytearray) -> str:
    if not isinstance(text, str):
        raise ScpiCommandError(-104)
    t = text.strip().upper()
    for mn in ("NEXT", "FIRST", "LAST", "END"):
        if t in (mn, mn[:4]):
            return mn
    try:
        n = int(t)
    except ValueError:
        raise ScpiCommandError(-224, f"GOTO {text!r}") from None
    if not 1 <= n <= MAX_STEPS:
        raise ScpiCommandError(-222, f"step {n}")
    return str(n)


class TektronixPersonality(Personality):
    """An AWG5200 / AWG70000 model."""

    number_format = "{:.15E}"
    channel_nodes = ("SOURCE", "OUTPUT")

    COMMANDS = (
        *SYSTEM_ERROR_COMMANDS,
        Cmd("SYSTem:ERRor:ALL", on_query="_q_all_errors", command=False),
        Cmd("CLOCk:SRATe", (Number("min_rate_hz", "max_rate_hz", 1.2e9, unit="HZ"),), attr="srate_hz",
            scope="instrument"),
        Cmd("OUTPut#[:STATe]", (Boolean(),), attr="output"),
        Cmd("SOURce#:DAC:RESolution", (Integer(),), attr="resolution", check="_check_resolution"),
        Cmd("SOURce#:CASSet:WAVeform", (Text(),), on_set="_assign_wave", query=False),
        Cmd("SOURce#:WAVeform", (Text(),), on_set="_assign_wave", on_query="_q_asset"),
        Cmd("SOURce#:CASSet", on_query="_q_asset", command=False),
        Cmd("SOURce#:CASSet:TYPE", on_query="_q_asset_type", command=False),
        Cmd("SOURce#:CASSet:SEQuence", (Text(), Integer(1, 8)), on_set="_assign_seq", query=False),
        Cmd("SOURce#:VOLTage[:LEVel][:IMMediate][:AMPLitude]", (Number("min_vpp", "max_vpp", 0.5, unit="V"),),
            attr="vpp"),
        Cmd("SOURce#:RMODe", (Choice("CONTinuous", "TRIGgered", "TCONtinuous"),), attr="rmode"),
        Cmd("SOURce#:TINPut", (Choice("ATRigger", "BTRigger", "ITRigger"),), attr="tinput"),
        Cmd("AWGControl:RUN[:IMMediate]", on_set="_run", query=False),
        Cmd("AWGControl:STOP[:IMMediate]", on_set="_stop", query=False),
        Cmd("AWGControl:RSTate", on_query="_q_rstate", command=False),
        Cmd("TRIGger[:SEQuence][:IMMediate]", (Choice("ATRigger", "BTRigger"),), on_set="_trigger", optional=1,
            query=False),
        # waveform list
        Cmd("WLISt:WAVeform:NEW", (Text(), Integer(1, MAX_WAVE_POINTS), Choice("REAL", "IQ")), on_set="_new",
            optional=1, query=False),
        Cmd("WLISt:WAVeform:DATA", (Text(), Rest()), on_set="_data", on_query="_q_data", query_params=(
            Text(), Integer(0), Integer(1)), query_optional=2),
        Cmd("WLISt:WAVeform:MARKer:DATA", (Text(), Rest()), on_set="_marker_data", on_query="_q_marker_data",
            query_params=(Text(), Integer(0), Integer(1)), query_optional=2),
        Cmd("WLISt:WAVeform:DELete", (Text(),), on_set="_delete", query=False),
        Cmd("WLISt:WAVeform:LENGth", on_query="_q_length", command=False, query_params=(Text(),)),
        Cmd("WLISt:WAVeform:LMINimum", on_query="_q_lmin", command=False),
        Cmd("WLISt:WAVeform:LMAXimum", on_query="_q_lmax", command=False),
        Cmd("WLISt:WAVeform:GRANularity", on_query="_q_gran", command=False),
        Cmd("WLISt:LIST", on_query="_q_list", command=False),
        Cmd("WLISt:SIZE", on_query="_q_size", command=False),
        Cmd("WLISt:NAME", on_query="_q_name", command=False, query_params=(Integer(1),)),
        # sequence list
        Cmd("SLISt:SEQuence:NEW", (_SEQ, Integer(1, MAX_STEPS), Integer(1, 8)), on_set="_seq_new", optional=1,
            query=False),
        Cmd("SLISt:SEQuence:DELete", (_SEQ,), on_set="_seq_delete", query=False),
        Cmd("SLISt:SIZE", on_query="_q_seq_size", command=False),
        Cmd("SLISt:NAME", on_query="_q_seq_name", command=False, query_params=(Integer(1),)),
        Cmd("SLISt:SEQuence:LENGth", on_query="_q_seq_length", command=False, query_params=(_SEQ,)),
        Cmd("SLISt:SEQuence:TRACk", on_query="_q_seq_tracks", command=False, query_params=(_SEQ,)),
        Cmd("SLISt:SEQuence:STEP:MAX", on_query="_q_step_max", command=False),
        Cmd("SLISt:SEQuence:STEP:RCOunt:MAX", on_query="_q_rcount_max", command=False),
        Cmd("SLISt:SEQuence:TRACk:MAX", on_query="_q_track_max", command=False),
        Cmd(_STEP + ":TASSet#:WAVeform", (_SEQ, Text()), on_set="_step_wave", on_query="_q_step_wave",
            query_params=(_SEQ,)),
        Cmd(_STEP + ":TASSet#:TYPE", on_query="_q_step_type", command=False, query_params=(_SEQ,)),
        Cmd(_STEP + ":RCOunt", (_SEQ, Integer(1, MAX_REPEAT, specials=(("ONCE", 1), ("INFinite", float("inf"))))),
            on_set="_step_rcount", on_query="_q_step_rcount", query_params=(_SEQ,)),
        Cmd(_STEP + ":WINPut", (_SEQ, Choice("ATRigger", "BTRigger", "ITRigger", "OFF")), on_set="_step_set",
            on_query="_q_step_get", query_params=(_SEQ,)),
        Cmd(_STEP + ":EJINput", (_SEQ, Choice("ATRigger", "BTRigger", "ITRigger", "OFF")), on_set="_step_set",
            on_query="_q_step_get", query_params=(_SEQ,)),
        Cmd(_STEP + ":GOTO", (_SEQ, Rest()), on_set="_step_goto", on_query="_q_step_get", query_params=(_SEQ,)),
        Cmd(_STEP + ":EJUMp", (_SEQ, Rest()), on_set="_step_goto", on_query="_q_step_get", query_params=(_SEQ,)),
    )

    def __init__(
        self, model: str = "AWG5204", *, serial: str = "B010000", lmin: int | None = None, gran: int | None = None
    ) -> None:
        if model not in TEK_LIMITS:
            raise ValueError(f"unknown model {model}")
        super().__init__(f"TEKTRONIX,{model},{serial},FV:6.6.0080.0")
        self.model = model
        lim = TEK_LIMITS[model]
        self.n_channels, self.bits = int(lim["channels"]), int(lim["bits"])
        self.min_rate_hz, self.max_rate_hz = lim["min_rate"], lim["max_rate"]
        self.min_vpp, self.max_vpp = lim["min_vpp"], lim["max_vpp"]
        self.lmin = int(lim["lmin"] if lmin is None else lmin)
        self.gran = int(lim["gran"] if gran is None else gran)
        self.reset()

    def reset(self) -> None:
        self.waves: dict[str, _Wave] = {}
        self.sequences: dict[str, _Seq] = {}
        self.ch = {c: _Chan(resolution=self.bits) for c in range(1, self.n_channels + 1)}
        self.srate_hz = 1.2e9 if self.bits == 16 else 25e9
        self.running = False
        self.triggers = 0

    def bus_trigger(self) -> None:
        if self.running:
            self.triggers += 1

    # -- what the instrument plays
    def iter_segments(self, channel: int, *, infinite_repeats: int = 1) -> Iterator[tuple[np.ndarray, int]]:
        """(normalised float32 samples, repeat count) in play order for one pass of *channel*.

        Trigger waits are taken as answered at once; a step repeated ``INFinite`` plays
        *infinite_repeats* times and ends the pass; GOTO is followed until ``END`` or until the last step
        has played (a jump back to an earlier step also ends the pass: the sequence loops from there).
        """
        c = self.ch[channel]
        if c.sequence is None:
            if c.waveform is None:
                raise RuntimeError(f"channel {channel} has no waveform")
            yield self.waves[c.waveform].data, 1
            return
        name, track = c.sequence
        steps = self.sequences[name].steps
        k, played = 0, 0
        while 0 <= k < len(steps) and played < len(steps):
            st = steps[k]
            wave = self.waves[st.waves[track]].data
            if st.rcount == float("inf"):
                yield wave, infinite_repeats
                return
            yield wave, int(st.rcount)
            played += 1
            if st.goto == "END":
                return
            nxt = {"NEXT": k + 1, "FIRST": 0, "LAST": len(steps) - 1}.get(st.goto)
            nxt = int(st.goto) - 1 if nxt is None else nxt
            if nxt <= k:
                return
            k = nxt

    def output_samples(self, channel: int, *, infinite_repeats: int = 1) -> np.ndarray:
        """The normalised samples *channel* plays in one pass, sample by sample (see :meth:`iter_segments`)."""
        segments = self.iter_segments(channel, infinite_repeats=infinite_repeats)
        parts = [np.tile(w, n) if n > 1 else w for w, n in segments]
        return np.concatenate(parts) if len(parts) > 1 else parts[0].copy()

    def output_volts(self, channel: int) -> tuple[float, np.ndarray]:
        """(sample rate Hz, volts) on *channel* (zeros while the output is off)."""
        c = self.ch[channel]
        v = self.output_samples(channel).astype(np.float64) * c.vpp / 2.0
        return self.srate_hz, v if c.output else np.zeros_like(v)

    # -- errors
    def _q_all_errors(self, ctx: Context) -> str:
        out = [self.pop_error() for _ in range(len(self.errors))] or [self.pop_error()]
        return ",".join(out)

    # -- channel
    def _check_resolution(self, ctx: Context, r: int) -> None:
        lo = self.bits - (4 if self.bits == 16 else 2)
        if not lo <= r <= self.bits:
            raise ScpiCommandError(-224, f"resolution {r} outside {lo}..{self.bits} bits")

    def _check_playable(self, name: str) -> None:
        size = self.waves[name].data.size
        if size < self.lmin or size % self.gran:
            raise ScpiCommandError(
                -222, f"waveform {name!r} has {size} points; at least {self.lmin} in multiples of {self.gran}"
            )

    def _assign_wave(self, ctx: Context, name: str) -> None:
        if name not in self.waves:
            raise ScpiCommandError(-224, f"waveform {name!r} not in the waveform list")
        self._check_playable(name)
        c = self.ch[ctx.channel]
        c.waveform, c.sequence = name, None

    def _assign_seq(self, ctx: Context, name: str, track: int) -> None:
        seq = self.sequences.get(name)
        if seq is None:
            raise ScpiCommandError(-224, f"sequence {name!r} not in the sequence list")
        if not 1 <= track <= seq.tracks:
            raise ScpiCommandError(-222, f"track {track} of {seq.tracks}")
        for k, st in enumerate(seq.steps, 1):
            if track not in st.waves:
                raise ScpiCommandError(-221, f"step {k} of {name!r} has no waveform on track {track}")
        c = self.ch[ctx.channel]
        c.sequence, c.waveform = (name, track), None

    def _q_asset(self, ctx: Context) -> str:
        c = self.ch[ctx.channel]
        if c.sequence is not None:
            return f'"{c.sequence[0]},{c.sequence[1]}"'
        return f'"{c.waveform or ""}"'

    def _q_asset_type(self, ctx: Context) -> str:
        c = self.ch[ctx.channel]
        return "SEQ" if c.sequence is not None else "WAV" if c.waveform else "NONE"

    # -- run control
    def _run(self, ctx: Context) -> None:
        self.running = True

    def _stop(self, ctx: Context) -> None:
        self.running = False

    def _q_rstate(self, ctx: Context) -> str:
        if not self.running:
            return "0"
        return "1" if any(c.rmode == "TRIG" for c in self.ch.values()) and self.triggers == 0 else "2"

    def _trigger(self, ctx: Context, which: str = "ATR") -> None:
        if self.running:
            self.triggers += 1

    # -- waveform list
    def _new(self, ctx: Context, name: str, n: int, fmt: str = "REAL") -> None:
        if name in self.waves:
            raise ScpiCommandError(-222, "waveform already exists")
        self.waves[name] = _Wave(np.zeros(n, np.float32), np.zeros(n, np.uint8))

    def _chunk(self, name: str, rest: list[Any] | bytes | bytearray, item: int) -> tuple[_Wave, int, bytes | bytearray]:
        w = self.waves.get(name)
        if w is None:
            raise ScpiCommandError(-224, f"waveform {name!r}")
        if isinstance(rest, bytes | bytearray):
            nums, block = [], rest
        else:
            if not rest or isinstance(rest[-1], str):
                raise ScpiCommandError(-109, "block data missing")
            nums, block = rest[:-1], rest[-1]
        try:
            ints = [int(x) for x in nums]
        except ValueError:
            raise ScpiCommandError(-104, f"start/size {nums!r}") from None
        start = ints[0] if ints else 0
        size = ints[1] if len(ints) > 1 else len(block) // item
        if len(ints) > 2:
            raise ScpiCommandError(-108)
        if len(block) != size * item:
            raise ScpiCommandError(-161, f"{len(block)} bytes for {size} samples")
        if start < 0 or start + size > w.data.size:
            raise ScpiCommandError(-222, f"samples {start}..{start + size} of {w.data.size}")
        return w, start, block

    def _data(self, ctx: Context, name: str, rest: list[Any] | bytes | bytearray) -> None:
        w, start, block = self._chunk(name, rest, 4)
        x = np.frombuffer(block, "<f4")
        if not np.all(np.isfinite(x)) or np.any(np.abs(x) > 1.0):
            raise ScpiCommandError(-222, "sample outside -1..1")
        w.data[start : start + x.size] = x

    def _marker_data(self, ctx: Context, name: str, rest: list[Any] | bytes | bytearray) -> None:
        w, start, block = self._chunk(name, rest, 1)
        m = np.frombuffer(block, np.uint8)
        w.markers[start : start + m.size] = m

    def _readback(self, name: str, start: int | None, size: int | None, marker: bool) -> bytes:
        w = self.waves.get(name)
        if w is None:
            self.push_error(-224, f"Illegal parameter value;waveform {name!r}")
            return b"#10"
        start = start or 0
        size = w.data.size - start if size is None else size
        if start + size > w.data.size:
            self.push_error(-222, "Data out of range")
            return b"#10"
        if marker:
            payload = self.corrupt(w.markers[start : start + size].tobytes(), 1)
        else:
            payload = self.corrupt(w.data[start : start + size].astype("<f4").tobytes(), 4)
        d = str(len(payload))
        return b"#" + str(len(d)).encode() + d.encode() + payload

    def _q_data(self, ctx: Context, name: str, start: int | None = None, size: int | None = None) -> bytes:
        return self._readback(name, start, size, marker=False)

    def _q_marker_data(self, ctx: Context, name: str, start: int | None = None, size: int | None = None) -> bytes:
        return self._readback(name, start, size, marker=True)

    def _delete(self, ctx: Context, name: str) -> None:
        names = list(self.waves) if name.upper() == "ALL" else [name]
        for n in names:
            if self.waves.pop(n, None) is None:
                raise ScpiCommandError(-224, f"waveform {n!r}")
            for chan in self.ch.values():
                if chan.waveform == n:
                    chan.waveform = None

    def _q_length(self, ctx: Context, name: str) -> str:
        w = self.waves.get(name)
        if w is None:
            raise ScpiCommandError(-224, f"waveform {name!r}")
        return str(w.data.size)

    def _q_lmin(self, ctx: Context) -> str:
        return str(self.lmin)

    def _q_lmax(self, ctx: Context) -> str:
        return str(MAX_WAVE_POINTS)

    def _q_gran(self, ctx: Context) -> str:
        return str(self.gran)

    def _q_list(self, ctx: Context) -> str:
        return ",".join(f'"{k}"' for k in self.waves)

    def _q_size(self, ctx: Context) -> str:
        return str(len(self.waves))

    def _q_name(self, ctx: Context, k: int) -> str:
        names = list(self.waves)
        if not 1 <= k <= len(names):
            raise ScpiCommandError(-222, f"index {k} of {len(names)}")
        return f'"{names[k - 1]}"'

    # -- sequence list
    def _seq(self, name: str) -> _Seq:
        seq = self.sequences.get(name)
        if seq is None:
            raise ScpiCommandError(-224, f"sequence {name!r}")
        return seq

    def _step(self, ctx: Context, name: str) -> _Step:
        seq = self._seq(name)
        n = ctx.suffix("STEP")
        if not 1 <= n <= len(seq.steps):
            raise ScpiCommandError(-222, f"step {n} of {len(seq.steps)}")
        return seq.steps[n - 1]

    def _seq_new(self, ctx: Context, name: str, steps: int, tracks: int = 1) -> None:
        if name in self.sequences:
            raise ScpiCommandError(-222, "sequence already exists")
        if tracks > self.n_channels:
            raise ScpiCommandError(-222, f"{tracks} tracks, at most {self.n_channels}")
        self.sequences[name] = _Seq([_Step() for _ in range(steps)], tracks)

    def _seq_delete(self, ctx: Context, name: str) -> None:
        names = list(self.sequences) if name.upper() == "ALL" else [name]
        for n in names:
            if self.sequences.pop(n, None) is None:
                raise ScpiCommandError(-224, f"sequence {n!r}")
            for chan in self.ch.values():
                if chan.sequence is not None and chan.sequence[0] == n:
                    chan.sequence = None

    def _q_seq_size(self, ctx: Context) -> str:
        return str(len(self.sequences))

    def _q_seq_name(self, ctx: Context, k: int) -> str:
        names = list(self.sequences)
        if not 1 <= k <= len(names):
            raise ScpiCommandError(-222, f"index {k} of {len(names)}")
        return f'"{names[k - 1]}"'

    def _q_seq_length(self, ctx: Context, name: str) -> str:
        return str(len(self._seq(name).steps))

    def _q_seq_tracks(self, ctx: Context, name: str) -> str:
        return str(self._seq(name).tracks)

    def _q_step_max(self, ctx: Context) -> str:
        return str(MAX_STEPS)

    def _q_rcount_max(self, ctx: Context) -> str:
        return str(MAX_REPEAT)

    def _q_track_max(self, ctx: Context) -> str:
        return str(self.n_channels)

    def _step_wave(self, ctx: Context, name: str, wave: str) -> None:
        step = self._step(ctx, name)
        track = ctx.suffix("TASSET")
        if not 1 <= track <= self._seq(name).tracks:
            raise ScpiCommandError(-222, f"track {track} of {self._seq(name).tracks}")
        if wave not in self.waves:
            raise ScpiCommandError(-224, f"waveform {wave!r} not in the waveform list")
        self._check_playable(wave)
        step.waves[track] = wave

    def _q_step_wave(self, ctx: Context, name: str) -> str:
        return f'"{self._step(ctx, name).waves.get(ctx.suffix("TASSET"), "")}"'

    def _q_step_type(self, ctx: Context, name: str) -> str:
        return "WAV" if ctx.suffix("TASSET") in self._step(ctx, name).waves else "NONE"

    def _step_rcount(self, ctx: Context, name: str, count: float) -> None:
        self._step(ctx, name).rcount = count

    def _q_step_rcount(self, ctx: Context, name: str) -> str:
        r = self._step(ctx, name).rcount
        return "INF" if r == float("inf") else "ONCE" if r == 1 else str(int(r))

    def _key(self, ctx: Context) -> str:
        return ctx.cmd.pattern.rsplit(":", 1)[-1].lower()

    def _step_set(self, ctx: Context, name: str, value: str) -> None:
        setattr(self._step(ctx, name), self._key(ctx), value)

    def _step_goto(self, ctx: Context, name: str, rest: list[Any] | bytes | bytearray) -> None:
        if isinstance(rest, bytes | bytearray) or len(rest) != 1:
            raise ScpiCommandError(-109 if not rest else -108)
        target = _goto(rest[0])
        step = self._step(ctx, name)
        if target.isdigit() and int(target) > len(self._seq(name).steps):
            raise ScpiCommandError(-222, f"step {target} of {len(self._seq(name).steps)}")
        setattr(step, self._key(ctx), target)

    def _q_step_get(self, ctx: Context, name: str) -> str:
        return str(getattr(self._step(ctx, name), self._key(ctx)))


def tektronix_emulator(model: str = "AWG5204", *, lmin: int | None = None, gran: int | None = None) -> ScpiEmulator:
    """An unstarted :class:`ScpiEmulator` running a :class:`TektronixPersonality` (use ``with``)."""
    return ScpiEmulator(TektronixPersonality(model, lmin=lmin, gran=gran))
