"""The sub-commands of ``wavegen`` (see :mod:`wavegen.cli` for the command line, the exit codes and units).

Each ``cmd_<name>(args, progress) -> int`` runs one command and returns its exit code; errors propagate
as wavegen exceptions, which :func:`wavegen.cli.app` turns into messages and exit codes.
"""

from __future__ import annotations

import argparse
import logging
import math
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from wavegen.atomic import save_figure, save_npz
from wavegen.cli.format import channel_table, hil_table, hz, metric, plural
from wavegen.cli.options import (
    config_file,
    open_bench,
    parse_channels,
    parse_fraction,
    parse_limits,
    parse_rate,
    parse_window,
    quantity,
    read_sequence,
    read_toml,
)
from wavegen.errors import ConfigError, RangeError, UnitError
from wavegen.limits import SystemLimits
from wavegen.units import parse_quantity

__all__ = ["add_design_parser", "parse_limits", "parse_channels", "read_sequence", "open_bench", "cmd_design",
           "cmd_check", "cmd_render", "cmd_play", "cmd_measure", "cmd_hil", "cmd_instruments", "cmd_demo",
           "cmd_info", "metric", "channel_table", "hil_table",
           "report_json"]

logger = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]

# --- parsing helpers --------------------------------------------------------------------------------


















#: the command's progress display (set by :func:`wavegen.cli.app.main`): a stage still drawn on the terminal
#: (a loop that stopped early) is ended before a result is printed, so the two do not share a line
progress_display: Any = None


def _out(text: str = "") -> None:
    if progress_display is not None:
        progress_display.close()
    print(text)


def _write_seq_or_npz(seq: Any, out: Path) -> str:
    from wavegen import pulseq

    suffix = out.suffix.lower()
    out.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".seq":
        pulseq.write(seq, out)
        return "Pulseq .seq"
    if suffix == ".npz":
        wf = seq.to_waveforms()
        arrays: dict[str, Any] = {
            "grad_t_per_m": wf.grad_t_per_m,
            "grad_raster_s": wf.grad_raster_s,
            "axes": np.array(["gx", "gy", "gz"]),
        }
        if wf.rf_b1_t is not None:
            arrays["rf_b1_t"] = wf.rf_b1_t
            arrays["rf_raster_s"] = wf.rf_raster_s
        save_npz(out, **arrays)
        return "NumPy .npz (gradients T/m at the raster centres, RF complex T)"
    raise UnitError(f"-o/--out: {out} must end in .seq or .npz")


# --- design -----------------------------------------------------------------------------------------


