"""End to end: real pyvisa + pyvisa-py over loopback TCP to the instrument emulators."""

from __future__ import annotations

import numpy as np
import pytest
from test_drivers_helpers import answer_missing_queries, cleared, codes_grant, looped, volts_grant
from wavegen.drivers.keysight_33500 import Keysight33500
from wavegen.drivers.mock.keysight import KeysightPersonality, keysight_emulator
from wavegen.drivers.mock.rigol import rigol_emulator
from wavegen.drivers.mock.server import ScpiEmulator
from wavegen.drivers.mock.siglent import siglent_emulator
from wavegen.drivers.mock.tektronix import tektronix_emulator
from wavegen.drivers.rigol_dg import RigolDG
from wavegen.drivers.siglent_sdg import SiglentSDG
from wavegen.drivers.tektronix_awg import TektronixAWG

from wavegen.errors import InstrumentError


def test_emulator_binds_loopback_on_an_ephemeral_port() -> None:
    with keysight_emulator() as emu:
        assert emu.address.startswith("TCPIP0::127.0.0.1::") and emu.address.endswith("::SOCKET")
        assert emu.port > 1024
        assert emu._sock.getsockname()[0] == "127.0.0.1"
    with pytest.raises(ValueError, match="127.0.0.1 only"):
        ScpiEmulator(KeysightPersonality(), host="0.0.0.0")


def test_keysight_1m_points_read_back_bit_exact() -> None:
    rng = np.random.default_rng(1)
    v = rng.uniform(-2.0, 2.0, 1_000_000)
    v[0], v[1] = -2.0, 2.0
    ok = looped("awg/1", v, 1e6)
    with keysight_emulator("33522B") as emu:
        with Keysight33500(emu.address, name="awg") as awg:
            lw = awg.load(1, v, 1e6, clearance=ok, name="gx", full_scale_v=2.0)
            assert lw.verified and lw.n_points == 1_000_000
            awg.output(1, True, clearance=ok)
            ch = emu.personality.ch[1]
            expected = np.rint(v / 2.0 * 32767).astype(np.int16)
            assert np.array_equal(ch.arbs["GX"], expected)  # what the instrument holds, sample for sample
            assert ch.output and ch.function == "ARB" and ch.srate_hz == 1e6 and ch.vpp == 4.0
            rate, out = emu.personality.output_volts(1)
            assert rate == 1e6 and np.max(np.abs(out - v)) <= 2.0 / 32767 / 2 * (1 + 1e-9)  # half an LSB
        assert not emu.personality.ch[1].output  # leaving the with block switched it off
        assert emu.personality.errors == []


def test_keysight_two_channels_in_sync_and_burst() -> None:
    n = 4096
    t = np.arange(n)
    gx = np.sin(2 * np.pi * t / n)
    gy = np.cos(2 * np.pi * t / n)
    ok = cleared(volts_grant("awg/1", gx, 2.5e6, repeats=3), volts_grant("awg/2", gy, 2.5e6, repeats=3))
    with keysight_emulator("33622A") as emu:
        with Keysight33500(emu.address, name="awg") as awg:
            out = awg.load_synchronized({1: gx, 2: gy}, 2.5e6, clearance=ok)
            assert all(lw.verified for lw in out.values())
            p = emu.personality
            assert p.sync_count == 1 and p.ch[1].srate_hz == p.ch[2].srate_hz == 2.5e6
            awg.arm([1, 2], trigger="bus", cycles=3)
            awg.output(1, True, clearance=ok)
            awg.output(2, True, clearance=ok)
            awg.trigger()
            assert p.ch[1].triggers == p.ch[2].triggers == 1
            assert p.ch[1].ncycles == 3 and p.ch[1].burst and p.ch[1].trig_source == "BUS"
            assert awg.sample_rate(2) == 2.5e6
        assert not p.ch[1].output and not p.ch[2].output


