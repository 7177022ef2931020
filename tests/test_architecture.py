"""The architecture contract (import-linter, ``[tool.importlinter]`` in pyproject.toml).

The checkout keeps it, and it bites: a copy of the code with one deliberately wrong
import (a product module importing the emulators, tests or benchmarks; a lower layer
importing a higher one) fails ``lint-imports`` naming the broken contract.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("skubridge", "flows", "tasks", "expectations", "connectors", "sandbox", "bench")
LINT_IMPORTS = [sys.executable, "-c", "from importlinter.cli import lint_imports_command as c; c()"]


def lint_imports(folder: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` over the code in ``folder`` (its pyproject.toml, its packages)."""
    env = {**os.environ, "PYTHONPATH": str(folder)}
    return subprocess.run(
        [*LINT_IMPORTS, "--no-cache"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_import_contracts_hold():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def _python_only(folder: str, names: list[str]) -> set[str]:
    """copytree's ``ignore``: everything but folders and ``.py`` files (and no caches)."""
    keep = {n for n in names if Path(folder, n).is_dir() or n.endswith(".py")}
    return (set(names) - keep) | {"__pycache__"}


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """The packages' Python files and pyproject.toml, copied to a temp folder."""
    for name in PACKAGES:
        shutil.copytree(ROOT / name, tmp_path / name, ignore=_python_only)
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "helpers.py").write_text("VALUE = 1\n")
    return tmp_path


def test_the_untouched_copy_passes(copy: Path):
    result = lint_imports(copy)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("module", "bad_import", "contract"),
    [
        ("tasks/steps/push.py", "import sandbox.fixture", "never import the emulators"),
        ("connectors/http.py", "import bench.docs", "never import the emulators"),
        ("flows/naming.py", "import tests.helpers", "never import the emulators"),
        ("skubridge/commands/push.py", "import sandbox.stack", "never import the emulators"),
        ("tasks/runs.py", "import flows.naming", "CLI -> flows -> tasks"),
        ("connectors/factory.py", "import tasks.runs", "CLI -> flows -> tasks"),
        ("flows/retry.py", "import skubridge.commands.sync", "CLI -> flows -> tasks"),
        # The guards measure the plan through skubridge/model/, never through tasks/.
        ("expectations/guards.py", "import tasks.plan", "CLI -> flows -> tasks"),
        ("skubridge/model/plan.py", "import connectors.base", "CLI -> flows -> tasks"),
    ],
)
def test_a_wrong_import_breaks_the_build(copy: Path, module: str, bad_import: str, contract: str):
    path = copy / module
    path.write_text(path.read_text() + f"\n{bad_import}  # deliberately wrong\n")
    result = lint_imports(copy)
    assert result.returncode == 1, result.stdout
    broken = [line for line in result.stdout.splitlines() if " BROKEN" in line]
    assert len(broken) == 1 and contract in broken[0], result.stdout
