"""A fake NI-DAQmx device behind the real ``nidaqmx`` Python API.

NI-DAQmx cannot run without NI's driver. Instead of faking wavegen's adapter, this module fakes the
layer *under* nidaqmx: the interpreter (``nidaqmx._base_interpreter.BaseInterpreter``) that turns every
``nidaqmx.Task`` call into a C call. :meth:`FakeDaq.install` replaces ``nidaqmx.utils._select_interpreter``
(the hook NI's own unit tests patch, ni/nidaqmx-python ``tests/unit/conftest.py``), so the real
``Task``, channel collections, timing, triggers and stream writers/readers run unchanged and reach a
simulated device that enforces DAQmx's rules and raises :class:`nidaqmx.errors.DaqError` with DAQmx's
own error codes:

- unknown device or channel: ``PHYSICAL_CHAN_DOES_NOT_EXIST`` (-200170); a range the device does not
  have: ``INVALID_ATTRIBUTE_VALUE`` (-200077); min >= max: ``MIN_NOT_LESS_THAN_MAX`` (-200082);
  a task name already in use: ``DUPLICATE_TASK`` (-200089);
- a multi-sample write without a configured buffer: ``WRITE_FAILS_BUFFER_SIZE_AUTO_CONFIGURED`` (-200547);
  a value outside the channel range: ``INVALID_AO_DATA_WRITE`` (-200561); writing more than a finite
  task will generate: ``SAMPLES_WILL_NEVER_BE_GENERATED`` (-200288); no room in the buffer within the
  write's timeout: ``SAMPLES_CAN_NOT_YET_BE_WRITTEN`` (-200292);
- start without data: ``OUTPUT_BUFFER_EMPTY`` (-200462); a rate above the device maximum for that many
  channels (AO by channel count, AI single-channel and multi-channel aggregate):
  ``SAMP_RATE_TOO_HIGH`` (-200332); a channel used by another running task: ``PAL_RESOURCE_RESERVED``
  (-50103);
- a non-regenerating output whose buffer runs dry before the last sample (the writer fell behind):
  ``GEN_STOPPED_TO_PREVENT_REGEN_OF_OLD_SAMPLES`` (-200290; the onboard FIFO's -200621 with
  ``underflow=``), raised by the next call on the task,
  including stop; waiting on an unfinished task: ``WAIT_UNTIL_DONE_DOES_NOT_INDICATE_DONE`` (-200560);
  reading samples not acquired within the timeout: ``SAMPLES_NOT_YET_AVAILABLE`` (-200284); reading
  samples already overwritten in the input buffer: ``SAMPLES_NO_LONGER_AVAILABLE`` (-200279);
- a board that drops off the bus (:meth:`FakeDaq.disconnect`): ``DEV_CANNOT_BE_ACCESSED`` (-201003).

Time: a generation of *n* samples at rate *r* lasts *n / r* seconds. By default the fake runs in wall-clock
time (a wait really waits, a write into a full buffer blocks until the board has played enough); with
``virtual_time=True`` the clock jumps instead of sleeping (waits, blocked writes and reads move it to
the moment the condition holds; :meth:`FakeDaq.advance` moves it on, e.g. to model a producer that
stalls), so a 10-minute protocol plays in CI in seconds, with the same underflow rules.

The sample clock is coerced like DAQmx does, to the timebase (100 MHz) divided by an integer. Analog
inputs see the analog outputs through a device-under-test function (default: a wire from aoK to aiK),
applied to each block as it is written (a streamed generation) or to the whole buffer (a buffer written
before the start). After a generation the output holds its last sample, as real hardware does; the
adapter must drive it back to 0 V. What was played is recorded in :attr:`FakeDaq.played`.

Only one fake DAQ may be installed in a process at a time (the hook is process-wide): a second
concurrent :meth:`~FakeDaq.install` is refused with a clear error, the original hook is restored on exit,
and tasks made through a fake that was uninstalled fail with a clear error instead of reaching it.
"""

from __future__ import annotations

import contextlib
import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from wavegen.errors import InstrumentError, RangeError

from ..daq_boards import BOARDS

__all__ = ["FakeDevice", "FakeDaq", "PCIE_6363"]

# nidaqmx enum values (nidaqmx.constants), kept as ints: the interpreter receives ints
_FINITE, _CONTINUOUS = 10178, 10123
_ALLOW_REGEN, _DONT_ALLOW_REGEN = 10097, 10158

_INSTALL_LOCK = threading.Lock()
_ACTIVE: dict[str, Any] = {}


@dataclass(frozen=True)
class FakeDevice:
    """One simulated DAQ board.

    ``ao_max_rate_hz[k]`` is the highest update rate with ``k + 1`` AO channels in one task; AI rates:
    ``ai_max_rate_hz`` with one channel, ``ai_max_aggregate_hz`` summed over several. Defaults: the
    PCIe-6363 row of :data:`wavegen.drivers.daq_boards.BOARDS` (see there what is verified).
    """

    name: str = "Dev1"
    product_type: str = "PCIe-6363"
    n_ao: int = 4
    n_ai: int = 32
    ao_range_v: float = 10.0
    ai_range_v: float = 10.0
    ao_max_rate_hz: tuple[float, ...] = BOARDS["pcie-6363"].ao_max_rate_hz
    ao_min_rate_hz: float = 0.023
    ai_max_rate_hz: float = BOARDS["pcie-6363"].ai_max_single_hz
    ai_max_aggregate_hz: float = BOARDS["pcie-6363"].ai_max_aggregate_hz
    timebase_hz: float = 100e6

    @classmethod
    def of(cls, model: str, name: str = "Dev1") -> FakeDevice:
        """A fake board with the limits of ``model`` from :data:`wavegen.drivers.daq_boards.BOARDS`."""
        b = BOARDS.get(model.lower())
        if b is None:
            raise RangeError(f"no fake DAQ for model {model!r}; known: {', '.join(x.model for x in BOARDS.values())}")
        return cls(
            name=name, product_type=b.model, n_ao=b.n_ao, n_ai=b.n_ai, ao_range_v=b.ao_range_v,
            ai_range_v=b.ai_range_v, ao_max_rate_hz=b.ao_max_rate_hz, ai_max_rate_hz=b.ai_max_single_hz,
            ai_max_aggregate_hz=b.ai_max_aggregate_hz, timebase_hz=b.timebase_hz,
        )


