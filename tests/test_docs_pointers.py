"""Every pointer to a document resolves inside the repository.

The sources, tests, benchmarks, examples, native code, README.md and docs/ are scanned for

- references to ``*.md`` documents (``docs/references/safety.md``, ``README.md``, a Markdown link);
- ``docs/...`` paths;
- section numbers after a document (``docs/references/safety.md §1.4``, ``... section 2.3``);
- the names of notes that live outside the repository (the working notes the code once cited).

A reference resolves when the path exists relative to the repository root or to the referring file's
folder (Markdown links), and each section number it names is the number of a heading in that document.
URLs are not pointers into the repository and are skipped.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_FOLDERS = ("wavegen", "drivers", "native", "bench", "examples", "tests", "docs")
_SUFFIXES = {".py", ".md", ".c", ".h", ".cdef", ".sh", ".ipynb"}

_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://\S+")
_MD_REF = re.compile(r"(?<![\w/.<-])((?:\.{1,2}/)*[\w-]+(?:[./][\w-]+)*\.md)(?![\w.-]*\w)")
_DOCS_PATH = re.compile(r"(?<![\w/.-])(docs/[\w./-]*[\w/])")
_SECTIONS = re.compile(
    r"\)?,?\s*(?:§\s*|sections?\s+)(\d+(?:\.\d+)*)((?:\s*(?:,|and)\s*(?:§\s*)?\d+(?:\.\d+)*)*)"
)
# the working notes the code used to cite by name, with or without ".md": not in the repository
_OUTSIDE = re.compile(r"\b(REFERENCES|[a-z]+_anchors|safety_physics|contracts\.md)\b")
_HEADING_NUMBER = re.compile(r"^#{1,6}\s+(\d+(?:\.\d+)*)\.?\s", re.MULTILINE)


def _files(root: Path) -> list[Path]:
    found = [root / "README.md"] if (root / "README.md").is_file() else []
    for folder in _FOLDERS:
        found += [p for p in (root / folder).rglob("*") if p.suffix in _SUFFIXES and p.is_file()
                  and "__pycache__" not in p.parts and ".ipynb_checkpoints" not in p.parts]
    return sorted(found)


def _resolve(root: Path, referrer: Path, target: str) -> Path | None:
    target = target.split("#", 1)[0]
    for base in (root, referrer.parent):
        candidate = (base / target).resolve()
        if candidate.exists() and candidate.is_relative_to(root.resolve()):
            return candidate
    return None


def _line(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def pointer_problems(root: Path, path: Path, text: str | None = None) -> list[str]:
    """The pointers in one file that do not resolve, as ``file:line: what`` strings."""
    text = path.read_text(encoding="utf-8") if text is None else text
    # blank the URLs out (same length, so line numbers stay right)
    text = _URL.sub(lambda m: " " * len(m.group(0)), text)
    where = path.relative_to(root) if path.is_relative_to(root) else path
    problems = []
    seen: set[tuple[int, str]] = set()  # a docs/... path to a .md file matches both patterns
    for m in _OUTSIDE.finditer(text):
        problems.append(f"{where}:{_line(text, m.start())}: {m.group(1)!r} names a note outside the repository")
    for regex in (_MD_REF, _DOCS_PATH):
        for m in regex.finditer(text):
            ref = m.group(1)
            if _OUTSIDE.search(ref) or (m.start(), ref) in seen:
                continue  # reported above, or already checked
            seen.add((m.start(), ref))
            target = _resolve(root, path, ref)
            if target is None:
                problems.append(f"{where}:{_line(text, m.start())}: {ref} does not exist in the repository")
                continue
            sections = _SECTIONS.match(text, m.end())
            if target.suffix != ".md" or sections is None:
                continue
            numbers = [sections.group(1)] + re.findall(r"\d+(?:\.\d+)*", sections.group(2) or "")
            headings = set(_HEADING_NUMBER.findall(target.read_text(encoding="utf-8")))
            for number in numbers:
                if number not in headings:
                    problems.append(f"{where}:{_line(text, m.start())}: {ref} has no section {number}")
    return problems


def test_every_pointer_resolves_inside_the_repository():
    this = Path(__file__).resolve()
    problems = [p for path in _files(ROOT) if path.resolve() != this  # this file spells the patterns
                for p in pointer_problems(ROOT, path)]
    assert not problems, f"{len(problems)} pointers do not resolve:\n" + "\n".join(problems)


def test_the_docs_exist():
    for page in ("docs/architecture.md", "docs/references/README.md", "docs/references/safety.md",
                 "docs/references/hil.md", "docs/references/instruments.md", "docs/references/design.md"):
        assert (ROOT / page).is_file(), page


# --- the scanner itself, on a made-up repository ----------------------------------------------------


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "docs" / "references").mkdir(parents=True)
    (tmp_path / "docs" / "references" / "safety.md").write_text("# Safety\n\n## 1. SAR\n\n### 1.4 Calibration\n")
    (tmp_path / "docs" / "architecture.md").write_text("# A\n\n## 4. The interlock\n\nSee [s](references/safety.md).\n")
    (tmp_path / "pkg").mkdir()
    return tmp_path


@pytest.mark.parametrize("text", [
    "see docs/references/safety.md §1.4",
    "see docs/references/safety.md section 1.4 and 1",
    "(docs/architecture.md §4)",
    "docs/references/ holds them",
    "https://github.com/org/repo/blob/main/OTHER.md is a URL",
    "a file.mdx or a foo.md_backup is no pointer",
])
def test_good_pointers_pass(repo, text):
    assert pointer_problems(repo, repo / "pkg" / "m.py", text) == []


@pytest.mark.parametrize(("text", "what"), [
    ("see docs/references/missing.md", "does not exist"),
    ("see research/notes.md section 2", "does not exist"),
    ("see docs/references/safety.md §2.3", "no section 2.3"),
    ("see docs/references/safety.md §1.4, §9", "no section 9"),
    ("see docs/nothing/here", "does not exist"),
    ("# " + "REFER" + "ENCES: 90 deg in 1 ms", "outside the repository"),
    ("(design" + "_anchors 5.2)", "outside the repository"),
])
def test_bad_pointers_fail(repo, text, what):
    problems = pointer_problems(repo, repo / "pkg" / "m.py", text)
    assert len(problems) == 1 and what in problems[0], problems


def test_markdown_links_resolve_relative_to_their_file(repo):
    page = repo / "docs" / "architecture.md"
    assert pointer_problems(repo, page) == []
    assert pointer_problems(repo, page, "[x](../docs/references/safety.md) [y](references/nope.md)") == [
        "docs/architecture.md:1: references/nope.md does not exist in the repository"
    ]
