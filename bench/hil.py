"""Hardware in the loop on the mock bench: what the loop buys over the usual delay-and-gain calibration.

No Python package closes this loop (the GIRF tools are MATLAB), so the comparison is with what a bench
engineer does by hand: measure the delay and gain of each axis once and play the target advanced by
that delay and divided by that gain. Figures (same run, same simulated device):

- uncorrected NRMSE, NRMSE after the delay/gain calibration, NRMSE after wavegen's loop (GIRF from
  triangles + chirp, regularised inversion, ILC iterations, every drive safety-checked), their ratio;
- plays needed and wall time (GIRF plays included).

Cases: a trapezoid train at 60 T/m/s, a 6-turn spiral readout, and a trapezoid train at the full
150 T/m/s (there every sharper drive is unsafe: the loop clips its corrections to the slew limit, and
the gain calibration is refused by the safety interlock because 1/gain > 1 raises the slew).

Run: ``python bench/hil.py`` (``--quick``: shorter waveforms, 2 iterations, a few seconds).
"""

from __future__ import annotations

import argparse
import logging
import time

import numpy as np

import wavegen as wg
from wavegen import design, hil
from wavegen.bench import Bench
from wavegen.errors import SafetyError
from wavegen.sequence import Sequence

LIM = wg.SystemLimits.from_units(max_grad="40 mT/m", max_slew="150 T/m/s", max_b1="20 uT")


def trapezoids(slew: float, n: int) -> Sequence:
    lim = LIM.replace(max_slew_t_per_m_per_s=slew)
    seq = Sequence(LIM)
    for k in range(n):
        g = design.trapezoid_for_amplitude(lim, 0.02 * (-1) ** k, 300e-6)
        seq.add_block(gx=g, gy=g, gz=g)
        seq.add_block(duration_s=100e-6)
    return seq


def spiral(turns: int) -> Sequence:
    lim = LIM.replace(max_slew_t_per_m_per_s=60.0, max_grad_t_per_m=0.02)
    g = design.min_time_gradient(design.archimedean_spiral(200.0, turns, 2000), lim, g_end_t_per_m=0.0)
    seq = Sequence(LIM)
    seq.add_block(gx=design.ArbitraryGradient(g[:, 0], LIM.grad_raster_s),
                  gy=design.ArbitraryGradient(g[:, 1], LIM.grad_raster_s))
    return seq


def run_case(name: str, seq: Sequence, channels: tuple[str, ...], iterations: int) -> list[str]:
    rows = []
    with Bench.mock() as bench:
        m0 = bench.measure(seq)
        prog = bench.render(seq)
        rate = prog.rate_of(channels[0])
        drive = {c: hil.shift(prog.physical[c], -m0.channels[c].delay_s, rate) / m0.channels[c].gain for c in channels}
        try:
            m1 = bench.measure(seq, drive=drive)
            cal = {c: m1.nrmse[c] for c in channels}
        except SafetyError:
            cal = {c: float("nan") for c in channels}
        n0 = len(bench.world.daq.played)
        t0 = time.perf_counter()
        r = bench.hil(seq, channels=channels, target_nrmse=1e-4, max_iterations=iterations)
        dt = time.perf_counter() - t0
        plays = len(bench.world.daq.played) - n0
    for c in channels:
        ratio_txt = f"{cal[c] / r.final_nrmse[c]:9.1f}x" if np.isfinite(cal[c]) else "         -"
        cal_txt = f"{cal[c]:9.3%}" if np.isfinite(cal[c]) else "  refused"
        rows.append(
            f"{name:<22} {c:<3} {m0.nrmse[c]:9.3%} {cal_txt} {r.final_nrmse[c]:9.3%} "
            f"{r.reduction[c]:8.1f}x {ratio_txt} {plays:6d} {dt:7.2f}"
        )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="short waveforms, 2 iterations")
    args = ap.parse_args()
    logging.basicConfig(level=logging.CRITICAL)  # the interlock's refusals are expected here
    n, turns, it = (2, 3, 2) if args.quick else (6, 6, 5)
    print(f"{'case':<22} {'ch':<3} {'uncorr.':>9} {'dly+gain':>9} {'wavegen':>9} {'reduct.':>9} "
          f"{'vs calib':>10} {'plays':>6} {'time s':>7}")
    for name, seq, ch in (
        ("trapezoids 60 T/m/s", trapezoids(60.0, n), ("gx", "gy", "gz")),
        ("spiral readout", spiral(turns), ("gx", "gy")),
        ("trapezoids 150 T/m/s", trapezoids(150.0, n), ("gx",)),
    ):
        for row in run_case(name, seq, ch, it):
            print(row)


if __name__ == "__main__":
    main()
