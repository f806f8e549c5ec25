"""Rendering sequences to sample streams: exact timing on rational rates, streaming bit-identical to
one-shot, the C kernels equal to the NumPy reference, rotations, RF hold, the safety hand-over."""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

import wavegen
from wavegen.errors import RangeError
from wavegen.sequence import (
    ADCEvent,
    ArbGradient,
    Delay,
    RFEvent,
    Rotation,
    Sequence,
    Shape,
    TrapGradient,
    Trigger,
)
from wavegen.sequence import render as render_mod

FIX = Path(__file__).parent / "fixtures" / "seq"
GAMMA = 42.576e6


def _demo() -> Sequence:
    seq = Sequence()
    rf = RFEvent(
        500.0,
        Shape(np.hanning(200) + 1e-3),
        Shape(np.linspace(0, 0.5, 200)),
        center_us=100.0,
        delay_ns=100_000,
        freq_offset_hz=300.0,
        phase_offset_rad=0.3,
        use="e",
    )
    seq.add_block(rf, gz=TrapGradient(2e5, 30_000, 300_000, 30_000, 0), duration_ns=400_000)
    seq.add_block(
        ADCEvent(64, 3_300, delay_ns=20_000),
        Trigger(1, 1, 5_000, 7_000),
        gx=TrapGradient(-1.5e5, 20_000, 220_000, 20_000),
        gy=ArbGradient(1e5, Shape([0.2, 0.6, 1.0, 0.6]), 0.0, 0.0, delay_ns=10_000),
    )
    seq.add_block(
        Rotation(math.cos(0.3), 0.0, math.sin(0.3), 0.0),
        gx=TrapGradient(1e5, 10_000, 50_000, 10_000),
        gz=TrapGradient(5e4, 20_000, 0, 20_000),
    )
    seq.add_block(Delay(123_000))
    return seq


def _bits(a: np.ndarray) -> bytes:
    return np.ascontiguousarray(a).tobytes()


@pytest.mark.parametrize("rate", [1e5, 1e6, Fraction(10**6, 3), 44_100, 2.5e6])
@pytest.mark.parametrize("chunk", [1, 997, 4096])
def test_streaming_is_bit_identical_to_one_shot(rate: float, chunk: int) -> None:
    seq = _demo()
    one = seq.render(rate, ("gx", "gy", "gz", "rf", "adc", "trigger"))
    n = one["gx"].size
    if chunk == 1 and n > 3000:
        chunk = 7
    parts = list(seq.render_chunks(rate, ("gx", "gy", "gz", "rf", "adc", "trigger"), chunk_samples=chunk))
    assert all(p["gx"].size <= chunk for p in parts)
    for k, v in one.items():
        joined = np.concatenate([p[k] for p in parts])
        assert _bits(joined) == _bits(v), k


@pytest.mark.parametrize("rate", [1e5, Fraction(10**6, 3), 44_100])
def test_native_kernels_equal_numpy_reference(rate: float, monkeypatch: pytest.MonkeyPatch) -> None:
    seq = wavegen.pulseq.read(FIX / "rot_matlab_v151.seq")
    for s in (seq, _demo()):
        a = s.render(rate, ("gx", "gy", "gz", "rf"))
        monkeypatch.setattr(render_mod, "NATIVE", False)
        b = s.render(rate, ("gx", "gy", "gz", "rf"))
        monkeypatch.undo()
        for k in a:
            assert _bits(a[k]) == _bits(b[k]), k


def test_native_kernel_is_in_use() -> None:
    from wavegen._backend import NATIVE

    assert render_mod.NATIVE is NATIVE
    if NATIVE:
        assert hasattr(render_mod.lib, "wg_seq_pwl_eval") and hasattr(render_mod.lib, "wg_seq_zoh_eval")


def test_sample_count_and_times_are_exact() -> None:
    seq = Sequence()
    seq.add_block(Delay(1_000_000))  # 1 ms
    for rate, n in ((1e5, 100), (44_100, 45), (Fraction(10**6, 3), 334), (Fraction(1000, 7), 1)):
        out = seq.render(rate, ("gx",))
        # samples with t = k / rate < 1 ms
        assert out["gx"].size == n == math.ceil(Fraction(1, 1000) * Fraction(rate))


def test_adc_gate_edges_exact_on_odd_rate() -> None:
    seq = Sequence()
    seq.add_block(ADCEvent(7, 1_300, delay_ns=10_000), duration_ns=30_000)
    rate = Fraction(10**9, 700)  # 700 ns period: neither raster divides it
    gate = seq.render(rate, ("adc",))["adc"]
    on = np.flatnonzero(gate)
    # [10000, 10000 + 7*1300) ns -> k*700 in that range: k = 15 (10500) .. 27 (18900)
    assert on.tolist() == list(range(15, 28))


