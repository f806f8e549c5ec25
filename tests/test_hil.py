"""wavegen.hil: alignment, comparison, GIRF estimation and pre-compensation (pure functions)."""

from __future__ import annotations

import numpy as np
import pytest
from wavegen.drivers.mock.dut import EddyTerm, GradientChain

from wavegen import hil
from wavegen.errors import RangeError, SafetyError, ShapeError

RATE = 1e6


def _smooth(n: int = 3000) -> np.ndarray:
    t = np.arange(n) / RATE
    return np.exp(-(((t - 1e-3) / 150e-6) ** 2)) - 0.6 * np.exp(-(((t - 1.6e-3) / 80e-6) ** 2))


@pytest.mark.parametrize("delay_samples", [0.0, 0.37, 2.5, -1.81, 13.2])
def test_subsample_delay(delay_samples):
    x = _smooth()
    y = 0.9 * hil.shift(x, delay_samples / RATE, RATE)
    d = hil.estimate_delay(x, y, RATE)
    assert d * RATE == pytest.approx(delay_samples, abs=2e-3)
    aligned, d2, g = hil.align(x, y, RATE)
    assert g.real == pytest.approx(0.9, rel=1e-4)
    assert hil.nrmse(x, aligned) < 1e-3


def test_delay_with_noise_and_complex():
    rng = np.random.default_rng(1)
    x = _smooth() * np.exp(1j * np.linspace(0, 3, 3000))
    y = 1.2 * np.exp(0.3j) * hil.shift(x, 0.6e-6, RATE) + 1e-3 * rng.standard_normal(3000)
    m = hil.compare(x, y, RATE, unit="T")
    assert m.delay_s == pytest.approx(0.6e-6, abs=0.02e-6)
    assert m.gain == pytest.approx(1.2, rel=2e-3)
    assert m.phase_rad == pytest.approx(0.3, abs=3e-3)
    assert m.nrmse > 0.2 > m.nrmse_aligned


def test_compare_identical_and_errors():
    x = _smooth()
    m = hil.compare(x, x, RATE, unit="T/m")
    assert m.nrmse == 0.0 and m.peak_error == 0.0 and m.gain == pytest.approx(1.0)
    assert "nrmse=0.000%" in repr(m)
    with pytest.raises(ShapeError):
        hil.compare(x, x[:-1], RATE)
    with pytest.raises(RangeError):
        hil.estimate_delay(x, x, -1.0)


def test_test_inputs_respect_amplitude_and_slew():
    recs = hil.test_inputs(RATE, max_amplitude=0.02, max_slew=75.0)
    assert len(recs) == 2 and recs[0].size == recs[1].size
    for r in recs:
        assert np.max(np.abs(r)) <= 0.02 + 1e-15
        assert np.max(np.abs(np.diff(r))) * RATE <= 75.0 * (1 + 1e-9)
        assert r[0] == 0.0 and np.all(r[-1000:] == 0.0)


def test_girf_recovers_the_true_response():
    chain = GradientChain(gain=0.97, delay_s=1.3e-6, bandwidth_hz=25e3,
                          eddy=(EddyTerm(0.03, 1e-3), EddyTerm(0.02, 50e-6)), noise_rms_v=0.0)
    recs = hil.test_inputs(RATE, max_amplitude=0.02, max_slew=75.0)
    outs = [chain.apply(RATE, r) for r in recs]
    g = hil.estimate_girf(recs, outs, RATE, regularization=1e-9)
    f = np.array([0.0, 1e3, 5e3, 10e3, 20e3, 30e3])
    truth = chain.response(f)
    est = g.at(f)
    assert np.max(np.abs(est - truth) / np.abs(truth)) < 2e-3
    assert g.bandwidth_hz() == pytest.approx(25e3 * 1.27, rel=0.1)  # -6 dB of a 2nd-order Butterworth: 1.27 fc
    assert "Girf(" in repr(g)


