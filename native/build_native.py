"""Build the C kernels in ``native/`` into the extension ``wavegen._native`` (cffi, API mode).

Every ``native/*.c`` file is compiled into the one extension; the declarations cffi exposes to Python
come from the matching ``native/*.cdef`` files (plain C prototypes, no preprocessor lines). Adding a
kernel is adding a ``.c`` and a ``.cdef`` file (and a ``.h`` where the kernel has types of its own:
with a header beside it, the header is included instead of the ``.cdef`` text); nothing here changes.

The compiler flags depend on the compiler (:func:`compile_args`), which is only known when the build
runs: the builder itself carries none, and each way of building adds them.

Used three ways:

- by ``pip install .`` through setuptools' ``cffi_modules`` keyword in the top-level ``setup.py``
  (whose ``build_ext`` adds :func:`compile_args` for the compiler setuptools picked);
- ``python native/build_native.py --inplace``: build next to the sources for development;
- ``python native/build_native.py --sanitize DIR``: see ``native/check_memory.sh``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

from cffi import FFI

HERE = Path(__file__).resolve().parent

# GCC and Clang: -O3 for vectorization; -ffp-contract=off so results do not depend on whether the
# compiler fuses multiply-adds (the NumPy reference never does, and a chunked render must equal the
# whole render sample for sample); -fno-math-errno lets sqrt and friends inline.
_UNIX_FLAGS = ["-O3", "-std=c99", "-ffp-contract=off", "-fno-math-errno"]
# only enables `#pragma omp simd` (no OpenMP runtime is linked); a compiler that rejects it just
# ignores the pragmas, so it is probed rather than required
_UNIX_OPTIONAL_FLAGS = ["-fopenmp-simd"]
# MSVC: /O2 for speed; /fp:precise keeps IEEE semantics and, unlike /fp:fast or /fp:contract, never
# contracts a*b+c into an FMA (the meaning of -ffp-contract=off above).
_MSVC_FLAGS = ["/O2", "/fp:precise"]


def compile_args(compiler_type: str, accepts: Callable[[str], bool] | None = None) -> list[str]:
    """The compiler flags of the kernels for a compiler family.

    Parameters
    ----------
    compiler_type : str
        setuptools' name of the compiler family: ``"msvc"`` for Microsoft's compiler; ``"unix"``,
        ``"mingw32"`` or ``"cygwin"`` for GCC and Clang (which take the same flags).
    accepts : callable, optional
        ``accepts(flag)`` says whether the compiler at hand takes an optional flag; without it every
        optional flag is used.

    Returns
    -------
    list of str
        The flags. Both families keep floating-point contraction off, so the compiled kernels and the
        NumPy references round alike (GCC manual, "Options That Control Optimization",
        ``-ffp-contract``; Microsoft C++ docs, "/fp (Specify floating-point behavior)").
    """
    if compiler_type == "msvc":
        return list(_MSVC_FLAGS)
    optional = [f for f in _UNIX_OPTIONAL_FLAGS if accepts is None or accepts(f)]
    return _UNIX_FLAGS + optional


def default_compiler_type() -> str:
    """The compiler family a plain build on this platform uses (``ffi.compile``, ``--inplace``)."""
    return "msvc" if sys.platform == "win32" else "unix"


def _sources() -> list[Path]:
    return sorted(HERE.glob("*.c"))


def _cdefs() -> str:
    parts = []
    for path in sorted(HERE.glob("*.cdef")):
        parts.append(f"/* {path.name} */\n" + path.read_text())
    return "\n".join(parts)


def _headers() -> str:
    """The C preamble: each kernel's header, or, for a kernel without one, its .cdef prototypes
    (so no kernel function is ever called through an implicit declaration)."""
    lines = ["#include <stdint.h>", "#include <stddef.h>"]
    for path in sorted(HERE.glob("*.h")):
        lines.append(f'#include "{path.name}"')
    for path in sorted(HERE.glob("*.cdef")):
        if not path.with_suffix(".h").exists():
            lines.append(f"/* {path.name} */")
            lines.append(path.read_text())
    return "\n".join(lines)


def make_builder(
    extra_compile_args: list[str] | None = None,
    *,
    absolute: bool = False,
    extra_link_args: list[str] | None = None,
) -> FFI:
    """A cffi builder of the extension ``wavegen._native``.

    ``extra_compile_args`` are all the compiler flags it gets: the builder used by ``setup.py`` has
    none (its ``build_ext`` adds :func:`compile_args`), the development builds below pass them.
    """
    builder = FFI()
    builder.cdef(_cdefs())
    # setuptools runs this script from the project root and wants paths relative to it;
    # ffi.compile() changes into its tmpdir and needs absolute ones.
    rel = str(HERE)
    if not absolute:
        try:
            rel = os.path.relpath(HERE, Path.cwd())
        except ValueError:  # different drive on Windows
            pass
    builder.set_source(
        "wavegen._native",
        _headers(),
        sources=[os.path.join(rel, p.name) for p in _sources()],
        include_dirs=[rel],
        extra_compile_args=extra_compile_args or [],
        extra_link_args=extra_link_args or [],
        libraries=["m"] if sys.platform != "win32" else [],
    )
    return builder


ffibuilder = make_builder()

if __name__ == "__main__":
    if "--sanitize" in sys.argv:
        # python native/build_native.py --sanitize DIR: an AddressSanitizer + UBSan build into DIR
        outdir = Path(sys.argv[sys.argv.index("--sanitize") + 1]).resolve()
        flags = ["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-fno-sanitize-recover=undefined"]
        # -O1 after -O3: the last level wins, and the sanitizers' reports stay readable
        cflags = compile_args("unix") + flags + ["-O1", "-g"]
        out = make_builder(cflags, absolute=True, extra_link_args=flags).compile(
            tmpdir=str(outdir / "build"), verbose=False
        )
        target = outdir / "wavegen" / Path(out).name
        Path(out).replace(target)
        print(target)
    elif "--inplace" in sys.argv:
        # development build: the extension lands in wavegen/ next to the Python sources
        builder = make_builder(compile_args(default_compiler_type()), absolute=True)
        out = builder.compile(tmpdir=str(HERE.parent / "build" / "cffi"), verbose=False)
        # the name pip's editable build uses too, so the two never shadow each other
        name = "_native.abi3.so" if sys.platform.startswith("linux") else Path(out).name
        target = HERE.parent / "wavegen" / name
        for stale in (HERE.parent / "wavegen").glob("_native*.so"):
            stale.unlink()
        Path(out).replace(target)
        print(target)
    else:
        print(__doc__)
