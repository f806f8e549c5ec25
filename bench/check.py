"""Benchmark: the full safety check of a long sequence, streamed vs the sample path, in the same run.

The RF-spoiled 2-D gradient echo of ``bench/sequence.py`` (8192 TRs of 10 ms, 81.92 s; sinc excitation,
readout, phase encoding, spoilers) is built and written by pypulseq, and a 4096-TR copy (40.96 s). Each
``wavegen.safety.check`` (every rule: amplitude, slew, vector rules, SAFE PNS, IEC PNS and cardiac, peak
B1, B1rms, SAR 10 s and 6 min with a whole-body calibration, RF amplifier peak/average power, duty cycle
and pulse length) runs in a fresh child process that reads the file first, so the figures are:

- time of the check alone (best of ``--repeat`` for the streamed path, one run of the sample path);
- peak memory of the check: the traced Python/NumPy allocations during the check (tracemalloc, run
  after the timing) and the growth of the process's peak resident set (``ru_maxrss``) over the check.

``streaming=True`` (default) streams the sequence through the rules (``wavegen/safety/stream.py``);
``streaming=False`` is the sample path that issue 16 timed at 4.3 s: the whole sequence rendered to
gradient samples at 10 us and RF samples at 1 us, then every rule on the arrays. Both paths give the
same results (the table compares the worst values).

Targets (issue 16 item 4): the 82 s check <= 1 s on one core; memory independent of the length.

Usage: ``python bench/check.py`` (builds the files with pypulseq: about a minute, the sample path of
the 82 s file takes several seconds and about 3.5 GB) or ``python bench/check.py --quick`` (512 / 1024 TRs).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

_CHILD = r"""
import json, math, resource, sys, time, tracemalloc
import wavegen
from wavegen import safety
from wavegen.limits import SystemLimits
from wavegen.safety import RfAmplifier, SarCalibration

path, streaming, repeat = sys.argv[1], sys.argv[2] == "1", int(sys.argv[3])
seq = wavegen.pulseq.read(path)
kw = dict(
    mode="normal",
    sar_calibration=SarCalibration("whole_body", w_per_kg_per_ut2=0.4),
    rf_amplifier=RfAmplifier(peak_power_w=1e4, watts_per_t2=1e12, average_power_w=100.0,
                             max_duty_cycle=0.1, max_pulse_s=5e-3),
    keep_traces=False,
    streaming=streaming,
)
lim = SystemLimits()
import logging
logging.disable(logging.WARNING)
rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
best = math.inf
for _ in range(repeat):
    t0 = time.perf_counter()
    rep = safety.check(seq, lim, **kw)
    best = min(best, time.perf_counter() - t0)
rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
traced = float("nan")
if streaming:
    tracemalloc.start()
    safety.check(seq, lim, **kw)
    traced = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
print(json.dumps({"time_s": best, "rss_growth_b": (rss1 - rss0) * 1024, "traced_b": traced,
                  "rss_base_b": rss0 * 1024,
                  "duration_s": seq.duration_s, "blocks": len(seq),
                  "results": {r.rule: r.value for r in rep.results}}))
"""


def _build_gre() -> object:
    spec = importlib.util.spec_from_file_location("_bench_sequence", HERE / "sequence.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.build_gre


def run_child(path: Path, streaming: bool, repeat: int) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path), "1" if streaming else "0", str(repeat)],
        capture_output=True, text=True, env=env, check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"child failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="512 and 1024 TRs instead of 4096 and 8192")
    ap.add_argument("--repeat", type=int, default=3, help="runs of the streamed check (best is kept)")
    args = ap.parse_args()
    try:
        import pypulseq  # noqa: F401
    except ImportError:
        print("pypulseq is not installed: pip install 'wavegen[bench]' (it writes the benchmark's file)")
        return 0
    import warnings

    warnings.simplefilter("ignore")
    build_gre = _build_gre()
    sizes = (512, 1024) if args.quick else (4096, 8192)
    with tempfile.TemporaryDirectory() as tmp:
        paths = {}
        for n in sizes:
            p = Path(tmp) / f"gre{n}.seq"
            build_gre(n, p)  # type: ignore[operator]
            paths[n] = p
        rows = {}
        for n in sizes:
            rows[(n, True)] = run_child(paths[n], True, args.repeat)
        big = sizes[-1]
        rows[(big, False)] = run_child(paths[big], False, 1)
    s_new, s_old = rows[(big, True)], rows[(big, False)]
    print(f"sequence: GRE, {s_new['blocks']} blocks, {s_new['duration_s']:.2f} s; every rule, one core")
    print(f"{'path':<34} {'duration':>9} {'time':>9} {'traced peak':>12} {'RSS growth':>11}")
    for (_n, st), r in rows.items():
        name = "streamed (streaming=True)" if st else "sample path (streaming=False)"
        traced = "-" if not math.isfinite(r["traced_b"]) else f"{r['traced_b'] / 1e6:.1f} MB"
        rss = f"{r['rss_growth_b'] / 1e6:.1f} MB"
        print(f"{name:<34} {r['duration_s']:>8.2f}s {r['time_s']:>8.3f}s {traced:>12} {rss:>11}")
    print("(RSS growth: the process's peak resident set after the check minus its peak after reading the file,"
          f" {s_new['rss_base_b'] / 1e6:.0f} MB for the {s_new['duration_s']:.0f} s file; 0 means the check"
          " stayed below what reading needed)")
    ratio = s_old["time_s"] / s_new["time_s"]
    print(f"\nstreamed check of the {s_new['duration_s']:.0f} s sequence: {s_new['time_s']:.3f} s, "
          f"{ratio:.1f}x faster than the sample path in this run "
          f"(target <= 1 s: {'met' if s_new['time_s'] <= 1.0 else 'NOT met'})")
    small = rows[(sizes[0], True)]
    growth = s_new["traced_b"] / small["traced_b"]
    print(f"traced peak memory, {small['duration_s']:.0f} s vs {s_new['duration_s']:.0f} s: "
          f"{small['traced_b'] / 1e6:.1f} MB vs {s_new['traced_b'] / 1e6:.1f} MB (x{growth:.2f} for x2 the length; "
          f"the sample path grows {s_old['rss_growth_b'] / 1e6:.0f} MB of RSS)")
    worst = 0.0
    for rule, v in s_old["results"].items():
        w = s_new["results"].get(rule, float("nan"))
        if math.isfinite(v) and v != 0:
            worst = max(worst, abs(w - v) / abs(v))
    print(f"largest relative difference of a rule's worst value, streamed vs sample path: {worst:.1e}")
    if args.quick:
        print("(--quick: the 1 s target is for the 82 s sequence)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