def test_precompensation_open_loop_and_ilc():
    chain = GradientChain(gain=0.97, delay_s=2e-6, bandwidth_hz=30e3, eddy=(EddyTerm(0.03, 1e-3),), noise_rms_v=0.0)
    recs = hil.test_inputs(RATE, max_amplitude=0.02, max_slew=75.0)
    g = hil.estimate_girf(recs, [chain.apply(RATE, r) for r in recs], RATE)
    d = np.zeros(6000)
    d[100:400] = np.linspace(0, 0.02, 300)
    d[400:1400] = 0.02
    d[1400:1700] = np.linspace(0.02, 0, 300)
    e0 = hil.nrmse(d, chain.apply(RATE, d))
    x1 = hil.precompensate(d, g)
    e1 = hil.nrmse(d, chain.apply(RATE, x1))
    x2 = hil.ilc_update(x1, d, chain.apply(RATE, x1), g)
    e2 = hil.nrmse(d, chain.apply(RATE, x2))
    assert e0 > 0.05
    assert e1 < e0 / 10
    assert e2 < e1


def test_run_loop_shrinks_or_stops_on_unsafe_corrections():
    chain = GradientChain(delay_s=2e-6, bandwidth_hz=20e3, noise_rms_v=0.0)
    recs = hil.test_inputs(RATE, max_amplitude=0.02, max_slew=75.0)
    g = hil.estimate_girf(recs, [chain.apply(RATE, r) for r in recs], RATE)
    d = np.zeros(3000)
    d[100:120] = np.linspace(0, 0.003, 21)[1:]  # 150 T/m/s: any correction must slew faster
    d[120:600] = 0.003
    d[600:620] = np.linspace(0.003, 0, 21)[:-1]
    played: list[np.ndarray] = []

    def measure(drive):
        played.append(drive["gx"])
        return {"gx": chain.apply(RATE, drive["gx"])}

    def check(drive):
        s = float(np.max(np.abs(np.diff(drive["gx"])))) * RATE
        if s > 150.0 * (1 + 1e-9):
            raise SafetyError(f"slew {s} T/m/s > 150 T/m/s", quantity="slew", value=s, limit=150.0, unit="T/m/s")

    with pytest.raises(SafetyError, match="slew"):
        hil.run_loop({"gx": d}, {"gx": g}, measure, check, on_unsafe="stop")
    assert len(played) == 1  # only the (safe) uncorrected drive played
    played.clear()
    out = hil.run_loop({"gx": d}, {"gx": g}, measure, check, target_nrmse=1e-6, max_iterations=3)
    for x in played:
        assert np.max(np.abs(np.diff(x))) * RATE <= 150.0 * (1 + 1e-9)
    assert out.steps[0].step == 0.0 and all(s.step <= 1.0 for s in out.steps)
    assert max(out.steps[out.best_index].nrmse.values()) <= max(out.steps[0].nrmse.values())
    with pytest.raises(RangeError, match="on_unsafe"):
        hil.run_loop({"gx": d}, {"gx": g}, measure, check, on_unsafe="limit")
    with pytest.raises(RangeError, match="needs a clip function"):
        hil.run_loop({"gx": d}, {"gx": g}, measure, check, on_unsafe="clip")
    played.clear()

    def clip(drive):
        return {"gx": hil.slew_limit(drive["gx"], 149.0, 0.04, RATE)}

    out = hil.run_loop({"gx": d}, {"gx": g}, measure, check, on_unsafe="clip", clip=clip, max_iterations=2)
    for x in played:
        assert np.max(np.abs(np.diff(x))) * RATE <= 150.0 * (1 + 1e-9)
    assert out.steps[-1].nrmse["gx"] < out.steps[0].nrmse["gx"] / 3


def test_slew_limit():
    x = np.zeros(200)
    x[50:150] = 1.0
    y = hil.slew_limit(x, 0.1 * RATE, 0.8, RATE)
    assert np.max(np.abs(np.diff(y))) <= 0.1 + 1e-12 and np.max(np.abs(y)) <= 0.8 + 1e-12
    assert np.allclose(y[:40], 0) and np.allclose(y[70:130], 0.8)
    smooth = 0.5 * np.sin(np.linspace(0, 2 * np.pi, 200))
    assert np.allclose(hil.slew_limit(smooth, 1e3 * RATE, 1.0, RATE), smooth)  # within limits: unchanged


