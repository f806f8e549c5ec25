"""Injected faults: every one ends in a clear exception, outputs off, nothing armed, and the next session works."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from test_drivers_helpers import DropWrites, answer_missing_queries, any_of, cleared
from wavegen.drivers.keysight_33500 import Keysight33500
from wavegen.drivers.mock.keysight import keysight_emulator
from wavegen.drivers.mock.rigol import rigol_emulator
from wavegen.drivers.mock.siglent import siglent_emulator
from wavegen.drivers.mock.tektronix import tektronix_emulator
from wavegen.drivers.rigol_dg import RigolDG
from wavegen.drivers.siglent_sdg import SiglentSDG
from wavegen.drivers.tektronix_awg import TektronixAWG

from wavegen.errors import (
    InstrumentError,
    InstrumentProtocolError,
    InstrumentReportedError,
    InstrumentTimeoutError,
    VerificationError,
)

V = np.sin(np.linspace(0, 12, 5000))
WAVE = np.sin(np.linspace(0, 30, 60_000))
BIG = np.sin(np.linspace(0, 50, 1_000_000))
#: every waveform these tests play, at the scales each family uses, on outputs awg/1 and awg/2
_PLAYED = [a * w for a in (1.0, 0.3) for w in (V, V[:100], WAVE, BIG)]


@pytest.fixture(scope="module")
def ok() -> object:
    return cleared(any_of("awg/1", _PLAYED, 1e6), any_of("awg/2", _PLAYED, 1e6))


def _assert_safe(emu: Any, awg: Keysight33500) -> None:
    p = emu.personality
    assert not any(c.output for c in p.ch.values()), "an output was left on"
    assert not awg.armed and not awg.outputs_on and not awg.loaded


def _next_session_works(emu: Any, ok: object) -> None:
    with Keysight33500(emu.address, timeout_s=2.0, name="awg") as awg:
        assert awg.load(1, V, 1e6, clearance=ok, name="again").verified
        awg.output(1, True, clearance=ok)
        assert emu.personality.ch[1].output
    assert not emu.personality.ch[1].output


def _playing(emu: Any, ok: object, **kw: Any) -> Keysight33500:
    awg = Keysight33500(emu.address, name="awg", **kw)
    awg.load(2, V, 1e6, clearance=ok, name="gy")
    awg.output(2, True, clearance=ok)
    assert emu.personality.ch[2].output
    return awg


def test_timeout_in_arm_switches_outputs_off(ok: object) -> None:
    with keysight_emulator() as emu:
        awg = _playing(emu, ok, timeout_s=0.4)
        emu.faults.silent.append("*OPC?")
        with pytest.raises(InstrumentTimeoutError, match=r"timed out during '\*OPC\?'"):
            awg.arm([2], trigger="bus")
        _assert_safe(emu, awg)
        with pytest.raises(InstrumentError, match="no waveform loaded"):
            awg.output(2, True, clearance=ok)  # nothing half-loaded remains usable
        awg.close()
        _next_session_works(emu, ok)


def test_disconnect_mid_upload(ok: object) -> None:
    with keysight_emulator() as emu:
        awg = _playing(emu, ok, timeout_s=1.0)
        emu.faults.disconnect_after_bytes = 300_000
        with pytest.raises(InstrumentError):
            awg.load(1, BIG, 1e6, clearance=ok, name="gx")
        _assert_safe(emu, awg)  # the driver reconnected and switched everything off
        assert emu.connections >= 2 and "GX" not in emu.personality.ch[1].arbs
        awg.close()
        _next_session_works(emu, ok)


def test_error_queue_entry_raises_and_leaves_outputs_off(ok: object) -> None:
    with keysight_emulator() as emu:
        awg = _playing(emu, ok)
        emu.faults.errors_on["SOUR1:FUNC:ARB:FILT"] = (-221, "Settings conflict")
        with pytest.raises(InstrumentReportedError, match=r'-221,"Settings conflict"'):
            awg.load(1, V, 1e6, clearance=ok, name="gx")
        _assert_safe(emu, awg)
        assert emu.personality.errors == []  # drained
        awg.close()
        _next_session_works(emu, ok)


def test_wrong_idn_refused_then_next_session_works(ok: object) -> None:
    with keysight_emulator() as emu:
        emu.faults.idn = "Rigol Technologies,DG1062Z,DG1ZA0001,00.01.14"
        with pytest.raises(InstrumentProtocolError, match="drives KEYSIGHT/AGILENT"):
            Keysight33500(emu.address)
        emu.faults.idn = "Keysight Technologies,33622A,MY1,A.01"
        with pytest.raises(InstrumentProtocolError, match="expected model '33522B'"):
            Keysight33500(emu.address, expected_model="33522B")
        emu.faults.idn = None
        _next_session_works(emu, ok)


def test_slow_instrument(ok: object) -> None:
    with keysight_emulator() as emu:
        emu.faults.delay_s = 0.3
        with pytest.raises(InstrumentTimeoutError):
            Keysight33500(emu.address, timeout_s=0.15)
        emu.faults.delay_s = 0.002  # slow but within the timeout: works
        with Keysight33500(emu.address, timeout_s=2.0, name="awg") as awg:
            assert awg.load(1, V[:100], 1e6, clearance=ok, name="slow").verified
        emu.faults.delay_s = 0.0
        _next_session_works(emu, ok)


_FAMILIES: list[tuple[Callable[[], Any], Callable[..., Any], dict[str, Any], float]] = [
    (keysight_emulator, Keysight33500, {}, 1.0),
    (tektronix_emulator, TektronixAWG, {}, 0.3),
    (rigol_emulator, RigolDG, {}, 1.0),
    (siglent_emulator, SiglentSDG, {"settle_s": 0.12}, 1.0),
]


@pytest.mark.parametrize("emulator, driver, kw, amp", _FAMILIES, ids=["keysight", "tektronix", "rigol", "siglent"])
def test_corrupted_readback_is_caught_in_every_family(
    ok: object, emulator: Callable[[], Any], driver: Callable[..., Any], kw: dict[str, Any], amp: float
) -> None:
    with emulator() as emu:
        answer_missing_queries(emu)
        awg = driver(emu.address, name="awg", **kw)
        awg.load(2, amp * V, 1e6, clearance=ok, name="gy")
        awg.output(2, True, clearance=ok)
        emu.faults.corrupt_readback_index = 1234
        with pytest.raises(VerificationError, match="sample 1234 differs"):
            awg.load(1, amp * V, 1e6, clearance=ok, name="gx")
        p = emu.personality
        assert not any(c.output for c in p.ch.values())
        assert not awg.outputs_on and not awg.loaded
        awg.close()
        with driver(emu.address, name="awg", **kw) as again:
            assert again.load(1, amp * V, 1e6, clearance=ok, name="gx").verified


@pytest.mark.parametrize("emulator, driver, kw, amp", _FAMILIES, ids=["keysight", "tektronix", "rigol", "siglent"])
def test_disconnect_mid_upload_in_every_family(
    ok: object, emulator: Callable[[], Any], driver: Callable[..., Any], kw: dict[str, Any], amp: float
) -> None:
    wave = amp * WAVE
    with emulator() as emu:
        answer_missing_queries(emu)
        awg = driver(emu.address, timeout_s=1.0, name="awg", **kw)
        awg.load(2, amp * V, 1e6, clearance=ok, name="gy")
        awg.output(2, True, clearance=ok)
        emu.faults.disconnect_after_bytes = 20_000  # inside the first block (Rigol: first 32 kB packet)
        with pytest.raises(InstrumentError):
            awg.load(1, wave, 1e6, clearance=ok, name="gx")
        assert not any(c.output for c in emu.personality.ch.values())
        assert not awg.outputs_on and not awg.loaded and not awg.armed
        awg.close()
        with driver(emu.address, name="awg", **kw) as again:
            assert again.load(1, wave, 1e6, clearance=ok, name="gx").verified


def test_silently_dropped_output_off_is_retried_and_named(ok: object) -> None:
    """An instrument that ignores ``OUTP2 OFF``: the read-back catches it, the error names output 2."""
    from wavegen.drivers.transport import open_visa

    with keysight_emulator() as emu:
        res = DropWrites(open_visa(emu.address, timeout_s=2.0), r"OUTP2 OFF")
        awg = Keysight33500(res, name="awg", timeout_s=2.0)
        awg.load(2, V, 1e6, clearance=ok, name="gy")
        awg.output(2, True, clearance=ok)
        with pytest.raises(VerificationError, match=r"outputs \[2\] could not be confirmed off \(still on after 3"):
            awg.outputs_off()
        assert res.dropped.count("OUTP2 OFF") >= 3  # first try plus two retries
        assert awg.unconfirmed_off == [2] and emu.personality.ch[2].output
        assert not emu.personality.ch[1].output  # output 1 was confirmed off
        res.dropped.clear()
        res._pattern = __import__("re").compile(r"(?!)")  # the instrument listens again
        awg.close()
        assert not emu.personality.ch[2].output


def test_dropped_off_during_a_failure_is_said_in_the_error(ok: object) -> None:
    from wavegen.drivers.transport import open_visa

    with keysight_emulator() as emu:
        res = DropWrites(open_visa(emu.address, timeout_s=1.0), r"OUTP2 OFF")
        awg = Keysight33500(res, name="awg", timeout_s=0.4)
        awg.load(2, V, 1e6, clearance=ok, name="gy")
        awg.output(2, True, clearance=ok)
        emu.faults.silent.append("*OPC?")
        with pytest.raises(InstrumentTimeoutError, match=r"outputs \[2\] of 33522B could not be confirmed off"):
            awg.arm([2])
        res.close()


def test_no_hang_when_the_instrument_dies_on_a_caller_opened_resource(ok: object) -> None:
    """pyvisa-py's clear() spins forever on a socket the peer closed; the driver must not call it."""
    import threading

    from wavegen.drivers.transport import open_visa

    outcome: list[BaseException | None] = []
    with keysight_emulator() as emu:
        res = open_visa(emu.address, timeout_s=1.0)
        awg = Keysight33500(res, name="awg", timeout_s=0.5)
        awg.load(2, V, 1e6, clearance=ok, name="gy")
        emu.faults.silent.append("*OPC?")

        def run() -> None:
            try:
                awg.arm([2])
                outcome.append(None)
            except BaseException as exc:
                outcome.append(exc)

        threading.Timer(0.2, emu.stop).start()  # the instrument dies while the driver waits
        t0 = __import__("time").monotonic()
        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        worker.join(15.0)
        elapsed = __import__("time").monotonic() - t0
        assert not worker.is_alive(), "the driver hung after the instrument died"
        assert isinstance(outcome[0], InstrumentError)
        assert elapsed < 0.5 + 2 * awg.cleanup_timeout_s + 1.0  # timeout plus a bounded clean-up
        assert "could not be confirmed off" in str(outcome[0])
        res.close()


