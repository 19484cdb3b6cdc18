"""Tests follow the layout of docs/development.md: fixtures are found by pytest in the
conftest where they belong, never imported, and no test module imports another."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def imported_test_modules(path: Path) -> list[str]:
    """The modules under tests/ that ``path`` imports which are a conftest or a test_*."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        for name in names:
            last = name.rsplit(".", 1)[-1]
            if name.startswith("tests.") and (last == "conftest" or last.startswith("test_")):
                found.append(name)
    return found


def test_no_test_imports_a_conftest_or_another_test_module():
    offenders = {
        str(path.relative_to(TESTS)): modules
        for path in sorted(TESTS.rglob("*.py"))
        if (modules := imported_test_modules(path))
    }
    assert offenders == {}


def test_the_check_finds_such_an_import(tmp_path):
    planted = tmp_path / "test_planted.py"
    planted.write_text(
        "from tests.cases.conftest import world\nimport tests.hotline.test_api\n"
        "from tests.builders import org\n"
    )
    assert imported_test_modules(planted) == ["tests.cases.conftest", "tests.hotline.test_api"]
