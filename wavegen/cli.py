"""The ``wavegen`` command.

``wavegen demo`` is the main job on the built-in mock bench (no instrument attached): it designs a
slice-selective excitation with its gradients, checks them against the safety rules, renders every
channel at instrument sample rates with the native resampler, turns them into DAC codes and writes a
report with plots to an output folder.

Exit codes: 0 success, 1 a safety violation or a failed check, 2 bad usage or input, 3 an internal
error.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from wavegen.errors import SafetyError, WavegenError

__all__ = ["main", "run_demo"]

log = logging.getLogger(__name__)


def run_demo(out_dir: Path, *, plot: bool = True) -> dict[str, Any]:
    """Design, check, render and quantize a small slice-selective excitation; write the report.

    Returns a dict of the figures the report states (for tests and notebooks).
    """
    from wavegen import design, safety
    from wavegen.limits import SystemLimits
    from wavegen.resample import DacFormat, Resampler

    resample_mod = importlib.import_module("wavegen.resample")
    out_dir.mkdir(parents=True, exist_ok=True)
    limits = SystemLimits.from_units(max_grad="40 mT/m", max_slew="150 T/m/s", max_b1="20 uT")
    raster = limits.grad_raster_s

    # 1. design: a 3 ms sinc excitation (TBW 4, 15 degrees), its slice gradient and rephaser, a readout
    rf = design.sinc_pulse(np.deg2rad(15.0), 3e-3, 4.0, limits=limits)
    gz = design.slice_select_gradient(rf, 5e-3, limits)
    gz_area = gz.area_t_s_per_m
    gz_reph = design.shortest_trapezoid(limits, area_t_s_per_m=-0.5 * gz_area)
    gx_pre = design.shortest_trapezoid(limits, area_t_s_per_m=-2.0e-5)
    gx_ro = design.readout_trapezoid(limits, flat_area_t_s_per_m=4.0e-5, flat_time_s=2.56e-3) \
        if hasattr(design, "readout_trapezoid") else design.shortest_trapezoid(limits, area_t_s_per_m=4.0e-5)

    # 2. the waveforms on the gradient raster: gz (excite, rephase) then gx (prephase, read), one TR
    def samples(g: Any) -> np.ndarray:
        return np.asarray(g.sample(raster), dtype=np.float64)

    seg_z = np.concatenate([samples(gz), samples(gz_reph)])
    seg_x = np.concatenate([np.zeros(seg_z.size), samples(gx_pre), samples(gx_ro)])
    n = seg_x.size + 100  # and a short pause
    gx = np.zeros(n)
    gz_all = np.zeros(n)
    gx[: seg_x.size] = seg_x
    gz_all[: seg_z.size] = seg_z
    grad = np.column_stack([gx, np.zeros(n), gz_all])
    rf_start = int(round(gz.rise_time_s / limits.rf_raster_s)) if hasattr(gz, "rise_time_s") else 0
    n_rf = int(round(n * raster / limits.rf_raster_s))
    b1 = np.zeros(n_rf, dtype=np.complex128)
    b1[rf_start: rf_start + rf.b1_t.size] = rf.b1_t

    # 3. safety: every rule, on the bench (a phantom, so patient rules are reported, not judged)
    wf = safety.Waveforms(grad, raster, rf_b1_t=b1, rf_raster_s=limits.rf_raster_s)
    report = safety.check(wf, limits, mode="normal", patient=False)
    (out_dir / "safety.txt").write_text(report.summary() + "\n")
    report.raise_if_unsafe()

    # 4. render at instrument rates: gradients to an AWG at 1 MS/s (linear is exact for them); RF I/Q
    #    at 10 MS/s band-limited (sinc). Gradient samples sit at raster centres (Pulseq convention).
    t0 = time.perf_counter()
    r_grad = Resampler(1 / raster, 1e6, method="linear", src_t0_s=raster / 2)
    gx_1m = r_grad.render(gx)
    gz_1m = r_grad.render(gz_all)
    r_rf = Resampler(1 / limits.rf_raster_s, 10e6, method="sinc", src_t0_s=limits.rf_raster_s / 2, atten_db=80)
    rf_10m = r_rf.render(b1)
    t_render = time.perf_counter() - t0

    # 5. DAC codes: +-40 mT/m full scale on a 16-bit symmetric DAC (Keysight 33500 style)
    dac = DacFormat.for_full_scale(16, full_scale=limits.max_grad_t_per_m)
    codes_x = r_grad.render_codes(gx, dac)
    codes_z = r_grad.render_codes(gz_all, dac)

    area_in = float(np.sum(gx) * raster)
    area_out = float(np.sum(gx_1m) * 1e-6)
    figures = {
        "backend": resample_mod.BACKEND,
        "tr_s": n * raster,
        "safety_ok": report.ok,
        "rules": len(report.results) if hasattr(report, "results") else None,
        "gx_area_t_s_per_m": area_in,
        "gx_area_rendered_t_s_per_m": area_out,
        "render_s": t_render,
        "gx_codes_range": (int(codes_x.min()), int(codes_x.max())),
        "rf_peak_t": float(np.max(np.abs(rf_10m))),
    }
    np.savez(out_dir / "demo.npz", grad_t_per_m=grad, grad_raster_s=raster, rf_b1_t=b1,
             gx_1mhz_t_per_m=gx_1m, gz_1mhz_t_per_m=gz_1m, rf_10mhz_t=rf_10m, gx_codes=codes_x, gz_codes=codes_z)
    lines = [
        "wavegen demo: slice-selective excitation and readout, designed, checked, rendered, quantized",
        f"  resampling backend          {figures['backend']}",
        f"  TR                          {figures['tr_s'] * 1e3:.2f} ms",
        f"  RF                          15 deg sinc, 3 ms, TBW 4, peak {np.max(np.abs(rf.b1_t)) * 1e6:.2f} uT",
        f"  slice gradient              {gz.amplitude_t_per_m * 1e3:.2f} mT/m",
        f"  safety (bench mode)         {'PASS' if report.ok else 'FAIL'}; see safety.txt",
        f"  gx area, 10 us raster       {area_in * 1e6:.6f} mT*ms/m",
        f"  gx area, rendered at 1 MS/s {area_out * 1e6:.6f} mT*ms/m",
        f"  render time                 {t_render * 1e3:.1f} ms",
        f"  gx DAC codes                {figures['gx_codes_range'][0]} .. {figures['gx_codes_range'][1]} "
        f"(int16, +-{limits.max_grad_t_per_m * 1e3:.0f} mT/m full scale)",
    ]
    if plot:
        figures["plot"] = str(_plot(out_dir / "waveforms.png", raster, grad, limits.rf_raster_s, b1, gx_1m, rf_10m))
        lines.append(f"  plot                        {figures['plot']}")
    (out_dir / "report.txt").write_text("\n".join(lines) + "\n")
    figures["report"] = str(out_dir / "report.txt")
    return figures


def _plot(path: Path, raster: float, grad: np.ndarray, rf_raster: float, b1: np.ndarray, gx_1m: np.ndarray,
          rf_10m: np.ndarray) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(3, 1, figsize=(9, 7), sharex=True)
    t_g = (np.arange(grad.shape[0]) + 0.5) * raster * 1e3
    axes[0].plot(np.arange(b1.size) * rf_raster * 1e3 + rf_raster * 5e2, np.abs(b1) * 1e6, label="|B1|, 1 us raster")
    axes[0].plot(np.arange(rf_10m.size) * 1e-4, np.abs(rf_10m) * 1e6, lw=0.6, label="|B1| at 10 MS/s (sinc)")
    axes[0].set_ylabel("B1 (uT)")
    for i, name in ((0, "gx"), (2, "gz")):
        axes[1 if name == "gx" else 2].step(t_g, grad[:, i] * 1e3, where="mid", label=f"{name}, 10 us raster")
    axes[1].plot(np.arange(gx_1m.size) * 1e-3, gx_1m * 1e3, lw=0.6, label="gx at 1 MS/s (linear)")
    axes[1].set_ylabel("gx (mT/m)")
    axes[2].set_ylabel("gz (mT/m)")
    axes[2].set_xlabel("time (ms)")
    for ax in axes:
        ax.legend(loc="upper right", fontsize=8)
        ax.grid(alpha=0.3)
    fig.suptitle("wavegen demo")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _build_parser() -> argparse.ArgumentParser:
    from wavegen import __version__

    p = argparse.ArgumentParser(prog="wavegen", description="MRI RF and gradient waveform generator")
    p.add_argument("--version", action="version", version=f"wavegen {__version__}")
    p.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = p.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="design, check, render and quantize a small sequence; write a report")
    demo.add_argument("--out", type=Path, default=Path("wavegen-demo-out"), help="output folder")
    demo.add_argument("--no-plot", action="store_true", help="skip the PNG plot")
    sub.add_parser("info", help="show the version and the resampling backend")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = _build_parser().parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return int(exc.code or 0)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(message)s")
    try:
        if args.command == "info":
            from wavegen import __version__

            backend = importlib.import_module("wavegen.resample").BACKEND
            print(f"wavegen {__version__}; resampling backend: {backend}")
            return 0
        if args.command == "demo":
            figures = run_demo(args.out, plot=not args.no_plot)
            print(Path(figures["report"]).read_text(), end="")
            return 0
    except SafetyError as exc:
        print(f"wavegen: UNSAFE: {exc}", file=sys.stderr)
        return 1
    except WavegenError as exc:
        print(f"wavegen: error: {exc}", file=sys.stderr)
        return 2
    return 3  # pragma: no cover - argparse enforces a command


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
