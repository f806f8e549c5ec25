"""A threaded loopback SCPI server: the engine under every wavegen instrument emulator.

The server binds ``127.0.0.1`` on an ephemeral port (never another interface), accepts any number of
sequential or parallel connections, and turns each connection's byte stream into messages:

- text messages terminated by ``\\n`` (the instrument's :mod:`.scpi_tree` engine splits ``;`` units);
- commands carrying an IEEE 488.2 definite-length block ``#<n><len><data>``: the header is parsed and
  exactly ``len`` bytes are received straight into a pre-allocated buffer (binary data may hold any
  byte, including ``\\n``), then an optional ``\\n``;
- header-less raw uploads (Siglent ``WVDT ... WAVEDATA,<raw>``): a family marks the trigger text with
  :attr:`Personality.raw_marker`; the payload then ends when the line goes idle for
  :attr:`Personality.raw_idle_s`, which is how such instruments behave on a raw socket (and why a
  command sent too soon ends up inside the waveform, pyvisa-py#311).

The instrument itself is a :class:`Personality` (a :class:`~.scpi_tree.ScpiInstrument`: command tree,
state, limits, error queue) shared by all connections,
so a second session sees what the first left behind, as with a real instrument. :class:`Faults` injects
failures: a silent instrument (timeout), a disconnect in the middle of an upload, error-queue entries,
a wrong ``*IDN?``, corrupted readback and a slow instrument. One-shot faults clear themselves when they
fire, so the next session works.

Reach an emulator through real pyvisa-py: ``pyvisa.ResourceManager("@py").open_resource(emu.address,
read_termination="\\n")``, with ``emu.address == "TCPIP0::127.0.0.1::<port>::SOCKET"``.
"""

from __future__ import annotations

import logging
import socket
import threading
from typing import Any

from .scpi_tree import Faults, ScpiInstrument

__all__ = ["Faults", "Personality", "ScpiEmulator"]

logger = logging.getLogger(__name__)


#: the instrument base class (kept under its old name: every family subclasses it)
Personality = ScpiInstrument


class _Disconnect(Exception):
    pass


