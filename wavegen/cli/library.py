"""``wavegen check`` on a protocol library: many files and configurations, one table.

``wavegen check`` keeps its one-file report (``wavegen check a.seq``). Given more than one protocol (several
paths, a folder, a glob pattern) or more than one configuration (``--config``/``--limits`` repeated), or
``--csv``/``--scheduler``, it checks every protocol against every configuration with
:func:`wavegen.safety.check_many` on Dask and prints one table::

    wavegen check protocols/ "extra/*.seq" --config benchA.toml --config benchB.toml --csv out.csv
    wavegen check lib/ --limits max_grad=40mT/m,max_slew=150T/m/s --limits slow.toml --scheduler tcp://h:8786

Exit code: 1 when a pair is unsafe (or, with ``--strict``, unverified), else 2 when a row is an error (a
file or configuration that could not be read), else 0.
"""

from __future__ import annotations

import argparse
import glob
import json
import logging
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from wavegen.errors import ConfigError, RangeError, UnitError

__all__ = ["add_library_options", "is_library", "single_args", "cmd_check_library", "library_summary"]

logger = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]

_GLOB_CHARS = set("*?[")


def add_library_options(c: argparse.ArgumentParser) -> None:
    """The options of ``check`` for libraries: repeatable ``--limits``, ``--csv``, ``--scheduler``, ``--workers``."""
    c.add_argument("--limits", metavar="SPEC", action="append", default=None,
                   help='hardware limits: "max_grad=40 mT/m,max_slew=150 T/m/s,max_b1=20 uT" or a TOML file with '
                        "a [limits] table (default: 40 mT/m, 150 T/m/s, 20 uT, Pulseq rasters); repeat it (and "
                        "--config) to check a library against several configurations")
    g = c.add_argument_group("protocol libraries (several files or configurations: one table)")
    g.add_argument("--csv", type=Path, metavar="OUT.csv", default=None, help="also write the table as CSV")
    g.add_argument("--scheduler", metavar="ADDRESS", default=None,
                   help='Dask scheduler: "tcp://HOST:8786" (an existing cluster; default: DASK_SCHEDULER_ADDRESS '
                        'when set), "processes" (a local cluster, one worker per core: the default), "threads" '
                        'or "synchronous"')
    g.add_argument("--workers", type=int, metavar="N", default=None,
                   help="worker processes of the local cluster (default: one per core)")


def _config_list(args: argparse.Namespace) -> list[Any]:
    return list(getattr(args, "config", None) or [])


def _limits_list(args: argparse.Namespace) -> list[str]:
    return list(getattr(args, "limits", None) or [])


def is_library(args: argparse.Namespace) -> bool:
    """Whether ``check`` was asked for a table: several protocols, ``--config`` or ``--limits`` given more
    than once, a folder or pattern, or a table option (``--csv``, ``--scheduler``, ``--workers``). (One file
    with one ``--config`` and one ``--limits`` stays the one-file command, which refuses the pair.)"""
    files = [str(f) for f in args.file]
    if len(files) != 1 or len(_config_list(args)) > 1 or len(_limits_list(args)) > 1:
        return True
    if args.csv is not None or args.scheduler is not None or args.workers is not None:
        return True
    f = files[0]
    if Path(f).is_dir():  # a folder of protocols; an empty one stays the one-file error ("Is a directory")
        return any(Path(f).rglob("*.seq"))
    return not Path(f).exists() and bool(_GLOB_CHARS & set(f))


def single_args(args: argparse.Namespace) -> None:
    """Turn the lists of a one-file ``check`` back into the single values the one-file command reads."""
    args.file = Path(args.file[0])
    configs = _config_list(args)
    limits = _limits_list(args)
    args.config = configs[0] if configs else None
    args.limits = limits[0] if limits else None


def _configs(args: argparse.Namespace, extra: dict[str, Any]) -> list[Any]:
    """``--config`` bench files then ``--limits`` specs/files, as :class:`CheckConfig` objects (a file that
    cannot be read becomes a configuration whose rows report it); ``extra``: further check arguments."""
    from wavegen.cli.options import parse_limits
    from wavegen.safety.library import CheckConfig, load_config

    common: dict[str, Any] = {"mode": args.mode, "patient": not args.phantom}
    out: list[Any] = []
    for path in _config_list(args):
        out.append(load_config(Path(path), **common, **extra))
    for spec in _limits_list(args):
        is_file = spec.endswith(".toml") or Path(spec).is_file()
        if is_file:
            out.append(load_config(Path(spec), **common, **extra))
        else:  # an inline spec: a typo is a usage error at once, not a row per protocol
            out.append(CheckConfig(spec, parse_limits(spec), dict(common, **extra)))
    if not out:
        from wavegen.limits import SystemLimits

        out.append(CheckConfig("default limits", SystemLimits(), dict(common, **extra)))
    return out


