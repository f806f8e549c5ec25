"""``check_many()``: a protocol library against several configurations, on Dask, as one table.

Sites check whole libraries of ``.seq`` protocols against several gradient systems, coils and operating
modes. :func:`check_many` runs :func:`wavegen.safety.check` on every (protocol, configuration) pair and
returns a :class:`~wavegen.parallel.Table`, one row per pair, in the order the protocols and
configurations were given (whatever order the tasks finished in):

=============  =====================================================================================
``protocol``   the file (as found: a path given, or a match of a folder or glob) or the sequence's name
``config``     the configuration's name (its file, or the name given)
``verdict``    ``"pass"``, ``"fail"``, ``"unverified"`` (no rule broken, some could not be judged, e.g.
               SAR without a calibration) or ``"error"`` (the file or configuration could not be read,
               or the check raised: see ``error``)
``worst_rule`` the rule closest to (or furthest past) its limit: the smallest margin among judged rules
``margin``     its relative headroom ``(limit - value) / limit`` (negative when broken)
``value``      its worst value, in ``unit``; ``limit`` the limit
``time_s``     where: the time of its worst sample (windowed rules: the window start), s
``channel``    the axis or transmit channel of the worst sample
``violations`` the broken rules, worst first, comma-separated
``unverified`` the rules that could not be judged, comma-separated
``error``      what went wrong for an ``"error"`` row (else ``""``); ``note`` warnings of the reader
=============  =====================================================================================

Work is split in tasks of a sensible size (``docs/library.md``): a check of a small protocol takes a
few milliseconds, less than Dask's cost of scheduling a task, so several pairs go into one task, sized
from the files' sizes to about ``batch_s`` of work; the largest tasks are submitted first. The
configurations are read once, here, and scattered once to every worker; the protocol files are read on
the workers (only their paths travel). A file that cannot be read, or a check that raises, fills its
rows with ``"error"`` and the rest go on; a task lost with its worker is rescheduled by Dask, and if it
is lost too often its rows say so.
"""

from __future__ import annotations

import glob
import logging
import math
import os
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wavegen.errors import ConfigError, RangeError, WavegenError
from wavegen.limits import SystemLimits
from wavegen.parallel import Table, TaskFailure, run_batches

__all__ = ["check_many", "CheckConfig", "load_config", "expand_protocols", "ProtocolRef", "LIBRARY_COLUMNS",
           "SharedInputs", "check_batch", "row_of_report"]

logger = logging.getLogger(__name__)

#: The columns of :func:`check_many`'s table, in order.
LIBRARY_COLUMNS = ("protocol", "config", "verdict", "worst_rule", "margin", "value", "limit", "unit", "time_s",
                   "channel", "violations", "unverified", "error", "note")

#: Estimated seconds of work per protocol/configuration pair: a fixed part and a part per byte of the
#: ``.seq`` file (reading and checking grow with the number of blocks). Measured on the bench library
#: (``bench/library.py``): a small GRE/EPI/spiral file of ~50 kB takes ~5 ms to read and check.
_PAIR_FIXED_S = 2e-3
_PAIR_PER_BYTE_S = 6e-8
_SEQUENCE_BYTES = 50_000  # a Sequence object given directly: counted as a small file

_GLOB_CHARS = set("*?[")


@dataclass(frozen=True)
class CheckConfig:
    """One configuration a library is checked against.

    Parameters
    ----------
    name
        Its label in the table.
    limits
        The hardware limits.
    options
        Keyword arguments of :func:`wavegen.safety.check` (``mode``, ``patient``, ``periodic``,
        ``hardware``, ``rf_amplifier``, ``sar_calibration``, ``patient_mass_kg``, ...).
    error
        Why it could not be loaded (every row of it is then an ``"error"`` row); ``""`` when it could.
    """

    name: str
    limits: SystemLimits = field(default_factory=SystemLimits)
    options: Mapping[str, Any] = field(default_factory=dict)
    error: str = ""


@dataclass(frozen=True)
class ProtocolRef:
    """One protocol of a library: a file read on the worker, or a sequence given directly."""

    name: str
    path: str | None = None
    sequence: Any = None
    size_bytes: int = _SEQUENCE_BYTES
    error: str = ""

    @property
    def cost_s(self) -> float:
        """Estimated seconds to read and check it against one configuration."""
        return _PAIR_FIXED_S + _PAIR_PER_BYTE_S * self.size_bytes


