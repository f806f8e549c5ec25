"""The block table of a sequence, dictionary-coded: its distinct rows and one row number per block.

A Pulseq sequence is made of few distinct blocks played many times: a 15-minute GRE has 540,000 blocks
but a few thousand distinct rows of (duration, rf, gx, gy, gz, adc, ext) ids. As seven int64 columns
its table takes 56 bytes a block (30 MB); as its distinct rows plus a row number per block (uint16
while there are at most 65,536 distinct rows) it takes 2 bytes a block (1 MB). Everything that walks
the blocks of a long sequence does so by block ranges (:meth:`BlockTable.columns`,
:meth:`BlockTable.starts`), so no array the size of the table is made unless asked for.

Block start times are not stored per block: a start is kept every :data:`STRIDE` blocks, and the
starts of a range are summed from the nearest one (exact int64 ticks).
"""

from __future__ import annotations

from collections.abc import Sequence as Seq
from typing import Any, Literal

import numpy as np

from wavegen.errors import RangeError

__all__ = ["STRIDE", "BlockTable", "RowDictionary", "row_classes"]

#: Blocks between two kept start times (the starts of a range cost at most this many extra sums).
STRIDE = 4096

_I64_MAX = (1 << 63) - 1


def _narrow_index(index: np.ndarray, n_rows: int) -> np.ndarray:
    """*index* in the smallest unsigned dtype that numbers ``n_rows`` rows."""
    dt = np.uint16 if n_rows <= 1 << 16 else np.uint32 if n_rows <= 1 << 32 else np.int64
    return np.ascontiguousarray(index, dtype=dt)


