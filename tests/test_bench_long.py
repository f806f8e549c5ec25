"""Whole protocols on the bench: the DAQ streams, the AWG sequences, in virtual time; exact and cleared."""

from __future__ import annotations

import numpy as np
import pytest
from wavegen.drivers.capabilities import quantize_volts

import wavegen.bench.session as session
from wavegen.bench import Bench
from wavegen.bench.plan import InstrumentPlan, Window
from wavegen.errors import SafetyError
from wavegen.limits import SystemLimits
from wavegen.sequence import recipes


@pytest.fixture(scope="module")
def gre():
    # 2.7 s: more than the 33522B's 1 M points per waveform, so the AWG must sequence
    return recipes.design_gre(SystemLimits(), fov_m=0.256, matrix=256).seq


def test_long_protocol_streams_and_sequences_exactly(gre, monkeypatch):
    monkeypatch.setattr(session, "DAQ_FINITE_MAX_POINTS", 1 << 20)  # the DAQ streams this one
    with Bench.mock(virtual_time=True) as bench:
        plan = bench.plan(gre)
        assert {k: p.mode for k, p in plan.instruments.items()} == {"daq": "stream", "awg": "sequence"}
        m = bench.measure(gre)
        assert set(m.channels) == {"gx", "gy", "gz", "rf"}
        for c in ("gx", "gy", "gz"):  # the mock chain's delay, band limit and eddy currents; aligned < 5 %
            assert 0.01 < m.channels[c].nrmse < 0.2 and m.channels[c].nrmse_aligned < 0.05
        assert m.channels["rf"].nrmse_aligned < 0.02
        # what the fake DAQ played is the plan, sample for sample
        daq = plan.instruments["daq"]
        _, played = bench.world.daq.played[-1]
        for o in daq.outputs:
            ch = bench.channel_map.output(o).channel
            got = next(v for k, v in played.items() if k.endswith(f"ao{ch}"))
            np.testing.assert_array_equal(got, daq.expand(o))
        # what the AWG emulator plays, expanded from its sequence, is the one-shot render in DAC codes
        awg = plan.instruments["awg"]
        emu = bench.world.emulators["awg"].personality
        caps = bench._drivers["awg"].caps  # noqa: SLF001 - the test reads the connected model's code range
        for o in awg.outputs:
            oc = bench.channel_map.output(o)
            want = quantize_volts(awg.expand(o), offset_v=0.0, full_scale_v=oc.range_v, code_min=caps.code_min,
                                  code_max=caps.code_max, midscale=(caps.code_min + caps.code_max) / 2.0)
            np.testing.assert_array_equal(emu.output_codes(oc.channel), want)


def test_a_plan_changed_after_clearance_plays_nothing(gre, monkeypatch):
    monkeypatch.setattr(session, "DAQ_FINITE_MAX_POINTS", 1 << 20)
    real = InstrumentPlan.segment_volts

    def tampered(self: InstrumentPlan, index: int) -> dict[str, np.ndarray]:
        volts = real(self, index)
        if self.instrument == "daq" and index == len(self.segments) - 2:  # one segment, after the clearance
            volts = {k: v * 0.999 for k, v in volts.items()}  # slightly off: in range, not cleared
        return volts

    with Bench.mock(virtual_time=True) as bench:
        plan = bench.plan(gre)
        monkeypatch.setattr(InstrumentPlan, "segment_volts", tampered)
        with pytest.raises(SafetyError, match="not segment"):
            bench.run_plan(gre, plan, override=None, progress=None, capture=False)
        daq = bench.world.daq
        assert all(v == 0.0 for v in daq.outputs_v.values())  # outputs end at 0 V
        assert not bench._drivers["awg"].outputs_on  # noqa: SLF001 - and the AWG outputs off


def test_a_window_of_a_long_protocol_is_measured_on_its_own_time_base(gre):
    with Bench.mock(virtual_time=True) as bench:
        win = Window.of_blocks(gre, 100, 140)
        m = bench.measure(gre, window=win)
        assert m.t0_s == pytest.approx(float(win.start_ns) * 1e-9 - bench.config.lead_s)
        full = bench.render(gre)
        lead = int(round(bench.config.lead_s * 1e6))
        k0 = int(win.start_ns) // 1000
        n = m.reference["gx"].size - lead - int(round(bench.config.tail_s * 1e6))
        np.testing.assert_array_equal(m.reference["gx"][lead:lead + n], full.physical["gx"][lead + k0:lead + k0 + n])


def test_a_long_measurement_plots_an_overview_and_a_zoom(gre, monkeypatch, tmp_path):
    monkeypatch.setattr(session, "DAQ_FINITE_MAX_POINTS", 1 << 20)
    with Bench.mock(virtual_time=True, record=False) as bench:
        m = bench.measure(gre)
    assert m.overview is not None and set(m.overview) == {"gx", "gy", "gz", "rf"}
    bins = m.overview["gx"].shape[1]
    assert 1000 <= bins <= 4000 and m.overview_t_s is not None and m.overview_t_s.size == bins
    env = m.overview["gx"]
    assert np.all(env[0] <= env[1]) and np.all(env[2] <= env[3]) and np.abs(env).max() > 0.01  # T/m: it plays
    assert 0 < m.reference["gx"].size <= 20_000 and m.reference["gx"].shape == m.captured["gx"].shape
    fig = m.plot(tmp_path / "long.png")
    assert (tmp_path / "long.png").stat().st_size > 10_000 and len(fig.axes) == 12
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_the_loop_on_a_long_protocol_asks_for_a_window(gre, monkeypatch):
    from wavegen.errors import ConfigError

    monkeypatch.setattr(session, "DAQ_FINITE_MAX_POINTS", 1 << 20)
    with Bench.mock(virtual_time=True) as bench:
        with pytest.raises(ConfigError, match="run the loop on a window"):
            bench.hil(gre, channels=("gx",))
        h = bench.hil(gre, channels=("gx",), window=Window.of_blocks(gre, 40, 47), max_iterations=1)
        assert h.initial_nrmse["gx"] > h.final_nrmse["gx"]
