"""The plots a pulse designer expects (wavegen.report.figures): what each figure holds, that a long sequence
plots only what is visible, and that the plotted values are the rendered ones."""

from __future__ import annotations

import math
import subprocess
import sys
from fractions import Fraction

import matplotlib.pyplot as plt
import numpy as np
import pytest

from wavegen import design, safety
from wavegen.cli.demo import demo_sequence
from wavegen.errors import RangeError
from wavegen.limits import SystemLimits
from wavegen.report import figures
from wavegen.sequence import ADCEvent, Sequence, recipes

LIMITS = SystemLimits.from_units(max_grad="40 mT/m", max_slew="150 T/m/s", max_b1="20 uT")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def spiral() -> Sequence:
    return demo_sequence(LIMITS).seq


@pytest.fixture(scope="module")
def long_gre() -> Sequence:
    seq = recipes.design_gre(SystemLimits(), fov_m=0.256, matrix=64, tr_s=1.25).seq
    assert abs(seq.duration_s - 80.0) < 1e-6
    return seq


def _points(fig) -> int:
    n = 0
    for a in fig.axes:
        n += sum(len(line.get_xdata()) for line in a.lines)
        for c in a.collections:
            n += sum(len(p.vertices) for p in c.get_paths())
    return n


def test_sequence_plot_has_every_row_in_human_units(spiral: Sequence) -> None:
    fig = spiral.plot()
    labels = [a.get_ylabel() for a in fig.axes]
    assert labels == ["ADC", "|B1| (uT)", "phase (rad)", "gx (mT/m)", "gy (mT/m)", "gz (mT/m)"]
    assert fig.axes[-1].get_xlabel() == "time (ms)"
    assert fig.wavegen_info["blocks"] == (0, len(spiral))
    # the slice-select lobe: the gz line peaks at the designed amplitude (mT/m)
    gz = spiral.render(Fraction(200_000), ("gz",))["gz"]
    line = fig.axes[5].lines[0]
    assert max(abs(np.asarray(line.get_ydata()))) == pytest.approx(np.max(np.abs(gz)) * 1e3, rel=1e-12)


def test_sequence_plot_values_equal_render_at_their_times(spiral: Sequence) -> None:
    fig = spiral.plot(window=("3 ms", "4 ms"))
    assert fig.wavegen_info["enveloped"]["gx"] is False
    line = fig.axes[3].lines[0]  # gx: raw samples at twice the gradient raster rate
    x_ms, y = np.asarray(line.get_xdata()), np.asarray(line.get_ydata())
    assert x_ms[0] == pytest.approx(3.0) and x_ms[-1] < 4.0 and y.size == 200
    for i in (0, 37, 121, 199):
        t = Fraction(3, 1000) + Fraction(i, 200_000)
        want = spiral.render(Fraction(200_000), ("gx",), t0_s=t, n_samples=1)["gx"][0]
        assert x_ms[i] == pytest.approx(float(t) * 1e3, abs=1e-9)
        assert y[i] == pytest.approx(want * 1e3, rel=1e-12, abs=1e-15)
    rf = fig.axes[1]  # the RF row: |B1| at its raster; 0 after the pulse
    assert np.max(np.asarray(rf.collections[0].get_paths()[0].vertices[:, 1]) if rf.collections
                  else np.asarray(rf.lines[0].get_ydata())) == pytest.approx(0.0, abs=1e-12)


