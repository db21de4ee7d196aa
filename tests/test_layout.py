"""The layout holds: imports go one way, every part of `tools/` imports only the parts below it, modules stay small."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ("assistant", "tools", "memory")

# What each part of `tools/` may import besides itself, `tools.errors` and `memory` (see each __init__.py).
TOOLS_ALLOWED: dict[str, set[str]] = {
    "contracts": set(),
    "llm": {"contracts"},
    "sources": {"contracts", "errors"},
    "qc": {"contracts", "llm", "stages.brief", "sources"},
    "stages": {"contracts", "llm", "qc.schema", "sources"},
    "engine": {"contracts", "llm", "stages", "qc", "sources"},
    "finish": {"contracts", "llm", "qc", "engine"},
    "export": {"contracts"},
    "pipeline": {"contracts", "llm", "stages", "qc", "engine", "finish", "export", "sources"},
    "refresh": {"contracts", "llm", "engine", "finish", "export", "pipeline", "sources"},
    "sharing": set(),
    "errors": set(),
}


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def _part(path: Path) -> str:
    relative = path.relative_to(ROOT / "tools")
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def _allowed(part: str, imported: str) -> bool:
    target = imported.removeprefix("tools.")
    if target == "errors" or target.split(".")[0] == part:
        return True
    return any(target == allowed or target.startswith(allowed + ".") for allowed in TOOLS_ALLOWED[part])


@pytest.mark.parametrize("path", _modules("tools"), ids=lambda p: str(p.relative_to(ROOT)))
def test_each_part_of_tools_imports_only_the_parts_below_it(path: Path) -> None:
    part = _part(path)
    if part == "__init__":
        return
    wrong = [name for name in _imports(path) if name.startswith("tools.") and not _allowed(part, name)]
    assert not wrong, f"{path.relative_to(ROOT)} ({part}) may not import {wrong}"
    assert not [name for name in _imports(path) if name.split(".")[0] in ("assistant", "chainlit")]


@pytest.mark.parametrize("path", _modules("memory"), ids=lambda p: str(p.relative_to(ROOT)))
def test_memory_imports_neither_tools_nor_the_assistant(path: Path) -> None:
    assert not [name for name in _imports(path) if name.split(".")[0] in ("tools", "assistant", "chainlit", "pydantic_ai")]


def test_every_part_of_tools_says_what_it_owns() -> None:
    for package in sorted(p for p in (ROOT / "tools").iterdir() if p.is_dir() and p.name != "__pycache__"):
        init = package / "__init__.py"
        assert init.exists(), f"{package.name} is not a package"
        docstring = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert docstring and len(docstring) > 80, f"tools/{package.name}/__init__.py needs a docstring saying what it owns"


def test_few_modules_stay_at_the_top_of_tools() -> None:
    top = [p.name for p in (ROOT / "tools").glob("*.py") if p.name != "__init__.py"]
    assert len(top) <= 8, top


@pytest.mark.parametrize("package", PRODUCT)
def test_no_product_module_is_over_400_lines(package: str) -> None:
    long = {str(p.relative_to(ROOT)): n for p in _modules(package)
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 400}
    assert not long, long
