"""The ``.claude-tui/`` folder of a repository: plan, checkpoint, logs, lock, report."""

from __future__ import annotations

import contextlib
from pathlib import Path

from tui_orchestrator.engine.atomic import write_text_atomic
from tui_orchestrator.engine.errors import RepoError, WriteError

STATE_DIR_NAME = ".claude-tui"
# Only the plan and the suppressions are meant to be committed; everything else is this
# machine's state. A .gitignore written as OLD_GITIGNORE (ours, untouched) is brought up to date.
GITIGNORE = "*\n!.gitignore\n!plan.toml\n!suppressions.toml\n"
OLD_GITIGNORE = "*\n!.gitignore\n!plan.toml\n"


def state_dir(repo: Path) -> Path:
    return repo / STATE_DIR_NAME


def ensure_state_dir(folder: Path) -> Path:
    """Create the state folder with its .gitignore (never overwrites an existing one)."""
    created = not folder.exists()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise RepoError(
            f"{folder} is a file, not a folder: claude-tui keeps its plan and checkpoint "
            "there; move the file away"
        ) from None
    except OSError as exc:
        raise RepoError(f"cannot create {folder}: {exc.strerror}") from None
    if folder.name == STATE_DIR_NAME:
        ignore = folder / ".gitignore"
        with contextlib.suppress(OSError, UnicodeDecodeError):
            if ignore.read_text(encoding="utf-8") == OLD_GITIGNORE:
                write_text_atomic(ignore, GITIGNORE)  # ours, as an older claude-tui wrote it
        if not ignore.exists():
            try:
                # Atomic: a half-written .gitignore would be kept for good (never overwritten).
                write_text_atomic(ignore, GITIGNORE)
            except OSError as exc:
                if created:
                    with contextlib.suppress(OSError):
                        folder.rmdir()
                raise WriteError(f"cannot write {ignore}: {exc.strerror}") from None
    return folder


def remove_if_unused(folder: Path) -> None:
    """Take away a state folder that holds nothing but the .gitignore written with it
    (a start that ended before anything was saved leaves no trace in the repository)."""
    ignore = folder / ".gitignore"
    try:
        if [entry.name for entry in folder.iterdir()] != [".gitignore"]:
            return
        if ignore.read_text(encoding="utf-8") not in (GITIGNORE, OLD_GITIGNORE):
            return
        ignore.unlink()
        folder.rmdir()
    except OSError:
        return  # something else is there, or appeared meanwhile: keep it


def default_plan_path(repo: Path) -> Path:
    return state_dir(repo) / "plan.toml"


def default_checkpoint_path(repo: Path) -> Path:
    return state_dir(repo) / "checkpoint.toml"


def since_checkpoint_path(repo: Path) -> Path:
    """A change review's checkpoint (``--since``): apart from the full review's, which it
    never touches (docs/change-review.md)."""
    return state_dir(repo) / "since" / "checkpoint.toml"


def since_plan_path(repo: Path) -> Path:
    """A change review's plan, as the app's edits left it (plan.toml is the full review's)."""
    return state_dir(repo) / "since" / "plan.toml"


def since_logs_dir(repo: Path) -> Path:
    return state_dir(repo) / "since" / "logs"


def default_report_path(repo: Path) -> Path:
    return state_dir(repo) / "report.json"


def logs_dir(repo: Path) -> Path:
    return state_dir(repo) / "logs"


def sessions_dir(repo: Path) -> Path:
    """Session files (JSONL) that remote workers (Dask) shipped back, for ``--resume``."""
    return state_dir(repo) / "sessions"
