"""wavegen.parallel: many independent jobs on Dask, and the labelled table they return.

- :func:`run_batches` runs a function over batches of work on a ``dask.distributed`` cluster (a local
  one by default, an existing one by address), inputs shared once (scatter), results in input order
  whatever the scheduling, a lost task reported instead of stopping the rest.
- :class:`Table` holds the rows: a tuple of plain records (dicts) with named columns, printable, and
  convertible to CSV, JSON and (when pandas is installed) a ``pandas.DataFrame``.

Used by :func:`wavegen.safety.check_many` (protocol libraries) and :func:`wavegen.design.sweep`
(design sweeps); see ``docs/library.md``.
"""

from __future__ import annotations

from wavegen.parallel.engine import RunStats, TaskFailure, local_cluster, resolve_scheduler, run_batches
from wavegen.parallel.table import Table

__all__ = ["run_batches", "resolve_scheduler", "local_cluster", "RunStats", "TaskFailure", "Table"]
