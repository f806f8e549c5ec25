"""Build the C kernels in ``native/`` into the extension ``wavegen._native`` (cffi, API mode).

Every ``native/*.c`` file is compiled into the one extension; the declarations cffi exposes to Python
come from the matching ``native/*.cdef`` files (plain C prototypes, no preprocessor lines). Adding a
kernel is adding a ``.c`` and a ``.cdef`` file (and a ``.h`` where the kernel has types of its own:
with a header beside it, the header is included instead of the ``.cdef`` text); nothing here changes.

Used three ways:

- by ``pip install .`` through the ``cffi_modules`` hook (``native/build_backend.py``);
- ``python native/build_native.py --inplace``: build next to the sources for development;
- ``python native/build_native.py --sanitize``: see ``native/check_memory.sh``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from cffi import FFI

HERE = Path(__file__).resolve().parent

# -O3 for vectorization; -ffp-contract=off so results do not depend on whether the compiler fuses
# multiply-adds (the NumPy reference never does); -fopenmp-simd only enables `#pragma omp simd`
# (no OpenMP runtime is linked).
_CFLAGS = ["-O3", "-std=c99", "-ffp-contract=off", "-fopenmp-simd", "-fno-math-errno"]


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
        extra_compile_args=_CFLAGS + (extra_compile_args or []),
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
        out = make_builder(flags + ["-O1", "-g"], absolute=True, extra_link_args=flags).compile(
            tmpdir=str(outdir / "build"), verbose=False
        )
        target = outdir / "wavegen" / Path(out).name
        Path(out).replace(target)
        print(target)
    elif "--inplace" in sys.argv:
        # development build: the extension lands in wavegen/ next to the Python sources
        out = make_builder(absolute=True).compile(tmpdir=str(HERE.parent / "build" / "cffi"), verbose=False)
        # the name pip's editable build uses too, so the two never shadow each other
        name = "_native.abi3.so" if sys.platform.startswith("linux") else Path(out).name
        target = HERE.parent / "wavegen" / name
        for stale in (HERE.parent / "wavegen").glob("_native*.so"):
            stale.unlink()
        Path(out).replace(target)
        print(target)
    else:
        print(__doc__)
