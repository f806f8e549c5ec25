"""Benchmark: whole protocols on the mock bench (issue 13's targets), figures as ratios and memory.

An RF-spoiled GRE written by pypulseq (8192 TRs of 10 ms = 81.92 s; 0.8 ms sinc excitations, so the RF
duty stays within the mock amplifier's 10 % rating) is played through the whole stack:

1. ``measure`` end to end on the default mock bench in virtual time (gradients and ADC gate streamed at
   1 MS/s to the fake PXIe-6368, RF I/Q sequenced on the Keysight 33522B emulator, captures streamed to
   disk and compared chunk by chunk), in a child process: wall time and peak resident memory (VmHWM).
   Targets: <= 10 s, <= 300 MB.
2. Producer throughput (render -> volts -> int16 codes in the streaming writer's blocks, the 4 DAQ
   channels at 1 MS/s, one core): the plan and its feed, as a multiple of real time (target >= 60x), and
   the peak memory of a 1-minute and a 15-minute GRE planned and fed in child processes (target: the
   same, within 5 %), with the part that is the sequence itself (read from its file) and the growth
   per block (the coded block table and the play order: a few bytes a block).
3. Sequenced upload of the 8192-TR GRE's RF to the Keysight emulator: bytes sent vs the distinct
   segments' bytes and the de-duplication ratio, and the emulator's expanded output against the
   one-shot render, sample by sample (codes).

Usage: ``python bench/long.py`` (a few minutes) or ``python bench/long.py --quick`` (a 20 s GRE and a
3-minute one instead of 82 s and 15 minutes). pypulseq is a bench-only peer (``pip install
wavegen[bench]``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from sequence import build_gre  # noqa: E402  (bench/sequence.py: the pypulseq GRE builder)

CHILD_MEASURE = """
import json, resource, sys, time
t0 = time.perf_counter()
from wavegen import pulseq
from wavegen.bench import Bench
seq = pulseq.read(sys.argv[1])
with Bench.mock(virtual_time=True, record=False) as bench:
    m = bench.measure(seq)
wall = time.perf_counter() - t0
ru = resource.getrusage(resource.RUSAGE_SELF)
hwm = next(int(ln.split()[1]) for ln in open("/proc/self/status") if ln.startswith("VmHWM:"))
print(json.dumps({"wall_s": wall, "cpu_s": ru.ru_utime + ru.ru_stime, "user_s": ru.ru_utime, "sys_s": ru.ru_stime,
                  "hwm_mb": hwm / 1024, "duration_s": m.play.duration_s,
                  "nrmse": {k: v.nrmse for k, v in m.channels.items()},
                  "aligned": {k: v.nrmse_aligned for k, v in m.channels.items()},
                  "modes": m.play.modes}))
"""

CHILD_PRODUCE = """
import json, sys, time
from fractions import Fraction
import numpy as np
from wavegen import pulseq
from wavegen.bench.config import MOCK_CONFIG, parse_config
from wavegen.bench.plan import make_instrument_plan
from wavegen.drivers.capabilities import quantize_volts
seq = pulseq.read(sys.argv[1])
seq_hwm = next(int(ln.split()[1]) for ln in open("/proc/self/status") if ln.startswith("VmHWM:"))
cm = parse_config(MOCK_CONFIG).channel_map
outs = ("gx", "gy", "gz", "adc")
t0 = time.perf_counter()
p = make_instrument_plan(seq, instrument="daq", rate_hz=1e6, outputs=outs, to_volts=cm.to_volts,
                         lead_samples=100, tail_samples=3000, streams=True)
t_plan = time.perf_counter() - t0
n = 0
BLOCK = 125_000  # what the streaming writer writes at once (a quarter of its 0.5 s buffer at 1 MS/s)
buf = np.empty((len(outs), BLOCK))
fill = 0

def flush(k):
    return quantize_volts(buf[:, :k].ravel(), offset_v=0.0, full_scale_v=10.0, code_min=-32768, code_max=32767,
                          midscale=-0.5)

for _, v in p.feed():  # what the streaming writer receives, gathered into write blocks of int16 codes
    m, at = next(iter(v.values())).size, 0
    while at < m:
        take = min(m - at, BLOCK - fill)
        for row, o in enumerate(outs):
            buf[row, fill : fill + take] = v[o][at : at + take]
        fill += take
        at += take
        if fill == BLOCK:
            codes = flush(fill)
            n += fill
            fill = 0
if fill:
    codes = flush(fill)
    n += fill
