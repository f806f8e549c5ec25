"""Benchmark: Pulseq read and sequence rendering, wavegen vs pypulseq, measured in the same run.

An RF-spoiled 2-D gradient echo with 8192 TRs of 10 ms (81.92 s; sinc excitation with slice select,
readout with ADC, phase encoding and rewinders, spoilers) is built and written by pypulseq. Then:

- read: ``pypulseq.Sequence.read`` vs ``wavegen.pulseq.read``;
- waveforms: pypulseq's ``waveforms_and_times(append_RF=True)`` (vertex lists only) vs wavegen's full
  per-channel render of gx, gy, gz and complex RF at 100 kS/s (8.2 M samples per channel);
- streaming: the peak memory (tracemalloc) of ``render_chunks`` with 64 k-sample chunks vs a one-shot
  render, and a check that the chunks are bit-identical to the one-shot arrays.

Targets (issue 6): read >= 2x faster than pypulseq; full render <= 0.5 s and >= 20x faster than
pypulseq's vertex listing; streaming memory bounded by the chunk size.

Usage: ``python bench/sequence.py`` (about a minute) or ``python bench/sequence.py --quick`` (256 TRs,
a few seconds). pypulseq is a bench-only peer (``pip install wavegen[bench]``).
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
import tracemalloc
import warnings
from pathlib import Path
from typing import Any


def build_gre(n_tr: int, path: Path, *, rf_duration_s: float = 3e-3, slice_m: float = 3e-3) -> None:
    """Write an RF-spoiled GRE with ``n_tr`` TRs of exactly 10 ms using pypulseq (``rf_duration_s``: the
    sinc excitation; 0.8 ms with a 5 mm slice keeps the RF duty within a 10 % amplifier rating)."""
    import numpy as np
    import pypulseq as pp

    sys = pp.Opts(
        max_grad=28,
        grad_unit="mT/m",
        max_slew=150,
        slew_unit="T/m/s",
        rf_ringdown_time=20e-6,
        rf_dead_time=100e-6,
        adc_dead_time=10e-6,
    )
    seq = pp.Sequence(sys)
    fov, nx, thk = 256e-3, 64, slice_m
    rf, gz, gzr = pp.make_sinc_pulse(
        flip_angle=math.radians(10),
        duration=rf_duration_s,
        slice_thickness=thk,
        apodization=0.42,
        time_bw_product=4,
        system=sys,
        return_gz=True,
        delay=sys.rf_dead_time,
    )
    dk = 1 / fov
    gx = pp.make_trapezoid(channel="x", flat_area=nx * dk, flat_time=3.2e-3, system=sys)
    adc = pp.make_adc(num_samples=nx, duration=gx.flat_time, delay=gx.rise_time, system=sys)
    gxp = pp.make_trapezoid(channel="x", area=-gx.area / 2, duration=1e-3, system=sys)
    gzs = pp.make_trapezoid(channel="z", area=4 / thk, system=sys)
    gxs = pp.make_trapezoid(channel="x", area=2 * nx * dk, system=sys)
    pe = (np.arange(256) - 128) * dk
    gyp = [pp.make_trapezoid(channel="y", area=a, duration=1e-3, system=sys) for a in pe]
    gyr = [pp.make_trapezoid(channel="y", area=-a, duration=1e-3, system=sys) for a in pe]
    used = (pp.calc_duration(rf, gz) + pp.calc_duration(gxp, gyp[0], gzr) + 1e-4 + pp.calc_duration(gx, adc)
            + pp.calc_duration(gxs, gyr[0], gzs))
    d1, d2 = pp.make_delay(1e-4), pp.make_delay(round((10e-3 - used) / 10e-6) * 10e-6)  # TR = 10 ms
    inc = ph = 0.0
    for i in range(n_tr):
        rf.phase_offset = math.radians(ph)
        adc.phase_offset = rf.phase_offset
        inc = (inc + 117) % 360
        ph = (ph + inc) % 360
        seq.add_block(rf, gz)
        seq.add_block(gxp, gyp[i % 256], gzr)
        seq.add_block(d1)
        seq.add_block(gx, adc)
        seq.add_block(gxs, gyr[i % 256], gzs)
        seq.add_block(d2)
    seq.write(str(path))


def best(fn: Any, repeat: int) -> tuple[float, Any]:
    t_best, out = math.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        t_best = min(t_best, time.perf_counter() - t0)
    return t_best, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="256 TRs instead of 8192")
    ap.add_argument("--rate", type=float, default=1e5, help="render rate, Hz (default 100 kS/s)")
    args = ap.parse_args()
    try:
        import pypulseq as pp
    except ImportError:
        print("pypulseq is not installed: pip install 'wavegen[bench]' (the peer of this benchmark)")
        return
    import numpy as np

    import wavegen

    warnings.simplefilter("ignore")
    n_tr = 256 if args.quick else 8192
    rep = 5 if args.quick else 3
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "gre.seq"
        t0 = time.perf_counter()
        build_gre(n_tr, path)
        print(
            f"built and wrote a {n_tr}-TR GRE with pypulseq in {time.perf_counter() - t0:.1f} s "
            f"({path.stat().st_size / 1e6:.1f} MB)"
        )

        def pp_read() -> Any:
            s = pp.Sequence()
            s.read(str(path))
            return s

        t_pp_read, ps = best(pp_read, 1 if not args.quick else 3)
        t_wg_read, ws = best(lambda: wavegen.pulseq.read(path), rep)
        t_pp_wave, _ = best(lambda: ps.waveforms_and_times(append_RF=True), 1)
        chans = ("gx", "gy", "gz", "rf")
        t_wg_render, out = best(lambda: ws.render(args.rate, chans), rep)
        n = out["gx"].size
        t_wg_render5, _ = best(lambda: ws.render(args.rate, (*chans, "adc")), rep)

        # streaming: peak memory (tables + chunks) and bit-identity with the one-shot render
        from wavegen.sequence.render import Renderer

        tracemalloc.start()
        Renderer(ws, args.rate, chans)
        table_bytes = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        peaks = {}
        same = True
        for chunk in (1 << 14, 1 << 16):
            tracemalloc.start()
            k = 0
            for part in ws.render_chunks(args.rate, chans, chunk_samples=chunk):
                m = part["gx"].size
                for c in chans:
                    same &= part[c].tobytes() == out[c][k : k + m].tobytes()
                k += m
            peaks[chunk] = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        one_shot_bytes = sum(v.nbytes for v in out.values())
        del out

        # agreement with pypulseq's piecewise polynomials on a stretch of the sequence
        t = np.arange(min(n, 200_000)) / args.rate
        part = ws.render(args.rate, ("gx", "gy", "gz"), n_samples=t.size)
        err = 0.0
        for c, p in zip(("gx", "gy", "gz"), ps.get_gradients(time_range=[0, t[-1] + 1e-3]), strict=True):
            ref = np.nan_to_num(p(t)) / ws.gamma_hz_per_t
            err = max(err, float(np.max(np.abs(part[c] - ref)) / max(np.max(np.abs(ref)), 1e-30)))

    dur = ws.duration_s
    print(f"\nsequence: {len(ws)} blocks, {dur:.2f} s; render: {n} samples x 4 channels at {args.rate:g} S/s")
    print(f"{'job':<46} {'pypulseq':>10} {'wavegen':>10} {'ratio':>8}  target")
    rows = [
        ("read .seq", t_pp_read, t_wg_read, ">= 2x"),
        ("waveforms: pypulseq vertices / wavegen 4-ch", t_pp_wave, t_wg_render, ">= 20x, <= 0.5 s"),
    ]
    ok_all = True
    for name, a, b, tgt in rows:
        ratio = a / b
        if name.startswith("read"):
            ok = ratio >= 2
        else:
            ok = ratio >= 20 and (b <= 0.5 or args.quick)
        ok_all &= ok
        print(f"{name:<46} {a:>9.3f}s {b:>9.3f}s {ratio:>7.1f}x  {tgt} {'met' if ok else 'NOT met'}")
    print(f"{'wavegen render incl. ADC gate (5 channels)':<46} {'':>10} {t_wg_render5:>9.3f}s")
    per_sample = 3 * 8 + 16  # gx, gy, gz float64 + complex RF
    mem_ok = all(pk <= table_bytes + 4 * ck * per_sample for ck, pk in peaks.items())
    for ck, pk in peaks.items():
        print(
            f"streaming, chunks of {ck:>6} samples: peak {pk / 1e6:6.2f} MB "
            f"(building the event tables alone: {table_bytes / 1e6:.2f} MB)"
        )
    print(
        f"one-shot arrays: {one_shot_bytes / 1e6:.1f} MB -> streaming memory "
        f"{'bounded by the chunk size' if mem_ok else 'NOT bounded'}; "
        f"chunks bit-identical to one-shot: {same}"
    )
    print(f"max relative gradient difference vs pypulseq PPoly (first {t.size} samples): {err:.2e}")
    if args.quick:
        print("(--quick: the 0.5 s render target applies to the full 82 s sequence)")
    print("all targets met" if ok_all and mem_ok and same else "some targets NOT met")


if __name__ == "__main__":
    main()
