"""Bench on the mock: play (safety, render, volts, upload, verify, arm, trigger), measure, clean exit."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from wavegen.drivers.mock.dut import DeviceUnderTest, GradientChain, RfChain

import wavegen as wg
from wavegen import design
from wavegen.bench import Bench, Measurement, PlayResult
from wavegen.errors import ConfigError, SafetyError
from wavegen.sequence import Sequence

LIM = wg.SystemLimits.from_units(max_grad="40 mT/m", max_slew="150 T/m/s", max_b1="20 uT")


def _trap_seq(amp: float = 0.02, slew: float = 60.0, n: int = 2, axes=("gx",)) -> Sequence:
    slow = LIM.replace(max_slew_t_per_m_per_s=slew)
    seq = Sequence(LIM)
    for k in range(n):
        g = design.trapezoid_for_amplitude(slow, amp * (-1) ** k, 400e-6)
        seq.add_block(gx=g if "gx" in axes else None, gy=g if "gy" in axes else None, gz=g if "gz" in axes else None)
        seq.add_block(duration_s=100e-6)
    return seq


def _unsafe_seq() -> Sequence:
    seq = Sequence(LIM)
    fast = LIM.replace(max_slew_t_per_m_per_s=400.0)
    seq.add_block(gx=design.trapezoid_for_amplitude(fast, 0.02, 200e-6))  # 400 T/m/s > 150
    return seq


def test_play_uploads_exact_volts_and_leaves_everything_off():
    seq = _trap_seq(axes=("gx", "gy"))
    with Bench.mock() as bench:
        world = bench.world
        res = bench.play(seq)
        assert isinstance(res, PlayResult) and not res.overridden
        assert res.verified["rf_i"] and res.verified["gx"]
        assert "verified" in repr(res)
        rate, played = world.daq.played[-1]
        assert rate == 1e6
        prog = bench.render(seq)
        # volts = 200 V/(T/m) x gradient, lead of zeros first, exactly what was rendered
        assert np.array_equal(played["Dev1/ao0"], prog.physical["gx"] * 200.0)
        assert np.array_equal(played["Dev1/ao1"], prog.physical["gy"] * 200.0)
        lead = int(round(100e-6 * 1e6))
        assert np.all(played["Dev1/ao0"][:lead] == 0) and np.any(played["Dev1/ao0"][lead:])
        g = seq.render(1e6, ("gx",))["gx"]
        assert np.array_equal(prog.physical["gx"][lead : lead + g.size], g)
        # after a finite play: DAQ outputs at 0 V, AWG outputs off
        assert all(v == 0.0 for v in world.daq.outputs_v.values())
        awg = world.emulators["awg"]
        assert not awg.personality.ch[1].output and not awg.personality.ch[2].output
        assert len(bench.cleared) == 1
    assert not world.started and bench.world is None
    import nidaqmx.utils

    assert not hasattr(nidaqmx.utils._select_interpreter, "assert_called")  # the fake is uninstalled


def test_unsafe_sequence_is_refused_before_upload():
    with Bench.mock() as bench:
        with pytest.raises(SafetyError) as info:
            bench.play(_unsafe_seq())
        assert info.value.quantity and info.value.limit
        assert bench.world.daq.played == []
        assert bench.world.emulators["awg"].personality.ch[1].arbs == {}
        with pytest.raises(SafetyError):
            bench.measure(_unsafe_seq())
        assert bench.world.daq.played == []


def test_override_is_explicit_and_logged(caplog):
    with Bench.mock() as bench:
        with pytest.raises(ConfigError, match="override must be"):
            bench.play(_unsafe_seq(), override="yes")
        with pytest.raises(wg.errors.RangeError, match="non-empty operator"):
            bench.play(_unsafe_seq(), override={"reason": "dummy load test", "operator": ""})
        assert bench.world.daq.played == []
        with caplog.at_level(logging.WARNING):
            res = bench.play(_unsafe_seq(), override={"reason": "dummy load test", "operator": "A. Tester"})
        assert res.overridden
        assert "OVERRIDDEN by operator 'A. Tester'" in caplog.text
        assert len(bench.world.daq.played) == 1


def test_measure_recovers_delay_and_gain_of_a_known_device():
    dut = DeviceUnderTest(
        gradients={
            "gx": GradientChain(gain=0.97, delay_s=1.7e-6, bandwidth_hz=200e3, eddy=(), noise_rms_v=0.0),
            "gy": GradientChain(gain=1.0, delay_s=0.0, bandwidth_hz=200e3, eddy=(), noise_rms_v=0.0),
            "gz": GradientChain(gain=1.0, delay_s=0.0, bandwidth_hz=200e3, eddy=(), noise_rms_v=0.0),
        },
        rf=RfChain(noise_rms_v=0.0),
    )
    group = np.sqrt(2) / (2 * np.pi * 200e3)  # the Butterworth's group delay at low frequency
    with Bench.mock(dut=dut) as bench:
        m = bench.measure(_trap_seq())
    assert isinstance(m, Measurement) and set(m.channels) == {"gx"}  # only channels that played something
    gx = m.channels["gx"]
    assert gx.delay_s == pytest.approx(1.7e-6 + group, abs=0.05e-6)
    assert gx.gain == pytest.approx(0.97, rel=1e-3)
    assert gx.nrmse_aligned < 2e-3 < gx.nrmse
    assert m.nrmse == {"gx": gx.nrmse}
    assert "gx: ChannelMetrics(" in repr(m)
    assert m.time_s[0] == pytest.approx(-100e-6)


def test_rf_measurement_sees_compression_and_am_pm():
    seq = Sequence(LIM)
    seq.add_block(design.block_pulse(np.deg2rad(115), 0.5e-3, limits=LIM))  # ~15 uT -> 3 V into the amplifier
    with Bench.mock() as bench:
        m = bench.measure(seq)
    rf = m.channels["rf"]
    chain = RfChain()
    expected_gain = chain.am_am(np.array([3.0]))[0] / 3.0
    assert rf.gain == pytest.approx(expected_gain, rel=5e-3)
    assert rf.gain < 0.995
    assert rf.phase_rad == pytest.approx(chain.am_pm(np.array([3.0]))[0], rel=0.05)
    assert rf.delay_s == pytest.approx(0.3e-6, abs=0.05e-6)


def test_instruments_and_repr(tmp_path):
    from pathlib import Path

    bench = Bench.from_file(Path(__file__).resolve().parent.parent / "examples" / "bench.toml")
    assert "closed" in repr(bench)
    with bench:
        info = {i.name: i for i in bench.instruments()}
        assert info["awg"].idn.startswith("Keysight Technologies,33522B")
        assert info["awg"].resource.startswith("TCPIP0::127.0.0.1::")
        assert "gx" in info["daq"].channels and "capture:rf_i" in info["daq"].channels
        assert "open" in repr(bench)
        m = bench.measure(_trap_seq())
        fig = m.plot(tmp_path / "m.png")
        assert (tmp_path / "m.png").stat().st_size > 1000 and fig is not None
        import matplotlib.pyplot as plt

        plt.close(fig)
    assert bench.limits.max_grad_t_per_m == pytest.approx(0.04) and bench.mode == "normal"


def test_mock_limits_and_mode():
    with pytest.raises(ConfigError, match="max_grad = 60 mT/m needs 12 V"):
        Bench.mock(limits=LIM.replace(max_grad_t_per_m=0.06))
    b = Bench.mock(limits=LIM.replace(max_slew_t_per_m_per_s=100.0), mode="first_level", seed=3)
    assert b.limits.max_slew_t_per_m_per_s == 100.0 and b.mode == "first_level" and b.config.seed == 3
    with pytest.raises(ConfigError, match="mode"):
        Bench.mock(mode="turbo")


def test_same_seed_same_capture():
    seq = _trap_seq()
    with Bench.mock(seed=5) as a:
        ma = a.measure(seq)
    with Bench.mock(seed=5) as b:
        mb = b.measure(seq)
    assert np.array_equal(ma.captured["gx"], mb.captured["gx"])


def test_progress_callback():
    stages = []
    with Bench.mock() as bench:
        bench.play(_trap_seq(), progress=lambda s, d, t: stages.append((s, d, t)))
    names = [s for s, _, _ in stages]
    assert names[0] == "check" and "upload" in names and names[-1] == "capture"
    assert all(0 <= d <= t for _, d, t in stages)


def test_adc_gate_is_played_as_a_digital_level():
    from wavegen.sequence import ADCEvent

    seq = Sequence(LIM)
    g = design.trapezoid_for_amplitude(LIM.replace(max_slew_t_per_m_per_s=60.0), 0.01, 500e-6)
    seq.add_block(ADCEvent(256, 2000, delay_ns=340_000), gx=g)
    with Bench.mock() as bench:
        bench.play(seq)
        _, played = bench.world.daq.played[-1]
    gate = played["Dev1/ao3"]
    lead = 100
    on = np.flatnonzero(gate)
    assert set(np.unique(gate)) == {0.0, 5.0}
    assert on[0] == lead + 340 and on[-1] == lead + 340 + 512 - 1 and on.size == 512


def test_gradients_on_an_awg_at_another_rate():
    """gx, gy on a Rigol DG1062Z at 2 MS/s (high-Z), captured by the DAQ at 1 MS/s: the emulator's output
    goes through the device under test; the reference is resampled to the capture grid."""
    import copy

    from wavegen.bench import MOCK_CONFIG

    c = copy.deepcopy(MOCK_CONFIG)
    c["instruments"]["gawg"] = {"driver": "rigol_dg", "resource": "mock", "rate": "2 MHz", "load": "high-Z"}
    c["channels"]["gx"] = {"instrument": "gawg", "channel": 1, "volts_per_unit": "200 V/(T/m)"}
    c["channels"]["gy"] = {"instrument": "gawg", "channel": 2, "volts_per_unit": "200 V/(T/m)"}
    del c["channels"]["gz"], c["capture"]["gz"]
    with Bench.from_config(c) as bench:
        res = bench.play(_trap_seq(axes=("gx", "gy")))
        assert res.rates_hz["gawg"] == 2e6 and res.n_samples["gawg"] == 2 * res.n_samples["daq"]
        assert res.verified["gx"] and res.verified["gy"]
        m = bench.measure(_trap_seq(axes=("gx", "gy")))
        assert set(m.channels) == {"gx", "gy"}
        assert 0.9 < m.channels["gx"].gain < 1.0 and m.channels["gx"].nrmse_aligned < 0.03
        with pytest.raises(ConfigError, match="plays at 2000000.0 Hz but is captured at 1000000.0 Hz"):
            bench.hil(_trap_seq(), channels=("gx",))


def test_what_plays_is_the_checked_copy_not_the_callers_array() -> None:
    """A caller's drive changed after the check (another thread, a log handler) must not play."""
    from wavegen.sequence import recipes

    seq = recipes.design_trapezoid(wg.SystemLimits(), area_per_m=500.0).seq
    with Bench.mock() as bench:
        program = bench.render(seq)
        drive = {"gx": program.physical["gx"].copy()}
        original = drive["gx"].copy()

        class Tamper(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                if "interlock cleared" in record.getMessage():
                    drive["gx"][:] = 0.045  # 45 mT/m on a 40 mT/m bench, after the check

        h = Tamper(logging.INFO)
        log = logging.getLogger("wavegen.safety.interlock")
        old = log.level
        log.setLevel(logging.INFO)
        log.addHandler(h)
        try:
            bench.measure(seq, drive=drive)
        finally:
            log.removeHandler(h)
            log.setLevel(old)
        assert np.all(drive["gx"] == 0.045)  # the tampering happened ...
        _, played = bench.world.daq.played[-1]  # ... but what the DAQ played is the checked drive
        gx_v = np.asarray(next(v for k, v in played.items() if k.endswith("ao0")))
        np.testing.assert_array_equal(gx_v, bench.channel_map.to_volts("gx", original))