def test_rigol_sequence_longer_than_one_packet() -> None:
    n = 3 * 16384 + 5  # four packets, the last two rebalanced
    v = np.linspace(-1.0, 1.0, n) ** 3
    ok = cleared(volts_grant("fg/2", v, 1e6, repeats=2))
    with rigol_emulator("DG1062Z") as emu:
        answer_missing_queries(emu)
        with RigolDG(emu.address, load_ohm=None, name="fg") as awg:
            assert awg.load(2, v, 1e6, clearance=ok).verified
            p = emu.personality
            assert p.packets_received == 4
            expected = np.rint(v * 8191.5 + 8191.5).astype(np.int64)
            assert np.array_equal(p.ch[2].wave.astype(np.int64), expected)
            awg.arm([2], trigger="bus", cycles=2)
            awg.trigger()
            assert p.ch[2].triggers == 1 and p.ch[2].ncycles == 2 and p.ch[2].load == "INF"


def test_tektronix_chunks_and_markers_end_to_end() -> None:
    n = 10_000
    v = 0.2 * np.sin(np.linspace(0, 20, n))
    gate = np.zeros(n, bool)
    gate[2000:6000] = True
    trig = np.zeros(n, bool)
    trig[:10] = True
    ok = cleared(volts_grant("tek/1", v, 10e9))
    with tektronix_emulator("AWG70002A") as emu:
        answer_missing_queries(emu)
        awg = TektronixAWG(emu.address, name="tek")
        awg.chunk_points = 3000  # a waveform longer than one block
        with awg:
            assert awg.caps.dac_bits == 8 and awg.caps.markers == 2
            assert awg.load(1, v, 10e9, clearance=ok, name="rf", markers={1: gate, 2: trig}).verified
            w = emu.personality.waves["rf"]
            assert np.array_equal(w.markers, (gate.astype(np.uint8) << 6) | (trig.astype(np.uint8) << 7))
            codes = np.rint(v / np.max(np.abs(v)) * 127)
            assert np.array_equal(w.data, (codes / 127).astype(np.float32))
            awg.arm(trigger="bus")
            awg.trigger()
            assert emu.personality.running and emu.personality.triggers == 1
        assert not emu.personality.running


def test_siglent_header_less_upload_end_to_end() -> None:
    v = np.linspace(-1, 1, 20_000)
    ok = cleared(volts_grant("sdg/1", v, 1e6))
    with siglent_emulator("SDG2042X") as emu:
        answer_missing_queries(emu)
        with SiglentSDG(emu.address, settle_s=0.15, name="sdg") as awg:
            assert awg.load(1, v, 1e6, clearance=ok, name="gz").verified
            assert np.array_equal(emu.personality.waves["gz"], np.rint(v * 32767).astype(np.int16))
            assert emu.personality.ch[1].selected == "gz" and emu.personality.ch[1].mode == "TARB"


def test_siglent_command_sent_too_soon_is_caught_by_readback() -> None:
    # the pyvisa-py#311 failure: *OPC? goes out before the instrument saw the end of the raw data
    v = np.linspace(-1, 1, 100)
    ok = cleared(volts_grant("sdg/1", v, 1e6))
    with siglent_emulator("SDG2042X") as emu:
        answer_missing_queries(emu)
        awg = SiglentSDG(emu.address, settle_s=0.0, timeout_s=0.5, name="sdg")
        with pytest.raises(InstrumentError):
            awg.load(1, v, 1e6, clearance=ok, name="gz")
        assert not emu.personality.ch[1].output
        awg.close()


def test_output_on_needs_a_loaded_waveform() -> None:
    ok = looped("awg/1", np.zeros(8), 1e6)
    with keysight_emulator() as emu:
        with Keysight33500(emu.address, name="awg") as awg:
            with pytest.raises(InstrumentError, match="no waveform loaded"):
                awg.output(1, True, clearance=ok)
            with pytest.raises(InstrumentError, match="before arm"):
                awg.trigger()
        assert emu.personality.log.count("OUTP1 ON") == 0


@pytest.mark.slow
def test_keysight_16m_points_with_mem_option() -> None:
    n = 16 << 20
    codes = (np.arange(n, dtype=np.int64) % 65535 - 32767).astype(np.int16)
    ok = cleared(codes_grant("awg/1", codes, 1e6))
    with keysight_emulator("33522B", mem_option=True) as emu:
        with Keysight33500(emu.address, readback="points", name="awg") as awg:
            awg.load_codes(1, codes, 1e6, clearance=ok, amplitude_vpp=2.0, name="big")
            assert np.array_equal(emu.personality.ch[1].arbs["BIG"], codes)


