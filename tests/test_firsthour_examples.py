"""Issue 15, item 8: the notebook ships with current outputs, the examples print no stray lines, their
output folders are ignored by git, and the README says how to make every file its examples use."""

from __future__ import annotations

import base64
import re
import shlex
import shutil
from pathlib import Path
from typing import Any

import nbformat
import pytest

from wavegen.cli import main

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "examples" / "tour.ipynb"
README = (ROOT / "README.md").read_text(encoding="utf-8")


# --- the notebook -----------------------------------------------------------------------------------


def _code_cells(nb: Any) -> list[Any]:
    return [c for c in nb.cells if c.cell_type == "code"]


def _kinds(cell: Any) -> list[str]:
    """What a cell shows, by kind: ``stream:stdout``, ``image/png``, ``text/plain`` ..."""
    out = []
    for o in cell.outputs:
        if o.output_type == "stream":
            out.append(f"stream:{o.name}")
        elif o.output_type == "error":
            out.append("error")
        else:
            out.append("image/png" if "image/png" in o.get("data", {}) else "text/plain")
    return out


def test_the_notebook_ships_with_its_outputs() -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    cells = _code_cells(nb)
    assert [c.execution_count for c in cells] == list(range(1, len(cells) + 1))  # run top to bottom, once
    for cell in cells[:-1]:  # all but `bench.close()` show something
        assert cell.outputs, cell.source
    kinds = [k for c in cells for k in _kinds(c)]
    assert "error" not in kinds and "stream:stderr" not in kinds  # no tracebacks, no stray warning lines
    images = [base64.b64decode(o["data"]["image/png"]) for c in cells for o in c.outputs
              if "image/png" in o.get("data", {})]
    assert len(images) >= 3 and all(img.startswith(b"\x89PNG") for img in images)
    assert max(len(img) for img in images) < 80_000 and NOTEBOOK.stat().st_size < 300_000  # small images only
    text = "".join(o.get("text", "") + o.get("data", {}).get("text/plain", "") for c in cells for o in c.outputs)
    assert "Sequence(3 blocks, " in text and "HilResult(1 correction" in text
    assert not re.search(r"\d\.\d{12,}", text)  # no float noise in what the notebook shows
    assert "at 0x" not in text  # no stray object reprs (<matplotlib.legend.Legend at 0x...>)


def test_the_notebook_reexecutes_to_the_outputs_it_ships_with(tmp_path: Path) -> None:
    from nbclient import NotebookClient

    shipped = nbformat.read(NOTEBOOK, as_version=4)
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(nb, timeout=120, kernel_name="python3", record_timing=False,
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    fresh, old = _code_cells(nb), _code_cells(shipped)
    assert [_kinds(c) for c in fresh] == [_kinds(c) for c in old]  # the shipped outputs are not stale
    for new_cell, old_cell in zip(fresh, old, strict=True):
        for a, b in zip(new_cell.outputs, old_cell.outputs, strict=True):
            if a.output_type == "stream":  # printed lines: the same first words (numbers vary with ports)
                assert [line.split(":")[0] for line in a.text.splitlines()] == \
                    [line.split(":")[0] for line in b.text.splitlines()], new_cell.source


# --- the demo prints no stray lines (the scripts: tests/test_cli_examples.py) ----------------------


def test_the_demo_prints_its_report_and_nothing_else(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--out", str(tmp_path / "demo-out"), "--no-plot"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("wavegen demo:") and err == ""


# --- git ignores what the examples write ------------------------------------------------------------


def _ignored(folder: str) -> bool:
    patterns = [line.strip() for line in (ROOT / ".gitignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    return any(p.rstrip("/") == folder for p in patterns)


def test_the_examples_output_folders_are_ignored_by_git() -> None:
    folders = set(re.findall(r'Path\("([\w.-]+-out)"\)', (ROOT / "examples" / "bench_tour.py").read_text()))
    folders |= set(re.findall(r'default=Path\("([\w.-]+)"\)', (ROOT / "wavegen" / "cli" / "app.py").read_text()))
    folders |= set(re.findall(r"wavegen demo --out ([\w.-]+)", README))
    assert {"bench-tour-out", "wavegen-demo-out", "demo-out"} <= folders
    assert [f for f in sorted(folders) if not _ignored(f)] == []


# --- the README says how to make the files its examples use -----------------------------------------


def _setup_commands() -> list[str]:
    block = re.search(r"The examples below use three files; make them first.*?```bash\n(.*?)```", README, flags=re.S)
    assert block is not None, "the README says how to make the command table's files"
    return [line.split("#")[0].strip() for line in block.group(1).splitlines() if line.split("#")[0].strip()]


def test_the_readme_makes_every_file_its_command_table_uses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    for command in _setup_commands():
        argv = shlex.split(command)
        if argv[0] == "cp":
            shutil.copy(ROOT / argv[1], tmp_path / argv[2])
        else:
            assert argv[0] == "wavegen" and main(argv[1:]) == 0, command
    capsys.readouterr()
    table = [m.group(1) for m in re.finditer(r"\| `(wavegen [^`]+)` \|\s*$", README, flags=re.M)]
    inputs = {w for cmd in table for w in shlex.split(cmd) if re.fullmatch(r"[\w.-]+\.(seq|toml)", w)
              and not re.search(rf"-o {re.escape(w)}\b", cmd)}
    assert {"gre.seq", "spiral.seq", "bench.toml"} <= inputs
    assert [f for f in sorted(inputs) if not (tmp_path / f).is_file()] == []
