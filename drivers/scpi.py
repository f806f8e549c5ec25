"""SCPI helpers: IEEE 488.2 blocks, byte order, chunking, payload-scaled timeouts, the error queue.

Everything that is common to the SCPI instruments wavegen drives lives here:

- :func:`ieee_header` / :func:`parse_ieee_header`: IEEE 488.2 *definite length arbitrary block*
  ``#<n><length><data>`` (IEEE Std 488.2-1992 §7.7.6), with the length written in decimal; a block
  larger than 999,999,999 bytes cannot be expressed and must be split by the caller (pyvisa would write
  a non-standard ``#A...`` header).
- :func:`to_wire`: samples to bytes in an explicit byte order, with a range check instead of the
  silent wrap-around of ``ndarray.astype`` that ``pyvisa.util.to_binary_block`` does.
- :func:`payload_timeout_s`: a timeout that grows with the payload (pyvisa#606).
- :class:`ScpiSession`: one place for I/O with error translation (pyvisa timeouts become
  :class:`InstrumentTimeoutError`, socket failures :class:`InstrumentError`), command logging that
  never dumps binary data, block writes (optionally chunked, for NI-VISA's SOCKET write bug pyvisa#823),
  block reads, ``*OPC?`` with a scaled timeout and error-queue draining that raises what it holds.
"""

from __future__ import annotations

import contextlib
import logging
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from wavegen.errors import (
    DacRangeError,
    InstrumentError,
    InstrumentProtocolError,
    InstrumentReportedError,
    InstrumentTimeoutError,
    RangeError,
    ShapeError,
)

from .transport import Transport, socket_of

__all__ = [
    "MAX_BLOCK_BYTES",
    "ieee_header",
    "ieee_block",
    "parse_ieee_header",
    "to_wire",
    "payload_timeout_s",
    "ScpiError",
    "ScpiSession",
    "format_number",
    "parse_finite",
    "socket_of",
]

logger = logging.getLogger(__name__)

#: The largest payload a definite-length block header can describe (9 decimal digits).
MAX_BLOCK_BYTES = 999_999_999

_VI_ERROR_TMO = -1073807339
_PROGRESS_STEP = 8 << 20


def ieee_header(n_bytes: int) -> bytes:
    """IEEE 488.2 definite-length block header for a payload of *n_bytes* bytes (``#<n><len>``).

    Raises
    ------
    RangeError
        ``n_bytes`` is negative or larger than :data:`MAX_BLOCK_BYTES` (split the upload instead).
    """
    if n_bytes < 0 or n_bytes > MAX_BLOCK_BYTES:
        raise RangeError(
            f"block payload of {n_bytes} bytes cannot be sent in one IEEE 488.2 definite-length block "
            f"(0..{MAX_BLOCK_BYTES} bytes); split the upload"
        )
    digits = str(n_bytes)
    return b"#" + str(len(digits)).encode("ascii") + digits.encode("ascii")


def ieee_block(payload: bytes | bytearray | memoryview) -> bytes:
    """``header + payload`` as one bytes object."""
    return ieee_header(len(payload)) + bytes(payload)


def parse_ieee_header(data: bytes) -> tuple[int, int]:
    """Parse a definite-length header at the start of *data*.

    Returns
    -------
    (header_length, payload_length) : tuple of int

    Raises
    ------
    InstrumentProtocolError
        Not a definite-length header (indefinite ``#0`` blocks are refused: a binary payload may hold
        any byte, so only a length tells where it ends).
    """
    if len(data) < 2 or data[:1] != b"#":
        raise InstrumentProtocolError(f"expected an IEEE 488.2 block starting with '#', got {data[:12]!r}")
    nd = data[1:2]
    if not nd.isdigit() or nd == b"0":
        raise InstrumentProtocolError(f"unsupported block header {data[:12]!r} (need a definite length #1..#9)")
    n = int(nd)
    digits = data[2 : 2 + n]
    if len(digits) < n or not digits.isdigit():
        raise InstrumentProtocolError(f"malformed block length in header {data[: 2 + n]!r}")
    return 2 + n, int(digits)


