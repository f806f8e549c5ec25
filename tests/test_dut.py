"""The simulated device under test: its physics, asserted."""

from __future__ import annotations

import numpy as np
import pytest
from wavegen.drivers.mock.dut import DeviceUnderTest, EddyTerm, GradientChain, RfChain, default_dut

from wavegen.errors import RangeError

RATE = 1e6


def test_gradient_chain_dc_gain_bandwidth_and_delay():
    c = GradientChain(gain=0.98, delay_s=2e-6, bandwidth_hz=20e3, eddy=(), noise_rms_v=0.0)
    h = c.response(np.array([0.0, 20e3]))
    assert h[0] == pytest.approx(0.98)
    assert abs(h[1]) == pytest.approx(0.98 / np.sqrt(2), rel=1e-9)  # -3 dB at the Butterworth cut-off
    # a slow ramp comes out delayed by delay + the Butterworth group delay sqrt(2)/w0
    x = np.zeros(4000)
    x[100:2100] = np.linspace(0, 1, 2000)
    x[2100:] = 1.0
    y = c.apply(RATE, x)
    lag = 2e-6 + np.sqrt(2) / (2 * np.pi * 20e3)
    t = np.arange(4000) / RATE
    expected = 0.98 * np.interp(t - lag, t, x)
    assert np.max(np.abs(y[200:1900] - expected[200:1900])) < 1e-4


def test_eddy_currents_step_response():
    """A step loses sum(a_i) at first and recovers as 1 - a exp(-t/tau) (single term, no band limit)."""
    a, tau = 0.05, 200e-6
    c = GradientChain(delay_s=0.0, bandwidth_hz=50e3, eddy=(EddyTerm(a, tau),), noise_rms_v=0.0)
    x = np.zeros(8000)
    x[1000:] = 1.0
    y = c.apply(RATE, x)
    t = (np.arange(8000) - 1000) / RATE - np.sqrt(2) / (2 * np.pi * 50e3)  # minus the low-pass group delay
    sel = (t > 100e-6) & (t < 3e-3)
    assert np.allclose(y[sel], 1 - a * np.exp(-t[sel] / tau), atol=1.5e-4)
    assert y[1000 + 150] < 1 - 0.5 * a * np.exp(-0.75)  # the undershoot is there
    assert y[6000] == pytest.approx(1.0, abs=1e-4)


def test_noise_is_seeded_and_deterministic():
    x = np.sin(np.linspace(0, 20, 3000))
    a = default_dut(7).gradient("gx", RATE, x)
    b = default_dut(7).gradient("gx", RATE, x)
    c = default_dut(8).gradient("gx", RATE, x)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    noise = np.std(a - c) / np.sqrt(2)
    assert noise == pytest.approx(default_dut().gradients["gx"].noise_rms_v, rel=0.1)


def test_rf_compression_and_am_pm():
    rf = RfChain(gain=1.0, saturation_v=5.0, smoothness=2.0, am_pm_rad=0.05, am_pm_beta_per_v2=0.1,
                 delay_s=0.0, noise_rms_v=0.0)
    small, big = rf.am_am(np.array([0.01, 5.0]))
    assert small == pytest.approx(0.01, rel=1e-6)        # linear at small amplitude
    assert big == pytest.approx(5.0 / 2 ** 0.25)          # Rapp: 1/2^(1/2p) at saturation
    assert np.all(np.diff(rf.am_am(np.linspace(0, 10, 50))) > 0)
    assert rf.am_pm(np.array([3.0]))[0] == pytest.approx(0.05 * 9 / (1 + 0.9))
    i, q = rf.apply(RATE, np.full(100, 3.0), np.zeros(100))
    assert np.hypot(i, q)[50] == pytest.approx(rf.am_am(np.array([3.0]))[0], rel=1e-6)
    assert np.arctan2(q, i)[50] == pytest.approx(rf.am_pm(np.array([3.0]))[0], rel=1e-6)


def test_dut_validation():
    with pytest.raises(RangeError, match="bandwidth_hz"):
        GradientChain(bandwidth_hz=0.0)
    with pytest.raises(RangeError, match="eddy amplitude"):
        EddyTerm(0.7, 1e-3)
    with pytest.raises(RangeError, match="no gradient chain 'gq'"):
        DeviceUnderTest().gradient("gq", RATE, np.zeros(10))


