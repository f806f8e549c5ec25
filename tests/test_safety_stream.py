"""The safety check of a Sequence streamed in bounded memory (issue 16 item 4) and its exact amplitude
and slew on the piecewise-linear waveform (issue 17 item 5): the streamed results equal the sample
path's (``streaming=False``) up to rounding, chunk boundaries change nothing, the slew of a one-raster
ramp is seen at its corner, and memory does not grow with the length of the sequence."""

from __future__ import annotations

import math
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

import wavegen
from wavegen import safety
from wavegen.errors import ShapeError
from wavegen.limits import SystemLimits
from wavegen.safety import RfAmplifier, SarCalibration
from wavegen.safety import stream as stream_mod
from wavegen.sequence import ADCEvent, ArbGradient, Delay, RFEvent, Sequence, Shape, TrapGradient

FIX = Path(__file__).parent / "fixtures" / "seq"
LIM = SystemLimits(max_grad_t_per_m=0.08, max_slew_t_per_m_per_s=300.0, max_b1_t=3e-5)


def _gre(n_tr: int, *, adjacent_rf: bool = False) -> Sequence:
    """A small RF-spoiled gradient echo built with wavegen's own events (TR 5 ms)."""
    seq = Sequence()
    n = 400
    x = np.linspace(-2, 2, n)
    mag = Shape(np.abs(np.sinc(x)) * np.hanning(n) + 1e-3)
    ph = Shape((np.sinc(x) < 0).astype(float) * 0.5)
    gz = TrapGradient(4e5, 100_000, 400_000, 100_000)
    gzr = TrapGradient(-4e5, 100_000, 100_000, 100_000)
    gx = TrapGradient(3e5, 60_000, 1_280_000, 60_000)
    gxp = TrapGradient(-3e5, 60_000, 580_000, 60_000)
    spoil = TrapGradient(8e5, 150_000, 500_000, 150_000)
    adc = ADCEvent(128, 10_000, delay_ns=60_000)
    phase = 0.0
    for i in range(n_tr):
        phase = (phase + 117.0 * i) % 360.0
        rf = RFEvent(300.0, mag, ph, center_us=200.0, delay_ns=50_000, freq_offset_hz=0.0,
                     phase_offset_rad=math.radians(phase), use="e")
        seq.add_block(rf, gz=gz)
        if adjacent_rf:  # two 250 us pulses back to back: one 500 us run for the amplifier
            for _ in range(2):
                seq.add_block(RFEvent(100.0, Shape(np.ones(250)), Shape(np.zeros(250)), center_us=125.0, use="s"))
        pe = 2e5 * ((i % 16) - 8) / 8
        seq.add_block(gx=gxp, gy=TrapGradient(pe, 60_000, 580_000, 60_000), gz=gzr)
        seq.add_block(adc, gx=gx)
        seq.add_block(gx=spoil, gz=spoil)
        seq.add_block(Delay(1_500_000))
    return seq


def _assert_same(a: safety.SafetyReport, b: safety.SafetyReport, *, rel: float = 1e-9) -> None:
    assert a.rules() == b.rules()
    for ra, rb in zip(a.results, b.results, strict=True):
        assert ra.verdict == rb.verdict, ra.rule
        assert ra.unit == rb.unit and ra.channel == rb.channel, ra.rule
        if math.isfinite(rb.value):
            assert ra.value == pytest.approx(rb.value, rel=rel, abs=1e-300), ra.rule
        else:
            assert not math.isfinite(ra.value), ra.rule


CAL = SarCalibration("whole_body", w_per_kg_per_ut2=0.5)
AMP = RfAmplifier(peak_power_w=2e4, watts_per_t2=1e13, average_power_w=50.0, average_window_s=0.2,
                  max_duty_cycle=0.2, duty_window_s=0.1, max_pulse_s=1e-3)


