"""wavegen.sequence: the block timeline, Pulseq ``.seq`` read/write, rendering to instrument rates.

- :class:`Sequence` - blocks of events on an integer-nanosecond time base; ``add_block``, iteration,
  ``duration_s``, ``render``/``render_chunks`` (any rate, exact), ``to_waveforms`` (for the safety check);
- events: :class:`TrapGradient`, :class:`ArbGradient`, :class:`RFEvent`, :class:`ADCEvent`,
  :class:`Delay`, and the extensions :class:`Trigger`, :class:`LabelSet`, :class:`LabelInc`,
  :class:`SoftDelay`, :class:`Rotation`, :class:`RFShim`, :class:`UnknownExtension`;
- :class:`Shape` and the Pulseq shape compression;
- :func:`read_seq` / :func:`write_seq` (also as :func:`wavegen.pulseq.read` / :func:`wavegen.pulseq.write`).
"""

from __future__ import annotations

from wavegen.sequence.events import (
    ADCEvent,
    ArbGradient,
    Block,
    Delay,
    LabelInc,
    LabelSet,
    RFEvent,
    RFShim,
    Rotation,
    SoftDelay,
    TrapGradient,
    Trigger,
    UnknownExtension,
)
from wavegen.sequence.render import Renderer
from wavegen.sequence.seq_read import read_seq
from wavegen.sequence.seq_write import write_seq
from wavegen.sequence.sequence import Sequence
from wavegen.sequence.shapes import Shape, compress_shape, decompress_shape

__all__ = [
    "Sequence",
    "Block",
    "TrapGradient",
    "ArbGradient",
    "RFEvent",
    "ADCEvent",
    "Delay",
    "Trigger",
    "LabelSet",
    "LabelInc",
    "SoftDelay",
    "Rotation",
    "RFShim",
    "UnknownExtension",
    "Shape",
    "compress_shape",
    "decompress_shape",
    "read_seq",
    "write_seq",
    "Renderer",
]
