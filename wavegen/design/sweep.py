"""``sweep()``: a design function over a parameter grid, with Bloch profile metrics per point, on Dask.

A pulse designer asks how peak B1, energy and the profile change with the design parameters: SLR
time-bandwidth x ripple x duration, say. :func:`sweep` calls ``fn(**point)`` for every point of the grid,
Bloch-simulates the pulse it returns (:mod:`wavegen.design.bloch`) and measures it
(:func:`bloch_metrics`), on the engine :func:`wavegen.safety.check_many` uses
(:func:`wavegen.parallel.run_batches`: a local cluster of worker processes by default, or an existing
cluster by address), and returns a :class:`~wavegen.parallel.Table`: one row per point, in grid order,
labelled by the parameters, then one column per metric, then ``error`` (a point whose design or
simulation raised keeps its row, with NaN metrics and the message).

Tasks of a sensible size: the first point is evaluated here first (which also tells a broken ``fn`` at
once and gives the columns of a custom metric function); its time sizes the batches of points per task
to about ``batch_s`` of work (``docs/library.md``).

Metrics (:data:`METRICS`), from the pulse and from its simulated profile over frequency:

=======================  ===============================================================================
``duration_s``           pulse duration, s
``peak_b1_t``            peak ``|B1|``, T
``energy_t2_s``          ``integral |B1|^2 dt``, T^2 s: the SAR proxy (SAR is proportional to it per pulse
                         for one coil and patient; IEC 60601-2-33 SAR needs a calibration)
``b1rms_t``              ``sqrt(energy / duration)``, T
``flip_deg``             on-resonance flip angle from the simulation, degrees
``fwhm_hz``              full width at half maximum of the profile, Hz
``transition_width_hz``  widest 10 %-90 % edge of the profile, Hz
``passband_ripple``      ``(max - min) / 2`` of the profile in the passband
``stopband_ripple``      largest ``|profile|`` in the stopband
=======================  ===============================================================================

The profile is the quantity the pulse's ``use`` is judged on (Pauly et al., IEEE TMI 1991;10:53-65,
Table I): ``|Mxy|`` for excitation (and undefined use), ``(1 - Mz) / 2`` for inversion, ``|beta|^2`` (the
refocused fraction) for refocusing, ``1 - Mz`` for saturation. The pass- and stopband are those ``fn``
returns (``{"rf": pulse, "passband_hz": (lo, hi), "stopband_hz": (lo, hi)}``) or else measured: within one
transition width inside / outside the half-maximum edges.
"""

from __future__ import annotations

import itertools
import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from wavegen.design.bloch import profile_metrics, simulate
from wavegen.design.pulse import RFPulse
from wavegen.errors import DesignError, RangeError
from wavegen.parallel import Table, TaskFailure, run_batches

__all__ = ["sweep", "bloch_metrics", "grid_points", "METRICS"]

logger = logging.getLogger(__name__)

#: The metrics :func:`bloch_metrics` computes (the default columns of :func:`sweep`).
METRICS = ("duration_s", "peak_b1_t", "energy_t2_s", "b1rms_t", "flip_deg", "fwhm_hz", "transition_width_hz",
           "passband_ripple", "stopband_ripple")


