"""Playback plans: de-duplicated segments per instrument, exact against the one-shot render."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wavegen.bench import Bench
from wavegen.bench.plan import SequencerLimits, Window, make_instrument_plan, window_samples
from wavegen.errors import ConfigError, RangeError
from wavegen.limits import SystemLimits
from wavegen.safety import samples_digest
from wavegen.sequence import recipes

LIM = SystemLimits()
DAQ = ("gx", "gy", "gz", "adc")
AWG = ("rf_i", "rf_q")
SEQ_LIMITS = SequencerLimits(max_steps=4096, max_segments=1024, min_points=8, granularity=1, max_repeats=10**6,
                             memory_points=1 << 20)


@pytest.fixture(scope="module")
def gre():
    return recipes.design_gre(LIM, fov_m=0.256, matrix=32).seq


@pytest.fixture(scope="module")
def epi():
    return recipes.design_epi(LIM, fov_m=0.22, matrix=16).seq


@pytest.fixture(scope="module")
def bench():
    with Bench.mock() as b:
        yield b


def _plan(bench, seq, outs, inst, **kw):
    return make_instrument_plan(seq, instrument=inst, rate_hz=1e6, outputs=outs, to_volts=bench.channel_map.to_volts,
                                lead_samples=100, tail_samples=3000, **kw)


@pytest.mark.parametrize("which", ["gre", "epi"])
@pytest.mark.parametrize("mode", ["waveform", "sequence"])
def test_plan_expands_to_the_one_shot_render_bit_for_bit(request, bench, which, mode):
    seq = request.getfixturevalue(which)
    program = bench.render(seq)
    for inst, outs in (("daq", DAQ), ("awg", AWG)):
        kw = {"max_points": 1000, "sequencer": SEQ_LIMITS} if mode == "sequence" else {}
        p = _plan(bench, seq, outs, inst, **kw)
        assert p.mode == mode
        for o in outs:
            ref = bench.channel_map.to_volts(o, program.physical[o])
            np.testing.assert_array_equal(p.expand(o), ref)
        if mode == "sequence":
            assert len(p.segments) <= sum(r for _, r in p.table)
            if which == "gre":  # its TRs repeat: fewer distinct segments than plays
                assert len(p.segments) < sum(r for _, r in p.table)
            assert all(s.n_samples >= SEQ_LIMITS.min_points for s in p.segments)


def test_windows_are_slices_of_the_whole_on_the_sequence_time_base(bench, gre):
    full = bench.render(gre)
    lead = int(round(bench.config.lead_s * 1e6))
    for win in (Window.of_blocks(gre, 10, 20), Window.of_times(Fraction(1203, 10**5), Fraction(5, 100))):
        part = bench.render(gre, window=win)
        ks, ke = window_samples(gre, 1e6, win)
        for o in ("gx", "gy", "rf_i", "adc"):
            np.testing.assert_array_equal(part.physical[o][lead:lead + ke - ks], full.physical[o][lead + ks:lead + ke])
        assert part.t0_s == pytest.approx(float(win.start_ns) * 1e-9 - bench.config.lead_s)
        p = _plan(bench, gre, DAQ, "daq", window=win, max_points=500, sequencer=SEQ_LIMITS)
        for o in DAQ:
            np.testing.assert_array_equal(p.expand(o), bench.channel_map.to_volts(o, part.physical[o]))


@settings(max_examples=25, deadline=None)
@given(a=st.integers(0, 120_000), n=st.integers(2, 60_000))
def test_any_window_inside_blocks_is_exact(bench, gre, a, n):
    win = Window.of_times(Fraction(a, 10**6) + Fraction(1, 3 * 10**6), Fraction(a + n, 10**6))
    full = bench.render(gre)
    lead = int(round(bench.config.lead_s * 1e6))
    ks, ke = window_samples(gre, 1e6, win)
    p = _plan(bench, gre, ("gx", "gy"), "daq", window=win, max_points=64, sequencer=SEQ_LIMITS)
    np.testing.assert_array_equal(p.expand("gy")[100:100 + ke - ks], bench.channel_map.to_volts(
        "gy", full.physical["gy"][lead + ks:lead + ke]))


def test_grants_cover_exactly_the_plan(bench, gre):
    p = _plan(bench, gre, DAQ, "daq", max_points=1000, sequencer=SEQ_LIMITS)
    grants = {g.output: g for g in p.grants(lambda o: f"daq/{o}")}
    g = grants["daq/gy"]
    assert g.order == p.table and g.n_samples == p.n_samples
    assert {s.digest for s in g.segments} == {s.digests["gy"] for s in p.segments}
    before = p.digest()
    p.table = (*p.table[:-1], (p.table[-1][0], p.table[-1][1] + 1))  # a plan altered after planning
    assert p.digest() != before


def test_segments_beyond_the_memory_budget_are_rendered_again_and_verified(bench, gre):
    p = _plan(bench, gre, DAQ, "daq", max_points=1000, sequencer=SEQ_LIMITS, cache_bytes=0)
    assert p.memory_bytes == 0
    ref = bench.channel_map.to_volts("gx", bench.render(gre).physical["gx"])
    np.testing.assert_array_equal(p.expand("gx"), ref)
    i = next(i for i, s in enumerate(p.segments) if s.n_samples > 100)
    assert samples_digest(p.segment_volts(i)["gx"]) == p.segments[i].digests["gx"]


def test_no_sequencer_no_room_is_a_clear_refusal(bench, gre):
    with pytest.raises(ConfigError, match=r"awg: .* do not fit its 1,000-point memory .* longest it holds at this "
                                          r"rate is 0.001 s.*--window"):
        _plan(bench, gre, AWG, "awg", max_points=1000)
    tiny = SequencerLimits(max_steps=4, max_segments=4, min_points=8, granularity=1, max_repeats=10,
                           memory_points=10**6)
    with pytest.raises(ConfigError, match="does not fit its sequencer"):
        _plan(bench, gre, DAQ, "daq", max_points=1000, sequencer=tiny)


def test_bench_plan_and_windows_refuse_nonsense(bench, gre):
    plan = bench.plan(gre)
    assert plan.fits_one_waveform and set(plan.instruments) == {"daq", "awg"}
    assert "waveform" in plan.table() and "daq" in repr(plan)
    with pytest.raises(RangeError, match="blocks 5..400"):
        Window.of_blocks(gre, 5, 400)
    with pytest.raises(RangeError, match="start < end"):
        Window.of_times(0.2, 0.1)
    with pytest.raises(RangeError, match="starts after the sequence ends"):
        bench.plan(gre, window=Window.of_times(10, 11))


def test_a_long_protocol_folds_into_the_sequencer_and_stays_exact(bench):
    """Many TRs, more steps than the sequencer holds: folded on the period of the TRs, still exact."""
    seq = recipes.design_gre(LIM, fov_m=0.256, matrix=64).seq
    program = bench.render(seq)
    lim = SequencerLimits(max_steps=40, max_segments=16, min_points=8, granularity=1, max_repeats=1000,
                          memory_points=200_000)
    p = _plan(bench, seq, AWG, "awg", max_points=1000, sequencer=lim)  # the RF repeats every TR: it folds
    assert len(p.table) <= 40 and len(p.segments) <= 16
    for o in AWG:
        np.testing.assert_array_equal(p.expand(o), bench.channel_map.to_volts(o, program.physical[o]))
    # the phase encoding changes every TR: no period to fold on, and the refusal says what to do
    with pytest.raises(ConfigError, match=r"daq: the sequence does not fit its sequencer \(258 sequence steps > 40\)"):
        _plan(bench, seq, DAQ, "daq", max_points=1000, sequencer=lim)


def test_a_sequence_on_a_sub_ns_raster_plans_exactly(bench):
    """A tabletop file whose rasters are not whole ns (10001.6276 ns, counted in ticks of 1/5000 ns):
    the plan cuts its blocks on that time base and expands to the one-shot render, bit for bit; a block
    window is exact too. (Physical units are planned as they are: this file's 50 mT/m exceeds the mock
    bench's gradient channels.)"""
    from pathlib import Path

    from wavegen import pulseq

    def as_is(o: str, x: np.ndarray) -> np.ndarray:
        return np.asarray(x, dtype=np.float64)

    def plan(**kw):
        return make_instrument_plan(seq, instrument="daq", rate_hz=1e6, outputs=DAQ, to_volts=as_is,
                                    lead_samples=100, tail_samples=3000, **kw)

    seq = pulseq.read(Path(__file__).parent / "fixtures" / "seq" / "tabletop_raster_pypulseq_v150.seq")
    assert seq.ticks_per_ns > 1
    program = bench.render(seq)
    lead = int(round(bench.config.lead_s * 1e6))
    for streams in (False, True):
        p = plan(streams=streams)
        assert p.mode == ("stream" if streams else "waveform")
        for o in DAQ:
            want = np.asarray(program.physical[o], dtype=np.float64)
            got = p.expand(o)
            np.testing.assert_array_equal(got[100 : got.size - 3000], want[lead : lead + got.size - 3100])
    w = Window.of_blocks(seq, 1, len(seq) - 1)
    ks, ke = window_samples(seq, 1e6, w)
    p = plan(window=w)
    whole = np.asarray(program.physical["gx"], dtype=np.float64)
    np.testing.assert_array_equal(p.expand("gx")[100 : 100 + ke - ks], whole[lead + ks : lead + ke])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(-3, 3), st.integers(0, 2**62), st.integers(-1, 1)), min_size=1, max_size=60))
def test_row_classes_are_exactly_row_equality(rows):
    """Pieces with equal keys share a segment exactly when their rows are equal (hash, then verified)."""
    from wavegen.sequence.blocktable import row_classes as _row_classes

    keys = np.array(rows, dtype=np.int64)
    ids = _row_classes(keys)
    for i in range(len(rows)):
        for j in range(len(rows)):
            assert (ids[i] == ids[j]) == (rows[i] == rows[j])


def test_row_classes_fall_back_to_sorting_rows_on_a_hash_collision(monkeypatch):
    import wavegen.sequence.blocktable as plan_mod

    keys = np.array([[1, 2], [3, 4], [1, 2], [5, 6]], dtype=np.int64)
    real_unique = np.unique

    def colliding(a, *args, **kw):  # every row hashes alike: only the verification can tell them apart
        if a.ndim == 1 and a.dtype == np.uint64 and kw.get("return_index"):
            return real_unique(np.zeros_like(a), *args, **kw)
        return real_unique(a, *args, **kw)

    monkeypatch.setattr(plan_mod.np, "unique", colliding)
    ids = plan_mod.row_classes(keys)
    assert ids[0] == ids[2] and len({int(ids[0]), int(ids[1]), int(ids[3])}) == 3
