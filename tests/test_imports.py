"""The house: no import cycles and no private name used outside its module (wavegen.testing.imports)."""

from __future__ import annotations

from pathlib import Path

from wavegen.testing.imports import find_cycles, scan


def test_no_import_cycles() -> None:
    cycles = scan().cycles()
    assert not cycles, "import cycles: " + "; ".join(" <-> ".join(c) for c in cycles)


def test_no_private_name_imported_across_modules() -> None:
    uses = [f"{n}:{line}: {text}" for n, line, text in scan().private_uses()]
    assert not uses, "private names used outside their module:\n" + "\n".join(uses)


def test_the_scanner_sees_cycles_and_private_names(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from pkg.b import _hidden\n")
    (pkg / "b.py").write_text("def _hidden(): ...\ndef f():\n    from pkg import a\n")
    (pkg / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import a\n")
    g = scan({"pkg": pkg})
    assert g.cycles() == [["pkg.a", "pkg.b"]]  # the late import in b counts; c's TYPE_CHECKING import does not
    assert [t for _, _, t in g.private_uses()] == ["from pkg.b import _hidden"]
    assert find_cycles({"x": {"y"}, "y": {"z"}, "z": set()}) == []


def test_top_level_is_a_few_modules_and_rooms_have_jobs() -> None:
    g = scan()
    top = sorted(n for n, m in g.modules.items() if n.count(".") == 1 and not m.is_package)
    # each with one job: the exception tree, human units, limits, one validator, atomic file writes, the
    # Pulseq facade, the one importer of the extension, and the unbuilt-source-tree guard
    assert set(top) <= {"wavegen.errors", "wavegen.units", "wavegen.limits", "wavegen.validate", "wavegen.atomic",
                        "wavegen.pulseq", "wavegen._backend", "wavegen._source_tree"}, top
    for room in ("wavegen.bench", "wavegen.hil", "wavegen.dsp", "wavegen.cli", "wavegen.testing"):
        assert room in g.rooms
