"""NiDaq.stream: any length, fed as it plays, verified segment by segment; underflow, disconnect, Ctrl-C."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wavegen.drivers.mock.fake_daq import FakeDaq, FakeDevice
from wavegen.drivers.nidaq import NiDaq, io_timeout_s

from wavegen.errors import InstrumentError, InstrumentTimeoutError, RangeError, SafetyError
from wavegen.limits import SystemLimits
from wavegen.safety.interlock import Grant, Segment, clear
from wavegen.safety.waveforms import Waveforms

RATE = 100e3


def _wf() -> Waveforms:
    g = np.zeros((100, 3))
    g[:, 0] = 0.005 * np.sin(np.linspace(0, np.pi, 100))
    return Waveforms(g, 10e-6)


def plan_clearance(
    segments: list[np.ndarray], order: list[tuple[int, int]], *, chans: tuple[int, ...] = (0, 1),
    rate: float = RATE, name: str = "nidaq:Dev1", lifetime_s: float = 600.0,
) -> Any:
    """A clearance whose grant for every channel is the plan (segments of shape (channels, n), order)."""
    grants = []
    for i, c in enumerate(chans):
        segs = tuple(
            Segment.of(s[i] if s.dtype == np.int16 else np.ascontiguousarray(s[i], dtype=np.float64))
            for s in segments
        )
        grants.append(Grant(f"{name}/ao{c}", rate, segs, tuple(order)))
    periodic = any(r > 1 for _, r in order) or len(order) > 1
    return clear(_wf(), SystemLimits(), grants=grants, periodic=periodic, lifetime_s=lifetime_s)


def played_sequence(segments: list[np.ndarray], order: list[tuple[int, int]]) -> np.ndarray:
    return np.concatenate([segments[i] for i, r in order for _ in range(r)], axis=1)


def rechunk(data: np.ndarray, sizes: list[int]) -> Iterator[np.ndarray]:
    k = 0
    i = 0
    while k < data.shape[1]:
        n = sizes[i % len(sizes)]
        yield data[:, k : k + n]
        k += n
        i += 1


def _segments(rng: np.random.Generator) -> list[np.ndarray]:
    return [rng.uniform(-2, 2, (2, n)) for n in (700, 333, 1250)]


ORDER = [(0, 2), (1, 3), (2, 1), (0, 1)]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sizes=st.lists(st.integers(1, 3000), min_size=1, max_size=6), buffer_s=st.sampled_from([0.005, 0.02, 1.0]))
def test_played_equals_the_fed_chunks_bit_for_bit(tmp_path: Path, sizes: list[int], buffer_s: float) -> None:
    rng = np.random.default_rng(len(sizes) * 7919 + sizes[0])
    segs = _segments(rng)
    c = plan_clearance(segs, ORDER)
    want = played_sequence(segs, ORDER)
    fake = FakeDaq(virtual_time=True)
    path = tmp_path / f"cap-{sizes[0]}-{len(sizes)}.npy"
    with fake.install(), NiDaq("Dev1") as daq:
        res = daq.stream([0, 1], rechunk(want, sizes), RATE, clearance=c, capture_channels=[0, 1],
                         capture_path=path, buffer_s=buffer_s)
    assert res.n_samples == want.shape[1] and res.segments_verified == 2 * 7
    rate, wave = fake.played[-1]
    assert rate == RATE
    assert np.array_equal(wave["Dev1/ao0"], want[0]) and np.array_equal(wave["Dev1/ao1"], want[1])
    assert np.array_equal(np.load(path, mmap_mode="r"), want)  # ai0/ai1 wired to ao0/ao1, sample for sample
    assert res.capture is not None and isinstance(res.capture, np.memmap)
    assert fake.outputs_v == {"Dev1/ao0": 0.0, "Dev1/ao1": 0.0}


def test_int16_capture_holds_the_adc_codes_and_their_scaling(tmp_path: Path) -> None:
    """An int16 capture is the ADC's codes (a quarter of the float64 traffic) with the board's device
    scaling; scaled back, each sample is within half a code of what the wired output played."""
    from wavegen.drivers.nidaq import capture_volts

    rng = np.random.default_rng(21)
    segs = _segments(rng)
    c = plan_clearance(segs, ORDER)
    want = played_sequence(segs, ORDER)
    fake = FakeDaq(virtual_time=True)
    path = tmp_path / "cap16.npy"
    with fake.install(), NiDaq("Dev1") as daq:
        res = daq.stream([0, 1], rechunk(want, [900]), RATE, clearance=c, capture_channels=[0, 1], capture_path=path,
                         capture_dtype="int16", buffer_s=0.004)
    codes = np.load(path, mmap_mode="r")
    assert codes.dtype == np.int16 and codes.shape == want.shape
    assert len(res.capture_scaling) == 2
    lsb = res.capture_scaling[0][1]
    assert lsb == pytest.approx(10.0 / 32768)
    for i in range(2):
        v = capture_volts(codes[i], res.capture_scaling[i])
        assert np.max(np.abs(v - want[i])) <= lsb / 2 + 1e-12
    with pytest.raises(RangeError, match="int16"):
        with fake.install(), NiDaq("Dev1") as daq:
            daq.stream([0, 1], rechunk(want, [900]), RATE, clearance=c, capture_dtype="uint8")


def test_capture_volts_is_the_scaling_polynomial() -> None:
    from wavegen.drivers.nidaq import capture_volts

    codes = np.array([-32768, -1, 0, 1, 32767], dtype=np.int16)
    x = codes.astype(float)
    np.testing.assert_allclose(capture_volts(codes, (0.01, 3e-4, 1e-9, -2e-14)),
                               0.01 + 3e-4 * x + 1e-9 * x**2 - 2e-14 * x**3, rtol=1e-15)
    np.testing.assert_array_equal(capture_volts(codes, (0.0, 0.5, 0.0, 0.0)), 0.5 * x)


def test_a_producer_reusing_its_buffer_cannot_change_what_plays() -> None:
    rng = np.random.default_rng(11)
    segs = _segments(rng)
    c = plan_clearance(segs, ORDER)
    want = played_sequence(segs, ORDER)

    def reusing() -> Iterator[np.ndarray]:
        buf = np.empty((2, 100))
        for k in range(0, want.shape[1], 100):
            part = want[:, k : k + 100]
            view = buf[:, : part.shape[1]]
            view[...] = part
            yield view
            buf[...] = 9.0  # overwritten as soon as the consumer has it (a render loop's scratch buffer)

    fake = FakeDaq(virtual_time=True)
    with fake.install(), NiDaq("Dev1") as daq:
        daq.stream([0, 1], reusing(), RATE, clearance=c, buffer_s=0.01)
    assert np.array_equal(fake.played[-1][1]["Dev1/ao1"], want[1])


def test_int16_codes_stream_unscaled() -> None:
    rng = np.random.default_rng(3)
    segs = [rng.integers(-30000, 30000, (1, 500)).astype(np.int16), rng.integers(-5, 5, (1, 64)).astype(np.int16)]
    order = [(0, 1), (1, 4), (0, 2)]
    c = plan_clearance(segs, order, chans=(2,))
    want = played_sequence(segs, order)
    fake = FakeDaq(virtual_time=True)
    with fake.install(), NiDaq("Dev1") as daq:
        res = daq.stream(2, rechunk(want, [97]), RATE, clearance=c, buffer_s=0.004)
    assert res.n_samples == want.shape[1] == 500 * 3 + 64 * 4
    assert np.array_equal(fake.played[-1][1]["Dev1/ao2"], want[0] * (10.0 / 32767))
    assert any("write_int16" in x or x.startswith("write(") for x in fake.calls)


def test_a_segment_outside_the_grant_plays_nothing() -> None:
    rng = np.random.default_rng(5)
    segs = _segments(rng)
    c = plan_clearance(segs, ORDER)
    feed = played_sequence(segs, ORDER).copy()
    bad_at = 2 * 700 + 333  # inside the second repeat of segment 1
    feed[1, bad_at + 10] += 1e-9
    fake = FakeDaq(virtual_time=True)
    with fake.install(), NiDaq("Dev1") as daq:
        with pytest.raises(SafetyError, match=r"nidaq:Dev1/ao1: the samples fed at 0.01733 s .* not segment 1") as e:
            daq.stream([0, 1], rechunk(feed, [400]), RATE, clearance=c, buffer_s=0.002)
    assert e.value.channel == "nidaq:Dev1/ao1"
    played = fake.played[-1][1]["Dev1/ao1"]
    assert played.size <= bad_at and np.array_equal(played, feed[1, : played.size])  # nothing of the altered one
    assert fake.outputs_v["Dev1/ao0"] == 0.0 and fake.outputs_v["Dev1/ao1"] == 0.0


def test_segment_pairs_play_kept_copies_and_are_made_once() -> None:
    """A feed of (segment index, make samples) pairs: each distinct segment is made and verified once,
    its repeats play from the adapter's verified copy; the output equals the one-shot play order."""
    rng = np.random.default_rng(12)
    segs = _segments(rng)
    c = plan_clearance(segs, ORDER)
    want = played_sequence(segs, ORDER)
    made: list[int] = []

    def make(i: int) -> Any:
        def block() -> np.ndarray:
            made.append(i)
            return segs[i]
        return block

    feed = ((i, make(i)) for i, r in ORDER for _ in range(r))
    fake = FakeDaq(virtual_time=True)
    with fake.install(), NiDaq("Dev1") as daq:
        res = daq.stream([0, 1], feed, RATE, clearance=c, buffer_s=0.002)
    assert sorted(made) == [0, 1, 2]  # 7 plays, 3 distinct segments: each made once
    assert res.segments_verified == 2 * 7
    wave = fake.played[-1][1]
    assert np.array_equal(wave["Dev1/ao0"], want[0]) and np.array_equal(wave["Dev1/ao1"], want[1])


