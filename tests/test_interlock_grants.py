"""Clearances bound to what is sent: grants per output (digest, rate, repetition), lifetime."""

from __future__ import annotations

import time

import numpy as np
import pytest

from wavegen.errors import RangeError, SafetyError
from wavegen.limits import SystemLimits
from wavegen.safety import ChannelCalibration, Grant, Waveforms, clear, clear_volts, override, require, samples_digest

LIM = SystemLimits()
DT = 10e-6


def _gentle() -> np.ndarray:
    g = np.zeros((200, 3))
    g[:, 0] = 0.01 * np.sin(np.linspace(0, np.pi, 200))
    return g


def _volts() -> np.ndarray:
    return np.concatenate([np.linspace(0, 1, 50), np.ones(100), np.linspace(1, 0, 50)])


def test_digest_sees_every_sample_dtype_and_shape() -> None:
    v = _volts()
    w = v.copy()
    w[137] += 1e-12
    assert samples_digest(v) != samples_digest(w)
    assert samples_digest(v) != samples_digest(v.astype(np.float32))
    assert samples_digest(v) != samples_digest(v.reshape(2, -1))
    assert samples_digest(v.astype(">f8")) == samples_digest(v)  # byte order is canonical


def test_grant_covers_exactly_its_samples_rate_and_output() -> None:
    v = _volts()
    c = clear(Waveforms(_gentle(), DT), LIM, grants=[Grant.for_samples("awg/1", v, 1e5)], periodic=False)
    require(c, output="awg/1", samples=v, sample_rate_hz=1e5)
    with pytest.raises(SafetyError, match="not what was cleared"):
        require(c, output="awg/1", samples=2 * v, sample_rate_hz=1e5)
    with pytest.raises(SafetyError, match="does not cover output 'awg/2'"):
        require(c, output="awg/2", samples=v, sample_rate_hz=1e5)
    with pytest.raises(SafetyError, match="sample rate") as e:
        require(c, output="awg/1", samples=v, sample_rate_hz=2e5)
    assert e.value.limit == 1e5 and e.value.unit == "Hz"
    with pytest.raises(SafetyError, match="sample rate"):
        require(c, output="awg/1", samples=v, sample_rate_hz=float("nan"))
    with pytest.raises(SafetyError, match="2 repeats requested, 1 cleared"):
        require(c, output="awg/1", samples=v, sample_rate_hz=1e5, repeats=2)
    with pytest.raises(SafetyError, match="looping until stopped"):
        require(c, output="awg/1", samples=v, sample_rate_hz=1e5, endless=True)
    with pytest.raises(SafetyError, match="without the output"):
        require(c, samples=v)


def test_repetition_needs_a_periodic_check() -> None:
    v = _volts()
    wf = Waveforms(_gentle(), DT)
    with pytest.raises(SafetyError, match="periodic=True"):
        clear(wf, LIM, grants=[Grant.for_samples("awg/1", v, 1e5, repeats=10)], periodic=False)
    c = clear(wf, LIM, grants=[Grant.for_samples("awg/1", v, 1e5, repeats=10)], periodic=True)
    require(c, output="awg/1", samples=v, sample_rate_hz=1e5, repeats=10)
    with pytest.raises(SafetyError, match="11 repeats"):
        require(c, output="awg/1", samples=v, sample_rate_hz=1e5, repeats=11)


def test_clearance_expires() -> None:
    v = _volts()
    c = clear(Waveforms(_gentle(), DT), LIM, grants=[Grant.for_samples("o", v, 1e5)], lifetime_s=0.05,
              periodic=False)
    require(c, output="o", samples=v, sample_rate_hz=1e5)
    time.sleep(0.1)
    assert not c.is_valid()
    with pytest.raises(SafetyError, match="expired"):
        require(c, output="o", samples=v, sample_rate_hz=1e5)
    with pytest.raises(RangeError, match="lifetime_s"):
        clear(Waveforms(_gentle(), DT), LIM, lifetime_s=float("inf"))


def test_grants_are_signed_and_frozen() -> None:
    v = _volts()
    c = clear(Waveforms(_gentle(), DT), LIM, grants=[Grant.for_samples("o", v, 1e5)], periodic=False)
    with pytest.raises(TypeError):
        c.grants["p"] = Grant.for_samples("p", v, 1e5)  # type: ignore[index]
    # swapping the grant table under the signature is detected
    object.__setattr__(c, "grants", {"o": Grant.for_samples("o", 3 * v, 1e5)})
    assert not c.is_valid()
    with pytest.raises(SafetyError, match="not valid"):
        require(c, output="o", samples=3 * v, sample_rate_hz=1e5)


def test_clear_volts_checks_through_the_calibration() -> None:
    v = _volts()
    cal = ChannelCalibration("gx", units_per_volt=0.01)  # 1 V = 10 mT/m
    c = clear_volts(v, output="awg/1", sample_rate_hz=1e5, calibration=cal, limits=LIM)
    require(c, output="awg/1", samples=v, sample_rate_hz=1e5)
    # 5 V = 50 mT/m > 40 mT/m: refused, nothing granted
    with pytest.raises(SafetyError) as e:
        clear_volts(5 * v, output="awg/1", sample_rate_hz=1e5, calibration=cal, limits=LIM)
    assert e.value.unit == "T/m" and e.value.channel == "gx"
    with pytest.raises(RangeError, match="finite"):
        clear_volts(np.array([0.0, np.nan]), output="o", sample_rate_hz=1e5, calibration=cal, limits=LIM)
    with pytest.raises(RangeError, match="calibration channel"):
        ChannelCalibration("gq", 1.0)


def test_override_grants_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    v = _volts()
    with caplog.at_level("WARNING", logger="wavegen.safety.interlock"):
        c = override(Waveforms(_gentle(), DT), reason="phantom", operator="ann",
                     grants=[Grant.for_samples("daq/ao0", v, 1e5, repeats=3)])
    assert "daq/ao0" in caplog.text
    require(c, output="daq/ao0", samples=v, sample_rate_hz=1e5, repeats=3)


def test_plan_grant_segments_and_order() -> None:
    a, b = np.zeros(10), np.ones(20)
    from wavegen.safety import Segment

    g = Grant("daq/ao0", 1e6, (Segment.of(a), Segment.of(b)), ((0, 1), (1, 8192), (0, 1)))
    assert g.n_samples == 10 + 8192 * 20 + 10
    assert g.max_repeats(samples_digest(b)) == 8192
    with pytest.raises(RangeError, match="segment 2"):
        Grant("daq/ao0", 1e6, (Segment.of(a),), ((2, 1),))


def test_playing_under_an_override_is_announced_once(caplog: pytest.LogCaptureFixture) -> None:
    v = _volts()
    c = override(Waveforms(_gentle(), DT), reason="phantom", operator="ann",
                 grants=[Grant.for_samples("a/1", v, 1e5), Grant.for_samples("a/2", v, 1e5)])
    with caplog.at_level("WARNING", logger="wavegen.safety.interlock"):
        for out in ("a/1", "a/2", "a/1"):
            require(c, output=out, samples=v, sample_rate_hz=1e5)
    assert sum("playing under an override" in r.getMessage() for r in caplog.records) == 1