def add_design_parser(add: Callable[..., argparse.ArgumentParser], limits_option: Callable[..., None],
                      parent: argparse.ArgumentParser) -> None:
    """Add ``design`` and its kinds to the top-level parser (``add(name, help, description)``)."""
    from wavegen.sequence.recipes import RF_KINDS

    d = add("design", "design a gradient, an RF pulse or a small sequence; write .seq or .npz",
            "Design common pulses, gradients and sequences with human units at the edge, e.g.\n"
            '  wavegen design trapezoid --area "1000 /m" -o trap.seq\n'
            '  wavegen design sinc --flip "90 deg" --duration "3 ms" --slice "5 mm" -o sinc.seq\n'
            '  wavegen design spiral --fov "256 mm" --matrix 64 -o spiral.seq')
    kinds = d.add_subparsers(dest="kind", metavar="KIND", required=True)

    def kind(name: str, help_: str) -> argparse.ArgumentParser:
        k = kinds.add_parser(name, help=help_, description=help_, parents=[parent])
        k.add_argument("-o", "--out", type=Path, required=True, metavar="OUT.seq|OUT.npz")
        limits_option(k)
        k.add_argument("--check", action="store_true", help="also run the safety check (exit 1 when unsafe)")
        return k

    t = kind("trapezoid", "the shortest trapezoid for a gradient area (or one of a given duration)")
    t.add_argument("--area", required=True, help='"1000 /m" (k-space cycles/m) or "23.5 mT*ms/m"')
    t.add_argument("--duration", default=None, help='a fixed duration, e.g. "1 ms" (default: shortest)')
    t.add_argument("--axis", choices=("gx", "gy", "gz"), default="gx")

    for name in RF_KINDS:
        adiabatic = name in ("hs", "wurst")
        label = {"sinc": "windowed sinc", "slr": "SLR (Shinnar-Le Roux)", "gauss": "Gaussian", "block": "hard",
                 "hs": "adiabatic hyperbolic-secant (HS1) inversion", "wurst": "adiabatic WURST inversion"}[name]
        r = kind(name, f"{label} RF pulse" + ("" if adiabatic else ", optionally slice-selective"))
        r.add_argument("--duration", default="8 ms" if adiabatic else "3 ms", help="pulse duration (%(default)s)")
        if adiabatic:
            r.add_argument("--bandwidth", default="4 kHz", help="sweep bandwidth (%(default)s)")
            r.add_argument("--b1", default=None, help="peak B1, e.g. 10 uT (default: half the B1 limit)")
        else:
            r.add_argument("--flip", default="90 deg", help="flip angle (%(default)s)")
            if name != "block":
                r.add_argument("--tbw", type=float, default=4.0, help="time-bandwidth product (%(default)s)")
        r.add_argument("--slice", default=None, help='slice thickness, e.g. "5 mm": adds slice select and rephaser')

    for name, help_ in (("gre", "2D spoiled gradient echo (one slice, matrix x matrix)"),
                        ("epi", "single-shot 2D echo-planar imaging"),
                        ("spiral", "single-shot Archimedean spiral out, time-optimal")):
        s = kind(name, help_)
        s.add_argument("--fov", default="256 mm", help="field of view (%(default)s)")
        s.add_argument("--matrix", type=int, default=64 if name != "spiral" else 32, help="matrix size (%(default)s)")
        s.add_argument("--slice", default="5 mm", help="slice thickness (%(default)s)")
        s.add_argument("--flip", default={"gre": "15 deg", "epi": "90 deg", "spiral": "30 deg"}[name],
                       help="flip angle (%(default)s)")
        s.add_argument("--dwell", default={"gre": "20 us", "epi": "4 us", "spiral": "10 us"}[name],
                       help="ADC dwell time (%(default)s)")
        if name == "gre":
            s.add_argument("--tr", default=None, help="repetition time, e.g. 10 ms (default: the minimum)")
        if name == "spiral":
            s.add_argument("--turns", type=float, default=None, help="spiral turns (default matrix/4)")
            s.add_argument("--slew-fraction", type=float, default=0.5,
                           help="fraction of the slew limit the spiral uses (PNS margin; %(default)s)")
            s.add_argument("--full-limits", action="store_true",
                           help="design on the full limits; by default a spiral (meant for `wavegen hil`) is "
                                "designed at 75 %% of the gradient and 40 %% of the slew limit, leaving the "
                                "loop room to pre-compensate")


def _design(args: argparse.Namespace, limits: SystemLimits) -> Any:
    from wavegen.sequence import recipes as d

    k = args.kind
    if k == "trapezoid":
        area_per_m: float | None = None
        area_t: float | None = None
        try:
            area_per_m = parse_quantity(args.area, "1/m", name="--area")
        except UnitError:
            try:
                area_t = parse_quantity(args.area, "T*s/m", name="--area")
            except UnitError:
                raise UnitError(f"--area: cannot read {args.area!r} as a gradient area; write it in k-space "
                                "cycles per metre (\"1000 /m\") or in tesla-seconds per metre "
                                "(\"23.5 mT*ms/m\")") from None
        return d.design_trapezoid(limits, area_per_m=area_per_m, area_t_s_per_m=area_t,
                                  duration_s=quantity(args.duration, "s", "--duration"), axis=args.axis)
    slice_m = quantity(args.slice, "m", "--slice")
    if k in d.RF_KINDS:
        kw: dict[str, Any] = {"duration_s": quantity(args.duration, "s", "--duration"), "slice_m": slice_m}
        if k in ("hs", "wurst"):
            kw["bandwidth_hz"] = quantity(args.bandwidth, "Hz", "--bandwidth")
            kw["b1_max_t"] = quantity(args.b1, "T", "--b1")
        else:
            kw["flip_rad"] = quantity(args.flip, "rad", "--flip")
            if k != "block":
                kw["tbw"] = args.tbw
        return d.design_rf(k, limits, **kw)
    common = {"fov_m": quantity(args.fov, "m", "--fov"), "matrix": args.matrix, "slice_m": slice_m,
              "flip_rad": quantity(args.flip, "rad", "--flip"), "dwell_s": quantity(args.dwell, "s", "--dwell")}
    if k == "gre":
        return d.design_gre(limits, tr_s=quantity(args.tr, "s", "--tr"), **common)
    if k == "epi":
        return d.design_epi(limits, **common)
    spiral_limits = limits if args.full_limits else d.with_loop_headroom(limits)
    if not args.full_limits:
        logger.info("designing the spiral with the loop's headroom (%s of the gradient and slew limits)",
                    d.LOOP_HEADROOM)
    return d.design_spiral(spiral_limits, turns=args.turns, slew_fraction=args.slew_fraction, **common)


