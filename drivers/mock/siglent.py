"""Emulator of a Siglent SDG (header-less ``WVDT`` upload ended by a pause, ``WVDT?`` readback, TrueArb).

The raw ``WAVEDATA`` payload ends when the line stays quiet for :attr:`raw_idle_s` (the server's raw
mode), so a driver that talks again too soon gets its next command stored inside the waveform, as with
the real instrument (pyvisa-py#311). An odd byte count is refused with ``-222,"Data out of range"``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .server import Personality, ScpiEmulator

__all__ = ["SiglentPersonality", "siglent_emulator"]

_MODELS = {
    "SDG1062X": (30e6, 16384),
    "SDG2042X": (300e6, 8_388_608),
    "SDG2122X": (300e6, 8_388_608),
    "SDG6052X": (1.2e9, 20_000_000),
}


@dataclass
class _Chan:
    selected: str | None = None
    srate_hz: float = 1e6
    interp: str = "HOLD"
    mode: str = "DDS"
    vpp: float = 4.0
    offset_v: float = 0.0
    output: bool = False
    load: str = "HZ"
    burst: bool = False
    trig_source: str = "INT"
    ncycles: int = 1
    triggers: int = 0


class SiglentPersonality(Personality):
    """An SDG model."""

    raw_marker = b"WAVEDATA,"
    raw_idle_s = 0.05

    def __init__(self, model: str = "SDG2042X", *, serial: str = "SDG2XCAD1R0001") -> None:
        if model not in _MODELS:
            raise ValueError(f"unknown model {model}")
        super().__init__(f"Siglent Technologies,{model},{serial},2.01.01.35R3")
        self.model = model
        self.max_rate_hz, self.max_points = _MODELS[model]
        self.reset()

    def reset(self) -> None:
        self.waves: dict[str, np.ndarray] = {}
        self.ch = {1: _Chan(), 2: _Chan()}

    def output_volts(self, channel: int) -> tuple[float, np.ndarray]:
        """(sample rate Hz, volts) on *channel* (zeros while the output is off)."""
        c = self.ch[channel]
        if c.selected is None:
            raise RuntimeError(f"channel {channel} has no arbitrary waveform")
        v = self.waves[c.selected].astype(np.float64) / 32767.0 * (c.vpp / 2.0) + c.offset_v
        return c.srate_hz, v if c.output else np.zeros_like(v)

    def execute(self, command: str, block: bytes | bytearray | None) -> bytes | None:
        common = self.common(command)
        if common is not False:
            return common  # type: ignore[return-value]
        cmd = command.strip()
        m = re.fullmatch(r"C([12]):WVDT\s+WVNM,(\w+),WAVEDATA,", cmd, re.I)
        if m and block is not None:
            if len(block) % 2 or not 8 <= len(block) // 2 <= self.max_points:
                self.push_error(-222, "Data out of range")
                return None
            self.waves[m.group(2)] = np.frombuffer(block, "<i2").copy()
            return None
        if block is not None:
            self.push_error(-113, "Undefined header")
            return None
        m = re.fullmatch(r"WVDT\?\s+USER,(\w+)", cmd, re.I)
        if m:
            w = self.waves.get(m.group(1))
            if w is None:
                self.push_error(-224, "Illegal parameter value")
                return b"WVDT WVNM,,WAVEDATA,\n"
            raw = self.corrupt(w.astype("<i2").tobytes(), 2)
            head = f"WVDT WVNM,{m.group(1)},LENGTH,{len(raw)}B,WAVEDATA,".encode()
            return head + raw + b"\n"
        m = re.fullmatch(r"C([12]):(\w+)(\?|\s+(.+))", cmd, re.I)
        if not m:
            self.push_error(-113, "Undefined header")
            return None
        c = self.ch[int(m.group(1))]
        key = m.group(2).upper()
        if m.group(3) == "?":
            if key == "SRATE":
                return f"C{m.group(1)}:SRATE MODE,{c.mode},VALUE,{c.srate_hz!r}Sa/s,INTER,{c.interp}\n".encode()
            if key == "OUTP":
                return f"C{m.group(1)}:OUTP {'ON' if c.output else 'OFF'},LOAD,{c.load}\n".encode()
            self.push_error(-113, "Undefined header")
            return None
        fields = [f.strip() for f in (m.group(4) or "").split(",")]
        pairs = dict(zip(fields[0::2], fields[1::2], strict=False))
        up = [f.upper() for f in fields]
        if key == "OUTP":
            if up[0] in ("ON", "OFF"):
                c.output = up[0] == "ON"
            elif up[0] == "LOAD" and len(up) > 1:
                c.load = up[1]
            else:
                self.push_error(-224, "Illegal parameter value")
        elif key == "ARWV":
            name = pairs.get("NAME", "")
            if name not in self.waves:
                self.push_error(-224, "Illegal parameter value")
            else:
                c.selected = name
        elif key == "SRATE":
            rate = float(pairs.get("VALUE", "nan"))
            if not 1e-6 <= rate <= self.max_rate_hz:
                self.push_error(-222, "Data out of range")
            else:
                c.srate_hz = rate
                c.mode = pairs.get("MODE", c.mode).upper()
                c.interp = pairs.get("INTER", c.interp).upper()
        elif key == "BSWV":
            s = 2.0 if c.load == "HZ" else 1.0
            if "AMP" in pairs:
                v = float(pairs["AMP"])
                if not 2e-3 * s / 2 <= v <= 10.0 * s or abs(c.offset_v) + v / 2 > 5.0 * s + 1e-12:
                    self.push_error(-222, "Data out of range")
                else:
                    c.vpp = v
            if "OFST" in pairs:
                o = float(pairs["OFST"])
                if abs(o) + c.vpp / 2 > 5.0 * s + 1e-12:
                    self.push_error(-222, "Data out of range")
                else:
                    c.offset_v = o
        elif key == "BTWV":
            if up[0] == "MTRIG":
                if c.burst and c.trig_source == "MAN":
                    c.triggers += 1
            else:
                if "STATE" in pairs:
                    c.burst = pairs["STATE"].upper() == "ON"
                if "TRSR" in pairs:
                    c.trig_source = pairs["TRSR"].upper()
                if "TIME" in pairs:
                    c.ncycles = int(pairs["TIME"])
        else:
            self.push_error(-113, "Undefined header")
        return None


def siglent_emulator(model: str = "SDG2042X") -> ScpiEmulator:
    """An unstarted emulator running a :class:`SiglentPersonality` (use ``with``)."""
    return ScpiEmulator(SiglentPersonality(model))
