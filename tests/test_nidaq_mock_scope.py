"""The fake DAQ leaves nothing behind (issue 12 item 9): one install per process, everything restored."""

from __future__ import annotations

import threading
from typing import Any

import nidaqmx.utils
import numpy as np
import pytest
from wavegen.drivers.mock.bench import MockWorld
from wavegen.drivers.mock.fake_daq import FakeDaq
from wavegen.drivers.nidaq import NiDaq

from wavegen.bench.config import MOCK_CONFIG, parse_config
from wavegen.errors import InstrumentError
from wavegen.limits import SystemLimits
from wavegen.safety.interlock import Grant, clear
from wavegen.safety.waveforms import Waveforms


def _clearance(v: np.ndarray) -> Any:
    g = np.zeros((100, 3))
    g[:, 0] = 0.005 * np.sin(np.linspace(0, np.pi, 100))
    return clear(Waveforms(g, 10e-6), SystemLimits(), grants=[Grant.for_samples("nidaq:Dev1/ao0", v, 1e5)])


def test_after_uninstall_nidaqmx_is_untouched_and_stale_objects_fail_clearly() -> None:
    original = nidaqmx.utils._select_interpreter
    v = np.linspace(0, 1, 50)
    c = _clearance(v)
    fake = FakeDaq(virtual_time=True)
    with fake.install():
        assert nidaqmx.utils._select_interpreter is not original
        daq = NiDaq("Dev1")
        daq.load(0, v, 1e5, clearance=c)
    assert nidaqmx.utils._select_interpreter is original
    # a new adapter reaches the real NI-DAQmx (absent here), not the fake
    with pytest.raises(InstrumentError, match="NI-DAQmx is not installed"):
        NiDaq("Dev1")
    # an adapter made inside the closed mock says so instead of "working" against the fake
    with pytest.raises(InstrumentError, match="fake DAQ whose mock bench is closed"):
        daq.start(clearance=c)
    # and a new task of that adapter goes to the real driver
    with pytest.raises(InstrumentError, match="load AO task: NI-DAQmx is not installed"):
        daq.load(0, v, 1e5, clearance=c)


def test_a_second_concurrent_fake_is_refused_and_the_first_keeps_working() -> None:
    original = nidaqmx.utils._select_interpreter
    first, second = FakeDaq(virtual_time=True), FakeDaq(virtual_time=True)
    v = np.linspace(0, 1, 50)
    errors: list[BaseException] = []
    inside = threading.Event()
    release = threading.Event()

    def other_thread() -> None:
        inside.wait(5)
        try:
            with second.install():
                pass
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion below
            errors.append(exc)
        release.set()

    th = threading.Thread(target=other_thread, name="bench-B")
    th.start()
    with first.install():
        inside.set()
        release.wait(5)
        c = _clearance(v)
        with NiDaq("Dev1") as daq:
            daq.load(0, v, 1e5, clearance=c)
            daq.start(clearance=c)
            daq.wait()
    th.join(5)
    assert len(errors) == 1 and isinstance(errors[0], InstrumentError)
    assert "already installed in this process (by thread 'MainThread')" in str(errors[0])
    assert np.array_equal(first.played[-1][1]["Dev1/ao0"], v) and second.played == []
    assert nidaqmx.utils._select_interpreter is original
    with second.install():  # free again once the first one closed
        assert NiDaq("Dev1").product_type == "PCIe-6363"
    assert nidaqmx.utils._select_interpreter is original


def test_two_mock_benches_in_two_threads() -> None:
    original = nidaqmx.utils._select_interpreter
    config = parse_config({k: dict(v) for k, v in MOCK_CONFIG.items()})
    started = threading.Event()
    done = threading.Event()
    errors: list[BaseException] = []

    def bench_b() -> None:
        started.wait(5)
        try:
            with MockWorld(config):
                pass
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion below
            errors.append(exc)
        done.set()

    th = threading.Thread(target=bench_b)
    th.start()
    with MockWorld(config) as world_a:
        started.set()
        done.wait(10)
        assert world_a.daq is not None and world_a.daq.installed
    th.join(10)
    assert len(errors) == 1 and "only one mock bench with a DAQ may run at a time" in str(errors[0])
    assert nidaqmx.utils._select_interpreter is original
    assert not world_a.started and world_a.daq is not None and world_a.daq.closed
    # the emulators of the refused bench were stopped too: a fresh bench starts normally
    with MockWorld(config, virtual_time=True, record=False) as again:
        assert again.daq is not None and again.daq.installed and again.daq.clock.virtual and not again.daq.record
        dev = next(iter(again.daq.devices.values()))
        assert dev.product_type == "PXIe-6368" and dev.ai_max_aggregate_hz == 32e6  # captures all monitors
    assert nidaqmx.utils._select_interpreter is original
