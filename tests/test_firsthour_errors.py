"""Issue 15, item 6: every command-line error names the option the user typed, in human units; ``-o``
reports the file actually written; a DAQ channel that does not exist is a ConfigError before any
instrument is touched."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from wavegen.bench.config import load_toml, parse_config
from wavegen.cli import main
from wavegen.cli.options import human, in_user_words
from wavegen.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]

#: a library parameter name with its SI suffix (duration_s, max_grad_t_per_m, flip_angle_rad, ...)
_SI_NAME = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)*_(?:s|m|t|hz|rad|t_per_m|t_per_m_per_s|per_m|product)\b")
#: an SI number a user has to convert (0.00086 s, 0.04 T/m, 3.49 rad, 2.3e-05 T*s/m)
_RAW_SI = re.compile(r"(?<![\w.])(?:0\.00\d*|\d(?:\.\d+)?e-\d+) (?:s|T|m)\b"
                     r"|(?<![\w.])[-\d.e+]+ (?:T/m|rad|T\*s/m)(?![\w/])")


def _run(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(("argv", "said"), [
    (["sinc", "--duration", "10 s"], "--duration 10 s is"),
    (["sinc", "--flip", "0 deg"], "--flip 0 deg must be > 0 deg"),
    (["sinc", "--tbw", "0"], "--tbw 0 must be > 0"),
    (["slr", "--flip", "200 deg"], "--flip 200 deg must be <= 180 deg"),
    (["hs", "--bandwidth", "0 Hz"], "--bandwidth 0 Hz must be > 0 Hz"),
    (["gauss", "--tbw", "1000"], "Gaussian pulse (--duration 3 ms, --tbw 1000) needs a peak B1 of 1794 uT"),
    (["slr", "--duration", "0.1 ms"], "lengthen the pulse (--duration), lower the flip angle (--flip)"),
    (["sinc", "--slice", "0.01 mm"], "use a thicker --slice or a longer (narrower-band) pulse (--duration)"),
    (["gre", "--fov", "1 mm"], "gradient amplitude 1174 mT/m exceeds --limits max_grad=40 mT/m"),
    (["gre", "--fov", "1 mm"], "a larger --fov or a longer --dwell"),
    (["gre", "--matrix", "0"], "--matrix 0 must be"),
    (["gre", "--tr", "1 ms"], "--tr 1 ms is shorter than the minimum"),
    (["epi", "--dwell", "1 ns"], "--limits max_grad=40 mT/m"),
    (["spiral", "--turns", "0"], "--turns 0 must be > 0"),
    (["spiral", "--slew-fraction", "2"], "--slew-fraction 2 must be in (0, 1]"),
    (["trapezoid", "--area", "1000 /m", "--duration", "10 us"],
     "no trapezoid of --duration 10 us reaches area 23.49 mT*ms/m within --limits max_grad=40 mT/m and "
     "--limits max_slew=150 T/m/s; the shortest that does lasts 860 us"),
    (["gre", "--limits", "max_grad=0 mT/m"], "--limits max_grad=0 mT/m must be > 0 mT/m"),
    (["gre", "--limits", "max_grd=40 mT/m"], "--limits: no limit 'max_grd'; known: adc_dead_time,"),
])
def test_a_design_error_names_the_option_in_human_units(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                        argv: list[str], said: str) -> None:
    code, _, err = _run(capsys, "design", *argv, "-o", tmp_path / "x.seq")
    assert code == 2, err
    assert said in err
    assert not _SI_NAME.search(err), err  # no duration_s, max_grad_t_per_m, time_bw_product
    assert not _RAW_SI.search(err), err  # no 0.00086 s, 0.04 T/m, 3.49 rad
    assert not (tmp_path / "x.seq").exists()


def test_bench_command_errors_name_their_options(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    seq = tmp_path / "t.seq"
    assert main(["-q", "design", "trapezoid", "--area", "1000 /m", "-o", str(seq)]) == 0
    capsys.readouterr()
    code, _, err = _run(capsys, "play", seq, "--blocks", "3..9")
    assert code == 2 and err.startswith("wavegen: error: --blocks 3..9:")
    code, _, err = _run(capsys, "play", seq, "--window", "100 ms..200 ms")
    assert code == 2 and err.startswith("wavegen: error: --window 100 ms..200 ms")


def test_an_unsafe_play_is_refused_in_human_units(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    seq = tmp_path / "strong.seq"
    assert main(["-q", "design", "trapezoid", "--area", "1500 /m", "--limits", "max_grad=45 mT/m", "-o",
                 str(seq)]) == 0
    capsys.readouterr()
    code, _, err = _run(capsys, "play", seq)
    assert code == 1
    assert re.search(r"UNSAFE: .*44\.\d+ mT/m exceeds the limit 40 mT/m on gx at t = 300 us", err)


def test_the_translation_keeps_what_is_already_human() -> None:
    assert in_user_words("a 5 mm slice needs 31.3 mT/m at 10 V") == "a 5 mm slice needs 31.3 mT/m at 10 V"
    assert in_user_words("duration_s = 0.003 s") == "duration 3 ms"  # no option known: named in words
    assert human(0.00086, "s") == "860 us" and human(3.865e-6, "T") == "3.865 uT"
    assert human(np.pi / 2, "rad") == "90 deg" and human(2e6, "Hz") == "2 MHz" and human(0.256, "m") == "256 mm"


# --- -o: the file actually written -----------------------------------------------------------------


def test_an_output_without_a_suffix_gets_one_and_the_report_names_it(capsys: pytest.CaptureFixture[str],
                                                                     tmp_path: Path) -> None:
    code, out, _ = _run(capsys, "design", "trapezoid", "--area", "1000 /m", "-o", tmp_path / "trap")
    assert code == 0 and f"wrote       {tmp_path / 'trap.seq'} (Pulseq .seq)" in out
    assert (tmp_path / "trap.seq").is_file() and not (tmp_path / "trap").exists()
    code, out, _ = _run(capsys, "render", tmp_path / "trap.seq", "--rate", "1 MHz", "-o", tmp_path / "r")
    assert code == 0 and f"-> {tmp_path / 'r.npz'}" in out and (tmp_path / "r.npz").is_file()
    code, out, _ = _run(capsys, "check", tmp_path / "trap.seq", "--plot", tmp_path / "p")
    assert code == 0 and f"plot: {tmp_path / 'p.png'}" in out and (tmp_path / "p.png").stat().st_size > 1000


def test_measure_output_is_npz_written_where_it_says(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    seq = tmp_path / "trap.seq"
    assert main(["-q", "design", "trapezoid", "--area", "1000 /m", "-o", str(seq)]) == 0
    capsys.readouterr()
    code, _, err = _run(capsys, "measure", seq, "-o", tmp_path / "m.txt")
    assert code == 2 and "-o/--out" in err and "must end in .npz" in err  # refused before playing
    code, out, _ = _run(capsys, "measure", seq, "-o", tmp_path / "m")
    assert code == 0 and f"captured waveforms: {tmp_path / 'm.npz'}" in out
    assert "captured_gx" in np.load(tmp_path / "m.npz")


# --- a DAQ channel that does not exist ---------------------------------------------------------------


def _with_gz_on(tmp_path: Path, channel: int, **replace: str) -> Path:
    text = (ROOT / "examples" / "bench.toml").read_text()
    start = text.index("[channels.gz]")
    text = text[:start] + text[start:].replace("channel = 2", f"channel = {channel}", 1)
    for old, new in replace.items():
        text = text.replace(old, new)
    path = tmp_path / "bench.toml"
    path.write_text(text)
    return path


def test_a_missing_daq_channel_is_a_config_error_before_any_instrument(capsys: pytest.CaptureFixture[str],
                                                                       tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from wavegen.bench import Bench

    touched: list[str] = []
    monkeypatch.setattr(Bench, "open", lambda self: touched.append("open") or self)
    config = _with_gz_on(tmp_path, 9)
    with pytest.raises(ConfigError, match=r"daq \(PXIe-6368\): channel ao9 does not exist \(the board has ao0..ao3\)"):
        parse_config(load_toml(config))
    seq = tmp_path / "t.seq"
    assert main(["-q", "design", "trapezoid", "--area", "1000 /m", "-o", str(seq)]) == 0
    capsys.readouterr()
    code, _, err = _run(capsys, "play", seq, "--config", config)
    assert code == 2 and f"error: --config {config}: daq (PXIe-6368): channel ao9 does not exist" in err
    assert touched == []  # refused while reading the file


def test_a_missing_channel_on_a_real_board_of_known_model_is_refused_without_nidaqmx(tmp_path: Path) -> None:
    shutil.copy(ROOT / "examples" / "bench_real.toml", tmp_path / "real.toml")
    text = (tmp_path / "real.toml").read_text()
    start = text.index("[channels.adc]") if "[channels.adc]" in text else text.index("instrument = \"daq\"")
    end = text.index("channel = ", start)
    line_end = text.index("\n", end)
    text = text[:end] + "channel = 31" + text[line_end:]
    (tmp_path / "real.toml").write_text(text)
    with pytest.raises(ConfigError, match=r"daq \(PCIe-6363\): channel \w+31 does not exist"):
        parse_config(load_toml(tmp_path / "real.toml"))