def to_wire(samples: np.ndarray, wire_dtype: str | np.dtype) -> np.ndarray:
    """Return *samples* as a C-contiguous array of the exact wire dtype (explicit byte order).

    Integer samples must already be integers in range: nothing is rounded, wrapped or clipped here
    (``pyvisa.util.to_binary_block`` would silently wrap 40000 to -25536). Float wire types accept
    float input only.

    Raises
    ------
    ShapeError
        Not one-dimensional, or empty.
    DacRangeError
        An integer sample does not fit the wire type (the message names the first one).
    """
    dt = np.dtype(wire_dtype)
    a = np.asarray(samples)
    if a.ndim != 1 or a.size == 0:
        raise ShapeError(f"samples must be a non-empty 1-D array, got shape {a.shape}")
    if dt.kind in "iu":
        if a.dtype.kind not in "iu":
            raise DacRangeError(f"integer wire type {dt.str} needs integer codes, got dtype {a.dtype}")
        info = np.iinfo(dt)
        if a.dtype.itemsize > dt.itemsize or (a.dtype.kind != dt.kind):
            bad = np.flatnonzero((a < info.min) | (a > info.max))
            if bad.size:
                i = int(bad[0])
                raise DacRangeError(
                    f"code {a[i]} at sample {i} does not fit wire type {dt.str} ({info.min}..{info.max})"
                )
    elif dt.kind == "f":
        if a.dtype.kind != "f":
            raise DacRangeError(f"float wire type {dt.str} needs float samples, got dtype {a.dtype}")
    else:
        if a.dtype != dt:
            raise DacRangeError(f"wire type {dt.str} needs dtype {dt}, got {a.dtype}")
    return np.ascontiguousarray(a, dtype=dt)


def payload_timeout_s(n_bytes: int, *, base_s: float, bytes_per_s: float) -> float:
    """Timeout for moving *n_bytes*: ``base_s + n_bytes / bytes_per_s`` seconds.

    ``bytes_per_s`` is a pessimistic throughput (interface plus instrument processing), so the timeout
    only fires when something is really wrong.
    """
    if n_bytes < 0 or not bytes_per_s > 0 or not base_s >= 0:
        raise RangeError(f"bad timeout inputs n_bytes={n_bytes}, base_s={base_s}, bytes_per_s={bytes_per_s}")
    return float(base_s) + float(n_bytes) / float(bytes_per_s)


def format_number(x: float) -> str:
    """Format a number for SCPI exactly (``repr`` of a float round-trips; never ``%g``, which rounds)."""
    if not np.isfinite(x):
        raise RangeError(f"cannot send non-finite number {x!r} to an instrument")
    if float(x).is_integer() and abs(x) < 1e15:
        return str(int(x))
    return repr(float(x))


@dataclass(frozen=True)
class ScpiError:
    """One entry of an instrument's error queue."""

    code: int
    message: str

    def __str__(self) -> str:
        return f'{self.code:+d},"{self.message}"'


#: IEEE 488.2 standard event status register error bits: (bit, SCPI error class code, meaning)
_ESR_BITS = (
    (2, -400, "query error"),
    (3, -300, "device-specific error"),
    (4, -200, "execution error"),
    (5, -100, "command error"),
)


def parse_finite(command: str, answer: str) -> float:
    """A numeric answer as a finite float.

    Raises
    ------
    InstrumentProtocolError
        Not a number, or not finite (``nan``, ``inf``, or the SCPI 9.91E37 "not a number").
    """
    try:
        x = float(answer)
    except ValueError:
        raise InstrumentProtocolError(f"{command!r} answered {answer!r}, not a number") from None
    if not math.isfinite(x) or abs(x) >= 9.9e37:
        raise InstrumentProtocolError(f"{command!r} answered {answer!r}, not a finite number")
    return x


_ERR_RE = re.compile(r'^\s*([+-]?\d+)\s*,\s*"?(.*?)"?\s*$', re.S)


