"""AWG sequences: segments and play order verified against the grant, limits refused before any I/O,
families without sequencing refuse with what they can hold."""

from __future__ import annotations

import numpy as np
import pytest
from test_drivers_helpers import cleared
from wavegen.drivers.keysight_33500 import Keysight33500
from wavegen.drivers.rigol_dg import RigolDG
from wavegen.drivers.siglent_sdg import SiglentSDG

from wavegen.errors import RangeError, SafetyError
from wavegen.safety.interlock import Grant, Segment
from wavegen.testing import BlockMessage, ReplayTransport

NO_ERR = ("SYST:ERR?", '+0,"No error"')
S0 = np.linspace(-1.0, 1.0, 16)
S1 = np.concatenate([np.zeros(8), np.full(8, 0.5)])
ORDER = ((0, 3), (1, 1), (0, 2))


def _grant(order: tuple = ORDER, *, endless: bool = False, segs: tuple = (S0, S1), out: str = "awg/1") -> Grant:
    return Grant(out, 1e6, tuple(Segment.of(np.asarray(s, np.float64)) for s in segs), order, endless)


def _connect() -> list:
    steps = [("*IDN?", "Keysight Technologies,33522B,MY1,A.02"), ("*CLS", None), ("*OPT?", "0"),
             ("FORM:BORD SWAP", None), ("FORM:BORD?", "SWAP")]
    return steps + [(f"OUTP{c}{s}", None) for c in (1, 2) for s in (" OFF", ":LOAD 50")] + [NO_ERR]


def _codes(v: np.ndarray) -> np.ndarray:
    return np.rint(v * 32767).astype("<i2")


def test_keysight_sequence_byte_exact_like_the_guide() -> None:
    steps = _connect() + [("SOUR1:DATA:VOL:CLE", None)]  # once: the segments stay in volatile memory
    for k, seg in enumerate((S0, S1)):
        steps += [(BlockMessage(f"SOUR1:DATA:ARB:DAC sq_{k},", _codes(seg)), None), ("*OPC?", "1"),
                  (f"SOUR1:FUNC:ARB sq_{k}", None), (f"SOUR1:DATA:ATTR:POIN? sq_{k}", "16")]
    table = '"sq","sq_0",3,repeat,maintain,4,"sq_1",1,repeat,maintain,4,"sq_0",2,repeat,maintain,4'
    steps += [(BlockMessage("SOUR1:DATA:SEQ ", np.frombuffer(table.encode(), np.uint8)), None), ("*OPC?", "1"),
              ("SOUR1:FUNC:ARB sq", None), NO_ERR]
    steps += [(f"SOUR1:{c}", None) for c in ("FUNC ARB", "FUNC:ARB:SRAT 1000000", "FUNC:ARB:FILT NORM",
                                               "VOLT:UNIT VPP", "VOLT 2", "VOLT:OFFS 0")]
    steps += [("SOUR1:FUNC:ARB:SRAT?", "1E6"), NO_ERR]
    steps += [("TRIG1:SOUR BUS", None), ("SOUR1:BURS:MODE TRIG", None), ("SOUR1:BURS:NCYC 1", None),
              ("SOUR1:BURS:STAT ON", None), ("*OPC?", "1"), NO_ERR, ("OUTP1 ON", None), NO_ERR]
    c = cleared(_grant())
    with ReplayTransport(steps) as t:
        awg = Keysight33500(t, name="awg", readback="points")
        lw = awg.load_sequence(1, [S0, S1], ORDER, 1e6, clearance=c, name="sq", full_scale_v=1.0)
        assert lw.n_points == 16 * 3 + 16 + 16 * 2 and not lw.verified
        with pytest.raises(SafetyError, match="looping until stopped was not cleared"):
            awg.arm([1], cycles=2)  # two passes of the sequence: a loop the grant does not allow
        awg.arm([1], cycles=1)
        awg.output(1, True, clearance=c)
    assert sum(1 for w in t.written if w.startswith(b"SOUR1:DATA:VOL:CLE")) == 1


@pytest.mark.parametrize(
    "segments, order, grant, error, match",
    [
        ([S0, S1], ((1, 1), (0, 3), (0, 2)), _grant(), SafetyError, "play order is not the cleared one"),
        ([S0, S1], ((0, 4), (1, 1), (0, 2)), _grant(), SafetyError, "step 0"),
        ([S0, S1 * 0.9], ORDER, _grant(), SafetyError, "not what was cleared"),
        ([S0, S1], ORDER, _grant(out="awg/2"), SafetyError, "does not cover output 'awg/1'"),
        ([S0], [(0, 1)] * 513, _grant(), RangeError, r"513 sequence steps; limit 1..512 steps"),
        ([S0], [(0, 1_000_001)], _grant(), RangeError, r"step 0 repeats 1000001 times; limit 1..1000000"),
        ([S0], [(2, 1)], _grant(), RangeError, "step 0 names segment 2; there are 1"),
        ([np.zeros(600_000), np.zeros(600_000)], [(0, 1), (1, 1)], _grant(), RangeError,
         "1200000 points; sequence memory limit 1048576 points"),
        ([np.zeros(4)], [(0, 1)], _grant(), RangeError, "4 points outside 33522B range 8"),
    ],
)
def test_keysight_sequence_refused_before_any_io(segments: list, order: tuple, grant: Grant, error: type,
                                                 match: str) -> None:
    t = ReplayTransport(_connect())
    awg = Keysight33500(t, name="awg")
    n = len(t.written)
    with pytest.raises(error, match=match):
        awg.load_sequence(1, segments, order, 1e6, clearance=cleared(grant), name="sq", full_scale_v=1.0)
    assert len(t.written) == n
    t.assert_done()


