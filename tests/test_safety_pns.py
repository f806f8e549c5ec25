"""SAFE PNS, IEC hyperbolic and cardiac limits, hardware files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from wavegen.errors import ConfigError, RangeError, ShapeError
from wavegen.limits import SystemLimits
from wavegen.safety import Waveforms, check
from wavegen.safety.hardware import (
    AcousticBand,
    GradientHardware,
    SafeAxis,
    example_safe_model,
    hardware_from_asc,
    read_asc,
)
from wavegen.safety.pns import (
    IecPnsModel,
    cardiac_db_dt_limit_t_per_s,
    cardiac_e_limit_v_per_m,
    iec_db_dt_limit_t_per_s,
    iec_e_limit_v_per_m,
    safe_pns,
    stimulus_segments,
)

DT = 10e-6
FIXTURE = Path(__file__).parent / "fixtures" / "safety" / "example_gpa.asc"


def trapezoid(slew: float, ramp_s: float, flat_s: float, dt: float = DT) -> np.ndarray:
    """Trapezoid with ramps of ``ramp_s`` at ``slew`` T/m/s, sampled at raster centres."""
    n_r, n_f = round(ramp_s / dt), round(flat_s / dt)
    amp = slew * n_r * dt
    t = (np.arange(2 * n_r + n_f) + 0.5) * dt
    rise, end = n_r * dt, (n_r + n_f) * dt
    return amp * np.where(t < rise, t / rise, np.where(t < end, 1.0, (end + rise - t) / rise))


# --- IEC ---------------------------------------------------------------------------------------------


def test_iec_numbers() -> None:
    assert float(iec_db_dt_limit_t_per_s(0.2e-3, "first_level")) == pytest.approx(56.0, abs=1e-12)
    assert float(iec_db_dt_limit_t_per_s(0.2e-3, "normal")) == pytest.approx(44.8, abs=1e-12)
    np.testing.assert_allclose(
        iec_db_dt_limit_t_per_s(np.array([0.05e-3, 0.36e-3, 1e-3]), "first_level"), [164.0, 40.0, 27.2]
    )
    assert float(iec_e_limit_v_per_m(0.2e-3, "first_level")) == pytest.approx(6.16)
    assert float(cardiac_e_limit_v_per_m(3e-3)) == pytest.approx(3.1639534, rel=1e-7)
    assert float(cardiac_db_dt_limit_t_per_s(0.2e-3)) == pytest.approx(20 / (1 - np.exp(-0.2 / 3)))
    with pytest.raises(RangeError, match="t_eff"):
        iec_db_dt_limit_t_per_s(0.0)
    with pytest.raises(RangeError, match="mode"):
        iec_db_dt_limit_t_per_s(1e-3, "second")
    with pytest.raises(RangeError):
        IecPnsModel(chronaxie_s=-1.0)


def test_effective_stimulus_duration_of_ramps_and_sinusoid() -> None:
    g = trapezoid(100.0, 200e-6, 1e-3)
    s = np.diff(np.concatenate(([0.0], g, [0.0]))) / DT
    seg = stimulus_segments(s, DT)
    assert seg.t_eff_s.size == 2
    np.testing.assert_allclose(seg.t_eff_s, 200e-6, rtol=1e-9)  # trapezoid: the ramp time
    np.testing.assert_allclose(seg.max_slew_t_per_m_per_s, 100.0, rtol=1e-9)
    f = 1000.0
    t = (np.arange(round(0.01 / DT)) + 0.5) * DT
    gs = 0.01 * np.sin(2 * np.pi * f * t)
    seg = stimulus_segments(np.diff(gs) / DT, DT)
    inner = seg.t_eff_s[1:-1]  # whole half periods
    np.testing.assert_allclose(inner, 1 / (np.pi * f), rtol=2e-3)


def test_iec_rule_in_check_catches_fast_ramp_at_the_right_place() -> None:
    # 0.2 ms ramps: normal-mode limit 44.8 T/s; dB/dt = slew * 0.2 m -> limit slew 224 T/m/s
    lim = SystemLimits(max_grad_t_per_m=1.0, max_slew_t_per_m_per_s=1e4)
    hw = GradientHardware(pns=None)
    g = np.zeros((400, 3))
    tr = trapezoid(220.0, 200e-6, 500e-6)
    g[100 : 100 + tr.size, 1] = tr
    rep = check(Waveforms(g, DT), lim, hardware=hw)
    r = rep["pns_iec"]
    assert r.verdict == "pass" and r.value == pytest.approx(44.0) and r.limit == pytest.approx(44.8)
    g[100 : 100 + tr.size, 1] = tr * (230 / 220)
    rep = check(Waveforms(g, DT), lim, hardware=hw)
    r = rep["pns_iec"]
    assert r.verdict == "fail" and r.channel == "gy" and r.value == pytest.approx(46.0)
    assert 100 <= r.index <= 120  # on the first ramp
    assert check(Waveforms(g, DT), lim, hardware=hw, mode="first_level")["pns_iec"].verdict == "pass"
    assert rep["cardiac_iec"].verdict == "pass"
    assert rep["cardiac_iec"].limit == pytest.approx(20 / (1 - np.exp(-0.2 / 3)), rel=1e-6)


# --- SAFE --------------------------------------------------------------------------------------------


def test_safe_constant_slew_reaches_100_percent_at_85p7() -> None:
    m = example_safe_model()
    assert m.x.steady_state_slew_t_per_m_per_s == pytest.approx(85.714285714)
    n = round(0.05 / DT)  # 50 ms >> 3 ms longest tau on x
    g = np.zeros((n, 3))
    g[:, 0] = 30 / 0.35 * DT * (np.arange(n) + 1)
    res = safe_pns(g, DT)
    assert res.per_axis[-1, 0] == pytest.approx(1.0, abs=1e-6)
    assert res.norm[-1] == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize(
    ("ramp_s", "expected"),
    [(50e-6, 0.200), (100e-6, 0.309), (200e-6, 0.445), (500e-6, 0.632), (1e-3, 0.745), (5e-3, 1.056)],
)
def test_safe_trapezoid_table(ramp_s: float, expected: float) -> None:
    """docs/references/safety.md §2.3: x axis, 100 T/m/s, 20 ms plateau (samples on raster edges)."""
    n_r, n_f = round(ramp_s / DT), round(20e-3 / DT)
    ramp = np.arange(1, n_r + 1) / n_r
    gx = 100.0 * ramp_s * np.concatenate((ramp, np.ones(n_f), ramp[::-1][1:], [0.0]))
    g = np.zeros((gx.size + 500, 3))
    g[: gx.size, 0] = gx
    assert safe_pns(g, DT).max == pytest.approx(expected, abs=1.5e-3)


def test_safe_agrees_with_pypulseq_to_1e_6() -> None:
    pp = pytest.importorskip("pypulseq.utils.safe_pns_prediction")
    rng = np.random.default_rng(7)
    n = 6000
    t = (np.arange(n) + 0.5) * DT
    g = np.stack(
        [
            0.02 * np.sin(2 * np.pi * 700 * t),
            np.cumsum(rng.normal(size=n)) * 2e-4,
            np.repeat(rng.uniform(-0.03, 0.03, n // 100), 100),
        ],
        axis=1,
    )
    g[-200:] = 0.0
    g[-300:-200] = np.linspace(g[-301], 0.0, 100)
    rf = np.full(n, np.nan)
    comp, res = pp.safe_gwf_to_pns(g, rf, DT, pp.safe_example_hw())
    comp = 0.01 * comp[~np.isfinite(res.rf[1:]), :]  # as pypulseq's calc_pns
    norm = np.sqrt((comp**2).sum(axis=1))
    ours = safe_pns(g, DT)
    assert ours.per_axis.shape == comp.shape
    np.testing.assert_allclose(ours.per_axis, comp, rtol=0, atol=1e-6)
    np.testing.assert_allclose(ours.norm, norm, rtol=0, atol=1e-6)
    assert float(np.abs(ours.norm - norm).max()) < 1e-12


def test_safe_agrees_with_pypulseq_calc_pns_on_a_sequence() -> None:
    pypulseq = pytest.importorskip("pypulseq")
    from pypulseq.Sequence.calc_pns import calc_pns
    from pypulseq.utils.safe_pns_prediction import safe_example_hw

    system = pypulseq.Opts(max_grad=40, grad_unit="mT/m", max_slew=170, slew_unit="T/m/s")
    seq = pypulseq.Sequence(system)
    for area in (3000.0, -2000.0, 5000.0):
        gx = pypulseq.make_trapezoid("x", area=area, system=system)
        gy = pypulseq.make_trapezoid("y", area=area / 2, system=system)
        seq.add_block(gx, gy)
        seq.add_block(pypulseq.make_delay(1e-3))
    ok, norm, comp, t = calc_pns(seq, safe_example_hw(), do_plots=False)
    # the same samples: pypulseq's piecewise-linear gradients at raster centres, Hz/m -> T/m
    gw = np.zeros((t.size, 3))
    for i, pp_ in enumerate(seq.get_gradients()):
        if pp_ is not None:
            gw[:, i] = pp_(t) / system.gamma
    ours = safe_pns(gw, seq.grad_raster_time)
    np.testing.assert_allclose(ours.per_axis, comp, rtol=0, atol=1e-6)
    np.testing.assert_allclose(ours.norm, norm, rtol=0, atol=1e-6)
    assert ours.ok == ok


def test_safe_in_check_modes_and_example_note() -> None:
    lim = SystemLimits(max_grad_t_per_m=1.0, max_slew_t_per_m_per_s=1e4)
    gx = trapezoid(100.0, 5e-3, 20e-3)  # 105.6 % on x
    g = np.zeros((gx.size + 100, 3))
    g[: gx.size, 0] = gx * 0.85  # ~ 89.8 %: fails normal (80 %), passes first level
    rep = check(Waveforms(g, DT), lim, iec=False)
    r = rep["pns_safe"]
    assert r.verdict == "fail" and r.limit == 80.0 and r.unit == "%" and r.channel == "gx"
    assert r.value == pytest.approx(0.85 * 105.6, abs=0.3)
    assert "EXAMPLE" in r.note
    assert check(Waveforms(g, DT), lim, iec=False, mode="first_level")["pns_safe"].verdict == "pass"


def test_safe_bad_input() -> None:
    with pytest.raises(ShapeError):
        safe_pns(np.zeros((10, 2)), DT)
    with pytest.raises(ShapeError):
        safe_pns(np.zeros((0, 3)), DT)
    with pytest.raises(RangeError):
        safe_pns(np.zeros((10, 3)), -DT)
    with pytest.raises(RangeError, match="a1 \\+ a2 \\+ a3"):
        SafeAxis((1e-3, 1e-3, 1e-3), (0.5, 0.5, 0.5), 30.0, 24.0, 0.35)
    with pytest.raises(ShapeError, match="physical"):
        check(Waveforms(np.zeros((10, 2)), DT, axes=("read", "phase")), SystemLimits())


# --- hardware files ------------------------------------------------------------------------------------


def test_hardware_from_asc_fixture_matches_example() -> None:
    hw = hardware_from_asc(FIXTURE, acoustic_threshold_t_per_m=1e-3)
    ex = example_safe_model()
    for a, b in zip(hw.pns.axes if hw.pns else (), ex.axes, strict=True):
        np.testing.assert_allclose(a.tau_s, b.tau_s, rtol=1e-12)
        assert a.a == b.a and a.stim_limit_t_per_m_per_s == b.stim_limit_t_per_m_per_s
        assert a.g_scale == b.g_scale
    assert hw.cardiac is None
    assert hw.acoustic_bands == (AcousticBand(590.0, 100.0), AcousticBand(1140.0, 220.0))
    assert hw.acoustic_bands[1].low_hz == 1030.0 and hw.acoustic_bands[1].high_hz == 1250.0
    assert read_asc(FIXTURE)["asCOMP[0].tName"] == "MP_GPA_TEST"
    # the same result from a path given as str through check()
    g = np.zeros((50, 3))
    g[:, 0] = np.linspace(0, 0.01, 50)
    r1 = check(Waveforms(g, DT), SystemLimits(), hardware=str(FIXTURE))["pns_safe"]
    r2 = check(Waveforms(g, DT), SystemLimits())["pns_safe"]
    assert r1.value == pytest.approx(r2.value, rel=1e-12)


def test_hardware_xa_layout_with_cardiac_and_missing_keys() -> None:
    base = FIXTURE.read_text(encoding="latin-1")
    lines = [ln for ln in base.splitlines() if ln.startswith("flGSWD")]
    xa = (
        "\n".join(
            ["asGPAParameters[0].sGCParameters.flGScaleFactorX = 0.35"]
            + ["asGPAParameters[0].sGCParameters.flGScaleFactorY = 0.31"]
            + ["asGPAParameters[0].sGCParameters.flGScaleFactorZ = 0.25"]
            + ["GradPatSup.Phys.PNS." + ln for ln in lines]
            + ["GradPatSup.Phys.CarNS." + ln.replace("= 30.0", "= 60.0") for ln in lines]
        )
        + "\n"
    )
    hw = hardware_from_asc(xa)
    assert hw.pns is not None and hw.cardiac is not None
    assert hw.pns.x.stim_limit_t_per_m_per_s == 30.0
    assert hw.cardiac.x.stim_limit_t_per_m_per_s == 60.0
    rep = check(Waveforms(np.ones((5, 3)) * 1e-4, DT), SystemLimits(), hardware=hw)
    assert "cns_safe" in rep and rep["cns_safe"].limit == 100.0
    no_scale = "\n".join(ln for ln in base.splitlines() if "ScaleFactor" not in ln) + "\n"
    with pytest.raises(ConfigError, match="flGScaleFactorX"):
        hardware_from_asc(no_scale)
    no_tau = "\n".join(ln for ln in base.splitlines() if "TauY[1]" not in ln) + "\n"
    with pytest.raises(ConfigError, match=r"flGSWDTauY\[1\]"):
        hardware_from_asc(no_tau)
    with pytest.raises(ConfigError, match="cannot read"):
        hardware_from_asc(FIXTURE.with_name("nope.asc"))


def test_native_kernel_agrees_with_numpy_reference() -> None:
    from wavegen.safety import pns as pns_mod

    if not pns_mod._HAVE_KERNEL:  # the fallback path is the reference itself
        res = safe_pns(np.ones((10, 3)) * 1e-3, DT)
        assert res.per_axis.shape == (10, 3)
        with pytest.raises(RangeError, match="native"):
            safe_pns(np.ones((10, 3)), DT, backend="native")
        return
    rng = np.random.default_rng(11)
    for n, end_step in ((1, True), (7, False), (5000, True), (5000, False)):
        g = np.cumsum(rng.normal(size=(n, 3)), axis=0) * 1e-4
        a = safe_pns(g, DT, backend="numpy", end_step=end_step)
        b = safe_pns(g, DT, backend="native", end_step=end_step)
        assert a.norm.shape == (n + int(end_step),)
        np.testing.assert_allclose(b.per_axis, a.per_axis, rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(b.norm, a.norm, rtol=1e-13, atol=1e-15)
    with pytest.raises(RangeError, match="backend"):
        safe_pns(g, DT, backend="fortran")


def test_end_to_end_seq_file_agrees_with_pypulseq_calc_pns() -> None:
    """The same .seq file through wavegen (read_seq -> to_waveforms -> check) and pypulseq (read ->
    calc_pns): the SAFE values agree to 1e-6."""
    import warnings

    pypulseq = pytest.importorskip("pypulseq")
    from pypulseq.Sequence.calc_pns import calc_pns
    from pypulseq.utils.safe_pns_prediction import safe_example_hw

    from wavegen.sequence import read_seq

    path = Path(__file__).parent / "fixtures" / "seq" / "epi_v131.seq"
    wf = read_seq(path).to_waveforms()
    ours = safe_pns(wf.grad_t_per_m, wf.grad_raster_s)
    peer = pypulseq.Sequence()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pypulseq warns about old file versions
        peer.read(str(path))
        ok, norm, comp, _ = calc_pns(peer, safe_example_hw(), do_plots=False)
    assert norm.size > 100 and norm.max() > 0.05
    np.testing.assert_allclose(ours.norm[: norm.size], norm, rtol=0, atol=1e-6)
    np.testing.assert_allclose(ours.per_axis[: norm.size], comp, rtol=0, atol=1e-6)
    rep = check(wf, SystemLimits(), mode="first_level")
    assert rep["pns_safe"].value == pytest.approx(100 * max(norm.max(), ours.norm.max()), rel=1e-9)
    assert ok == (rep["pns_safe"].value < 100)


def test_chunk_kernel_with_carried_state_equals_one_pass() -> None:
    """wg_safe_pns3_chunk fed chunk by chunk (any cut) gives the bits of one wg_safe_pns3 pass."""
    from wavegen.safety.hardware import example_safe_model
    from wavegen.safety.stream import HAVE_STREAM_KERNEL, _SafeStream

    if not HAVE_STREAM_KERNEL:
        pytest.skip("compiled kernels not available")
    rng = np.random.default_rng(5)
    g = np.cumsum(rng.normal(size=(5000, 3)), axis=0) * 1e-4
    dt = 10e-6
    model = example_safe_model()
    ref = safe_pns(g, dt, model, end_step=True, backend="native")
    for cuts in ([2500], [1, 2, 3, 4999], list(range(0, 5000, 333))[1:]):
        st = _SafeStream(model, dt, True, None)
        norms, pers = [], []
        edges = [0, *cuts, g.shape[0]]
        for a, b in zip(edges[:-1], edges[1:], strict=True):
            gx, gy, gz = (np.ascontiguousarray(g[a:b, j]) for j in range(3))
            st.feed(a, gx, gy, gz)
            norms.append(st._norm[: b - a].copy())
            pers.append(st._per[: b - a].copy())
        z = np.zeros(1)
        st.feed(g.shape[0], z, z, z)
        norms.append(st._norm[:1].copy())
        pers.append(st._per[:1].copy())
        assert np.concatenate(norms).tobytes() == ref.norm.tobytes()
        assert np.concatenate(pers).tobytes() == ref.per_axis.tobytes()
        assert st.best[0] == ref.max and st.best[1] == ref.argmax
