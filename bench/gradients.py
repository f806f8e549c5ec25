"""Benchmark: time-optimal gradient along a spiral, wavegen vs sigpy (same physical problem, same run).

    python bench/gradients.py          # 16-turn, 4000-point Archimedean spiral (sigpy takes ~10-30 s)
    python bench/gradients.py --quick  # 4-turn, 1000-point spiral (a few seconds)

Problem: k_max = 250 cycles/m (2 mm resolution), 40 mT/m, 150 T/m/s, 10 us raster, 1H gamma,
start at 0 T/m, free end (sigpy's ``gfin=None``), Euclidean (rotation-invariant) limits.

sigpy's ``sigpy.mri.rf.min_time_gradient`` works in other units; it gets the same problem as
k in 1/cm (cycles/m / 100), gmax 4 G/cm, smax 15 G/cm/ms, dt 0.01 ms, gamma 4.2577 kHz/G. Its samples
``g[i]`` are taken at ``t = i dt``; both outputs are checked the same way: the worst vector-norm
amplitude over the samples and the worst vector-norm slew between consecutive samples (plus, for
wavegen, the half step from the start value, Pulseq's reading of raster-centre samples).

A second table runs the same path for 13C: sigpy leaves gamma out of its limits, so its 13C gradient
is as short as the 1H one and exceeds the amplitude and slew limits several times over.

Targets (issue 3): <= 50 ms, >= 100x faster than sigpy, duration within 1 % of sigpy's, no limit
exceeded.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from wavegen.design.mintime import min_time_gradient, sampled_limit_excess
from wavegen.design.trajectories import archimedean_spiral
from wavegen.limits import SystemLimits


def _best_of(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best = float("inf")
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="4 turns, 1000 points")
    args = ap.parse_args()
    turns, n_points = (4, 1000) if args.quick else (16, 4000)
    limits = SystemLimits()  # 40 mT/m, 150 T/m/s, 10 us, 1H
    gamma = limits.gamma_hz_per_t
    dt = limits.grad_raster_s
    k = archimedean_spiral(250.0, turns, n_points)

    min_time_gradient(k, limits)  # warm-up (imports, first-call costs)
    t_wg, g_wg = _best_of(lambda: min_time_gradient(k, limits), 5)
    g_wg = np.asarray(g_wg)
    amp_wg, slew_wg = sampled_limit_excess(g_wg, limits, first_t_per_m=[0.0, 0.0])
    k_end_err = float(np.max(np.abs(np.sum(g_wg, axis=0) * gamma * dt - (k[-1] - k[0]))))

    print(f"path: {turns}-turn Archimedean spiral, {n_points} points, k_max 250 cycles/m")
    print(f"{'':10s} {'time (s)':>10s} {'duration (ms)':>14s} {'max |g|/Gmax':>13s} {'max slew/Smax':>14s}")
    print(
        f"{'wavegen':10s} {t_wg:10.4f} {g_wg.shape[0] * dt * 1e3:14.3f} {amp_wg:13.4f} {slew_wg:14.4f}"
        f"   (k endpoint error {k_end_err:.2e} cycles/m)"
    )
    try:
        import sigpy.mri.rf as sprf
    except ImportError:
        print("sigpy is not installed: install the bench extra (pip install wavegen[bench]) to compare")
        return 0

    c = np.zeros((k.shape[0], 3))
    c[:, :2] = k / 100.0  # cycles/m -> 1/cm
    gamma_khz_per_g = gamma * 1e-7  # Hz/T -> kHz/G
    # warm-up: sigpy's inner step is numba-jitted; keep compilation out of the timing
    sprf.min_time_gradient(c[:50], g0=0, gfin=None, gmax=4.0, smax=15.0, dt=dt * 1e3, gamma=gamma_khz_per_g)
    t_sp, res = _best_of(
        lambda: sprf.min_time_gradient(
            c, g0=0, gfin=None, gmax=4.0, smax=15.0, dt=dt * 1e3, gamma=gamma_khz_per_g
        ),
        1,
    )
    g_sp = np.asarray(res[0])[:, :2] * 1e-2  # G/cm -> T/m
    amp_sp = float(np.max(np.linalg.norm(g_sp, axis=1))) / limits.max_grad_t_per_m
    slew_sp = (
        float(np.max(np.linalg.norm(np.diff(g_sp, axis=0), axis=1))) / dt / limits.max_slew_t_per_m_per_s
    )
    dur_sp = g_sp.shape[0] * dt
    dur_wg = g_wg.shape[0] * dt
    print(f"{'sigpy':10s} {t_sp:10.4f} {dur_sp * 1e3:14.3f} {amp_sp:13.4f} {slew_sp:14.4f}")
    print()
    print(f"speed-up wavegen vs sigpy: {t_sp / t_wg:.0f}x")
    print(f"duration wavegen / sigpy: {dur_wg / dur_sp:.4f}")
    ok_time = t_wg <= 0.050
    ok_speed = t_sp / t_wg >= 100
    ok_dur = dur_wg <= dur_sp * 1.01
    ok_lim = amp_wg <= 1 + 1e-12 and slew_wg <= 1 + 1e-12
    print(
        f"targets: <= 50 ms {'met' if ok_time else 'MISSED'}; >= 100x {'met' if ok_speed else 'MISSED'}; "
        f"duration within 1 % {'met' if ok_dur else 'MISSED'}; limits {'kept' if ok_lim else 'EXCEEDED'} "
        f"(sigpy overshoot: amplitude {100 * (amp_sp - 1):+.2f} %, slew {100 * (slew_sp - 1):+.2f} %)"
    )

    # the same spiral for 13C (gamma 10.7084 MHz/T): sigpy leaves gamma out of its limits
    lim13 = limits.replace(gamma_hz_per_t=10.7084e6)
    t13, g13 = _best_of(lambda: min_time_gradient(k, lim13), 3)
    amp13, slew13 = sampled_limit_excess(np.asarray(g13), lim13, first_t_per_m=[0.0, 0.0])
    t13s, res13 = _best_of(
        lambda: sprf.min_time_gradient(c, g0=0, gfin=None, gmax=4.0, smax=15.0, dt=dt * 1e3, gamma=1.07084),
        1,
    )
    g13s = np.asarray(res13[0])[:, :2] * 1e-2
    amp13s = float(np.max(np.linalg.norm(g13s, axis=1))) / limits.max_grad_t_per_m
    slew13s = (
        float(np.max(np.linalg.norm(np.diff(g13s, axis=0), axis=1))) / dt / limits.max_slew_t_per_m_per_s
    )
    print()
    print("same path for 13C (gamma 10.7084 MHz/T):")
    print(
        f"{'wavegen':10s} {t13:10.4f} {np.asarray(g13).shape[0] * dt * 1e3:14.3f} "
        f"{amp13:13.4f} {slew13:14.4f}"
    )
    print(f"{'sigpy':10s} {t13s:10.4f} {g13s.shape[0] * dt * 1e3:14.3f} {amp13s:13.4f} {slew13s:14.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