def test_a_pair_naming_another_segment_than_the_order_plays_nothing() -> None:
    rng = np.random.default_rng(13)
    segs = _segments(rng)
    c = plan_clearance(segs, ORDER)
    # the order is 0 0 1 1 1 2 0; the feed says 0 0 1 1 2 ...: at the fifth play, segment 2 instead of 1
    wrong = [0, 0, 1, 1, 2, 2, 0]
    fake = FakeDaq(virtual_time=True)
    with fake.install(), NiDaq("Dev1") as daq:
        want = r"feed names segment 2 at 0.02066 s \(sample 2066\) .* cleared order plays segment 1"
        with pytest.raises(SafetyError, match=want):
            daq.stream([0, 1], ((i, segs[i]) for i in wrong), RATE, clearance=c, buffer_s=0.002)
    played = fake.played[-1][1]["Dev1/ao0"]
    assert played.size <= 2 * 700 + 2 * 333
    assert fake.outputs_v["Dev1/ao0"] == 0.0 and fake.outputs_v["Dev1/ao1"] == 0.0


def test_feed_past_the_order_or_short_of_it_is_refused() -> None:
    rng = np.random.default_rng(6)
    segs = _segments(rng)
    c = plan_clearance(segs, ORDER)
    want = played_sequence(segs, ORDER)
    fake = FakeDaq(virtual_time=True)
    with fake.install(), NiDaq("Dev1") as daq:
        longer = np.concatenate([want, segs[0]], axis=1)
        with pytest.raises(SafetyError, match="goes on after the cleared play order ended at sample 4349"):
            daq.stream([0, 1], rechunk(longer, [1000]), RATE, clearance=c)
        with pytest.raises(InstrumentError, match=r"the feed ended after 3649 of 4349 samples .* every output driven"):
            daq.stream([0, 1], rechunk(want[:, :-700], [1000]), RATE, clearance=c, buffer_s=0.01)
        assert fake.outputs_v["Dev1/ao0"] == 0.0
        with pytest.raises(InstrumentError, match="feed is empty"):
            daq.stream([0, 1], iter([]), RATE, clearance=c)


