"""Asking git about the repository: one place that runs it, and says when it could not."""

from __future__ import annotations

import subprocess
from pathlib import Path


def run_git(
    root: Path, *args: str, timeout: float = 10.0
) -> subprocess.CompletedProcess[str] | None:
    """``git ARGS`` in ``root`` (paths as they are, never quoted); None when git could not
    run at all (missing, or slower than ``timeout``). Output that is not UTF-8 (a Latin-1
    file, a name in another encoding) comes back with its bytes as lone surrogates
    (``surrogateescape``), as discovery reads names: never an exception."""
    try:
        return subprocess.run(
            ["git", "-c", "core.quotepath=off", *args],
            cwd=root, capture_output=True, encoding="utf-8", errors="surrogateescape",
            timeout=timeout, check=False,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None


def git_output(root: Path, *args: str, timeout: float = 10.0) -> str:
    """What ``git ARGS`` printed, stripped; "" when it failed or could not run."""
    done = run_git(root, *args, timeout=timeout)
    return done.stdout.strip() if done is not None and done.returncode == 0 else ""
