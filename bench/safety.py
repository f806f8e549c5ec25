"""Benchmark of wavegen.safety: SAFE PNS and SAR windows on an 82 s, 8.2 M-sample, 3-axis waveform.

Peer: pypulseq's SAFE implementation, i.e. what ``pypulseq.Sequence.calc_pns`` runs after sampling the
gradients (``safe_gwf_to_pns`` with the NaN-marker padding, then ``0.01 * pns[~isfinite(rf[1:])]`` and the
root-sum-square), on the *same* sample array, in the same run. The sampling of a pypulseq Sequence
(``get_gradients``) is not included in either timing.

pypulseq's filter is a truncated convolution (about 11 000 taps for tau = 3 ms at 10 us), so its cost is
linear in the number of samples. By default it is timed on a slice (``--peer-seconds``, 8.2 s) and the time
for the full 82 s is extrapolated linearly -- stated as such in the output; ``--full`` runs it on all
8.2 M samples (about 1.5 minutes). Values are compared on the samples both computed (max abs difference of
the per-axis stimulation and of the norm, as fractions of the limit; target 1e-6).

SAR: exact 10 s and 360 s window maxima (periodic) of an 8.2 M-sample complex RF stream at 10 us, with a
whole-body calibration; target <= 0.5 s.

Usage: python bench/safety.py [--quick] [--full] [--repeat N]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np


def make_gre(duration_s: float, dt_s: float = 10e-6, tr_s: float = 10e-3) -> tuple[np.ndarray, np.ndarray]:
    """A GRE-like 3-axis gradient waveform and its RF (sinc pulses), sampled at raster centres."""
    n_tr = round(tr_s / dt_s)
    n_rep = round(duration_s / tr_s)
    t = (np.arange(n_tr) + 0.5) * dt_s

    def trap(t0: float, ramp: float, flat: float, amp: float) -> np.ndarray:
        x = t - t0
        up = np.clip(x / ramp, 0, 1)
        down = np.clip((ramp + flat + ramp - x) / ramp, 0, 1)
        return amp * np.minimum(up, down)

    gz = trap(0.2e-3, 0.2e-3, 1.0e-3, 0.01) + trap(1.6e-3, 0.15e-3, 0.3e-3, -0.015)
    gx = trap(1.6e-3, 0.15e-3, 0.3e-3, -0.012) + trap(2.4e-3, 0.2e-3, 5.12e-3, 0.008)
    gx += trap(8.0e-3, 0.3e-3, 1.0e-3, 0.03)  # spoiler
    gy_unit = trap(1.6e-3, 0.15e-3, 0.3e-3, 1.0) - trap(8.0e-3, 0.15e-3, 0.3e-3, 1.0)
    pe = np.linspace(-0.02, 0.02, 256)[np.arange(n_rep) % 256]
    g = np.empty((n_rep * n_tr, 3))
    g[:, 0] = np.tile(gx, n_rep)
    g[:, 2] = np.tile(gz, n_rep)
    g[:, 1] = (pe[:, None] * gy_unit[None, :]).ravel()
    x = (t - 0.8e-3) / 1.0e-3  # sinc over the 1 ms plateau of gz
    rf1 = np.where(np.abs(x) <= 0.5, np.sinc(4 * x) * (0.5 + 0.5 * np.cos(2 * np.pi * x)), 0.0) * 8e-6
    rf = np.tile(rf1.astype(complex), n_rep)
    return g, rf


def peer_pns(g: np.ndarray, dt_s: float) -> tuple[np.ndarray, np.ndarray]:
    """pypulseq's PNS on a sample array, exactly as calc_pns post-processes it."""
    from pypulseq.utils.safe_pns_prediction import safe_example_hw, safe_gwf_to_pns

    comp, res = safe_gwf_to_pns(g, np.full(g.shape[0], np.nan), dt_s, safe_example_hw())
    comp = 0.01 * comp[~np.isfinite(res.rf[1:]), :]
    return comp, np.sqrt((comp**2).sum(axis=1))


