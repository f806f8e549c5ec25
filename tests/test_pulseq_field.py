"""Pulseq files as the field writes them (issue 17 items 1-4): signature variants, rasters, time shapes
that restart, two [VERSION] sections, and the pre-1.5 first/last inference of MATLAB's read.m.

Fixtures (tests/fixtures/seq):

- ``pypulseq_v150.seq``: written by pypulseq 1.5.0 (``Sequence.write``), unchanged: a sinc pulse with its
  slice trapezoid, and a gradient ramp split over two blocks as two arbitrary gradients (first/last
  0 -> 200,000 and 200,000 -> 0 Hz/m, which pypulseq stores explicitly in format 1.5), a 64-sample ADC.
  pypulseq hashes the bytes before the newline that precedes ``[SIGNATURE]``, LF line ends.
- ``first_last_matlab_v141.seq``: hand-written in the layout of MATLAB Pulseq's ``write.m`` 1.4.1 (the
  same signature rule), with the cases where MATLAB's ``read.m`` inference is easy to get wrong.
- ``gre_matlab_v141.seq``: MATLAB layout 1.4.1 (time-shaped RF, extended trapezoids).

The other writer variants are made from these in the tests: a 1.4.x copy of the pypulseq file in the
layout pypulseq 1.4.x wrote (8-field RF, 5-field GRADIENTS, 6-field ADC, no first/last), CRLF copies
(a file converted on Windows after it was signed), a JEMRIS-style signature (JEMRIS hashes the file up
to ``[SIGNATURE]`` including the newline before it), and edited files.
"""

from __future__ import annotations

import hashlib
import warnings
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

import wavegen
from wavegen.errors import SeqFormatError
from wavegen.pulseq import PulseqWarning
from wavegen.sequence import ArbGradient

FIX = Path(__file__).parent / "fixtures" / "seq"
PYPULSEQ = FIX / "pypulseq_v150.seq"
SIG_NOTE = (
    "# This is the hash of the Pulseq file, calculated right before the [SIGNATURE] section was added\n"
)


def _silent_read(p: Path, **kw: object) -> wavegen.sequence.Sequence:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any PulseqWarning fails the test
        return wavegen.pulseq.read(p, **kw)  # type: ignore[arg-type]


def _unsigned(p: Path) -> bytes:
    data = p.read_bytes()
    return data[: data.rfind(b"\n[SIGNATURE]")]


def _sign(body: bytes, hashed: bytes, nl: bytes = b"\n") -> bytes:
    h = hashlib.md5(hashed).hexdigest()
    note = SIG_NOTE.encode().replace(b"\n", nl)
    return body + nl + b"[SIGNATURE]" + nl + note + b"Type md5" + nl + f"Hash {h}".encode() + nl


# --- 1. signature policy ----------------------------------------------------------------------------


def test_pypulseq_file_reads_without_warning() -> None:
    seq = _silent_read(PYPULSEQ, signature="strict")
    assert seq.file_version == (1, 5, 0) and len(seq) == 4


def test_crlf_after_signing_is_accepted(tmp_path: Path) -> None:
    p = tmp_path / "crlf.seq"
    p.write_bytes(PYPULSEQ.read_bytes().replace(b"\n", b"\r\n"))
    a = _silent_read(p, signature="strict")
    assert a == _silent_read(PYPULSEQ)


def test_signed_with_crlf_line_ends_is_accepted(tmp_path: Path) -> None:
    body = _unsigned(PYPULSEQ).replace(b"\n", b"\r\n")
    p = tmp_path / "win.seq"
    p.write_bytes(_sign(body, body, b"\r\n"))
    _silent_read(p, signature="strict")


def test_crlf_signed_then_converted_to_lf_is_accepted(tmp_path: Path) -> None:
    body = _unsigned(PYPULSEQ)
    p = tmp_path / "lf.seq"
    p.write_bytes(_sign(body, body.replace(b"\n", b"\r\n")))
    _silent_read(p, signature="strict")


def test_jemris_hash_including_the_newline_before_signature(tmp_path: Path) -> None:
    body = _unsigned(PYPULSEQ)
    p = tmp_path / "jemris.seq"
    p.write_bytes(_sign(body, body + b"\n"))
    _silent_read(p, signature="strict")
    q = tmp_path / "jemris_crlf.seq"
    q.write_bytes(p.read_bytes().replace(b"\n", b"\r\n"))
    _silent_read(q, signature="strict")


