"""Hostile .seq files (issue 12 item 6): every declared size is bounded, chains are walked once, and the
refusal is a SeqFormatError naming the file, the line and the limit - fast and in bounded memory."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import wavegen
from wavegen.errors import SeqFormatError
from wavegen.sequence import LabelSet

HEADER_141 = """[VERSION]
major 1
minor 4
revision 1

[DEFINITIONS]
AdcRasterTime 1e-07
BlockDurationRaster 1e-05
GradientRasterTime 1e-05
RadiofrequencyRasterTime 1e-06

"""

HEADER_131 = """[VERSION]
major 1
minor 3
revision 1

"""


def rle_gradient(num: int, block_units: int, header: str = HEADER_141) -> str:
    """A gradient whose run-length shape declares ``num`` samples in four tokens (a constant 0.5)."""
    blocks = f"1 {block_units} 0 1 0 0 0 0" if header is HEADER_141 else "1 0 0 1 0 0 0 0"
    grads = "1 1000 1 0 0" if header is HEADER_141 else "1 1000 1 0"
    return (
        header
        + f"[BLOCKS]\n{blocks}\n\n[GRADIENTS]\n{grads}\n\n[SHAPES]\n\nshape_id 1\nnum_samples {num}\n"
        + f"0.5\n0\n0\n{num - 3}\n"
    )


def adc_file(num: int, dwell_ns: int, block_units: int) -> str:
    return HEADER_141 + f"[BLOCKS]\n1 {block_units} 0 0 0 0 1 0\n\n[ADC]\n1 {num} {dwell_ns} 0 0 0\n"


def ext_chain(n_nodes: int, chain: int, referenced: str) -> str:
    """``n_nodes`` extension nodes in chains of ``chain`` nodes; blocks reference 'heads', 'all' or 'none'."""
    nodes = []
    for i in range(1, n_nodes + 1):
        nxt = i + 1 if i % chain and i < n_nodes else 0
        nodes.append(f"{i} 1 1 {nxt}")
    if referenced == "all":
        refs = list(range(1, n_nodes + 1))
    elif referenced == "heads":
        refs = list(range(1, n_nodes + 1, chain))
    else:
        refs = [0]
    blocks = "\n".join(f"{b + 1} 1 0 0 0 0 0 {r}" for b, r in enumerate(refs))
    return (
        HEADER_141
        + f"[BLOCKS]\n{blocks}\n\n[EXTENSIONS]\n"
        + "\n".join(nodes)
        + "\n\nextension LABELSET 1\n1 1 LIN\n"
    )


def _write(tmp_path: Path, text: str, name: str = "hostile.seq") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def _line(p: Path, needle: str) -> int:
    for i, s in enumerate(p.read_text().splitlines(), start=1):
        if s.startswith(needle):
            return i
    raise AssertionError(needle)


def _refused(p: Path, pattern: str, **kw: object) -> str:
    t0 = time.perf_counter()
    with pytest.raises(SeqFormatError) as ei:
        wavegen.pulseq.read(p, **kw)  # type: ignore[arg-type]
    assert time.perf_counter() - t0 < 2.0
    msg = str(ei.value)
    assert re.search(pattern, msg), msg
    return msg


def test_rle_shape_declaring_1e12_samples_is_refused_before_decoding(tmp_path: Path) -> None:
    text = rle_gradient(10**12, 10**8)
    assert len(text) < 500
    p = _write(tmp_path, text)
    ln = _line(p, "num_samples") - 1  # the shape_id line
    msg = _refused(p, rf"hostile\.seq:{ln}: shape 1 \(gradient 1\) declares 1000000000000 samples, more than")
    assert "max_samples = 33554432" in msg


def test_rle_shape_bounded_by_the_longest_block(tmp_path: Path) -> None:
    # 100 us block: on a 10 us raster a gradient holds at most 2 * 10 + 2 samples (oversampled + ends)
    p = _write(tmp_path, rle_gradient(1_000_000, 10))
    _refused(p, r"declares 1000000 samples, more than 22: the longest block \(100 us\) holds at most")


def test_3e8_samples_refused_in_a_file_whose_blocks_could_hold_them(tmp_path: Path) -> None:
    p = _write(tmp_path, rle_gradient(3 * 10**8, 3 * 10**8 // 10 + 1))
    _refused(p, r"declares 300000000 samples, more than 33554432: the reader's budget max_samples")


def test_pre_14_file_has_only_the_budget(tmp_path: Path) -> None:
    p = _write(tmp_path, rle_gradient(10**12, 0, HEADER_131))
    _refused(p, r"declares 1000000000000 samples, more than 33554432")
    # a smaller declared shape reads (before 1.4 the events define the block durations)
    seq = wavegen.pulseq.read(_write(tmp_path, rle_gradient(1000, 0, HEADER_131), "ok.seq"))
    assert seq.block_durations_ns.tolist() == [1000 * 10_000]


def test_max_samples_budget_is_the_callers_to_raise(tmp_path: Path) -> None:
    p = _write(tmp_path, rle_gradient(100_000, 100_000))
    _refused(p, r"more than 1000: the reader's budget max_samples = 1000", max_samples=1000)
    seq = wavegen.pulseq.read(p, max_samples=200_000)
    g = seq.block(0).gx
    assert g is not None and len(g.shape) == 100_000  # type: ignore[union-attr]
    with pytest.raises(SeqFormatError, match="max_samples"):
        wavegen.pulseq.read(p, max_samples=0)


def test_the_budget_counts_all_shapes_of_a_file(tmp_path: Path) -> None:
    text = rle_gradient(600, 1000).replace("1 1000 1 0 0", "1 1000 1 0 0\n2 1000 2 0 0").replace(
        "1 1000 0 1 0 0 0 0", "1 1000 0 1 2 0 0 0"
    )
    text += "\nshape_id 2\nnum_samples 600\n0.5\n0\n0\n597\n"
    p = _write(tmp_path, text)
    _refused(p, r"shape 2 \(gradient 2\) declares 600 samples; with the shapes before it the file would decode 1200",
             max_samples=1000)
    assert len(wavegen.pulseq.read(p, max_samples=1200)) == 1


def test_adc_declaring_4e9_samples(tmp_path: Path) -> None:
    p = _write(tmp_path, adc_file(4 * 10**9, 100, 4 * 10**9 * 100 // 10_000))
    ln = _line(p, "1 4000000000")
    _refused(p, rf"hostile\.seq:{ln}: ADC 1: num = 4000000000 samples is more than 33554432: the reader's budget")


def test_adc_samples_bounded_by_the_longest_block(tmp_path: Path) -> None:
    p = _write(tmp_path, adc_file(100_000, 100, 10))  # 10 ms of samples in a 100 us block
    ln = _line(p, "1 100000")
    _refused(p, rf"hostile\.seq:{ln}: ADC 1: num = 100000 samples is more than 1000: the longest block \(100 us\)")


def test_block_duration_beyond_the_time_base(tmp_path: Path) -> None:
    p = _write(tmp_path, HEADER_141 + "[BLOCKS]\n1 4000000000000000 0 0 0 0 0 0\n")
    _refused(p, r"hostile\.seq:\d+: block 1: duration 4000000000000000 x 10000 ns is beyond the 2\*\*53 ns")


def test_blocks_adding_up_beyond_the_time_base(tmp_path: Path) -> None:
    rows = "\n".join(f"{i} 900000000000 0 0 0 0 0 0" for i in range(1, 1001))  # 1000 x 104 days / 1000
    p = _write(tmp_path, HEADER_141 + f"[BLOCKS]\n{rows}\n")
    _refused(p, r"the blocks add up to .* days, beyond the 2\*\*53 ns")


def test_extension_chain_of_16000_nodes_is_refused_fast(tmp_path: Path) -> None:
    p = _write(tmp_path, ext_chain(16_000, 16_000, "heads"))
    _refused(p, r"hostile\.seq:\d+: extension list starting at 1 holds more than 256 events")


def test_extension_chains_are_walked_once(tmp_path: Path) -> None:
    # 16,000 nodes in chains of 200, every node the head of a block's list: the memo makes it linear
    p = _write(tmp_path, ext_chain(16_000, 200, "all"))
    t0 = time.perf_counter()
    seq = wavegen.pulseq.read(p)
    assert time.perf_counter() - t0 < 2.0
    assert len(seq) == 16_000
    assert seq.block(0).extensions == (LabelSet("LIN", 1),) * 200
    assert len(seq.block(199).extensions) == 1 and len(seq.block(200).extensions) == 200


def test_unreferenced_long_chain_costs_one_pass(tmp_path: Path) -> None:
    p = _write(tmp_path, ext_chain(16_000, 16_000, "none"))
    t0 = time.perf_counter()
    seq = wavegen.pulseq.read(p)
    assert time.perf_counter() - t0 < 2.0
    assert seq.block(0).extensions == ()


def test_extension_loop_and_dangling_link(tmp_path: Path) -> None:
    text = ext_chain(3, 3, "heads").replace("3 1 1 0", "3 1 1 2")
    _refused(_write(tmp_path, text), r"extension list starting at 1 loops back to 2")
    text = ext_chain(3, 3, "heads").replace("3 1 1 0", "3 1 1 9")
    _refused(_write(tmp_path, text, "d.seq"), r"d\.seq:\d+: extension list node 3 links to 9")


_CHILD = textwrap.dedent(
    """
    import resource, sys, time
    resource.setrlimit(resource.RLIMIT_AS, (500 * 2**20, 500 * 2**20))
    import wavegen
    from wavegen.errors import SeqFormatError
    for p in sys.argv[1:]:
        t0 = time.process_time()
        try:
            wavegen.pulseq.read(p)
            print("read", p)
        except SeqFormatError:
            pass
        dt = time.process_time() - t0
        if dt > 2.0:
            print("slow", p, dt)
    # VmHWM is this process's own peak (ru_maxrss would carry the parent's peak across fork and exec)
    hwm = next(int(ln.split()[1]) for ln in open("/proc/self/status") if ln.startswith("VmHWM:"))
    print("done", hwm)
    """
)


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS is enforced on Linux")
def test_all_hostile_files_in_500_mb_and_2_s(tmp_path: Path) -> None:
    files = [
        _write(tmp_path, rle_gradient(10**12, 10**8), "a.seq"),
        _write(tmp_path, rle_gradient(3 * 10**8, 3 * 10**8 // 10 + 1), "b.seq"),
        _write(tmp_path, rle_gradient(10**12, 0, HEADER_131), "c.seq"),
        _write(tmp_path, adc_file(4 * 10**9, 100, 4 * 10**9 * 100 // 10_000), "d.seq"),
        _write(tmp_path, ext_chain(16_000, 16_000, "heads"), "e.seq"),
    ]
    env = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"}
    r = subprocess.run(
        [sys.executable, "-c", _CHILD, *map(str, files)], capture_output=True, text=True, timeout=120, env=env,
        cwd=tmp_path,  # not the project root: `python -c` would import the unbuilt source tree
    )
    assert r.returncode == 0, r.stderr[-2000:]
    assert "read" not in r.stdout and "slow" not in r.stdout, r.stdout
    peak_kb = int(r.stdout.split("done")[1])
    assert peak_kb < 500 * 1024


@pytest.mark.parametrize("raster", ["1e12", "123456789012", "2"])
def test_raster_longer_than_a_second(tmp_path: Path, raster: str) -> None:
    # found by fuzzing: a 1e12 s gradient raster overflowed int64 event ends (OverflowError)
    p = _write(tmp_path, rle_gradient(4, 10).replace("GradientRasterTime 1e-05", f"GradientRasterTime {raster}"))
    ln = _line(p, "GradientRasterTime")
    _refused(p, rf"hostile\.seq:{ln}: GradientRasterTime = {raster} s is longer than the 1 s a raster may be")


def test_rf_shape_bounded_by_the_longest_block(tmp_path: Path) -> None:
    text = (
        HEADER_141
        + "[BLOCKS]\n1 10 1 0 0 0 0 0\n\n[RF]\n1 100 1 0 0 0 0 0\n\n[SHAPES]\n\nshape_id 1\nnum_samples 1000000\n"
        + "1\n0\n0\n999997\n"
    )
    p = _write(tmp_path, text)
    ln = _line(p, "shape_id 1")
    # 100 us on a 1 us RF raster: at most 2 * 100 + 2 samples (time shapes may repeat a time)
    _refused(p, rf"hostile\.seq:{ln}: shape 1 \(RF 1 magnitude\) declares 1000000 samples, more than 202: the longest")
