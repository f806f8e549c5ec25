"""check_many and sweep on a real dask.distributed cluster started and stopped here, on 127.0.0.1: by
address, by DASK_SCHEDULER_ADDRESS, by Client; the same table as the serial run; a worker process killed
in the middle of a run (its task is rescheduled, or its rows say the task was lost)."""

from __future__ import annotations

import math
import os
import signal

import distributed
import pytest
from test_library_check import FAST, SLOW, serial, write_library

from wavegen import safety
from wavegen.design import sweep
from wavegen.design.rf import sinc_pulse
from wavegen.limits import SystemLimits
from wavegen.parallel import local_cluster

RF_LIMITS = SystemLimits.from_units(rf_raster="10 us", max_b1="1 mT")


@pytest.fixture(scope="module")
def cluster():
    """Two single-threaded worker processes (with nannies, which restart a killed worker) on loopback."""
    c = local_cluster(2)
    try:
        yield c
    finally:
        c.close()


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    return write_library(tmp_path_factory.mktemp("lib"))


CONFIGS = {"fast": FAST, "slow": SLOW}


def _configs():
    return [safety.CheckConfig(n, lim) for n, lim in CONFIGS.items()]


def test_a_cluster_at_an_address_gives_the_serial_table(cluster, library):
    addr = cluster.scheduler_address
    assert addr.startswith("tcp://127.0.0.1:")
    table = safety.check_many(library, _configs(), scheduler=addr, batch_s=1e-6)
    assert table == serial(library, CONFIGS)
    assert table.stats.scheduler == addr and table.stats.n_tasks == 2 * len(library)
    assert table.stats.n_workers == 2


def test_dask_scheduler_address_in_the_environment_is_used(cluster, library, monkeypatch):
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", cluster.scheduler_address)
    table = safety.check_many(library[:2], _configs(), batch_s=1e-6)
    assert table.stats.scheduler == cluster.scheduler_address
    assert table == serial(library[:2], CONFIGS)


def design(tbw: float, duration_s: float):
    return sinc_pulse(math.pi / 2, duration_s, tbw, limits=RF_LIMITS)


def test_a_sweep_on_the_cluster_equals_the_sweep_in_process(cluster):
    grid = {"tbw": [2.0, 4.0, 6.0], "duration_s": [2e-3, 4e-3]}
    with distributed.Client(cluster) as client:
        remote = sweep(design, grid, scheduler=client, batch_s=1e-6)
    local = sweep(design, grid, scheduler="synchronous")
    assert remote == local and len(remote) == 6
    assert remote.stats.n_tasks == 5  # the first point runs here, one task per other point


def flaky(batch: int, shared: None) -> int:
    if batch == 2:
        raise OSError(f"batch {batch} cannot be done")
    return batch * 10


def test_a_task_that_keeps_failing_is_reported_in_place_and_the_rest_complete(cluster):
    from wavegen.parallel import TaskFailure, run_batches

    done = []
    with distributed.Client(cluster) as client:
        results, stats = run_batches(flaky, [0, 1, 2, 3], scheduler=client, retries=1,
                                     progress=lambda d, t: done.append((d, t)))
    assert results[:2] == [0, 10] and results[3] == 30
    assert isinstance(results[2], TaskFailure) and results[2].message == "OSError: batch 2 cannot be done"
    assert done[-1] == (4, 4) and stats.n_tasks == 4


def test_a_worker_killed_mid_run_is_retried_or_reported(cluster, library):
    with distributed.Client(cluster) as client:
        client.wait_for_workers(2, timeout=30)
        killed: list[int] = []

        def kill_a_busy_worker(done: int, total: int) -> None:
            if killed or done >= total:
                return
            busy = [a for a, keys in client.processing().items() if keys]
            if not busy:
                return
            pid = client.run(os.getpid, workers=[busy[0]])[busy[0]]
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

        configs = [*_configs(), safety.CheckConfig("fast2", FAST.replace(max_b1_t=15e-6))]
        table = safety.check_many(library, configs, scheduler=client, batch_s=1e-6, progress=kill_a_busy_worker)
        assert killed, "no worker was busy when the first task finished: nothing was killed"
        expected = serial(library, {**CONFIGS, "fast2": FAST.replace(max_b1_t=15e-6)})
        lost = [i for i, r in enumerate(table) if r["verdict"] == "error"]
        assert all("task lost" in table[i]["error"] for i in lost)
        kept = [i for i in range(len(table)) if i not in lost]
        assert all(_same(table[i], expected[i]) for i in kept)
        assert len(lost) <= len(table) // 2  # the other worker and the restarted one did the rest
        client.wait_for_workers(2, timeout=60)  # the nanny restarts the killed worker before we close


def _same(a: dict, b: dict) -> bool:
    return all(a[k] == b[k] or (isinstance(a[k], float) and math.isnan(a[k]) and math.isnan(b[k])) for k in a)


def test_a_scheduler_without_workers_is_a_clear_error(library, monkeypatch):
    from wavegen.errors import ConfigError
    from wavegen.parallel import engine

    monkeypatch.setattr(engine, "WAIT_FOR_WORKERS_S", 0.5)
    # dashboard_address=":0": the scheduler's HTTP server on a free port (8787 may be the module cluster's)
    with distributed.LocalCluster(n_workers=0, processes=True, host="127.0.0.1", dashboard_address=":0",
                                  silence_logs=50) as empty:
        with pytest.raises(ConfigError, match="has no worker: none joined within 0.5 s"):
            safety.check_many(library[:2], _configs(), scheduler=empty.scheduler_address)
