"""Atomic file writes: a file is either the old one or the complete new one, never half written.

:func:`atomic_write` writes to a temporary file in the destination's folder, flushes it to the disk
(``fsync``), then renames it over the destination with :func:`os.replace`, which POSIX and Windows
perform atomically within one file system. When anything fails before the rename (an exception in the
caller's code, a full disk, a file-size limit, Ctrl-C), the temporary file is removed and the previous
file is left untouched. A process killed by SIGKILL leaves at most a stray ``.<name>.*.tmp`` file next
to the destination, never a truncated destination.

>>> import pathlib, tempfile
>>> from wavegen.atomic import atomic_write
>>> out = pathlib.Path(tempfile.mkdtemp()) / "out.txt"
>>> with atomic_write(out) as fh:
...     _ = fh.write("complete")
>>> out.read_text()
'complete'

Sources: POSIX ``rename(2)`` (atomic replacement of the destination); Python :func:`os.replace`.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator
from typing import IO, Any

from wavegen.errors import RangeError

__all__ = ["atomic_write", "save_figure", "save_npz", "write_text"]


def _umask() -> int:
    # os.umask can only be read by setting it; set it back at once (the window is a few instructions)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_write(
    path: str | os.PathLike[str],
    mode: str = "w",
    *,
    encoding: str | None = "utf-8",
    newline: str | None = None,
    fsync: bool = True,
) -> Iterator[IO[Any]]:
    """Open a temporary file for writing that replaces ``path`` when the ``with`` block succeeds.

    Parameters
    ----------
    path
        The destination file. Its folder must exist.
    mode
        ``"w"`` (text) or ``"wb"`` (binary).
    encoding, newline
        As for :func:`open`, text mode only (default UTF-8, newline as :func:`open`).
    fsync
        Flush the data to the disk before the rename (default True; the rename of a file whose data
        is not on the disk yet can survive a power cut as an empty file on some file systems).

    Yields
    ------
    file object
        Write to it; do not close it (the context manager does).

    Notes
    -----
    The new file gets the permissions of a normally created file (``0o666`` less the umask), or the
    permission bits of the file it replaces when that exists, not the ``0o600`` of a temporary file.
    Symbolic links at ``path`` are replaced by a regular file (the link target is not written).

    Raises
    ------
    RangeError
        For a mode other than ``"w"`` or ``"wb"``.
    OSError
        When the temporary file cannot be created, written or renamed (the destination is unchanged).
    """
    if mode not in ("w", "wb"):
        raise RangeError(f"atomic_write mode = {mode!r} must be 'w' or 'wb'")
    dest = os.path.abspath(os.fspath(path))
    folder, name = os.path.split(dest)
    try:
        st = os.stat(dest)
        perms = stat.S_IMODE(st.st_mode) if stat.S_ISREG(st.st_mode) else 0o666 & ~_umask()
    except FileNotFoundError:
        perms = 0o666 & ~_umask()
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
    fh: IO[Any] | None = None
    try:
        if mode == "wb":
            fh = os.fdopen(fd, "wb")
        else:
            fh = os.fdopen(fd, "w", encoding=encoding, newline=newline)
        yield fh
        fh.flush()
        if fsync:
            os.fsync(fh.fileno())
        fh.close()
        os.chmod(tmp, perms)
        os.replace(tmp, dest)
        if fsync:
            _fsync_folder(folder)
    except BaseException:
        if fh is not None:
            with contextlib.suppress(OSError):
                fh.close()
        else:
            with contextlib.suppress(OSError):
                os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _fsync_folder(folder: str) -> None:
    """Make the rename itself durable (POSIX); a no-op where folders cannot be opened (Windows)."""
    try:
        dfd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(dfd)
    finally:
        os.close(dfd)


def save_npz(path: str | os.PathLike[str], **arrays: Any) -> None:
    """:func:`numpy.savez` through :func:`atomic_write`: the previous file survives a failed write."""
    import numpy as np

    with atomic_write(path, "wb") as f:
        np.savez(f, **arrays)


def write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` (UTF-8) through :func:`atomic_write`."""
    with atomic_write(path, "w") as f:
        f.write(text)


def save_figure(fig: Any, path: str | os.PathLike[str], **kwargs: Any) -> None:
    """``fig.savefig`` through :func:`atomic_write`, in the format the file name's suffix says."""
    fmt = os.fspath(path).rsplit(".", 1)[-1].lower() if "." in os.path.basename(os.fspath(path)) else "png"
    with atomic_write(path, "wb") as f:
        fig.savefig(f, format=fmt, **kwargs)