def test_stream_clearance_refusals_before_any_io() -> None:
    rng = np.random.default_rng(7)
    segs = _segments(rng)
    want = played_sequence(segs, ORDER)
    fake = FakeDaq(virtual_time=True)
    with fake.install(), NiDaq("Dev1") as daq:
        before = list(fake.calls)
        c = plan_clearance(segs, ORDER)
        with pytest.raises(SafetyError, match="does not cover output 'nidaq:Dev1/ao2'"):
            daq.stream([0, 2], rechunk(want, [500]), RATE, clearance=c)  # another channel
        with pytest.raises(SafetyError, match="sample rate 200000.0 Hz is not the cleared 100000.0 Hz"):
            daq.stream([0, 1], rechunk(want, [500]), 200e3, clearance=c)
        other = NiDaq("Dev1", name="daq2")
        with pytest.raises(SafetyError, match="does not cover output 'daq2/ao0'"):
            other.stream([0, 1], rechunk(want, [500]), RATE, clearance=c)  # another instrument
        uneven = clear(_wf(), SystemLimits(), periodic=True, grants=[
            Grant.for_samples("nidaq:Dev1/ao0", want[0], RATE),
            Grant.for_samples("nidaq:Dev1/ao1", want[1, :100], RATE),
        ])
        with pytest.raises(SafetyError, match="must play equally long"):
            daq.stream([0, 1], rechunk(want, [500]), RATE, clearance=uneven)
        short = plan_clearance(segs, ORDER, lifetime_s=0.05)
        time.sleep(0.06)
        with pytest.raises(SafetyError, match="expired"):
            daq.stream([0, 1], rechunk(want, [500]), RATE, clearance=short)
        assert fake.calls == before