PCIE_6363 = FakeDevice()


def _err(code_name: str, message: str, task_name: str = "") -> Exception:
    from nidaqmx.error_codes import DAQmxErrors
    from nidaqmx.errors import DaqError

    return DaqError(message, DAQmxErrors[code_name].value, task_name=task_name)


_UNDERFLOW_MSG = {
    "GEN_STOPPED_TO_PREVENT_REGEN_OF_OLD_SAMPLES": (
        "The generation has stopped to prevent the regeneration of old samples. Your application was unable "
        "to write samples to the background buffer fast enough to prevent old samples from being regenerated."
    ),
    "OUTPUT_FIFO_UNDERFLOW_2": (
        "Onboard device memory underflow. Because of system and/or bus-bandwidth limitations, the driver could "
        "not write data to the device fast enough to keep up with the device output rate."
    ),
}


class _Clock:
    def __init__(self, virtual: bool) -> None:
        self.virtual = virtual
        self._t = 0.0

    def now(self) -> float:
        return self._t if self.virtual else time.monotonic()

    def wait_until(self, target: float, timeout: float) -> bool:
        """Let time pass until ``target`` or for ``timeout`` s, whichever is first; True if target reached."""
        now = self.now()
        if target <= now:
            return True
        reach = target - now <= timeout
        dt = target - now if reach else max(0.0, timeout)
        if self.virtual:
            self._t = now + dt
        else:
            time.sleep(dt)
        return reach


@dataclass
class _Task:
    handle: str
    name: str
    kind: str = ""
    chans: list[str] = field(default_factory=list)
    min_v: float = -10.0
    max_v: float = 10.0
    rate_hz: float | None = None
    mode: int = _FINITE
    samps: int = 0
    bufsize: int | None = None
    regen: int = _ALLOW_REGEN
    trigger: str | None = None
    buffer: np.ndarray | None = None  # AO: everything written before the start (a regenerated buffer)
    written: int = 0
    started: bool = False
    running: bool = False
    done: bool = False
    t0: float | None = None
    streamed: bool = False
    error: Exception | None = None
    record: list[np.ndarray] = field(default_factory=list)
    last: np.ndarray | None = None
    linked: list[_Task] = field(default_factory=list)
    acquired: np.ndarray | None = None  # AI: a whole acquisition (not streamed)
    pending: deque[np.ndarray] = field(default_factory=deque)  # AI streamed: what the inputs saw
    #: AO streamed: the device under test for this generation (with memory), or None for FakeDaq.dut
    responder: Callable[[float, dict[str, np.ndarray]], dict[str, np.ndarray]] | None = None
    read: int = 0
    finalized: bool = False


