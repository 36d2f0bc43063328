"""Hand the terminal to the user's editor at a finding's line, then take it back."""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

from textual.app import App, SuspendNotSupported


def editor_argv(root: Path, file: str, line: int) -> list[str] | None:
    """``$EDITOR +LINE FILE`` as an argv ($VISUAL when $EDITOR is unset); None without one."""
    editor = os.environ.get("EDITOR") or os.environ.get("VISUAL")
    if not editor:
        return None
    return [*shlex.split(editor), f"+{max(1, line)}", str(root / file)]


def run_editor(argv: list[str]) -> None:
    """Run the editor in the foreground (tests replace this)."""
    subprocess.run(argv, check=False)


def open_in_editor(app: App[object], root: Path, file: str, line: int) -> None:
    """Run the editor with the app suspended; a notification when that cannot be."""
    argv = editor_argv(root, file, line)
    if argv is None:
        app.notify("Set $EDITOR to open files (for example EDITOR=vim)", severity="warning")
        return
    try:
        with app.suspend():
            run_editor(argv)
    except OSError as exc:
        app.notify(f"Cannot run {argv[0]}: {exc.strerror}", severity="error")
    except SuspendNotSupported:
        app.notify("This terminal cannot hand the screen to an editor", severity="error")
