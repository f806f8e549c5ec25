"""The :class:`Sequence`: a list of blocks on an integer-nanosecond time base.

A sequence keeps, like a Pulseq file, a library of distinct events (each stored once, found again by
value) and a table of blocks referring to them. Blocks are built with :meth:`Sequence.add_block` from
wavegen's own events or straight from the design values (``wavegen.design`` trapezoids, extended
trapezoids, arbitrary gradients and RF pulses), read from ``.seq`` files by :func:`wavegen.pulseq.read`,
iterated as :class:`~wavegen.sequence.events.Block` values, and rendered to sample streams at any rate
with :meth:`Sequence.render` (see :mod:`wavegen.sequence.render`).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from fractions import Fraction
from typing import Any

import numpy as np

from wavegen.errors import RangeError, RasterError
from wavegen.limits import GAMMA_PULSEQ_HZ_PER_T, SystemLimits, seconds_to_ticks
from wavegen.sequence.blocktable import BlockTable
from wavegen.sequence.events import (
    ADCEvent,
    ArbGradient,
    Block,
    Delay,
    ExtensionEvent,
    GradEvent,
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
from wavegen.sequence.shapes import Shape

__all__ = ["Sequence", "DEFAULT_CHANNELS"]

logger = logging.getLogger(__name__)

#: Channels rendered by default.
DEFAULT_CHANNELS = ("gx", "gy", "gz", "rf", "adc")

#: A sequence of at most this many blocks keeps its (7, n) table once made (long ones make it per call).
_KEEP_FULL_BLOCKS = 1 << 16

_EXT_TYPES = (Trigger, LabelSet, LabelInc, SoftDelay, Rotation, RFShim, UnknownExtension)
_RF_USE_WORDS = {
    "excitation": "e",
    "refocusing": "r",
    "inversion": "i",
    "saturation": "s",
    "preparation": "p",
    "other": "o",
    "undefined": "u",
}


class _Library:
    """Distinct events of one kind, keyed by integer id, found again by value."""

    def __init__(self) -> None:
        self.by_id: dict[int, Any] = {}
        self.by_value: dict[Any, int] = {}
        self.next_id = 1

    def insert(self, key: int, value: Any) -> None:
        self.by_id[key] = value
        self.by_value.setdefault(value, key)
        self.next_id = max(self.next_id, key + 1)

    def find_or_add(self, value: Any) -> int:
        key = self.by_value.get(value)
        if key is None:
            key = self.next_id
            self.insert(key, value)
        return key


class Sequence:
    """A sequence of blocks with events on an integer nanosecond time base.

    Parameters
    ----------
    limits
        Rasters taken from a :class:`~wavegen.limits.SystemLimits` (gradient, RF, ADC and block
        raster). Defaults to the Pulseq/Siemens rasters (10 us, 1 us, 100 ns, 10 us).
    gamma_hz_per_t
        Gyromagnetic ratio converting the file's Hz and Hz/m to tesla and T/m, Hz/T (default 42.576e6,
        the value Pulseq assumes). Not taken from ``limits``: a ``.seq`` file is in Hz/m.
    b0_t
        Main field, T; needed only to render events with ppm frequency or phase offsets.
    definitions
        Extra ``[DEFINITIONS]`` entries (key -> text).

    Notes
    -----
    Units: event amplitudes are in Pulseq's units (Hz/m, Hz); :meth:`render` returns T/m and T.
    Rasters are in ns: whole ns on every MR system in use, or an exact :class:`fractions.Fraction` of a
    ns as a file may declare (``AdcRasterTime 1e-10``, ``GradientRasterTime 1.00016276e-05``). Time is
    counted in integer ticks of ``1 / ticks_per_ns`` ns (:mod:`wavegen.sequence.timebase`): 1 tick = 1 ns
    unless a gradient, RF or block raster is not a whole ns.
    """

    def __init__(
        self,
        limits: SystemLimits | None = None,
        *,
        gamma_hz_per_t: float = GAMMA_PULSEQ_HZ_PER_T,
        b0_t: float | None = None,
        definitions: dict[str, str] | None = None,
    ) -> None:
        lim = limits if limits is not None else SystemLimits()
        self.grad_raster_ns = lim.grad_raster_ns
        self.rf_raster_ns = lim.rf_raster_ns
        self.adc_raster_ns = lim.adc_raster_ns
        self.block_raster_ns = lim.block_raster_ns
        if not (isinstance(gamma_hz_per_t, (int, float)) and math.isfinite(gamma_hz_per_t) and gamma_hz_per_t > 0):
            raise RangeError(f"gamma_hz_per_t = {gamma_hz_per_t!r} Hz/T must be a finite number > 0")
        self.gamma_hz_per_t = float(gamma_hz_per_t)
        if b0_t is not None and not (math.isfinite(b0_t) and b0_t > 0):
            raise RangeError(f"b0_t = {b0_t!r} T must be a finite number > 0")
        self.b0_t = b0_t
        self.definitions: dict[str, str] = dict(definitions or {})
        #: (major, minor, revision) of the file this sequence was read from, None if built.
        self.file_version: tuple[int, int, int] | None = None
        #: Extension names found in the file that wavegen keeps but does not interpret.
        self.unknown_extensions: tuple[str, ...] = ()
        self._rf = _Library()
        self._grad = _Library()
        self._adc = _Library()
        self._ext = _Library()  # tuples of extension events
        # the block table: Python lists while blocks are added, a dictionary-coded BlockTable once read
        # or used; a sequence read from a file holds only the BlockTable (lists are made if blocks are
        # added later)
        self._cols_list: list[list[int]] | None = [[] for _ in range(7)]  # dur, rf, gx, gy, gz, adc, ext
        self._compact: BlockTable | None = None
        self._full: np.ndarray | None = None  # the (7, n) table of a short sequence, kept once made
        self._tb: tuple[tuple[Any, Any, Any], int] = ((None, None, None), 1)

    # --- time base --------------------------------------------------------------------------------

    @property
    def ticks_per_ns(self) -> int:
        """Ticks per ns of the integer time base: 1 (ticks are ns) unless a gradient, RF or block raster
        is not a whole number of ns (:func:`wavegen.sequence.timebase.ticks_per_ns_for`)."""
        key = (self.grad_raster_ns, self.rf_raster_ns, self.block_raster_ns)
        if self._tb[0] != key:
            if all(type(r) is int for r in key):
                tpn = 1
            else:
                from wavegen.sequence.timebase import ticks_per_ns_for

                tpn = ticks_per_ns_for(*key)
            if tpn != self._tb[1] and len(self):
                raise RasterError(
                    f"the rasters changed after blocks were added and need a time base of 1/{tpn} ns instead of "
                    f"1/{self._tb[1]} ns: the block durations would change meaning; set the rasters first"
                )
            self._tb = (key, tpn)
        return self._tb[1]

    @property
    def tick_s(self) -> Fraction:
        """Length of one tick of the time base, s (exact)."""
        return Fraction(1, 10**9 * self.ticks_per_ns)

    def _raster_ticks(self, which: str) -> int:
        r = getattr(self, f"{which}_raster_ns")
        t = self.ticks_per_ns
        if t == 1 and type(r) is int:
            return r
        from wavegen.sequence.timebase import raster_ticks

        return raster_ticks(r, t, f"{which}_raster_ns")

    @property
    def grad_raster_ticks(self) -> int:
        """Gradient raster in ticks of the time base."""
        return self._raster_ticks("grad")

    @property
    def rf_raster_ticks(self) -> int:
        """RF raster in ticks of the time base."""
        return self._raster_ticks("rf")

    @property
    def block_raster_ticks(self) -> int:
        """Block duration raster in ticks of the time base."""
        return self._raster_ticks("block")

    def _ns_times(self, what: str) -> None:
        if self.ticks_per_ns != 1:
            raise RasterError(
                f"{what}: this sequence counts time in ticks of 1/{self.ticks_per_ns} ns (its rasters are "
                f"not whole ns: gradient {float(self.grad_raster_ns)!r} ns, block {float(self.block_raster_ns)!r}"
                f" ns), so its block times are not whole ns; use {what.replace('_ns', '_ticks')} and "
                "ticks_per_ns"
            )

    # --- building ---------------------------------------------------------------------------------

    def add_block(
        self,
        *events: Any,
        rf: Any = None,
        adc: Any = None,
        gx: Any = None,
        gy: Any = None,
        gz: Any = None,
        duration_s: float | None = None,
        duration_ns: int | None = None,
    ) -> None:
        """Append a block.

        Parameters
        ----------
        *events
            RF (:class:`RFEvent` or a ``wavegen.design`` ``RFPulse``), :class:`ADCEvent`,
            :class:`Delay` and extension events (triggers, labels, rotation, ...), in any order.
        rf, adc
            The same events by keyword (optional).
        gx, gy, gz
            Gradients on each logical axis: :class:`TrapGradient`, :class:`ArbGradient` or the design
            values ``Trapezoid``, ``ExtendedTrapezoid``, ``ArbitraryGradient`` (T/m, converted with
            this sequence's gamma).
        duration_s, duration_ns
            Block duration; default: the end of the longest event (or delay), rounded up to the block
            raster. A given duration must be on the block raster and cover every event.

        Raises
        ------
        RasterError, RangeError
            Off-raster duration, events longer than the block, two events of one kind.
        """
        events = (*events, rf, adc)
        rf = None
        adc = None
        exts: list[ExtensionEvent] = []
        min_ns = 0
        for ev in events:
            if ev is None:
                continue
            if isinstance(ev, Delay):
                min_ns = max(min_ns, ev.duration_ns)
            elif isinstance(ev, ADCEvent):
                if adc is not None:
                    raise RangeError("a block holds at most one ADC event")
                adc = ev
            elif isinstance(ev, _EXT_TYPES):
                exts.append(ev)
            else:
                r = self._as_rf(ev)
                if r is None:
                    raise RangeError(f"add_block: cannot place a {type(ev).__name__} (gradients go in gx=, gy=, gz=)")
                if rf is not None:
                    raise RangeError("a block holds at most one RF event")
                rf = r
        grads = [self._as_grad(g, ax) for g, ax in ((gx, "gx"), (gy, "gy"), (gz, "gz"))]
        tpn = self.ticks_per_ns
        ends = [min_ns * tpn]
        if rf is not None:
            ends.append(rf.duration_ticks(self.rf_raster_ticks, tpn))
        if adc is not None:
            ends.append(adc.duration_ticks(0, tpn))
        for g in grads:
            if g is not None:
                ends.append(g.duration_ticks(self.grad_raster_ticks, tpn))
        for e in exts:
            if isinstance(e, Trigger):
                ends.append((e.delay_ns + e.duration_ns) * tpn)
        need = max(ends)
        if duration_s is not None:
            duration_ns = seconds_to_ticks(duration_s, name="duration_s")
        raster = self.block_raster_ticks
        if duration_ns is None:
            duration = -(-need // raster) * raster
        else:
            d = Fraction(duration_ns) * tpn
            if d.denominator != 1 or d % raster:
                raise RasterError(
                    f"block duration {float(duration_ns)!r} ns is not a multiple of the block raster "
                    f"{float(self.block_raster_ns)!r} ns"
                )
            duration = int(d)
            if duration < need:
                raise RangeError(
                    f"block duration {float(duration_ns)!r} ns is shorter than its events ({need / tpn:g} ns)"
                )
        self._append_ids(
            duration,
            self._rf.find_or_add(rf) if rf is not None else 0,
            *(self._grad.find_or_add(g) if g is not None else 0 for g in grads),
            self._adc.find_or_add(adc) if adc is not None else 0,
            self._ext.find_or_add(tuple(exts)) if exts else 0,
        )

    def _append_ids(self, *ids: int) -> None:
        for col, v in zip(self._cols, ids, strict=True):
            col.append(v)
        self._changed()

    def _changed(self) -> None:
        """The lists changed: drop what was made from them."""
        self._compact = None
        self._full = None

    def _as_rf(self, ev: Any) -> RFEvent | None:
        if isinstance(ev, RFEvent):
            return ev
        if hasattr(ev, "b1_t") and hasattr(ev, "raster_s"):  # wavegen.design.rf.RFPulse
            raster_ns = seconds_to_ticks(float(ev.raster_s), name="RFPulse.raster_s")
            if raster_ns != self.rf_raster_ns:
                raise RasterError(
                    f"RF pulse raster {raster_ns} ns differs from the sequence RF raster {self.rf_raster_ns} ns"
                )
            b1 = np.asarray(ev.b1_t, dtype=np.complex128)
            peak = float(np.max(np.abs(b1)))
            mag = np.abs(b1) / peak if peak > 0 else np.zeros(b1.size)
            ph = np.angle(b1) / (2 * np.pi)
            ph[ph < 0] += 1.0
            ph[mag == 0] = 0.0
            use = _RF_USE_WORDS.get(str(getattr(ev, "use", "undefined")), "u")
            return RFEvent(
                amplitude_hz=peak * self.gamma_hz_per_t,
                magnitude=Shape(mag),
                phase=Shape(ph),
                center_us=float(ev.center_s) * 1e6,
                delay_ns=seconds_to_ticks(float(ev.delay_s), name="RFPulse.delay_s"),
                freq_offset_hz=float(ev.freq_offset_hz),
                phase_offset_rad=float(ev.phase_offset_rad),
                use=use,
            )
        return None

    def _as_grad(self, g: Any, axis: str) -> GradEvent | None:
        if g is None or isinstance(g, (TrapGradient, ArbGradient)):
            return g
        gamma = self.gamma_hz_per_t
        name = type(g).__name__
        if hasattr(g, "rise_time_s") and hasattr(g, "flat_time_s"):  # Trapezoid
            return TrapGradient(
                float(g.amplitude_t_per_m) * gamma,
                seconds_to_ticks(float(g.rise_time_s), name=f"{axis} rise_time_s"),
                seconds_to_ticks(float(g.flat_time_s), name=f"{axis} flat_time_s"),
                seconds_to_ticks(float(g.fall_time_s), name=f"{axis} fall_time_s"),
                seconds_to_ticks(float(getattr(g, "delay_s", 0.0)), name=f"{axis} delay_s"),
            )
        if hasattr(g, "times_s") and hasattr(g, "amplitudes_t_per_m"):  # ExtendedTrapezoid
            t_ns = np.array(
                [seconds_to_ticks(float(t), name=f"{axis} times_s") for t in np.asarray(g.times_s)],
                dtype=np.int64,
            )
            w = np.asarray(g.amplitudes_t_per_m, dtype=np.float64) * gamma
            amp, shape = _normalise(w)
            return ArbGradient(
                amp,
                Shape(shape),
                first_hz_per_m=float(w[0]),
                last_hz_per_m=float(w[-1]),
                delay_ns=seconds_to_ticks(float(getattr(g, "delay_s", 0.0)), name=f"{axis} delay_s"),
                time_shape=Shape(t_ns / float(self.grad_raster_ns)),
            )
        if hasattr(g, "samples_t_per_m") and hasattr(g, "raster_s"):  # ArbitraryGradient
            r_ns = seconds_to_ticks(float(g.raster_s), name=f"{axis} raster_s")
            if r_ns != self.grad_raster_ns:
                raise RasterError(
                    f"{axis}: gradient raster {r_ns} ns differs from the sequence raster {self.grad_raster_ns} ns"
                )
            w = np.asarray(g.samples_t_per_m, dtype=np.float64) * gamma
            amp, shape = _normalise(w)
            return ArbGradient(
                amp,
                Shape(shape),
                first_hz_per_m=float(getattr(g, "first_t_per_m", 0.0)) * gamma,
                last_hz_per_m=float(getattr(g, "last_t_per_m", 0.0)) * gamma,
                delay_ns=seconds_to_ticks(float(getattr(g, "delay_s", 0.0)), name=f"{axis} delay_s"),
            )
        raise RangeError(f"{axis}: cannot use a {name} as a gradient")

    # --- access -----------------------------------------------------------------------------------

    @property
    def _cols(self) -> list[list[int]]:
        """The block table as seven Python lists (made from the BlockTable when first needed: a sequence
        that gets blocks added or edited)."""
        if self._cols_list is None:
            assert self._compact is not None
            self._cols_list = [row.tolist() for row in self._compact.columns()]
        return self._cols_list

    @_cols.setter
    def _cols(self, value: list[list[int]]) -> None:
        self._cols_list = value
        self._changed()

    @property
    def coded_table(self) -> BlockTable:
        """The block table, dictionary-coded (:class:`~wavegen.sequence.blocktable.BlockTable`: the
        distinct rows and a row number per block, about 2 bytes a block): what long sequences are walked
        through, by block ranges (:meth:`~BlockTable.columns`, :meth:`~BlockTable.starts`)."""
        return self._blocks

    @property
    def _blocks(self) -> BlockTable:
        if self._compact is None:
            assert self._cols_list is not None
            self._compact = BlockTable.of_columns(np.array(self._cols_list, dtype=np.int64).reshape(7, -1))
        return self._compact

    @property
    def _table(self) -> np.ndarray:
        """(7, n_blocks) int64: duration (ticks; ns when ``ticks_per_ns`` is 1), rf, gx, gy, gz, adc, ext ids.

        A new array per call for a long sequence (56 bytes a block); code that walks long sequences uses
        :attr:`_blocks` by ranges instead."""
        if self._full is not None:
            return self._full
        t = self._blocks.columns()  # (made from the lists once while they do not change)
        if t.shape[1] <= _KEEP_FULL_BLOCKS:
            self._full = t
        return t

    def __len__(self) -> int:
        if self._cols_list is None:
            assert self._compact is not None
            return len(self._compact)
        return len(self._cols_list[0])

    def block_table(self) -> np.ndarray:
        """The block table, (7, n_blocks) int64, read-only: duration (in ticks of the time base, which are ns
        unless :attr:`ticks_per_ns` > 1) and the rf, gx, gy, gz, adc and
        extension event ids of every block (0 = none). Equal columns render to equal samples at equal
        phases of a sample grid (the playback plan de-duplicates on it)."""
        t = self._table.view()
        t.flags.writeable = False
        return t

    def block(self, index: int) -> Block:
        """Block ``index`` (0-based; negative counts from the end)."""
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"block {index} out of range for a sequence of {n} blocks")
        i = index % n
        if self._cols_list is not None:
            dur, rf, gx, gy, gz, adc, ext = (c[i] for c in self._cols_list)
        else:
            assert self._compact is not None
            dur, rf, gx, gy, gz, adc, ext = self._compact.row(i)
        tpn = self.ticks_per_ns
        return Block(
            duration_ns=dur if tpn == 1 else Fraction(dur, tpn),
            rf=self._rf.by_id[rf] if rf else None,
            gx=self._grad.by_id[gx] if gx else None,
            gy=self._grad.by_id[gy] if gy else None,
            gz=self._grad.by_id[gz] if gz else None,
            adc=self._adc.by_id[adc] if adc else None,
            extensions=self._ext.by_id[ext] if ext else (),
        )

    def __getitem__(self, index: int) -> Block:
        return self.block(index)

    def __iter__(self) -> Iterator[Block]:
        for i in range(len(self)):
            yield self.block(i)

    @property
    def block_durations_ns(self) -> np.ndarray:
        """Block durations, int64 ns (a sequence on a finer time base: :attr:`block_durations_ticks`).

        Raises
        ------
        RasterError
            The time base is finer than ns (``ticks_per_ns`` > 1).
        """
        self._ns_times("block_durations_ns")
        return self._blocks.column(0)

    @property
    def block_starts_ns(self) -> np.ndarray:
        """Start time of every block from the sequence start, int64 ns (a sequence on a finer time base:
        :attr:`block_starts_ticks`).

        Raises
        ------
        RasterError
            The time base is finer than ns (``ticks_per_ns`` > 1).
        """
        self._ns_times("block_starts_ns")
        return self.block_starts_ticks

    @property
    def block_durations_ticks(self) -> np.ndarray:
        """Block durations, int64 ticks of ``1 / ticks_per_ns`` ns."""
        return self._blocks.column(0)

    @property
    def block_starts_ticks(self) -> np.ndarray:
        """Start time of every block from the sequence start, int64 ticks of ``1 / ticks_per_ns`` ns."""
        return self._blocks.starts()

    @property
    def duration_ticks(self) -> int:
        """Total duration, ticks of ``1 / ticks_per_ns`` ns."""
        if self._cols_list is None:
            return self._blocks.total
        return int(sum(self._cols_list[0]))

    @property
    def duration_ns(self) -> Any:
        """Total duration, ns: an int, or an exact :class:`~fractions.Fraction` on a time base finer than ns."""
        tpn = self.ticks_per_ns
        d = self.duration_ticks
        return d if tpn == 1 else Fraction(d, tpn)

    @property
    def duration_s(self) -> float:
        """Total duration, s."""
        return float(self.duration_ns) * 1e-9

    @property
    def rasters_ns(self) -> dict[str, Any]:
        return {
            "grad": self.grad_raster_ns,
            "rf": self.rf_raster_ns,
            "adc": self.adc_raster_ns,
            "block": self.block_raster_ns,
        }

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence):
            return NotImplemented
        if (
            len(self) != len(other)
            or self.rasters_ns != other.rasters_ns
            or self.gamma_hz_per_t != other.gamma_hz_per_t
            or self.definitions != other.definitions
        ):
            return False
        return all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        n, d = len(self), self.duration_s
        length = f"{d:.6g} s" if d >= 1 else f"{d * 1e3:.6g} ms"
        return (
            f"Sequence({n} block{'' if n == 1 else 's'}, {length}; distinct events: {len(self._rf.by_id)} RF, "
            f"{len(self._grad.by_id)} gradient, {len(self._adc.by_id)} ADC)"
        )

    # --- labels -------------------------------------------------------------------------------------

    def label_values(self, init: dict[str, int] | None = None) -> dict[str, np.ndarray]:
        """Value of every label after each block (LABELSET before LABELINC within a block).

        Returns a dict label -> int64 array with one entry per block (0 before a label is first set,
        or ``init[label]``); the values seen by a block's ADC are that block's entries.
        """
        state: dict[str, int] = dict(init or {})
        changes: dict[str, list[tuple[int, int]]] = {k: [(0, v)] for k, v in state.items()}
        lib = self._ext.by_id
        with_labels = {k for k, v in lib.items() if any(isinstance(e, (LabelSet, LabelInc)) for e in v)}
        if with_labels:
            col = self._blocks.column(6)
            for b in np.flatnonzero(np.isin(col, list(with_labels))).tolist():
                evs = lib[int(col[b])]
                for e in evs:
                    if isinstance(e, LabelSet):
                        state[e.label] = e.value
                        changes.setdefault(e.label, []).append((b, e.value))
                for e in evs:
                    if isinstance(e, LabelInc):
                        state[e.label] = state.get(e.label, 0) + e.value
                        changes.setdefault(e.label, []).append((b, state[e.label]))
        n = len(self)
        out: dict[str, np.ndarray] = {}
        for label, ch in changes.items():
            vals = np.zeros(n, dtype=np.int64)
            for b, v in ch:  # later changes of the same block overwrite earlier ones
                vals[b] = v
            mark = np.zeros(n, dtype=bool)
            mark[[b for b, _ in ch]] = True
            idx = np.where(mark, np.arange(n), 0)
            np.maximum.accumulate(idx, out=idx)
            res = vals[idx]
            res[: min(b for b, _ in ch)] = 0 if label not in (init or {}) else (init or {})[label]
            out[label] = res
        return out

    # --- soft delays ----------------------------------------------------------------------------------

    def soft_delays(self) -> dict[str, SoftDelay]:
        """The soft delays (DELAYS extension) of the sequence, by hint (``TE``, ``TR``, ...)."""
        out: dict[str, SoftDelay] = {}
        for evs in self._ext.by_id.values():
            for e in evs:
                if isinstance(e, SoftDelay):
                    out.setdefault(e.hint, e)
        return out

    def apply_soft_delays(self, **values_s: float) -> Sequence:
        """A copy with the blocks of the named soft delays set to ``value / factor + offset``.

        Parameters
        ----------
        **values_s
            Hint -> value in s, e.g. ``TE=40e-3``. The duration is rounded to the nearest block raster
            (a warning is logged when that moves it by more than 0.5 us), as Pulseq does.

        Raises
        ------
        RangeError
            Unknown hint, a hint used with two numeric ids, a negative duration, or a duration shorter
            than the events of its block.
        """
        known = self.soft_delays()
        for hint, e in known.items():
            for evs in self._ext.by_id.values():
                for x in evs:
                    if isinstance(x, SoftDelay) and (x.hint == hint) != (x.num == e.num):
                        raise RangeError(f"soft delay {hint!r} and numeric id {e.num} are used inconsistently")
        for hint in values_s:
            if hint not in known:
                raise RangeError(f"no soft delay {hint!r} in the sequence; it has: {', '.join(known) or 'none'}")
        new = self._copy()
        ext_col = self._cols[6]
        tpn = self.ticks_per_ns
        raster = self.block_raster_ticks
        for b, lid in enumerate(ext_col):
            if not lid:
                continue
            for e in self._ext.by_id[lid]:
                if isinstance(e, SoftDelay) and e.hint in values_s:
                    v = values_s[e.hint]
                    if not isinstance(v, (int, float)) or not math.isfinite(v):
                        raise RangeError(f"soft delay {e.hint} = {v!r} s must be a finite number")
                    want = (v * 1e9 / e.factor + e.offset_ns) * tpn  # ticks
                    dur = int(round(want / raster)) * raster
                    if abs(dur - want) > 500 * tpn:
                        logger.warning(
                            "soft delay %s: block %d rounded by %.1f us to the block raster",
                            e.hint,
                            b + 1,
                            abs(dur - want) / tpn / 1000,
                        )
                    if dur < 0:
                        raise RangeError(f"soft delay {e.hint} = {v!r} s gives a negative block duration")
                    need = self._events_end_ticks(b)
                    if dur < need:
                        raise RangeError(
                            f"soft delay {e.hint} = {v!r} s makes block {b + 1} {dur / tpn:g} ns long, shorter "
                            f"than its events ({need / tpn:g} ns)"
                        )
                    new._cols[0][b] = dur
        new._changed()
        return new

    def _events_end_ticks(self, b: int) -> int:
        blk = self.block(b)
        tpn = self.ticks_per_ns
        ends = [0]
        if blk.rf is not None:
            ends.append(blk.rf.duration_ticks(self.rf_raster_ticks, tpn))
        if blk.adc is not None:
            ends.append(blk.adc.duration_ticks(0, tpn))
        for g in (blk.gx, blk.gy, blk.gz):
            if g is not None:
                ends.append(g.duration_ticks(self.grad_raster_ticks, tpn))
        return max(ends)

    def slice_blocks(self, first: int, stop: int) -> Sequence:
        """A new sequence of blocks ``first`` to ``stop - 1`` (0-based), sharing this one's events,
        rasters, gamma, ``b0_t`` and definitions; its time 0 is the start of block ``first``.

        Plots and reports render a window of a long sequence through it: only the blocks they show.

        Raises
        ------
        RangeError
            Unless ``0 <= first < stop <= len(self)``.
        """
        n = len(self)
        if not (isinstance(first, int) and isinstance(stop, int)) or not 0 <= first < stop <= n:
            raise RangeError(f"slice_blocks({first!r}, {stop!r}): need 0 <= first < stop <= {n} (the block count)")
        new = self._copy()
        if self._cols_list is not None:
            new._cols = [c[first:stop] for c in self._cols_list]
        else:
            assert self._compact is not None
            new._compact = self._compact.slice(first, stop)
            new._full = None
        return new

    # --- plots and notebooks -----------------------------------------------------------------------

    def plot(self, window: Any = None, ax: Any = None, **kwargs: Any) -> Any:
        """Gradients (mT/m), RF magnitude (uT) and phase (rad) and the ADC gate against time.

        Only the blocks inside ``window`` are rendered; a window longer than the plot can show is
        drawn as a min/max envelope per pixel column, so an 80 s sequence plots in about a second.
        See :func:`wavegen.report.figures.plot_sequence` (``window=("10 ms", "20 ms")`` or seconds).

        Returns
        -------
        matplotlib.figure.Figure
        """
        from wavegen.report.figures import plot_sequence

        return plot_sequence(self, window=window, ax=ax, **kwargs)

    def plot_kspace(self, window: Any = None, ax: Any = None, **kwargs: Any) -> Any:
        """The k-space trajectory with the ADC samples marked; see :func:`wavegen.report.figures.plot_kspace`."""
        from wavegen.report.figures import plot_kspace

        return plot_kspace(self, window=window, ax=ax, **kwargs)

    def _repr_html_(self) -> str:
        """A compact summary with a small overview plot, for notebooks (:mod:`wavegen.report.html`)."""
        from wavegen.report.html import sequence_html

        return sequence_html(self)

    def _copy(self) -> Sequence:
        new = Sequence.__new__(Sequence)
        new.__dict__.update(self.__dict__)
        new.definitions = dict(self.definitions)
        if self._cols_list is not None:
            new._cols = [list(c) for c in self._cols_list]
        # else the BlockTable is shared: it is immutable (editing makes lists first)
        for name in ("_rf", "_grad", "_adc", "_ext"):
            lib = _Library()
            old = getattr(self, name)
            lib.by_id = dict(old.by_id)
            lib.by_value = dict(old.by_value)
            lib.next_id = old.next_id
            setattr(new, name, lib)
        return new

    # --- rendering ----------------------------------------------------------------------------------

    def render(
        self,
        rate_hz: Any,
        channels: tuple[str, ...] = DEFAULT_CHANNELS,
        *,
        t0_s: Any = 0,
        n_samples: int | None = None,
        b0_t: float | None = None,
    ) -> dict[str, np.ndarray]:
        """Render to per-channel sample streams at ``rate_hz``.

        Sample ``k`` is the value at ``t = t0_s + k / rate_hz`` from the start of the sequence.
        Gradients (``gx``, ``gy``, ``gz``, physical axes after any ROTATIONS) in T/m, ``rf`` complex
        B1 in T, ``adc`` and ``trigger`` (digital outputs) as bool. See :mod:`wavegen.sequence.render`.

        Parameters
        ----------
        rate_hz
            Output rate, Hz (int, float or :class:`fractions.Fraction`; exact rational arithmetic).
        channels
            Any of ``gx gy gz rf adc trigger``.
        t0_s
            Time of sample 0, s (exact rational as ``rate_hz``).
        n_samples
            Number of samples; default covers the sequence: ``ceil((duration - t0) * rate)``.
        b0_t
            Main field for ppm offsets (default: the sequence's ``b0_t``).
        """
        from wavegen.sequence.render import Renderer

        r = Renderer(self, rate_hz, channels, t0_s=t0_s, b0_t=b0_t)
        n = r.n_total if n_samples is None else int(n_samples)
        return r.render(0, n)

    def render_chunks(
        self,
        rate_hz: Any,
        channels: tuple[str, ...] = DEFAULT_CHANNELS,
        *,
        chunk_samples: int = 1 << 20,
        t0_s: Any = 0,
        n_samples: int | None = None,
        b0_t: float | None = None,
    ) -> Iterator[dict[str, np.ndarray]]:
        """Like :meth:`render`, yielding chunks of at most ``chunk_samples`` samples.

        The concatenated chunks are bit-identical to a one-shot :meth:`render`; memory is bounded by the
        chunk size (plus the event tables, which grow with the number of events, not of samples).
        """
        from wavegen.sequence.render import Renderer

        if isinstance(chunk_samples, bool) or not isinstance(chunk_samples, int) or chunk_samples < 1:
            raise RangeError(f"chunk_samples = {chunk_samples!r} must be an integer >= 1")
        r = Renderer(self, rate_hz, channels, t0_s=t0_s, b0_t=b0_t)
        n = r.n_total if n_samples is None else int(n_samples)
        for k0 in range(0, n, chunk_samples):
            yield r.render(k0, min(n, k0 + chunk_samples))

    def to_waveforms(self, *, include_rf: bool = True) -> Any:
        """The sequence as :class:`wavegen.safety.Waveforms` for the safety check.

        Gradients (physical axes, T/m) are sampled at the gradient raster centres, RF (T) at the RF
        raster centres, both from t = 0 to the end of the sequence.
        """
        from wavegen.safety.waveforms import Waveforms, adopting
        from wavegen.sequence.render import Renderer

        g_raster_s = Fraction(self.grad_raster_ns) / 10**9
        rg = Renderer(self, 1 / g_raster_s, ("gx", "gy", "gz"), t0_s=g_raster_s / 2)
        ng = -(-self.duration_ticks // self.grad_raster_ticks)
        out = rg.render(0, ng)
        grad = np.stack([out["gx"], out["gy"], out["gz"]], axis=1)
        rf = None
        rf_raster_s = None
        if include_rf and len(self._rf.by_id):
            r_raster_s = Fraction(self.rf_raster_ns) / 10**9
            rr = Renderer(self, 1 / r_raster_s, ("rf",), t0_s=r_raster_s / 2)
            rf = rr.render(0, -(-self.duration_ticks // self.rf_raster_ticks))["rf"]
            rf_raster_s = float(self.rf_raster_ns * 1e-9)  # as before: the same float as the safety digest
        with adopting():  # the arrays were just rendered and are dropped here: no second copy
            return Waveforms(
                grad_t_per_m=grad,
                grad_raster_s=float(self.grad_raster_ns * 1e-9),
                rf_b1_t=rf,
                rf_raster_s=rf_raster_s,
            )


def _normalise(w: np.ndarray) -> tuple[float, np.ndarray]:
    peak = float(np.max(np.abs(w))) if w.size else 0.0
    if peak == 0.0:
        return 0.0, np.zeros(w.size)
    return peak, w / peak