def cmd_design(args: argparse.Namespace, progress: Progress) -> int:
    from wavegen import safety

    limits = parse_limits(args.limits)
    if args.out.suffix.lower() not in (".seq", ".npz"):
        raise UnitError(f"-o/--out: {args.out} must end in .seq or .npz")
    design = _design(args, limits)
    _out(design.describe())
    report = safety.check(design.seq, limits) if args.check else None
    if report is not None and not report.ok:  # refused: the previous file (if any) stays as it was
        _out(report.summary())
        _out(f"  not written {args.out}: the design is unsafe on these limits")
        return 1
    kind = _write_seq_or_npz(design.seq, args.out)
    _out(f"  wrote       {args.out} ({kind}); {design.seq!r}")
    if report is not None:
        _out(report.summary())
    return 0


# --- check, render ----------------------------------------------------------------------------------


def cmd_check(args: argparse.Namespace, progress: Progress) -> int:
    from wavegen import safety
    from wavegen.cli.library import cmd_check_library, is_library, single_args

    if is_library(args):  # several protocols or configurations: one table, on Dask
        sar = read_sar_calibration(args.sar_calibration) if args.sar_calibration is not None else {}
        return cmd_check_library(args, progress, sar)
    single_args(args)

    kwargs: dict[str, Any] = {"mode": args.mode, "patient": not args.phantom}
    if args.config is not None:
        if args.limits is not None:
            raise UnitError("--config and --limits go apart: the bench file holds the limits")
        from wavegen.bench.config import load_toml, parse_config

        with config_file(args.config):  # ConfigError names the file and the key; no instrument is touched
            bench = parse_config(load_toml(args.config))
        limits = bench.limits
        kwargs.update(mode=bench.mode, patient=bench.patient, periodic=False)  # as the bench plays it: once
        if bench.rf_amplifier is not None:
            kwargs["rf_amplifier"] = bench.rf_amplifier
    else:
        limits = parse_limits(args.limits)
    if args.sar_calibration is not None:
        kwargs.update(read_sar_calibration(args.sar_calibration))
    if args.hardware is not None and not args.hardware.exists():
        raise FileNotFoundError(2, "No such file or directory", str(args.hardware))
    seq = read_sequence(args.file)
    html_path = getattr(args, "html", None)
    report = safety.check(seq, limits, hardware=args.hardware,
                          keep_traces=args.plot is not None or html_path is not None, **kwargs)
    if args.plot is not None:
        _save_figure(report.plot(), args.plot)
    if html_path is not None:
        _write_html(html_path, f"wavegen check: {args.file.name}", args.file, sequence=seq, safety=report)
    failed = (not report.ok) or (args.strict and not report.complete)
    if args.json:
        _out(report_json(report, args.file, failed))
        return 1 if failed else 0
    _out(f"{args.file}: {seq!r}")
    _out(report.summary())
    if args.plot is not None:
        _out(f"plot: {args.plot}")
    if html_path is not None:
        _out(f"report: {html_path}")
    if not report.ok:
        worst = report.violations[0].to_error()
        _out(f"UNSAFE: {worst}")
        return 1
    if args.strict and not report.complete:
        _out(f"UNVERIFIED (--strict): {', '.join(r.rule for r in report.unverified)}")
        return 1
    return 0


