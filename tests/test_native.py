"""The compiled extension: required under WAVEGEN_REQUIRE_NATIVE, and the GIL is released in the kernels."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np
import pytest

from wavegen import _backend
from wavegen.dsp import Resampler

_HIDE_NATIVE = "import sys; sys.modules['wavegen._native'] = None\n"


def _run(code: str, require: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, WAVEGEN_REQUIRE_NATIVE=require)
    # from a neutral folder: `python -c` puts the working directory first on sys.path, and the project
    # root holds the uncompiled source tree
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120,
                          cwd=tempfile.gettempdir())


def test_missing_extension_is_an_import_error_when_required():
    proc = _run(_HIDE_NATIVE + "import wavegen\n", "1")
    assert proc.returncode != 0
    assert "NativeBackendError" in proc.stderr and "WAVEGEN_REQUIRE_NATIVE" in proc.stderr


def test_missing_extension_falls_back_to_the_reference_otherwise():
    code = _HIDE_NATIVE + (
        "import numpy as np, importlib\n"
        "import wavegen\n"
        "m = importlib.import_module('wavegen.dsp')\n"
        "assert m.BACKEND == 'numpy', m.BACKEND\n"
        "y = wavegen.resample(np.array([0.0, 1.0, 0.0]), 1, 4, method='cubic')\n"
        "print(y.size, float(y[4]))\n"
    )
    proc = _run(code, "")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["9", "1.0"]


@pytest.mark.skipif(not _backend.NATIVE, reason="the GIL question only concerns the compiled kernels")
def test_kernel_releases_the_gil():
    # while one thread is inside a long kernel call, another thread keeps running Python code
    x = np.random.default_rng(0).standard_normal(200_000)
    r = Resampler(1, 50, method="sinc", atten_db=140)  # 10 M outputs of a 44-tap kernel: a long call
    out = np.empty(r.n_out(x.size))
    started = threading.Event()
    done = threading.Event()

    def work() -> None:
        started.set()
        r.render(x, out=out)
        done.set()

    t = threading.Thread(target=work)
    t.start()
    started.wait()
    ticks = 0
    t_end = time.perf_counter() + 30
    while not done.is_set() and time.perf_counter() < t_end:
        ticks += 1
        time.sleep(0.001)
    t.join()
    # with the GIL held for the whole call, this loop could not have run during it
    print("ticks during the kernel call:", ticks)
    assert ticks >= 10, ticks