def test_capture_over_the_aggregate_rate_is_refused_before_any_io() -> None:
    fake = FakeDaq(virtual_time=True)
    v = np.zeros((1, 100))
    c = plan_clearance([v], [(0, 1)], chans=(0,), rate=1e6, name="daq")
    with fake.install(), NiDaq("Dev1", name="daq") as daq:
        before = list(fake.calls)
        with pytest.raises(RangeError, match=r"daq \(PCIe-6363\): AI aggregate rate 2e\+06 S/s \(2 channels ai0, ai1 x "
                           r"1e\+06 S/s\) is above the board's multi-channel aggregate 1e\+06 S/s"):
            daq.stream(0, iter([v]), 1e6, clearance=c, capture_channels=[0, 1])
        with pytest.raises(RangeError, match="channel ai40 does not exist"):
            daq.stream(0, iter([v]), 1e6, clearance=c, capture_channels=[40])
        assert fake.calls == before
        daq.stream(0, iter([v]), 1e6, clearance=c, capture_channels=[0])  # one channel at 1 MS/s is fine


# --- faults: underflow, disconnect, Ctrl-C -----------------------------------------------------------


def _long(rate: float = RATE, seconds: float = 1.0) -> tuple[list[np.ndarray], list[tuple[int, int]]]:
    seg = np.vstack([np.linspace(0, 1, int(rate * 0.01)), np.linspace(1, 0, int(rate * 0.01))])
    return [seg], [(0, int(seconds / 0.01))]


def test_underflow_ends_at_zero_volts_with_the_time_reached() -> None:
    segs, order = _long()
    c = plan_clearance(segs, order)
    fake = FakeDaq(virtual_time=True)

    def feed() -> Iterator[np.ndarray]:
        for k in range(100):
            if k == 40:
                fake.advance(0.5)  # the producer stalls for 0.5 s: longer than the 0.1 s buffer
            yield segs[0]

    with fake.install(), NiDaq("Dev1") as daq:
        with pytest.raises(InstrumentError, match=r"output underflow.*ran dry at 0\.4 s of 1 s \(40000 of 100000 "
                           r"samples played\) \(DAQmx -200290\); every output driven to 0 V") as e:
            daq.stream([0, 1], feed(), RATE, clearance=c, buffer_s=0.1)
    daq_error = e.value.__cause__.__cause__  # the DAQmx error as nidaqmx raised it
    assert daq_error.error_code == -200290 and "prevent the regeneration of old samples" in str(daq_error)
    assert fake.played_samples[-1] == 40000  # the 40 chunks fed before the stall all played
    assert fake.outputs_v == {"Dev1/ao0": 0.0, "Dev1/ao1": 0.0}


def test_onboard_fifo_underflow_is_an_underflow_too() -> None:
    segs, order = _long()
    c = plan_clearance(segs, order)
    fake = FakeDaq(virtual_time=True, underflow="OUTPUT_FIFO_UNDERFLOW_2")

    def feed() -> Iterator[np.ndarray]:
        for k in range(100):
            if k == 70:
                fake.advance(0.2)
            yield segs[0]

    with fake.install(), NiDaq("Dev1") as daq:
        with pytest.raises(InstrumentError, match=r"output underflow.*ran dry at 0\.7 s of 1 s .*\(DAQmx -200621\)"):
            daq.stream([0, 1], feed(), RATE, clearance=c, buffer_s=0.1)
    assert fake.outputs_v == {"Dev1/ao0": 0.0, "Dev1/ao1": 0.0}


