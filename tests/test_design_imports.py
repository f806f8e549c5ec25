"""The design package has no import cycles and imports no private name across modules (issue 11 item 2).

Walks every ``import`` in the sources (module level and inside functions) with :mod:`ast`.
"""

from __future__ import annotations

import ast
from pathlib import Path

import wavegen

ROOT = Path(wavegen.__file__).parent
FILES = sorted((ROOT / "design").glob("*.py")) + [ROOT / "validate.py", ROOT / "limits.py", ROOT / "units.py"]


def _module(path: Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    """(module imported, names imported from it) for every import statement in ``path``."""
    out: list[tuple[str, list[str]]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.module, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            out.extend((a.name, []) for a in node.names)
    return out


def test_no_private_name_is_imported_across_modules():
    bad = [
        f"{_module(p)} imports {name} from {mod}"
        for p in FILES
        for mod, names in _imports(p)
        if mod.startswith("wavegen") and mod not in ("wavegen._backend",)
        for name in names
        if name.startswith("_") and not name.startswith("__")
    ]
    assert bad == []


def test_no_import_cycles_in_design():
    graph: dict[str, set[str]] = {}
    for p in FILES:
        mod = _module(p)
        deps = set()
        for imported, names in _imports(p):
            if imported.startswith("wavegen"):
                deps.add(imported)
                # "from wavegen.design import bloch" imports the submodule
                deps.update(f"{imported}.{n}" for n in names if f"{imported}.{n}" in {_module(f) for f in FILES})
        graph[mod] = deps - {mod}
    # the package __init__ imports everything by design; a cycle through it is not a module cycle
    graph.pop("wavegen.design", None)
    cycles = []

    def visit(node: str, stack: list[str]) -> None:
        if node in stack:
            cycles.append(stack[stack.index(node):] + [node])
            return
        for dep in sorted(graph.get(node, ())):
            if dep in graph:
                visit(dep, stack + [node])

    for start in graph:
        visit(start, [])
    assert cycles == []


def test_no_module_re_exports_from_the_module_it_was_split_from():
    # rf.py re-exported rf_slice at its bottom; the public names now come from the package __init__
    rf = (ROOT / "design" / "rf.py").read_text(encoding="utf-8")
    assert "rf_slice" not in "".join(line for line in rf.splitlines() if line.startswith("from "))
    assert "noqa: E402" not in rf
    from wavegen import design

    for name in ("RFPulse", "slice_select_gradient", "slice_refocus_area_t_s_per_m", "sinc_pulse", "BlochResult"):
        assert hasattr(design, name), name