def read_sar_calibration(path: Path) -> dict[str, Any]:
    """``--sar-calibration SAR.toml``: a ``[sar]`` table (``region``, one of ``w_per_kg_per_ut2`` or
    ``absorbed_w_per_ut2``, optional ``exposed_mass_kg`` and ``patient_mass_kg``) as check arguments."""
    from wavegen.safety import SarCalibration

    table = read_toml(path, "--sar-calibration").get("sar")
    if not isinstance(table, dict):
        raise ConfigError(f"--sar-calibration {path}: needs a [sar] table (region, w_per_kg_per_ut2 or "
                          "absorbed_w_per_ut2, patient_mass_kg)")
    known = {"region", "w_per_kg_per_ut2", "absorbed_w_per_ut2", "exposed_mass_kg", "patient_mass_kg"}
    unknown = sorted(set(table) - known)
    if unknown:
        raise ConfigError(f"--sar-calibration {path}: unknown key(s) {', '.join(unknown)}; known: "
                          f"{', '.join(sorted(known))}")
    mass = table.pop("patient_mass_kg", None)
    cal = SarCalibration(**table)
    out: dict[str, Any] = {"sar_calibration": cal}
    if mass is not None:
        out["patient_mass_kg"] = float(mass)
    return out


def report_json(report: Any, file: Path, failed: bool) -> str:
    """A safety report as JSON: overall verdict and every rule (SI values; NaN and infinities as null)."""
    import json

    def num(x: float) -> float | None:
        return float(x) if math.isfinite(x) else None

    rules = [{"rule": r.rule, "quantity": r.quantity, "verdict": r.verdict, "value": num(r.value),
              "limit": num(r.limit), "unit": r.unit, "channel": r.channel, "time_s": num(r.time_s),
              "margin": num(r.margin), "note": r.note} for r in report.results]
    doc = {"file": str(file), "ok": bool(report.ok), "complete": bool(report.complete), "passed": not failed,
           "mode": report.mode, "digest": report.digest,
           "violations": [str(r.to_error()) for r in report.violations], "results": rules}
    return json.dumps(doc, indent=2)


def _save_figure(fig: Any, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    save_figure(fig, path, dpi=100)
    plt.close(fig)


_NPZ_KEYS = {"gx": "gx_t_per_m", "gy": "gy_t_per_m", "gz": "gz_t_per_m", "rf": "rf_t", "adc": "adc",
             "trigger": "trigger"}


def cmd_render(args: argparse.Namespace, progress: Progress) -> int:
    rate_q = parse_rate(args.rate)
    rate = float(rate_q)
    if args.chunk < 1:
        raise RangeError(f"--chunk = {args.chunk} must be >= 1 sample")
    if args.out.suffix.lower() != ".npz":
        raise UnitError(f"-o/--out: {args.out} must end in .npz")
    channels = parse_channels(args.channels)
    seq = read_sequence(args.file)
    n = math.ceil(Fraction(seq.duration_ns, 10**9) * rate_q)
    if n < 2:
        raise RangeError(f"--rate {args.rate}: the {seq.duration_s * 1e3:.6g} ms sequence would be "
                         f"{plural(n, 'sample')} at {float(rate_q):g} Hz; a render needs at least 2 (a higher rate)")
    if n * len(channels) > 2_000_000_000:
        raise RangeError(f"{n} samples x {len(channels)} channels at {args.rate} is too large for one .npz; "
                         "render fewer channels or a lower rate")
    out: dict[str, np.ndarray] = {}
    done = 0
    progress("render", 0, n)
    for chunk in seq.render_chunks(rate_q, channels, chunk_samples=args.chunk, n_samples=n):
        m = 0
        for name, x in chunk.items():
            if name not in out:
                out[name] = np.empty(n, dtype=x.dtype)
            out[name][done: done + x.size] = x
            m = x.size
        done += m
        progress("render", done, n)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, Any] = {"rate_hz": float(rate), **{_NPZ_KEYS[k]: v for k, v in out.items()}}
    save_npz(args.out, **arrays)
    _out(f"{args.file}: {seq!r}")
    _out(f"rendered {n} samples x {len(channels)} channels ({', '.join(channels)}) at {hz(rate)} -> {args.out}")
    for k, v in out.items():
        if k in ("gx", "gy", "gz"):
            _out(f"  {k:<7} peak {np.max(np.abs(v)) * 1e3 if v.size else 0.0:9.4f} mT/m")
        elif k == "rf":
            _out(f"  {k:<7} peak {np.max(np.abs(v)) * 1e6 if v.size else 0.0:9.4f} uT")
        else:
            _out(f"  {k:<7} on for {int(np.count_nonzero(v))} samples")
    return 0




