"""``wavegen check`` on a library: many files, folders, globs and repeated --config/--limits give one table
(terminal, --csv, --json); a malformed file in the middle is an ERROR row and exit 2; one file keeps the
one-file report."""

from __future__ import annotations

import json

import pytest
from test_library_check import FAST, SLOW, write_library

from wavegen import safety
from wavegen.cli import main

SLOW_SPEC = "max_grad=20 mT/m,max_slew=100 T/m/s"


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    return write_library(tmp_path_factory.mktemp("lib"))


def _run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_folder_against_two_limits_prints_one_table_and_writes_csv(library, capsys, tmp_path):
    out_csv = tmp_path / "out" / "lib.csv"
    code, out, err = _run(capsys, "check", library[0].parent, "--limits", "max_grad=40 mT/m", "--limits", SLOW_SPEC,
                          "--csv", out_csv, "--scheduler", "synchronous")
    assert code == 1, err  # the slow limits are broken
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["protocol", "config", "verdict", "worst"]
    assert len([ln for ln in lines if ln.startswith(str(library[0].parent))]) == 2 * len(library)
    assert f"{2 * len(library)} check(s): {len(library)} protocol(s) x 2 configuration(s)" in out
    expected = safety.check_many(library, [safety.CheckConfig("max_grad=40 mT/m", FAST),
                                           safety.CheckConfig(SLOW_SPEC, SLOW)], scheduler="synchronous")
    assert out_csv.read_text() == expected.to_csv()


def test_a_malformed_file_in_the_middle_is_an_error_row_and_exit_2(library, capsys, tmp_path):
    bad = tmp_path / "bad.seq"
    bad.write_text("[VERSION]\nmajor 1\ngarbage\n")
    code, out, err = _run(capsys, "check", library[0], bad, library[1], "--phantom", "--scheduler", "synchronous")
    assert code == 2, out + err
    rows = [ln for ln in out.splitlines() if ln.startswith(str(tmp_path)) or ln.startswith(str(library[0].parent))]
    assert [r.split()[0] for r in rows] == [str(library[0]), str(bad), str(library[1])]
    assert "ERROR" in rows[1] and "SeqFormatError" in rows[1]
    assert "ERROR" not in rows[0] and "ERROR" not in rows[2]


def test_json_lists_every_row_with_the_counts(library, capsys):
    code, out, _ = _run(capsys, "check", *library[:2], "--json", "--limits", SLOW_SPEC, "--limits", "max_grad=40 mT/m",
                        "--scheduler", "synchronous")
    doc = json.loads(out)
    assert code == 1 and doc["ok"] is False and doc["protocols"] == 2 and doc["configs"] == 2
    assert [r["config"] for r in doc["rows"]] == [SLOW_SPEC, "max_grad=40 mT/m"] * 2
    assert doc["counts"]["fail"] == 2 and sum(doc["counts"].values()) == 4
    assert all(r["margin"] < 0 for r in doc["rows"] if r["verdict"] == "fail")


def test_a_glob_on_a_local_thread_cluster(library, capsys):
    pattern = str(library[0].parent / "*_epi*.seq")
    code, out, err = _run(capsys, "check", pattern, "--scheduler", "threads", "--workers", "2")
    assert code == 0, out + err
    assert "2 protocol(s) x 1 configuration(s)" in out and "on local threads (2 worker(s)" in out


@pytest.mark.parametrize("argv, message", [
    (["{empty}", "{lib0}"], "Is a directory, and holds no .seq file"),
    (["{lib0}", "{empty}/*.seq"], "no such file"),
    (["{lib0}", "{lib1}", "--plot", "{empty}/x.png"], "--plot draws one report"),
    (["{lib0}", "{lib1}", "--csv", "{empty}/x.txt"], "must end in .csv"),
    (["{lib0}", "{lib1}", "--scheduler", "nowhere"], "neither one of"),
    (["{lib0}", "{lib1}", "--limits", "max_grad=0.04"], "give the unit"),
])
def test_library_usage_errors_exit_2(library, capsys, tmp_path, argv, message):
    subs = {"empty": str(tmp_path), "lib0": str(library[0]), "lib1": str(library[1])}
    code, _, err = _run(capsys, "check", *[a.format(**subs) for a in argv])
    assert code == 2 and message in err, err


def test_one_file_keeps_the_one_file_report(library, capsys):
    code, out, _ = _run(capsys, "check", library[0], "--limits", SLOW_SPEC)
    assert code == 1 and out.startswith(f"{library[0]}: ") and "wavegen safety report: UNSAFE" in out
    assert "check(s):" not in out


def test_bench_files_and_a_sar_calibration_apply_to_the_library(library, capsys, tmp_path):
    from pathlib import Path

    bench = Path(__file__).resolve().parents[1] / "examples" / "bench.toml"
    sar = tmp_path / "sar.toml"
    sar.write_text('[sar]\nregion = "whole_body"\nw_per_kg_per_ut2 = 0.1\n')
    argv = ["check", library[0], library[2], "--config", bench, "--limits", "max_grad=40 mT/m", "--sar-calibration",
            sar, "--json", "--scheduler", "synchronous"]
    code, out, err = _run(capsys, *argv)
    doc = json.loads(out)
    assert code == 0, err
    # the bench judges as it plays (nobody in the magnet); the limits with a calibration: SAR is judged, so
    # nothing is left unverified but the RF amplifier, which only the bench describes
    assert [r["verdict"] for r in doc["rows"]] == ["pass", "unverified"] * 2
    assert all(r["unverified"] == "rf_amplifier" for r in doc["rows"][1::2])
    # a patient mass contradicts the bench's patient = false: those rows say so, the others are checked
    sar.write_text('[sar]\nregion = "whole_body"\nw_per_kg_per_ut2 = 0.1\npatient_mass_kg = 75\n')
    code, out, _ = _run(capsys, *argv)
    doc = json.loads(out)
    assert code == 2 and [r["verdict"] for r in doc["rows"]] == ["error", "unverified"] * 2
    assert "patient=False contradicts patient_mass_kg" in doc["rows"][0]["error"]