class FakeDaq:
    """Simulated DAQ devices reachable through the real nidaqmx API while :meth:`install` is active.

    Parameters
    ----------
    devices : sequence of FakeDevice
        The boards present.
    dut : callable, optional
        ``dut(rate_hz, {"Dev1/ao0": volts, ...}) -> {"Dev1/ai0": volts, ...}``: what the analog inputs
        see while the outputs play. Default: a wire from ``aoK`` to ``aiK`` of the same device.
    auto_trigger : bool
        When True, a task waiting for an external PFI trigger starts at once (a bench with its trigger
        source running); when False it waits for :meth:`fire`.
    virtual_time : bool
        False (default): generations take their real duration. True: the clock jumps (see module doc).
    record : bool
        Keep every played sample in :attr:`played` (default True; switch off for very long plays:
        :attr:`played_samples` still counts them).
    stream_dut : callable, optional
        ``stream_dut(rate_hz) -> dut``: a device under test with memory for one streamed generation; the
        returned callable is then given the written blocks in order (its filters carry their state from
        one block to the next). Default: ``dut`` for every block.
    underflow : str
        The DAQmx error a non-regenerating output that runs dry raises: the host buffer
        (``"GEN_STOPPED_TO_PREVENT_REGEN_OF_OLD_SAMPLES"``, -200290, default) or the onboard FIFO
        (``"OUTPUT_FIFO_UNDERFLOW_2"``, -200621).
    """

    def __init__(
        self,
        devices: Sequence[FakeDevice] = (PCIE_6363,),
        *,
        dut: Callable[[float, dict[str, np.ndarray]], dict[str, np.ndarray]] | None = None,
        auto_trigger: bool = False,
        virtual_time: bool = False,
        record: bool = True,
        underflow: str = "GEN_STOPPED_TO_PREVENT_REGEN_OF_OLD_SAMPLES",
        stream_dut: Callable[[float], Callable[[float, dict[str, np.ndarray]], dict[str, np.ndarray]]] | None = None,
    ) -> None:
        if underflow not in _UNDERFLOW_MSG:
            raise RangeError(f"underflow must be one of {', '.join(_UNDERFLOW_MSG)}, got {underflow!r}")
        self.underflow = underflow
        self.devices = {d.name.lower(): d for d in devices}
        self.dut = dut or self._wire
        self.stream_dut = stream_dut
        self.auto_trigger = auto_trigger
        self.clock = _Clock(virtual_time)
        self.record = record
        self.tasks: dict[str, _Task] = {}
        self.outputs_v: dict[str, float] = {}
        #: (rate, {channel: volts}) of every generation, in order (a regenerated buffer once)
        self.played: list[tuple[float, dict[str, np.ndarray]]] = []
        #: samples per channel played by every generation, in order
        self.played_samples: list[int] = []
        self.calls: list[str] = []
        self._n = 0
        self._last_chan = ""
        self._gone: dict[str, bool] = {}
        self._lock = threading.RLock()
        self.installed = False
        self.closed = False

    # -- installation ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def install(self) -> Iterator[FakeDaq]:
        """Route every ``nidaqmx.Task`` / ``nidaqmx.system.Device`` created inside to this fake.

        Raises
        ------
        InstrumentError
            Another fake DAQ is installed in this process (a second mock bench in another thread).
        """
        import nidaqmx.utils

        with _INSTALL_LOCK:
            other = _ACTIVE.get("fake")
            if other is not None:
                raise InstrumentError(
                    f"a fake NI-DAQ is already installed in this process (by thread {_ACTIVE['thread']!r}); "
                    "nidaqmx's interpreter hook is process-wide, so only one mock bench with a DAQ may run at a "
                    "time: close the other one first"
                )
            original = nidaqmx.utils._select_interpreter
            interp = _FakeInterpreter(self)

            def select(grpc_options: Any = None, interpreter: Any = None) -> Any:
                return interpreter or interp

            nidaqmx.utils._select_interpreter = select
            _ACTIVE.update(fake=self, thread=threading.current_thread().name, original=original)
            self.installed, self.closed = True, False
        try:
            yield self
        finally:
            with _INSTALL_LOCK:
                nidaqmx.utils._select_interpreter = original
                _ACTIVE.clear()
                self.installed, self.closed = False, True

    # -- faults and time -------------------------------------------------------------------------
    def disconnect(self, device: str = "Dev1", *, permanent: bool = False) -> None:
        """The board drops off the bus: the next call on it fails with DAQmx -201003 and a running task
        dies. ``permanent=False``: it is back for the next task (a glitch); True: every later call fails."""
        self._gone[device.lower()] = permanent

    def advance(self, seconds: float) -> None:
        """Move the virtual clock on by ``seconds`` (a producer that stalls). Virtual time only."""
        if not self.clock.virtual:
            raise RangeError("advance() needs FakeDaq(virtual_time=True); in wall-clock time, sleep instead")
        if not (math.isfinite(seconds) and seconds >= 0):
            raise RangeError(f"advance() needs a finite time >= 0 s, got {seconds!r}")
        with self._lock:
            self.clock._t += float(seconds)

    def now(self) -> float:
        """The fake's clock (s): virtual, or ``time.monotonic()``."""
        return self.clock.now()

    # -- simulated world --------------------------------------------------------------------------
    @staticmethod
    def _wire(rate_hz: float, ao: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {k.replace("/ao", "/ai"): v.copy() for k, v in ao.items()}

    def fire(self, terminal: str) -> None:
        """A rising edge on *terminal* (e.g. ``"/Dev1/PFI0"``): starts the tasks waiting for it."""
        with self._lock:
            self._event(terminal.lower())

    def _event(self, terminal: str) -> None:
        for t in list(self.tasks.values()):
            if t.started and not t.running and not t.done and t.trigger is not None and t.trigger.lower() == terminal:
                self._run(t)

    def _run(self, t: _Task) -> None:
        t.running = True
        t.t0 = self.clock.now()
        dev = t.chans[0].split("/")[0]
        if t.kind == "ao":
            assert t.rate_hz is not None
            waiting = [
                a for a in self.tasks.values()
                if a.kind == "ai" and a.started and not a.running and a.trigger is not None
                and a.trigger.lower() == f"/{dev}/ao/starttrigger".lower()
            ]
            t.streamed = t.regen == _DONT_ALLOW_REGEN and (t.mode == _CONTINUOUS or t.written < t.samps)
            if not t.streamed:
                assert t.buffer is not None
                wave = {c: t.buffer[i].copy() for i, c in enumerate(t.chans)}
                if t.mode != _FINITE:  # regenerating: the buffer loops; recorded once
                    self.played.append((t.rate_hz, wave))
                    self.played_samples.append(t.buffer.shape[1])
                seen = self.dut(t.rate_hz, wave)
                for a in waiting:
                    a.running, a.t0 = True, t.t0
                    self._acquire(a, t.rate_hz, seen, t.mode)
            else:
                t.responder = self.stream_dut(t.rate_hz) if self.stream_dut is not None else self.dut
                for a in waiting:
                    if a.rate_hz != t.rate_hz:
                        raise NotImplementedError("the fake DAQ streams inputs on the output's sample clock only")
                    a.running, a.t0 = True, t.t0
                    t.linked.append(a)
                    for blk in t.record if self.record else ([] if t.buffer is None else [t.buffer]):
                        for k in range(0, blk.shape[1], 1 << 16):  # in pieces: the device's memory carries
                            self._see(t, a, blk[:, k : k + (1 << 16)])
                if not self.record and t.buffer is not None:
                    t.buffer = None
            self._event(f"/{dev}/ao/starttrigger".lower())
        else:
            self._event(f"/{dev}/ai/starttrigger".lower())
            # no generation started together with this acquisition: the inputs see the static outputs
            if t.trigger is None or "ao/starttrigger" not in t.trigger.lower():
                static = {c: np.full(1, v) for c, v in self.outputs_v.items()}
                seen = self.dut(t.rate_hz or 1.0, static)
                self._acquire(t, t.rate_hz or 1.0, seen, _CONTINUOUS)

    def _see(self, ao: _Task, ai: _Task, block: np.ndarray) -> None:
        assert ao.rate_hz is not None
        respond = ao.responder if ao.responder is not None else self.dut
        seen = respond(ao.rate_hz, {c: block[i] for i, c in enumerate(ao.chans)})
        k = block.shape[1]
        out = np.zeros((len(ai.chans), k))
        for i, c in enumerate(ai.chans):
            src = seen.get(c)
            if src is not None and src.size:
                np.clip(src[:k], ai.min_v, ai.max_v, out=out[i])
        ai.pending.append(out)

    def _acquire(self, a: _Task, ao_rate_hz: float, seen: dict[str, np.ndarray], ao_mode: int) -> None:
        assert a.rate_hz is not None
        n = a.samps
        out = np.zeros((len(a.chans), n))
        k = np.arange(n)
        for i, c in enumerate(a.chans):
            src = seen.get(c)
            if src is None or src.size == 0:
                continue
            # input sample k at time k / ai_rate sees output sample floor(k * ao_rate / ai_rate)
            idx = np.floor(k * (ao_rate_hz / a.rate_hz) + 1e-9).astype(np.int64)
            if ao_mode == _FINITE:
                vals = np.where(idx < src.size, src[np.minimum(idx, src.size - 1)], src[-1])
            else:
                vals = src[idx % src.size]
            out[i] = np.clip(vals, a.min_v, a.max_v)
        a.acquired = out

    # -- the clock applied to a task
    def _generated(self, t: _Task) -> int:
        if t.t0 is None or t.rate_hz is None:
            return 0
        g = math.floor((self.clock.now() - t.t0) * t.rate_hz + 1e-9)
        if t.kind == "ao" and t.mode == _CONTINUOUS and t.regen == _ALLOW_REGEN:
            return max(0, g)
        return max(0, min(g, t.samps if t.mode == _FINITE else g))

    def _update(self, t: _Task) -> None:
        """Bring an AO task to the present: done, or stopped by an underflow."""
        if t.kind != "ao" or not t.running or t.rate_hz is None:
            if t.kind == "ai" and t.running and t.rate_hz is not None and self._generated(t) >= t.samps:
                t.done = True
            return
        if t.mode == _CONTINUOUS and t.regen == _ALLOW_REGEN:
            return
        g = self._generated(t)
        total = t.samps if t.mode == _FINITE else math.inf
        if g >= t.written and t.written < total:
            t.error = _err(self.underflow, _UNDERFLOW_MSG[self.underflow], t.name)
            self._finalize(t, t.written)
            t.running = False
        elif g >= total:
            t.done = True
            t.running = False
            self._finalize(t, int(total))

    def _finalize(self, t: _Task, n_played: int) -> None:
        if t.finalized or t.rate_hz is None:
            return
        t.finalized = True
        if t.mode == _CONTINUOUS and t.regen == _ALLOW_REGEN:
            if t.buffer is not None:
                for i, c in enumerate(t.chans):
                    self.outputs_v[c] = float(t.buffer[i, (max(n_played, 1) - 1) % t.buffer.shape[1]])
            return
        if self.record:
            data = np.concatenate(t.record, axis=1) if t.record else np.zeros((len(t.chans), 0))
            data = data[:, :n_played]
            self.played.append((t.rate_hz, {c: data[i].copy() for i, c in enumerate(t.chans)}))
            last = data[:, -1] if data.shape[1] else None
        else:
            last = t.last
        self.played_samples.append(n_played)
        if last is not None and n_played:
            for i, c in enumerate(t.chans):
                self.outputs_v[c] = float(last[i])


class _FakeInterpreter:
    """The subset of ``BaseInterpreter`` that AO/AI tasks use, with DAQmx's rules."""

    def __init__(self, daq: FakeDaq) -> None:
        self.daq = daq

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)

        def unsupported(*args: Any, **kwargs: Any) -> Any:
            raise NotImplementedError(f"the fake DAQ does not implement nidaqmx interpreter call {name}")

        return unsupported

    # -- helpers
    def _alive(self) -> None:
        if self.daq.closed:
            raise InstrumentError(
                "this nidaqmx object was made through a fake DAQ whose mock bench is closed; open the bench again "
                "(a real board is reached only by objects made outside a mock bench)"
            )

    def _t(self, handle: str) -> _Task:
        self._alive()
        t = self.daq.tasks.get(handle)
        if t is None:
            raise _err("INVALID_TASK", "Task specified is invalid or does not exist.")
        if t.chans:
            self._reach(t.chans[0].split("/")[0], t)
        return t

    def _reach(self, dev: str, t: _Task | None = None) -> None:
        gone = self.daq._gone.get(dev.lower())
        if gone is None:
            return
        if not gone:
            del self.daq._gone[dev.lower()]
        e = _err(
            "DEV_CANNOT_BE_ACCESSED",
            f"Device cannot be accessed: {dev}. Possible causes: the device is no longer present in the system, "
            "or it was reset or removed.",
            "" if t is None else t.name,
        )
        if t is not None:
            if t.kind == "ao" and t.running:
                self.daq._update(t)
                self.daq._finalize(t, min(self.daq._generated(t), t.written))
            t.running = False
            t.error = e
        raise e

    def _check_error(self, t: _Task) -> None:
        self.daq._update(t)
        if t.error is not None:
            raise t.error

    def _chans(self, t: _Task, spec: str, kind: str) -> list[str]:
        out: list[str] = []
        for part in [p.strip() for p in spec.split(",") if p.strip()]:
            m = re.fullmatch(r"/?(\w+)/(ao|ai)(\d+)(?::(\d+))?", part, re.I)
            if not m or m.group(2).lower() != kind:
                raise _err("PHYSICAL_CHAN_DOES_NOT_EXIST", f"Physical channel specified does not exist: {part}", t.name)
            dev = self.daq.devices.get(m.group(1).lower())
            if dev is not None:
                self._reach(dev.name)
            count = 0 if dev is None else (dev.n_ao if kind == "ao" else dev.n_ai)
            lo = int(m.group(3))
            hi = int(m.group(4)) if m.group(4) else lo
            step = 1 if hi >= lo else -1
            for k in range(lo, hi + step, step):
                if dev is None or not 0 <= k < count:
                    raise _err(
                        "PHYSICAL_CHAN_DOES_NOT_EXIST", f"Physical channel specified does not exist: {part}", t.name
                    )
                out.append(f"{dev.name}/{kind}{k}")
        return out

    def _dev(self, t: _Task) -> FakeDevice:
        return self.daq.devices[t.chans[0].split("/")[0].lower()]

    # -- task lifetime
    def create_task(self, session_name: str) -> tuple[str, bool]:
        self._alive()
        with self.daq._lock:
            if session_name and any(t.name == session_name for t in self.daq.tasks.values()):
                raise _err(
                    "DUPLICATE_TASK",
                    f"Task cannot be created because a task named {session_name!r} already exists. "
                    "Use a unique name for every task.",
                    session_name,
                )
            self.daq._n += 1
            h = f"task{self.daq._n}"
            self.daq.tasks[h] = _Task(h, session_name or h)
        self.daq.calls.append(f"create_task({session_name!r})")
        return h, True

    def get_task_attribute_string(self, task: str, attribute: int) -> str:
        t = self._t(task)
        if attribute == 0x1273:  # channel names
            return ", ".join(t.chans)
        return t.name

    def get_task_attribute_uint32(self, task: str, attribute: int) -> int:
        t = self._t(task)
        if attribute == 0x2181:  # number of channels
            return len(t.chans)
        raise NotImplementedError(f"fake DAQ task attribute {attribute:#x}")

    def get_chan_attribute_int32(self, task: str, channel: str, attribute: int) -> int:
        t = self._t(task)
        if attribute == 0x187F:  # channel type
            return 10102 if t.kind == "ao" else 10100
        raise NotImplementedError(f"fake DAQ channel attribute {attribute:#x}")

    def clear_task(self, task: str) -> None:
        t = self.daq.tasks.get(task)
        if t is None:
            return
        with contextlib.suppress(Exception):
            self.daq._update(t)
        if t.kind == "ao" and t.running:
            self.daq._finalize(t, min(self.daq._generated(t), t.written))
        self.daq.calls.append(f"clear_task({t.name!r})")
        self.daq.tasks.pop(task, None)

    def internal_get_last_created_chan(self) -> str:
        return self.daq._last_chan

    # -- channels
    def _add(self, task: str, physical_channel: str, min_val: float, max_val: float, kind: str) -> None:
        t = self._t(task)
        if t.kind and t.kind != kind:
            raise _err("INVALID_ATTRIBUTE_VALUE", "Cannot mix analog input and output channels in one task.", t.name)
        chans = self._chans(t, physical_channel, kind)
        if min_val >= max_val:
            raise _err("MIN_NOT_LESS_THAN_MAX", f"Minimum {min_val} is not less than maximum {max_val}.", t.name)
        dev = self.daq.devices[chans[0].split("/")[0].lower()]
        rng = dev.ao_range_v if kind == "ao" else dev.ai_range_v
        if min_val < -rng - 1e-12 or max_val > rng + 1e-12:
            raise _err(
                "INVALID_ATTRIBUTE_VALUE",
                f"Requested range {min_val}..{max_val} V is not supported by {dev.product_type} (+-{rng} V).",
                t.name,
            )
        t.kind = kind
        t.chans += chans
        t.min_v, t.max_v = float(min_val), float(max_val)
        self.daq._last_chan = physical_channel
        self.daq.calls.append(f"create_{kind}_voltage_chan({physical_channel!r})")

    def create_ao_voltage_chan(
        self,
        task: str,
        physical_channel: str,
        name: str,
        min_val: float,
        max_val: float,
        units: int,
        custom_scale_name: str,
    ) -> None:
        self._add(task, physical_channel, min_val, max_val, "ao")

    def create_ai_voltage_chan(
        self,
        task: str,
        physical_channel: str,
        name: str,
        terminal_config: int,
        min_val: float,
        max_val: float,
        units: int,
        custom_scale_name: str,
    ) -> None:
        self._add(task, physical_channel, min_val, max_val, "ai")

    # -- stream attributes
    def _space(self, t: _Task) -> int:
        size = t.bufsize if t.bufsize is not None else t.samps
        return max(0, size - (t.written - self.daq._generated(t)))

    def get_write_attribute_uint32(self, task: str, attribute: int) -> int:
        t = self._t(task)
        if attribute == 0x1460:  # space available in the buffer
            self._check_error(t)
            return self._space(t)
        return len(t.chans)

    def get_write_attribute_uint64(self, task: str, attribute: int) -> int:
        t = self._t(task)
        if attribute == 0x192B:  # total samples per channel generated
            self.daq._update(t)
            g = self.daq._generated(t)
            return min(g, t.written) if t.regen == _DONT_ALLOW_REGEN else g
        raise NotImplementedError(f"fake DAQ write attribute {attribute:#x}")

    def get_read_attribute_uint32(self, task: str, attribute: int) -> int:
        t = self._t(task)
        if attribute == 0x1223:  # samples available per channel
            return self._avail(t)
        return len(t.chans)

    def get_read_attribute_uint64(self, task: str, attribute: int) -> int:
        t = self._t(task)
        if attribute == 0x192A:  # total samples per channel acquired
            return self.daq._generated(t)
        raise NotImplementedError(f"fake DAQ read attribute {attribute:#x}")

    def get_buffer_attribute_uint32(self, task: str, attribute: int) -> int:
        t = self._t(task)
        return t.bufsize if t.bufsize is not None else t.samps

    def set_buffer_attribute_uint32(self, task: str, attribute: int, value: int) -> None:
        t = self._t(task)
        if attribute not in (0x186D, 0x186C):
            raise NotImplementedError(f"fake DAQ buffer attribute {attribute:#x}")
        if t.started:
            raise _err("INVALID_ATTRIBUTE_VALUE", "The buffer size cannot be changed while the task runs.", t.name)
        if int(value) < 2:
            raise _err("INVALID_ATTRIBUTE_VALUE", f"Buffer size {value} must be at least 2 samples.", t.name)
        t.bufsize = int(value)
        self.daq.calls.append(f"buffer_size({t.name!r}, {int(value)})")

    # -- timing and triggers
    def cfg_samp_clk_timing(
        self, task: str, rate: float, source: str, active_edge: int, sample_mode: int, samps_per_chan: int
    ) -> None:
        t = self._t(task)
        dev = self._dev(t)
        if not rate > 0:
            raise _err("INVALID_ATTRIBUTE_VALUE", f"Sample clock rate {rate} must be > 0.", t.name)
        if sample_mode == _FINITE and samps_per_chan < 2:
            raise _err("INVALID_ATTRIBUTE_VALUE", "Finite generation needs at least 2 samples per channel.", t.name)
        divisor = max(1, round(dev.timebase_hz / rate))
        t.rate_hz = dev.timebase_hz / divisor
        t.mode = int(sample_mode)
        t.samps = int(samps_per_chan)
        self.daq.calls.append(f"cfg_samp_clk_timing({rate!r}, mode={sample_mode}, n={samps_per_chan})")

    def get_timing_attribute_double(self, task: str, attribute: int) -> float:
        t = self._t(task)
        if attribute == 0x1344:
            if t.rate_hz is None:
                raise _err("INVALID_ATTRIBUTE_VALUE", "Sample clock timing is not configured.", t.name)
            return t.rate_hz
        raise NotImplementedError(f"fake DAQ timing attribute {attribute:#x}")

    def set_write_attribute_int32(self, task: str, attribute: int, value: int) -> None:
        t = self._t(task)
        if attribute == 0x1453:
            t.regen = int(value)
            return
        raise NotImplementedError(f"fake DAQ write attribute {attribute:#x}")

    def get_write_attribute_int32(self, task: str, attribute: int) -> int:
        t = self._t(task)
        if attribute == 0x1453:
            return t.regen
        raise NotImplementedError(f"fake DAQ write attribute {attribute:#x}")

    def cfg_dig_edge_start_trig(self, task: str, trigger_source: str, trigger_edge: int) -> None:
        t = self._t(task)
        src = trigger_source.strip()
        m = re.fullmatch(r"/(\w+)/(PFI\d+|ao/StartTrigger|ai/StartTrigger)", src, re.I)
        if not m or m.group(1).lower() not in self.daq.devices:
            raise _err("INVALID_TERM", f"Terminal cannot be found on the device: {src}", t.name)
        t.trigger = src
        self.daq.calls.append(f"cfg_dig_edge_start_trig({src!r})")

    def disable_start_trig(self, task: str) -> None:
        self._t(task).trigger = None

    # -- data
    def _write(self, task: str, n: int, auto_start: bool, timeout: float, volts: np.ndarray) -> int:
        t = self._t(task)
        if t.kind != "ao":
            raise _err("INVALID_ATTRIBUTE_VALUE", "Write needs an analog output task.", t.name)
        self._check_error(t)
        bad = np.flatnonzero((volts < t.min_v - 1e-9) | (volts > t.max_v + 1e-9))
        if bad.size:
            v = volts.ravel()[bad[0]]
            raise _err(
                "INVALID_AO_DATA_WRITE", f"Value {v} V outside the channel range {t.min_v}..{t.max_v} V.", t.name
            )
        if t.rate_hz is None:
            if n != 1:
                raise _err(
                    "WRITE_FAILS_BUFFER_SIZE_AUTO_CONFIGURED",
                    "Write cannot be performed because no buffer is configured (configure sample timing first).",
                    t.name,
                )
            for i, c in enumerate(t.chans):  # on-demand: the value appears at once
                self.daq.outputs_v[c] = float(volts[i, 0])
            self.daq.calls.append(f"on_demand_write({t.chans}, {volts[:, 0].tolist()})")
            return 1
        if t.started and (t.mode == _FINITE and t.regen == _ALLOW_REGEN or t.regen == _ALLOW_REGEN):
            raise _err("SAMPLES_NO_LONGER_WRITEABLE", "Samples can no longer be written to a started task.", t.name)
        if t.mode == _FINITE and t.written + n > t.samps:
            raise _err(
                "SAMPLES_WILL_NEVER_BE_GENERATED",
                f"Writing {n} samples per channel after {t.written} into a finite task of {t.samps} samples.",
                t.name,
            )
        size = t.bufsize if t.bufsize is not None else t.samps
        if t.mode == _CONTINUOUS and t.regen == _ALLOW_REGEN:
            size = max(size, n)  # a regenerated buffer takes the size of what is written
        if t.written + n - self.daq._generated(t) > size:
            # wait for the board to play enough of the buffer
            need = t.written + n - size
            deadline = time.monotonic() + timeout
            while t.started and not t.running and not self.daq.clock.virtual and time.monotonic() < deadline:
                time.sleep(1e-3)  # armed, waiting for its trigger (fire() from another thread)
            ok = False
            if t.running and t.t0 is not None:
                ok = self.daq.clock.wait_until(t.t0 + need / t.rate_hz, max(0.0, deadline - time.monotonic()))
            self._check_error(t)
            if not ok:
                raise _err(
                    "SAMPLES_CAN_NOT_YET_BE_WRITTEN",
                    f"Some or all of the samples to write could not be written to the buffer yet ({n} samples, "
                    f"{self._space(t)} free of {size}). More space will free up as samples in the buffer are "
                    "generated.",
                    t.name,
                )
        block = np.array(volts, dtype=np.float64, copy=True)
        with self.daq._lock:
            if not t.started:
                t.buffer = block if t.buffer is None else np.concatenate([t.buffer, block], axis=1)
            if self.daq.record and t.regen == _DONT_ALLOW_REGEN:
                t.record.append(block)
            t.last = block[:, -1]
            t.written += n
            for a in t.linked:
                self.daq._see(t, a, block)
        self.daq.calls.append(f"write({n} samples x {len(t.chans)} channels)")
        if auto_start:
            self.start_task(task)
        return n

    def write_analog_f64(
        self,
        task: str,
        num_samps_per_chan: int,
        auto_start: bool,
        timeout: float,
        data_layout: int,
        write_array: np.ndarray,
    ) -> int:
        arr = np.asarray(write_array, dtype=np.float64).reshape(-1, num_samps_per_chan)
        return self._write(task, num_samps_per_chan, bool(auto_start), timeout, arr)

    def write_binary_i16(
        self,
        task: str,
        num_samps_per_chan: int,
        auto_start: bool,
        timeout: float,
        data_layout: int,
        write_array: np.ndarray,
    ) -> int:
        t = self._t(task)
        codes = np.asarray(write_array).reshape(-1, num_samps_per_chan)
        if codes.dtype != np.int16:
            raise _err("INVALID_AO_DATA_WRITE", f"Unscaled write needs int16 codes, got {codes.dtype}.", t.name)
        dev = self._dev(t)
        volts = codes.astype(np.float64) * (dev.ao_range_v / 32767.0)  # nominal calibration of the fake
        return self._write(task, num_samps_per_chan, bool(auto_start), timeout, volts)

    def _avail(self, t: _Task) -> int:
        if t.kind != "ai" or not t.running:
            return 0
        return max(0, min(self.daq._generated(t), t.samps) - t.read)

    def read_analog_f64(
        self, task: str, num_samps_per_chan: int, timeout: float, fill_mode: int, read_array: np.ndarray
    ) -> tuple[np.ndarray, int]:
        t = self._t(task)
        if t.kind != "ai":
            raise _err("INVALID_ATTRIBUTE_VALUE", "Read needs an analog input task.", t.name)
        if not t.started:
            self.start_task(task)
        n = t.samps - t.read if num_samps_per_chan in (-1, None) else int(num_samps_per_chan)
        if t.read + n > t.samps:
            raise _err(
                "SAMPLES_NOT_YET_AVAILABLE", f"Only {t.samps} samples will be acquired, {t.read + n} requested.", t.name
            )
        def target() -> float:
            if t.running and t.t0 is not None and t.rate_hz is not None:
                return t.t0 + (t.read + n) / t.rate_hz - 1e-12
            return math.inf

        reached = self._wait(t, target, timeout)
        out = read_array.reshape(len(t.chans), -1)
        if t.acquired is not None:
            if not reached:
                raise _err(
                    "SAMPLES_NOT_YET_AVAILABLE",
                    "Some or all of the samples requested have not yet been acquired.", t.name,
                )
            out[:, :n] = t.acquired[:, t.read : t.read + n]
            t.read += n
            return read_array, n
        # streamed: what the inputs saw while the linked generation played
        size = t.bufsize if t.bufsize is not None else t.samps
        if self.daq._generated(t) - t.read > size:
            raise _err(
                "SAMPLES_NO_LONGER_AVAILABLE",
                f"Attempted to read samples that are no longer available: the input buffer ({size} samples) "
                "was overwritten. Read faster or use a larger buffer.",
                t.name,
            )
        have = sum(b.shape[1] for b in t.pending)
        if not reached or have < n:
            raise _err(
                "SAMPLES_NOT_YET_AVAILABLE",
                "Some or all of the samples requested have not yet been acquired.", t.name,
            )
        k = 0
        while k < n:
            b = t.pending[0]
            take = min(n - k, b.shape[1])
            out[:, k : k + take] = b[:, :take]
            if take == b.shape[1]:
                t.pending.popleft()
            else:
                t.pending[0] = b[:, take:]
            k += take
        t.read += n
        return read_array, n

    #: the AI channels' device scaling (DAQmx_AI_DevScalingCoeff): volts = c0 + c1 * code + c2 * code**2 +
    #: c3 * code**3. A real board reads its own calibration; the fake one is ideal: 16-bit over the range.
    def _ai_scaling(self, t: _Task) -> list[float]:
        return [0.0, t.max_v / 32768.0, 0.0, 0.0]

    def read_binary_i16(
        self, task: str, num_samps_per_chan: int, timeout: float, fill_mode: int, read_array: np.ndarray
    ) -> tuple[np.ndarray, int]:
        """Unscaled reads: the ADC's codes, ``round(volts / lsb)`` clipped to int16 (what the board converts)."""
        t = self._t(task)
        n_ch = len(t.chans)
        volts = np.empty(read_array.size)
        _, n = self.read_analog_f64(task, num_samps_per_chan, timeout, fill_mode, volts)
        v = volts.reshape(n_ch, -1)[:, :n]
        lsb = self._ai_scaling(t)[1]
        out = read_array.reshape(n_ch, -1)
        v *= 1.0 / lsb
        np.rint(v, out=v)
        np.clip(v, -32768, 32767, out=v)
        out[:, :n] = v
        return read_array, n

    def get_chan_attribute_double_array(self, task: str, channel: str, attribute: int) -> list[float]:
        t = self._t(task)
        if attribute == 0x1930 and t.kind == "ai":  # DAQmx_AI_DevScalingCoeff
            return self._ai_scaling(t)
        raise NotImplementedError(f"fake DAQ channel attribute {attribute:#x}")

    # -- control
    def start_task(self, task: str) -> None:
        t = self._t(task)
        if t.started:
            return
        if not t.chans:
            raise _err("INVALID_ATTRIBUTE_VALUE", "Task contains no channels.", t.name)
        dev = self._dev(t)
        if t.rate_hz is not None:
            n = len(t.chans)
            if t.kind == "ao":
                top = dev.ao_max_rate_hz[min(n, len(dev.ao_max_rate_hz)) - 1]
                what = f"for {n} AO channel(s)"
            elif n == 1:
                top, what = dev.ai_max_rate_hz, "for one AI channel"
            else:
                top = dev.ai_max_aggregate_hz / n
                what = f"per channel for {n} AI channels (aggregate {dev.ai_max_aggregate_hz} S/s)"
            if t.rate_hz > top * (1 + 1e-12):
                raise _err(
                    "SAMP_RATE_TOO_HIGH",
                    f"Sample rate {t.rate_hz} S/s exceeds the maximum {top} S/s {what}.",
                    t.name,
                )
        if t.kind == "ao":
            if t.rate_hz is None:
                return
            if t.written == 0:
                raise _err(
                    "OUTPUT_BUFFER_EMPTY", "Generation cannot be started because the output buffer is empty.", t.name
                )
        for o in self.daq.tasks.values():
            if o is not t and o.started and not o.done and set(o.chans) & set(t.chans):
                raise _err("PAL_RESOURCE_RESERVED", f"The specified resource is reserved by task {o.name!r}.", t.name)
        with self.daq._lock:
            t.started = True
            self.daq.calls.append(f"start_task({t.name!r})")
            if t.trigger is None or (self.daq.auto_trigger and "/pfi" in t.trigger.lower()):
                self.daq._run(t)

    def stop_task(self, task: str) -> None:
        t = self._t(task)
        self.daq.calls.append(f"stop_task({t.name!r})")
        self.daq._update(t)
        if t.kind == "ao" and t.running:
            # the output holds the sample it was at
            g = self.daq._generated(t)
            self.daq._finalize(t, min(g, t.written) if t.regen == _DONT_ALLOW_REGEN else g)
        err, t.error = t.error, None
        t.started = t.running = False
        if err is not None:
            raise err

    def wait_until_task_done(self, task: str, time_to_wait: float) -> None:
        t = self._t(task)
        self._check_error(t)
        if t.done:
            return

        def target() -> float:
            if t.running and t.t0 is not None and t.rate_hz is not None:
                if t.kind == "ao" and not (t.mode == _CONTINUOUS and t.regen == _ALLOW_REGEN):
                    end = t.samps if t.mode == _FINITE else t.written
                    # the last sample, or the moment the buffer runs dry
                    return t.t0 + min(end, t.written) / t.rate_hz + (0.5 / t.rate_hz if t.written < t.samps else 0)
                if t.kind == "ai":
                    return t.t0 + t.samps / t.rate_hz
            return math.inf

        self._wait(t, target, time_to_wait)
        self._check_error(t)
        if not t.done:
            raise _err(
                "WAIT_UNTIL_DONE_DOES_NOT_INDICATE_DONE",
                "Wait Until Done did not indicate that the task was done within the specified timeout.",
                t.name,
            )

    def _wait(self, t: _Task, target: Callable[[], float], timeout: float) -> bool:
        """Let time pass until ``target()`` (re-evaluated: a trigger may start the task meanwhile) or for
        ``timeout`` s; True if the target was reached."""
        clock = self.daq.clock
        if clock.virtual:
            return clock.wait_until(target(), timeout)
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            goal = target()
            now = time.monotonic()
            if goal <= now:
                return True
            left = deadline - now
            if left <= 0:
                return False
            time.sleep(min(left, goal - now, 0.005))

    def is_task_done(self, task: str) -> bool:
        t = self._t(task)
        self._check_error(t)
        return t.done

    # -- device attributes
    def get_device_attribute_double(self, device_name: str, attribute: int) -> float:
        d = self._device(device_name)
        table = {
            0x2997: d.ao_max_rate_hz[0], 0x2998: d.ao_min_rate_hz, 0x298C: d.ai_max_rate_hz,
            0x298D: d.ai_max_aggregate_hz,
        }
        if attribute not in table:
            raise NotImplementedError(f"fake DAQ device attribute {attribute:#x}")
        return float(table[attribute])

    def get_device_attribute_double_array(self, device_name: str, attribute: int) -> list[float]:
        d = self._device(device_name)
        if attribute == 0x299B:
            return [-d.ao_range_v, d.ao_range_v]
        if attribute == 0x2990:
            return [-d.ai_range_v, d.ai_range_v]
        raise NotImplementedError(f"fake DAQ device attribute {attribute:#x}")

    def get_device_attribute_string(self, device_name: str, attribute: int) -> str:
        d = self._device(device_name)
        if attribute == 0x631:
            return d.product_type
        raise NotImplementedError(f"fake DAQ device attribute {attribute:#x}")

    def _device(self, name: str) -> FakeDevice:
        self._alive()
        d = self.daq.devices.get(name.lower())
        if d is None:
            raise _err("PHYSICAL_CHAN_DOES_NOT_EXIST", f"Device cannot be found: {name}")
        self._reach(d.name)
        return d
