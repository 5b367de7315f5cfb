"""The import contracts in pyproject.toml bite: `lint-imports`, run on a copy of the packages, passes
as they are and fails, naming the contract, once a connector imports from ``bot``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from faqbot.config import PROJECT_ROOT

PACKAGES = ("bot", "connectors", "faqbot", "indexer")
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def only_python(folder: str, names: list[str]) -> list[str]:
    """What ``copytree`` leaves out: caches and every file that is not Python (models, data, the web UI)."""
    return [n for n in names if n == "__pycache__" or (Path(folder, n).is_file() and not n.endswith(".py"))]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for package in PACKAGES:
        shutil.copytree(PROJECT_ROOT / package, tmp_path / package, ignore=only_python)
    shutil.copy(PROJECT_ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    # The copy, not this checkout, is what is found first (a test run sets PYTHONPATH to the checkout).
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=root, env=env, capture_output=True, text=True, timeout=120
    )


def connectors_contract() -> str:
    contracts = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    [name] = [c["name"] for c in contracts if c.get("source_modules") == ["connectors"]]
    return name


def test_the_contracts_hold_as_the_code_is(project):
    result = lint_imports(project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_a_connector_importing_bot_breaks_the_connectors_contract(project):
    module = project / "connectors" / "replies.py"
    module.write_text(module.read_text() + "\nfrom bot import paths  # noqa: E402, F401\n")
    result = lint_imports(project)
    output = " ".join(result.stdout.split())  # long lines are wrapped
    assert result.returncode != 0, output
    assert f"{connectors_contract()} BROKEN" in output
    assert "connectors.replies -> bot.paths" in output
