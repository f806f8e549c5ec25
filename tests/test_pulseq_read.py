"""Reading .seq files of every version (hand-written fixtures from the spec), round trips, bad files."""

from __future__ import annotations

import hashlib
import logging
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import wavegen
from wavegen.errors import SeqFormatError
from wavegen.sequence import (
    ArbGradient,
    LabelInc,
    LabelSet,
    Rotation,
    Sequence,
    SoftDelay,
    TrapGradient,
    Trigger,
    UnknownExtension,
)

FIX = Path(__file__).parent / "fixtures" / "seq"
ALL = sorted(FIX.glob("*.seq"))


def test_fixtures_present() -> None:
    names = {p.name for p in ALL}
    assert {"fid_v120.seq", "epi_v131.seq", "gre_matlab_v141.seq", "rot_matlab_v151.seq"} <= names


def test_v120_delays_seven_field_blocks_and_forced_decompression() -> None:
    seq = wavegen.pulseq.read(FIX / "fid_v120.seq")
    assert seq.file_version == (1, 2, 0)
    assert seq.rasters_ns == {"grad": 10_000, "rf": 1_000, "adc": 100, "block": 10_000}
    # block durations: RF 1000 us; [DELAYS] 10 ms; trapezoid 2760 us; 5-sample gradient 50 us
    assert seq.block_durations_ns.tolist() == [1_000_000, 10_000_000, 2_760_000, 50_000]
    b0, _, b2, b3 = seq
    assert b0.rf is not None and b0.rf.amplitude_hz == 250.0 and b0.rf.center_us == 500.0
    np.testing.assert_array_equal(b0.rf.magnitude.samples, np.ones(1000))
    assert b2.adc is not None and b2.adc.num_samples == 256 and b2.adc.dwell_ns == 10_000
    assert b2.adc.delay_ns == 100_000
    g = b3.gx
    assert isinstance(g, ArbGradient)
    # before 1.4 a shape with as many numbers as samples is still compressed: cumsum of the tokens
    np.testing.assert_allclose(g.shape.samples, [0.25, 0.75, 1.0, 1.0, 0.5], atol=1e-15)
    # first/last inferred as MATLAB read.m does: the previous trapezoid leaves 0; the edge values follow
    # e[i+1] = 2 w[i] - e[i] from e[0] = 0: 0.5, 1, 1, 1, 0 (x 1e5) -> last = 0 (a ramp down to zero)
    assert g.first_hz_per_m == 0.0
    assert g.last_hz_per_m == pytest.approx(0.0, abs=1e-9)
    assert seq.definitions == {"Name": "fid_v120", "FOV": "0.256 0.256 0.005"}


def test_v131_extensions_in_list_order() -> None:
    seq = wavegen.pulseq.read(FIX / "epi_v131.seq")
    blocks = list(seq)
    assert blocks[0].extensions == (Trigger(1, 1, 0, 100_000),)
    assert blocks[2].extensions == (LabelSet("LIN", 0),)
    assert blocks[3].extensions == (LabelInc("LIN", 1), LabelSet("REV", 1))
    assert blocks[0].rf is not None and blocks[0].rf.delay_ns == 100_000
    assert blocks[0].rf.freq_offset_hz == 120.5 and blocks[0].rf.phase_offset_rad == 1.5
    assert seq.block_durations_ns.tolist() == [650_000, 2_000_000, 680_000, 680_000, 0]
    out = seq.render(1e6, ("trigger", "adc"))
    assert out["trigger"][:100].all() and not out["trigger"][100:].any()
    # ADC of block 3 opens at 2650 us + 20 us for 640 us
    on = np.flatnonzero(out["adc"])
    assert on[0] == 2_670 and on[63 * 10 + 9] == 3_309


