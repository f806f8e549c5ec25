"""Fuzzing of wavegen.pulseq.read (issue 12): mutated .seq files, each read in a child process limited to
500 MB of address space and 2 s of CPU; every outcome is a sequence, a warning, or a wavegen error.

The CI run fuzzes ``WAVEGEN_FUZZ_CASES`` cases (default 1,500, about 3 s); a nightly-sized run sets it,
e.g. ``WAVEGEN_FUZZ_CASES=10000 pytest tests/test_pulseq_fuzz.py``. ``WAVEGEN_FUZZ_SEED`` changes the
seed (default 12); a failing case is reported with its index and seed and written next to the test's
temporary folder, so it can be replayed.

Mutations start from the .seq fixtures (every format version, three writers' layouts) and a file that
wavegen writes with every extension: numbers replaced by extremes (0, -1, 1e12, 4e9, 2**63, nan, inf,
fractions, words), lines deleted, duplicated (up to 2,000 times) or swapped, sections duplicated or
renamed, the file truncated, bytes flipped or inserted (CR, NUL, non-UTF-8), and shapes made to declare
1e6 to 2**63 samples with run lengths that add up (the attack of issue 12).
"""

from __future__ import annotations

import json
import os
import random
import re
import select
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

import wavegen
from wavegen.sequence import LabelInc, LabelSet, Rotation, Sequence, TrapGradient, Trigger
from wavegen.sequence.events import ADCEvent, RFEvent

FIX = Path(__file__).parent / "fixtures" / "seq"
CASES = int(os.environ.get("WAVEGEN_FUZZ_CASES", "1500"))
SEED = int(os.environ.get("WAVEGEN_FUZZ_SEED", "12"))
MEMORY_BYTES = 500 * 2**20
CPU_S = 2.0

_WORKER = textwrap.dedent(
    """
    import json, resource, signal, sys, time, warnings, logging
    resource.setrlimit(resource.RLIMIT_AS, (MEM, MEM))
    warnings.simplefilter("ignore")          # a warning is an allowed outcome
    logging.disable(logging.CRITICAL)
    import wavegen
    from wavegen.errors import WavegenError

    class Timeout(BaseException):
        pass

    def on_prof(signum, frame):
        raise Timeout()

    signal.signal(signal.SIGPROF, on_prof)
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        path = line.strip()
        t0 = time.process_time()
        signal.setitimer(signal.ITIMER_PROF, CPU)
        try:
            seq = wavegen.pulseq.read(path)
            _ = (len(seq), seq.duration_ns)
            res = {"status": "ok"}
        except WavegenError as e:
            res = {"status": "wavegen", "type": type(e).__name__, "msg": str(e)[:300]}
        except Timeout:
            res = {"status": "timeout"}
        except BaseException as e:  # noqa: BLE001 - the point is to see every other exception
            res = {"status": "other", "type": type(e).__name__, "msg": str(e)[:300]}
        finally:
            signal.setitimer(signal.ITIMER_PROF, 0)
        res["cpu"] = time.process_time() - t0
        print(json.dumps(res), flush=True)
    """
)

_EXTREMES = [
    "0", "-1", "1", "2", "1e12", "4e9", "-4e9", "9223372036854775808", "18446744073709551616", "1e308",
    "-1e308", "nan", "inf", "-inf", "1.5", "0.5", "1e-300", "x", "", "2147483648", "1e15", "1e16",
    "123456789012", "-0", "0x10", "1_000",
]


def _wavegen_file(folder: Path) -> Path:
    """A 1.5.1 file with every kind of event and extension, as wavegen writes it."""
    seq = Sequence()
    seq.add_block(
        RFEvent(500.0, [0.2, 1.0, 0.2], [0.0, 0.25, 0.5], center_us=1.5, delay_ns=100_000, use="e"),
        Trigger(1, 1, 0, 10_000),
        gz=TrapGradient(1000.0, 20_000, 60_000, 20_000),
    )
    seq.add_block(
        ADCEvent(16, 10_000, 10_000),
        LabelSet("LIN", 3),
        LabelInc("SLC", 1),
        Rotation(0.9238795325112867, 0.0, 0.0, 0.3826834323650898),
        gx=TrapGradient(2000.0, 10_000, 160_000, 10_000),
    )
    p = folder / "wavegen_v151.seq"
    wavegen.pulseq.write(seq, p)
    return p


