"""Sample-accurate resampling from a design raster to an instrument's sample rate.

The Python face of the C kernels in ``native/resample.c``: it validates, converts rates and time
offsets to exact rationals, allocates, and calls the kernel (which releases the GIL). A pure-NumPy
statement of the same computation lives in :mod:`wavegen.dsp.reference`; it is what the tests
check the kernel against, and what runs where the extension could not be built.

Timing is exact. Rates and offsets become exact rationals (a float is read as the decimal it prints
as, so ``1e6`` is 1 000 000 and ``5e-6`` is 5/10^6; pass :class:`fractions.Fraction` for rates such as
1e6/3). Output sample ``k`` sits at the source position ``u_k = (A + k*S)/den`` with integers ``A``,
``S`` and ``den``; every call computes its starting position from those integers, and the kernel
advances by exact integer steps, so output 10^9 is as exact as output 0 and a waveform rendered in
chunks is bit-identical to one rendered in one piece.

Examples
--------
>>> import numpy as np
>>> from wavegen.dsp import resample
>>> g = np.array([0.0, 1.0, 1.0, 0.0])            # a gradient on a 10 us raster
>>> resample(g, 1e5, 4e5)                          # to 400 kS/s, linear
array([0.  , 0.25, 0.5 , 0.75, 1.  , 1.  , 1.  , 1.  , 1.  , 0.75, 0.5 , 0.25, 0.  ])
"""
from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from wavegen import _backend
from wavegen.dsp.dac import DacFormat, dac_range_error
from wavegen.dsp.numbers import as_rational, as_source, check_finite, whole_samples
from wavegen.dsp.reference import SincDesign, reference_quantize, reference_render, sinc_design
from wavegen.errors import RangeError, ShapeError, WavegenValueError

__all__ = [
    "Method",
    "METHODS",
    "BACKEND",
    "Resampler",
    "resample",
    "resample_to_codes",
    "resample_channels",
]

logger = logging.getLogger(__name__)

Method = Literal["zoh", "linear", "cubic", "sinc"]
METHODS: tuple[str, ...] = ("zoh", "linear", "cubic", "sinc")
_METHOD_CODE = {"zoh": 0, "linear": 1, "cubic": 2, "sinc": 3}

#: "native" when the C kernels are in use, "numpy" when the reference runs instead.
BACKEND = _backend.BACKEND

_MAX_DEN = 1 << 62  # the kernel's exact integer state must not overflow int64
_INT64_MAX = (1 << 63) - 1
_TABLE_PER_ZERO_CROSSING = 4096  # sinc table phases per zero crossing: interpolation error ~1e-8
_MAX_PERIOD = 65536  # longest periodic schedule kept in memory
_MIN_PERIOD = 256  # shorter periods are repeated up to this length ...
_L1_WEIGHTS = 2048  # ... unless their weights would no longer fit in 16 KiB
_MAX_SCHEDULE_WEIGHTS = 1 << 21  # ... and its weights (16 MiB)


