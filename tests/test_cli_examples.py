"""The examples a newcomer runs first: quickstart.py, bench_tour.py and the tour notebook (its code cells
executed without Jupyter)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    env["MPLBACKEND"] = "Agg"
    return env


def test_quickstart_example_runs(tmp_path):
    proc = subprocess.run([sys.executable, str(EXAMPLES / "quickstart.py")], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path, env=_env())
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # no stray warning or log lines (issue 15)
    assert "refused: SAFE PNS" in proc.stdout and "area kept: True" in proc.stdout


def test_bench_tour_runs_and_the_loop_helps(tmp_path):
    proc = subprocess.run([sys.executable, str(EXAMPLES / "bench_tour.py"), str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path, env=_env())
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # no stray warning or log lines (issue 15)
    out = proc.stdout
    assert "refused: " in out and "on gx" in out  # the interlock stopped the too-fast trapezoid
    reductions = [float(line.rsplit("(", 1)[1].rstrip("x)")) for line in out.splitlines() if line.endswith("x)")]
    assert len(reductions) == 2 and min(reductions) >= 10.0  # the loop on a trapezoid train (issue 8)
    for png in ("measurement.png", "hil.png"):
        assert (tmp_path / "out" / png).stat().st_size > 1000


def _code_cells(path: Path) -> list[str]:
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert nb["nbformat"] == 4
    cells = []
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        src = "".join(cell["source"])
        # IPython magics are notebook-only (%matplotlib inline): drop them, keep the Python
        cells.append("\n".join(line for line in src.splitlines() if not line.lstrip().startswith("%")))
    return cells


def test_tour_notebook_cells_run_in_order(tmp_path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    monkeypatch.chdir(tmp_path)
    cells = _code_cells(EXAMPLES / "tour.ipynb")
    assert len(cells) >= 8
    ns: dict[str, Any] = {"__name__": "__tour__"}
    try:
        for i, src in enumerate(cells):
            try:
                exec(compile(src, f"tour.ipynb[cell {i}]", "exec"), ns)  # noqa: S102 - the notebook is ours
            except Exception as exc:  # pragma: no cover - the message says which cell
                pytest.fail(f"notebook cell {i} failed: {type(exc).__name__}: {exc}\n{src}")
    finally:
        bench = ns.get("bench")
        if bench is not None:
            bench.close()  # idempotent, also after a failing cell
        plt.close("all")
    # what the notebook shows holds: area kept at 1 MS/s, the loop reduced the error on every channel
    assert np.isclose(ns["area_raster"], ns["area_1mhz"], rtol=1e-12, atol=0)
    h = ns["h"]
    assert set(h.reduction) == {"gx", "gz"} and all(v >= 10.0 for v in h.reduction.values()), repr(h)
    assert ns["report"].ok
