"""The small transport interface every wavegen driver talks through.

A driver never imports pyvisa itself. It talks to a :class:`Transport`: the handful of methods and
attributes that a ``pyvisa.resources.MessageBasedResource`` already has (``write``, ``write_raw``,
``read``, ``read_bytes``, ``query``, ``timeout`` in VISA milliseconds, ``clear``, ``close``). So the same
driver runs

- over real VISA (NI-VISA, Keysight IO Libraries) to a real instrument,
- over pyvisa-py to a loopback emulator (``TCPIP0::127.0.0.1::PORT::SOCKET``, see :mod:`wavegen.drivers.mock`),
- over :class:`ReplayTransport` in unit tests, which checks every byte the driver sends against a
  recorded protocol (the idea of PyMeasure's ``expected_protocol``, written anew here and made
  block-aware: a mismatch inside a binary block names the first wrong *sample*, not a 200 kB dump).

Reference: PyVISA ``resources/messagebased.py`` (the methods mirrored here); docs/references/instruments.md §1, §7.
"""

from __future__ import annotations

import logging
import socket
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from wavegen.errors import InstrumentError, InstrumentTimeoutError

__all__ = [
    "Transport",
    "open_visa",
    "BlockMessage",
    "ReplayTransport",
    "ReplayMismatch",
    "first_sample_difference",
    "socket_of",
]

logger = logging.getLogger(__name__)


@runtime_checkable
class Transport(Protocol):
    """What a driver needs from its connection; a pyvisa message-based resource satisfies it as is.

    ``timeout`` is in VISA milliseconds (``None`` = wait forever), the one place milliseconds appear;
    drivers take seconds in their own API and convert.
    """

    timeout: Any
    read_termination: Any
    write_termination: Any

    def write(self, message: str) -> int: ...

    def write_raw(self, message: bytes) -> int: ...

    def read(self) -> str: ...

    def read_bytes(self, count: int) -> bytes: ...

    def query(self, message: str) -> str: ...

    def clear(self) -> None: ...

    def close(self) -> None: ...


def open_visa(
    address: str,
    *,
    backend: str = "@py",
    timeout_s: float = 10.0,
    read_termination: str = "\n",
    write_termination: str = "\n",
) -> Transport:
    """Open a VISA resource as a :class:`Transport`.

    Parameters
    ----------
    address : str
        VISA resource string, e.g. ``"TCPIP0::192.0.2.5::5025::SOCKET"`` or ``"TCPIP0::host::INSTR"``.
    backend : str
        pyvisa backend: ``"@py"`` (pyvisa-py, default, pure Python) or ``""``/``"@ivi"`` for the
        installed vendor VISA.
    timeout_s : float
        I/O timeout in seconds (converted to VISA milliseconds here).
    read_termination, write_termination : str
        SOCKET resources have no END indicator, so a read termination is mandatory there (a SOCKET
        query without one times out; docs/references/instruments.md §1.3).

    Raises
    ------
    InstrumentError
        The resource cannot be opened (the message names the address).
    """
    import pyvisa

    try:
        rm = pyvisa.ResourceManager(backend)
        res = rm.open_resource(
            address,
            read_termination=read_termination,
            write_termination=write_termination,
            timeout=int(round(timeout_s * 1000.0)),
        )
    except Exception as exc:  # pyvisa raises plain Exception for some connect failures
        raise InstrumentError(f"cannot open VISA resource {address!r} with backend {backend!r}: {exc}") from exc
    sock = socket_of(res)
    if sock is not None:
        # request/response traffic: no Nagle delay (pyvisa-py's VI_ATTR_TCPIP_NODELAY setter does not
        # reach the socket in 0.8), else a short write after a large one can stall ~40 ms on delayed ACKs
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return res  # type: ignore[return-value]


def socket_of(transport: object) -> socket.socket | None:
    """The TCP socket under a pyvisa-py ``::SOCKET`` resource, or ``None`` for anything else.

    pyvisa-py writes in 4 KiB pieces with a ``select`` before each (``pyvisa_py/tcpip.py``,
    ``TCPIPSocketSession.write``), about four times slower than one ``sendall`` on loopback; large
    blocks therefore go straight to this socket (same connection, same session, same order).
    """
    try:
        visalib = getattr(transport, "visalib", None)
        if visalib is None or not type(visalib).__module__.startswith("pyvisa_py"):
            return None
        sess = visalib.sessions[transport.session]  # type: ignore[attr-defined]
        sock = getattr(sess, "interface", None)
        return sock if isinstance(sock, socket.socket) else None
    except Exception:
        return None


# --------------------------------------------------------------------------------------------------
# protocol replay
# --------------------------------------------------------------------------------------------------


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
        from .scpi import ieee_header

        prefix = self.prefix.encode("ascii") if isinstance(self.prefix, str) else self.prefix
        suffix = self.suffix.encode("ascii") if isinstance(self.suffix, str) else self.suffix
        payload = np.ascontiguousarray(self.samples).tobytes()
        head = ieee_header(len(payload)) if self.header else b""
        return prefix + head + payload + suffix

    def data_offset(self) -> int:
        """Byte offset of the first sample inside :meth:`wire`."""
        from .scpi import ieee_header

        prefix = self.prefix.encode("ascii") if isinstance(self.prefix, str) else self.prefix
        head = ieee_header(self.samples.nbytes) if self.header else b""
        return len(prefix) + len(head)


Expected = str | bytes | BlockMessage
Reply = str | bytes | None


def first_sample_difference(expected: np.ndarray, actual: np.ndarray, *, label: str = "sample") -> str | None:
    """Describe the first differing element of two arrays, or ``None`` when they are identical.

    The message names the index, both values and how many elements differ; it never dumps the arrays.
    """
    e = np.asarray(expected).ravel()
    a = np.asarray(actual).ravel()
    if e.shape != a.shape:
        return f"{label} count differs: expected {e.size}, got {a.size}"
    if e.dtype.kind == "f" or a.dtype.kind == "f":
        ev = e.view(np.uint32 if e.dtype.itemsize == 4 else np.uint64) if e.dtype.kind == "f" else e
        av = a.view(np.uint32 if a.dtype.itemsize == 4 else np.uint64) if a.dtype.kind == "f" else a
        diff = ev != av if ev.dtype == av.dtype else e != a
    else:
        diff = e != a
    bad = np.flatnonzero(diff)
    if bad.size == 0:
        return None
    i = int(bad[0])
    return f"{label} {i} differs: expected {e[i].item()!r}, got {a[i].item()!r} ({bad.size} of {e.size} differ)"


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