class BlockTable:
    """Distinct rows ``rows`` ((7, k) int64: duration in ticks, rf, gx, gy, gz, adc, ext ids) and the row
    of every block ``index`` ((n,), unsigned). Immutable (its arrays are read-only)."""

    __slots__ = ("rows", "index", "_marks", "_total")
    rows: np.ndarray
    index: np.ndarray
    _marks: np.ndarray
    _total: int

    def __init__(self, rows: np.ndarray, index: np.ndarray) -> None:
        rows = np.ascontiguousarray(rows, dtype=np.int64)
        if rows.ndim != 2 or rows.shape[0] != 7:
            raise RangeError(f"a block table needs 7 rows of ids, got shape {rows.shape}")
        index = _narrow_index(np.asarray(index).reshape(-1), rows.shape[1])
        if index.size and int(index.max()) >= rows.shape[1]:
            raise RangeError(f"block table: row {int(index.max())} named, it has {rows.shape[1]}")
        rows.flags.writeable = False
        index.flags.writeable = False
        self.rows, self.index = rows, index
        # a start every STRIDE blocks, and the total at the end
        n = index.size
        durs = rows[0]
        marks = np.zeros(n // STRIDE + 1 + (1 if n % STRIDE else 0), dtype=np.int64)
        exact = durs.size == 0 or int(durs.max()) <= _I64_MAX // STRIDE
        acc = 0
        for j, a in enumerate(range(0, n, STRIDE)):
            marks[j] = acc
            part = durs[index[a : a + STRIDE]]
            acc += int(part.sum(dtype=np.int64)) if exact else sum(part.tolist())
            if acc > _I64_MAX:
                raise RangeError(f"the blocks add up to {acc} ticks, beyond what int64 times hold")
        marks[-1] = acc
        self._marks, self._total = marks, acc

    @classmethod
    def of_columns(cls, table: np.ndarray) -> BlockTable:
        """From a (7, n) table (rows numbered in order of first appearance)."""
        table = np.asarray(table, dtype=np.int64).reshape(7, -1)
        d = RowDictionary(7)
        ids = np.empty(table.shape[1], dtype=np.int64)
        for a in range(0, table.shape[1], 1 << 16):
            ids[a : a + (1 << 16)] = d.add(table[:, a : a + (1 << 16)])
        return cls(d.rows(), ids)

    def __len__(self) -> int:
        return int(self.index.size)

    def __reduce__(self) -> tuple[Any, ...]:
        # made again on unpickling: checked, and its arrays read-only again
        return (BlockTable, (self.rows, self.index))

    @property
    def total(self) -> int:
        """Sum of the block durations, ticks."""
        return self._total

    @property
    def nbytes(self) -> int:
        return int(self.rows.nbytes + self.index.nbytes + self._marks.nbytes)

    def _range(self, b0: int, b1: int | None) -> tuple[int, int]:
        n = len(self)
        b1 = n if b1 is None else b1
        if not 0 <= b0 <= b1 <= n:
            raise RangeError(f"blocks {b0}..{b1}: the table has blocks 0..{n}")
        return b0, b1

    def columns(self, b0: int = 0, b1: int | None = None) -> np.ndarray:
        """Blocks ``[b0, b1)`` as a new (7, b1 - b0) int64 table."""
        b0, b1 = self._range(b0, b1)
        return np.take(self.rows, self.index[b0:b1], axis=1)

    def column(self, c: int, b0: int = 0, b1: int | None = None) -> np.ndarray:
        """Column ``c`` of blocks ``[b0, b1)`` (int64)."""
        b0, b1 = self._range(b0, b1)
        return self.rows[c][self.index[b0:b1]]

    def row(self, b: int) -> tuple[int, ...]:
        """Block ``b``'s (duration, rf, gx, gy, gz, adc, ext)."""
        return tuple(self.rows[:, int(self.index[b])].tolist())

    def starts(self, b0: int = 0, b1: int | None = None) -> np.ndarray:
        """Start times (ticks) of blocks ``[b0, b1)``."""
        b0, b1 = self._range(b0, b1)
        if b1 == b0:
            return np.zeros(0, dtype=np.int64)
        j = b0 // STRIDE
        d = self.rows[0][self.index[j * STRIDE : b1 - 1]]
        out = np.empty(b1 - j * STRIDE, dtype=np.int64)
        out[0] = self._marks[j]
        np.cumsum(d, out=out[1:])
        out[1:] += self._marks[j]
        return out[b0 - j * STRIDE :]

    def start(self, b: int) -> int:
        """Start time (ticks) of block ``b``; ``b == len`` gives the total duration."""
        if b == len(self):
            return self._total
        return int(self.starts(b, b + 1)[0])

    def search(self, t: int, side: Literal["left", "right"] = "right") -> int:
        """How many blocks start at or before tick ``t`` (``side="right"``), or before it (``"left"``):
        ``np.searchsorted(starts, t, side)`` without the array of all starts."""
        n = len(self)
        if n == 0:
            return 0
        marks = self._marks[:-1]  # the start of block j * STRIDE
        j = int(np.searchsorted(marks, t, side=side)) - 1
        if j < 0:
            return 0
        a = j * STRIDE
        s = self.starts(a, min(n, a + STRIDE))
        return a + int(np.searchsorted(s, t, side=side))

    def slice(self, b0: int, b1: int) -> BlockTable:
        """Blocks ``[b0, b1)`` as a table of their own (rows shared)."""
        b0, b1 = self._range(b0, b1)
        return BlockTable(self.rows, self.index[b0:b1].copy())

    def __repr__(self) -> str:
        return f"BlockTable({len(self)} blocks, {self.rows.shape[1]} distinct rows, {self.nbytes:,} bytes)"


class RowDictionary:
    """Distinct rows of ``width`` int64 columns, numbered in order of first appearance, fed in chunks.

    :meth:`add` takes a (width, m) chunk and returns each column's row number; new rows are numbered
    after the ones seen before, so a table fed in order gets its rows in order of first appearance.
    Lookups are by a 64-bit row hash, sorted, and every match is verified column by column (memory: a
    few arrays of the distinct rows, whatever their number).
    """

    def __init__(self, width: int) -> None:
        self.width = width
        self._rows: list[np.ndarray] = []  # (width, j) pieces, in order
        self._first: list[np.ndarray] = []  # where each new row first appeared
        self._h_sorted = np.zeros(0, dtype=np.uint64)  # hashes of the rows, sorted
        self._id_sorted = np.zeros(0, dtype=np.int64)  # ... and their row numbers
        self._k = 0
        self._seen = 0
        #: where in the last chunk given to :meth:`add` each row new to the dictionary first appeared
        self.new_first = np.zeros(0, dtype=np.int64)

    def __len__(self) -> int:
        return self._k

    def add(self, chunk: np.ndarray) -> np.ndarray:
        """Row numbers (int64) of the m columns of ``chunk`` ((width, m))."""
        chunk = np.asarray(chunk, dtype=np.int64)
        m = chunk.shape[1]
        at = self._seen
        self._seen += m
        if m == 0:
            self.new_first = np.zeros(0, dtype=np.int64)
            return np.zeros(0, dtype=np.int64)
        local = row_classes([chunk[c] for c in range(self.width)])
        _, first = np.unique(local, return_index=True)  # first column of each local class
        first.sort()  # in order of appearance
        distinct = chunk[:, first]  # (width, j)
        h = _hash_cols([distinct[c] for c in range(self.width)])
        glob = np.full(first.size, -1, dtype=np.int64)
        if self._k:
            pos = np.minimum(np.searchsorted(self._h_sorted, h), self._k - 1)
            hit = self._h_sorted[pos] == h
            cand = self._id_sorted[pos]
            if np.any(hit):
                rows = self.rows()
                same = hit.copy()
                for c in range(self.width):
                    same[hit] &= rows[c][cand[hit]] == distinct[c][hit]
                if not np.array_equal(same, hit):  # a 64-bit collision: find those rows exactly
                    glob = self._exact(distinct, hit & ~same, glob)
                glob[same] = cand[same]
        new = np.flatnonzero(glob < 0)
        self.new_first = first[new]
        if new.size:
            ids = np.arange(self._k, self._k + new.size, dtype=np.int64)
            glob[new] = ids
            self._rows.append(distinct[:, new].copy())
            self._first.append(first[new] + at)
            self._k += new.size
            hs = np.concatenate([self._h_sorted, h[new]])
            order = np.argsort(hs, kind="stable")
            self._h_sorted = hs[order]
            self._id_sorted = np.concatenate([self._id_sorted, ids])[order]
        remap = np.empty(int(local.max()) + 1, dtype=np.int64)
        remap[local[first]] = glob
        return remap[local]

    def _exact(self, distinct: np.ndarray, which: np.ndarray, glob: np.ndarray) -> np.ndarray:
        """Row numbers of the columns ``which`` of ``distinct`` by exact comparison (hash collisions)."""
        rows = self.rows()
        known = {rows[:, i].tobytes(): i for i in range(self._k)}
        for i in np.flatnonzero(which).tolist():
            glob[i] = known.get(np.ascontiguousarray(distinct[:, i]).tobytes(), -1)
        return glob

    def rows(self) -> np.ndarray:
        """The distinct rows so far, (width, k) int64."""
        if not self._rows:
            return np.zeros((self.width, 0), dtype=np.int64)
        if len(self._rows) > 1:
            self._rows = [np.concatenate(self._rows, axis=1)]
        return self._rows[0]

    def first(self) -> np.ndarray:
        """Where each distinct row first appeared (column number over all chunks fed)."""
        if not self._first:
            return np.zeros(0, dtype=np.int64)
        if len(self._first) > 1:
            self._first = [np.concatenate(self._first)]
        return self._first[0]


def _hash_cols(cs: Seq[np.ndarray]) -> np.ndarray:
    """A 64-bit hash of each row of a table given as its columns."""
    h = np.zeros(cs[0].size, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for c in cs:
            h ^= np.ascontiguousarray(c, dtype=np.int64).view(np.uint64)
            h *= np.uint64(0x100000001B3)  # FNV-1a style mixing per column
            h ^= h >> np.uint64(29)
    return h


def row_classes(cols: Seq[np.ndarray] | np.ndarray) -> np.ndarray:
    """For each row of a table given as its columns (1-D arrays of equal length; or a 2-D array, rows
    as rows) an id, equal exactly when the rows are equal. Rows are hashed to 64 bits and sorted (memory
    of a few 1-D arrays, not of sorted row copies); every row is then compared with its class's first
    row, column by column, and a collision (never seen in practice) falls back to sorting whole rows, so
    equal ids always mean equal rows."""
    cs: list[Any] = [cols[:, j] for j in range(cols.shape[1])] if isinstance(cols, np.ndarray) else list(cols)
    h = _hash_cols(cs)
    _, first, inverse = np.unique(h, return_index=True, return_inverse=True)
    del h
    inverse = inverse.reshape(-1)
    rep = first[inverse]
    for c in cs:
        if not np.array_equal(c, c[rep]):
            _, inverse = np.unique(np.stack(cs, axis=1), axis=0, return_inverse=True)
            return inverse.reshape(-1)
    return inverse


class FileRows:
    """The ``[BLOCKS]`` rows of a file, dictionary-coded as they are read: ``u`` ((k, 8) int64) its
    distinct rows in order of first appearance, column 0 holding the id of the first block with that row;
    ``first`` ((k,)) that block's position; ``index`` ((n,), unsigned) the row of every block.

    A check made on ``u`` finds the first block of the file that fails it (the rows are in order of
    first appearance), so the reader checks distinct rows and still names the first bad block.

    :meth:`add` takes the rows in chunks ((8, m): id, then the 7 fields that make the row) and returns
    False when the ids are not increasing or a value is out of ``[0, limit)`` (the strict reader then
    reads the section for its message).
    """

    def __init__(self, limit: int, capacity: int = 0) -> None:
        self._limit = limit
        self._dict = RowDictionary(7)
        self._ids: list[np.ndarray] = []  # the id of each new row's first block
        self._index = np.zeros(max(0, capacity), dtype=np.uint16)
        self._n = 0
        self._last_id = -1

    def add(self, chunk: np.ndarray) -> bool:
        m = chunk.shape[1]
        if m == 0:
            return True
        ids = chunk[0]
        if int(ids[0]) <= self._last_id or (m > 1 and not bool(np.all(ids[1:] > ids[:-1]))):
            return False
        if int(chunk.min()) < 0 or int(chunk.max()) >= self._limit:
            return False
        self._last_id = int(ids[-1])
        self._code(ids, chunk[1:8])
        return True

    def _code(self, ids: np.ndarray, rows: np.ndarray) -> None:
        """Number the blocks of a chunk ((7, m) rows, their ids) and keep their row numbers."""
        g = self._dict.add(rows)
        if self._dict.new_first.size:
            self._ids.append(ids[self._dict.new_first].copy())
        need = self._n + g.size
        k = len(self._dict)
        if k > 1 << 16 and self._index.dtype == np.uint16:
            self._index = self._index.astype(np.uint32 if k <= 1 << 32 else np.int64)
        if need > self._index.size:
            grown = np.zeros(max(need, 2 * self._index.size), dtype=self._index.dtype)
            grown[: self._n] = self._index[: self._n]
            self._index = grown
        self._index[self._n : need] = g
        self._n = need

    def __len__(self) -> int:
        return self._n

    def take(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(u, first, index)`` (see the class), the builder emptied: ``u`` is made as (8, k) C-ordered and
        returned transposed, so ``u.T[1:8]`` is a contiguous (7, k) table (no copy), and the dictionary's
        pieces are let go as they are copied into it."""
        d = self._dict
        k = len(d)
        u = np.empty((8, k), dtype=np.int64)
        at = 0
        ids = self._ids
        while d._rows:
            piece = d._rows.pop(0)
            u[1:, at : at + piece.shape[1]] = piece
            u[0, at : at + piece.shape[1]] = ids.pop(0)
            at += piece.shape[1]
            del piece
        first, index = d.first(), self._index[: self._n]
        self._dict = RowDictionary(7)
        self._index = np.zeros(0, dtype=np.uint16)
        self._n = 0
        return u.T, first, index

    @classmethod
    def of_table(cls, tab: np.ndarray, limit: int) -> FileRows:
        """From a whole (n, 8) table whose ids were checked (unique, in range): dictionary-coded by chunks."""
        fr = cls(limit, tab.shape[0])
        step = 1 << 16
        for a in range(0, tab.shape[0], step):
            part = tab[a : a + step]
            fr._code(part[:, 0], np.ascontiguousarray(part[:, 1:8].T))
        return fr
