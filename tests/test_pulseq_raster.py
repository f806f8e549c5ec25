"""Rasters that are not whole nanoseconds (issue 17 item 2): read, rendered, checked and written exactly.

Fixture ``tabletop_raster_pypulseq_v150.seq`` was written by pypulseq 1.5.0 on the rasters of a tabletop
console clocked at 122.88 MHz (``tests/fixtures/seq/make_tabletop_raster.py`` says how): pypulseq prints
rasters with ``%.9g``, so the file says ``GradientRasterTime 1.00016276e-05`` (10001.6276 ns =
25004069/2500 ns) and ``BlockDurationRaster`` the same; trapezoid times are written in whole us. The
AdcRasterTime 1e-10 of the pulseq pTx demo (MATLAB ``write.m``) is tested in ``test_pulseq_field.py``.
"""

from __future__ import annotations

import re
import warnings
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import wavegen
from wavegen.errors import RasterError, SeqFormatError
from wavegen.safety.pwl import PwlGradientCheck
from wavegen.sequence import Sequence
from wavegen.sequence.events import TrapGradient
from wavegen.sequence.render import Renderer
from wavegen.sequence.timebase import decimal_text, snap_raster_ns, ticks_per_ns_for

FIX = Path(__file__).parent / "fixtures" / "seq"
TABLETOP = FIX / "tabletop_raster_pypulseq_v150.seq"
RASTER_NS = Fraction(25004069, 2500)  # 10001.6276 ns, as the file writes it
GAMMA = 42.576e6


def _read(p: Path) -> Sequence:
    return wavegen.pulseq.read(p)


def _text_without_signature(p: Path) -> str:
    text = p.read_text()
    return text[: text.index("\n[SIGNATURE]")] + "\n"


@pytest.fixture(scope="module")
def tabletop() -> Sequence:
    return _read(TABLETOP)


# --- reading -----------------------------------------------------------------------------------------


def test_tabletop_raster_is_read_on_a_finer_time_base(tabletop: Sequence) -> None:
    seq = tabletop
    assert seq.grad_raster_ns == RASTER_NS and seq.block_raster_ns == RASTER_NS
    assert seq.rf_raster_ns == 1000 and seq.adc_raster_ns == 100
    # 2500 ticks per ns make the raster whole (25004069 ticks), but it is odd: centres need 5000
    assert seq.ticks_per_ns == 5000
    assert seq.grad_raster_ticks == 2 * 25004069
    blocks = np.array([10, 32, 16, 64, 3])  # [BLOCKS] durations, in block rasters
    assert seq.block_durations_ticks.tolist() == (blocks * 2 * 25004069).tolist()
    assert seq.duration_ns == blocks.sum() * RASTER_NS
    assert seq.block(1).duration_ns == 32 * RASTER_NS
    assert seq.block_starts_ticks[3] == 58 * 2 * 25004069
    # the nanosecond views cannot hold these times: they say so instead of rounding
    with pytest.raises(RasterError, match=r"block_starts_ns: this sequence counts time in ticks of 1/5000 ns"):
        _ = seq.block_starts_ns
    with pytest.raises(RasterError, match="use block_durations_ticks"):
        _ = seq.block_durations_ns


