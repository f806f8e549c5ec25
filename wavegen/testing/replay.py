"""Protocol replay: a transport that checks every byte a driver sends against a recorded protocol.

:class:`ReplayTransport` plays the instrument's side of a conversation: each step is what the driver
must send (text, exact bytes, or a :class:`BlockMessage` of samples) and what the instrument answers.
The idea is PyMeasure's ``expected_protocol``, written anew and made block-aware: a mismatch inside a
binary block names the first wrong *sample*, not a 200 kB dump. Steps can be written by hand (shaped
like a manual's examples) or recorded from a real session with :class:`wavegen.testing.Recorder` and
loaded with :func:`load_replay`.

Test infrastructure: drivers never import this module.
"""

from __future__ import annotations

import base64
import json
import os
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from wavegen.drivers.scpi import ieee_header
from wavegen.errors import InstrumentError, InstrumentTimeoutError

__all__ = [
    "BlockMessage",
    "ReplayMismatch",
    "ReplayTransport",
    "REPLAY_FORMAT",
    "load_replay",
    "replay_steps",
    "save_replay",
]

#: The ``format`` field of a replay file.
REPLAY_FORMAT = "wavegen-replay"


class ReplayMismatch(AssertionError):
    """The driver sent something other than the recorded protocol (a test failure, not a runtime error)."""


@dataclass(frozen=True)
class BlockMessage:
    """An expected write that carries binary samples: ``prefix + header + samples + suffix``.

    Parameters
    ----------
    prefix : bytes or str
        Command text before the block, e.g. ``b"SOUR1:DATA:ARB:DAC gx,"``.
    samples : ndarray
        The samples with their exact wire dtype (``"<i2"``, ``"<f4"``, ``"<u2"``, ``"u1"``...).
    suffix : bytes or str
        What follows the block (normally the write termination ``b"\\n"``).
    header : bool
        ``True`` for an IEEE 488.2 definite-length header, ``False`` for raw (Siglent ``WVDT``).
    """

    prefix: bytes | str
    samples: np.ndarray
    suffix: bytes | str = b"\n"
    header: bool = True

    def wire(self) -> bytes:
        """The exact bytes expected on the wire."""
        prefix = self.prefix.encode("ascii") if isinstance(self.prefix, str) else self.prefix
        suffix = self.suffix.encode("ascii") if isinstance(self.suffix, str) else self.suffix
        payload = np.ascontiguousarray(self.samples).tobytes()
        head = ieee_header(len(payload)) if self.header else b""
        return prefix + head + payload + suffix

    def data_offset(self) -> int:
        """Byte offset of the first sample inside :meth:`wire`."""
        prefix = self.prefix.encode("ascii") if isinstance(self.prefix, str) else self.prefix
        head = ieee_header(self.samples.nbytes) if self.header else b""
        return len(prefix) + len(head)


Expected = str | bytes | BlockMessage
Reply = str | bytes | None


def _describe_mismatch(step: int, expected: Expected, exp_wire: bytes, actual: bytes) -> str:
    n = min(len(exp_wire), len(actual))
    eb = np.frombuffer(exp_wire[:n], np.uint8)
    ab = np.frombuffer(actual[:n], np.uint8)
    bad = np.flatnonzero(eb != ab)
    pos = int(bad[0]) if bad.size else n
    head = f"replay step {step}: "
    if isinstance(expected, BlockMessage):
        off = expected.data_offset()
        nbytes = expected.samples.nbytes
        if off <= pos < off + nbytes:
            dt = expected.samples.dtype
            idx = (pos - off) // dt.itemsize
            lo = off + idx * dt.itemsize
            got_raw = actual[lo : lo + dt.itemsize]
            got = np.frombuffer(got_raw, dt)[0].item() if len(got_raw) == dt.itemsize else got_raw
            return (
                head + f"sample {idx} of {expected.samples.size} differs: expected "
                f"{expected.samples.ravel()[idx].item()!r}, got {got!r} (dtype {dt.str})"
            )
    ctx_e = exp_wire[max(0, pos - 20) : pos + 20]
    ctx_a = actual[max(0, pos - 20) : pos + 20]
    if pos >= len(actual):
        return head + f"message ended early at byte {pos}: expected ...{ctx_e!r}, got ...{ctx_a!r}"
    return head + f"byte {pos} differs: expected ...{ctx_e!r}, got ...{ctx_a!r}"


