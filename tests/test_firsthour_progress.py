"""Issue 15, item 7: progress through tqdm on a terminal and plain lines elsewhere, one handler for log
records and library warnings, ``-q`` silencing handled events, ``-v``/``-vv`` showing more, and an
override announced once per play."""

from __future__ import annotations

import io
import logging
import re
import warnings
from pathlib import Path

import numpy as np
import pytest

from wavegen.cli import commands as cmds
from wavegen.cli import main
from wavegen.cli.progress import ProgressBar, StderrHandler


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _run(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


# --- progress ---------------------------------------------------------------------------------------


def test_a_terminal_gets_a_tqdm_bar_per_stage() -> None:
    s = _Terminal()
    bar = ProgressBar(s, min_interval_s=0.0)
    assert bar.mode == "bar"
    for done in range(0, 101, 25):
        bar("upload gx", done * 1000, 100_000)
    bar("render", 0, 4)
    bar("render", 4, 4)
    text = s.getvalue()
    frames = text.split("\r")
    assert any(f.startswith("upload gx") and " 50%|" in f for f in frames)  # redrawn in place
    assert re.search(r"upload gx +100%\|.*\| 100k/100k", text)
    assert re.search(r"render +100%\|.*\| 4/4", text)
    assert text.endswith("\n") and text.count("\n") == 2  # each finished stage keeps its own line


def test_a_log_line_is_drawn_above_an_open_bar_not_through_it(monkeypatch: pytest.MonkeyPatch) -> None:
    s = _Terminal()
    monkeypatch.setattr("sys.stderr", s)
    bar = ProgressBar(s, min_interval_s=0.0)
    handler = StderrHandler()
    handler.setFormatter(logging.Formatter("wavegen: %(levelname)s: %(message)s"))
    handler.bar = bar
    bar("upload", 1, 4)
    handler.emit(logging.LogRecord("wavegen.x", logging.WARNING, __file__, 1, "careful", None, None))
    bar("upload", 4, 4)
    lines = [line.split("\r")[-1] for line in s.getvalue().split("\n")]
    assert "wavegen: WARNING: careful" in lines  # a line of its own, the bar cleared before it


def test_off_a_terminal_progress_is_plain_lines_and_only_on_request() -> None:
    quiet = io.StringIO()
    ProgressBar(quiet)("render", 1, 2)
    ProgressBar(quiet)("render", 2, 2)
    assert quiet.getvalue() == ""  # not a terminal and not asked for: nothing
    s = io.StringIO()
    bar = ProgressBar(s, enabled=True, line_interval_s=0.0)
    assert bar.mode == "lines"
    bar("upload", 0, 2_000_000)
    bar("upload", 1_000_000, 2_000_000)  # a long stage says it is alive (here: every call)
    bar("upload", 2_000_000, 2_000_000)
    bar("check", 0, 1)
    bar("play", 1, 1)  # a new stage: the last one finished
    lines = s.getvalue().splitlines()
    assert "\r" not in s.getvalue() and "\x1b" not in s.getvalue()
    assert lines[1].startswith("wavegen: upload: 50% (1M/2M)") and "to go" in lines[1]
    assert lines[2].startswith("wavegen: upload: 100% (2M/2M), done in")
    assert lines[-2].startswith("wavegen: check: 100% (1/1)") and lines[-1].startswith("wavegen: play: 100%")


def test_a_long_stage_off_a_terminal_is_one_line_when_it_is_quick() -> None:
    s = io.StringIO()
    bar = ProgressBar(s, enabled=True)  # 10 s between the lines of a stage
    for done in range(0, 1001, 10):
        bar("render", done, 1000)
    assert s.getvalue().count("\n") == 1 and "render: 100%" in s.getvalue()


def test_quiet_turns_progress_off_unless_asked(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    seq = tmp_path / "t.seq"
    assert main(["-q", "design", "trapezoid", "--area", "1000 /m", "-o", str(seq)]) == 0
    capsys.readouterr()
    code, _, err = _run(capsys, "-q", "render", seq, "--rate", "1 MHz", "-o", tmp_path / "r.npz", "--progress")
    assert code == 0 and "render: 100%" in err  # --progress wins over -q
    code, _, err = _run(capsys, "-q", "render", seq, "--rate", "1 MHz", "-o", tmp_path / "r.npz")
    assert code == 0 and err == ""


# --- one handler for logs and warnings --------------------------------------------------------------


@pytest.fixture
def signed_wrong(tmp_path: Path) -> Path:
    """A .seq whose [SIGNATURE] does not match: reading it warns (PulseqWarning)."""
    seq = tmp_path / "t.seq"
    assert main(["-q", "design", "trapezoid", "--area", "1000 /m", "-o", str(seq)]) == 0
    text = re.sub(r"(?m)^Hash .*$", "Hash " + "0" * 32, seq.read_text())
    seq.write_text(text)
    return seq


@pytest.mark.filterwarnings("default::UserWarning")
def test_a_library_warning_is_one_log_line_and_quiet_silences_it(capsys: pytest.CaptureFixture[str],
                                                                   signed_wrong: Path) -> None:
    capsys.readouterr()
    code, _, err = _run(capsys, "check", signed_wrong)
    assert code == 0
    assert err.count("\n") == 1 and err.startswith("wavegen: WARNING: PulseqWarning: ")
    assert "[SIGNATURE]" in err and "return read_seq(" not in err  # no source line, no file path
    code, _, err = _run(capsys, "-q", "check", signed_wrong)
    assert code == 0 and err == ""
    _, _, err = _run(capsys, "-vv", "check", signed_wrong)
    assert re.search(r"py\.warnings: WARNING: PulseqWarning: .*\[.*pulseq\.py:\d+\]", err)  # -vv: where


@pytest.mark.filterwarnings("default::RuntimeWarning")
def test_a_numpy_warning_in_a_command_goes_through_the_handler(capsys: pytest.CaptureFixture[str],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    def info(args: object, progress: object) -> int:
        np.array([1.0]) / np.array([0.0])
        return 0

    monkeypatch.setattr(cmds, "cmd_info", info)
    before = warnings.showwarning
    code, out, err = _run(capsys, "info")
    assert code == 0 and out == ""
    assert err == "wavegen: WARNING: RuntimeWarning: divide by zero encountered in divide\n"
    assert warnings.showwarning is before  # put back when the command ends
    assert _run(capsys, "-q", "info")[2] == ""


def test_verbosity_levels(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    seq = tmp_path / "t.seq"
    argv = ["design", "trapezoid", "--area", "1000 /m", "-o", seq]
    assert "INFO" not in _run(capsys, *argv)[2]  # default: warnings only
    err = _run(capsys, "-v", *argv)[2]
    assert "wavegen.sequence.seq_write: INFO: wrote" in err and "DEBUG" not in err
    _, _, err = _run(capsys, "-vv", "design", "spiral", "-o", seq)
    assert "wavegen.design.mintime: DEBUG: min_time_gradient" in err
    assert logging.getLogger("wavegen").level == logging.NOTSET  # the logger's level put back


# --- an override is announced once per play ---------------------------------------------------------


def test_an_override_is_logged_once_per_play_not_per_output(capsys: pytest.CaptureFixture[str],
                                                            tmp_path: Path) -> None:
    seq = tmp_path / "over.seq"  # 44.6 mT/m: above the mock bench's 40 mT/m, within its channels' range
    assert main(["-q", "design", "trapezoid", "--area", "1500 /m", "--limits", "max_grad=45 mT/m", "-o",
                 str(seq)]) == 0
    capsys.readouterr()
    code, out, err = _run(capsys, "play", seq, "--override", "phantom test", "--operator", "ann")
    assert code == 0 and "OVERRIDDEN" in out
    warnings_ = [line for line in err.splitlines() if "WARNING" in line]
    assert sum("OVERRIDDEN by operator 'ann'" in w for w in warnings_) == 1  # the grant, with its reasons
    assert sum("playing under an override" in w for w in warnings_) == 1  # the play
    assert len(warnings_) == 2 and "uploading under" not in err  # not again per output (6 outputs)


def test_a_stage_left_open_is_ended_before_the_result_is_printed(capsys: pytest.CaptureFixture[str],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    # `hil` stops early (target reached at 1 of 6): its bar must not share a line with the printed result
    s = _Terminal()
    bar = ProgressBar(s, min_interval_s=0.0)
    bar("hil", 1, 6)
    monkeypatch.setattr(cmds, "progress_display", bar)
    cmds._out("HilResult(...)")
    assert s.getvalue().endswith("\n") and re.search(r"hil +17%\|.*\| 1/6", s.getvalue())
    assert capsys.readouterr().out == "HilResult(...)\n"