def test_whole_ns_rasters_keep_the_nanosecond_base() -> None:
    for name in ("gre_matlab_v141.seq", "pypulseq_v150.seq", "epi_v131.seq"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            seq = _read(FIX / name)
        assert seq.ticks_per_ns == 1, name
        assert type(seq.duration_ns) is int
        assert np.array_equal(seq.block_starts_ns, seq.block_starts_ticks)


# --- rendering ---------------------------------------------------------------------------------------


def _pwl_exact(times: list[Fraction], values: list[float], t: Fraction) -> float:
    """Linear interpolation on exact times (0 outside)."""
    if t < times[0] or t >= times[-1]:
        return 0.0
    for i in range(len(times) - 1):
        if times[i] <= t < times[i + 1]:
            w = (t - times[i]) / (times[i + 1] - times[i])
            return values[i] + (values[i + 1] - values[i]) * float(w)
    raise AssertionError


def test_render_between_samples_is_exact(tabletop: Sequence) -> None:
    """At 1 MS/s the raster centres fall between output samples: each sample is interpolated on the exact
    rational times (reference: the same linear interpolation evaluated in Fractions here)."""
    seq = tabletop
    out = seq.render(1e6, ("gx", "gy", "gz", "adc"))
    r = RASTER_NS
    # gy: an arbitrary gradient (time id 0) in block 3, starting after 10 + 32 rasters
    gy = seq.block(2).gy
    assert gy is not None
    s0 = 42 * r
    w = list(gy.waveform_hz_per_m / GAMMA)
    times = [s0] + [s0 + (i + Fraction(1, 2)) * r for i in range(len(w))] + [s0 + len(w) * r]
    values = [0.0, *w, 0.0]
    # gz: the extended trapezoid (time shape 0 2 5 7 rasters) in block 4, after 58 rasters
    gz = seq.block(3).gz
    assert gz is not None and gz.time_shape is not None
    z0 = 58 * r
    ztimes = [z0 + Fraction(int(x)) * r for x in gz.time_shape.samples]
    zvalues = list(gz.waveform_hz_per_m / GAMMA)
    peak_y, peak_z = max(abs(v) for v in values), max(abs(v) for v in zvalues)
    for k in range(out["gy"].size):
        t = Fraction(k * 1000)
        assert out["gy"][k] == pytest.approx(_pwl_exact(times, values, t), abs=1e-12 * peak_y), k
        assert out["gz"][k] == pytest.approx(_pwl_exact(ztimes, zvalues, t), abs=1e-12 * peak_z), k
    # the ADC opens at 58 rasters = 580.094 us: the first sample at or after it is 581 us
    adc = np.flatnonzero(out["adc"])
    assert adc[0] == 581 and adc[-1] == 1220  # 64 x 10 us: open while t < 1220.094 us


def test_render_matches_pypulseq(tabletop: Sequence) -> None:
    """pypulseq reads its own file to the same gradients (its piecewise polynomials, float raster)."""
    pp = pytest.importorskip("pypulseq")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = pp.Sequence()
        ref.read(str(TABLETOP))
        polys = ref.get_gradients()
    for rate in (1e6, 44_100.0):
        out = tabletop.render(rate, ("gx", "gy", "gz"))
        t = np.arange(out["gx"].size) / rate
        for ch, p in zip(("gx", "gy", "gz"), polys, strict=True):
            want = np.nan_to_num(p(t)) / GAMMA
            scale = np.max(np.abs(want))
            assert scale > 0
            assert np.max(np.abs(out[ch] - want)) / scale <= 1e-9, (ch, rate)


def test_chunks_are_bit_identical_on_the_fine_base(tabletop: Sequence) -> None:
    whole = tabletop.render(1e6)
    parts = list(tabletop.render_chunks(1e6, chunk_samples=97))
    for ch, v in whole.items():
        assert np.array_equal(np.concatenate([p[ch] for p in parts]), v), ch


def test_to_waveforms_samples_the_raster_centres(tabletop: Sequence) -> None:
    w = tabletop.to_waveforms()
    assert w.grad_raster_s == pytest.approx(float(RASTER_NS) * 1e-9, rel=1e-15)
    assert w.grad_t_per_m.shape[0] == 125  # 10 + 32 + 16 + 64 + 3 rasters
    gy = tabletop.block(2).gy
    assert gy is not None
    # block 3 starts at raster 42; its samples sit at the raster centres
    np.testing.assert_allclose(w.grad_t_per_m[42:58, 1], gy.waveform_hz_per_m / GAMMA, rtol=1e-12, atol=1e-15)


# --- the exact slew check ----------------------------------------------------------------------------


def test_exact_slew_on_the_fine_base(tabletop: Sequence) -> None:
    seq = tabletop
    r = Renderer(seq, Fraction(10**6), ("gx", "gy", "gz"))
    pwl = PwlGradientCheck.for_sequence(seq)
    pwl.add([(p.t, p.v, p.vertex_event) for p in (r._grad[c] for c in ("gx", "gy", "gz"))], 0, seq.duration_ticks)
    pwl.finish()
    gx = seq.block(1).gx
    assert isinstance(gx, TrapGradient) and gx.rise_ns == 160_000  # pypulseq wrote the rounded-up ramp in us
    want = gx.amplitude_hz_per_m / GAMMA / 160e-6
    assert pwl.slew[0] == pytest.approx(want, rel=1e-12)
    assert pwl.axis_name(pwl.slew[1]) == "gx"
    # the ramp starts with block 2, 10 rasters = 100.016276 us in: between nanoseconds, reported exactly
    assert pwl.slew[2] == 10 * seq.grad_raster_ticks
    assert pwl.time_s(pwl.slew[2]) == pytest.approx(100.016276e-6, rel=1e-15)
    assert pwl.amp[0] == pytest.approx(gx.amplitude_hz_per_m / GAMMA, rel=1e-15)
    # the extended trapezoid's ramp: 8 mT/m over 2 rasters, not over 20 us
    gz = seq.block(3).gz
    assert gz is not None
    check_z = PwlGradientCheck.for_sequence(seq)
    empty = (np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0, dtype=np.int64))
    pz = r._grad["gz"]
    check_z.add([empty, empty, (pz.t, pz.v, pz.vertex_event)], 0, seq.duration_ticks)
    check_z.finish()
    ramp_s = float(2 * RASTER_NS) * 1e-9
    assert check_z.slew[0] == pytest.approx(gz.amplitude_hz_per_m / GAMMA / ramp_s, rel=1e-12)


