"""``wavegen demo``: the whole job on the built-in mock bench, with a report and plots.

Design a slice-selective spiral (sinc excitation, time-optimal spiral readout), check it, render and
quantize it at instrument rates, then on the mock bench (emulated AWGs and DAQ feeding a simulated
gradient and RF chain) play it, measure it and run the hardware-in-the-loop correction. Everything lands
in one folder: ``report.txt`` (the figures, among them the loop's NRMSE reduction per channel),
``report.html`` (the same in one self-contained page with every plot), ``safety.txt``, ``demo.seq``,
``corrected.seq`` (when the loop returns a sequence), ``demo.npz`` and the PNG plots.
"""

from __future__ import annotations

import logging
import math
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from wavegen.atomic import save_figure, save_npz, write_text
from wavegen.sequence.recipes import LOOP_HEADROOM

__all__ = ["run_demo", "demo_sequence"]

logger = logging.getLogger(__name__)


def demo_sequence(limits: Any) -> Any:
    """The demo's sequence: a 30 degree sinc on a 5 mm slice, then an 8-turn spiral (FOV 256 mm, 32x32),
    designed with the loop's headroom (:data:`wavegen.sequence.recipes.LOOP_HEADROOM`: 30 mT/m and
    60 T/m/s on a 40 mT/m, 150 T/m/s bench)."""
    from wavegen.sequence.recipes import design_spiral, with_loop_headroom

    return design_spiral(with_loop_headroom(limits), fov_m=0.256, matrix=32, turns=8.0, slice_m=5e-3,
                         flip_rad=math.radians(30), slew_fraction=1.0)


def _noop(stage: str, done: int, total: int) -> None:
    return None


def run_demo(out_dir: Path, *, plot: bool = True, progress: Any = None) -> dict[str, Any]:
    """Design, check, render, play, measure and correct a sequence on the mock bench; write the report.

    Parameters
    ----------
    out_dir
        Output folder (created).
    plot
        Write the PNG plots (matplotlib, Agg backend).
    progress
        Optional ``callable(stage, done, total)``.

    Returns
    -------
    dict
        The figures the report states (for tests and notebooks): ``safety_ok``, ``nrmse_initial``,
        ``nrmse_final``, ``reduction`` (dicts by channel), ``iterations``, ``report`` (path), ...
    """
    import importlib

    from wavegen import pulseq
    from wavegen.bench import Bench
    from wavegen.cli.format import channel_table
    from wavegen.dsp import DacFormat, quantize
    from wavegen.limits import SystemLimits

    prog = progress if progress is not None else _noop
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    limits = SystemLimits.from_units(max_grad="40 mT/m", max_slew="150 T/m/s", max_b1="20 uT")
    figures: dict[str, Any] = {"backend": importlib.import_module("wavegen.dsp").BACKEND}
    lines = ["wavegen demo: design -> check -> render -> play -> measure -> hardware in the loop (mock bench)"]

    # 1. design
    design = demo_sequence(limits)
    seq = design.seq
    pulseq.write(seq, out_dir / "demo.seq")
    figures["duration_s"] = seq.duration_s
    g_frac, s_frac = LOOP_HEADROOM
    lines.append(f"  sequence        {design.title}: {len(seq)} blocks, {seq.duration_s * 1e3:.2f} ms -> demo.seq; "
                 f"designed at {g_frac:.0%} of the gradient and {s_frac:.0%} of the slew limit (room for "
                 "pre-compensation)")
    lines += [f"                  {ln}" for ln in design.lines]

    with Bench.mock(limits=limits) as bench:
        # 2. safety, as the bench judges it (its limits and mode; a mock bench has nobody in the magnet)
        report = bench.check(seq)
        write_text(out_dir / "safety.txt", report.summary() + "\n")
        figures["safety_ok"] = bool(report.ok)
        worst = max((r for r in report.results if math.isfinite(r.ratio) and r.verdict in ("pass", "fail")),
                    key=lambda r: r.ratio, default=None)
        verdict = "PASS" if report.ok else "FAIL"
        lines.append(f"  safety          {verdict} ({len(report.results)} rules, mode {report.mode})"
                     + (f"; closest: {worst.rule} at {worst.ratio * 100:.1f} % of its limit" if worst else "")
                     + "; see safety.txt")
        report.raise_if_unsafe()

        # 3. render at an AWG rate and quantize (what play does per instrument, shown here once)
        t0 = time.perf_counter()
        streams = seq.render(Fraction(10**6), ("gx", "gy", "gz", "rf", "adc"))
        t_render = time.perf_counter() - t0
        dac = DacFormat.for_full_scale(16, full_scale=limits.max_grad_t_per_m)
        codes = {k: quantize(streams[k], dac) for k in ("gx", "gy")}
        wf = seq.to_waveforms(include_rf=False)
        figures["render_s"] = t_render
        lines.append(f"  render          5 channels x {streams['gx'].size} samples at 1 MS/s in "
                     f"{t_render * 1e3:.1f} ms (exact integer time base)")
        arrays: dict[str, Any] = {f"{k}_1mhz": v for k, v in streams.items()}
        arrays.update(grad_t_per_m=wf.grad_t_per_m, grad_raster_s=wf.grad_raster_s)
        arrays.update(gx_codes=codes["gx"], gy_codes=codes["gy"])
        lo, hi = int(np.min(codes["gx"])), int(np.max(codes["gx"]))
        figures["gx_codes_range"] = (lo, hi)
        lines.append(f"  DAC codes       gx {lo} .. {hi} (int16, +-{limits.max_grad_t_per_m * 1e3:.0f} mT/m "
                     "full scale)")
        save_npz(out_dir / "demo.npz", **arrays)

        # 4. play, measure, loop
        played = bench.play(seq, progress=prog)
        lines.append(f"  play            {played!r}")
        m = bench.measure(seq, progress=prog)
        lines.append(f"  measure         {repr(m).splitlines()[0]}: what the simulated hardware did")
        lines += ["  " + ln for ln in channel_table(dict(m.channels))]
        h = bench.hil(seq, channels=("gx", "gy", "gz"), target_nrmse=0.01, max_iterations=5, progress=prog)

    names = list(h.initial_nrmse)
    figures["nrmse_initial"] = {k: float(h.initial_nrmse[k]) for k in names}
    figures["nrmse_final"] = {k: float(h.final_nrmse[k]) for k in names}
    figures["reduction"] = {k: float(h.reduction[k]) for k in names}
    figures["iterations"] = len(h.history) - 1 if len(h.history) else 0
    lines.append(f"  loop            {h!r}")
    lines.append(f"    {'channel':<8} {'NRMSE before':>13} {'after':>9} {'reduction':>10}")
    for k in names:
        lines.append(f"    {k:<8} {figures['nrmse_initial'][k] * 100:12.3f}% {figures['nrmse_final'][k] * 100:8.3f}% "
                     f"{figures['reduction'][k]:9.1f}x")
    lines.append("  NRMSE reduction " + ", ".join(f"{k} {figures['reduction'][k]:.1f}x" for k in names))
    corrected = getattr(h, "corrected", None)
    from wavegen.sequence import Sequence

    if isinstance(corrected, Sequence):
        pulseq.write(corrected, out_dir / "corrected.seq")
        lines.append("  corrected       corrected.seq (the pre-compensated sequence, checked for safety)")

    if plot:
        pngs = _plots(out_dir, seq, report, m, h)
        figures["plots"] = [str(p) for p in pngs]
        lines.append(f"  plots           {', '.join(p.name for p in pngs)}")
    if plot:
        from wavegen.report.html import write_report

        lines.append("  html report     report.html (sequence, safety, measurement and loop in one page)")
        write_report(out_dir / "report.html", title="wavegen demo", source_name=design.title, sequence=seq,
                     safety=report, measurement=m, hil=h, notes=lines[:-1])
        figures["html"] = str(out_dir / "report.html")
    lines.append(f"  folder          {out_dir}")
    write_text(out_dir / "report.txt", "\n".join(lines) + "\n")
    figures["report"] = str(out_dir / "report.txt")
    return figures


