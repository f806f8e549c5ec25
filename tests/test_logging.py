"""One logging convention: every module logs through ``logger = logging.getLogger(__name__)``, and the
one ``NullHandler`` sits on the ``wavegen`` logger (wavegen/__init__.py)."""

from __future__ import annotations

import ast
import importlib
import logging
import pkgutil
from pathlib import Path

import pytest
import wavegen.drivers

import wavegen

ROOT = Path(__file__).resolve().parents[1]
_PACKAGE_INIT = ROOT / "wavegen" / "__init__.py"


def _sources() -> list[Path]:
    return sorted(p for folder in ("wavegen", "drivers") for p in (ROOT / folder).rglob("*.py")
                  if "__pycache__" not in p.parts)


def _is_get_logger(node: ast.AST) -> bool:
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "getLogger"
            and isinstance(node.func.value, ast.Name) and node.func.value.id == "logging")


def _is_name_dunder(node: ast.Call) -> bool:
    return len(node.args) == 1 and not node.keywords and isinstance(node.args[0], ast.Name) \
        and node.args[0].id == "__name__"


def module_logger_problems(path: Path, source: str | None = None) -> list[str]:
    """The breaches of the convention in one file, as ``file:line: what`` strings."""
    tree = ast.parse(path.read_text() if source is None else source)
    problems = []
    for stmt in tree.body:  # module level: the loggers a module keeps
        value = getattr(stmt, "value", None)
        if isinstance(stmt, ast.Assign | ast.AnnAssign) and value is not None and _is_get_logger(value):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            names = [t.id for t in targets if isinstance(t, ast.Name)]
            if names != ["logger"]:
                problems.append(f"{path}:{stmt.lineno}: module logger named {names}, not 'logger'")
            if not _is_name_dunder(value):
                problems.append(f"{path}:{stmt.lineno}: module logger not named by __name__")
    for node in ast.walk(tree):  # anywhere: adding a NullHandler
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "addHandler"
                and node.args and isinstance(node.args[0], ast.Call)
                and isinstance(node.args[0].func, ast.Attribute | ast.Name)
                and getattr(node.args[0].func, "attr", getattr(node.args[0].func, "id", "")) == "NullHandler"
                and path.resolve() != _PACKAGE_INIT.resolve()):
            problems.append(f"{path}:{node.lineno}: a NullHandler outside wavegen/__init__.py")
    return problems


def test_every_module_logger_is_named_logger_and_by_its_module():
    problems = [p for path in _sources() for p in module_logger_problems(path)]
    assert not problems, "\n".join(problems)


def test_the_wavegen_logger_has_exactly_one_null_handler():
    handlers = [h for h in logging.getLogger("wavegen").handlers if isinstance(h, logging.NullHandler)]
    assert len(handlers) == 1
    # and it is the only place: no child logger of the package carries its own (the drivers used to)
    for info in pkgutil.walk_packages(wavegen.drivers.__path__, prefix="wavegen.drivers."):
        importlib.import_module(info.name)
    for name, child in logging.Logger.manager.loggerDict.items():
        if name.startswith("wavegen.") and isinstance(child, logging.Logger):
            assert not any(isinstance(h, logging.NullHandler) for h in child.handlers), name


@pytest.mark.parametrize(("source", "what"), [
    ("import logging\nlog = logging.getLogger(__name__)\n", "named ['log']"),
    ("import logging\nlogger = logging.getLogger('wavegen.x')\n", "not named by __name__"),
    ("import logging\nlogger = logging.getLogger(__name__)\nlogger.addHandler(logging.NullHandler())\n",
     "NullHandler outside"),
])
def test_the_check_catches_each_breach(tmp_path, source, what):
    path = tmp_path / "module.py"
    problems = module_logger_problems(path, source)
    assert len(problems) == 1 and what in problems[0]


def test_the_check_accepts_the_convention(tmp_path):
    source = "import logging\nlogger = logging.getLogger(__name__)\n\ndef f():\n    logger.info('x')\n"
    assert module_logger_problems(tmp_path / "module.py", source) == []
