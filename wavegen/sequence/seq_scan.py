"""One streaming pass over a ``.seq`` file: everything but the ``[BLOCKS]`` rows as text, the rows as int64.

A protocol of many minutes has hundreds of thousands of blocks, and its ``[BLOCKS]`` section is nearly
the whole file (a 15-minute GRE: 540,000 rows, 18 MB). Reading the file whole, decoding it and splitting
it into lines held several copies of it at once (peak memory of the process reading that file: 214 MB,
now 49 MB, 40 of it the interpreter with NumPy; ``bench/long.py``). This pass reads the file in
chunks of :data:`CHUNK_BYTES`, cut at line ends, and keeps:

* the text of every other section, with the ``[BLOCKS]`` rows replaced by empty lines (so every line
  keeps its number for messages);
* the ``[BLOCKS]`` rows parsed piece by piece (id, delay or duration, rf, gx, gy, gz, adc, ext; a
  7-field row of format 1.2.0 leaves ext at 0) and dictionary-coded as they come: the distinct rows and
  a row number per block (:class:`~wavegen.sequence.blocktable.FileRows`), which the sequence keeps as
  its table, so no array of all the rows is ever made;
* the md5 digests a ``[SIGNATURE]`` may match, computed on the fly (see
  :func:`wavegen.sequence.seq_read.read_seq` for the writer variants accepted).

Anything this fast path does not handle exactly as the whole-file reader does (a lone CR line end, bytes
that are not UTF-8, a second ``[BLOCKS]`` or ``[SIGNATURE]``, a signature header the whole-file reader
would not find) makes :func:`scan` return None, and the reader falls back to reading the file whole,
which gives the exact error. Rows the fast parser cannot take (a wrong field count, a token that is not
an integer) are re-read from the file by the strict row parser, for the message with its line.
"""

from __future__ import annotations

import hashlib
import re
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from wavegen._backend import NATIVE, ffi, lib
from wavegen.sequence.blocktable import FileRows
from wavegen.sequence.seq_sections import MAX_INT

__all__ = ["CHUNK_BYTES", "BlocksBody", "Scan", "scan", "md5_variants"]

#: Bytes read at once (the pass holds about this much text at a time, a few times over while parsing).
CHUNK_BYTES = 1 << 20

# the section headers split_sections knows (same pattern, on bytes)
_HEADER_RE = re.compile(rb"^[ \t]*(\[[^\n]*?|extension[ \t][^\n]*?)[ \t\r]*$", re.MULTILINE | re.IGNORECASE)
# the signature header as the whole-file check finds it: at the very start of a line, exact case
_SIG_LINE_RE = re.compile(rb"\[SIGNATURE\][ \t]*\r?(?:\n|\Z)")
# ... and anywhere at a line start (the whole-file check takes the last such line)
_SIG_ANY_RE = re.compile(rb"^\[SIGNATURE\][ \t]*\r?(?:\n|\Z)", re.MULTILINE)


class _Md5Streams:
    """md5 of a byte stream as written, with CRLF -> LF, and with CRLF -> LF -> CRLF (files converted
    after signing), fed in pieces (a CR at a piece's end waits for the next piece)."""

    def __init__(self) -> None:
        self.raw = hashlib.md5()
        self.lf = hashlib.md5()
        self.crlf = hashlib.md5()
        self.cr = False

    def feed(self, b: bytes) -> None:
        if not b:
            return
        self.raw.update(b)
        if self.cr:
            b = b"\r" + b
        self.cr = b.endswith(b"\r")
        if self.cr:
            b = b[:-1]
        lf = b.replace(b"\r\n", b"\n")
        self.lf.update(lf)
        self.crlf.update(lf.replace(b"\n", b"\r\n"))

    def digests_with(self, extra: bytes) -> list[str]:
        """[as written, LF, CRLF] digests of what was fed followed by *extra* (the state is kept)."""
        c = _Md5Streams()
        c.raw, c.lf, c.crlf, c.cr = self.raw.copy(), self.lf.copy(), self.crlf.copy(), self.cr
        c.feed(extra)
        if c.cr:
            c.lf.update(b"\r")
            c.crlf.update(b"\r")
        return [c.raw.hexdigest(), c.lf.hexdigest(), c.crlf.hexdigest()]


def md5_variants(signed: _Md5Streams, nl: bytes) -> list[str]:
    """The digests a signature may match: the signed bytes (without the newline before
    ``[SIGNATURE]``), with that newline (JEMRIS), and with LF for a CRLF newline; each as written, with
    LF and with CRLF line ends. The first is the file's own digest."""
    out = signed.digests_with(b"")
    if nl:
        out += signed.digests_with(nl)
    if nl == b"\r\n":
        out += signed.digests_with(b"\n")
    return out


