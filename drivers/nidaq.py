"""NI-DAQmx adapter: hardware-timed analog outputs (several channels, one task) and analog input capture.

Written against the real ``nidaqmx`` API (installed nidaqmx 1.x; NI examples
``analog_out/cont_gen_voltage_wfm_int_clk*.py`` and ``synchronization/multi_function/ai_ao_sync.py``;
docs/references/instruments.md §2):

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
- safe state: after a run, on :meth:`NiDaq.stop`, on close and on any failure every AO channel this
  adapter used is driven to 0 V with an on-demand write (finite generation leaves the output at its
  last sample otherwise).

Every start (the DAQ's output-on) and every load go through the safety interlock.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from wavegen.errors import (
    InstrumentError,
    InstrumentReportedError,
    InstrumentTimeoutError,
    NonFiniteError,
    RangeError,
    ShapeError,
    VerificationError,
)

from .base import require_clearance

__all__ = ["NiDaq", "DaqPlan", "translate_daq_error"]

logger = logging.getLogger(__name__)

_TIMEOUT_CODES = {-200560, -200284, -200474}


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


@dataclass(frozen=True)
class DaqPlan:
    """What is loaded on the AO task."""

    channels: tuple[str, ...]
    n_samples: int
    sample_rate_hz: float
    mode: str
    start_trigger: str | None
    raw_int16: bool


class NiDaq:
    """One NI-DAQmx board.

    Parameters
    ----------
    device : str
        DAQmx device name (``"Dev1"``).
    ao_range_v, ai_range_v : float
        Symmetric output / input ranges, V.
    max_rate_hz : float or None
        Highest AO update rate to allow before any I/O; default the device's ``ao_max_rate``.
    """

    def __init__(
        self,
        device: str = "Dev1",
        *,
        ao_range_v: float = 10.0,
        ai_range_v: float = 10.0,
        max_rate_hz: float | None = None,
    ) -> None:
        if not device or "/" in device:
            raise RangeError(f"device must be a DAQmx device name such as 'Dev1', got {device!r}")
        for label, v in (("ao_range_v", ao_range_v), ("ai_range_v", ai_range_v)):
            if not (math.isfinite(v) and v > 0):
                raise RangeError(f"{label} must be a finite positive voltage, got {v!r} V")
        self.device = device
        self.ao_range_v = float(ao_range_v)
        self.ai_range_v = float(ai_range_v)
        self._ao: Any = None
        self._ai: Any = None
        self._ai_n = 0
        self._ai_nch = 0
        self._used_ao: list[str] = []
        self.plan: DaqPlan | None = None
        with self._daq(f"open {device}"):
            import nidaqmx.system

            dev = nidaqmx.system.Device(device)
            self.product_type = dev.product_type
            self.max_rate_hz = float(dev.ao_max_rate) if max_rate_hz is None else float(max_rate_hz)
        logger.info("NI-DAQmx %s (%s), AO up to %g S/s", device, self.product_type, self.max_rate_hz)

    # -- plumbing
    @contextlib.contextmanager
    def _daq(self, what: str, *, make_safe: bool = False) -> Iterator[None]:
        try:
            yield
        except Exception as exc:
            if make_safe:
                self._make_safe()
            if isinstance(exc, (InstrumentError, ValueError)):
                raise
            import nidaqmx.errors as nerr

            if isinstance(exc, (nerr.DaqError, nerr.DaqNotFoundError)):
                raise translate_daq_error(exc, what) from exc
            raise

    def _phys(self, channels: Sequence[int] | int, kind: str) -> list[str]:
        chans = [channels] if isinstance(channels, (int, np.integer)) else list(channels)
        if not chans:
            raise RangeError(f"need at least one {kind} channel")
        out = []
        for c in chans:
            if isinstance(c, bool) or not isinstance(c, (int, np.integer)) or c < 0:
                raise RangeError(f"{kind} channel numbers are integers >= 0, got {c!r}")
            out.append(f"{self.device}/{kind}{int(c)}")
        if len(set(out)) != len(out):
            raise RangeError(f"{kind} channels repeat: {out}")
        return out

    def _check_rate(self, rate: float) -> float:
        r = float(rate)
        if not math.isfinite(r):
            raise NonFiniteError(f"sample_rate_hz = {rate!r} is not finite")
        if not 0 < r <= self.max_rate_hz:
            raise RangeError(f"sample rate {r} S/s outside 0..{self.max_rate_hz} S/s of {self.device}")
        return r

    @staticmethod
    def _as_2d(data: Any, n_ch: int, what: str) -> np.ndarray:
        a = np.asarray(data)
        if a.ndim == 1:
            a = a[np.newaxis, :]
        if a.ndim != 2 or a.shape[0] != n_ch or a.shape[1] < 2:
            raise ShapeError(f"{what} must have shape ({n_ch}, n >= 2) (channels, samples), got {np.shape(data)}")
        return a

    # -- output
    def load(
        self,
        ao_channels: Sequence[int] | int,
        volts: Any,
        sample_rate_hz: float,
        *,
        clearance: Any,
        mode: str = "finite",
        start_trigger: str | None = None,
    ) -> DaqPlan:
        """Configure one hardware-timed AO task and write *volts* (shape (channels, samples)) to it."""
        require_clearance(clearance)
        phys = self._phys(ao_channels, "ao")
        v = self._as_2d(volts, len(phys), "volts")
        if v.dtype.kind not in "fiu":
            raise ShapeError(f"volts must be real numbers, got dtype {v.dtype}")
        v = np.ascontiguousarray(v, dtype=np.float64)
        bad = np.argwhere(~np.isfinite(v))
        if bad.size:
            i, k = (int(x) for x in bad[0])
            raise NonFiniteError(f"volts[{i}, {k}] = {v[i, k]!r} ({phys[i]}) is not finite")
        out = np.argwhere(np.abs(v) > self.ao_range_v)
        if out.size:
            i, k = (int(x) for x in out[0])
            raise RangeError(f"{phys[i]}: {v[i, k]:.6g} V at sample {k} outside +-{self.ao_range_v} V")
        return self._load(phys, v, self._check_rate(sample_rate_hz), mode, start_trigger, raw=False)

    def load_codes(
        self,
        ao_channels: Sequence[int] | int,
        codes: Any,
        sample_rate_hz: float,
        *,
        clearance: Any,
        mode: str = "finite",
        start_trigger: str | None = None,
    ) -> DaqPlan:
        """As :meth:`load` with raw int16 DAC codes (``AnalogUnscaledWriter.write_int16``)."""
        require_clearance(clearance)
        phys = self._phys(ao_channels, "ao")
        c = self._as_2d(codes, len(phys), "codes")
        if c.dtype != np.int16:
            raise ShapeError(f"codes must be int16 (unscaled DAC codes), got dtype {c.dtype}")
        return self._load(
            phys, np.ascontiguousarray(c), self._check_rate(sample_rate_hz), mode, start_trigger, raw=True
        )

    def _load(
        self, phys: list[str], data: np.ndarray, rate: float, mode: str, trig: str | None, *, raw: bool
    ) -> DaqPlan:
        if mode not in ("finite", "regenerate"):
            raise RangeError(f"mode must be 'finite' or 'regenerate', got {mode!r}")
        if trig is not None and not (isinstance(trig, str) and trig.startswith("/")):
            raise RangeError(f"start_trigger must be a terminal such as '/Dev1/PFI0', got {trig!r}")
        import nidaqmx
        from nidaqmx.constants import AcquisitionType, Edge, RegenerationMode
        from nidaqmx.stream_writers import AnalogMultiChannelWriter, AnalogUnscaledWriter

        if self._ao is not None or self._ai is not None:
            self._make_safe()  # a previous task may still be driving its last sample: back to 0 V first
        n = int(data.shape[1])
        with self._daq("load AO task", make_safe=True):
            task = nidaqmx.Task("wavegen-ao")
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
            actual = float(task.timing.samp_clk_rate)
            if actual != rate:
                raise VerificationError(
                    f"{self.device} runs its sample clock at {actual!r} S/s, not the requested {rate!r} S/s "
                    "(choose a rate that divides the timebase)"
                )
            if raw:
                written = AnalogUnscaledWriter(task.out_stream, auto_start=False).write_int16(data)
            else:
                written = AnalogMultiChannelWriter(task.out_stream, auto_start=False).write_many_sample(data)
            if written != n:
                raise VerificationError(f"{self.device} accepted {written} of {n} samples per channel")
        self.plan = DaqPlan(tuple(phys), n, rate, mode, trig, raw)
        logger.info("%s: %d x %d samples at %g S/s loaded (%s)", self.device, len(phys), n, rate, mode)
        return self.plan

    # -- input
    def configure_capture(
        self, ai_channels: Sequence[int] | int, n_samples: int, sample_rate_hz: float | None = None
    ) -> None:
        """Prepare an AI task that starts on the AO start trigger (same clock edge as output sample 0)."""
        if self.plan is None:
            raise InstrumentError("configure_capture() needs a loaded AO task (load() first)")
        phys = self._phys(ai_channels, "ai")
        if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) or n_samples < 2:
            raise RangeError(f"n_samples must be an integer >= 2, got {n_samples!r}")
        rate = self.plan.sample_rate_hz if sample_rate_hz is None else float(sample_rate_hz)
        import nidaqmx
        from nidaqmx.constants import AcquisitionType, Edge

        self._close_task("_ai")
        with self._daq("configure AI task", make_safe=True):
            task = nidaqmx.Task("wavegen-ai")
            self._ai = task
            task.ai_channels.add_ai_voltage_chan(",".join(phys), min_val=-self.ai_range_v, max_val=self.ai_range_v)
            task.timing.cfg_samp_clk_timing(rate, sample_mode=AcquisitionType.FINITE, samps_per_chan=int(n_samples))
            task.triggers.start_trigger.cfg_dig_edge_start_trig(
                f"/{self.device}/ao/StartTrigger", trigger_edge=Edge.RISING
            )
        self._ai_n = int(n_samples)
        self._ai_nch = len(phys)

    # -- run
    def start(self, *, clearance: Any) -> None:
        """Start (input first, then output): the DAQ's output-on. Needs a valid clearance."""
        require_clearance(clearance)
        if self._ao is None:
            raise InstrumentError("start() needs a loaded AO task")
        with self._daq("start", make_safe=True):
            if self._ai is not None:
                self._ai.start()
            self._ao.start()

    def wait(self, timeout_s: float = 10.0) -> None:
        """Wait for a finite generation to finish; then drive the outputs back to 0 V."""
        if self._ao is None:
            raise InstrumentError("wait() without a running AO task")
        with self._daq("wait for the generation", make_safe=True):
            self._ao.wait_until_done(timeout=timeout_s)
            self._ao.stop()
        self._zero_outputs()

    def read(self, timeout_s: float = 10.0) -> np.ndarray:
        """The captured input samples, shape (ai channels, n_samples), volts."""
        if self._ai is None:
            raise InstrumentError("read() needs configure_capture() first")
        from nidaqmx.stream_readers import AnalogMultiChannelReader

        buf = np.zeros((self._ai_nch, self._ai_n))
        with self._daq("read the capture", make_safe=True):
            AnalogMultiChannelReader(self._ai.in_stream).read_many_sample(buf, self._ai_n, timeout=timeout_s)
        return buf

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
        with nidaqmx.Task("wavegen-safe") as t:
            t.ao_channels.add_ao_voltage_chan(
                ",".join(self._used_ao), min_val=-self.ao_range_v, max_val=self.ao_range_v
            )
            AnalogMultiChannelWriter(t.out_stream, auto_start=True).write_one_sample(np.zeros(len(self._used_ao)))
        logger.info("%s: %s driven to 0 V", self.device, ", ".join(self._used_ao))

    def _make_safe(self) -> None:
        """Stop both tasks, release them, drive the used outputs to 0 V. Never raises."""
        self._close_task("_ai")
        self._close_task("_ao")
        self.plan = None
        try:
            self._zero_outputs()
        except Exception as exc:
            logger.error("%s: could not drive the outputs to 0 V: %s", self.device, exc)