def test_pwl_check_refuses_fractional_ns_inputs(tabletop: Sequence) -> None:
    with pytest.raises(wavegen.errors.RangeError, match="not a whole number of ticks.*for_sequence"):
        PwlGradientCheck(tabletop.grad_raster_ns, tabletop.duration_ns)


# --- building and writing ----------------------------------------------------------------------------


def test_round_trip_writes_the_same_rasters(tabletop: Sequence, tmp_path: Path) -> None:
    out = tmp_path / "again.seq"
    wavegen.pulseq.write(tabletop, out)
    text = out.read_text()
    assert "GradientRasterTime 1.00016276e-05\n" in text
    assert "BlockDurationRaster 1.00016276e-05\n" in text
    assert "RadiofrequencyRasterTime 1e-06\n" in text
    again = _read(out)
    assert again == tabletop
    assert again.block_durations_ticks.tolist() == tabletop.block_durations_ticks.tolist()
    assert np.array_equal(again.render(1e6)["gy"], tabletop.render(1e6)["gy"])


def test_blocks_added_on_the_fine_base_round_up_to_the_block_raster(tabletop: Sequence) -> None:
    seq = tabletop._copy()
    seq.add_block(gx=TrapGradient(1e5, 20_000, 0, 20_000))  # 40 us of events
    assert seq.block_durations_ticks[-1] == 4 * seq.block_raster_ticks  # 40.0065 us
    with pytest.raises(RasterError, match=r"not a multiple of the block raster 10001.6276 ns"):
        seq.add_block(gx=TrapGradient(1e5, 20_000, 0, 20_000), duration_ns=50_000)
    seq.add_block(gx=TrapGradient(1e5, 20_000, 0, 20_000), duration_ns=5 * RASTER_NS)
    assert seq.block(-1).duration_ns == 5 * RASTER_NS


# --- what the file means by its decimal, and what is refused ----------------------------------------


def _tabletop_with(tmp_path: Path, raster: str, name: str = "t.seq") -> Path:
    text = _text_without_signature(TABLETOP).replace("1.00016276e-05", raster)
    p = tmp_path / name
    p.write_text(text)
    return p


def test_a_raster_printed_as_a_full_float_is_the_clock_fraction(tmp_path: Path) -> None:
    # a writer printing the double of 1229 / 122.88 MHz in full (repr, 17 digits)
    assert repr(1229 / 122.88e6) == "1.0001627604166666e-05"
    p = _tabletop_with(tmp_path, "1.0001627604166666e-05")
    seq = _read(p)
    assert seq.grad_raster_ns == Fraction(3840625, 384) == Fraction(1229 * 10**9, 122_880_000)
    assert seq.ticks_per_ns == 768  # 384, doubled: 3840625 is odd
    out = tmp_path / "back.seq"
    wavegen.pulseq.write(seq, out)
    assert re.search(r"\nGradientRasterTime 1\.000162760416666\de-05\n", out.read_text())
    assert _read(out) == seq


def test_snapping_rules() -> None:
    assert snap_raster_ns(Fraction("9.9999999999999995e-07") * 10**9) == 1000
    assert snap_raster_ns(Fraction("1.00016276e-05") * 10**9, 9) == RASTER_NS  # taken as written
    # 14 digits are a decimal someone chose, not a printed float: kept exactly
    x = Fraction("1.2345678912345e-05") * 10**9
    assert snap_raster_ns(x, 14) == x
    assert decimal_text(RASTER_NS / 10**9) == "1.00016276e-05"
    assert decimal_text(Fraction(1, 10**10)) == "1e-10"
    assert decimal_text(Fraction(3840625, 384 * 10**9)) is None
    assert ticks_per_ns_for(10000, 1000, 10000) == 1
    assert ticks_per_ns_for(Fraction(5, 2), 1000, 10000) == 4  # 5/2 ns: 5 ticks of 1/2 ns, odd -> 1/4 ns


def test_a_raster_finer_than_the_tick_base_is_refused_with_the_reason(tmp_path: Path) -> None:
    p = _tabletop_with(tmp_path, "1.2345678912345e-05")
    ln = [x.rstrip() for x in p.read_text().splitlines()].index("GradientRasterTime 1.2345678912345e-05") + 1
    with pytest.raises(
        SeqFormatError,
        match=rf"t\.seq:{ln}: the rasters \(gradient 12345.678912345 ns, .*\) need a time base of 1/\d+ ns to be "
        r"exact, finer than the 1/1000000 ns \(1 fs\)",
    ):
        _read(p)