def test_v141_matlab_time_shapes_and_continuation() -> None:
    seq = wavegen.pulseq.read(FIX / "gre_matlab_v141.seq")
    b = list(seq)
    assert seq.block_durations_ns.tolist() == [700_000, 500_000, 100_000, 50_000, 1_000_000]
    rf = b[0].rf
    assert rf is not None and rf.time_shape is not None
    assert rf.center_us == 250.0  # block pulse: middle of its two vertices
    # short shapes with len == num_samples are uncompressed from 1.4 on
    assert isinstance(b[0].gz, ArbGradient)
    np.testing.assert_array_equal(b[0].gz.shape.samples, [0, 1, 1, 0])
    np.testing.assert_allclose(b[1].gx.shape.samples, [0.1, 0.3, 0.5, 0.7, 0.9, 1, 1, 1, 1, 0.8], atol=1e-15)
    # the arbitrary gradient of block 4 continues the ramp of block 3 (ends at 40000 Hz/m on the boundary)
    g = b[3].gx
    assert isinstance(g, ArbGradient) and g.first_hz_per_m == 40_000.0
    # MATLAB read.m's edge recurrence from first = 40000 over the samples 1, 0.75, 0.5, 0.25 (x 40000):
    # edges 40000, 20000, 20000, 0 -> last = 0
    np.testing.assert_allclose(g.shape.samples, [1.0, 0.75, 0.5, 0.25])
    assert g.last_hz_per_m == pytest.approx(0.0, abs=1e-9)
    gamma = 42.576e6
    out = seq.render(1e6, ("gx", "gz", "rf"))
    # block pulse: constant 250 Hz from 100 us to 600 us (time-shaped: linear between vertices)
    rf_t = out["rf"]
    assert rf_t[99] == 0 and rf_t[100] == pytest.approx(250 / gamma) and rf_t[599] == pytest.approx(250 / gamma)
    assert rf_t[600] == 0
    # ramp in block 3 (starts 1200 us): linear 0 -> 40000 over 100 us
    gx = out["gx"] * gamma
    assert gx[1250] == pytest.approx(20_000, rel=1e-12)
    assert gx[1300] == pytest.approx(40_000, rel=1e-12)  # first value of block 4's gradient


def test_v151_matlab_rotation_soft_delay_unknown_extension(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        seq = wavegen.pulseq.read(FIX / "rot_matlab_v151.seq")
    assert "extension FOO" in caplog.text and ":81:" in caplog.text
    assert seq.file_version == (1, 5, 1) and seq.unknown_extensions == ("FOO",)
    assert seq.b0_t == pytest.approx(2.89362)
    b = list(seq)
    rot = b[1].rotation
    assert isinstance(rot, Rotation) and rot.qz == pytest.approx(math.sqrt(0.5))
    assert b[1].extensions[1] == LabelSet("LIN", 5)
    assert b[2].extensions == (SoftDelay(0, 0, 1.0, "TE"),)
    assert b[3].extensions == (UnknownExtension("FOO", ("42", "abc")),)
    rf = b[0].rf
    assert rf is not None and rf.use == "e" and rf.center_us == 500.0
    g = b[1].gx
    assert isinstance(g, ArbGradient) and g.oversampled and g.duration_ns(10_000) == 50_000
    assert b[1].adc is not None and b[1].adc.phase_shape is not None
    np.testing.assert_allclose(b[1].adc.phase_shape.samples[:3], [0, 0.01, 0.02])
    # rotation 90 deg about z: physical x = -logical y, physical y = logical x
    gamma = 42.576e6
    out = seq.render(1e6, ("gx", "gy"))
    t_flat = 1200 + 200  # block 2 starts at 1200 us; trapezoid flat from 100 to 300 us
    assert out["gx"][t_flat] * gamma == pytest.approx(-20_000, rel=1e-12)
    assert out["gy"][1200 + 20] * gamma == pytest.approx(50_000, rel=1e-12)  # oversampled plateau
    assert out["gy"][t_flat] == pytest.approx(0.0, abs=1e-18)


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.name)
@pytest.mark.parametrize("version", [None, "1.5.1"])
def test_read_write_read_is_exact(path: Path, version: str | None, tmp_path: Path) -> None:
    s1 = wavegen.pulseq.read(path)
    if version == "1.5.1" or s1.file_version is None or s1.file_version >= (1, 5, 0):
        out = tmp_path / "a.seq"
        wavegen.pulseq.write(s1, out, version=version)
        s2 = wavegen.pulseq.read(out)
        assert s2 == s1
        for b1, b2 in zip(s1, s2, strict=True):
            assert b1 == b2
        # and once more: a written file is a fixed point
        wavegen.pulseq.write(s2, tmp_path / "b.seq", version=version)
        assert (tmp_path / "b.seq").read_bytes() == out.read_bytes()
    r1 = s1.render(1e5)
    r2 = wavegen.pulseq.read(path).render(1e5)
    for k in r1:
        np.testing.assert_array_equal(r1[k], r2[k])


