"""Waveforms type, the interlock API and the gradient amplitude/slew rules."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from wavegen.errors import NonFiniteError, RangeError, RasterError, SafetyError, ShapeError
from wavegen.limits import SystemLimits
from wavegen.safety import Clearance, Waveforms, as_waveforms, check, clear, override, require
from wavegen.safety.gradient import slew_rate
from wavegen.safety.hardware import GradientHardware

DT = 10e-6
LIM = SystemLimits()  # 40 mT/m, 150 T/m/s, 20 uT


def trapezoid(amp: float, n_rise: int, n_flat: int, dt: float = DT) -> np.ndarray:
    """Trapezoid sampled at raster centres (Pulseq convention)."""
    t = (np.arange(2 * n_rise + n_flat) + 0.5) * dt
    rise = n_rise * dt
    flat_end = rise + n_flat * dt
    g = np.where(t < rise, t / rise, np.where(t < flat_end, 1.0, (flat_end + rise - t) / rise))
    return amp * g


def three_axis(gx: np.ndarray) -> np.ndarray:
    return np.stack([gx, 0.5 * gx, np.zeros_like(gx)], axis=1)


# --- Waveforms --------------------------------------------------------------------------------


def test_waveforms_validates_and_freezes() -> None:
    g = three_axis(trapezoid(0.02, 20, 50))
    wf = Waveforms(g, DT)
    assert wf.n_grad == g.shape[0] and wf.n_axes == 3 and wf.n_tx == 0
    assert wf.duration_s == pytest.approx(g.shape[0] * DT)
    assert not wf.grad_t_per_m.flags.writeable
    g[0, 0] = 1.0  # the caller's array is copied
    assert wf.grad_t_per_m[0, 0] != 1.0
    np.testing.assert_allclose(wf.grad_times_s()[:2], [5e-6, 15e-6])
    rf = np.ones(100, complex) * 1e-6
    wf2 = Waveforms(g, DT, rf, 1e-6)
    assert wf2.n_tx == 1 and wf2.rf_channels.shape == (100, 1)
    assert wf2.digest() != wf.digest()
    assert Waveforms(wf.grad_t_per_m, DT).digest() == wf.digest()


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"grad_t_per_m": np.zeros(10), "grad_raster_s": DT}, ShapeError, "shape"),
        ({"grad_t_per_m": np.zeros((10, 2)), "grad_raster_s": DT}, ShapeError, "columns"),
        ({"grad_t_per_m": np.zeros((0, 3)), "grad_raster_s": DT}, ShapeError, "empty"),
        ({"grad_t_per_m": np.zeros((5, 3)), "grad_raster_s": 0.0}, RangeError, "> 0"),
        ({"grad_t_per_m": np.zeros((5, 3)), "grad_raster_s": float("nan")}, NonFiniteError, "finite"),
        (
            {"grad_t_per_m": np.zeros((5, 3)), "grad_raster_s": DT, "rf_b1_t": np.ones(3)},
            RasterError,
            "rf_raster",
        ),
        ({"grad_t_per_m": np.zeros((5, 3)), "grad_raster_s": DT, "rf_raster_s": 1e-6}, RasterError, "None"),
        (
            {
                "grad_t_per_m": np.zeros((5, 3)),
                "grad_raster_s": DT,
                "rf_b1_t": np.ones(0),
                "rf_raster_s": 1e-6,
            },
            ShapeError,
            "empty",
        ),
    ],
)
def test_waveforms_bad_input(kwargs: dict, exc: type, match: str) -> None:
    with pytest.raises(exc, match=match):
        Waveforms(**kwargs)


def test_waveforms_nan_names_sample() -> None:
    g = np.zeros((8, 3))
    g[5, 1] = np.nan
    with pytest.raises(NonFiniteError, match=r"\[5, 1\].*gy"):
        Waveforms(g, DT)
    rf = np.zeros(4, complex)
    rf[2] = complex(np.inf, 0)
    with pytest.raises(NonFiniteError, match=r"\[2\]"):
        Waveforms(np.zeros((8, 3)), DT, rf, 1e-6)


def test_as_waveforms_arrays_objects_and_mismatched_raster() -> None:
    g = three_axis(trapezoid(0.02, 20, 50))
    wf = as_waveforms(g, grad_raster_s=DT)
    assert wf.axes == ("gx", "gy", "gz")
    assert as_waveforms(g[:, 0], grad_raster_s=DT).axes == ("gx",)

    class Seq:
        def to_waveforms(self) -> Waveforms:
            return wf

    assert as_waveforms(Seq()) is wf
    with pytest.raises(RasterError, match="does not match"):
        as_waveforms(wf, grad_raster_s=4e-6)
    with pytest.raises(RasterError, match="grad_raster_s"):
        as_waveforms(g)
    with pytest.raises(ShapeError):
        as_waveforms(None)


# --- gradient amplitude and slew ------------------------------------------------------------------


def test_amplitude_at_limit_passes_and_0p1_percent_over_is_caught_at_the_sample() -> None:
    g = three_axis(trapezoid(0.02, 20, 200))
    g[:, 2] = 0.0
    g[137, 2] = LIM.max_grad_t_per_m  # exactly at the limit: passes
    rep = check(Waveforms(g, DT, t0_s=1.0), LIM)
    assert rep["grad_amplitude"].verdict == "pass"
    g[137, 2] = LIM.max_grad_t_per_m * 1.001
    # a lone spike also breaks the slew limit; raise that one out of the way to see the amplitude
    # (and PNS, so leave the stimulation models out of this test)
    rep = check(
        Waveforms(g, DT, t0_s=1.0),
        SystemLimits(max_slew_t_per_m_per_s=1e5),
        zero_edges=True,
        hardware=GradientHardware(pns=None),
        iec=False,
    )
    r = rep["grad_amplitude"]
    assert r.verdict == "fail" and r.channel == "gz" and r.index == 137
    assert r.time_s == pytest.approx(1.0 + 137.5 * DT)
    assert r.value == pytest.approx(0.04004) and r.margin == pytest.approx(-0.001)
    with pytest.raises(SafetyError) as ei:
        rep.raise_if_unsafe()
    e = ei.value
    assert not isinstance(e, ValueError)
    assert e.unit == "T/m" and e.channel == "gz" and e.limit == 0.04
    assert e.value == pytest.approx(0.04004) and e.time_s == pytest.approx(1.0 + 137.5 * DT)
    assert "gradient amplitude" in str(e) and "0.04004" in str(e)


def test_slew_0p1_percent_over_is_caught_at_the_right_step() -> None:
    n_rise = 20
    amp = LIM.max_slew_t_per_m_per_s * n_rise * DT  # ramp exactly at 150 T/m/s
    gx = trapezoid(amp, n_rise, 100)
    g = np.stack([gx, np.zeros_like(gx), np.zeros_like(gx)], axis=1)
    rep = check(Waveforms(g, DT), LIM)
    assert rep["grad_slew"].verdict == "pass"
    assert rep["grad_slew"].value == pytest.approx(150.0, rel=1e-9)
    # one step on y, 0.1 % over: sample 60 jumps by 1.001 * 150 T/m/s * dt
    g[60:, 1] = 1.001 * 150.0 * DT
    g[90:, 1] = 0.0  # and back down
    r = check(Waveforms(g, DT), LIM)["grad_slew"]
    assert r.verdict == "fail" and r.channel == "gy"
    assert r.index in (60, 90) and r.value == pytest.approx(150.15)
    assert r.index == 60  # first occurrence
    assert r.time_s == pytest.approx(60 * DT)


def test_slew_edges_count_as_steps_from_rest() -> None:
    g = np.full((10, 3), 0.01)  # starts on a plateau: a 0 -> 10 mT/m step in one raster
    r = check(Waveforms(g, DT), LIM)["grad_slew"]
    assert r.verdict == "fail" and r.index == 0 and r.value == pytest.approx(1000.0)
    assert check(Waveforms(g, DT), LIM, zero_edges=False)["grad_slew"].verdict == "pass"
    s = slew_rate(g[:, 0], DT)
    assert s.shape == (11,) and s[0] == pytest.approx(1000.0) and s[-1] == pytest.approx(-1000.0)


def test_vector_rules_info_without_limit_and_fail_with_one() -> None:
    g = np.zeros((30, 3))
    g[10:20, :] = 0.03  # 30 mT/m on all three axes: per-axis fine, vector 52 mT/m
    lim = SystemLimits(max_slew_t_per_m_per_s=5000.0)
    rep = check(Waveforms(g, DT), lim)
    assert rep["grad_amplitude"].verdict == "pass"
    assert rep["grad_amplitude_vector"].verdict == "info"
    assert rep["grad_amplitude_vector"].value == pytest.approx(0.03 * np.sqrt(3))
    rep = check(Waveforms(g, DT), lim, max_grad_vector_t_per_m=0.05)
    assert rep["grad_amplitude_vector"].verdict == "fail" and rep["grad_amplitude_vector"].index == 10


def test_check_rejects_bad_mode_and_limits() -> None:
    wf = Waveforms(np.zeros((4, 3)), DT)
    with pytest.raises(RangeError, match="mode"):
        check(wf, LIM, mode="second_level")
    with pytest.raises(RangeError, match="SystemLimits"):
        check(wf, {"max_grad": 0.04})  # type: ignore[arg-type]


def test_summary_lists_every_rule() -> None:
    rep = check(Waveforms(three_axis(trapezoid(0.02, 20, 50)), DT), LIM)
    text = rep.summary()
    assert text.startswith("wavegen safety report: SAFE")
    for rule in rep.rules():
        assert rule in text


# --- interlock ---------------------------------------------------------------------------------------


def test_clear_issues_valid_clearance_for_safe_waveforms() -> None:
    wf = Waveforms(three_axis(trapezoid(0.02, 20, 50)), DT)
    c = clear(wf, LIM)
    assert isinstance(c, Clearance) and c.is_valid() and c.is_valid(wf)
    assert not c.overridden and c.digest == wf.digest() and c.report is not None and c.report.ok
    require(c)
    require(c, wf)
    other = Waveforms(three_axis(trapezoid(0.01, 20, 50)), DT)
    assert not c.is_valid(other)
    with pytest.raises(SafetyError, match="different waveforms"):
        require(c, other)


def test_clear_refuses_unsafe_with_worst_violation() -> None:
    g = three_axis(trapezoid(0.02, 20, 50))
    g[30, 0] = 0.05
    with pytest.raises(SafetyError) as ei:
        clear(Waveforms(g, DT), LIM)
    # the worst violation by ratio: the 0.05 T/m spike steps ~3000 T/m/s (20x) vs 0.05/0.04
    assert ei.value.quantity.startswith("gradient slew")
    assert ei.value.channel == "gx"


def test_clearance_cannot_be_made_or_altered_by_hand() -> None:
    with pytest.raises(SafetyError, match="by hand"):
        Clearance(None, "0" * 64, True, "r", "o")
    c = clear(Waveforms(np.zeros((4, 3)), DT), LIM)
    with pytest.raises(AttributeError):
        c.overridden = True
    forged = object.__new__(Clearance)
    for k in ("report", "_digest", "subject", "overridden", "reason", "operator", "issued_at"):
        object.__setattr__(forged, k, getattr(c, k))
    object.__setattr__(forged, "_sig", "0" * 64)
    assert not forged.is_valid()
    with pytest.raises(SafetyError, match="not valid"):
        require(forged)
    for field, value in (("_digest", "f" * 64), ("subject", "f" * 64)):  # tampering breaks the signature
        d = clear(Waveforms(np.zeros((4, 3)), DT), LIM)
        object.__setattr__(d, field, value)
        assert not d.is_valid()
    for bad in (None, "cleared", True):
        with pytest.raises(SafetyError, match="no safety clearance"):
            require(bad)


def test_override_is_explicit_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    g = np.full((10, 3), 0.05)
    wf = Waveforms(g, DT)
    with pytest.raises(RangeError, match="reason"):
        override(wf, reason="  ", operator="ann")
    with pytest.raises(RangeError, match="operator"):
        override(wf, reason="phantom test", operator="")
    with caplog.at_level(logging.WARNING, logger="wavegen.safety.interlock"):
        c = override(wf, reason="phantom only, coil unplugged", operator="ann", limits=LIM)
    assert c.overridden and c.is_valid(wf) and c.operator == "ann"
    assert c.report is not None and not c.report.ok
    msg = caplog.text
    assert "OVERRIDDEN" in msg and "ann" in msg and "phantom only" in msg and "gradient amplitude" in msg
    require(c, wf)
    c2 = override(wf, reason="bench", operator="bob")
    assert c2.report is None and c2.is_valid(wf)