def test_signature_without_a_blank_line_before_it(tmp_path: Path) -> None:
    # a writer that appends "[SIGNATURE]" right after the last line, hashing everything before it
    body = _unsigned(PYPULSEQ) + b"\n"
    h = hashlib.md5(body).hexdigest()
    p = tmp_path / "tight.seq"
    p.write_bytes(body + f"[SIGNATURE]\nType md5\nHash {h}\n".encode())
    _silent_read(p, signature="strict")


def test_edited_after_writing_warns_by_default_and_strict_refuses(tmp_path: Path) -> None:
    text = PYPULSEQ.read_text()
    p = tmp_path / "edited.seq"
    p.write_text(text.replace("1 64 10000 10 0 0 0 0 0", "1 64 10000 20 0 0 0 0 0"))
    sig_line = p.read_text().splitlines().index("[SIGNATURE]") + 1
    with pytest.warns(PulseqWarning, match=rf"edited\.seq:{sig_line}: \[SIGNATURE\] md5 .* edited or truncated"):
        seq = wavegen.pulseq.read(p)
    assert seq.block(2).adc is not None and seq.block(2).adc.delay_ns == 20_000
    with pytest.raises(SeqFormatError, match=rf"edited\.seq:{sig_line}: \[SIGNATURE\] md5 .* matches none"):
        wavegen.pulseq.read(p, signature="strict")
    _silent_read(p, signature="ignore")


def test_unverifiable_signature_type_warns(tmp_path: Path) -> None:
    p = tmp_path / "sha.seq"
    p.write_text(PYPULSEQ.read_text().replace("Type md5", "Type sha256"))
    with pytest.warns(PulseqWarning, match="Type 'sha256' cannot be verified"):
        wavegen.pulseq.read(p)
    with pytest.raises(SeqFormatError, match="sha256"):
        wavegen.pulseq.read(p, signature="strict")


def test_bad_signature_policy_name() -> None:
    with pytest.raises(SeqFormatError, match="signature = 'loose' must be one of warn, strict, ignore"):
        wavegen.pulseq.read(PYPULSEQ, signature="loose")


# --- 2. rasters ---------------------------------------------------------------------------------------


def _strip_signature(text: str) -> str:
    return text[: text.index("\n[SIGNATURE]")] + "\n"


def test_adc_raster_of_a_tenth_ns_is_kept_exactly(tmp_path: Path) -> None:
    # the official pTx demo writes AdcRasterTime 1e-10 with whole-ns dwells (12,500 ns there, 5,000 here)
    text = _strip_signature((FIX / "gre_matlab_v141.seq").read_text())
    text = text.replace("AdcRasterTime 1e-07", "AdcRasterTime 1e-10")
    p = tmp_path / "ptx.seq"
    p.write_text(text)
    seq = _silent_read(p)
    assert seq.adc_raster_ns == Fraction(1, 10)
    adc = seq.block(1).adc
    assert adc is not None and adc.dwell_ns == 5000
    out = tmp_path / "again.seq"
    wavegen.pulseq.write(seq, out, "1.4.1")
    assert "AdcRasterTime 1e-10\n" in out.read_text()
    again = _silent_read(out)
    assert again == seq and again.adc_raster_ns == Fraction(1, 10)


def test_raster_written_with_float_noise_is_whole_ns(tmp_path: Path) -> None:
    text = _strip_signature((FIX / "gre_matlab_v141.seq").read_text()).replace(
        "RadiofrequencyRasterTime 1e-06", "RadiofrequencyRasterTime 9.9999999999999995e-07"
    )
    p = tmp_path / "noise.seq"
    p.write_text(text)
    assert _silent_read(p).rf_raster_ns == 1000


# a gradient raster between nanoseconds (a tabletop console's 10001.6276 ns) is read exactly:
# tests/test_pulseq_raster.py


# --- 3. robust decoding -------------------------------------------------------------------------------

RF_RESTART = """[VERSION]
major 1
minor 4
revision 1

[DEFINITIONS]
AdcRasterTime 1e-07
BlockDurationRaster 1e-05
GradientRasterTime 1e-05
RadiofrequencyRasterTime 1e-06

[BLOCKS]
1 10 1 0 0 0 0 0

[RF]
1 250 1 0 2 0 0 0

[SHAPES]

shape_id 1
num_samples 5
1
1
1
1
1

shape_id 2
num_samples 5
0
10
20
10
20
"""