def _mutate(data: bytes, rng: random.Random) -> bytes:
    for _ in range(rng.randint(1, 3)):
        lines = data.split(b"\n")
        op = rng.randrange(11)
        if op <= 2 and lines:  # a number -> an extreme (the most common op: it finds range bugs)
            i = rng.randrange(len(lines))
            toks = lines[i].split(b" ")
            nums = [k for k, t in enumerate(toks) if re.fullmatch(rb"[-+0-9.eE]+", t)]
            if nums:
                toks[rng.choice(nums)] = rng.choice(_EXTREMES).encode()
                lines[i] = b" ".join(toks)
        elif op == 3 and len(lines) > 1:
            del lines[rng.randrange(len(lines))]
        elif op == 4 and lines:
            i = rng.randrange(len(lines))
            lines[i:i] = [lines[i]] * rng.choice([1, 2, 10, 2000])
        elif op == 5 and len(lines) > 1:
            i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == 6:  # duplicate or rename a section
            heads = [k for k, t in enumerate(lines) if t.startswith(b"[")]
            if heads:
                k = rng.randrange(len(heads))
                a = heads[k]
                b = heads[k + 1] if k + 1 < len(heads) else len(lines)
                if rng.random() < 0.5:
                    lines[b:b] = lines[a:b]
                else:
                    lines[a] = rng.choice([b"[SHAPES]", b"[BLOCKS]", b"[FOO]", b"[VERSION]", b"[EXTENSIONS]", b"["])
        elif op == 7 and data:
            return data[: rng.randrange(len(data))]
        elif op == 8 and data:
            b_arr = bytearray(data)
            b_arr[rng.randrange(len(b_arr))] = rng.randrange(256)
            data = bytes(b_arr)
            continue
        elif op == 9:
            pos = rng.randrange(len(data) + 1)
            data = data[:pos] + rng.choice([b"\r", b"\x00", b"\xff\xfe", b"\n\n", b" 1e999 ", b"#", b"\t"]) + data[pos:]
            continue
        elif op == 10:  # the attack of issue 12: a shape (or ADC) declaring far more samples than stored
            idx = [k for k, t in enumerate(lines) if t.lower().startswith(b"num_samples")]
            if idx:
                k = rng.choice(idx)
                n = rng.choice([10**6, 3 * 10**8, 10**12, 2**31, 2**53, 2**63])
                lines[k] = b"num_samples %d" % n
                if k + 3 < len(lines) and rng.random() < 0.7:  # make the runs add up: v v (n - 3)
                    lines[k + 1 : k + 4] = [b"0.5", b"0", b"0", b"%d" % (n - 3)]
        data = b"\n".join(lines)
    return data


class _Worker:
    def __init__(self) -> None:
        code = _WORKER.replace("MEM", str(MEMORY_BYTES)).replace("CPU", repr(CPU_S))
        env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=tempfile.gettempdir(),  # not the project root: `python -c` would import the unbuilt source tree
        )
        first = self._line(60.0)
        if first is None or not json.loads(first).get("ready"):
            err = self.proc.stderr.read() if self.proc.stderr else ""
            raise AssertionError(f"fuzz worker did not start: {err[-2000:]}")

    def _line(self, timeout_s: float) -> str | None:
        assert self.proc.stdout is not None
        r, _, _ = select.select([self.proc.stdout], [], [], timeout_s)
        if not r:
            return None
        line = self.proc.stdout.readline()
        return line or None

    def read(self, path: Path) -> dict[str, object]:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(f"{path}\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            return {"status": "died", "msg": "worker gone before the case"}
        line = self._line(30.0)  # wall-clock guard: CPU is limited to 2 s inside
        if line is None:
            self.close()
            return {"status": "died", "msg": f"no answer (exit code {self.proc.returncode})"}
        res: dict[str, object] = json.loads(line)
        return res

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if f is not None:
                f.close()


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS and ITIMER_PROF limits as on Linux")
def test_fuzz_pulseq_read(tmp_path: Path) -> None:
    seeds = [*sorted(FIX.glob("*.seq")), _wavegen_file(tmp_path)]
    corpus = [p.read_bytes() for p in seeds]
    rng = random.Random(SEED)
    worker = _Worker()
    counts: dict[str, int] = {}
    failures: list[str] = []
    worst_cpu = 0.0
    t0 = time.perf_counter()
    case = tmp_path / "case.seq"
    try:
        for i in range(CASES):
            k = rng.randrange(len(corpus))
            data = _mutate(corpus[k], rng)
            case.write_bytes(data)
            res = worker.read(case)
            status = str(res["status"])
            counts[status] = counts.get(status, 0) + 1
            worst_cpu = max(worst_cpu, float(res.get("cpu", 0.0)))  # type: ignore[arg-type]
            if status == "wavegen" and "declares" in str(res.get("msg", "")):
                counts["bounded"] = counts.get("bounded", 0) + 1  # refused by a declared-size bound
            if status not in ("ok", "wavegen"):
                keep = tmp_path / f"failing_{i}.seq"
                keep.write_bytes(data)
                failures.append(f"case {i} (seed {SEED}, from {seeds[k].name}, kept as {keep}): {res}")
                if status == "died":
                    worker = _Worker()
            elif float(res.get("cpu", 0.0)) > CPU_S:  # type: ignore[arg-type]
                failures.append(f"case {i} (seed {SEED}) took {res['cpu']} s of CPU")
    finally:
        worker.close()
    wall = time.perf_counter() - t0
    print(f"fuzzed {CASES} cases in {wall:.1f} s: {counts}; worst CPU per case {worst_cpu:.3f} s")
    assert not failures, "\n".join(failures[:20])
    assert counts.get("ok", 0) > 0 and counts.get("wavegen", 0) > 0  # the mutations reach both outcomes
    if CASES >= 500:
        assert counts.get("bounded", 0) > 0  # and the size bounds of issue 12
