"""Sequence model: shapes and their compression, events, building blocks, integer time base."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wavegen.errors import NonFiniteError, RangeError, RasterError, SeqFormatError
from wavegen.sequence import (
    ADCEvent,
    ArbGradient,
    Delay,
    LabelSet,
    RFEvent,
    Rotation,
    Sequence,
    Shape,
    TrapGradient,
    Trigger,
    compress_shape,
    decompress_shape,
)

# --- shapes ---------------------------------------------------------------------------------------

SPEC_SHAPE = [0, 0.1, 0.25, 0.5, 1, 1, 1, 1, 1, 1, 1, 0.75, 0.5, 0.25, 0]
SPEC_TOKENS = [0, 0.1, 0.15, 0.25, 0.5, 0, 0, 4, -0.25, -0.25, 2]


def test_compression_reproduces_the_specification_example() -> None:
    tokens, compressed = compress_shape(np.array(SPEC_SHAPE))
    assert compressed
    assert [float(f"{t:.9g}") for t in tokens] == SPEC_TOKENS


def test_spec_examples_zeros_and_ones() -> None:
    t0, _ = compress_shape(np.zeros(100))
    assert [float(f"{t:.9g}") for t in t0] == [0, 0, 98]
    t1, _ = compress_shape(np.ones(100))
    assert [float(f"{t:.9g}") for t in t1] == [1, 0, 0, 97]
    np.testing.assert_allclose(decompress_shape(np.array([1, 0, 0, 97.0]), 100), np.ones(100), rtol=0, atol=1e-15)


def test_decompress_spec_example() -> None:
    out = decompress_shape(np.array(SPEC_TOKENS, dtype=float), 15)
    np.testing.assert_allclose(out, SPEC_SHAPE, rtol=0, atol=1e-15)


def test_incompressible_shape_is_stored_raw() -> None:
    x = np.array([0.3, 0.1, 0.7, 0.2])
    tokens, compressed = compress_shape(x)
    assert not compressed
    np.testing.assert_array_equal(tokens, x)
    # 1.4+: as many tokens as samples means uncompressed
    np.testing.assert_array_equal(decompress_shape(tokens, 4), x)


def test_decompress_errors_are_clear() -> None:
    with pytest.raises(SeqFormatError, match="decodes to 3 samples, 5 declared"):
        decompress_shape(np.array([1.0, 0.5, 0.25]), 5, force=True, where="f.seq:9")
    with pytest.raises(SeqFormatError, match="f.seq:9.*non-negative integer"):
        decompress_shape(np.array([1.0, 1.0, 0.5]), 5, where="f.seq:9")
    with pytest.raises(SeqFormatError, match="no repeat count"):
        decompress_shape(np.array([0.5, 1.0, 1.0]), 5, where="f.seq:9")
    with pytest.raises(SeqFormatError, match="more than the 4 samples"):
        decompress_shape(np.array([0.0, 0.0, 10.0]), 4, where="x")


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.one_of(st.floats(-1, 1, allow_nan=False), st.sampled_from([0.0, 0.5, 1.0, -0.25])),
        min_size=1,
        max_size=60,
    )
)
def test_compression_round_trip_within_quantum(samples: list[float]) -> None:
    x = np.array(samples)
    tokens, compressed = compress_shape(x)
    text = [float(f"{t:.9g}") if compressed else t for t in tokens]
    y = decompress_shape(np.array(text), x.size)
    assert y.size == x.size
    np.testing.assert_allclose(y, x, rtol=0, atol=1e-7)


def test_shape_value_semantics() -> None:
    a = Shape([0.0, 0.5, 1.0])
    b = Shape(np.array([0.0, 0.5, 1.0]))
    assert a == b and hash(a) == hash(b)
    assert Shape([-0.0, 1.0]) == Shape([0.0, 1.0])
    assert a != Shape([0.0, 0.5, 0.9])
    with pytest.raises(AttributeError):
        a.samples = np.zeros(3)
    assert not a.samples.flags.writeable
    with pytest.raises(NonFiniteError, match="sample 1"):
        Shape([0.0, float("nan")])
    with pytest.raises(Exception, match="at least one"):
        Shape([])


# --- events ---------------------------------------------------------------------------------------


def test_trapezoid_corners_and_area() -> None:
    g = TrapGradient(1000.0, 10_000, 20_000, 30_000, delay_ns=5_000)
    t, v = g.vertices(10_000)
    np.testing.assert_array_equal(t, [5_000, 15_000, 35_000, 65_000])
    np.testing.assert_array_equal(v, [0, 1000, 1000, 0])
    assert g.duration_ns() == 65_000
    assert math.isclose(g.area_hz_s_per_m(), 1000 * (20e-6 + 20e-6))


def test_arbitrary_gradient_vertices_follow_pulseq_timing() -> None:
    g = ArbGradient(2.0, Shape([0.5, 1.0, 0.5]), first_hz_per_m=0.0, last_hz_per_m=0.25, delay_ns=100)
    t, v = g.vertices(10_000)
    # first at 0, samples at raster centres, last at n * raster
    np.testing.assert_array_equal(t, [100, 5_100, 15_100, 25_100, 30_100])
    np.testing.assert_array_equal(v, [0.0, 1.0, 2.0, 1.0, 0.25])
    over = ArbGradient(1.0, Shape([1.0, 1.0, 1.0]), oversampled=True)
    t2, _ = over.vertices(10_000)
    np.testing.assert_array_equal(t2, [0, 5_000, 10_000, 15_000, 20_000])
    assert over.duration_ns(10_000) == 20_000
    with pytest.raises(RangeError, match="odd number"):
        ArbGradient(1.0, Shape([1.0, 1.0]), oversampled=True)


def test_event_validation() -> None:
    with pytest.raises(NonFiniteError, match="amplitude_hz_per_m"):
        TrapGradient(float("inf"), 0, 0, 0)
    with pytest.raises(RangeError, match="rise_ns"):
        TrapGradient(1.0, -10, 0, 0)
    with pytest.raises(RangeError, match="integer number of ns"):
        TrapGradient(1.0, 1.5, 0, 0)  # type: ignore[arg-type]
    with pytest.raises(RangeError, match="num_samples"):
        ADCEvent(0, 100)
    with pytest.raises(RangeError, match="use"):
        RFEvent(1.0, Shape([1.0]), Shape([0.0]), use="x")
    assert RFEvent(1.0, Shape([1.0]), Shape([0.0]), use="refocusing").use == "r"
    with pytest.raises(RangeError, match="norm"):
        Rotation(1.0, 1.0, 0.0, 0.0)
    # an RF time shape that restarts would crash the renderer (NumPy "repeats may not contain negative
    # values"): refused where the event is made, as a gradient's is
    ones = Shape([1.0, 1.0, 1.0])
    with pytest.raises(RangeError, match="RFEvent: time shape must be non-negative and non-decreasing"):
        RFEvent(1.0, ones, Shape([0.0, 0.0, 0.0]), time_shape=Shape([0.0, 2.0, 1.0]))
    with pytest.raises(RangeError, match="RFEvent: time shape"):
        RFEvent(1.0, ones, Shape([0.0, 0.0, 0.0]), time_shape=Shape([-1.0, 2.0, 3.0]))
    assert RFEvent(1.0, ones, Shape([0.0, 0.0, 0.0]), time_shape=Shape([0.0, 1.0, 1.0])).duration_ns(1000) == 1000


def test_shape_equality_compares_samples_not_only_the_digest() -> None:
    a = Shape(np.linspace(0.0, 1.0, 1000))
    assert a == Shape(np.linspace(0.0, 1.0, 1000)) and hash(a) == hash(Shape(np.linspace(0.0, 1.0, 1000)))
    b = np.linspace(0.0, 1.0, 1000)
    b[500] = np.nextafter(b[500], 2.0)
    assert a != Shape(b)


def test_rotation_matrix_is_orthonormal_and_right_handed() -> None:
    h = math.sqrt(0.5)
    r = Rotation(h, 0.0, 0.0, h).matrix()  # 90 degrees about z
    np.testing.assert_allclose(r @ [1, 0, 0], [0, 1, 0], atol=1e-15)
    np.testing.assert_allclose(r @ r.T, np.eye(3), atol=1e-15)
    assert math.isclose(np.linalg.det(r), 1.0)


# --- building -------------------------------------------------------------------------------------


def _rf(n: int = 100) -> RFEvent:
    return RFEvent(250.0, Shape(np.ones(n)), Shape(np.zeros(n)), center_us=n / 2, delay_ns=0, use="e")


def test_block_duration_integer_and_rounded_to_raster() -> None:
    seq = Sequence()
    seq.add_block(_rf(95))  # 95 us, rounded up to the 10 us block raster
    seq.add_block(Delay(1_000_000))
    seq.add_block(gx=TrapGradient(1e5, 10_000, 100_000, 10_000), adc=None)
    assert seq.block_durations_ns.tolist() == [100_000, 1_000_000, 120_000]
    assert seq.duration_ns == 1_220_000
    assert seq.duration_s == pytest.approx(1.22e-3, rel=0, abs=1e-18)
    np.testing.assert_array_equal(seq.block_starts_ns, [0, 100_000, 1_100_000])
    blocks = list(seq)
    assert len(blocks) == len(seq) == 3
    assert blocks[0].rf == _rf(95) and blocks[2].gx is not None and blocks[2].gy is None
    assert seq[-1] == blocks[2]


def test_a_million_blocks_of_10us_sum_exactly() -> None:
    seq = Sequence()
    seq._cols = [[10_000] * 1_000_000] + [[0] * 1_000_000 for _ in range(6)]
    seq._arrays = None
    assert seq.duration_ns == 10_000_000_000  # exactly 10 s: no float drift
    assert int(seq.block_starts_ns[-1]) == 9_999_990_000


def test_events_are_stored_once() -> None:
    seq = Sequence()
    g = TrapGradient(1e5, 10_000, 10_000, 10_000)
    for _ in range(5):
        seq.add_block(gx=g, gy=g)
    assert len(seq._grad.by_id) == 1
    assert seq[3].gx is seq[3].gy


def test_add_block_errors() -> None:
    seq = Sequence()
    with pytest.raises(RasterError, match="block raster"):
        seq.add_block(Delay(1000), duration_ns=15_000)
    with pytest.raises(RangeError, match="shorter than its events"):
        seq.add_block(_rf(100), duration_ns=50_000)
    with pytest.raises(RangeError, match="at most one RF"):
        seq.add_block(_rf(), _rf())
    with pytest.raises(RangeError, match="gx=, gy=, gz="):
        seq.add_block(TrapGradient(1.0, 10_000, 0, 10_000))
    with pytest.raises(RangeError, match="cannot use a str"):
        seq.add_block(gx="trap")
    seq.add_block(Trigger(1, 1, 0, 20_000), LabelSet("LIN", 3), duration_ns=20_000)
    assert seq[0].extensions == (Trigger(1, 1, 0, 20_000), LabelSet("LIN", 3))


def test_building_from_design_values() -> None:
    rfmod = pytest.importorskip("wavegen.design.rf")
    gmod = pytest.importorskip("wavegen.design.gradients")
    from wavegen.limits import SystemLimits

    lim = SystemLimits()
    pulse = rfmod.block_pulse(math.pi / 2, 1e-3, limits=lim, gamma_hz_per_t=42.576e6)
    trap = gmod.Trapezoid(0.01, 100e-6, 1e-3, 100e-6)
    ext = gmod.ExtendedTrapezoid(np.array([0, 100e-6, 200e-6]), np.array([0.0, 0.01, 0.005]))
    arb = gmod.ArbitraryGradient(np.array([0.001, 0.002, 0.003]), 10e-6, first_t_per_m=0.0, last_t_per_m=0.0035)
    seq = Sequence(lim)
    seq.add_block(pulse, gz=trap)
    seq.add_block(gx=ext)
    seq.add_block(gx=arb)
    b0, b1, b2 = seq
    # 90 deg hard pulse for 1 ms: 250 Hz (docs/references/design.md §3), stored in Hz with Pulseq's gamma
    assert b0.rf is not None and b0.rf.amplitude_hz == pytest.approx(250.0, rel=1e-12)
    assert b0.rf.use == "e" and len(b0.rf.magnitude) == 1000
    assert isinstance(b0.gz, TrapGradient) and b0.gz.rise_ns == 100_000 and b0.gz.flat_ns == 1_000_000
    assert b0.gz.amplitude_hz_per_m == pytest.approx(0.01 * 42.576e6, rel=1e-15)
    assert isinstance(b1.gx, ArbGradient) and b1.gx.time_shape is not None
    np.testing.assert_allclose(b1.gx.time_shape.samples, [0, 10, 20])
    assert b1.gx.last_hz_per_m == pytest.approx(0.005 * 42.576e6)
    assert isinstance(b2.gx, ArbGradient) and b2.gx.time_shape is None
    assert b2.duration_ns == 30_000
    out = seq.render(1e5, ("gz",))
    # flat top of the trapezoid in T/m exactly
    assert out["gz"][50] == pytest.approx(0.01, rel=1e-15)


def test_soft_delays_set_block_durations() -> None:
    from wavegen.sequence import SoftDelay

    seq = Sequence()
    seq.add_block(_rf(100))
    seq.add_block(SoftDelay(0, -100_000, 2.0, "TE"), duration_ns=1_000_000)
    seq.add_block(SoftDelay(1, 0, 1.0, "TR"), duration_ns=5_000_000)
    assert set(seq.soft_delays()) == {"TE", "TR"}
    new = seq.apply_soft_delays(TE=10e-3, TR=20e-3)
    # TE: 10 ms / 2 - 100 us = 4.9 ms; TR: 20 ms
    assert new.block_durations_ns.tolist() == [100_000, 4_900_000, 20_000_000]
    assert seq.block_durations_ns.tolist() == [100_000, 1_000_000, 5_000_000]  # the original is unchanged
    with pytest.raises(RangeError, match="no soft delay 'TI'.*TE, TR"):
        seq.apply_soft_delays(TI=1.0)
    with pytest.raises(RangeError, match="negative block duration"):
        seq.apply_soft_delays(TE=0.0)
