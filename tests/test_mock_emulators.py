"""The emulators enforce each family's rules (so the end-to-end tests cannot pass against a lax mock)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import numpy as np
import pytest
from wavegen.drivers.mock.keysight import keysight_emulator
from wavegen.drivers.mock.rigol import rigol_emulator
from wavegen.drivers.mock.server import ScpiEmulator
from wavegen.drivers.mock.siglent import siglent_emulator
from wavegen.drivers.mock.tektronix import tektronix_emulator
from wavegen.drivers.scpi import ScpiError, ScpiSession
from wavegen.drivers.transport import open_visa

from wavegen.errors import InstrumentTimeoutError


@pytest.fixture
def scpi() -> Iterator[tuple[ScpiEmulator, ScpiSession]]:
    with keysight_emulator("33522B") as emu:
        res = open_visa(emu.address, timeout_s=2.0)
        try:
            yield emu, ScpiSession(res, timeout_s=2.0)
        finally:
            res.close()


def _errors(s: ScpiSession) -> list[int]:
    return [e.code for e in s.drain_errors()]


def test_keysight_byte_order_state(scpi: tuple[ScpiEmulator, ScpiSession]) -> None:
    emu, s = scpi
    codes = np.array([1, 2, 256, -2, 0, 0, 0, 0], dtype="<i2")
    assert s.query("FORM:BORD?") == "NORM"  # power-on default: big-endian
    s.write_block("SOUR1:DATA:ARB:DAC a,", codes)
    s.opc()
    assert np.array_equal(emu.personality.ch[1].arbs["A"], codes.byteswap())  # little-endian bytes misread
    s.write("FORM:BORD SWAP")
    s.write_block("SOUR1:DATA:ARB:DAC b,", codes)
    s.opc()
    assert np.array_equal(emu.personality.ch[1].arbs["B"], codes)
    assert _errors(s) == []


def test_keysight_limits_and_error_codes(scpi: tuple[ScpiEmulator, ScpiSession]) -> None:
    emu, s = scpi
    s.write("FORM:BORD SWAP")
    s.write_block("SOUR1:DATA:ARB:DAC a,", np.array([0, -32768, 0, 0, 0, 0, 0, 0], "<i2"))
    s.write_block("SOUR1:DATA:ARB:DAC b,", np.zeros(7, "<i2"))
    s.write_block("SOUR1:DATA:ARB:DAC c,", np.zeros((1 << 20) + 1, "<i2"))
    s.write_block("SOUR1:DATA:ARB:DAC d,", np.zeros(8, "<i2"))
    s.write_block("SOUR1:DATA:ARB:DAC d,", np.zeros(8, "<i2"))
    s.write("SOUR1:FUNC:ARB:SRAT 300e6")
    s.write("SOUR1:VOLT 12")
    s.write("BOGUS:CMD")
    s.write("SOUR1:FUNC:ARB nothere")
    assert _errors(s) == [-222, -222, -223, -221, -222, -222, -113, -224]
    assert sorted(emu.personality.ch[1].arbs) == ["D"]
    for _ in range(25):
        s.write("BOGUS")
    errs = s.drain_errors()
    assert len(errs) == 20 and errs[-1] == ScpiError(-350, "Queue overflow")


def test_one_shot_faults_clear_themselves(scpi: tuple[ScpiEmulator, ScpiSession]) -> None:
    emu, s = scpi
    emu.faults.silent.append("*OPC?")
    with pytest.raises(InstrumentTimeoutError):
        with s.timeout(0.2):
            s.opc()
    s.opc()  # answered again
    assert emu.faults.silent == []


def test_rigol_packet_rules() -> None:
    with rigol_emulator() as emu:
        res = open_visa(emu.address, timeout_s=2.0)
        try:
            s = ScpiSession(res, error_query=":SYST:ERR?")
            s.write(":SOUR1:FUNC:ARB:MODE SRAT")  # keep the points as sent (frequency mode stretches them)
            s.write_block(":SOUR1:TRAC:DATA:DAC16 VOLATILE,CON,", np.zeros(16384, "<u2"))
            s.write_block(":SOUR1:TRAC:DATA:DAC16 VOLATILE,END,", np.zeros(16385, "<u2"))  # one too many
            s.write_block(":SOUR1:TRAC:DATA:DAC16 VOLATILE,END,", np.full(8, 0x4000, "<u2"))  # 15 bits
            assert [e.code for e in s.drain_errors()] == [-222, -222]
            assert emu.personality.ch[1].wave is None and emu.personality.ch[1].pending == []
            s.write_block(":SOUR1:TRAC:DATA:DAC16 VOLATILE,END,", np.arange(20, dtype="<u2"))
            s.write(":SOUR1:TRAC:DATA:LOAD? 1")
            assert np.array_equal(np.frombuffer(s.read_block(expected_bytes=40), "<u2"), np.arange(20))
            assert emu.personality.ch[1].function == "ARB"
        finally:
            res.close()


def test_tektronix_data_rules() -> None:
    with tektronix_emulator("AWG5204") as emu:
        res = open_visa(emu.address, timeout_s=2.0)
        try:
            s = ScpiSession(res)
            s.write('WLIS:WAV:NEW "w",4')
            s.write_block('WLIS:WAV:DATA "w",0,4,', np.array([0, 0.5, 1.5, 0], "<f4"))  # |x| > 1
            s.write_block('WLIS:WAV:DATA "w",0,4,', np.zeros(3, "<f4"))  # size mismatch
            s.write_block('WLIS:WAV:DATA "w",2,4,', np.zeros(4, "<f4"))  # past the end
            s.write('WLIS:WAV:NEW "w",4')  # exists
            assert [e.code for e in s.drain_errors()] == [-222, -161, -222, -222]
        finally:
            res.close()


def test_siglent_raw_payload_ends_on_a_pause() -> None:
    with siglent_emulator() as emu:
        res = open_visa(emu.address, timeout_s=2.0)
        try:
            s = ScpiSession(res)
            data = np.array([10, -10, 10, 0x0A0A, 2570, 0, 1, 2], "<i2")  # holds '\n' bytes
            s.write_block("C1:WVDT WVNM,w,WAVEDATA,", data, header=False, suffix="")
            time.sleep(0.15)
            s.opc()
            assert np.array_equal(emu.personality.waves["w"], data)
            s.write_block("C1:WVDT WVNM,x,WAVEDATA,", b"\x01\x02\x03", header=False, suffix="")
            time.sleep(0.15)
            assert s.query("*ESR?") == "16"  # execution error; the SDG has no error queue to read
            assert [c for c, _ in emu.personality.errors] == [-222] and "x" not in emu.personality.waves
        finally:
            res.close()


def test_rigol_drops_a_packet_sequence_cut_off_by_a_lost_connection() -> None:
    with rigol_emulator() as emu:
        res = open_visa(emu.address, timeout_s=2.0)
        s = ScpiSession(res, error_query=":SYST:ERR?")
        s.write_block(":SOUR1:TRAC:DATA:DAC16 VOLATILE,CON,", np.ones(16384, "<u2"))
        s.opc()
        res.close()
        for _ in range(200):  # wait until the emulator has seen the connection end
            if not emu._conns:
                break
            time.sleep(0.005)
        res = open_visa(emu.address, timeout_s=2.0)
        try:
            s = ScpiSession(res, error_query=":SYST:ERR?")
            s.write(":SOUR1:FUNC:ARB:MODE SRAT")
            s.write_block(":SOUR1:TRAC:DATA:DAC16 VOLATILE,END,", np.full(8, 7, "<u2"))
            s.opc()
            assert np.array_equal(emu.personality.ch[1].wave, np.full(8, 7))
        finally:
            res.close()


def test_server_messages_compound_units_blocks_and_quoted_hashes(scpi: tuple[ScpiEmulator, ScpiSession]) -> None:
    emu, s = scpi
    p = emu.personality
    codes = np.arange(8, dtype="<i2")
    # units before a block in one message: the block belongs to the last unit
    s.write_block("FORM:BORD SWAP;:SOUR2:DATA:ARB:DAC blk,", codes)
    # a '#' inside a quoted string is text, not block data
    s.write('DISP:TEXT "run #3";:SOURce2:FUNCtion:ARBitrary blk;SHAPe ARB;:OUTPut2:STATe 1')  # SHAP: below FUNC
    assert s.query("SOUR2:FUNC?;FUNC:ARB?;:OUTP2?;*OPC?") == 'ARB;"BLK";1;1'
    assert np.array_equal(p.ch[2].arbs["BLK"], codes) and p.display_text == "run #3"
    s.write("*WAI;TRIGger2:IMMediate")
    assert s.query("*ESR?") == "0" and p.ch[2].triggers == 1
    assert _errors(s) == []
    s.write("SOUR2:VOLT 1;OUTP2 OFF")  # relative to SOURce2: there is no SOUR2:OUTP2
    assert _errors(s) == [-113] and p.ch[2].output and p.ch[2].vpp == 1.0


def test_decimal_upload_of_many_points_over_loopback(scpi: tuple[ScpiEmulator, ScpiSession]) -> None:
    emu, s = scpi
    values = (np.arange(200_000) % 65535 - 32767).astype(np.int16)
    s.write("DATA:ARB:DAC big, " + ", ".join(map(str, values.tolist())))
    assert s.query("DATA:ATTR:POIN? big") == "200000"
    assert np.array_equal(emu.personality.ch[1].arbs["BIG"], values)


def test_rigol_frequency_mode_stretches_short_data_and_switches_long_data() -> None:
    from wavegen.drivers.mock.rigol import FREQ_MODE_POINTS, RigolPersonality

    r = RigolPersonality("DG1062Z")
    ramp = np.linspace(0, 16000, 100).astype("<u2")
    r.message(":SOUR1:TRAC:DATA:DAC16 VOLATILE,END,", ramp.tobytes())  # frequency mode (the power-on default)
    wave = r.ch[1].wave
    assert wave is not None and wave.size == FREQ_MODE_POINTS and wave[0] == ramp[0]
    assert np.allclose(wave[::82][:99], ramp[:99], atol=200)  # the same shape, stretched
    long = np.full(FREQ_MODE_POINTS + 1, 7, "<u2")
    r.message(":SOUR2:TRAC:DATA:DAC16 VOLATILE,END,", long.tobytes())
    assert r.ch[2].wave is not None and r.ch[2].wave.size == long.size and r.ch[2].arb_mode == "SRAT"
    r.message(":SOUR1:FUNC:ARB:MODE SRAT")
    r.message(":SOUR1:TRAC:DATA:DAC VOLATILE," + ",".join(map(str, ramp.tolist())))  # decimal form
    assert r.ch[1].wave is not None and np.array_equal(r.ch[1].wave, ramp)
    assert r.errors == []


def test_siglent_stays_silent_over_the_wire() -> None:
    with siglent_emulator("SDG1062X") as emu:
        res = open_visa(emu.address, timeout_s=2.0)
        try:
            s = ScpiSession(res, timeout_s=2.0)
            for unknown in ("SYST:ERR?", "C1:NOPE?"):
                with pytest.raises(InstrumentTimeoutError):
                    with s.timeout(0.2):
                        s.query(unknown)
            assert s.query("*ESR?") == "32"  # the unknown headers set the command error bit
            assert s.query("C2:OUTP?") == "C2:OUTP OFF,LOAD,HZ,PLRT,NOR"
            s.write("C2:BSWV WVTP,SQUARE,FRQ,2500,AMP,1.5,OFST,0.25")
            assert s.query("C2:BSWV?").startswith("C2:BSWV WVTP,SQUARE,FRQ,2500HZ,")
            s.write("C2:BTWV TIME,1000001")  # over the 1e6 cycles the SDG takes
            assert s.query("*ESR?") == "16" and emu.personality.ch[2].ncycles == 1
        finally:
            res.close()


def test_faults_fire_per_unit_of_a_compound_message(scpi: tuple[ScpiEmulator, ScpiSession]) -> None:
    emu, s = scpi
    emu.faults.silent.append("FUNC?")
    emu.faults.errors_on["SOUR1:VOLT"] = (-221, "Settings conflict")
    assert s.query("SOUR1:VOLT 0.2;:FUNC?;*OPC?") == "1"  # the FUNC? unit got no answer
    assert [e.code for e in s.drain_errors()] == [-221] and emu.personality.ch[1].vpp == 0.2
