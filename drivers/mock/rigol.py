"""Emulator of a Rigol DG1000Z / DG800 (DAC16 CON/END packets, packet readback, burst).

Rules enforced: 8..16384 points per packet (else ``-222,"Data out of range"`` and the upload in
progress is discarded), codes 0..0x3FFF, total length within the model's memory, an ``END`` packet
commits the waveform and switches the channel to arbitrary output. Readback packets hold 16384 points
and carry the 9-digit header ``#9000032768`` the programming guide shows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from .server import Personality, ScpiEmulator

__all__ = ["RigolPersonality", "rigol_emulator"]

_MODELS = {
    "DG1022Z": (2, 200e6, 2_000_000),
    "DG1062Z": (2, 200e6, 8_000_000),
    "DG812": (2, 125e6, 2_000_000),
    "DG832": (2, 125e6, 2_000_000),
    "DG1032Z": (2, 200e6, 8_000_000),
}


@dataclass
class _Chan:
    pending: list[np.ndarray] = field(default_factory=list)
    wave: np.ndarray | None = None
    function: str = "SIN"
    arb_mode: str = "FREQ"
    srate_hz: float = 1e6
    vpp: float = 5.0
    offset_v: float = 0.0
    output: bool = False
    load: str = "50"
    burst: bool = False
    burst_mode: str = "TRIG"
    ncycles: int = 1
    trig_source: str = "INT"
    triggers: int = 0


class RigolPersonality(Personality):
    """A DG1000Z / DG800 model."""

    def __init__(self, model: str = "DG1062Z", *, serial: str = "DG1ZA000000001") -> None:
        if model not in _MODELS:
            raise ValueError(f"unknown model {model}")
        super().__init__(f"Rigol Technologies,{model},{serial},00.01.14")
        self.model = model
        self.n_channels, self.max_rate_hz, self.max_points = _MODELS[model]
        self.packets_received = 0
        self.reset()

    def reset(self) -> None:
        self.ch = {c: _Chan() for c in range(1, self.n_channels + 1)}

    def on_disconnect(self) -> None:
        # a CON sequence cut off by a lost connection is discarded (assumed behaviour (~))
        for c in self.ch.values():
            c.pending.clear()

    def output_volts(self, channel: int) -> tuple[float, np.ndarray]:
        """(sample rate Hz, volts) on *channel* (zeros while the output is off)."""
        c = self.ch[channel]
        if c.wave is None:
            raise RuntimeError(f"channel {channel} has no arbitrary waveform")
        v = (c.wave.astype(np.float64) - 8191.5) / 8191.5 * (c.vpp / 2.0) + c.offset_v
        return c.srate_hz, v if c.output else np.zeros_like(v)

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
        up = command.strip().upper()
        m = re.fullmatch(r":?SOUR(\d)?:TRAC:DATA:DAC16\s+VOLATILE,(CON|END),?", up)
        if m and block is not None:
            self._packet(m.group(1), m.group(2), block)
            return None
        if block is not None:
            self.push_error(-113, "Undefined header")
            return None
        m = re.fullmatch(r":?SOUR(\d)?:TRAC:DATA:LOAD\?\s+(VOLATILE|\d+)", up)
        if m:
            c = self._c(m.group(1))
            if c is None:
                return b"0\n"
            n = 0 if c.wave is None else -(-c.wave.size // 16384)
            if m.group(2) == "VOLATILE":
                return f"{n}\n".encode()
            k = int(m.group(2))
            if not 1 <= k <= n or c.wave is None:
                self.push_error(-222, "Data out of range")
                return b"#10\n"
            part = c.wave[(k - 1) * 16384 : k * 16384].astype("<u2").tobytes()
            part = self.corrupt(part, 2) if k == 1 else part
            return b"#9" + f"{len(part):09d}".encode() + part + b"\n"
        m = re.fullmatch(r":?OUTP(\d)?(:LOAD)?\s+(\S+)", up)
        if m:
            c = self._c(m.group(1))
            if c is not None:
                if m.group(2):
                    c.load = m.group(3)
                else:
                    c.output = m.group(3) in ("ON", "1")
            return None
        m = re.fullmatch(r":?SOUR(\d)?:(.+?)(?:\s+(\S+))?", up)
        if m:
            return self._source(m.group(1), m.group(2), m.group(3))
        self.push_error(-113, "Undefined header")
        return None

    def _packet(self, d: str | None, flag: str, block: bytes | bytearray) -> None:
        c = self._c(d)
        if c is None:
            return None
        self.packets_received += 1
        n = len(block) // 2
        if len(block) % 2 or not 8 <= n <= 16384:
            c.pending.clear()
            self.push_error(-222, "Data out of range;packet must hold 8 to 16384 points")
            return None
        codes = np.frombuffer(block, "<u2")
        if int(codes.max()) > 0x3FFF:
            c.pending.clear()
            self.push_error(-222, "Data out of range")
            return None
        c.pending.append(codes.copy())
        if sum(p.size for p in c.pending) > self.max_points:
            c.pending.clear()
            self.push_error(-223, "Too much data")
            return None
        if flag == "END":
            c.wave = np.concatenate(c.pending)
            c.pending.clear()
            c.function = "ARB"
        return None

    def _source(self, d: str | None, key: str, arg: str | None) -> bytes | None:
        c = self._c(d)
        if c is None:
            return None
        if key == "FUNC:ARB:SRAT?":
            return f"{c.srate_hz:.15E}\n".encode()
        if arg is None:
            if key == "BURS:TRIG":
                if c.burst and c.trig_source == "MAN":
                    c.triggers += 1
                return None
            self.push_error(-113, "Undefined header")
            return None
        if key == "FUNC:ARB:MODE":
            c.arb_mode = arg
        elif key == "FUNC:ARB:SRAT":
            r = float(arg)
            if not 1e-6 <= r <= self.max_rate_hz:
                self.push_error(-222, "Data out of range")
            else:
                c.srate_hz = r
        elif key == "VOLT":
            v = float(arg)
            s = 2.0 if c.load == "INF" else 1.0
            if not 1e-3 * s <= v <= 10.0 * s or abs(c.offset_v) + v / 2 > 5.0 * s + 1e-12:
                self.push_error(-222, "Data out of range")
            else:
                c.vpp = v
        elif key == "VOLT:OFFS":
            o = float(arg)
            s = 2.0 if c.load == "INF" else 1.0
            if abs(o) + c.vpp / 2 > 5.0 * s + 1e-12:
                self.push_error(-222, "Data out of range")
            else:
                c.offset_v = o
        elif key == "BURS":
            c.burst = arg in ("ON", "1")
        elif key == "BURS:MODE":
            c.burst_mode = arg
        elif key == "BURS:NCYC":
            c.ncycles = int(float(arg))
        elif key == "BURS:TRIG:SOUR":
            c.trig_source = arg
        else:
            self.push_error(-113, "Undefined header")
        return None


def rigol_emulator(model: str = "DG1062Z") -> ScpiEmulator:
    """An unstarted emulator running a :class:`RigolPersonality` (use ``with``)."""
    return ScpiEmulator(RigolPersonality(model))
