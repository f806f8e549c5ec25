"""The import graph of wavegen: cycles, private names used across modules, rooms and their sizes.

Run ``python -m wavegen.testing.imports`` (from anywhere; it reads the installed or source package) for
the figures; ``tests/test_imports.py`` fails on any cycle or private-name import. An import counts
wherever it is written (module level or inside a function), except under ``if TYPE_CHECKING:``: a late
import is still a dependency, only a deferred one.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["ImportGraph", "Module", "scan", "find_cycles", "main"]


@dataclass
class Module:
    """One module of the package: its dotted name, file, lines, and what it imports."""

    name: str
    path: Path
    is_package: bool
    lines: int
    imports: set[str] = field(default_factory=set)
    #: (line, text) of every private name taken from another module
    private_uses: list[tuple[int, str]] = field(default_factory=list)


@dataclass
class ImportGraph:
    modules: dict[str, Module]

    @property
    def edges(self) -> int:
        return sum(len(m.imports) for m in self.modules.values())

    @property
    def rooms(self) -> list[str]:
        """The packages (folders), each a room with one job."""
        return sorted(n for n, m in self.modules.items() if m.is_package)

    def largest(self, k: int = 1) -> list[Module]:
        return sorted(self.modules.values(), key=lambda m: -m.lines)[:k]

    def cycles(self) -> list[list[str]]:
        return find_cycles({n: m.imports for n, m in self.modules.items()})

    def private_uses(self) -> Iterator[tuple[str, int, str]]:
        for n, m in sorted(self.modules.items()):
            for line, text in m.private_uses:
                yield n, line, text


def _package_roots() -> dict[str, Path]:
    """``{dotted prefix: folder}``: wavegen itself and the drivers folder installed as wavegen.drivers."""
    import wavegen
    import wavegen.drivers

    return {"wavegen": Path(wavegen.__file__).parent, "wavegen.drivers": Path(wavegen.drivers.__file__).parent}


def _walk(prefix: str, root: Path) -> Iterator[tuple[str, Path, bool]]:
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).with_suffix("")
        parts = list(rel.parts)
        if any(p.startswith(".") or p == "__pycache__" for p in parts):
            continue
        is_pkg = parts[-1] == "__init__"
        if is_pkg:
            parts = parts[:-1]
        yield ".".join([prefix, *parts]) if parts else prefix, path, is_pkg


def _type_checking_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If):
            t = node.test
            name = t.id if isinstance(t, ast.Name) else t.attr if isinstance(t, ast.Attribute) else ""
            if name == "TYPE_CHECKING":
                for sub in node.body:
                    for n in ast.walk(sub):
                        if hasattr(n, "lineno"):
                            lines.add(n.lineno)
    return lines


def _resolve(module: str, is_pkg: bool, level: int, target: str | None) -> str:
    if level == 0:
        return target or ""
    base = module.split(".") if is_pkg else module.split(".")[:-1]
    base = base[: len(base) - (level - 1)] if level > 1 else base
    return ".".join([*base, target] if target else base)


def scan(roots: dict[str, Path] | None = None) -> ImportGraph:
    """Parse every module under ``roots`` (default: the wavegen package and its drivers)."""
    roots = roots or _package_roots()
    found: dict[str, Module] = {}
    tops = {p.split(".")[0] for p in roots}
    for prefix, root in roots.items():
        for name, path, is_pkg in _walk(prefix, root):
            if prefix == "wavegen" and name.startswith("wavegen.drivers") and "wavegen.drivers" in roots:
                continue
            found[name] = Module(name, path, is_pkg, len(path.read_text(encoding="utf-8").splitlines()))
    for mod in found.values():
        tree = ast.parse(mod.path.read_text(encoding="utf-8"))
        skip = _type_checking_lines(tree)
        module_aliases: dict[str, str] = {}
        for node in ast.walk(tree):
            if getattr(node, "lineno", None) in skip:
                continue
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.name in found or a.name.split(".")[0] in tops:
                        target = a.name if a.name in found else _nearest(a.name, found)
                        if target and target != mod.name:
                            mod.imports.add(target)
                        if a.asname and a.name in found:
                            module_aliases[a.asname] = a.name
            elif isinstance(node, ast.ImportFrom):
                src = _resolve(mod.name, mod.is_package, node.level, node.module)
                if src.split(".")[0] not in tops:
                    continue
                for a in node.names:
                    sub = f"{src}.{a.name}"
                    if sub in found:  # a module imported from its package
                        if sub != mod.name:
                            mod.imports.add(sub)
                        module_aliases[a.asname or a.name] = sub
                        continue
                    target = src if src in found else _nearest(src, found)
                    if target and target != mod.name:
                        mod.imports.add(target)
                    if a.name.startswith("_") and not a.name.startswith("__"):
                        mod.private_uses.append((node.lineno, f"from {src} import {a.name}"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in module_aliases
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
                and f"{module_aliases[node.value.id]}.{node.attr}" not in found
                and module_aliases[node.value.id] != mod.name
            ):
                mod.private_uses.append((node.lineno, f"{module_aliases[node.value.id]}.{node.attr}"))
    return ImportGraph(found)


def _nearest(name: str, found: dict[str, Module]) -> str | None:
    parts = name.split(".")
    while parts:
        if ".".join(parts) in found:
            return ".".join(parts)
        parts.pop()
    return None


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted, sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in graph:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10 * len(graph) + 100))
    try:
        for v in sorted(graph):
            if v not in index:
                visit(v)
    finally:
        sys.setrecursionlimit(limit)
    return sorted(out)


def main(argv: list[str] | None = None) -> int:
    """Print the figures; exit 1 when there is a cycle or a private-name import."""
    g = scan()
    cycles = g.cycles()
    private = list(g.private_uses())
    big = g.largest(3)
    print(f"modules {len(g.modules)}, rooms (packages) {len(g.rooms)}, import edges {g.edges}")
    print(f"rooms: {', '.join(g.rooms)}")
    print(f"largest modules: {', '.join(f'{m.name} ({m.lines} lines)' for m in big)}")
    print(f"import cycles: {len(cycles)}")
    for c in cycles:
        print("  " + " <-> ".join(c))
    print(f"private names imported across modules: {len(private)}")
    for name, line, text in private:
        print(f"  {name}:{line}: {text}")
    return 1 if cycles or private else 0


if __name__ == "__main__":
    raise SystemExit(main())
