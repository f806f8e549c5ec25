"""Hardware in the loop on the mock bench: >= 10x NRMSE reduction within 5 iterations for a trapezoid
train and a spiral readout; nothing unsafe is ever uploaded."""

from __future__ import annotations

import numpy as np
import pytest

import wavegen as wg
from wavegen import design
from wavegen.bench import Bench, HilResult
from wavegen.errors import ConfigError, SafetyError
from wavegen.sequence import Sequence

LIM = wg.SystemLimits.from_units(max_grad="40 mT/m", max_slew="150 T/m/s", max_b1="20 uT")
RATE = 1e6


def trapezoid_train(slew: float = 60.0, n: int = 6) -> Sequence:
    """Alternating 20 mT/m trapezoids on all three axes (ramps at ``slew`` T/m/s), 100 us apart."""
    ramp_lim = LIM.replace(max_slew_t_per_m_per_s=slew)
    seq = Sequence(LIM)
    for k in range(n):
        g = design.trapezoid_for_amplitude(ramp_lim, 0.02 * (-1) ** k, 300e-6)
        seq.add_block(gx=g, gy=g, gz=g)
        seq.add_block(duration_s=100e-6)
    return seq


def spiral_readout() -> Sequence:
    """A 6-turn Archimedean spiral to k = 200 /m, time-optimal at 20 mT/m and 60 T/m/s, ending at 0."""
    design_lim = LIM.replace(max_slew_t_per_m_per_s=60.0, max_grad_t_per_m=0.02)
    g = design.min_time_gradient(design.archimedean_spiral(200.0, 6, 2000), design_lim, g_end_t_per_m=0.0)
    seq = Sequence(LIM)
    seq.add_block(
        gx=design.ArbitraryGradient(g[:, 0], LIM.grad_raster_s), gy=design.ArbitraryGradient(g[:, 1], LIM.grad_raster_s)
    )
    return seq


def _uploaded_t_per_m(bench: Bench) -> list[np.ndarray]:
    """Every gradient waveform the fake DAQ was asked to play, back in T/m (200 V per T/m)."""
    return [np.stack([w[f"Dev1/ao{k}"] for k in range(3)]) / 200.0 for _, w in bench.world.daq.played]


def _assert_all_safe(bench: Bench) -> None:
    for g in _uploaded_t_per_m(bench):
        assert np.max(np.abs(g)) <= LIM.max_grad_t_per_m * (1 + 1e-9)
        assert np.max(np.abs(np.diff(g, axis=1))) * RATE <= LIM.max_slew_t_per_m_per_s * (1 + 1e-9)


@pytest.mark.parametrize(
    ("make", "channels"), [(trapezoid_train, ("gx", "gy", "gz")), (spiral_readout, ("gx", "gy"))]
)
def test_loop_cuts_nrmse_tenfold_within_five_iterations(make, channels):
    seq = make()
    with Bench.mock() as bench:
        r = bench.hil(seq, channels=channels, target_nrmse=1e-4, max_iterations=5)
        _assert_all_safe(bench)
    assert isinstance(r, HilResult)
    assert len(r.history) - 1 <= 5
    for c in channels:
        assert r.initial_nrmse[c] > 0.03  # the device really distorts (delay, band limit, eddy currents)
        assert r.reduction[c] >= 10.0, (c, r.history)
        assert r.final_nrmse[c] == pytest.approx(min(h[c] for h in r.history), rel=0.5)
    assert r.girf[channels[0]].bandwidth_hz() > 20e3
    assert "HilResult(" in repr(r) and "x)" in repr(r)


def test_loop_never_uploads_an_unsafe_correction():
    """A trapezoid train at the full 150 T/m/s: any correction of the band-limited response must slew
    faster. "stop" raises the SafetyError after playing only safe waveforms; "shrink" keeps to safe
    (small) steps; "clip" (the default) slew-limits the correction and still gains >= 10x. Every
    waveform that reached the DAQ is within amplitude and slew."""
    seq = trapezoid_train(slew=150.0, n=2)
    with Bench.mock() as bench:
        with pytest.raises(SafetyError) as info:
            bench.hil(seq, channels=("gx",), on_unsafe="stop", target_nrmse=1e-4)
        assert info.value.quantity and info.value.value > info.value.limit
        _assert_all_safe(bench)
        n_before = len(bench.world.daq.played)
        shrunk = bench.hil(seq, channels=("gx",), on_unsafe="shrink", target_nrmse=1e-4, max_iterations=2)
        assert len(bench.world.daq.played) > n_before
        _assert_all_safe(bench)
        assert shrunk.final_nrmse["gx"] <= shrunk.initial_nrmse["gx"]
        assert "unsafe" in shrunk.stopped or any(s < 1.0 for s in shrunk.steps[1:])
        clipped = bench.hil(seq, channels=("gx",), target_nrmse=1e-4, max_iterations=2)
        _assert_all_safe(bench)
        assert clipped.reduction["gx"] >= 10.0
        assert np.max(np.abs(np.diff(clipped.corrected["gx"]))) * RATE > 0.99 * LIM.max_slew_t_per_m_per_s


def test_loop_refuses_an_unsafe_sequence_before_playing_anything():
    seq = Sequence(LIM)
    seq.add_block(gx=design.trapezoid_for_amplitude(LIM.replace(max_slew_t_per_m_per_s=400.0), 0.02, 200e-6))
    with Bench.mock() as bench:
        with pytest.raises(SafetyError):
            bench.hil(seq)
        assert bench.world.daq.played == []