@dataclass
class ReplayTransport:
    """A transport that checks the driver's writes against a recorded protocol and serves its replies.

    Parameters
    ----------
    steps : sequence of (expected, reply)
        ``expected`` is a ``str`` (a command; the write termination is added), ``bytes`` (exact wire
        bytes) or a :class:`BlockMessage`. ``reply`` is a ``str`` (a text answer; the read termination
        is added), ``bytes`` (exact wire bytes, e.g. a binary block) or ``None``.

    Writes may arrive in several pieces (chunked uploads); the concatenation must equal the expected
    wire bytes. Reading when no reply is pending raises :class:`InstrumentTimeoutError`, as a silent
    instrument would. Use as a context manager, or call :meth:`assert_done` at the end.
    """

    steps: Sequence[tuple[Expected, Reply]]
    timeout: Any = 10000
    read_termination: Any = "\n"
    write_termination: Any = "\n"
    closed: bool = False
    written: list[bytes] = field(default_factory=list)
    _queue: deque[tuple[Expected, Reply]] = field(init=False, repr=False)
    _wbuf: bytearray = field(init=False, repr=False, default_factory=bytearray)
    _rbuf: bytearray = field(init=False, repr=False, default_factory=bytearray)
    _step: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self._queue = deque(self.steps)

    # -- helpers
    def _expected_wire(self, expected: Expected) -> bytes:
        if isinstance(expected, BlockMessage):
            return expected.wire()
        if isinstance(expected, str):
            return (expected + (self.write_termination or "")).encode("ascii")
        return bytes(expected)

    def _reply_wire(self, reply: Reply) -> bytes:
        if reply is None:
            return b""
        if isinstance(reply, str):
            return (reply + (self.read_termination or "")).encode("ascii")
        return bytes(reply)

    def _check_open(self) -> None:
        if self.closed:
            raise InstrumentError("replay transport used after close()")

    # -- Transport
    def write_raw(self, message: bytes) -> int:
        self._check_open()
        data = bytes(message)
        self.written.append(data)
        if self._rbuf:
            raise ReplayMismatch(
                f"replay step {self._step}: write {data[:40]!r} while a reply is unread: {bytes(self._rbuf)[:40]!r}"
            )
        if not self._queue:
            raise ReplayMismatch(f"replay: unexpected write after the protocol ended: {data[:60]!r}")
        expected, reply = self._queue[0]
        exp_wire = self._expected_wire(expected)
        self._wbuf += data
        actual = bytes(self._wbuf)
        if len(actual) > len(exp_wire) or exp_wire[: len(actual)] != actual:
            raise ReplayMismatch(_describe_mismatch(self._step, expected, exp_wire, actual))
        if len(actual) == len(exp_wire):
            self._queue.popleft()
            self._wbuf.clear()
            self._rbuf += self._reply_wire(reply)
            self._step += 1
        return len(data)

    def write(self, message: str) -> int:
        return self.write_raw((message + (self.write_termination or "")).encode("ascii"))

    def read_bytes(self, count: int) -> bytes:
        self._check_open()
        if len(self._rbuf) < count:
            raise InstrumentTimeoutError(
                f"replay step {self._step}: read of {count} bytes but only {len(self._rbuf)} pending"
            )
        out = bytes(self._rbuf[:count])
        del self._rbuf[:count]
        return out

    def read(self) -> str:
        self._check_open()
        term = (self.read_termination or "\n").encode("ascii")
        idx = self._rbuf.find(term)
        if idx < 0:
            raise InstrumentTimeoutError(f"replay step {self._step}: read() with no reply pending")
        out = bytes(self._rbuf[:idx])
        del self._rbuf[: idx + len(term)]
        return out.decode("ascii")

    def query(self, message: str) -> str:
        self.write(message)
        return self.read()

    def clear(self) -> None:
        self._rbuf.clear()

    def close(self) -> None:
        self.closed = True

    # -- checks
    def assert_done(self) -> None:
        """Raise :class:`ReplayMismatch` unless every step was consumed and nothing is left unread."""
        if self._wbuf:
            raise ReplayMismatch(f"replay step {self._step}: incomplete write {bytes(self._wbuf)[:60]!r}")
        if self._queue:
            nxt = self._queue[0][0]
            shown = nxt.prefix if isinstance(nxt, BlockMessage) else nxt
            raise ReplayMismatch(f"replay: {len(self._queue)} step(s) never sent; next expected {shown!r}")
        if self._rbuf:
            raise ReplayMismatch(f"replay: reply left unread: {bytes(self._rbuf)[:60]!r}")

    def __enter__(self) -> ReplayTransport:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.assert_done()