def test_underflow_in_wall_clock_time() -> None:
    segs, order = _long(seconds=0.4)
    c = plan_clearance(segs, order)
    fake = FakeDaq()  # wall-clock time

    def feed() -> Iterator[np.ndarray]:
        for k in range(40):
            if k == 10:
                time.sleep(0.25)
            yield segs[0]

    with fake.install(), NiDaq("Dev1") as daq:
        with pytest.raises(InstrumentError, match="output underflow"):
            daq.stream([0, 1], feed(), RATE, clearance=c, buffer_s=0.04)
    assert fake.outputs_v == {"Dev1/ao0": 0.0, "Dev1/ao1": 0.0}


def test_wall_clock_pacing_takes_the_real_duration() -> None:
    segs, order = _long(seconds=0.3)
    c = plan_clearance(segs, order)
    fake = FakeDaq()
    with fake.install(), NiDaq("Dev1") as daq:
        t0 = time.monotonic()
        # the whole 0.3 s fits the buffer, so a loaded CI machine cannot make it underflow
        res = daq.stream([0, 1], iter([segs[0]] * 30), RATE, clearance=c, buffer_s=1.0)
        took = time.monotonic() - t0
    assert res.duration_s == pytest.approx(0.3) and 0.29 <= took < 3.0


@pytest.mark.parametrize("permanent", [False, True])
def test_disconnect_mid_stream(permanent: bool) -> None:
    segs, order = _long()
    c = plan_clearance(segs, order)
    fake = FakeDaq(virtual_time=True)

    def feed() -> Iterator[np.ndarray]:
        for k in range(100):
            if k == 50:
                fake.disconnect("Dev1", permanent=permanent)
            yield segs[0]

    with fake.install(), NiDaq("Dev1") as daq:
        msg = r"-201003 \(DEV_CANNOT_BE_ACCESSED\).*stream at 0\.\d+ s of 1 s"
        with pytest.raises(InstrumentError, match=msg) as e:
            daq.stream([0, 1], feed(), RATE, clearance=c, buffer_s=0.1)
    if permanent:
        assert "could NOT be confirmed at 0 V" in str(e.value)
    else:
        assert "every output driven to 0 V" in str(e.value)
        assert fake.outputs_v == {"Dev1/ao0": 0.0, "Dev1/ao1": 0.0}


def test_ctrl_c_in_the_feed_ends_at_zero_volts() -> None:
    segs, order = _long()
    c = plan_clearance(segs, order)
    fake = FakeDaq(virtual_time=True)

    def feed() -> Iterator[np.ndarray]:
        for k in range(100):
            if k == 60:
                raise KeyboardInterrupt
            yield segs[0]

    with fake.install(), NiDaq("Dev1") as daq:
        msg = r"interrupted \(Ctrl-C\) at 0\.\d+ s of 1 s .*every output driven to 0 V"
        with pytest.raises(InstrumentError, match=msg):
            daq.stream([0, 1], feed(), RATE, clearance=c, buffer_s=0.1)
    assert fake.outputs_v == {"Dev1/ao0": 0.0, "Dev1/ao1": 0.0}
    assert 0 < fake.played_samples[-1] < 100_000


def test_a_ten_minute_protocol_streams_in_virtual_time(tmp_path: Path) -> None:
    rate = 10e3
    seg = np.vstack([np.sin(np.linspace(0, 2 * np.pi, 10_000, endpoint=False))])  # 1 s
    c = plan_clearance([seg], [(0, 600)], chans=(0,), rate=rate)
    fake = FakeDaq(virtual_time=True, record=False)
    t0 = time.monotonic()
    with fake.install(), NiDaq("Dev1") as daq:
        res = daq.stream(0, (seg for _ in range(600)), rate, clearance=c, capture_channels=[0],
                         capture_path=tmp_path / "ten.npy")
    took = time.monotonic() - t0
    assert res.duration_s == 600.0 and fake.played_samples[-1] == 6_000_000
    assert fake.now() >= 600.0 and took < 30.0
    cap = np.load(tmp_path / "ten.npy", mmap_mode="r")
    assert cap.shape == (1, 6_000_000) and np.array_equal(cap[0, -10_000:], seg[0])
    assert np.array_equal(cap[0, 3_000_000:3_010_000], seg[0])


