"""Issue 15, item 8: reprs of sequences, blocks and events without float noise or dumped arrays, and
correct plurals wherever a count is printed."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from wavegen import design, safety
from wavegen.bench.results import HilResult
from wavegen.cli import main
from wavegen.limits import SystemLimits
from wavegen.sequence import Sequence

LIM = SystemLimits()
NOISE = re.compile(r"\d\.\d{9,}|0000000\d|9999999|array\(|Shape\(n=")


def _seq(n_blocks: int) -> Sequence:
    seq = Sequence(LIM)
    rf = design.sinc_pulse(math.pi / 6, 2e-3, 4.0, limits=LIM)
    gz = design.slice_select_gradient(rf, 5e-3, LIM)
    seq.add_block(rf.replace(delay_s=gz.rise_time_s), gz=gz)
    for _ in range(n_blocks - 1):  # an area in cycles/m whose Hz/m amplitude is not a round float
        seq.add_block(gx=design.shortest_trapezoid(LIM, area_per_m=-1000.0 / 3))
    return seq


def test_sequence_repr_counts_blocks_in_words_and_says_its_length_in_ms() -> None:
    one, three = _seq(1), _seq(3)
    assert repr(one).startswith("Sequence(1 block, ") and repr(three).startswith("Sequence(3 blocks, ")
    ms = three.duration_s * 1e3
    assert f"{ms:.6g} ms" in repr(three)
    assert repr(three).endswith("distinct events: 1 RF, 2 gradient, 0 ADC)")
    assert not NOISE.search(repr(three))


def test_block_and_event_reprs_are_summaries_without_float_noise() -> None:
    for block in _seq(3):
        text = repr(block)
        assert text.startswith("Block(") and len(text) < 400, text
        assert not NOISE.search(text), text  # before: amplitude_hz_per_m=-390625.00000000006, Shape(n=2000, [...])
    first, second = list(_seq(2))
    assert re.match(r"Block\(\d[\d.]* ms, rf=RFEvent\(excitation, 2000 samples, peak [\d.]+ Hz, centre 1000 us",
                    repr(first)), repr(first)
    assert re.match(r"Block\([\d.]+ us, gx=TrapGradient\(-[\d.]+ kHz/m, rise \d+ us, flat \d+ us, fall \d+ us\)\)$",
                    repr(second)), repr(second)
    from wavegen.sequence.events import ADCEvent, ArbGradient

    assert repr(ADCEvent(1, 10_000)) == "ADCEvent(1 sample x 10 us)"
    assert repr(ADCEvent(256, 2_500, delay_ns=20_000)) == "ADCEvent(256 samples x 2.5 us, delay 20 us)"
    arb = ArbGradient(123456.78901234, np.linspace(0, 1, 7))
    assert repr(arb) == "ArbGradient(7 samples, peak 123.457 kHz/m)"


def test_safety_summary_counts_in_words() -> None:
    dt = LIM.grad_raster_s
    g = design.shortest_trapezoid(LIM, area_per_m=1000.0).sample(dt)
    z = 0 * g
    fine = safety.check(safety.Waveforms(np.column_stack([g, z, z]), dt), LIM)
    assert fine.summary().splitlines()[0] == "wavegen safety report: SAFE; mode normal"
    lower = LIM.replace(max_grad_t_per_m=0.039)  # the 39.8 mT/m trapezoid breaks only the amplitude rule
    one = safety.check(safety.Waveforms(np.column_stack([g, z, z]), dt), lower)
    assert "UNSAFE (1 violation)" in one.summary().splitlines()[0]
    many = safety.check(safety.Waveforms(np.column_stack([3 * g] * 3), dt), LIM)
    head = many.summary().splitlines()[0]
    assert re.search(r"UNSAFE \(\d+ violations\)", head) and len(many.violations) > 1


def _hil(corrections: int) -> HilResult:
    history = [{"gx": 0.1 / (k + 1)} for k in range(corrections + 1)]
    return HilResult(history=history, initial_nrmse={"gx": 0.1}, final_nrmse={"gx": history[-1]["gx"]},
                     reduction={"gx": float(corrections + 1)}, girf={}, corrected={}, target={}, measured={},
                     rate_hz=1e6, t0_s=0.0, stopped="")


@pytest.mark.parametrize(("n", "words"), [(1, "1 correction;"), (2, "2 corrections;")])
def test_hil_result_counts_its_corrections_in_words(n: int, words: str) -> None:
    assert repr(_hil(n)).startswith(f"HilResult({words}")


def test_the_instruments_command_counts_in_words(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["instruments"]) == 0
    assert capsys.readouterr().out.startswith("2 instruments on the built-in mock bench:")


def test_profile_metrics_and_recipe_designs_show_short_reprs() -> None:
    from wavegen.design import bloch
    from wavegen.sequence import recipes

    rf = design.sinc_pulse(math.pi / 2, 2e-3, 4.0)
    z = np.linspace(-1e-2, 1e-2, 2001)
    res = bloch.simulate(rf, gradient_t_per_m=design.slice_select_gradient(rf, 5e-3).amplitude_t_per_m,
                         positions_m=z)
    text = repr(bloch.profile_metrics(z, np.abs(res.mxy)))
    assert text.startswith("ProfileMetrics(peak=") and not NOISE.search(text), text
    d = recipes.design_gre(LIM, fov_m=0.256, matrix=32, slice_m=5e-3, flip_rad=0.26, dwell_s=20e-6)
    assert repr(d) == f"Design({d.title!r}, {d.seq!r})" and len(repr(d)) < 150  # not the lines, not the blocks


def test_design_title_says_the_on_resonance_flip_when_it_differs() -> None:
    """An SLR design's title keeps the requested flip and adds the Bloch flip at 0 Hz when they differ
    (the passband ripple shows there); a block pulse's title shows just its flip."""
    import math

    from wavegen.design.bloch import flip_angle_rad
    from wavegen.limits import SystemLimits
    from wavegen.sequence import recipes

    lim = SystemLimits()
    d = recipes.design_rf("slr", lim, flip_rad=math.pi / 2, duration_s=3e-3, tbw=4.0)
    pulse = recipes._rf_pulse("slr", lim, flip_rad=math.pi / 2, duration_s=3e-3, tbw=4.0, bandwidth_hz=None,
                              b1_max_t=None)
    want = math.degrees(flip_angle_rad(pulse))
    assert abs(want - 90.0) > 0.05
    assert "90 deg requested" in d.title and f"{want:.4g} deg on resonance" in d.title
    s = recipes.design_rf("block", lim, flip_rad=math.pi / 2, duration_s=1e-3)
    assert s.title == "block pulse, 90 deg"
