"""RF design benchmark: wavegen vs SigPy (``sigpy.mri.rf``), measured in the same run.

Jobs (docs/references/benchmarks.md targets):

- SLR design of a 512-sample pulse (tb = 8, d1 = d2 = 0.01): wavegen ``slr_pulse`` (B1 in tesla,
  validated, isodelay measured by simulation) vs SigPy ``dzrf`` (radians per sample). Target <= 10 ms.
  wavegen designs the filter on 256 hard-pulse steps (32 per time-bandwidth unit) and re-bins the
  rotation onto the 512-sample raster (``wavegen.design.slr`` docstring); SigPy designs on 512. The
  row "designed on 512" forces the full-length design (``slr._DESIGN_STEPS_FLOOR``) for an
  like-for-like comparison.
- Bloch simulation, 512 time steps x 2000 positions: wavegen ``simulate_ab`` (C kernel, and the NumPy
  reference) vs SigPy ``abrm``. Target <= 10 ms. The two results are compared (max |d beta|).

Run ``python bench/rf.py`` (``--quick`` for fewer repetitions). Absolute times on shared machines
are noise; the ratios measured in the same run are the figures to read. Timings are the best of N.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from wavegen.design import bloch, slr
from wavegen.limits import GAMMA_1H_HZ_PER_T, SystemLimits


def best_of(fn: Callable[[], Any], repeat: int) -> float:
    fn()  # warm-up (imports, JIT of the peer, caches)
    best = math.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repetitions (a few seconds)")
    args = ap.parse_args(argv)
    repeat = 3 if args.quick else 15
    try:
        import sigpy.mri.rf as srf  # noqa: F401
    except ImportError:
        print("sigpy is not installed (pip install sigpy): no peer to compare against; wavegen only")
        srf = None

    n, tb = 512, 8.0
    gamma = GAMMA_1H_HZ_PER_T
    lim = SystemLimits(rf_raster_s=5e-6, max_b1_t=1e-3)
    duration = n * lim.rf_raster_s
    rows: list[tuple[str, float, float | None, float]] = []

    # --- SLR -----------------------------------------------------------------------------------
    for label, phase, ftype, sig_ftype in [
        ("SLR ex 512, linear, least squares", "linear", "ls", "ls"),
        ("SLR ex 512, linear, Parks-McClellan", "linear", "pm", "pm"),
        ("SLR ex 512, minimum phase (PM)", "minimum", "pm", "min"),
    ]:

        def design(phase: Any = phase, ftype: Any = ftype) -> Any:
            return slr.slr_pulse(math.pi / 2, duration, tb, phase=phase, filter_type=ftype, limits=lim)

        def peer(f: str = sig_ftype) -> Any:
            return srf.dzrf(n, tb, "ex", f, 0.01, 0.01)

        t_wg = best_of(design, repeat)
        t_sp = best_of(peer, max(3, repeat // 3)) if srf is not None else None
        rows.append((label, t_wg, t_sp, 10e-3))
        if phase == "linear":
            saved = slr._DESIGN_STEPS_FLOOR
            slr._DESIGN_STEPS_FLOOR = n  # like for like: the filter designed on all 512 samples
            try:
                t_full = best_of(design, repeat)
            finally:
                slr._DESIGN_STEPS_FLOOR = saved
            rows.append((label.replace("512,", "512 (designed on 512),"), t_full, t_sp, 10e-3))

    # --- Bloch -----------------------------------------------------------------------------------
    x_cycles = np.linspace(-2 * tb, 2 * tb, 2000)
    if srf is not None:
        rf_rad = srf.dzrf(n, tb, "ex", "pm", 0.01, 0.01)
    else:
        rf_rad = slr.inverse_slr(*(lambda b: (slr.beta_to_alpha(b), b))(slr.slr_beta(n, tb)))
    dt = 1e-6
    g = 1e-3
    # sigpy: rotation per step rf_rad (rad) and x * 2*pi/N; wavegen: the same in SI units. SigPy's
    # rotation sense equals wavegen's (bloch module docstring), so alpha and beta agree directly.
    b1_t = np.asarray(rf_rad) / (2 * math.pi * gamma * dt)
    pos_m = x_cycles / (n * gamma * g * dt)
    kw: dict[str, Any] = dict(gradient_t_per_m=g, positions_m=pos_m)
    native = bloch._has_native()
    if native:
        t_c = best_of(lambda: bloch.simulate_ab(b1_t, dt, backend="native", **kw), repeat)
    t_np = best_of(lambda: bloch.simulate_ab(b1_t, dt, backend="numpy", **kw), max(3, repeat // 3))
    t_sp = best_of(lambda: srf.abrm(rf_rad, x_cycles), max(3, repeat // 3)) if srf is not None else None
    if native:
        rows.append(("Bloch 512 x 2000 (C kernel)", t_c, t_sp, 10e-3))
    rows.append(("Bloch 512 x 2000 (NumPy reference)", t_np, t_sp, 10e-3))
    agree = ""
    if srf is not None:
        a_s, b_s = srf.abrm(rf_rad, x_cycles)
        a_w, b_w = bloch.simulate_ab(b1_t, dt, **kw)
        da = np.max(np.abs(a_s - a_w))
        db = np.max(np.abs(b_s - b_w))
        agree = f"max |d alpha| = {da:.1e}, max |d beta| = {db:.1e}"

    print(
        f"wavegen RF benchmark ({'quick' if args.quick else 'full'}; best of {repeat}; backend "
        f"{'native' if native else 'numpy'})"
    )
    print(f"{'job':54s} {'wavegen':>10s} {'sigpy':>10s} {'speed-up':>9s} {'target':>8s}  met")
    for label, t_w, t_s, target in rows:
        sp = f"{t_s * 1e3:8.2f}ms" if t_s is not None else f"{'n/a':>10s}"
        ratio = f"{t_s / t_w:8.1f}x" if t_s is not None else f"{'n/a':>9s}"
        met = "yes" if t_w <= target else "NO"
        print(f"{label:54s} {t_w * 1e3:8.2f}ms {sp} {ratio} {target * 1e3:6.0f}ms  {met}")
    if agree:
        print(f"Bloch agreement wavegen vs sigpy.abrm: {agree}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
