"""The README's examples run as written (on the mock bench), in a fresh folder with the files they name.

The Python blocks run as scripts; every `wavegen ...` example of the command table runs through the CLI.
The files the examples use are made first the way the README says (`wavegen design spiral -o spiral.seq`)
or copied (`bench.toml` is `examples/bench.toml`, the mock bench).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from wavegen.cli import main

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
PY_BLOCKS = re.findall(r"```python\n(.*?)```", README, flags=re.S)
COMMANDS = [m.group(1) for m in re.finditer(r"\| `(wavegen [^`]+)` \|\s*$", README, flags=re.M)]


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    shutil.copy(ROOT / "examples" / "bench.toml", tmp_path / "bench.toml")
    for argv in (["design", "spiral", "-o", "spiral.seq"], ["design", "gre", "--matrix", "32", "-o", "gre.seq"]):
        assert main(argv) == 0
    return tmp_path


def test_the_readme_has_examples() -> None:
    assert len(PY_BLOCKS) >= 2 and len(COMMANDS) >= 8


@pytest.mark.parametrize("index", range(len(PY_BLOCKS)))
def test_python_blocks_run(folder: Path, index: int) -> None:
    env = dict(os.environ, MPLBACKEND="Agg")
    r = subprocess.run([sys.executable, "-c", PY_BLOCKS[index]], cwd=folder, capture_output=True, text=True,
                       timeout=300, env=env)
    assert r.returncode == 0, r.stderr[-3000:]


@pytest.mark.parametrize("command", COMMANDS)
def test_command_table_examples_run(folder: Path, command: str, capsys: pytest.CaptureFixture[str]) -> None:
    argv = shlex.split(command)[1:]
    code = main(argv)
    out = capsys.readouterr()
    assert code == 0, f"{command}: exit {code}\n{out.out[-2000:]}\n{out.err[-2000:]}"
