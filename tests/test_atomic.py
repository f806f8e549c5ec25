"""wavegen.atomic.atomic_write and its use in pulseq.write: a failed write leaves the previous file."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import wavegen
import wavegen.atomic as atomic_mod
from wavegen.atomic import atomic_write
from wavegen.errors import RangeError
from wavegen.sequence import Sequence, TrapGradient

OLD = b"previous content\n"


def _leftovers(folder: Path, name: str) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name != name]


def test_replaces_the_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    p = tmp_path / "out.txt"
    p.write_bytes(OLD)
    with atomic_write(p) as fh:
        fh.write("new\n")
        assert p.read_bytes() == OLD  # nothing visible before the rename
    assert p.read_text() == "new\n"
    assert _leftovers(tmp_path, "out.txt") == []


def test_binary_mode_and_new_file(tmp_path: Path) -> None:
    p = tmp_path / "new.bin"
    with atomic_write(p, "wb") as fh:
        fh.write(b"\x00\x01")
    assert p.read_bytes() == b"\x00\x01"


def test_exception_mid_write_keeps_the_previous_file(tmp_path: Path) -> None:
    p = tmp_path / "out.txt"
    p.write_bytes(OLD)
    with pytest.raises(KeyError), atomic_write(p) as fh:
        fh.write("half of the new")
        raise KeyError("interrupted")
    assert p.read_bytes() == OLD
    assert _leftovers(tmp_path, "out.txt") == []


def test_keyboard_interrupt_keeps_the_previous_file(tmp_path: Path) -> None:
    p = tmp_path / "out.txt"
    p.write_bytes(OLD)
    with pytest.raises(KeyboardInterrupt), atomic_write(p, "wb") as fh:
        fh.write(b"x" * 1000)
        raise KeyboardInterrupt
    assert p.read_bytes() == OLD
    assert _leftovers(tmp_path, "out.txt") == []


def test_permissions_like_a_normal_new_file(tmp_path: Path) -> None:
    ref = tmp_path / "ref.txt"
    ref.write_text("x")  # created by open(): 0o666 less the umask
    p = tmp_path / "out.txt"
    with atomic_write(p) as fh:
        fh.write("x")
    assert stat.S_IMODE(p.stat().st_mode) == stat.S_IMODE(ref.stat().st_mode)


def test_existing_permissions_are_kept(tmp_path: Path) -> None:
    p = tmp_path / "out.txt"
    p.write_text("old")
    os.chmod(p, 0o640)
    with atomic_write(p) as fh:
        fh.write("new")
    assert stat.S_IMODE(p.stat().st_mode) == 0o640


def test_bad_mode(tmp_path: Path) -> None:
    with pytest.raises(RangeError, match="mode"), atomic_write(tmp_path / "x", "a"):
        pass
    assert list(tmp_path.iterdir()) == []


_CHILD = textwrap.dedent(
    """
    import resource, signal, sys
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # get EFBIG instead of being killed
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
    path, what = sys.argv[1], sys.argv[2]
    if what == "raw":
        from wavegen.atomic import atomic_write
        try:
            with atomic_write(path, "wb") as fh:
                for _ in range(100):
                    fh.write(b"y" * 1000)
        except OSError as e:
            print("OSError", e.errno)
            sys.exit(3)
    else:
        import wavegen
        from wavegen.sequence import Sequence, TrapGradient
        seq = Sequence()
        for i in range(400):
            seq.add_block(gx=TrapGradient(1000.0 + i, 100_000, 200_000, 100_000))
        try:
            wavegen.pulseq.write(seq, path)
        except OSError as e:
            print("OSError", e.errno)
            sys.exit(3)
    sys.exit(0)
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is POSIX")
@pytest.mark.parametrize("what", ["raw", "pulseq"])
def test_file_size_limit_keeps_the_previous_file(tmp_path: Path, what: str) -> None:
    p = tmp_path / "out.seq"
    p.write_bytes(OLD)
    r = subprocess.run([sys.executable, "-c", _CHILD, str(p), what], capture_output=True, text=True, timeout=60,
                       cwd=tmp_path)  # not the project root: `python -c` would import the unbuilt source tree
    assert r.returncode == 3, r.stdout + r.stderr  # the write failed (EFBIG) ...
    assert "OSError" in r.stdout
    assert p.read_bytes() == OLD  # ... and the previous file is intact
    assert _leftovers(tmp_path, "out.seq") == []


def test_pulseq_write_failure_mid_write_keeps_the_previous_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seq = Sequence()
    seq.add_block(gx=TrapGradient(1000.0, 100_000, 200_000, 100_000))
    p = tmp_path / "a.seq"
    wavegen.pulseq.write(seq, p)
    before = p.read_bytes()
    seq.add_block(gx=TrapGradient(2000.0, 100_000, 200_000, 100_000))

    real_fsync = os.fsync

    def failing_fsync(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic_mod.os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="No space"):
        wavegen.pulseq.write(seq, p)
    monkeypatch.setattr(atomic_mod.os, "fsync", real_fsync)
    assert p.read_bytes() == before
    assert _leftovers(tmp_path, "a.seq") == []
    wavegen.pulseq.write(seq, p)
    assert len(wavegen.pulseq.read(p)) == 2


_CLI_CHILD = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead of killing us
resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))
from wavegen.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("command", ["render", "design"])
def test_cli_writers_keep_the_previous_file_when_the_write_fails(tmp_path: Path, command: str) -> None:
    from wavegen.cli import main

    seq = tmp_path / "t.seq"
    assert main(["design", "gre", "--matrix", "32", "-o", str(seq)]) == 0
    out = tmp_path / ("out.npz" if command == "render" else "out.seq")
    out.write_bytes(OLD)
    args = (["render", str(seq), "--rate", "1 MHz", "-o", str(out)] if command == "render"
            else ["design", "gre", "--matrix", "64", "-o", str(out)])
    r = subprocess.run([sys.executable, "-c", _CLI_CHILD, *args], capture_output=True, text=True, timeout=120,
                       cwd=tmp_path)
    assert r.returncode != 0, r.stdout + r.stderr  # the write failed ...
    assert out.read_bytes() == OLD  # ... and the previous file is intact
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]  # no temporary file left behind