# --- timeouts from the duration (issue 14 item 6) ---------------------------------------------------


def test_wait_and_read_timeouts_scale_with_the_duration() -> None:
    assert io_timeout_s(600.0) > 600.0 and io_timeout_s(0.0) == 2.0
    rate = 1e3
    v = np.zeros((1, 30_000))  # 30 s
    c = plan_clearance([v], [(0, 1)], chans=(0,), rate=rate)
    fake = FakeDaq(virtual_time=True)
    with fake.install(), NiDaq("Dev1") as daq:
        daq.load(0, v, rate, clearance=c)
        daq.configure_capture(0, 30_000)
        daq.start(clearance=c)
        got = daq.read()  # 30 s of capture: no fixed 10 s timeout
        daq.wait()
        assert got.shape == (1, 30_000) and fake.now() >= 30.0 - 1e-6
        daq.load(0, v, rate, clearance=c)
        daq.start(clearance=c)
        with pytest.raises(InstrumentTimeoutError, match="-200560"):
            daq.wait(timeout_s=10.0)  # an explicit short timeout still applies
        assert fake.outputs_v["Dev1/ao0"] == 0.0


def test_wall_clock_wait_really_waits() -> None:
    v = np.zeros((1, 20_000))  # 0.2 s at 100 kS/s
    c = plan_clearance([v], [(0, 1)], chans=(0,))
    fake = FakeDaq()
    with fake.install(), NiDaq("Dev1") as daq:
        daq.load(0, v, RATE, clearance=c)
        daq.start(clearance=c)
        t0 = time.monotonic()
        daq.wait()
        assert time.monotonic() - t0 >= 0.19


# --- task names, duplicate names, two boards -------------------------------------------------------


def test_two_boards_in_one_bench_do_not_clash() -> None:
    import nidaqmx
    from nidaqmx.error_codes import DAQmxErrors
    from nidaqmx.errors import DaqError

    fake = FakeDaq([FakeDevice("Dev1"), FakeDevice("Dev2")], virtual_time=True)
    v = np.linspace(0, 1, 100)
    with fake.install():
        with nidaqmx.Task("same") as _t:
            with pytest.raises(DaqError) as e:
                nidaqmx.Task("same")
            assert e.value.error_type == DAQmxErrors.DUPLICATE_TASK and e.value.error_code == -200089
        a, b = NiDaq("Dev1", name="daq_a"), NiDaq("Dev2", name="daq_b")
        ca = plan_clearance([v[None, :]], [(0, 1)], chans=(0,), name="daq_a")
        cb = plan_clearance([v[None, :]], [(0, 1)], chans=(0,), name="daq_b")
        a.load(0, v, RATE, clearance=ca)
        b.load(0, v, RATE, clearance=cb)  # both AO tasks exist at once
        a.configure_capture(0, 100)
        b.configure_capture(0, 100)
        with pytest.raises(SafetyError, match="does not cover output 'daq_b/ao0'"):
            b.start(clearance=ca)
        a.start(clearance=ca)
        b.start(clearance=cb)
        assert np.array_equal(a.read()[0], v) and np.array_equal(b.read()[0], v)
        a.close()
        b.close()
    names = {x for x in fake.calls if x.startswith("create_task(")}
    assert len([x for x in names if "-ao'" in x]) == 2


# --- the clearance at load / start (issue 12 item 1) ------------------------------------------------