def test_families_without_sequencing_say_what_they_can_hold() -> None:
    rigol = [("*IDN?", "Rigol Technologies,DG1062Z,DG1ZA1,00.01.14"), ("*CLS", None)]
    rigol += [(f":OUTP{c}{s}", None) for c in (1, 2) for s in (" OFF", ":LOAD 50")] + [(":SYST:ERR?", '0,"No error"')]
    sdg = [("*IDN?", "Siglent Technologies,SDG2042X,SDG2X,2.01"), ("*CLS", None)]
    sdg += [(f"C{c}:OUTP {s}", None) for c in (1, 2) for s in ("OFF", "LOAD,50")] + [("*ESR?", "0")]
    for drv, steps, model, pts in ((RigolDG, rigol, "DG1062Z", 8_000_000), (SiglentSDG, sdg, "SDG2042X", 8_388_608)):
        t = ReplayTransport(steps)
        awg = drv(t, name="fg")
        with pytest.raises(RangeError) as info:
            awg.load_sequence(2, [S0], [(0, 1)], 1e6, clearance=cleared(_grant(out="fg/2")))
        msg = str(info.value)
        assert f"{model} channel 2" in msg and f"{pts} points = {pts / 1e6:.6g} s at 1e+06 Hz" in msg
        assert "window" in msg and "lower the sample rate" in msg
        t.assert_done()


def test_tektronix_sequence_list_byte_exact_like_tm_devices() -> None:
    from wavegen.drivers.tektronix_awg import TektronixAWG

    seg0 = np.linspace(-0.25, 0.25, 8)
    seg1 = np.full(8, 0.125)
    order = ((1, 2), (0, 5))
    steps = [("*IDN?", "TEKTRONIX,AWG5202,B01,FV:7.0"), ("*CLS", None), ("AWGC:STOP", None)]
    steps += [(f"OUTP{c} OFF", None) for c in (1, 2)] + [("*OPC?", "1")]
    steps += [("WLIS:WAV:LMIN?", "1"), ("WLIS:WAV:GRAN?", "1"), NO_ERR]
    for k, seg in enumerate((seg0, seg1)):
        data = (np.rint(seg / 0.25 * 8191) / 8191.0).astype("<f4")
        steps += [("WLIS:LIST?", '""'), (f'WLIS:WAV:NEW "tq_{k}",8', None),
                  (BlockMessage(f'WLIS:WAV:DATA "tq_{k}",0,8,', data), None), ("*OPC?", "1"),
                  (f'WLIS:WAV:DATA? "tq_{k}",0,8', b"#232" + data.tobytes() + b"\n")]
    steps += [("SLIS:SIZE?", "1"), ("SLIS:NAME? 1", '"tq"'), ('SLIS:SEQ:DEL "tq"', None),
              ('SLIS:SEQ:NEW "tq",2,1', None),
              ('SLIS:SEQ:STEP1:TASS1:WAV "tq","tq_1"', None), ('SLIS:SEQ:STEP1:RCO "tq",2', None),
              ('SLIS:SEQ:STEP2:TASS1:WAV "tq","tq_0"', None), ('SLIS:SEQ:STEP2:RCO "tq",5', None),
              ('SLIS:SEQ:STEP2:GOTO "tq",END', None), ("*OPC?", "1"), ('SOUR1:CASS:SEQ "tq",1', None), NO_ERR,
              ("SOUR1:DAC:RES 14", None), ("CLOC:SRAT 1000000000", None), ("SOUR1:VOLT:AMPL 0.5", None),
              ("CLOC:SRAT?", "1.0E+09"), NO_ERR]
    grant = Grant("tek/1", 1e9, (Segment.of(seg0), Segment.of(seg1)), order)
    with ReplayTransport(steps) as t:
        awg = TektronixAWG(t, name="tek")
        lw = awg.load_sequence(1, [seg0, seg1], order, 1e9, clearance=cleared(grant), name="tq", full_scale_v=0.25)
        assert lw.verified and lw.n_points == 8 * 2 + 8 * 5
        with pytest.raises(RangeError, match="16384 sequence steps; limit 1..16383"):
            awg.load_sequence(1, [seg0], [(0, 1)] * 16384, 1e9, clearance=cleared(grant), name="tq")
