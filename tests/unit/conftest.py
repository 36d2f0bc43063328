"""Fixtures for the unit tier (helpers live in ``_helpers.py``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from ._helpers import SMALL_REPO, CliResult, run_cli, write_tree


@pytest.fixture
def user_config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty user config folder, so the developer's own config never leaks into a test."""
    folder = tmp_path / "user-config"
    folder.mkdir()
    monkeypatch.setenv("CLAUDE_TUI_CONFIG_DIR", str(folder))
    monkeypatch.delenv("CLAUDE_TUI_CLAUDE_BIN", raising=False)
    return folder


@pytest.fixture
def cli(tmp_path: Path) -> Callable[..., CliResult]:
    """``cli(*args)`` runs claude-tui in a subprocess with an empty user config folder."""
    config_dir = tmp_path / "cli-user-config"
    config_dir.mkdir(exist_ok=True)

    def run(*args: str | Path, cwd: Path | None = None) -> CliResult:
        return run_cli(*args, cwd=cwd or tmp_path, config_dir=config_dir)

    return run


@pytest.fixture
def small_repo(tmp_path: Path) -> Path:
    """A plain folder (no git) with a handful of source files and a README."""
    return write_tree(tmp_path / "repo", SMALL_REPO)
