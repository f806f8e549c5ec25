"""The mock bench: the loopback emulators and the fake DAQ, started in process, wired to a simulated DUT.

:class:`MockWorld` takes a validated bench configuration in which some instruments have
``resource = "mock"`` and, for each of them, starts the family's loopback SCPI emulator (127.0.0.1,
ephemeral port) or adds a simulated DAQ board to one :class:`~.fake_daq.FakeDaq` (installed under
the real ``nidaqmx`` API). It returns the resource strings the drivers then open, exactly as on a real
bench. The wiring: every output named in the channel map (DAQ ``aoN`` or an emulator's output, read
through ``personality.output_volts``) goes through the device under test (:mod:`.dut`: a gradient chain
per axis, the RF chain for ``rf_i``/``rf_q``) into the DAQ input its capture entry names, scaled by the
capture calibration. Timing is ideal: every instrument starts on the DAQ's start trigger.

:meth:`MockWorld.stop` (also on ``with`` exit) stops the emulators and uninstalls the fake DAQ (restoring
nidaqmx's interpreter hook; objects made through it then fail with a clear error). A DAQ instrument
without a ``model`` is simulated as a :data:`MOCK_DAQ_MODEL`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Any

import numpy as np

from ..registry import family
from .dut import DeviceUnderTest, default_dut
from .fake_daq import FakeDaq, FakeDevice
from .server import ScpiEmulator

__all__ = ["MockWorld", "MOCK_DAQ_MODEL"]

logger = logging.getLogger(__name__)


def _emulator(driver: str, model: str | None) -> ScpiEmulator:
    emu = family(driver).make_emulator(model)
    if emu is None:
        raise ValueError(f"no emulator for driver {driver!r}")
    return emu


#: the board a mock DAQ without a ``model`` simulates: a simultaneous-sampling X Series (2 MS/s on every
#: input), so the default mock bench captures all its monitors on one clock
MOCK_DAQ_MODEL = "PXIe-6368"


class MockWorld:
    """Emulators + fake DAQ + device under test for a bench configuration.

    Parameters
    ----------
    config : wavegen.bench.config.BenchConfig
        The validated configuration (instruments with ``resource = "mock"`` are emulated).
    dut : DeviceUnderTest, optional
        Default :func:`.dut.default_dut` seeded with ``config.seed``.
    virtual_time : bool
        The fake DAQ's clock jumps instead of sleeping (:class:`~.fake_daq.FakeDaq`); default False: plays
        take their real duration.
    record : bool
        The fake DAQ keeps every played sample in ``daq.played`` (default True; False for long plays:
        ``daq.played_samples`` still counts them).

    Only one mock bench with a DAQ can run in a process at a time (nidaqmx's interpreter hook is
    process-wide): :meth:`start` of a second one raises :class:`~wavegen.errors.InstrumentError`.
    """

    def __init__(
        self, config: Any, dut: DeviceUnderTest | None = None, *, virtual_time: bool = False, record: bool = True
    ) -> None:
        self.config = config
        self.virtual_time = bool(virtual_time)
        self.record = bool(record)
        self.dut = dut if dut is not None else default_dut(config.seed)
        self.emulators: dict[str, ScpiEmulator] = {}
        self.daq: FakeDaq | None = None
        self.daq_devices: dict[str, str] = {}  # instrument name -> DAQmx device name
        self._stack = contextlib.ExitStack()
        self.started = False

    def start(self) -> dict[str, str]:
        """Start everything; returns ``{instrument name: resource string}`` for the mocked instruments."""
        resources: dict[str, str] = {}
        try:
            devices: list[FakeDevice] = []
            for name, ic in self.config.instruments.items():
                if ic.resource != "mock":
                    continue
                if ic.is_daq:
                    dev = f"Dev{len(devices) + 1}"
                    devices.append(FakeDevice.of(ic.model or MOCK_DAQ_MODEL, name=dev))
                    self.daq_devices[name] = dev
                    resources[name] = dev
                else:
                    emu = _emulator(ic.driver, ic.model)
                    self._stack.enter_context(emu)
                    self.emulators[name] = emu
                    resources[name] = emu.address
            if devices:
                self.daq = FakeDaq(
                    devices, dut=self._respond, virtual_time=self.virtual_time, record=self.record,
                    stream_dut=self._stream_responder,
                )
                self._stack.enter_context(self.daq.install())
        except BaseException:
            self._stack.close()
            raise
        self.started = True
        logger.info("mock bench started: %s", ", ".join(f"{k}={v}" for k, v in resources.items()))
        return resources

    def stop(self) -> None:
        """Stop the emulators, uninstall the fake DAQ (idempotent)."""
        self._stack.close()
        if self.started:
            logger.info("mock bench stopped")
        self.started = False

    def __enter__(self) -> MockWorld:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- the wiring ------------------------------------------------------------------------------
    def _output_volts(self, name: str, rate_hz: float, n: int, ao: dict[str, np.ndarray]) -> np.ndarray:
        oc = self.config.channel_map.outputs[name]
        if oc.instrument in self.daq_devices:
            v = ao.get(f"{self.daq_devices[oc.instrument]}/ao{oc.channel}")
            out = np.zeros(n) if v is None else np.asarray(v, dtype=np.float64)
        elif oc.instrument in self.emulators:
            try:
                src_rate, v = self.emulators[oc.instrument].personality.output_volts(oc.channel)  # type: ignore[attr-defined]
            except (RuntimeError, KeyError):
                return np.zeros(n)
            t = np.arange(n) / rate_hz
            k = np.floor(t * src_rate + 1e-9).astype(np.int64)  # the AWG holds each sample
            out = np.where(k < v.size, v[np.minimum(k, v.size - 1)], 0.0)
        else:
            return np.zeros(n)
        return out - oc.offset_v

    def _respond(self, rate_hz: float, ao: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        n = max((v.size for v in ao.values()), default=0)
        return self._through_dut(
            n, lambda name: self._output_volts(name, rate_hz, n, ao),
            lambda axis, v: self.dut.gradient(axis, rate_hz, v), lambda i, q: self.dut.rf_iq(rate_hz, i, q),
        )

    def _through_dut(
        self,
        n: int,
        volts: Callable[[str], np.ndarray],
        gradient: Callable[[str, np.ndarray], np.ndarray],
        rf_iq: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]],
        gradients: Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]] | None = None,
    ) -> dict[str, np.ndarray]:
        """What the capture inputs see: each captured output's volts through its chain, scaled by the
        capture calibration (``{"Dev1/ai0": volts, ...}``)."""
        cmap = self.config.channel_map
        seen: dict[str, np.ndarray] = {}
        if n == 0:
            return seen
        axes = [name for name in cmap.captures if name in ("gx", "gy", "gz")]
        if gradients is not None:
            ys = gradients({a: volts(a) for a in axes})
        else:
            ys = {a: gradient(a, volts(a)) for a in axes}
        for name in axes:
            cap, oc = cmap.captures[name], cmap.outputs[name]
            y = ys[name]
            y *= cap.volts_per_unit / oc.volts_per_unit
            seen[f"{self.daq_devices.get(cap.instrument, cap.instrument)}/ai{cap.channel}"] = y
        if "rf_i" in cmap.captures and "rf_i" in cmap.outputs:
            yi, yq = rf_iq(volts("rf_i"), volts("rf_q"))
            for name, y in (("rf_i", yi), ("rf_q", yq)):
                cap = cmap.captures[name]
                scale = cap.volts_per_unit / cmap.outputs[name].volts_per_unit
                seen[f"{self.daq_devices.get(cap.instrument, cap.instrument)}/ai{cap.channel}"] = y * scale
        return seen

    def _stream_responder(self, rate_hz: float) -> Any:
        """A device under test for one streamed generation: the chains carry their memory from block to
        block (:class:`.dut.DutStream`), and every emulated AWG output is read segment by segment as it
        plays (never expanded whole), starting with the stream."""
        dut = self.dut.stream(rate_hz)
        cmap = self.config.channel_map
        cursors: dict[str, _AwgCursor] = {}

        def volts(name: str, n: int, ao: dict[str, np.ndarray]) -> np.ndarray:
            oc = cmap.outputs[name]
            if oc.instrument in self.daq_devices:
                v = ao.get(f"{self.daq_devices[oc.instrument]}/ao{oc.channel}")
                out = np.zeros(n) if v is None else np.asarray(v, dtype=np.float64)
            elif oc.instrument in self.emulators:
                if name not in cursors:
                    cursors[name] = _AwgCursor(self.emulators[oc.instrument].personality, oc.channel, rate_hz)
                out = cursors[name].take(n)
            else:
                return np.zeros(n)
            return out - oc.offset_v

        def respond(rate: float, ao: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
            n = max((v.size for v in ao.values()), default=0)
            return self._through_dut(n, lambda name: volts(name, n, ao), dut.gradient, dut.rf_iq, dut.gradients)

        return respond


class _AwgCursor:
    """What one emulated AWG output plays, read forward in pieces on a DAQ's sample grid (the AWG holds
    each sample), from the segments of its arb or sequence: memory stays that of one segment."""

    def __init__(self, personality: Any, channel: int, rate_hz: float) -> None:
        self.rate_hz = rate_hz
        self.k = 0  # DAQ samples taken so far
        try:
            self.src_rate, self._segments = personality.output_segments_volts(channel)
        except (RuntimeError, KeyError, AttributeError):
            if hasattr(personality, "output_volts"):
                try:
                    self.src_rate, whole = personality.output_volts(channel)
                    self._segments = iter([(whole, 1)])
                except (RuntimeError, KeyError):
                    self.src_rate, self._segments = rate_hz, iter(())
            else:
                self.src_rate, self._segments = rate_hz, iter(())
        self._cur: np.ndarray | None = None
        self._left = 0  # repeats of _cur still to play after the current one
        self._base = 0  # AWG sample index where _cur's current repeat starts
        self._done = False

    def _next(self) -> bool:
        if self._cur is not None and self._left > 0:
            self._base += self._cur.size
            self._left -= 1
            return True
        if self._cur is not None:
            self._base += self._cur.size
        nxt = next(self._segments, None)
        if nxt is None:
            self._done = True
            return False
        self._cur, reps = np.asarray(nxt[0], dtype=np.float64), int(nxt[1])
        self._left = reps - 1
        return True

    def take(self, n: int) -> np.ndarray:
        if self.src_rate == self.rate_hz:
            return self._take_same_clock(n)
        out = np.zeros(n)
        # AWG sample index of each DAQ sample k: floor(k * src_rate / rate)
        idx = np.floor((self.k + np.arange(n)) * (self.src_rate / self.rate_hz) + 1e-9).astype(np.int64)
        self.k += n
        pos = 0
        if self._cur is None and not self._done:
            self._next()
        while pos < n and not self._done and self._cur is not None:
            end = self._base + self._cur.size
            stop = pos + int(np.searchsorted(idx[pos:], end))
            if stop > pos:
                out[pos:stop] = self._cur[idx[pos:stop] - self._base]
                pos = stop
            if pos < n and not self._next():
                break
        return out

    def _take_same_clock(self, n: int) -> np.ndarray:
        """:meth:`take` when both run on one clock: DAQ sample k is AWG sample k (copied by slices)."""
        out = np.zeros(n)
        pos = 0
        if self._cur is None and not self._done:
            self._next()
        while pos < n and not self._done and self._cur is not None:
            at = self.k + pos - self._base  # where in the current repeat
            take = min(n - pos, self._cur.size - at)
            if take > 0:
                out[pos : pos + take] = self._cur[at : at + take]
                pos += take
            if pos < n and not self._next():
                break
        self.k += n
        return out
