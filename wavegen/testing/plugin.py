"""The wavegen pytest plugin: fixtures for testing code that drives instruments through wavegen.

Installed with wavegen (entry point ``pytest11``), so any project's tests get, with no conftest:

``mock_bench``
    A :class:`wavegen.bench.Bench` on the built-in mock bench (emulated AWG, fake NI DAQ, simulated
    device under test), opened for the test and closed after it.
``emulator``
    A factory: ``emulator("keysight_33500", model=None)`` starts the loopback SCPI emulator of any
    family in the registry (:mod:`wavegen.drivers.registry`) on 127.0.0.1 and stops it after the test;
    its ``address`` is a VISA resource string for the drivers.
``clearance_for``
    A factory: ``clearance_for({"awg/1": volts}, sample_rate_hz=1e6)`` clears exactly those samples for
    those outputs with :func:`wavegen.safety.clear_volts` semantics (checked against the default limits
    as gradient volts at 10 mT/m per volt unless ``calibration=`` says otherwise).
``device_address``, ``daq_device``
    The real instrument to test against, from ``--device-address`` (``--visa-backend``) and
    ``--daq-device`` (or ``WAVEGEN_DEVICE_ADDRESS``, ``WAVEGEN_VISA_BACKEND``, ``WAVEGEN_DAQ_DEVICE``);
    a test that asks for one is skipped, with the reason, when none was given.

Replay of recorded instrument traffic is in :mod:`wavegen.testing` (``ReplayTransport``, ``Recorder``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest

__all__ = ["clearance_for", "daq_device", "device_address", "emulator", "mock_bench", "pytest_addoption"]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("wavegen", "wavegen real-hardware tests (opt-in)")
    group.addoption("--device-address", default=os.environ.get("WAVEGEN_DEVICE_ADDRESS"),
                    help="VISA resource of a real instrument to test against (e.g. TCPIP0::192.0.2.5::5025::SOCKET)")
    group.addoption("--visa-backend", default=os.environ.get("WAVEGEN_VISA_BACKEND", "@py"),
                    help="pyvisa backend for --device-address (default @py)")
    group.addoption("--daq-device", default=os.environ.get("WAVEGEN_DAQ_DEVICE"),
                    help="NI-DAQmx device name (e.g. Dev1) with ao0 wired to ai0")


@pytest.fixture
def device_address(request: pytest.FixtureRequest) -> tuple[str, str]:
    """(resource, backend) of a real instrument; skips the test when none was given."""
    address = request.config.getoption("--device-address")
    if not address:
        pytest.skip("real hardware: pass --device-address (or set WAVEGEN_DEVICE_ADDRESS)")
    return str(address), str(request.config.getoption("--visa-backend"))


@pytest.fixture
def daq_device(request: pytest.FixtureRequest) -> str:
    """Name of a real NI-DAQmx device; skips the test when none was given."""
    device = request.config.getoption("--daq-device")
    if not device:
        pytest.skip("real NI-DAQmx hardware: pass --daq-device (or set WAVEGEN_DAQ_DEVICE); needs ao0 wired to ai0")
    return str(device)


@pytest.fixture
def mock_bench() -> Iterator[Any]:
    """The built-in mock bench, open for the test."""
    from wavegen.bench import Bench

    with Bench.mock() as bench:
        yield bench


@pytest.fixture
def emulator() -> Iterator[Callable[..., Any]]:
    """``emulator(family, model=None)``: a started loopback emulator of that family (stopped after the test)."""
    from wavegen.drivers.registry import family

    started: list[Any] = []

    def start(name: str, model: str | None = None) -> Any:
        emu = family(name).make_emulator(model)
        if emu is None:
            raise pytest.UsageError(f"instrument family {name!r} has no SCPI emulator")
        emu.__enter__()
        started.append(emu)
        return emu

    try:
        yield start
    finally:
        for emu in reversed(started):
            emu.__exit__(None, None, None)


@pytest.fixture
def clearance_for() -> Callable[..., Any]:
    """``clearance_for({output: volts, ...}, sample_rate_hz=..., calibration=None, limits=None,
    repeats=1)``: one clearance granting exactly those volts to those outputs, each checked through
    ``calibration`` (default: gradient x at 10 mT/m per volt) against ``limits`` (default
    :class:`~wavegen.limits.SystemLimits`)."""
    import numpy as np

    from wavegen.limits import SystemLimits
    from wavegen.safety import ChannelCalibration, Grant, Waveforms, clear

    def make(
        outputs: Mapping[str, Any],
        *,
        sample_rate_hz: float,
        calibration: Any = None,
        limits: Any = None,
        repeats: int = 1,
    ) -> Any:
        cal = calibration or ChannelCalibration("gx", units_per_volt=0.01)
        lim = limits or SystemLimits()
        grants, grads = [], []
        for name, volts in outputs.items():
            v = np.ascontiguousarray(volts, dtype=np.float64)
            grants.append(Grant.for_samples(name, v, sample_rate_hz, repeats=repeats))
            grads.append((v - cal.offset_v) * cal.units_per_volt)
        # every output's waveform checked on the calibration's channel, one after another with a pause
        # between (as if each played once): one check covers them all
        gap = np.zeros(16)
        x = np.concatenate([part for v in grads for part in (v, gap)])
        if cal.channel in ("gx", "gy", "gz"):
            g = np.zeros((x.size, 3))
            g[:, ("gx", "gy", "gz").index(cal.channel)] = x
            wf = Waveforms(g, 1.0 / sample_rate_hz)
        else:
            rf = x.astype(np.complex128) if cal.channel == "rf_i" else 1j * x
            wf = Waveforms(np.zeros((x.size, 3)), 1.0 / sample_rate_hz, rf_b1_t=rf, rf_raster_s=1.0 / sample_rate_hz)
        return clear(wf, lim, grants=grants, periodic=repeats > 1)

    return make
