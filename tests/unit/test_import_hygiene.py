"""The engine imports no UI library: checked in a fresh interpreter and by import-linter."""

from __future__ import annotations

import json
import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ._helpers import PROJECT_ROOT

ENGINE_DIR = PROJECT_ROOT / "tui_orchestrator" / "engine"
UI_LIBRARIES = ("textual", "rich")


def _engine_modules() -> list[str]:
    # Listed from the folder, not imported here: this process has textual loaded already.
    names = ["tui_orchestrator.engine"]
    names += [
        f"tui_orchestrator.engine.{info.name}" for info in pkgutil.walk_packages([str(ENGINE_DIR)])
    ]
    return sorted(names)


ENGINE_MODULES = _engine_modules()

_PROBE = """
import importlib, json, sys
importlib.import_module(sys.argv[1])
loaded = sorted({name.split('.')[0] for name in sys.modules} & set(sys.argv[2:]))
print(json.dumps(loaded))
"""


def test_engine_has_the_foundation_modules() -> None:
    expected = {
        "atomic", "checkpoint", "config", "discovery", "edits", "errors", "estimate",
        "findings", "partition", "plan", "project", "reports", "statedir", "tomlout",
    }  # fmt: skip
    found = {name.rpartition(".")[2] for name in ENGINE_MODULES}
    assert expected <= found


@pytest.mark.parametrize("module", ENGINE_MODULES)
def test_engine_module_imports_no_ui_library(module: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, module, *UI_LIBRARIES],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, f"importing {module} failed:\n{proc.stderr}"
    loaded = json.loads(proc.stdout.strip().splitlines()[-1])
    assert loaded == [], f"{module} pulls in {', '.join(loaded)}"


def test_import_linter_contracts_hold() -> None:
    exe = Path(sys.executable).parent / "lint-imports"
    command = [str(exe)] if exe.exists() else [shutil.which("lint-imports") or "lint-imports"]
    try:
        proc = subprocess.run(
            [*command, "--no-cache", "--no-logo"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
    except FileNotFoundError:
        pytest.fail("lint-imports is missing: install the test extra (pip install -e '.[test]')")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "The engine imports no UI library KEPT" in proc.stdout