def test_rf_time_shape_that_restarts_is_a_format_error(tmp_path: Path) -> None:
    p = tmp_path / "restart.seq"
    p.write_text(RF_RESTART)
    ln = RF_RESTART.splitlines().index("1 250 1 0 2 0 0 0") + 1
    with pytest.raises(
        SeqFormatError, match=rf"restart\.seq:{ln}: RF 1: time shape 2 goes back in time at sample 3 \(20.0 -> 10.0"
    ):
        wavegen.pulseq.read(p)
    ok = tmp_path / "ok.seq"
    ok.write_text(RF_RESTART.replace("0\n10\n20\n10\n20\n", "0\n10\n20\n30\n40\n").replace("1 10 1", "1 10 1"))
    seq = _silent_read(ok)
    assert seq.block(0).rf is not None and seq.block(0).rf.duration_ns(1000) == 40_000


def test_rf_time_shape_starting_before_zero(tmp_path: Path) -> None:
    p = tmp_path / "neg.seq"
    p.write_text(RF_RESTART.replace("0\n10\n20\n10\n20\n", "-1\n10\n20\n30\n40\n"))
    with pytest.raises(SeqFormatError, match=r"neg\.seq:\d+: RF 1: time shape 2 starts at -1.0 rasters"):
        wavegen.pulseq.read(p)


def test_two_version_sections_take_the_last_with_a_warning(tmp_path: Path) -> None:
    text = _strip_signature((FIX / "gre_matlab_v141.seq").read_text())
    # an older header left in front of the real one (as when a file is assembled from two writers)
    p = tmp_path / "twice.seq"
    p.write_text("[VERSION]\nmajor 1\nminor 3\nrevision 1\n\n" + text)
    with pytest.warns(PulseqWarning, match=r"twice\.seq:\d+: a second \[VERSION\] section \(first at line 1\)"):
        seq = wavegen.pulseq.read(p)
    assert seq.file_version == (1, 4, 1)
    assert seq == _silent_read(FIX / "gre_matlab_v141.seq")


# --- 4. first/last before format 1.5: MATLAB read.m ---------------------------------------------------


def _matlab_last(first: float, w: np.ndarray) -> float:
    """Edge values from the raster-centre samples: e[i+1] = 2 w[i] - e[i] (read.m), written as a loop."""
    e = first
    for x in w:
        e = 2.0 * x - e
    return e


def test_first_last_of_the_matlab_fixture() -> None:
    seq = _silent_read(FIX / "first_last_matlab_v141.seq", signature="strict")
    got = {i: (g.first_hz_per_m, g.last_hz_per_m) for i, g in seq._grad.by_id.items()}
    # block 1: g1 from 0 over 500, 1000 -> edges 1000, 1000
    # block 2: g2 continues at 1000 over 1000, 500 -> edges 1000, 0
    # block 3: g1 again (values kept); the x axis keeps the 0 block 2 left, not g1's 1000
    # block 4: g4 (2000 x [1, 0.5]) from 0 -> edges 4000, -2000
    # block 5: g3 has a 10 us delay -> first 0; edges 1000, 1000; it ends with its block
    # block 6: g5 from 1000 over 500, 1000 -> edges 0, 2000
    assert got == {1: (0.0, 1000.0), 2: (1000.0, 0.0), 4: (0.0, -2000.0), 3: (0.0, 1000.0), 5: (1000.0, 2000.0)}
    for g in seq._grad.by_id.values():
        assert isinstance(g, ArbGradient)
        assert g.last_hz_per_m == _matlab_last(g.first_hz_per_m, g.waveform_hz_per_m)


def _as_pypulseq_14(text: str) -> str:
    """The pypulseq 1.5.0 file in the layout pypulseq 1.4.x wrote: no RF centre/ppm/use, no first/last,
    6-field ADC, version 1.4.1, no signature."""
    out: list[str] = []
    section = ""
    for line in _strip_signature(text).splitlines():
        s = line.strip()
        if s.startswith("["):
            section = s
        tok = s.split()
        if section == "[VERSION]" and tok[:1] == ["minor"]:
            line = "minor 4"
        elif section == "[VERSION]" and tok[:1] == ["revision"]:
            line = "revision 1"
        elif section == "[RF]" and len(tok) == 12:
            line = " ".join([*tok[:5], tok[6], tok[9], tok[10]])
        elif section == "[GRADIENTS]" and len(tok) == 7:
            line = " ".join([tok[0], tok[1], *tok[4:]])
        elif section == "[ADC]" and len(tok) == 9:
            line = " ".join([*tok[:4], tok[6], tok[7]])
        out.append(line)
    return "\n".join(out) + "\n"


