"""The dictionary-coded block table, and what walks long sequences through it by ranges.

Everything here is compared with the plain (7, n) table or with the same computation made whole: the
ranges, the starts, the searches, the row numbering, and the streamed plan made by block ranges.
"""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import wavegen
from wavegen.bench import Bench
from wavegen.bench import plan as plan_mod
from wavegen.bench.plan import Window, make_instrument_plan
from wavegen.errors import RangeError
from wavegen.limits import SystemLimits
from wavegen.safety import PlayOrder
from wavegen.sequence import blocktable, recipes
from wavegen.sequence.blocktable import BlockTable, FileRows, RowDictionary

LIM = SystemLimits()


def _plain(rng: np.random.Generator, n: int, kinds: int) -> np.ndarray:
    durs = rng.integers(0, 4, n) * 250  # zero-duration blocks included: equal starts
    ids = rng.integers(0, kinds, (6, n))
    return np.vstack([durs, ids]).astype(np.int64)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(0, 300), kinds=st.integers(1, 4), stride=st.sampled_from([1, 3, 8, 4096]), seed=st.integers(0, 99))
def test_ranges_starts_and_searches_equal_the_plain_table(n: int, kinds: int, stride: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    tab = _plain(rng, n, kinds)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(blocktable, "STRIDE", stride)
        t = BlockTable.of_columns(tab)
        starts = np.concatenate([[0], np.cumsum(tab[0])[:-1]]).astype(np.int64) if n else np.zeros(0, np.int64)
        assert len(t) == n and t.total == int(tab[0].sum())
        np.testing.assert_array_equal(t.columns(), tab)
        np.testing.assert_array_equal(t.starts(), starts)
        for _ in range(10):
            a = int(rng.integers(0, n + 1))
            b = int(rng.integers(a, n + 1))
            np.testing.assert_array_equal(t.columns(a, b), tab[:, a:b])
            np.testing.assert_array_equal(t.starts(a, b), starts[a:b])
            np.testing.assert_array_equal(t.column(3, a, b), tab[3, a:b])
            np.testing.assert_array_equal(t.slice(a, b).columns(), tab[:, a:b])
            assert t.start(a) == (int(starts[a]) if a < n else t.total)
        for tt in [-1, 0, t.total, t.total + 1, *rng.integers(0, t.total + 2, 20).tolist()]:
            for side in ("left", "right"):
                assert t.search(int(tt), side) == int(np.searchsorted(starts, tt, side=side)), (tt, side)
    # rows numbered in order of first appearance, one per distinct column of the table
    _, first = np.unique(tab.T, axis=0, return_index=True)
    assert t.rows.shape[1] == first.size
    np.testing.assert_array_equal(t.rows, tab[:, np.sort(first)])
    assert t.index.dtype == np.uint16 and not t.rows.flags.writeable and not t.index.flags.writeable


def test_bad_tables_are_refused() -> None:
    with pytest.raises(RangeError, match="7 rows"):
        BlockTable(np.zeros((6, 2), dtype=np.int64), [0, 1])
    with pytest.raises(RangeError, match="row 2 named, it has 2"):
        BlockTable(np.zeros((7, 2), dtype=np.int64), [0, 2])
    t = BlockTable.of_columns(np.ones((7, 5), dtype=np.int64))
    with pytest.raises(RangeError, match="blocks 3..2"):
        t.columns(3, 2)
    with pytest.raises(RangeError, match="beyond what int64"):
        BlockTable(np.full((7, 1), 1 << 62, dtype=np.int64), np.zeros(4, dtype=np.int64))


@settings(max_examples=40, deadline=None)
@given(rows=st.lists(st.tuples(st.integers(-2, 2), st.integers(0, 1 << 62)), min_size=0, max_size=80),
       cuts=st.lists(st.integers(0, 80), max_size=5), collide=st.booleans())
def test_row_dictionary_numbers_rows_in_order_of_first_appearance(rows: list[tuple[int, int]], cuts: list[int],
                                                                  collide: bool) -> None:
    """Fed in any chunks, and with every hash alike (only the exact comparison can tell rows apart)."""
    with pytest.MonkeyPatch.context() as m:
        if collide:
            m.setattr(blocktable, "_hash_cols", lambda cs: np.zeros(cs[0].size, dtype=np.uint64))
        d = RowDictionary(2)
        table = np.array(rows, dtype=np.int64).reshape(-1, 2).T
        edges = sorted({0, len(rows), *(c for c in cuts if c <= len(rows))})
        got = np.concatenate([d.add(table[:, a:b]) for a, b in zip(edges[:-1], edges[1:], strict=True)] or [[]])
    want: dict[tuple[int, int], int] = {}
    for r in rows:
        want.setdefault(r, len(want))
    assert got.tolist() == [want[r] for r in rows]
    assert [tuple(c) for c in d.rows().T.tolist()] == list(want)
    assert d.first().tolist() == [rows.index(r) for r in want]


def test_file_rows_hand_unusual_rows_to_the_strict_reader() -> None:
    def chunk(ids: list[int], value: int = 1) -> np.ndarray:
        c = np.full((8, len(ids)), value, dtype=np.int64)
        c[0] = ids
        return c

    fr = FileRows(1 << 53)
    assert fr.add(chunk([1, 2, 3])) and fr.add(chunk([5, 9]))
    assert not fr.add(chunk([9, 10]))  # an id not after the last one
    assert not FileRows(1 << 53).add(chunk([3, 2]))
    assert not FileRows(1 << 53).add(chunk([1], value=-1))
    assert not FileRows(1 << 53).add(chunk([1], value=1 << 53))
    u, first, index = fr.take()
    assert u.shape == (1, 8) and u[0, 0] == 1 and first.tolist() == [0] and index.tolist() == [0] * 5
    assert u.T.flags.c_contiguous


def test_a_read_sequence_keeps_its_coded_table_until_edited(tmp_path: Path) -> None:
    seq = recipes.design_gre(LIM, fov_m=0.256, matrix=32).seq
    p = tmp_path / "gre.seq"
    wavegen.pulseq.write(seq, p)
    back = wavegen.pulseq.read(p)
    assert back._cols_list is None and back.coded_table.rows.shape[1] < 0.6 * len(back)
    np.testing.assert_array_equal(back.block_table(), seq.block_table())
    assert [back[i] for i in (0, 5, -1)] == [seq[i] for i in (0, 5, -1)]
    assert back._cols_list is None  # reading blocks does not unpack the table
    part = back.slice_blocks(3, 40)
    assert part.coded_table.rows is back.coded_table.rows  # the distinct rows are shared
    np.testing.assert_array_equal(part.block_table(), seq.block_table()[:, 3:40])
    from wavegen.safety.stream import definition_digest

    assert definition_digest(back) == definition_digest(seq)
    edited = back.slice_blocks(0, len(back))
    b = back[1]  # editing unpacks into lists, the coded table is made again
    edited.add_block(*(e for e in (b.rf, b.adc) if e is not None), *b.extensions, gx=b.gx, gy=b.gy, gz=b.gz,
                     duration_ns=b.duration_ns)
    assert len(edited) == len(back) + 1
    assert edited.coded_table.total == back.coded_table.total + int(back.block_durations_ticks[1])
    assert definition_digest(edited) != definition_digest(back) and len(back) == len(seq)


@pytest.fixture(scope="module")
def bench():
    with Bench.mock() as b:
        yield b


@pytest.fixture(scope="module")
def gre():
    return recipes.design_gre(LIM, fov_m=0.256, matrix=32).seq


def _stream_plan(bench, seq, outs, window=None):
    return make_instrument_plan(seq, instrument="daq", rate_hz=1e6, outputs=outs, to_volts=bench.channel_map.to_volts,
                                lead_samples=100, tail_samples=3000, window=window, streams=True)


@pytest.mark.parametrize("outs", [("gx", "gy", "gz", "adc"), ("adc",), ("gz",)])
@pytest.mark.parametrize("per_range", [1, 2, 5, 1 << 14])
def test_a_stream_plan_made_by_block_ranges_is_the_plan_made_whole(bench, gre, outs, per_range):
    """Keys by ranges of 1, 2, 5 blocks (silences carried across every range boundary; the ADC alone is
    mostly silence) give the plan made in one range: the same segments, the same order, and the
    one-shot render bit for bit."""
    whole = _stream_plan(bench, gre, outs)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(plan_mod, "PLAN_BLOCKS", per_range)
        p = _stream_plan(bench, gre, outs)
        w = Window.of_blocks(gre, 7, 60)
        pw = _stream_plan(bench, gre, outs, window=w)
    assert p.order == whole.order and [s.digests for s in p.segments] == [s.digests for s in whole.segments]
    program = bench.render(gre)
    lead = int(round(bench.config.lead_s * 1e6))
    for o in outs:
        got = p.expand(o)
        want = bench.channel_map.to_volts(o, program.physical[o])
        np.testing.assert_array_equal(got[100 : got.size - 3000], want[lead : lead + got.size - 3100])
    ks, ke = plan_mod.window_samples(gre, 1e6, w)
    whole_w = _stream_plan(bench, gre, outs, window=w)
    assert pw.order == whole_w.order and pw.n_samples == 100 + ke - ks + 3000
    for o in outs:
        np.testing.assert_array_equal(pw.expand(o), whole_w.expand(o))
    if outs == ("adc",):  # silences merged: fewer steps than blocks
        assert len(p.order) < len(gre)


def test_play_orders_are_narrow_and_digest_their_values_as_int64() -> None:
    o = PlayOrder(np.arange(600, dtype=np.int64) % 540, np.ones(600, dtype=np.int64))
    assert o.index.dtype == np.uint16 and o.repeats.dtype == np.uint8 and o.index.nbytes == 1200
    h = hashlib.sha256(b"wavegen-play-order\0")
    h.update(np.asarray(o.index, dtype="<i8").tobytes())
    h.update(np.asarray(o.repeats, dtype="<i8").tobytes())
    assert o.digest == h.hexdigest()
    assert PlayOrder(list(o.index), list(o.repeats)) == o and PlayOrder.of(tuple(o)).digest == o.digest
    wide = PlayOrder([0, 70_000], [1, 1 << 40])
    assert wide.index.dtype == np.uint32 and wide.repeats.dtype == np.int64 and wide[1] == (70_000, 1 << 40)
    assert wide.plays == (1 << 40) + 1 and wide.samples([2] * 70_001) == 2 * ((1 << 40) + 1)
    neg = PlayOrder([0, -1], [1, 1])
    assert neg.index.dtype == np.int64 and neg[1] == (-1, 1)
    back = pickle.loads(pickle.dumps(o))  # a plan sent to a worker keeps its order, immutable
    assert back == o and back.digest == o.digest and not back.index.flags.writeable


def test_a_read_sequence_pickles_with_its_coded_table(tmp_path: Path) -> None:
    seq = recipes.design_gre(LIM, fov_m=0.256, matrix=32).seq
    p = tmp_path / "gre.seq"
    wavegen.pulseq.write(seq, p)
    read = wavegen.pulseq.read(p)
    back = pickle.loads(pickle.dumps(read))
    assert back == read and back.coded_table.total == seq.coded_table.total
    np.testing.assert_array_equal(back.block_table(), seq.block_table())
    assert not back.coded_table.rows.flags.writeable and not back.coded_table.index.flags.writeable
