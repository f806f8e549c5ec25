"""The ``wavegen`` command: design, check, render, play, measure and correct MRI waveforms on a bench.

Commands (``wavegen COMMAND --help`` for each)::

    wavegen design KIND -o OUT      a trapezoid, an RF pulse (sinc, slr, gauss, block, hs, wurst) or a
                                    small sequence (gre, epi, spiral) to .seq or .npz
    wavegen check FILE.seq          the safety report; exit 1 when unsafe
    wavegen check LIB/ *.seq --config A.toml --config B.toml
                                    a protocol library x configurations on Dask: one table (--csv, --json)
    wavegen render FILE.seq --rate 1MHz -o out.npz
                                    every channel sampled at an instrument rate
    wavegen play FILE.seq           check, render, upload, verify, arm, trigger on the bench
    wavegen measure FILE.seq        play, capture, align, compare (NRMSE, peak error, delay, gain)
    wavegen hil FILE.seq            hardware in the loop: estimate the system response, pre-compensate,
                                    iterate to an error target; writes the corrected drive
    wavegen instruments             list and identify the bench's instruments
    wavegen demo                    all of it on the built-in mock bench; a report with plots
    wavegen info                    version, backends, optional packages

The bench commands use ``--config bench.toml`` or, by default, the built-in mock bench (emulated
instruments and a simulated device under test, nothing attached). Quantities take human units:
``"40 mT/m"``, ``"150 T/m/s"``, ``"10 us"``, ``"20 uT"``, ``"5 mm"``, ``"1MHz"``, ``"90 deg"``.

Exit codes:

====  =====================================================================================
0     success
1     unsafe: a safety rule is broken (``check``), or a safety interlock refused to play
2     usage or input error: bad option, unit typo, missing or malformed file, bad config
3     instrument error: no answer, protocol error, the instrument reported an error, verify failed
4     internal error (a bug: please report it with the output of ``wavegen -v ...``)
5     target missed: ``hil`` ended above its NRMSE target (the best drive is still written)
130   interrupted (Ctrl-C); outputs are switched off and instruments closed on the way out
====  =====================================================================================

Progress goes to stderr: tqdm bars when it is a terminal; elsewhere nothing, or one plain line per stage
with ``--progress``. Log lines and library warnings share one handler: ``-q`` keeps only errors, ``-v``
adds what the library does, ``-vv`` everything.
"""

from __future__ import annotations

import argparse
import logging
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from wavegen.cli.progress import ProgressBar, setup_logging
from wavegen.errors import InstrumentError, SafetyError, WavegenError

__all__ = [
    "main", "run_demo", "EXIT_OK", "EXIT_UNSAFE", "EXIT_USAGE", "EXIT_INSTRUMENT", "EXIT_INTERNAL",
    "EXIT_TARGET_MISSED",
]

logger = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_UNSAFE = 1
EXIT_USAGE = 2
EXIT_INSTRUMENT = 3
EXIT_INTERNAL = 4
EXIT_TARGET_MISSED = 5

_EXIT_HELP = """exit codes:
  0  success
  1  unsafe: a safety rule is broken, or the interlock refused to play
  2  usage or input error (bad option, unit typo, missing or malformed file, bad config)
  3  instrument error (timeout, protocol, instrument-reported error, verify failed)
  4  internal error (a bug: please report it with the output of `wavegen -v ...`)
  5  target missed: hil ended above its NRMSE target (the best drive is still written)

units: quantities take human units, e.g. "40 mT/m", "150 T/m/s", "10 us", "20 uT", "5 mm", "1MHz".
bench: play, measure, hil, instruments use --config bench.toml, or the built-in mock bench."""








_VERBOSE_HELP = "say more on stderr: -v what the library does (INFO), -vv everything (DEBUG)"
_QUIET_HELP = "only errors on stderr: no warnings of handled events, no progress"
_PROGRESS_HELP = ("show progress on stderr even when it is not a terminal (plain lines there; a bar on a "
                  "terminal, which is the default)")


def run_demo(out_dir: Path, *, plot: bool = True, progress: Any = None) -> dict[str, Any]:
    """Run the demo on the mock bench and write its report to ``out_dir``; see :mod:`wavegen.cli.demo`."""
    from wavegen.cli.demo import run_demo as _run

    return _run(out_dir, plot=plot, progress=progress)


# --- the parser -------------------------------------------------------------------------------------


def _common_parent() -> argparse.ArgumentParser:
    """Options every sub-command accepts after its name too (defaults suppressed: the top level sets them)."""
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("output")
    g.add_argument("-v", "--verbose", action="count", default=argparse.SUPPRESS, help=_VERBOSE_HELP)
    g.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help=_QUIET_HELP)
    g.add_argument("--progress", dest="progress", action="store_true", default=argparse.SUPPRESS,
                   help=_PROGRESS_HELP)
    g.add_argument("--no-progress", dest="progress", action="store_false", default=argparse.SUPPRESS,
                   help="never draw progress bars")
    return p


