"""Byte-exact protocol tests of every AWG family, and refusals before any I/O (protocol replay)."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from test_drivers_helpers import cleared, looped, volts_grant
from wavegen.drivers.keysight_33500 import Keysight33500
from wavegen.drivers.rigol_dg import RigolDG, packet_sizes
from wavegen.drivers.scpi import ieee_block
from wavegen.drivers.siglent_sdg import SiglentSDG
from wavegen.drivers.tektronix_awg import TektronixAWG

from wavegen.errors import (
    DacRangeError,
    InstrumentError,
    InstrumentProtocolError,
    NonFiniteError,
    RangeError,
    SafetyError,
    ShapeError,
    VerificationError,
)
from wavegen.limits import SystemLimits
from wavegen.safety.interlock import clear, override
from wavegen.safety.waveforms import Waveforms
from wavegen.testing import BlockMessage, ReplayMismatch, ReplayTransport

NO_ERR = ("SYST:ERR?", '+0,"No error"')
KS_IDN = "Keysight Technologies,33522B,MY00000001,A.02.02"


OFF_CONFIRMED = [("OUTP1?", "0"), ("OUTP2?", "0")]


def keysight_connect(opt: str = "0", idn: str = KS_IDN) -> list:
    return [
        ("*IDN?", idn),
        ("*CLS", None),
        ("*OPT?", opt),
        ("FORM:BORD SWAP", None),
        ("FORM:BORD?", "SWAP"),
        ("OUTP1 OFF", None),
        ("OUTP1:LOAD 50", None),
        ("OUTP2 OFF", None),
        ("OUTP2:LOAD 50", None),
        NO_ERR,
    ]


def keysight_close() -> list:
    return [("OUTP1 OFF", None), ("OUTP2 OFF", None), *OFF_CONFIRMED, NO_ERR]


def _volts() -> tuple[np.ndarray, np.ndarray]:
    v = np.array([0.0, 1.0, -1.0, 0.5, -0.5, 0.25, 1 / 32767, 0.75, 0.1, -0.9, 0.0, 0.3, -0.3, 0.6, -0.6, 0.0])
    codes = np.rint(v * 32767).astype(np.int64)  # round half to even, full scale 1 V
    assert codes[3] == 16384  # 16383.5 -> 16384 (even)
    return v, codes


def test_keysight_upload_is_byte_exact() -> None:
    v, codes = _volts()
    ok = looped("awg/1", v, 1e6)  # output on without arm: the 33500 loops the arb until stopped
    arb = "File Format:1.10\nData Points:16\nData:\n" + "\n".join(map(str, codes)) + "\n"
    steps = (
        keysight_connect()
        + [
            ("SOUR1:DATA:VOL:CLE", None),
            (BlockMessage("SOUR1:DATA:ARB:DAC gx,", codes.astype("<i2")), None),
            ("*OPC?", "1"),
            ("SOUR1:FUNC:ARB gx", None),
            NO_ERR,
            ("SOUR1:DATA:ATTR:POIN? gx", "+16"),
            ('MMEM:STOR:DATA1 "INT:\\gx.arb"', None),
            ("*OPC?", "1"),
            ('MMEM:UPL? "INT:\\gx.arb"', ieee_block(arb.encode()) + b"\n"),
            ('MMEM:DEL "INT:\\gx.arb"', None),
            ("SOUR1:FUNC ARB", None),
            ("SOUR1:FUNC:ARB:SRAT 1000000", None),
            ("SOUR1:FUNC:ARB:FILT STEP", None),
            ("SOUR1:VOLT:UNIT VPP", None),
            ("SOUR1:VOLT 2", None),
            ("SOUR1:VOLT:OFFS 0", None),
            ("SOUR1:FUNC:ARB:SRAT?", "+1.000000000000000E+06"),
            NO_ERR,
            ("OUTP1 ON", None),
            NO_ERR,
        ]
        + keysight_close()
    )
    with ReplayTransport(steps) as t:
        with Keysight33500(t, arb_filter="STEP", name="awg") as awg:
            lw = awg.load(1, v, 1e6, clearance=ok, name="gx", full_scale_v=1.0)
            assert lw.verified and lw.n_points == 16 and lw.amplitude_vpp == 2.0
            awg.output(1, True, clearance=ok)
    # the sample bytes on the wire, decoded independently
    sent = t.written[11]
    assert sent.startswith(b"SOUR1:DATA:ARB:DAC gx,#232")
    assert np.array_equal(np.frombuffer(sent[len(b"SOUR1:DATA:ARB:DAC gx,#232") : -1], "<i2"), codes)


def test_keysight_wrong_sample_is_named() -> None:
    v, codes = _volts()
    ok = cleared(volts_grant("awg/1", v, 1e6))
    wrong = codes.copy()
    wrong[9] += 1
    steps = keysight_connect() + [
        ("SOUR1:DATA:VOL:CLE", None),
        (BlockMessage("SOUR1:DATA:ARB:DAC gx,", wrong.astype("<i2")), None),
    ]
    t = ReplayTransport(steps)
    awg = Keysight33500(t, readback="points", name="awg")
    with pytest.raises(ReplayMismatch, match=r"sample 9 of 16 differs: expected -29489, got -29490"):
        awg.load(1, v, 1e6, clearance=ok, name="gx", full_scale_v=1.0)


def test_keysight_mem_option_and_two_channel_sync() -> None:
    v, codes = _volts()
    ok = cleared(volts_grant("awg/1", v, 250e3), volts_grant("awg/2", v, 250e3))
    per_ch = []
    for ch, name in ((1, "wg1"), (2, "wg2")):
        per_ch += [
            (f"SOUR{ch}:DATA:VOL:CLE", None),
            (BlockMessage(f"SOUR{ch}:DATA:ARB:DAC {name},", codes.astype("<i2")), None),
            ("*OPC?", "1"),
            (f"SOUR{ch}:FUNC:ARB {name}", None),
            NO_ERR,
            (f"SOUR{ch}:DATA:ATTR:POIN? {name}", "16"),
            (f"SOUR{ch}:FUNC ARB", None),
            (f"SOUR{ch}:FUNC:ARB:SRAT 250000", None),
            (f"SOUR{ch}:FUNC:ARB:FILT NORM", None),
            (f"SOUR{ch}:VOLT:UNIT VPP", None),
            (f"SOUR{ch}:VOLT 2", None),
            (f"SOUR{ch}:VOLT:OFFS 0", None),
            (f"SOUR{ch}:FUNC:ARB:SRAT?", "+2.500000000000000E+05"),
            NO_ERR,
        ]
    steps = keysight_connect(opt="MEM") + per_ch + [("FUNC:ARB:SYNC", None), ("*OPC?", "1"), NO_ERR]
    with ReplayTransport(steps + keysight_close()) as t:
        with Keysight33500(t, readback="points", name="awg") as awg:
            assert awg.caps.max_points == 16 << 20
            out = awg.load_synchronized({1: v, 2: v}, 250e3, clearance=ok, full_scale_v={1: 1.0, 2: 1.0})
            assert sorted(out) == [1, 2]


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(volts=np.zeros(7)), RangeError, "7 points outside"),
        (dict(volts=np.zeros(2_000_000)), RangeError, "2000000 points outside"),
        (dict(sample_rate_hz=300e6), RangeError, "sample rate 300000000.0 Hz outside"),
        (dict(volts=np.full(16, 5.5)), RangeError, "5.5 V at sample 0 outside"),
        (dict(volts=np.r_[np.zeros(15), np.nan]), NonFiniteError, r"volts\[15\]"),
        (dict(volts=np.zeros((2, 8))), ShapeError, "1-D"),
        (dict(channel=3), RangeError, "channel 3 does not exist"),
        (dict(name="averyveryverylongname"), RangeError, "at most 12"),
        (dict(full_scale_v=0.5), DacRangeError, "sample 0 has value -1.0"),
        (dict(clearance=None), SafetyError, "no safety clearance"),
        (dict(clearance="forged"), SafetyError, "no safety clearance"),
        (dict(volts=np.linspace(-1, 1, 16)[::-1]), SafetyError, "not what was cleared"),
        (dict(channel=2), SafetyError, "does not cover output 'awg/2'"),
        (dict(sample_rate_hz=2e6), SafetyError, "sample rate 2000000.0 Hz is not the cleared"),
    ],
)
def test_refused_before_any_io(kwargs: dict, error: type, match: str) -> None:
    ok = cleared(volts_grant("awg/1", np.linspace(-1, 1, 16), 1e6))
    args = dict(channel=1, volts=np.linspace(-1, 1, 16), sample_rate_hz=1e6, clearance=ok, name="gx")
    args.update(kwargs)
    t = ReplayTransport(keysight_connect())
    awg = Keysight33500(t, name="awg")
    n_before = len(t.written)
    with pytest.raises(error, match=match):
        awg.load(args.pop("channel"), args.pop("volts"), args.pop("sample_rate_hz"), **args)
    assert len(t.written) == n_before  # not one byte went out
    t.assert_done()


def test_codes_out_of_range_and_channel_limits_refused_before_io() -> None:
    ok = cleared(volts_grant("awg/2", np.array([0, 0.6, 0, 0, 0, 0, 0, 0.0]), 1e6))
    t = ReplayTransport(keysight_connect())
    awg = Keysight33500(t, name="awg")
    with pytest.raises(DacRangeError, match="code -32768 at sample 2"):
        awg.load_codes(1, np.array([0, 1, -32768, 0, 0, 0, 0, 0]), 1e6, clearance=ok, amplitude_vpp=2.0)
    awg.set_channel_limits(2, -0.5, 0.5)
    with pytest.raises(RangeError, match="0.6 V at sample 1 outside the allowed -0.5..0.5 V"):
        awg.load(2, np.array([0, 0.6, 0, 0, 0, 0, 0, 0.0]), 1e6, clearance=ok)
    with pytest.raises(InstrumentError, match="no waveform loaded"):
        awg.output(1, True, clearance=ok)
    t.assert_done()


def test_unsafe_waveform_gets_no_clearance_and_override_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    g = np.zeros((100, 3))
    g[50:, 0] = 39e-3  # a 39 mT/m step in one 10 us raster: 3900 T/m/s slew
    with pytest.raises(SafetyError):
        clear(Waveforms(g, 10e-6), SystemLimits())
    with caplog.at_level(logging.WARNING):
        forced = override(
            Waveforms(g, 10e-6), reason="bench test into a dummy load", operator="H7", limits=SystemLimits(),
            grants=[volts_grant("awg/1", _volts()[0], 1e6)],
        )
    assert forced.overridden and forced.is_valid()
    assert any("OVERRIDDEN" in r.getMessage() and "H7" in r.getMessage() for r in caplog.records)
    v, codes = _volts()
    steps = keysight_connect() + [
        ("SOUR1:DATA:VOL:CLE", None),
        (BlockMessage("SOUR1:DATA:ARB:DAC gx,", codes.astype("<i2")), None),
        ("*OPC?", "1"),
        ("SOUR1:FUNC:ARB gx", None),
        NO_ERR,
        ("SOUR1:FUNC ARB", None),
        ("SOUR1:FUNC:ARB:SRAT 1000000", None),
        ("SOUR1:FUNC:ARB:FILT NORM", None),
        ("SOUR1:VOLT:UNIT VPP", None),
        ("SOUR1:VOLT 2", None),
        ("SOUR1:VOLT:OFFS 0", None),
        ("SOUR1:FUNC:ARB:SRAT?", "1E6"),
        NO_ERR,
    ]
    with ReplayTransport(steps) as t:
        awg = Keysight33500(t, verify=False, name="awg")
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            awg.load(1, v, 1e6, clearance=forced, name="gx", full_scale_v=1.0)
        assert any("override" in r.getMessage() for r in caplog.records)


def test_wrong_idn_is_refused() -> None:
    with pytest.raises(InstrumentProtocolError, match="drives KEYSIGHT/AGILENT"):
        Keysight33500(ReplayTransport([("*IDN?", "Rigol Technologies,DG1062Z,X,1")]))
    with pytest.raises(InstrumentProtocolError, match="unknown model '33220A'"):
        Keysight33500(ReplayTransport([("*IDN?", "Agilent Technologies,33220A,X,1")]))
    with pytest.raises(InstrumentProtocolError, match="not 'vendor,model"):
        Keysight33500(ReplayTransport([("*IDN?", "garbage")]))
    with pytest.raises(InstrumentProtocolError, match="expected model '33622A'"):
        Keysight33500(ReplayTransport(keysight_connect()[:1]), expected_model="33622A")


def test_tektronix_float32_markers_and_chunks_byte_exact() -> None:
    n = 10
    v = np.linspace(-0.25, 0.25, n)
    ok = cleared(volts_grant("tek/1", v, 1e9), volts_grant("tek/2", v, 2e9))
    codes = np.rint(v / 0.25 * 8191).astype(np.int64)  # 14-bit resolution (two markers kept)
    data = (codes / 8191.0).astype("<f4")
    m1 = np.array([1, 1, 0, 0, 0, 0, 0, 0, 1, 1], bool)
    mk = (m1.astype(np.uint8) << 0).astype(np.uint8)  # AWG5200: M1 = bit 0
    idn = "TEKTRONIX,AWG5204,B010000,FV:6.6"
    connect = [("*IDN?", idn), ("*CLS", None), ("AWGC:STOP", None)]
    connect += [(f"OUTP{c} OFF", None) for c in range(1, 5)] + [("*OPC?", "1")]
    connect += [("WLIS:WAV:LMIN?", "1"), ("WLIS:WAV:GRAN?", "1"), NO_ERR]
    upload = [("WLIS:LIST?", '"other"'), ('WLIS:WAV:NEW "gx",10', None)]
    for start in (0, 4, 8):
        size = min(4, n - start)
        upload += [
            (BlockMessage(f'WLIS:WAV:DATA "gx",{start},{size},', data[start : start + size]), None),
            (BlockMessage(f'WLIS:WAV:MARK:DATA "gx",{start},{size},', mk[start : start + size]), None),
        ]
    upload += [("*OPC?", "1"), NO_ERR]
    for start in (0, 4, 8):
        size = min(4, n - start)
        upload += [
            (f'WLIS:WAV:DATA? "gx",{start},{size}', ieee_block(data[start : start + size].tobytes()) + b"\n"),
            (f'WLIS:WAV:MARK:DATA? "gx",{start},{size}', ieee_block(mk[start : start + size].tobytes()) + b"\n"),
        ]
    upload += [
        ("SOUR1:DAC:RES 14", None),
        ('SOUR1:CASS:WAV "gx"', None),
        ("CLOC:SRAT 1000000000", None),
        ("SOUR1:VOLT:AMPL 0.5", None),
        ("CLOC:SRAT?", "1.000000000000000E+09"),
        NO_ERR,
    ]
    close = [("AWGC:STOP", None)] + [(f"OUTP{c} OFF", None) for c in range(1, 5)]
    close += [(f"OUTP{c}?", "0") for c in range(1, 5)] + [NO_ERR]
    with ReplayTransport(connect + upload + close) as t:
        awg = TektronixAWG(t, name="tek")
        awg.chunk_points = 4
        with awg:
            assert awg.caps.dac_bits == 14 and awg.caps.markers == 2
            lw = awg.load(1, v, 1e9, clearance=ok, name="gx", markers={1: m1})
            assert lw.verified
            with pytest.raises(RangeError, match="one sample clock"):
                awg.load(2, v, 2e9, clearance=ok, name="gy")
            with pytest.raises(RangeError, match="offset_v must be 0"):
                awg.load(2, v, 1e9, clearance=ok, name="gy", offset_v=0.1)


def test_rigol_packets_are_split_within_limits() -> None:
    assert packet_sizes(8) == [8]
    assert packet_sizes(16384) == [16384]
    assert packet_sizes(16390) == [16382, 8]
    assert packet_sizes(16392) == [16384, 8]
    assert packet_sizes(16387) == [16379, 8]  # remainder 3 < 8: the previous packet gives 5 up
    for n in (8, 100, 16383, 16385, 50_000, 2_000_000):
        sizes = packet_sizes(n)
        assert sum(sizes) == n and all(8 <= s <= 16384 for s in sizes)
    n = 16387
    v = np.sin(np.linspace(0, 6, n)) * 2.0
    codes = np.rint((v + 2.0) / 2.0 * 8191.5).astype(np.int64)
    ok = cleared(volts_grant("DG1062Z-DG1ZA000000001/1", v, 100e3))
    idn = "Rigol Technologies,DG1062Z,DG1ZA000000001,00.01.14"
    connect = [("*IDN?", idn), ("*CLS", None)]
    connect += [(f":OUTP{c}{s}", None) for c in (1, 2) for s in (" OFF", ":LOAD 50")]
    connect += [(":SYST:ERR?", '0,"No error"')]
    upload = [
        (":SOUR1:FUNC:ARB:MODE SRAT", None),  # before the data (frequency mode stretches short arbs)
        (BlockMessage(":SOUR1:TRAC:DATA:DAC16 VOLATILE,CON,", codes[:16379].astype("<u2")), None),
        (BlockMessage(":SOUR1:TRAC:DATA:DAC16 VOLATILE,END,", codes[16379:].astype("<u2")), None),
        ("*OPC?", "1"),
        (":SYST:ERR?", '0,"No error"'),
        (":SOUR1:TRAC:DATA:LOAD? VOLATILE", "3"),
        # read-back packets of 16 KiB, headers as in the guide's example (#9000016384)
        (":SOUR1:TRAC:DATA:LOAD? 1", b"#9000016384" + codes[:8192].astype("<u2").tobytes() + b"\n"),
        (":SOUR1:TRAC:DATA:LOAD? 2", b"#9000016384" + codes[8192:16384].astype("<u2").tobytes() + b"\n"),
        (":SOUR1:TRAC:DATA:LOAD? 3", b"#9000000006" + codes[16384:].astype("<u2").tobytes() + b"\n"),
        (":SOUR1:FUNC:ARB:SRAT 100000", None),
        (":SOUR1:VOLT 4", None),
        (":SOUR1:VOLT:OFFS 0", None),
        (":SOUR1:FUNC:ARB:SRAT?", "1.000000E+05"),
        (":SYST:ERR?", '0,"No error"'),
    ]
    with ReplayTransport(connect + upload) as t:
        awg = RigolDG(t)
        lw = awg.load(1, v, 100e3, clearance=ok, full_scale_v=2.0)
        assert lw.verified and lw.amplitude_vpp == 4.0


def test_siglent_header_less_upload_byte_exact() -> None:
    v, codes = _volts()
    ok = cleared(volts_grant("sdg/1", v, 1e6))
    no_err = ("*ESR?", "0")  # the SDG has no SYST:ERR?
    idn = "Siglent Technologies,SDG2042X,SDG2XCAD1R0001,2.01.01.35R3"
    connect = [("*IDN?", idn), ("*CLS", None)]
    connect += [(f"C{c}:OUTP {s}", None) for c in (1, 2) for s in ("OFF", "LOAD,50")] + [no_err]
    raw = b"C1:WVDT WVNM,gx,WAVEDATA," + codes.astype("<i2").tobytes()
    upload = [
        (BlockMessage("C1:WVDT WVNM,gx,WAVEDATA,", codes.astype("<i2"), suffix=b"", header=False), None),
        ("*OPC?", "1"),
        no_err,
        ("WVDT? USER,gx", b"WVDT WVNM,gx,LENGTH,32B,WAVEDATA," + codes.astype("<i2").tobytes() + b"\n"),
        ("C1:ARWV NAME,gx", None),
        ("C1:SRATE MODE,TARB,VALUE,1000000,INTER,HOLD", None),
        ("C1:BSWV AMP,2", None),
        ("C1:BSWV OFST,0", None),
        ("C1:SRATE?", "C1:SRATE MODE,TARB,VALUE,1000000Sa/s,INTER,HOLD"),
        no_err,
    ]
    with ReplayTransport(connect + upload) as t:
        awg = SiglentSDG(t, settle_s=0.0, name="sdg")
        assert awg.load(1, v, 1e6, clearance=ok, name="gx", full_scale_v=1.0).verified
    assert raw in t.written  # no '#' header, no terminator


def test_siglent_sdg1000x_error_check_is_bounded_on_a_silent_instrument() -> None:
    """An SDG1032X answers no SYST:ERR?: the driver never sends it; *ESR? unanswered fails fast."""
    import time

    from wavegen.errors import InstrumentTimeoutError

    idn = "Siglent Technologies,SDG1032X,SDG1XABC,1.01.01.33R1"
    steps = [("*IDN?", idn), ("*CLS", None)]
    steps += [(f"C{c}:OUTP {s}", None) for c in (1, 2) for s in ("OFF", "LOAD,50")]
    steps += [("*ESR?", None)]  # the instrument stays silent
    t0 = time.monotonic()
    class Silent(ReplayTransport):
        read_timeouts: list = []

        def read(self) -> str:
            self.read_timeouts.append(self.timeout)
            return super().read()

    silent = Silent(steps)
    with pytest.raises(InstrumentTimeoutError):
        SiglentSDG(silent, timeout_s=30.0)
    assert time.monotonic() - t0 < 5.0
    assert silent.written[-1] == b"*ESR?\n" and not any(b"SYST:ERR" in w for w in silent.written)
    assert silent.read_timeouts[-1] <= 1000  # the error check waits at most 1 s, not the 30 s base timeout
    ok_steps = steps[:-1] + [("*ESR?", "+32")]  # command error bit
    with pytest.raises(Exception, match="command error"):
        SiglentSDG(ReplayTransport(ok_steps))


def test_siglent_burst_cycles_limited_to_1e6_before_io() -> None:
    v, _ = _volts()
    idn = "Siglent Technologies,SDG2042X,SDG2X,2.01"
    steps = [("*IDN?", idn), ("*CLS", None)]
    steps += [(f"C{c}:OUTP {s}", None) for c in (1, 2) for s in ("OFF", "LOAD,50")] + [("*ESR?", "0")]
    t = ReplayTransport(steps)
    awg = SiglentSDG(t, name="sdg")
    with pytest.raises(RangeError, match="at most 1000000 cycles, asked 1000001"):
        awg.arm([1], cycles=1_000_001)
    t.assert_done()


def _tek_connect(model: str, lmin: str, gran: str) -> list:
    steps = [("*IDN?", f"TEKTRONIX,{model},B01,FV:7.0"), ("*CLS", None), ("AWGC:STOP", None)]
    steps += [(f"OUTP{c} OFF", None) for c in range(1, 3)] + [("*OPC?", "1")]
    return steps + [("WLIS:WAV:LMIN?", lmin), ("WLIS:WAV:GRAN?", gran), NO_ERR]


def test_tektronix_minimum_length_and_granularity_are_queried() -> None:
    t = ReplayTransport(_tek_connect("AWG70002A", "4800", "1"))
    awg = TektronixAWG(t, name="tek")
    assert awg.caps.min_points == 4800 and awg.caps.point_granularity == 1
    assert awg.caps.min_rate_hz == 1.5e3  # AWG70000
    v = np.zeros(2400)
    with pytest.raises(RangeError, match="2400 points outside AWG70002A range 4800"):
        awg.load(1, v, 1e9, clearance=cleared(volts_grant("tek/1", v, 1e9)), name="a")
    with pytest.raises(RangeError, match="outside AWG70002A range 1500.0"):
        awg.load(1, np.zeros(4800), 1.49e3, clearance=None, name="a")
    t2 = ReplayTransport(_tek_connect("AWG5202", "2400", "240"))
    awg2 = TektronixAWG(t2, name="tek")
    with pytest.raises(RangeError, match="2500 points is not a multiple of 240"):
        awg2.load(1, np.zeros(2500), 1e9, clearance=None, name="a")
    t.assert_done()
    t2.assert_done()


@pytest.mark.parametrize("answer, passes", [("2.4999999E+09", True), ("2.4999997E+09", False), ("NaN", False)])
def test_tektronix_rate_read_back_within_the_setting_resolution(answer: str, passes: bool) -> None:
    """8 significant digits: 2.5e9 may read back as 2.4999999e9 (one unit = 100 Hz), not 2.4999997e9."""
    n = 2400
    v = np.linspace(-0.25, 0.25, n)
    codes = np.rint(v / 0.25 * 8191).astype(np.int64)
    data = (codes / 8191.0).astype("<f4")
    steps = _tek_connect("AWG5202", "1", "1") + [
        ("WLIS:LIST?", '""'),
        ('WLIS:WAV:NEW "gx",2400', None),
        (BlockMessage('WLIS:WAV:DATA "gx",0,2400,', data), None),
        ("*OPC?", "1"),
        NO_ERR,
        ("SOUR1:DAC:RES 14", None),
        ('SOUR1:CASS:WAV "gx"', None),
        ("CLOC:SRAT 2500000000", None),
        ("SOUR1:VOLT:AMPL 0.5", None),
        ("CLOC:SRAT?", answer),
    ]
    steps += [NO_ERR] if passes else [("AWGC:STOP", None), ("OUTP1 OFF", None), ("OUTP2 OFF", None),
                                      ("OUTP1?", "0"), ("OUTP2?", "0"), NO_ERR]
    t = ReplayTransport(steps)
    awg = TektronixAWG(t, name="tek", verify=False)
    c = cleared(volts_grant("tek/1", v, 2.5e9))
    if passes:
        awg.load(1, v, 2.5e9, clearance=c, name="gx")
    else:
        with pytest.raises(VerificationError, match="sample rate set to 2500000000.0 Hz"):
            awg.load(1, v, 2.5e9, clearance=c, name="gx")
    t.assert_done()
