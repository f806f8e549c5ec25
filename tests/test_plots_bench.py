"""The measurement and loop plots (wavegen.bench.plots): commanded against captured, the error per iteration
per axis, in human units."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest

from wavegen.bench import HilResult, Measurement
from wavegen.hil import ChannelMetrics


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_measurement_plot_reference_captured_and_error_per_channel() -> None:
    t = np.arange(200) / 1e5
    ref = {"gx": 0.01 * np.sin(2 * np.pi * 500 * t), "rf": 2e-6 * np.exp(1j * t * 1e3)}
    cap = {"gx": ref["gx"] * 0.9, "rf": ref["rf"] * 1.1}
    ch = {"gx": ChannelMetrics(0.1, 1e-3, 1e-6, 0.9, 0.0, 0.001, "T/m"),
          "rf": ChannelMetrics(0.1, 2e-7, 0.0, 1.1, 0.0, 0.001, "T")}
    fig = Measurement(ch, ref, cap, rate_hz=1e5).plot()
    labels = [a.get_ylabel() for a in fig.axes]
    assert labels == ["gx (mT/m)", "|rf| (uT)", "captured - reference (mT/m)", "captured - reference (uT)"]
    assert fig.axes[2].get_xlabel() == "time (ms)"
    err = fig.axes[2].lines[0].get_ydata()
    np.testing.assert_allclose(err, (cap["gx"] - ref["gx"]) * 1e3)
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["reference", "captured"]


def test_hil_plot_error_per_iteration_per_axis() -> None:
    n = 100
    tgt = {"gx": np.sin(np.arange(n) / 9) * 0.01, "gy": np.cos(np.arange(n) / 9) * 0.01}
    hist = [{"gx": 0.1, "gy": 0.2}, {"gx": 0.01, "gy": 0.03}, {"gx": 0.002, "gy": 0.004}]
    h = HilResult(history=hist, initial_nrmse=hist[0], final_nrmse=hist[-1], reduction={"gx": 50.0, "gy": 50.0},
                  girf={}, corrected=tgt, target=tgt, measured=tgt, rate_hz=1e6, t0_s=0.0)
    fig = h.plot()
    a = fig.axes[0]
    assert a.get_ylabel() == "NRMSE per axis" and a.get_xlabel() == "play (0 = uncorrected)"
    lines = {ln.get_label(): ln for ln in a.lines}
    np.testing.assert_allclose(lines["gx"].get_ydata(), [0.1, 0.01, 0.002])
    np.testing.assert_allclose(lines["gy"].get_ydata(), [0.2, 0.03, 0.004])
    assert fig.axes[2].get_ylabel() == "gx (mT/m)" and fig.axes[-1].get_xlabel() == "time (ms)"