class ScpiSession:
    """SCPI I/O over a :class:`~wavegen.drivers.transport.Transport` with error translation.

    Parameters
    ----------
    transport : Transport
        A pyvisa resource or a replay transport.
    timeout_s : float
        Base I/O timeout in seconds.
    bytes_per_s : float
        Pessimistic throughput used to scale timeouts with the payload size.
    error_query : str or None
        The error-queue query (``SYST:ERR?`` for most, ``SYST:ERR:NEXT?`` variants exist), or ``None``
        for an instrument without an error queue: then ``*ESR?`` (IEEE 488.2 standard event status
        register) is read and its error bits reported.
    max_write_bytes : int or None
        Split binary writes into pieces of at most this many bytes (NI-VISA SOCKET writes larger than
        ~46 kB fail, pyvisa#823). ``None`` writes each message in one call.
    """

    def __init__(
        self,
        transport: Transport,
        *,
        timeout_s: float = 10.0,
        bytes_per_s: float = 2e6,
        error_query: str | None = "SYST:ERR?",
        max_errors: int = 64,
        max_write_bytes: int | None = None,
        fast_socket_bytes: int | None = 1 << 20,
    ) -> None:
        if not timeout_s > 0:
            raise RangeError(f"timeout_s must be > 0 s, got {timeout_s}")
        self.transport = transport
        self.timeout_s = float(timeout_s)
        self.bytes_per_s = float(bytes_per_s)
        self.error_query = error_query
        self.max_errors = int(max_errors)
        self.max_write_bytes = max_write_bytes
        self.fast_socket_bytes = fast_socket_bytes
        #: optional ``progress(bytes_sent, bytes_total)`` callback for long block writes
        self.progress: Callable[[int, int], None] | None = None
        #: timeout of one error check (s): short, so a silent instrument cannot hold an operation
        self.error_timeout_s = min(self.timeout_s, 2.0)
        self.transport.timeout = int(round(self.timeout_s * 1000.0))

    # -- error translation --------------------------------------------------------------------------
    @contextlib.contextmanager
    def _io(self, what: str) -> Iterator[None]:
        try:
            yield
        except (InstrumentError, AssertionError):  # AssertionError: a replay mismatch in a test
            raise
        except Exception as exc:
            raise self.translate(exc, what) from exc

    @staticmethod
    def translate(exc: BaseException, what: str) -> InstrumentError:
        """Map a transport exception to the wavegen instrument error it means."""
        code = getattr(exc, "error_code", None)
        if code == _VI_ERROR_TMO or isinstance(exc, TimeoutError):
            return InstrumentTimeoutError(f"instrument timed out during {what}")
        if isinstance(exc, UnicodeDecodeError):
            return InstrumentProtocolError(f"instrument answered non-text bytes during {what}: {exc}")
        if isinstance(exc, OSError):
            return InstrumentError(f"connection lost during {what}: {exc!r}")
        return InstrumentError(f"I/O failure during {what}: {exc!r}")

    @contextlib.contextmanager
    def timeout(self, seconds: float) -> Iterator[None]:
        """Temporarily set the transport timeout to *seconds* (converted to VISA ms)."""
        old = self.transport.timeout
        self.transport.timeout = int(round(seconds * 1000.0))
        try:
            yield
        finally:
            self.transport.timeout = old

    def scaled_timeout_s(self, n_bytes: int) -> float:
        """Timeout for a payload of *n_bytes* (base timeout plus the time at :attr:`bytes_per_s`)."""
        return payload_timeout_s(n_bytes, base_s=self.timeout_s, bytes_per_s=self.bytes_per_s)

    # -- text I/O ---------------------------------------------------------------------------------
    def write(self, command: str) -> None:
        """Send one command."""
        logger.debug("-> %s", command)
        with self._io(repr(command)):
            self.transport.write(command)

    def query(self, command: str) -> str:
        """Send a query and return its answer without the termination."""
        logger.debug("-> %s", command)
        with self._io(repr(command)):
            answer = self.transport.query(command)
        logger.debug("<- %s", answer[:200])
        return answer.strip()

    def query_float(self, command: str) -> float:
        """Query a number."""
        ans = self.query(command)
        return parse_finite(command, ans)

    def query_int(self, command: str) -> int:
        """Query an integer."""
        v = self.query_float(command)
        if not float(v).is_integer():
            raise InstrumentProtocolError(f"{command!r} answered {v!r}, not an integer")
        return int(v)

    # -- binary I/O -------------------------------------------------------------------------------
    def write_block(
        self,
        prefix: str,
        payload: np.ndarray | bytes,
        *,
        header: bool = True,
        suffix: str = "\n",
        timeout_s: float | None = None,
    ) -> None:
        """Send ``prefix + #<n><len> + payload + suffix`` (``header=False``: no ``#`` header).

        The timeout scales with the payload. With :attr:`max_write_bytes` set, the message goes out in
        several ``write_raw`` calls (only valid for stream transports such as SOCKET). Payloads of at
        least :attr:`fast_socket_bytes` on a pyvisa-py SOCKET resource are written with one
        ``sendall`` on its socket, without copying (see :func:`socket_of`); ``None`` disables that.
        """
        if isinstance(payload, np.ndarray):
            data: bytes | memoryview = np.ascontiguousarray(payload).data.cast("B")
        else:
            data = bytes(payload)
        nbytes = len(data)
        head = ieee_header(nbytes) if header else b""
        t = timeout_s if timeout_s is not None else self.scaled_timeout_s(nbytes)
        logger.debug("-> %s<%d-byte block>", prefix, nbytes)
        what = f"{prefix!r} with a {nbytes}-byte block"
        sock = None
        if self.fast_socket_bytes is not None and nbytes >= self.fast_socket_bytes:
            sock = socket_of(self.transport)
        if sock is not None:
            with self._io(what):
                old = sock.gettimeout()
                sock.settimeout(t)
                try:
                    sock.sendall(prefix.encode("ascii") + head)
                    view = memoryview(data)
                    for off in range(0, nbytes, _PROGRESS_STEP):
                        sock.sendall(view[off : off + _PROGRESS_STEP])
                        if self.progress is not None:
                            self.progress(min(off + _PROGRESS_STEP, nbytes), nbytes)
                    if suffix:
                        sock.sendall(suffix.encode("ascii"))
                finally:
                    sock.settimeout(old)
            return
        message = b"".join((prefix.encode("ascii"), head, data, suffix.encode("ascii")))
        with self._io(what), self.timeout(t):
            step = self.max_write_bytes
            if step is None or len(message) <= step:
                self.transport.write_raw(message)
            else:
                view = memoryview(message)
                for off in range(0, len(message), step):
                    self.transport.write_raw(bytes(view[off : off + step]))
                    if self.progress is not None:
                        self.progress(min(max(off + step - len(prefix) - len(head), 0), nbytes), nbytes)
        if self.progress is not None:
            self.progress(nbytes, nbytes)

    def read_block(self, *, expected_bytes: int | None = None, timeout_s: float | None = None) -> bytes:
        """Read one definite-length block answer (and its trailing termination).

        Raises
        ------
        InstrumentProtocolError
            Malformed header, or a length other than *expected_bytes*.
        """
        est = expected_bytes if expected_bytes is not None else 0
        t = timeout_s if timeout_s is not None else self.scaled_timeout_s(est)
        with self._io("block read"), self.timeout(t):
            start = self.transport.read_bytes(2)
            if start[:1] != b"#":
                raise InstrumentProtocolError(f"expected a block answer starting with '#', got {start!r}")
            nd = start[1:2]
            if not nd.isdigit() or nd == b"0":
                raise InstrumentProtocolError(f"unsupported block header {start!r}")
            digits = self.transport.read_bytes(int(nd))
            _, length = parse_ieee_header(start + digits)
            if expected_bytes is not None and length != expected_bytes:
                raise InstrumentProtocolError(f"block answer of {length} bytes, expected {expected_bytes} bytes")
            term_text = self.transport.read_termination
            # binary payload: switch the termination character off so the VISA layer does not stop at
            # every 0x0A byte (pyvisa-py would return ~one read call per line of a text file)
            self.transport.read_termination = None
            try:
                data = self.transport.read_bytes(length) if length else b""
            finally:
                self.transport.read_termination = term_text
            term = (term_text or "\n").encode("ascii")
            tail = self.transport.read_bytes(len(term))
            if tail != term:
                raise InstrumentProtocolError(f"block not followed by the termination: got {tail!r}")
        return data

    # -- synchronisation and errors -----------------------------------------------------------------
    def opc(self, timeout_s: float | None = None) -> None:
        """``*OPC?``: wait until the instrument has finished everything sent so far."""
        with self.timeout(timeout_s if timeout_s is not None else self.timeout_s):
            ans = self.query("*OPC?")
        if ans.strip().lstrip("+") != "1":
            raise InstrumentProtocolError(f"*OPC? answered {ans!r}, expected '1'")

    def drain_errors(self) -> list[ScpiError]:
        """Read the error queue until it reports ``0`` and return what it held (each read with the short
        :attr:`error_timeout_s`; with no error queue, the error bits of ``*ESR?``)."""
        with self.timeout(self.error_timeout_s):
            if self.error_query is None:
                return self._esr_errors()
            return self._queue_errors(self.error_query)

    def _esr_errors(self) -> list[ScpiError]:
        ans = self.query("*ESR?")
        try:
            esr = int(ans.strip().lstrip("+"))
        except ValueError:
            raise InstrumentProtocolError(f"*ESR? answered {ans!r}, not an integer") from None
        if not 0 <= esr <= 255:
            raise InstrumentProtocolError(f"*ESR? answered {esr}, outside 0..255")
        return [ScpiError(code, f"*ESR? bit {bit}: {text}") for bit, code, text in _ESR_BITS if esr & (1 << bit)]

    def _queue_errors(self, error_query: str) -> list[ScpiError]:
        found: list[ScpiError] = []
        for _ in range(self.max_errors):
            ans = self.query(error_query)
            m = _ERR_RE.match(ans)
            if not m:
                raise InstrumentProtocolError(f"{error_query} answered {ans!r}, not '<code>,\"<text>\"'")
            code = int(m.group(1))
            if code == 0:
                return found
            found.append(ScpiError(code, m.group(2)))
        raise InstrumentProtocolError(
            f"error queue did not empty after {self.max_errors} reads; last entries {found[-3:]}"
        )

    def check_errors(self, context: str) -> None:
        """Drain the error queue and raise :class:`InstrumentReportedError` if it held anything."""
        errs = self.drain_errors()
        if errs:
            listed = "; ".join(str(e) for e in errs)
            raise InstrumentReportedError(f"instrument reported after {context}: {listed}")
