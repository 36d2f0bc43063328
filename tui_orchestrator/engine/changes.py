"""What changed since a git ref: the files a change review reviews, and their changed lines.

``changes_since(root, ref)`` compares ``merge-base(ref, HEAD)`` with the working tree:
committed, staged and unstaged changes (``git diff -M <base>``) and untracked files git
does not ignore. Renames are followed (the new path is the file); deleted files are dropped.
Each file comes with the line ranges of the new text that changed (its hunks); an untracked
file has changed as a whole. docs/change-review.md §1.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from tui_orchestrator.engine.errors import ConfigError
from tui_orchestrator.engine.git import run_git
from tui_orchestrator.engine.statedir import STATE_DIR_NAME

# A hunk header of `git diff -U0`: the new text's first line and line count.
_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")
WHOLE_FILE: tuple[tuple[int, int], ...] = ((1, 0),)  # (1, 0): every line


@dataclass(frozen=True, slots=True)
class Changes:
    """The files changed since ``base`` (a commit), each with its changed line ranges
    (first, last), inclusive; ``WHOLE_FILE`` for a file that is new to git, () for one
    renamed with no line changed."""

    ref: str
    base: str
    files: dict[str, tuple[tuple[int, int], ...]] = field(default_factory=dict)

    def in_diff(self, file: str, line: int) -> bool:
        ranges = self.files.get(file)
        if ranges is None:
            return False
        if ranges == WHOLE_FILE:
            return True
        return any(first <= line <= last for first, last in ranges)


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    done = run_git(root, *args, timeout=60)
    if done is None:
        raise ConfigError(f"--since needs git, and `git {args[0]}` could not run in {root}")
    return done


def changes_since(root: Path, ref: str) -> Changes:
    """The change review's files (see the module docstring); a ConfigError, one line, for
    a folder that is not a git checkout or a ref that does not resolve."""
    if _git(root, "rev-parse", "--is-inside-work-tree").stdout.strip() != "true":
        raise ConfigError(f"--since needs a git checkout, and {root} is not one")
    if not ref.strip() or ref.startswith("-"):
        raise ConfigError(f"--since {ref!r}: not a git ref")
    resolved = _git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if resolved.returncode != 0:
        raise ConfigError(f"--since {ref}: no such commit, branch or tag in {root}")
    head = _git(root, "rev-parse", "--verify", "--quiet", "HEAD^{commit}")
    if head.returncode != 0:
        raise ConfigError(f"--since {ref}: {root} has no commit yet")
    merge_base = _git(root, "merge-base", resolved.stdout.strip(), "HEAD")
    if merge_base.returncode != 0:
        shallow = _git(root, "rev-parse", "--is-shallow-repository").stdout.strip() == "true"
        if shallow:
            raise ConfigError(
                f"--since {ref}: this clone's history is cut short (shallow), so where the "
                "branch left it cannot be found: fetch the whole history (in GitHub "
                "Actions, actions/checkout with fetch-depth: 0)"
            )
        raise ConfigError(f"--since {ref}: it shares no history with HEAD")
    base = merge_base.stdout.strip()
    files: dict[str, tuple[tuple[int, int], ...]] = {}
    # Committed, staged and unstaged, against the working tree; renames followed.
    status = _git(root, "diff", "--name-status", "--no-relative", "-M", "-z", base, "--")
    fields = status.stdout.split("\0")
    i = 0
    changed: list[str] = []
    while i < len(fields) - 1:
        kind = fields[i]
        if kind.startswith(("R", "C")):
            changed.append(fields[i + 2])  # the new path
            i += 3
            continue
        if not kind.startswith("D"):
            changed.append(fields[i + 1])
        i += 2
    hunks = _hunks(root, base) if changed else {}
    for path in changed:
        files[path] = hunks.get(path, ())  # () : renamed (or its mode changed), no line
    untracked = _git(root, "ls-files", "--others", "--exclude-standard", "--full-name", "-z")
    for path in filter(None, untracked.stdout.split("\0")):
        files[path] = WHOLE_FILE
    # (git names paths from the top of the checkout; a review of a sub-folder keeps its own)
    prefix = _git(root, "rev-parse", "--show-prefix").stdout.strip()
    if prefix:
        files = {p[len(prefix) :]: r for p, r in files.items() if p.startswith(prefix)}
    # claude-tui's own folder is no part of any change (its .gitignore is untracked).
    own = STATE_DIR_NAME + "/"
    return Changes(ref, base, {p: r for p, r in files.items() if not p.startswith(own)})


def _hunks(root: Path, base: str) -> dict[str, tuple[tuple[int, int], ...]]:
    """The changed line ranges of each path's new text (``git diff -U0``, the whole tree:
    a rename pairs only when both its paths are in the diff).

    The user's git settings cannot change what is read: the prefixes are given
    (``diff.noprefix``, ``diff.mnemonicPrefix``), paths are from the top (``diff.relative``),
    no text conversion or external diff renumbers lines. A ``+++`` line is a header only
    between ``diff --git`` and the first hunk: an added line that starts with ``++`` is
    content.
    """
    diff = _git(
        root, "diff", "-U0", "--no-color", "--no-ext-diff", "--no-textconv", "--no-relative",
        "--src-prefix=a/", "--dst-prefix=b/", "-M", base, "--",
    )  # fmt: skip
    out: dict[str, list[tuple[int, int]]] = {}
    current = ""
    in_header = False
    for line in diff.stdout.splitlines():
        if line.startswith("diff --git "):
            in_header, current = True, ""
            continue
        if in_header and line.startswith("+++ "):
            # (git ends a name with a space in it with a tab, the way diff(1) does)
            name = _unquote(line[4:].removesuffix("\t"))
            current = name[2:] if name.startswith("b/") else ""
            continue
        match = _HUNK.match(line)
        if match is None:
            continue
        in_header = False
        if not current:
            continue
        first = int(match.group(1))
        count = 1 if match.group(2) is None else int(match.group(2))
        if count:
            out.setdefault(current, []).append((first, first + count - 1))
        else:
            # A pure deletion: ``first`` is the line before it; both lines that now
            # meet where it was are marked.
            out.setdefault(current, []).append((max(1, first), first + 1))
    return {path: tuple(ranges) for path, ranges in out.items()}


def _unquote(name: str) -> str:
    """A path as git writes it in a diff header: quoted, with C escapes (octal bytes of
    UTF-8), when it holds a quote, a backslash, a control or a non-ASCII character."""
    if not (name.startswith('"') and name.endswith('"') and len(name) >= 2):
        return name
    raw = bytearray()
    body = name[1:-1]
    i = 0
    while i < len(body):
        char = body[i]
        if char != "\\" or i + 1 == len(body):
            raw += char.encode("utf-8")
            i += 1
            continue
        nxt = body[i + 1]
        if nxt in "01234567":
            raw.append(int(body[i + 1 : i + 4], 8) & 0xFF)
            i += 4
            continue
        raw += _ESCAPES.get(nxt, nxt).encode("utf-8")
        i += 2
    return raw.decode("utf-8", "surrogateescape")


_ESCAPES = {"a": "\a", "b": "\b", "t": "\t", "n": "\n", "v": "\v", "f": "\f", "r": "\r"}


def changed_lines_text(changes: Changes, files: list[str]) -> str:
    """For a chunk's prompt: which lines of its files changed ("" when none is known)."""
    lines = []
    for path in files:
        ranges = changes.files.get(path)
        if ranges is None:
            continue
        if ranges == WHOLE_FILE:
            lines.append(f"- {path}: new file")
        elif not ranges:
            lines.append(f"- {path}: renamed, no line changed")
        else:
            spans = ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in ranges)
            lines.append(f"- {path}: {spans}")
    return "\n".join(lines)