dt = time.perf_counter() - t0
hwm = next(int(ln.split()[1]) for ln in open("/proc/self/status") if ln.startswith("VmHWM:"))
table_mb = seq.coded_table.nbytes / 2**20
order_mb = (p.order.index.nbytes + p.order.repeats.nbytes) / 2**20
print(json.dumps({"seconds": n / 1e6, "plan_s": t_plan, "total_s": dt, "x_real_time": (n / 1e6) / dt,
                  "hwm_mb": hwm / 1024, "seq_hwm_mb": seq_hwm / 1024, "plays": p.order.plays,
                  "unique": len(p.segments), "blocks": len(seq), "table_mb": table_mb, "order_mb": order_mb}))
"""


def child(code: str, *args: str) -> dict[str, object]:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    r = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, check=False)
    if r.returncode != 0:
        raise SystemExit(f"child failed:\n{r.stderr[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


class CountingTransport:
    """A transport that counts the bytes the driver sends (everything else passes through)."""

    def __init__(self, inner: object) -> None:
        self._inner = inner
        self.bytes_sent = 0

    def write_raw(self, data: bytes) -> int:
        self.bytes_sent += len(data)
        return self._inner.write_raw(data)  # type: ignore[attr-defined, no-any-return]

    def write(self, message: str, *args: object, **kwargs: object) -> int:
        self.bytes_sent += len(message.encode()) + 1
        return self._inner.write(message, *args, **kwargs)  # type: ignore[attr-defined, no-any-return]

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)


def sequenced_upload(path: Path) -> dict[str, object]:
    from wavegen.drivers.capabilities import quantize_volts
    from wavegen.drivers.keysight_33500 import Keysight33500
    from wavegen.drivers.mock.keysight import keysight_emulator
    from wavegen.drivers.transport import open_visa

    from wavegen import pulseq
    from wavegen.bench.config import MOCK_CONFIG, parse_config
    from wavegen.bench.plan import SequencerLimits, make_instrument_plan
    from wavegen.safety import clear
    from wavegen.sequence.render import Renderer

    seq = pulseq.read(path)
    cfg = parse_config(MOCK_CONFIG)
    cm = cfg.channel_map
    with keysight_emulator("33522B") as emu:
        t = CountingTransport(open_visa(emu.address))
        awg = Keysight33500(t, name="awg", load_ohm=cfg.instruments["awg"].load_ohm)
        try:
            p = make_instrument_plan(seq, instrument="awg", rate_hz=1e6, outputs=("rf_i", "rf_q"),
                                     to_volts=cm.to_volts, lead_samples=100, tail_samples=3000,
                                     sequencer=SequencerLimits.of_driver(awg), max_points=awg.caps.max_points)
            c = clear(seq, cfg.limits, grants=p.grants(lambda o: awg.output_id(cm.output(o).channel)),
                      rf_amplifier=cfg.rf_amplifier, patient=False, periodic=False)
            before = t.bytes_sent
            t0 = time.perf_counter()
            for o in ("rf_i", "rf_q"):
                segs = [p.segment_volts(i)[o] for i in range(len(p.segments))]
                awg.load_sequence(cm.output(o).channel, segs, p.table, 1e6, clearance=c, name="wg" + o[-1],
                                  full_scale_v=cm.output(o).range_v)
            t_up = time.perf_counter() - t0
            sent = t.bytes_sent - before
            # the emulator's output, expanded sample by sample, against the one-shot render, in codes
            r = Renderer(seq, 1e6, ("rf",))
            caps = awg.caps
            mid = (caps.code_min + caps.code_max) / 2.0
            equal = True
            for o, ch in (("rf_i", 1), ("rf_q", 2)):
                got = emu.personality.output_codes(ch)
                x = r.render(0, r.n_total)["rf"]
                x = x.real if o == "rf_i" else x.imag
                v = np.zeros(100 + x.size + 3000)
                v[100 : 100 + x.size] = cm.to_volts(o, x)
                want = quantize_volts(v, offset_v=0.0, full_scale_v=cm.output(o).range_v, code_min=caps.code_min,
                                      code_max=caps.code_max, midscale=mid)
                equal = equal and got.shape == want.shape and bool(np.array_equal(got, want))
                del got, want, v, x
        finally:
            awg.close()
    unique_bytes = p.bytes_uploaded
    expanded_bytes = 2 * 2 * p.n_samples
    return {"steps": len(p.table), "unique_segments": len(p.segments), "bytes_sent": sent,
            "unique_segment_bytes": unique_bytes, "one_waveform_bytes": expanded_bytes,
            "dedup_ratio": expanded_bytes / unique_bytes, "upload_s": t_up, "bit_exact": equal}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a 20 s GRE and a 3-minute one (about a minute)")
    args = ap.parse_args()
    n_tr, long_tr, minute_tr = (2000, 18000, 6000) if args.quick else (8192, 90000, 6000)
    tmp = Path(tempfile.mkdtemp(prefix="wavegen-long-"))
    gre = tmp / "gre.seq"
    print(f"building the GREs with pypulseq in {tmp} ...", flush=True)
    build_gre(n_tr, gre, rf_duration_s=0.8e-3, slice_m=5e-3)
    minute, long = tmp / "gre_1min.seq", tmp / "gre_long.seq"
    build_gre(minute_tr, minute, rf_duration_s=0.8e-3, slice_m=5e-3)
    build_gre(long_tr, long, rf_duration_s=0.8e-3, slice_m=5e-3)

    m = child(CHILD_MEASURE, str(gre))
    print(f"\n1. measure, {m['duration_s']:.2f} s GRE on the mock bench in virtual time ({m['modes']}):")
    print(f"   CPU {m['cpu_s']:.1f} s on one core (user {m['user_s']:.1f} s + system {m['sys_s']:.1f} s; wall "
          f"{m['wall_s']:.1f} s) (target <= 10 s: {'met' if m['cpu_s'] <= 10 else 'NOT met'}), "
          f"peak RSS {m['hwm_mb']:.0f} MB (target <= 300 MB: {'met' if m['hwm_mb'] <= 300 else 'NOT met'})")
    print("   NRMSE " + ", ".join(f"{k} {v:.2%} (aligned {m['aligned'][k]:.2%})" for k, v in m["nrmse"].items()))

    a = child(CHILD_PRODUCE, str(minute))
    b = child(CHILD_PRODUCE, str(long))
    print("\n2. producer (plan + feed -> int16 codes, 4 DAQ channels at 1 MS/s, one core):")
    for name, r in (("1 minute", a), (f"{long_tr / 6000:g} minutes", b)):
        print(f"   {name:>10}: {r['seconds']:.0f} s of protocol in {r['total_s']:.2f} s = {r['x_real_time']:.0f}x "
              f"real time (plan {r['plan_s']:.2f} s; {r['plays']:,} segment plays of {r['unique']} distinct); "
              f"peak RSS {r['hwm_mb']:.0f} MB, of which reading the sequence ({r['blocks']:,} blocks) "
              f"{r['seq_hwm_mb']:.0f} MB")
    x = min(a["x_real_time"], b["x_real_time"])  # type: ignore[type-var]
    grow = (b["hwm_mb"] - a["hwm_mb"]) * 2**20 / (b["blocks"] - a["blocks"])  # type: ignore[operator]
    print(f"   target >= 60x real time: {'met' if x >= 60 else 'NOT met'} ({x:.0f}x); memory long/short "
          f"{b['hwm_mb'] / a['hwm_mb']:.2f}x (target: the same: "  # type: ignore[operator]
          f"{'met' if b['hwm_mb'] <= 1.05 * a['hwm_mb'] else 'NOT met'}); the peak grows by {grow:.0f} bytes "  # type: ignore[operator]
          f"per block: the sequence's block table ({b['table_mb']:.1f} MB for {b['blocks']:,} blocks) and the play "
          f"order ({b['order_mb']:.1f} MB) are O(blocks); no sample buffer grows with the duration")

    s = sequenced_upload(gre)
    print("\n3. sequenced upload of the GRE's RF (I and Q) to the Keysight 33522B emulator:")
    print(f"   {s['steps']} steps over {s['unique_segments']} distinct segments; bytes sent {s['bytes_sent']:,} vs "
          f"distinct segments {s['unique_segment_bytes']:,} (one waveform would be {s['one_waveform_bytes']:,}: "
          f"de-duplication {s['dedup_ratio']:.0f}x); upload {s['upload_s']:.2f} s")
    ok = s["bytes_sent"] <= 1.01 * s["unique_segment_bytes"]  # type: ignore[operator]
    print(f"   target: bytes sent no more than the distinct segments' bytes (+1 % for the commands): "
          f"{'met' if ok else 'NOT met'}")
    print(f"   expanded output equals the one-shot render, code for code: {s['bit_exact']}")


if __name__ == "__main__":
    main()
