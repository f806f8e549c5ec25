"""Record a real instrument session as a replay file (the idea of PyMeasure's protocol generator).

Wrap the transport a driver talks through in a :class:`Recorder`; every byte the driver sends and every
byte the instrument answers is kept, step by step, and :meth:`Recorder.save` writes it as a replay file
that :func:`wavegen.testing.load_replay` turns into a :class:`~wavegen.testing.ReplayTransport`. A test
then drives the same calls against the replay and fails on the first byte that differs::

    from wavegen.drivers.keysight_33500 import Keysight33500
    from wavegen.drivers.transport import open_visa
    from wavegen.testing import Recorder

    rec = Recorder(open_visa("TCPIP0::192.0.2.5::5025::SOCKET"))
    with Keysight33500(rec, name="awg") as awg:
        ...                                   # the calls the test will repeat
    rec.save("tests/fixtures/replay/33522b_load.json", meta={"firmware": awg.idn})

A step is closed when a write ends with the write termination (a block sent in several pieces stays
one step); what is read afterwards is that step's reply.
"""

from __future__ import annotations

import os
from typing import Any

from .replay import save_replay

__all__ = ["Recorder"]


class Recorder:
    """A transport that passes everything to *inner* and records the exchange.

    Parameters
    ----------
    inner : Transport
        The real connection (a pyvisa resource, or a loopback emulator's).

    Attributes
    ----------
    steps : list of (bytes, bytes)
        (sent, answered) wire bytes per step, terminations included.

    Notes
    -----
    The recorder deliberately exposes only the :class:`~wavegen.drivers.transport.Transport` members,
    so a driver cannot reach around it to the socket (the fast large-block path is not taken while
    recording; the bytes are the same).
    """

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.steps: list[tuple[bytes, bytes]] = []
        self._sending = bytearray()
        self._reply = bytearray()
        self._have_step = False

    # -- attributes forwarded to the real transport
    @property
    def timeout(self) -> Any:
        return self._inner.timeout

    @timeout.setter
    def timeout(self, value: Any) -> None:
        self._inner.timeout = value

    @property
    def read_termination(self) -> Any:
        return self._inner.read_termination

    @read_termination.setter
    def read_termination(self, value: Any) -> None:
        self._inner.read_termination = value

    @property
    def write_termination(self) -> Any:
        return self._inner.write_termination

    @write_termination.setter
    def write_termination(self, value: Any) -> None:
        self._inner.write_termination = value

    # -- bookkeeping
    def _close_reply(self) -> None:
        if self._have_step:
            sent, _ = self.steps[-1]
            self.steps[-1] = (sent, bytes(self._reply))
        self._reply.clear()

    def _sent(self, data: bytes) -> None:
        if not self._sending:
            self._close_reply()
        self._sending += data
        term = (self.write_termination or "").encode("ascii")
        if term and bytes(self._sending).endswith(term):
            self._flush_sending()

    def _flush_sending(self) -> None:
        if self._sending:
            self.steps.append((bytes(self._sending), b""))
            self._have_step = True
            self._sending.clear()

    def _received(self, data: bytes) -> None:
        self._flush_sending()  # a raw block without termination ends where the reading starts
        self._reply += data

    # -- Transport
    def write_raw(self, message: bytes) -> int:
        data = bytes(message)
        n = self._inner.write_raw(data)
        self._sent(data)
        return int(n) if n is not None else len(data)

    def write(self, message: str) -> int:
        return self.write_raw((message + (self.write_termination or "")).encode("ascii"))

    def read_bytes(self, count: int) -> bytes:
        data = bytes(self._inner.read_bytes(count))
        self._received(data)
        return data

    def read(self) -> str:
        term = self.read_termination or ""
        text = self._inner.read()
        self._received((text + term).encode("ascii"))
        return str(text)

    def query(self, message: str) -> str:
        self.write(message)
        return self.read()

    def clear(self) -> None:
        self._inner.clear()

    def close(self) -> None:
        self._inner.close()

    # -- output
    def finished_steps(self) -> list[tuple[bytes, bytes]]:
        """Every step so far, the current one included."""
        self._flush_sending()
        self._close_reply()
        return list(self.steps)

    def save(self, path: str | os.PathLike[str], *, meta: dict[str, Any] | None = None) -> None:
        """Write the replay file (JSON; written to a temporary file and renamed)."""
        save_replay(
            path, self.finished_steps(), read_termination=self.read_termination,
            write_termination=self.write_termination, meta=meta,
        )
