"""wavegen.design.sweep on a tiny grid: the table's labels and order, the Bloch metrics against the pulse
and against theory, a failing point kept in its row, custom metrics."""

from __future__ import annotations

import math

import numpy as np
import pytest

from wavegen.design import bloch_metrics, sinc_pulse, sweep
from wavegen.design.sweep import METRICS, grid_points
from wavegen.errors import DesignError, LimitError, RangeError
from wavegen.limits import SystemLimits

LIMITS = SystemLimits.from_units(rf_raster="10 us", max_b1="1 mT")


def sinc(tbw: float, duration_s: float, flip_deg: float = 90.0):
    return sinc_pulse(math.radians(flip_deg), duration_s, tbw, limits=LIMITS)


def test_grid_points_are_the_product_with_the_last_name_fastest():
    assert grid_points({"a": [1, 2], "b": np.array([3.0, 4.0])}) == [
        {"a": 1, "b": 3.0}, {"a": 1, "b": 4.0}, {"a": 2, "b": 3.0}, {"a": 2, "b": 4.0}]
    assert grid_points([{"a": 1}, {"a": 5}]) == [{"a": 1}, {"a": 5}]
    for bad in ({}, {"a": []}, {"a": 3}, [{"a": 1}, {"b": 2}], []):
        with pytest.raises(RangeError):
            grid_points(bad)


def test_a_tiny_sweep_labels_every_point_and_measures_the_pulse():
    grid = {"tbw": [2.0, 4.0], "duration_s": [2e-3, 4e-3]}
    progress = []
    table = sweep(sinc, grid, scheduler="synchronous", progress=lambda d, t: progress.append((d, t)))
    assert table.columns == ("tbw", "duration_s", *[m for m in METRICS if m != "duration_s"], "error")
    assert [(r["tbw"], r["duration_s"]) for r in table] == [(2.0, 2e-3), (2.0, 4e-3), (4.0, 2e-3), (4.0, 4e-3)]
    assert progress[-1] == (4, 4)
    for r in table:
        rf = sinc(r["tbw"], r["duration_s"])
        assert r["error"] == "" and r["peak_b1_t"] == rf.peak_b1_t and r["energy_t2_s"] == rf.energy_t2_s
        assert r["b1rms_t"] == pytest.approx(math.sqrt(rf.energy_t2_s / r["duration_s"]))
        assert r["flip_deg"] == pytest.approx(90.0, abs=1.0)
        # a 90 deg |Mxy| profile is wider than the pulse's bandwidth TBW / T (sin of a sloped flip is flat)
        assert 1.0 < r["fwhm_hz"] / (r["tbw"] / r["duration_s"]) < 1.6
        assert 0 < r["transition_width_hz"] < r["fwhm_hz"]
        assert 0 <= r["passband_ripple"] < 0.1 and 0 <= r["stopband_ripple"] < 0.1
        direct = bloch_metrics(rf)
        assert all(r[k] == direct[k] for k in METRICS if k != "duration_s")
    # same flip and TBW over twice the time: half the energy (SAR proxy), half the peak B1
    e = {(r["tbw"], r["duration_s"]): r for r in table}
    assert e[(4.0, 2e-3)]["energy_t2_s"] / e[(4.0, 4e-3)]["energy_t2_s"] == pytest.approx(2.0, rel=1e-3)
    assert e[(4.0, 2e-3)]["peak_b1_t"] / e[(4.0, 4e-3)]["peak_b1_t"] == pytest.approx(2.0, rel=1e-3)
    # the profile over frequency scales with 1 / T: twice as wide, twice as steep
    for k in ("fwhm_hz", "transition_width_hz"):
        assert e[(4.0, 2e-3)][k] / e[(4.0, 4e-3)][k] == pytest.approx(2.0, rel=1e-3)
    assert 1.5 < e[(4.0, 4e-3)]["fwhm_hz"] / e[(2.0, 4e-3)]["fwhm_hz"] < 2.5


def test_the_profile_follows_the_pulse_use():
    inv = sinc_pulse(math.pi, 4e-3, 4.0, limits=LIMITS, use="inversion")
    m = bloch_metrics(inv)
    assert m["flip_deg"] == pytest.approx(180.0, abs=2.0)
    exc = bloch_metrics(sinc(4.0, 4e-3))
    # an inversion profile (1 - Mz)/2 and an excitation |Mxy| both reach about 1 in the passband
    assert m["fwhm_hz"] > 0 and exc["fwhm_hz"] > 0
    # bands reaching into the transition (BW = 1 kHz here) see more ripple than bands clear of it
    narrow = bloch_metrics(sinc(4.0, 4e-3), passband_hz=(-200.0, 200.0), stopband_hz=(-1500.0, 1500.0))
    wide = bloch_metrics(sinc(4.0, 4e-3), passband_hz=(-500.0, 500.0), stopband_hz=(-800.0, 800.0))
    assert narrow["passband_ripple"] < wide["passband_ripple"] and narrow["stopband_ripple"] < wide["stopband_ripple"]
    with pytest.raises(RangeError, match="RFPulse"):
        bloch_metrics("not a pulse")  # type: ignore[arg-type]


def test_a_point_that_cannot_be_designed_keeps_its_row():
    table = sweep(sinc, {"tbw": [4.0], "duration_s": [4e-3], "flip_deg": [90.0, 20000.0]}, scheduler="synchronous",
                  metrics=("peak_b1_t",))
    assert table.column("error")[0] == ""
    assert "LimitError" in table[1]["error"] or "RangeError" in table[1]["error"]
    assert math.isnan(table[1]["peak_b1_t"])


def test_a_broken_design_function_fails_at_once():
    def broken(tbw: float):
        raise LimitError(f"tbw {tbw} cannot be designed")

    with pytest.raises(DesignError, match="failed on the first 2 point"):
        sweep(broken, {"tbw": [1.0, 2.0]}, scheduler="synchronous")
    with pytest.raises(RangeError, match="unknown metric"):
        sweep(sinc, {"tbw": [1.0]}, metrics=("peak",), scheduler="synchronous")


def test_custom_metrics_and_band_edges_from_the_design_function():
    def design(tbw: float):
        rf = sinc(tbw, 4e-3)
        half = 0.5 * tbw / 4e-3
        return {"rf": rf, "passband_hz": (-0.5 * half, 0.5 * half), "stopband_hz": (-2 * half, 2 * half)}

    def mine(rf, passband_hz=None, stopband_hz=None):
        return {"n": rf.n_samples, "pass_hi_hz": passband_hz[1]}

    table = sweep(design, {"tbw": [2.0, 4.0]}, metrics=mine, scheduler="synchronous")
    assert table.columns == ("tbw", "n", "pass_hi_hz", "error")
    assert table.column("n") == [400, 400] and table.column("pass_hi_hz") == [125.0, 250.0]
    named = sweep(design, {"tbw": [4.0]}, metrics=("passband_ripple", "stopband_ripple"), scheduler="synchronous")
    direct = bloch_metrics(sinc(4.0, 4e-3), passband_hz=(-250.0, 250.0), stopband_hz=(-1000.0, 1000.0))
    assert named[0]["passband_ripple"] == direct["passband_ripple"]
    assert named[0]["stopband_ripple"] == direct["stopband_ripple"]
