"""Run a function over batches of independent work on Dask (``dask.distributed``).

:func:`run_batches` ``(fn, batches, shared=...)`` calls ``fn(batch, shared)`` once per batch, each call
a Dask task, and returns the results in the order of ``batches`` whatever order they finished in.

- **Where it runs** (:func:`resolve_scheduler`): an address (``"tcp://HOST:8786"``, or the
  ``DASK_SCHEDULER_ADDRESS`` environment variable / dask's ``scheduler-address`` setting) connects to an
  existing cluster; a ``distributed.Client`` is used as it is; ``"processes"`` (the default) starts a
  ``LocalCluster`` of single-threaded worker processes, one per core (the checks are Python-heavy and
  hold the GIL, so threads would not run them in parallel), ``"threads"`` a local cluster of one
  in-process worker with a thread per core, ``"synchronous"`` runs everything in this process, in order
  (also chosen when there is a single batch: one task cannot run in parallel, and a cluster takes about
  a second to start).
- **Inputs sent once**: ``shared`` is scattered to every worker once (``Client.scatter(...,
  broadcast=True)``); each task receives a reference to it, not a copy.
- **Lost work is reported, not fatal**: a task is retried ``retries`` times when it raises; a worker
  that dies mid-task has its task rescheduled by the scheduler (up to dask's ``allowed-failures``),
  after which the batch's result is a :class:`TaskFailure` naming what happened.

Dask's scheduling costs about a millisecond per task; batches should each hold well over 10 ms of work
(``docs/library.md``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from wavegen.errors import ConfigError, RangeError

__all__ = ["run_batches", "resolve_scheduler", "local_cluster", "RunStats", "TaskFailure", "SCHEDULERS",
           "default_workers", "LOCAL_WORKER_CONFIG"]

logger = logging.getLogger(__name__)

#: Seconds to wait for a first worker at a scheduler given by address.
WAIT_FOR_WORKERS_S = 60.0

#: Named schedulers (anything else with ``://`` or ``host:port`` is an address).
SCHEDULERS = ("processes", "threads", "synchronous")


@dataclass(frozen=True)
class TaskFailure:
    """A batch whose task could not complete (worker lost too often, or the task itself raised)."""

    message: str


@dataclass(frozen=True)
class RunStats:
    """How a run went (informative; not part of any result's equality).

    Attributes
    ----------
    scheduler
        What ran it: ``"synchronous"``, ``"local processes"``, ``"local threads"`` or the address.
    n_workers
        Workers (or threads) available to the run.
    n_tasks
        Tasks submitted (one per batch).
    wall_s
        Wall time from the first submission to the last result, s (cluster start-up excluded).
    startup_s
        Time to start or connect to the cluster, s.
    work_s
        Sum of the time the tasks spent in ``fn`` on the workers, s.
    cpu_s
        Sum of the CPU time of the worker processes during the tasks, s (``cpu_s / wall_s`` is the number
        of cores the run obtained: on a machine shared with other jobs, fewer than ``n_workers``).
    """

    scheduler: str
    n_workers: int
    n_tasks: int
    wall_s: float
    startup_s: float
    work_s: float
    cpu_s: float = 0.0

    @property
    def overhead_per_task_s(self) -> float:
        """``(wall_s * n_workers - work_s) / n_tasks``: the time per task not spent working (scheduling,
        transfers, idle workers at the end), s."""
        if self.n_tasks == 0:
            return 0.0
        return max(0.0, self.wall_s * self.n_workers - self.work_s) / self.n_tasks


#: Dask settings for the local clusters wavegen starts. Dask's nanny sets ``MALLOC_TRIM_THRESHOLD_`` in
#: each worker's environment (to return memory to the system sooner); setting it turns off glibc's
#: dynamic mmap threshold, so every array above 128 kB is a fresh ``mmap`` with its page faults, and a
#: safety check ran about 1.6x slower in a worker than in this process (``bench/library.py``; glibc
#: ``mallopt(3)``: "Dynamic adjustment of the mmap threshold is disabled if any of the M_TRIM_THRESHOLD,
#: M_TOP_PAD, M_MMAP_THRESHOLD, or M_MMAP_MAX parameters is set"). The statistical profiler of the
#: workers (a stack sample every 10 ms) costs another ~10 % on this Python-heavy work. The BLAS/OpenMP
#: thread caps stay: one thread per worker.
LOCAL_WORKER_CONFIG = {
    "distributed.nanny.pre-spawn-environ": {"OMP_NUM_THREADS": 1, "MKL_NUM_THREADS": 1, "OPENBLAS_NUM_THREADS": 1},
    "distributed.worker.profile.enabled": False,
}


def local_cluster(n_workers: int, *, processes: bool = True) -> Any:
    """A ``distributed.LocalCluster`` as wavegen starts one: ``n_workers`` single-threaded worker processes
    on 127.0.0.1 (``processes=False``: one in-process worker with ``n_workers`` threads), its HTTP server on
    a free port, quiet logs, :data:`LOCAL_WORKER_CONFIG`. The caller closes it."""
    import dask
    from distributed import LocalCluster

    if n_workers < 1:
        raise RangeError(f"n_workers = {n_workers} must be >= 1")
    where = {"host": "127.0.0.1"} if processes else {}  # threads talk in process (inproc://), no port
    with dask.config.set(LOCAL_WORKER_CONFIG):  # read by the nannies as they are made
        return LocalCluster(
            n_workers=n_workers if processes else 1, threads_per_worker=1 if processes else n_workers,
            # the scheduler serves HTTP (health, metrics) even without a dashboard, on 8787 unless told:
            # a port of the system's choosing never collides with another cluster (nor warns about it)
            processes=processes, dashboard_address=":0", silence_logs=logging.ERROR, **where,
        )


def default_workers() -> int:
    """Worker processes for a local cluster: the cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def _timed(fn: Callable[[Any, Any], Any], batch: Any, shared: Any) -> tuple[float, float, Any]:
    """Run on a worker: ``fn(batch, shared)``, the wall time and the process CPU time it took."""
    t0 = time.perf_counter()
    c0 = time.process_time()
    out = fn(batch, shared)
    return time.perf_counter() - t0, time.process_time() - c0, out


def _is_address(text: str) -> bool:
    return "://" in text or (":" in text and text.rsplit(":", 1)[1].isdigit())


def resolve_scheduler(scheduler: Any = None) -> Any:
    """What ``scheduler`` means: ``"synchronous"``, ``"threads"``, ``"processes"``, an address string, or a
    ``distributed.Client``. ``None`` is the address in ``DASK_SCHEDULER_ADDRESS`` (dask's
    ``scheduler-address`` setting) when set, else ``"processes"``.

    Raises
    ------
    RangeError
        An unknown name (neither a known scheduler nor an address).
    """
    if scheduler is None:
        import dask

        addr = dask.config.get("scheduler-address", None) or os.environ.get("DASK_SCHEDULER_ADDRESS")
        return str(addr) if addr else "processes"
    if isinstance(scheduler, str):
        s = scheduler.strip()
        if s in SCHEDULERS:
            return s
        if s == "sync":
            return "synchronous"
        if _is_address(s):
            return s
        raise RangeError(f"scheduler = {scheduler!r} is neither one of {', '.join(SCHEDULERS)} nor an address "
                         "such as 'tcp://127.0.0.1:8786'")
    from distributed import Client

    if isinstance(scheduler, Client):
        return scheduler
    raise RangeError(f"scheduler must be a name, an address or a distributed.Client, got {type(scheduler).__name__}")


@contextlib.contextmanager
def _client(kind: Any, n_workers: int | None, n_tasks: int) -> Iterator[tuple[Any, str, int]]:
    """``(client or None, description, workers)`` for the run; what it started it stops."""
    if kind == "synchronous":
        yield None, "synchronous", 1
        return
    from distributed import Client

    if isinstance(kind, Client):
        yield kind, f"client {kind.scheduler.address if kind.scheduler else '?'}", _n_workers(kind)
        return
    if kind in ("processes", "threads"):
        n = n_workers or default_workers()
        n = max(1, min(n, n_tasks))
        cluster = local_cluster(n, processes=kind == "processes")
        try:
            with Client(cluster) as client:
                yield client, f"local {kind}", n
        finally:
            cluster.close()
        return
    try:
        client = Client(str(kind), timeout="10s")
    except OSError as exc:
        raise ConfigError(f"cannot reach the Dask scheduler at {kind}: {exc}") from exc
    try:
        try:  # a scheduler without workers would leave the run waiting for ever
            client.wait_for_workers(1, timeout=WAIT_FOR_WORKERS_S)
        except TimeoutError as exc:
            raise ConfigError(f"the Dask scheduler at {kind} has no worker: none joined within "
                              f"{WAIT_FOR_WORKERS_S:g} s") from exc
        yield client, str(kind), _n_workers(client)
    finally:
        client.close()


def _n_workers(client: Any) -> int:
    try:
        info = client.scheduler_info()
        return max(1, sum(int(w.get("nthreads", 1)) for w in info.get("workers", {}).values()))
    except Exception:  # noqa: BLE001 - a figure for the stats only
        return 1


def run_batches(
    fn: Callable[[Any, Any], Any],
    batches: Sequence[Any],
    *,
    shared: Any = None,
    scheduler: Any = None,
    n_workers: int | None = None,
    retries: int = 1,
    progress: Callable[[int, int], None] | None = None,
    weights: Sequence[int] | None = None,
) -> tuple[list[Any], RunStats]:
    """``[fn(batch, shared) for batch in batches]`` on Dask, in the order of ``batches``.

    Parameters
    ----------
    fn
        A module-level function (it is pickled to the workers) ``fn(batch, shared) -> result``.
    batches
        The work, one task per batch. Put the largest first: they start first, and the run ends sooner.
    shared
        Data every task needs (configurations, ...): scattered once to every worker.
    scheduler
        See :func:`resolve_scheduler`.
    n_workers
        Local clusters only: worker processes (threads for ``"threads"``); default one per core, at most
        one per batch.
    retries
        Times a task that raised is run again before its batch is reported as a :class:`TaskFailure`.
    progress
        ``progress(done, total)`` after each finished task, in units of ``weights`` (default 1 per batch).
    weights
        The size of each batch for ``progress`` (e.g. protocol/configuration pairs).

    Returns
    -------
    results, stats
        One entry per batch: ``fn``'s result or a :class:`TaskFailure`; and :class:`RunStats`.
    """
    if retries < 0:
        raise RangeError(f"retries = {retries} must be >= 0")
    if n_workers is not None and n_workers < 1:
        raise RangeError(f"n_workers = {n_workers} must be >= 1")
    w = list(weights) if weights is not None else [1] * len(batches)
    if len(w) != len(batches):
        raise RangeError(f"{len(w)} weights for {len(batches)} batches")
    total = sum(w)
    kind = resolve_scheduler(scheduler)
    if not batches:
        return [], RunStats("none (no work)", 0, 0, 0.0, 0.0, 0.0, 0.0)
    if scheduler is None and kind == "processes" and len(batches) <= 1:
        kind = "synchronous"
    t_start = time.perf_counter()
    results: list[Any] = [None] * len(batches)
    work = cpu = 0.0
    with _client(kind, n_workers, max(1, len(batches))) as (client, desc, workers):
        t0 = time.perf_counter()
        startup = t0 - t_start
        done = 0
        if client is None:
            for i, b in enumerate(batches):
                dt, dc, results[i] = _timed(fn, b, shared)
                work += dt
                cpu += dc
                done += w[i]
                if progress is not None:
                    progress(done, total)
        else:
            work, cpu = _run_distributed(client, fn, batches, shared, retries, progress, w, total, results)
        wall = time.perf_counter() - t0
    stats = RunStats(desc, workers, len(batches), wall, startup, work, cpu)
    logger.debug("ran %d tasks on %s (%d workers) in %.3f s, %.3f s of work", len(batches), desc, workers, wall, work)
    return results, stats


def _run_distributed(
    client: Any,
    fn: Callable[[Any, Any], Any],
    batches: Sequence[Any],
    shared: Any,
    retries: int,
    progress: Callable[[int, int], None] | None,
    w: list[int],
    total: int,
    results: list[Any],
) -> tuple[float, float]:
    from distributed import as_completed

    shared_ref = client.scatter([shared], broadcast=True, hash=False)[0] if shared is not None else None
    futures = [
        client.submit(_timed, fn, b, shared_ref, pure=False, retries=retries, priority=-i)
        for i, b in enumerate(batches)
    ]
    index = {f.key: i for i, f in enumerate(futures)}
    work = cpu = 0.0
    done = 0
    for fut in as_completed(futures):
        i = index[fut.key]
        if fut.status == "finished":
            dt, dc, results[i] = fut.result()
            work += dt
            cpu += dc
        else:
            exc = fut.exception()
            results[i] = TaskFailure(f"{type(exc).__name__}: {exc}")
            logger.warning("task %d of %d failed: %s", i + 1, len(batches), results[i].message)
        done += w[i]
        if progress is not None:
            progress(done, total)
        fut.release()
    if shared_ref is not None:
        shared_ref.release()
    return work, cpu