def test_windowed_plot_of_an_80_s_sequence_renders_only_the_visible_blocks(long_gre: Sequence, monkeypatch) -> None:
    rendered: list[int] = []
    real = Sequence.render_chunks

    def spy(self, *args, **kwargs):
        rendered.append(len(self))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Sequence, "render_chunks", spy)
    starts = long_gre.block_starts_ns
    b = 130  # a window inside block 130 and the next
    t0 = int(starts[b]) * 1e-9 + 1e-4
    t1 = int(starts[b + 1]) * 1e-9 + 1e-4
    fig = long_gre.plot(window=(t0, t1))
    assert fig.wavegen_info["blocks"] == (b, b + 2)
    assert rendered and max(rendered) == 2  # two blocks of 256 rendered, never the whole sequence
    assert _points(fig) < 6 * 2 * figures.MAX_COLUMNS + 100
    # values at a few times equal the full sequence's render
    line = fig.axes[3].lines[0] if fig.axes[3].lines else None
    if line is not None and not fig.wavegen_info["enveloped"]["gx"]:
        x_ms, y = np.asarray(line.get_xdata()), np.asarray(line.get_ydata())
        for i in (0, len(x_ms) // 3, len(x_ms) - 1):
            t = Fraction(repr(float(x_ms[i]) / 1e3))
            want = long_gre.render(Fraction(200_000), ("gx",), t0_s=t, n_samples=1)["gx"][0]
            assert y[i] == pytest.approx(want * 1e3, rel=1e-9, abs=1e-12)


def test_whole_80_s_sequence_is_an_envelope_with_bounded_points(long_gre: Sequence) -> None:
    fig = long_gre.plot(channels=("rf", "gx", "gy", "gz"))
    assert all(fig.wavegen_info["enveloped"].values())
    assert max(fig.wavegen_info["rate_hz"].values()) <= figures.MAX_RENDER_SAMPLES / 80.0 + 1
    assert _points(fig) < 4 * 2 * (2 * figures.MAX_COLUMNS + 4)
    assert fig.axes[-1].get_xlabel() == "time (s)"
    # the envelope keeps the extremes: the largest phase-encode lobe is seen (long flat tops)
    env = fig.axes[2].collections[0].get_paths()[0].vertices[:, 1]
    gy = np.max(np.abs(long_gre.render(Fraction(100_000), ("gy",), n_samples=400_000)["gy"])) * 1e3
    assert np.max(np.abs(env)) == pytest.approx(gy, rel=1e-6)


def test_plot_refuses_a_bad_window_and_unknown_rows(spiral: Sequence) -> None:
    with pytest.raises(RangeError, match="window"):
        spiral.plot(window=(1.0, 2.0))
    with pytest.raises(RangeError, match="unknown channel"):
        spiral.plot(channels=("gw",))
    with pytest.raises(RangeError, match="3 axes for 6 rows|ax has"):
        _, axs = plt.subplots(3)
        spiral.plot(ax=axs)


def test_plot_into_given_axes(spiral: Sequence) -> None:
    fig, axs = plt.subplots(2, 1)
    out = spiral.plot(ax=axs, channels=("gx", "gz"), window=(0.0, 0.002))
    assert out is fig and axs[0].get_ylabel() == "gx (mT/m)" and axs[1].lines


def test_kspace_of_a_prephaser_is_gamma_times_its_area() -> None:
    lim = SystemLimits()
    seq = Sequence(lim)
    rf = design.block_pulse(math.radians(10), 0.5e-3, limits=lim)
    seq.add_block(rf)
    g = design.shortest_trapezoid(lim, area_per_m=40.0)
    seq.add_block(gx=g)
    seq.add_block(ADCEvent(num_samples=16, dwell_ns=10_000))
    seq.add_block(rf)  # a second excitation resets k
    seq.add_block(ADCEvent(num_samples=4, dwell_ns=10_000))
    k = figures.kspace(seq)
    assert k.k_adc_per_m.shape == (20, 3)
    want = g.area_t_s_per_m * seq.gamma_hz_per_t  # the sequence's gamma (Pulseq's), ~40 /m
    assert want == pytest.approx(40.0, rel=1e-4)
    np.testing.assert_allclose(k.k_adc_per_m[:16, 0], want, rtol=1e-9)
    np.testing.assert_allclose(k.k_adc_per_m[16:], 0.0, atol=1e-9)


def test_kspace_refocusing_negates_k() -> None:
    lim = SystemLimits()
    seq = Sequence(lim)
    seq.add_block(design.block_pulse(math.radians(90), 1e-3, limits=lim, use="excitation"))
    g = design.shortest_trapezoid(lim, area_per_m=25.0)
    seq.add_block(gx=g)
    seq.add_block(design.block_pulse(math.radians(180), 1e-3, limits=lim, use="refocusing"))
    seq.add_block(ADCEvent(num_samples=3, dwell_ns=10_000))
    k = figures.kspace(seq)
    np.testing.assert_allclose(k.k_adc_per_m[:, 0], -g.area_t_s_per_m * seq.gamma_hz_per_t, rtol=1e-9)


def test_kspace_plot_marks_every_adc_sample_of_the_spiral(spiral: Sequence) -> None:
    fig = spiral.plot_kspace()
    a = fig.axes[0]
    assert a.get_xlabel() == "kx (1/m)" and a.get_ylabel() == "ky (1/m)"
    pts = a.collections[0].get_offsets()
    assert len(pts) == 539
    # the spiral reaches k_max = matrix / (2 FOV) = 32 / 0.512 m = 62.5 /m
    assert np.max(np.hypot(pts[:, 0], pts[:, 1])) == pytest.approx(62.5, rel=0.02)


def test_rf_pulse_plot_shows_magnitude_phase_and_its_bloch_profile() -> None:
    pulse = design.sinc_pulse(math.radians(90), 2e-3, 4.0, limits=LIMITS)
    fig = pulse.plot(n_points=101)
    mag, phase, prof = fig.axes
    assert mag.get_ylabel() == "|B1| (uT)" and phase.get_ylabel() == "phase (rad)"
    assert prof.get_xlabel() == "off-resonance (kHz)"
    assert max(mag.lines[0].get_ydata()) == pytest.approx(pulse.peak_b1_t * 1e6)
    mxy = np.asarray(prof.lines[0].get_ydata())
    f = np.asarray(prof.lines[0].get_xdata())
    assert f[50] == pytest.approx(0.0) and mxy[50] == pytest.approx(1.0, abs=1e-3)  # 90 deg on resonance
    assert mxy[0] < 0.02  # out of band: untouched
    inv = design.sinc_pulse(math.radians(180), 4e-3, 4.0, limits=LIMITS, use="inversion")
    fig2 = inv.plot(n_points=51)
    assert [ln.get_label() for ln in fig2.axes[2].lines][0] == "Mz"
    assert fig2.axes[2].lines[0].get_ydata()[25] == pytest.approx(-1.0, abs=1e-3)


def test_gradient_event_plot_amplitude_slew_and_limits() -> None:
    g = design.shortest_trapezoid(LIMITS, area_per_m=200.0)
    fig = figures.plot_gradient(g, LIMITS)
    amp, slew = fig.axes
    assert amp.get_ylabel() == "amplitude (mT/m)" and slew.get_ylabel() == "slew (T/m/s)"
    assert slew.get_xlabel() == "time (ms)"
    assert max(amp.lines[0].get_ydata()) == pytest.approx(g.amplitude_t_per_m * 1e3)
    assert max(slew.lines[0].get_ydata()) == pytest.approx(g.amplitude_t_per_m / g.rise_time_s)
    labels = [ln.get_label() for a in fig.axes for ln in a.lines]
    assert "limit 40 mT/m" in labels and "limit 150 T/m/s" in labels
    # a sequence event (Hz/m) plots in T/m too
    seq = Sequence(LIMITS)
    seq.add_block(gx=g)
    fig2 = figures.plot_gradient(seq.block(0).gx, raster_ns=seq.grad_raster_ns)
    assert max(fig2.axes[0].lines[0].get_ydata()) == pytest.approx(g.amplitude_t_per_m * 1e3, rel=1e-12)


def test_safety_plot_shows_slew_and_amplitude_per_axis_with_labelled_limits(spiral: Sequence) -> None:
    report = safety.check(spiral, LIMITS)
    fig = report.plot()
    ylabels = [a.get_ylabel() for a in fig.axes]
    assert ylabels == ["gradient (mT/m)", "slew (T/m/s)", "PNS (% of threshold)", "|B1| (uT)"]
    assert fig.axes[-1].get_xlabel() == "time (ms)"
    for a in fig.axes[:2]:
        legend = [t.get_text() for t in a.get_legend().get_texts()]
        assert {"gx", "gy", "gz"} <= set(legend)
    limits = [t.get_text() for a in fig.axes for t in a.get_legend().get_texts() if t.get_text().startswith("limit")]
    assert limits == ["limit 40 mT/m", "limit 150 T/m/s", "limit 80 %", "limit 20 uT"]
    # the slew row is the sampled slew of the checked gradient: its peak is the rule's worst value
    slew_lines = [ln for ln in fig.axes[1].lines if ln.get_label() in ("gx", "gy", "gz")]
    peak = max(np.max(np.abs(ln.get_ydata())) for ln in slew_lines)
    assert peak == pytest.approx(report["grad_slew"].value, rel=0.02)
    # from the sequence itself (exact samples), in a window
    fig2 = report.plot(source=spiral, window=("7 ms", "8.5 ms"))
    x = fig2.axes[1].lines[0].get_xdata()
    assert 7.0 <= x[0] < 7.02 and x[-1] <= 8.5


def test_worst_spot_zoom_marks_the_worst_sample(spiral: Sequence) -> None:
    report = safety.check(spiral, LIMITS)
    r = report["grad_slew"]
    fig = figures.plot_worst_spot(report, "grad_slew", spiral)
    a = fig.axes[0]
    assert a.get_ylabel() == "slew (T/m/s)" and a.get_xlabel() == "time (ms)"
    marker = next(ln for ln in a.lines if ln.get_label().startswith("worst"))
    assert marker.get_xdata()[0] == pytest.approx(r.time_s * 1e3)
    peak = max(np.max(np.abs(ln.get_ydata())) for ln in a.lines if ln.get_label() in ("gx", "gy", "gz"))
    assert peak == pytest.approx(r.value, rel=0.02)
    assert f"{100 * r.ratio:.1f} % of limit" in a.get_title()


def test_importing_wavegen_does_not_import_matplotlib() -> None:
    code = ("import sys, wavegen, wavegen.sequence, wavegen.safety, wavegen.bench, wavegen.design, wavegen.report, "
            "wavegen.report.html, wavegen.report.figures, wavegen.cli; print('matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="/")
    assert out.stdout.strip() == "False"


def test_safety_plot_of_an_80_s_sequence_keeps_the_worst_slew_in_bounded_points(long_gre: Sequence) -> None:
    report = safety.check(long_gre, SystemLimits())
    fig = report.plot(source=long_gre)
    assert fig.axes[-1].get_xlabel() == "time (s)"
    grads = [ln for a in fig.axes[:2] for ln in a.lines if ln.get_label() in ("gx", "gy", "gz")]
    assert all(len(ln.get_xdata()) <= figures.MAX_COLUMNS + 2 for ln in grads)
    slew_peak = max(np.max(np.abs(ln.get_ydata())) for ln in fig.axes[1].lines if ln.get_label() in ("gx", "gy", "gz"))
    assert slew_peak == pytest.approx(report["grad_slew"].value, rel=1e-9)
    amp_peak = max(np.max(np.abs(ln.get_ydata())) for ln in fig.axes[0].lines if ln.get_label() in ("gx", "gy", "gz"))
    assert amp_peak == pytest.approx(report["grad_amplitude"].value * 1e3, rel=1e-3)


def test_worst_amplitude_marker_sits_on_its_lobe_and_pns_zoom_titles_in_percent(spiral: Sequence) -> None:
    report = safety.check(spiral, LIMITS)
    r = report["grad_amplitude"]  # the slice-select rephaser: a negative gz lobe
    fig = figures.plot_worst_spot(report, "grad_amplitude", spiral)
    a = fig.axes[0]
    marker = next(ln for ln in a.lines if ln.get_label().startswith("worst"))
    gz = next(ln for ln in a.lines if ln.get_label() == r.channel)
    i = int(np.argmin(np.abs(np.asarray(gz.get_xdata()) - r.time_s * 1e3)))
    assert np.sign(marker.get_ydata()[0]) == np.sign(gz.get_ydata()[i]) != 0
    assert abs(marker.get_ydata()[0]) == pytest.approx(r.value * 1e3)
    pns = figures.plot_worst_spot(report, "pns_safe", spiral).axes[0]
    assert f"worst {report['pns_safe'].value:.4g} % at" in pns.get_title() and pns.get_ylabel() == "gradient (mT/m)"