@pytest.mark.parametrize("answer", ["nan", "NaN", "inf", "9.91E37"])
def test_non_finite_rate_read_back_fails_verification(answer: str) -> None:
    from test_drivers_helpers import volts_grant

    from wavegen.testing import ReplayTransport

    v = np.linspace(-1, 1, 16)
    c = cleared(volts_grant("awg/1", v, 1e6))
    steps = [("*IDN?", "Keysight Technologies,33522B,MY1,A.02"), ("*CLS", None), ("*OPT?", "0"),
             ("FORM:BORD SWAP", None), ("FORM:BORD?", "SWAP")]
    steps += [(f"OUTP{ch}{s}", None) for ch in (1, 2) for s in (" OFF", ":LOAD 50")]
    steps += [("SYST:ERR?", "+0,\"No error\"")]
    codes = np.rint(v * 32767).astype("<i2")
    from wavegen.testing import BlockMessage

    steps += [("SOUR1:DATA:VOL:CLE", None), (BlockMessage("SOUR1:DATA:ARB:DAC gx,", codes), None), ("*OPC?", "1"),
              ("SOUR1:FUNC:ARB gx", None), ("SYST:ERR?", "+0,\"No error\"")]
    steps += [(f"SOUR1:{cmd}", None) for cmd in ("FUNC ARB", "FUNC:ARB:SRAT 1000000", "FUNC:ARB:FILT NORM",
                                                  "VOLT:UNIT VPP", "VOLT 2", "VOLT:OFFS 0")]
    steps += [("SOUR1:FUNC:ARB:SRAT?", answer)]
    # clean-up after the failure: outputs off, read back, error queue
    steps += [("OUTP1 OFF", None), ("OUTP2 OFF", None), ("OUTP1?", "0"), ("OUTP2?", "0"),
              ("SYST:ERR?", "+0,\"No error\"")]
    t = ReplayTransport(steps)
    awg = Keysight33500(t, name="awg", verify=False)
    with pytest.raises(VerificationError, match="sample rate set to 1000000.0 Hz, instrument reports"):
        awg.load(1, v, 1e6, clearance=c, name="gx", full_scale_v=1.0)
    t.assert_done()


def test_close_says_when_an_output_could_not_be_confirmed_off(ok: object) -> None:
    from wavegen.drivers.transport import open_visa

    with keysight_emulator() as emu:
        res = DropWrites(open_visa(emu.address, timeout_s=2.0), r"OUTP1 OFF")
        awg = Keysight33500(res, name="awg", timeout_s=2.0)
        awg.load(1, V, 1e6, clearance=ok, name="gx")
        awg.output(1, True, clearance=ok)
        with pytest.raises(VerificationError, match=r"closed, but outputs \[1\] could not be confirmed off"):
            awg.close()
        assert emu.personality.ch[1].output  # what the error warns about
