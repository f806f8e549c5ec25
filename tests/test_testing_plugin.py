"""The pytest plugin's fixtures, as a downstream project would use them (no conftest of their own)."""

from __future__ import annotations

import numpy as np
import pytest
from wavegen.drivers.keysight_33500 import Keysight33500

from wavegen.errors import SafetyError
from wavegen.safety import require

pytest_plugins = ["pytester"]


def test_the_plugin_is_registered(pytestconfig: pytest.Config) -> None:
    assert pytestconfig.pluginmanager.has_plugin("wavegen")


def test_emulator_and_clearance_fixtures(emulator, clearance_for) -> None:
    emu = emulator("keysight_33500")
    v = np.concatenate([np.linspace(0, 0.5, 100), np.full(60, 0.5), np.linspace(0.5, 0, 100)])
    with Keysight33500(emu.address) as awg:
        c = clearance_for({awg.output_id(1) if hasattr(awg, "output_id") else "awg/1": v}, sample_rate_hz=1e6)
        assert len(c.grants) == 1
    with pytest.raises(SafetyError):  # 5 V = 50 mT/m at 10 mT/m per volt: over 40 mT/m
        clearance_for({"x/1": 10 * v}, sample_rate_hz=1e6)
    c2 = clearance_for({"x/1": v, "x/2": -v}, sample_rate_hz=1e6)
    require(c2, output="x/2", samples=-v, sample_rate_hz=1e6)


def test_mock_bench_fixture(mock_bench) -> None:
    assert {i.name for i in mock_bench.instruments()} == {"daq", "awg"}


def test_a_downstream_project_gets_the_fixtures_and_options(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_uses_them(mock_bench, emulator):
            emu = emulator("rigol_dg")
            assert emu.address.startswith("TCPIP")

        def test_real(device_address):
            raise AssertionError("must be skipped without --device-address")
        """
    )
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, skipped=1)
    assert "--device-address" in "\n".join(pytester.runpytest_inprocess("--help").outlines)
