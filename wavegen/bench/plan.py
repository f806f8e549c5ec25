"""Playback plans: a sequence of any length as de-duplicated segments per instrument.

A :class:`PlaybackPlan` splits a sequence (or a window of it) at block boundaries into segments per
instrument, where every output of one instrument plays in lockstep, and keeps each distinct segment
once, with a table of (segment, repeat count) in play order. Per instrument it says how it will play:

``waveform``
    the whole program as one waveform per output (it fits the instrument's memory);
``sequence``
    the distinct segments uploaded once and played by the instrument's sequencer (AWGs that sequence);
``stream``
    the samples fed to the instrument as it plays (DAQ boards: continuous, non-regenerating output).

Segments are keyed by what makes their samples: the block's events on the instrument's channels
(Pulseq event ids, which already include RF phase and frequency offsets), the block's duration, and
where the block starts relative to the instrument's sample grid (an exact integer remainder). Two
blocks with equal keys render to bit-identical samples; the plan renders each key once and records
its digest. Distinct segments beyond a memory budget are not kept: they are rendered again when they
play and verified against the digest recorded here, so memory stays bounded whatever the length.

The safety clearance covers the whole plan: :meth:`InstrumentPlan.grants` gives, per output, the
digests of the distinct segments and the table (:class:`wavegen.safety.Grant`); a plan altered after
clearance is refused by the drivers.

Timing is exact: sample ``k`` of an instrument plays the sequence at ``t = t0 + k / rate`` with ``t0``
and the rate exact rationals; block boundaries map to samples by exact integer arithmetic.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

from wavegen.errors import ConfigError, RangeError
from wavegen.safety.interlock import Grant, PlayOrder, Segment, samples_digest
from wavegen.sequence.blocktable import RowDictionary

if TYPE_CHECKING:
    from wavegen.sequence import Sequence

__all__ = [
    "InstrumentPlan",
    "PlanSegment",
    "PlaybackPlan",
    "SequencerLimits",
    "Window",
    "block_samples",
    "window_samples",
    "make_instrument_plan",
]

logger = logging.getLogger(__name__)

#: Distinct segments kept in memory up to this many bytes per instrument; the rest are re-rendered
#: (and verified) when they play.
DEFAULT_CACHE_BYTES = 256 << 20

# columns of the sequence's block table: duration, rf, gx, gy, gz, adc, ext
_COLUMNS = {"rf": (1,), "gx": (2, 6), "gy": (3, 6), "gz": (4, 6), "adc": (5,), "trigger": (6,)}


@dataclass(frozen=True)
class Window:
    """A part of a sequence to play: blocks ``first_block`` to ``last_block`` (inclusive, 0-based),
    or times ``start_s`` to ``end_s`` from the sequence start (exact rationals)."""

    start_ns: Fraction
    end_ns: Fraction
    text: str

    @classmethod
    def of_times(cls, start_s: Any, end_s: Any) -> Window:
        a, b = _fraction(start_s, "window start"), _fraction(end_s, "window end")
        if not 0 <= a < b:
            raise RangeError(f"window {float(a):g} s..{float(b):g} s: need 0 <= start < end")
        return cls(a * 10**9, b * 10**9, f"{float(a) * 1e3:g} ms..{float(b) * 1e3:g} ms")

    @classmethod
    def of_blocks(cls, seq: Sequence, first: int, last: int) -> Window:
        n = len(seq)
        if not (isinstance(first, int) and isinstance(last, int)) or not 0 <= first <= last < n:
            raise RangeError(f"blocks {first}..{last}: the sequence has blocks 0..{n - 1}")
        tpn = seq.ticks_per_ns  # the sequence's time base: ticks of 1/tpn ns (1 on whole-ns rasters)
        coded = seq.coded_table
        return cls(Fraction(coded.start(first), tpn), Fraction(coded.start(last + 1), tpn), f"blocks {first}..{last}")

    def clamp(self, duration_ns: int) -> Window:
        if self.start_ns >= duration_ns:
            raise RangeError(
                f"window {self.text} starts after the sequence ends ({duration_ns * 1e-6:g} ms)"
            )
        return Window(self.start_ns, min(self.end_ns, Fraction(duration_ns)), self.text)


def _fraction(x: Any, what: str) -> Fraction:
    if isinstance(x, Fraction):
        return x
    if isinstance(x, int) and not isinstance(x, bool):
        return Fraction(x)
    try:
        f = float(x)
    except (TypeError, ValueError):
        raise RangeError(f"{what} must be a time in s, got {x!r}") from None
    if not math.isfinite(f):
        raise RangeError(f"{what} = {x!r} s is not finite")
    return Fraction(repr(f))


@dataclass(frozen=True)
class SequencerLimits:
    """What an instrument's sequencer can hold (from its manual; see ``docs/instruments/``).

    Attributes
    ----------
    max_steps : int
        Entries in one sequence table.
    max_segments : int
        Distinct waveforms a sequence may use.
    min_points, granularity : int
        A segment's minimum length and the multiple its length must be.
    max_repeats : int
        Largest repeat count of one step.
    memory_points : int
        Waveform memory per channel (points) for all segments together.
    """

    max_steps: int
    max_segments: int
    min_points: int
    granularity: int
    max_repeats: int
    memory_points: int

    @classmethod
    def of_driver(cls, drv: Any) -> SequencerLimits | None:
        """An AWG driver's documented sequencer limits (``MAX_SEQUENCE_STEPS``, ``MAX_STEP_REPEATS``, its
        capabilities), or ``None`` when it cannot sequence."""
        steps = int(getattr(drv, "MAX_SEQUENCE_STEPS", 0) or 0)
        caps = getattr(drv, "caps", None)
        if steps <= 0 or caps is None:
            return None
        return cls(
            max_steps=steps, max_segments=steps, min_points=int(caps.min_points),
            granularity=int(caps.point_granularity), max_repeats=int(getattr(drv, "MAX_STEP_REPEATS", 1)),
            memory_points=int(caps.max_points),
        )


@dataclass(frozen=True, eq=False)
class PlanSegment:
    """One distinct segment: its length, per output the digest of its volts (float64, as the driver
    receives them), and the volts themselves when kept (read-only arrays), else ``None``."""

    n_samples: int
    digests: Mapping[str, str]
    volts: Mapping[str, np.ndarray] | None
    #: where it was first rendered: (k0, k1) in the instrument's program samples
    source: tuple[int, int]


@dataclass(eq=False)
class InstrumentPlan:
    """How one instrument plays its part of a plan (see the module docstring)."""

    instrument: str
    rate_hz: Fraction
    outputs: tuple[str, ...]
    mode: str
    reason: str
    segments: tuple[PlanSegment, ...]
    #: (distinct segment, repeats in a row) in play order (reads as a tuple of pairs; arrays inside)
    table: PlayOrder
    t0_s: Fraction
    #: render samples [k0, k1) of this instrument's program as volts per output (re-render path)
    _render: Callable[[int, int], dict[str, np.ndarray]] = field(repr=False, default=None)  # type: ignore[assignment]

    @property
    def order(self) -> PlayOrder:
        """:attr:`table` as a :class:`~wavegen.safety.PlayOrder` (a table replaced by pairs is read as such)."""
        return PlayOrder.of(self.table)

    @property
    def n_samples(self) -> int:
        return self.order.samples([s.n_samples for s in self.segments])

    @property
    def duration_s(self) -> float:
        return self.n_samples / float(self.rate_hz)

    @property
    def unique_samples(self) -> int:
        return sum(s.n_samples for s in self.segments)

    @property
    def bytes_uploaded(self) -> int:
        """Bytes of distinct segments over all outputs as int16 codes (what a sequencing AWG receives)."""
        return 2 * self.unique_samples * len(self.outputs)

    @property
    def memory_bytes(self) -> int:
        """Bytes of distinct segments kept in memory (float64 volts)."""
        return sum(8 * s.n_samples * len(self.outputs) for s in self.segments if s.volts is not None)

    def segment_volts(self, index: int) -> dict[str, np.ndarray]:
        """The volts of distinct segment ``index`` per output (kept, or rendered again and verified)."""
        seg = self.segments[index]
        if seg.volts is not None:
            return dict(seg.volts)
        volts = self._render(*seg.source)
        for name, v in volts.items():
            if samples_digest(v) != seg.digests[name]:
                raise RangeError(
                    f"{self.instrument}: segment {index} ({name}) renders differently than when the plan was "
                    "made (the sequence changed after planning); nothing more plays"
                )
            v.flags.writeable = False
        return volts

    def feed(self) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
        """``(segment index, volts per output)`` in play order, repeats expanded (arrays are read-only)."""
        for idx, reps in self.table:
            volts = self.segment_volts(idx)
            for _ in range(reps):
                yield idx, volts

    def expand(self, output: str) -> np.ndarray:
        """The whole program of ``output`` as one array (for tests and short plans)."""
        parts = [v[output] for _, v in self.feed()]
        return np.concatenate(parts) if parts else np.zeros(0)

    def grants(self, output_id: Callable[[str], str]) -> list[Grant]:
        """Per output, what it may receive: the distinct segments' digests and the table."""
        out = []
        for name in self.outputs:
            segs = tuple(Segment(s.digests[name], s.n_samples) for s in self.segments)
            out.append(Grant(output_id(name), float(self.rate_hz), segs, self.order, expanded=True))
        return out

    def digest(self) -> str:
        h = hashlib.sha256()
        h.update(f"{self.instrument}|{self.rate_hz}|{self.t0_s}|{len(self.table)}|{self.order.digest}".encode())
        for s in self.segments:
            for name in self.outputs:
                h.update(f"|{name}:{s.digests[name]}:{s.n_samples}".encode())
        return h.hexdigest()

    def row(self) -> dict[str, Any]:
        """One line of the plan table (``wavegen play --dry-run``)."""
        return {
            "instrument": self.instrument,
            "mode": self.mode,
            "rate_hz": float(self.rate_hz),
            "segments": len(self.table),
            "plays": self.order.plays,
            "unique": len(self.segments),
            "points_uploaded": self.unique_samples * len(self.outputs),
            "duration_s": self.duration_s,
            "memory_bytes": self.memory_bytes,
            "why": self.reason,
        }

    def __repr__(self) -> str:
        return (
            f"InstrumentPlan({self.instrument}: {self.mode}, {len(self.outputs)} outputs at "
            f"{float(self.rate_hz) / 1e6:g} MS/s, {self.duration_s:.6g} s, {self.order.plays} "
            f"segment plays of {len(self.segments)} distinct; {self.reason})"
        )


