"""A tour of the bench: play, measure and correct waveforms on the built-in mock bench.

Run: ``python examples/bench_tour.py [OUT_DIR]`` (plots go to OUT_DIR, default ``bench-tour-out``).

The mock bench is wavegen's default: loopback emulators of real AWGs and a fake NI DAQ, started in this
process, wired to a simulated device under test (gradient chains with delay, band limit, eddy currents
and noise; an RF chain with gain compression). Everything below runs unchanged on a real bench: replace
``Bench.mock()`` with ``Bench.from_file("bench.toml")`` (see ``examples/bench.toml``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np

import wavegen as wg
from wavegen import design
from wavegen.bench import Bench
from wavegen.sequence import Sequence


def trapezoid_train(limits: wg.SystemLimits, n: int = 6) -> Sequence:
    """Six trapezoids of alternating sign on gx (an EPI-like readout train), a blip on gy between them.

    Designed at 75 % of the gradient and 40 % of the slew limit: pre-compensation sharpens every corner
    (the drive must lead the hardware's lag), so a train at the slew limit would leave the loop no room --
    the interlock would refuse every correction.
    """
    seq = Sequence(limits)
    room = limits.replace(max_grad_t_per_m=0.75 * limits.max_grad_t_per_m,
                          max_slew_t_per_m_per_s=0.4 * limits.max_slew_t_per_m_per_s)
    ro = design.readout_trapezoid(room, 400e-6, flat_area_per_m=500.0)
    neg = design.trapezoid_for_amplitude(room, -ro.amplitude_t_per_m, ro.flat_time_s)
    blip = design.shortest_trapezoid(room, area_per_m=20.0)
    for i in range(n):
        seq.add_block(gx=ro if i % 2 == 0 else neg)
        seq.add_block(gy=blip)
    return seq


def main(out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    limits = wg.SystemLimits.from_units(max_grad="40 mT/m", max_slew="150 T/m/s", max_b1="20 uT")
    seq = trapezoid_train(limits)
    print(seq)  # objects show themselves

    with Bench.mock(limits=limits) as bench:
        # 1. what is on the bench
        for info in bench.instruments():
            print(f"instrument {info.name}: {info.driver} at {info.resource} -- {info.idn}")

        # 2. the interlock: every play is checked first
        report = bench.check(seq)
        print(report.summary().splitlines()[0])

        # 3. play: check -> render at each instrument's rate -> upload -> verify -> arm -> trigger
        print(bench.play(seq))

        # 4. measure: play, capture, align (sub-sample delay), compare
        m = bench.measure(seq)
        print(m)
        for name, nrmse in m.nrmse.items():
            print(f"  {name}: NRMSE {nrmse * 100:.2f} %")
        _save(m.plot(), out_dir / "measurement.png")

        # 5. hardware in the loop: estimate the system response, pre-compensate, iterate
        h = bench.hil(seq, channels=("gx", "gy"), target_nrmse=0.01, max_iterations=5)
        print(h)
        for name in h.initial_nrmse:
            print(f"  {name}: NRMSE {h.initial_nrmse[name] * 100:.2f} % -> {h.final_nrmse[name] * 100:.3f} % "
                  f"({h.reduction[name]:.1f}x)")
        _save(h.plot(), out_dir / "hil.png")

        # 6. nothing unsafe goes on: a trapezoid above the bench's slew limit is refused before any upload
        fast = Sequence(limits)
        fast.add_block(gx=design.Trapezoid(0.035, 100e-6, 200e-6, 100e-6))  # 350 T/m/s
        try:
            bench.play(fast)
        except wg.SafetyError as e:
            print(f"refused: {e.quantity} {e.value:.0f} {e.unit} > {e.limit:.0f} {e.unit} on {e.channel}")
    print(f"plots in {out_dir}/")


def _save(fig: Any, path: Path) -> None:
    import matplotlib.pyplot as plt

    f = fig if hasattr(fig, "savefig") else getattr(fig, "figure", np.ravel(np.asarray(fig, dtype=object))[0].figure)
    f.savefig(path, dpi=90)
    plt.close(f)


if __name__ == "__main__":
    import matplotlib

    matplotlib.use("Agg")
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("bench-tour-out"))
