"""Opt-in tests on a real instrument, one per protocol item that no manual or independent driver
confirmed (the "unverified" rows of docs/instruments/*.md).

    pytest --device-address TCPIP0::192.0.2.5::5025::SOCKET tests/test_drivers_hardware.py

The family is picked from ``*IDN?``; tests for other families skip. Into a 50-ohm dummy load or an open
output only: the waveforms are 0.1 V sines.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from test_drivers_helpers import cleared, volts_grant
from wavegen.drivers.base import ScpiAwg
from wavegen.drivers.detect import open_awg
from wavegen.drivers.keysight_33500 import Keysight33500
from wavegen.drivers.rigol_dg import READBACK_POINTS, RigolDG
from wavegen.drivers.siglent_sdg import SiglentSDG
from wavegen.drivers.tektronix_awg import TektronixAWG


@pytest.fixture
def awg(device_address: tuple[str, str]) -> Iterator[ScpiAwg]:  # pragma: no cover - real hardware
    address, backend = device_address
    drv = open_awg(address, backend=backend, name="hw")
    yield drv
    drv.close()


def _family(awg: ScpiAwg, cls: type) -> None:  # pragma: no cover
    if not isinstance(awg, cls):
        pytest.skip(f"needs a {cls.__name__}, the instrument is {awg.caps.model}")


def _sine(n: int, amp: float = 0.1) -> np.ndarray:
    return amp * np.sin(np.linspace(0, 2 * np.pi, n, endpoint=False))


def _rate(awg: ScpiAwg) -> float:
    return max(awg.caps.min_rate_hz, min(1e6, awg.caps.max_rate_hz))


def test_hw_output_state_read_back(awg: ScpiAwg) -> None:  # pragma: no cover
    """Every family: the output-state query and its answer form (OUTPn?, :OUTPn?, Cn:OUTP?)."""
    n = max(awg.caps.min_points, 1000)
    n += (-n) % awg.caps.point_granularity
    v = _sine(n, min(0.1, awg.caps.max_vpp_v / 4))
    rate = _rate(awg)
    c = cleared(volts_grant("hw/1", v, rate))
    awg.load(1, v, rate, clearance=c, name="hwstate")
    awg.arm([1], cycles=1)
    awg.output(1, True, clearance=c)
    assert awg._output_state(1) is True
    awg.outputs_off()
    assert awg._output_state(1) is False and awg.unconfirmed_off == []


def test_hw_keysight_arb_file_read_back(awg: ScpiAwg) -> None:  # pragma: no cover
    """33500: the .arb text layout (Data Points / Data:) read through MMEM:UPL?."""
    _family(awg, Keysight33500)
    v = _sine(5000)
    c = cleared(volts_grant("hw/1", v, 1e6))
    assert awg.load(1, v, 1e6, clearance=c, name="hwarb").verified


def test_hw_rigol_read_back_packets_are_16_kib(awg: ScpiAwg) -> None:  # pragma: no cover
    """DG1000Z/DG800: TRAC:DATA:LOAD? packets of 8192 points, byte order of DAC16, SRAT mode first."""
    _family(awg, RigolDG)
    v = _sine(3 * READBACK_POINTS + 100)
    c = cleared(volts_grant("hw/1", v, 1e6))
    assert awg.load(1, v, 1e6, clearance=c).verified
    short = _sine(1000)  # <= 8 k points: would be stretched to 8192 in frequency mode
    c2 = cleared(volts_grant("hw/1", short, 1e6))
    assert awg.load(1, short, 1e6, clearance=c2).verified


def test_hw_siglent_esr_error_bits(awg: ScpiAwg) -> None:  # pragma: no cover
    """SDG: *ESR? answers, and a bad command sets an error bit (the SDG has no SYST:ERR? queue)."""
    _family(awg, SiglentSDG)
    assert awg.session.drain_errors() == []
    awg.session.write("C1:NOSUCHCOMMAND 1")
    assert awg.session.drain_errors() != []
    assert awg.session.drain_errors() == []  # reading *ESR? cleared it


def test_hw_siglent_wvdt_read_back(awg: ScpiAwg) -> None:  # pragma: no cover
    """SDG: WVDT? USER,<name> header fields and raw int16 data; SRATE? answer form."""
    _family(awg, SiglentSDG)
    v = _sine(2000)
    c = cleared(volts_grant("hw/1", v, 1e5))
    assert awg.load(1, v, 1e5, clearance=c, name="hwsdg").verified


def test_hw_tektronix_length_rules_and_rate_resolution(awg: ScpiAwg) -> None:  # pragma: no cover
    """AWG5200/AWG70000: WLIS:WAV:LMIN?/GRAN? answer integers; CLOC:SRAT? within RATE_DIGITS digits."""
    _family(awg, TektronixAWG)
    assert awg.caps.min_points >= 1 and awg.caps.point_granularity >= 1
    n = max(awg.caps.min_points, 4800)
    n += (-n) % awg.caps.point_granularity
    v = _sine(n, 0.1)
    for rate in (1.2345678e9, 2.5e9 / 3):
        c = cleared(volts_grant("hw/1", v, rate))
        assert awg.load(1, v, rate, clearance=c, name="hwtek").verified


def test_hw_keysight_sequence(awg: ScpiAwg) -> None:  # pragma: no cover
    """33500: DATA:SEQuence descriptor (marker point 4) accepted, 512 steps, 1e6 repeats."""
    _family(awg, Keysight33500)
    from wavegen.safety.interlock import Grant, Segment

    s0, s1 = _sine(1000), _sine(1000, 0.05)
    order = ((0, 1_000_000), (1, 1)) + ((0, 1),) * 510
    g = Grant("hw/1", 1e6, (Segment.of(s0), Segment.of(s1)), order)
    awg.load_sequence(1, [s0, s1], order, 1e6, clearance=cleared(g), name="hwseq")
    assert awg.session.drain_errors() == []


def test_hw_tektronix_sequence_limits(awg: ScpiAwg) -> None:  # pragma: no cover
    """AWG5200/AWG70000: the hard-coded SLISt limits equal what the instrument reports."""
    _family(awg, TektronixAWG)
    assert awg.session.query_int("SLIS:SEQ:STEP:MAX?") == TektronixAWG.MAX_SEQUENCE_STEPS
    assert awg.session.query_int("SLIS:SEQ:STEP:RCO:MAX?") == TektronixAWG.MAX_STEP_REPEATS
