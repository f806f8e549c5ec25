"""Build of wavegen's C kernels; everything else about the package is in ``pyproject.toml``.

setuptools compiles cffi's API-mode extensions through the ``cffi_modules`` keyword of ``setup()``
(cffi documentation, "Preparing and Distributing modules": "Distributing modules using CFFI"), which
``pyproject.toml`` cannot express; this file passes it, the per-compiler flags, the package list and
the files of ``native/`` an sdist must carry.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_ext import build_ext
from setuptools.command.sdist import sdist
from setuptools.errors import CompileError

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT / "native"))
from build_native import compile_args  # noqa: E402


def packages() -> list[str]:
    """Every package under ``wavegen/``, and ``drivers/`` installed as ``wavegen.drivers``.

    Found rather than listed, so a new sub-package is never left out of the wheel.
    """
    found = find_packages(where=str(ROOT), include=["wavegen", "wavegen.*"])
    found += ["wavegen.drivers"] + [f"wavegen.drivers.{p}" for p in find_packages(where=str(ROOT / "drivers"))]
    return sorted(found)


def native_files() -> list[str]:
    """Every file of ``native/`` (the cffi script, sources, headers, declarations, the ASan check),
    as paths relative to this folder: what a wheel built from the sdist needs."""
    return sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "native").iterdir()
                  if p.is_file() and p.suffix in {".py", ".c", ".h", ".cdef", ".sh"})


class Sdist(sdist):
    """``sdist`` that carries all of ``native/`` (setuptools adds only the C sources by itself)."""

    def make_release_tree(self, base_dir: str, files: list[str]) -> None:
        super().make_release_tree(base_dir, sorted(set(files) | set(native_files())))


class BuildExt(build_ext):
    """``build_ext`` that gives the kernels the flags of the compiler setuptools chose."""

    def _accepts(self, flag: str) -> bool:
        # compile an empty translation unit with the flag; a compiler that rejects it fails
        with tempfile.TemporaryDirectory() as tmp:
            source = os.path.join(tmp, "probe.c")
            with open(source, "w") as f:
                f.write("int wavegen_probe(void) { return 0; }\n")
            try:
                self.compiler.compile([source], output_dir=tmp, extra_postargs=[flag])
            except CompileError:
                return False
        return True

    def build_extensions(self) -> None:
        flags = compile_args(self.compiler.compiler_type, self._accepts)
        for ext in self.extensions:
            ext.extra_compile_args = flags + list(ext.extra_compile_args or [])
        super().build_extensions()


if __name__ == "__main__":  # setuptools runs this file as __main__; tests import packages() from it
    setup(
        packages=packages(),
        package_dir={"wavegen.drivers": "drivers"},
        cffi_modules=["native/build_native.py:ffibuilder"],
        cmdclass={"build_ext": BuildExt, "sdist": Sdist},
    )
