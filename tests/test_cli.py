"""The wavegen command as a whole: help, usage errors, exit codes, info, the console script."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import wavegen.cli.app as cli
from wavegen.cli import EXIT_INSTRUMENT, EXIT_INTERNAL, EXIT_OK, EXIT_UNSAFE, EXIT_USAGE, main
from wavegen.errors import InstrumentTimeoutError, SafetyError

COMMANDS = ("design", "check", "render", "play", "measure", "hil", "instruments", "demo", "info")


def test_help_lists_every_command_and_the_exit_codes(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in COMMANDS:
        assert f"    {name}" in out
    for code in ("0  success", "1  unsafe", "2  usage or input error", "3  instrument error", "4  internal error"):
        assert code in out
    # the module docstring documents the same codes
    assert all(f"{c}     " in cli.__doc__ for c in "01234")


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_has_help(capsys, name):
    assert main([name, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: wavegen {name}")


def test_usage_errors_exit_2(capsys):
    assert main(["no-such-command"]) == EXIT_USAGE
    assert "invalid choice: 'no-such-command'" in capsys.readouterr().err
    assert main([]) == EXIT_USAGE
    assert "required: COMMAND" in capsys.readouterr().err
    assert main(["design", "sinc"]) == EXIT_USAGE  # -o is required
    assert "-o/--out" in capsys.readouterr().err
    assert main(["hil", "x.seq", "--iterations", "five"]) == EXIT_USAGE
    assert "invalid int value: 'five'" in capsys.readouterr().err


def test_info(capsys):
    assert main(["info"]) == EXIT_OK
    out = capsys.readouterr().out
    assert out.startswith("wavegen 0.") and "resampling backend  native" in out and "matplotlib" in out


def test_options_after_the_command_and_quiet(capsys, tmp_path):
    out = tmp_path / "t.seq"
    assert main(["design", "trapezoid", "--area", "1000 /m", "-o", str(out), "-v", "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert "wavegen.sequence.seq_write: INFO: wrote" in err  # -v: the library's log on stderr
    assert main(["-q", "design", "trapezoid", "--area", "1000 /m", "-o", str(out)]) == 0
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    "exc, code, text",
    [
        (SafetyError("slew 200 T/m/s > 150 T/m/s", quantity="slew", value=200.0, limit=150.0, unit="T/m/s",
                     channel="gx", time_s=0.0), EXIT_UNSAFE, "wavegen: UNSAFE: slew 200"),
        (InstrumentTimeoutError("no answer from awg1 within 2 s"), EXIT_INSTRUMENT,
         "wavegen: instrument error: no answer from awg1"),
        (ConnectionResetError(104, "Connection reset by peer"), EXIT_INSTRUMENT,
         "wavegen: instrument error: ConnectionResetError"),
        (OSError(28, "No space left on device", "out.npz"), EXIT_USAGE,
         "wavegen: error: No space left on device: out.npz"),
        (RuntimeError("boom"), EXIT_INTERNAL, "wavegen: internal error: RuntimeError: boom"),
    ],
)
def test_exceptions_map_to_exit_codes(monkeypatch, capsys, exc, code, text):
    import wavegen.cli.commands as cmds

    def fail(args, progress):
        raise exc

    monkeypatch.setattr(cmds, "cmd_info", fail)
    assert main(["info"]) == code
    err = capsys.readouterr().err
    assert text in err
    if code == EXIT_INTERNAL:
        assert "run again with -v" in err and "Traceback" not in err
        assert main(["-v", "info"]) == code
        assert "Traceback" in capsys.readouterr().err


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    env["MPLBACKEND"] = "Agg"
    return env


def test_python_dash_m_runs_a_command_end_to_end(tmp_path):
    # run from elsewhere: from the project root, `python -m` would import the uncompiled source tree
    proc = subprocess.run([sys.executable, "-m", "wavegen.cli", "--version"], capture_output=True, text=True,
                          timeout=60, cwd=tmp_path, env=_env())
    assert proc.returncode == 0 and proc.stdout.startswith("wavegen ")
    proc = subprocess.run([sys.executable, "-m", "wavegen.cli", "design", "trapezoid", "--area", "1000 /m",
                           "-o", "t.seq"], capture_output=True, text=True, timeout=60, cwd=tmp_path, env=_env())
    assert proc.returncode == 0 and (tmp_path / "t.seq").is_file()
    proc = subprocess.run([sys.executable, "-m", "wavegen.cli", "check", "t.seq", "--limits", "max_grad=30 mT/m"],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path, env=_env())
    assert proc.returncode == 1 and "UNSAFE: gradient amplitude" in proc.stdout


def test_installed_console_script(tmp_path):
    exe = Path(sys.executable).with_name("wavegen")
    script = str(exe) if exe.exists() else shutil.which("wavegen")
    assert script is not None, "the wavegen console script is not installed (pip install -e .)"
    proc = subprocess.run([script, "check", "missing.seq"], capture_output=True, text=True, timeout=60,
                          cwd=tmp_path, env=_env())
    assert proc.returncode == 2 and proc.stderr.strip() == "wavegen: error: no such file: missing.seq"


def test_bad_output_paths_and_repeated_limits_are_refused_before_any_work(tmp_path, capsys):
    import json

    seq = tmp_path / "t.seq"
    assert main(["design", "trapezoid", "--area", "1000 /m", "-o", str(seq)]) == 0
    capsys.readouterr()
    assert main(["check", str(seq), "--plot", str(tmp_path / "x.txt")]) == EXIT_USAGE
    assert "--plot" in capsys.readouterr().err
    blocker = tmp_path / "afile"
    blocker.write_text("")
    assert main(["design", "trapezoid", "--area", "1000 /m", "-o", str(blocker / "sub" / "t.seq")]) == EXIT_USAGE
    assert "is a file, not a folder" in capsys.readouterr().err
    assert main(["check", str(seq), "--limits", "max_grad=40 mT/m,max_grad=30 mT/m"]) == EXIT_USAGE
    assert "max_grad is given twice" in capsys.readouterr().err
    # check --json: errors as JSON on stdout too
    assert main(["check", str(tmp_path / "missing.seq"), "--json"]) == EXIT_USAGE
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"] is False and "missing.seq" in doc["error"]


def test_a_bare_number_for_a_dimensional_option_is_refused(tmp_path, capsys):
    for argv, needle in (
        (["design", "sinc", "--flip", "15", "-o", str(tmp_path / "s.seq")], '--flip "90 deg"'),
        (["design", "sinc", "--duration", "3", "-o", str(tmp_path / "s.seq")], '--duration "3 ms"'),
        (["check", str(tmp_path / "s.seq"), "--limits", "max_grad=0.04"], '"max_grad=0.04 T/m"'),
        (["render", str(tmp_path / "s.seq"), "--rate", "1e6", "-o", str(tmp_path / "r.npz")], '--rate "1 kHz"'),
    ):
        assert main(argv) == EXIT_USAGE, argv
        assert needle in capsys.readouterr().err
    # rates with their units, exact ratios included; a render of one sample is refused
    seq = tmp_path / "t.seq"
    assert main(["design", "trapezoid", "--area", "1000 /m", "-o", str(seq)]) == EXIT_OK
    for rate in ("1 MS/s", "1e6/3 Hz", "250 kSa/s"):
        assert main(["render", str(seq), "--rate", rate, "-o", str(tmp_path / "r.npz")]) == EXIT_OK, rate
    assert main(["render", str(seq), "--rate", "0.5 Hz", "-o", str(tmp_path / "r.npz")]) == EXIT_USAGE
    assert "needs at least 2" in capsys.readouterr().err
