"""The layers of DESIGN.md hold, and a broken one is caught (issue 15).

``make lint`` runs import-linter with the contracts in pyproject.toml; these tests run it
too, so that ``make test`` fails on a broken layer, and prove on a copy of the package
that a planted upward import or cycle breaks a contract.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT = Path(sys.executable).with_name("lint-imports")

pytestmark = pytest.mark.skipif(not LINT.exists(), reason="import-linter is not installed")


def _lint(package_root: Path) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYTHONPATH": str(package_root)}
    return subprocess.run(  # noqa: S603
        [str(LINT), str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _copy_with(tmp_path: Path, module: str, line: str) -> Path:
    """A copy of the package with ``line`` appended to ``module`` (a path inside it)."""
    copy = tmp_path / "src"
    shutil.copytree(
        ROOT / "src" / "casebridge",
        copy / "casebridge",
        ignore=shutil.ignore_patterns("__pycache__", "locale", "static", "templates"),
    )
    target = copy / "casebridge" / module
    target.write_text(target.read_text() + "\n" + line + "\n")
    return copy


def test_every_layer_contract_is_kept():
    result = _lint(ROOT / "src")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_an_app_importing_the_operations_breaks_a_contract(tmp_path):
    copy = _copy_with(tmp_path, "cases/selectors.py", "from casebridge.ops import demo  # noqa")
    result = _lint(copy)
    assert result.returncode != 0
    assert "Operations are the top floor: nothing imports them BROKEN" in result.stdout
    assert "casebridge.cases.selectors" in result.stdout


def test_two_apps_importing_each_other_break_the_acyclic_contract(tmp_path):
    # hotline's selectors already sit below cases' pages; a hotline import of a cases
    # selector closes a cycle
    copy = _copy_with(
        tmp_path, "hotline/selectors.py", "from casebridge.cases import selectors as _s  # noqa"
    )
    result = _lint(copy)
    assert result.returncode != 0
    assert "No cycles between the packages of casebridge" in result.stdout
    assert "(imports of domain models aside) BROKEN" in result.stdout


def test_a_model_importing_the_policy_breaks_a_contract(tmp_path):
    copy = _copy_with(
        tmp_path, "hotline/models.py", "from casebridge.access import policy as _p  # noqa"
    )
    result = _lint(copy)
    assert result.returncode != 0
    assert "Domain models import only models and the foundation BROKEN" in (result.stdout)
