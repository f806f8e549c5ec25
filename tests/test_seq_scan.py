"""The streaming .seq reader: one pass in chunks, [BLOCKS] parsed straight into the table.

It must read every file exactly as the whole-file reader does (same sequence, same error, same line),
whatever the chunk size, line ends and comments, and hold memory of the table, not of copies of the file.
"""

from __future__ import annotations

import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import wavegen
from wavegen import _backend
from wavegen.errors import SeqFormatError
from wavegen.sequence import seq_read, seq_scan

FIX = Path(__file__).parent / "fixtures" / "seq"
FIXTURES = sorted(FIX.glob("*.seq"))


def _whole(path: Path, monkeypatch: pytest.MonkeyPatch, **kw: object) -> object:
    """The reader's outcome with the streaming pass switched off (the file read whole)."""
    with monkeypatch.context() as m:
        m.setattr(seq_read, "scan", lambda *a, **k: None)
        return _outcome(path, **kw)


def _outcome(path: Path, **kw: object) -> object:
    """What reading gives: the sequence written back as text (canonical), or the error's message, and the
    warnings raised."""
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        try:
            seq = wavegen.pulseq.read(path, **kw)  # type: ignore[arg-type]
        except SeqFormatError as e:
            return ("error", str(e), [str(x.message) for x in w])
    out = path.with_suffix(".out.seq")
    wavegen.pulseq.write(seq, out)
    return ("ok", out.read_text(), seq.block_table().tolist(), [str(x.message) for x in w])


