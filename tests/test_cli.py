"""The wavegen command: the demo writes its report, usage errors exit 2."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from wavegen.cli import main, run_demo


def test_demo_writes_its_report(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "safety (bench mode)         PASS" in out
    for name in ("report.txt", "safety.txt", "demo.npz", "waveforms.png"):
        assert (tmp_path / "out" / name).stat().st_size > 0
    data = np.load(tmp_path / "out" / "demo.npz")
    assert data["gx_codes"].dtype == np.int16
    # the rendered gradient keeps its area and never exceeds the DAC range
    assert abs(np.sum(data["gx_1mhz_t_per_m"]) * 1e-6 - np.sum(data["grad_t_per_m"][:, 0]) * 1e-5) < 1e-12
    assert np.max(np.abs(data["gx_codes"].astype(int))) <= 32767


def test_demo_figures(tmp_path):
    figures = run_demo(tmp_path, plot=False)
    assert figures["safety_ok"] is True
    assert abs(figures["gx_area_rendered_t_s_per_m"] - figures["gx_area_t_s_per_m"]) <= 1e-12 * abs(
        figures["gx_area_t_s_per_m"])
    assert not (tmp_path / "waveforms.png").exists()


def test_info_and_usage(capsys):
    assert main(["info"]) == 0
    assert "resampling backend" in capsys.readouterr().out
    assert main(["no-such-command"]) == 2
    assert main([]) == 2


def test_console_entry_point_runs(tmp_path):
    # run from elsewhere: from the project root, `python -m` would import the uncompiled source tree
    proc = subprocess.run([sys.executable, "-m", "wavegen.cli", "--version"], capture_output=True, text=True,
                          timeout=60, cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout.startswith("wavegen ")


def test_quickstart_example_runs():
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "examples" / "quickstart.py"
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "refused: SAFE PNS" in proc.stdout and "area kept: True" in proc.stdout
