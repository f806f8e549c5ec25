"""Small truths in design's reprs (issue 15 item 8): no dumped arrays, no float noise, the flip a pulse
repr states is its Bloch flip."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from wavegen import design
from wavegen.design import bloch
from wavegen.limits import SystemLimits

LIM = SystemLimits(max_b1_t=100e-6)
NOISE = re.compile(r"\d\.\d{9,}|0000000|9999999|array\(")


def _stated_flip_deg(text: str) -> float:
    m = re.search(r"flip ([0-9.]+) deg", text)
    assert m is not None, text
    return float(m.group(1))


def test_bloch_result_repr_is_a_summary():
    rf = design.sinc_pulse(math.pi / 2, 2e-3, 4.0)
    res = bloch.simulate(rf, gradient_t_per_m=0.01, positions_m=np.linspace(-5e-3, 5e-3, 10_000))
    text = repr(res)
    assert text.startswith("BlochResult(10000 spins") and "Cayley-Klein" in text
    assert len(text) < 200 and not NOISE.search(text), text


@pytest.mark.parametrize(
    "make",
    [
        lambda: design.slr_pulse(math.pi / 2, 4e-3, 4.0, limits=LIM),
        lambda: design.slr_pulse(math.pi / 2, 4e-3, 4.0, limits=LIM, phase="minimum"),
        lambda: design.slr_pulse(math.pi, 4e-3, 4.0, limits=LIM, pulse_type="refocusing"),
        lambda: design.hyperbolic_secant_pulse(10e-3, 2000.0, b1_max_t=15e-6),
        lambda: design.bir4_pulse(math.pi / 2, 10e-3, b1_max_t=15e-6, max_freq_hz=2000.0),
        lambda: design.sinc_pulse(0.3, 3e-3, 5.0),
    ],
)
def test_pulse_repr_states_its_bloch_flip(make):
    rf = make()
    # before: the small-tip area estimate, e.g. 224 deg for a hyperbolic secant whose Bloch flip is 167 deg
    stated = _stated_flip_deg(repr(rf))
    assert stated == pytest.approx(math.degrees(bloch.flip_angle_rad(rf)), abs=0.05)
    assert rf.on_resonance_flip_rad() == pytest.approx(bloch.flip_angle_rad(rf), abs=1e-9)
    assert not NOISE.search(repr(rf)), repr(rf)


def test_gradient_reprs_have_human_units_and_no_float_noise():
    lim = SystemLimits()
    for g in (
        design.shortest_trapezoid(lim, area_per_m=1000.0),
        design.shortest_extended_trapezoid(lim, area_per_m=1000.0, g_start_t_per_m=0.01),
        design.shortest_arbitrary_gradient(lim, area_per_m=1000.0),
    ):
        text = repr(g)
        assert "mT/m" in text and " us" in text and "mT*ms/m" in text, text
        assert not NOISE.search(text) and len(text) < 200, text
    assert repr(design.shortest_trapezoid(lim, area_per_m=1000.0)).startswith(
        "Trapezoid(39.8078 mT/m, rise 270 us, flat 320 us, fall 270 us: 860 us"
    )
    rf = design.sinc_pulse(math.pi / 2, 2e-3, 4.0)
    res = design.verse(rf, design.slice_select_gradient(rf, 5e-3), lim, max_b1_t=0.7 * rf.peak_b1_t)
    assert "peak B1 x0.7" in repr(res) and not NOISE.search(repr(res)), repr(res)
