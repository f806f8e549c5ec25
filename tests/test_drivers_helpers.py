"""Helpers shared by the driver tests (clearances with grants, test-side transports), and their tests."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np

from wavegen.limits import SystemLimits
from wavegen.safety.interlock import Clearance, Grant, Segment, clear
from wavegen.safety.waveforms import Waveforms
from wavegen.testing import ReplayTransport


def gentle() -> Waveforms:
    """A small, safe gradient waveform (50 T/m/s ramps to 5 mT/m) to check; grants ride on its check."""
    g = np.zeros((100, 3))
    g[:, 0] = np.interp(np.arange(100), [0, 10, 20, 80, 90, 99], [0, 0, 5e-3, 5e-3, 0, 0])
    return Waveforms(g, 10e-6)


def volts_grant(output: str, volts: Any, rate: float, *, repeats: int = 1, endless: bool = False) -> Grant:
    """A grant for volts as the drivers digest them (float64, 1-D)."""
    v = np.ascontiguousarray(volts, dtype=np.float64)
    return Grant.for_samples(output, v, rate, repeats=repeats, endless=endless)


def codes_grant(output: str, codes: Any, rate: float, *, repeats: int = 1, endless: bool = False) -> Grant:
    """A grant for DAC codes exactly as passed to ``load_codes``."""
    return Grant.for_samples(output, np.asarray(codes), rate, repeats=repeats, endless=endless)


def any_of(output: str, arrays: Any, rate: float, *, endless: bool = True) -> Grant:
    """One grant letting *output* hold any of *arrays* (volts, as float64) at *rate*, looping."""
    segs = tuple(Segment.of(np.ascontiguousarray(a, dtype=np.float64)) for a in arrays)
    return Grant(output, float(rate), segs, tuple((i, 1) for i in range(len(segs))), endless)


def cleared(*grants: Grant, lifetime_s: float = 600.0) -> Clearance:
    """A genuine clearance (the gentle waveform checked as periodic) carrying *grants*."""
    return clear(gentle(), SystemLimits(), grants=grants, lifetime_s=lifetime_s)


def looped(output: str, volts: Any, rate: float) -> Clearance:
    """A clearance for *volts* on *output*, playing until stopped (what "output on" without arm means)."""
    return cleared(volts_grant(output, volts, rate, endless=True))


class DropWrites:
    """A test-side transport wrapper that silently swallows writes whose text matches *pattern*
    (an instrument that ignores a command), passing everything else to *inner*."""

    def __init__(self, inner: Any, pattern: str) -> None:
        self._inner = inner
        self._pattern = re.compile(pattern)
        self.dropped: list[str] = []

    def __getattr__(self, name: str) -> Any:  # timeout, read_termination, ... of the real transport
        return getattr(self._inner, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_") or name == "dropped":
            object.__setattr__(self, name, value)
        else:
            setattr(self._inner, name, value)

    def write(self, message: str) -> int:
        if self._pattern.fullmatch(message):
            self.dropped.append(message)
            return len(message)
        return int(self._inner.write(message))

    def write_raw(self, message: bytes) -> int:
        return int(self._inner.write_raw(message))

    def read(self) -> str:
        return str(self._inner.read())

    def read_bytes(self, count: int) -> bytes:
        return bytes(self._inner.read_bytes(count))

    def query(self, message: str) -> str:
        self.write(message)
        return self.read()

    def clear(self) -> None:
        self._inner.clear()

    def close(self) -> None:
        self._inner.close()


def answer_missing_queries(emu: Any) -> Any:
    """Teach an emulator the read-backs the drivers now send where it does not answer them yet:
    ``*ESR?`` (error bits from its error queue), the output state (``OUTPn?``/``:OUTPn?``), the
    Tektronix ``WLIS:WAV:LMIN?``/``GRAN?`` (1 point), and the Rigol read-back in the guide's 8192-point
    packets (the emulator still answers 16384). Only used where the emulator itself would answer
    ``-113 Undefined header`` or nothing; an emulator that answers keeps its own answer."""
    p = emu.personality
    original: Callable[[str, Any], bytes | None] = p.handle

    def handle(command: str, block: Any) -> bytes | None:
        m = re.fullmatch(r":SOUR(\d):TRAC:DATA:LOAD\?\s+(VOLATILE|\d+)", command.strip(), re.I)
        if m is not None and hasattr(p, "ch") and getattr(p.ch[int(m.group(1))], "wave", None) is not None:
            # the Rigol guide's read-back: packets of 8192 points (#9000016384), not the 16384 of the upload
            wave = np.asarray(p.ch[int(m.group(1))].wave).astype("<u2")
            if m.group(2).upper() == "VOLATILE":
                return f"{-(-wave.size // 8192)}\n".encode()
            part = wave[(int(m.group(2)) - 1) * 8192 : int(m.group(2)) * 8192].tobytes()
            part = p.corrupt(part, 2) if hasattr(p, "corrupt") else part
            return b"#9" + f"{len(part):09d}".encode() + part + b"\n"
        errors = getattr(p, "errors", None)
        if not isinstance(errors, list):  # an emulator of another shape answers for itself
            return original(command, block)
        n_errors = len(errors)
        answer = original(command, block)
        if answer is not None or block is not None:
            return answer
        up = command.strip().upper()
        own = None
        if up == "*ESR?":
            bits = 16 if n_errors else 0  # errors queued before this query
            errors.clear()
            return f"{bits}\n".encode()
        elif (m := re.fullmatch(r":?OUTP(\d)\?", up)) is not None and hasattr(p, "ch"):
            own = (b"1\n" if p.ch[int(m.group(1))].output else b"0\n")
        elif up in ("WLIS:WAV:LMIN?", "WLIS:WAV:GRAN?"):
            own = b"1\n"
        if own is not None:
            del errors[n_errors:]  # the emulator's "-113 Undefined header" for what it did not know
        return own

    p.handle = handle
    return emu


def test_drop_writes_swallows_only_the_matching_command() -> None:
    t = ReplayTransport([("OUTP1 OFF", None), ("OUTP1?", "0")])
    w = DropWrites(t, r"OUTP2 OFF")
    w.write("OUTP1 OFF")
    w.write("OUTP2 OFF")
    assert w.query("OUTP1?") == "0" and w.dropped == ["OUTP2 OFF"]
    w.timeout = 1234
    assert t.timeout == 1234
    t.assert_done()


def test_grants_digest_volts_as_float64() -> None:
    v32 = np.linspace(-1, 1, 16, dtype=np.float32)
    g = volts_grant("awg/1", v32, 1e6)
    assert g.segments[0].n_samples == 16
    assert g.max_repeats(Grant.for_samples("x", v32.astype(np.float64), 1e6).segments[0].digest) == 1


class SinkTransport:
    """A permissive stand-in for a Keysight 33500: accepts every write, answers the queries the driver
    sends with plausible values, and records every message (for "nothing was sent" assertions)."""

    def __init__(self, idn: str = "Keysight Technologies,33522B,MY1,A.02") -> None:
        self.timeout: Any = 10000
        self.read_termination: Any = "\n"
        self.write_termination: Any = "\n"
        self.written: list[bytes] = []
        self._idn = idn
        self._answers: list[str] = []
        self._rate = "1"

    def write_raw(self, message: bytes) -> int:
        data = bytes(message)
        self.written.append(data)
        text = data.decode("latin-1").strip()
        up = text.upper()
        if up.endswith("SRAT?"):
            self._answers.append(self._rate)
        elif "FUNC:ARB:SRAT " in up:
            self._rate = text.split()[-1]
        elif up == "*IDN?":
            self._answers.append(self._idn)
        elif up in ("*OPC?",):
            self._answers.append("1")
        elif up == "*OPT?":
            self._answers.append("0")
        elif up == "FORM:BORD?":
            self._answers.append("SWAP")
        elif up.startswith("SYST:ERR?"):
            self._answers.append('+0,"No error"')
        elif re.fullmatch(r"OUTP\d\?", up):
            self._answers.append("0")
        elif "DATA:ATTR:POIN?" in up:
            self._answers.append("0")
        return len(data)

    def write(self, message: str) -> int:
        return self.write_raw((message + "\n").encode("latin-1"))

    def read(self) -> str:
        return self._answers.pop(0)

    def read_bytes(self, count: int) -> bytes:  # pragma: no cover - no block answers in these tests
        raise TimeoutError("no block answers")

    def query(self, message: str) -> str:
        self.write(message)
        return self.read()

    def clear(self) -> None:
        self._answers.clear()

    def close(self) -> None:
        pass
