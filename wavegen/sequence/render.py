"""Render a :class:`~wavegen.sequence.Sequence` to per-channel sample streams at any rate, exactly.

Output sample ``k`` is the value at ``t_k = t0 + k / rate`` from the start of the sequence, with the
rate and ``t0`` exact rationals and event times integers on the sequence's time base (nanoseconds, or
ticks of ``1 / ticks_per_ns`` ns when a raster is not a whole ns: a 10001.6276 ns gradient raster played
at 1 MS/s puts its raster centres between the output samples, and the sample times and the interpolation
weights stay exact rationals on that finer grid; see :mod:`wavegen.sequence.timebase`). Which raster interval or
polynomial piece a sample falls in is decided with integer arithmetic, so sample 10**9 is placed as
exactly as sample 0, and any chunk ``[k0, k1)`` is computed from the same formula per sample: a
streamed render is bit-identical to a one-shot render.

What each channel is (Pulseq timing rules, ``doc/pulseq_shapes_and_times.pdf``):

- gradients are piecewise linear: trapezoid corners at their exact times; arbitrary gradient samples at
  the raster centres with ``first``/``last`` at the event edges; extended trapezoids at their time
  shape. A block with a ROTATIONS extension has its three gradients rotated to the physical axes.
  Values in T/m (Hz/m divided by the sequence's gamma). Outside any event the gradient is 0. At a
  jump the later value is taken (right-continuous): every event covers ``[start, end)``.
- RF on the regular raster holds each sample over its raster cell ``[i, i+1) * raster`` (what the RF
  DAC plays); the frequency/phase offset is applied at the sample centre, as pypulseq does. A
  time-shaped RF (block pulse) is linear between its vertices, modulated at the output time. Complex
  B1 in T.
- ``adc`` is True on ``[delay, delay + n * dwell)`` of every ADC event; ``trigger`` is True while a
  digital-output trigger (TRIGGERS kind 1) is on.

The evaluation is vectorised over all events of the sequence (no Python loop per block, except over
blocks with a rotation or a time-shaped RF pulse), with two small C kernels (``native/sequence.c``)
and a NumPy reference that gives the same bits, so an 82 s gradient echo renders at 100 kS/s in a
fraction of a second. Why not the uniform resampler
(:mod:`wavegen.dsp`): a sequence is not uniformly sampled - trapezoid corners, raster centres
and delays sit on different grids (their common grid is typically 1 us, 82 M points for 82 s) - so it
is evaluated directly as the piecewise polynomial it is; the result is the same as resampling that
common grid linearly, without building it.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

from wavegen._backend import NATIVE, ffi, lib
from wavegen.dsp import as_rational
from wavegen.errors import RangeError, SeqFormatError
from wavegen.sequence.events import RFEvent, Rotation, Trigger

if TYPE_CHECKING:
    from wavegen.sequence.sequence import Sequence

__all__ = ["Renderer", "as_fraction", "CHANNELS"]

CHANNELS = ("gx", "gy", "gz", "rf", "adc", "trigger")
_SAFE = 1 << 62
#: Block length of the frequency-modulation tables (must equal WG_MOD_BLOCK in native/sequence.c).
MOD_BLOCK = 1024


def as_fraction(x: Any, name: str, unit: str = "") -> Fraction:
    """An exact rational, read as :func:`wavegen.dsp.as_rational` reads rates (a float by its
    shortest decimal: ``0.1`` is 1/10), so sequences and the resampler agree on every rate."""
    return as_rational(x, name=name, unit=unit)


class _Grid:
    """Output grid t_k = (k*A + C) / D ticks of the time base (ns when ``ticks_per_ns`` is 1), all integers."""

    def __init__(self, rate_hz: Fraction, t0_s: Fraction, ticks_per_ns: int = 1) -> None:
        period_ns = Fraction(10**9 * ticks_per_ns) / rate_hz
        t0_ns = t0_s * (10**9 * ticks_per_ns)
        self.A = period_ns.numerator * t0_ns.denominator
        self.C = t0_ns.numerator * period_ns.denominator
        self.D = period_ns.denominator * t0_ns.denominator
        g = math.gcd(math.gcd(self.A, self.C), self.D)
        self.A //= g
        self.C //= g
        self.D //= g

    def first_k(self, t_ns: np.ndarray) -> np.ndarray:
        """For each time (int ns), the first output index k with t_k >= t (int64; may be negative)."""
        t = np.asarray(t_ns, dtype=np.int64)
        if t.size == 0:
            return t.copy()
        hi = int(max(abs(int(t.max())), abs(int(t.min()))))
        if hi * self.D + abs(self.C) < _SAFE:
            num = t * self.D - self.C
            return -((-num) // self.A)
        A, C, D = self.A, self.C, self.D
        return np.array([-((C - int(v) * D) // A) for v in t.tolist()], dtype=np.int64)

    def offsets(self, k: np.ndarray, t_ns: np.ndarray) -> np.ndarray:
        """(t_k - t) * D: exact int64 when the products fit, else float64."""
        if k.size == 0:
            return np.zeros(0, dtype=np.int64)
        kmax = int(np.max(np.abs(k)))
        tmax = int(np.max(np.abs(t_ns)))
        if kmax * self.A + abs(self.C) < _SAFE and tmax * self.D < _SAFE:
            return k * self.A + self.C - t_ns * self.D
        return k.astype(np.float64) * self.A + self.C - t_ns.astype(np.float64) * self.D


class _PWL:
    """A piecewise-linear channel: vertices (int ns, values) with segments valid only inside an event.

    Segment ``j`` covers output indices ``[c[j], c[j+1])``; its value at ``k`` is
    ``v0[j] + slope[j] * ((k*A - tdc[j]) / den[j])`` (``tdc = t*D - C``), evaluated by the C kernel
    ``wg_seq_pwl_eval`` when available, else by the same arithmetic in NumPy.
    """

    def __init__(self, grid: _Grid, t: np.ndarray, v: np.ndarray, occ: np.ndarray) -> None:
        self.grid = grid
        self.t = t
        #: Vertex values and the event (block) of each vertex, for exact checks of the waveform.
        self.v = v
        self.vertex_event = occ
        self.c = grid.first_k(t)
        n = t.size
        if n >= 2:
            valid = occ[1:] == occ[:-1]
            self.v0 = np.ascontiguousarray(np.where(valid, v[:-1], 0))
            self.slope_num = np.ascontiguousarray(np.where(valid, v[1:] - v[:-1], 0))
            dt = (t[1:] - t[:-1]).astype(np.float64) * grid.D
            self.den = np.where(dt > 0, dt, 1.0)
            self.occ = occ[:-1]
        else:
            self.v0 = np.zeros(0, dtype=v.dtype)
            self.slope_num = self.v0
            self.den = np.zeros(0)
            self.occ = np.zeros(0, dtype=np.int64)
        tmax = int(np.max(np.abs(t))) if n else 0
        self._tdc: np.ndarray | None = None
        if tmax * grid.D + abs(grid.C) < _SAFE:
            self._tdc = t * grid.D - grid.C

    def _window(self, k0: int, k1: int) -> tuple[int, int]:
        c = self.c
        jlo = max(int(np.searchsorted(c, k0, side="right")) - 1, 0)
        jhi = min(int(np.searchsorted(c, k1, side="left")), c.size - 1)
        return jlo, jhi

    def eval(self, k0: int, k1: int, out: np.ndarray) -> None:
        """Write the values for k in [k0, k1) into ``out`` (len k1-k0, zero-filled)."""
        if self.c.size < 2:
            return
        jlo, jhi = self._window(k0, k1)
        if jhi <= jlo:
            return
        if (
            NATIVE
            and self._tdc is not None
            and out.dtype == np.float64
            and self.v0.dtype == np.float64
            and max(abs(k0), abs(k1)) * self.grid.A < _SAFE
        ):
            lib.wg_seq_pwl_eval(
                ffi.from_buffer("int64_t[]", self.c),
                ffi.from_buffer("int64_t[]", self._tdc),
                ffi.from_buffer("double[]", self.v0),
                ffi.from_buffer("double[]", self.slope_num),
                ffi.from_buffer("double[]", self.den),
                jlo,
                jhi,
                self.grid.A,
                k0,
                k1,
                ffi.from_buffer("double[]", out),
            )
            return
        self.eval_numpy(k0, k1, out)

    def eval_numpy(self, k0: int, k1: int, out: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
        """NumPy reference of :meth:`eval`; also returns (offset in out, segment of each sample, k)."""
        empty = (0, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
        if self.c.size < 2:
            return empty
        jlo, jhi = self._window(k0, k1)
        if jhi <= jlo:
            return empty
        c = self.c
        s = np.clip(c[jlo:jhi], k0, k1)
        e = np.clip(c[jlo + 1 : jhi + 1], k0, k1)
        counts = e - s
        total = int(counts.sum())
        if total == 0:
            return empty
        seg = np.repeat(np.arange(jlo, jhi, dtype=np.int64), counts)
        kstart = int(s[0])
        k = np.arange(kstart, kstart + total, dtype=np.int64)
        frac = self.grid.offsets(k, self.t[seg]) / self.den[seg]
        vals = self.v0[seg] + self.slope_num[seg] * frac
        out[kstart - k0 : kstart - k0 + total] = vals
        return kstart - k0, seg, k


class _Gates:
    """Half-open sample ranges [s, e) in output indices (sorted, non-overlapping per channel)."""

    def __init__(self, s: np.ndarray, e: np.ndarray) -> None:
        order = np.argsort(s, kind="stable")
        self.s = s[order]
        self.e = e[order]
        self.order = order

    def window(self, k0: int, k1: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Ranges overlapping [k0, k1), clipped, and their indices (into the sorted order)."""
        # ranges do not overlap, so sorting by start also sorts the ends
        hi = int(np.searchsorted(self.s, k1, side="left"))
        lo = min(int(np.searchsorted(self.e, k0, side="right")), hi)
        idx = np.arange(lo, hi)
        s = np.clip(self.s[idx], k0, k1)
        e = np.clip(self.e[idx], k0, k1)
        keep = e > s
        return s[keep], e[keep], idx[keep]


