"""A finding's fingerprint, and the repository's id: what tracks a finding over time.

The fingerprint is computed once, when a finding is accepted, from content and not from
the line number: the repo-relative path, the text of the finding's line, and that line
with its two neighbours on each side, whitespace collapsed (so CRLF or re-indented code changes
nothing). Lines moving above the finding leave it the same; a change of the code at the
finding makes a new one. The category, which a model chooses, is left out. A finding with
no line (0) or a file that cannot be read is fingerprinted by its path and title.

``repo_id`` is the repository's first commit ("" outside git): a baseline report says
whether it belongs to the same repository.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from tui_orchestrator.engine.git import git_output

# Lines on each side of the finding's line that go into its fingerprint.
CONTEXT_LINES = 2


def _normal(line: str) -> str:
    return " ".join(line.split())


def fingerprint(
    root: Path, file: str, line: int, title: str, lines: list[str] | None = None
) -> str:
    """The finding's fingerprint (32 hex digits); ``lines``: the file's lines, when the
    caller read them already."""
    if lines is None:
        try:
            lines = (root / file).read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            lines = []
    if 1 <= line <= len(lines):
        # Past either end of the file the window holds empty lines: blank lines added at
        # the top or the bottom of a short file leave it the same.
        padded = [""] * CONTEXT_LINES + lines + [""] * CONTEXT_LINES
        window = padded[line - 1 : line + 2 * CONTEXT_LINES]
        # The finding's own line first: two lines of a short file share their window.
        own = _normal(lines[line - 1])
        content = own + "\n--\n" + "\n".join(_normal(text) for text in window)
    else:
        content = "title:" + _normal(title)
    digest = hashlib.blake2b(digest_size=16)
    digest.update(file.encode("utf-8", "surrogateescape"))
    digest.update(b"\0")
    digest.update(content.encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def repo_id(root: Path) -> str:
    """The repository's first commit (the oldest root commit), or "" outside git."""
    roots = git_output(root, "rev-list", "--max-parents=0", "HEAD").split()
    return roots[-1] if roots else ""