def test_real_keysight_round_trip(device_address: tuple[str, str]) -> None:  # pragma: no cover
    # opt-in: pytest --device-address RESOURCE (tests/conftest.py)
    address, backend = device_address
    v = 0.1 * np.sin(np.linspace(0, 2 * np.pi, 1000))
    ok = cleared(volts_grant("real/1", v, 1e5))
    with Keysight33500(address, backend=backend, name="real") as awg:
        assert awg.load(1, v, 1e5, clearance=ok, name="wgtest").verified


def test_fast_socket_path_and_visa_write_deliver_the_same_bytes() -> None:
    import socket as _socket

    from wavegen.drivers.scpi import ScpiSession
    from wavegen.drivers.transport import open_visa, socket_of

    from wavegen.testing import ReplayTransport

    codes = (np.arange(600_000) % 65535 - 32767).astype("<i2")  # 1.2 MB: above the fast-path threshold
    assert socket_of(ReplayTransport([])) is None
    with keysight_emulator(mem_option=True) as emu:
        res = open_visa(emu.address)
        try:
            sock = socket_of(res)
            assert sock is not None and sock.getsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY)
            for fast in (1 << 20, None):
                s = ScpiSession(res, fast_socket_bytes=fast)
                s.write("FORM:BORD SWAP")
                s.write("SOUR1:DATA:VOL:CLE")
                s.write_block("SOUR1:DATA:ARB:DAC big,", codes)
                s.opc()
                s.check_errors("upload")
                assert np.array_equal(emu.personality.ch[1].arbs["BIG"], codes)
        finally:
            res.close()


def test_open_awg_picks_the_family_from_idn() -> None:
    from wavegen.drivers.detect import driver_for_idn, open_awg

    from wavegen.errors import InstrumentProtocolError

    for factory, cls in (
        (keysight_emulator, Keysight33500),
        (tektronix_emulator, TektronixAWG),
        (rigol_emulator, RigolDG),
        (siglent_emulator, SiglentSDG),
    ):
        with factory() as emu:
            answer_missing_queries(emu)
            with open_awg(emu.address) as awg:
                assert type(awg) is cls and awg.caps.model in emu.personality.idn
    with pytest.raises(InstrumentProtocolError, match="no wavegen driver"):
        driver_for_idn("Tektronix,AFG31022,C0,1.0")


def test_progress_is_reported_during_long_uploads() -> None:
    seen: list[tuple[int, int]] = []
    codes = (np.arange(5_000_000) % 1000).astype(np.int16)
    ok = cleared(codes_grant("awg/1", codes, 1e6))
    with keysight_emulator(mem_option=True) as emu:
        prog = lambda a, b: seen.append((a, b))  # noqa: E731
        with Keysight33500(emu.address, readback="points", progress=prog, name="awg") as awg:
            awg.load_codes(1, codes, 1e6, clearance=ok, amplitude_vpp=1.0, name="p")
    total = codes.nbytes
    assert seen[-1] == (total, total) and len(seen) >= 2
    assert all(b == total for _, b in seen) and [a for a, _ in seen] == sorted(a for a, _ in seen)


def test_nobody_listening_is_a_clear_instrument_error() -> None:
    import socket as _socket

    s = _socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens on this port now
    with pytest.raises(InstrumentError, match=r"\*IDN\?"):
        Keysight33500(f"TCPIP0::127.0.0.1::{port}::SOCKET", timeout_s=0.5)


def test_rigol_rate_read_back_with_seven_digits_verifies() -> None:
    """A rate that is not exact in 7 significant digits (the guide's return format) still verifies."""
    v = np.linspace(-1.0, 1.0, 1000)
    rate = 1234567.8  # read back as 1.234568E+06
    ok = cleared(volts_grant("fg/1", v, rate))
    with rigol_emulator("DG1062Z") as emu, RigolDG(emu.address, load_ohm=None, name="fg") as awg:
        lw = awg.load(1, v, rate, clearance=ok)
        assert lw.sample_rate_hz == rate and lw.verified