def test_load_and_start_refuse_anything_not_granted() -> None:
    a = np.linspace(0, 1, 200)
    b = a.copy()
    b[100] += 1e-6
    fake = FakeDaq(virtual_time=True)
    with fake.install(), NiDaq("Dev1") as daq:
        c = plan_clearance([a[None, :]], [(0, 1)], chans=(0,))
        before = list(fake.calls)
        with pytest.raises(SafetyError, match="not what was cleared"):
            daq.load(0, b, RATE, clearance=c)  # B with A's clearance
        with pytest.raises(SafetyError, match="does not cover output 'nidaq:Dev1/ao1'"):
            daq.load(1, a, RATE, clearance=c)  # A on another channel
        with pytest.raises(SafetyError, match="sample rate"):
            daq.load(0, a, 50e3, clearance=c)  # at another rate
        with pytest.raises(SafetyError, match="looping until stopped was not cleared"):
            daq.load(0, a, RATE, clearance=c, mode="regenerate")
        with pytest.raises(SafetyError, match="not what was cleared"):
            daq.load_codes(0, (a * 1000).astype(np.int16), RATE, clearance=c)  # codes are not the volts
        short = plan_clearance([a[None, :]], [(0, 1)], chans=(0,), lifetime_s=0.05)
        time.sleep(0.06)
        with pytest.raises(SafetyError, match="expired"):
            daq.load(0, a, RATE, clearance=short)
        assert fake.calls == before  # nothing reached the board
        daq.load(0, a, RATE, clearance=c)
        other = plan_clearance([b[None, :]], [(0, 1)], chans=(0,))
        with pytest.raises(SafetyError, match="not what was cleared"):
            daq.start(clearance=other)  # start checks the clearance covers what is loaded
        assert not any(x.startswith("start_task") and "-ao" in x for x in fake.calls)
        daq.start(clearance=c)
        daq.wait()
    assert np.array_equal(fake.played[-1][1]["Dev1/ao0"], a)


def test_regenerate_needs_an_endless_grant() -> None:
    pattern = np.array([0.0, 1.0, 0.5, -0.5])
    looped = clear(_wf(), SystemLimits(), periodic=True,
                   grants=[Grant.for_samples("nidaq:Dev1/ao0", pattern, RATE, endless=True)])
    fake = FakeDaq(virtual_time=True)
    with fake.install(), NiDaq("Dev1") as daq:
        daq.load(0, pattern, RATE, clearance=looped, mode="regenerate")
        daq.start(clearance=looped)
        with pytest.raises(InstrumentError, match="plays until stop"):
            daq.wait()
        daq.stop()
        assert fake.outputs_v["Dev1/ao0"] == 0.0


def test_triggered_stream_waits_for_its_edge() -> None:
    segs, order = _long(seconds=0.2)
    c = plan_clearance(segs, order)
    fake = FakeDaq()
    timer = threading.Timer(0.15, fake.fire, args=("/Dev1/PFI0",))
    with fake.install(), NiDaq("Dev1") as daq:
        timer.start()
        t0 = time.monotonic()
        res = daq.stream([0, 1], iter([segs[0]] * 20), RATE, clearance=c, buffer_s=1.0, start_trigger="/Dev1/PFI0")
        took = time.monotonic() - t0
    timer.join()
    assert res.n_samples == 20_000 and took >= 0.34
    assert np.array_equal(fake.played[-1][1]["Dev1/ao0"], np.tile(segs[0][0], 20))
    fake2 = FakeDaq(virtual_time=True)  # no edge ever comes: the first write past the buffer times out
    with fake2.install(), NiDaq("Dev1") as daq:
        with pytest.raises(InstrumentTimeoutError, match=r"-200292.*stream at 0 s of 0\.2 s"):
            daq.stream([0, 1], iter([segs[0]] * 20), RATE, clearance=c, buffer_s=0.02,
                       start_trigger="/Dev1/PFI0", trigger_timeout_s=0.1)
        assert fake2.outputs_v["Dev1/ao0"] == 0.0


def test_real_daq_stream(daq_device: str, tmp_path: Path) -> None:  # pragma: no cover - opt-in, NI hardware
    # opt-in: pytest --daq-device Dev1 tests/test_daq_stream.py (ao0 wired to ai0); checks on a real board
    # what docs/instruments/nidaq.md lists as unverified: FINITE timing with a smaller streaming buffer
    rate = 100e3
    seg = 0.5 * np.sin(np.linspace(0, 2 * np.pi, 1000, endpoint=False))[None, :]
    c = plan_clearance([seg], [(0, 500)], chans=(0,), rate=rate, name=f"nidaq:{daq_device}")
    with NiDaq(daq_device) as daq:
        res = daq.stream(0, (seg for _ in range(500)), rate, clearance=c, capture_channels=[0],
                         capture_path=tmp_path / "real.npy", buffer_s=0.2)
    assert res.capture is not None and np.max(np.abs(res.capture[0, -1000:] - seg[0])) < 0.01