@pytest.mark.parametrize("name", ["epi_v131.seq", "gre_matlab_v141.seq", "spec_compression_v141.seq"])
def test_write_as_141_and_back(name: str, tmp_path: Path) -> None:
    s1 = wavegen.pulseq.read(FIX / name)
    wavegen.pulseq.write(s1, tmp_path / "a.seq", version="1.4.1")
    s2 = wavegen.pulseq.read(tmp_path / "a.seq")
    assert s2.file_version == (1, 4, 1)
    r1, r2 = s1.render(1e6), s2.render(1e6)
    for k in r1:
        np.testing.assert_array_equal(r1[k], r2[k])
    wavegen.pulseq.write(s2, tmp_path / "b.seq", version="1.4.1")
    assert wavegen.pulseq.read(tmp_path / "b.seq") == s2


def test_141_refuses_what_it_cannot_hold(tmp_path: Path) -> None:
    s = wavegen.pulseq.read(FIX / "rot_matlab_v151.seq")
    with pytest.raises(wavegen.errors.RangeError, match="1.5.1"):
        wavegen.pulseq.write(s, tmp_path / "x.seq", version="1.4.1")
    with pytest.raises(wavegen.errors.RangeError, match="writable"):
        wavegen.pulseq.write(s, tmp_path / "x.seq", version="1.3.1")


def test_signature_written_is_md5_of_the_file_before_it(tmp_path: Path) -> None:
    s = wavegen.pulseq.read(FIX / "epi_v131.seq")
    digest = wavegen.pulseq.write(s, tmp_path / "a.seq")
    data = (tmp_path / "a.seq").read_bytes()
    cut = data.rfind(b"\n[SIGNATURE]")
    assert hashlib.md5(data[:cut]).hexdigest() == digest
    assert data.rstrip().endswith(f"Hash {digest}".encode())


# --- malformed files ------------------------------------------------------------------------------


def _mutate(tmp_path: Path, src: str, old: str, new: str, *, count: int = 1) -> Path:
    text = (FIX / src).read_text()
    assert old in text, old
    p = tmp_path / "bad.seq"
    p.write_text(text.replace(old, new, count))
    return p


def _line_of(path: Path, needle: str) -> int:
    for i, line in enumerate(path.read_text().splitlines(), start=1):
        if needle in line:
            return i
    raise AssertionError(needle)


def test_bad_signature(tmp_path: Path) -> None:
    p = _mutate(tmp_path, "gre_matlab_v141.seq", "1 64 5000 100 0 0", "1 64 5000 110 0 0")
    with pytest.raises(SeqFormatError, match=r"bad\.seq:\d+: \[SIGNATURE\] md5 .* matches none"):
        wavegen.pulseq.read(p, signature="strict")
    with pytest.raises(SeqFormatError, match=r"bad\.seq:\d+: \[SIGNATURE\] md5 .* matches none"):
        wavegen.pulseq.read(p, verify_signature=True)
    with pytest.warns(wavegen.pulseq.PulseqWarning, match=r"bad\.seq:\d+: \[SIGNATURE\] .* read anyway"):
        assert len(wavegen.pulseq.read(p)) == 5
    assert len(wavegen.pulseq.read(p, verify_signature=False)) == 5
    assert len(wavegen.pulseq.read(p, signature="ignore")) == 5


def test_wrong_field_count_names_file_line_and_layout(tmp_path: Path) -> None:
    p = _mutate(tmp_path, "epi_v131.seq", "1 500 1 2 100 120.5 1.5", "1 500 1 2 100 120.5")
    ln = _line_of(p, "1 500 1 2 100 120.5")
    with pytest.raises(SeqFormatError, match=rf"bad\.seq:{ln}: \[RF\] line has 6 fields, expected 7 \(id amp"):
        wavegen.pulseq.read(p)


def test_unknown_shape_id(tmp_path: Path) -> None:
    p = _mutate(tmp_path, "spec_compression_v141.seq", "1 10000 1 0 0", "1 10000 7 0 0")
    with pytest.raises(SeqFormatError, match=r"bad\.seq:\d+: gradient 1 refers to shape 7, which \[SHAPES\]"):
        wavegen.pulseq.read(p)