@pytest.mark.parametrize("periodic", [True, False])
@pytest.mark.parametrize("zero_edges", [True, False])
def test_streamed_check_equals_the_sample_path(periodic: bool, zero_edges: bool) -> None:
    seq = _gre(60)
    kw = dict(sar_calibration=CAL, rf_amplifier=AMP, sar_windows_s=(0.1, 0.25, 10.0), periodic=periodic,
              zero_edges=zero_edges, keep_traces=False)
    a = safety.check(seq, LIM, **kw)
    b = safety.check(seq, LIM, streaming=False, **kw)
    assert "pns_safe" in a and "pns_iec" in a and "sar_whole_body_10s" in a and "rf_duty_cycle" in a
    _assert_same(a, b)
    # every sample-based rule has the same worst sample; PNS is bit-identical (same kernel, carried state)
    for rule in ("pns_safe", "pns_iec", "cardiac_iec"):
        assert a[rule].index == b[rule].index and a[rule].time_s == b[rule].time_s, rule
    assert a["pns_safe"].value == b["pns_safe"].value


def test_streamed_check_equals_sample_path_on_files_and_uncalibrated_rf() -> None:
    for name in ("gre_matlab_v141.seq", "epi_v131.seq", "fid_v120.seq", "spec_compression_v141.seq"):
        seq = wavegen.pulseq.read(FIX / name)
        lim = SystemLimits(max_grad_t_per_m=0.1, max_slew_t_per_m_per_s=500.0)
        _assert_same(safety.check(seq, lim), safety.check(seq, lim, streaming=False))


def test_adjacent_pulses_join_into_one_rf_pulse_length() -> None:
    seq = _gre(20, adjacent_rf=True)
    kw = dict(rf_amplifier=AMP, keep_traces=False)
    a, b = safety.check(seq, LIM, **kw), safety.check(seq, LIM, streaming=False, **kw)
    _assert_same(a, b)
    assert a["rf_pulse_length"].value == pytest.approx(0.5e-3)  # not 250 us: the two pulses join


def test_chunk_boundaries_change_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    seq = _gre(30)
    kw = dict(sar_calibration=CAL, keep_traces=False)
    big = safety.check(seq, LIM, **kw)
    monkeypatch.setattr(stream_mod, "CHUNK_SAMPLES", 97)
    monkeypatch.setattr(stream_mod.grad_windows, "__defaults__", (97,) + stream_mod.grad_windows.__defaults__[1:])
    small = safety.check(seq, LIM, **kw)
    _assert_same(small, big, rel=1e-12)
    assert small["pns_safe"].value == big["pns_safe"].value


def test_iec_plateau_threshold_is_the_final_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """A ramp of 1e-7 T/m/s is a slope until a 150 T/m/s ramp later makes it a plateau (1e-9 of the max):
    the streamed rule detects it and recomputes with the final threshold."""
    seq = Sequence()
    seq.add_block(gx=ArbGradient(1.0, Shape(np.linspace(0.0, 1e-4, 300)), 0.0, 1e-4))
    seq.add_block(gx=ArbGradient(1e-4, Shape(np.ones(300)), 1e-4, 1e-4))
    seq.add_block(gx=ArbGradient(1e-4, Shape(np.ones(3)), 1e-4, 0.0))
    seq.add_block(Delay(1_000_000))
    seq.add_block(gx=TrapGradient(150.0 * 42.576e6 * 1e-4, 100_000, 100_000, 100_000))
    monkeypatch.setattr(stream_mod.grad_windows, "__defaults__", (64,) + stream_mod.grad_windows.__defaults__[1:])
    a = safety.check(seq, LIM, keep_traces=False)
    b = safety.check(seq, LIM, keep_traces=False, streaming=False)
    _assert_same(a, b, rel=1e-12)
    assert a["pns_iec"].index == b["pns_iec"].index


def _one_raster_ramp(slew_t_per_m_per_s: float) -> Sequence:
    gamma = 42.576e6
    amp_t_per_m = slew_t_per_m_per_s * 10e-6  # reached in one 10 us raster
    seq = Sequence(gamma_hz_per_t=gamma)
    seq.add_block(Delay(100_000))
    seq.add_block(gx=TrapGradient(amp_t_per_m * gamma, 10_000, 200_000, 10_000))
    seq.add_block(Delay(100_000))
    return seq


