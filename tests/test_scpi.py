"""SCPI helpers and the protocol-replay transport: blocks, byte order, timeouts, the error queue."""

from __future__ import annotations

import numpy as np
import pytest
from wavegen.drivers.capabilities import first_sample_difference
from wavegen.drivers.scpi import (
    MAX_BLOCK_BYTES,
    ScpiSession,
    format_number,
    ieee_block,
    ieee_header,
    parse_ieee_header,
    payload_timeout_s,
    to_wire,
)

from wavegen.errors import (
    DacRangeError,
    InstrumentError,
    InstrumentProtocolError,
    InstrumentReportedError,
    InstrumentTimeoutError,
    RangeError,
    ShapeError,
)
from wavegen.testing import BlockMessage, ReplayMismatch, ReplayTransport


def test_ieee_header_matches_the_standard_examples() -> None:
    # IEEE 488.2 7.7.6: '#' + number of digits + decimal byte count
    assert ieee_header(0) == b"#10"
    assert ieee_header(5) == b"#15"
    assert ieee_header(16384) == b"#516384"
    assert ieee_header(MAX_BLOCK_BYTES) == b"#9999999999"
    assert ieee_block(b"hello") == b"#15hello"
    with pytest.raises(RangeError, match="split the upload"):
        ieee_header(MAX_BLOCK_BYTES + 1)


def test_parse_header_round_trip_and_refusals() -> None:
    for n in (0, 7, 10, 999, 123456789):
        head = ieee_header(n)
        assert parse_ieee_header(head + b"xx") == (len(head), n)
    assert parse_ieee_header(b"#9000032768") == (11, 32768)  # Rigol's zero-padded readback header
    for bad in (b"", b"12", b"#0abc", b"#A123", b"#3ab"):
        with pytest.raises(InstrumentProtocolError):
            parse_ieee_header(bad)


def test_to_wire_keeps_values_and_byte_order_explicit() -> None:
    codes = np.array([-32767, -1, 0, 1, 32767], dtype=np.int64)
    le = to_wire(codes, "<i2")
    be = to_wire(codes, ">i2")
    assert le.tobytes() == b"\x01\x80\xff\xff\x00\x00\x01\x00\xff\x7f"
    assert be.tobytes() == b"\x80\x01\xff\xff\x00\x00\x00\x01\x7f\xff"
    assert np.array_equal(np.frombuffer(le.tobytes(), "<i2"), codes)


def test_to_wire_refuses_what_pyvisa_would_wrap_silently() -> None:
    # pyvisa.util.to_binary_block would send 40000 as -25536
    with pytest.raises(DacRangeError, match="40000 at sample 1"):
        to_wire(np.array([0, 40000]), "<i2")
    with pytest.raises(DacRangeError, match="integer codes"):
        to_wire(np.array([0.5, 1.0]), "<i2")
    with pytest.raises(DacRangeError, match="float samples"):
        to_wire(np.array([1, 2]), "<f4")
    with pytest.raises(ShapeError):
        to_wire(np.zeros((2, 2), np.int16), "<i2")
    with pytest.raises(ShapeError):
        to_wire(np.zeros(0, np.int16), "<i2")
    with pytest.raises(DacRangeError, match="-1 at sample 0"):
        to_wire(np.array([-1, 3]), "<u2")


def test_payload_timeout_scales_with_size() -> None:
    assert payload_timeout_s(0, base_s=2.0, bytes_per_s=1e6) == 2.0
    assert payload_timeout_s(32_000_000, base_s=2.0, bytes_per_s=1e6) == pytest.approx(34.0)
    with pytest.raises(RangeError):
        payload_timeout_s(10, base_s=1.0, bytes_per_s=0.0)


def test_format_number_is_exact() -> None:
    assert format_number(1e6) == "1000000"
    assert format_number(0.1) == "0.1"
    assert float(format_number(1 / 3 * 1e6)) == 1 / 3 * 1e6  # %g would round to 333333
    with pytest.raises(RangeError):
        format_number(float("nan"))


def test_error_queue_is_drained_and_raised() -> None:
    t = ReplayTransport(
        [
            ("SYST:ERR?", '-222,"Data out of range"'),
            ("SYST:ERR?", '+780,"Arb: out of memory"'),
            ("SYST:ERR?", '+0,"No error"'),
        ]
    )
    s = ScpiSession(t, timeout_s=1.0)
    with pytest.raises(InstrumentReportedError, match=r'-222,"Data out of range"; \+780,"Arb: out of memory"'):
        s.check_errors("upload")
    t.assert_done()