def test_trapezoid_values_exact_on_the_grid() -> None:
    seq = Sequence()
    seq.add_block(gx=TrapGradient(GAMMA * 0.02, 200_000, 500_000, 100_000, delay_ns=50_000))
    g = seq.render(1e5, ("gx",))["gx"]  # 10 us samples
    assert g[5] == 0.0  # at the start of the ramp
    assert g[15] == pytest.approx(0.01, rel=1e-15)  # half way up (150 us after the ramp start)
    assert np.all(g[25:75] == pytest.approx(0.02, rel=1e-15))
    assert g[80] == pytest.approx(0.01, rel=1e-15)  # half way down
    assert g.size == 85 and g[84] == pytest.approx(0.002, rel=1e-13)  # 10 us before the end
    # the integral equals the trapezoid's area (midpoint sum of a piecewise-linear waveform)
    area = g.sum() * 1e-5
    assert area == pytest.approx(0.02 * (500e-6 + 150e-6), rel=1e-12)


def test_far_samples_are_as_exact_as_the_first() -> None:
    seq = Sequence()
    seq.add_block(Delay(10**13))  # 10 000 s of nothing
    seq.add_block(gx=TrapGradient(GAMMA * 0.01, 10_000, 20_000, 10_000))
    r = render_mod.Renderer(seq, 1e6, ("gx",))
    k0 = 10**10  # sample 1e10 = t 1e4 s
    g = r.render(k0 - 5, k0 + 45)["gx"]
    assert g[5] == 0.0 and g[10] == pytest.approx(0.005, rel=1e-15) and g[15] == pytest.approx(0.01, rel=1e-15)
    assert g[44] == pytest.approx(0.001, rel=1e-12) and not g[45:].any()  # 1 us before the end, then 0


def test_rf_holds_each_sample_over_its_raster_cell() -> None:
    seq = Sequence()
    mag = np.array([0.2, 1.0, 0.5])
    seq.add_block(RFEvent(100.0, Shape(mag), Shape(np.zeros(3))), duration_ns=10_000)
    rf = seq.render(2e6, ("rf",))["rf"]  # 0.5 us: two output samples per 1 us RF sample
    ev = seq[0].rf
    assert ev is not None
    np.testing.assert_array_equal(rf[:6], np.repeat(ev.signal_hz / GAMMA, 2))
    np.testing.assert_allclose(rf[:6].real, np.repeat(mag * 100 / GAMMA, 2), rtol=1e-15)
    assert not rf[6:].any()


def test_rf_offsets_at_sample_centres() -> None:
    seq = Sequence()
    seq.add_block(
        RFEvent(100.0, Shape(np.ones(10)), Shape(np.zeros(10)), freq_offset_hz=1e4, phase_offset_rad=0.5),
        duration_ns=10_000,
    )
    rf = seq.render(1e6, ("rf",))["rf"][:10]
    tc = (np.arange(10) + 0.5) * 1e-6
    np.testing.assert_allclose(rf, 100 / GAMMA * np.exp(1j * (0.5 + 2 * np.pi * 1e4 * tc)), rtol=1e-14)


def test_ppm_offsets_need_b0() -> None:
    seq = Sequence()
    seq.add_block(RFEvent(100.0, Shape(np.ones(10)), Shape(np.zeros(10)), freq_ppm=-3.45), duration_ns=10_000)
    with pytest.raises(RangeError, match="b0_t"):
        seq.render(1e6, ("rf",))
    rf = seq.render(1e6, ("rf",), b0_t=3.0)["rf"]
    f = -3.45e-6 * GAMMA * 3.0
    assert np.angle(rf[1] / rf[0]) == pytest.approx(2 * np.pi * f * 1e-6, rel=1e-9)