def _one_shot_limit_bytes() -> int:
    try:
        phys = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        phys = 8 << 30
    return int(phys // 2)


# ---------------------------------------------------------------------------------------------------
# the resampler


def _ratio_text(ratio: Fraction) -> str:
    """A rational as text, also where it is beyond a float's range (1e300 / 1e-300)."""
    try:
        return f"{float(ratio):g}"
    except OverflowError:
        return f"about 10^{len(str(ratio.numerator)) - len(str(ratio.denominator))}"


class Resampler:
    """Exact-position resampling from one rate to another, in one piece or chunk by chunk.

    ``x[i]`` is the value at ``src_t0_s + i/src_rate_hz``; output sample ``k`` is the interpolant at
    ``dst_t0_s + k/dst_rate_hz``. Outside the span of the source the output is 0: the span is
    ``[t_0, t_{n-1}]`` for ``"linear"``, ``"cubic"`` and ``"sinc"``, and ``[t_0, t_{n-1} + 1/src_rate)``
    for ``"zoh"`` (a DAC holds its last sample for one period). Inside the span, samples beyond the
    ends of ``x`` count as 0.

    Parameters
    ----------
    src_rate_hz, dst_rate_hz
        Sample rates, Hz (> 0). int, float (read as the decimal it prints as) or Fraction.
    method
        ``"zoh"`` sample-and-hold; ``"linear"`` (exact for piecewise-linear gradients); ``"cubic"``
        Keys cubic convolution, a = -0.5 (Keys, IEEE TASSP 29(6), 1981); ``"sinc"`` Kaiser-windowed sinc
        (band-limited, for RF; cutoff at the lower of the two Nyquist frequencies).
    src_t0_s, dst_t0_s
        Time of source sample 0 and of output sample 0, s.
    atten_db
        ``"sinc"`` only: stop-band attenuation, dB (20 to 200; default 80).
    passband
        ``"sinc"`` only: the pass band as a fraction of the lower Nyquist frequency (0 < passband < 1;
        default 0.8); the stop band starts at ``2 - passband`` times it.

    Notes
    -----
    Output ``k`` sits at the source position ``u_k = (A + k*S)/den`` exactly (see :meth:`position`).
    When the fractional positions repeat with a short period (any rational ratio with a small
    denominator, such as 10x up-sampling), the weights of one period are computed once and reused.
    """

    def __init__(
        self,
        src_rate_hz: Any,
        dst_rate_hz: Any,
        *,
        method: Method = "linear",
        src_t0_s: Any = 0.0,
        dst_t0_s: Any = 0.0,
        atten_db: float = 80.0,
        passband: float = 0.8,
    ) -> None:
        if method not in _METHOD_CODE:
            raise WavegenValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
        self.method: Method = method
        self.src_rate = as_rational(src_rate_hz, name="src_rate_hz", unit="Hz", positive=True)
        self.dst_rate = as_rational(dst_rate_hz, name="dst_rate_hz", unit="Hz", positive=True)
        self.src_t0 = as_rational(src_t0_s, name="src_t0_s", unit="s")
        self.dst_t0 = as_rational(dst_t0_s, name="dst_t0_s", unit="s")

        ratio = self.src_rate / self.dst_rate  # source samples per output sample
        offset = (self.dst_t0 - self.src_t0) * self.src_rate  # source position of output 0
        den = math.lcm(ratio.denominator, offset.denominator)
        if den >= _MAX_DEN:
            raise RangeError(
                f"the rates and offsets need a common time denominator of {den} (>= 2^62): pass them as "
                "fractions.Fraction with smaller denominators"
            )
        self._den = den
        self._s = ratio.numerator * (den // ratio.denominator)
        self._a = offset.numerator * (den // offset.denominator)
        step_i, step_r = divmod(self._s, den)
        if step_i > _INT64_MAX // 4:
            raise RangeError(f"src_rate_hz / dst_rate_hz = {_ratio_text(ratio)} is too large a down-sampling ratio")

        self._design: SincDesign | None = None
        if method == "sinc":
            if not 20.0 <= float(atten_db) <= 200.0:
                raise RangeError(f"atten_db = {atten_db!r} dB must be between 20 dB and 200 dB")
            if not 0.0 < float(passband) < 1.0:
                raise RangeError(f"passband = {passband!r} must be a fraction of Nyquist in (0, 1)")
            self._design = sinc_design(float(atten_db), float(passband), float(min(Fraction(1), 1 / ratio)))
            ntaps, left = self._design.ntaps, self._design.left
            if ntaps > 1 << 16:
                raise RangeError(f"the sinc kernel would need {ntaps} taps; lower atten_db or widen the transition")
        else:
            ntaps, left = {"zoh": (1, 0), "linear": (2, 0), "cubic": (4, 1)}[method]
        self._ntaps, self._left = ntaps, left
        self.atten_db = float(atten_db)
        self.passband = float(passband)

        period = den // math.gcd(step_r, den) if step_r else 1
        if period < _MIN_PERIOD:
            # repeat a short period so the kernel's loops run long, while its weights stay in L1 cache
            reps = min(-(-_MIN_PERIOD // period), max(1, _L1_WEIGHTS // (period * ntaps)))
            period *= reps
        self._period = period if (period <= _MAX_PERIOD and period * ntaps <= _MAX_SCHEDULE_WEIGHTS) else 0
        self._i_origin, r_origin = divmod(self._a, den)
        self._period_advance = (self._a + period * self._s) // den - self._i_origin if self._period else 0
        self._keep: list[Any] = []  # arrays the C plan points into
        self._plan: Any = None
        if _backend.NATIVE:
            self._plan = self._make_plan(step_i, step_r, r_origin)

    # -- construction of the C plan -----------------------------------------------------------------

    def _make_plan(self, step_i: int, step_r: int, r_origin: int) -> Any:
        ffi, lib = _backend.ffi, _backend.lib
        plan = ffi.new("wg_plan *")
        plan.method = _METHOD_CODE[self.method]
        plan.ntaps = self._ntaps
        plan.left = self._left
        plan.ncomp = 1
        plan.n_in = 0
        plan.den = self._den
        plan.step_i = step_i
        plan.step_r = step_r
        if self._design is not None:
            table, phases = self._sinc_table(self._design, self._ntaps, self._left)
            self._keep.append(table)
            plan.table = ffi.from_buffer("double[]", table)
            plan.table_len = table.size // self._ntaps
            plan.table_density = phases
        if self._period:
            di = np.empty(self._period, dtype=np.int64)
            rr = np.empty(self._period, dtype=np.int64)
            w = np.empty(self._period * self._ntaps, dtype=np.float64)
            plan.period = self._period
            lib.wg_fill_schedule(plan, r_origin, ffi.from_buffer("int64_t[]", di), ffi.from_buffer("int64_t[]", rr),
                                 ffi.from_buffer("double[]", w))
            self._keep += [di, rr, w]
            # runs: outputs of the period that share floor(u); worth it when they are long enough
            starts = np.flatnonzero(np.r_[True, di[1:] != di[:-1]])
            if self._period >= 2 * starts.size:
                run_q0 = starts.astype(np.int64)
                run_len = np.diff(np.r_[starts, self._period]).astype(np.int64)
                wt = np.ascontiguousarray(w.reshape(self._period, self._ntaps).T)
                self._keep += [run_q0, run_len, wt]
                plan.n_runs = run_q0.size
                plan.run_q0 = ffi.from_buffer("int64_t[]", run_q0)
                plan.run_len = ffi.from_buffer("int64_t[]", run_len)
                plan.sched_wt = ffi.from_buffer("double[]", wt)
            plan.sched_di = ffi.from_buffer("int64_t[]", di)
            plan.sched_r = ffi.from_buffer("int64_t[]", rr)
            plan.sched_w = ffi.from_buffer("double[]", w)
            plan.period_advance = self._period_advance
        return plan

    @staticmethod
    def _sinc_table(design: SincDesign, ntaps: int, left: int) -> tuple[NDArray[np.float64], float]:
        """The weights of every tap at P + 1 phases per source sample (about 4096 phases per zero crossing
        of the kernel), phase-major, each row normalised to sum to one; returns (table, P)."""
        from wavegen.dsp.reference import sinc_kernel

        phases = max(16, int(math.ceil(_TABLE_PER_ZERO_CROSSING * design.cutoff)))
        f = np.arange(phases + 1) / phases
        d = (np.arange(ntaps)[None, :] - left) - f[:, None]
        table = sinc_kernel(design, d)
        sums = table.sum(axis=1, keepdims=True)
        table = table / np.where(sums != 0.0, sums, 1.0)
        return np.ascontiguousarray(table.ravel()), float(phases)

    # -- exact positions ----------------------------------------------------------------------------

    def position(self, k: int) -> Fraction:
        """The exact source position (in source samples, 0 = ``x[0]``) of output sample ``k``."""
        k = whole_samples(k, name="k")
        return Fraction(self._a + k * self._s, self._den)

    def time_s(self, k: int) -> Fraction:
        """The exact time of output sample ``k``, s."""
        k = whole_samples(k, name="k")
        return self.dst_t0 + Fraction(k) / self.dst_rate

    def n_out(self, n_in: int) -> int:
        """How many output samples, from output 0, reach the last one inside the source span."""
        n_in = whole_samples(n_in, name="n_in")
        if n_in <= 0:
            return 0
        if self.method == "zoh":
            count = -((self._a - n_in * self._den) // self._s)  # ceil((n*den - A) / S)
        else:
            count = ((n_in - 1) * self._den - self._a) // self._s + 1
        return max(0, count)

    @property
    def ntaps(self) -> int:
        """Source samples that contribute to each output."""
        return self._ntaps

    @property
    def periodic(self) -> bool:
        """True when a periodic weight schedule is in use."""
        return bool(self._period)

    def __repr__(self) -> str:
        extra = f", atten_db={self.atten_db:g}, passband={self.passband:g}" if self.method == "sinc" else ""
        return (f"Resampler({float(self.src_rate):g} Hz -> {float(self.dst_rate):g} Hz, method={self.method!r}, "
                f"src_t0_s={float(self.src_t0):g}, dst_t0_s={float(self.dst_t0):g}{extra})")

    # -- rendering ----------------------------------------------------------------------------------

    def _check_n_out(self, n_out: Any, itemsize: int) -> int:
        n = whole_samples(n_out, name="n_out")
        if n < 0:
            raise RangeError(f"n_out = {n} must be >= 0 samples")
        limit = _one_shot_limit_bytes()
        if n * itemsize > limit:
            raise RangeError(
                f"n_out = {n} samples would need {n * itemsize / 2**30:.1f} GiB in one piece (limit "
                f"{limit / 2**30:.1f} GiB, half this machine's memory); render it with chunks()"
            )
        return n

    def _prepare(self, x: ArrayLike, start: Any, n_out: Any, itemsize_real: int
                 ) -> tuple[NDArray[Any], int, int, int, int, bool]:
        """Validate and cut the source window. Returns (window, x_lo, start, n_out, n_in, complex)."""
        src = as_source(x)
        is_complex = src.dtype.kind == "c"
        start_i = whole_samples(start, name="start")
        if start_i < 0:
            raise RangeError(f"start = {start_i} must be >= 0 (output samples)")
        if n_out is None:
            n = max(0, self.n_out(src.size) - start_i)
            n = self._check_n_out(n, itemsize_real * (2 if is_complex else 1))
        else:
            n = self._check_n_out(n_out, itemsize_real * (2 if is_complex else 1))
        # the source samples this call can touch
        if n:
            i_first = (self._a + start_i * self._s) // self._den
            i_last = (self._a + (start_i + n - 1) * self._s) // self._den
            lo = min(max(0, i_first - self._left), src.size)
            hi = max(min(src.size, i_last - self._left + self._ntaps), lo)
        else:
            lo = hi = 0
        dtype = np.complex128 if is_complex else np.float64
        window = np.ascontiguousarray(src[lo:hi], dtype=dtype)
        check_finite(window, name="x", offset=lo)
        return window, lo, start_i, n, src.size, is_complex

    def _state(self, start: int) -> tuple[int, int, int, int]:
        i0, r0 = divmod(self._a + start * self._s, self._den)
        if self._period:
            q, j0 = divmod(start, self._period)
            base0 = self._i_origin + q * self._period_advance
        else:
            j0, base0 = 0, 0
        for label, v in (("source position", i0), ("source position", base0)):
            if not -_INT64_MAX // 2 < v < _INT64_MAX // 2:
                raise RangeError(f"output sample {start} lies at {label} {v}, beyond what the kernel can address")
        return i0, r0, j0, base0

    def _run(self, window: NDArray[Any], lo: int, n_in: int, start: int, n: int, out: NDArray[Any],
             dac: DacFormat | None, clip: bool) -> tuple[int, int]:
        """Call the kernel (or the reference). Returns (index of first bad code or -1, clipped count)."""
        is_complex = window.dtype.kind == "c"
        if not _backend.NATIVE:
            y = reference_render(window, method=self.method, a=self._a, s=self._s, den=self._den, start=start,
                                 n_out=n, design=self._design, x_lo=lo, n_in=n_in)
            if dac is None:
                out[...] = y
                return -1, 0
            scale, offset, clo, chi, _ = dac._c_args()
            codes, bad, clipped = reference_quantize(np.asarray(y, dtype=np.float64), scale=scale, offset=offset,
                                                     lo=clo, hi=chi, clip=clip)
            if bad < 0:
                out[...] = codes
            return bad, clipped
        ffi, lib = _backend.ffi, _backend.lib
        plan = ffi.new("wg_plan *", self._plan[0])  # per-call copy: threads may share this Resampler
        plan.n_in = n_in
        plan.ncomp = 2 if is_complex else 1
        i0, r0, j0, base0 = self._state(start)
        xbuf = window.view(np.float64) if is_complex else window
        if xbuf.size == 0:
            xbuf = np.zeros(1)
        cdac = ffi.NULL
        if dac is not None:
            scale, offset, clo, chi, out_type = dac._c_args()
            cdac = ffi.new("wg_dac *", {"scale": scale, "offset": offset, "lo": clo, "hi": chi,
                                        "clip": int(clip), "out_type": out_type})
        n_clipped = ffi.new("int64_t *")
        bad = lib.wg_render(plan, ffi.from_buffer("double[]", xbuf), lo, window.size, ffi.from_buffer(out), n,
                            i0, r0, j0, base0, cdac, n_clipped)
        if bad == -2:
            raise MemoryError("the resampling kernel could not allocate its scratch memory")
        return int(bad), int(n_clipped[0])

    def render(self, x: ArrayLike, start: int = 0, n_out: int | None = None, *,
               out: NDArray[Any] | None = None) -> NDArray[Any]:
        """Output samples ``start .. start + n_out - 1``.

        Parameters
        ----------
        x
            Source samples, shape (n,), real or complex, n >= 1, all finite.
        start
            The first output sample to render.
        n_out
            How many; default all up to the end of the source span.
        out
            Optional C-contiguous, writeable float64 (complex128 for complex ``x``) array of shape
            (n_out,) to render into.

        Returns
        -------
        ndarray
            float64 for real ``x``, complex128 for complex ``x``; shape (n_out,).
        """
        window, lo, start_i, n, n_in, is_complex = self._prepare(x, start, n_out, 8)
        dtype = np.dtype(np.complex128 if is_complex else np.float64)
        result = _check_out(out, n, dtype)
        if n:
            self._run(window, lo, n_in, start_i, n, result, None, False)
        return result

    def render_codes(self, x: ArrayLike, dac: DacFormat, start: int = 0, n_out: int | None = None, *,
                     clip: bool = False, out: NDArray[Any] | None = None) -> NDArray[np.integer[Any]]:
        """Like :meth:`render`, fused with the DAC stage of ``dac`` (see :func:`quantize`).

        Raises
        ------
        DacRangeError
            The first output sample whose code is out of range, unless ``clip``.
        """
        if not isinstance(dac, DacFormat):
            raise WavegenValueError(f"dac must be a DacFormat, got {type(dac).__name__}")
        window, lo, start_i, n, n_in, is_complex = self._prepare(x, start, n_out, dac.dtype.itemsize)
        if is_complex:
            raise ShapeError("DAC codes need real samples: render the I and Q parts of complex RF as two channels")
        result = _check_out(out, n, dac.dtype)
        if not n:
            return result
        bad, clipped = self._run(window, lo, n_in, start_i, n, result, dac, clip)
        if bad >= 0:
            k = start_i + bad
            y = float(self.render(x, k, 1)[0])
            raise dac_range_error(k, y, float(np.rint(y * dac.scale + dac.offset + dac.zero_code)), dac,
                               "output sample")
        if clipped:
            logger.warning("render_codes: clipped %d of %d output samples to the DAC range [%d, %d]", clipped, n,
                        dac.code_min, dac.code_max)
        return result

    def chunks(self, x: ArrayLike, chunk_size: int = 1 << 20, *, start: int = 0, n_out: int | None = None,
               dac: DacFormat | None = None, clip: bool = False) -> Iterator[NDArray[Any]]:
        """Render chunk by chunk; the concatenated chunks are bit-identical to one :meth:`render`.

        Memory is bounded by ``chunk_size`` outputs plus the source samples each chunk reads, so ``x``
        may be a :class:`numpy.memmap` of a waveform larger than memory. With ``dac`` the chunks are
        DAC codes (as :meth:`render_codes`).
        """
        size = whole_samples(chunk_size, name="chunk_size")
        if size <= 0:
            raise RangeError(f"chunk_size = {size} must be >= 1 samples")
        src = as_source(x)
        begin = whole_samples(start, name="start")
        if begin < 0:
            raise RangeError(f"start = {begin} must be >= 0 (output samples)")
        total = max(0, self.n_out(src.size) - begin) if n_out is None else whole_samples(n_out, name="n_out")
        if total < 0:
            raise RangeError(f"n_out = {total} must be >= 0 samples")
        return self._chunk_iter(src, size, begin, total, dac, clip)

    def _chunk_iter(self, src: NDArray[Any], size: int, begin: int, total: int, dac: DacFormat | None,
                    clip: bool) -> Iterator[NDArray[Any]]:
        done = 0
        while done < total:
            n = min(size, total - done)
            if dac is None:
                yield self.render(src, begin + done, n)
            else:
                yield self.render_codes(src, dac, begin + done, n, clip=clip)
            done += n


def _check_out(out: NDArray[Any] | None, n: int, dtype: np.dtype[Any]) -> NDArray[Any]:
    if out is None:
        return np.empty(n, dtype=dtype)
    if not isinstance(out, np.ndarray):
        raise ShapeError(f"out must be a numpy array, got {type(out).__name__}")
    if out.dtype != dtype or out.shape != (n,):
        raise ShapeError(f"out must have dtype {dtype} and shape ({n},), got {out.dtype} {out.shape}")
    if not out.flags.c_contiguous or not out.flags.writeable:
        raise ShapeError("out must be C-contiguous and writeable")
    return out


# ---------------------------------------------------------------------------------------------------
# functions


def resample(
    x: ArrayLike,
    src_rate_hz: Any,
    dst_rate_hz: Any,
    *,
    method: Method = "linear",
    src_t0_s: Any = 0.0,
    dst_t0_s: Any = 0.0,
    n_out: int | None = None,
    atten_db: float = 80.0,
    passband: float = 0.8,
) -> NDArray[Any]:
    """Resample ``x`` from ``src_rate_hz`` to ``dst_rate_hz`` at exact positions.

    ``x[i]`` is the value at ``src_t0_s + i/src_rate_hz``; output sample ``k`` is the interpolant at
    ``dst_t0_s + k/dst_rate_hz``; outside the source span the value is 0. See :class:`Resampler` for
    the methods and parameters; ``n_out`` defaults to the outputs up to the end of the source span.

    Returns
    -------
    ndarray
        float64 for real ``x``, complex128 for complex ``x`` (RF).
    """
    r = Resampler(src_rate_hz, dst_rate_hz, method=method, src_t0_s=src_t0_s, dst_t0_s=dst_t0_s,
                  atten_db=atten_db, passband=passband)
    return r.render(x, 0, n_out)


def resample_to_codes(
    x: ArrayLike,
    src_rate_hz: Any,
    dst_rate_hz: Any,
    dac: DacFormat,
    *,
    method: Method = "linear",
    src_t0_s: Any = 0.0,
    dst_t0_s: Any = 0.0,
    n_out: int | None = None,
    clip: bool = False,
    atten_db: float = 80.0,
    passband: float = 0.8,
) -> NDArray[np.integer[Any]]:
    """:func:`resample` fused with the DAC stage: scale, offset, round and range-check in one pass.

    Raises
    ------
    DacRangeError
        Names the first output sample out of range, its value and the range, unless ``clip``.
    """
    r = Resampler(src_rate_hz, dst_rate_hz, method=method, src_t0_s=src_t0_s, dst_t0_s=dst_t0_s,
                  atten_db=atten_db, passband=passband)
    return r.render_codes(x, dac, 0, n_out, clip=clip)


def resample_channels(
    channels: Sequence[ArrayLike],
    src_rate_hz: Any,
    dst_rate_hz: Any,
    *,
    method: Method = "linear",
    src_t0_s: Any = 0.0,
    dst_t0_s: Any = 0.0,
    n_out: int | None = None,
    max_workers: int | None = None,
    atten_db: float = 80.0,
    passband: float = 0.8,
) -> list[NDArray[Any]]:
    """Resample several channels on the same rasters in parallel threads (the kernel releases the GIL)."""
    r = Resampler(src_rate_hz, dst_rate_hz, method=method, src_t0_s=src_t0_s, dst_t0_s=dst_t0_s,
                  atten_db=atten_db, passband=passband)
    items = list(channels)
    if not items:
        return []
    workers = max_workers or min(len(items), os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda c: r.render(c, 0, n_out), items))