class Renderer:
    """Precomputed event tables of one sequence for rendering any window ``[k0, k1)``.

    Memory grows with the number of events (vertices), not with the number of output samples.
    """

    def __init__(
        self,
        seq: Sequence,
        rate_hz: Any,
        channels: tuple[str, ...] = ("gx", "gy", "gz", "rf", "adc"),
        *,
        t0_s: Any = 0,
        b0_t: float | None = None,
        blocks: tuple[int, int] | None = None,
        block_starts_ns: np.ndarray | None = None,  # in ticks of the time base (ns unless ticks_per_ns > 1)
        vertex_cache: dict[Any, Any] | None = None,
    ) -> None:
        rate = as_fraction(rate_hz, "rate_hz", "Hz")
        if rate <= 0:
            raise RangeError(f"rate_hz = {rate_hz!r} Hz must be > 0 Hz")
        t0 = as_fraction(t0_s, "t0_s", "s")
        if isinstance(channels, str):
            channels = (channels,)
        bad = [c for c in channels if c not in CHANNELS]
        if bad:
            raise RangeError(f"unknown channel(s) {bad}; known: {', '.join(CHANNELS)}")
        if len(set(channels)) != len(channels):
            raise RangeError(f"channels repeat: {channels}")
        self.seq = seq
        self._vcache = vertex_cache
        self.channels = tuple(channels)
        #: Ticks per ns of the sequence's time base (every time below is in these ticks).
        self.tpn = tpn = seq.ticks_per_ns
        self.grid = _Grid(rate, t0, tpn)
        dur = seq.duration_ticks
        # samples with t_k < duration
        self.n_total = max(0, int(self.grid.first_k(np.array([dur], dtype=np.int64))[0]))
        self.gamma = seq.gamma_hz_per_t
        self.b0_t = b0_t if b0_t is not None else seq.b0_t
        # the table and starts of the blocks rendered, taken from the sequence's coded table by range (a
        # renderer of a few blocks of a long sequence holds those blocks, not the whole table)
        coded = seq._blocks
        n_blocks = len(coded)
        b0, b1 = (0, n_blocks) if blocks is None else (int(blocks[0]), int(blocks[1]))
        if not 0 <= b0 <= b1 <= n_blocks:
            raise RangeError(f"blocks = {blocks!r} is not a range of the sequence's {n_blocks} blocks")
        #: First block of this renderer (block numbers in messages are counted from the sequence start).
        self.b0 = b0
        self._tab = seq._table if blocks is None else coded.columns(b0, b1)
        if block_starts_ns is not None:
            self._starts = np.asarray(block_starts_ns[b0:b1], dtype=np.int64)
        else:
            self._starts = coded.starts(b0, b1)
        self._durs = self._tab[0]
        self._ext = self._tab[6]
        #: Output index range covered by the blocks: samples outside it are outside every event here.
        self.k_range = (0, self.n_total)
        if blocks is not None:
            edges = np.array([coded.start(b0), coded.start(b1)], dtype=np.int64)
            ke = self.grid.first_k(edges)
            self.k_range = (max(0, int(ke[0])), min(self.n_total, int(ke[1])))
        self._rot_blocks = self._rotated_blocks()
        self._grad: dict[str, _PWL] = {}
        if any(c in ("gx", "gy", "gz") for c in channels):
            self._build_gradients()
        if "rf" in channels:
            self._build_rf()
        if "adc" in channels:
            self._build_adc()
        if "trigger" in channels:
            self._build_trigger()

    def _ns(self, ticks: int) -> str:
        """A time on the time base as text in ns."""
        return f"{ticks} ns" if self.tpn == 1 else f"{ticks / self.tpn:.10g} ns"

    # --- gradients --------------------------------------------------------------------------------

    def _rotated_blocks(self) -> dict[int, Rotation]:
        out: dict[int, Rotation] = {}
        lib = self.seq._ext.by_id
        rot_ids = {k for k, v in lib.items() if any(isinstance(e, Rotation) for e in v)}
        if not rot_ids:
            return out
        for b in np.flatnonzero(np.isin(self._ext, list(rot_ids))).tolist():
            r = next(e for e in lib[int(self._ext[b])] if isinstance(e, Rotation))
            out[b] = r
        return out

    def _event_table(
        self, ids: np.ndarray, lib: dict[int, Any], vert: Any, vert_key: str | None = None
    ) -> tuple[Any, ...]:
        """Flatten per-event vertex lists for the distinct ids used; returns lookup arrays."""
        uniq, inv = np.unique(ids, return_inverse=True)
        ts, vs, cnt, ends = [], [], [], []
        cache = self._vcache if vert_key is not None else None
        for i in uniq.tolist():
            got = cache.get((vert_key, i)) if cache is not None else None
            if got is None:
                got = vert(lib[i])
                if cache is not None:
                    cache[(vert_key, i)] = got
            t, v = got
            ts.append(t)
            vs.append(v)
            cnt.append(t.size)
            ends.append(int(t[-1]) if t.size else 0)
        cnt_a = np.array(cnt, dtype=np.int64)
        off = np.zeros(cnt_a.size, dtype=np.int64)
        np.cumsum(cnt_a[:-1], out=off[1:])
        lib_t = np.concatenate(ts) if ts else np.zeros(0, dtype=np.int64)
        lib_v = np.concatenate(vs) if vs else np.zeros(0)
        return inv, lib_t, lib_v, off, cnt_a, np.array(ends, dtype=np.int64)

    def _gather(
        self, blocks: np.ndarray, ids: np.ndarray, lib: dict[int, Any], vert: Any, what: str,
        vert_key: str | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if blocks.size == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0, dtype=np.int64)
        inv, lib_t, lib_v, off, cnt, ends = self._event_table(ids, lib, vert, vert_key)
        over = ends[inv] > self._durs[blocks]
        if np.any(over):
            b = int(blocks[np.flatnonzero(over)[0]])
            raise SeqFormatError(
                f"block {self.b0 + b + 1}: {what} event ends at {self._ns(int(ends[inv][np.flatnonzero(over)[0]]))}, "
                f"after the block duration {self._ns(int(self._durs[b]))}"
            )
        n = cnt[inv]
        total = int(n.sum())
        first = np.zeros(n.size, dtype=np.int64)
        np.cumsum(n[:-1], out=first[1:])
        pos = np.repeat(off[inv] - first, n) + np.arange(total, dtype=np.int64)
        rep = np.repeat(blocks, n)
        return lib_t[pos] + self._starts[rep], lib_v[pos], rep

    def _build_gradients(self) -> None:
        seq = self.seq
        tab = self._tab
        graster = seq.grad_raster_ticks
        tpn = self.tpn
        lib = seq._grad.by_id

        def vert(ev: Any) -> tuple[np.ndarray, np.ndarray]:
            return ev.vertices(graster, tpn)

        rot = self._rot_blocks
        rot_idx = np.array(sorted(rot), dtype=np.int64)
        parts: dict[str, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {}
        for ch, row in (("gx", 2), ("gy", 3), ("gz", 4)):
            ids = tab[row]
            mask = ids > 0
            if rot_idx.size:
                mask[rot_idx] = False
            blocks = np.flatnonzero(mask)
            parts[ch] = [self._gather(blocks, ids[blocks], lib, vert, ch, "grad")]
        if rot:
            extra = self._rotated_vertices(rot, lib, graster)
            for ch in ("gx", "gy", "gz"):
                parts[ch].append(extra[ch])
        for ch in ("gx", "gy", "gz"):
            if ch not in self.channels:
                continue
            t = np.concatenate([p[0] for p in parts[ch]])
            v = np.concatenate([p[1] for p in parts[ch]])
            occ = np.concatenate([p[2] for p in parts[ch]])
            if len(parts[ch]) > 1:
                order = np.argsort(occ, kind="stable")
                t, v, occ = t[order], v[order], occ[order]
            self._grad[ch] = _PWL(self.grid, t, v / self.gamma, occ)

    def _rotated_vertices(
        self, rot: dict[int, Rotation], lib: dict[int, Any], graster: int
    ) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        tab = self._tab
        acc: dict[str, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {"gx": [], "gy": [], "gz": []}
        for b, r in rot.items():
            evs = [lib[int(tab[row, b])] if tab[row, b] else None for row in (2, 3, 4)]
            verts = [e.vertices(graster, self.tpn) if e is not None else None for e in evs]
            for e, vt in zip(evs, verts, strict=True):
                if e is not None and vt is not None and int(vt[0][-1]) > int(self._durs[b]):
                    raise SeqFormatError(f"block {self.b0 + b + 1}: gradient event ends after the block duration")
            times = [vt[0] for vt in verts if vt is not None]
            if not times:
                continue
            u = np.unique(np.concatenate(times))
            logical = np.zeros((3, u.size))
            for i, vt in enumerate(verts):
                if vt is not None:
                    logical[i] = np.interp(u, vt[0].astype(np.float64), vt[1], left=0.0, right=0.0)
            phys = r.matrix() @ logical
            occ = np.full(u.size, b, dtype=np.int64)
            for i, ch in enumerate(("gx", "gy", "gz")):
                acc[ch].append((u + self._starts[b], phys[i], occ))
        out = {}
        for ch, lst in acc.items():
            if lst:
                out[ch] = (
                    np.concatenate([x[0] for x in lst]),
                    np.concatenate([x[1] for x in lst]),
                    np.concatenate([x[2] for x in lst]),
                )
            else:
                out[ch] = (np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0, dtype=np.int64))
        return out

    # --- RF -----------------------------------------------------------------------------------------

    def _offsets(self, ev: RFEvent) -> tuple[float, float]:
        f, p = ev.freq_offset_hz, ev.phase_offset_rad
        if ev.freq_ppm or ev.phase_ppm:
            if self.b0_t is None:
                raise RangeError(
                    "RF event has a ppm frequency/phase offset; rendering it needs b0_t (T): pass b0_t= "
                    "or define B0 in the sequence"
                )
            mhz = 1e-6 * self.seq.gamma_hz_per_t * self.b0_t
            f += ev.freq_ppm * mhz
            p += ev.phase_ppm * mhz
        return f, p

    def _build_rf(self) -> None:
        seq = self.seq
        tab = self._tab
        lib = seq._rf.by_id
        rr = seq.rf_raster_ticks
        tpn = self.tpn
        ids = tab[1]
        blocks = np.flatnonzero(ids > 0)
        regular = {k for k, v in lib.items() if v.time_shape is None}
        is_reg = np.isin(ids[blocks], list(regular)) if regular else np.zeros(blocks.size, dtype=bool)
        # regular RF: zero-order hold per raster cell. The samples of each distinct shape (magnitude,
        # phase) are computed once, unscaled and unmodulated; the frequency offset is applied at render
        # time from two small tables per distinct frequency (see _mod_tables and native/sequence.c), and
        # the phase offset (RF spoiling changes it every TR) and the amplitude (a flip-angle or B1 sweep)
        # are one complex factor per occurrence. Memory therefore grows with the distinct shapes, never
        # with the number of pulses or of output samples (a CEST train of 34 two-second pulses at 34
        # frequencies holds one shape, not 34 modulated copies).
        rb = blocks[is_reg]
        self._rf_gates: _Gates | None = None
        if rb.size:
            rid = ids[rb]
            uniq, inv = np.unique(rid, return_inverse=True)
            sigs: list[np.ndarray] = []
            n: list[int] = []
            delay: list[int] = []
            rot: list[complex] = []
            mods: list[int] = []
            sig_index: dict[tuple[Any, ...], int] = {}
            mod_index: dict[float, int] = {}
            mod_len: list[int] = []
            mod_f: list[float] = []
            lib_of_event = []
            for i in uniq.tolist():
                ev = lib[i]
                fo, po = self._offsets(ev)
                key = (ev.magnitude, ev.phase)
                j = sig_index.get(key)
                if j is None:  # the unit shape mag * exp(2 pi j phase); the amplitude goes into rot
                    ph = ev.phase.samples
                    if np.any(np.abs(ph) > 1.0):  # whole turns do not matter; keep the argument small
                        ph = np.mod(ph, 1.0)
                    sig = ev.magnitude.samples * np.exp(2j * np.pi * ph)
                    j = sig_index[key] = len(sigs)
                    sigs.append(sig)
                    n.append(sig.size)
                m = -1
                if fo != 0:
                    m = mod_index.get(fo, -1)
                    if m < 0:
                        m = mod_index[fo] = len(mod_f)
                        mod_f.append(fo)
                        mod_len.append(0)
                    mod_len[m] = max(mod_len[m], n[j])
                lib_of_event.append(j)
                mods.append(m)
                delay.append(ev.delay_ns * tpn)
                scale = ev.amplitude_hz / self.gamma
                rot.append(complex(scale * math.cos(po), scale * math.sin(po)))
            lib_j = np.array(lib_of_event, dtype=np.int64)
            n_lib = np.array(n, dtype=np.int64)
            off_lib = np.zeros(n_lib.size, dtype=np.int64)
            np.cumsum(n_lib[:-1], out=off_lib[1:])
            n_a = n_lib[lib_j]
            off = off_lib[lib_j]
            self._rf_lib = np.ascontiguousarray(sigs[0] if len(sigs) == 1 else np.concatenate(sigs))
            del sigs
            self._mod_tables(mod_f, mod_len, rr)
            ends_ev = np.array(delay, dtype=np.int64) + n_a * rr
            over = ends_ev[inv] > self._durs[rb]
            if np.any(over):
                b = int(rb[np.flatnonzero(over)[0]])
                raise SeqFormatError(
                    f"block {self.b0 + b + 1}: RF event ends after the block duration {self._ns(int(self._durs[b]))}"
                )
            start = self._starts[rb] + np.array(delay, dtype=np.int64)[inv]
            ks = self.grid.first_k(start)
            ke = self.grid.first_k(start + n_a[inv] * rr)
            self._rf_gates = _Gates(ks, ke)
            o = self._rf_gates.order
            self._rf_start = start[o]
            self._rf_off = np.ascontiguousarray(off[inv][o])
            self._rf_mod = np.ascontiguousarray(np.array(mods, dtype=np.int64)[inv][o])
            self._rf_n = n_a[inv][o]
            self._rf_rot = np.ascontiguousarray(np.array(rot, dtype=np.complex128)[inv][o])
            self._rf_raster = rr
            tmax = int(np.max(np.abs(start))) + int(n_a.max()) * rr
            self._rf_sdc: np.ndarray | None = None
            if tmax * self.grid.D + abs(self.grid.C) < _SAFE:
                self._rf_sdc = np.ascontiguousarray(self._rf_start * self.grid.D - self.grid.C)
        # time-shaped RF: linear between vertices, modulation at the output time
        tb = blocks[~is_reg]
        self._rf_pwl: _PWL | None = None
        if tb.size:
            ts, vs, occ, starts, fs, phs = [], [], [], [], [], []
            for b in tb.tolist():
                ev = lib[int(ids[b])]
                tt = ev.time_shape.samples * rr
                if float(tt[-1]) >= 2.0**53:
                    raise SeqFormatError(f"block {self.b0 + b + 1}: RF time shape ends out of range")
                ti = np.rint(tt)
                if np.any(np.abs(tt - ti) > 1e-6):
                    unit = "ns" if tpn == 1 else f"ticks of 1/{tpn} ns"
                    raise SeqFormatError(f"block {self.b0 + b + 1}: RF time shape times are not whole {unit}")
                s0 = int(self._starts[b]) + ev.delay_ns * tpn
                if ev.duration_ticks(rr, tpn) > int(self._durs[b]):
                    raise SeqFormatError(f"block {self.b0 + b + 1}: RF event ends after the block duration")
                ts.append(ti.astype(np.int64) + s0)
                vs.append(ev.signal_hz / self.gamma)
                occ.append(np.full(ti.size, b, dtype=np.int64))
                fo, po = self._offsets(ev)
                starts.append(s0)
                fs.append(fo)
                phs.append(po)
            self._rf_pwl = _PWL(self.grid, np.concatenate(ts), np.concatenate(vs), np.concatenate(occ))
            self._rf_pwl_blocks = tb
            self._rf_pwl_s0 = np.array(starts, dtype=np.int64)
            self._rf_pwl_f = np.array(fs)
            self._rf_pwl_p = np.array(phs)

    def _mod_tables(self, freqs_hz: list[float], lengths: list[int], rr: int) -> None:
        """Per distinct frequency offset f: ``exp(2 pi j f r raster)`` for ``r < MOD_BLOCK`` and
        ``exp(2 pi j f (q MOD_BLOCK + 1/2) raster)`` for every block ``q`` of the longest pulse using it;
        sample ``i = q MOD_BLOCK + r`` is modulated by their product (phase at the sample centre)."""
        dt_s = rr * 1e-9 if self.tpn == 1 else float(Fraction(rr, self.tpn * 10**9))
        r = np.arange(MOD_BLOCK) * dt_s
        et, pt = [], []
        e_off, p_off = [], []
        ne = npt = 0
        for f, n in zip(freqs_hz, lengths, strict=True):
            nq = -(-n // MOD_BLOCK)
            e_off.append(ne)
            p_off.append(npt)
            et.append(np.exp(2j * np.pi * f * r))
            pt.append(np.exp(2j * np.pi * f * ((np.arange(nq) * MOD_BLOCK + 0.5) * dt_s)))
            ne += MOD_BLOCK
            npt += nq
        z = np.zeros(1, dtype=np.complex128)
        self._mod_e = np.ascontiguousarray(np.concatenate(et)) if et else z
        self._mod_p = np.ascontiguousarray(np.concatenate(pt)) if pt else z
        self._mod_eofs = np.array(e_off or [0], dtype=np.int64)
        self._mod_pofs = np.array(p_off or [0], dtype=np.int64)

    def _render_rf(self, k0: int, k1: int) -> np.ndarray:
        out = np.zeros(k1 - k0, dtype=np.complex128)
        g = self._rf_gates
        if g is not None:
            hi = int(np.searchsorted(g.s, k1, side="left"))
            lo = min(int(np.searchsorted(g.e, k0, side="right")), hi)
            cell = self._rf_raster * self.grid.D
            if NATIVE and hi > lo and self._rf_sdc is not None and max(abs(k0), abs(k1)) * self.grid.A < _SAFE:
                lib.wg_seq_zoh_eval(
                    ffi.from_buffer("int64_t[]", g.s),
                    ffi.from_buffer("int64_t[]", g.e),
                    ffi.from_buffer("int64_t[]", self._rf_sdc),
                    ffi.from_buffer("int64_t[]", self._rf_off),
                    ffi.from_buffer("int64_t[]", self._rf_mod),
                    lo,
                    hi,
                    self.grid.A,
                    cell,
                    ffi.from_buffer("double[]", self._rf_lib.view(np.float64)),
                    ffi.from_buffer("double[]", self._rf_rot.view(np.float64)),
                    ffi.from_buffer("double[]", self._mod_e.view(np.float64)),
                    ffi.from_buffer("double[]", self._mod_p.view(np.float64)),
                    ffi.from_buffer("int64_t[]", self._mod_eofs),
                    ffi.from_buffer("int64_t[]", self._mod_pofs),
                    k0,
                    k1,
                    ffi.from_buffer("double[]", out.view(np.float64)),
                )
            elif hi > lo:
                self._zoh_numpy(k0, k1, out)
        p = self._rf_pwl
        if p is not None:
            tmp = np.zeros(k1 - k0, dtype=np.complex128)
            at, seg, k = p.eval_numpy(k0, k1, tmp)
            if seg.size:
                j = np.searchsorted(self._rf_pwl_blocks, p.occ[seg])
                s0, fo, po = self._rf_pwl_s0[j], self._rf_pwl_f[j], self._rf_pwl_p[j]
                if np.any(fo != 0) or np.any(po != 0):
                    dt_s = self.grid.offsets(k, s0) / (self.grid.D * self.tpn) * 1e-9
                    tmp[at : at + k.size] *= np.exp(1j * (po + 2 * np.pi * fo * dt_s))
            out += tmp
        return out

    def _zoh_numpy(self, k0: int, k1: int, out: np.ndarray) -> None:
        """NumPy reference of the regular-RF zero-order hold (same integers, same copies as the C kernel)."""
        g = self._rf_gates
        assert g is not None
        s, e, idx = g.window(k0, k1)
        if s.size == 0:
            return
        n = e - s
        total = int(n.sum())
        first = np.zeros(n.size, dtype=np.int64)
        np.cumsum(n[:-1], out=first[1:])
        k = np.repeat(s - first, n) + np.arange(total, dtype=np.int64)
        occ = np.repeat(idx, n)
        num = self.grid.offsets(k, self._rf_start[occ])
        i = (num // (self._rf_raster * self.grid.D)).astype(np.int64)
        if num.dtype != np.int64:  # float path (huge times): keep inside the pulse
            i = np.clip(i, 0, self._rf_n[occ] - 1)
        v = self._rf_lib[self._rf_off[occ] + i]
        a, b = v.real, v.imag
        m = self._rf_mod[occ]
        sel = np.flatnonzero(m >= 0)
        if sel.size:  # frequency offset: the same two table factors and products as the C kernel
            ms, isel = m[sel], i[sel]
            p = self._mod_p[self._mod_pofs[ms] + isel // MOD_BLOCK]
            e = self._mod_e[self._mod_eofs[ms] + isel % MOD_BLOCK]
            mr = p.real * e.real - p.imag * e.imag
            mi = p.real * e.imag + p.imag * e.real
            a, b = a.copy(), b.copy()
            va, vb = a[sel], b[sel]
            a[sel] = va * mr - vb * mi
            b[sel] = va * mi + vb * mr
        r = self._rf_rot[occ]
        c, d = r.real, r.imag
        # written out (not complex *) so that the operations are exactly those of the C kernel
        res = np.empty(v.size, dtype=np.complex128)
        res.real = a * c - b * d
        res.imag = a * d + b * c
        out[k - k0] = res

    # --- ADC and triggers ---------------------------------------------------------------------------

    def _build_adc(self) -> None:
        seq = self.seq
        ids = self._tab[5]
        blocks = np.flatnonzero(ids > 0)
        lib = seq._adc.by_id
        if blocks.size == 0:
            self._adc_gates = _Gates(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
            return
        uniq, inv = np.unique(ids[blocks], return_inverse=True)
        tpn = self.tpn
        d = np.array([lib[i].delay_ns * tpn for i in uniq.tolist()], dtype=np.int64)
        L = np.array([lib[i].num_samples * lib[i].dwell_ns * tpn for i in uniq.tolist()], dtype=np.int64)
        over = (d + L)[inv] > self._durs[blocks]
        if np.any(over):
            b = int(blocks[np.flatnonzero(over)[0]])
            raise SeqFormatError(
                f"block {self.b0 + b + 1}: ADC event ends after the block duration {self._ns(int(self._durs[b]))}"
            )
        start = self._starts[blocks] + d[inv]
        self._adc_gates = _Gates(self.grid.first_k(start), self.grid.first_k(start + L[inv]))

    def _build_trigger(self) -> None:
        lib = self.seq._ext.by_id
        ss: list[int] = []
        ee: list[int] = []
        with_trig = {k for k, v in lib.items() if any(isinstance(e, Trigger) and e.kind == 1 for e in v)}
        if with_trig:
            for b in np.flatnonzero(np.isin(self._ext, list(with_trig))).tolist():
                for e in lib[int(self._ext[b])]:
                    if isinstance(e, Trigger) and e.kind == 1:
                        s = int(self._starts[b]) + e.delay_ns * self.tpn
                        ss.append(s)
                        ee.append(s + e.duration_ns * self.tpn)
        s_a = self.grid.first_k(np.array(ss, dtype=np.int64))
        e_a = self.grid.first_k(np.array(ee, dtype=np.int64))
        self._trig_gates = _Gates(s_a, e_a)

    @staticmethod
    def _render_gates(g: _Gates, k0: int, k1: int) -> np.ndarray:
        s, e, _ = g.window(k0, k1)
        n = k1 - k0
        if s.size == 0:
            return np.zeros(n, dtype=bool)
        acc = np.bincount(s - k0, minlength=n + 1)[: n + 1] - np.bincount(e - k0, minlength=n + 1)[: n + 1]
        return np.cumsum(acc[:n]) > 0

    # --- public -----------------------------------------------------------------------------------

    def render(self, k0: int, k1: int) -> dict[str, np.ndarray]:
        """Samples ``k0 <= k < k1`` of every channel (k1 may exceed the sequence: zeros there)."""
        if k1 < k0 or k0 < 0:
            raise RangeError(f"sample window [{k0}, {k1}) is not valid (0 <= k0 <= k1)")
        out: dict[str, np.ndarray] = {}
        for ch in self.channels:
            if ch in ("gx", "gy", "gz"):
                a = np.zeros(k1 - k0)
                self._grad[ch].eval(k0, k1, a)
                out[ch] = a
            elif ch == "rf":
                out[ch] = self._render_rf(k0, k1)
            elif ch == "adc":
                out[ch] = self._render_gates(self._adc_gates, k0, k1)
            else:
                out[ch] = self._render_gates(self._trig_gates, k0, k1)
        return out