def test_error_queue_that_never_empties_is_a_protocol_error() -> None:
    t = ReplayTransport([("SYST:ERR?", '-100,"Command error"')] * 3)
    s = ScpiSession(t, timeout_s=1.0, max_errors=3)
    with pytest.raises(InstrumentProtocolError, match="did not empty"):
        s.drain_errors()


def test_opc_and_block_read() -> None:
    payload = np.arange(-4, 4, dtype="<i2").tobytes() + b"\n\n"  # binary data containing newlines
    t = ReplayTransport([("*OPC?", "1"), ("DATA?", ieee_block(payload) + b"\n")])
    s = ScpiSession(t)
    s.opc()
    s.write("DATA?")
    assert s.read_block(expected_bytes=len(payload)) == payload
    t.assert_done()
    bad = ReplayTransport([("*OPC?", "0")])
    with pytest.raises(InstrumentProtocolError, match="expected '1'"):
        ScpiSession(bad).opc()


def test_block_write_can_be_chunked() -> None:
    data = np.arange(1000, dtype="<i2")
    t = ReplayTransport([(BlockMessage("DATA ", data), None)])
    s = ScpiSession(t, max_write_bytes=300)
    s.write_block("DATA ", data)
    t.assert_done()
    assert len(t.written) == -(-(len(b"DATA #42000") + 2000 + 1) // 300)
    assert max(len(w) for w in t.written) == 300


def test_replay_names_the_first_wrong_sample() -> None:
    expected = np.arange(100, dtype="<i2")
    sent = expected.copy()
    sent[37] = 999
    t = ReplayTransport([(BlockMessage("SOUR1:DATA:ARB:DAC gx,", expected), None)])
    with pytest.raises(ReplayMismatch, match=r"sample 37 of 100 differs: expected .*37.*, got .*999"):
        t.write_raw(b"SOUR1:DATA:ARB:DAC gx," + ieee_block(sent.tobytes()) + b"\n")


def test_replay_catches_wrong_text_unread_reply_and_leftovers() -> None:
    t = ReplayTransport([("OUTP1 OFF", None)])
    with pytest.raises(ReplayMismatch, match="byte 7 differs"):
        t.write("OUTP1 ON")
    t2 = ReplayTransport([("*IDN?", "x,y,z,w"), ("*CLS", None)])
    t2.write("*IDN?")
    with pytest.raises(ReplayMismatch, match="reply is unread"):
        t2.write("*CLS")
    t3 = ReplayTransport([("*CLS", None), ("*RST", None)])
    t3.write("*CLS")
    with pytest.raises(ReplayMismatch, match="never sent"):
        t3.assert_done()
    with pytest.raises(InstrumentTimeoutError):
        ReplayTransport([]).read()


def test_first_sample_difference_compares_float_bits() -> None:
    a = np.array([0.0, 1.0, 2.0], np.float32)
    b = a.copy()
    assert first_sample_difference(a, b) is None
    b[2] = np.nextafter(np.float32(2.0), np.float32(3.0))
    assert first_sample_difference(a, b) is not None
    assert "count differs" in (first_sample_difference(a, a[:2]) or "")


class _TimeoutTransport(ReplayTransport):
    def query(self, message: str) -> str:
        import pyvisa

        raise pyvisa.errors.VisaIOError(pyvisa.constants.StatusCode.error_timeout)


class _BrokenTransport(ReplayTransport):
    def write_raw(self, message: bytes) -> int:
        raise BrokenPipeError(32, "Broken pipe")


def test_transport_errors_become_wavegen_errors() -> None:
    with pytest.raises(InstrumentTimeoutError, match="timed out during '\\*OPC\\?'"):
        ScpiSession(_TimeoutTransport([])).opc()
    with pytest.raises(InstrumentError, match="connection lost"):
        ScpiSession(_BrokenTransport([])).write_block("X ", b"abc")


def test_timeout_context_restores_the_visa_milliseconds() -> None:
    t = ReplayTransport([])
    s = ScpiSession(t, timeout_s=2.5)
    assert t.timeout == 2500
    with s.timeout(40.0):
        assert t.timeout == 40000
    assert t.timeout == 2500
