"""Hand the terminal to the user's editor at a finding's line, then take it back."""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

from textual.app import App, SuspendNotSupported

from tui_orchestrator.engine.text import printable


def editor_argv(root: Path, file: str, line: int) -> list[str] | None:
    """``$EDITOR +LINE FILE`` as an argv ($VISUAL when $EDITOR is unset); None without one.

    ValueError when the variable cannot be split (an unclosed quote).
    """
    editor = os.environ.get("EDITOR") or os.environ.get("VISUAL")
    if not editor or not editor.strip():
        return None
    return [*shlex.split(editor), f"+{max(1, line)}", str(root / file)]


def run_editor(argv: list[str]) -> None:
    """Run the editor in the foreground (tests replace this)."""
    subprocess.run(argv, check=False)


def open_in_editor(app: App[object], root: Path, file: str, line: int) -> None:
    """Run the editor with the app suspended; a notification when that cannot be.

    The editor's own failure (not found, not executable) is caught inside the suspension:
    Textual resumes the app only when the ``with`` block ends normally, and an exception
    leaving it kept the screen blank with keys echoing raw.
    """
    try:
        argv = editor_argv(root, file, line)
    except ValueError as exc:
        app.notify(f"Cannot read $EDITOR: {exc}", severity="error")
        return
    if argv is None:
        app.notify("Set $EDITOR to open files (for example EDITOR=vim)", severity="warning")
        return
    failed: OSError | None = None
    try:
        with app.suspend():
            try:
                run_editor(argv)
            except OSError as exc:
                failed = exc
    except SuspendNotSupported:
        app.notify("This terminal cannot hand the screen to an editor", severity="error")
        return
    if failed is not None:
        reason = failed.strerror or str(failed)
        app.notify(f"Cannot start {printable(argv[0])}: {reason}", severity="error", markup=False)