def expand_protocols(protocols: Any) -> list[ProtocolRef]:
    """The protocols of a library, in order: paths, folders (every ``*.seq`` below, sorted), glob
    patterns (matches sorted), :class:`~wavegen.sequence.Sequence` objects, or ``(name, Sequence)``
    pairs. A file named twice is kept once (its first place). A path that does not exist, or a pattern
    or folder that matches nothing, becomes an entry with an error (an ``"error"`` row), not an exception.
    """
    from wavegen.sequence.sequence import Sequence as _Seq

    one = isinstance(protocols, (str, os.PathLike, _Seq)) or (
        isinstance(protocols, tuple) and len(protocols) == 2 and isinstance(protocols[1], _Seq))
    items: Iterable[Any] = [protocols] if one else protocols
    out: list[ProtocolRef] = []
    seen: set[str] = set()

    def add_file(p: Path, shown: str) -> None:
        key = os.path.realpath(p)
        if key in seen:
            return
        seen.add(key)
        try:
            size = p.stat().st_size
        except OSError:
            size = 0
        out.append(ProtocolRef(shown, path=str(p), size_bytes=size))

    for k, item in enumerate(items):
        if isinstance(item, _Seq):
            out.append(ProtocolRef(f"<sequence {k}>", sequence=item))
            continue
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], _Seq):
            out.append(ProtocolRef(str(item[0]), sequence=item[1]))
            continue
        if not isinstance(item, (str, os.PathLike)):
            raise RangeError(f"a protocol is a path, a folder, a glob pattern, a Sequence or a (name, Sequence) "
                             f"pair; got {type(item).__name__}")
        text = os.fspath(item)
        p = Path(text)
        if p.is_dir():
            found = sorted(q for q in p.rglob("*.seq") if q.is_file())
            if not found:
                out.append(ProtocolRef(text, error=f"no .seq file in the folder {text}"))
            for q in found:
                add_file(q, str(q))
        elif not p.exists() and _GLOB_CHARS & set(text):
            matches = sorted(glob.glob(text, recursive=True))
            files = [m for m in matches if Path(m).is_file()]
            if not files:
                out.append(ProtocolRef(text, error=f"no file matches {text!r}"))
            for m in files:
                add_file(Path(m), m)
        else:
            if not p.exists():
                out.append(ProtocolRef(text, path=text, error=f"no such file: {text}"))
            elif p.is_dir():  # pragma: no cover - handled above
                continue
            else:
                add_file(p, text)
    return out


def load_config(
    item: Any,
    *,
    name: str | None = None,
    mode: str = "normal",
    patient: bool = True,
    **options: Any,
) -> CheckConfig:
    """A :class:`CheckConfig` from a bench file, a limits file, a :class:`SystemLimits`, a
    :class:`~wavegen.bench.config.BenchConfig` or a :class:`CheckConfig` (returned as it is).

    A TOML file with a ``[bench]`` or ``[instruments]`` table is a bench: its limits, operating mode,
    patient flag and RF amplifier are used, and protocols are judged as the bench plays them, once
    (``periodic=False``), as ``wavegen check --config`` does. Any other TOML file is a limits file: its
    ``[limits]`` table (or its top level) of ``SystemLimits.from_units`` keys, with ``mode`` and
    ``patient`` as given here. ``options`` are further :func:`wavegen.safety.check` arguments.

    A file that cannot be read gives a :class:`CheckConfig` with ``error`` set (its rows report it).
    """
    from wavegen.bench.config import BenchConfig, load_toml, parse_config

    if isinstance(item, CheckConfig):
        return item
    base: dict[str, Any] = {"mode": mode, "patient": patient, **options}
    if isinstance(item, SystemLimits):
        return CheckConfig(name or "limits", item, base)
    if isinstance(item, BenchConfig):
        return _bench_config(name or item.name, item, base)
    if not isinstance(item, (str, os.PathLike)):
        raise RangeError(f"a configuration is a bench or limits TOML file, SystemLimits, BenchConfig or "
                         f"CheckConfig; got {type(item).__name__}")
    label = name or os.fspath(item)
    try:
        data = load_toml(Path(item))
        if "bench" in data or "instruments" in data:
            return _bench_config(label, parse_config(data), base)
        table = data.get("limits", data)
        if not isinstance(table, dict):
            raise ConfigError(f"{label}: [limits] must be a table of name = value")
        values = {k: v for k, v in table.items() if not isinstance(v, dict)}
        return CheckConfig(label, SystemLimits.from_units(**values), base)
    except (WavegenError, OSError) as exc:
        return CheckConfig(label, SystemLimits(), base, error=f"{type(exc).__name__}: {exc}")


def _bench_config(name: str, bench: Any, base: dict[str, Any]) -> CheckConfig:
    opts = dict(base, mode=bench.mode, patient=bench.patient, periodic=False)
    if bench.rf_amplifier is not None:
        opts["rf_amplifier"] = bench.rf_amplifier
    return CheckConfig(name, bench.limits, opts)


def _num(x: float) -> float:
    return float(x)


