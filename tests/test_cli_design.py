"""``wavegen design``, ``check`` and ``render``: physics of what they write, exit codes and messages."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest

from wavegen import pulseq
from wavegen.cli import main
from wavegen.limits import GAMMA_1H_HZ_PER_T, SystemLimits
from wavegen.units import parse_quantity

GAMMA = GAMMA_1H_HZ_PER_T


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# --- design -----------------------------------------------------------------------------------------


def test_trapezoid_for_an_area_is_the_shortest_and_keeps_its_area(tmp_path, capsys):
    out = tmp_path / "trap.seq"
    code, text, _ = _run(capsys, "design", "trapezoid", "--area", "1000 /m", "-o", str(out))
    assert code == 0
    assert "860 us" in text  # docs/references/design.md §2: 1000 /m at 40 mT/m, 150 T/m/s -> 860 us on a 10 us raster
    seq = pulseq.read(out)
    wf = seq.to_waveforms()
    area_per_m = np.sum(wf.grad_t_per_m[:, 0]) * wf.grad_raster_s * seq.gamma_hz_per_t
    assert area_per_m == pytest.approx(1000.0, rel=1e-9)
    assert seq.gamma_hz_per_t == pytest.approx(GAMMA)  # the file records the gamma the area was designed with
    assert np.max(np.abs(np.diff(wf.grad_t_per_m[:, 0]))) / wf.grad_raster_s <= 150.0 * (1 + 1e-9)


def test_trapezoid_area_in_tesla_units_and_fixed_duration_to_npz(tmp_path, capsys):
    out = tmp_path / "trap.npz"
    code, text, _ = _run(capsys, "design", "trapezoid", "--area", "10 mT*ms/m", "--duration", "1 ms",
                         "--axis", "gy", "-o", str(out))
    assert code == 0
    data = np.load(out)
    g, dt = data["grad_t_per_m"], float(data["grad_raster_s"])
    assert g.shape == (100, 3) and dt == 10e-6
    assert np.sum(g[:, 1]) * dt == pytest.approx(10e-6, rel=1e-9)  # 10 mT*ms/m on gy, nothing elsewhere
    assert not np.any(g[:, [0, 2]])


def test_sinc_with_slice_flips_and_refocuses(tmp_path, capsys):
    out = tmp_path / "sinc.seq"
    code, text, _ = _run(capsys, "design", "sinc", "--flip", "90 deg", "--duration", "3 ms", "--slice", "5 mm",
                         "-o", str(out))
    assert code == 0 and "slice       5 mm" in text
    seq = pulseq.read(out)
    wf = seq.to_waveforms()
    # flip angle: gamma * integral B1 dt = 90 degrees (the sinc is real and positive in its main lobe)
    flip = 2 * np.pi * GAMMA * abs(np.sum(wf.rf_b1_t) * wf.rf_raster_s)
    assert flip == pytest.approx(math.pi / 2, rel=2e-3)
    # slice select amplitude BW / (gamma * thickness), BW = TBW / duration
    gz = wf.grad_t_per_m[:, 2]
    assert gz.max() == pytest.approx((4 / 3e-3) / (GAMMA * 5e-3), rel=1e-9)
    # the rephaser cancels the area after the pulse centre: net gz area = area before the centre
    t = (np.arange(gz.size) + 0.5) * wf.grad_raster_s
    rf_event = seq.block(0).rf
    assert rf_event is not None and rf_event.delay_ns > 0  # the pulse waits for the ramp
    centre = rf_event.delay_ns * 1e-9 + 1.5e-3
    before = np.sum(gz[t < centre]) * wf.grad_raster_s
    assert np.sum(gz) * wf.grad_raster_s == pytest.approx(before, abs=gz.max() * wf.grad_raster_s)


@pytest.mark.parametrize("kind", ["slr", "gauss", "block", "hs", "wurst"])
def test_every_rf_kind_writes_a_pulse_within_the_b1_limit(tmp_path, capsys, kind):
    out = tmp_path / f"{kind}.seq"
    code, text, _ = _run(capsys, "design", kind, "-o", str(out), "--check")
    assert code == 0, text
    wf = pulseq.read(out).to_waveforms()
    peak = np.max(np.abs(wf.rf_b1_t))
    assert 0 < peak <= 20e-6
    assert "SAFE" in text


def test_gre_covers_k_space_line_by_line(tmp_path, capsys):
    out = tmp_path / "gre.seq"
    code, text, _ = _run(capsys, "design", "gre", "--matrix", "16", "--fov", "200 mm", "--tr", "8 ms",
                         "-o", str(out))
    assert code == 0
    seq = pulseq.read(out)
    assert seq.duration_s == pytest.approx(16 * 8e-3, rel=1e-12)
    adcs = [b for b in seq if b.adc is not None]
    assert len(adcs) == 16 and all(b.adc is not None and b.adc.num_samples == 16 for b in adcs)
    # ky at each readout: phase-encode areas step by 1/FOV from -N/2/FOV
    wf = seq.to_waveforms(include_rf=False)
    ky = np.cumsum(wf.grad_t_per_m[:, 1]) * wf.grad_raster_s * seq.gamma_hz_per_t
    starts = seq.block_starts_ns[[i for i, b in enumerate(seq) if b.adc is not None]]
    ky_lines = ky[(starts // 10_000).astype(int)]
    assert np.allclose(np.diff(ky_lines), 1 / 0.2, rtol=1e-9)
    assert ky_lines[0] == pytest.approx(-8 / 0.2, rel=1e-9)


def test_epi_and_spiral_reach_the_k_space_edge(tmp_path, capsys):
    code, _, _ = _run(capsys, "design", "epi", "--matrix", "16", "-o", str(tmp_path / "epi.seq"))
    assert code == 0
    seq = pulseq.read(tmp_path / "epi.seq")
    assert sum(b.adc is not None for b in seq) == 16
    code, text, _ = _run(capsys, "design", "spiral", "--matrix", "32", "--fov", "256 mm", "-o",
                         str(tmp_path / "sp.seq"), "--check")
    assert code == 0, text
    seq = pulseq.read(tmp_path / "sp.seq")
    wf = seq.to_waveforms(include_rf=False)
    spiral = [i for i, b in enumerate(seq) if b.adc is not None][0]
    t0, t1 = (seq.block_starts_ns[spiral] // 10_000, (seq.block_starts_ns[spiral] + seq.block_durations_ns[spiral])
              // 10_000)
    k = np.cumsum(wf.grad_t_per_m[t0:t1, :2], axis=0) * wf.grad_raster_s * seq.gamma_hz_per_t
    assert np.max(np.hypot(k[:, 0], k[:, 1])) == pytest.approx(32 / 0.256 / 2, rel=2e-3)
    # and the rewinder brings k back to the centre
    assert np.allclose(np.sum(wf.grad_t_per_m[t0:, :2], axis=0) * wf.grad_raster_s, 0, atol=1e-12)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["design", "sinc", "--flip", "90 dgr"], "--flip: unit 'dgr'"),
        (["design", "trapezoid", "--area", "40 mT/m"], "cannot read '40 mT/m' as a gradient area"),
        (["design", "sinc", "--slice", "0.1 mm"], "use a thicker --slice"),
        (["design", "gre", "--tr", "1 ms", "--matrix", "8"], "shorter than the minimum"),
        (["design", "trapezoid", "--area", "1000 /m", "--limits", "max_grad=40 mT/m,max_slw=1"], "no limit 'max_slw'"),
        (["design", "trapezoid", "--area", "1000 /m", "--limits", "max_grad 40 mT/m"], "expected name=value"),
    ],
)
def test_design_input_errors_exit_2_with_the_reason(tmp_path, capsys, argv, message):
    code, out, err = _run(capsys, *argv, "-o", str(tmp_path / "x.seq"))
    assert code == 2
    assert message in err and err.startswith("wavegen: error:")
    assert not (tmp_path / "x.seq").exists()


def test_design_refuses_an_unknown_output_format(tmp_path, capsys):
    code, _, err = _run(capsys, "design", "trapezoid", "--area", "1000 /m", "-o", str(tmp_path / "x.txt"))
    assert code == 2 and "must end in .seq or .npz" in err


def test_design_check_exits_1_when_the_design_is_unsafe(tmp_path, capsys):
    # a full-slew spiral stimulates (SAFE model, example hardware): designed, reported unsafe, NOT written,
    # and an earlier file of that name stays as it was
    earlier = tmp_path / "sp.seq"
    earlier.write_text("the previous design\n")
    code, out, err = _run(capsys, "design", "spiral", "--matrix", "64", "--slew-fraction", "1", "--full-limits",
                          "--check", "-o", str(earlier))
    assert code == 1
    assert "UNSAFE" in out and "pns_safe" in out and "not written" in out
    assert earlier.read_text() == "the previous design\n"


# --- check ------------------------------------------------------------------------------------------


@pytest.fixture
def gre_file(tmp_path, capsys):
    path = tmp_path / "gre.seq"
    assert main(["design", "gre", "--matrix", "16", "-o", str(path)]) == 0
    capsys.readouterr()
    return path


def test_check_passes_a_safe_file(gre_file, capsys, tmp_path):
    code, out, _ = _run(capsys, "check", str(gre_file), "--plot", str(tmp_path / "safety.png"))
    assert code == 0
    assert "wavegen safety report: SAFE" in out and "grad_slew" in out and "pns_safe" in out
    assert (tmp_path / "safety.png").stat().st_size > 1000


def test_check_fails_with_exit_1_and_names_the_violation(gre_file, capsys):
    code, out, err = _run(capsys, "check", str(gre_file), "--limits", "max_grad=20 mT/m")
    assert code == 1
    assert "UNSAFE" in out
    last = out.strip().splitlines()[-1]
    assert last.startswith("UNSAFE: gradient amplitude") and "exceeds the limit 0.02 T/m" in last and "on gz" in last


def test_check_limits_from_a_toml_file_and_the_mode(gre_file, capsys, tmp_path):
    cfg = tmp_path / "limits.toml"
    cfg.write_text('[limits]\nmax_grad = "45 mT/m"\nmax_slew = "200 T/m/s"\n')
    code, out, _ = _run(capsys, "check", str(gre_file), "--limits", str(cfg), "--mode", "first_level")
    assert code == 0 and "mode first_level" in out
    cfg.write_text('[limits\nmax_grad = "45 mT/m"\n')
    code, _, err = _run(capsys, "check", str(gre_file), "--limits", str(cfg))
    assert code == 2 and "is not valid TOML" in err


def test_check_json_for_scripts(gre_file, capsys):
    import json

    code, out, _ = _run(capsys, "check", str(gre_file), "--json", "--limits", "max_grad=20 mT/m")
    assert code == 1
    doc = json.loads(out)
    assert doc["ok"] is False and doc["passed"] is False and doc["mode"] == "normal" and len(doc["digest"]) == 64
    amp = next(r for r in doc["results"] if r["rule"] == "grad_amplitude")
    assert amp["verdict"] == "fail" and amp["limit"] == 0.02 and amp["unit"] == "T/m" and amp["value"] > 0.02
    assert doc["violations"][0].startswith("gradient amplitude")
    code, out, _ = _run(capsys, "check", str(gre_file), "--json")
    assert code == 0 and json.loads(out)["passed"] is True


def test_check_strict_fails_on_unverified_sar(gre_file, capsys):
    code, out, _ = _run(capsys, "check", str(gre_file), "--strict")
    assert code == 1 and "UNVERIFIED (--strict): b1rms_10s" in out


def test_check_phantom_judges_only_hardware_rules(tmp_path, capsys):
    path = tmp_path / "sp.seq"
    assert main(["design", "spiral", "--matrix", "64", "--slew-fraction", "1", "--full-limits", "-o", str(path)]) == 0
    assert _run(capsys, "check", str(path))[0] == 1
    code, out, _ = _run(capsys, "check", str(path), "--phantom")
    assert code == 0 and "INFO       pns_safe" in out


@pytest.mark.parametrize(
    "content, message",
    [(None, "no such file"), ("garbage\n", "outside any section"), ("[VERSION]\nmajor 9\n", "")],
)
def test_check_bad_input_exits_2(tmp_path, capsys, content, message):
    path = tmp_path / "in.seq"
    if content is not None:
        path.write_text(content)
    code, out, err = _run(capsys, "check", str(path))
    assert code == 2
    assert err.startswith("wavegen: error:") and message in err and "Traceback" not in err


def test_check_a_directory_is_an_input_error(tmp_path, capsys):
    code, _, err = _run(capsys, "check", str(tmp_path))
    assert code == 2 and "Is a directory" in err


# --- render -----------------------------------------------------------------------------------------


def test_render_writes_every_channel_and_keeps_the_area(gre_file, capsys, tmp_path):
    out = tmp_path / "r.npz"
    code, text, err = _run(capsys, "render", str(gre_file), "--rate", "1MHz", "-o", str(out), "--chunk", "7777")
    assert code == 0 and "at 1 MHz" in text
    data = np.load(out)
    seq = pulseq.read(gre_file)
    assert float(data["rate_hz"]) == 1e6
    n = round(seq.duration_s * 1e6)
    assert data["gx_t_per_m"].shape == (n,) and data["rf_t"].dtype == np.complex128 and data["adc"].dtype == bool
    # chunked rendering is bit-identical to one piece
    whole = seq.render(1_000_000, ("gx", "gy", "gz", "rf", "adc"))
    for k, key in (("gx", "gx_t_per_m"), ("gz", "gz_t_per_m"), ("rf", "rf_t"), ("adc", "adc")):
        assert np.array_equal(data[key], whole[k])
    wf = seq.to_waveforms(include_rf=False)
    assert np.sum(data["gz_t_per_m"]) * 1e-6 == pytest.approx(np.sum(wf.grad_t_per_m[:, 2]) * 10e-6, abs=1e-12)
    assert err == ""  # stderr is not a terminal here: no progress bar unless asked


def test_render_progress_bar_on_request(gre_file, capsys, tmp_path):
    code, _, err = _run(capsys, "render", str(gre_file), "--rate", "2 MHz", "--channels", "gx",
                        "-o", str(tmp_path / "r.npz"), "--chunk", "50000", "--progress")
    assert code == 0
    assert "wavegen: render: 100%" in err and "\r" not in err and err.endswith("\n")  # plain lines off a terminal
    assert list(np.load(tmp_path / "r.npz").keys()) == ["rate_hz", "gx_t_per_m"]


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--rate", "1MHx"], "--rate: unit 'MHx'"),
        (["--rate", "-1 MHz"], "must be > 0 Hz"),
        (["--rate", "1MHz", "--channels", "gx,gw"], "unknown channel(s) gw"),
    ],
)
def test_render_input_errors(gre_file, capsys, tmp_path, extra, message):
    code, _, err = _run(capsys, "render", str(gre_file), *extra, "-o", str(tmp_path / "r.npz"))
    assert code == 2 and message in err


def test_render_needs_rate_and_output(gre_file, capsys):
    code, _, err = _run(capsys, "render", str(gre_file))
    assert code == 2 and "the following arguments are required: --rate, -o/--out" in err


# --- the pieces -------------------------------------------------------------------------------------


def test_gradient_area_units():
    assert parse_quantity("1000 /m", "1/m") == 1000.0
    assert parse_quantity("2.5 1/cm", "1/m") == 250.0
    assert parse_quantity("10 mT*ms/m", "T*s/m") == pytest.approx(1e-5, rel=1e-15)
    assert parse_quantity("10 mT*s/m", "T*s/m") == pytest.approx(1e-2, rel=1e-15)
    with pytest.raises(ValueError, match="not a unit of T\\*s/m"):
        parse_quantity("10 mT/m", "T*s/m")


def test_limits_spec_reaches_the_design(tmp_path, capsys):
    code, text, _ = _run(capsys, "design", "trapezoid", "--area", "1000 /m", "--limits",
                         "max_grad=80 mT/m,max_slew=200 T/m/s", "-o", str(tmp_path / "t.seq"))
    assert code == 0
    lim = SystemLimits.from_units(max_grad="80 mT/m", max_slew="200 T/m/s")
    seq = pulseq.read(tmp_path / "t.seq")
    g = seq.to_waveforms().grad_t_per_m[:, 0]
    # shortest trapezoid: 2*sqrt(A/S) (triangle) when A <= G^2/S; here A = 1000/gamma T*s/m
    area = 1000 / GAMMA
    assert area <= lim.max_grad_t_per_m**2 / lim.max_slew_t_per_m_per_s
    shortest = 2 * math.sqrt(area / 200)
    assert shortest <= g.size * 10e-6 <= shortest + 2 * 10e-6 + 1e-12
    assert np.max(np.abs(np.diff(g))) / 10e-6 <= 200 * (1 + 1e-9)


def test_check_on_a_bench_and_with_a_sar_calibration(tmp_path, capsys, gre_file):
    bench_toml = Path(__file__).resolve().parents[1] / "examples" / "bench.toml"
    # --strict could never pass with RF: the bench file brings its amplifier ratings, limits and mode
    code, out, _ = _run(capsys, "check", str(gre_file), "--strict")
    assert code == 1 and "UNVERIFIED (--strict)" in out and "rf_amplifier" in out
    code, out, _ = _run(capsys, "check", str(gre_file), "--config", str(bench_toml), "--strict")
    assert code == 0, out
    sar = tmp_path / "sar.toml"
    sar.write_text('[sar]\nregion = "whole_body"\nw_per_kg_per_ut2 = 0.1\npatient_mass_kg = 75\n')
    code, out, _ = _run(capsys, "check", str(gre_file), "--sar-calibration", str(sar))
    assert code == 0 and "sar_whole_body_6min: calibrated" in out and "b1rms_6min" not in out
    sar.write_text("[sar]\nw_per_kg = 0.1\n")
    code, _, err = _run(capsys, "check", str(gre_file), "--sar-calibration", str(sar))
    assert code == 2 and "unknown key(s) w_per_kg" in err
    code, _, err = _run(capsys, "check", str(gre_file), "--config", str(bench_toml), "--limits", "max_grad=30 mT/m")
    assert code == 2 and "--config and --limits go apart" in err


@pytest.mark.parametrize("matrix", [8, 16, 24])
def test_design_gre_keeps_the_tr_it_prints(tmp_path, capsys, matrix):
    path = tmp_path / "g.seq"
    code, out, _ = _run(capsys, "design", "gre", "--matrix", str(matrix), "-o", str(path))
    assert code == 0
    tr_ms = float(re.search(r"TR +([0-9.]+) ms \(minimum ([0-9.]+) ms\)", out).group(1))
    seq = pulseq.read(path)
    starts = seq.block_starts_ns[seq.block_table()[1] > 0]
    assert np.all(np.diff(starts) == np.diff(starts)[0])  # every RF-to-RF interval the same
    assert np.diff(starts)[0] * 1e-6 == pytest.approx(tr_ms, abs=5e-4)
