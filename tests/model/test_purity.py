"""The model must stay pure Python: standard library and relative imports only."""

from __future__ import annotations

import ast
from pathlib import Path
import sys

import pytest

ENGINE = (
    Path(__file__).resolve().parents[2] / "custom_components" / "keyholder" / "model"
)


def forbidden_imports(source: str) -> list[str]:
    """Return the non-stdlib absolute modules imported by ``source``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import inside the model package
                continue
            names = [node.module or ""]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            if top == "homeassistant" or top not in sys.stdlib_module_names:
                found.append(name)
    return found


def engine_files() -> list[Path]:
    return sorted(ENGINE.rglob("*.py"))


def test_engine_files_found() -> None:
    names = {path.name for path in engine_files()}
    assert {"__init__.py", "values.py", "schedule.py", "plan.py"} <= names


@pytest.mark.parametrize("path", engine_files(), ids=lambda path: path.name)
def test_engine_module_imports_only_stdlib(path: Path) -> None:
    assert forbidden_imports(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    "source",
    [
        "import homeassistant",
        "import homeassistant.core as ha",
        "from homeassistant.core import HomeAssistant",
        "import voluptuous",
        "from attr import define",
        "def f():\n    import homeassistant.util.dt\n",
        "if True:\n    from homeassistant import const\n",
    ],
)
def test_checker_detects_forbidden_imports(source: str) -> None:
    assert forbidden_imports(source) != []


def test_checker_accepts_stdlib_and_relative_imports() -> None:
    source = (
        "from __future__ import annotations\n"
        "import datetime, zoneinfo\n"
        "from dataclasses import dataclass\n"
        "from .model import Key\n"
        "from . import schedule\n"
    )
    assert forbidden_imports(source) == []


def test_checker_fails_on_injected_import_in_real_module() -> None:
    source = (ENGINE / "values.py").read_text(encoding="utf-8")
    assert forbidden_imports(source) == []
    assert forbidden_imports(source + "\nimport homeassistant\n") == ["homeassistant"]