def test_pypulseq_14_layout_infers_what_pypulseq_15_stored(tmp_path: Path) -> None:
    p = tmp_path / "pp14.seq"
    p.write_text(_as_pypulseq_14(PYPULSEQ.read_text()))
    old = _silent_read(p)
    new = _silent_read(PYPULSEQ)
    assert old.file_version == (1, 4, 1)
    for b in (1, 2):
        g_old, g_new = old.block(b).gx, new.block(b).gx
        assert isinstance(g_old, ArbGradient) and isinstance(g_new, ArbGradient)
        np.testing.assert_array_equal(g_old.shape.samples, g_new.shape.samples)
        # the ramp 0 -> 200,000 -> 0 Hz/m: inferred within the shape's float precision of the stored values
        assert g_old.first_hz_per_m == pytest.approx(g_new.first_hz_per_m, abs=1e-6 * 200_000)
        assert g_old.last_hz_per_m == pytest.approx(g_new.last_hz_per_m, abs=1e-6 * 200_000)
        assert g_old.last_hz_per_m == _matlab_last(g_old.first_hz_per_m, g_old.waveform_hz_per_m)
    assert (new.block(1).gx.first_hz_per_m, new.block(1).gx.last_hz_per_m) == (0.0, 200_000.0)  # type: ignore[union-attr]
    gamma = 42.576e6
    a = old.render(1e5, ("gx",))["gx"] * gamma
    b = new.render(1e5, ("gx",))["gx"] * gamma
    np.testing.assert_allclose(a, b, atol=1e-6 * 200_000)


def test_one_four_files_from_both_writers_round_trip_through_15(tmp_path: Path) -> None:
    for src in (FIX / "first_last_matlab_v141.seq", FIX / "gre_matlab_v141.seq"):
        seq = _silent_read(src)
        out = tmp_path / src.name
        wavegen.pulseq.write(seq, out, "1.5.0")
        again = _silent_read(out)
        for k, g in seq._grad.by_id.items():
            if isinstance(g, ArbGradient):
                h = [x for x in again._grad.by_id.values() if isinstance(x, ArbGradient) and x.shape == g.shape
                     and x.delay_ns == g.delay_ns and x.amplitude_hz_per_m == g.amplitude_hz_per_m]
                assert any((x.first_hz_per_m, x.last_hz_per_m) == (g.first_hz_per_m, g.last_hz_per_m) for x in h), k


# --- the sample budget does not refuse what the field writes ------------------------------------------


def _cest_like(n_offsets: int) -> str:
    """A CEST file in the layout of MATLAB Pulseq 1.3.1 as the pulseq-cest library writes it: per offset a
    delay block, a 2 s block pulse (2,000,030 samples at 1 us, one shared shape), spoilers, a 1-sample ADC."""
    blocks, rf = [], []
    for i in range(n_offsets):
        b = 4 * i
        blocks += [f"{b + 1} 1 0 0 0 0 0 0", f"{b + 2} 0 {i + 1} 0 0 0 0 0", f"{b + 3} 0 0 1 1 1 0 0",
                   f"{b + 4} 0 0 0 0 0 1 0"]
        rf.append(f"{i + 1} 85.1528 1 2 100 {-510.917 + 31.9323 * i:.6g} 0")
    return (
        "# Pulseq sequence file\n# Created by MATLAB mr toolbox\n\n[VERSION]\nmajor 1\nminor 3\nrevision 1\n\n"
        "[DEFINITIONS]\nB0 3\n\n[BLOCKS]\n" + "\n".join(blocks) + "\n\n[RF]\n" + "\n".join(rf) + "\n\n"
        "[TRAP]\n 1 1.36244e+06 1000 4500 1000 0\n\n[ADC]\n1 1 1000000 0 0 0\n\n[DELAYS]\n1 3500000\n\n"
        "[SHAPES]\n\nshape_id 1\nnum_samples 2000030\n1\n0\n0\n1999997\n-1\n0\n0\n27\n\n"
        "shape_id 2\nnum_samples 2000030\n0\n0\n2000028\n\n"
    )


def test_cest_file_with_34_two_second_pulses_reads_within_the_budget(tmp_path: Path) -> None:
    p = tmp_path / "cest.seq"
    p.write_text(_cest_like(34))
    seq = _silent_read(p)
    assert len(seq) == 136
    rf = seq.block(1).rf
    assert rf is not None and len(rf.magnitude) == 2_000_030
    assert rf.magnitude.samples[0] == 1.0 and rf.magnitude.samples[-1] == 0.0
    assert seq.block_durations_ns[1] == 100_000 + 2_000_030_000