def test_rotation_mixes_axes_and_keeps_the_norm() -> None:
    seq = _demo()
    out = seq.render(1e6, ("gx", "gy", "gz"))
    s = int(seq.block_starts_ns[2] // 1000)
    # the block's logical gx (1e5 Hz/m flat) and gz (triangle) rotated by 0.6 rad about y
    g = np.stack([out["gx"][s : s + 70], out["gy"][s : s + 70], out["gz"][s : s + 70]])
    r = Rotation(math.cos(0.3), 0.0, math.sin(0.3), 0.0).matrix()
    gx_log = np.interp(np.arange(70) * 1e3, [0, 1e4, 6e4, 7e4], [0, 1e5, 1e5, 0]) / GAMMA
    gz_log = np.interp(np.arange(70) * 1e3, [0, 2e4, 4e4], [0, 5e4, 0], right=0) / GAMMA
    want = r @ np.stack([gx_log, np.zeros(70), gz_log])
    np.testing.assert_allclose(g, want, rtol=0, atol=1e-15)
    assert abs(out["gy"][s + 30]) < 1e-20  # rotation about y leaves y at 0


def test_unknown_channel_and_bad_rates() -> None:
    seq = _demo()
    with pytest.raises(RangeError, match="unknown channel"):
        seq.render(1e5, ("gx", "bx"))
    with pytest.raises(RangeError, match="must be > 0"):
        seq.render(-1.0)
    with pytest.raises(wavegen.errors.NonFiniteError, match="not finite"):
        seq.render(float("nan"))
    with pytest.raises(RangeError, match="chunk_samples"):
        next(seq.render_chunks(1e5, chunk_samples=0))


def test_t0_offset_shifts_exactly() -> None:
    seq = _demo()
    a = seq.render(1e6, ("gx", "gy"))
    b = seq.render(1e6, ("gx", "gy"), t0_s=Fraction(37, 10**6))
    for k in a:
        assert _bits(b[k]) == _bits(a[k][37:])


def test_to_waveforms_and_safety_check_accept_a_sequence() -> None:
    seq = wavegen.pulseq.read(FIX / "gre_matlab_v141.seq")
    wf = seq.to_waveforms()
    n = seq.duration_ns // seq.grad_raster_ns
    assert wf.grad_t_per_m.shape == (n, 3) and wf.grad_raster_s == pytest.approx(1e-5)
    # gradient samples at raster centres equal a render at the centres
    g = seq.render(1e5, ("gx",), t0_s=5e-6)["gx"]
    np.testing.assert_array_equal(wf.grad_t_per_m[:, 0], g)
    assert wf.rf_b1_t is not None and wf.rf_b1_t.size == seq.duration_ns // seq.rf_raster_ns
    safety = pytest.importorskip("wavegen.safety")
    report = safety.check(seq, wavegen.SystemLimits())
    assert hasattr(report, "ok")


def test_event_longer_than_block_is_refused_when_rendering() -> None:
    seq = Sequence()
    seq.add_block(gx=TrapGradient(1e5, 10_000, 10_000, 10_000))
    seq._cols[0][0] = 20_000  # corrupt the table behind the API's back
    seq._arrays = None
    with pytest.raises(wavegen.errors.SeqFormatError, match="block 1: gx event ends at 30000 ns"):
        seq.render(1e5, ("gx",))


def test_streaming_memory_is_bounded_by_the_chunk() -> None:
    import tracemalloc

    seq = Sequence()
    g = TrapGradient(1e5, 10_000, 80_000, 10_000)
    for _ in range(200):
        seq.add_block(gx=g, gy=g, gz=g)
        seq.add_block(Delay(10_000_000))
    n = 0
    tracemalloc.start()
    for part in seq.render_chunks(1e6, ("gx", "gy", "gz", "adc"), chunk_samples=1 << 14):
        n += part["gx"].size
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert n == 200 * 10_100
    # a one-shot render holds 3 x 2.02 M float64 + bool = 50 MB; the stream a few chunks of 128 kB
    assert peak < 3_000_000, peak


def _long_rf(n_pulses: int = 6, n_samples: int = 200_003) -> Sequence:
    """A CEST-like train: long pulses of one shape at different frequency offsets, with spoilers."""
    seq = Sequence()
    k = np.arange(n_samples)
    mag = Shape(0.5 + 0.5 * np.sin(2 * np.pi * 7 * k / n_samples) ** 2)
    ph = Shape(np.mod(k / 997.0, 1.0))
    for i in range(n_pulses):
        rf = RFEvent(50.0, mag, ph, center_us=n_samples / 2, delay_ns=100_000, freq_offset_hz=137.0 * (i - 3),
                     phase_offset_rad=0.1 * i, use="s")
        seq.add_block(rf)
        seq.add_block(gz=TrapGradient(2e5, 100_000, 300_000, 100_000))
    return seq


def test_long_rf_renders_in_bounded_memory_and_chunks_are_bit_identical() -> None:
    """Issue 17 item 6: the pulses share one shape; no modulated copy per pulse, no full-length array."""
    import tracemalloc

    seq = _long_rf()
    one = seq.render(1e6, ("rf",))["rf"]
    assert one.size == seq.duration_ns // 1000
    tracemalloc.start()
    k = 0
    same = True
    chunk = 1 << 15
    for part in seq.render_chunks(1e6, ("rf",), chunk_samples=chunk):
        m = part["rf"].size
        same &= _bits(part["rf"]) == _bits(one[k : k + m])
        k += m
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert same and k == one.size
    shape_bytes = 200_003 * 16  # the one unmodulated library shape (complex)
    # the old library held 6 modulated copies (19 MB) and the output 1.2 M complex (20 MB)
    assert peak < 2 * shape_bytes + 8 * chunk * 16, peak


def test_long_rf_modulation_matches_the_direct_formula() -> None:
    """Frequency offsets from the per-frequency tables equal exp(2 pi j f t) at the sample centres."""
    seq = _long_rf(n_pulses=2, n_samples=5_000)
    out = seq.render(1e6, ("rf",))["rf"]
    ev = seq.block(0).rf
    assert ev is not None
    n = 5_000
    tc = (np.arange(n) + 0.5) * 1e-6
    want = ev.signal_hz / seq.gamma_hz_per_t * np.exp(2j * np.pi * ev.freq_offset_hz * tc)
    want *= np.exp(1j * ev.phase_offset_rad)
    got = out[100 : 100 + n]
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12 * np.abs(want).max())


