"""Pulseq shapes: the :class:`Shape` value and the run-length compression of its derivative.

A Pulseq shape is a list of samples (an RF magnitude or phase, a gradient waveform normalised to a peak
of 1, or a time axis in raster units). In a ``.seq`` file it is stored as the run-length encoded
derivative (Pulseq specification, section "Shapes / Compression"; Layton et al., MRM 2017;77:1544):

1. the derivative ``d = [s0, s1 - s0, s2 - s1, ...]``;
2. every run of ``L >= 2`` equal derivative values ``v`` is written ``v v (L - 2)``; a singleton as is.

Decoding expands the runs and takes the cumulative sum. Since format 1.4.0 a shape whose stored
length equals its ``num_samples`` is uncompressed (stored sample by sample).

The encoder here quantises the samples to a grid of ``quantum = 1e-7`` (float32 precision, as MATLAB
Pulseq and pypulseq do) and takes the derivative of the *integer* grid indices, so runs are exact and
the decoded shape is within ``quantum / 2`` of the input. A shape read from a file keeps its encoded
tokens, and the writer writes those tokens back unchanged, so read -> write -> read is bit-exact.
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

import numpy as np

from wavegen.errors import NonFiniteError, SeqFormatError, ShapeError

__all__ = ["Shape", "compress_shape", "decompress_shape", "SHAPE_QUANTUM"]

#: Quantisation step of the shape encoder (relative to a peak of 1), as in MATLAB Pulseq.
SHAPE_QUANTUM = 1e-7


class Shape:
    """An immutable list of shape samples (float64), hashable and compared by value.

    Parameters
    ----------
    samples
        1-D array of finite samples (at least one).
    encoded
        The compressed tokens this shape was read from, if any (kept so that writing the shape back
        reproduces the file's tokens exactly). Not part of equality.
    """

    __slots__ = ("samples", "encoded", "_hash", "_key")

    samples: np.ndarray
    encoded: np.ndarray | None
    _hash: int
    _key: bytes

    def __init__(self, samples: Any, encoded: np.ndarray | None = None) -> None:
        a = np.array(samples, dtype=np.float64, copy=True).reshape(-1) if np.ndim(samples) <= 1 else None
        if a is None:
            raise ShapeError(f"a shape must be 1-D, got an array of shape {np.shape(samples)}")
        if a.size == 0:
            raise ShapeError("a shape needs at least one sample, got none")
        if not np.all(np.isfinite(a)):
            i = int(np.flatnonzero(~np.isfinite(a))[0])
            raise NonFiniteError(f"shape sample {i} = {a[i]!r} is not finite")
        a[a == 0.0] = 0.0  # no negative zeros: -0.0 and 0.0 are the same sample
        a.setflags(write=False)
        object.__setattr__(self, "samples", a)
        if encoded is not None:
            encoded = np.array(encoded, dtype=np.float64)
            encoded.setflags(write=False)
        object.__setattr__(self, "encoded", encoded)
        # digest of the buffer, not a bytes copy of it (a long shape would be held twice)
        key = hashlib.blake2b(a.data, digest_size=16).digest()
        object.__setattr__(self, "_key", key)
        object.__setattr__(self, "_hash", hash(key))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Shape is immutable")

    def __len__(self) -> int:
        return int(self.samples.size)

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Shape):
            return NotImplemented
        return (
            self._hash == other._hash
            and self._key == other._key
            and bool(np.array_equal(self.samples, other.samples))
        )

    def __repr__(self) -> str:
        n = self.samples.size
        head = ", ".join(f"{v:.6g}" for v in self.samples[:4])
        return f"Shape(n={n}, [{head}{', ...' if n > 4 else ''}])"

    def __reduce__(self) -> tuple[Any, ...]:
        return (Shape, (np.array(self.samples), self.encoded))


def compress_shape(samples: np.ndarray, quantum: float = SHAPE_QUANTUM) -> tuple[np.ndarray, bool]:
    """Encode samples as Pulseq does: quantised derivative, run-length compressed.

    Parameters
    ----------
    samples
        1-D finite samples.
    quantum
        Quantisation step (default 1e-7).

    Returns
    -------
    tokens, compressed
        The tokens to write and whether they are compressed. When compression does not make the list
        shorter the samples themselves are returned (``compressed`` False), as the format asks.
    """
    s = np.asarray(samples, dtype=np.float64).reshape(-1)
    k = np.rint(s / quantum)
    # derivative of integer grid indices: exact in float64 up to 2**53
    d = np.diff(k, prepend=0.0)
    n = d.size
    if n == 0:
        return s.copy(), False
    # run boundaries
    change = np.flatnonzero(d[1:] != d[:-1]) + 1
    starts = np.concatenate(([0], change))
    lengths = np.diff(np.concatenate((starts, [n])))
    out_len = int(np.sum(np.where(lengths >= 2, 3, 1)))
    if out_len >= n:
        return s.copy(), False
    values = d[starts]
    tokens = np.empty(out_len, dtype=np.float64)
    pos = 0
    for v, L in zip(values.tolist(), lengths.tolist(), strict=True):
        if L >= 2:
            tokens[pos] = v
            tokens[pos + 1] = v
            tokens[pos + 2] = L - 2
            pos += 3
        else:
            tokens[pos] = v
            pos += 1
    runs = lengths >= 2
    # scale values (not counts) back to sample units
    count_pos = np.cumsum(np.where(runs, 3, 1)) - 1
    is_count = np.zeros(out_len, dtype=bool)
    is_count[count_pos[runs]] = True
    tokens[~is_count] *= quantum
    return tokens, True


def decompress_shape(tokens: np.ndarray, num_samples: int, *, force: bool = False, where: str = "") -> np.ndarray:
    """Decode Pulseq shape tokens to ``num_samples`` samples.

    Parameters
    ----------
    tokens
        The numbers stored for the shape.
    num_samples
        The declared number of samples.
    force
        Decode even if ``len(tokens) == num_samples`` (files older than 1.4.0, where that length did not
        mean "uncompressed").
    where
        Text naming the file and line, for error messages.

    Raises
    ------
    SeqFormatError
        On a malformed run (count not a non-negative integer) or a decoded length that differs from
        ``num_samples``.
    """
    t = np.asarray(tokens, dtype=np.float64)
    if num_samples < 1:
        raise SeqFormatError(f"{where}: num_samples must be >= 1, got {num_samples}")
    if t.size == num_samples and not force:
        return t.copy()
    if t.size == 0:
        raise SeqFormatError(f"{where}: shape has no samples, {num_samples} declared")
    if t.size > 1 and not np.any(t[1:] == t[:-1]):
        deriv = t
    else:
        # runs as (value, count) pairs, then one np.repeat: memory is the decoded array, not a list of
        # Python floats, and a declared count is checked before anything is allocated
        values: list[float] = []
        counts: list[int] = []
        vals = t.tolist()
        i = 0
        n = len(vals)
        total = 0
        while i < n:
            v = vals[i]
            if i + 1 < n and vals[i + 1] == v:
                if i + 2 >= n:
                    raise SeqFormatError(
                        f"{where}: shape run of {v!r} at token {i + 1} has no repeat count (truncated shape)"
                    )
                c = vals[i + 2]
                if not (c >= 0 and c == math.floor(c)):
                    raise SeqFormatError(
                        f"{where}: shape run count at token {i + 3} is {c!r}, must be a non-negative integer"
                    )
                count = int(c) + 2
                i += 3
            else:
                count = 1
                i += 1
            total += count
            if total > num_samples:
                raise SeqFormatError(f"{where}: shape decodes to more than the {num_samples} samples declared")
            values.append(v)
            counts.append(count)
        deriv = np.repeat(np.array(values, dtype=np.float64), np.array(counts, dtype=np.int64))
    if deriv.size != num_samples:
        raise SeqFormatError(f"{where}: shape decodes to {deriv.size} samples, {num_samples} declared")
    if deriv is t:
        return np.cumsum(t)
    return np.cumsum(deriv, out=deriv)
