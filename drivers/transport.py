"""The small transport interface every wavegen driver talks through.

A driver never imports pyvisa itself. It talks to a :class:`Transport`: the handful of methods and
attributes that a ``pyvisa.resources.MessageBasedResource`` already has (``write``, ``write_raw``,
``read``, ``read_bytes``, ``query``, ``timeout`` in VISA milliseconds, ``clear``, ``close``). So the same
driver runs

- over real VISA (NI-VISA, Keysight IO Libraries) to a real instrument,
- over pyvisa-py to a loopback emulator (``TCPIP0::127.0.0.1::PORT::SOCKET``, see :mod:`wavegen.drivers.mock`),
- over :class:`wavegen.testing.ReplayTransport` in unit tests, which checks every byte the driver sends
  against a recorded protocol (test infrastructure lives in :mod:`wavegen.testing`; drivers never
  import it).

:func:`bounded_clear` empties a connection after a failure within a bounded time (pyvisa-py's own
``clear()`` on a SOCKET resource loops until the line is quiet, forever when the peer has closed it).

Reference: PyVISA ``resources/messagebased.py`` (the methods mirrored here); pyvisa-py
``tcpip.py`` ``TCPIPSocketSession.clear``.
"""

from __future__ import annotations

import contextlib
import logging
import select
import socket
import threading
import time
from typing import Any, Protocol, runtime_checkable

from wavegen.errors import InstrumentError

__all__ = [
    "Transport",
    "bounded_clear",
    "open_visa",
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
        query without one times out).

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
            open_timeout=int(round(timeout_s * 1000.0)),  # a dead host fails within the timeout too
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


def _pyvisa_py_session(transport: object) -> Any:
    try:
        visalib = getattr(transport, "visalib", None)
        if visalib is None or not type(visalib).__module__.startswith("pyvisa_py"):
            return None
        return visalib.sessions[transport.session]  # type: ignore[attr-defined]
    except Exception:
        return None


def bounded_clear(transport: Any, budget_s: float) -> bool:
    """Empty *transport* of stale input within about *budget_s* seconds; ``False`` when the connection
    is gone (or the clear did not finish in time).

    On a pyvisa-py SOCKET resource the socket is drained here, with a deadline, and pyvisa-py's
    pending buffer emptied: its ``clear()`` reads until the line has been quiet for 0.1 s, which never
    happens on a socket the peer has closed (every ``select`` reports it readable, every ``recv``
    returns nothing). Any other transport's ``clear()`` runs in a daemon thread that is abandoned after
    the budget (a VISA library that blocks in ``viClear`` cannot hold the caller).
    """
    budget = max(0.0, float(budget_s))
    deadline = time.monotonic() + budget
    sock = socket_of(transport)
    if sock is not None:
        sess = _pyvisa_py_session(transport)
        with contextlib.suppress(Exception):
            sess._pending_buffer.clear()
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    logger.warning("bounded_clear: the line never went quiet within %.3g s", budget)
                    return False
                ready, _, _ = select.select([sock], [], [], min(0.05, left))
                if not ready:
                    return True
                if not sock.recv(65536):
                    return False  # the peer closed the connection
        except OSError:
            return False
    clear = getattr(transport, "clear", None)
    if clear is None:
        return True
    outcome: list[BaseException | None] = []

    def _run() -> None:
        try:
            clear()
            outcome.append(None)
        except BaseException as exc:  # reported to the caller below
            outcome.append(exc)

    worker = threading.Thread(target=_run, name="wavegen-bounded-clear", daemon=True)
    worker.start()
    worker.join(budget)
    if not outcome:
        logger.error("transport clear() did not return within %.3g s; abandoning it", budget)
        return False
    if outcome[0] is not None:
        logger.warning("transport clear() failed: %s", outcome[0])
        return not isinstance(outcome[0], OSError)
    return True