def test_unknown_event_in_block(tmp_path: Path) -> None:
    p = _mutate(tmp_path, "epi_v131.seq", "3 0 0 2 3 0 1 2", "3 0 0 9 3 0 1 2")
    ln = _line_of(p, "3 0 0 9 3 0 1 2")
    with pytest.raises(SeqFormatError, match=rf":{ln}: block 3 refers to gx gradient 9, which is not defined"):
        wavegen.pulseq.read(p)


def test_nan_and_garbage_numbers(tmp_path: Path) -> None:
    p = _mutate(tmp_path, "epi_v131.seq", "2 100000 20 640 20 0", "2 nan 20 640 20 0")
    with pytest.raises(SeqFormatError, match=r"trapezoid amplitude = 'nan' is not finite"):
        wavegen.pulseq.read(p)
    p = _mutate(tmp_path, "epi_v131.seq", "2 100000 20 640 20 0", "2 1e5 2x 640 20 0")
    with pytest.raises(SeqFormatError, match=r"rise = '2x' is not a number"):
        wavegen.pulseq.read(p)


def test_off_raster_timing(tmp_path: Path) -> None:
    p = _mutate(tmp_path, "epi_v131.seq", "2 100000 20 640 20 0", "2 100000 20.0005 640 20 0")
    with pytest.raises(SeqFormatError, match=r"rise = '20.0005' is not a whole number of ns"):
        wavegen.pulseq.read(p)
    text = (
        (FIX / "spec_compression_v141.seq")
        .read_text()
        .replace("GradientRasterTime 1e-05", "GradientRasterTime 1.00005e-05")
    )
    (tmp_path / "r.seq").write_text(text)
    # a raster between nanoseconds is read (tests/test_pulseq_raster.py); here the 15-raster shaped
    # gradient then outlasts its 15 x 10 us block, and that is refused
    with pytest.raises(
        SeqFormatError, match=r"block 1: an event lasts 150\.007\d* us, longer than the block duration 150 us"
    ):
        wavegen.pulseq.read(tmp_path / "r.seq")


def test_event_longer_than_block(tmp_path: Path) -> None:
    p = _mutate(tmp_path, "spec_compression_v141.seq", "1 15 0 1 0 0 0 0", "1 14 0 1 0 0 0 0")
    with pytest.raises(
        SeqFormatError, match=r":\d+: block 1: an event lasts 150 us, longer than the block duration 140"
    ):
        wavegen.pulseq.read(p)


def test_truncated_file(tmp_path: Path) -> None:
    text = (FIX / "rot_matlab_v151.seq").read_text()
    cut = text.index("shape_id 3")
    (tmp_path / "t.seq").write_text(text[: cut + 20])
    with pytest.raises(SeqFormatError, match="t.seq"):
        wavegen.pulseq.read(tmp_path / "t.seq", verify_signature=False)
    (tmp_path / "t2.seq").write_text(text[: text.index("[BLOCKS]")])
    with pytest.raises(SeqFormatError, match=r"t2\.seq: no \[BLOCKS\] section"):
        wavegen.pulseq.read(tmp_path / "t2.seq")


def test_required_unknown_extension_is_an_error(tmp_path: Path) -> None:
    p = _mutate(tmp_path, "rot_matlab_v151.seq", "RequiredExtensions ROTATIONS", "RequiredExtensions ROTATIONS FOO")
    with pytest.raises(SeqFormatError, match="extension FOO is listed in RequiredExtensions"):
        wavegen.pulseq.read(p, verify_signature=False)


def test_missing_version_and_old_version(tmp_path: Path) -> None:
    p = _mutate(tmp_path, "spec_compression_v141.seq", "[VERSION]\nmajor 1\nminor 4\nrevision 1\n", "")
    with pytest.raises(SeqFormatError, match=r"no \[VERSION\] section"):
        wavegen.pulseq.read(p)
    p = _mutate(tmp_path, "spec_compression_v141.seq", "minor 4", "minor 1")
    with pytest.raises(SeqFormatError, match="older than 1.2.0"):
        wavegen.pulseq.read(p)


