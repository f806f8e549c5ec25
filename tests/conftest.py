"""Shared pytest options: opt-in tests against real instruments.

    pytest --device-address TCPIP0::192.0.2.5::5025::SOCKET [--visa-backend @ivi] tests/test_drivers_e2e.py
    pytest --daq-device Dev1 tests/test_nidaq.py              (needs a wire from ao0 to ai0)

Without these options (or the environment variables WAVEGEN_DEVICE_ADDRESS, WAVEGEN_VISA_BACKEND and
WAVEGEN_DAQ_DEVICE) the real-hardware tests are skipped; everything else runs against mock instruments.
"""

from __future__ import annotations

import os

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("wavegen", "wavegen real-hardware tests (opt-in)")
    group.addoption("--device-address", default=os.environ.get("WAVEGEN_DEVICE_ADDRESS"),
                    help="VISA resource of a real Keysight 33500-family AWG to test against")
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