def digests_of_bytes(data: bytes) -> list[str] | None:
    """:func:`md5_variants` for a file held whole (the fallback reader); None when no header is found."""
    last = None
    for last in _SIG_ANY_RE.finditer(data):  # noqa: B007 (the last one is wanted)
        pass
    if last is None:
        return None
    q = last.start()
    nl = _newline_before(data, q)
    h = _Md5Streams()
    h.feed(data[: q - len(nl)])
    return md5_variants(h, nl)


def _newline_before(b: bytes, q: int) -> bytes:
    """The line end that ends at ``b[q]`` (b"\r\n", b"\n", or b"" at the start)."""
    if b[max(0, q - 2) : q] == b"\r\n":
        return b"\r\n"
    return b"\n" if b[max(0, q - 1) : q] == b"\n" else b""


@dataclass
class BlocksBody:
    """Where the ``[BLOCKS]`` rows are in the file, and the rows as parsed (None: the fast parser could
    not take them; :meth:`text` re-reads them for the strict parser)."""

    path: str
    start: int  # byte offset of the body's first line
    end: int  # byte offset after its last line
    first_ln: int  # line number of the body's first line
    rows: FileRows | None  # the rows, dictionary-coded
    ncol: int

    def text(self) -> str:
        """The body as text, line ends normalized as the whole-file reader does."""
        with open(self.path, "rb") as fh:
            fh.seek(self.start)
            raw = fh.read(self.end - self.start)
        return raw.decode("utf-8", errors="replace").replace("\r\n", "\n").replace("\r", "\n")


@dataclass
class Scan:
    text: str  # the file with the [BLOCKS] rows blanked
    blocks: BlocksBody | None
    digests: list[str] | None  # signature candidates (None: no [SIGNATURE] section, or not computed)


class _Rows:
    """What the first pass learns of the [BLOCKS] rows: how many lines, and the width of the first row."""

    def __init__(self) -> None:
        self.lines = 0
        self.ncol = 0

    def add(self, b: bytes) -> None:
        self.lines += b.count(b"\n") + (0 if b.endswith(b"\n") else 1)
        if not self.ncol:
            for line in b.split(b"\n", 64)[:64]:
                tok = line.split(b"#", 1)[0].split()
                if tok:
                    self.ncol = len(tok)
                    break


def read_rows(body: BlocksBody, n_lines: int, ncol: int) -> FileRows | None:
    """The second pass: the rows of *body* parsed piece by piece and dictionary-coded as they come
    (:class:`~wavegen.sequence.blocktable.FileRows`: the distinct rows and a row number per block, about
    2 bytes a block). None when a line is not a row of *ncol* integers, or the ids do not increase, or a
    value is out of range (the strict parser then reads the section for its message)."""
    if ncol not in (7, 8) or n_lines <= 0:
        return None
    out = FileRows(MAX_INT, n_lines)
    buf = np.zeros((8, 0), dtype=np.int64)
    with open(body.path, "rb") as fh:
        fh.seek(body.start)
        left = body.end - body.start
        carry = b""
        while True:
            data = fh.read(min(CHUNK_BYTES, left)) if left > 0 else b""
            left -= len(data)
            joined = carry + data if carry else data
            cut = joined.rfind(b"\n") + 1 if data else len(joined)
            if data and cut == 0:
                carry = joined
                continue
            piece, carry = joined[:cut], joined[cut:]
            if piece:
                room = piece.count(b"\n") + 1
                if buf.shape[1] < room:
                    buf = np.zeros((8, room), dtype=np.int64)
                k = _parse_piece(piece, ncol, buf, 0)
                if k < 0 or not out.add(buf[:, :k]):
                    return None
            if not data:
                break
    if len(out) == 0:
        return None
    return out


def _parse_piece(piece: bytes, ncol: int, out: np.ndarray, at: int) -> int:
    """Rows of one piece (whole lines) into ``out[:, at:]``; the number of rows, -1 when one is not taken."""
    room = out.shape[1] - at
    if NATIVE:
        done = ffi.new("int64_t *")
        bad = lib.wg_parse_int_rows(
            piece, len(piece), ncol, ffi.cast("int64_t *", out.ctypes.data), out.shape[1], at, room, done
        )
        return -1 if bad else int(done[0])
    try:
        text = piece.decode("ascii")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "input contained no data" on blank/comment pieces
            a = np.loadtxt(text.split("\n"), dtype=np.int64, comments="#", ndmin=2)
    except (ValueError, OverflowError, UnicodeDecodeError):
        return -1
    if a.shape[0] == 0:
        return 0
    if a.shape[1] != ncol or a.shape[0] > room:
        return -1
    out[:ncol, at : at + a.shape[0]] = a.T
    return int(a.shape[0])