@pytest.mark.parametrize("streaming", [True, False])
def test_slew_of_a_one_raster_ramp_is_seen_at_its_corner(streaming: bool) -> None:
    """Issue 17 item 5: 10 us ramps that slew at 1,750 T/m/s fail a 1,000 T/m/s limit."""
    seq = _one_raster_ramp(1750.0)
    lim = SystemLimits(max_grad_t_per_m=0.04, max_slew_t_per_m_per_s=1000.0)
    # raster centres see half the slope: the old file-level check passed this sequence
    sampled = safety.check(seq.to_waveforms(), lim, keep_traces=False)
    assert sampled["grad_slew"].value == pytest.approx(875.0) and sampled["grad_slew"].verdict == "pass"
    rep = safety.check(seq, lim, keep_traces=False, streaming=streaming)
    r = rep["grad_slew"]
    assert r.verdict == "fail" and r.value == pytest.approx(1750.0, rel=1e-12)
    assert r.time_s == pytest.approx(100e-6) and r.channel == "gx"  # the ramp starts at the corner
    assert rep["grad_slew_vector"].value == pytest.approx(1750.0, rel=1e-12)
    assert not rep.ok and rep.violations[0].rule == "grad_slew"
    # the same ramp within the limit passes
    ok = safety.check(_one_raster_ramp(990.0), lim, keep_traces=False, streaming=streaming)
    assert ok["grad_slew"].verdict == "pass" and ok["grad_slew"].value == pytest.approx(990.0, rel=1e-12)


def test_exact_amplitude_at_a_corner_between_raster_centres() -> None:
    gamma = 42.576e6
    seq = Sequence(gamma_hz_per_t=gamma)
    seq.add_block(gx=TrapGradient(0.03 * gamma, 20_000, 0, 20_000))  # triangle, peak at 20 us (no centre)
    lim = SystemLimits(max_grad_t_per_m=0.029, max_slew_t_per_m_per_s=5000.0)
    assert safety.check(seq.to_waveforms(), lim, keep_traces=False)["grad_amplitude"].verdict == "pass"
    r = safety.check(seq, lim, keep_traces=False)["grad_amplitude"]
    assert r.verdict == "fail" and r.value == pytest.approx(0.03) and r.time_s == pytest.approx(20e-6)


def test_a_jump_counts_as_a_step_over_one_raster() -> None:
    gamma = 42.576e6
    seq = Sequence(gamma_hz_per_t=gamma)
    seq.add_block(Delay(50_000))
    # an arbitrary gradient at 5 mT/m from its first to its last value: jumps at 50 us and 150 us
    seq.add_block(gx=ArbGradient(0.005 * gamma, Shape(np.ones(10)), 0.005 * gamma, 0.005 * gamma))
    seq.add_block(Delay(50_000))
    lim = SystemLimits(max_grad_t_per_m=0.04, max_slew_t_per_m_per_s=200.0)
    rep = safety.check(seq, lim, keep_traces=False)
    r = rep["grad_slew"]
    assert r.value == pytest.approx(0.005 / 10e-6) and r.time_s == pytest.approx(50e-6) and r.verdict == "fail"
    assert "jump" in r.note


def test_a_sequence_clearance_binds_its_definition_and_hashes_samples_only_when_asked() -> None:
    """clear(seq) signs the sequence's definition digest (microseconds per event, whatever its length);
    the samples' digest is the waveforms' digest, computed on first access; any change to an event, a
    shape or the table after the check makes the clearance not for that sequence."""
    from dataclasses import replace

    from wavegen.safety.stream import definition_digest

    seq = wavegen.pulseq.read(FIX / "gre_matlab_v141.seq")
    lim = SystemLimits(max_grad_t_per_m=0.1, max_slew_t_per_m_per_s=500.0)
    c = safety.clear(seq, lim)
    assert c.subject == "sequence:" + definition_digest(seq) and c._digest is None
    assert "sequence " in repr(c) and c.is_valid(seq)
    assert c.digest == seq.to_waveforms().digest()  # computed now, the same as the waveforms'
    d0 = definition_digest(seq)
    rf_id = next(iter(seq._rf.by_id))
    ev = seq._rf.by_id[rf_id]
    for changed in (replace(ev, amplitude_hz=ev.amplitude_hz * (1 + 1e-15)),
                    replace(ev, magnitude=Shape(np.r_[ev.magnitude.samples[:-1], 0.5]))):
        seq._rf.by_id[rf_id] = changed
        assert definition_digest(seq) != d0 and not c.is_valid(seq)
    seq._rf.by_id[rf_id] = ev
    assert definition_digest(seq) == d0 and c.is_valid(seq)
    seq.add_block(Delay(10_000))
    assert not c.is_valid(seq)
    forged = safety.clear(wavegen.pulseq.read(FIX / "gre_matlab_v141.seq"), lim)
    object.__setattr__(forged, "subject", "sequence:" + definition_digest(seq))  # re-aimed at the changed one
    assert not forged.is_valid()


