"""Is ``wavegen`` being imported from an unbuilt source tree? One clear message instead of a late failure.

``python -c``, ``python -m`` and a notebook started in the repository root put that root first on
``sys.path``, so its ``wavegen/`` folder shadows the installed package. That folder holds neither
``wavegen.drivers`` (its sources live in the top-level ``drivers/`` and are mapped there by the
install) nor the compiled extension. An editable install (``pip install -e .``) maps both back into
the tree, and a copy of the package without the rest of the repository (``native/check_memory.sh``)
is not a source tree; only the case in between is refused, with what to do.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

__all__ = ["source_tree_problem", "check_source_tree"]


def _is_source_tree(root: Path) -> bool:
    """``root`` is a checkout of wavegen: its pyproject.toml names the project, drivers/ sits beside."""
    pyproject = root / "pyproject.toml"
    if not (pyproject.is_file() and (root / "drivers").is_dir()):
        return False
    try:
        text = pyproject.read_text(encoding="utf-8")
    except OSError:
        return False
    return 'name = "wavegen"' in text


def source_tree_problem(package_dir: Path, drivers_found: bool) -> str | None:
    """The message for importing wavegen from an unbuilt source tree, or ``None`` if all is well.

    Parameters
    ----------
    package_dir : Path
        The folder the ``wavegen`` package was imported from.
    drivers_found : bool
        Whether ``wavegen.drivers`` can be imported (an install maps it; a bare source tree lacks it).

    Returns
    -------
    str or None
        ``None`` when the package is installed (its folder is not in a wavegen checkout) or the
        checkout is installed in editable mode (``wavegen.drivers`` resolves); the message otherwise.

    Examples
    --------
    >>> source_tree_problem(Path("/nowhere/site-packages/wavegen"), drivers_found=False) is None
    True
    """
    root = Path(package_dir).resolve().parent
    if drivers_found or not _is_source_tree(root):
        return None
    return (
        f"you are importing wavegen from its source tree at {root}, which is not built (wavegen.drivers "
        f"and the compiled kernels are only put in place by an install): run `pip install -e .` in "
        f"{root}, or run Python from another folder so that the installed wavegen is imported"
    )


def check_source_tree(package_dir: str | Path) -> None:
    """Raise :class:`~wavegen.errors.NativeBackendError` (an ``ImportError``) with
    :func:`source_tree_problem`'s message when wavegen comes from an unbuilt source tree."""
    root = Path(package_dir).resolve().parent
    if not _is_source_tree(root):  # the common case, an installed package: two stat calls
        return
    problem = source_tree_problem(Path(package_dir), importlib.util.find_spec("wavegen.drivers") is not None)
    if problem is not None:
        from wavegen.errors import NativeBackendError

        raise NativeBackendError(problem)
