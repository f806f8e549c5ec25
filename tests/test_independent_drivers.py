"""Independent drivers against the emulators: PyMeasure's own instrument classes, over pyvisa-py on loopback.

The emulators and wavegen's drivers were written by the same hand, so they could agree on a wrong
protocol. PyMeasure's ``Agilent33500`` (Keysight 33500 family) and ``DG800`` (Rigol) spell the commands
their own way (``SOUR1:FUNC?``, ``OUTP1 1``, ``SOUR1:DATA:ARB:DAC name, v1, v2, ...``, ``*TRG;*WAI``,
``:SOUR1:APPL:SIN f,a,o,p``, ``:OUTP1:LOAD?`` -> ``9.9E+37``); each test drives an emulator with one of
them and asserts the state the emulator ends in. PyMeasure has no Siglent SDG or Tektronix AWG driver;
QCoDeS has (AWG5208, and qcodes_contrib_drivers' SDG), but installing it adds 57 packages to the test
environment (pyarrow, pandas, xarray, dask, h5py, ipykernel, pyzmq, opentelemetry, ...) and pins
``pyvisa<1.17``: too heavy for a test dependency.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from pymeasure.instruments.agilent import Agilent33500
from pymeasure.instruments.rigol import DG800
from wavegen.drivers.mock.keysight import keysight_emulator
from wavegen.drivers.mock.rigol import rigol_emulator
from wavegen.drivers.mock.server import ScpiEmulator

_VISA = {"visa_library": "@py", "read_termination": "\n", "write_termination": "\n", "timeout": 2000}


def synced(inst: Any) -> None:
    """Wait until the emulator has run everything sent so far (writes do not wait; a query does)."""
    assert inst.ask("*OPC?").strip() == "1"


@pytest.fixture
def ks() -> Iterator[tuple[ScpiEmulator, Any]]:
    with keysight_emulator("33522B") as emu:
        inst = Agilent33500(emu.address, **_VISA)
        try:
            yield emu, inst
        finally:
            inst.adapter.close()


@pytest.fixture
def dg() -> Iterator[tuple[ScpiEmulator, Any]]:
    with rigol_emulator("DG832") as emu:
        inst = DG800(emu.address, **_VISA)
        try:
            yield emu, inst
        finally:
            inst.adapter.close()


def test_pymeasure_agilent33500_settings_and_queries(ks: tuple[ScpiEmulator, Any]) -> None:
    emu, k = ks
    p = emu.personality
    assert "33522B" in k.id
    k.ch_2.shape = "SQU"
    k.ch_2.frequency = 2500.0
    k.ch_2.amplitude = 0.5
    k.ch_2.offset = 0.1
    k.ch_2.output = True
    k.ch_2.burst_state = True
    k.ch_2.burst_mode = "TRIG"
    k.ch_2.burst_ncycles = 3
    synced(k)
    c = p.ch[2]
    assert (c.function, c.freq_hz, c.vpp, c.offset_v, c.output) == ("SQU", 2500.0, 0.5, 0.1, True)
    assert (c.burst, c.burst_mode, c.ncycles) == (True, "TRIG", 3)
    assert p.ch[1].function == "SIN" and not p.ch[1].output  # channel 1 untouched
    # and PyMeasure reads every one of them back from the emulator
    assert k.ch_2.shape == "SQU" and k.ch_2.frequency == 2500.0
    assert k.ch_2.amplitude == 0.5 and k.ch_2.offset == 0.1
    assert k.ch_2.output is True and k.ch_2.burst_state is True and k.ch_2.burst_ncycles == 3
    k.ch_2.output = False
    synced(k)
    assert not c.output
    assert k.check_errors() == [] and p.errors == []


def test_pymeasure_agilent33500_arb_upload_its_own_way_and_trigger(ks: tuple[ScpiEmulator, Any]) -> None:
    emu, k = ks
    p = emu.personality
    dac = [0, 1000, -1000, 32767, -32767, 5, -6, 7, 8, 9]
    k.ch_1.data_arb("wgdac", dac, data_format="DAC")  # SOUR1:DATA:ARB:DAC wgdac, 0, 1000, ...
    flt = [0.0, 0.5, -0.5, 1.0, -1.0, 0.25, -0.25, 0.125]
    k.ch_1.data_arb("wgflt", flt, data_format="float")  # SOUR1:DATA:ARB wgflt, 0.0, 0.5, ...
    synced(k)
    assert p.ch[1].arbs["WGDAC"].tolist() == dac
    assert p.ch[1].arbs["WGFLT"].tolist() == np.rint(np.array(flt) * 32767).astype(int).tolist()
    k.ch_1.arb_file = "wgdac"
    k.ch_1.shape = "ARB"
    k.ch_1.arb_srate = 1e6
    k.ch_1.arb_filter = "STEP"
    assert k.ch_1.arb_file.strip('"') == "WGDAC" and k.ch_1.arb_srate == 1e6 and k.ch_1.arb_filter == "STEP"
    c = p.ch[1]
    assert (c.selected, c.function, c.srate_hz, c.filt) == ("WGDAC", "ARB", 1e6, "STEP")
    assert p.output_codes(1).tolist() == dac
    k.ch_1.burst_state = True
    k.trigger_source = "BUS"
    assert k.trigger_source == "BUS" and c.trig_source == "BUS"
    k.trigger()  # "*TRG;*WAI" in one message
    synced(k)
    assert c.triggers == 1
    assert k.check_errors() == []
    # a binary upload through PyMeasure's own block formatting (pyvisa's to_ieee_block), little-endian
    k.write("FORM:BORD SWAP")
    k.write_binary_values("SOUR2:DATA:ARB:DAC wgbin,", np.array(dac, "<i2"), datatype="h", is_big_endian=False)
    synced(k)
    assert p.ch[2].arbs["WGBIN"].tolist() == dac
    k.ch_1.data_volatile_clear()
    synced(k)
    assert p.ch[1].arbs == {} and c.selected is None
    assert k.check_errors() == []


def test_pymeasure_agilent33500_out_of_range_values_reach_the_error_queue(ks: tuple[ScpiEmulator, Any]) -> None:
    emu, k = ks
    k.write("SOURce1:FUNCtion:ARBitrary:SRATe 1e9")  # 33522B: 250 MSa/s at most
    k.write("OUTPut1:STATe maybe")
    errors = k.check_errors()
    assert [e[0] for e in errors] == [-222, -224]
    assert emu.personality.ch[1].srate_hz == 40e3


def test_pymeasure_dg800_settings_queries_and_arb(dg: tuple[ScpiEmulator, Any]) -> None:
    emu, d = dg
    p = emu.personality
    ch = d.channel_2
    ch.sine = (1500.0, 2.0, 0.25, 10.0)  # :SOUR2:APPL:SIN 1500.000000,2.000000,0.250000,10.000000
    synced(d)
    c = p.ch[2]
    assert (c.function, c.freq_hz, c.vpp, c.offset_v, c.phase_deg) == ("SIN", 1500.0, 2.0, 0.25, 10.0)
    assert ch.shape == "SIN" and ch.frequency == 1500.0
    assert ch.waveform[1:4] == [1500.0, 2.0, 0.25]  # :SOUR2:APPL? answers the whole setting
    ch.output_enabled = True
    synced(d)
    assert c.output and ch.output_enabled is True
    ch.load = 1000
    synced(d)
    assert c.load_ohm == 1000.0 and ch.load == 1000.0
    ch.high_impedance = True
    synced(d)
    assert c.load == "INF" and ch.load == 9.9e37  # the guide's answer for high-Z
    ch.frequency = 20e3
    synced(d)
    assert c.freq_hz == 20e3
    # burst and arbitrary data: DG800 in PyMeasure has no property for them, its generic I/O is used
    d.write(":SOUR2:BURS ON;BURS:NCYC 4;TRIG:SOUR MAN")  # compound: the path stays at :SOUR2:BURS
    d.write(":SOUR2:FUNC:ARB:MODE SRAT")
    codes = (np.arange(16) * 1000).astype("<u2")
    d.write_binary_values(":SOUR2:TRAC:DATA:DAC16 VOLATILE,END,", codes, datatype="H", is_big_endian=False)
    d.write(":SOUR2:BURS:TRIG")
    synced(d)
    assert (c.burst, c.ncycles, c.trig_source, c.triggers) == (True, 4, "MAN", 1)
    assert c.function == "ARB" and p.output_codes(2).tolist() == codes.tolist()
    assert d.ask(":SOUR2:TRAC:DATA:LOAD? VOLATILE").strip() == "1"
    assert d.check_errors() == [] and p.errors == []
    ch.output_enabled = False
    synced(d)
    assert not c.output
