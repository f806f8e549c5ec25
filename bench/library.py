"""Benchmark: a protocol library x configurations on Dask (issue 16 target 1), figures as ratios.

Builds a library of generated protocols (``--protocols``, default 240): 2-D spoiled GRE, single-shot EPI,
spiral (``wavegen.sequence.recipes``) and turbo spin echo (built here from ``wavegen.design``), at
several matrix sizes and repeated over 1-16 slices/repetitions, so their lengths (and check times)
differ by two orders of magnitude. Four configurations, as files: two limits files (a clinical and a
legacy gradient system), a first-level-mode limits file, and the mock bench (``examples/bench.toml``).

Then :func:`wavegen.safety.check_many` on the whole matrix:

1. in this process (``scheduler="synchronous"``): the reference table and the serial time;
2. on a local cluster of 1 worker process and of 2 worker processes (each warmed up first: a worker's
   first task imports wavegen and SciPy): the speed-up ``t(1 worker) / t(2 workers)`` (target >= 1.8 on a
   2-core machine) and each table against the reference;
3. the per-task overhead: trivial tasks through the same engine (scheduling + transfer per task, as a
   fraction of the mean task's work), and the run's own ``(wall x workers - work) / tasks``;
4. the same code against a ``dask scheduler`` and two ``dask worker`` processes started here on
   127.0.0.1 (``tcp://127.0.0.1:PORT``), stopped at the end: the same table as the reference.

Usage: ``python bench/library.py`` (about two minutes on 2 cores) or ``--quick`` (60 protocols).
The machine should be otherwise idle for the speed-up figure: the ratio measures the cores it gets.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def _repeat(seq: Any, n: int, limits: Any) -> Any:
    """``seq`` played ``n`` times back to back (slices or repetitions) as one sequence."""
    from wavegen.sequence import Sequence

    out = Sequence(limits, gamma_hz_per_t=limits.gamma_hz_per_t)
    blocks = list(seq)
    for _ in range(n):
        for b in blocks:
            out.add_block(b.rf, b.adc, *b.extensions, gx=b.gx, gy=b.gy, gz=b.gz, duration_ns=b.duration_ns)
    return out


def design_tse(limits: Any, matrix: int, etl: int, *, fov_m: float = 0.256, slice_m: float = 5e-3,
               dwell_s: float = 10e-6, tr_s: float = 0.5) -> Any:
    """A 2-D turbo spin echo: 90 deg excitation, ``etl`` 180 deg refocusing pulses between crushers, a
    phase-encoded readout per echo, ``matrix / etl`` shots (Bernstein et al., Handbook of MRI Pulse
    Sequences, 2004, ch. 16)."""
    import math as m

    from wavegen import design
    from wavegen.limits import seconds_to_ticks
    from wavegen.sequence import ADCEvent, Delay, Sequence

    seq = Sequence(limits, gamma_hz_per_t=limits.gamma_hz_per_t)
    dk = 1.0 / fov_m
    exc = design.sinc_pulse(m.pi / 2, 2e-3, 4.0, limits=limits)
    ref = design.sinc_pulse(m.pi, 3e-3, 4.0, limits=limits, use="refocusing")
    gz_exc = design.slice_select_gradient(exc, slice_m, limits)
    gz_ref = design.slice_select_gradient(ref, slice_m, limits)
    reph = design.shortest_trapezoid(limits, area_t_s_per_m=design.slice_refocus_area_t_s_per_m(gz_exc, exc))
    crusher = design.shortest_trapezoid(limits, area_per_m=4.0 / slice_m)
    ro_time = m.ceil(round(matrix * dwell_s / limits.grad_raster_s, 6)) * limits.grad_raster_s
    gx = design.readout_trapezoid(limits, ro_time, flat_area_per_m=matrix * dk)
    gx_pre = design.shortest_trapezoid(limits, area_t_s_per_m=0.5 * gx.area_t_s_per_m)
    t_pe = design.shortest_trapezoid(limits, area_per_m=matrix / 2 * dk).duration_s
    delay_ns = seconds_to_ticks(gx.rise_time_s + (gx.flat_time_s - matrix * dwell_s) / 2, name="ADC delay")
    adc = ADCEvent(matrix, seconds_to_ticks(dwell_s, name="dwell"), delay_ns)
    for shot in range(max(1, matrix // etl)):
        start = seq.duration_s
        seq.add_block(exc.replace(delay_s=gz_exc.rise_time_s), gz=gz_exc)
        seq.add_block(gx=gx_pre, gz=reph)
        for e in range(etl):
            seq.add_block(gz=crusher)
            seq.add_block(ref.replace(delay_s=gz_ref.rise_time_s), gz=gz_ref)
            seq.add_block(gz=crusher)
            line = (shot * etl + e) % matrix - matrix // 2
            gy = design.trapezoid_for_duration(limits, t_pe, area_per_m=line * dk) if line else None
            seq.add_block(gy=gy) if gy is not None else seq.add_block(Delay(seconds_to_ticks(t_pe, name="pe")))
            seq.add_block(adc, gx=gx)
            gy_r = design.trapezoid_for_duration(limits, t_pe, area_per_m=-line * dk) if line else None
            seq.add_block(gy=gy_r) if gy_r is not None else seq.add_block(Delay(seconds_to_ticks(t_pe, name="pe")))
        fill = tr_s - (seq.duration_s - start)
        if fill > 1e-3:
            ns = seconds_to_ticks(fill, name="TR fill")
            seq.add_block(Delay(-(-ns // limits.block_raster_ns) * limits.block_raster_ns))
    return seq


def build_library(folder: Path, n: int) -> list[Path]:
    """``n`` protocols of four kinds and many lengths, written as .seq files; their paths in order."""
    from wavegen import pulseq
    from wavegen.limits import SystemLimits
    from wavegen.sequence import recipes

    lim = SystemLimits.from_units(max_grad="40 mT/m", max_slew="150 T/m/s", max_b1="20 uT")
    kinds = {
        "gre": lambda mtx: recipes.design_gre(lim, matrix=mtx).seq,
        "epi": lambda mtx: recipes.design_epi(lim, matrix=mtx).seq,
        "spiral": lambda mtx: recipes.design_spiral(lim, matrix=mtx).seq,
        "tse": lambda mtx: design_tse(lim, mtx, etl=8, tr_s=0.05 + mtx * 1e-3),
    }
    matrices = {"gre": (16, 32, 64, 96), "epi": (32, 64, 96, 128), "spiral": (16, 32, 48, 64),
                "tse": (16, 32, 64, 96)}
    repeats = (1, 2, 4, 8, 16)
    cache: dict[tuple[str, int], Any] = {}
    paths = []
    i = 0
    while len(paths) < n:
        kind = ("gre", "epi", "spiral", "tse")[i % 4]
        mtx = matrices[kind][(i // 4) % 4]
        rep = repeats[(i // 16) % len(repeats)]
        if (kind, mtx) not in cache:
            cache[(kind, mtx)] = kinds[kind](mtx)
        seq = _repeat(cache[(kind, mtx)], rep, lim) if rep > 1 else cache[(kind, mtx)]
        p = folder / f"{i:04d}_{kind}{mtx}_x{rep}.seq"
        pulseq.write(seq, p)
        paths.append(p)
        i += 1
    return paths


def write_configs(folder: Path) -> list[Path]:
    """Four configurations as files: clinical, legacy, first-level mode, and the mock bench."""
    files = {
        "clinical_40_150.toml": '[limits]\nmax_grad = "40 mT/m"\nmax_slew = "150 T/m/s"\nmax_b1 = "20 uT"\n',
        "legacy_22_120.toml": '[limits]\nmax_grad = "22 mT/m"\nmax_slew = "120 T/m/s"\nmax_b1 = "15 uT"\n',
        "highperf_80_200.toml": '[limits]\nmax_grad = "80 mT/m"\nmax_slew = "200 T/m/s"\nmax_b1 = "25 uT"\n',
    }
    out = []
    for name, text in files.items():
        (folder / name).write_text(text)
        out.append(folder / name)
    bench = folder / "mock_bench.toml"
    bench.write_text((HERE.parent / "examples" / "bench.toml").read_text())
    out.append(bench)
    return out


def _same(a: Any, b: Any) -> str:
    return "same table" if a == b else "DIFFERENT TABLE"


def _local(n_workers: int) -> tuple[Any, Any]:
    from distributed import Client

    from wavegen.parallel import local_cluster

    cluster = local_cluster(n_workers)  # as check_many starts one by default
    return cluster, Client(cluster)


def _timed_run(protocols: list[Path], configs: list[Path], scheduler: Any, **kw: Any) -> tuple[float, Any]:
    from wavegen.safety import check_many

    t0 = time.perf_counter()
    table = check_many(protocols, configs, scheduler=scheduler, **kw)
    return time.perf_counter() - t0, table


def _noop(batch: int, shared: Any) -> int:
    return batch


def _overhead(client: Any, n_tasks: int) -> float:
    """Seconds per trivial task through the engine (scheduling, transfer, result), workers x wall / n."""
    from wavegen.parallel import run_batches

    run_batches(_noop, list(range(20)), shared=0, scheduler=client)  # warm
    _, st = run_batches(_noop, list(range(n_tasks)), shared=0, scheduler=client)
    return st.wall_s * st.n_workers / n_tasks


def _external_cluster(folder: Path) -> tuple[str, list[subprocess.Popen[bytes]]]:
    """``dask scheduler`` and two ``dask worker`` processes on 127.0.0.1 (ports chosen by the system)."""
    sched_file = folder / "scheduler.json"
    # as wavegen's own local clusters (wavegen.parallel.engine.LOCAL_WORKER_CONFIG): no nanny, so no
    # MALLOC_TRIM_THRESHOLD_ in the workers' environment, and no statistical profiler
    env = dict(os.environ, PYTHONWARNINGS="ignore", DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED="False",
               OMP_NUM_THREADS="1")
    procs = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                               "--port", "0", "--dashboard-address", ":0", "--scheduler-file", str(sched_file)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)]
    deadline = time.monotonic() + 60
    while not sched_file.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    address = json.loads(sched_file.read_text())["address"]
    for _ in range(2):
        procs.append(subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", address, "--host",
                                       "127.0.0.1", "--no-nanny", "--nthreads", "1", "--no-dashboard"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env))
    from distributed import Client

    with Client(address) as c:
        c.wait_for_workers(2, timeout=60)
    return address, procs


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="check_many on Dask: speed-up, overhead, same table everywhere")
    p.add_argument("--protocols", type=int, default=240, help="protocols in the library (default 240)")
    p.add_argument("--quick", action="store_true", help="60 protocols")
    p.add_argument("--folder", type=Path, default=None, help="keep the library here (default: a temp folder)")
    args = p.parse_args(argv)
    n = 60 if args.quick else args.protocols
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.folder or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        protocols = build_library(folder, n)
        configs = write_configs(folder)
        sizes = [q.stat().st_size for q in protocols]
        print(f"library: {len(protocols)} protocols x {len(configs)} configurations = "
              f"{len(protocols) * len(configs)} checks; files {min(sizes) / 1e3:.0f}-{max(sizes) / 1e3:.0f} kB "
              f"(built in {time.perf_counter() - t0:.1f} s)")

        load = os.getloadavg()[0]
        print(f"machine: {os.cpu_count()} cores, load average {load:.2f} before the runs "
              f"({'busy: the speed-up measures the cores left' if load > 0.5 else 'idle'})")
        t_sync, ref = _timed_run(protocols, configs, "synchronous")
        counts = {v: ref.column("verdict").count(v) for v in ("pass", "unverified", "fail", "error")}
        print(f"serial, in process: {t_sync:.2f} s ({1e3 * t_sync / len(ref):.1f} ms per check); verdicts {counts}")

        times: dict[int, float] = {}
        cores: dict[int, float] = {}
        for workers in (1, 2):
            cluster, client = _local(workers)
            try:
                _timed_run(protocols[:8], configs, client)  # warm: imports on every worker
                t, table = _timed_run(protocols, configs, client)
                st = table.stats
                times[workers] = t
                cores[workers] = st.cpu_s / st.wall_s
                print(f"local cluster, {workers} worker(s): {t:.2f} s, {st.n_tasks} tasks of "
                      f"{1e3 * st.work_s / st.n_tasks:.0f} ms mean work; cores obtained (task CPU / wall) "
                      f"{cores[workers]:.2f}; {_same(table, ref)} as the serial run")
                if workers == 2:
                    per_task = _overhead(client, 400)
                    mean_task = st.work_s / st.n_tasks
                    print(f"per-task overhead (trivial tasks): {1e3 * per_task:.2f} ms = "
                          f"{per_task / mean_task:.3f} x a library task's mean work "
                          f"({per_task / mean_task * 100:.1f} %); in this run: "
                          f"{1e3 * st.overhead_per_task_s:.2f} ms/task "
                          f"= {st.overhead_per_task_s / mean_task:.3f} x")
                    small_t, small = _timed_run(protocols, configs, client, batch_s=1e-6)
                    print(f"one check per task instead ({small.stats.n_tasks} tasks): {small_t:.2f} s = "
                          f"{small_t / t:.2f} x the batched run; {_same(small, ref)}")
            finally:
                client.close()
                cluster.close()
        ratio = times[1] / times[2]
        print(f"speed-up, 2 workers vs 1: {ratio:.2f} x (target >= 1.8) {'OK' if ratio >= 1.8 else 'MISSED'}; "
              f"cores obtained 2 vs 1: {cores[2] / cores[1]:.2f} x; 1 worker vs in process: {t_sync / times[1]:.2f} x")

        address, procs = _external_cluster(folder)
        try:
            _timed_run(protocols[:8], configs, address)
            t_ext, ext = _timed_run(protocols, configs, address)
            print(f"dask scheduler at {address} with 2 `dask worker` processes: {t_ext:.2f} s "
                  f"= {times[1] / t_ext:.2f} x one local worker; {_same(ext, ref)} as the serial run")
        finally:
            for q in reversed(procs):  # workers first, then the scheduler
                q.terminate()
            for q in procs:
                try:
                    q.wait(timeout=10)
                except subprocess.TimeoutExpired:  # a worker that lost its scheduler may linger
                    q.kill()
                    q.wait(timeout=10)
        return 0 if ext == ref and all(math.isfinite(x) for x in times.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
