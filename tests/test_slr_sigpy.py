"""Minimum-phase SLR against the reference implementation, SigPy's ``dzrf(..., "min")`` (``dzmp``).

Issue 16 item 5: over the grid of pulse types (excitation, inversion, refocusing, saturation),
time-bandwidths 2-16 and ripples 0.001-0.05 (``d1 = d2``), wavegen's minimum-phase designs must reach
within 1.1x the reference's ripples and their profiles within 0.01 of the reference's.

What is compared. Both pulses (N = 256 samples) are Bloch-simulated by :func:`wavegen.design.bloch`
(exact rotations) at 4001 points over ``|x| <= 2 tb`` cycles per pulse, every pulse-type's own
profile (:func:`wavegen.design.slr.slr_profile`: ``|Mxy|``, ``|beta|^2`` or ``Mz``; magnitudes do not
depend on the two libraries' opposite time and phase conventions). Ripple: the largest deviation from
the ideal in the designed pass- and stopband of the minimum-phase filter
(:func:`~wavegen.design.slr.slr_band_edges`); the profiles: the largest difference over the *whole*
grid, transition bands included (the two designs are the same filter, so their transitions coincide).
Where the reference cannot design a case (tb 2 with ripple 0.001 for excitation and inversion:
the transition is wider than the band), wavegen must refuse it too.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import sigpy.mri.rf as sigpy_rf  # in the test extra: a missing reference is an error, not a skip

from wavegen.design import slr
from wavegen.errors import DesignError

N = 256
RASTER_S = 10e-6
SIGPY_TYPE = {"excitation": "ex", "inversion": "inv", "refocusing": "se", "saturation": "sat"}
FLIP = {"excitation": math.pi / 2, "inversion": math.pi, "refocusing": math.pi, "saturation": math.pi / 2}
TIME_BW = (2, 4, 8, 12, 16)
RIPPLES = (0.001, 0.01, 0.05)
#: ripple ratio and profile difference the issue allows
MAX_RIPPLE_RATIO = 1.1
MAX_PROFILE_DIFF = 0.01


def _reference(pulse_type: str, tb: float, d: float) -> np.ndarray | None:
    try:
        return np.asarray(sigpy_rf.dzrf(N, tb, SIGPY_TYPE[pulse_type], "min", d, d), dtype=np.complex128)
    except ValueError:  # scipy.signal.remez: "Bands must be monotonic starting at zero"
        return None


def _wavegen(pulse_type: str, tb: float, d: float) -> np.ndarray:
    rf = slr.slr_pulse(
        FLIP[pulse_type],
        N * RASTER_S,
        tb,
        pulse_type=pulse_type,  # type: ignore[arg-type]
        phase="minimum",
        passband_ripple=d,
        stopband_ripple=d,
        raster_s=RASTER_S,
        max_b1_t=1.0,
    )
    assert rf.n_samples == N  # designed on the raster: no re-binning
    return np.asarray(rf.b1_t * (2 * math.pi * slr.GAMMA_1H_HZ_PER_T * RASTER_S))


@pytest.mark.parametrize("tb", TIME_BW)
@pytest.mark.parametrize("pulse_type", list(SIGPY_TYPE))
def test_minimum_phase_matches_reference(pulse_type: str, tb: int) -> None:
    x = np.linspace(-2 * tb, 2 * tb, 4001)
    compared = 0
    for d in RIPPLES:
        ref = _reference(pulse_type, tb, d)
        if ref is None:
            with pytest.raises(DesignError):
                _wavegen(pulse_type, tb, d)
            continue
        ours = _wavegen(pulse_type, tb, d)
        edges = slr.slr_band_edges(pulse_type, d, d, tb, phase="minimum")
        p_ref = slr.slr_profile(ref, pulse_type, x)
        p_ours = slr.slr_profile(ours, pulse_type, x)
        ref_pass, ref_stop = slr.slr_profile_ripples(p_ref, x, pulse_type, edges, FLIP[pulse_type])
        our_pass, our_stop = slr.slr_profile_ripples(p_ours, x, pulse_type, edges, FLIP[pulse_type])
        case = f"{pulse_type} tb {tb} ripple {d}"
        assert our_pass <= MAX_RIPPLE_RATIO * ref_pass, f"{case}: passband {our_pass:.3g} vs SigPy {ref_pass:.3g}"
        assert our_stop <= MAX_RIPPLE_RATIO * ref_stop, f"{case}: stopband {our_stop:.3g} vs SigPy {ref_stop:.3g}"
        diff = float(np.max(np.abs(p_ours - p_ref)))
        assert diff <= MAX_PROFILE_DIFF, f"{case}: profiles differ by {diff:.3g} at most"
        compared += 1
    assert compared >= 2 if tb == 2 else compared == len(RIPPLES)


def test_the_comparison_can_fail() -> None:
    # the profile check discriminates: a linear-phase pulse of the same request is told apart from the
    # minimum-phase reference (the former minimum-phase design, Parks-McClellan on a grid of 8 factored
    # on a 16-fold grid, failed 36 of the grid's 58 cases, e.g. inversion tb 12 ripple 0.001 at 4.7x)
    tb, d = 8, 0.01
    x = np.linspace(-2 * tb, 2 * tb, 4001)
    ref = _reference("excitation", tb, d)
    assert ref is not None
    lin = slr.slr_pulse(math.pi / 2, N * RASTER_S, tb, passband_ripple=d, stopband_ripple=d, raster_s=RASTER_S)
    rf_lin = lin.b1_t * (2 * math.pi * slr.GAMMA_1H_HZ_PER_T * RASTER_S)
    diff = np.max(np.abs(slr.slr_profile(rf_lin, "excitation", x) - slr.slr_profile(ref, "excitation", x)))
    assert diff > MAX_PROFILE_DIFF


def test_reference_ripples_are_those_the_issue_quotes() -> None:
    # "sigpy's dzmp reaches about 1.2x on the same requests": the reference exceeds the asked ripple
    # by a similar factor, so matching it is not matching an unreachable or a trivial target
    tb, d = 8, 0.01
    x = np.linspace(-2 * tb, 2 * tb, 4001)
    ratios = []
    for pulse_type in ("refocusing", "inversion"):
        ref = _reference(pulse_type, tb, d)
        assert ref is not None
        edges = slr.slr_band_edges(pulse_type, d, d, tb, phase="minimum")
        p = slr.slr_profile(ref, pulse_type, x)
        ratios.extend(r / d for r in slr.slr_profile_ripples(p, x, pulse_type, edges, FLIP[pulse_type]))
    assert 1.0 < max(ratios) < 1.4