def test_delays_section_forbidden_from_14(tmp_path: Path) -> None:
    p = _mutate(tmp_path, "spec_compression_v141.seq", "[SHAPES]", "[DELAYS]\n1 100\n\n[SHAPES]")
    with pytest.raises(SeqFormatError, match=r"\[DELAYS\] is not allowed from format 1.4.0"):
        wavegen.pulseq.read(p)


def test_not_a_text_file_and_missing_file(tmp_path: Path) -> None:
    (tmp_path / "b.seq").write_bytes(b"[VERSION]\nmajor 1\n\xff\xfe\n")
    with pytest.raises(SeqFormatError, match=r"b\.seq:3: not a text file"):
        wavegen.pulseq.read(tmp_path / "b.seq")
    with pytest.raises(SeqFormatError, match="cannot read the file"):
        wavegen.pulseq.read(tmp_path / "missing.seq")


# --- fuzzing: any damage gives a Sequence or a SeqFormatError, never a crash or a hang ---------------

_FUZZ_SOURCES = [
    (FIX / n).read_text().splitlines()
    for n in ("epi_v131.seq", "rot_matlab_v151.seq", "gre_matlab_v141.seq", "fid_v120.seq")
]
_TOKENS = [
    "0",
    "1",
    "-1",
    "nan",
    "inf",
    "1e308",
    "0.5",
    "x",
    "",
    "[RF]",
    "[SHAPES]",
    "extension FOO 1",
    "shape_id 1",
    "num_samples 0",
    "99999999999999999999",
    "-0",
    "1 2 3",
]


@settings(max_examples=150, deadline=5000, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    src=st.integers(0, len(_FUZZ_SOURCES) - 1),
    edits=st.lists(
        st.tuples(st.integers(0, 10_000), st.integers(0, 3), st.sampled_from(_TOKENS), st.integers(0, 7)),
        min_size=1,
        max_size=4,
    ),
)
def test_fuzz_no_crash_no_hang(tmp_path: Path, src: int, edits: list[tuple[int, int, str, int]]) -> None:
    lines = list(_FUZZ_SOURCES[src])
    for pos, op, tok, field in edits:
        if not lines:
            break
        i = pos % len(lines)
        if op == 0:
            del lines[i]
        elif op == 1:
            lines.insert(i, tok)
        elif op == 2:
            parts = lines[i].split()
            if parts:
                parts[field % len(parts)] = tok
                lines[i] = " ".join(parts)
        else:
            lines = lines[:i]
    p = tmp_path / "fuzz.seq"
    p.write_text("\n".join(lines) + "\n")
    try:
        seq = wavegen.pulseq.read(p, verify_signature=False)
    except SeqFormatError as e:
        assert "fuzz.seq" in str(e)
        return
    assert isinstance(seq, Sequence)
    try:
        out = seq.render(1e5)
    except (SeqFormatError, wavegen.errors.RangeError):
        return
    assert all(np.all(np.isfinite(v)) for k, v in out.items() if k != "adc")


def test_trap_and_gradient_share_one_id_space(tmp_path: Path) -> None:
    p = _mutate(
        tmp_path,
        "gre_matlab_v141.seq",
        " 3        30000 100  300 100   0",
        " 2        30000 100  300 100   0",
    )
    with pytest.raises(SeqFormatError, match="gradient id 2 is defined twice"):
        wavegen.pulseq.read(p, verify_signature=False)
    assert isinstance(wavegen.pulseq.read(FIX / "gre_matlab_v141.seq")[1].gy, TrapGradient)


def test_crlf_comments_inside_sections_and_no_blank_lines(tmp_path: Path) -> None:
    ref = wavegen.pulseq.read(FIX / "epi_v131.seq")
    text = (FIX / "epi_v131.seq").read_text()
    # Windows line ends
    (tmp_path / "crlf.seq").write_bytes(text.replace("\n", "\r\n").encode())
    assert wavegen.pulseq.read(tmp_path / "crlf.seq") == ref
    # a comment inside a section, and sections not separated by blank lines
    squeezed = "\n".join(line for line in text.splitlines() if line.strip())
    squeezed = squeezed.replace("[TRAP]\n", "[TRAP]\n# a comment between events\n")
    (tmp_path / "sq.seq").write_text(squeezed + "\n")
    assert wavegen.pulseq.read(tmp_path / "sq.seq") == ref