def scan(path: str, *, hash_signature: bool = True) -> Scan | None:
    """Read *path* once in chunks (see the module's doc); None when the whole-file reader must do it."""
    text_parts: list[str] = []
    rows = _Rows()
    section = b""  # current section header, upper case
    ln = 1  # line number of the current piece's first line
    off = 0  # byte offset of the current piece
    blocks: BlocksBody | None = None
    in_sig = False
    sig_digests: list[str] | None = None
    h = _Md5Streams() if hash_signature else None
    held = b""  # the last bytes read, not yet hashed (they may be the newline before [SIGNATURE])
    carry = b""
    with open(path, "rb") as fh:
        while True:
            data = fh.read(CHUNK_BYTES)
            buf = carry + data if carry else data
            if data:
                cut = buf.rfind(b"\n") + 1
                if cut == 0:  # a line longer than a chunk: read on
                    carry = buf
                    continue
            else:
                cut = len(buf)
            piece, carry = buf[:cut], buf[cut:]
            del buf
            if piece:
                if in_sig:
                    if _SIG_ANY_RE.search(piece):
                        return None  # a second signature header: the whole-file reader decides
                    s = _text(piece)
                    if s is None:
                        return None
                    text_parts.append(s)
                else:
                    heads = list(_HEADER_RE.finditer(piece))
                    a = 0
                    for m in heads:
                        name = m.group(1).strip().upper()
                        if _emit(piece[a : m.start()], section, rows, text_parts) is False:
                            return None
                        if section == b"[BLOCKS]" and blocks is not None:
                            blocks.end = off + m.start()
                        line_end = piece.find(b"\n", m.end())
                        line_end = len(piece) if line_end < 0 else line_end + 1
                        if name == b"[SIGNATURE]":
                            start = m.start()
                            if not _SIG_LINE_RE.match(piece, start):
                                return None
                            if h is not None:
                                q = len(held) + start
                                joined = held + piece[:start]
                                nl = _newline_before(joined, q)
                                h.feed(joined[: q - len(nl)])
                                sig_digests = md5_variants(h, nl)
                                h = None
                            s = _text(piece[start:])
                            if s is None or _SIG_ANY_RE.search(piece, line_end):
                                return None
                            text_parts.append(s)
                            in_sig = True
                            break
                        header = _text(piece[m.start() : line_end])
                        if header is None:
                            return None
                        text_parts.append(header)
                        section = name
                        if section == b"[BLOCKS]":
                            if blocks is not None:
                                return None  # twice: the whole-file reader names both lines
                            first = ln + piece.count(b"\n", 0, line_end)
                            blocks = BlocksBody(path, off + line_end, off + line_end, first, None, 0)
                        a = line_end
                    else:
                        if _emit(piece[a:], section, rows, text_parts) is False:
                            return None
                    if section == b"[BLOCKS]" and blocks is not None and not in_sig:
                        blocks.end = off + len(piece)
                if h is not None:
                    joined = held + piece
                    h.feed(joined[:-2])
                    held = joined[-2:]
                ln += piece.count(b"\n")
                off += len(piece)
            if not data:
                break
    if h is not None:
        h.feed(held)
    if blocks is not None:
        blocks.rows = read_rows(blocks, rows.lines, rows.ncol)
        blocks.ncol = rows.ncol
    return Scan("".join(text_parts), blocks, sig_digests)


def _text(b: bytes) -> str | None:
    """Bytes as the whole-file reader sees them (CRLF -> LF); None for a lone CR or bytes not UTF-8."""
    if b"\r" in b:
        b = b.replace(b"\r\n", b"\n")
        if b"\r" in b:
            return None
    try:
        return b.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _emit(b: bytes, section: bytes, rows: _Rows, text_parts: list[str]) -> Any:
    """A run of lines inside *section*: [BLOCKS] rows to the parser (and empty lines to the text)."""
    if not b:
        return None
    if section == b"[BLOCKS]":
        if b"\r" in b:
            b = b.replace(b"\r\n", b"\n")
            if b"\r" in b:
                return False
        rows.add(b)
        text_parts.append("\n" * b.count(b"\n"))
        return None
    s = _text(b)
    if s is None:
        return False
    text_parts.append(s)
    return None
