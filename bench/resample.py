"""Resampling throughput: wavegen's kernels against what a user would otherwise call, in one run.

The job (issue 2): 10x up-sampling to 20 M output samples, float64 out, on one core. Peers:
``numpy.interp`` (linear), ``scipy.interpolate.CubicSpline`` (cubic; construction + evaluation, and
evaluation alone), ``scipy.signal.resample_poly`` with a Kaiser filter of the same attenuation and
transition band as wavegen's sinc (band-limited), and a memory copy of the output size as the
bandwidth baseline. Each figure is the best of several repeats; the ratios are what to read, since
absolute times on shared machines are noise.

    python bench/resample.py            # the full job (20 M outputs)
    python bench/resample.py --quick    # 2 M outputs, a few seconds
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable

import numpy as np


def best_of(fn: Callable[[], object], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def stopband_db_upsampled(render: Callable[[np.ndarray], np.ndarray], up: int, passband: float) -> float:
    """Worst image level (dB re the tone) of an up-sampler on a pass-band tone sweep (least squares)."""
    n = 1500
    worst = 0.0
    for f in np.linspace(0.02, passband * 0.5, 7):
        y = render(np.cos(2 * np.pi * f * np.arange(n) + 0.3))
        u = np.arange(y.size) / up
        mid = (u > 150) & (u < n - 150)
        freqs = [f] + [k + s * f for k in range(1, up // 2 + 1) for s in (-1, 1) if k + s * f < up / 2]
        m = np.column_stack([g(2 * np.pi * fr * u[mid]) for fr in freqs for g in (np.cos, np.sin)])
        c, *_ = np.linalg.lstsq(m, y[mid], rcond=None)
        amps = np.hypot(c[0::2], c[1::2])
        worst = max(worst, float(np.max(amps[1:]) / amps[0]))
    return 20 * np.log10(worst)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="2 M outputs instead of 20 M")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    try:
        from scipy import interpolate, signal
    except ImportError:  # pragma: no cover
        print("scipy is needed for the peers", file=sys.stderr)
        return 2
    import importlib

    import wavegen
    from wavegen.dsp import DacFormat, Resampler
    from wavegen.dsp.reference import sinc_design

    backend = importlib.import_module("wavegen.dsp").BACKEND
    up = 10
    n_out = 2_000_000 if args.quick else 20_000_000
    n_in = n_out // up + 1
    rng = np.random.default_rng(0)
    x = np.cumsum(rng.standard_normal(n_in)) * 1e-3  # a smooth-ish random waveform
    x -= x.mean()
    x /= 2 * np.max(np.abs(x))
    t_in = np.arange(n_in, dtype=np.float64) * up
    t_out = np.arange(n_out, dtype=np.float64)
    out = np.empty(n_out)
    rows: list[tuple[str, float, str]] = []
    rep = args.repeats

    # memory-bandwidth baseline: copy an output-sized float64 array
    src = np.ones(n_out)
    t_copy = best_of(lambda: np.copyto(out, src), rep)
    rows.append(("memory copy (float64, baseline)", t_copy, ""))

    # linear
    t_interp = best_of(lambda: np.interp(t_out, t_in, x), rep)
    r_lin = Resampler(1, up, method="linear")
    t_lin = best_of(lambda: r_lin.render(x, 0, n_out), rep)
    t_lin_out = best_of(lambda: r_lin.render(x, 0, n_out, out=out), rep)
    rows.append(("numpy.interp", t_interp, ""))
    rows.append(("wavegen linear", t_lin, f"{t_interp / t_lin:.1f}x numpy.interp"))
    rows.append(("wavegen linear, into a buffer", t_lin_out, f"{t_interp / t_lin_out:.1f}x numpy.interp"))

    # cubic
    def cubic_spline_full() -> None:
        interpolate.CubicSpline(t_in, x)(t_out)

    spline = interpolate.CubicSpline(t_in, x)
    t_cs_full = best_of(cubic_spline_full, rep)
    t_cs_eval = best_of(lambda: spline(t_out), rep)
    r_cub = Resampler(1, up, method="cubic")
    t_cub = best_of(lambda: r_cub.render(x, 0, n_out), rep)
    t_cub_out = best_of(lambda: r_cub.render(x, 0, n_out, out=out), rep)
    rows.append(("scipy CubicSpline (build + evaluate)", t_cs_full, ""))
    rows.append(("scipy CubicSpline (evaluate only)", t_cs_eval, ""))
    rows.append(("wavegen cubic (Keys)", t_cub, f"{t_cs_eval / t_cub:.1f}x CubicSpline evaluation"))
    rows.append(("wavegen cubic (Keys), into a buffer", t_cub_out,
                 f"{t_cs_eval / t_cub_out:.1f}x CubicSpline evaluation"))

    # band-limited: the same Kaiser design for both
    atten, passband = 80.0, 0.8
    d = sinc_design(atten, passband, 1.0)
    h = signal.firwin(up * d.ntaps + 1, 1.0 / up, window=("kaiser", d.beta)) * up
    t_poly = best_of(lambda: signal.resample_poly(x, up, 1, window=h), rep)
    r_sinc = Resampler(1, up, method="sinc", atten_db=atten, passband=passband)
    t_sinc = best_of(lambda: r_sinc.render(x, 0, n_out), rep)
    t_sinc_out = best_of(lambda: r_sinc.render(x, 0, n_out, out=out), rep)
    sb_wavegen = stopband_db_upsampled(lambda v: r_sinc.render(v), up, passband)

    def poly_aligned(v: np.ndarray) -> np.ndarray:
        y = signal.resample_poly(v, up, 1, window=h)
        return y  # resample_poly compensates its filter delay itself

    sb_poly = stopband_db_upsampled(poly_aligned, up, passband)
    rows.append((f"scipy resample_poly ({h.size}-tap Kaiser, same spec)", t_poly, f"stop band {sb_poly:.1f} dB"))
    rows.append((f"wavegen sinc ({d.ntaps} taps/output)", t_sinc,
                 f"{t_poly / t_sinc:.1f}x resample_poly; stop band {sb_wavegen:.1f} dB"))
    rows.append(("wavegen sinc, into a buffer", t_sinc_out, f"{t_poly / t_sinc_out:.1f}x resample_poly"))

    # fused linear -> int16 DAC codes
    dac = DacFormat.for_full_scale(16, full_scale=1.0)
    codes = np.empty(n_out, np.int16)
    t_codes = best_of(lambda: r_lin.render_codes(x, dac, 0, n_out, out=codes), rep)
    t_codes_alloc = best_of(lambda: r_lin.render_codes(x, dac, 0, n_out), rep)
    t_two_pass = best_of(lambda: np.rint(np.interp(t_out, t_in, x) * 32767).astype(np.int16), rep)
    rows.append(("numpy.interp + rint + astype(int16)", t_two_pass, ""))
    rows.append(("wavegen fused linear -> int16", t_codes_alloc, f"{t_two_pass / t_codes_alloc:.1f}x numpy"))
    rows.append(("wavegen fused linear -> int16, into a buffer", t_codes,
                 f"{n_out / t_codes / 1e9:.2f} G samples/s"))

    print(f"wavegen {wavegen.__version__}, backend {backend}, {os.cpu_count()} cores; "
          f"10x up-sampling to {n_out / 1e6:.0f} M outputs; best of {rep}")
    print(f"{'job':58s} {'time':>9s} {'M samples/s':>12s}  vs peer (same run)")
    for name, t, note in rows:
        print(f"{name:58s} {t * 1e3:7.1f}ms {n_out / t / 1e6:12.0f}  {note}")
    print()
    t_zero = best_of(lambda: np.empty(n_out)[::512].fill(1.0), rep)
    print(f"(the OS zeroes fresh pages for every new output array: touching a new {n_out * 8 / 1e6:.0f} MB array "
          f"costs {t_zero * 1e3:.1f} ms here, which every row that allocates pays, the peers included)")
    print()
    print("targets (issue 2): ratio with a new output array / into a reused buffer")

    def verdict(a: float, b: float, goal: float) -> str:
        return "met" if a >= goal else ("met into a buffer only" if b >= goal else "NOT met")

    print(f"  linear >= 5x numpy.interp:          {t_interp / t_lin:5.1f}x / {t_interp / t_lin_out:5.1f}x  "
          f"{verdict(t_interp / t_lin, t_interp / t_lin_out, 5)}")
    print(f"  cubic >= 10x CubicSpline (eval):    {t_cs_eval / t_cub:5.1f}x / {t_cs_eval / t_cub_out:5.1f}x  "
          f"{verdict(t_cs_eval / t_cub, t_cs_eval / t_cub_out, 10)}")
    sinc_ok = sb_wavegen <= -80
    print(f"  sinc >= 3x resample_poly at 80 dB:  {t_poly / t_sinc:5.1f}x / {t_poly / t_sinc_out:5.1f}x  "
          f"{verdict(t_poly / t_sinc, t_poly / t_sinc_out, 3) if sinc_ok else 'NOT met'} "
          f"(stop band {sb_wavegen:.1f} dB)")
    print(f"  fused linear->int16 >= 1 G/s:       {n_out / t_codes_alloc / 1e9:5.2f} / {n_out / t_codes / 1e9:5.2f}   "
          f"{verdict(n_out / t_codes_alloc / 1e9, n_out / t_codes / 1e9, 1.0)}")
    print(f"  linear within 2x of a copy:         {t_lin_out / t_copy:5.1f}x the copy time  "
          f"{'met' if t_lin_out <= 2 * t_copy else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