def test_streaming_through_the_dut_matches_the_whole_record() -> None:
    """Fed in chunks (any sizes), the chains carry their memory: the same as one chunk, and close to the
    whole-record (non-causal, band-limited) response."""
    from dataclasses import replace

    from wavegen.drivers.mock.dut import default_dut

    d = default_dut(0)
    d.gradients = {k: replace(c, noise_rms_v=0.0) for k, c in d.gradients.items()}
    d.rf = replace(d.rf, noise_rms_v=0.0)
    n = 120_000
    t = np.arange(n) / 1e6
    x = np.where((t % 0.01) < 0.004, 1.0, 0.0) * np.clip(np.sin(2 * np.pi * 200 * t) * 3, -1, 1)
    whole = d.gradients["gx"].apply(1e6, x, None)
    outs = []
    for size in (7777, 50_000, n):
        s = d.stream(1e6)
        outs.append(np.concatenate([s.gradient("gx", x[k:k + size]) for k in range(0, n, size)]))
    np.testing.assert_allclose(outs[0], outs[2], atol=1e-12)
    np.testing.assert_allclose(outs[1], outs[2], atol=1e-12)
    # the stream samples the model by impulse invariance, the whole record band-limited: they differ by
    # the aliasing of the model's tail beyond Nyquist, ~0.1 % of the peak at these full-scale edges
    assert np.max(np.abs(outs[2] - whole)) < 2e-3 * np.max(np.abs(whole))
    env = np.where(t < 0.05, np.sin(np.pi * t / 0.05) ** 2, 0.0)  # a smooth RF pulse
    i = 0.5 * env * np.sin(2 * np.pi * 2e3 * t)
    q = 0.3 * env * np.cos(2 * np.pi * 2e3 * t)
    wi, wq = d.rf.apply(1e6, i, q, None)
    s = d.stream(1e6)
    parts = [s.rf_iq(i[k:k + 5000], q[k:k + 5000]) for k in range(0, n, 5000)]
    yi = np.concatenate([a for a, _ in parts])
    yq = np.concatenate([b for _, b in parts])
    assert np.max(np.abs(yi - wi)) < 2e-3 * np.max(np.abs(wi)) and np.max(np.abs(yq - wq)) < 2e-3 * np.max(np.abs(wi))


def test_streamed_gradient_chain_samples_the_continuous_impulse_response():
    """Impulse invariance: the streamed chain's response to a unit impulse is T h(nT - d), with h the
    continuous model's impulse response computed independently (scipy's LTI impulse, matrix exponential)."""
    from scipy import signal
    from wavegen.drivers.mock.dut import EddyTerm, GradientChain, IirStream

    c = GradientChain(gain=0.97, delay_s=1.7e-6, bandwidth_hz=25e3,
                      eddy=(EddyTerm(0.03, 1.2e-3), EddyTerm(0.015, 150e-6), EddyTerm(0.01, 20e-6)), noise_rms_v=0)
    rate = 1e6
    w0 = 2 * np.pi * c.bandwidth_hz
    # H(s) = gain B(s) (1 - sum_i a_i s tau_i / (1 + s tau_i)): impulse responses of the terms, summed
    bden = [1, np.sqrt(2) * w0, w0 * w0]
    terms = [signal.lti([c.gain * w0 * w0], bden)]
    for e in c.eddy:
        terms.append(signal.lti([-c.gain * w0 * w0 * e.amplitude * e.time_constant_s, 0],
                                np.polymul(bden, [e.time_constant_s, 1])))
    n = 3000
    x = np.zeros(n)
    x[0] = 1.0
    s = IirStream(c, rate)
    y = np.concatenate([s.process(x[k:k + 700]) for k in range(0, n, 700)])
    t = np.arange(n) / rate - c.delay_s
    want = np.zeros(n)
    for term in terms:
        want[t >= 0] += signal.impulse(term, T=t[t >= 0])[1] / rate
    assert np.max(np.abs(y - want)) < 1e-7 * np.max(np.abs(want))
    # the DC gain is the chain's: the step response settles at gain
    step = IirStream(c, rate).process(np.ones(40_000))
    assert step[-1] == pytest.approx(c.gain, rel=2e-3)


def test_stream_axes_together_equal_each_axis_alone() -> None:
    """DutStream.gradients runs the three chains side by side: the same bits (noise included, drawn in
    the same order) as one axis after the other, chunk after chunk."""
    x = {a: np.sin(np.linspace(0, 40, 9000) + k) for k, a in enumerate(("gx", "gy", "gz"))}
    together, alone = default_dut(7).stream(1e6), default_dut(7).stream(1e6)
    for a, b in ((0, 4000), (4000, 4001), (4001, 9000)):
        got = together.gradients({k: v[a:b] for k, v in x.items()})
        for k in x:
            assert np.array_equal(got[k], alone.gradient(k, x[k][a:b]))