def row_of_report(protocol: str, config: str, report: Any, note: str = "") -> dict[str, Any]:
    """The table row of one :class:`~wavegen.safety.SafetyReport`."""
    judged = [r for r in report.results if r.verdict in ("pass", "fail") and math.isfinite(r.margin)]
    worst = min(judged, key=lambda r: r.margin, default=None)
    viol = report.violations
    if viol:
        worst = viol[0]
    verdict = "fail" if not report.ok else ("unverified" if not report.complete else "pass")
    nan = float("nan")
    return {
        "protocol": protocol, "config": config, "verdict": verdict,
        "worst_rule": worst.rule if worst else "", "margin": _num(worst.margin) if worst else nan,
        "value": _num(worst.value) if worst else nan, "limit": _num(worst.limit) if worst else nan,
        "unit": worst.unit if worst else "", "time_s": _num(worst.time_s) if worst else nan,
        "channel": worst.channel if worst else "",
        "violations": ",".join(r.rule for r in viol), "unverified": ",".join(r.rule for r in report.unverified),
        "error": "", "note": note,
    }


def _error_row(protocol: str, config: str, message: str, note: str = "") -> dict[str, Any]:
    nan = float("nan")
    return {"protocol": protocol, "config": config, "verdict": "error", "worst_rule": "", "margin": nan,
            "value": nan, "limit": nan, "unit": "", "time_s": nan, "channel": "", "violations": "",
            "unverified": "", "error": message, "note": note}


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


@dataclass(frozen=True)
class SharedInputs:
    """What every task needs, scattered once: the configurations and the common check options."""

    configs: tuple[CheckConfig, ...]
    strict_reader: bool


#: one task: ((protocol index, ProtocolRef, (config indices ...)), ...)
_Batch = tuple[tuple[int, ProtocolRef, tuple[int, ...]], ...]


def check_batch(batch: _Batch, shared: SharedInputs) -> list[tuple[int, int, dict[str, Any]]]:
    """Run on a worker: read each protocol of the batch once and check it against its configurations.

    Returns ``(protocol index, config index, row)`` for every pair; never raises for one bad file or one
    failing check (the row says what happened).
    """
    from wavegen import pulseq
    from wavegen.safety.check import check

    out = []
    for pi, ref, cis in batch:
        note = ""
        seq = ref.sequence
        err = ref.error
        if not err and seq is None:
            try:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    seq = pulseq.read(ref.path or "", signature="strict" if shared.strict_reader else "warn")
                note = "; ".join(sorted({str(w.message) for w in caught}))
            except Exception as exc:  # noqa: BLE001 - a malformed file is reported in its rows
                err = _describe(exc)
        for ci in cis:
            cfg = shared.configs[ci]
            if err or cfg.error:
                out.append((pi, ci, _error_row(ref.name, cfg.name, err or f"configuration: {cfg.error}", note)))
                continue
            try:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    report = check(seq, cfg.limits, keep_traces=False, **dict(cfg.options))
                extra = "; ".join(sorted({str(w.message) for w in caught}))
                both = "; ".join(x for x in (note, extra) if x)
                out.append((pi, ci, row_of_report(ref.name, cfg.name, report, both)))
            except Exception as exc:  # noqa: BLE001 - one failing check never stops the library
                out.append((pi, ci, _error_row(ref.name, cfg.name, _describe(exc), note)))
    return out


def _batches(refs: Sequence[ProtocolRef], n_configs: int, batch_s: float, n_slots: int) -> list[_Batch]:
    """Group the pairs, protocol by protocol, into tasks of about ``batch_s`` of estimated work (fewer
    when the whole library is small: at least ``n_slots`` tasks, so every worker has some), largest first."""
    total = sum(r.cost_s for r in refs) * n_configs
    target = min(batch_s, max(total / max(1, n_slots), 1e-9))
    batches: list[tuple[float, _Batch]] = []
    cur: list[tuple[int, ProtocolRef, tuple[int, ...]]] = []
    cur_s = 0.0
    for pi, ref in enumerate(refs):
        cis: list[int] = []
        for ci in range(n_configs):
            cis.append(ci)
            cur_s += ref.cost_s
            if cur_s >= target:
                cur.append((pi, ref, tuple(cis)))
                batches.append((cur_s, tuple(cur)))
                cur, cis, cur_s = [], [], 0.0
        if cis:
            cur.append((pi, ref, tuple(cis)))
    if cur:
        batches.append((cur_s, tuple(cur)))
    batches.sort(key=lambda x: -x[0])  # stable: equal estimates keep the library's order
    return [b for _, b in batches]