def best_of(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="0.82 s waveform instead of 82 s (a few seconds)")
    ap.add_argument("--full", action="store_true", help="run pypulseq on all samples (slow)")
    ap.add_argument("--peer-seconds", type=float, default=8.2, help="slice for pypulseq when not --full")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    from wavegen.safety import Waveforms
    from wavegen.safety.pns import safe_pns
    from wavegen.safety.sar import SarCalibration, sar_windows

    dt = 10e-6
    duration = 0.82 if args.quick else 82.0
    g, rf = make_gre(duration, dt)
    n = g.shape[0]
    print(f"waveform: {duration:g} s, {n} samples x 3 axes at {dt * 1e6:g} us; RF {rf.size} complex samples")

    safe_pns(g[:1000], dt)  # warm-up (imports, page faults)
    t_ours, res = best_of(lambda: safe_pns(g, dt), args.repeat)
    print(f"wavegen safe_pns            : {t_ours:8.3f} s   (peak {100 * res.max:.2f} %)")

    try:
        import pypulseq  # noqa: F401
    except ImportError:
        print("pypulseq is not installed: no peer comparison (pip install pypulseq)")
        t_peer_full = float("nan")
        diff = float("nan")
        extrapolated = False
    else:
        n_peer = n if (args.full or args.quick) else min(n, round(args.peer_seconds / dt))
        gp = g[:n_peer].copy()
        gp[-1] = 0.0  # pypulseq pads with zeros; the slice ends where it ends for both
        t0 = time.perf_counter()
        comp, norm = peer_pns(gp, dt)
        t_peer = time.perf_counter() - t0
        ours_slice = safe_pns(gp, dt)
        diff = max(
            float(np.abs(ours_slice.per_axis - comp).max()), float(np.abs(ours_slice.norm - norm).max())
        )
        extrapolated = n_peer < n
        t_peer_full = t_peer * n / n_peer
        how = (
            f"measured on {n_peer} samples, x{n / n_peer:.1f} linear extrapolation"
            if extrapolated
            else "measured"
        )
        print(f"pypulseq SAFE (calc_pns core): {t_peer_full:8.3f} s   ({how}; slice itself {t_peer:.3f} s)")

    wf = Waveforms(g, dt, rf, dt)
    cal = SarCalibration("whole_body", w_per_kg_per_ut2=0.4)
    sar_windows(Waveforms(g[:1000], dt, rf[:1000], dt), cal)  # warm-up
    t_sar, wins = best_of(lambda: sar_windows(wf, cal), args.repeat)
    w10, w360 = wins
    print(f"wavegen SAR windows 10 s + 360 s: {t_sar:6.3f} s   ({w10.value:.3f} / {w360.value:.3f} W/kg)")

    from wavegen.limits import SystemLimits
    from wavegen.safety import check

    t0 = time.perf_counter()
    rep = check(wf, SystemLimits(max_slew_t_per_m_per_s=200.0), sar_calibration=cal, keep_traces=False)
    t_check = time.perf_counter() - t0
    print(f"wavegen check(), every rule     : {t_check:6.3f} s   ({len(rep.results)} rules; no peer)")

    print()
    print(f"{'job':<34} {'wavegen/s':>10} {'peer/s':>10} {'ratio':>8} {'target':>22} {'met':>4}")
    ratio = t_peer_full / t_ours
    ok_pns = t_ours <= 1.0 and ratio >= 50 and diff <= 1e-6
    print(
        f"{'SAFE PNS, 3 axes':<34} {t_ours:10.3f} {t_peer_full:10.3f} {ratio:7.1f}x "
        f"{'<=1 s, >=50x, <=1e-6':>22} {'yes' if ok_pns else 'NO':>4}"
    )
    print(f"{'  max |difference| vs peer':<34} {diff:10.2e}")
    print(
        f"{'SAR windows (10 s, 360 s)':<34} {t_sar:10.3f} {'-':>10} {'-':>8} {'<=0.5 s':>22} "
        f"{'yes' if t_sar <= 0.5 else 'NO':>4}"
    )
    if args.quick:
        print("(--quick: a 0.82 s waveform; the targets are for 82 s)")
    if extrapolated:
        print("(peer time extrapolated linearly from a slice; run --full to measure it on all samples)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
