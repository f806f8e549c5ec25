"""In-tree PEP 517 build backend: setuptools plus the cffi extension in ``native/``.

setuptools only learns about cffi's out-of-line (API mode) extensions through the ``cffi_modules``
keyword of ``setup()``. Everything else about the package lives in ``pyproject.toml``; this backend
passes that one keyword, so the project needs no ``setup.py`` at its top level.
"""

from __future__ import annotations

from setuptools import build_meta as _build_meta

_CFFI_MODULES = ["native/build_native.py:ffibuilder"]


class _Backend(_build_meta._BuildMetaBackend):  # type: ignore[name-defined,misc]
    def run_setup(self, setup_script: str = "setup.py") -> None:
        import setuptools

        setuptools.setup(cffi_modules=_CFFI_MODULES)


_backend = _Backend()

get_requires_for_build_wheel = _backend.get_requires_for_build_wheel
get_requires_for_build_sdist = _backend.get_requires_for_build_sdist
prepare_metadata_for_build_wheel = _backend.prepare_metadata_for_build_wheel
build_wheel = _backend.build_wheel
build_sdist = _backend.build_sdist
get_requires_for_build_editable = _backend.get_requires_for_build_editable
prepare_metadata_for_build_editable = _backend.prepare_metadata_for_build_editable
build_editable = _backend.build_editable