def test_zero_edges_false_ignores_the_steps_at_the_very_ends() -> None:
    gamma = 42.576e6
    seq = Sequence(gamma_hz_per_t=gamma)
    seq.add_block(gx=ArbGradient(0.005 * gamma, Shape(np.ones(10)), 0.005 * gamma, 0.005 * gamma))
    lim = SystemLimits(max_grad_t_per_m=0.04, max_slew_t_per_m_per_s=200.0)
    assert safety.check(seq, lim, keep_traces=False)["grad_slew"].value == pytest.approx(500.0)
    assert safety.check(seq, lim, keep_traces=False, zero_edges=False)["grad_slew"].value == 0.0


def test_digest_is_the_waveforms_digest_and_refuses_a_changed_sequence() -> None:
    seq = wavegen.pulseq.read(FIX / "gre_matlab_v141.seq")
    lim = SystemLimits(max_grad_t_per_m=0.1, max_slew_t_per_m_per_s=500.0)
    rep = safety.check(seq, lim)
    assert rep.digest == seq.to_waveforms().digest()
    rep2 = safety.check(seq, lim)
    seq.add_block(Delay(10_000))
    with pytest.raises(ShapeError, match="changed after its safety check"):
        _ = rep2.digest


def test_traces_are_bounded_envelopes() -> None:
    seq = _gre(40)
    rep = safety.check(seq, LIM)
    t, g, unit = rep.traces["grad_amplitude"]
    assert unit == "T/m" and g.shape[1] == 3 and g.shape[0] <= 1 << 15
    wf = seq.to_waveforms()
    assert np.abs(g).max() == pytest.approx(np.abs(wf.grad_t_per_m).max())
    assert rep.traces["pns_safe"][1].max() == pytest.approx(rep["pns_safe"].value)


def test_check_memory_does_not_grow_with_the_sequence() -> None:
    """The streamed check of a sequence 4x as long needs no more memory (beyond its per-pulse tables)."""
    peaks = []
    for n_tr in (300, 1200):
        seq = _gre(n_tr)
        safety.check(seq, LIM, keep_traces=False)  # warm caches and imports
        tracemalloc.start()
        safety.check(seq, LIM, sar_calibration=CAL, keep_traces=False)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    # 1200 TRs of 5 ms at 10 us: a sample path holds 600 k x 3 gradient and 6 M complex RF samples (>100 MB)
    assert peaks[1] < 1.5 * peaks[0] and peaks[1] < 20e6, peaks


def _cest(n_pulses: int = 5, n_samples: int = 30_001, delay_ns: int = 100_000) -> Sequence:
    """Long saturation pulses of one shape at several frequency offsets, with spoilers between them."""
    seq = Sequence()
    k = np.arange(n_samples)
    mag = Shape(0.5 + 0.5 * np.sin(2 * np.pi * 5 * k / n_samples) ** 2)
    ph = Shape(np.zeros(n_samples))
    for i in range(n_pulses):
        seq.add_block(RFEvent(60.0, mag, ph, center_us=n_samples / 2, delay_ns=delay_ns,
                              freq_offset_hz=250.0 * (i - 2), phase_offset_rad=0.3 * i, use="s"))
        seq.add_block(gz=TrapGradient(3e5, 200_000, 1_000_000, 200_000))
        seq.add_block(Delay(2_000_000 + 10_000 * i))
    return seq


@pytest.mark.parametrize("periodic", [True, False])
def test_long_rf_check_equals_the_sample_path(periodic: bool) -> None:
    seq = _cest()
    kw = dict(sar_calibration=CAL, rf_amplifier=AMP, sar_windows_s=(0.05, 0.1, 10.0), periodic=periodic,
              keep_traces=False)
    a, b = safety.check(seq, LIM, **kw), safety.check(seq, LIM, streaming=False, **kw)
    _assert_same(a, b)
    assert a["rf_pulse_length"].value == pytest.approx(30_001e-6)


