"""NI-DAQmx adapter: hardware-timed analog outputs (several channels, one task), analog input capture, and
streaming playback of any length.

Written against the real ``nidaqmx`` API (installed nidaqmx 1.x; NI examples
``analog_out/cont_gen_voltage_wfm_int_clk*.py`` and ``synchronization/multi_function/ai_ao_sync.py``;
the non-regenerating streaming pattern of ``analog_out/cont_gen_voltage_wfm_int_clk_non_regen.py``):

- one AO task holds every output channel, so they share one sample clock
  (``task.ao_channels.add_ao_voltage_chan("Dev1/ao0,Dev1/ao1", min_val, max_val)``);
- ``task.timing.cfg_samp_clk_timing(rate, sample_mode=FINITE|CONTINUOUS, samps_per_chan=n)``; the rate
  the board really uses (``task.timing.samp_clk_rate``, the timebase divided by an integer) must equal
  the requested one, else the samples would play on another time grid: :class:`VerificationError`;
- ``mode="finite"`` plays the buffer once (regeneration forbidden so nothing repeats by accident);
  ``mode="regenerate"`` loops it in hardware (``RegenerationMode.ALLOW_REGENERATION``, CONTINUOUS);
- data: ``AnalogMultiChannelWriter.write_many_sample`` (float64 volts, checked against the range) or
  ``AnalogUnscaledWriter.write_int16`` (raw DAC codes; the caller owns the calibration);
- ``start_trigger="/Dev1/PFI0"``: digital edge start trigger;
- capture: an AI task on the same device, started *first* and triggered by ``/Dev1/ao/StartTrigger``,
  so input sample 0 and output sample 0 share one clock edge;
- :meth:`NiDaq.stream`: a known number of samples (one pass of the clearance's play order) played with
  FINITE timing through an output buffer smaller than the whole (``out_stream.output_buf_size``) and
  ``RegenerationMode.DONT_ALLOW_REGENERATION``: the buffer is written as it plays (double buffering);
  when the writer falls behind, DAQmx stops the generation (-200290
  ``GEN_STOPPED_TO_PREVENT_REGEN_OF_OLD_SAMPLES``, or -200621 / -200018 for the onboard FIFO) instead of
  replaying old samples. FINITE timing (not CONTINUOUS) ends the generation exactly at the last sample,
  with no padding and no underflow error at the end;
- safe state: after a run, on :meth:`NiDaq.stop`, on close and on any failure every AO channel this
  adapter used is driven to 0 V with an on-demand write (finite generation leaves the output at its
  last sample otherwise).

Every load, every start and every streamed segment go through the safety interlock
(:func:`wavegen.safety.interlock.require`): the clearance must hold a grant for the output
(:meth:`NiDaq.output_id`, ``"<name>/ao0"``) naming exactly these samples (float64 volts of that row, or its
int16 codes), this rate and this repetition.

Board limits (:mod:`.daq_boards`, or the device's own reported limits for a board not in the table) are
checked before any I/O. Task names carry the adapter's name and a serial number, so two boards of one
bench (or two adapters) never clash (DAQmx -200089 ``DUPLICATE_TASK``).
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import math
import os
import tempfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from wavegen.errors import (
    InstrumentError,
    InstrumentReportedError,
    InstrumentTimeoutError,
    NonFiniteError,
    RangeError,
    SafetyError,
    ShapeError,
    VerificationError,
)

from . import daq_boards
from .daq_boards import DaqBoard

if TYPE_CHECKING:
    from wavegen.safety.interlock import Clearance

__all__ = ["NiDaq", "DaqPlan", "StreamResult", "capture_volts", "translate_daq_error", "io_timeout_s"]

logger = logging.getLogger(__name__)

_TIMEOUT_CODES = {-200560, -200284, -200474, -200292}
#: DAQmx codes meaning the output ran dry (the writer fell behind)
_UNDERFLOW_CODES = {-200290, -200621, -200018}
_SERIAL = itertools.count(1)


def io_timeout_s(duration_s: float) -> float:
    """How long to wait for something that takes ``duration_s`` of hardware time: 10 % over, plus 2 s for
    the driver and the bus (never a fixed 10 s, so a 10-minute play does not time out)."""
    return 1.1 * max(0.0, float(duration_s)) + 2.0


def translate_daq_error(exc: BaseException, what: str) -> InstrumentError:
    """Map an nidaqmx exception to the wavegen instrument error it means (keeps the DAQmx code)."""
    import nidaqmx.errors as nerr

    if isinstance(exc, nerr.DaqNotFoundError):
        return InstrumentError(f"{what}: NI-DAQmx is not installed on this machine ({exc})")
    if isinstance(exc, nerr.DaqError):
        code = exc.error_code
        first = str(exc).splitlines()[0]
        if code in _TIMEOUT_CODES:
            return InstrumentTimeoutError(f"{what}: DAQmx error {code} ({exc.error_type.name}): {first}")
        return InstrumentReportedError(f"{what}: DAQmx error {code} ({exc.error_type.name}): {first}")
    return InstrumentError(f"{what}: {exc!r}")


def _require(clearance: Clearance, **kwargs: Any) -> None:
    try:
        from wavegen.safety.interlock import require
    except ImportError as exc:  # fail closed
        raise SafetyError(
            f"safety interlock unavailable ({exc}); refusing to send samples", quantity="clearance"
        ) from exc
    require(clearance, **kwargs)


@dataclass(frozen=True)
class DaqPlan:
    """What is loaded on the AO task."""

    channels: tuple[str, ...]
    n_samples: int
    sample_rate_hz: float
    mode: str
    start_trigger: str | None
    raw_int16: bool


@dataclass(frozen=True)
class StreamResult:
    """What :meth:`NiDaq.stream` played and captured.

    Attributes
    ----------
    outputs : tuple of str
        The outputs played (:meth:`NiDaq.output_id`).
    n_samples : int
        Samples played per output (one pass of the cleared play order).
    sample_rate_hz : float
        The sample clock of outputs and inputs.
    segments_verified : int
        Segments whose digest was checked against the grant before they were written (all outputs).
    buffer_samples, write_block_samples : int
        The output buffer and the write block (a quarter of the buffer), per channel.
    capture : numpy.ndarray or None
        Read-only memory map ``(capture channels, n_samples)`` of the capture (a ``.npy`` file): volts, or
        the ADC's int16 codes for an ``int16`` capture (:func:`capture_volts` scales them).
    capture_path : pathlib.Path or None
        That file (``numpy.load(path, mmap_mode="r")`` reopens it).
    capture_scaling : tuple of tuple of float
        For an ``int16`` capture, per channel the device scaling ``(c0, c1, c2, c3)`` of codes to volts;
        empty otherwise.
    """

    outputs: tuple[str, ...]
    n_samples: int
    sample_rate_hz: float
    segments_verified: int
    buffer_samples: int
    write_block_samples: int
    capture: np.ndarray | None
    capture_path: Path | None
    capture_scaling: tuple[tuple[float, ...], ...] = ()

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.sample_rate_hz


def capture_volts(codes: Any, scaling: Sequence[float]) -> np.ndarray:
    """Volts from a board's int16 codes and its device scaling polynomial ``(c0, c1, c2, c3, ...)``
    (``volts = sum_k c_k code**k``, DAQmx ``AI.DevScalingCoeff``), in float64."""
    x = np.asarray(codes, dtype=np.float64)
    coef = [float(c) for c in scaling]
    while len(coef) > 1 and coef[-1] == 0.0:  # a linear scaling is two terms
        coef.pop()
    out = np.full(x.shape, coef[-1] if coef else 0.0)
    for c in reversed(coef[:-1]):  # Horner
        out *= x
        out += float(c)
    return out


def _same_bytes(a: np.ndarray, b: np.ndarray) -> bool:
    """Bit-identical arrays of one dtype and length (``-0.0`` differs from ``0.0``, as in a digest)."""
    if a.shape != b.shape:
        return False
    view = np.uint64 if a.dtype.itemsize == 8 else np.uint16 if a.dtype.itemsize == 2 else np.uint8
    return bool(np.array_equal(a.view(view), b.view(view)))


class _RowGate:
    """Walks one output's grant (segments in play order) over the samples fed for that output and
    releases samples only once the whole segment they belong to matched its granted digest."""

    def __init__(self, output: str, grant: Any, rate_hz: float, cache_bytes: int = 32 << 20) -> None:
        self.output = output
        self.grant = grant
        self.rate_hz = rate_hz
        # verified segments kept as private read-only copies: a repeat is compared with its copy byte for
        # byte (instead of digested again) and the copy is what plays
        self._cache: dict[int, np.ndarray] = {}
        self._cache_left = int(cache_bytes)
        self._order = ((i, k) for i, r in grant.order for k in range(r))  # lazily: an order may be long
        self._pos = 0  # samples of this row verified so far
        self._parts: list[np.ndarray] = []
        self._have = 0
        self._seg: int | None = None
        self.verified = 0
        self.ready: deque[np.ndarray] = deque()
        self.n_ready = 0
        self._next()

    def _next(self) -> None:
        nxt = next(self._order, None)
        self._seg = None if nxt is None else nxt[0]

    @property
    def done(self) -> bool:
        return self._seg is None and not self._parts

    def push(self, row: np.ndarray) -> None:
        k = 0
        while k < row.size:
            if self._seg is None:
                raise SafetyError(
                    f"output {self.output}: the feed goes on after the cleared play order ended at sample "
                    f"{self._pos} ({self._pos / self.rate_hz:.6g} s); nothing more is played",
                    quantity="clearance", channel=self.output, time_s=self._pos / self.rate_hz,
                )
            need = self.grant.segments[self._seg].n_samples - self._have
            take = row[k : k + need]
            self._parts.append(take)
            self._have += take.size
            k += take.size
            if self._have == self.grant.segments[self._seg].n_samples:
                self._close_segment()

    def _close_segment(self) -> None:
        from wavegen.safety.interlock import samples_digest

        assert self._seg is not None
        seg = np.concatenate(self._parts) if len(self._parts) > 1 else self._parts[0]
        want = self.grant.segments[self._seg]
        kept = self._cache.get(self._seg)
        if kept is not None and kept.dtype == seg.dtype and _same_bytes(kept, seg):
            seg = kept
        elif samples_digest(seg) != want.digest:
            t = self._pos / self.rate_hz
            raise SafetyError(
                f"output {self.output}: the samples fed at {t:.6g} s (sample {self._pos}, {seg.size} samples) are "
                f"not segment {self._seg} of the cleared play order (digest {want.digest[:12]}...); nothing of it "
                "was played",
                quantity="clearance", channel=self.output, time_s=t,
            )
        elif seg.nbytes <= self._cache_left:
            seg = np.array(seg, copy=True)
            seg.flags.writeable = False
            self._cache[self._seg] = seg
            self._cache_left -= seg.nbytes
        self.ready.append(seg)
        self.n_ready += seg.size
        self._pos += seg.size
        self.verified += 1
        self._parts, self._have = [], 0
        self._next()

    def next_is_kept(self, index: int) -> bool:
        """The cleared order plays segment ``index`` next, from its start, and it is verified and kept."""
        return not self._parts and self._seg == index and index in self._cache

    def push_kept(self) -> None:
        """Queue the kept, verified copy of the segment the order plays next (see :meth:`next_is_kept`)."""
        assert self._seg is not None and not self._parts
        seg = self._cache[self._seg]
        self.ready.append(seg)
        self.n_ready += seg.size
        self._pos += seg.size
        self.verified += 1
        self._next()

    def expect(self, index: int) -> None:
        """Refuse a fed segment index that is not the one the cleared order plays next."""
        if self._parts or self._seg != index:
            t = self._pos / self.rate_hz
            where = "the middle of a segment" if self._parts else f"segment {self._seg}"
            raise SafetyError(
                f"output {self.output}: the feed names segment {index} at {t:.6g} s (sample {self._pos}) where the "
                f"cleared order plays {where}; nothing of it was played",
                quantity="clearance", channel=self.output, time_s=t,
            )

    def pop(self, n: int) -> np.ndarray:
        out = []
        need = n
        while need:
            a = self.ready[0]
            if a.size <= need:
                out.append(self.ready.popleft())
                need -= a.size
            else:
                out.append(a[:need])
                self.ready[0] = a[need:]
                need = 0
        self.n_ready -= n
        return np.concatenate(out) if len(out) > 1 else out[0]


class NiDaq:
    """One NI-DAQmx board.

    Parameters
    ----------
    device : str
        DAQmx device name (``"Dev1"``).
    name : str or None
        The instrument's name in output ids (``output_id(0) == f"{name}/ao0"``, what clearances grant);
        default ``f"nidaq:{device}"``. The bench passes the instrument name of its configuration.
    ao_range_v, ai_range_v : float
        Symmetric output / input ranges, V.
    max_rate_hz : float or None
        Highest AO update rate to allow before any I/O (a further cap below the board's own limits).
    """

    def __init__(
        self,
        device: str = "Dev1",
        *,
        name: str | None = None,
        ao_range_v: float = 10.0,
        ai_range_v: float = 10.0,
        max_rate_hz: float | None = None,
    ) -> None:
        if not device or "/" in device:
            raise RangeError(f"device must be a DAQmx device name such as 'Dev1', got {device!r}")
        for label, v in (("ao_range_v", ao_range_v), ("ai_range_v", ai_range_v)):
            if not (math.isfinite(v) and v > 0):
                raise RangeError(f"{label} must be a finite positive voltage, got {v!r} V")
        if name is not None and (not isinstance(name, str) or not name.strip()):
            raise RangeError(f"name must be a non-empty string, got {name!r}")
        self.device = device
        self.name = name.strip() if name is not None else f"nidaq:{device}"
        self.ao_range_v = float(ao_range_v)
        self.ai_range_v = float(ai_range_v)
        # task names unique per adapter: two boards (or two adapters of one board) never clash
        self._task_prefix = f"wavegen-{device}-{next(_SERIAL)}"
        self._ao: Any = None
        self._ai: Any = None
        self._ai_n = 0
        self._ai_nch = 0
        self._ai_rate = 0.0
        self._used_ao: list[str] = []
        self._loaded: dict[int, tuple[str, float]] = {}
        self.plan: DaqPlan | None = None
        with self._daq(f"open {device}"):
            import nidaqmx.system

            dev = nidaqmx.system.Device(device)
            self.product_type = dev.product_type
            table = daq_boards.board(self.product_type)
            if table is None:
                ao_top = float(dev.ao_max_rate)
                table = DaqBoard(
                    self.product_type, n_ao=64, n_ai=256, ao_max_rate_hz=(ao_top,),
                    ai_max_single_hz=float(dev.ai_max_single_chan_rate),
                    ai_max_aggregate_hz=float(dev.ai_max_multi_chan_rate),
                    unverified=("read from the device",),
                )
        self.board: DaqBoard = table
        self.max_rate_hz = self.board.ao_limit_hz(1) if max_rate_hz is None else float(max_rate_hz)
        logger.info("NI-DAQmx %s (%s) as %r, AO up to %g S/s", device, self.product_type, self.name, self.max_rate_hz)

    def output_id(self, channel: int) -> str:
        """The name clearances grant this output under: ``f"{name}/ao{channel}"``."""
        return f"{self.name}/ao{int(channel)}"

    def __repr__(self) -> str:
        return f"NiDaq({self.device!r}, name={self.name!r}, {self.product_type})"

    # -- plumbing
    @contextlib.contextmanager
    def _daq(self, what: str, *, make_safe: bool = False) -> Iterator[None]:
        try:
            yield
        except Exception as exc:
            if make_safe:
                self._make_safe()
            if isinstance(exc, (InstrumentError, ValueError, SafetyError)):
                raise
            import nidaqmx.errors as nerr

            if isinstance(exc, (nerr.DaqError, nerr.DaqNotFoundError)):
                raise translate_daq_error(exc, what) from exc
            raise

    def _chan_numbers(self, channels: Sequence[int] | int, kind: str) -> list[int]:
        chans = [channels] if isinstance(channels, (int, np.integer)) else list(channels)
        if not chans:
            raise RangeError(f"{self.name}: need at least one {kind} channel")
        out = []
        for c in chans:
            if isinstance(c, bool) or not isinstance(c, (int, np.integer)) or c < 0:
                raise RangeError(f"{self.name}: {kind} channel numbers are integers >= 0, got {c!r}")
            out.append(int(c))
        if len(set(out)) != len(out):
            raise RangeError(f"{self.name}: {kind} channels repeat: {out}")
        return out

    def _phys(self, numbers: Sequence[int], kind: str) -> list[str]:
        return [f"{self.device}/{kind}{c}" for c in numbers]

    def _check_rate(self, rate: float, ao: Sequence[int] = (), ai: Sequence[int] = (), ai_rate: Any = None) -> float:
        r = float(rate)
        if not math.isfinite(r):
            raise NonFiniteError(f"{self.name}: sample_rate_hz = {rate!r} is not finite")
        if not 0 < r <= self.max_rate_hz:
            raise RangeError(f"{self.name}: sample rate {r} S/s outside 0..{self.max_rate_hz} S/s of {self.device}")
        self.board.check(
            self.name, ao_channels=tuple(ao), ai_channels=tuple(ai), ao_rate_hz=r if ao else None,
            ai_rate_hz=(r if ai_rate is None else float(ai_rate)) if ai else None,
        )
        return r

    @staticmethod
    def _as_2d(data: Any, n_ch: int, what: str) -> np.ndarray:
        a = np.asarray(data)
        if a.ndim == 1:
            a = a[np.newaxis, :]
        if a.ndim != 2 or a.shape[0] != n_ch or a.shape[1] < 2:
            raise ShapeError(f"{what} must have shape ({n_ch}, n >= 2) (channels, samples), got {np.shape(data)}")
        return a

    def _check_volts(self, data: Any, chans: Sequence[int], *, min_len: int = 2) -> np.ndarray:
        a = np.asarray(data)
        if a.ndim == 1:
            a = a[np.newaxis, :]
        if a.ndim != 2 or a.shape[0] != len(chans) or a.shape[1] < min_len:
            raise ShapeError(
                f"volts must have shape ({len(chans)}, n >= {min_len}) (channels, samples), got {np.shape(data)}"
            )
        if a.dtype.kind not in "fiu":
            raise ShapeError(f"volts must be real numbers, got dtype {a.dtype}")
        v = np.array(a, dtype=np.float64, order="C", copy=True)  # checked, digested and written: this copy
        if v.size == 0:
            return v
        lo, hi = float(v.min()), float(v.max())  # NaN propagates into both
        if math.isfinite(lo) and math.isfinite(hi) and -self.ao_range_v <= lo and hi <= self.ao_range_v:
            return v
        bad = np.argwhere(~np.isfinite(v))
        if bad.size:
            i, k = (int(x) for x in bad[0])
            raise NonFiniteError(f"volts[{i}, {k}] = {v[i, k]!r} ({self.output_id(chans[i])}) is not finite")
        out = np.argwhere(np.abs(v) > self.ao_range_v)
        if out.size:
            i, k = (int(x) for x in out[0])
            raise RangeError(
                f"{self.output_id(chans[i])}: {v[i, k]:.6g} V at sample {k} outside +-{self.ao_range_v} V"
            )
        return v

    # -- output
    def load(
        self,
        ao_channels: Sequence[int] | int,
        volts: Any,
        sample_rate_hz: float,
        *,
        clearance: Clearance,
        mode: str = "finite",
        start_trigger: str | None = None,
    ) -> DaqPlan:
        """Configure one hardware-timed AO task and write *volts* (shape (channels, samples)) to it.

        Before the first byte, every row must be granted by ``clearance`` to its output
        (:meth:`output_id`) as float64 volts at this rate, once (``mode="finite"``) or looped until stopped
        (``mode="regenerate"``, an ``endless`` grant).
        """
        chans = self._chan_numbers(ao_channels, "ao")
        self._check_mode(mode)
        v = self._check_volts(volts, chans)
        rate = self._check_rate(sample_rate_hz, ao=chans)
        self._grant_rows(clearance, chans, v, rate, mode)
        return self._load(chans, v, rate, mode, start_trigger, raw=False)

    def load_codes(
        self,
        ao_channels: Sequence[int] | int,
        codes: Any,
        sample_rate_hz: float,
        *,
        clearance: Clearance,
        mode: str = "finite",
        start_trigger: str | None = None,
    ) -> DaqPlan:
        """As :meth:`load` with raw int16 DAC codes (``AnalogUnscaledWriter.write_int16``); each row's grant
        names the codes exactly as passed."""
        chans = self._chan_numbers(ao_channels, "ao")
        self._check_mode(mode)
        c = self._as_2d(codes, len(chans), "codes")
        if c.dtype != np.int16:
            raise ShapeError(f"codes must be int16 (unscaled DAC codes), got dtype {c.dtype}")
        c = np.array(c, order="C", copy=True)  # digested and written: this copy, not the caller's array
        rate = self._check_rate(sample_rate_hz, ao=chans)
        self._grant_rows(clearance, chans, c, rate, mode)
        return self._load(chans, c, rate, mode, start_trigger, raw=True)

    @staticmethod
    def _check_mode(mode: str) -> None:
        if mode not in ("finite", "regenerate"):
            raise RangeError(f"mode must be 'finite' or 'regenerate', got {mode!r}")

    def _grant_rows(self, clearance: Clearance, chans: Sequence[int], data: np.ndarray, rate: float, mode: str) -> None:
        from wavegen.safety.interlock import samples_digest

        loaded = {}
        for i, ch in enumerate(chans):
            row = np.ascontiguousarray(data[i])
            _require(
                clearance, output=self.output_id(ch), samples=row, sample_rate_hz=rate, repeats=1,
                endless=mode == "regenerate",
            )
            loaded[ch] = (samples_digest(row), rate)
        self._loaded = loaded

    def _load(
        self, chans: list[int], data: np.ndarray, rate: float, mode: str, trig: str | None, *, raw: bool
    ) -> DaqPlan:
        self._check_trigger(trig)
        import nidaqmx
        from nidaqmx.constants import AcquisitionType, Edge, RegenerationMode

        phys = self._phys(chans, "ao")
        loaded = self._loaded
        if self._ao is not None or self._ai is not None:
            self._make_safe()  # a previous task may still be driving its last sample: back to 0 V first
        self._loaded = loaded
        n = int(data.shape[1])
        with self._daq("load AO task", make_safe=True):
            task = nidaqmx.Task(f"{self._task_prefix}-ao")
            self._ao = task
            self._used_ao = sorted(set(self._used_ao) | set(phys))
            task.ao_channels.add_ao_voltage_chan(",".join(phys), min_val=-self.ao_range_v, max_val=self.ao_range_v)
            acq = AcquisitionType.FINITE if mode == "finite" else AcquisitionType.CONTINUOUS
            task.timing.cfg_samp_clk_timing(rate, active_edge=Edge.RISING, sample_mode=acq, samps_per_chan=n)
            task.out_stream.regen_mode = (
                RegenerationMode.DONT_ALLOW_REGENERATION if mode == "finite" else RegenerationMode.ALLOW_REGENERATION
            )
            if trig is not None:
                task.triggers.start_trigger.cfg_dig_edge_start_trig(trig, trigger_edge=Edge.RISING)
            self._verify_clock(task, rate)
            written = self._writer(task, raw)(data, timeout=io_timeout_s(n / rate))
            if written != n:
                raise VerificationError(f"{self.device} accepted {written} of {n} samples per channel")
        self.plan = DaqPlan(tuple(phys), n, rate, mode, trig, raw)
        logger.info("%s: %d x %d samples at %g S/s loaded (%s)", self.name, len(phys), n, rate, mode)
        return self.plan

    @staticmethod
    def _check_trigger(trig: str | None) -> None:
        if trig is not None and not (isinstance(trig, str) and trig.startswith("/")):
            raise RangeError(f"start_trigger must be a terminal such as '/Dev1/PFI0', got {trig!r}")

    def _verify_clock(self, task: Any, rate: float) -> None:
        actual = float(task.timing.samp_clk_rate)
        if actual != rate:
            raise VerificationError(
                f"{self.device} runs its sample clock at {actual!r} S/s, not the requested {rate!r} S/s "
                "(choose a rate that divides the timebase)"
            )

    @staticmethod
    def _writer(task: Any, raw: bool) -> Callable[..., int]:
        from nidaqmx.stream_writers import AnalogMultiChannelWriter, AnalogUnscaledWriter

        if raw:
            return AnalogUnscaledWriter(task.out_stream, auto_start=False).write_int16
        return AnalogMultiChannelWriter(task.out_stream, auto_start=False).write_many_sample

    # -- input
    def configure_capture(
        self, ai_channels: Sequence[int] | int, n_samples: int, sample_rate_hz: float | None = None
    ) -> None:
        """Prepare an AI task that starts on the AO start trigger (same clock edge as output sample 0)."""
        if self.plan is None:
            raise InstrumentError("configure_capture() needs a loaded AO task (load() first)")
        chans = self._chan_numbers(ai_channels, "ai")
        if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) or n_samples < 2:
            raise RangeError(f"n_samples must be an integer >= 2, got {n_samples!r}")
        rate = self.plan.sample_rate_hz if sample_rate_hz is None else float(sample_rate_hz)
        if not (math.isfinite(rate) and rate > 0):
            raise RangeError(f"{self.name}: capture rate must be finite and > 0 S/s, got {rate!r}")
        self.board.check(self.name, ai_channels=chans, ai_rate_hz=rate)
        self._close_task("_ai")
        with self._daq("configure AI task", make_safe=True):
            self._ai = self._ai_task(chans, rate, int(n_samples))
        self._ai_n = int(n_samples)
        self._ai_nch = len(chans)
        self._ai_rate = rate

    def _ai_task(self, chans: Sequence[int], rate: float, n: int, buffer: int | None = None) -> Any:
        import nidaqmx
        from nidaqmx.constants import AcquisitionType, Edge

        task = nidaqmx.Task(f"{self._task_prefix}-ai")
        try:
            task.ai_channels.add_ai_voltage_chan(
                ",".join(self._phys(chans, "ai")), min_val=-self.ai_range_v, max_val=self.ai_range_v
            )
            task.timing.cfg_samp_clk_timing(rate, sample_mode=AcquisitionType.FINITE, samps_per_chan=n)
            if buffer is not None:
                task.in_stream.input_buf_size = buffer
            task.triggers.start_trigger.cfg_dig_edge_start_trig(
                f"/{self.device}/ao/StartTrigger", trigger_edge=Edge.RISING
            )
        except BaseException:
            with contextlib.suppress(Exception):
                task.close()
            raise
        return task

    # -- run
    def start(self, *, clearance: Clearance) -> None:
        """Start (input first, then output): the DAQ's output-on. ``clearance`` must grant every loaded
        output exactly what is loaded (digest and rate; looping for a regenerating task)."""
        if self._ao is None or self.plan is None:
            _require(clearance)
            raise InstrumentError("start() needs a loaded AO task")
        for ch, (digest, rate) in self._loaded.items():
            _require(
                clearance, output=self.output_id(ch), digest=digest, sample_rate_hz=rate, repeats=1,
                endless=self.plan.mode == "regenerate",
            )
        with self._daq("start", make_safe=True):
            if self._ai is not None:
                self._ai.start()
            self._ao.start()

    def wait(self, timeout_s: float | None = None) -> None:
        """Wait for a finite generation to finish; then drive the outputs back to 0 V.

        ``timeout_s`` defaults to :func:`io_timeout_s` of the loaded duration.
        """
        if self._ao is None or self.plan is None:
            raise InstrumentError("wait() without a running AO task")
        if timeout_s is None:
            if self.plan.mode == "regenerate":
                raise InstrumentError(f"{self.name}: a regenerating task plays until stop(); wait() would never end")
            timeout_s = io_timeout_s(self.plan.n_samples / self.plan.sample_rate_hz)
        with self._daq("wait for the generation", make_safe=True):
            self._ao.wait_until_done(timeout=timeout_s)
            self._ao.stop()
        self._zero_outputs()

    def read(self, timeout_s: float | None = None) -> np.ndarray:
        """The captured input samples, shape (ai channels, n_samples), volts. ``timeout_s`` defaults to
        :func:`io_timeout_s` of the capture's duration."""
        if self._ai is None:
            raise InstrumentError("read() needs configure_capture() first")
        from nidaqmx.stream_readers import AnalogMultiChannelReader

        if timeout_s is None:
            timeout_s = io_timeout_s(self._ai_n / self._ai_rate)
        buf = np.zeros((self._ai_nch, self._ai_n))
        with self._daq("read the capture", make_safe=True):
            AnalogMultiChannelReader(self._ai.in_stream).read_many_sample(buf, self._ai_n, timeout=timeout_s)
        return buf

    # -- streaming
    def stream(
        self,
        ao_channels: Sequence[int] | int,
        feed: Iterable[Any],
        sample_rate_hz: float,
        *,
        clearance: Clearance,
        capture_channels: Sequence[int] = (),
        capture_path: str | os.PathLike[str] | None = None,
        capture_dtype: str = "float64",
        buffer_s: float = 0.5,
        start_trigger: str | None = None,
        trigger_timeout_s: float = 60.0,
    ) -> StreamResult:
        """Play a feed of any length on ``ao_channels`` while it is produced, and capture inputs to a file.

        Parameters
        ----------
        ao_channels : int or sequence of int
            The AO channels, one row each in every fed chunk.
        feed : iterable of array, or of (segment index, array)
            Chunks of shape ``(len(ao_channels), k)`` (or ``(k,)`` for one channel), any ``k >= 1``, in play
            order: float volts (each row digested as float64, as :func:`wavegen.safety.interlock.require`
            does) or int16 DAC codes (written unscaled); every chunk of one stream of the same kind. The
            rows' concatenation is what plays, sample for sample. Chunk boundaries need not match segment
            boundaries. An item may instead be a pair ``(index, samples)`` naming the grants' segment it
            holds whole (``samples`` an array or a zero-argument callable that makes it): the index must be
            the one the cleared order plays next; a segment this stream verified before then plays from
            the adapter's own verified copy, and ``samples`` is neither made nor read.
        sample_rate_hz : float
            The sample clock of outputs and captured inputs.
        clearance : Clearance
            Must hold a grant for every output (:meth:`output_id`) at this rate; the stream plays one
            pass of each grant's play order (``order`` over ``segments``), and all outputs' passes must
            last equally long. Each output's samples are cut at the grant's segment boundaries and every
            segment's digest is checked against the segment the order names there *before any of its
            samples is written*: a segment that differs, a feed that runs past the order or ends before
            it, plays nothing further. Memory held: one output buffer plus the longest segment.
        capture_channels : sequence of int
            AI channels sampled on the same clock, started on the AO start trigger.
        capture_path : path or None
            Where the capture is written (a ``.npy`` file, memory-mapped; default: a new file in the
            temporary folder). No capture is held whole in memory.
        capture_dtype : str
            ``"float64"`` (default: the volts exactly as read), ``"float32"`` (half the disk traffic; its
            24-bit mantissa holds a 16-bit ADC's reading with room to spare) or ``"int16"`` (the ADC's codes
            as read, unscaled, a quarter of the traffic; ``StreamResult.capture_scaling`` holds each
            channel's device scaling, ``volts = c0 + c1 code + c2 code**2 + c3 code**3``, as DAQmx reports
            it (``AI.DevScalingCoeff``), and :func:`capture_volts` applies it).
        buffer_s : float
            Output buffer length in seconds of samples; it is filled before the start and then topped up
            a quarter at a time as it plays (four-part buffering), so the producer may fall up to about
            ``3 * buffer_s / 4`` behind before the output runs dry, and what the adapter holds at once stays
            a quarter buffer per channel (memory independent of the protocol's length).
        start_trigger : str or None
            Digital edge start trigger terminal (``"/Dev1/PFI0"``); default: start at once.
        trigger_timeout_s : float
            With a start trigger: how long the first write after the start may wait for the edge.

        Returns
        -------
        StreamResult

        Raises
        ------
        SafetyError
            A segment not granted (nothing of it is played; outputs end at 0 V).
        InstrumentError
            Underflow (the feed fell behind: DAQmx -200290 family), a disconnect, a feed that ended
            early, or Ctrl-C in the feed: the message names the time reached; every output used is
            driven to 0 V first (the message says if that could not be confirmed).
        RangeError, ShapeError
            Channels, rates or capture beyond the board's limits, before any I/O.
        """
        chans = self._chan_numbers(ao_channels, "ao")
        cap = self._chan_numbers(capture_channels, "ai") if len(capture_channels) else []
        rate = self._check_rate(sample_rate_hz, ao=chans, ai=cap)
        self._check_trigger(start_trigger)
        if not (isinstance(buffer_s, (int, float)) and math.isfinite(buffer_s) and buffer_s > 0):
            raise RangeError(f"buffer_s must be a finite time > 0 s, got {buffer_s!r}")
        outputs = tuple(self.output_id(c) for c in chans)
        gates = []
        for oid in outputs:
            _require(clearance, output=oid, sample_rate_hz=rate)
            gates.append(_RowGate(oid, clearance.grant(oid), rate))
        lengths = {g.output: g.grant.n_samples for g in gates}
        n = gates[0].grant.n_samples
        if len(set(lengths.values())) != 1:
            raise SafetyError(
                f"{self.name}: the grants of one stream must play equally long, got {lengths} samples",
                quantity="clearance",
            )
        block = int(min(n, max(256, round(rate * buffer_s / 4))))
        bufsize = int(min(n, 4 * block))
        if not (math.isfinite(trigger_timeout_s) and trigger_timeout_s > 0):
            raise RangeError(f"trigger_timeout_s must be a finite time > 0 s, got {trigger_timeout_s!r}")
        dt = np.dtype(capture_dtype).newbyteorder("<")
        if not (dt.kind == "f" and dt.itemsize in (4, 8) or dt.kind == "i" and dt.itemsize == 2):
            raise RangeError(f"capture_dtype must be float32, float64 or int16, got {capture_dtype!r}")
        s = _Stream(self, chans, cap, gates, rate, n, block, bufsize, start_trigger, capture_path)
        s.capture_dtype = dt
        s.trigger_timeout_s = float(trigger_timeout_s) if start_trigger is not None else 0.0
        return s.run(iter(feed))

    # -- the OutputInstrument protocol (drivers/protocol.py): what the bench calls ----------------------
    #: starting begins the generation
    waits_for_trigger = False

    def load_outputs(
        self,
        volts: Mapping[int, np.ndarray],
        sample_rate_hz: float,
        *,
        clearance: Clearance,
        full_scale_v: Mapping[int, float | None] | None = None,
        names: Mapping[int, str] | None = None,
    ) -> dict[int, bool]:
        """:meth:`load` the channels together (one finite task); the adapter checks every sample written
        and the sample clock, so each channel counts as verified."""
        chans = list(volts)
        self.load(chans, np.stack([volts[c] for c in chans]), sample_rate_hz, clearance=clearance, mode="finite")
        return dict.fromkeys(chans, True)

    def start_outputs(self, channels: Sequence[int], *, clearance: Clearance, trigger: str = "bus") -> None:
        """Start the loaded generation (and any capture configured on its clock)."""
        self.start(clearance=clearance)

    def trigger(self) -> None:
        """Nothing: the board started generating when started."""

    def finish(self, timeout_s: float | None = None) -> None:
        """:meth:`wait` until the generation has played."""
        self.wait(timeout_s)

    def outputs_off(self) -> None:
        """Every AO channel used to 0 V (:meth:`stop`)."""
        self.stop()

    def stop(self) -> None:
        """Stop everything and drive every AO channel used to 0 V."""
        self._make_safe()

    def close(self) -> None:
        """:meth:`stop` and release the tasks."""
        self._make_safe()

    def __enter__(self) -> NiDaq:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- safe state
    def _close_task(self, attr: str) -> None:
        task = getattr(self, attr)
        if task is None:
            return
        setattr(self, attr, None)
        with contextlib.suppress(Exception):
            task.stop()
        with contextlib.suppress(Exception):
            task.close()

    def _zero_outputs(self) -> None:
        if not self._used_ao:
            return
        import nidaqmx
        from nidaqmx.stream_writers import AnalogMultiChannelWriter

        self._close_task("_ao")
        with nidaqmx.Task(f"{self._task_prefix}-safe") as t:
            t.ao_channels.add_ao_voltage_chan(
                ",".join(self._used_ao), min_val=-self.ao_range_v, max_val=self.ao_range_v
            )
            AnalogMultiChannelWriter(t.out_stream, auto_start=True).write_one_sample(np.zeros(len(self._used_ao)))
        logger.info("%s: %s driven to 0 V", self.name, ", ".join(self._used_ao))

    def _make_safe(self) -> str | None:
        """Stop both tasks, release them, drive the used outputs to 0 V. Never raises; returns why the
        outputs could not be driven to 0 V, or ``None`` when they were."""
        self._close_task("_ai")
        self._close_task("_ao")
        self.plan = None
        self._loaded = {}
        try:
            self._zero_outputs()
        except Exception as exc:
            logger.error("%s: could not drive the outputs to 0 V: %s", self.name, exc)
            return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else exc!r}"
        return None


