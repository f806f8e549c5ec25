"""Pulseq ``.seq`` files: :func:`read` and :func:`write` (the facade of :mod:`wavegen.sequence`).

>>> import wavegen as wg
>>> seq = wg.pulseq.read("gre.seq")            # doctest: +SKIP
>>> wg.pulseq.write(seq, "copy.seq")           # doctest: +SKIP

Formats 1.2.0 to 1.5.1 are read (compressed and time shapes, TRIGGERS, LABELSET/LABELINC, soft
DELAYS, ROTATIONS, RF_SHIMS, the ``[SIGNATURE]`` md5 check: warn by default, ``signature="strict"``
refuses); 1.4.x and 1.5.x are written. Reading,
writing and reading again gives the same sequence exactly.
"""

from __future__ import annotations

import os

from wavegen.sequence.seq_read import MAX_SAMPLES, SIGNATURE_POLICIES, PulseqWarning, read_seq
from wavegen.sequence.seq_write import WRITABLE_VERSIONS, write_seq
from wavegen.sequence.sequence import Sequence

__all__ = ["read", "write", "WRITABLE_VERSIONS", "PulseqWarning", "SIGNATURE_POLICIES", "MAX_SAMPLES"]


def read(
    path: str | os.PathLike[str],
    *,
    signature: str = "warn",
    verify_signature: bool | None = None,
    gamma_hz_per_t: float | None = None,
    b0_t: float | None = None,
    max_samples: int = MAX_SAMPLES,
) -> Sequence:
    """Read a Pulseq ``.seq`` file (1.2.0 - 1.5.1); see :func:`wavegen.sequence.seq_read.read_seq`.

    A ``[SIGNATURE]`` that matches none of the known writer variants gives a :class:`PulseqWarning`
    (``signature="strict"`` refuses the file, ``"ignore"`` skips the check). The reading policy and its
    sources are in ``docs/pulseq.md``.
    """
    return read_seq(
        path,
        signature=signature,
        verify_signature=verify_signature,
        gamma_hz_per_t=gamma_hz_per_t,
        b0_t=b0_t,
        max_samples=max_samples,
    )


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
