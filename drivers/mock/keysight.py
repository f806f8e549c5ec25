"""Emulator of a Keysight 33500B / 33600A generator (the SCPI subset wavegen uses, with its limits).

State per channel: volatile arbs (name -> int16 codes), selected arb, function, sample rate, filter,
amplitude, offset, output load, output state, burst and trigger settings. Byte order follows
``FORM:BORD`` (``NORM`` = big-endian, the power-on default; ``SWAP`` = little-endian). Errors follow the
instrument's style: ``-113,"Undefined header"``, ``-222,"Data out of range"``, ``-223,"Too much data"``,
``-221,"Settings conflict"``, ``-224,"Illegal parameter value"``, ``-256,"File name not found"``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from .server import Personality, ScpiEmulator

__all__ = ["KeysightPersonality", "keysight_emulator"]

_MODELS = {  # model: (channels, max rate Sa/s, standard points, option points)
    "33511B": (1, 160e6, 1 << 20, 16 << 20),
    "33512B": (2, 160e6, 1 << 20, 16 << 20),
    "33521B": (1, 250e6, 1 << 20, 16 << 20),
    "33522B": (2, 250e6, 1 << 20, 16 << 20),
    "33611A": (1, 660e6, 4 << 20, 64 << 20),
    "33612A": (2, 660e6, 4 << 20, 64 << 20),
    "33621A": (1, 1e9, 4 << 20, 64 << 20),
    "33622A": (2, 1e9, 4 << 20, 64 << 20),
}


@dataclass
class _Channel:
    arbs: dict[str, np.ndarray] = field(default_factory=dict)
    selected: str | None = None
    function: str = "SIN"
    srate_hz: float = 40e3
    filt: str = "NORM"
    vpp: float = 0.1
    offset_v: float = 0.0
    load: str = "50"
    output: bool = False
    trig_source: str = "IMM"
    burst: bool = False
    burst_mode: str = "TRIG"
    ncycles: int = 1
    triggers: int = 0
    synced: int = 0


def _num(text: str) -> float:
    t = text.strip().upper()
    if t in ("INF", "INFINITY"):
        return float("inf")
    return float(t)


class KeysightPersonality(Personality):
    """A 33500B/33600A: construct with the model and whether the MEM option is fitted."""

    def __init__(self, model: str = "33522B", *, mem_option: bool = False, serial: str = "MY00000001") -> None:
        if model not in _MODELS:
            raise ValueError(f"unknown model {model}")
        super().__init__(f"Keysight Technologies,{model},{serial},A.02.02-3.0")
        self.model = model
        self.n_channels, self.max_rate_hz, std, opt = _MODELS[model]
        self.mem_option = mem_option
        self.max_points = opt if mem_option else std
        self.reset()

    def reset(self) -> None:
        self.byte_order = "NORM"
        self.ch = {c: _Channel() for c in range(1, self.n_channels + 1)}
        self.files: dict[str, bytes] = {}
        self.sync_count = 0

    # -- what the emulator outputs (for a simulated device under test)
    def output_volts(self, channel: int) -> tuple[float, np.ndarray]:
        """(sample rate Hz, volts) currently driven on *channel* (zeros when the output is off)."""
        c = self.ch[channel]
        if c.selected is None or c.function != "ARB":
            raise RuntimeError(f"channel {channel} is not playing an arb")
        codes = c.arbs[c.selected].astype(np.float64)
        v = codes / 32767.0 * (c.vpp / 2.0) + c.offset_v
        return c.srate_hz, v if c.output else np.zeros_like(v)

    def _chan(self, digit: str | None) -> _Channel | None:
        n = int(digit) if digit else 1
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
        if up == "*OPT?":
            return (("MEM" if self.mem_option else "0") + "\n").encode()
        if up == "*TRG":
            for chan in self.ch.values():
                if chan.trig_source == "BUS" and chan.burst:
                    chan.triggers += 1
            return None
        m = re.fullmatch(r"FORM(?:AT)?:BORD(?:ER)?(\?|\s+(\w+))", up)
        if m:
            if m.group(1) == "?":
                return (self.byte_order + "\n").encode()
            val = m.group(2)
            if val not in ("NORM", "SWAP", "NORMAL", "SWAPPED"):
                self.push_error(-224, "Illegal parameter value")
            else:
                self.byte_order = val[:4]
            return None
        if up in ("FUNC:ARB:SYNC", "SOUR1:FUNC:ARB:SYNC"):
            if self.n_channels < 2:
                self.push_error(-113, "Undefined header")
            else:
                self.sync_count += 1
                for chan in self.ch.values():
                    chan.synced += 1
            return None
        m = re.fullmatch(r"SOUR(\d)?:DATA:ARB:DAC\s+(\w+),?", up.strip()) if block is not None else None
        if m and block is not None:
            self._dac_upload(m.group(1), cmd.split()[1].rstrip(",").strip(), block)
            return None
        if block is not None:
            self.push_error(-113, "Undefined header")
            return None
        m = re.fullmatch(r"SOUR(\d)?:(.+)", up)
        if m:
            return self._source(m.group(1), m.group(2), cmd)
        m = re.fullmatch(r"OUTP(\d)?(?::(LOAD))?(\?|\s+(\S+))", up)
        if m:
            c = self._chan(m.group(1))
            if c is None:
                return None
            if m.group(2):
                if m.group(3) == "?":
                    return (c.load + "\n").encode()
                val = m.group(4)
                if val in ("INF", "INFINITY"):
                    c.load = "INF"
                else:
                    r = _num(val)
                    if not 1.0 <= r <= 10e3:
                        self.push_error(-222, "Data out of range")
                    else:
                        c.load = str(int(r)) if r.is_integer() else str(r)
                return None
            if m.group(3) == "?":
                return b"1\n" if c.output else b"0\n"
            val = m.group(4)
            if val in ("ON", "1"):
                c.output = True
            elif val in ("OFF", "0"):
                c.output = False
            else:
                self.push_error(-224, "Illegal parameter value")
            return None
        m = re.fullmatch(r"TRIG(\d)?:SOUR\s+(\w+)", up)
        if m:
            c = self._chan(m.group(1))
            if c is not None:
                if m.group(2) not in ("BUS", "EXT", "IMM", "TIM"):
                    self.push_error(-224, "Illegal parameter value")
                else:
                    c.trig_source = m.group(2)
            return None
        m = re.fullmatch(r'MMEM:STOR:DATA(\d)?\s+"(.+)"', cmd, re.I)
        if m:
            c = self._chan(m.group(1))
            if c is not None:
                if c.selected is None:
                    self.push_error(-221, "Settings conflict;no arb selected")
                else:
                    self.files[m.group(2).upper()] = self._arb_file(c, c.selected)
            return None
        m = re.fullmatch(r'MMEM:UPL\?\s+"(.+)"', cmd, re.I)
        if m:
            data = self.files.get(m.group(1).upper())
            if data is None:
                self.push_error(-256, "File name not found")
                return b"#10\n"
            data = self._corrupt_text(data)
            digits = str(len(data))
            return b"#" + str(len(digits)).encode() + digits.encode() + data + b"\n"
        m = re.fullmatch(r'MMEM:DEL\s+"(.+)"', cmd, re.I)
        if m:
            if self.files.pop(m.group(1).upper(), None) is None:
                self.push_error(-256, "File name not found")
            return None
        self.push_error(-113, "Undefined header")
        return None

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

    def _dac_upload(self, digit: str | None, name: str, block: bytes | bytearray) -> None:
        c = self._chan(digit)
        if c is None:
            return None
        if len(block) % 2:
            self.push_error(-161, "Invalid block data")
            return None
        n = len(block) // 2
        if len(name) > 12 or not name[:1].isalpha():
            self.push_error(-224, "Illegal parameter value")
            return None
        if n < 8:
            self.push_error(-222, "Data out of range;too few points")
            return None
        if n > self.max_points:
            self.push_error(-223, "Too much data")
            return None
        used = sum(a.size for a in c.arbs.values())
        if used + n > self.max_points:
            self.push_error(780, "Arb: out of memory")
            return None
        key = name.upper()
        if key in c.arbs:
            self.push_error(-221, "Settings conflict;arb name already exists")
            return None
        codes = np.frombuffer(block, dtype=">i2" if self.byte_order == "NORM" else "<i2")
        if codes.size and (int(codes.min()) < -32767):
            self.push_error(-222, "Data out of range")
            return None
        c.arbs[key] = codes.astype(np.int16)
        return None

    def _source(self, digit: str | None, rest: str, original: str) -> bytes | None:
        c = self._chan(digit)
        if c is None:
            return None
        arg = original.split(None, 1)[1].strip() if " " in original.strip() else ""
        if rest == "DATA:VOL:CLE":
            c.arbs.clear()
            c.selected = None
            if c.function == "ARB":
                c.function = "SIN"
            return None
        m = re.fullmatch(r"DATA:ATTR:POIN\?\s+(\w+)", rest)
        if m:
            a = c.arbs.get(m.group(1))
            if a is None:
                self.push_error(-224, "Illegal parameter value;arb not found")
                return b"0\n"
            return f"{a.size}\n".encode()
        if rest.startswith("FUNC:ARB:SRAT"):
            if rest.endswith("?"):
                return f"{c.srate_hz:+.15E}\n".encode()
            r = _num(arg)
            if not 1e-6 <= r <= self.max_rate_hz:
                self.push_error(-222, "Data out of range")
            else:
                c.srate_hz = r
            return None
        if rest.startswith("FUNC:ARB:FILT"):
            if rest.endswith("?"):
                return (c.filt + "\n").encode()
            if arg.upper() not in ("NORM", "STEP", "OFF"):
                self.push_error(-224, "Illegal parameter value")
            else:
                c.filt = arg.upper()
            return None
        if rest.startswith("FUNC:ARB") and not rest.startswith("FUNC:ARB:"):
            if rest.endswith("?"):
                return (f'"{c.selected or ""}"\n').encode()
            key = arg.strip('"').upper()
            if key not in c.arbs:
                self.push_error(-224, "Illegal parameter value;arb not found")
            else:
                c.selected = key
            return None
        if rest.startswith("FUNC") and not rest.startswith("FUNC:"):
            if rest.endswith("?"):
                return (c.function + "\n").encode()
            f = arg.upper()
            if f == "ARB" and c.selected is None:
                self.push_error(-221, "Settings conflict;no arb selected")
            elif f not in ("ARB", "SIN", "SQU", "DC"):
                self.push_error(-224, "Illegal parameter value")
            else:
                c.function = f
            return None
        if rest.startswith("VOLT:UNIT"):
            return None
        scale = 2.0 if c.load == "INF" else 1.0
        if rest.startswith("VOLT:OFFS"):
            if rest.endswith("?"):
                return f"{c.offset_v:+.15E}\n".encode()
            off = _num(arg)
            if abs(off) + c.vpp / 2 > 5.0 * scale + 1e-12:
                self.push_error(-221, "Settings conflict;offset changed due to amplitude")
            else:
                c.offset_v = off
            return None
        if rest.startswith("VOLT"):
            if rest.endswith("?"):
                return f"{c.vpp:+.15E}\n".encode()
            vpp = _num(arg)
            if not 1e-3 * scale <= vpp <= 10.0 * scale or abs(c.offset_v) + vpp / 2 > 5.0 * scale + 1e-12:
                self.push_error(-222, "Data out of range")
            else:
                c.vpp = vpp
            return None
        if rest.startswith("BURS:STAT"):
            c.burst = arg.upper() in ("ON", "1")
            return None
        if rest.startswith("BURS:MODE"):
            c.burst_mode = arg.upper()
            return None
        if rest.startswith("BURS:NCYC"):
            n = _num(arg)
            if not 1 <= n <= 1e8:
                self.push_error(-222, "Data out of range")
            else:
                c.ncycles = int(n)
            return None
        self.push_error(-113, "Undefined header")
        return None


def keysight_emulator(model: str = "33522B", *, mem_option: bool = False) -> ScpiEmulator:
    """An unstarted :class:`ScpiEmulator` running a :class:`KeysightPersonality` (use ``with``)."""
    return ScpiEmulator(KeysightPersonality(model, mem_option=mem_option))