def test_window_maxima_off_the_rf_raster_against_brute_force() -> None:
    """Pulses that start between RF raster points (delays of 250 ns): the pulse-pair maxima are exact
    on the nanosecond grid, where every breakpoint of the window integral lies."""
    seq = Sequence()
    rng = np.random.default_rng(3)
    for i in range(4):
        mag = Shape(rng.uniform(0.1, 1.0, 40))
        seq.add_block(RFEvent(100.0 + 30 * i, mag, Shape(np.zeros(40)), center_us=20.0,
                              delay_ns=250 * (i % 3)), duration_ns=60_000 if i % 2 else 50_000)
    train = stream_mod.PulseTrain(seq, seq.duration_ns)
    # |B1|^2 on a 1 ns grid, running integral at every ns
    p_ns = np.zeros(seq.duration_ns)
    for o in range(train.S.size):
        lib_p = train.libs[int(train.L[o])].p
        p_ns[int(train.S[o]) : int(train.T[o])] = np.repeat(lib_p, seq.rf_raster_ns)
    e = np.concatenate(([0.0], np.cumsum(p_ns) * 1e-9))
    P = seq.duration_ns
    for w_ns in (7_321, 51_000, 130_777, 260_003):
        got, _ = train.window_max(w_ns * 1e-9, periodic=True)
        s = np.arange(P)
        end = s + w_ns
        n_p, r = np.divmod(end, P)
        f = n_p * e[-1] + e[r] - e[s]
        assert got == pytest.approx(float(f.max()), rel=1e-9), w_ns
        got, _ = train.window_max(w_ns * 1e-9, periodic=False)
        s = np.arange(-w_ns, P + 1)
        f = e[np.clip(s + w_ns, 0, P)] - e[np.clip(s, 0, P)]
        assert got == pytest.approx(float(f.max()), rel=1e-9), w_ns


@pytest.mark.parametrize("periodic", [True, False])
def test_rms_and_acoustic_rules_stream_identically(periodic: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """Hardware with an RMS rating and forbidden acoustic bands: the streamed rules (carried window
    tails, batches of frames) give the sample path's results bit for bit, whatever the chunking."""
    from wavegen.safety import hardware_from_asc

    hw = hardware_from_asc(FIX.parent / "safety" / "example_gpa.asc", acoustic_threshold_t_per_m=1e-3,
                           max_grad_rms_t_per_m=0.02, grad_rms_window_s=0.0123)
    assert hw.acoustic_bands
    seq = _gre(90)
    kw = dict(hardware=hw, periodic=periodic, keep_traces=False)
    b = safety.check(seq, LIM, streaming=False, **kw)
    for chunk in (stream_mod.CHUNK_SAMPLES, 777):
        monkeypatch.setattr(stream_mod.grad_windows, "__defaults__",
                            (chunk,) + stream_mod.grad_windows.__defaults__[1:])
        a = safety.check(seq, LIM, **kw)
        _assert_same(a, b)
        for rule in ("grad_rms", "acoustic_resonance"):
            assert a[rule].value == b[rule].value and a[rule].time_s == b[rule].time_s, rule


def test_window_stream_equals_the_one_shot_maximum() -> None:
    from wavegen.safety._windows import WindowMaxStream, max_window_integral

    rng = np.random.default_rng(11)
    for _ in range(200):
        k = int(rng.integers(1, 200))
        p = rng.uniform(0, 1, k) * (rng.uniform(size=k) < 0.6)
        w = float(rng.choice([rng.uniform(5e-4, 0.3), k * 1e-3 * 2, int(rng.integers(1, 40)) * 1e-3]))
        for periodic in (True, False):
            st = WindowMaxStream(k, 1e-3, w, periodic=periodic)
            cuts = sorted(set(rng.integers(0, k + 1, size=4).tolist()) | {0, k})
            for a, c in zip(cuts[:-1], cuts[1:], strict=True):
                st.feed(p[a:c])
            assert st.result() == max_window_integral(p, 1e-3, w, periodic=periodic)


@pytest.mark.parametrize("streaming", [True, False])
def test_rf_longer_than_its_block_is_refused_by_both_paths(streaming: bool) -> None:
    seq = _cest(n_pulses=2, n_samples=1000)
    seq._cols[0][0] = 500_000  # corrupt the table behind the API's back: the pulse ends at 1.1 ms
    seq._arrays = None
    with pytest.raises(wavegen.errors.SeqFormatError, match="block 1: RF event ends after the block duration"):
        safety.check(seq, LIM, keep_traces=False, streaming=streaming)