def test_a_sequence_longer_than_the_fine_base_is_refused_with_the_reason(tmp_path: Path) -> None:
    text = _text_without_signature(TABLETOP).replace("\n5   3   0", "\n5   200000000   0")
    p = tmp_path / "long.seq"
    p.write_text(text)
    # 2e8 rasters of 10 us = 2000 s; 2**53 ticks of 1/5000 ns hold 30 min
    with pytest.raises(
        SeqFormatError,
        match=r"block 5: duration 200000000 x 10001.6276 ns is beyond the 2\*\*53 ticks of 1/5000 ns \(30 min\)",
    ):
        _read(p)


def test_time_shape_between_ticks_is_refused_with_the_reason(tmp_path: Path) -> None:
    # a time shape point a third of a raster in: not a whole tick of 1/5000 ns
    text = _text_without_signature(TABLETOP)
    i = text.index("shape_id 6")
    text = text[:i] + text[i:].replace("\n2\n", "\n0.333333333\n", 1)
    p = tmp_path / "third.seq"
    p.write_text(text)
    seq = _read(p)
    with pytest.raises(wavegen.errors.RangeError, match=r"time shape point 1 \(0.333333333 rasters\) is .* ticks of "
                       r"1/5000 ns, not a whole number"):
        seq.render(1e6, ("gz",))


def test_safety_check_of_the_file_uses_the_exact_ramps(tabletop: Sequence) -> None:
    """``wavegen.safety.check`` of the file: slew on the exact waveform, at the exact ramp start; the
    streamed RF kernels count ns, so such a sequence is checked from its rendered waveforms."""
    from wavegen.limits import SystemLimits
    from wavegen.safety import check

    rep = check(tabletop, SystemLimits(max_slew_t_per_m_per_s=1000.0, max_grad_t_per_m=0.1))
    by = {r.rule: r for r in rep.results}
    gx = tabletop.block(1).gx
    assert isinstance(gx, TrapGradient)
    slew = by["grad_slew"]
    assert slew.value == pytest.approx(gx.amplitude_hz_per_m / GAMMA / 160e-6, rel=1e-12)
    assert slew.verdict == "pass" and slew.channel == "gx"
    assert slew.time_s == pytest.approx(100.016276e-6, rel=1e-12)
    tight = check(tabletop, SystemLimits(max_slew_t_per_m_per_s=450.0, max_grad_t_per_m=0.1))
    assert {r.rule: r for r in tight.results}["grad_slew"].verdict == "fail"


def test_changing_the_time_base_under_existing_blocks_is_refused(tabletop: Sequence) -> None:
    seq = tabletop._copy()
    seq.grad_raster_ns = 10_000
    seq.block_raster_ns = 10_000
    with pytest.raises(RasterError, match="rasters changed after blocks were added.*1/1 ns instead of 1/5000 ns"):
        _ = seq.ticks_per_ns
    fresh = Sequence()
    fresh.grad_raster_ns = RASTER_NS  # before any block: fine
    fresh.block_raster_ns = RASTER_NS
    assert fresh.ticks_per_ns == 5000


@given(
    digits=st.integers(min_value=10**8, max_value=10**9 - 1),
    exp=st.integers(min_value=-10, max_value=-4),
)
@settings(max_examples=200, deadline=None)
def test_any_decimal_raster_is_read_exactly_and_written_back(digits: int, exp: int) -> None:
    """A raster printed with 9 significant digits (pypulseq's ``%.9g``) is read as that exact decimal (or
    the whole ns it is within float noise of), written back as text that reads to the same value, and
    either gets a tick base on which it and its centres are whole, or is refused as too fine."""
    from wavegen.sequence.seq_read import _raster_ns
    from wavegen.sequence.seq_sections import Src
    from wavegen.sequence.seq_write import _raster_text

    text = str(digits)
    tok = f"{text[0]}.{text[1:]}e{exp}"
    src = Src("r.seq", [])
    ns = Fraction(tok) * 10**9
    got = _raster_ns(src, 1, "GradientRasterTime", tok)
    near = round(ns)
    if near >= 1 and abs(ns - near) <= max(Fraction(1, 10**6), ns / 10**12):
        assert got == near
    else:
        assert got == ns
    assert _raster_ns(src, 1, "GradientRasterTime", _raster_text(got)) == got
    try:
        tpn = ticks_per_ns_for(got, 1000, got)
    except RasterError as e:
        assert "finer than the 1/1000000 ns" in str(e)
        assert Fraction(got).denominator > 10**6 // 2
        return
    ticks = Fraction(got) * tpn
    assert ticks.denominator == 1
    assert tpn == 1 or ticks.numerator % 2 == 0
