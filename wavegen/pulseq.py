"""Pulseq ``.seq`` files: :func:`read` and :func:`write` (the facade of :mod:`wavegen.sequence`).

>>> import wavegen as wg
>>> seq = wg.pulseq.read("gre.seq")            # doctest: +SKIP
>>> wg.pulseq.write(seq, "copy.seq")           # doctest: +SKIP

Formats 1.2.0 to 1.5.1 are read (compressed and time shapes, TRIGGERS, LABELSET/LABELINC, soft
DELAYS, ROTATIONS, RF_SHIMS, the ``[SIGNATURE]`` md5 check); 1.4.x and 1.5.x are written. Reading,
writing and reading again gives the same sequence exactly.
"""

from __future__ import annotations

import os

from wavegen.sequence.seq_read import read_seq
from wavegen.sequence.seq_write import WRITABLE_VERSIONS, write_seq
from wavegen.sequence.sequence import Sequence

__all__ = ["read", "write", "WRITABLE_VERSIONS"]


def read(
    path: str | os.PathLike[str],
    *,
    verify_signature: bool = True,
    gamma_hz_per_t: float | None = None,
    b0_t: float | None = None,
) -> Sequence:
    """Read a Pulseq ``.seq`` file (1.2.0 - 1.5.1); see :func:`wavegen.sequence.seq_read.read_seq`."""
    return read_seq(path, verify_signature=verify_signature, gamma_hz_per_t=gamma_hz_per_t, b0_t=b0_t)


def write(
    seq: Sequence,
    path: str | os.PathLike[str],
    version: str | None = None,
    *,
    signature: bool = True,
    b0_t: float | None = None,
) -> str:
    """Write ``seq`` as a Pulseq file (1.4.x or 1.5.x); returns the md5 signature.

    See :func:`wavegen.sequence.seq_write.write_seq`.
    """
    return write_seq(seq, path, version, signature=signature, b0_t=b0_t)