def _limits_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--limits", metavar="SPEC", default=None,
                   help='hardware limits: "max_grad=40 mT/m,max_slew=150 T/m/s,max_b1=20 uT" or a TOML file '
                        "with a [limits] table (default: 40 mT/m, 150 T/m/s, 20 uT, Pulseq rasters)")


def _bench_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, metavar="BENCH.toml", default=None,
                   help="bench configuration (default: the built-in mock bench)")
    p.add_argument("--virtual-time", action="store_true",
                   help="mock bench only: run its DAQ clock in virtual time, so a long protocol plays in "
                        "seconds instead of its real duration")


def _build_parser() -> argparse.ArgumentParser:
    from wavegen import __version__
    from wavegen.cli.commands import add_design_parser
    from wavegen.cli.library import add_library_options

    parent = _common_parent()
    p = argparse.ArgumentParser(
        prog="wavegen",
        description="Hardware-in-the-loop RF and gradient waveform generator for MRI bench work.",
        epilog=_EXIT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"wavegen {__version__}")
    p.add_argument("-v", "--verbose", action="count", default=0, help=_VERBOSE_HELP)
    p.add_argument("-q", "--quiet", action="store_true", default=False, help=_QUIET_HELP)
    p.add_argument("--progress", dest="progress", action="store_true", default=None, help=_PROGRESS_HELP)
    p.add_argument("--no-progress", dest="progress", action="store_false", help="never draw progress bars")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(name: str, help_: str, description: str | None = None) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help_, description=description or help_, parents=[parent],
                              epilog=_EXIT_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)

    add_design_parser(add, _limits_option, parent)

    c = add("check", "safety report of a .seq file (exit 1 when unsafe)",
            "Check every safety rule (gradient amplitude and slew, PNS, cardiac, acoustics, B1, SAR) and print "
            "the report. Exit 1 when a rule is broken.")
    c.add_argument("file", nargs="+", metavar="FILE.seq",
                   help="a .seq file; or several, folders, glob patterns: a library, checked into one table")
    c.add_argument("--mode", choices=("normal", "first_level"), default="normal", help="IEC operating mode")
    add_library_options(c)  # --limits (repeatable), --csv, --scheduler, --workers: wavegen.cli.library
    c.add_argument("--phantom", action="store_true",
                   help="nobody in the magnet: judge only the hardware rules (patient rules reported as info)")
    c.add_argument("--hardware", type=Path, metavar="FILE.asc", default=None,
                   help="vendor gradient hardware file (SAFE PNS model, acoustic bands)")
    c.add_argument("--config", type=Path, metavar="BENCH.toml", default=None, action="append",
                   help="check on a bench: its limits, mode, patient flag and RF amplifier ratings "
                        "(instead of --limits/--mode/--phantom); repeatable for a library")
    c.add_argument("--sar-calibration", type=Path, metavar="SAR.toml", default=None,
                   help='SAR calibration: a [sar] table, e.g. region = "head", w_per_kg_per_ut2 = 0.35, '
                        "patient_mass_kg = 75 (absolute SAR; --strict can then pass with RF)")
    c.add_argument("--strict", action="store_true", help="also fail when a rule cannot be verified (SAR)")
    c.add_argument("--plot", type=Path, metavar="PNG", default=None, help="plot the traces with their limits")
    c.add_argument("--json", action="store_true", help="print the report as JSON (for scripts); same exit codes")
    c.add_argument("--html", type=Path, metavar="REPORT.html", default=None,
                   help="write a self-contained HTML report (sequence, safety table, plots, worst spots zoomed)")

    r = add("render", "render a .seq file at an instrument rate to .npz",
            "Sample every channel at RATE (gradients in T/m, RF as complex T, ADC and trigger gates as bool), "
            "exactly on an integer time base, in chunks with a progress bar.")
    r.add_argument("file", type=Path, metavar="FILE.seq")
    r.add_argument("--rate", required=True, help='sample rate, e.g. "1MHz", "100 kHz"')
    r.add_argument("-o", "--out", type=Path, required=True, metavar="OUT.npz")
    r.add_argument("--channels", default="gx,gy,gz,rf,adc", help="comma-separated: gx gy gz rf adc trigger")
    r.add_argument("--chunk", type=int, default=1 << 20, metavar="N", help="samples per chunk (memory bound)")

    for name, help_ in (("play", "play a .seq file on the bench: check, render, upload, verify, arm, trigger"),
                        ("measure", "play and capture; compare what the hardware did with the design"),
                        ("hil", "hardware in the loop: pre-compensate until the error target is met")):
        b = add(name, help_)
        b.add_argument("file", type=Path, metavar="FILE.seq")
        _bench_options(b)
        w = b.add_mutually_exclusive_group()
        w.add_argument("--window", metavar="T0..T1", default=None,
                       help='play only this time window of the sequence, e.g. "120 ms..240 ms"')
        w.add_argument("--blocks", metavar="B0..B1", default=None,
                       help="play only blocks B0 to B1 (inclusive, 0-based), e.g. 100..130")
        if name == "play":
            b.add_argument("--dry-run", action="store_true",
                           help="show the playback plan (segments, unique segments, points, duration, memory) "
                                "and send nothing")
            b.add_argument("--override", metavar="REASON", default=None,
                           help="play despite safety violations (logged with --operator); never with a person "
                                "in the magnet")
            b.add_argument("--operator", default=None, help="who takes responsibility for --override")
        if name in ("measure", "hil"):
            b.add_argument("--plot", type=Path, metavar="PNG", default=None, help="write a plot")
            b.add_argument("--html", type=Path, metavar="REPORT.html", default=None,
                           help="write a self-contained HTML report (sequence, "
                                + ("measurement" if name == "measure" else "loop iterations") + ", plots)")
            b.add_argument("-o", "--out", type=Path, default=None,
                           metavar="OUT.npz",
                           help="write the reference and captured waveforms (.npz)" if name == "measure"
                           else "write the corrected drive, the target and the measured waveforms (.npz)")
        if name == "hil":
            b.add_argument("--channels", default=None,
                           help="channels to correct, comma-separated (default: the gradient axes the sequence uses)")
            b.add_argument("--target", default="1%", help='NRMSE target, e.g. "1%%" or 0.01 (default 1%%)')
            b.add_argument("--iterations", type=int, default=5, help="at most this many iterations (default 5)")

    i = add("instruments", "list and identify the bench's instruments")
    _bench_options(i)

    d = add("demo", "design, check, play, measure and correct a sequence on the mock bench; write a report",
            "The whole job on the built-in mock bench: design a slice-selective spiral, check it, render and "
            "quantize it, play it, measure it, run the loop, and write report.txt, report.html and PNG plots.")
    d.add_argument("--out", type=Path, default=Path("wavegen-demo-out"), help="output folder (default %(default)s)")
    d.add_argument("--no-plot", action="store_true", help="skip the PNG plots")

    add("info", "version, resampling backend, optional packages")
    return p