def _protocols(args: argparse.Namespace) -> list[str]:
    """The protocol arguments; a folder without any ``.seq`` or a pattern matching nothing is a usage error."""
    out = []
    for f in args.file:
        text = str(f)
        p = Path(text)
        if p.is_dir() and not any(p.rglob("*.seq")):
            raise IsADirectoryError(21, "Is a directory, and holds no .seq file", text)
        if not p.exists() and _GLOB_CHARS & set(text) and not glob.glob(text, recursive=True):
            raise FileNotFoundError(2, "No file matches the pattern", text)
        out.append(text)
    return out


def library_summary(table: Any) -> dict[str, int]:
    """Rows per verdict."""
    counts = {"pass": 0, "unverified": 0, "fail": 0, "error": 0}
    for v in table.column("verdict"):
        counts[v] = counts.get(v, 0) + 1
    return counts


def _text_table(table: Any) -> str:
    from wavegen.parallel import Table

    rows = []
    for r in table:
        margin = r["margin"]
        rows.append({
            "protocol": r["protocol"], "config": r["config"], "verdict": r["verdict"].upper(),
            "worst rule": r["worst_rule"] or "-",
            "margin": f"{margin * 100:+.2f} %" if math.isfinite(margin) else "-",
            "at t / s": f"{r['time_s']:.6f}" if math.isfinite(r["time_s"]) else "-",
            "channel": r["channel"] or "-",
            "details": _cut(r["error"] or r["violations"] or (f"unverified: {r['unverified']}" if r["unverified"]
                                                              else "")),
        })
    cols = ("protocol", "config", "verdict", "worst rule", "margin", "at t / s", "channel", "details")
    return Table(cols, rows).format(max_width=10_000)  # names whole; details cut by _cut


def _cut(text: str, width: int = 72) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def cmd_check_library(args: argparse.Namespace, progress: Progress, sar_options: dict[str, Any]) -> int:
    """``wavegen check`` on several protocols and/or configurations: the table, CSV, JSON; the exit code.
    ``sar_options``: the check arguments of ``--sar-calibration`` (read by the one-file command's reader)."""
    from wavegen.safety.library import check_many

    if args.plot is not None:
        raise UnitError("--plot draws one report; for a library use --csv or --json (or check one file with --plot)")
    if args.workers is not None and args.workers < 1:
        raise RangeError(f"--workers = {args.workers} must be >= 1")
    if args.csv is not None and args.csv.suffix.lower() != ".csv":
        raise UnitError(f"--csv: {args.csv} must end in .csv")
    if args.csv is not None and args.csv.is_dir():
        raise ConfigError(f"--csv: {args.csv} is a folder, not a file")
    if args.hardware is not None and not args.hardware.exists():
        raise FileNotFoundError(2, "No such file or directory", str(args.hardware))
    protocols = _protocols(args)
    configs = _configs(args, sar_options)
    table = check_many(protocols, configs, scheduler=args.scheduler, n_workers=args.workers,
                       hardware=args.hardware, progress=lambda done, total: progress("check", done, total))
    counts = library_summary(table)
    unsafe = counts["fail"] > 0 or (args.strict and counts["unverified"] > 0)
    code = 1 if unsafe else (2 if counts["error"] else 0)
    if args.csv is not None:
        args.csv.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(args.csv)
    st = table.stats
    how = (f"on {st.scheduler} ({st.n_workers} worker(s), {st.n_tasks} task(s)) in {st.wall_s:.2f} s"
           if st is not None else "")
    n_prot = len({r["protocol"] for r in table})
    if args.json:
        doc = {"ok": counts["fail"] == 0, "passed": code == 0, "protocols": n_prot, "configs": len(configs),
               "counts": counts, "rows": json.loads(table.to_json())}
        print(json.dumps(doc, indent=2))
        return code
    print(_text_table(table))
    print(f"{len(table)} check(s): {n_prot} protocol(s) x {len(configs)} configuration(s): "
          + ", ".join(f"{n} {k}" for k, n in counts.items()) + (f"; {how}" if how else ""))
    if args.csv is not None:
        print(f"csv: {args.csv}")
    return code