def _plots(out_dir: Path, seq: Any, report: Any, m: Any, h: Any) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths: list[Path] = []
    # the designed waveforms
    wf = seq.to_waveforms()
    fig, axes = plt.subplots(4, 1, figsize=(9, 8), sharex=True)
    t_g = (np.arange(wf.grad_t_per_m.shape[0]) + 0.5) * wf.grad_raster_s * 1e3
    if wf.rf_b1_t is not None:
        b1 = np.abs(np.asarray(wf.rf_b1_t)).reshape(len(wf.rf_b1_t), -1)[:, 0]
        axes[0].plot((np.arange(b1.size) + 0.5) * wf.rf_raster_s * 1e3, b1 * 1e6)
    axes[0].set_ylabel("|B1| (uT)")
    for j, name in enumerate(("gx", "gy", "gz")):
        axes[j + 1].plot(t_g, wf.grad_t_per_m[:, j] * 1e3)
        axes[j + 1].set_ylabel(f"{name} (mT/m)")
    axes[-1].set_xlabel("time (ms)")
    for ax in axes:
        ax.grid(alpha=0.3)
    fig.suptitle("wavegen demo: the designed sequence")
    fig.tight_layout()
    paths.append(_save(fig, out_dir / "waveforms.png", plt))
    paths.append(_save(_as_figure(report.plot()), out_dir / "safety.png", plt))
    paths.append(_save(_as_figure(m.plot()), out_dir / "measurement.png", plt))
    paths.append(_save(_as_figure(h.plot()), out_dir / "hil.png", plt))
    return paths


def _as_figure(obj: Any) -> Any:
    if hasattr(obj, "savefig"):
        return obj
    if hasattr(obj, "figure"):
        return obj.figure
    return np.ravel(np.asarray(obj, dtype=object))[0].figure


def _save(fig: Any, path: Path, plt: Any) -> Path:
    save_figure(fig, path, dpi=90)
    plt.close(fig)
    return path