@dataclass(eq=False)
class PlaybackPlan:
    """A plan for every instrument of a bench (see the module docstring)."""

    instruments: dict[str, InstrumentPlan]
    window: Window | None
    t0_s: float

    @property
    def duration_s(self) -> float:
        return max((p.duration_s for p in self.instruments.values()), default=0.0)

    @property
    def fits_one_waveform(self) -> bool:
        """Every instrument plays one waveform per output (no sequencing, no streaming)."""
        return all(p.mode == "waveform" for p in self.instruments.values())

    def digest(self) -> str:
        h = hashlib.sha256()
        for name in sorted(self.instruments):
            h.update(self.instruments[name].digest().encode())
        return h.hexdigest()

    def table(self) -> str:
        """The plan as a text table."""
        head = ("instrument", "mode", "rate", "segments", "unique", "points uploaded", "duration", "memory", "why")
        rows = [head]
        for p in self.instruments.values():
            r = p.row()
            rows.append((
                r["instrument"], r["mode"], f"{r['rate_hz'] / 1e6:g} MS/s", f"{r['plays']:,}", f"{r['unique']:,}",
                f"{r['points_uploaded']:,}", f"{r['duration_s']:.6g} s", f"{r['memory_bytes'] / 2**20:.1f} MiB",
                r["why"],
            ))
        widths = [max(len(str(row[i])) for row in rows) for i in range(len(head))]
        return "\n".join("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows)

    def __repr__(self) -> str:
        w = f", window {self.window.text}" if self.window else ""
        parts = "; ".join(repr(p) for p in self.instruments.values())
        return f"PlaybackPlan({self.duration_s:.6g} s{w}: {parts})"


def block_samples(starts: np.ndarray, rate: Fraction, ticks_per_ns: int = 1) -> tuple[list[int], list[int]]:
    """For each block start (in ticks of ``1 / ticks_per_ns`` ns), the first sample at or after it
    (``ceil(t * rate)``) and the exact remainder that says where the block starts between two samples
    (equal remainders: same phase)."""
    den = 10**9 * ticks_per_ns * rate.denominator
    num = rate.numerator
    ks, rems = [], []
    for t in starts.tolist():
        q, r = divmod(int(t) * num, den)
        ks.append(q + (1 if r else 0))
        rems.append(r)
    return ks, rems


def window_samples(seq: Sequence, rate_hz: Any, window: Window | None) -> tuple[int, int]:
    """The sequence samples ``[ks, ke)`` at ``rate_hz`` that a window covers (the whole sequence when
    ``window`` is None): ``ks`` is the first sample at or after its start, ``ke`` the first at or after
    its end (exact integer arithmetic on the sequence's nanosecond time base)."""
    rate = _fraction(rate_hz, "rate")
    dur_ns = seq.duration_ns
    win = window.clamp(dur_ns) if window is not None else Window(Fraction(0), Fraction(dur_ns), "")
    ks = math.ceil(win.start_ns * rate / 10**9)
    ke = math.ceil(win.end_ns * rate / 10**9)
    if ke <= ks:
        raise RangeError(f"the window {win.text} holds no sample at {float(rate):g} S/s")
    return ks, ke


def make_instrument_plan(
    seq: Sequence,
    *,
    instrument: str,
    rate_hz: Any,
    outputs: tuple[str, ...],
    to_volts: Callable[[str, np.ndarray], np.ndarray],
    lead_samples: int,
    tail_samples: int,
    window: Window | None = None,
    sequencer: SequencerLimits | None = None,
    max_points: int | None = None,
    streams: bool = False,
    cache_bytes: int = DEFAULT_CACHE_BYTES,
) -> InstrumentPlan:
    """Plan one instrument (see the module docstring).

    Parameters
    ----------
    outputs
        Output names on this instrument (``gx gy gz rf_i rf_q adc trigger``).
    to_volts
        ``to_volts(output, physical samples) -> volts`` (the channel map).
    lead_samples, tail_samples
        Zeros before and after.
    sequencer
        The instrument's sequencer limits, or ``None`` when it has none.
    max_points
        The longest single waveform the instrument holds (points per channel), or ``None`` (no limit).
    streams
        The instrument can be fed as it plays (a DAQ board).
    """
    from wavegen.sequence.render import Renderer

    rate = _fraction(rate_hz, "rate")
    if rate <= 0:
        raise RangeError(f"{instrument}: rate {rate_hz!r} Hz must be > 0")
    want: list[str] = []
    for o in outputs:
        src = "rf" if o in ("rf_i", "rf_q") else o
        if src not in want:
            want.append(src)
    # rendering is by block ranges (a renderer's tables cover only the blocks of what it renders), so
    # planning and re-rendering hold memory for a segment, not for the whole sequence
    n_blocks = len(seq)
    vertex_cache: dict[Any, Any] = {}

    def render_seq(lo: int, hi: int) -> dict[str, np.ndarray]:
        """Sequence samples [lo, hi) of the wanted channels."""
        b0, b1 = _blocks_of_samples(seq, rate, lo, hi)
        b1 = max(b0 + 1, b1)
        r = Renderer(seq, rate, tuple(want), blocks=(b0, min(b1, n_blocks)), vertex_cache=vertex_cache)
        return r.render(lo, hi)
    # the program: [lead zeros] + sequence samples [ks, ke) + [tail zeros]
    ks, ke = window_samples(seq, rate, window)
    n_total = lead_samples + (ke - ks) + tail_samples

    def render(k0: int, k1: int) -> dict[str, np.ndarray]:
        """Program samples [k0, k1) (program index: lead first) as volts per output."""
        phys: dict[str, np.ndarray] = {}
        n = k1 - k0
        s0, s1 = k0 - lead_samples + ks, k1 - lead_samples + ks  # sequence sample indices
        lo, hi = max(s0, ks), min(s1, ke)
        rendered = render_seq(lo, hi) if hi > lo else {}
        for o in outputs:
            src = "rf" if o in ("rf_i", "rf_q") else o
            digital = src in ("adc", "trigger")
            buf = np.zeros(n, dtype=bool if digital else np.float64)
            if hi > lo:
                x = rendered[src]
                x = x.real if o == "rf_i" else x.imag if o == "rf_q" else x
                buf[lo - s0 : hi - s0] = x
            phys[o] = buf
        return {o: np.ascontiguousarray(to_volts(o, x), dtype=np.float64) for o, x in phys.items()}

    mode, reason = _choose_mode(instrument, n_total, rate, sequencer, max_points, streams)
    pieces = _piece_ranges(seq, rate, want, ks, ke, lead_samples, tail_samples)
    if mode == "waveform":
        places: list[tuple[int, int]] = [(0, n_total)]
        table = PlayOrder([0], [1])
    elif mode == "stream":
        places, table = _classes_by_range(pieces, n_total)
    else:
        assert sequencer is not None
        # the sequencer's table must fit its limits (checked on the whole table): pieces in one list
        rows: list[tuple[Any, int, int]] = []
        pos = 0
        for keys, lengths in pieces:
            ends = (pos + np.cumsum(lengths)).tolist()
            rows += zip(zip(*(c.tolist() for c in keys), strict=True), [pos, *ends[:-1]], ends, strict=True)
            pos = ends[-1] if ends else pos
        assert pos == n_total
        merged = _coalesce(rows, sequencer, n_total)
        del rows
        keys_m = {k: i for i, k in enumerate(dict.fromkeys(k for k, _, _ in merged))}
        ids_arr = np.array([keys_m[k] for k, _, _ in merged], dtype=np.int64)
        first_of: dict[int, tuple[int, int]] = {}
        for i, (_, a, b) in zip(ids_arr.tolist(), merged, strict=True):
            first_of.setdefault(i, (a, b))
        places = [first_of[i] for i in range(len(keys_m))]
        table = _run_length_array(ids_arr)
    # distinct segments in order of first appearance, each rendered once
    segments: list[PlanSegment] = []
    kept = 0
    for p0, p1 in places:
        volts = render(p0, p1)
        for v in volts.values():
            v.flags.writeable = False
        digests = {o: samples_digest(v) for o, v in volts.items()}
        nbytes = sum(v.nbytes for v in volts.values())
        keep = kept + nbytes <= cache_bytes
        kept += nbytes if keep else 0
        segments.append(PlanSegment(p1 - p0, digests, volts if keep else None, (p0, p1)))
    if mode == "sequence":
        assert sequencer is not None
        segs, steps = _fit_sequencer(
            instrument, segments, list(table), ids_arr.tolist(), sequencer, render, cache_bytes
        )
        segments, table = segs, PlayOrder.of(steps)
    t0 = Fraction(ks - lead_samples) / rate
    return InstrumentPlan(instrument, rate, tuple(outputs), mode, reason, tuple(segments), table, t0, render)


def _choose_mode(
    instrument: str, n: int, rate: Fraction, sequencer: SequencerLimits | None, max_points: int | None, streams: bool
) -> tuple[str, str]:
    if streams:
        return "stream", "fed as it plays (continuous, non-regenerating output)"
    if max_points is None or n <= max_points:
        return "waveform", f"{n:,} points fit in one waveform" + (f" (<= {max_points:,})" if max_points else "")
    if sequencer is not None:
        return "sequence", f"{n:,} points exceed one waveform ({max_points:,}); the sequencer plays segments"
    longest = max_points / float(rate)
    raise ConfigError(
        f"{instrument}: {n:,} points at {float(rate):g} S/s ({n / float(rate):.6g} s) do not fit its "
        f"{max_points:,}-point memory and it cannot sequence; the longest it holds at this rate is "
        f"{longest:.6g} s: play a window (--window / --blocks), lower the rate, or use an instrument that "
        "sequences or streams"
    )


def _coalesce(placed: list[tuple[Any, int, int]], lim: SequencerLimits, n_total: int) -> list[tuple[Any, int, int]]:
    """Merge neighbouring pieces until each is at least ``min_points`` long and a multiple of the granularity."""
    out: list[tuple[Any, int, int]] = []
    keys: list[Any] = []
    start = None
    for key, p0, p1 in placed:
        if start is None:
            start, keys = p0, []
        keys.append(key)
        n = p1 - start
        if n >= lim.min_points and n % lim.granularity == 0:
            out.append((tuple(keys) if len(keys) > 1 else keys[0], start, p1))
            start = None
    if start is not None:  # a short remainder joins the last segment
        if out:
            k_prev, s_prev, _ = out.pop()
            out.append(((k_prev, *keys), s_prev, n_total))
        else:
            out.append((tuple(keys), start, n_total))
    return out


def _run_length_array(ids: np.ndarray) -> PlayOrder:
    """(id, count) of each run of equal neighbours."""
    if ids.size == 0:
        return PlayOrder([], [])
    starts = np.flatnonzero(np.concatenate([[True], ids[1:] != ids[:-1]]))
    counts = np.diff(np.concatenate([starts, [ids.size]]))
    return PlayOrder(ids[starts], counts)


#: Blocks keyed at once when a plan is made (its temporaries are of a range, whatever the length).
PLAN_BLOCKS = 1 << 14


def _piece_ranges(
    seq: Sequence, rate: Fraction, want: list[str], ks: int, ke: int, lead: int, tail: int,
) -> Iterator[tuple[list[np.ndarray], np.ndarray]]:
    """The program split at block boundaries, by ranges of :data:`PLAN_BLOCKS` blocks: per range a key
    row per piece (equal rows render to equal samples), as one int64 array per column, and each piece's
    length in samples. Neighbouring silences (blocks with no event on these channels, the lead, the tail)
    become one piece keyed by its length alone, across ranges too (a silence that ends a range is carried
    into the next).

    Key row: duration (ticks), start phase on the sample grid (exact remainder), offset into the block (a
    window's first piece), length (samples), then the event ids of the channels' table columns; a silence
    is ``-1, 0, 0, length, 0, ...``.
    """
    coded = seq.coded_table
    n = len(coded)
    den = 10**9 * seq.ticks_per_ns * rate.denominator
    num = rate.numerator
    cols = sorted({c for o in want for c in _COLUMNS[o]})
    width = 4 + len(cols)
    b_lo, b_hi = _blocks_of_samples(seq, rate, ks, ke)
    carry = lead  # a silence waiting for the next piece
    ranges = list(range(b_lo, b_hi, PLAN_BLOCKS)) or [b_lo]
    for j, a in enumerate(ranges):
        last = j == len(ranges) - 1
        b = min(b_hi, a + PLAN_BLOCKS)
        st = coded.starts(a, b)
        if st.size and int(st[-1]) * num < (1 << 62):
            q, r = np.divmod(st * num, den)
            phase = r
            bk = q + (r != 0)  # first sample at or after each block start
        else:  # beyond int64 (or no block): exact Python integers
            qr = [divmod(int(t) * num, den) for t in st.tolist()]
            bk = np.array([x + (1 if y else 0) for x, y in qr], dtype=np.int64)
            phase = np.array([y % (1 << 62) for _, y in qr], dtype=np.int64)
        end = ke if b >= n else -((-coded.start(b) * num) // den)
        nxt = np.append(bk[1:], max(end, int(bk[-1]))).astype(np.int64) if bk.size else bk
        s0, s1 = np.maximum(bk, ks), np.minimum(nxt, ke)
        idx = np.flatnonzero(s1 > s0)
        at = 1 if carry else 0
        m = at + idx.size + (1 if last and tail else 0)
        keys = np.zeros((width, m), dtype=np.int64)
        silent = np.ones(m, dtype=bool)
        body = slice(at, at + idx.size)
        for i, c in enumerate(cols):
            v = coded.column(c, a, b)[idx]
            keys[4 + i, body] = v
            silent[body] &= v == 0
        keys[0, body] = coded.column(0, a, b)[idx]
        keys[1, body] = phase[idx]
        keys[2, body] = (s0 - bk)[idx]
        keys[3, body] = (s1 - s0)[idx]
        if carry:
            keys[3, 0] = carry
        if last and tail:
            keys[3, -1] = tail
        keys[:3, silent] = 0
        keys[0, silent] = -1
        keys[4:, silent] = 0
        # merge runs of silences: a silence after a silence continues its group
        new = np.ones(m, dtype=bool)
        new[1:] = ~(silent[1:] & silent[:-1])
        first = np.flatnonzero(new)
        if first.size < m:
            lengths = np.add.reduceat(keys[3], first)
            keys = keys[:, first]
            keys[3] = lengths
            silent = silent[first]
        carry = 0
        if not last and keys.shape[1] and silent[-1]:
            carry = int(keys[3, -1])
            keys = keys[:, :-1]
        if keys.shape[1]:
            yield list(keys), keys[3].copy()


def _blocks_of_samples(seq: Sequence, rate: Fraction, lo: int, hi: int) -> tuple[int, int]:
    """The blocks ``[b0, b1)`` that hold samples ``[lo, hi)`` at ``rate``: from the one playing at sample
    ``lo`` (the last whose first sample, ``ceil(start * rate)``, is <= lo) to the last whose first sample
    is < hi (exact integers: a block start ``s`` has its first sample <= k exactly when s <= floor(k / rate))."""
    coded = seq.coded_table
    den = 10**9 * seq.ticks_per_ns * rate.denominator
    num = rate.numerator
    b0 = max(0, coded.search(lo * den // num) - 1)
    return b0, max(b0, min(len(coded), coded.search((hi - 1) * den // num)))


def _classes_by_range(
    pieces: Iterator[tuple[list[np.ndarray], np.ndarray]], n_total: int
) -> tuple[list[tuple[int, int]], PlayOrder]:
    """Distinct pieces in order of first appearance (where each first plays: program samples (p0, p1))
    and the play order, made range by range: memory of a range and of the order, not of every piece."""
    d: RowDictionary | None = None
    places: list[tuple[int, int]] = []
    idx_parts: list[np.ndarray] = []
    rep_parts: list[np.ndarray] = []
    pos = 0
    for keys, lengths in pieces:
        if d is None:
            d = RowDictionary(len(keys))
        g = d.add(np.stack(keys))
        ends = pos + np.cumsum(lengths)
        for i in d.new_first.tolist():
            places.append((int(ends[i] - lengths[i]), int(ends[i])))
        pos = int(ends[-1])
        # run lengths of this range, joined to the last run of the one before when it continues it
        cut = np.flatnonzero(np.concatenate([[True], g[1:] != g[:-1]]))
        ids, counts = g[cut], np.diff(np.append(cut, g.size))
        if idx_parts and int(idx_parts[-1][-1]) == int(ids[0]):
            rep_parts[-1] = rep_parts[-1].copy()
            rep_parts[-1][-1] += counts[0]
            ids, counts = ids[1:], counts[1:]
        if ids.size:
            idx_parts.append(ids.astype(np.uint32))
            rep_parts.append(counts.astype(np.int64))
    assert pos == n_total, (pos, n_total)
    if not idx_parts:
        return places, PlayOrder([], [])
    return places, PlayOrder(np.concatenate(idx_parts), np.concatenate(rep_parts))


def _run_length(ids: list[int]) -> list[tuple[int, int]]:
    table: list[tuple[int, int]] = []
    for i in ids:
        if table and table[-1][0] == i:
            table[-1] = (i, table[-1][1] + 1)
        else:
            table.append((i, 1))
    return table


def _period(ids: list[int]) -> int:
    """The smallest p with ids[i] == ids[i + p] for all i (KMP prefix function)."""
    m = len(ids)
    pi = [0] * m
    for i in range(1, m):
        j = pi[i - 1]
        while j and ids[i] != ids[j]:
            j = pi[j - 1]
        if ids[i] == ids[j]:
            j += 1
        pi[i] = j
    return m - pi[-1] if m else 0


def _fit_sequencer(
    instrument: str,
    segments: list[PlanSegment],
    table: list[tuple[int, int]],
    ids: list[int],
    lim: SequencerLimits,
    render: Callable[[int, int], dict[str, np.ndarray]],
    cache_bytes: int,
) -> tuple[list[PlanSegment], list[tuple[int, int]]]:
    """Make the table fit the sequencer: split repeat counts over its maximum, and when there are too
    many steps, fold a periodic middle (after a lead, before a tail) into one super-segment."""

    def split(tab: list[tuple[int, int]]) -> list[tuple[int, int]]:
        out = []
        for i, r in tab:
            while r > lim.max_repeats:
                out.append((i, lim.max_repeats))
                r -= lim.max_repeats
            out.append((i, r))
        return out

    def fits(segs: list[PlanSegment], tab: list[tuple[int, int]]) -> str:
        if len(tab) > lim.max_steps:
            return f"{len(tab):,} sequence steps > {lim.max_steps:,}"
        if len(segs) > lim.max_segments:
            return f"{len(segs):,} distinct segments > {lim.max_segments:,}"
        pts = sum(s.n_samples for s in segs)
        if pts > lim.memory_points:
            return f"{pts:,} points of distinct segments > {lim.memory_points:,} of memory"
        return ""

    tab = split(table)
    why = fits(segments, tab)
    if not why:
        return segments, tab
    # fold: the first and last pieces (lead, tail) + a periodic body of p pieces repeated, + a remainder
    if len(ids) < 4:
        raise ConfigError(
            f"{instrument}: the sequence does not fit its sequencer ({why}); play a window (--window / --blocks) "
            "or use an instrument that streams"
        )
    lo, hi = 1, len(ids) - 1
    body = ids[lo:hi]
    p = _period(body)
    pos = [0]  # program position of each placed piece
    for i in ids:
        pos.append(pos[-1] + segments[i].n_samples)

    def piece(a: int, b: int) -> PlanSegment:
        """One segment made of placed pieces a..b-1 (rendered again, digested, kept if small)."""
        volts = render(pos[a], pos[b])
        for v in volts.values():
            v.flags.writeable = False
        keep = sum(v.nbytes for v in volts.values()) <= cache_bytes
        return PlanSegment(pos[b] - pos[a], {o: samples_digest(v) for o, v in volts.items()},
                           volts if keep else None, (pos[a], pos[b]))

    if body and p < len(body):
        reps, rest = divmod(len(body), p)
        first, last = segments[ids[0]], segments[ids[-1]]
        tries: list[tuple[list[PlanSegment], list[tuple[int, int]]]] = []
        if rest == 0:
            tries.append(([first, piece(lo, lo + p), last], [(0, 1), (1, reps), (2, 1)]))
        else:
            # the period once, then its first `rest` pieces: 4 steps, memory p + rest pieces
            tries.append((
                [first, piece(lo, lo + p), piece(lo, lo + rest), last], [(0, 1), (1, reps), (2, 1), (3, 1)]
            ))
            # or the period as two segments A (its first `rest` pieces) and B (the others), alternating:
            # 2 reps + 3 steps, memory p pieces
            a_seg, b_seg = piece(lo, lo + rest), piece(lo + rest, lo + p)
            tab = [(0, 1)] + [(k, 1) for _ in range(reps) for k in (1, 2)] + [(1, 1), (3, 1)]
            tries.append(([first, a_seg, b_seg, last], tab))
        for new_segs, new_tab in tries:
            new_tab = split(new_tab)
            reason = fits(new_segs, new_tab)
            if not reason:
                return new_segs, new_tab
            why = f"{why}; folded on its period of {p} pieces: {reason}"
    raise ConfigError(
        f"{instrument}: the sequence does not fit its sequencer ({why}); play a window (--window / --blocks) "
        "or use an instrument that streams"
    )
