"""wavegen.safety.check_many in this process: the matrix equals serial checks row for row, bad files and
configurations are reported in their rows, the order is the input order, the tasks are batched."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from wavegen import pulseq, safety
from wavegen.errors import RangeError
from wavegen.limits import SystemLimits
from wavegen.parallel import Table
from wavegen.safety.library import (
    LIBRARY_COLUMNS,
    CheckConfig,
    check_batch,
    expand_protocols,
    load_config,
    row_of_report,
)
from wavegen.sequence import recipes

FAST = SystemLimits.from_units(max_grad="40 mT/m", max_slew="150 T/m/s")
SLOW = SystemLimits.from_units(max_grad="20 mT/m", max_slew="100 T/m/s")


def write_library(folder: Path) -> list[Path]:
    """Six small protocols of three kinds, written as .seq files (sorted names = library order)."""
    folder.mkdir(parents=True, exist_ok=True)
    designs = [("a_gre8", recipes.design_gre(FAST, matrix=8)), ("b_epi16", recipes.design_epi(FAST, matrix=16)),
               ("c_spiral16", recipes.design_spiral(FAST, matrix=16)), ("d_gre16", recipes.design_gre(FAST, matrix=16)),
               ("e_epi8", recipes.design_epi(FAST, matrix=8)), ("f_spiral8", recipes.design_spiral(FAST, matrix=8))]
    paths = []
    for name, d in designs:
        p = folder / f"{name}.seq"
        pulseq.write(d.seq, p)
        paths.append(p)
    return paths


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> list[Path]:
    return write_library(tmp_path_factory.mktemp("lib"))


def serial(paths: list[Path], configs: dict[str, SystemLimits]) -> Table:
    """The same table computed the plain way: one check after the other."""
    rows = []
    for p in paths:
        seq = pulseq.read(p)
        for name, lim in configs.items():
            rows.append(row_of_report(str(p), name, safety.check(seq, lim, keep_traces=False)))
    return Table(LIBRARY_COLUMNS, rows)


def test_the_matrix_equals_the_serial_checks_row_for_row(library):
    configs = {"fast": FAST, "slow": SLOW}
    # tiny tasks (one pair each) and large ones (everything in one): same rows, same order
    for batch_s in (1e-6, 100.0):
        table = safety.check_many(library, [CheckConfig(n, lim) for n, lim in configs.items()],
                                  scheduler="synchronous", batch_s=batch_s)
        assert table == serial(library, configs)
    assert table.column("verdict").count("fail") >= len(library)  # every protocol breaks the slow limits
    assert {r["worst_rule"] for r in table if r["config"] == "slow"} == {"grad_amplitude"}
    slow = [r for r in table if r["config"] == "slow"]
    assert all(r["margin"] < 0 and r["value"] > r["limit"] == pytest.approx(0.02) for r in slow)
    assert all(math.isfinite(r["time_s"]) and r["unit"] == "T/m" for r in slow)


def test_a_malformed_file_in_the_middle_is_reported_in_its_rows(library, tmp_path):
    bad = tmp_path / "c_bad.seq"
    bad.write_text("[VERSION]\nmajor 1\nminor 4\nrevision 1\n\n[BLOCKS]\n1 1 0 0 0 0 0 0\n")  # events undefined
    missing = tmp_path / "nope.seq"
    items = [*library[:3], bad, missing, *library[3:]]
    table = safety.check_many(items, [FAST, SLOW], scheduler="synchronous", batch_s=1e-6)
    assert table.column("protocol")[::2] == [str(p) for p in items]
    assert table.column("config")[:2] == ["limits[0]", "limits[1]"]
    rows = {(r["protocol"], r["config"]): r for r in table}
    for cfg in ("limits[0]", "limits[1]"):
        assert rows[(str(bad), cfg)]["verdict"] == "error" and "SeqFormatError" in rows[(str(bad), cfg)]["error"]
        assert rows[(str(missing), cfg)]["verdict"] == "error" and "no such file" in rows[(str(missing), cfg)]["error"]
    good = [r for r in table if r["protocol"] not in (str(bad), str(missing))]
    expected = serial(library, {"limits[0]": FAST, "limits[1]": SLOW})
    assert Table(LIBRARY_COLUMNS, good) == expected  # the files around them are checked as usual


def test_folders_globs_and_duplicates_expand_in_a_fixed_order(library):
    folder = library[0].parent
    refs = expand_protocols([folder, str(folder / "*_epi*.seq"), library[0]])
    assert [r.name for r in refs] == [str(p) for p in sorted(library)]  # the glob and the file are repeats
    refs = expand_protocols([str(folder / "zz*.seq"), folder / "none"])
    assert [r.error for r in refs] == [f"no file matches {str(folder / 'zz*.seq')!r}",
                                       f"no such file: {folder / 'none'}"]
    assert [r.name for r in expand_protocols(tuple(library[:2]))] == [str(p) for p in library[:2]]
    with pytest.raises(RangeError, match="a protocol is a path"):
        expand_protocols([42])


def test_configurations_from_files_objects_and_broken_files(tmp_path, library):
    lim = tmp_path / "slow.toml"
    lim.write_text('[limits]\nmax_grad = "20 mT/m"\nmax_slew = "100 T/m/s"\n')
    bench = Path(__file__).resolve().parents[1] / "examples" / "bench.toml"
    broken = tmp_path / "broken.toml"
    broken.write_text("[limits\n")
    unknown = tmp_path / "unknown.toml"
    unknown.write_text('[limits]\nmax_grd = "20 mT/m"\n')
    c = load_config(lim)
    assert c.limits == SLOW and c.options == {"mode": "normal", "patient": True} and not c.error
    b = load_config(bench)
    assert b.options["periodic"] is False and b.options["patient"] is False and b.name == str(bench)
    assert "not valid TOML" in load_config(broken).error
    assert "max_grd" in load_config(unknown).error
    table = safety.check_many(library[:2], [lim, broken, bench], scheduler="synchronous")
    assert table.column("config") == [str(lim), str(broken), str(bench)] * 2
    assert table.column("verdict")[1] == "error" and "configuration:" in table[1]["error"]
    assert table.column("verdict")[2] == "pass"  # the bench: nobody in the magnet, within its limits
    with pytest.raises(Exception, match="given more than once"):
        safety.check_many(library[:1], [lim, lim], scheduler="synchronous")


def test_a_check_that_raises_is_an_error_row_not_an_exception(library):
    cfg = CheckConfig("bad mode", FAST, {"mode": "sideways"})
    table = safety.check_many(library[:2], [cfg, CheckConfig("ok", FAST)], scheduler="synchronous")
    assert table.column("verdict")[0::2] == ["error", "error"]
    assert all("mode must be one of" in e for e in table.column("error")[0::2])
    assert all(v in ("pass", "unverified") for v in table.column("verdict")[1::2])


def test_tasks_batch_several_small_pairs_and_read_each_file_once_per_task(library, monkeypatch):
    calls = []
    real = pulseq.read

    def counting(path, **kw):
        calls.append(path)
        return real(path, **kw)

    monkeypatch.setattr(pulseq, "read", counting)
    table = safety.check_many(library, [FAST, SLOW, FAST.replace(max_b1_t=10e-6)], scheduler="synchronous",
                              batch_s=100.0, n_workers=1)
    st = table.stats
    assert st.n_tasks == 4  # four slots per worker: the small library in four tasks of about equal work
    assert len(calls) <= len(library) + st.n_tasks - 1  # a file is read once (twice when split over tasks)
    assert len(table) == 3 * len(library)


def test_sequences_given_directly_and_the_worker_function(library):
    seq = pulseq.read(library[0])
    table = safety.check_many([("mine", seq), seq], [FAST], scheduler="synchronous")
    assert table.column("protocol") == ["mine", "<sequence 1>"]
    assert table[0] == {**table[1], "protocol": "mine"}
    ref = expand_protocols([library[1]])[0]
    from wavegen.safety.library import SharedInputs

    out = check_batch(((7, ref, (0,)),), SharedInputs((CheckConfig("x", FAST),), False))
    assert [(pi, ci) for pi, ci, _ in out] == [(7, 0)] and out[0][2]["protocol"] == str(library[1])


def test_table_outputs_round_trip(library, tmp_path):
    table = safety.check_many(library[:2], [FAST, SLOW], scheduler="synchronous")
    csv_text = table.to_csv(tmp_path / "t.csv")
    assert (tmp_path / "t.csv").read_text() == csv_text
    assert csv_text.splitlines()[0] == ",".join(LIBRARY_COLUMNS) and len(csv_text.splitlines()) == 5
    import json

    doc = json.loads(table.to_json())
    assert [d["verdict"] for d in doc] == table.column("verdict")
    df = table.to_pandas() if _has_pandas() else None
    if df is not None:
        assert list(df.columns) == list(LIBRARY_COLUMNS) and len(df) == 4
    assert "protocol" in table.format().splitlines()[0]


def _has_pandas() -> bool:
    import importlib.util

    return importlib.util.find_spec("pandas") is not None