class ScpiEmulator:
    """A loopback TCP server running one :class:`Personality`.

    Use as a context manager (tests use it as a fixture); :attr:`address` is the VISA resource string.
    """

    def __init__(self, personality: Personality, *, host: str = "127.0.0.1") -> None:
        if host != "127.0.0.1":
            raise ValueError("emulators bind 127.0.0.1 only")
        self.personality = personality
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind((host, 0))
        self._sock.listen(8)
        self._sock.settimeout(0.1)
        self.port: int = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._conns: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._accept_thread = threading.Thread(target=self._accept_loop, name=f"emu-{self.port}", daemon=True)
        self.connections = 0

    @property
    def address(self) -> str:
        """VISA resource string of this emulator."""
        return f"TCPIP0::127.0.0.1::{self.port}::SOCKET"

    @property
    def faults(self) -> Faults:
        return self.personality.faults

    def start(self) -> ScpiEmulator:
        self._accept_thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting, close every connection, join the threads."""
        self._stop.set()
        try:
            self._sock.close()
        except OSError:
            pass
        for c in list(self._conns):
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            c.close()
        for t in self._threads:
            t.join(timeout=2.0)
        self._accept_thread.join(timeout=2.0)

    def __enter__(self) -> ScpiEmulator:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- server loops
    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(None)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
            self.connections += 1
            self._conns.append(conn)
            t = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(t)
            t.start()

    def _serve(self, conn: socket.socket) -> None:
        buf = bytearray()
        try:
            while not self._stop.is_set():
                msg = self._next_message(conn, buf)
                if msg is None:
                    return
                command, block = msg
                with self.personality.lock:
                    answer = self.personality.message(command, block)
                if answer:
                    conn.sendall(answer)
        except (_Disconnect, OSError):
            return
        finally:
            try:
                conn.close()
            except OSError:
                pass
            with self.personality.lock:
                self.personality.on_disconnect()
            if conn in self._conns:
                self._conns.remove(conn)

    def _recv(self, conn: socket.socket, buf: bytearray) -> bool:
        try:
            data = conn.recv(1 << 20)
        except TimeoutError:
            return True
        if not data:
            return False
        buf += data
        return True

    def _next_message(self, conn: socket.socket, buf: bytearray) -> tuple[str, bytes | bytearray | None] | None:
        """Return (command, block) or None when the peer closed."""
        pers = self.personality
        while True:
            nl = buf.find(b"\n")
            hs = _block_start(buf, nl)
            raw = buf.find(pers.raw_marker) if pers.raw_marker else -1
            if raw >= 0 and (nl < 0 or raw < nl) and (hs < 0 or raw < hs):
                return self._raw_message(conn, buf, raw + len(pers.raw_marker or b""))
            if hs >= 0 and (nl < 0 or hs < nl):
                got = self._block_message(conn, buf, hs)
                if got is not None:
                    return got
            elif nl >= 0:
                line = bytes(buf[:nl]).rstrip(b"\r")
                del buf[: nl + 1]
                if line.strip():
                    try:
                        return line.decode("ascii").strip(), None
                    except UnicodeDecodeError:
                        with pers.lock:
                            pers.push_error(-100, "Command error")
                continue
            if not self._recv(conn, buf):
                return None

    def _block_message(self, conn: socket.socket, buf: bytearray, hs: int) -> tuple[str, bytearray] | None:
        if len(buf) < hs + 2:
            return None
        nd = buf[hs + 1 : hs + 2]
        if not nd.isdigit() or nd == b"0":
            # not a definite block: treat as an ordinary line
            with self.personality.lock:
                self.personality.push_error(-161, "Invalid block data")
            del buf[: hs + 2]
            return None
        n = int(nd)
        if len(buf) < hs + 2 + n:
            return None
        length = int(buf[hs + 2 : hs + 2 + n])
        command = bytes(buf[:hs]).decode("ascii", "replace").strip()
        start = hs + 2 + n
        payload = bytearray(length)
        have = min(length, len(buf) - start)
        payload[:have] = buf[start : start + have]
        del buf[: start + have]
        view = memoryview(payload)
        faults = self.personality.faults
        limit = faults.disconnect_after_bytes
        if limit is not None and limit < length:
            faults.disconnect_after_bytes = None  # fires in the first block longer than the limit
        else:
            limit = None
        while have < length:
            if limit is not None and have >= limit:
                raise _Disconnect()
            want = length - have if limit is None else min(length - have, max(1, limit - have))
            k = conn.recv_into(view[have:], want)
            if k == 0:
                raise _Disconnect()
            have += k
        if limit is not None and have >= limit and limit < length:
            raise _Disconnect()
        # optional termination right after the block
        if not buf:
            conn.settimeout(0.002)
            try:
                self._recv(conn, buf)
            finally:
                conn.settimeout(None)
        if buf[:1] == b"\n":
            del buf[:1]
        elif buf[:2] == b"\r\n":
            del buf[:2]
        return command, payload

    def _raw_message(self, conn: socket.socket, buf: bytearray, end_of_text: int) -> tuple[str, bytearray]:
        pers = self.personality
        command = bytes(buf[:end_of_text]).decode("ascii", "replace").strip()
        payload = bytearray(buf[end_of_text:])
        buf.clear()
        faults = pers.faults
        limit = faults.disconnect_after_bytes
        conn.settimeout(pers.raw_idle_s)
        try:
            while True:
                if limit is not None and len(payload) >= limit:
                    faults.disconnect_after_bytes = None
                    raise _Disconnect()
                try:
                    data = conn.recv(1 << 20)
                except TimeoutError:
                    break
                if not data:
                    raise _Disconnect()
                payload += data
        finally:
            conn.settimeout(None)
        return command, payload


def _block_start(buf: bytearray, nl: int) -> int:
    """Index of the ``#`` that starts block data (outside quoted strings, before *nl*), or -1."""
    end = nl if nl >= 0 else len(buf)
    hs = buf.find(b"#", 0, end)
    while hs >= 0:
        head = bytes(buf[:hs])
        if head.count(b'"') % 2 == 0 and head.count(b"'") % 2 == 0:
            return hs
        hs = buf.find(b"#", hs + 1, end)
    return -1