# --- the bench commands -----------------------------------------------------------------------------


def cmd_play(args: argparse.Namespace, progress: Progress) -> int:
    if (args.override is None) != (args.operator is None):
        raise RangeError("--override REASON and --operator NAME go together")
    if args.override is not None and not (args.override.strip() and args.operator.strip()):
        raise RangeError("--override needs a reason and --operator a name (both non-empty)")
    seq = read_sequence(args.file)
    window = parse_window(args, seq)
    override = None if args.override is None else {"reason": args.override, "operator": args.operator}
    with open_bench(args) as bench:
        if args.dry_run:
            plan = bench.plan(seq, window=window)
            _out(f"{args.file}: {seq!r}" + (f", {window.text}" if window else ""))
            _out(plan.table())
            return 0
        result = bench.play(seq, override=override, progress=progress, window=window)
    _out(f"{args.file}: {seq!r}")
    _out(f"played: {result!r}")
    return 0




def cmd_measure(args: argparse.Namespace, progress: Progress) -> int:
    seq = read_sequence(args.file)
    window = parse_window(args, seq)
    with open_bench(args) as bench:
        m = bench.measure(seq, progress=progress, window=window)
    _out(repr(m).splitlines()[0] + "  (NRMSE as captured, and aligned: after removing delay and gain)")
    for line in channel_table(dict(m.channels)):
        _out(line)
    if args.out is not None:
        arrays: dict[str, Any] = {"rate_hz": float(m.rate_hz)}
        for k, v in m.reference.items():
            arrays[f"reference_{k}"] = np.asarray(v)
        for k, v in m.captured.items():
            arrays[f"captured_{k}"] = np.asarray(v)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        save_npz(args.out, **arrays)
        _out(f"captured waveforms: {args.out}")
    if args.plot is not None:
        _save_figure(_figure(m.plot()), args.plot)
        _out(f"plot: {args.plot}")
    if getattr(args, "html", None) is not None:
        _write_html(args.html, f"wavegen measure: {args.file.name}", args.file, sequence=seq, measurement=m)
        _out(f"report: {args.html}")
    return 0


def _write_html(path: Path, title: str, file: Path, **parts: Any) -> None:
    """``--html``: the self-contained report of what the command did (:mod:`wavegen.report.html`)."""
    import matplotlib

    matplotlib.use("Agg")
    from wavegen.report.html import write_report

    path.parent.mkdir(parents=True, exist_ok=True)
    write_report(path, title=title, source_name=str(file), **parts)


def _figure(obj: Any) -> Any:
    """A matplotlib Figure from what a ``plot()`` returned (a Figure, an Axes or an array of Axes)."""
    if hasattr(obj, "savefig"):
        return obj
    first = np.ravel(np.asarray(obj, dtype=object))[0] if not hasattr(obj, "figure") else obj
    return first.figure




def cmd_hil(args: argparse.Namespace, progress: Progress) -> int:
    target = parse_fraction(args.target, "--target")
    if not 1 <= args.iterations <= 50:
        raise RangeError(f"--iterations = {args.iterations} must be between 1 and 50")
    if args.out is not None and args.out.suffix.lower() != ".npz":
        raise UnitError(f"-o/--out: {args.out} must end in .npz")
    seq = read_sequence(args.file)
    channels = parse_channels(args.channels, ("gx", "gy", "gz", "rf")) if args.channels else used_axes(seq)
    window = parse_window(args, seq)
    with open_bench(args) as bench:
        h = bench.hil(seq, channels=channels, target_nrmse=target, max_iterations=args.iterations,
                      progress=progress, window=window)
    _out(repr(h))
    _out(hil_table(h))
    missed = {c: v for c, v in h.final_nrmse.items() if v > target}
    if missed:
        _out(f"target {target:.3%} not reached on " + ", ".join(f"{c} ({v:.3%})" for c, v in missed.items())
             + (f": {h.stopped}" if getattr(h, "stopped", "") else ""))
        _out("hint: more --iterations help while the error still falls; if it stalls, the corrections hit the "
             "limits: pre-compensation sharpens every corner, so design with slew headroom (e.g. --limits "
             "max_slew=60 T/m/s for a 150 T/m/s bench)")
    if args.out is not None:
        _write_hil(h, args.out)
        _out(f"corrected drive: {args.out}")
    if args.plot is not None:
        _save_figure(_figure(h.plot()), args.plot)
        _out(f"plot: {args.plot}")
    if getattr(args, "html", None) is not None:
        _write_html(args.html, f"wavegen hil: {args.file.name}", args.file, sequence=seq, hil=h)
        _out(f"report: {args.html}")
    return 5 if missed else 0  # EXIT_TARGET_MISSED (wavegen.cli.app): the loop ended above its target


