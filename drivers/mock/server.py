"""A threaded loopback SCPI server: the engine under every wavegen instrument emulator.

The server binds ``127.0.0.1`` on an ephemeral port (never another interface), accepts any number of
sequential or parallel connections, and turns each connection's byte stream into messages:

- text commands terminated by ``\\n`` (several per line separated by ``;`` are split);
- commands carrying an IEEE 488.2 definite-length block ``#<n><len><data>``: the header is parsed and
  exactly ``len`` bytes are received straight into a pre-allocated buffer (binary data may hold any
  byte, including ``\\n``), then an optional ``\\n``;
- header-less raw uploads (Siglent ``WVDT ... WAVEDATA,<raw>``): a family marks the trigger text with
  :attr:`Personality.raw_marker`; the payload then ends when the line goes idle for
  :attr:`Personality.raw_idle_s`, which is how such instruments behave on a raw socket (and why a
  command sent too soon ends up inside the waveform, pyvisa-py#311).

The instrument itself is a :class:`Personality` (state, limits, error queue) shared by all connections,
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
import time
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Faults", "Personality", "ScpiEmulator"]

logger = logging.getLogger(__name__)


@dataclass
class Faults:
    """Failures to inject into an emulator (set attributes while it runs; thread-safe enough for tests).

    Attributes
    ----------
    silent : list of str
        One-shot: the next command starting with one of these prefixes (case-insensitive) gets no
        answer and is not executed (the client times out).
    disconnect_after_bytes : int or None
        One-shot: close the connection after this many bytes of the next binary payload longer than
        that (an upload cut off in the middle).
    idn : str or None
        Answer ``*IDN?`` with this instead (persistent until reset to None).
    corrupt_readback_index : int or None
        One-shot: flip the lowest bit of this sample in the next binary readback.
    delay_s : float
        Sleep this long before executing every command (a slow instrument; persistent).
    errors_on : dict of str -> (int, str)
        One-shot: when a command starting with the key is received, queue this error after executing it.
    """

    silent: list[str] = field(default_factory=list)
    disconnect_after_bytes: int | None = None
    idn: str | None = None
    corrupt_readback_index: int | None = None
    delay_s: float = 0.0
    errors_on: dict[str, tuple[int, str]] = field(default_factory=dict)

    def take_silent(self, command: str) -> bool:
        up = command.upper()
        for i, p in enumerate(self.silent):
            if up.startswith(p.upper()):
                del self.silent[i]
                return True
        return False

    def take_error(self, command: str) -> tuple[int, str] | None:
        up = command.upper()
        for k in list(self.errors_on):
            if up.startswith(k.upper()):
                return self.errors_on.pop(k)
        return None


class Personality:
    """One emulated instrument: subclasses implement :meth:`execute`.

    ``execute(command, block)`` gets the command text (without the block and termination) and the block
    payload (``None`` for plain commands) and returns the answer bytes (with termination) or ``None``.
    Errors go into :attr:`errors` through :meth:`push_error`; the queue is read by ``SYST:ERR?``.
    """

    raw_marker: bytes | None = None
    raw_idle_s: float = 0.05
    error_queue_depth: int = 20

    def __init__(self, idn: str) -> None:
        self.idn = idn
        self.errors: list[tuple[int, str]] = []
        self.lock = threading.RLock()
        self.faults = Faults()
        self.log: list[str] = []

    # -- helpers for subclasses
    def push_error(self, code: int, message: str) -> None:
        if len(self.errors) >= self.error_queue_depth:
            self.errors[-1] = (-350, "Queue overflow")
            return
        self.errors.append((code, message))

    def pop_error(self) -> bytes:
        if self.errors:
            code, msg = self.errors.pop(0)
        else:
            code, msg = 0, "No error"
        return f'{code:+d},"{msg}"\n'.encode("ascii")

    def corrupt(self, payload: bytes, itemsize: int) -> bytes:
        """Apply a pending corrupted-readback fault to a readback payload."""
        i = self.faults.corrupt_readback_index
        if i is None or (i + 1) * itemsize > len(payload):
            return payload
        self.faults.corrupt_readback_index = None
        b = bytearray(payload)
        b[i * itemsize] ^= 0x01
        return bytes(b)

    def common(self, cmd: str) -> bytes | None | bool:
        """IEEE 488.2 common commands; returns False when *cmd* is not one of them."""
        up = cmd.upper()
        if up == "*IDN?":
            return ((self.faults.idn or self.idn) + "\n").encode("ascii")
        if up == "*OPC?":
            return b"1\n"
        if up == "*CLS":
            self.errors.clear()
            return None
        if up in ("SYST:ERR?", "SYSTEM:ERROR?", ":SYST:ERR?", "SYST:ERR:NEXT?"):
            return self.pop_error()
        if up == "*RST":
            self.reset()
            return None
        return False

    def reset(self) -> None:
        """``*RST``: subclasses restore their defaults."""

    def on_disconnect(self) -> None:
        """A connection ended (subclasses drop half-finished transfers)."""

    def execute(self, command: str, block: bytes | bytearray | None) -> bytes | None:  # pragma: no cover
        raise NotImplementedError

    def handle(self, command: str, block: bytes | bytearray | None) -> bytes | None:
        """Run one command with faults applied (called by the server under :attr:`lock`)."""
        self.log.append(command if block is None else f"{command}<{len(block)} bytes>")
        if self.faults.delay_s:
            time.sleep(self.faults.delay_s)
        if self.faults.take_silent(command):
            return None
        try:
            answer = self.execute(command, block)
        except Exception as exc:  # an emulator bug must not kill the connection silently
            logger.exception("emulator failed on %r", command)
            self.push_error(-300, f"Device-specific error: {exc}")
            answer = None
        err = self.faults.take_error(command)
        if err is not None:
            self.push_error(*err)
        return answer


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
                for part in _split(command) if block is None else [command]:
                    with self.personality.lock:
                        answer = self.personality.handle(part, block)
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
            hs = buf.find(b"#")
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


def _split(command: str) -> list[str]:
    return [c.strip() for c in command.split(";") if c.strip()]
