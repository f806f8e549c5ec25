"""The build: version in one place, flags per compiler, every package installed, and a clear message
when wavegen is imported from an unbuilt source tree."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import wavegen
from wavegen._source_tree import source_tree_problem

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]


def _load(path: Path, name: str) -> ModuleType:
    saved = list(sys.path)
    try:
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path[:] = saved  # setup.py puts native/ on sys.path for itself
    return module


@pytest.fixture(scope="module")
def setup_py() -> ModuleType:
    return _load(ROOT / "setup.py", "_wavegen_setup")


@pytest.fixture(scope="module")
def build_native() -> ModuleType:
    return _load(ROOT / "native" / "build_native.py", "_wavegen_build_native")


# --- version -------------------------------------------------------------------------------------


def test_version_is_written_once_and_read_from_the_metadata():
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert wavegen.__version__ == importlib.metadata.version("wavegen") == declared
    # nowhere else in the package is a version literal
    for path in (ROOT / "wavegen").rglob("*.py"):
        assert f'__version__ = "{declared}"' not in path.read_text(), path


# --- compiler flags ------------------------------------------------------------------------------


def test_gcc_and_clang_flags_keep_contraction_off(build_native):
    flags = build_native.compile_args("unix")
    assert "-ffp-contract=off" in flags and "-O3" in flags
    assert not any(f.startswith("/") for f in flags)


def test_msvc_flags_are_msvc_flags(build_native):
    flags = build_native.compile_args("msvc")
    assert flags == ["/O2", "/fp:precise"]


def test_an_optional_flag_the_compiler_rejects_is_dropped_but_the_required_ones_stay(build_native):
    asked: list[str] = []

    def rejects_all(flag: str) -> bool:
        asked.append(flag)
        return False

    flags = build_native.compile_args("unix", rejects_all)
    assert "-fopenmp-simd" not in flags and "-fopenmp-simd" in asked
    assert "-ffp-contract=off" in flags and "-ffp-contract=off" not in asked  # never probed away


@pytest.mark.parametrize(("compiler_type", "expected"), [("msvc", "/fp:precise"), ("unix", "-ffp-contract=off")])
def test_build_ext_gives_each_extension_its_compilers_flags(setup_py, monkeypatch, compiler_type, expected):
    from setuptools import Distribution, Extension
    from setuptools.command.build_ext import build_ext

    built: list[list[str]] = []
    monkeypatch.setattr(build_ext, "build_extensions",
                        lambda self: built.extend(list(e.extra_compile_args) for e in self.extensions))
    cmd = setup_py.BuildExt(Distribution())
    cmd.compiler = type("FakeCompiler", (), {"compiler_type": compiler_type})()
    cmd.extensions = [Extension("wavegen._native", ["x.c"], extra_compile_args=["-DKEEP"])]
    monkeypatch.setattr(cmd, "_accepts", lambda flag: True)
    cmd.build_extensions()
    assert len(built) == 1 and expected in built[0] and built[0][-1] == "-DKEEP"


# --- packages ------------------------------------------------------------------------------------


def _source_packages() -> list[str]:
    names = []
    for init in (ROOT / "wavegen").rglob("__init__.py"):
        names.append(".".join(init.parent.relative_to(ROOT).parts))
    for init in (ROOT / "drivers").rglob("__init__.py"):
        names.append(".".join(("wavegen",) + init.parent.relative_to(ROOT).parts))
    return sorted(n for n in names if "__pycache__" not in n)


def test_setup_finds_every_package_of_the_tree(setup_py):
    assert setup_py.packages() == _source_packages()
    assert "wavegen.drivers.mock" in setup_py.packages()


@pytest.mark.parametrize("name", _source_packages())
def test_every_package_of_the_tree_is_installed(name):
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.origin is not None, f"{name} is in the tree but not installed"


def test_the_sdist_carries_everything_native_needs(setup_py, monkeypatch):
    from setuptools import Distribution
    from setuptools.command.sdist import sdist

    released: list[str] = []
    monkeypatch.setattr(sdist, "make_release_tree", lambda self, base_dir, files: released.extend(files))
    setup_py.Sdist(Distribution()).make_release_tree("unused", ["README.md", "native/bloch.c"])
    needed = ["native/build_native.py"] + [p.relative_to(ROOT).as_posix() for p in (ROOT / "native").iterdir()
                                           if p.suffix in (".c", ".h", ".cdef")]
    assert set(needed) <= set(released) and "README.md" in released
    assert len(released) == len(set(released))


# --- an unbuilt source tree ----------------------------------------------------------------------


def _fake_tree(root: Path, project: str = "wavegen") -> Path:
    (root / "wavegen").mkdir(parents=True)
    (root / "drivers").mkdir()
    (root / "pyproject.toml").write_text(f'[project]\nname = "{project}"\nversion = "0.1.0"\n')
    return root / "wavegen"


def test_an_unbuilt_source_tree_is_named_with_what_to_do(tmp_path):
    message = source_tree_problem(_fake_tree(tmp_path), drivers_found=False)
    assert message is not None
    assert f"source tree at {tmp_path.resolve()}" in message
    assert "pip install -e ." in message and "another folder" in message


def test_an_editable_install_of_the_tree_is_fine(tmp_path):
    # an editable install maps wavegen.drivers to the tree's drivers/
    assert source_tree_problem(_fake_tree(tmp_path), drivers_found=True) is None


def test_an_installed_package_is_not_a_source_tree(tmp_path):
    (tmp_path / "site-packages" / "wavegen").mkdir(parents=True)
    assert source_tree_problem(tmp_path / "site-packages" / "wavegen", drivers_found=False) is None


def test_another_projects_tree_is_not_wavegens(tmp_path):
    assert source_tree_problem(_fake_tree(tmp_path, project="other"), drivers_found=False) is None


def test_importing_from_an_unbuilt_tree_fails_with_the_message_only(tmp_path):
    # the package's own sources, laid out as a checkout: wavegen/ beside pyproject.toml and drivers/
    package = Path(wavegen.__file__).parent
    shutil.copytree(package, tmp_path / "wavegen",
                    ignore=shutil.ignore_patterns("drivers", "_native*", "__pycache__"))
    (tmp_path / "drivers").mkdir()
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "WAVEGEN_REQUIRE_NATIVE")}
    # -S: no site-packages, so nothing installed can map wavegen.drivers (as after a non-editable install)
    proc = subprocess.run([sys.executable, "-S", "-c", "import wavegen"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("wavegen.errors.NativeBackendError: you are importing wavegen from its source tree")
    assert "pip install -e ." in last
    # one message: no NumPy-fallback warning, no ModuleNotFoundError before it
    assert "NumPy" not in proc.stderr and "ModuleNotFoundError" not in proc.stderr