def replay_steps(pairs: Iterable[tuple[Expected, Reply]]) -> list[tuple[Expected, Reply]]:
    """Return *pairs* as a list (a readability helper for tests that build protocols in pieces)."""
    return list(pairs)


_PRINTABLE = frozenset(chr(c) for c in range(32, 127)) | {"\n", "\r", "\t"}


def _encode(data: bytes | None) -> Any:
    if data is None:
        return None
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        return {"b64": base64.b64encode(data).decode("ascii")}
    if set(text) <= _PRINTABLE:
        return {"text": text}
    return {"b64": base64.b64encode(data).decode("ascii")}


def _decode(item: Any, where: str) -> bytes | None:
    if item is None:
        return None
    if isinstance(item, dict) and set(item) == {"text"} and isinstance(item["text"], str):
        return item["text"].encode("ascii")
    if isinstance(item, dict) and set(item) == {"b64"} and isinstance(item["b64"], str):
        return base64.b64decode(item["b64"], validate=True)
    raise ValueError(f"{where}: expected {{'text': ...}}, {{'b64': ...}} or null, got {item!r}")


def save_replay(
    path: str | os.PathLike[str],
    steps: Iterable[tuple[bytes, bytes]],
    *,
    read_termination: str | None = "\n",
    write_termination: str | None = "\n",
    meta: dict[str, Any] | None = None,
) -> None:
    """Write exact wire bytes (sent, answered) per step as a replay file (JSON, see :func:`load_replay`)."""
    doc = {
        "format": REPLAY_FORMAT,
        "version": 1,
        "read_termination": read_termination,
        "write_termination": write_termination,
        "meta": dict(meta or {}),
        "steps": [{"send": _encode(bytes(s)), "reply": _encode(bytes(r)) if r else None} for s, r in steps],
    }
    tmp = f"{os.fspath(path)}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    os.replace(tmp, path)


def load_replay(path: str | os.PathLike[str]) -> ReplayTransport:
    """A :class:`ReplayTransport` for a replay file written by :class:`~wavegen.testing.Recorder`.

    The file is JSON: ``{"format": "wavegen-replay", "version": 1, "read_termination": "\\n",
    "write_termination": "\\n", "meta": {...}, "steps": [{"send": S, "reply": R}, ...]}`` where ``S``
    and ``R`` are ``{"text": "..."}`` (ASCII) or ``{"b64": "..."}`` (binary), exact wire bytes
    including terminations; ``R`` may be ``null``.

    Raises
    ------
    ValueError
        Not a replay file, or a malformed step (the message names the step).
    """
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    if not isinstance(doc, dict) or doc.get("format") != REPLAY_FORMAT or doc.get("version") != 1:
        raise ValueError(f"{os.fspath(path)}: not a {REPLAY_FORMAT} version 1 file")
    steps: list[tuple[Expected, Reply]] = []
    for i, st in enumerate(doc.get("steps", [])):
        sent = _decode(st.get("send"), f"{os.fspath(path)} step {i} send")
        if sent is None:
            raise ValueError(f"{os.fspath(path)} step {i}: nothing sent")
        steps.append((sent, _decode(st.get("reply"), f"{os.fspath(path)} step {i} reply")))
    return ReplayTransport(
        steps, read_termination=doc.get("read_termination"), write_termination=doc.get("write_termination")
    )