def check_many(
    protocols: Any,
    configs: Any = None,
    *,
    scheduler: Any = None,
    n_workers: int | None = None,
    batch_s: float = 0.25,
    retries: int = 1,
    progress: Callable[[int, int], None] | None = None,
    mode: str = "normal",
    patient: bool = True,
    strict_reader: bool = False,
    **check_options: Any,
) -> Table:
    """Check every protocol against every configuration, on Dask; one row per pair, in input order.

    Parameters
    ----------
    protocols
        ``.seq`` paths, folders (every ``*.seq`` below them), glob patterns (``"lib/**/*.seq"``),
        :class:`~wavegen.sequence.Sequence` objects or ``(name, Sequence)`` pairs; one or a list.
    configs
        Bench files (``bench.toml``), limits TOML files, :class:`~wavegen.limits.SystemLimits`,
        :class:`~wavegen.bench.config.BenchConfig` or :class:`CheckConfig` objects; one or a list
        (default: the default :class:`SystemLimits`). See :func:`load_config`.
    scheduler
        ``None`` (``DASK_SCHEDULER_ADDRESS`` when set, else a local cluster of one worker process per
        core; one task runs in this process), ``"processes"``, ``"threads"``, ``"synchronous"``, an
        address ``"tcp://HOST:8786"`` or a ``distributed.Client`` (see
        :func:`wavegen.parallel.resolve_scheduler`).
    n_workers
        Workers of a local cluster (default: one per core).
    batch_s
        Estimated seconds of work per task (several small pairs per task; the scheduling overhead is
        about a millisecond per task).
    retries
        Times a task that raised is retried.
    progress
        ``progress(done_pairs, total_pairs)`` as tasks finish.
    mode, patient
        Operating mode and patient flag for the configurations that do not set them (limits files and
        objects; bench files set their own).
    strict_reader
        Refuse a file whose ``[SIGNATURE]`` matches no known writer (an ``"error"`` row) instead of
        noting the warning.
    **check_options
        Further :func:`wavegen.safety.check` arguments for every configuration that does not set them
        (``hardware``, ``sar_calibration``, ``patient_mass_kg``, ``iec``, ...).

    Returns
    -------
    Table
        Columns :data:`LIBRARY_COLUMNS`; ``table.stats`` is the :class:`~wavegen.parallel.RunStats`.

    Raises
    ------
    RangeError
        A protocol or configuration of an unknown kind, or a bad ``batch_s``/``retries``. (A file that
        does not exist or cannot be read is an ``"error"`` row, not an exception.)
    """
    if not (isinstance(batch_s, (int, float)) and math.isfinite(batch_s) and batch_s > 0):
        raise RangeError(f"batch_s = {batch_s!r} s must be > 0")
    t0 = time.perf_counter()
    refs = expand_protocols(protocols)
    if configs is None:
        configs = [SystemLimits()]
    items = [configs] if isinstance(configs, (str, os.PathLike, SystemLimits, CheckConfig)) or not isinstance(
        configs, Iterable) else list(configs)
    hw = check_options.get("hardware")
    if isinstance(hw, (str, os.PathLike)):  # parse the .asc once, here, not once per check on the workers
        from wavegen.safety.hardware import hardware_from_asc

        check_options = dict(check_options, hardware=hardware_from_asc(Path(hw)))
    cfgs = tuple(load_config(c, name=None if not isinstance(c, SystemLimits) else f"limits[{k}]", mode=mode,
                             patient=patient, **check_options) for k, c in enumerate(items))
    if not cfgs:
        raise RangeError("no configuration given")
    names = [c.name for c in cfgs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"configuration names must differ; given more than once: {', '.join(dupes)}")
    if not refs:
        return Table(LIBRARY_COLUMNS, [], stats=None)
    from wavegen.parallel.engine import default_workers

    slots = (n_workers or default_workers()) * 4
    batches = _batches(refs, len(cfgs), float(batch_s), slots)
    weights = [sum(len(cis) for _, _, cis in b) for b in batches]
    results, stats = run_batches(check_batch, batches, shared=SharedInputs(cfgs, strict_reader),
                                 scheduler=scheduler, n_workers=n_workers, retries=retries, progress=progress,
                                 weights=weights)
    grid: dict[tuple[int, int], dict[str, Any]] = {}
    for b, res in zip(batches, results, strict=True):
        if isinstance(res, TaskFailure):
            for pi, ref, cis in b:
                for ci in cis:
                    grid[(pi, ci)] = _error_row(ref.name, cfgs[ci].name, f"task lost: {res.message}")
        else:
            for pi, ci, row in res:
                grid[(pi, ci)] = row
    rows = [grid[(pi, ci)] for pi in range(len(refs)) for ci in range(len(cfgs))]
    logger.info("checked %d protocol(s) x %d configuration(s) in %.2f s on %s", len(refs), len(cfgs),
                time.perf_counter() - t0, stats.scheduler)
    return Table(LIBRARY_COLUMNS, rows, stats=stats)
