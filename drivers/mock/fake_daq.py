"""A fake NI-DAQmx device behind the real ``nidaqmx`` Python API.

NI-DAQmx cannot run without NI's driver. Instead of faking wavegen's adapter, this module fakes the
layer *under* nidaqmx: the interpreter (``nidaqmx._base_interpreter.BaseInterpreter``) that turns every
``nidaqmx.Task`` call into a C call. :meth:`FakeDaq.install` patches ``nidaqmx.utils._select_interpreter``
(the hook NI's own unit tests patch, ni/nidaqmx-python ``tests/unit/conftest.py``), so the real
``Task``, channel collections, timing, triggers and stream writers/readers run unchanged and reach a
simulated device that enforces DAQmx's rules and raises :class:`nidaqmx.errors.DaqError` with DAQmx's
own error codes:

- unknown device or channel: ``PHYSICAL_CHAN_DOES_NOT_EXIST`` (-200170); a range the device does not
  have: ``INVALID_ATTRIBUTE_VALUE`` (-200077); min >= max: ``MIN_NOT_LESS_THAN_MAX`` (-200082);
- a multi-sample write without a configured buffer: ``WRITE_FAILS_BUFFER_SIZE_AUTO_CONFIGURED`` (-200547);
  a value outside the channel range: ``INVALID_AO_DATA_WRITE`` (-200561); a finite write larger than
  the buffer: ``SAMPLES_WILL_NEVER_BE_GENERATED`` (-200288);
- start without data: ``OUTPUT_BUFFER_EMPTY`` (-200462); a rate above the device maximum for that many
  channels: ``SAMP_RATE_TOO_HIGH`` (-200332); a channel used by another running task:
  ``PAL_RESOURCE_RESERVED`` (-50103);
- non-regenerating continuous output that runs dry: ``GEN_STOPPED_TO_PREVENT_REGEN_OF_OLD_SAMPLES``
  (-200290); waiting on an unfinished task: ``WAIT_UNTIL_DONE_DOES_NOT_INDICATE_DONE`` (-200560);
  reading before data exists: ``SAMPLES_NOT_YET_AVAILABLE`` (-200284).

Time is virtual: a finite generation finishes the moment it starts (and its trigger arrives). The
sample clock is coerced like DAQmx does, to the timebase (100 MHz) divided by an integer. Analog inputs
see the analog outputs through a device-under-test function (default: a wire from aoK to aiK), so the
loopback bench can capture what it played. After a finite generation the output holds its last sample,
as real hardware does; the adapter must drive it back to 0 V.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

import numpy as np

__all__ = ["FakeDevice", "FakeDaq", "PCIE_6363"]

# nidaqmx enum values (nidaqmx.constants), kept as ints: the interpreter receives ints
_FINITE, _CONTINUOUS = 10178, 10123
_ALLOW_REGEN, _DONT_ALLOW_REGEN = 10097, 10158


@dataclass(frozen=True)
class FakeDevice:
    """One simulated DAQ board.

    ``ao_max_rate_hz[k]`` is the highest update rate with ``k + 1`` AO channels in one task
    (X Series boards slow down as channels are added; PCIe-6363 figures from memory (~)).
    """

    name: str = "Dev1"
    product_type: str = "PCIe-6363"
    n_ao: int = 4
    n_ai: int = 16
    ao_range_v: float = 10.0
    ai_range_v: float = 10.0
    ao_max_rate_hz: tuple[float, ...] = (2.86e6, 2.0e6, 1.54e6, 1.25e6)
    ao_min_rate_hz: float = 0.023
    ai_max_rate_hz: float = 2.0e6
    timebase_hz: float = 100e6


PCIE_6363 = FakeDevice()


def _err(code_name: str, message: str, task_name: str = "") -> Exception:
    from nidaqmx.error_codes import DAQmxErrors
    from nidaqmx.errors import DaqError

    return DaqError(message, DAQmxErrors[code_name].value, task_name=task_name)


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
    regen: int = _ALLOW_REGEN
    trigger: str | None = None
    buffer: np.ndarray | None = None
    started: bool = False
    running: bool = False
    done: bool = False
    acquired: np.ndarray | None = None
    last_chan: str = ""


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
    """

    def __init__(
        self,
        devices: Sequence[FakeDevice] = (PCIE_6363,),
        *,
        dut: Callable[[float, dict[str, np.ndarray]], dict[str, np.ndarray]] | None = None,
        auto_trigger: bool = False,
    ) -> None:
        self.devices = {d.name.lower(): d for d in devices}
        self.dut = dut or self._wire
        self.auto_trigger = auto_trigger
        self.tasks: dict[str, _Task] = {}
        self.outputs_v: dict[str, float] = {}
        self.played: list[tuple[float, dict[str, np.ndarray]]] = []
        self.calls: list[str] = []
        self._n = 0
        self._last_chan = ""

    # -- installation ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def install(self) -> Iterator[FakeDaq]:
        """Route every ``nidaqmx.Task`` / ``nidaqmx.system.Device`` created inside to this fake."""
        interp = _FakeInterpreter(self)
        with mock.patch("nidaqmx.utils._select_interpreter", return_value=interp):
            yield self

    # -- simulated world --------------------------------------------------------------------------
    @staticmethod
    def _wire(rate_hz: float, ao: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {k.replace("/ao", "/ai"): v.copy() for k, v in ao.items()}

    def fire(self, terminal: str) -> None:
        """A rising edge on *terminal* (e.g. ``"/Dev1/PFI0"``): starts the tasks waiting for it."""
        self._event(terminal.lower())

    def _event(self, terminal: str) -> None:
        for t in list(self.tasks.values()):
            if t.started and not t.running and t.trigger is not None and t.trigger.lower() == terminal:
                self._run(t)

    def _run(self, t: _Task) -> None:
        t.running = True
        dev = t.chans[0].split("/")[0]
        if t.kind == "ao":
            assert t.buffer is not None and t.rate_hz is not None
            wave = {c: t.buffer[i].copy() for i, c in enumerate(t.chans)}
            self.played.append((t.rate_hz, wave))
            if t.mode == _FINITE:
                t.done = True
                t.running = False
                for c, v in wave.items():
                    self.outputs_v[c] = float(v[-1])
            self._event(f"/{dev}/ao/starttrigger".lower())
            seen = self.dut(t.rate_hz, wave)
            for a in list(self.tasks.values()):
                if a.kind == "ai" and a.running and a.acquired is None:
                    self._acquire(a, t.rate_hz, seen, t.mode)
        else:
            self._event(f"/{dev}/ai/starttrigger".lower())
            # no generation started together with this acquisition: the inputs see the static outputs
            if t.trigger is None or "ao/starttrigger" not in t.trigger.lower():
                static = {c: np.full(1, v) for c, v in self.outputs_v.items()}
                seen = self.dut(t.rate_hz or 1.0, static)
                self._acquire(t, t.rate_hz or 1.0, seen, _CONTINUOUS)

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
        a.done = True


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
    def _t(self, handle: str) -> _Task:
        t = self.daq.tasks.get(handle)
        if t is None:
            raise _err("INVALID_TASK", "Task specified is invalid or does not exist.")
        return t

    def _chans(self, t: _Task, spec: str, kind: str) -> list[str]:
        out: list[str] = []
        for part in [p.strip() for p in spec.split(",") if p.strip()]:
            m = re.fullmatch(r"/?(\w+)/(ao|ai)(\d+)(?::(\d+))?", part, re.I)
            if not m or m.group(2).lower() != kind:
                raise _err("PHYSICAL_CHAN_DOES_NOT_EXIST", f"Physical channel specified does not exist: {part}", t.name)
            dev = self.daq.devices.get(m.group(1).lower())
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
        self.daq.calls.append(f"clear_task({self._t(task).name!r})")
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

    def get_write_attribute_uint32(self, task: str, attribute: int) -> int:
        return len(self._t(task).chans)

    def get_read_attribute_uint32(self, task: str, attribute: int) -> int:
        return len(self._t(task).chans)

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
    def _write(self, task: str, n: int, auto_start: bool, data: np.ndarray, volts: np.ndarray) -> int:
        t = self._t(task)
        if t.kind != "ao":
            raise _err("INVALID_ATTRIBUTE_VALUE", "Write needs an analog output task.", t.name)
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
        if t.started and (t.mode == _FINITE or t.regen == _ALLOW_REGEN):
            raise _err("SAMPLES_NO_LONGER_WRITEABLE", "Samples can no longer be written to a started task.", t.name)
        if t.mode == _FINITE and n > t.samps:
            raise _err(
                "SAMPLES_WILL_NEVER_BE_GENERATED",
                f"Writing {n} samples per channel into a finite task of {t.samps} samples.",
                t.name,
            )
        t.buffer = np.array(volts, dtype=np.float64, copy=True)
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
        return self._write(task, num_samps_per_chan, bool(auto_start), arr, arr)

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
        return self._write(task, num_samps_per_chan, bool(auto_start), codes, volts)

    def read_analog_f64(
        self, task: str, num_samps_per_chan: int, timeout: float, fill_mode: int, read_array: np.ndarray
    ) -> tuple[np.ndarray, int]:
        t = self._t(task)
        if t.kind != "ai":
            raise _err("INVALID_ATTRIBUTE_VALUE", "Read needs an analog input task.", t.name)
        if not t.started:
            self.start_task(task)
        if t.acquired is None:
            raise _err(
                "SAMPLES_NOT_YET_AVAILABLE", "Some or all of the samples requested have not yet been acquired.", t.name
            )
        n = t.samps if num_samps_per_chan in (-1, None) else int(num_samps_per_chan)
        if n > t.acquired.shape[1]:
            raise _err("SAMPLES_NOT_YET_AVAILABLE", f"Only {t.acquired.shape[1]} samples were acquired.", t.name)
        out = read_array.reshape(len(t.chans), -1)
        out[:, :n] = t.acquired[:, :n]
        return read_array, n

    # -- control
    def start_task(self, task: str) -> None:
        t = self._t(task)
        if t.started:
            return
        if not t.chans:
            raise _err("INVALID_ATTRIBUTE_VALUE", "Task contains no channels.", t.name)
        dev = self._dev(t)
        if t.rate_hz is not None:
            top = (
                dev.ao_max_rate_hz[min(len(t.chans), len(dev.ao_max_rate_hz)) - 1]
                if t.kind == "ao"
                else dev.ai_max_rate_hz
            )
            if t.rate_hz > top * (1 + 1e-12):
                raise _err(
                    "SAMP_RATE_TOO_HIGH",
                    f"Sample rate {t.rate_hz} S/s exceeds the maximum {top} S/s for {len(t.chans)} channel(s).",
                    t.name,
                )
        if t.kind == "ao":
            if t.rate_hz is None:
                return
            if t.buffer is None:
                raise _err(
                    "OUTPUT_BUFFER_EMPTY", "Generation cannot be started because the output buffer is empty.", t.name
                )
        for o in self.daq.tasks.values():
            if o is not t and o.started and not o.done and set(o.chans) & set(t.chans):
                raise _err("PAL_RESOURCE_RESERVED", f"The specified resource is reserved by task {o.name!r}.", t.name)
        t.started = True
        self.daq.calls.append(f"start_task({t.name!r})")
        if t.trigger is None or (self.daq.auto_trigger and "/pfi" in t.trigger.lower()):
            self.daq._run(t)

    def stop_task(self, task: str) -> None:
        t = self._t(task)
        self.daq.calls.append(f"stop_task({t.name!r})")
        underflow = t.kind == "ao" and t.running and t.mode == _CONTINUOUS and t.regen == _DONT_ALLOW_REGEN
        if t.kind == "ao" and t.running and t.buffer is not None:
            for i, c in enumerate(t.chans):  # the output holds the sample it was at (virtual: the last)
                self.daq.outputs_v[c] = float(t.buffer[i, -1])
        t.started = t.running = False
        if underflow:
            raise _err(
                "GEN_STOPPED_TO_PREVENT_REGEN_OF_OLD_SAMPLES",
                "Generation was stopped to prevent the regeneration of old samples.",
                t.name,
            )

    def wait_until_task_done(self, task: str, time_to_wait: float) -> None:
        t = self._t(task)
        if t.kind == "ao" and t.running and t.mode == _CONTINUOUS and t.regen == _DONT_ALLOW_REGEN:
            raise _err(
                "GEN_STOPPED_TO_PREVENT_REGEN_OF_OLD_SAMPLES",
                "Generation was stopped to prevent the regeneration of old samples.",
                t.name,
            )
        if not t.done:
            raise _err(
                "WAIT_UNTIL_DONE_DOES_NOT_INDICATE_DONE",
                "Wait Until Done did not indicate that the task was done within the specified timeout.",
                t.name,
            )

    def is_task_done(self, task: str) -> bool:
        return self._t(task).done

    # -- device attributes
    def get_device_attribute_double(self, device_name: str, attribute: int) -> float:
        d = self._device(device_name)
        table = {0x2997: d.ao_max_rate_hz[0], 0x2998: d.ao_min_rate_hz, 0x298C: d.ai_max_rate_hz}
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
        d = self.daq.devices.get(name.lower())
        if d is None:
            raise _err("PHYSICAL_CHAN_DOES_NOT_EXIST", f"Device cannot be found: {name}")
        return d
