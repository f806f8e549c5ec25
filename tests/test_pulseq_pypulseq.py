"""pypulseq as a test-only oracle: sequences it builds and writes render in wavegen to the same gradients
(its piecewise polynomials, relative error <= 1e-9) and the same RF; files wavegen writes read back in
pypulseq with the same waveforms."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import wavegen
from wavegen.sequence import Sequence

pp = pytest.importorskip("pypulseq")

GAMMA = 42.576e6


def _quiet(fn: Callable[..., Any], *a: Any, **k: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*a, **k)


def _system() -> Any:
    return _quiet(
        pp.Opts,
        max_grad=32,
        grad_unit="mT/m",
        max_slew=130,
        slew_unit="T/m/s",
        rf_ringdown_time=20e-6,
        rf_dead_time=100e-6,
        adc_dead_time=10e-6,
    )


def build_gre(n: int = 4) -> Any:
    sys = _system()
    seq = pp.Sequence(sys)
    rf, gz, gzr = _quiet(
        pp.make_sinc_pulse,
        flip_angle=math.radians(12),
        duration=2e-3,
        slice_thickness=4e-3,
        apodization=0.42,
        time_bw_product=4,
        system=sys,
        return_gz=True,
        delay=sys.rf_dead_time,
    )
    dk = 1 / 0.22
    gx = pp.make_trapezoid(channel="x", flat_area=64 * dk, flat_time=2.56e-3, system=sys)
    adc = pp.make_adc(num_samples=64, duration=gx.flat_time, delay=gx.rise_time, system=sys)
    gxp = pp.make_trapezoid(channel="x", area=-gx.area / 2, duration=1e-3, system=sys)
    spoil = pp.make_trapezoid(channel="z", area=4 / 4e-3, system=sys)
    ph = 0.0
    for i in range(n):
        rf.phase_offset = math.radians(ph)
        adc.phase_offset = rf.phase_offset
        ph = (ph + 117 * (i + 1)) % 360
        seq.add_block(rf, gz)
        gy = pp.make_trapezoid(channel="y", area=(i - n / 2) * dk, duration=1e-3, system=sys)
        seq.add_block(gxp, gy, gzr)
        seq.add_block(gx, adc)
        seq.add_block(pp.scale_grad(gy, -1), spoil, pp.make_delay(2e-3))
    return seq


def build_epi(ny: int = 8) -> Any:
    sys = _system()
    seq = pp.Sequence(sys)
    rf, gz, gzr = _quiet(
        pp.make_sinc_pulse,
        flip_angle=math.pi / 2,
        duration=2e-3,
        slice_thickness=3e-3,
        apodization=0.5,
        time_bw_product=4,
        system=sys,
        return_gz=True,
        delay=sys.rf_dead_time,
    )
    dk = 1 / 0.22
    gx = pp.make_trapezoid(channel="x", flat_area=32 * dk, flat_time=32 * 10e-6, system=sys)
    adc = pp.make_adc(num_samples=32, duration=gx.flat_time, delay=gx.rise_time, system=sys)
    blip = pp.make_trapezoid(channel="y", area=dk, system=sys)
    gxpre = pp.make_trapezoid(channel="x", area=-gx.area / 2, system=sys)
    gypre = pp.make_trapezoid(channel="y", area=-ny / 2 * dk, system=sys)
    seq.add_block(rf, gz)
    seq.add_block(gxpre, gypre, gzr)
    for _ in range(ny):
        seq.add_block(gx, adc)
        seq.add_block(blip)
        gx = pp.scale_grad(gx, -1)
    return seq


def build_spiral_and_rf() -> Any:
    sys = _system()
    seq = pp.Sequence(sys)
    # adiabatic inversion (hyperbolic secant) and a Gaussian with frequency and phase offsets
    inv = _quiet(pp.make_adiabatic_pulse, pulse_type="hypsec", duration=8e-3, system=sys, delay=sys.rf_dead_time)
    seq.add_block(inv)
    g = _quiet(
        pp.make_gauss_pulse,
        flip_angle=math.radians(30),
        duration=1e-3,
        system=sys,
        freq_offset=1234.5,
        phase_offset=0.7,
        delay=sys.rf_dead_time,
    )
    seq.add_block(g)
    blk = _quiet(pp.make_block_pulse, flip_angle=math.radians(20), duration=0.5e-3, system=sys, delay=sys.rf_dead_time)
    seq.add_block(blk)
    # spiral readout as arbitrary gradients (samples at raster centres), ramped to zero at both ends
    n = 400
    t = (np.arange(n) + 0.5) * sys.grad_raster_time
    env = np.sin(np.pi * np.arange(n) / (n - 1)) ** 2
    k = 2 * np.pi * 3 * t / t[-1]
    amp = 0.3 * sys.max_grad
    gxw = amp * env * np.cos(k)
    gyw = amp * env * np.sin(k)
    gxa = _quiet(pp.make_arbitrary_grad, channel="x", waveform=gxw, first=0, last=0, system=sys)
    gya = _quiet(pp.make_arbitrary_grad, channel="y", waveform=gyw, first=0, last=0, system=sys)
    adc = pp.make_adc(num_samples=400, duration=4e-3, system=sys)
    seq.add_block(gxa, gya, adc)
    # extended trapezoid ending non-zero, continued by the next block
    e1 = _quiet(
        pp.make_extended_trapezoid,
        channel="z",
        times=np.array([0, 1e-4, 3e-4]),
        amplitudes=np.array([0, 2e5, 1e5]),
        system=sys,
    )
    e2 = _quiet(
        pp.make_extended_trapezoid,
        channel="z",
        times=np.array([0, 2e-4]),
        amplitudes=np.array([1e5, 0]),
        system=sys,
    )
    seq.add_block(e1)
    seq.add_block(e2)
    return seq


BUILDERS = {"gre": build_gre, "epi": build_epi, "spiral_rf": build_spiral_and_rf}


@pytest.fixture(scope="module", params=sorted(BUILDERS))
def written(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    seq = _quiet(BUILDERS[request.param])
    path = tmp_path_factory.mktemp("pp") / f"{request.param}.seq"
    _quiet(seq.write, str(path))
    ref = pp.Sequence()
    _quiet(ref.read, str(path))
    return ref, path


def _assert_grads_match(ref: Any, ws: Sequence, rate: float, rtol: float = 1e-9) -> None:
    out = ws.render(rate, ("gx", "gy", "gz"))
    n = out["gx"].size
    t = np.arange(n) / rate
    ppolys = _quiet(ref.get_gradients)
    for ch, p in zip(("gx", "gy", "gz"), ppolys, strict=True):
        if p is None:
            assert not np.any(out[ch]), ch
            continue
        want = np.nan_to_num(p(t)) / GAMMA
        scale = np.max(np.abs(want))
        assert scale > 0
        err = np.max(np.abs(out[ch] - want)) / scale
        assert err <= rtol, (ch, err)


@pytest.mark.parametrize("rate", [1e5, 1e6, 44_100.0])
def test_gradients_match_pypulseq_piecewise_polynomials(written: tuple[Any, Path], rate: float) -> None:
    ref, path = written
    _assert_grads_match(ref, wavegen.pulseq.read(path), rate)


def test_rf_matches_pypulseq(written: tuple[Any, Path]) -> None:
    ref, path = written
    ws = wavegen.pulseq.read(path)
    rfr = ws.rf_raster_ns * 1e-9
    # RF sampled at the RF raster centres: exactly pypulseq's samples (with its offsets applied)
    out = ws.render(1 / rfr, ("rf",), t0_s=rfr / 2)["rf"]
    starts = ws.block_starts_ns
    checked = 0
    for b, i in enumerate(_quiet(lambda: list(ref.block_events))):
        blk = _quiet(ref.get_block, i)
        if blk.rf is None:
            continue
        rf = blk.rf
        sig = rf.signal * np.exp(1j * (rf.phase_offset + 2 * np.pi * rf.freq_offset * rf.t)) / GAMMA
        t_abs = starts[b] * 1e-9 + rf.delay + rf.t
        if len(rf.t) == len(rf.signal) and not np.allclose(np.diff(rf.t), rfr):
            # time-shaped (block pulse): compare at interior raster centres, linear between vertices
            k = np.arange(int(round((starts[b] * 1e-9 + rf.delay) / rfr)) + 1, int(round(t_abs[-1] / rfr)) - 1)
            want = np.interp(k * rfr + rfr / 2, t_abs, sig.real) + 1j * np.interp(k * rfr + rfr / 2, t_abs, sig.imag)
            np.testing.assert_allclose(out[k], want, rtol=0, atol=1e-12 * np.max(np.abs(want)))
        else:
            k = np.rint(t_abs / rfr - 0.5).astype(np.int64)
            np.testing.assert_allclose(out[k], sig, rtol=0, atol=1e-12 * np.max(np.abs(sig)))
        checked += 1
    assert checked > 0


def test_adc_gate_matches_pypulseq(written: tuple[Any, Path]) -> None:
    ref, path = written
    ws = wavegen.pulseq.read(path)
    rate = 1e7  # 100 ns = ADC raster
    gate = ws.render(rate, ("adc",))["adc"]
    t_adc, _ = _quiet(ref.adc_times)
    # every ADC sample time (dwell centre) lies inside the gate
    k = np.floor(np.asarray(t_adc) * rate + 1e-6).astype(np.int64)
    assert gate[k].all()
    n_samples = sum(
        _quiet(ref.get_block, i).adc.num_samples * round(_quiet(ref.get_block, i).adc.dwell * rate)
        for i in ref.block_events
        if _quiet(ref.get_block, i).adc is not None
    )
    assert int(gate.sum()) == n_samples


def test_wavegen_written_files_read_back_in_pypulseq(written: tuple[Any, Path], tmp_path: Path) -> None:
    ref, path = written
    ws = wavegen.pulseq.read(path)
    out = tmp_path / "wg.seq"
    wavegen.pulseq.write(ws, out, version="1.5.0")
    back = pp.Sequence()
    _quiet(back.read, str(out))
    dur = ws.duration_s
    t = np.linspace(0, dur, 20_001)
    for a, b in zip(_quiet(ref.get_gradients), _quiet(back.get_gradients), strict=True):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_allclose(
                np.nan_to_num(b(t)),
                np.nan_to_num(a(t)),
                rtol=0,
                atol=1e-9 * np.max(np.abs(np.nan_to_num(a(t)))),
            )
    wa = _quiet(ref.waveforms, append_RF=True)[3]
    wb = _quiet(back.waveforms, append_RF=True)[3]
    np.testing.assert_allclose(wb, wa, rtol=0, atol=1e-12 * np.max(np.abs(wa[1])))
    assert len(back.block_events) == len(ws)


def test_wavegen_built_sequence_reads_in_pypulseq(tmp_path: Path) -> None:
    design_rf = pytest.importorskip("wavegen.design.rf")
    gmod = pytest.importorskip("wavegen.design.gradients")
    lim = wavegen.SystemLimits()
    seq = Sequence(lim)
    pulse = design_rf.sinc_pulse(0.3, 2e-3, 4.0, limits=lim, gamma_hz_per_t=GAMMA, delay_s=100e-6)
    seq.add_block(pulse, gz=gmod.Trapezoid(0.005, 100e-6, 2.1e-3, 100e-6))
    seq.add_block(gx=gmod.ExtendedTrapezoid(np.array([0, 1e-4, 2e-4]), np.array([0, 0.01, 0.004])))
    seq.add_block(
        gx=gmod.ArbitraryGradient(np.array([0.004, 0.003, 0.001]), 10e-6, first_t_per_m=0.004, last_t_per_m=0.0)
    )
    path = tmp_path / "built.seq"
    wavegen.pulseq.write(seq, path, version="1.5.0")
    back = pp.Sequence()
    _quiet(back.read, str(path))
    _assert_grads_match(back, wavegen.pulseq.read(path), 1e6)
    # and the file holds the design values to the shape precision (1e-7 of the peak)
    out = seq.render(1e6, ("gx", "gz", "rf"))
    again = wavegen.pulseq.read(path).render(1e6, ("gx", "gz", "rf"))
    for k in out:
        np.testing.assert_allclose(again[k], out[k], rtol=0, atol=2e-7 * np.max(np.abs(out[k])))


def build_extensions() -> Any:
    sys = _system()
    seq = pp.Sequence(sys)
    rf = pp.make_block_pulse(flip_angle=math.pi / 2, duration=0.5e-3, system=sys, delay=sys.rf_dead_time)
    trig = pp.make_digital_output_pulse(channel="osc0", duration=100e-6, delay=50e-6, system=sys)
    adc = pp.make_adc(num_samples=64, dwell=10e-6, system=sys)
    seq.add_block(rf, trig)
    for i in range(3):
        seq.add_block(
            adc, pp.make_label(type="SET", label="LIN", value=i), pp.make_label(type="INC", label="SLC", value=1)
        )
    seq.add_block(pp.make_soft_delay("TE", offset=-100e-6, factor=2, default_duration=5e-3))
    seq.add_block(pp.make_trigger(channel="physio1", duration=2e-3))
    return seq


def test_extensions_from_pypulseq(tmp_path: Path) -> None:
    from wavegen.sequence import LabelInc, LabelSet, SoftDelay, Trigger

    ref = _quiet(build_extensions)
    _quiet(ref.write, str(tmp_path / "ext.seq"))
    ws = wavegen.pulseq.read(tmp_path / "ext.seq")
    b = list(ws)
    assert b[0].extensions == (Trigger(1, 1, 50_000, 100_000),)
    assert set(b[2].extensions) == {LabelSet("LIN", 1), LabelInc("SLC", 1)}
    assert b[4].extensions == (SoftDelay(0, -100_000, 2.0, "TE"),)
    assert b[5].extensions == (Trigger(2, 1, 0, 2_000_000),)
    # labels evaluated per block as pypulseq does
    want = _quiet(ref.evaluate_labels, evolution="blocks")
    got = ws.label_values()
    for k, v in want.items():
        np.testing.assert_array_equal(got[k], v)
    # soft delays: same block durations as pypulseq's apply_soft_delay
    new = ws.apply_soft_delays(TE=12e-3)
    _quiet(ref.apply_soft_delay, TE=12e-3)
    assert new.block_durations_ns.tolist() == [round(d * 1e9) for d in ref.block_durations.values()]
    # written by wavegen, read back by pypulseq with the same extensions
    wavegen.pulseq.write(ws, tmp_path / "wg.seq", version="1.5.0")
    back = pp.Sequence()
    _quiet(back.read, str(tmp_path / "wg.seq"))
    got2 = _quiet(back.evaluate_labels, evolution="blocks")
    for k, v in want.items():
        np.testing.assert_array_equal(got2[k], v)
    assert _quiet(back.get_block, 1).trigger is not None