# --- main -------------------------------------------------------------------------------------------






def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (see the module docstring)."""
    try:
        args = _build_parser().parse_args(argv)
    except SystemExit as exc:  # argparse: --help/--version (0) or a usage error (2, message printed)
        return int(exc.code or 0) if not isinstance(exc.code, str) else EXIT_USAGE
    log = setup_logging(args.verbose, args.quiet)  # wavegen's log and every warning: one handler
    bar = ProgressBar(sys.stderr, enabled=False if args.quiet and args.progress is None else args.progress)
    log.handler.bar = bar
    try:
        return _dispatch(args, bar)
    finally:
        bar.close()
        log.undo()
        from wavegen.cli import commands

        commands.progress_display = None


def _dispatch(args: argparse.Namespace, bar: ProgressBar) -> int:
    from wavegen.cli import commands as cmds
    from wavegen.cli.options import check_output_paths, in_user_words

    handler = getattr(cmds, f"cmd_{args.command}")
    cmds.progress_display = bar
    global _json_errors
    _json_errors = bool(getattr(args, "json", False))
    try:
        check_output_paths(args)  # before any work
        code = int(handler(args, bar))
        bar.close()
        return code
    except SafetyError as exc:
        bar.close()
        _err(f"UNSAFE: {in_user_words(str(exc), args)}")
        return EXIT_UNSAFE
    except InstrumentError as exc:
        bar.close()
        _err(f"instrument error: {in_user_words(str(exc), args)}")
        return EXIT_INSTRUMENT
    except WavegenError as exc:
        bar.close()
        _err(f"error: {in_user_words(str(exc), args)}")
        return EXIT_USAGE
    except FileNotFoundError as exc:
        bar.close()
        _err(f"error: no such file: {exc.filename or exc}")
        return EXIT_USAGE
    except (IsADirectoryError, NotADirectoryError, PermissionError) as exc:
        bar.close()
        _err(f"error: {exc.strerror or exc}: {exc.filename}")
        return EXIT_USAGE
    except (ConnectionError, TimeoutError) as exc:  # a transport error a driver did not wrap
        bar.close()
        _err(f"instrument error: {type(exc).__name__}: {exc}")
        return EXIT_INSTRUMENT
    except OSError as exc:  # disk full, read-only folder, ...: the input or the environment, not a bug
        bar.close()
        _err(f"error: {exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else ""))
        return EXIT_USAGE
    except KeyboardInterrupt:
        bar.close()
        _err("interrupted (instruments were closed and outputs switched off on the way out)")
        return 130
    except Exception as exc:  # noqa: BLE001 - the last line of defence: a bug, reported as such
        bar.close()
        _err(f"internal error: {type(exc).__name__}: {exc}")
        if args.verbose:
            traceback.print_exc()
        else:
            _err("this is a bug; run again with -v for the traceback and please report it")
        return EXIT_INTERNAL


#: ``check --json``: errors go to stdout as JSON too, so a script reads one format
_json_errors = False


def _err(msg: str) -> None:
    if _json_errors:
        import json

        print(json.dumps({"ok": False, "error": msg}))
    print(f"wavegen: {msg}", file=sys.stderr)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
