"""Emulator of a Tektronix AWG5200 / AWG70000 (waveform list, float32 blocks, markers, one clock).

Errors: ``-113,"Undefined header"``, ``-222,"Data out of range"`` (a sample outside -1..1, a chunk
past the end of the waveform), ``-224,"Illegal parameter value"`` (unknown waveform, bad resolution),
``-161,"Invalid block data"`` (a block whose size is not ``size`` samples).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .server import Personality, ScpiEmulator

__all__ = ["TektronixPersonality", "tektronix_emulator"]

_MODELS = {  # model: (channels, DAC bits, max rate)
    "AWG5202": (2, 16, 2.5e9),
    "AWG5204": (4, 16, 2.5e9),
    "AWG5208": (8, 16, 2.5e9),
    "AWG70001A": (1, 10, 50e9),
    "AWG70002A": (2, 10, 25e9),
}


@dataclass
class _Wave:
    data: np.ndarray
    markers: np.ndarray


@dataclass
class _Chan:
    waveform: str | None = None
    resolution: int = 0
    vpp: float = 0.5
    output: bool = False
    rmode: str = "CONT"
    tinput: str = "ATR"


_Q = r'"([^"]+)"'


class TektronixPersonality(Personality):
    """An AWG5200 / AWG70000 model."""

    def __init__(self, model: str = "AWG5204", *, serial: str = "B010000") -> None:
        if model not in _MODELS:
            raise ValueError(f"unknown model {model}")
        super().__init__(f"TEKTRONIX,{model},{serial},FV:6.6.0080.0")
        self.model = model
        self.n_channels, self.bits, self.max_rate_hz = _MODELS[model]
        self.reset()

    def reset(self) -> None:
        self.waves: dict[str, _Wave] = {}
        self.ch = {c: _Chan(resolution=self.bits) for c in range(1, self.n_channels + 1)}
        self.srate_hz = 1.2e9 if self.bits == 16 else 25e9
        self.running = False
        self.triggers = 0

    def output_volts(self, channel: int) -> tuple[float, np.ndarray]:
        """(sample rate Hz, volts) on *channel* (zeros while the output is off)."""
        c = self.ch[channel]
        if c.waveform is None:
            raise RuntimeError(f"channel {channel} has no waveform")
        v = self.waves[c.waveform].data.astype(np.float64) * c.vpp / 2.0
        return self.srate_hz, v if c.output else np.zeros_like(v)

    def _c(self, d: str | None) -> _Chan | None:
        n = int(d) if d else 1
        if n not in self.ch:
            self.push_error(-114, "Header suffix out of range")
            return None
        return self.ch[n]

    def execute(self, command: str, block: bytes | bytearray | None) -> bytes | None:
        common = self.common(command)
        if common is not False:
            return common  # type: ignore[return-value]
        cmd = command.strip()
        up = cmd.upper()
        m = re.fullmatch(r"WLIS:WAV:(MARK:)?DATA\s+" + _Q + r",(\d+),(\d+),?", cmd, re.I)
        if m and block is not None:
            self._data(m.group(2), int(m.group(3)), int(m.group(4)), block, marker=bool(m.group(1)))
            return None
        if block is not None:
            self.push_error(-113, "Undefined header")
            return None
        m = re.fullmatch(r"WLIS:WAV:(MARK:)?DATA\?\s+" + _Q + r",(\d+),(\d+)", cmd, re.I)
        if m:
            w = self.waves.get(m.group(2))
            start, size = int(m.group(3)), int(m.group(4))
            if w is None or start + size > w.data.size:
                self.push_error(-222, "Data out of range")
                return b"#10\n"
            if m.group(1):
                payload = w.markers[start : start + size].tobytes()
                payload = self.corrupt(payload, 1)
            else:
                payload = self.corrupt(w.data[start : start + size].astype("<f4").tobytes(), 4)
            d = str(len(payload))
            return b"#" + str(len(d)).encode() + d.encode() + payload + b"\n"
        m = re.fullmatch(r"WLIS:WAV:NEW\s+" + _Q + r",(\d+)", cmd, re.I)
        if m:
            name, n = m.group(1), int(m.group(2))
            if name in self.waves:
                self.push_error(-222, "Data out of range;waveform already exists")
            elif n < 1 or n > 2_000_000_000:
                self.push_error(-222, "Data out of range")
            else:
                self.waves[name] = _Wave(np.zeros(n, np.float32), np.zeros(n, np.uint8))
            return None
        m = re.fullmatch(r"WLIS:WAV:DEL\s+" + _Q, cmd, re.I)
        if m:
            if self.waves.pop(m.group(1), None) is None:
                self.push_error(-224, "Illegal parameter value")
            for chan in self.ch.values():
                if chan.waveform == m.group(1):
                    chan.waveform = None
            return None
        if up == "WLIS:LIST?":
            return (",".join(f'"{k}"' for k in self.waves) + "\n").encode()
        if up == "AWGC:STOP":
            self.running = False
            return None
        if up == "AWGC:RUN:IMM":
            self.running = True
            return None
        if up == "TRIG:IMM ATR":
            if self.running:
                self.triggers += 1
            return None
        m = re.fullmatch(r"CLOC:SRAT(\?|\s+(\S+))", up)
        if m:
            if m.group(1) == "?":
                return f"{self.srate_hz:.15E}\n".encode()
            r = float(m.group(2))
            if not 1.49e3 <= r <= self.max_rate_hz:
                self.push_error(-222, "Data out of range")
            else:
                self.srate_hz = r
            return None
        m = re.fullmatch(r"OUTP(\d)?\s+(ON|OFF|1|0)", up)
        if m:
            c = self._c(m.group(1))
            if c is not None:
                c.output = m.group(2) in ("ON", "1")
            return None
        m = re.fullmatch(r"SOUR(\d)?:(DAC:RES|CASS:WAV|VOLT:AMPL|RMOD|TINP)\s+(.+)", cmd, re.I)
        if m:
            c = self._c(m.group(1))
            if c is None:
                return None
            key, arg = m.group(2).upper(), m.group(3).strip()
            if key == "DAC:RES":
                r = int(arg)
                if not (self.bits - (4 if self.bits == 16 else 2)) <= r <= self.bits:
                    self.push_error(-224, "Illegal parameter value")
                else:
                    c.resolution = r
            elif key == "CASS:WAV":
                name = arg.strip('"')
                if name not in self.waves:
                    self.push_error(-224, "Illegal parameter value")
                else:
                    c.waveform = name
            elif key == "VOLT:AMPL":
                v = float(arg)
                lo, hi = (0.025, 0.75) if self.bits == 16 else (0.25, 0.5)
                if not lo <= v <= hi:
                    self.push_error(-222, "Data out of range")
                else:
                    c.vpp = v
            elif key == "RMOD":
                c.rmode = arg.upper()
            else:
                c.tinput = arg.upper()
            return None
        self.push_error(-113, "Undefined header")
        return None

    def _data(self, name: str, start: int, size: int, block: bytes | bytearray, *, marker: bool) -> None:
        w = self.waves.get(name)
        if w is None:
            self.push_error(-224, "Illegal parameter value")
            return None
        item = 1 if marker else 4
        if len(block) != size * item:
            self.push_error(-161, "Invalid block data")
            return None
        if start + size > w.data.size:
            self.push_error(-222, "Data out of range")
            return None
        if marker:
            w.markers[start : start + size] = np.frombuffer(block, np.uint8)
            return None
        x = np.frombuffer(block, "<f4")
        if not np.all(np.isfinite(x)) or np.any(np.abs(x) > 1.0):
            self.push_error(-222, "Data out of range")
            return None
        w.data[start : start + size] = x
        return None


def tektronix_emulator(model: str = "AWG5204") -> ScpiEmulator:
    """An unstarted emulator running a :class:`TektronixPersonality` (use ``with``)."""
    return ScpiEmulator(TektronixPersonality(model))
