"""The safety check of a whole :class:`~wavegen.sequence.Sequence` in bounded memory (issue 16 item 4).

:func:`wavegen.safety.check` hands a sequence here (``streaming=True``, the default). Nothing of the
length of the sequence is ever held as samples:

- **Gradients** are rendered at the raster centres (the samples :meth:`Sequence.to_waveforms` gives)
  window by window: each window is a range of blocks rendered by its own
  :class:`~wavegen.sequence.render.Renderer` (event tables of those blocks only), cut into chunks of
  at most ``chunk_samples``. Every rule that needs samples runs on the stream with its state carried
  from chunk to chunk: the SAFE filters (the C kernel ``wg_safe_pns3_chunk`` keeps the nine filter
  states and the previous sample: the same bits as one pass over the whole waveform), the IEC
  stimulus segments (the open segment is carried), the RMS windows
  (:class:`~wavegen.safety._windows.WindowMaxStream`) and the acoustic frames
  (:class:`~wavegen.safety.acoustic.BandPeakStream`): the samples a window or a batch of frames still
  needs are carried, bounded by the window, not by the sequence.
  Amplitude and slew are judged on the exact piecewise-linear waveform (:mod:`wavegen.safety.pwl`).
- **RF** is judged per event, not per sample: the power ``|B1|^2`` of every distinct pulse is computed
  once (phase and frequency offsets do not change it), and SAR, B1rms, peak B1 and the amplifier rules
  follow from the pulses' start times (:class:`PulseTrain`). The window maxima stay exact: the window
  integral is piecewise linear in the window start, with breakpoints where an edge crosses a pulse edge
  or, where both edges lie inside pulses, a sample boundary; the value is evaluated at exactly those
  starts, and the (pulse, pulse, offset) pairs of a repetitive sequence are evaluated once.

The results are those of the sample path (``streaming=False``) up to floating-point rounding of sums
taken in another order (asserted in ``tests/test_safety_stream.py``), with two deliberate differences:
amplitude and slew are exact (corners, not raster centres), and where several windows or samples
share the worst value the reported time may be another of them.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

from wavegen._backend import ffi, lib
from wavegen.errors import SeqFormatError, ShapeError
from wavegen.safety._windows import WindowMaxStream
from wavegen.safety.acoustic import BandPeakStream
from wavegen.safety.hardware import AcousticBand, SafeModel
from wavegen.safety.pns import IecPnsModel, cardiac_db_dt_limit_t_per_s, iec_db_dt_limit_t_per_s, kernel_params
from wavegen.safety.sar import SarCalibration, SarWindow, rf_power_series
from wavegen.safety.waveforms import Waveforms

if TYPE_CHECKING:
    from wavegen.sequence.sequence import Sequence

__all__ = [
    "GradientStream", "PulseTrain", "definition_digest", "grad_windows", "sequence_digest", "HAVE_STREAM_KERNEL",
]

HAVE_STREAM_KERNEL = hasattr(lib, "wg_safe_pns3_chunk")

#: Samples per gradient chunk (3 axes x 8 bytes: 3 MB).
CHUNK_SAMPLES = 1 << 17


# --- gradient windows --------------------------------------------------------------------------------


@dataclass
class GradChunk:
    """Samples ``[k0, k0 + n)`` of gx, gy, gz at the raster centres, T/m."""

    k0: int
    g: tuple[np.ndarray, np.ndarray, np.ndarray]


def grad_windows(
    seq: Sequence, chunk_samples: int = CHUNK_SAMPLES, *, render: bool = True
) -> Iterator[tuple[Any, int, int, list[GradChunk]]]:
    """Block windows of ``seq``: ``(renderer, t_lo, t_hi, chunks)`` in time order (``t_lo``, ``t_hi`` in
    ticks of the sequence's time base, :attr:`~wavegen.sequence.Sequence.ticks_per_ns`; ns unless a raster
    is not a whole ns).

    The chunks of all windows together are the gradient samples at the raster centres from t = 0 to
    ``ceil(duration / raster)`` samples, bit-identical to :meth:`Sequence.to_waveforms`; with
    ``render=False`` the chunk lists are empty (the renderers' vertex tables only).
    """
    from wavegen.sequence.render import Renderer

    # times on the sequence's integer time base: ticks of 1/ticks_per_ns ns (ns unless a raster is not whole ns)
    tpn = seq.ticks_per_ns
    gr = seq.grad_raster_ticks
    rate = Fraction(10**9 * tpn, gr)
    t0 = Fraction(gr, 2 * 10**9 * tpn)
    coded = seq.coded_table  # starts by range and by search: no array of every block's start
    nb = len(coded)
    dur = seq.duration_ticks
    ng = -(-dur // gr)
    # windows of about chunk_samples samples, cut at block starts
    targets = np.arange(1, max(1, -(-ng // chunk_samples))) * chunk_samples * gr
    found = [coded.search(int(t), side="left") for t in targets.tolist()]
    cuts = np.unique(np.array([0, *found, nb], dtype=np.int64))
    cache: dict[int, Any] = {}
    k_done = 0
    for w in range(cuts.size - 1):
        b0, b1 = int(cuts[w]), int(cuts[w + 1])
        if b1 <= b0:
            continue
        r = Renderer(seq, rate, ("gx", "gy", "gz"), t0_s=t0, blocks=(b0, b1), vertex_cache=cache)
        t_lo = coded.start(b0)
        t_hi = coded.start(b1)
        k_hi = ng if b1 >= nb else max(k_done, r.k_range[1])
        chunks = []
        for k0 in range(k_done, k_hi if render else k_done, chunk_samples):
            k1 = min(k_hi, k0 + chunk_samples)
            out = r.render(k0, k1)
            chunks.append(GradChunk(k0, (out["gx"], out["gy"], out["gz"])))
        k_done = max(k_done, k_hi)
        yield r, t_lo, t_hi, chunks


# --- streaming rules on gradient samples -------------------------------------------------------------


class _SafeStream:
    """SAFE PNS on a stream (C kernel with carried filter state; it also tracks the maxima)."""

    def __init__(self, model: SafeModel, dt_s: float, keep_trace: bool, trace: _Envelope | None) -> None:
        self.model = model
        self.params = np.ascontiguousarray(kernel_params(model, dt_s))
        self.dt = dt_s
        self.state = np.zeros(12)
        self.track = np.full(8, -1.0)
        self.trace = trace
        self.keep = keep_trace or trace is not None
        self._per = np.empty((0, 3))
        self._norm = np.empty(0)

    @property
    def best(self) -> tuple[float, int, np.ndarray]:
        """Largest norm, its sample index and the per-axis values there."""
        return float(self.track[3]), int(self.track[4]), self.track[5:8].copy()

    @property
    def axis_max(self) -> np.ndarray:
        return self.track[:3].copy()

    def feed(self, k0: int, gx: np.ndarray, gy: np.ndarray, gz: np.ndarray) -> None:
        n = gx.size
        if n == 0:
            return
        if self._norm.size < n:
            self._per = np.empty((n, 3))
            self._norm = np.empty(n)
        per, norm = self._per[:n], self._norm[:n]
        dp = "double *"
        lib.wg_safe_pns3_chunk(
            ffi.cast(dp, ffi.from_buffer(gx)),
            ffi.cast(dp, ffi.from_buffer(gy)),
            ffi.cast(dp, ffi.from_buffer(gz)),
            n,
            self.dt,
            ffi.cast(dp, ffi.from_buffer(self.params)),
            ffi.cast(dp, ffi.from_buffer(self.state)),
            k0,
            ffi.cast(dp, ffi.from_buffer(self.track)),
            ffi.cast(dp, ffi.from_buffer(per)) if self.keep else ffi.NULL,
            ffi.cast(dp, ffi.from_buffer(norm)) if self.keep else ffi.NULL,
        )
        if self.trace is not None:
            self.trace.feed(k0, norm)


class _IecStream:
    """IEC hyperbolic PNS and cardiac rules per axis on a stream of slew steps.

    The plateau threshold of :func:`~wavegen.safety.pns.stimulus_segments` is ``1e-9`` of the largest
    ``|s|`` of the whole axis, known only at the end; here the largest so far is used, which can only
    call fewer steps plateaus. :attr:`exact` is False when a step called a slope would have been a
    plateau with the final threshold (then the caller recomputes with the final threshold).
    """

    def __init__(self, dt_s: float, mode: str, model: IecPnsModel, tiny: np.ndarray | None = None) -> None:
        self.dt = dt_s
        self.mode = mode
        self.model = model
        self.fixed_tiny = tiny
        self.smax = np.zeros(3)
        self.min_nonzero = np.full(3, math.inf)
        # open segment per axis: sign, start, sum, max, argmax
        self.open: list[list[Any]] = [[0, 0, 0.0, 0.0, 0] for _ in range(3)]
        self.best_pns: list[tuple[float, float, float, int, float]] = [(-1.0, 0.0, 0.0, 0, 0.0)] * 3
        self.best_car: list[tuple[float, float, float, int, float]] = [(-1.0, 0.0, 0.0, 0, 0.0)] * 3
        self.any_segment = [False] * 3

    def feed(self, j: int, k0: int, s: np.ndarray) -> None:
        """Slew steps ``k0 .. k0 + len(s)`` of axis ``j``, T/m/s."""
        if s.size == 0:
            return
        a = np.abs(s)
        m = float(a.max())
        if m > self.smax[j]:
            self.smax[j] = m
        tiny = 1e-9 * self.smax[j] if self.fixed_tiny is None else float(self.fixed_tiny[j])
        sign = np.where(a <= tiny, 0, np.sign(s)).astype(np.int8)
        nz = a[sign != 0]
        if nz.size:
            self.min_nonzero[j] = min(self.min_nonzero[j], float(nz.min()))
        starts = np.concatenate(([0], np.flatnonzero(np.diff(sign)) + 1))
        stops = np.concatenate((starts[1:], [s.size]))
        sums = np.add.reduceat(a, starts)
        maxs = np.maximum.reduceat(a, starts)
        hits = np.flatnonzero(a == np.repeat(maxs, stops - starts))
        first_max = hits[np.searchsorted(hits, starts)]
        sg = sign[starts]
        op = self.open[j]
        if op[0] == sg[0]:  # the first run continues the open segment
            op[2] += float(sums[0])
            if maxs[0] > op[3]:
                op[3] = float(maxs[0])
                op[4] = k0 + int(first_max[0])
        else:
            self._emit(j, np.array([op[2]]), np.array([op[3]]), np.array([op[4]]), np.array([op[0]]))
            op[:] = [int(sg[0]), k0, float(sums[0]), float(maxs[0]), k0 + int(first_max[0])]
        if starts.size > 1:  # the open segment closes; runs 1 .. R-2 are whole; run R-1 stays open
            self._emit(j, np.array([op[2]]), np.array([op[3]]), np.array([op[4]]), np.array([op[0]]))
            sl = slice(1, starts.size - 1)
            self._emit(j, sums[sl], maxs[sl], k0 + first_max[sl], sg[sl])
            op[:] = [int(sg[-1]), k0 + int(starts[-1]), float(sums[-1]), float(maxs[-1]), k0 + int(first_max[-1])]

    def finish(self) -> None:
        for j in range(3):
            op = self.open[j]
            self._emit(j, np.array([op[2]]), np.array([op[3]]), np.array([op[4]]), np.array([op[0]]))
            op[0] = 0

    def _emit(self, j: int, sums: np.ndarray, maxs: np.ndarray, argmax: np.ndarray, sg: np.ndarray) -> None:
        keep = sg != 0
        if not np.any(keep):
            return
        sums, maxs, argmax = sums[keep], maxs[keep], argmax[keep]
        self.any_segment[j] = True
        t_eff = self.dt * sums / maxs
        db_dt = maxs * self.model.effective_length_m
        lim = iec_db_dt_limit_t_per_s(t_eff, self.mode, self.model)
        k = int(np.argmax(db_dt / lim))
        if db_dt[k] / lim[k] > self.best_pns[j][0]:
            self.best_pns[j] = (float(db_dt[k] / lim[k]), float(db_dt[k]), float(lim[k]), int(argmax[k]),
                                float(t_eff[k]))
        clim = cardiac_db_dt_limit_t_per_s(t_eff, self.model)
        k = int(np.argmax(db_dt / clim))
        if db_dt[k] / clim[k] > self.best_car[j][0]:
            self.best_car[j] = (float(db_dt[k] / clim[k]), float(db_dt[k]), float(clim[k]), int(argmax[k]),
                                float(t_eff[k]))

    @property
    def exact(self) -> bool:
        return bool(np.all(self.min_nonzero > 1e-9 * self.smax))


class _Envelope:
    """A bounded trace for plotting: per bucket of samples the value of largest magnitude."""

    def __init__(self, n_total: int, n_points: int = 1 << 15, signed: bool = False) -> None:
        self.bucket = max(1, -(-n_total // n_points))
        nb = -(-n_total // self.bucket) if n_total else 0
        self.hi = np.full(nb, -np.inf)
        self.lo = np.full(nb, np.inf)
        self.signed = signed

    def feed(self, k0: int, x: np.ndarray) -> None:
        if x.size == 0:
            return
        b = self.bucket
        idx = np.arange(k0 // b * b, k0 + x.size, b)
        edges = np.maximum(idx - k0, 0)
        bi = idx // b
        np.maximum.at(self.hi, bi, np.maximum.reduceat(x, edges))
        if self.signed:
            np.minimum.at(self.lo, bi, np.minimum.reduceat(x, edges))

    def values(self) -> np.ndarray:
        hi = np.where(np.isfinite(self.hi), self.hi, 0.0)
        if not self.signed:
            return hi
        lo = np.where(np.isfinite(self.lo), self.lo, 0.0)
        return np.where(np.abs(lo) > np.abs(hi), lo, hi)


class GradientStream:
    """Every sampled gradient rule of :func:`wavegen.safety.check` on the stream of one sequence."""

    def __init__(
        self,
        n_total: int,
        dt_s: float,
        *,
        pns: SafeModel | None,
        cardiac: SafeModel | None,
        iec: IecPnsModel | None,
        mode: str,
        zero_edges: bool,
        rms_window_s: float | None,
        periodic: bool,
        bands: tuple[AcousticBand, ...],
        keep_traces: bool,
    ) -> None:
        self.n = n_total
        self.dt = dt_s
        self.zero_edges = zero_edges
        self.g_trace = [_Envelope(n_total, signed=True) for _ in range(3)] if keep_traces else None
        self.pns = _SafeStream(pns, dt_s, keep_traces, _Envelope(n_total + 1) if keep_traces else None) \
            if pns is not None else None
        self.cardiac = _SafeStream(cardiac, dt_s, False, None) if cardiac is not None else None
        self.iec = _IecStream(dt_s, mode, iec) if iec is not None else None
        self.prev = np.zeros(3)
        self.rms = (
            [WindowMaxStream(n_total, dt_s, rms_window_s, periodic=periodic) for _ in range(3)]
            if rms_window_s is not None
            else None
        )
        self.acoustic = BandPeakStream(n_total, dt_s, ("gx", "gy", "gz"), bands) if bands else None

    def feed(self, c: GradChunk) -> None:
        gx, gy, gz = c.g
        if self.g_trace is not None:
            for j in range(3):
                self.g_trace[j].feed(c.k0, c.g[j])
        for s in (self.pns, self.cardiac):
            if s is not None:
                s.feed(c.k0, gx, gy, gz)
        if self.iec is not None:
            self._iec_feed(self.iec, c)
        if self.rms is not None:
            for j in range(3):
                self.rms[j].feed(c.g[j] * c.g[j])
        if self.acoustic is not None:
            self.acoustic.feed(np.stack(c.g, axis=1))
        self.prev = np.array([gx[-1], gy[-1], gz[-1]]) if gx.size else self.prev

    def _iec_feed(self, iec: _IecStream, c: GradChunk) -> None:
        for j in range(3):
            g = c.g[j]
            if self.zero_edges:  # step k leads into sample k (k = 0: from rest)
                prev = self.prev[j] if c.k0 > 0 else 0.0
                s = np.diff(np.concatenate(([prev], g))) / self.dt
                iec.feed(j, c.k0, s)
            else:  # step k leads into sample k + 1
                if c.k0 == 0:
                    s = np.diff(g) / self.dt
                    iec.feed(j, 0, s)
                else:
                    s = np.diff(np.concatenate(([self.prev[j]], g))) / self.dt
                    iec.feed(j, c.k0 - 1, s)

    def finish(self) -> None:
        end = np.zeros(1)
        if self.zero_edges:
            for s in (self.pns, self.cardiac):
                if s is not None:
                    s.feed(self.n, end, end, end)
            if self.iec is not None:
                for j in range(3):
                    self.iec.feed(j, self.n, np.array([-self.prev[j] / self.dt]))
        if self.iec is not None:
            self.iec.finish()


# --- RF per event --------------------------------------------------------------------------------------


@dataclass
class _Lib:
    p: np.ndarray  # |B1|^2 per cell, T^2
    cum: np.ndarray  # running integral at cell boundaries, T^2 s (n + 1)
    peak_b1: float
    peak_i: int
    energy: float


class PulseTrain:
    """The RF of a sequence as pulses: start times and one power shape per distinct pulse.

    Parameters
    ----------
    seq
        The sequence.
    period_ns
        Duration the windows see (the sequence duration on the gradient and RF rasters).
    """

    def __init__(self, seq: Sequence, period_ns: int) -> None:
        rr = seq.rf_raster_ns
        self.rr = rr
        self.dt_s = rr * 1e-9
        self.P = int(period_ns)
        tab = seq._table
        ids = tab[1]
        blocks = np.flatnonzero(ids > 0)
        lib_rf = seq._rf.by_id
        gamma = seq.gamma_hz_per_t
        starts = seq.block_starts_ns[blocks]
        uniq, inv = np.unique(ids[blocks], return_inverse=True)
        keys: dict[Any, int] = {}
        ev_lib = np.zeros(uniq.size, dtype=np.int64)
        ev_delay = np.zeros(uniq.size, dtype=np.int64)
        self.libs: list[_Lib] = []
        ev_end = np.zeros(uniq.size, dtype=np.int64)
        for u, rid in enumerate(uniq.tolist()):
            ev = lib_rf[rid]
            ev_delay[u] = ev.delay_ns
            if ev.time_shape is not None:  # what the renderer refuses, refused here too
                first_block = int(blocks[int(np.flatnonzero(inv == u)[0])]) + 1
                tt = ev.time_shape.samples * rr
                if float(tt[-1]) >= 2.0**53:
                    raise SeqFormatError(f"block {first_block}: RF time shape ends out of range")
                if np.any(np.abs(tt - np.rint(tt)) > 1e-6):
                    raise SeqFormatError(f"block {first_block}: RF time shape times are not whole ns")
            ev_end[u] = ev.duration_ns(rr)
            if ev.time_shape is None:
                key: Any = ("reg", ev.magnitude, ev.amplitude_hz)
            else:
                key = ("time", ev.magnitude, ev.phase, ev.time_shape, ev.amplitude_hz)
            j = keys.get(key)
            if j is None:
                j = keys[key] = len(self.libs)
                self.libs.append(self._power(ev, gamma, rr))
            ev_lib[u] = j
        durs = tab[0][blocks]
        over = np.flatnonzero(ev_end[inv] > durs)
        if over.size:
            b = int(blocks[over[0]])
            raise SeqFormatError(f"block {b + 1}: RF event ends after the block duration {int(tab[0][b])} ns")
        self.S = starts + ev_delay[inv]
        self.L = ev_lib[inv]
        n_lib = np.array([x.p.size for x in self.libs], dtype=np.int64)
        self.n = n_lib[self.L] if self.L.size else np.zeros(0, dtype=np.int64)
        self.T = self.S + self.n * rr
        en = np.array([x.energy for x in self.libs])
        self.E_o = en[self.L] if self.L.size else np.zeros(0)
        self.Epre = np.zeros(self.S.size)
        if self.S.size > 1:
            np.cumsum(self.E_o[:-1], out=self.Epre[1:])
        self.Etot = float(self.E_o.sum())
        off = np.zeros(len(self.libs) + 1, dtype=np.int64)
        np.cumsum(n_lib, out=off[1:])
        self.off = off
        self.cat_p = np.concatenate([x.p for x in self.libs]) if self.libs else np.zeros(0)
        self.cat_cum = np.concatenate([x.cum for x in self.libs]) if self.libs else np.zeros(0)
        self.cum_off = off[:-1] + np.arange(len(self.libs))

    @staticmethod
    def _power(ev: Any, gamma: float, rr: int) -> _Lib:
        if ev.time_shape is None:
            b = ev.magnitude.samples * (abs(ev.amplitude_hz) / gamma)
            p = b * b
        else:
            tt = ev.time_shape.samples * rr
            n = int(math.ceil(float(tt[-1]) / rr - 1e-9))
            tc = (np.arange(n) + 0.5) * rr
            sig = ev.signal_hz / gamma
            re = np.interp(tc, tt, sig.real, left=0.0, right=0.0)
            im = np.interp(tc, tt, sig.imag, left=0.0, right=0.0)
            p = re * re + im * im
        cum = np.empty(p.size + 1)
        cum[0] = 0.0
        np.cumsum(p, out=cum[1:])
        cum *= rr * 1e-9
        i = int(np.argmax(p)) if p.size else 0
        return _Lib(p, cum, math.sqrt(float(p[i])) if p.size else 0.0, i, float(cum[-1]))

    # -- energy as a function of time -------------------------------------------------------------------

    def _E(self, t: np.ndarray, on: bool = False) -> np.ndarray:
        """Running integral of the power (or of the on-indicator with ``on``) at times ``t`` (int ns) in
        ``[0, P]``, T^2 s (or s)."""
        o = np.searchsorted(self.S, t, side="right") - 1
        out = np.zeros(t.size)
        ok = o >= 0
        oo = o[ok]
        x = t[ok] - self.S[oo]
        n = self.n[oo]
        i = np.minimum(x // self.rr, n)
        inside = i < n
        lib_i = self.L[oo]
        pre = self._pre_on[oo] if on else self.Epre[oo]
        cum = self._cat_on_cum if on else self.cat_cum
        vals = self._cat_on if on else self.cat_p
        base = cum[self.cum_off[lib_i] + i]
        part = np.where(inside, (x - i * self.rr) * 1e-9 * vals[np.minimum(self.off[lib_i] + i,
                                                                               max(vals.size - 1, 0))], 0.0)
        out[ok] = pre + base + part
        return out

    def _E_ext(self, t: np.ndarray, periodic: bool, on: bool = False) -> np.ndarray:
        tot = self._on_tot if on else self.Etot
        if periodic:
            q, r = np.divmod(t, self.P)
            return q * tot + self._E(r, on)
        out = np.where(t <= 0, 0.0, tot)
        inside = (t > 0) & (t < self.P)
        out[inside] = self._E(t[inside], on)
        return out

    def prepare_on(self) -> None:
        """Tables of the on-indicator (``|B1| > 0``) for the duty-cycle rule."""
        on_libs = [(x.p > 0.0).astype(np.float64) for x in self.libs]
        cums = []
        for v in on_libs:
            c = np.empty(v.size + 1)
            c[0] = 0.0
            np.cumsum(v, out=c[1:])
            c *= self.dt_s
            cums.append(c)
        self._cat_on = np.concatenate(on_libs) if on_libs else np.zeros(0)
        self._cat_on_cum = np.concatenate(cums) if cums else np.zeros(0)
        e = np.array([c[-1] for c in cums])
        e_o = e[self.L] if self.L.size else np.zeros(0)
        self._pre_on = np.zeros(self.S.size)
        if self.S.size > 1:
            np.cumsum(e_o[:-1], out=self._pre_on[1:])
        self._on_tot = float(e_o.sum())

    # -- exact window maximum ---------------------------------------------------------------------------

    def window_max(self, window_s: float, periodic: bool, on: bool = False) -> tuple[float, float]:
        """Largest integral over any window of ``window_s`` and the start of one attaining it, s."""
        W = int(round(window_s * 1e9))
        P = self.P
        tot = self._on_tot if on else self.Etot
        if self.S.size == 0 or P <= 0:
            return 0.0, 0.0
        if periodic:
            n_p, Wr = divmod(W, P)
            base = n_p * tot
            if Wr == 0:
                return base, 0.0
        else:
            if W >= P:
                return tot, 0.0
            base, Wr = 0.0, W
        S, T = self.S, self.T
        cand = np.concatenate((S, T, S - Wr, T - Wr))
        if periodic:
            cand = np.mod(cand, P)
        else:
            cand = np.clip(cand, -Wr, P)
        cand = np.unique(cand)
        f = self._E_ext(cand + Wr, periodic, on) - self._E_ext(cand, periodic, on)
        k = int(np.argmax(f))
        best_v, best_s = float(f[k]), int(cand[k])
        # both edges inside pulses: s in pulse o, s + Wr in pulse o2 (of the next period when periodic)
        if periodic:
            S2 = np.concatenate((S, S + P))
            T2 = np.concatenate((T, T + P))
        else:
            S2, T2 = S, T
        lo_o = np.searchsorted(T2, S + Wr, side="right")  # first o2 ending after s_lo + Wr
        hi_o = np.searchsorted(S2, T + Wr, side="left")  # o2 starting before s_hi + Wr
        npulse = S.size
        cnt = np.maximum(hi_o - lo_o, 0)
        if cnt.sum():
            o = np.repeat(np.arange(npulse), cnt)
            first = np.zeros(npulse, dtype=np.int64)
            np.cumsum(cnt[:-1], out=first[1:])
            o2 = np.repeat(lo_o, cnt) + (np.arange(o.size) - np.repeat(first, cnt))
            lo = np.maximum(S[o], S2[o2] - Wr)
            hi = np.minimum(T[o], T2[o2] - Wr)
            keep = hi > lo
            o, o2, lo, hi = o[keep], o2[keep], lo[keep], hi[keep]
            ob = o2 % npulse
            keys = np.stack((self.L[o], self.L[ob], S2[o2] - Wr - S[o], lo - S[o], hi - S[o]), axis=1)
            uk, inv = np.unique(keys, axis=0, return_inverse=True)
            got = [self._pair_max(int(k[0]), int(k[1]), int(k[2]), int(k[3]), int(k[4]), on) for k in uk]
            gv = np.array([g[0] for g in got])[inv.reshape(-1)]
            gx = np.array([g[1] for g in got], dtype=np.int64)[inv.reshape(-1)]
            pre = self._pre_on if on else self.Epre
            v = (pre[ob] + np.where(o2 >= npulse, tot, 0.0)) - pre[o] + gv
            if v.size:
                k = int(np.argmax(v))
                if v[k] > best_v:
                    best_v, best_s = float(v[k]), int(S[o[k]] + gx[k])
        start = best_s % P if periodic else best_s
        return base + best_v, start * 1e-9

    def _pair_max(self, la: int, lb: int, delta: int, lo: int, hi: int, on: bool) -> tuple[float, int]:
        """max over x in [lo, hi] of cum_b(x - delta) - cum_a(x), x relative to the start of pulse a.

        Both are piecewise linear with breakpoints on their own cell boundaries, so the maximum is at
        ``lo``, ``hi`` or a cell boundary of either pulse; on a common raster (``delta`` a whole number
        of cells, the usual case) the two sets coincide and the values are two slices of the running
        integrals (a few passes over the pulse, however long)."""
        rr = self.rr
        cum = self._cat_on_cum if on else self.cat_cum
        ca = cum[self.cum_off[la] : self.cum_off[la] + int(self.off[la + 1] - self.off[la]) + 1]
        cb = cum[self.cum_off[lb] : self.cum_off[lb] + int(self.off[lb + 1] - self.off[lb]) + 1]
        best_v, best_x = -math.inf, lo
        ends = np.array([lo, hi], dtype=np.int64)
        v = self._cumfun(lb, ends - delta, on) - self._cumfun(la, ends, on)
        for x, val in zip(ends.tolist(), v.tolist(), strict=True):
            if val > best_v:
                best_v, best_x = val, x
        i0, i1 = -(-lo // rr), hi // rr  # boundaries of pulse a inside [lo, hi]
        if i1 >= i0:
            if delta % rr == 0:
                m = delta // rr
                v = cb[i0 - m : i1 - m + 1] - ca[i0 : i1 + 1]
            else:
                v = self._cumfun(lb, np.arange(i0, i1 + 1) * rr - delta, on) - ca[i0 : i1 + 1]
            k = int(np.argmax(v))
            if v[k] > best_v:
                best_v, best_x = float(v[k]), (i0 + k) * rr
        if delta % rr:
            j0, j1 = -(-(lo - delta) // rr), (hi - delta) // rr  # boundaries of pulse b
            if j1 >= j0:
                v = cb[j0 : j1 + 1] - self._cumfun(la, np.arange(j0, j1 + 1) * rr + delta, on)
                k = int(np.argmax(v))
                if v[k] > best_v:
                    best_v, best_x = float(v[k]), (j0 + k) * rr + delta
        return float(best_v), int(best_x)

    def _cumfun(self, li: int, x: np.ndarray, on: bool) -> np.ndarray:
        n = int(self.off[li + 1] - self.off[li])
        i = np.minimum(x // self.rr, n)
        cum = self._cat_on_cum if on else self.cat_cum
        vals = self._cat_on if on else self.cat_p
        base = cum[self.cum_off[li] + i]
        part = np.where(i < n, (x - i * self.rr) * 1e-9 * vals[self.off[li] + np.minimum(i, n - 1)], 0.0)
        return base + part

    # -- peaks and pulses -------------------------------------------------------------------------------

    def peak(self) -> tuple[float, float, int]:
        """Largest |B1| (T), its time (s, the centre of its RF cell) and RF-raster sample index."""
        if self.S.size == 0:
            return 0.0, math.nan, -1
        pk = np.array([x.peak_b1 for x in self.libs])
        li = int(np.argmax(pk))
        o = int(np.flatnonzero(self.L == li)[0])
        i = self.libs[li].peak_i
        t_ns = int(self.S[o]) + i * self.rr
        return float(pk[li]), (t_ns + 0.5 * self.rr) * 1e-9, t_ns // self.rr

    def longest_on(self, periodic: bool) -> tuple[int, int]:
        """Longest run of RF cells with ``|B1| > 0`` (ns) and its start (ns), as the sample rule counts."""
        info = []
        for x in self.libs:
            on = x.p > 0.0
            if not on.any():
                info.append((0, 0, 0, 0, False))
                continue
            d = np.diff(np.concatenate(([0], on.view(np.int8), [0])))
            st = np.flatnonzero(d == 1)
            sp = np.flatnonzero(d == -1)
            ln = sp - st
            k = int(np.argmax(ln))
            lead = int(ln[0]) if st[0] == 0 else 0
            trail = int(ln[-1]) if sp[-1] == on.size else 0
            info.append((int(ln[k]), int(st[k]), lead, trail, bool(on.all())))
        rr = self.rr
        best_len, best_start = 0, 0
        run_len, run_start, prev_end = 0, 0, None
        first_lead = 0
        for o in range(self.S.size):
            mx, mx_start, lead, trail, all_on = info[int(self.L[o])]
            s_o = int(self.S[o])
            if o == 0 and s_o == 0:
                first_lead = lead * rr
            if mx * rr > best_len:
                best_len, best_start = mx * rr, s_o + mx_start * rr
            if run_len and prev_end == s_o and lead:
                if all_on:
                    run_len += mx * rr
                else:
                    if run_len + lead * rr > best_len:
                        best_len, best_start = run_len + lead * rr, run_start
                    run_len, run_start = trail * rr, int(self.T[o]) - trail * rr
            else:
                if all_on:
                    run_len, run_start = mx * rr, s_o
                else:
                    run_len, run_start = trail * rr, int(self.T[o]) - trail * rr
            if run_len > best_len:
                best_len, best_start = run_len, run_start
            prev_end = int(self.T[o])
        if periodic and first_lead and prev_end == self.P and run_len and best_len < self.P:
            # a pulse that wraps around the period (the sample rule then reports start 0)
            best_len, best_start = max(best_len, min(run_len + first_lead, self.P)), 0
        return best_len, best_start

    # -- SAR ----------------------------------------------------------------------------------------------

    def sar_windows(
        self,
        calibration: SarCalibration | None,
        windows_s: tuple[float, ...],
        periodic: bool,
        patient_mass_kg: float | None,
        grad_raster_s: float,
    ) -> tuple[SarWindow, ...]:
        """:func:`wavegen.safety.sar.sar_windows` on the pulses (same results up to rounding)."""
        # the calibration's factor per T^2 (and its checks) from the sample path on one unit sample
        unit = Waveforms(np.zeros((1, 3)), grad_raster_s, np.ones(1, dtype=np.complex128), self.dt_s)
        scale, channels, unit_name = rf_power_series(unit, calibration, patient_mass_kg=patient_mass_kg)
        k = scale[:, 0]
        out = []
        for w in windows_s:
            e, start = self.window_max(float(w), periodic)
            i = int(np.argmax(k))
            ev = float(k[i]) * e
            if calibration is None:
                value, vunit = math.sqrt(ev / w), "T"
            else:
                value, vunit = ev / w, unit_name
            out.append(SarWindow(float(w), value, vunit, start, channels[i], ev, calibration is not None))
        return tuple(out)


# --- digest ------------------------------------------------------------------------------------------------


def _canon(h: Any, x: Any) -> None:
    """Feed a canonical, unambiguous encoding of an event value into the hash ``h``."""
    from dataclasses import fields, is_dataclass

    from wavegen.sequence.shapes import Shape

    if isinstance(x, Shape):
        a = np.ascontiguousarray(x.samples, dtype="<f8")
        h.update(b"S%d:" % a.size)
        h.update(a.tobytes())
    elif is_dataclass(x) and not isinstance(x, type):
        h.update(f"D{type(x).__name__}(".encode())
        for f in fields(x):
            h.update(f.name.encode() + b"=")
            _canon(h, getattr(x, f.name))
        h.update(b")")
    elif isinstance(x, (tuple, list)):
        h.update(b"T%d(" % len(x))
        for v in x:
            _canon(h, v)
        h.update(b")")
    elif isinstance(x, np.ndarray):
        a = np.ascontiguousarray(x)
        h.update(f"A{a.dtype.str}{a.shape}".encode())
        h.update(a.tobytes())
    elif isinstance(x, dict):
        h.update(b"M%d(" % len(x))
        for k in sorted(x, key=repr):
            _canon(h, k)
            _canon(h, x[k])
        h.update(b")")
    else:  # numbers (repr round-trips floats exactly), strings, None, Fractions
        h.update(f"{type(x).__name__}:{x!r};".encode())


def definition_digest(seq: Sequence) -> str:
    """SHA-256 of everything a sequence's samples are made from: the block table, every event of every
    library (shapes by their samples, numbers exactly), the rasters, gamma and B0. Equal digests render
    equal samples; any change to an event, a shape or the table changes it. Costs microseconds per
    event, whatever the sequence's duration (unlike hashing its rendered samples)."""
    h = hashlib.sha256()
    h.update(b"wavegen.sequence.definition/1\0")
    coded = seq.coded_table  # the (7, n) int64 table's bytes in C order, column by column, a range at a time
    n = len(coded)
    h.update(f"{np.dtype(np.int64).str}{(7, n)}".encode())
    for c in range(7):
        for a in range(0, n, 1 << 16):
            h.update(coded.column(c, a, min(n, a + (1 << 16))).tobytes())
    _canon(h, (seq.rasters_ns, seq.gamma_hz_per_t, seq.b0_t))
    for library in (seq._rf, seq._grad, seq._adc, seq._ext):
        _canon(h, sorted(library.by_id.items(), key=lambda kv: kv[0]))
    return h.hexdigest()


def sequence_digest(seq: Sequence) -> Callable[[], str]:
    """A function computing :meth:`Waveforms.digest` of ``seq.to_waveforms()`` in bounded memory (the
    samples are rendered chunk by chunk into the hash), refusing if the sequence changed since."""
    fp = definition_digest(seq)

    def digest() -> str:
        from wavegen.sequence.render import Renderer

        if definition_digest(seq) != fp:
            raise ShapeError("the sequence changed after its safety check: its digest would not be what was checked")
        gr, rr = seq.grad_raster_ns, seq.rf_raster_ns
        dur = seq.duration_ns
        ng = -(-dur // gr)
        h = hashlib.sha256()
        h.update(b"wavegen.safety.Waveforms/1\0")
        h.update(repr(((ng, 3), gr * 1e-9, ("gx", "gy", "gz"), 0.0)).encode())
        for _, _, _, chunks in grad_windows(seq):
            for c in chunks:
                h.update(np.stack(c.g, axis=1).tobytes())
        if len(seq._rf.by_id):
            nr = -(-dur // rr)
            h.update(repr(((nr,), rr * 1e-9)).encode())
            r = Renderer(seq, Fraction(10**9, rr), ("rf",), t0_s=Fraction(rr, 2 * 10**9))
            for k0 in range(0, nr, 1 << 20):
                h.update(r.render(k0, min(nr, k0 + (1 << 20)))["rf"].tobytes())
        else:
            h.update(b"no-rf")
        return h.hexdigest()

    return digest