def test_bad_inputs_are_named_not_blamed_elsewhere() -> None:
    import math

    from wavegen.hil import Girf, estimate_delay, nrmse

    with pytest.raises(RangeError, match=r"Girf.response\[1\] = \(nan\+0j\) is not finite"):
        Girf(np.arange(4.0), np.array([1, math.nan, 1, 1], complex), np.ones(4), 0.0, 1e6)
    with pytest.raises(ShapeError, match="must hold numeric numbers, got dtype <U1"):
        estimate_delay(np.array(["a", "b", "c"]), np.zeros(3), 1e6)
    with pytest.raises(RangeError, match="rate_hz must be a real number in Hz, got None"):
        estimate_delay(np.zeros(8), np.zeros(8), None)  # type: ignore[arg-type]
    assert nrmse(np.ones(4), np.ones(4)) == 0.0


def test_compare_long_equals_compare_and_stays_close_with_a_short_fit_window() -> None:
    from wavegen.hil.align import compare_long

    rng = np.random.default_rng(3)
    n = 300_000
    t = np.arange(n) / 1e6
    ph = (t % 0.01) / 0.004  # smooth bursts, as a band-limited chain plays them
    d = np.where(ph < 1, np.sin(np.pi * ph) ** 2 * np.sin(2 * np.pi * 1000 * t), 0.0) * 0.01
    y = 0.97 * hil.shift(d, 7.3e-6, 1e6) + 1e-5 * rng.standard_normal(n)
    a = hil.compare(d, y, 1e6, unit="T/m")
    b = compare_long(lambda k0, k1: d[k0:k1], y, 1e6, unit="T/m", chunk_samples=40_000)
    assert b.nrmse == pytest.approx(a.nrmse, rel=1e-12) and b.peak_error == a.peak_error
    assert b.delay_s == pytest.approx(a.delay_s, rel=1e-12) and b.gain == pytest.approx(a.gain, rel=1e-12)
    # the sub-sample shift is a 97-tap windowed sinc across chunk edges, not one FFT: slightly different
    assert b.nrmse_aligned == pytest.approx(a.nrmse_aligned, rel=1e-2)
    c = compare_long(lambda k0, k1: d[k0:k1], y, 1e6, unit="T/m", chunk_samples=40_000, fit_samples=50_000)
    assert c.delay_s == pytest.approx(7.3e-6, abs=0.01e-6) and c.gain == pytest.approx(0.97, rel=1e-3)
    assert c.nrmse_aligned == pytest.approx(a.nrmse_aligned, rel=0.03)


def test_the_loop_stops_when_the_error_rises_and_keeps_the_best_drive() -> None:
    from wavegen.hil import Girf, run_loop

    n = 2000
    t = np.arange(n) / 1e6
    target = np.sin(2 * np.pi * 2e3 * t) * np.hanning(n) * 0.01
    f = np.fft.rfftfreq(2 * n, 1e-6)
    girf = Girf(f, np.ones(f.size, dtype=complex), np.ones(f.size), 0.0, 1e6)
    plays = []

    def measure(drive: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        # a chain that gets worse with every play after the first correction (drift, say)
        k = len(plays)
        plays.append(k)
        return {"gx": drive["gx"] * (0.9 if k == 0 else 1.0 + 0.05 * k)}

    out = run_loop({"gx": target}, {"gx": girf}, measure, lambda d: None, target_nrmse=1e-6, max_iterations=5)
    assert "the error rose at iteration" in out.stopped
    assert len(plays) < 6  # it did not run all five corrections
    worst = [max(s.nrmse.values()) for s in out.steps]
    assert out.best_index == int(np.argmin(worst)) and worst[out.best_index] < worst[-1]
