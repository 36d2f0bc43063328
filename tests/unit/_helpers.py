"""Helpers shared by the unit tests: small repositories on disk, git, and the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tests.support.git import git

__all__ = ["PROJECT_ROOT", "CliResult", "git", "write_tree"]

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def write_tree(root: Path, files: Mapping[str, str | bytes]) -> Path:
    """Create ``files`` (repo-relative path -> text or bytes) below ``root``."""
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str

    @property
    def stderr_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]


def run_cli(*args: str | Path, cwd: Path, config_dir: Path, timeout: float = 60) -> CliResult:
    """Run ``python -m tui_orchestrator ARGS`` in a subprocess, as a user would."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAUDE_TUI_")}
    env["CLAUDE_TUI_CONFIG_DIR"] = str(config_dir)
    env["NO_COLOR"] = "1"
    env["COLUMNS"] = "120"
    proc = subprocess.run(
        [sys.executable, "-m", "tui_orchestrator", *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


SMALL_REPO: dict[str, str | bytes] = {
    "src/auth/login.py": "def login(user, password):\n    return user == 'admin'\n",
    "src/auth/session.py": "SESSIONS = {}\n\ndef get(token):\n    return SESSIONS.get(token)\n",
    "src/api/users.py": "import sqlite3\n\ndef find(name):\n    return f'SELECT * FROM u WHERE n={name}'\n",
    "src/api/orders.py": "def total(items):\n    return sum(i.price for i in items)\n",
    "web/app.ts": "export const app = () => document.body.innerHTML = location.hash;\n",
    "README.md": "# demo\n",
}