def grid_points(grid: Mapping[str, Sequence[Any]] | Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The points of a grid: a mapping ``name -> values`` is the Cartesian product (in the mapping's order,
    the last name varying fastest); a sequence of mappings is taken as the points themselves."""
    if isinstance(grid, Mapping):
        names = list(grid)
        if not names:
            raise RangeError("the grid has no parameter")
        values = []
        for n in names:
            v = grid[n]
            if isinstance(v, (str, bytes)) or not isinstance(v, Sequence | np.ndarray):
                raise RangeError(f"grid[{n!r}] must be a sequence of values, got {type(v).__name__}")
            if len(v) == 0:
                raise RangeError(f"grid[{n!r}] has no value")
            values.append(list(v.tolist() if isinstance(v, np.ndarray) else v))
        return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*values)]
    points = [dict(p) for p in grid]
    if not points:
        raise RangeError("the grid has no point")
    keys = list(points[0])
    for i, p in enumerate(points):
        if list(p) != keys:
            raise RangeError(f"grid point {i} has parameters {list(p)}, point 0 has {keys}")
    return points


def _profile(rf: RFPulse, f_hz: np.ndarray) -> np.ndarray:
    res = simulate(rf, off_resonance_hz=f_hz)
    use = rf.use
    if use == "inversion":
        return (1.0 - res.mz) / 2.0
    if use == "refocusing":
        assert res.beta is not None
        return np.abs(res.beta) ** 2
    if use == "saturation":
        return 1.0 - res.mz
    return np.abs(res.mxy)


def bloch_metrics(
    rf: RFPulse,
    *,
    passband_hz: tuple[float, float] | None = None,
    stopband_hz: tuple[float, float] | None = None,
    n_freq: int = 801,
    span_hz: float | None = None,
) -> dict[str, float]:
    """The :data:`METRICS` of one pulse (see the module docstring).

    Parameters
    ----------
    rf
        The pulse.
    passband_hz, stopband_hz
        Band edges, Hz, absolute (the passband is ``lo <= f <= hi``, the stopband ``f <= lo`` or
        ``f >= hi``); default: measured from the profile.
    n_freq
        Frequencies simulated.
    span_hz
        Half-width of the simulated band around the pulse's frequency offset, Hz; default twice its
        bandwidth (``rf.bandwidth_hz``, else ``8 / duration``).
    """
    if not isinstance(rf, RFPulse):
        raise RangeError(f"the design function must return an RFPulse (or a dict with 'rf'), got {type(rf).__name__}")
    if not (isinstance(n_freq, int) and n_freq >= 21):
        raise RangeError(f"n_freq = {n_freq!r} must be an integer >= 21")
    bw = rf.bandwidth_hz if rf.bandwidth_hz else 4.0 / rf.duration_s
    span = float(span_hz) if span_hz is not None else 2.0 * bw
    f = rf.freq_offset_hz + np.linspace(-span, span, n_freq)
    prof = np.ravel(_profile(rf, f))
    on = simulate(rf, off_resonance_hz=rf.freq_offset_hz)
    flip = math.degrees(math.acos(max(-1.0, min(1.0, float(np.ravel(on.mz)[0])))))
    m = profile_metrics(f, prof)
    if passband_hz is None or stopband_hz is None:
        lo, hi = m.center - m.fwhm / 2, m.center + m.fwhm / 2
        tw = m.transition_width
        if passband_hz is None and math.isfinite(tw) and hi - lo > 2 * tw:
            passband_hz = (lo + tw, hi - tw)
        if stopband_hz is None and math.isfinite(tw) and lo - tw > f[0] and hi + tw < f[-1]:
            stopband_hz = (lo - tw, hi + tw)
    pass_r = stop_r = math.nan
    if passband_hz is not None:
        pass_r = profile_metrics(f, prof, passband=passband_hz).passband_ripple
    if stopband_hz is not None:
        stop_r = profile_metrics(f, prof, stopband=stopband_hz).stopband_level
    energy = rf.energy_t2_s
    return {
        "duration_s": rf.duration_s, "peak_b1_t": rf.peak_b1_t, "energy_t2_s": energy,
        "b1rms_t": math.sqrt(energy / rf.duration_s), "flip_deg": flip, "fwhm_hz": m.fwhm,
        "transition_width_hz": m.transition_width, "passband_ripple": pass_r, "stopband_ripple": stop_r,
    }


@dataclass(frozen=True)
class _Job:
    fn: Callable[..., Any]
    metrics: Any  # a tuple of names of METRICS, or a callable(rf, **bands) -> mapping
    n_freq: int


def _measure(job: _Job, point: Mapping[str, Any]) -> dict[str, float]:
    out = job.fn(**point)
    bands: dict[str, Any] = {}
    if isinstance(out, Mapping):
        if "rf" not in out:
            raise RangeError(f"the design function returned a mapping without 'rf': keys {sorted(out)}")
        rf = out["rf"]
        bands = {k: out[k] for k in ("passband_hz", "stopband_hz") if k in out}
    else:
        rf = out
    if callable(job.metrics):
        values = job.metrics(rf, **bands)
        if not isinstance(values, Mapping):
            raise RangeError(f"the metrics function must return a mapping name -> value, got {type(values).__name__}")
        return {str(k): v for k, v in values.items()}
    allm = bloch_metrics(rf, n_freq=job.n_freq, **bands)
    return {k: allm[k] for k in job.metrics}


def sweep_batch(batch: Sequence[tuple[int, dict[str, Any]]], job: _Job) -> list[tuple[int, dict[str, Any] | str]]:
    """Run on a worker: the metrics of each point of the batch, or the error message of a point that raised."""
    out: list[tuple[int, dict[str, Any] | str]] = []
    for i, point in batch:
        try:
            out.append((i, _measure(job, point)))
        except Exception as exc:  # noqa: BLE001 - one bad point never stops the sweep
            out.append((i, f"{type(exc).__name__}: {exc}"))
    return out


def sweep(
    fn: Callable[..., Any],
    grid: Mapping[str, Sequence[Any]] | Sequence[Mapping[str, Any]],
    *,
    metrics: Sequence[str] | Callable[..., Mapping[str, Any]] = METRICS,
    scheduler: Any = None,
    n_workers: int | None = None,
    batch_s: float = 0.25,
    retries: int = 1,
    n_freq: int = 801,
    progress: Callable[[int, int], None] | None = None,
) -> Table:
    """Evaluate ``fn`` over ``grid`` with Bloch profile metrics per point, on Dask; one row per point.

    Parameters
    ----------
    fn
        ``fn(**point) -> RFPulse`` (or ``{"rf": pulse, "passband_hz": (lo, hi), "stopband_hz": (lo, hi)}``).
        A module-level function or a picklable callable (it is sent to the workers).
    grid
        ``{"name": values, ...}`` (Cartesian product, last name fastest) or a list of points (mappings).
    metrics
        Names from :data:`METRICS` (default: all but those the grid sets as parameters, e.g.
        ``duration_s``), or a function ``metrics(rf, **bands) -> {name: value}``.
    scheduler, n_workers, retries, progress
        As for :func:`wavegen.safety.check_many` (``progress(done_points, total_points)``).
    batch_s
        Seconds of work per task (points per task = ``batch_s`` / the first point's time).
    n_freq
        Frequencies of each simulated profile.

    Returns
    -------
    Table
        Columns: the grid's parameters, the metrics, ``error``; ``table.stats`` the run's statistics.

    Raises
    ------
    RangeError
        A bad grid or metric name.
    DesignError
        (or what ``fn`` raised) when none of the first points could be designed: ``fn`` itself is broken.
    """
    points = grid_points(grid)
    if not callable(metrics):
        names = tuple(metrics)
        bad = [m for m in names if m not in METRICS]
        if bad or not names:
            raise RangeError(f"unknown metric(s) {bad or '(none)'}; known: {', '.join(METRICS)}")
        metrics = names
    if not (isinstance(batch_s, (int, float)) and math.isfinite(batch_s) and batch_s > 0):
        raise RangeError(f"batch_s = {batch_s!r} s must be > 0")
    job = _Job(fn, metrics, n_freq)
    # the first point here: a broken fn fails now, and its time sizes the tasks
    first: dict[int, dict[str, Any] | str] = {}
    t_point = math.nan
    for i in range(min(len(points), 5)):
        t0 = time.perf_counter()
        first.update(sweep_batch([(i, points[i])], job))
        if isinstance(first[i], dict):
            t_point = time.perf_counter() - t0
            break
    ok = [v for v in first.values() if isinstance(v, dict)]
    if not ok:
        raise DesignError(f"the design function failed on the first {len(first)} point(s): {first[0]}")
    params = list(points[0])
    metric_cols = list(ok[0])
    if metrics == METRICS:  # the default set: a metric the grid already sets (duration_s) is not repeated
        metric_cols = [m for m in metric_cols if m not in params]
    clash = sorted(set(params) & set(metric_cols) | ({"error"} & set(params)))
    if clash:
        raise RangeError(f"parameter name(s) {clash} clash with metric columns")
    rest = [(i, p) for i, p in enumerate(points) if i not in first]
    from wavegen.parallel.engine import default_workers

    slots = 4 * (n_workers or default_workers())
    per_task = max(1, min(math.ceil(batch_s / max(t_point, 1e-6)), math.ceil(len(rest) / slots) if rest else 1))
    batches = [rest[k: k + per_task] for k in range(0, len(rest), per_task)]
    done0 = len(first)
    if progress is not None:
        progress(done0, len(points))
    results, stats = run_batches(
        sweep_batch, batches, shared=job, scheduler=scheduler, n_workers=n_workers, retries=retries,
        weights=[len(b) for b in batches],
        progress=None if progress is None else (lambda d, t: progress(done0 + d, len(points))),
    )
    values: dict[int, dict[str, Any] | str] = dict(first)
    for b, res in zip(batches, results, strict=True):
        if isinstance(res, TaskFailure):
            for i, _ in b:
                values[i] = f"task lost: {res.message}"
        else:
            values.update(res)
    rows = []
    for i, p in enumerate(points):
        v = values[i]
        row: dict[str, Any] = dict(p)
        if isinstance(v, str):
            row.update({m: math.nan for m in metric_cols})
            row["error"] = v
        else:
            row.update({m: v.get(m, math.nan) for m in metric_cols})
            row["error"] = ""
        rows.append(row)
    logger.info("swept %d point(s) on %s in %.2f s", len(points), stats.scheduler, stats.wall_s)
    return Table([*params, *metric_cols, "error"], rows, stats=stats)