def test_renderer_on_a_block_range_equals_the_full_render() -> None:
    seq = wavegen.pulseq.read(FIX / "rot_matlab_v151.seq")
    rate = Fraction(10**5)
    t0 = Fraction(5, 10**6)
    full = render_mod.Renderer(seq, rate, ("gx", "gy", "gz"), t0_s=t0)
    whole = full.render(0, full.n_total)
    cuts = [0, 1, 3, len(seq)]
    for b0, b1 in zip(cuts[:-1], cuts[1:], strict=True):
        r = render_mod.Renderer(seq, rate, ("gx", "gy", "gz"), t0_s=t0, blocks=(b0, b1), vertex_cache={})
        k0, k1 = r.k_range
        part = r.render(k0, k1)
        for c in ("gx", "gy", "gz"):
            assert _bits(part[c]) == _bits(whole[c][k0:k1]), (b0, c)
    with pytest.raises(RangeError, match="not a range"):
        render_mod.Renderer(seq, rate, ("gx",), blocks=(5, 2))


def test_one_library_shape_for_pulses_differing_in_amplitude_frequency_and_phase() -> None:
    """A B1 sweep at several offsets: the renderer holds the shape once, whatever the pulse count."""
    seq = Sequence()
    n = 1000
    mag, ph = Shape(np.hanning(n) + 1e-3), Shape(np.linspace(0, 0.3, n))
    for i in range(12):
        seq.add_block(RFEvent(50.0 + 20 * i, mag, ph, center_us=500.0, delay_ns=100_000,
                              freq_offset_hz=100.0 * (i % 4), phase_offset_rad=0.2 * i, use="s"))
    r = render_mod.Renderer(seq, 1e6, ("rf",))
    assert r._rf_lib.size == n
    out = r.render(0, r.n_total)["rf"]
    for i in (0, 5, 11):
        ev = seq.block(i).rf
        assert ev is not None
        start = i * (100_000 + n * 1000) // 1000 + 100
        tc = (np.arange(n) + 0.5) * 1e-6
        phase = ev.phase_offset_rad + 2 * np.pi * ev.freq_offset_hz * tc
        want = ev.signal_hz / seq.gamma_hz_per_t * np.exp(1j * phase)
        np.testing.assert_allclose(out[start : start + n], want, rtol=0, atol=1e-13 * np.abs(want).max())


def test_to_waveforms_holds_the_rf_once() -> None:
    """The rendered arrays are adopted by the Waveforms (read-only), not copied a second time."""
    import tracemalloc

    from wavegen.safety import Waveforms  # imported before measuring

    seq = _long_rf(n_pulses=8)
    n_rf = seq.duration_ns // seq.rf_raster_ns
    rf_bytes = n_rf * 16
    tracemalloc.start()
    wf = seq.to_waveforms()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert isinstance(wf, Waveforms) and wf.rf_b1_t is not None and wf.rf_b1_t.size == n_rf
    assert not wf.rf_b1_t.flags.writeable and not wf.grad_t_per_m.flags.writeable
    grad_bytes = wf.grad_t_per_m.nbytes
    shape_bytes = 200_003 * 16
    assert peak < rf_bytes + 3 * grad_bytes + 2 * shape_bytes + 2_000_000, (peak, rf_bytes)
    # outside Sequence.to_waveforms a Waveforms still copies what it is given
    g = np.zeros((10, 3))
    w = Waveforms(g, 1e-5)
    g[0, 0] = 1.0
    assert w.grad_t_per_m[0, 0] == 0.0