def test_loop_configuration_errors():
    with Bench.mock() as bench:
        with pytest.raises(ConfigError, match="not a gradient channel"):
            bench.hil(trapezoid_train(), channels=("rf_i",))
        assert bench.world.daq.played == []


def test_hil_plot(tmp_path):
    with Bench.mock() as bench:
        r = bench.hil(trapezoid_train(n=2), channels=("gx",), max_iterations=1)
    import matplotlib.pyplot as plt

    plt.close(r.plot(tmp_path / "hil.png"))
    assert (tmp_path / "hil.png").stat().st_size > 1000


def test_corrected_drive_replays_through_measure():
    seq = trapezoid_train(n=2)
    with Bench.mock() as bench:
        r = bench.hil(seq, channels=("gx",), max_iterations=1)
        again = bench.measure(seq, drive=r.corrected)
        plain = bench.measure(seq)
        with pytest.raises(ConfigError, match="no such output"):
            bench.measure(seq, drive={"gq": r.corrected["gx"]})
        with pytest.raises(ValueError, match="shape"):
            bench.measure(seq, drive={"gx": r.corrected["gx"][:-1]})
    assert again.nrmse["gx"] < plain.nrmse["gx"] / 10
    assert again.nrmse["gx"] == pytest.approx(r.final_nrmse["gx"], rel=0.3)  # same drive, fresh noise


def _rf_seq(flip_deg: float = 180.0) -> Sequence:
    seq = Sequence(LIM)
    seq.add_block(design.sinc_pulse(np.deg2rad(flip_deg), 2.5e-3, 4.0, limits=LIM))  # ~18.6 uT peak
    return seq


def test_rf_predistortion_loop(tmp_path):
    from wavegen.drivers.mock.dut import RfChain

    with Bench.mock() as bench:
        r = bench.hil_rf(_rf_seq(), target_nrmse=1e-4, max_iterations=3)
    assert r.initial_nrmse["rf"] > 0.05  # AM/PM (~10 deg at 4 V), compression and delay
    assert r.reduction["rf"] >= 10.0
    assert np.max(np.abs(r.corrected["rf"])) <= LIM.max_b1_t
    chain, vpu = RfChain(), 2e5  # 0.2 V/uT
    curve = r.rf_curve
    assert curve is not None
    top_in = curve.input_t[-1]
    expected = chain.am_am(np.array([top_in * vpu]))[0] / vpu
    assert curve.output_t[-1] == pytest.approx(expected, rel=5e-3)
    assert np.ptp(curve.phase_rad) == pytest.approx(chain.am_pm(np.array([top_in * vpu]))[0], abs=0.01)
    import matplotlib.pyplot as plt

    plt.close(r.plot(tmp_path / "rf.png"))
    assert (tmp_path / "rf.png").stat().st_size > 1000


def test_rf_target_beyond_the_amplifier_is_refused():
    from wavegen.drivers.mock.dut import DeviceUnderTest, RfChain

    from wavegen.errors import RangeError

    weak = DeviceUnderTest(rf=RfChain(saturation_v=3.0))  # saturates near 15 uT; the pulse needs 18.6 uT
    with Bench.mock(dut=weak) as bench:
        with pytest.raises(RangeError, match="the amplifier reaches"):
            bench.hil_rf(_rf_seq())
        with pytest.raises(ConfigError, match="plays no RF"):
            bench.hil_rf(trapezoid_train(n=1))


def test_hil_with_rf_and_gradients_merges():
    seq = Sequence(LIM)
    seq.add_block(design.sinc_pulse(np.deg2rad(180), 2.5e-3, 4.0, limits=LIM))
    g = design.trapezoid_for_amplitude(LIM.replace(max_slew_t_per_m_per_s=60.0), 0.02, 300e-6)
    seq.add_block(gx=g)
    with Bench.mock() as bench:
        r = bench.hil(seq, channels=("gx", "rf"), max_iterations=2)
        only_rf = bench.hil(seq, channels=("rf",), max_iterations=1)
    assert set(r.initial_nrmse) == {"gx", "rf"} and all(set(h) == {"gx", "rf"} for h in r.history)
    assert r.reduction["gx"] >= 10 and r.reduction["rf"] >= 10
    assert np.iscomplexobj(r.corrected["rf"]) and not np.iscomplexobj(r.corrected["gx"])
    assert set(only_rf.initial_nrmse) == {"rf"} and only_rf.rf_curve is not None
    assert "gradients:" in r.stopped
    import matplotlib.pyplot as plt

    plt.close(r.plot())


def test_girf_falls_back_to_one_axis_at_a_time_when_together_is_unsafe():
    """With a patient (PNS judged) and a 300 T/m/s system, the test inputs at half the slew limit on
    three axes at once stimulate (SAFE model, root-sum-square over axes); one axis at a time does not,
    so the bench measures the axes one by one for that record."""
    import copy

    from wavegen.bench import MOCK_CONFIG

    c = copy.deepcopy(MOCK_CONFIG)
    c["bench"]["patient"] = True
    c["limits"]["max_slew"] = "300 T/m/s"
    with Bench.from_config(c) as bench:
        girf = bench.estimate_girf()
        n_records = 2
        assert len(bench.world.daq.played) > n_records  # the triangle record was split per axis
        for _, w in bench.world.daq.played:
            assert sum(bool(w[f"Dev1/ao{k}"].any()) for k in range(3)) in (1, 3)
    for g in girf.values():
        assert abs(g.response[0]) == pytest.approx(1.0, abs=0.02)
