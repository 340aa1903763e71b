"""Product code stays small: modules, classes and functions named for what they hold.

No module over :data:`MAX_MODULE_LINES` lines, no class over
:data:`MAX_CLASS_LINES`, no function over :data:`MAX_FUNCTION_LINES` (decorators
and docstrings included, as the source shows them).
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "custom_components" / "keyholder"
MAX_MODULE_LINES = 400
MAX_CLASS_LINES = 250
MAX_FUNCTION_LINES = 60


def oversized(root: Path) -> list[str]:
    """Return "path: what (lines)" for each module, class or function too long."""
    found: list[str] = []
    for path in sorted(root.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        name = path.relative_to(root).as_posix()
        if (lines := len(source.splitlines())) > MAX_MODULE_LINES:
            found.append(f"{name}: module ({lines})")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.ClassDef):
                limit, what = MAX_CLASS_LINES, "class"
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                limit, what = MAX_FUNCTION_LINES, "function"
            else:
                continue
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            length = (node.end_lineno or node.lineno) - first + 1
            if length > limit:
                found.append(f"{name}: {what} {node.name} ({length})")
    return found


def test_product_code_is_small() -> None:
    assert list(PACKAGE.rglob("*.py"))
    assert oversized(PACKAGE) == []


def test_checker_finds_what_is_too_long(tmp_path: Path) -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    (tmp_path / "long_function.py").write_text(f"def f():\n{body}\n")
    (tmp_path / "fine.py").write_text("def g():\n    return 1\n")
    fields = "\n".join(f"    y{i} = {i}" for i in range(MAX_CLASS_LINES))
    (tmp_path / "long_class.py").write_text(f"class C:\n{fields}\n")
    (tmp_path / "long_module.py").write_text("x = 1\n" * (MAX_MODULE_LINES + 1))
    assert oversized(tmp_path) == [
        f"long_class.py: class C ({MAX_CLASS_LINES + 1})",
        f"long_function.py: function f ({MAX_FUNCTION_LINES + 1})",
        f"long_module.py: module ({MAX_MODULE_LINES + 1})",
    ]