class _Stream:
    """One run of :meth:`NiDaq.stream` (state of the producer, the writer and the capture)."""

    def __init__(
        self, daq: NiDaq, chans: list[int], cap: list[int], gates: list[_RowGate], rate: float, n: int,
        block: int, bufsize: int, trig: str | None, capture_path: Any,
    ) -> None:
        self.daq, self.chans, self.cap, self.gates = daq, chans, cap, gates
        self.rate, self.n, self.block, self.bufsize, self.trig = rate, n, block, bufsize, trig
        self.capture_path = None if capture_path is None else Path(capture_path)
        self.written = 0
        self.captured = 0
        self.raw: bool | None = None
        self.feed_done = False
        self.started = False
        self.fd: int | None = None
        self.data_offset = 0
        self.trigger_timeout_s = 0.0
        self.capture_dtype = np.dtype("<f8")
        #: per captured channel, the device scaling of int16 codes to volts (int16 captures)
        self.scaling: tuple[tuple[float, ...], ...] = ()

    # -- producer side
    def _pull(self, feed: Iterator[Any]) -> bool:
        """Take one chunk from the feed into the gates; False when the feed is exhausted."""
        try:
            chunk = next(feed)
        except StopIteration:
            self.feed_done = True
            return False
        if isinstance(chunk, tuple) and len(chunk) == 2 and isinstance(chunk[0], (int, np.integer)):
            index, chunk = int(chunk[0]), chunk[1]
            if all(g.next_is_kept(index) for g in self.gates):
                for g in self.gates:  # verified before: its kept copy plays, the samples are not needed
                    g.push_kept()
                return True
            for g in self.gates:
                g.expect(index)
            if callable(chunk):
                chunk = chunk()
        a = np.asarray(chunk)
        if a.ndim == 1:
            a = a[np.newaxis, :]
        nch = len(self.chans)
        if a.ndim != 2 or a.shape[0] != nch:
            raise ShapeError(f"{self.daq.name}: fed chunks must have shape ({nch}, k), got {np.shape(chunk)}")
        raw = a.dtype == np.int16
        if self.raw is None:
            self.raw = raw
        elif raw != self.raw:
            kind = "int16 codes" if self.raw else "volts"
            raise ShapeError(f"{self.daq.name}: the stream started with {kind}; a chunk of dtype {a.dtype} follows")
        if not raw:
            a = self.daq._check_volts(a, self.chans, min_len=0)
        if raw:  # volts were copied by the check; codes here. What is digested is what is written.
            a = np.array(a, copy=True, order="C")
        for i, g in enumerate(self.gates):
            g.push(np.ascontiguousarray(a[i]))
        return True

    def _take(self, feed: Iterator[Any], want: int) -> np.ndarray | None:
        """Up to ``want`` verified samples per channel (fewer only at the end of the feed)."""
        while min(g.n_ready for g in self.gates) < want and not self.feed_done:
            self._pull(feed)
        k = min(min(g.n_ready for g in self.gates), want)
        if k == 0:
            return None
        return np.ascontiguousarray(np.vstack([g.pop(k) for g in self.gates]))

    # -- run
    def run(self, feed: Iterator[Any]) -> StreamResult:
        daq = self.daq
        try:
            first = self._take(feed, self.bufsize)
            if first is None:
                raise InstrumentError(f"{daq.name}: the feed is empty; nothing was played")
            self._open(first)
            self._start()
            while self.written < self.n:
                data = self._take(feed, min(self.block, self.n - self.written))
                if data is None:
                    break
                self._write(data)
                self._drain()
            if self.written < self.n:
                raise InstrumentError(
                    f"{daq.name}: the feed ended after {self.written} of {self.n} samples per output "
                    f"({self.written / self.rate:.6g} s of {self.n / self.rate:.6g} s)"
                )
            if not all(g.done for g in self.gates):  # pragma: no cover - lengths are equal by construction
                raise InstrumentError(f"{daq.name}: the play order was not completed")
            self._finish(feed)
        except BaseException as exc:
            new = self._fail(exc)
            if new is exc:
                raise
            raise new from exc
        safe = daq._make_safe()
        if safe is not None:
            raise InstrumentError(
                f"{daq.name}: the stream ended, but the outputs could not be confirmed at 0 V ({safe})"
            )
        self._close_file()
        cap = None
        if self.capture_path is not None and self.cap:
            cap = np.load(self.capture_path, mmap_mode="r")
        logger.info("%s: streamed %d samples x %d outputs at %g S/s", daq.name, self.n, len(self.chans), self.rate)
        return StreamResult(
            tuple(g.output for g in self.gates), self.n, self.rate, sum(g.verified for g in self.gates),
            self.bufsize, self.block, cap, self.capture_path if self.cap else None, self.scaling if self.cap else (),
        )

    def _open(self, first: np.ndarray) -> None:
        import nidaqmx
        from nidaqmx.constants import AcquisitionType, Edge, RegenerationMode

        daq = self.daq
        if daq._ao is not None or daq._ai is not None:
            daq._make_safe()
        phys = daq._phys(self.chans, "ao")
        with daq._daq("open the stream"):
            task = nidaqmx.Task(f"{daq._task_prefix}-ao")
            daq._ao = task
            daq._used_ao = sorted(set(daq._used_ao) | set(phys))
            task.ao_channels.add_ao_voltage_chan(",".join(phys), min_val=-daq.ao_range_v, max_val=daq.ao_range_v)
            task.timing.cfg_samp_clk_timing(
                self.rate, active_edge=Edge.RISING, sample_mode=AcquisitionType.FINITE, samps_per_chan=self.n
            )
            task.out_stream.output_buf_size = self.bufsize
            task.out_stream.regen_mode = RegenerationMode.DONT_ALLOW_REGENERATION
            if self.trig is not None:
                task.triggers.start_trigger.cfg_dig_edge_start_trig(self.trig, trigger_edge=Edge.RISING)
            daq._verify_clock(task, self.rate)
            assert self.raw is not None
            self.writer = daq._writer(task, self.raw)
            if self.cap:
                if self.capture_path is None:
                    fd, name = tempfile.mkstemp(prefix="wavegen-capture-", suffix=".npy")
                    os.close(fd)
                    self.capture_path = Path(name)
                # a .npy file (NumPy's header for a (channels, n) array); samples then go in with positioned
                # writes, so the capture occupies the page cache, not this process's memory. The file is
                # not sized up front: writing into a hole inside a file's length costs the file system
                # several times more than extending it; it gets its full length when it is closed.
                with open(self.capture_path, "wb") as f:
                    np.lib.format.write_array_header_1_0(
                        f, {"descr": np.lib.format.dtype_to_descr(self.capture_dtype), "fortran_order": False,
                            "shape": (len(self.cap), self.n)},
                    )
                    self.data_offset = f.tell()
                self.fd = os.open(self.capture_path, os.O_RDWR)
                daq._ai = daq._ai_task(self.cap, self.rate, self.n, buffer=int(min(self.n, 4 * self.block)))
                if self.capture_dtype.kind == "i":  # the ADC's codes as read, and how they become volts
                    from nidaqmx.stream_readers import AnalogUnscaledReader

                    self.reader = AnalogUnscaledReader(daq._ai.in_stream)
                    self.scaling = tuple(
                        tuple(float(c) for c in ch.ai_dev_scaling_coeff) for ch in daq._ai.ai_channels
                    )
                else:
                    from nidaqmx.stream_readers import AnalogMultiChannelReader

                    self.reader = AnalogMultiChannelReader(daq._ai.in_stream)
            for k in range(0, first.shape[1], self.block):  # prefill: the whole buffer before the start
                self._write(first[:, k : k + self.block])

    def _start(self) -> None:
        daq = self.daq
        with daq._daq("start the stream"):
            if daq._ai is not None:
                daq._ai.start()
            daq._ao.start()
        self.started = True

    def _write(self, data: np.ndarray) -> None:
        k = data.shape[1]
        with self.daq._daq("stream write"):
            # before the first sample has played, a triggered stream may still be waiting for its edge
            waiting = self.trigger_timeout_s if self.started and self._generated() == 0 else 0.0
            got = self.writer(data, timeout=io_timeout_s(self.bufsize / self.rate) + waiting)
        if got != k:
            raise VerificationError(f"{self.daq.device} accepted {got} of {k} samples per channel")
        self.written += k

    def _drain(self, *, final: bool = False) -> None:
        if self.fd is None:
            return
        ai = self.daq._ai
        with self.daq._daq("stream capture"):
            if final:
                avail = self.n - self.captured
            else:
                avail = min(int(ai.in_stream.avail_samp_per_chan), self.n - self.captured)
            raw = self.capture_dtype.kind == "i"
            while avail > 0:
                k = min(avail, self.block)
                buf = np.empty((len(self.cap), k), dtype=np.int16 if raw else np.float64)
                if raw:
                    self.reader.read_int16(buf, k, timeout=io_timeout_s(k / self.rate))
                else:
                    self.reader.read_many_sample(buf, k, timeout=io_timeout_s(k / self.rate))
                size = self.capture_dtype.itemsize
                for i in range(len(self.cap)):  # row i of the (channels, n) array, little-endian
                    pos = self.data_offset + (i * self.n + self.captured) * size
                    os.pwrite(self.fd, np.ascontiguousarray(buf[i], dtype=self.capture_dtype).data, pos)
                self.captured += k
                avail -= k

    def _finish(self, feed: Iterator[Any]) -> None:
        daq = self.daq
        # the play order is complete: the feed must not hold anything more
        extra = next(feed, None)
        if extra is not None and np.asarray(extra).size:
            for g in self.gates:
                g.push(np.zeros(1))  # raises the "goes on after the play order" SafetyError
        remaining = (self.n - self._generated()) / self.rate
        with daq._daq("wait for the stream to end"):
            self._drain()
            daq._ao.wait_until_done(timeout=io_timeout_s(remaining))
        self._drain(final=True)

    def _close_file(self) -> None:
        if self.fd is not None:
            fd, self.fd = self.fd, None
            with contextlib.suppress(OSError):  # the whole array's length (unread samples stay 0)
                os.ftruncate(fd, self.data_offset + len(self.cap) * self.n * self.capture_dtype.itemsize)
            with contextlib.suppress(OSError):
                os.close(fd)

    def _generated(self) -> int:
        ao = self.daq._ao
        if ao is None or not self.started:
            return 0
        try:
            return int(ao.out_stream.total_samp_per_chan_generated)
        except Exception:
            return self.written

    def _fail(self, exc: BaseException) -> BaseException:
        daq = self.daq
        generated = self._generated() if self.started else 0
        t = generated / self.rate
        total = self.n / self.rate
        safe = daq._make_safe()
        zero = "every output driven to 0 V" if safe is None else f"the outputs could NOT be confirmed at 0 V ({safe})"
        self._close_file()
        where = f"at {t:.6g} s of {total:.6g} s ({generated} of {self.n} samples played)"
        if isinstance(exc, SafetyError):
            logger.error("%s: stream refused %s; %s", daq.name, where, zero)
            return exc
        if isinstance(exc, KeyboardInterrupt):
            return InstrumentError(f"{daq.name}: stream interrupted (Ctrl-C) {where}; {zero}")
        cause = exc.__cause__ if isinstance(exc, InstrumentError) and exc.__cause__ is not None else exc
        code = getattr(cause, "error_code", None)
        if code in _UNDERFLOW_CODES:
            return InstrumentError(
                f"{daq.name}: output underflow: the feed fell behind the {self.rate:g} S/s sample clock and the "
                f"buffer ran dry {where} (DAQmx {code}); {zero}. Feed faster or raise buffer_s"
            )
        if isinstance(exc, InstrumentError):
            return type(exc)(f"{exc} (stream {where}; {zero})")
        if isinstance(exc, (ValueError, TypeError)):
            return exc
        return InstrumentError(f"{daq.name}: stream failed {where}: {exc!r}; {zero}")