@pytest.mark.parametrize("chunk", [16, 97, 4096, 1 << 20])
@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_streamed_read_equals_whole_file_read(path: Path, chunk: int, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    p = tmp_path / path.name
    p.write_bytes(path.read_bytes())
    want = _whole(p, monkeypatch)
    monkeypatch.setattr(seq_scan, "CHUNK_BYTES", chunk)
    assert seq_scan.scan(str(p)) is not None  # the fast path took it
    assert _outcome(p) == want


def test_crlf_comments_blank_lines_and_long_lines_inside_blocks(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    text = (FIX / "pypulseq_v150.seq").read_text()
    head, rest = text.split("[BLOCKS]\n", 1)
    rows, tail = rest.split("\n\n", 1)
    lines = rows.split("\n")
    lines.insert(1, "")
    lines.insert(3, "   # a comment between rows " + "x" * 300)
    lines[4] = lines[4] + "   # trailing comment"
    edited = head + "[BLOCKS]\n" + "\n".join(lines) + "\n\n" + tail
    p = tmp_path / "crlf.seq"
    p.write_bytes(edited.replace("\n", "\r\n").encode())
    monkeypatch.setattr(seq_scan, "CHUNK_BYTES", 64)
    sc = seq_scan.scan(str(p))
    assert sc is not None and sc.blocks is not None and sc.blocks.rows is not None
    got = _outcome(p)
    assert got[0] == "ok"
    # the same file with LF line ends and without the edits reads to the same table
    q = tmp_path / "plain.seq"
    q.write_text(text)
    assert got[2] == _outcome(q)[2]
    assert got == _whole(p, monkeypatch)


def test_signature_variants_match_as_the_whole_file_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = (FIX / "pypulseq_v150.seq").read_text()
    body, sig = text.split("[SIGNATURE]", 1)
    variants = {
        "crlf_after_signing": (body + "[SIGNATURE]" + sig).replace("\n", "\r\n"),
        "edited": body.replace("[RF]", "[RF]\n# edited", 1) + "[SIGNATURE]" + sig,
        "as_written": text,
    }
    monkeypatch.setattr(seq_scan, "CHUNK_BYTES", 128)
    for name, t in variants.items():
        p = tmp_path / f"{name}.seq"
        p.write_bytes(t.encode())
        got = _outcome(p)
        assert got == _whole(p, monkeypatch), name
        mismatch = any("matches none" in m for m in got[-1])  # type: ignore[index, union-attr]
        assert mismatch == (name == "edited"), name
        if name != "edited":
            assert _outcome(p, signature="strict")[0] == "ok"
        else:
            assert "matches none" in str(_outcome(p, signature="strict")[1])


_EDITS = ["1 2 3", "x", "-1", "1.5", "99999999999999999999", "", "# c", "[BLOCKS]", "\r", "\xe9", "  7  "]


@settings(max_examples=80, deadline=10000, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    src=st.sampled_from(["pypulseq_v150.seq", "fid_v120.seq", "gre_matlab_v141.seq", "epi_v131.seq"]),
    edits=st.lists(st.tuples(st.integers(0, 10_000), st.booleans(), st.sampled_from(_EDITS)), min_size=0,
                   max_size=3),
    chunk=st.sampled_from([8, 33, 1000, 1 << 20]),
    native=st.booleans(),
)
def test_damaged_blocks_give_the_same_error_or_sequence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, src: str,
                                                        edits: list[tuple[int, bool, str]], chunk: int,
                                                        native: bool) -> None:
    text = (FIX / src).read_text()
    head, rest = text.split("[BLOCKS]\n", 1)
    k = rest.index("\n[")
    lines = rest[:k].split("\n")
    for pos, replace, tok in edits:
        i = pos % len(lines)
        if replace:
            lines[i] = tok
        else:
            lines.insert(i, tok)
    p = tmp_path / "damaged.seq"
    p.write_bytes((head + "[BLOCKS]\n" + "\n".join(lines) + rest[k:]).encode())
    want = _whole(p, monkeypatch, signature="ignore")
    with monkeypatch.context() as m:
        m.setattr(seq_scan, "CHUNK_BYTES", chunk)
        m.setattr(seq_scan, "NATIVE", native and _backend.NATIVE)
        assert _outcome(p, signature="ignore") == want


def _many_blocks(path: Path, n: int, distinct: bool = False) -> None:
    """A 1.5.0 file of n blocks of 1 ms trapezoids, 21 distinct rows (or every row distinct: each block
    its own duration), written directly (the writer is not under test)."""
    if distinct:
        rows = "".join(f"{i} {100 + i} 0 1 0 0 0 0\n" for i in range(1, n + 1))
    else:
        rows = "".join(f"{i} {100 + i % 7} 0 {1 + i % 3} 0 0 0 0\n" for i in range(1, n + 1))
    path.write_text(
        "[VERSION]\nmajor 1\nminor 5\nrevision 0\n\n[DEFINITIONS]\nAdcRasterTime 1e-07\nBlockDurationRaster 1e-05\n"
        "GradientRasterTime 1e-05\nRadiofrequencyRasterTime 1e-06\n\n"
        "# Format of blocks:\n# NUM DUR RF  GX  GY  GZ  ADC  EXT\n[BLOCKS]\n" + rows + "\n"
        "[TRAP]\n1 1000 100 800 100 0\n2 -1000 100 800 100 0\n3 500 100 800 100 0\n\n"
    )


def _peak_read(path: Path) -> tuple[int, object]:
    tracemalloc.start()
    try:
        seq = wavegen.pulseq.read(path)
        return tracemalloc.get_traced_memory()[1], seq
    finally:
        tracemalloc.stop()


def test_reading_many_blocks_holds_a_few_bytes_a_block(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The rows are dictionary-coded as they are parsed: reading twice the blocks costs a few bytes a
    block more (the row numbers, 2 bytes; the blanked text, 1), not the 64 of an int64 table; the file
    read whole costs far more; a file whose every row is distinct still reads in bounded bytes a block."""
    peaks = {}
    for n in (100_000, 200_000):
        p = tmp_path / f"many{n}.seq"
        _many_blocks(p, n)
        peaks[n], seq = _peak_read(p)
        durs = np.array([100 + i % 7 for i in range(1, n + 1)]) * 10_000
        assert len(seq) == n and seq.duration_ns == int(durs.sum())  # type: ignore[arg-type, attr-defined]
        assert seq.coded_table.rows.shape[1] == 21  # type: ignore[attr-defined]
        np.testing.assert_array_equal(seq.coded_table.column(0), durs)  # type: ignore[attr-defined]
    per_block = (peaks[200_000] - peaks[100_000]) / 100_000
    assert per_block < 16, per_block
    with monkeypatch.context() as m:  # the file read whole (text, its lines, loadtxt's copies)
        m.setattr(seq_read, "scan", lambda *a, **k: None)
        whole, _ = _peak_read(tmp_path / "many200000.seq")
    assert peaks[200_000] < 0.3 * whole, (peaks, whole)
    p = tmp_path / "distinct.seq"
    _many_blocks(p, 100_000, distinct=True)
    peak, seq = _peak_read(p)
    assert seq.coded_table.rows.shape[1] == 100_000  # type: ignore[attr-defined]
    assert peak < 4 * seq_scan.CHUNK_BYTES + 250 * 100_000, peak


def test_parse_kernel_rows_and_refusals() -> None:
    if not _backend.NATIVE:
        pytest.skip("the compiled extension is not built (WAVEGEN_REQUIRE_NATIVE=1 in CI makes this an error)")
    ffi, lib = _backend.ffi, _backend.lib
    out = np.full((3, 5), -7, dtype=np.int64)
    done = ffi.new("int64_t *")

    def run(b: bytes, rows: int = 5, row0: int = 0) -> int:
        return int(lib.wg_parse_int_rows(b, len(b), 3, ffi.cast("int64_t *", out.ctypes.data), 5, row0, rows, done))

    assert run(b"# head\n1 2 3\n\n 4\t-5 6 # tail\r\n7 8 9") == 0 and done[0] == 3
    np.testing.assert_array_equal(out[:, :3], [[1, 4, 7], [2, -5, 8], [3, 6, 9]])
    assert out[0, 3] == -7  # nothing written past the rows
    assert run(b"1 2 3\n", row0=4) == 0 and out[:, 4].tolist() == [1, 2, 3]
    for bad, line in ((b"1 2\n", 1), (b"1 2 3\n1 2 3 4\n", 2), (b"1 2 x\n", 1), (b"1 2 3.5\n", 1),
                      (b"1 2 1234567890123456789\n", 1), (b"1 2 -\n", 1), (b"1 2 3\n" * 6, 6)):
        assert run(bad) == line, bad
    assert run(b"") == 0 and done[0] == 0


def test_play_order_reads_as_pairs_refuses_bad_steps_and_is_immutable() -> None:
    from wavegen.errors import RangeError, ShapeError
    from wavegen.safety import Grant, PlayOrder, Segment

    o = PlayOrder([0, 1, 0], [2, 1, 5])
    assert o == ((0, 2), (1, 1), (0, 5)) and list(o) == [(0, 2), (1, 1), (0, 5)] and o[1] == (1, 1)
    assert o.plays == 8 and o.samples([10, 3]) == 73 and o[1:] == PlayOrder([1, 0], [1, 5])
    assert o != ((0, 2), (1, 1)) and o.digest != PlayOrder([0, 1, 0], [2, 1, 4]).digest
    for bad in (([0.5], [1]), ([0], [float("nan")]), ([0], ["1"])):
        with pytest.raises(RangeError, match="must be an integer"):
            PlayOrder(*bad)
    with pytest.raises(ShapeError):
        PlayOrder([0, 1], [1])
    with pytest.raises(AttributeError):
        o.index = np.array([1, 1, 1])  # type: ignore[misc]
    with pytest.raises(ValueError):
        o.index.flags.writeable = True
    with pytest.raises(ValueError):
        o.repeats[0] = 9
    seg = Segment("0" * 64, 4)
    with pytest.raises(RangeError, match="repeat count 0 < 1"):
        Grant("awg/1", 1e6, (seg,), ((0, 0),))
    with pytest.raises(RangeError, match="names segment 1"):
        Grant("awg/1", 1e6, (seg,), PlayOrder([1], [1]))
    assert Grant("awg/1", 1e6, (seg,), ((0, 3),)).n_samples == 12