def used_axes(seq: Any) -> tuple[str, ...]:
    """The gradient axes on which ``seq`` plays anything (in x, y, z order)."""
    used = [False, False, False]
    for block in seq:
        for i, g in enumerate((block.gx, block.gy, block.gz)):
            used[i] = used[i] or g is not None
    axes = tuple(name for name, u in zip(("gx", "gy", "gz"), used, strict=True) if u)
    if not axes:
        raise RangeError("the sequence plays no gradient: nothing for the loop to correct (see --channels)")
    return axes




def _write_hil(h: Any, out: Path) -> None:
    """The loop's result as .npz: ``corrected_<ch>`` (the drive to play), ``target_<ch>``, ``measured_<ch>``
    (T/m or T on the capture grid), ``rate_hz``, ``t0_s`` and ``nrmse_history`` (iterations x channels)."""
    names = list(h.initial_nrmse)
    arrays: dict[str, Any] = {"rate_hz": float(h.rate_hz), "t0_s": float(h.t0_s), "channels": np.array(names),
                              "nrmse_history": np.array([[row[n] for n in names] for row in h.history])}
    for prefix, table in (("corrected", h.corrected), ("target", h.target), ("measured", h.measured)):
        for k, v in table.items():
            arrays[f"{prefix}_{k}"] = np.asarray(v)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_npz(out, **arrays)


def cmd_instruments(args: argparse.Namespace, progress: Progress) -> int:
    with open_bench(args) as bench:
        infos = list(bench.instruments())
        where = str(args.config) if args.config is not None else "the built-in mock bench"
        _out(f"{plural(len(infos), 'instrument')} on {where}:")
        for info in infos:
            chans = getattr(info, "channels", ())
            chan_txt = ", ".join(str(c) for c in chans) if not isinstance(chans, (int, str)) else str(chans)
            _out(f"  {info.name:<10} {info.driver:<22} {info.resource}")
            _out(f"  {'':<10} *IDN? {info.idn}")
            if chan_txt:
                _out(f"  {'':<10} channels: {chan_txt}")
    return 0


# --- demo, info -------------------------------------------------------------------------------------


def cmd_demo(args: argparse.Namespace, progress: Progress) -> int:
    from wavegen.cli.demo import run_demo

    figures = run_demo(args.out, plot=not args.no_plot, progress=progress)
    _out(Path(figures["report"]).read_text(encoding="utf-8").rstrip("\n"))
    return 0


def cmd_info(args: argparse.Namespace, progress: Progress) -> int:
    import importlib
    import importlib.util
    import platform

    import wavegen

    resample = importlib.import_module("wavegen.dsp")
    _out(f"wavegen {wavegen.__version__} (Python {platform.python_version()}, numpy {np.__version__})")
    _out(f"  resampling backend  {resample.BACKEND}")
    for mod, why in (("scipy", "design, band-limited resampling"), ("matplotlib", "plots"),
                     ("pyvisa", "AWGs over VISA"), ("pyvisa_py", "VISA without NI-VISA; the mock bench"),
                     ("nidaqmx", "NI DAQ boards"), ("pypulseq", "comparisons only")):
        found = importlib.util.find_spec(mod) is not None
        _out(f"  {mod:<19} {'yes' if found else 'no ':<4} ({why})")
    _out("  bench               the built-in mock bench by default; --config bench.toml for a real one")
    return 0
